"""ListOffsets MAX_TIMESTAMP (KIP-734, ListOffsets v7) through confluent-kafka's
AdminClient.list_offsets with OffsetSpec.max_timestamp(): the offset and timestamp of the
record with the largest timestamp (not the last record), and -1 on an empty partition."""

from confluent_kafka import TopicPartition
from confluent_kafka.admin import OffsetSpec

from clientcheck import BASE_TIMESTAMP_MS, TIMEOUT_S, keyed_records
from test_confluent_kafka import admin, create_topic, produce


def list_offsets(broker, specs):
    client = admin(broker)  # must outlive its futures
    futures = client.list_offsets(specs, request_timeout=TIMEOUT_S)
    return {tp.partition: future.result(timeout=TIMEOUT_S) for tp, future in futures.items()}


def test_max_timestamp_is_the_newest_record_not_the_last_and_minus_one_when_empty(
    broker, topic_name
):
    create_topic(broker, topic_name, partitions=2)
    deltas = [1000, 5000, 3000, 5000, 2000]  # the max comes twice: the first one counts
    timestamps = [BASE_TIMESTAMP_MS + d for d in deltas]
    acked = produce(
        broker, topic_name, keyed_records("max", 5), partition=0, timestamps=timestamps
    )
    assert [record[1] for record in acked] == list(range(5))
    answers = list_offsets(
        broker,
        {
            TopicPartition(topic_name, 0): OffsetSpec.max_timestamp(),
            TopicPartition(topic_name, 1): OffsetSpec.max_timestamp(),
        },
    )
    assert (answers[0].offset, answers[0].timestamp) == (1, BASE_TIMESTAMP_MS + 5000)
    assert (answers[1].offset, answers[1].timestamp) == (-1, -1)


def test_earliest_and_latest_through_the_admin_client_bracket_the_log(broker, topic_name):
    create_topic(broker, topic_name, partitions=1)
    produce(broker, topic_name, keyed_records("ends", 7), partition=0)
    answers = list_offsets(broker, {TopicPartition(topic_name, 0): OffsetSpec.earliest()})
    assert answers[0].offset == 0
    answers = list_offsets(broker, {TopicPartition(topic_name, 0): OffsetSpec.latest()})
    assert answers[0].offset == 7
