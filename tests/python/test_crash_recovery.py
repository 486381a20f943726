"""Crash test: with `--flush every-batch` an acks=all acknowledgment means the record is
on disk. A producer streams records, the broker is killed with SIGKILL mid-stream and
restarted on the same data directory, three times over: every acknowledged record is still there at the
offset it was acknowledged with, the log reads back cleanly from offset 0 to the end with
no gap, and the broker carries on appending after what it recovered."""

import threading
import time
from collections import defaultdict

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from clientcheck import TIMEOUT_S, keyed_records, wait_until
from test_confluent_kafka import create_topic, produce

ACKED_BEFORE_KILL = 400
CRASH_CYCLES = 3
PARTITIONS = 3


class StreamingProducer:
    """Produces distinct keyed records with acks=all from a thread until stopped,
    collecting delivery reports."""

    def __init__(self, bootstrap, topic, prefix):
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "linger.ms": 1,
                "message.timeout.ms": int(TIMEOUT_S * 1000),
                "reconnect.backoff.max.ms": 200,
            }
        )
        self.topic = topic
        self.prefix = prefix
        self.acked = []
        self.failed = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def on_delivery(self, error, message):
        if error is None:
            self.acked.append(
                (message.partition(), message.offset(), message.key(), message.value())
            )
        else:
            self.failed += 1

    def run(self):
        i = 0
        while not self.stopping.is_set():
            key, value = f"key-{i % 11}".encode(), f"{self.prefix}-{i:07d}".encode()
            try:
                self.producer.produce(self.topic, value=value, key=key, on_delivery=self.on_delivery)
                i += 1
            except BufferError:
                pass  # the local queue is full while the broker is down
            self.producer.poll(0.0005 if i % 20 == 0 else 0)

    def stop(self):
        """Stops producing and drops what was never acknowledged."""
        self.stopping.set()
        self.thread.join(timeout=10)
        self.producer.purge(in_queue=True, in_flight=True)
        self.producer.flush(5)


def read_everything(bootstrap, topic):
    """(partition, offset, key, value) from offset 0 to the high watermark of every
    partition; fails on any consumer error (for instance a corrupt batch)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "unused-assignment-only",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "check.crcs": True,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        records, at_eof = [], set()
        deadline = time.monotonic() + TIMEOUT_S
        while at_eof != set(range(PARTITIONS)):
            assert time.monotonic() < deadline, f"no EOF on all partitions: {at_eof}"
            message = consumer.poll(0.2)
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
    finally:
        consumer.close()


def assert_recovered(acked, recovered):
    """Every acknowledged record at its offset; no duplicate; offsets 0.. with no gap.
    Returns the log end offset per partition."""
    at = {(p, o): (k, v) for p, o, k, v in recovered}
    lost = [r for r in acked if at.get((r[0], r[1])) != (r[2], r[3])]
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged records lost, e.g. {lost[:3]}"
    values = [v for _p, _o, _k, v in recovered]
    assert len(values) == len(set(values)), "a record appears twice after recovery"
    ends = defaultdict(int)
    for partition, offset, _k, _v in recovered:
        assert offset == ends[partition], f"gap or disorder in partition {partition}"
        ends[partition] = offset + 1
    return ends


def test_acknowledged_records_survive_kill_9_and_the_broker_serves_on(durable_broker, topic_name):
    broker = durable_broker
    create_topic(broker, topic_name, PARTITIONS)
    acked = []
    for cycle in range(CRASH_CYCLES):
        stream = StreamingProducer(broker.bootstrap, topic_name, f"cycle{cycle}")
        stream.thread.start()
        try:
            wait_until(
                lambda: len(stream.acked) >= ACKED_BEFORE_KILL, "acknowledgments", interval_s=0.01
            )
            broker.kill9()
        finally:
            stream.stop()
        assert len(stream.acked) >= ACKED_BEFORE_KILL
        print(f"cycle {cycle}: {len(stream.acked)} acknowledged, {stream.failed} unacknowledged at the kill")
        acked.extend(stream.acked)
        broker.start()
        recovered = read_everything(broker.bootstrap, topic_name)
        ends = assert_recovered(acked, recovered)

    more = produce(broker, topic_name, keyed_records("after-restart", 30))
    appended = defaultdict(list)
    for partition, offset, _k, _v in more:
        appended[partition].append(offset)
    for partition, offsets in appended.items():
        start = ends[partition]
        assert offsets == list(range(start, start + len(offsets))), "not appended at the end"
    after = read_everything(broker.bootstrap, topic_name)
    by_place = {(p, o): (k, v) for p, o, k, v in after}
    assert all(by_place.get((p, o)) == (k, v) for p, o, k, v in recovered + more)
    assert len(after) == len(recovered) + len(more)


def test_a_graceful_restart_keeps_every_record_even_without_a_flush_policy(broker, topic_name):
    """SIGTERM syncs before exiting: with the default flush policy (never) and acks=1, every
    acknowledged record and the topic itself are there after a restart."""
    create_topic(broker, topic_name, PARTITIONS)
    acked = produce(broker, topic_name, keyed_records("graceful", 300), acks="1")
    broker.stop()
    assert broker.process.returncode == 0, broker.log_tail()
    broker.start()
    recovered = read_everything(broker.bootstrap, topic_name)
    assert sorted(recovered) == sorted(acked)
    assert_recovered(acked, recovered)
