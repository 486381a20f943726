//! The frame splitter: frames come out exactly as sent however the byte stream is chunked,
//! and negative or oversized size prefixes end the stream with a typed error.

use bytes::{BufMut, Bytes, BytesMut};
use odradek_core::wire::{FrameDecoder, FrameError};
use proptest::prelude::*;

fn framed(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut stream = BytesMut::new();
    for frame in frames {
        stream.put_i32(frame.len() as i32);
        stream.put_slice(frame);
    }
    stream.to_vec()
}

fn drain(decoder: &mut FrameDecoder, out: &mut Vec<Bytes>) {
    while let Some(frame) = decoder.next_frame().expect("valid stream") {
        out.push(frame);
    }
}

#[test]
fn a_partial_prefix_or_body_yields_no_frame_until_the_rest_arrives() {
    let mut decoder = FrameDecoder::new(1024);
    decoder.push(&[0, 0]);
    assert_eq!(decoder.next_frame(), Ok(None));
    decoder.push(&[0, 3, b'a', b'b']);
    assert_eq!(decoder.next_frame(), Ok(None));
    decoder.push(b"c");
    assert_eq!(decoder.next_frame(), Ok(Some(Bytes::from_static(b"abc"))));
    assert_eq!(decoder.next_frame(), Ok(None));
    assert_eq!(decoder.buffered_len(), 0);
}

#[test]
fn an_empty_frame_is_a_frame() {
    let mut decoder = FrameDecoder::new(0);
    decoder.push(&[0, 0, 0, 0]);
    assert_eq!(decoder.next_frame(), Ok(Some(Bytes::new())));
}

#[test]
fn a_negative_size_prefix_ends_the_stream_with_a_typed_error() {
    let mut decoder = FrameDecoder::new(1024);
    decoder.push(&(-5_i32).to_be_bytes());
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::NegativeSize { size: -5 })
    );
    decoder.push(&framed(&[b"later".to_vec()]));
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::NegativeSize { size: -5 }),
        "the stream cannot resynchronise"
    );
}

#[test]
fn a_size_above_the_maximum_is_rejected_before_its_bytes_arrive() {
    let mut decoder = FrameDecoder::new(100);
    decoder.push(&framed(&[vec![7; 100]]));
    assert_eq!(decoder.next_frame(), Ok(Some(Bytes::from(vec![7; 100]))));
    decoder.push(&101_i32.to_be_bytes());
    assert_eq!(
        decoder.next_frame(),
        Err(FrameError::TooLarge {
            size: 101,
            max: 100
        })
    );
    let mut huge = FrameDecoder::new(100 << 20);
    huge.push(&i32::MAX.to_be_bytes());
    assert!(matches!(
        huge.next_frame(),
        Err(FrameError::TooLarge { .. })
    ));
}

proptest! {
    #[test]
    fn frames_survive_any_chunking_of_the_stream(
        frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..12),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let stream = framed(&frames);
        let mut positions: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        positions.push(0);
        positions.push(stream.len());
        positions.sort_unstable();
        let mut decoder = FrameDecoder::new(40);
        let mut out = Vec::new();
        for window in positions.windows(2) {
            decoder.push(&stream[window[0]..window[1]]);
            drain(&mut decoder, &mut out);
        }
        let expected: Vec<Bytes> = frames.into_iter().map(Bytes::from).collect();
        prop_assert_eq!(out, expected);
        prop_assert_eq!(decoder.buffered_len(), 0);
    }

    #[test]
    fn arbitrary_streams_never_panic_the_splitter(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..16), 0..16),
        max in 0usize..64,
    ) {
        let mut decoder = FrameDecoder::new(max);
        for chunk in chunks {
            decoder.push(&chunk);
            while let Ok(Some(frame)) = decoder.next_frame() {
                prop_assert!(frame.len() <= max);
            }
        }
    }
}
