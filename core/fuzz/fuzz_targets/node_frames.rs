//! Any byte stream, split into frames, decoded and fed to a broker node on a simulated disk:
//! every request gets a response, an error response or a closed connection, never a panic.
//! Two connections interleave so that one bad client cannot affect another's answers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use odradek_core::node::{ConnectionId, Node, NodeConfig, NodeInput};
use odradek_core::time::{Mono, Now};
use odradek_core::wire::{decode_request, FrameDecoder};
use odradek_sim::disk::{SimDisk, SimDiskProvider};

fuzz_target!(|data: &[u8]| {
    let provider = SimDiskProvider::new(SimDisk::new(0));
    let Ok(mut node) = Node::open(provider, NodeConfig::default(), Now::ZERO) else {
        return;
    };
    let mut frames = FrameDecoder::new(1 << 20);
    frames.push(data);
    let mut step = 0u64;
    while let Ok(Some(frame)) = frames.next_frame() {
        step += 1;
        let now = Now {
            mono: Mono(step * 1_000_000),
            wall_ms: step as i64,
        };
        let connection = ConnectionId(step % 2);
        let input = match decode_request(frame) {
            Ok(request) => NodeInput::Request {
                connection,
                request,
            },
            Err(error) => NodeInput::Undecodable { connection, error },
        };
        node.handle(now, input);
        while node.poll_output().is_some() {}
        node.handle_timeout(now);
        while node.poll_output().is_some() {}
    }
});
