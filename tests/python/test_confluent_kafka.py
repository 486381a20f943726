"""confluent-kafka (the wheel's bundled, current librdkafka) against a real broker:
admin create/delete, keyed produce with every acks mode and codec, consume by assignment
from earliest / an offset / latest, and ListOffsets by timestamp."""

import time

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from clientcheck import (
    BASE_TIMESTAMP_MS,
    PRODUCE_CASES,
    TIMEOUT_S,
    assert_acked_offsets_are_per_partition_sequences,
    assert_read_back_exactly_once_in_order,
    keyed_records,
    wait_until,
)


def admin(broker):
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def create_topic(broker, topic, partitions=3):
    client = admin(broker)  # must outlive its futures (destroying it fails them)
    futures = client.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1)],
        operation_timeout=TIMEOUT_S,
        request_timeout=TIMEOUT_S,
    )
    futures[topic].result(timeout=TIMEOUT_S)


# An all-topics listing is also a regression check: librdkafka (2.x up to at least 2.16)
# writes the null topics array of an all-topics Metadata v9+ request as a 4-byte zero
# placeholder instead of a 1-byte varint (confluentinc/librdkafka#5049), so the body carries
# 3 bytes after its tagged fields, which Apache Kafka (and odradek) must ignore.
def topic_partitions(broker, topic):
    """Partitions of `topic` in an all-topics metadata listing (None: not listed)."""
    metadata = admin(broker).list_topics(topic=None, timeout=TIMEOUT_S)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        return None
    return sorted(found.partitions)


def produce(broker, topic, records, acks="all", codec="none", partition=None, timestamps=None):
    """Produces records, waits for every delivery report; returns the acknowledged
    (partition, offset, key, value) in delivery order."""
    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "acks": acks,
            "compression.codec": codec,
            "linger.ms": 5,
            "message.timeout.ms": int(TIMEOUT_S * 1000),
        }
    )
    acked, errors = [], []

    def on_delivery(error, message):
        if error is not None:
            errors.append(error)
        else:
            acked.append((message.partition(), message.offset(), message.key(), message.value()))

    for i, (key, value) in enumerate(records):
        extra = {}
        if partition is not None:
            extra["partition"] = partition
        if timestamps is not None:
            extra["timestamp"] = timestamps[i]
        producer.produce(topic, value=value, key=key, on_delivery=on_delivery, **extra)
        producer.poll(0)
    remaining = producer.flush(TIMEOUT_S)
    assert remaining == 0, f"{remaining} records not delivered within {TIMEOUT_S}s"
    assert not errors, f"delivery errors: {errors[:3]}"
    return acked


def consumer(broker):
    return Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "unused-assignment-only",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )


def consume_until_eof(cons, partitions, expected_max=None):
    """Reads until every assigned partition reported EOF; returns (partition, offset,
    key, value) in the order received."""
    records, at_eof = [], set()
    deadline = time.monotonic() + TIMEOUT_S
    while at_eof != set(partitions):
        assert time.monotonic() < deadline, f"no EOF on all partitions; at EOF: {at_eof}"
        message = cons.poll(0.2)
        if message is None:
            continue
        if message.error() is not None:
            if message.error().code() == -191:  # _PARTITION_EOF
                at_eof.add(message.partition())
                continue
            raise KafkaException(message.error())
        at_eof.discard(message.partition())
        records.append((message.partition(), message.offset(), message.key(), message.value()))
    return records


def test_admin_creates_a_three_partition_topic_that_metadata_shows(broker, topic_name):
    create_topic(broker, topic_name)
    assert topic_partitions(broker, topic_name) == [0, 1, 2]


def test_metadata_for_one_topic_shows_the_three_partitions_the_admin_api_created(
    broker, topic_name
):
    create_topic(broker, topic_name)
    metadata = admin(broker).list_topics(topic=topic_name, timeout=TIMEOUT_S)
    found = metadata.topics[topic_name]
    assert found.error is None
    assert sorted(found.partitions) == [0, 1, 2]
    assert {p.leader for p in found.partitions.values()} == {0}


@pytest.mark.parametrize("acks,codec", PRODUCE_CASES)
def test_keyed_records_are_read_back_from_earliest_exactly_once_in_order(
    broker, topic_name, acks, codec
):
    create_topic(broker, topic_name)
    acked = produce(broker, topic_name, keyed_records(topic_name), acks=acks, codec=codec)
    assert len(acked) == len(keyed_records(topic_name))
    assert_acked_offsets_are_per_partition_sequences(acked)
    assert len({record[0] for record in acked}) > 1, "keys should spread over partitions"
    cons = consumer(broker)
    try:
        cons.assign([TopicPartition(topic_name, p, OFFSET_BEGINNING) for p in range(3)])
        consumed = consume_until_eof(cons, range(3))
    finally:
        cons.close()
    assert_read_back_exactly_once_in_order(acked, consumed)


def test_consuming_from_a_given_offset_starts_exactly_there(broker, topic_name):
    create_topic(broker, topic_name)
    acked = produce(broker, topic_name, keyed_records(topic_name, 20), partition=1)
    assert [record[1] for record in acked] == list(range(20))
    cons = consumer(broker)
    try:
        cons.assign([TopicPartition(topic_name, 1, 13)])
        consumed = consume_until_eof(cons, [1])
    finally:
        cons.close()
    assert consumed == acked[13:]


def test_consuming_from_latest_sees_only_records_produced_afterwards(broker, topic_name):
    create_topic(broker, topic_name)
    produce(broker, topic_name, keyed_records("old", 10), partition=2)
    cons = consumer(broker)
    try:
        cons.assign([TopicPartition(topic_name, 2, OFFSET_END)])
        # position() stays unset until a record is consumed; the partition-EOF event
        # shows that "latest" was resolved (its offset is where the fetch stands).
        eof_offsets = []

        def reached_end():
            message = cons.poll(0.1)
            if message is not None and message.error() is not None:
                assert message.error().code() == -191, message.error()  # _PARTITION_EOF
                eof_offsets.append(message.offset())
            assert message is None or message.error() is not None, "an old record was read"
            return eof_offsets

        wait_until(reached_end, "the consumer to reach the latest offset")
        assert eof_offsets == [10]
        new = produce(broker, topic_name, keyed_records("new", 5), partition=2)
        consumed = []
        wait_until(
            lambda: consumed.extend(consume_until_eof(cons, [2])) or len(consumed) >= 5,
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
        queries = {
            BASE_TIMESTAMP_MS - 5: 0,  # before everything: the first record
            BASE_TIMESTAMP_MS + 3000: 3,  # exact match
            BASE_TIMESTAMP_MS + 6500: 7,  # between records: the next one
        }
        for timestamp, offset in queries.items():
            answer = cons.offsets_for_times(
                [TopicPartition(topic_name, 0, timestamp)], timeout=TIMEOUT_S
            )
            assert answer[0].error is None
            assert answer[0].offset == offset, f"timestamp {timestamp}"
        after_all = cons.offsets_for_times(
            [TopicPartition(topic_name, 0, BASE_TIMESTAMP_MS + 60_000)], timeout=TIMEOUT_S
        )
        assert after_all[0].offset in (-1, OFFSET_END), "no record that late"
        low, high = cons.get_watermark_offsets(
            TopicPartition(topic_name, 0), timeout=TIMEOUT_S, cached=False
        )
        assert (low, high) == (0, 10)
    finally:
        cons.close()


def test_a_deleted_topic_disappears_from_metadata(broker, topic_name):
    create_topic(broker, topic_name)
    produce(broker, topic_name, keyed_records(topic_name, 5))
    client = admin(broker)  # must outlive its futures
    futures = client.delete_topics([topic_name], operation_timeout=TIMEOUT_S)
    futures[topic_name].result(timeout=TIMEOUT_S)
    wait_until(lambda: topic_partitions(broker, topic_name) is None, "the topic to be gone")
