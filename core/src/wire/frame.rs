//! Splitting a TCP byte stream into Kafka frames, without I/O.
//!
//! Contract: bytes go in with [`FrameDecoder::push`] in chunks of any size; complete frames
//! (the bytes after each big-endian `i32` size prefix) come out of
//! [`FrameDecoder::next_frame`] in order, exactly as they were sent, however the stream was
//! chunked. A negative size, or one above the configured maximum, is a [`FrameError`]: the
//! stream cannot be resynchronised after it, so the adapter logs the error and closes the
//! connection. After an error the decoder keeps returning it.
//!
//! Why: the frame boundary is the only thing the adapter needs to know about the stream, and
//! keeping it pure lets the simulator and proptests drive it with arbitrary chunkings.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

/// Length of the size prefix in front of every Kafka frame.
pub const SIZE_PREFIX_LEN: usize = 4;

/// Why the byte stream cannot be split into frames any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The size prefix is negative.
    #[error("frame size prefix is negative ({size})")]
    NegativeSize {
        /// The size read.
        size: i32,
    },
    /// The size prefix exceeds the configured maximum.
    #[error("frame of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The size read.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
}

/// An incremental splitter of a byte stream into size-prefixed frames.
#[derive(Debug)]
pub struct FrameDecoder {
    max_frame_bytes: usize,
    buffer: BytesMut,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// A decoder that rejects frames longer than `max_frame_bytes` (not counting the prefix).
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            max_frame_bytes,
            buffer: BytesMut::new(),
            failed: None,
        }
    }

    /// The largest frame accepted.
    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes received but not yet returned as frames.
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed, or the error that ended
    /// the stream.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let Some(prefix) = self.buffer.get(..SIZE_PREFIX_LEN) else {
            return Ok(None);
        };
        let size = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let len = match self.check_size(size) {
            Ok(len) => len,
            Err(error) => {
                self.failed = Some(error);
                return Err(error);
            }
        };
        // No reservation for the announced size: memory grows only with bytes actually sent.
        if self.buffer.len() < SIZE_PREFIX_LEN + len {
            return Ok(None);
        }
        self.buffer.advance(SIZE_PREFIX_LEN);
        Ok(Some(self.buffer.split_to(len).freeze()))
    }

    fn check_size(&self, size: i32) -> Result<usize, FrameError> {
        let len = usize::try_from(size).map_err(|_| FrameError::NegativeSize { size })?;
        if len > self.max_frame_bytes {
            return Err(FrameError::TooLarge {
                size: len,
                max: self.max_frame_bytes,
            });
        }
        Ok(len)
    }
}
