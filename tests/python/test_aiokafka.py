"""aiokafka (asyncio; speaks only old, non-flexible protocol versions) against a real
broker: admin create/delete, keyed produce with every acks mode and codec, consume by
assignment from earliest / an offset / latest, and ListOffsets by timestamp.

Each test runs its coroutine under asyncio.wait_for so a hung broker fails the test."""

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from clientcheck import (
    BASE_TIMESTAMP_MS,
    PRODUCE_CASES,
    TIMEOUT_S,
    assert_acked_offsets_are_per_partition_sequences,
    assert_read_back_exactly_once_in_order,
    keyed_records,
)

TIMEOUT_MS = int(TIMEOUT_S * 1000)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=2 * TIMEOUT_S))


async def with_admin(broker, action):
    client = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_MS)
    await client.start()
    try:
        return await action(client)
    finally:
        await client.close()


async def create_topic(broker, topic, partitions=3):
    new = NewTopic(topic, num_partitions=partitions, replication_factor=1)
    response = await with_admin(broker, lambda c: c.create_topics([new], timeout_ms=TIMEOUT_MS))
    errors = [entry[1] for entry in response.topic_errors]
    assert errors == [0], f"CreateTopics answered {response}"


async def produce(broker, topic, records, acks="all", codec="none", partition=None, timestamps=None):
    """Returns the acknowledged (partition, offset, key, value) in send order."""
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap,
        acks="all" if acks == "all" else int(acks),
        compression_type=None if codec == "none" else codec,
        linger_ms=5,
        request_timeout_ms=TIMEOUT_MS,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                key=key,
                value=value,
                partition=partition,
                timestamp_ms=None if timestamps is None else timestamps[i],
            )
            for i, (key, value) in enumerate(records)
        ]
        acked = []
        for future, (key, value) in zip(futures, records):
            metadata = await future
            acked.append((metadata.partition, metadata.offset, key, value))
        return acked
    finally:
        await producer.stop()


async def started_consumer(broker):
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=TIMEOUT_MS,
    )
    await consumer.start()
    return consumer


async def consume_to_end(consumer, partitions):
    """Reads until every partition's position reaches its end offset as of now."""
    ends = await consumer.end_offsets(partitions)
    records = []
    while True:
        positions = {tp: await consumer.position(tp) for tp in partitions}
        if all(positions[tp] >= ends[tp] for tp in partitions):
            return records
        batches = await consumer.getmany(*partitions, timeout_ms=200)
        for tp, batch in batches.items():
            records.extend((tp.partition, r.offset, r.key, r.value) for r in batch)


def test_admin_creates_a_three_partition_topic_that_metadata_shows(broker, topic_name):
    async def scenario():
        await create_topic(broker, topic_name)
        return await with_admin(broker, lambda c: c.describe_topics([topic_name]))

    (described,) = run(scenario())
    assert (described["topic"], described["error_code"]) == (topic_name, 0)
    assert sorted(p["partition"] for p in described["partitions"]) == [0, 1, 2]
    assert all(p["error_code"] == 0 and p["leader"] == 0 for p in described["partitions"])


@pytest.mark.parametrize("acks,codec", PRODUCE_CASES)
def test_keyed_records_are_read_back_from_earliest_exactly_once_in_order(
    broker, topic_name, acks, codec
):
    records = keyed_records(topic_name)

    async def scenario():
        await create_topic(broker, topic_name)
        acked = await produce(broker, topic_name, records, acks=acks, codec=codec)
        consumer = await started_consumer(broker)
        try:
            partitions = [TopicPartition(topic_name, p) for p in range(3)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            return acked, await consume_to_end(consumer, partitions)
        finally:
            await consumer.stop()

    acked, consumed = run(scenario())
    assert len(acked) == len(records)
    assert_acked_offsets_are_per_partition_sequences(acked)
    assert_read_back_exactly_once_in_order(acked, consumed)


def test_consuming_from_a_given_offset_starts_exactly_there(broker, topic_name):
    async def scenario():
        await create_topic(broker, topic_name)
        acked = await produce(broker, topic_name, keyed_records(topic_name, 20), partition=1)
        consumer = await started_consumer(broker)
        try:
            tp = TopicPartition(topic_name, 1)
            consumer.assign([tp])
            consumer.seek(tp, 13)
            return acked, await consume_to_end(consumer, [tp])
        finally:
            await consumer.stop()

    acked, consumed = run(scenario())
    assert [record[1] for record in acked] == list(range(20))
    assert consumed == acked[13:]


def test_consuming_from_latest_sees_only_records_produced_afterwards(broker, topic_name):
    async def scenario():
        await create_topic(broker, topic_name)
        await produce(broker, topic_name, keyed_records("old", 10), partition=2)
        consumer = await started_consumer(broker)
        try:
            tp = TopicPartition(topic_name, 2)
            consumer.assign([tp])
            await consumer.seek_to_end(tp)
            assert await consumer.position(tp) == 10  # "latest" resolved before producing
            new = await produce(broker, topic_name, keyed_records("new", 5), partition=2)
            consumed = []
            while len(consumed) < 5:
                consumed.extend(await consume_to_end(consumer, [tp]))
            return new, consumed
        finally:
            await consumer.stop()

    new, consumed = run(scenario())
    assert consumed == new


def test_offsets_for_times_finds_the_first_record_at_or_after_a_timestamp(broker, topic_name):
    timestamps = [BASE_TIMESTAMP_MS + 1000 * i for i in range(10)]
    queries = {
        BASE_TIMESTAMP_MS - 5: (0, BASE_TIMESTAMP_MS),
        BASE_TIMESTAMP_MS + 3000: (3, BASE_TIMESTAMP_MS + 3000),
        BASE_TIMESTAMP_MS + 6500: (7, BASE_TIMESTAMP_MS + 7000),
    }

    async def scenario():
        await create_topic(broker, topic_name)
        records = keyed_records("ts", 10)
        acked = await produce(broker, topic_name, records, partition=0, timestamps=timestamps)
        assert [record[1] for record in acked] == list(range(10))
        consumer = await started_consumer(broker)
        try:
            tp = TopicPartition(topic_name, 0)
            for timestamp, expected in queries.items():
                answer = (await consumer.offsets_for_times({tp: timestamp}))[tp]
                assert (answer.offset, answer.timestamp) == expected, f"timestamp {timestamp}"
            late = await consumer.offsets_for_times({tp: BASE_TIMESTAMP_MS + 60_000})
            assert late[tp] is None, "no record that late"
            assert (await consumer.beginning_offsets([tp]))[tp] == 0
            assert (await consumer.end_offsets([tp]))[tp] == 10
        finally:
            await consumer.stop()

    run(scenario())


def test_a_deleted_topic_disappears_from_metadata(broker, topic_name):
    async def scenario():
        await create_topic(broker, topic_name)
        await produce(broker, topic_name, keyed_records(topic_name, 5))
        assert topic_name in await with_admin(broker, lambda c: c.list_topics())
        response = await with_admin(
            broker, lambda c: c.delete_topics([topic_name], timeout_ms=TIMEOUT_MS)
        )
        assert [entry[1] for entry in response.topic_error_codes] == [0], f"{response}"
        while topic_name in await with_admin(broker, lambda c: c.list_topics()):
            await asyncio.sleep(0.1)

    run(scenario())
