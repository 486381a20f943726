"""Small fetch limits with real clients: the broker honours `max_bytes` and
`partition_max_bytes` yet always returns at least one whole batch, so consumers whose
limits are smaller than a batch still make progress and read every record exactly once,
in order. Records are ~1 KiB and produced in batches of many records."""

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as AioTopicPartition
from confluent_kafka import OFFSET_BEGINNING
from confluent_kafka import TopicPartition as RdTopicPartition
from kafka import KafkaConsumer, TopicPartition

import test_aiokafka
import test_confluent_kafka
import test_kafka_python
from clientcheck import TIMEOUT_S, assert_read_back_exactly_once_in_order

RECORD_COUNT = 600


def big_records(tag):
    return [
        (f"key-{i % 5}".encode(), f"{tag}-{i:05d}-".encode() + bytes([65 + i % 26]) * 1000)
        for i in range(RECORD_COUNT)
    ]


@pytest.fixture
def filled_topic(broker, topic_name):
    test_confluent_kafka.create_topic(broker, topic_name)
    acked = test_confluent_kafka.produce(broker, topic_name, big_records(topic_name), codec="none")
    return topic_name, acked


def test_kafka_python_with_limits_smaller_than_a_batch_reads_everything(broker, filled_topic):
    topic, acked = filled_topic
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=4096,
        max_partition_fetch_bytes=2048,
        request_timeout_ms=int(TIMEOUT_S * 1000) + 5000,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        consumed = test_kafka_python.consume_to_end(consumer, partitions)
    finally:
        consumer.close()
    assert_read_back_exactly_once_in_order(acked, consumed)


def test_librdkafka_with_limits_smaller_than_a_batch_reads_everything(broker, filled_topic):
    topic, acked = filled_topic
    consumer = test_confluent_kafka.Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "unused-assignment-only",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.max.bytes": 4096,
            "max.partition.fetch.bytes": 2048,
            "message.max.bytes": 4096,  # librdkafka wants fetch.max.bytes >= this
        }
    )
    try:
        consumer.assign([RdTopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
        consumed = test_confluent_kafka.consume_until_eof(consumer, range(3))
    finally:
        consumer.close()
    assert_read_back_exactly_once_in_order(acked, consumed)


def test_aiokafka_with_limits_smaller_than_a_batch_reads_everything(broker, filled_topic):
    topic, acked = filled_topic

    async def scenario():
        consumer = AIOKafkaConsumer(
            bootstrap_servers=broker.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_bytes=4096,
            max_partition_fetch_bytes=2048,
            request_timeout_ms=int(TIMEOUT_S * 1000),
        )
        await consumer.start()
        try:
            partitions = [AioTopicPartition(topic, p) for p in range(3)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            return await test_aiokafka.consume_to_end(consumer, partitions)
        finally:
            await consumer.stop()

    assert_read_back_exactly_once_in_order(acked, test_aiokafka.run(scenario()))
