//! Idle connections (`connections.max.idle.ms`): a connection with no traffic is closed after
//! the idle time; one that keeps sending requests, or waits on a slow response, is not.
//! The tests play the node task: they answer every request with a small frame.

use super::*;
use odradek_core::node::NodeInput;
use std::collections::BTreeMap;
use tokio::io::AsyncReadExt;

const IDLE: Duration = Duration::from_millis(500);

/// Starts the acceptor with `IDLE` and a fake node that answers each request after `delay`.
async fn start(delay: Duration) -> (SocketAddr, mpsc::UnboundedReceiver<ConnectionId>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (events_tx, events) = mpsc::channel(64);
    let (_stop_tx, stop) = watch::channel(false);
    let settings = ConnectionSettings {
        max_request_bytes: 1024 * 1024,
        max_idle: Some(IDLE),
        first_connection_id: 0,
        inter_broker: false,
    };
    tokio::spawn(async move {
        let _keep_open = _stop_tx;
        accept_loop(listener, events_tx, settings, stop).await;
    });
    let (closed_tx, closed) = mpsc::unbounded_channel();
    tokio::spawn(fake_node(events, delay, closed_tx));
    (address, closed)
}

/// Answers each request with a 4-byte frame holding its correlation id, after `delay`;
/// reports closed connections.
async fn fake_node(
    mut events: mpsc::Receiver<Event>,
    delay: Duration,
    closed: mpsc::UnboundedSender<ConnectionId>,
) {
    let mut outbound = BTreeMap::new();
    while let Some(event) = events.recv().await {
        match event {
            Event::Opened {
                connection,
                outbound: sender,
                ..
            } => {
                outbound.insert(connection.0, sender);
            }
            Event::Input(input) => match *input {
                NodeInput::Request {
                    connection,
                    request,
                } => {
                    let sender = outbound[&connection.0].clone();
                    let correlation_id = request.header.correlation_id;
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let mut frame = BytesMut::new();
                        frame.extend_from_slice(&4i32.to_be_bytes());
                        frame.extend_from_slice(&correlation_id.to_be_bytes());
                        let _ = sender.send(Outbound::Frame(frame)).await;
                    });
                }
                NodeInput::ConnectionClosed { connection } => {
                    let _ = closed.send(connection);
                }
                _ => {}
            },
        }
    }
}

/// An ApiVersions v0 request frame (header only: the body is empty).
fn api_versions_frame(correlation_id: i32) -> Vec<u8> {
    let mut frame = Vec::new();
    frame.extend_from_slice(&10i32.to_be_bytes());
    frame.extend_from_slice(&18i16.to_be_bytes());
    frame.extend_from_slice(&0i16.to_be_bytes());
    frame.extend_from_slice(&correlation_id.to_be_bytes());
    frame.extend_from_slice(&(-1i16).to_be_bytes());
    frame
}

/// Sends one request and returns the correlation id of the answer.
async fn round_trip(stream: &mut TcpStream, correlation_id: i32) -> i32 {
    stream
        .write_all(&api_versions_frame(correlation_id))
        .await
        .unwrap();
    let mut answer = [0u8; 8];
    stream.read_exact(&mut answer).await.unwrap();
    i32::from_be_bytes([answer[4], answer[5], answer[6], answer[7]])
}

/// Reads until end of stream (the broker closed), failing after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = [0u8; 16];
    matches!(
        tokio::time::timeout(limit, stream.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_time() {
    let (address, mut closed) = start(Duration::ZERO).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    assert!(closed_within(&mut stream, Duration::from_secs(10)).await);
    let id = tokio::time::timeout(Duration::from_secs(10), closed.recv()).await;
    assert_eq!(id.unwrap(), Some(ConnectionId(0)));
}

#[tokio::test]
async fn a_connection_sending_requests_more_often_than_the_idle_time_stays_open() {
    let (address, mut closed) = start(Duration::ZERO).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let started = Instant::now();
    let mut correlation_id = 0;
    while started.elapsed() < IDLE * 4 {
        assert_eq!(
            round_trip(&mut stream, correlation_id).await,
            correlation_id
        );
        correlation_id += 1;
        tokio::time::sleep(IDLE / 10).await;
    }
    assert!(
        closed.try_recv().is_err(),
        "the active connection was closed"
    );
    // Once it falls silent, the same connection is closed too.
    assert!(closed_within(&mut stream, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn a_request_awaiting_a_slow_response_keeps_its_connection_open() {
    let (address, mut closed) = start(IDLE * 3).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    assert_eq!(round_trip(&mut stream, 7).await, 7);
    assert!(
        closed.try_recv().is_err(),
        "closed while a request was in flight"
    );
}
