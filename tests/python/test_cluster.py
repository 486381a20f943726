"""A real 3-process cluster on loopback, driven by confluent-kafka (librdkafka).

Two tests: a kill -9 of the partition leader, and a network partition between brokers.

Three `odradek serve --node-id N --controller-quorum ...` processes, each a combined broker
and controller of the openraft metadata quorum. A topic with replication factor 3 and
min.insync.replicas=2 takes a continuous acks=all stream of distinct integers; the
partition's leader is killed with SIGKILL mid-stream, the stream goes on through the
failover, the killed broker is restarted and rejoins the ISR, and a consumer reads the
partition back. Every send (its invocation and its delivery report) and the final read are
recorded as a Jepsen-style history (JSON lines) and checked by `odradek check`, the queue
checker: no acknowledged write lost, no duplicate, offsets consistent.

The partition test puts every node's inter-broker listener behind a TCP proxy of its own
(the node advertises the proxy to its peers) and cuts the leader's: its followers stop
fetching, the ISR shrinks to the leader alone, and no acks=all send made during the cut may
be acknowledged; after healing, the followers rejoin and the history must check out.

The producer does not retry (`retries=0`, no idempotence), so an error report is an
unknown outcome (`info`: the record may or may not be in the log), never a silent
duplicate. Each send is its own Jepsen process: librdkafka pipelines many sends at once.
"""

import json
import socket
import subprocess
import threading
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from clientcheck import TIMEOUT_S, wait_until
from conftest import Broker, odradek_binary, free_port

NODES = (1, 2, 3)
# The killed leader's session (9 s) must expire before another broker leads.
FAILOVER_S = 40.0
SEND_INTERVAL_S = 0.002


class Proxy:
    """A TCP proxy on loopback in front of `target` port; `cut` drops every connection and
    refuses new ones until `heal`."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_off = threading.Event()
        self.open = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.cut_off.set()
        with self.lock:
            for connection in self.open:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.open.clear()

    def heal(self):
        self.cut_off.clear()

    def close(self):
        self.cut()
        self.listener.close()


class Cluster:
    """Three combined broker+controller processes on fixed loopback ports; with `proxied`,
    each node's inter-broker listener sits behind a [`Proxy`] it advertises to its peers."""

    def __init__(self, root, proxied=False):
        quorum = ",".join(f"{n}@127.0.0.1:{free_port()}" for n in NODES)
        self.proxies = {}
        self.brokers = {}
        for n in NODES:
            args = ["--node-id", str(n), "--controller-quorum", quorum]
            if proxied:
                listen = free_port()
                self.proxies[n] = Proxy(listen)
                args += [
                    "--inter-broker-listen",
                    f"127.0.0.1:{listen}",
                    "--inter-broker-advertised",
                    f"127.0.0.1:{self.proxies[n].port}",
                ]
            self.brokers[n] = Broker(root / f"node-{n}", root / f"node-{n}.log", args)

    def wait_until_formed(self):
        """Until Metadata lists every broker (all registered and unfenced)."""

        def brokers():
            admin = AdminClient({"bootstrap.servers": self.bootstrap})
            try:
                return len(admin.list_topics(timeout=5).brokers) == len(NODES)
            except KafkaException:
                return False

        wait_until(brokers, "every broker in Metadata", timeout_s=60)

    @property
    def bootstrap(self):
        return ",".join(b.bootstrap for b in self.brokers.values())

    def partition_state(self, topic):
        """(leader id, ISR ids) of partition 0 as Metadata reports it, or None."""
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        try:
            found = admin.list_topics(topic=topic, timeout=5).topics.get(topic)
        except KafkaException:
            return None
        if found is None or found.error is not None or 0 not in found.partitions:
            return None
        partition = found.partitions[0]
        return partition.leader, sorted(partition.isrs)


def start_cluster(request, tmp_path, proxied):
    cluster = Cluster(tmp_path, proxied)

    def finish():
        for broker in cluster.brokers.values():
            broker.kill9()  # a graceful stop would wait for controlled shutdowns
        for proxy in cluster.proxies.values():
            proxy.close()
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            for n, broker in cluster.brokers.items():
                print(f"\n--- node {n} log ({broker.log_path}):\n{broker.log_tail(40)}")

    request.addfinalizer(finish)
    for broker in cluster.brokers.values():
        broker.start()
    cluster.wait_until_formed()
    return cluster


@pytest.fixture
def cluster(request, tmp_path):
    return start_cluster(request, tmp_path, proxied=False)


@pytest.fixture
def proxied_cluster(request, tmp_path):
    return start_cluster(request, tmp_path, proxied=True)


class History:
    """The run's operations as Jepsen JSON lines (key = partition 0, values = integers)."""

    def __init__(self):
        self.lines = []
        self.start = time.monotonic_ns()
        self.next_process = 0

    def op(self, process, op_type, f, value):
        self.lines.append(
            json.dumps(
                {
                    "index": len(self.lines),
                    "time": time.monotonic_ns() - self.start,
                    "process": process,
                    "type": op_type,
                    "f": f,
                    "value": value,
                }
            )
        )

    def invoke_send(self, value):
        process = self.next_process
        self.next_process += 1
        self.op(process, "invoke", "send", [["send", 0, value]])
        return process

    def complete_send(self, process, value, offset):
        if offset is None:
            self.op(process, "info", "send", [["send", 0, value]])
        else:
            self.op(process, "ok", "send", [["send", 0, [offset, value]]])

    def record_poll(self, pairs):
        consumer = 1_000_000_000
        self.op(consumer, "invoke", "assign", [0])
        self.op(consumer, "ok", "assign", [0])
        self.op(consumer, "invoke", "poll", [["poll"]])
        self.op(consumer, "ok", "poll", [["poll", {"#map": [[0, [list(p) for p in pairs]]]}]])


class RecordedProducer:
    """acks=all sends of 0, 1, 2, ... to partition 0, each recorded with its outcome."""

    def __init__(self, bootstrap, topic, history):
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": False,
                "retries": 0,
                "linger.ms": 1,
                "message.timeout.ms": int(FAILOVER_S * 1000),
                "reconnect.backoff.max.ms": 200,
                "topic.metadata.refresh.interval.ms": 500,
            }
        )
        self.topic = topic
        self.history = history
        self.next_value = 0
        self.acked = 0
        self.invoked_at = {}
        self.acked_values = []

    def report(self, process, value):
        def on_delivery(error, message):
            offset = message.offset() if error is None else None
            if offset is not None:
                self.acked += 1
                self.acked_values.append(value)
            self.history.complete_send(process, value, offset)

        return on_delivery

    def send_for(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = self.next_value
            self.invoked_at[value] = time.monotonic()
            try:
                process = self.history.invoke_send(value)
                callback = self.report(process, value)
                self.producer.produce(
                    self.topic, value=str(value).encode(), partition=0, on_delivery=callback
                )
                self.next_value += 1
            except BufferError:
                self.history.complete_send(process, value, None)
            self.producer.poll(SEND_INTERVAL_S)

    def finish(self):
        remaining = self.producer.flush(FAILOVER_S)
        assert remaining == 0, f"{remaining} sends without a delivery report"


def read_partition(bootstrap, topic):
    """(offset, value) of partition 0 from offset 0 to the end."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "assignment-only",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "check.crcs": True,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        pairs = []
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            assert time.monotonic() < deadline, "no end of partition reached"
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() == -191:  # _PARTITION_EOF
                    return pairs
                raise KafkaException(message.error())
            pairs.append((message.offset(), int(message.value())))
    finally:
        consumer.close()


def create_replicated_topic(cluster, topic):
    """Replication factor 3, min.insync.replicas=2; returns its leader once the ISR is full."""
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    created = admin.create_topics(
        [NewTopic(topic, 1, 3, config={"min.insync.replicas": "2"})],
        operation_timeout=TIMEOUT_S,
    )
    created[topic].result(timeout=TIMEOUT_S)
    leader, _isr = wait_until(
        lambda: (s := cluster.partition_state(topic)) and len(s[1]) == 3 and s, "ISR of 3"
    )
    return leader


def wait_for_full_isr_while_sending(cluster, topic, producer, what):
    deadline = time.monotonic() + FAILOVER_S
    while (state := cluster.partition_state(topic)) is None or len(state[1]) < 3:
        assert time.monotonic() < deadline, f"{what}: {state}"
        producer.send_for(0.5)


def assert_history_checks_out(cluster, topic, producer, history, tmp_path):
    """Reads the partition back, records the read, and runs the queue checker."""
    producer.finish()
    history.record_poll(read_partition(cluster.bootstrap, topic))
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(history.lines) + "\n")
    checked = subprocess.run(
        [odradek_binary(), "check", "--checker", "queue", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(checked.stdout)
    assert checked.returncode == 0, f"queue checker:\n{checked.stdout}\n{checked.stderr}"
    print(f"{producer.next_value} sent, {producer.acked} acknowledged")


def test_acks_all_survives_a_kill_9_of_the_leader_and_its_restart(cluster, tmp_path):
    topic = "replicated"
    leader = create_replicated_topic(cluster, topic)
    history = History()
    producer = RecordedProducer(cluster.bootstrap, topic, history)
    producer.send_for(2.0)
    acked_before = producer.acked
    assert acked_before > 0, "nothing acknowledged before the kill"

    cluster.brokers[leader].kill9()
    # The stream goes on until another broker leads and acknowledges again.
    deadline = time.monotonic() + FAILOVER_S
    while producer.acked <= acked_before + 50:
        assert time.monotonic() < deadline, "no acknowledgment after the leader was killed"
        producer.send_for(0.5)
    new_leader, isr = cluster.partition_state(topic)
    assert new_leader != leader and leader not in isr, (new_leader, isr)

    cluster.brokers[leader].start()
    wait_for_full_isr_while_sending(cluster, topic, producer, "the restarted broker never rejoined")
    producer.send_for(1.0)
    assert_history_checks_out(cluster, topic, producer, history, tmp_path)


def test_a_leader_cut_off_from_its_followers_acknowledges_nothing_and_loses_nothing(
    proxied_cluster, tmp_path
):
    cluster, topic = proxied_cluster, "partitioned"
    leader = create_replicated_topic(cluster, topic)
    history = History()
    producer = RecordedProducer(cluster.bootstrap, topic, history)
    producer.send_for(2.0)
    assert producer.acked > 0, "nothing acknowledged before the cut"

    cluster.proxies[leader].cut()
    cut_at = time.monotonic()
    producer.send_for(8.0)
    during = cluster.partition_state(topic)
    cut_until = time.monotonic()
    assert during == (leader, [leader]), f"the leader stays, its followers leave: {during}"
    # Sends made well after the cut (not already fetched by the followers) may not be
    # acknowledged while only the leader is in sync (min.insync.replicas=2).
    during_cut = [
        v for v in producer.acked_values if cut_at + 0.5 <= producer.invoked_at[v] <= cut_until
    ]
    assert not during_cut, f"{len(during_cut)} acks=all sends acknowledged during the cut"

    cluster.proxies[leader].heal()
    wait_for_full_isr_while_sending(cluster, topic, producer, "the followers never rejoined")
    acked_at_heal = producer.acked
    deadline = time.monotonic() + FAILOVER_S
    while producer.acked <= acked_at_heal + 50:
        assert time.monotonic() < deadline, "no acknowledgment after the heal"
        producer.send_for(0.5)
    assert_history_checks_out(cluster, topic, producer, history, tmp_path)
