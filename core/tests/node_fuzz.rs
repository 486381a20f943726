//! Bad input never panics the node: random and mutated frames go through `decode_request`
//! and whatever decodes (or fails to) is fed to the node, which must answer or close.

mod node_support;

use node_support::*;
use odradek_core::node::{ConnectionId, NodeInput};
use odradek_core::wire::kafka_protocol::messages::RequestHeader;
use odradek_core::wire::{decode_request, encode_request, RequestBody};
use proptest::prelude::*;

fn valid_frames() -> Vec<Vec<u8>> {
    let bodies: Vec<(i16, RequestBody)> = vec![
        (9, produce_request("fz", 0, 1, batch(0, &["a", "b"])).into()),
        (12, fetch_request("fz", 0, 0, 0, 1).into()),
        (4, fetch_request("fz", 0, 0, 100, 1).into()),
        (12, metadata_request(&["fz", "other"]).into()),
        (3, produce_request("fz", 0, -1, batch(0, &["c"])).into()),
    ];
    bodies
        .into_iter()
        .map(|(version, body)| {
            let header = RequestHeader::default()
                .with_request_api_key(body.api_key() as i16)
                .with_request_api_version(version)
                .with_correlation_id(1);
            encode_request(&header, &body).unwrap()[4..].to_vec()
        })
        .collect()
}

fn feed(h: &mut Harness, frame: Vec<u8>) {
    let input = match decode_request(bytes::Bytes::from(frame)) {
        Ok(request) => NodeInput::Request {
            connection: ConnectionId(1),
            request,
        },
        Err(error) => NodeInput::Undecodable {
            connection: ConnectionId(1),
            error,
        },
    };
    h.node.handle(h.now, input);
    let drained = h.drain();
    let syncs = drained.syncs;
    h.perform_syncs(&syncs);
    h.advance_ms(200);
    h.node.handle_timeout(h.now);
    h.drain();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn mutated_valid_frames_never_panic_the_node(
        which in 0usize..5,
        mutations in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut h = Harness::new();
        h.create_topic("fz", 1, &[("flush.messages", "1")]);
        let mut frame = valid_frames().swap_remove(which);
        for (at, byte) in mutations {
            let len = frame.len();
            frame[at % len] = byte;
        }
        feed(&mut h, frame);
    }

    #[test]
    fn random_frames_never_panic_the_node(frame in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut h = Harness::new();
        feed(&mut h, frame);
    }
}
