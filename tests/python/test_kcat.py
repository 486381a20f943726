"""kcat (Debian's 1.7.x) against a real broker, twice: on Debian's librdkafka 2.0.x (an
old-client regression check: it breaks on brokers that send tagged fields holding
defaults) and on the confluent-kafka wheel's current librdkafka (same soname and C API,
loaded through LD_LIBRARY_PATH; the test checks kcat reports that version): metadata,
keyed produce with every acks mode and codec, consume by assignment from earliest / an
offset / latest, and consume from a timestamp (ListOffsets by timestamp).

kcat has no admin commands: topics are created and deleted with confluent-kafka's
AdminClient, and kcat's metadata listing (-L) must agree. $KCAT overrides the binary."""

import json
import os
import shutil
import subprocess
import threading
from collections import defaultdict
from pathlib import Path

import confluent_kafka
import pytest

from clientcheck import BASE_TIMESTAMP_MS, PRODUCE_CASES, TIMEOUT_S, keyed_records, wait_until
from test_confluent_kafka import admin, create_topic, produce

DEBIAN_LIBRDKAFKA_PREFIX = "2.0."  # Debian 12's librdkafka1

KCAT = os.environ.get("KCAT") or shutil.which("kcat") or "kcat"
KCAT_ENV = None  # environment of kcat processes: None (inherit) or the wheel's librdkafka


@pytest.fixture(scope="session")
def wheel_librdkafka_dir(tmp_path_factory):
    """A directory whose librdkafka.so.1 is the confluent-kafka wheel's bundled library."""
    libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    (library,) = sorted(libs.glob("librdkafka*.so*"))
    directory = tmp_path_factory.mktemp("wheel-librdkafka")
    (directory / "librdkafka.so.1").symlink_to(library)
    return directory


@pytest.fixture(autouse=True, params=["debian-librdkafka", "wheel-librdkafka"])
def librdkafka_under_kcat(request, wheel_librdkafka_dir):
    """Runs each test with kcat on Debian's librdkafka and on the wheel's."""
    global KCAT_ENV
    expected = DEBIAN_LIBRDKAFKA_PREFIX
    if request.param == "wheel-librdkafka":
        KCAT_ENV = dict(os.environ, LD_LIBRARY_PATH=str(wheel_librdkafka_dir))
        expected = confluent_kafka.libversion()[0]
    version = subprocess.run(
        [KCAT, "-V"], capture_output=True, env=KCAT_ENV, timeout=10, check=True
    ).stdout.decode()
    assert f"librdkafka {expected}" in version, version
    yield request.param
    KCAT_ENV = None


def kcat(broker, *args, stdin=None):
    """Runs kcat to completion (bounded); returns stdout as text, fails on a non-zero exit."""
    command = [KCAT, "-b", broker.bootstrap, "-X", "socket.timeout.ms=10000", *args]
    done = subprocess.run(
        command, input=stdin, capture_output=True, timeout=TIMEOUT_S, check=False, env=KCAT_ENV
    )
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode(errors='replace')}"
    )
    return done.stdout.decode()


def kcat_produce(broker, topic, records, acks="all", codec="none", partition=None):
    lines = "".join(f"{k.decode()}:{v.decode()}\n" for k, v in records).encode()
    args = ["-P", "-t", topic, "-K", ":", "-X", f"acks={acks}"]
    args += ["-X", f"compression.codec={codec}", "-X", "linger.ms=5"]
    if partition is not None:
        args += ["-p", str(partition)]
    kcat(broker, *args, stdin=lines)


FORMAT = "%p %o %k %s\\n"


def parse(output):
    """kcat -f FORMAT output as (partition, offset, key, value) tuples."""
    records = []
    for line in output.splitlines():
        partition, offset, key, value = line.split(" ")
        records.append((int(partition), int(offset), key.encode(), value.encode()))
    return records


def kcat_consume(broker, topic, offset="beginning", partition=None):
    args = ["-C", "-t", topic, "-o", str(offset), "-e", "-f", FORMAT]
    if partition is not None:
        args += ["-p", str(partition)]
    return parse(kcat(broker, *args))


def test_kcat_metadata_lists_a_three_partition_topic_created_by_the_admin_api(
    broker, topic_name
):
    create_topic(broker, topic_name)
    listing = json.loads(kcat(broker, "-L", "-J"))
    (topic,) = [t for t in listing["topics"] if t["topic"] == topic_name]
    assert sorted(p["partition"] for p in topic["partitions"]) == [0, 1, 2]
    assert [b["id"] for b in listing["brokers"]] == [0]


@pytest.mark.parametrize("acks,codec", PRODUCE_CASES)
def test_kcat_keyed_records_are_read_back_from_earliest_exactly_once_in_order(
    broker, topic_name, acks, codec
):
    create_topic(broker, topic_name)
    records = keyed_records(topic_name)
    kcat_produce(broker, topic_name, records, acks=acks, codec=codec)
    consumed = kcat_consume(broker, topic_name)
    pairs = sorted((key, value) for _p, _o, key, value in consumed)
    assert pairs == sorted(records), "each record read back exactly once"
    input_order = {value: i for i, (_k, value) in enumerate(records)}
    by_partition = defaultdict(list)
    for partition, offset, key, value in consumed:
        by_partition[partition].append((offset, input_order[value]))
    for partition, entries in by_partition.items():
        offsets = [offset for offset, _ in entries]
        assert offsets == list(range(len(offsets))), f"partition {partition}: {offsets}"
        order = [i for _, i in entries]
        assert order == sorted(order), f"partition {partition} not in produce order"
    partitions_of_key = defaultdict(set)
    for partition, _offset, key, _value in consumed:
        partitions_of_key[key].add(partition)
    assert all(len(p) == 1 for p in partitions_of_key.values()), partitions_of_key
    assert len(by_partition) > 1, "keys should spread over partitions"


def test_kcat_consumes_from_a_given_offset(broker, topic_name):
    create_topic(broker, topic_name)
    acked = produce(broker, topic_name, keyed_records(topic_name, 20), partition=1)
    assert kcat_consume(broker, topic_name, offset=13, partition=1) == acked[13:]


def test_kcat_consuming_from_latest_sees_only_records_produced_afterwards(broker, topic_name):
    create_topic(broker, topic_name)
    produce(broker, topic_name, keyed_records("old", 10), partition=2)
    command = [KCAT, "-b", broker.bootstrap, "-C", "-t", topic_name, "-p", "2"]
    command += ["-o", "end", "-c", "5", "-f", FORMAT, "-d", "fetch"]
    reader = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=KCAT_ENV
    )
    log = []
    drain = threading.Thread(target=lambda: log.extend(reader.stderr), daemon=True)
    drain.start()
    killer = threading.Timer(2 * TIMEOUT_S, reader.kill)  # a hung kcat fails, never blocks
    killer.start()
    try:
        # librdkafka's fetch debug log names the offset it fetches from once "end" is
        # resolved; only then may the new records be produced.
        wait_until(
            lambda: any(b"[2] at offset 10 " in line for line in log) or reader.poll() is not None,
            "kcat to fetch from the end offset 10",
        )
        assert reader.poll() is None, b"".join(log[-20:]).decode(errors="replace")
        new = produce(broker, topic_name, keyed_records("new", 5), partition=2)
        output = reader.stdout.read().decode()  # kcat exits after 5 records (-c 5)
        reader.wait(timeout=TIMEOUT_S)
    finally:
        killer.cancel()
        if reader.poll() is None:
            reader.kill()
            reader.wait(timeout=5)
    assert reader.returncode == 0, b"".join(log[-20:]).decode(errors="replace")
    assert parse(output) == new


def test_kcat_consumes_from_a_timestamp(broker, topic_name):
    create_topic(broker, topic_name)
    timestamps = [BASE_TIMESTAMP_MS + 1000 * i for i in range(10)]
    acked = produce(
        broker, topic_name, keyed_records("ts", 10), partition=0, timestamps=timestamps
    )
    from_exact = kcat_consume(broker, topic_name, offset=f"s@{BASE_TIMESTAMP_MS + 3000}", partition=0)
    assert from_exact == acked[3:]
    from_between = kcat_consume(
        broker, topic_name, offset=f"s@{BASE_TIMESTAMP_MS + 6500}", partition=0
    )
    assert from_between == acked[7:]


def test_kcat_metadata_no_longer_lists_a_deleted_topic(broker, topic_name):
    create_topic(broker, topic_name)
    kcat_produce(broker, topic_name, keyed_records(topic_name, 5))
    client = admin(broker)  # must outlive its futures

    def listed():
        return [t["topic"] for t in json.loads(kcat(broker, "-L", "-J"))["topics"]]

    assert topic_name in listed()
    futures = client.delete_topics([topic_name], operation_timeout=TIMEOUT_S)
    futures[topic_name].result(timeout=TIMEOUT_S)
    wait_until(lambda: topic_name not in listed(), "the topic to leave kcat's listing")
