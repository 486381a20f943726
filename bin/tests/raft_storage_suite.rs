//! openraft's own storage conformance suite (`openraft::testing::Suite`: log state, reads,
//! votes, truncation, purges, membership, snapshots) run on the metadata quorum's log store
//! and state machine, both sharing one `SimDisk` directory as in simulation.

mod raft_support;

use odradek::raft::{FileLogStore, MetadataRaftTypes, MetadataStateMachine};
use odradek_sim::disk::SimDisk;
use openraft::testing::{StoreBuilder, Suite};
use openraft::StorageError;
use raft_support::sim_store::raft_storage;

/// Builds each suite case a fresh store and state machine on a fresh `SimDisk`.
struct SimDiskStoreBuilder;

impl StoreBuilder<MetadataRaftTypes, FileLogStore, MetadataStateMachine> for SimDiskStoreBuilder {
    async fn build(&self) -> Result<((), FileLogStore, MetadataStateMachine), StorageError<u64>> {
        let storage = raft_storage(&SimDisk::new(7));
        let store = FileLogStore::open(storage.clone()).expect("store opens");
        let state_machine = MetadataStateMachine::open_in(storage).expect("state machine opens");
        Ok(((), store, state_machine))
    }
}

#[test]
fn the_log_store_and_state_machine_pass_openrafts_storage_suite_on_a_simdisk() {
    Suite::test_all(SimDiskStoreBuilder).expect("openraft's storage suite passes");
}
