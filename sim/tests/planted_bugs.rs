//! Every planted bug is caught within its stated number of seeds, and the same seeds pass
//! without it (`odradek_sim::planted`: the catalogue `odradek sim --planted-bugs` prints).
//! The bound is the promise: if a change makes a bug harder to find, this test says so.

use odradek_sim::planted::{hunt, PlantedBugCase, CASES, CLUSTER_CASES};
use odradek_sim::run;

fn check(index: usize) {
    check_case(&CASES[index]);
}

fn check_cluster(index: usize) {
    check_case(&CLUSTER_CASES[index]);
}

fn check_case(case: &PlantedBugCase) {
    let result = hunt(case, &run);
    let case = &result.case;
    let (seed, failure) = result
        .caught
        .as_ref()
        .unwrap_or_else(|| panic!("{} not caught in {} seeds", case.bug, case.seeds_max));
    eprintln!("{} caught at seed {seed}: {failure}", case.bug);
    assert!(
        result.clean_failures.is_empty(),
        "without {}, seeds fail: {:?}",
        case.bug,
        result.clean_failures
    );
}

#[test]
fn acknowledging_before_the_fsync_is_caught() {
    check(0);
}

#[test]
fn serving_fetches_beyond_the_durable_offset_is_caught() {
    check(1);
}

#[test]
fn recovering_without_truncating_a_torn_tail_is_caught() {
    check(2);
}

#[test]
fn a_fetch_that_skips_a_record_is_caught() {
    check(3);
}

#[test]
fn reusing_an_offset_after_a_crash_is_caught() {
    check(4);
}

#[test]
fn an_unclean_election_by_default_is_caught() {
    check_cluster(0);
}

#[test]
fn a_stale_alter_partition_accepted_from_a_zombie_leader_is_caught() {
    check_cluster(1);
}

#[test]
fn acks_all_ignoring_min_insync_replicas_is_caught() {
    check_cluster(2);
}

#[test]
fn truncating_to_the_high_watermark_instead_of_the_epoch_end_is_caught() {
    check_cluster(3);
}

#[test]
fn serving_consumers_beyond_the_high_watermark_is_caught() {
    check_cluster(4);
}

#[test]
fn advancing_the_high_watermark_before_the_follower_has_the_data_is_caught() {
    check_cluster(5);
}

#[test]
fn a_partition_move_that_completes_before_the_new_replicas_are_in_sync_is_caught() {
    check_cluster(6);
}
