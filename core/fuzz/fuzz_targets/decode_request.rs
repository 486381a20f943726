//! Any byte stream through the frame splitter and the request decoder: typed errors only,
//! never a panic or an unbounded allocation (kafka-protocol pre-allocates arrays by the
//! length on the wire; core::wire must reject implausible lengths first).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use odradek_core::wire::{decode_request, FrameDecoder};

fuzz_target!(|data: &[u8]| {
    let _ = decode_request(Bytes::copy_from_slice(data));
    let mut frames = FrameDecoder::new(1 << 20);
    frames.push(data);
    while let Ok(Some(frame)) = frames.next_frame() {
        let _ = decode_request(frame);
    }
});
