//! Properties the world checks while a run is in progress, one per file, each naming its
//! source. They look at what a node *emits* at the moment it emits it, so a violation is
//! caught at the event that causes it rather than reconstructed from the history later.
//!
//! - [`durability`]: no acknowledgment, and no fetched record, beyond what an fsync made
//!   durable on a partition whose flush policy syncs (Odradek's durability contract; Kafka's
//!   `flush.messages` semantics).
//! - [`corrupt_batch`]: no client ever receives a record batch whose CRC does not match,
//!   unless the run injected corruption (KIP-98's CRC-32C over the batch; Kafka clients
//!   verify it, so a broker serving damage is a bug whatever the client does).
//! - [`replication`]: an `acks=all` acknowledgment is held durably by at least
//!   `min.insync.replicas` brokers when it is emitted (Kafka's acks=all contract).
//! - [`metadata`]: the controllers never commit different metadata records at one position
//!   (Raft's state machine safety).
//!
//! The cores' own invariants (`Node::check_invariants`) run after every event as well.

pub mod corrupt_batch;
pub mod durability;
pub mod metadata;
pub mod replication;
