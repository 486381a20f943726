//! The quorum's RPC server seen from a raw TCP client: it answers requests for its own
//! cluster and node, and closes the connection — without a panic, and still serving
//! others — on requests for another cluster or node, undecodable frames and oversized
//! length fields.

mod raft_support;

use odradek::raft::{RpcEnvelope, RpcRequest, RpcResponse};
use openraft::raft::VoteRequest;
use openraft::Vote;
use raft_support::{fast_timings, Cluster};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn send_frame(stream: &mut TcpStream, payload: &[u8]) {
    stream
        .write_all(&(payload.len() as u32).to_be_bytes())
        .await
        .unwrap();
    stream.write_all(payload).await.unwrap();
}

/// Reads a response frame; `None` if the server closed the connection instead.
async fn read_response(stream: &mut TcpStream) -> Option<RpcResponse> {
    let mut len = [0u8; 4];
    let read = tokio::time::timeout(raft_support::WAIT_MAX, stream.read_exact(&mut len))
        .await
        .expect("the server answers or closes");
    read.ok()?;
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut payload).await.ok()?;
    Some(serde_json::from_slice(&payload).expect("a response frame"))
}

/// A harmless vote request (term 0 from a node outside the cluster), for node `to`.
fn vote_envelope(cluster_id: &str, to: u64) -> Vec<u8> {
    let envelope = RpcEnvelope {
        cluster_id: cluster_id.to_string(),
        to,
        request: RpcRequest::Vote(VoteRequest::new(Vote::new(0, 99), None)),
    };
    serde_json::to_vec(&envelope).unwrap()
}

async fn vote_is_answered(addr: SocketAddr, cluster_id: &str) -> bool {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    send_frame(&mut stream, &vote_envelope(cluster_id, 1)).await;
    matches!(
        read_response(&mut stream).await,
        Some(RpcResponse::Vote(Ok(_)))
    )
}

#[tokio::test]
async fn the_server_answers_its_own_cluster_and_closes_on_anything_else() {
    let mut cluster = Cluster::start(1, fast_timings).await;
    cluster.wait_for_leader().await;
    let addr = cluster.voters[&1];
    let cluster_id = cluster.cluster_id();
    assert!(vote_is_answered(addr, &cluster_id).await);

    let refused: Vec<Vec<u8>> = vec![
        vote_envelope("another-cluster", 1),
        vote_envelope(&cluster_id, 2),
        b"{not json".to_vec(),
    ];
    for payload in refused {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        send_frame(&mut stream, &payload).await;
        assert!(read_response(&mut stream).await.is_none());
    }
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    assert!(
        read_response(&mut stream).await.is_none(),
        "oversized frame"
    );

    assert!(vote_is_answered(addr, &cluster_id).await, "still serving");
    cluster.stop_all().await;
}
