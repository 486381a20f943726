//! The broker's channel to the controller quorum: carries the node's
//! [`NodeOutput::ToController`](odradek_core::node::NodeOutput::ToController) requests to
//! the controller it guesses is active and brings the answers back as
//! [`NodeInput::FromController`].
//!
//! # Contract
//! - One task, one connection at a time, to the current guess (this node itself first if it
//!   is a voter, else the lowest id). Requests are written as [`BrokerToController`] frames;
//!   answers (in any order: the controller answers commands when they commit) are handed to
//!   the node task as they arrive.
//! - **Finding the active controller.** A `NotController` answer, a refused connection or a
//!   broken one moves the guess to the next voter (round robin) and drops the connection.
//!   Requests written to a dropped connection, or handed over while no connection is up, are
//!   lost: the node resends every unanswered request on its own timer, so the channel needs
//!   no queue of its own beyond the one being connected.
//! - No protocol decisions: the node decides what to ask and how to read the answers.

use super::connection::Event;
use super::controller::BrokerToController;
use super::frames::{encode_frame, read_frame};
use super::socket::WriteHalf as OwnedWriteHalf;
use odradek_core::controller::{ControllerEnvelope, ControllerRequest, ControllerResponse};
use odradek_core::node::NodeInput;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long a connection attempt to a controller may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Pause after a failed connection attempt before trying the next controller.
pub const RECONNECT_DELAY: Duration = Duration::from_millis(100);

/// The channel's settings.
#[derive(Clone, Debug)]
pub struct ControllerChannel {
    /// The cluster id sent with every request.
    pub cluster_id: String,
    /// Every voter's address.
    pub voters: BTreeMap<i32, SocketAddr>,
    /// The voter tried first.
    pub first_guess: i32,
}

/// Runs the channel until `requests` closes (the node task is gone).
pub async fn run(
    channel: ControllerChannel,
    mut requests: mpsc::UnboundedReceiver<ControllerEnvelope<ControllerRequest>>,
    events: mpsc::Sender<Event>,
) {
    let ids: Vec<i32> = channel.voters.keys().copied().collect();
    let mut guess = ids
        .iter()
        .position(|id| *id == channel.first_guess)
        .unwrap_or(0);
    let mut link: Option<Link> = None;
    let (answers_tx, mut answers) =
        mpsc::unbounded_channel::<(u64, Option<ControllerResponse>, u64)>();
    let mut generation = 0u64;
    loop {
        if link.is_none() {
            let address = channel.voters[&ids[guess]];
            match connect(address).await {
                Some(stream) => {
                    generation += 1;
                    link = Some(Link::open(stream, generation, answers_tx.clone()));
                }
                None => {
                    guess = (guess + 1) % ids.len();
                    tokio::time::sleep(RECONNECT_DELAY).await;
                    if !drain_requests(&mut requests) {
                        return;
                    }
                    continue;
                }
            }
        }
        tokio::select! {
            request = requests.recv() => {
                let Some(envelope) = request else { return };
                let frame = BrokerToController {
                    controller_request: envelope,
                    cluster_id: channel.cluster_id.clone(),
                };
                let written = match (link.as_mut(), encode_frame(&frame)) {
                    (Some(open), Ok(bytes)) => super::socket::write_all(&mut open.writer, &bytes).await.is_ok(),
                    _ => false,
                };
                if !written {
                    link = None;
                    guess = (guess + 1) % ids.len();
                }
            }
            Some((link_generation, answer, correlation_id)) = answers.recv() => {
                if link_generation != generation {
                    continue; // an answer on a connection already dropped
                }
                let Some(body) = answer else {
                    link = None; // the connection broke
                    guess = (guess + 1) % ids.len();
                    continue;
                };
                if body == ControllerResponse::NotController {
                    link = None;
                    guess = (guess + 1) % ids.len();
                }
                let input = NodeInput::FromController(ControllerEnvelope { correlation_id, body });
                if events.send(Event::Input(Box::new(input))).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Drops the requests handed over while no controller could be reached (see the module
/// docs); false once the node task is gone.
fn drain_requests(
    requests: &mut mpsc::UnboundedReceiver<ControllerEnvelope<ControllerRequest>>,
) -> bool {
    loop {
        match requests.try_recv() {
            Ok(_) => {}
            Err(mpsc::error::TryRecvError::Empty) => return true,
            Err(mpsc::error::TryRecvError::Disconnected) => return false,
        }
    }
}

async fn connect(address: SocketAddr) -> Option<TcpStream> {
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Some(stream)
        }
        Ok(Err(error)) => {
            tracing::debug!(%address, %error, "controller unreachable");
            None
        }
        Err(_) => None,
    }
}

/// One open connection: the write half, and a reader task forwarding answers tagged with
/// the connection's generation (`None` body: the connection ended).
struct Link {
    writer: OwnedWriteHalf,
    reader: JoinHandle<()>,
}

type Answers = mpsc::UnboundedSender<(u64, Option<ControllerResponse>, u64)>;

impl Link {
    fn open(stream: TcpStream, generation: u64, answers: Answers) -> Link {
        let (mut read, writer) = super::socket::split(stream);
        let reader = tokio::spawn(async move {
            loop {
                match read_frame::<_, ControllerEnvelope<ControllerResponse>>(&mut read).await {
                    Ok(Some(envelope)) => {
                        let answer = (generation, Some(envelope.body), envelope.correlation_id);
                        if answers.send(answer).is_err() {
                            return;
                        }
                    }
                    _ => {
                        let _ = answers.send((generation, None, 0));
                        return;
                    }
                }
            }
        });
        Link { writer, reader }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
