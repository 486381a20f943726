//! openraft's RPCs between controller nodes over TCP: [`QuorumNetwork`] (the client side
//! openraft calls) and [`RaftServer`] (accepts connections, dispatches to the local Raft).
//!
//! # Wire format
//! Each message is a frame: `len: u32 BE` then `len` bytes of JSON (serde_json, already a
//! workspace dependency; openraft's message and error types derive serde and round-trip
//! through it; metadata traffic is small, so a self-describing format's size costs nothing
//! that matters, and frames stay readable in a packet capture). A connection carries one
//! request at a time: the client writes an [`RpcEnvelope`] and reads one [`RpcResponse`].
//! A frame over [`FRAME_LEN_MAX`] closes the connection.
//!
//! # Isolation
//! Every request names the cluster id and the node it is for. A server closes the
//! connection on a request for another cluster or another node, without handing it to
//! raft: an address reused by another cluster (or a stale voter address) must never let
//! one quorum's votes or entries into another.
//!
//! # Failures
//! A refused connection is `Unreachable` (openraft backs off); any other I/O error or a
//! call past openraft's hard TTL drops the connection and is a `Network` error (the next
//! call reconnects). An error the remote Raft returned is a `RemoteError`.

use super::{MetadataRaft, MetadataRaftTypes};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
#[cfg(not(madsim))]
use tokio::task::JoinSet;

/// The largest frame either side accepts (snapshot chunks are the big ones).
pub const FRAME_LEN_MAX: usize = 64 * 1024 * 1024;
/// How long the server waits after a failed accept (e.g. out of descriptors) before the next.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

/// A request from one controller node's Raft to another's.
#[derive(Debug, Serialize, Deserialize)]
pub enum RpcRequest {
    /// Log replication and heartbeats.
    AppendEntries(AppendEntriesRequest<MetadataRaftTypes>),
    /// An election.
    Vote(VoteRequest<u64>),
    /// One chunk of a snapshot.
    InstallSnapshot(InstallSnapshotRequest<MetadataRaftTypes>),
}

/// What travels from client to server: a request, for whom.
#[derive(Debug, Serialize, Deserialize)]
pub struct RpcEnvelope {
    /// The cluster the sender belongs to.
    pub cluster_id: String,
    /// The node the request is for.
    pub to: u64,
    /// The request.
    pub request: RpcRequest,
}

/// The answer to an [`RpcRequest`] of the same name.
#[derive(Debug, Serialize, Deserialize)]
pub enum RpcResponse {
    /// Answers `AppendEntries`.
    AppendEntries(Result<AppendEntriesResponse<u64>, RaftError<u64>>),
    /// Answers `Vote`.
    Vote(Result<VoteResponse<u64>, RaftError<u64>>),
    /// Answers `InstallSnapshot`.
    InstallSnapshot(Result<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>>),
}

/// Writes `message` as one frame (the framing `crate::serve::frames` owns for both the raft
/// and the controller RPCs).
async fn write_frame<T: Serialize>(stream: &mut TcpStream, message: &T) -> io::Result<()> {
    crate::serve::frames::write_frame(stream, message).await
}

/// Reads one frame; `None` if the peer closed the connection between frames.
async fn read_frame<T: DeserializeOwned>(stream: &mut TcpStream) -> io::Result<Option<T>> {
    crate::serve::frames::read_frame(stream).await
}

/// Creates a [`QuorumConnection`] per target; the target's address is the `addr` of its
/// `BasicNode` in the cluster membership.
#[derive(Clone, Debug)]
pub struct QuorumNetwork {
    cluster_id: String,
}

impl QuorumNetwork {
    /// The network of a node of cluster `cluster_id`.
    pub fn new(cluster_id: String) -> QuorumNetwork {
        QuorumNetwork { cluster_id }
    }
}

impl RaftNetworkFactory<MetadataRaftTypes> for QuorumNetwork {
    type Network = QuorumConnection;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> QuorumConnection {
        QuorumConnection {
            cluster_id: self.cluster_id.clone(),
            target,
            addr: node.addr.clone(),
            stream: std::sync::Mutex::new(None),
        }
    }
}

/// One node's client connection to another, opened lazily and reopened after errors.
#[derive(Debug)]
pub struct QuorumConnection {
    cluster_id: String,
    target: u64,
    addr: String,
    /// Behind a mutex (only ever reached through `&mut self`, so never contended) because
    /// openraft wants a `Sync` connection and madsim's simulated stream is not `Sync`.
    stream: std::sync::Mutex<Option<TcpStream>>,
}

/// Why a call failed before a response arrived.
enum CallError {
    Unreachable(io::Error),
    Network(io::Error),
}

impl CallError {
    fn into_rpc<E: std::error::Error>(self) -> RPCError<u64, BasicNode, E> {
        match self {
            CallError::Unreachable(error) => RPCError::Unreachable(Unreachable::new(&error)),
            CallError::Network(error) => RPCError::Network(NetworkError::new(&error)),
        }
    }
}

impl QuorumConnection {
    async fn call(
        &mut self,
        request: RpcRequest,
        option: RPCOption,
    ) -> Result<RpcResponse, CallError> {
        let envelope = RpcEnvelope {
            cluster_id: self.cluster_id.clone(),
            to: self.target,
            request,
        };
        let result = tokio::time::timeout(option.hard_ttl(), self.exchange(&envelope)).await;
        let result = match result {
            Ok(result) => result,
            Err(_) => Err(CallError::Network(io::Error::new(
                io::ErrorKind::TimedOut,
                "no response within the RPC's time to live",
            ))),
        };
        if result.is_err() {
            *self.stream_slot() = None;
        }
        result
    }

    fn stream_slot(&mut self) -> &mut Option<TcpStream> {
        self.stream
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn exchange(&mut self, request: &RpcEnvelope) -> Result<RpcResponse, CallError> {
        if self.stream_slot().is_none() {
            let stream = TcpStream::connect(&self.addr)
                .await
                .map_err(CallError::Unreachable)?;
            stream.set_nodelay(true).map_err(CallError::Network)?;
            *self.stream_slot() = Some(stream);
        }
        let Some(stream) = self.stream_slot().as_mut() else {
            return Err(CallError::Network(io::Error::other("no connection")));
        };
        write_frame(stream, request)
            .await
            .map_err(CallError::Network)?;
        match read_frame(stream).await {
            Ok(Some(response)) => Ok(response),
            Ok(None) => Err(CallError::Network(io::ErrorKind::UnexpectedEof.into())),
            Err(error) => Err(CallError::Network(error)),
        }
    }

    fn remote<E: std::error::Error>(
        &self,
        error: RaftError<u64, E>,
    ) -> RPCError<u64, BasicNode, RaftError<u64, E>> {
        RPCError::RemoteError(RemoteError::new(self.target, error))
    }
}

fn mismatched<E: std::error::Error>() -> RPCError<u64, BasicNode, E> {
    let error = io::Error::new(
        io::ErrorKind::InvalidData,
        "response does not match request",
    );
    RPCError::Network(NetworkError::new(&error))
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>;

impl RaftNetwork<MetadataRaftTypes> for QuorumConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<MetadataRaftTypes>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<u64>> {
        let request = RpcRequest::AppendEntries(rpc);
        match self
            .call(request, option)
            .await
            .map_err(CallError::into_rpc)?
        {
            RpcResponse::AppendEntries(result) => result.map_err(|e| self.remote(e)),
            _ => Err(mismatched()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<MetadataRaftTypes>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<u64>, InstallSnapshotError> {
        let request = RpcRequest::InstallSnapshot(rpc);
        match self
            .call(request, option)
            .await
            .map_err(CallError::into_rpc)?
        {
            RpcResponse::InstallSnapshot(result) => result.map_err(|e| self.remote(e)),
            _ => Err(mismatched()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<u64>> {
        match self
            .call(RpcRequest::Vote(rpc), option)
            .await
            .map_err(CallError::into_rpc)?
        {
            RpcResponse::Vote(result) => result.map_err(|e| self.remote(e)),
            _ => Err(mismatched()),
        }
    }
}

/// Accepts connections from other controller nodes and answers their RPCs with the local
/// Raft. Dropping or shutting down the server closes the listener and every connection.
#[derive(Debug)]
pub struct RaftServer {
    local_addr: SocketAddr,
    accept_task: JoinHandle<()>,
}

impl RaftServer {
    /// Serves `raft` (node `node_id` of cluster `cluster_id`) on `listener`, already bound,
    /// until shut down.
    pub fn start(
        listener: TcpListener,
        raft: MetadataRaft,
        node_id: u64,
        cluster_id: String,
    ) -> io::Result<RaftServer> {
        let local_addr = listener.local_addr()?;
        let identity = Arc::new(ServerIdentity {
            node_id,
            cluster_id,
        });
        let accept_task = tokio::spawn(accept_loop(listener, raft, identity));
        Ok(RaftServer {
            local_addr,
            accept_task,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and closes every connection (their tasks are aborted).
    pub fn shutdown(&self) {
        self.accept_task.abort();
    }
}

impl Drop for RaftServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

/// Who a server answers for: requests for anyone else are refused.
#[derive(Debug)]
struct ServerIdentity {
    node_id: u64,
    cluster_id: String,
}

/// Accepts connections; each is served by a task in a set this loop owns, so aborting the
/// loop aborts them all.
async fn accept_loop(listener: TcpListener, raft: MetadataRaft, identity: Arc<ServerIdentity>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let served = serve_connection(stream, peer, raft.clone(), Arc::clone(&identity));
                    connections.spawn(served);
                }
                Err(error) => {
                    tracing::warn!(%error, "raft server accept failed");
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Answers requests on one connection until the peer closes it, sends a bad frame, or
/// sends a request for another cluster or node.
async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    raft: MetadataRaft,
    identity: Arc<ServerIdentity>,
) {
    loop {
        let envelope = match read_frame::<RpcEnvelope>(&mut stream).await {
            Ok(Some(envelope)) => envelope,
            Ok(None) => return,
            Err(error) => {
                tracing::debug!(%peer, %error, "closing raft connection");
                return;
            }
        };
        if envelope.cluster_id != identity.cluster_id || envelope.to != identity.node_id {
            tracing::warn!(
                %peer,
                cluster_id = envelope.cluster_id,
                to = envelope.to,
                "refusing a raft request meant for another cluster or node"
            );
            return;
        }
        let response = match envelope.request {
            RpcRequest::AppendEntries(rpc) => {
                RpcResponse::AppendEntries(raft.append_entries(rpc).await)
            }
            RpcRequest::Vote(rpc) => RpcResponse::Vote(raft.vote(rpc).await),
            RpcRequest::InstallSnapshot(rpc) => {
                RpcResponse::InstallSnapshot(raft.install_snapshot(rpc).await)
            }
        };
        if let Err(error) = write_frame(&mut stream, &response).await {
            tracing::debug!(%peer, %error, "closing raft connection");
            return;
        }
    }
}

/// madsim has no `JoinSet`: the accept loop's connection tasks, aborted together when the
/// loop ends (finished ones are forgotten at the next spawn).
#[cfg(madsim)]
struct JoinSet(Vec<JoinHandle<()>>);

#[cfg(madsim)]
impl JoinSet {
    fn new() -> JoinSet {
        JoinSet(Vec::new())
    }

    fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.0.retain(|handle| !handle.is_finished());
        self.0.push(tokio::spawn(task));
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Never completes: finished tasks are forgotten in `spawn` instead.
    async fn join_next(&mut self) -> Option<()> {
        std::future::pending().await
    }
}

#[cfg(madsim)]
impl Drop for JoinSet {
    fn drop(&mut self) {
        for handle in &self.0 {
            handle.abort();
        }
    }
}
