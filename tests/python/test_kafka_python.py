"""kafka-python (pure-Python protocol implementation) against a real broker: admin
create/delete, keyed produce with every acks mode and codec, consume by assignment from
earliest / an offset / latest, and ListOffsets by timestamp."""

import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from clientcheck import (
    BASE_TIMESTAMP_MS,
    PRODUCE_CASES,
    TIMEOUT_S,
    assert_acked_offsets_are_per_partition_sequences,
    assert_read_back_exactly_once_in_order,
    keyed_records,
    wait_until,
)

TIMEOUT_MS = int(TIMEOUT_S * 1000)


def admin(broker):
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_MS)


def create_topic(broker, topic, partitions=3):
    client = admin(broker)
    try:
        client.create_topics(
            [NewTopic(topic, num_partitions=partitions, replication_factor=1)],
            timeout_ms=TIMEOUT_MS,
        )
    finally:
        client.close()


def producer(broker, acks="all", codec="none"):
    return KafkaProducer(
        bootstrap_servers=broker.bootstrap,
        acks="all" if acks == "all" else int(acks),
        compression_type=None if codec == "none" else codec,
        linger_ms=5,
        request_timeout_ms=TIMEOUT_MS,
        # kafka-python 3 defaults to the idempotent producer, whose InitProducerId is not
        # part of this broker yet (idempotence has its own issue).
        enable_idempotence=False,
    )


def produce(broker, topic, records, acks="all", codec="none", partition=None, timestamps=None):
    """Returns the acknowledged (partition, offset, key, value) in send order."""
    prod = producer(broker, acks, codec)
    try:
        futures = [
            prod.send(
                topic,
                key=key,
                value=value,
                partition=partition,
                timestamp_ms=None if timestamps is None else timestamps[i],
            )
            for i, (key, value) in enumerate(records)
        ]
        prod.flush(timeout=TIMEOUT_S)
        acked = []
        for future, (key, value) in zip(futures, records):
            metadata = future.get(timeout=TIMEOUT_S)
            acked.append((metadata.partition, metadata.offset, key, value))
        return acked
    finally:
        prod.close(timeout=5)


def consumer(broker):
    return KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=TIMEOUT_MS + 5000,
    )


def consume_to_end(cons, partitions):
    """Reads until the position of every partition reaches its end offset (as ListOffsets
    answers it now); returns (partition, offset, key, value) in the order received."""
    ends = cons.end_offsets(partitions)
    records = []
    deadline = time.monotonic() + TIMEOUT_S
    while any(cons.position(tp) < ends[tp] for tp in partitions):
        assert time.monotonic() < deadline, f"not at end {ends} within {TIMEOUT_S}s"
        for tp, batch in cons.poll(timeout_ms=200).items():
            records.extend((tp.partition, r.offset, r.key, r.value) for r in batch)
    return records


def test_admin_creates_a_three_partition_topic_that_metadata_shows(broker, topic_name):
    create_topic(broker, topic_name)
    client = admin(broker)
    try:
        (described,) = client.describe_topics([topic_name])
    finally:
        client.close()
    assert described["error_code"] == 0
    assert sorted(p["partition_index"] for p in described["partitions"]) == [0, 1, 2]


@pytest.mark.parametrize("acks,codec", PRODUCE_CASES)
def test_keyed_records_are_read_back_from_earliest_exactly_once_in_order(
    broker, topic_name, acks, codec
):
    create_topic(broker, topic_name)
    records = keyed_records(topic_name)
    acked = produce(broker, topic_name, records, acks=acks, codec=codec)
    assert len(acked) == len(records)
    assert_acked_offsets_are_per_partition_sequences(acked)
    cons = consumer(broker)
    try:
        partitions = [TopicPartition(topic_name, p) for p in range(3)]
        cons.assign(partitions)
        cons.seek_to_beginning(*partitions)
        consumed = consume_to_end(cons, partitions)
    finally:
        cons.close()
    assert_read_back_exactly_once_in_order(acked, consumed)


def test_consuming_from_a_given_offset_starts_exactly_there(broker, topic_name):
    create_topic(broker, topic_name)
    acked = produce(broker, topic_name, keyed_records(topic_name, 20), partition=1)
    assert [record[1] for record in acked] == list(range(20))
    cons = consumer(broker)
    try:
        tp = TopicPartition(topic_name, 1)
        cons.assign([tp])
        cons.seek(tp, 13)
        consumed = consume_to_end(cons, [tp])
    finally:
        cons.close()
    assert consumed == acked[13:]


def test_consuming_from_latest_sees_only_records_produced_afterwards(broker, topic_name):
    create_topic(broker, topic_name)
    produce(broker, topic_name, keyed_records("old", 10), partition=2)
    cons = consumer(broker)
    try:
        tp = TopicPartition(topic_name, 2)
        cons.assign([tp])
        cons.seek_to_end(tp)
        assert cons.position(tp) == 10  # resolves "latest" now, before the new records
        new = produce(broker, topic_name, keyed_records("new", 5), partition=2)
        consumed = []
        wait_until(
            lambda: consumed.extend(consume_to_end(cons, [tp])) or len(consumed) >= 5,
            "the new records",
        )
    finally:
        cons.close()
    assert consumed == new


def test_offsets_for_times_finds_the_first_record_at_or_after_a_timestamp(broker, topic_name):
    create_topic(broker, topic_name)
    timestamps = [BASE_TIMESTAMP_MS + 1000 * i for i in range(10)]
    acked = produce(
        broker, topic_name, keyed_records("ts", 10), partition=0, timestamps=timestamps
    )
    assert [record[1] for record in acked] == list(range(10))
    cons = consumer(broker)
    try:
        tp = TopicPartition(topic_name, 0)
        queries = {
            BASE_TIMESTAMP_MS - 5: (0, BASE_TIMESTAMP_MS),
            BASE_TIMESTAMP_MS + 3000: (3, BASE_TIMESTAMP_MS + 3000),
            BASE_TIMESTAMP_MS + 6500: (7, BASE_TIMESTAMP_MS + 7000),
        }
        for timestamp, (offset, found_timestamp) in queries.items():
            answer = cons.offsets_for_times({tp: timestamp}, timeout_ms=TIMEOUT_MS)[tp]
            assert (answer.offset, answer.timestamp) == (offset, found_timestamp)
        late = cons.offsets_for_times({tp: BASE_TIMESTAMP_MS + 60_000}, timeout_ms=TIMEOUT_MS)
        assert late[tp] is None, "no record that late"
        assert cons.beginning_offsets([tp])[tp] == 0
        assert cons.end_offsets([tp])[tp] == 10
    finally:
        cons.close()


def test_a_deleted_topic_disappears_from_metadata(broker, topic_name):
    create_topic(broker, topic_name)
    produce(broker, topic_name, keyed_records(topic_name, 5))
    client = admin(broker)
    try:
        assert topic_name in client.list_topics()
        client.delete_topics([topic_name], timeout_ms=TIMEOUT_MS)
        wait_until(lambda: topic_name not in client.list_topics(), "the topic to be gone")
    finally:
        client.close()
