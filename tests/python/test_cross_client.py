"""Batches compressed by one client library are read by the others: the broker stores and
serves producer batches untouched, so kafka-python's gzip/snappy/lz4/zstd batches must
decompress in librdkafka (current and Debian's old one, via confluent-kafka and kcat) and
in aiokafka, and each reader sees every record exactly once, in order, at its offset."""

import pytest
from aiokafka import TopicPartition as AioTopicPartition
from confluent_kafka import OFFSET_BEGINNING
from confluent_kafka import TopicPartition as RdTopicPartition

import test_aiokafka
import test_confluent_kafka
import test_kafka_python
import test_kcat
from clientcheck import CODECS, assert_read_back_exactly_once_in_order, keyed_records


def read_with_confluent(broker, topic):
    cons = test_confluent_kafka.consumer(broker)
    try:
        cons.assign([RdTopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
        return test_confluent_kafka.consume_until_eof(cons, range(3))
    finally:
        cons.close()


def read_with_aiokafka(broker, topic):
    async def scenario():
        consumer = await test_aiokafka.started_consumer(broker)
        try:
            partitions = [AioTopicPartition(topic, p) for p in range(3)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            return await test_aiokafka.consume_to_end(consumer, partitions)
        finally:
            await consumer.stop()

    return test_aiokafka.run(scenario())


@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_batches_are_read_by_librdkafka_kcat_and_aiokafka(broker, topic_name, codec):
    test_confluent_kafka.create_topic(broker, topic_name)
    acked = test_kafka_python.produce(broker, topic_name, keyed_records(topic_name), codec=codec)
    for reader in (read_with_confluent, test_kcat.kcat_consume, read_with_aiokafka):
        consumed = reader(broker, topic_name)
        assert_read_back_exactly_once_in_order(acked, consumed)


@pytest.mark.parametrize("codec", CODECS)
def test_librdkafka_batches_are_read_by_kafka_python_and_aiokafka(broker, topic_name, codec):
    test_confluent_kafka.create_topic(broker, topic_name)
    acked = test_confluent_kafka.produce(
        broker, topic_name, keyed_records(topic_name), codec=codec
    )
    cons = test_kafka_python.consumer(broker)
    try:
        partitions = [test_kafka_python.TopicPartition(topic_name, p) for p in range(3)]
        cons.assign(partitions)
        cons.seek_to_beginning(*partitions)
        assert_read_back_exactly_once_in_order(
            acked, test_kafka_python.consume_to_end(cons, partitions)
        )
    finally:
        cons.close()
    assert_read_back_exactly_once_in_order(acked, read_with_aiokafka(broker, topic_name))

