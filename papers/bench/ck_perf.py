"""Neutral load generator for compare-brokers.sh: confluent-kafka (librdkafka) with its defaults.

Modes (one per run, one `RESULT key=value ...` line on stdout):
  produce  N records of S bytes to partition 0 at --acks; msgs/s and MB/s from the first
           produce() call to flush() returning with every record delivered.
  consume  assign partition 0 from offset 0 and read N records; msgs/s and MB/s. The client's
           default fetch.wait.max.ms (500) is kept, as the issue asks. --fetch-queue-backoff-ms
           overrides librdkafka's fetch.queue.backoff.ms (default 1000): see README.md, a
           broker that fetches faster than Python drains trips that 1 s pause.
  latency  one record per request (linger.ms=0) at --rate records/s for --secs seconds;
           p50/p99/p99.9 of Message.latency() (produce() call to delivery report).
Every loop is bounded by --deadline seconds.
"""

import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def produce(args):
    failures = []

    def on_error(err, _msg):
        if err is not None:
            failures.append(err)

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": args.acks,
        "queue.buffering.max.messages": 1_000_000,
        "delivery.report.only.error": True,
        "on_delivery": on_error,
    })
    payload = b"x" * args.size
    deadline = time.monotonic() + args.deadline
    start = time.perf_counter()
    sent = 0
    while sent < args.records:
        if time.monotonic() > deadline:
            raise SystemExit("produce: deadline exceeded")
        try:
            producer.produce(args.topic, payload, partition=0)
            sent += 1
        except BufferError:
            producer.poll(0.001)
    left = producer.flush(max(1.0, deadline - time.monotonic()))
    elapsed = time.perf_counter() - start
    if left or failures:
        raise SystemExit(f"produce: {left} undelivered, {len(failures)} failed: {failures[:3]}")
    return {"msgs_per_s": f"{args.records / elapsed:.0f}",
            "mb_per_s": f"{args.records * args.size / elapsed / 1e6:.2f}",
            "secs": f"{elapsed:.3f}"}


def consume(args):
    config = {
        "bootstrap.servers": args.bootstrap,
        "group.id": "compare-brokers",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    if args.fetch_queue_backoff_ms is not None:
        config["fetch.queue.backoff.ms"] = args.fetch_queue_backoff_ms
    consumer = Consumer(config)
    consumer.assign([TopicPartition(args.topic, 0, 0)])
    deadline = time.monotonic() + args.deadline
    read = 0
    payload_bytes = 0
    start = None
    while read < args.records:
        if time.monotonic() > deadline:
            raise SystemExit(f"consume: deadline exceeded after {read} records")
        for message in consumer.consume(num_messages=10_000, timeout=1.0):
            if message.error() is not None:
                continue
            if start is None:
                start = time.perf_counter()
            read += 1
            payload_bytes += len(message.value() or b"")
    elapsed = time.perf_counter() - start
    consumer.close()
    return {"msgs_per_s": f"{read / elapsed:.0f}",
            "mb_per_s": f"{payload_bytes / elapsed / 1e6:.2f}",
            "secs": f"{elapsed:.3f}"}


def percentile(sorted_values, q):
    rank = max(1, min(len(sorted_values), int(len(sorted_values) * q / 100 + 0.999999)))
    return sorted_values[rank - 1]


def latency(args):
    latencies = []
    failures = []

    def on_delivery(err, msg):
        if err is not None:
            failures.append(err)
        else:
            latencies.append(msg.latency())

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": args.acks,
        "linger.ms": 0,
        "on_delivery": on_delivery,
    })
    payload = b"x" * args.size
    count = int(args.rate * args.secs)
    interval = 1.0 / args.rate
    deadline = time.monotonic() + args.deadline
    start = time.perf_counter()
    for n in range(count):
        if time.monotonic() > deadline:
            raise SystemExit("latency: deadline exceeded")
        wait = start + n * interval - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        producer.produce(args.topic, payload, partition=0)
        producer.poll(0)
    producer.flush(max(1.0, deadline - time.monotonic()))
    if failures or not latencies:
        raise SystemExit(f"latency: {len(failures)} failed, {len(latencies)} delivered")
    values = sorted(latencies)
    us = lambda seconds: f"{seconds * 1e6:.0f}"
    return {"p50_us": us(percentile(values, 50)), "p99_us": us(percentile(values, 99)),
            "p999_us": us(percentile(values, 99.9)), "max_us": us(values[-1]),
            "samples": str(len(values))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["produce", "consume", "latency"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--acks", default="1")
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--secs", type=float, default=20)
    parser.add_argument("--deadline", type=float, default=1800)
    parser.add_argument("--label", default="broker")
    parser.add_argument("--fetch-queue-backoff-ms", type=int, default=None)
    args = parser.parse_args()
    try:
        fields = {"produce": produce, "consume": consume, "latency": latency}[args.mode](args)
    except KafkaException as error:
        raise SystemExit(f"{args.mode}: {error}")
    pairs = " ".join(f"{k}={v}" for k, v in fields.items())
    print(f"RESULT label={args.label} phase={args.mode} {pairs}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
