"""Client-independent parts of the real-client tests: the records to produce and the
checks on what was read back.

Contract: `keyed_records` makes distinct values (so a duplicate or a loss is visible) over
a few keys (so several partitions are used); `assert_read_back_exactly_once_in_order`
fails unless every acknowledged record is read back exactly once, at the offset its
acknowledgment named, in offset order per partition, and records with one key all land in
one partition.
"""

import time
from collections import defaultdict

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
ACKS = ["all", "1"]
PRODUCE_CASES = [(acks, codec) for acks in ACKS for codec in CODECS]
RECORDS_PER_CASE = 60
BASE_TIMESTAMP_MS = 1_700_000_000_000
TIMEOUT_S = 20.0


def keyed_records(tag, count=RECORDS_PER_CASE, keys=7):
    """(key, value) byte pairs; values are unique and carry the tag."""
    return [
        (f"key-{i % keys}".encode(), f"{tag}-value-{i:05d}-".encode() + b"x" * (i % 50))
        for i in range(count)
    ]


def assert_read_back_exactly_once_in_order(acked, consumed):
    """acked: list of (partition, offset, key, value) from delivery reports.
    consumed: list of (partition, offset, key, value) in the order the consumer
    returned them. Checks exactly-once, offsets and per-partition order."""
    values = [record[3] for record in consumed]
    duplicates = sorted({v for v in values if values.count(v) > 1})
    assert not duplicates, f"records read more than once: {duplicates[:5]}"
    consumed_by_value = {record[3]: record for record in consumed}
    missing = [record for record in acked if record[3] not in consumed_by_value]
    assert not missing, f"{len(missing)} acknowledged records never read, e.g. {missing[:3]}"
    for record in acked:
        assert consumed_by_value[record[3]] == record, "record read at another place"
    by_partition = defaultdict(list)
    for partition, offset, _key, _value in consumed:
        by_partition[partition].append(offset)
    for partition, offsets in by_partition.items():
        assert offsets == sorted(offsets), f"partition {partition} out of order: {offsets}"
    partitions_of_key = defaultdict(set)
    for partition, _offset, key, _value in acked:
        partitions_of_key[key].add(partition)
    split = {k: p for k, p in partitions_of_key.items() if len(p) > 1}
    assert not split, f"one key in several partitions: {split}"


def assert_acked_offsets_are_per_partition_sequences(acked):
    """Acknowledged offsets of one producer on a fresh topic: per partition, distinct and
    in the order the producer sent them (which is the order of `acked`)."""
    by_partition = defaultdict(list)
    for partition, offset, _key, _value in acked:
        by_partition[partition].append(offset)
    for partition, offsets in by_partition.items():
        assert len(set(offsets)) == len(offsets), f"partition {partition}: {offsets}"


def wait_until(predicate, what, timeout_s=TIMEOUT_S, interval_s=0.1):
    """Polls `predicate` until it is truthy; fails with `what` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)
