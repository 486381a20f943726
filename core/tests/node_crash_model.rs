//! Model test: random produce (acks=all, fsync every batch), sync, crash-and-restart
//! sequences; after every restart every acknowledged batch is still at its offset, byte for
//! byte (the model is the list of acknowledged batches).

mod node_support;

use bytes::BytesMut;
use node_support::*;
use odradek_core::record::{set_base_offset, Offset};
use odradek_core::wire::ResponseBody;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Produce { partition: i32, records: u8 },
    SyncAll,
    SyncFirst,
    CrashAndRestart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2i32, 1..4u8).prop_map(|(partition, records)| Op::Produce { partition, records }),
        2 => Just(Op::SyncAll),
        1 => Just(Op::SyncFirst),
        1 => Just(Op::CrashAndRestart),
    ]
}

/// Acknowledged batches: (partition, base offset, stored bytes).
type Acked = Vec<(i32, i64, bytes::Bytes)>;

fn record_answers(drained: &Drained, sent: &[(i32, i32, bytes::Bytes)], acked: &mut Acked) {
    for answer in &drained.answers {
        let ResponseBody::Produce(response) = &answer.body else {
            continue;
        };
        let partition = &response.responses[0].partition_responses[0];
        assert_eq!(partition.error_code, 0);
        let (_, p, batch) = sent
            .iter()
            .find(|(c, _, _)| *c == answer.correlation_id)
            .unwrap();
        let mut stored = BytesMut::from(batch.as_ref());
        set_base_offset(&mut stored, Offset(partition.base_offset as u64));
        acked.push((*p, partition.base_offset, stored.freeze()));
    }
}

fn check_acked(h: &mut Harness, acked: &Acked) {
    for (partition, base_offset, stored) in acked {
        let body = h.call(12, fetch_request("m", *partition, *base_offset, 0, 1));
        let fetched = fetched_records(&body);
        assert!(
            fetched.len() >= stored.len(),
            "acked batch at {partition}/{base_offset} lost"
        );
        // The leader stamps its leader epoch into each batch (as Kafka does), and a restart
        // starts a new epoch: compare everything but that field (bytes 12..16).
        let mut expected = BytesMut::from(stored.as_ref());
        expected[12..16].copy_from_slice(&fetched[12..16]);
        assert_eq!(&fetched[..stored.len()], &expected[..]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn acknowledged_batches_survive_every_crash(ops in proptest::collection::vec(op(), 1..40)) {
        let mut h = Harness::new();
        h.create_topic("m", 2, &[("flush.messages", "1")]);
        let mut acked: Acked = Vec::new();
        let mut sent: Vec<(i32, i32, bytes::Bytes)> = Vec::new();
        let mut syncs = Vec::new();
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Produce { partition, records } => {
                    let values: Vec<String> = (0..records).map(|r| format!("{step}-{r}")).collect();
                    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                    let records = batch(step as i64, &refs);
                    let correlation = h.send(step as u64, 9, produce_request("m", partition, -1, records.clone()));
                    sent.push((correlation, partition, records));
                    let drained = h.drain();
                    record_answers(&drained, &sent, &mut acked);
                    syncs.extend(drained.syncs);
                }
                Op::SyncAll => {
                    let drained = h.perform_syncs(&std::mem::take(&mut syncs));
                    record_answers(&drained, &sent, &mut acked);
                }
                Op::SyncFirst if !syncs.is_empty() => {
                    let first = syncs.remove(0);
                    let drained = h.perform_syncs(&[first]);
                    record_answers(&drained, &sent, &mut acked);
                }
                Op::SyncFirst => {}
                Op::CrashAndRestart => {
                    syncs.clear();
                    h.crash_and_restart();
                    check_acked(&mut h, &acked);
                }
            }
        }
        h.crash_and_restart();
        check_acked(&mut h, &acked);
    }
}
