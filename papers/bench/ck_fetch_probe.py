"""Why does a confluent-kafka consumer read at the rate it does? Consumes N records of
partition 0 like ck_perf.py's consume mode (librdkafka defaults unless `key=value` overrides
are given) and prints, from librdkafka's own statistics, the fetch requests sent and bytes
received per fetch, plus the time the Python loop spent blocked in consume() calls that
waited more than 50 ms (the client had nothing queued: it was not fetching).

Usage: ck_fetch_probe.py BOOTSTRAP TOPIC N [librdkafka.key=value ...]
"""

import json
import sys
import time

from confluent_kafka import Consumer, TopicPartition

STALL_S = 0.05


def main():
    bootstrap, topic, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
    stats = []
    config = {
        "bootstrap.servers": bootstrap,
        "group.id": "ck-fetch-probe",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "statistics.interval.ms": 200,
        "stats_cb": lambda text: stats.append(json.loads(text)),
    }
    config.update(dict(arg.split("=", 1) for arg in sys.argv[4:]))
    consumer = Consumer(config)
    consumer.assign([TopicPartition(topic, 0, 0)])
    read, start, blocked = 0, None, 0.0
    deadline = time.monotonic() + 600
    while read < wanted:
        if time.monotonic() > deadline:
            raise SystemExit(f"deadline exceeded after {read} records")
        asked = time.perf_counter()
        messages = consumer.consume(num_messages=10_000, timeout=1.0)
        waited = time.perf_counter() - asked
        if start is not None and waited > STALL_S:
            blocked += waited
        for message in messages:
            if message.error() is None:
                start = start or time.perf_counter()
                read += 1
    elapsed = time.perf_counter() - start
    consumer.poll(0.5)  # one more statistics callback
    fetches, received = 0, 0
    for broker in stats[-1]["brokers"].values():
        if broker["nodeid"] >= 0:
            fetches += broker["req"].get("Fetch", 0)
            received += broker["rxbytes"]
    consumer.close()
    print(
        f"PROBE records={read} secs={elapsed:.3f} msgs_per_s={read / elapsed:.0f} "
        f"fetches={fetches} mb_per_fetch={received / max(fetches, 1) / 1e6:.3f} "
        f"blocked_secs={blocked:.2f}"
    )


if __name__ == "__main__":
    main()
