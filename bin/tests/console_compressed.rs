//! `odradek consume` decompresses batches other producers compressed (gzip, snappy, lz4,
//! zstd): the batches are sent with the console client library, exactly as a Kafka producer
//! would send them, to a real `odradek serve`.

mod console_support;

use std::io::Write;
use std::time::Duration;

use console_support::Broker;
use odradek::client::Client;
use odradek_core::record::{Record, RecordBatchBuilder, BATCH_HEADER_LEN};
use odradek_core::wire::kafka_protocol::messages::produce_request::{
    PartitionProduceData, TopicProduceData,
};
use odradek_core::wire::kafka_protocol::messages::{ProduceRequest, TopicName};
use odradek_core::wire::kafka_protocol::protocol::StrBytes;
use odradek_core::wire::{RequestBody, ResponseBody};

const ATTRIBUTES_AT: usize = 21;
const CRC_AT: usize = 17;

fn compress(codec: i16, records: &[u8]) -> Vec<u8> {
    match codec {
        1 => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(records).unwrap();
            encoder.finish().unwrap()
        }
        2 => snap::raw::Encoder::new().compress_vec(records).unwrap(),
        3 => {
            let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
            encoder.write_all(records).unwrap();
            encoder.finish().unwrap()
        }
        _ => {
            ruzstd::encoding::compress_to_vec(records, ruzstd::encoding::CompressionLevel::Fastest)
        }
    }
}

/// A batch of `values` whose records section is compressed with `codec`, CRC recomputed.
fn compressed_batch(codec: i16, values: &[String]) -> Vec<u8> {
    let plain = values
        .iter()
        .enumerate()
        .fold(
            RecordBatchBuilder::new(1_700_000_000_000),
            |builder, (i, value)| {
                builder.record(Record {
                    timestamp_delta: i as i64,
                    key: None,
                    value: Some(value.as_bytes().to_vec()),
                })
            },
        )
        .build();
    let mut batch = plain[..BATCH_HEADER_LEN].to_vec();
    batch[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&codec.to_be_bytes());
    batch.extend_from_slice(&compress(codec, &plain[BATCH_HEADER_LEN..]));
    let length = (batch.len() - 12) as i32;
    batch[8..12].copy_from_slice(&length.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_AT..]);
    batch[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    batch
}

fn produce_batch(client: &mut Client, topic: &str, batch: Vec<u8>) {
    let leader = client.topic(topic, false).expect("topic").partitions[0].leader;
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch.into()))])]);
    let answer = client
        .leader(leader)
        .expect("leader")
        .call(RequestBody::Produce(request))
        .expect("produce");
    let ResponseBody::Produce(response) = answer else {
        panic!("not a produce response: {answer:?}");
    };
    let code = response.responses[0].partition_responses[0].error_code;
    assert_eq!(code, 0, "produce refused");
}

#[test]
fn batches_compressed_with_every_kafka_codec_are_printed_decompressed_in_order() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "squeezed"], "");
    let mut client = Client::connect(&broker.address, Duration::from_secs(10)).expect("connect");
    let mut expected = Vec::new();
    for codec in 1..=4i16 {
        let values: Vec<String> = (0..3).map(|i| format!("codec{codec}-record{i}")).collect();
        produce_batch(&mut client, "squeezed", compressed_batch(codec, &values));
        expected.extend(values);
    }
    let stdout = broker.ok(
        &[
            "consume",
            "squeezed",
            "--from-beginning",
            "--max-messages",
            "12",
            "--timeout-ms",
            "5000",
            "--format",
            "{offset} {value}",
        ],
        "",
    );
    let want: String = expected
        .iter()
        .enumerate()
        .map(|(offset, value)| format!("{offset} {value}\n"))
        .collect();
    assert_eq!(stdout, want);
}

#[test]
fn starting_inside_a_compressed_batch_skips_the_records_before_the_offset() {
    let broker = Broker::start();
    broker.ok(&["topics", "create", "middle"], "");
    let mut client = Client::connect(&broker.address, Duration::from_secs(10)).expect("connect");
    let values: Vec<String> = (0..5).map(|i| format!("r{i}")).collect();
    produce_batch(&mut client, "middle", compressed_batch(1, &values));
    let stdout = broker.ok(
        &[
            "consume",
            "middle",
            "--partition",
            "0",
            "--offset",
            "3",
            "--timeout-ms",
            "1000",
        ],
        "",
    );
    assert_eq!(stdout, "r3\nr4\n");
}
