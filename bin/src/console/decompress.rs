//! Decompressing a fetched RecordBatch v2 for the console consumer.
//!
//! Contract: [`decompress_batch`] takes one whole, validated batch whose `attributes` name a
//! compression codec (1 gzip, 2 snappy — raw or in the xerial framing the Java client writes,
//! 3 lz4 frame, 4 zstd) and returns an equivalent *uncompressed* batch: the same 61-byte
//! header with the codec bits cleared, followed by the decompressed records, so
//! [`RecordIter`](odradek_core::record::RecordIter) can read it. The CRC is not recomputed
//! (the original was already checked, and nothing downstream checks it again). Output is
//! capped at [`MAX_DECOMPRESSED_BYTES`], so a decompression bomb is an error, not an
//! out-of-memory abort.
//!
//! Why in bin with pure-Rust codecs: the broker passes compressed batches through untouched,
//! so only a client needs this; kafka-protocol's compression features would have been
//! unified into core's build with C libraries.

use std::io::Read;

use odradek_core::record::{BATCH_HEADER_LEN, COMPRESSION_CODEC_MASK};

/// The largest decompressed records section accepted.
pub const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;
const ATTRIBUTES_AT: usize = 21;
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Bytes of the xerial header: magic, version (i32), compatible version (i32).
const XERIAL_HEADER_LEN: usize = 16;

/// Why a batch could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    /// The batch is shorter than its header.
    #[error("batch shorter than its header")]
    TooShort,
    /// The codec id is not one Kafka defines.
    #[error("unknown compression codec {0}")]
    UnknownCodec(i16),
    /// The compressed bytes are invalid for the codec.
    #[error("{codec}: {detail}")]
    Corrupt {
        /// The codec's name.
        codec: &'static str,
        /// What the decoder said.
        detail: String,
    },
    /// The records decompress to more than [`MAX_DECOMPRESSED_BYTES`].
    #[error("decompressed records exceed {MAX_DECOMPRESSED_BYTES} bytes")]
    TooLarge,
}

/// An uncompressed copy of the compressed `batch`. See the module docs.
pub fn decompress_batch(batch: &[u8]) -> Result<Vec<u8>, DecompressError> {
    let header = batch
        .get(..BATCH_HEADER_LEN)
        .ok_or(DecompressError::TooShort)?;
    let compressed = &batch[BATCH_HEADER_LEN..];
    let attributes = i16::from_be_bytes([header[ATTRIBUTES_AT], header[ATTRIBUTES_AT + 1]]);
    let codec = attributes & COMPRESSION_CODEC_MASK;
    let records = match codec {
        1 => read_all("gzip", flate2::read::MultiGzDecoder::new(compressed))?,
        2 => snappy(compressed)?,
        3 => read_all("lz4", lz4_flex::frame::FrameDecoder::new(compressed))?,
        4 => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(compressed)
                .map_err(|error| corrupt("zstd", error))?;
            read_all("zstd", decoder)?
        }
        other => return Err(DecompressError::UnknownCodec(other)),
    };
    let mut out = Vec::with_capacity(BATCH_HEADER_LEN + records.len());
    out.extend_from_slice(header);
    let cleared = attributes & !COMPRESSION_CODEC_MASK;
    out[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&cleared.to_be_bytes());
    out.extend_from_slice(&records);
    Ok(out)
}

fn corrupt(codec: &'static str, error: impl std::fmt::Display) -> DecompressError {
    DecompressError::Corrupt {
        codec,
        detail: error.to_string(),
    }
}

fn read_all(codec: &'static str, reader: impl Read) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    reader
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|error| corrupt(codec, error))?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(DecompressError::TooLarge);
    }
    Ok(out)
}

/// Raw snappy, or the xerial framing (magic, two versions, then length-prefixed raw blocks).
fn snappy(compressed: &[u8]) -> Result<Vec<u8>, DecompressError> {
    if !compressed.starts_with(&XERIAL_MAGIC) {
        return snappy_block(compressed, 0);
    }
    let mut rest = compressed
        .get(XERIAL_HEADER_LEN..)
        .ok_or_else(|| corrupt("snappy", "truncated xerial header"))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (length, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("snappy", "truncated xerial block length"))?;
        let length = usize::try_from(i32::from_be_bytes(*length))
            .map_err(|_| corrupt("snappy", "negative xerial block length"))?;
        let block = tail
            .get(..length)
            .ok_or_else(|| corrupt("snappy", "truncated xerial block"))?;
        out.extend_from_slice(&snappy_block(block, out.len())?);
        rest = &tail[length..];
    }
    Ok(out)
}

fn snappy_block(block: &[u8], already: usize) -> Result<Vec<u8>, DecompressError> {
    let length = snap::raw::decompress_len(block).map_err(|error| corrupt("snappy", error))?;
    if (already as u64).saturating_add(length as u64) > MAX_DECOMPRESSED_BYTES {
        return Err(DecompressError::TooLarge);
    }
    snap::raw::Decoder::new()
        .decompress_vec(block)
        .map_err(|error| corrupt("snappy", error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use odradek_core::record::{Record, RecordBatchBuilder, RecordIter};
    use std::io::Write;

    /// An uncompressed batch of `values` and the same batch with its records section
    /// compressed by `compress` under codec `codec`.
    fn batches(codec: i16, compress: impl Fn(&[u8]) -> Vec<u8>) -> (Vec<u8>, Vec<u8>) {
        let values = ["alpha", "beta", "gamma"];
        let plain = values
            .iter()
            .enumerate()
            .fold(RecordBatchBuilder::new(1_000), |builder, (i, value)| {
                builder.record(Record {
                    timestamp_delta: i as i64,
                    key: Some(format!("k{i}").into_bytes()),
                    value: Some(value.as_bytes().to_vec()),
                })
            })
            .build()
            .to_vec();
        let mut compressed = plain[..BATCH_HEADER_LEN].to_vec();
        compressed[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&codec.to_be_bytes());
        compressed.extend_from_slice(&compress(&plain[BATCH_HEADER_LEN..]));
        (plain, compressed)
    }

    fn values_of(batch: &[u8]) -> Vec<String> {
        let mut iter = RecordIter::new(batch).expect("uncompressed batch");
        let mut values = Vec::new();
        while let Some(record) = iter.next_record() {
            let record = record.expect("record parses");
            values.push(String::from_utf8(record.value.unwrap().to_vec()).unwrap());
        }
        values
    }

    fn check_round_trip(codec: i16, compress: impl Fn(&[u8]) -> Vec<u8>) {
        let (plain, compressed) = batches(codec, compress);
        let restored = decompress_batch(&compressed).expect("decompresses");
        assert_eq!(restored, plain);
        assert_eq!(values_of(&restored), ["alpha", "beta", "gamma"]);
    }

    #[test]
    fn gzip_batches_decompress_to_the_original_records() {
        check_round_trip(1, |bytes| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        });
    }

    #[test]
    fn raw_snappy_batches_decompress_to_the_original_records() {
        check_round_trip(2, |bytes| {
            snap::raw::Encoder::new().compress_vec(bytes).unwrap()
        });
    }

    #[test]
    fn xerial_framed_snappy_batches_decompress_across_blocks() {
        check_round_trip(2, |bytes| {
            let mut framed = XERIAL_MAGIC.to_vec();
            framed.extend_from_slice(&1i32.to_be_bytes());
            framed.extend_from_slice(&1i32.to_be_bytes());
            for chunk in bytes.chunks(10) {
                let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
                framed.extend_from_slice(&(block.len() as i32).to_be_bytes());
                framed.extend_from_slice(&block);
            }
            framed
        });
    }

    #[test]
    fn lz4_frame_batches_decompress_to_the_original_records() {
        check_round_trip(3, |bytes| {
            let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        });
    }

    #[test]
    fn zstd_batches_decompress_to_the_original_records() {
        check_round_trip(4, |bytes| {
            ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
        });
    }

    #[test]
    fn garbage_and_unknown_codecs_are_errors_not_panics() {
        let (_, mut garbage) = batches(4, |_| vec![1, 2, 3, 4, 5]);
        assert!(decompress_batch(&garbage).is_err());
        garbage[ATTRIBUTES_AT + 1] = 2;
        assert!(decompress_batch(&garbage).is_err());
        garbage[ATTRIBUTES_AT + 1] = 7;
        assert!(matches!(
            decompress_batch(&garbage),
            Err(DecompressError::UnknownCodec(7))
        ));
        assert!(matches!(
            decompress_batch(&[0; 10]),
            Err(DecompressError::TooShort)
        ));
    }
}
