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
//! - **Finding the active controller.** A `NotController` answer, a refused connection, a
//!   broken one, or one that has left requests unanswered for [`ANSWER_TIMEOUT`] moves the
//!   guess to the next voter (round robin) and drops the connection. The last case is a
//!   controller cut off by a network partition: its connection neither answers nor breaks,
//!   and without the timeout every broker would stay on it, never reaching the controller
//!   the majority elected (which then fences them all for missing heartbeats).
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
/// How long a connection may leave requests unanswered (no answer at all since the oldest
/// unanswered one was written) before the controller is given up (Kafka's
/// `controller.quorum.request.timeout.ms` default).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

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
        let silence_deadline = link.as_ref().and_then(Link::answer_deadline);
        tokio::select! {
            () = sleep_until_some(silence_deadline) => {
                tracing::info!(controller = ids[guess], "controller silent; trying the next one");
                link = None;
                guess = (guess + 1) % ids.len();
            }
            request = requests.recv() => {
                let Some(envelope) = request else { return };
                if !forward(link.as_mut(), &channel.cluster_id, envelope).await {
                    link = None;
                    guess = (guess + 1) % ids.len();
                }
            }
            Some((link_generation, answer, correlation_id)) = answers.recv() => {
                if link_generation != generation {
                    continue; // an answer on a connection already dropped
                }
                if let Some(open) = link.as_mut() {
                    open.answered();
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

/// Writes `envelope` on the link; false if there is none or the write failed.
async fn forward(
    link: Option<&mut Link>,
    cluster_id: &str,
    envelope: ControllerEnvelope<ControllerRequest>,
) -> bool {
    let frame = BrokerToController {
        controller_request: envelope,
        cluster_id: cluster_id.to_owned(),
    };
    match (link, encode_frame(&frame)) {
        (Some(open), Ok(bytes)) => open.send(&bytes).await,
        _ => false,
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

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One open connection: the write half, a reader task forwarding answers tagged with the
/// connection's generation (`None` body: the connection ended), and how long it has been
/// silent.
struct Link {
    writer: OwnedWriteHalf,
    reader: JoinHandle<()>,
    /// Requests written and not yet matched by an answer (answers are counted, not paired:
    /// any answer shows the controller is alive).
    unanswered: usize,
    /// Since when the link owes an answer: the write of a request while none was owed, or
    /// the last answer.
    owed_since: tokio::time::Instant,
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
        Link {
            writer,
            reader,
            unanswered: 0,
            owed_since: tokio::time::Instant::now(),
        }
    }

    /// Writes one request frame; false if the connection failed.
    async fn send(&mut self, frame: &[u8]) -> bool {
        if self.unanswered == 0 {
            self.owed_since = tokio::time::Instant::now();
        }
        self.unanswered += 1;
        super::socket::write_all(&mut self.writer, frame)
            .await
            .is_ok()
    }

    /// An answer arrived: the controller is alive.
    fn answered(&mut self) {
        self.unanswered = self.unanswered.saturating_sub(1);
        self.owed_since = tokio::time::Instant::now();
    }

    /// When the link counts as silent, if it owes an answer.
    fn answer_deadline(&self) -> Option<tokio::time::Instant> {
        (self.unanswered > 0).then_some(self.owed_since + ANSWER_TIMEOUT)
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
