//! The controller side of a combined broker+controller node (KRaft's combined mode): one
//! voter of the openraft metadata quorum ([`ControllerQuorumNode`]) with the
//! [`ControllerHost`] logic over its [`RaftMetadataLog`](crate::raft::RaftMetadataLog),
//! serving brokers' controller requests.
//!
//! # Contract
//! - **One address for raft and brokers.** The node's quorum address (its entry of
//!   `--controller-quorum`) serves both openraft's RPCs between controllers and brokers'
//!   controller requests, as Kafka's controller listener does. Both are length-prefixed JSON
//!   frames ([`super::frames`]); the first frame of a connection says which kind it is: a
//!   [`BrokerToController`] frame starts with `{"controller_request"` (serde_json writes
//!   fields in declaration order), anything else is a raft [`RpcEnvelope`]. Raft connections
//!   are answered one request at a time, exactly as [`crate::raft::RaftServer`] answers them
//!   (requests for another cluster or node close the connection); broker connections are
//!   pipelined, and answers leave when the host gives them (after their records commit).
//! - `crate::raft` starts its own RPC server on the listener it is given; that one is bound
//!   on an unused loopback port and never dialled (membership names the quorum addresses),
//!   so this module's server is the only one peers reach.
//! - **The host task** is the one task owning the [`ControllerHost`] and the quorum node. It
//!   settles the host whenever openraft applies entries or its metrics change (leadership),
//!   on every broker request, at the host's session timer, and at least every
//!   [`SETTLE_INTERVAL`]; then it routes every reply to the connection that asked.
//! - Shutdown stops accepting, ends the host task and shuts openraft down; the raft files
//!   stay for the next start.

use super::broker::Clock;
use super::frames::{decode_payload, encode_frame, read_payload, write_frame};
use crate::raft::{ControllerQuorumConfig, ControllerQuorumNode, MetadataRaft};
use crate::raft::{QuorumNodeError, RaftStorage, RpcEnvelope, RpcRequest, RpcResponse};
use odradek_core::controller::{
    ControllerConfig, ControllerEnvelope, ControllerHost, ControllerRequest, ControllerResponse,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The host settles at least this often, whatever else happens.
pub const SETTLE_INTERVAL: Duration = Duration::from_millis(50);

/// A broker's controller request on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerToController {
    /// The request (must stay the first field: it marks the frame as a broker's).
    pub controller_request: ControllerEnvelope<ControllerRequest>,
    /// The sender's cluster id; a controller of another cluster closes the connection.
    pub cluster_id: String,
}

/// What a controller needs to start.
#[derive(Clone, Debug)]
pub struct ControllerSettings {
    /// The cluster id (raft refuses RPCs of other clusters).
    pub cluster_id: String,
    /// This node's id; a key of `voters`.
    pub node_id: i32,
    /// Every voter's raft/controller address.
    pub voters: BTreeMap<i32, SocketAddr>,
    /// The raft files (a real directory, or a simulated disk's).
    pub raft_storage: RaftStorage,
    /// The Controller's configuration (topic defaults, seed).
    pub controller: ControllerConfig,
}

/// Why the controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControllerStartError {
    /// The quorum address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// openraft or its storage failed to start.
    #[error("metadata quorum: {0}")]
    Quorum(#[from] QuorumNodeError),
    /// The controller configuration is invalid.
    #[error("controller: {0}")]
    Controller(#[from] odradek_core::controller::ControllerError),
}

/// A running controller. Dropping it without [`ControllerProcess::shutdown`] aborts its
/// tasks (raft stops with the runtime).
pub struct ControllerProcess {
    accept: JoinHandle<()>,
    host: JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
    local_addr: SocketAddr,
}

enum HostCommand {
    Connect {
        client: u64,
        replies: mpsc::UnboundedSender<Vec<u8>>,
    },
    Request {
        client: u64,
        envelope: ControllerEnvelope<ControllerRequest>,
    },
    Disconnect {
        client: u64,
    },
}

impl ControllerProcess {
    /// Binds the quorum address, starts openraft and the host task.
    pub async fn start(settings: ControllerSettings) -> Result<Self, ControllerStartError> {
        let address =
            settings
                .voters
                .get(&settings.node_id)
                .copied()
                .ok_or(QuorumNodeError::NotAVoter {
                    node_id: settings.node_id as u64,
                })?;
        let bind = |source| ControllerStartError::Bind { address, source };
        let listener = TcpListener::bind(address).await.map_err(bind)?;
        let local_addr = listener.local_addr().map_err(bind)?;
        let unused: SocketAddr = ([127, 0, 0, 1], 0).into();
        let unused = TcpListener::bind(unused).await.map_err(bind)?;
        let voters = (settings.voters.iter())
            .map(|(id, address)| (*id as u64, *address))
            .collect();
        let config = ControllerQuorumConfig::new(
            &settings.cluster_id,
            settings.node_id as u64,
            voters,
            PathBuf::new(),
        );
        let host = ControllerHost::new(settings.controller.clone())?;
        let node =
            ControllerQuorumNode::start_on_storage(config, unused, settings.raft_storage).await?;
        let raft = node.raft().clone();
        let (commands, inbox) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel();
        let host = tokio::spawn(run_host(node, host, inbox, stopped));
        let identity = Arc::new(Identity {
            node_id: settings.node_id as u64,
            cluster_id: settings.cluster_id,
        });
        let accept = tokio::spawn(accept_loop(listener, raft, identity, commands));
        Ok(ControllerProcess {
            accept,
            host,
            stop: Some(stop),
            local_addr,
        })
    }

    /// The address the quorum listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, ends the host task and shuts openraft down.
    pub async fn shutdown(mut self) {
        self.accept.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.host).await;
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Who this server answers raft RPCs for.
struct Identity {
    node_id: u64,
    cluster_id: String,
}

async fn accept_loop(
    listener: TcpListener,
    raft: MetadataRaft,
    identity: Arc<Identity>,
    commands: mpsc::UnboundedSender<HostCommand>,
) {
    let mut next_client = 0u64;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "controller accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        next_client += 1;
        let connection = Connection {
            stream,
            peer,
            raft: raft.clone(),
            identity: Arc::clone(&identity),
            commands: commands.clone(),
            client: next_client,
        };
        tokio::spawn(connection.serve());
    }
}

struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    raft: MetadataRaft,
    identity: Arc<Identity>,
    commands: mpsc::UnboundedSender<HostCommand>,
    client: u64,
}

const BROKER_FRAME_PREFIX: &[u8] = b"{\"controller_request\"";

impl Connection {
    async fn serve(mut self) {
        let first = match read_payload(&mut self.stream).await {
            Ok(Some(payload)) => payload,
            Ok(None) => return,
            Err(error) => {
                tracing::debug!(peer = %self.peer, %error, "closing controller connection");
                return;
            }
        };
        if first.starts_with(BROKER_FRAME_PREFIX) {
            self.serve_broker(first).await;
        } else {
            self.serve_raft(first).await;
        }
    }

    /// Answers raft RPCs one at a time, as `crate::raft::RaftServer` does.
    async fn serve_raft(mut self, first: Vec<u8>) {
        let mut payload = first;
        loop {
            let Ok(envelope) = decode_payload::<RpcEnvelope>(&payload) else {
                tracing::debug!(peer = %self.peer, "closing raft connection: bad frame");
                return;
            };
            let Some(response) = answer_rpc(&self.raft, &self.identity, envelope).await else {
                tracing::warn!(peer = %self.peer, "refusing a raft request for another cluster or node");
                return;
            };
            if write_frame(&mut self.stream, &response).await.is_err() {
                return;
            }
            payload = match read_payload(&mut self.stream).await {
                Ok(Some(next)) => next,
                _ => return,
            };
        }
    }

    /// Forwards a broker's requests to the host task; a writer task sends the answers.
    async fn serve_broker(self, first: Vec<u8>) {
        let Connection {
            stream,
            peer,
            identity,
            commands,
            client,
            ..
        } = self;
        let (mut reader, mut writer) = super::socket::split(stream);
        let (replies, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
        if commands
            .send(HostCommand::Connect { client, replies })
            .is_err()
        {
            return;
        }
        let write = tokio::spawn(async move {
            while let Some(frame) = outgoing.recv().await {
                if super::socket::write_all(&mut writer, &frame).await.is_err() {
                    return;
                }
            }
        });
        let mut payload = Some(first);
        while let Some(bytes) = payload {
            let request = match decode_payload::<BrokerToController>(&bytes) {
                Ok(request) if request.cluster_id == identity.cluster_id => request,
                _ => {
                    tracing::warn!(%peer, "closing a broker connection: bad frame or another cluster");
                    break;
                }
            };
            let envelope = request.controller_request;
            if commands
                .send(HostCommand::Request { client, envelope })
                .is_err()
            {
                break;
            }
            payload = read_payload(&mut reader).await.ok().flatten();
        }
        let _ = commands.send(HostCommand::Disconnect { client });
        write.abort();
    }
}

/// The local raft's answer to one RPC; `None` if it is for another cluster or node.
async fn answer_rpc(
    raft: &MetadataRaft,
    identity: &Identity,
    envelope: RpcEnvelope,
) -> Option<RpcResponse> {
    if envelope.cluster_id != identity.cluster_id || envelope.to != identity.node_id {
        return None;
    }
    Some(match envelope.request {
        RpcRequest::AppendEntries(rpc) => {
            RpcResponse::AppendEntries(raft.append_entries(rpc).await)
        }
        RpcRequest::Vote(rpc) => RpcResponse::Vote(raft.vote(rpc).await),
        RpcRequest::InstallSnapshot(rpc) => {
            RpcResponse::InstallSnapshot(raft.install_snapshot(rpc).await)
        }
    })
}

/// The host task: see the module docs.
async fn run_host(
    mut node: ControllerQuorumNode,
    mut host: ControllerHost,
    mut inbox: mpsc::UnboundedReceiver<HostCommand>,
    mut stopped: oneshot::Receiver<()>,
) {
    let clock = Clock::start();
    let mut applied = node.metadata_log().subscribe_applied();
    let mut metrics = node.raft().metrics();
    let mut clients: BTreeMap<u64, mpsc::UnboundedSender<Vec<u8>>> = BTreeMap::new();
    loop {
        let timer = host.poll_timeout().map(|at| clock.instant(at));
        let tick = tokio::time::Instant::now() + SETTLE_INTERVAL;
        let wake = timer.map_or(tick, |at| at.min(tick));
        tokio::select! {
            _ = &mut stopped => break,
            command = inbox.recv() => match command {
                Some(HostCommand::Connect { client, replies }) => {
                    clients.insert(client, replies);
                }
                Some(HostCommand::Disconnect { client }) => {
                    clients.remove(&client);
                }
                Some(HostCommand::Request { client, envelope }) => {
                    let log = node.metadata_log_mut();
                    host.handle_request(clock.now(), log, client, envelope);
                }
                None => break,
            },
            changed = applied.changed() => if changed.is_err() { break },
            changed = metrics.changed() => if changed.is_err() { break },
            () = tokio::time::sleep_until(wake) => {
                host.handle_timeout(clock.now(), node.metadata_log_mut());
            }
        }
        host.settle(node.metadata_log_mut());
        route_replies(&mut host, &clients);
    }
    if let Err(error) = node.shutdown().await {
        tracing::warn!(%error, "metadata quorum shutdown");
    }
}

fn route_replies(
    host: &mut ControllerHost,
    clients: &BTreeMap<u64, mpsc::UnboundedSender<Vec<u8>>>,
) {
    while let Some(reply) = host.poll_reply() {
        let Some(client) = clients.get(&reply.client) else {
            continue; // the broker disconnected; it retries elsewhere
        };
        match encode_frame::<ControllerEnvelope<ControllerResponse>>(&reply.envelope) {
            Ok(frame) => {
                let _ = client.send(frame);
            }
            Err(error) => tracing::error!(%error, "cannot encode a controller answer"),
        }
    }
}
