#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/run.sh BUILD_DIR: anyload's UDP round-trip latency benchmark. Never
# part of `make test` (STYLE.md §6: benches never gate).
#
# On one fresh veth pair between two network namespaces (side A pings,
# side B answers; tests/harness/netns.sh) it runs one after the other:
#   kernel_pingpong  kernel UDP sockets, both ends spinning on
#                    non-blocking receives (the reference row)
#   sockperf         sockperf ping-pong --nonblocked, kernel UDP
#   sockperf_anyload the same sockperf binaries, blocking (sockperf's
#                    default), both ends under `anyload --profile=latency`
#                    (transparent mode), same payload as every other row
#   eflatency        ef_vi eflatency over anyload (AF_XDP)
#   eflatency_afpacket  the same over anyload's AF_PACKET backend
#   stack_pingpong   kernel_pingpong's ping-pong over anyload's UDP stack
#                    (UDP sockets of an anyload stack on each end, AF_XDP)
# The reference runs first so that nothing an AF_XDP run leaves behind can
# disturb it. The answering side runs on CPU 1 and the pinging side on CPU
# 0. Percentiles of every mode are computed here, the same way, from the
# raw per-sample round-trip times (nearest rank over the measured samples;
# warm-ups excluded). The Markdown table goes to stdout, to
# $BENCH_RESULTS_DIR/latency-<date>.md and to $BENCH_RESULTS_DIR/latest.md;
# the CDFs of the same samples (bench/latency_cdf.py: the body and the
# tail of each distribution, kernel and anyload side by side) to
# latency-<date>.svg and latest.svg next to it.
#
# Environment:
#   BENCH_ITERS (200000)  measured round trips (all but sockperf)
#   BENCH_WARMUP (20000)  warm-up round trips
#   BENCH_PAYLEN (28)     UDP payload bytes
#   BENCH_PORT (8080)     UDP port
#   BENCH_SOCKPERF_TIME   sockperf seconds (default: ITERS/100000, >= 1)
#   BENCH_MODE_TIMEOUT (45)  seconds after which one mode is abandoned
#   BENCH_RESULTS_DIR (bench/results)  where the tables are written
# Exit status: 0 when the reference (kernel_pingpong) ran, 1 otherwise; a
# mode that is missing or fails shows "n/a" and the reason in its row.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_ARG=${1:-build}
if [[ ! -d "$BUILD_ARG" ]]; then
	echo "bench: build directory $BUILD_ARG not found (run make)" >&2
	exit 1
fi
BUILD=$(cd "$BUILD_ARG" && pwd)

ITERS=${BENCH_ITERS:-200000}
WARMUP=${BENCH_WARMUP:-20000}
PAYLEN=${BENCH_PAYLEN:-28}
PORT=${BENCH_PORT:-8080}
MODE_TIMEOUT=${BENCH_MODE_TIMEOUT:-45}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$REPO/bench/results}
for v in ITERS WARMUP PAYLEN PORT MODE_TIMEOUT; do
	[[ "${!v}" =~ ^[0-9]+$ ]] || { echo "bench: bad $v=${!v}" >&2; exit 1; }
done
((ITERS >= 1)) || { echo "bench: BENCH_ITERS must be >= 1" >&2; exit 1; }
SOCKPERF_TIME=${BENCH_SOCKPERF_TIME:-$(((ITERS + 99999) / 100000))}
[[ "$SOCKPERF_TIME" =~ ^[1-9][0-9]*$ ]] ||
	{ echo "bench: bad BENCH_SOCKPERF_TIME=$SOCKPERF_TIME" >&2; exit 1; }

if [[ $(id -u) -ne 0 ]]; then
	echo "bench: needs root (it creates network namespaces)" >&2
	exit 1
fi

# shellcheck source=tests/harness/netns.sh
source "$REPO/tests/harness/netns.sh"

WORK=$(mktemp -d /tmp/anyload-bench.XXXXXX)
BG_PIDS=()

# bench_cleanup: stop the background processes this script started (by
# their PIDs) and remove the scratch directory. netns.sh chains its own
# clean-up (which also stops anything left in the namespaces) before it.
bench_cleanup()
{
	local p

	for p in "${BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap bench_cleanup EXIT

ns_setup_pair

if (($(nproc) >= 2)); then
	CPU_PING=${BENCH_CPU_PING:-0}
	CPU_PONG=${BENCH_CPU_PONG:-1}
	PIN_PING=(taskset -c "$CPU_PING")
	PIN_PONG=(taskset -c "$CPU_PONG")
	PINNING="ping side on CPU $CPU_PING, answering side on CPU $CPU_PONG"
else
	PIN_PING=()
	PIN_PONG=()
	PINNING="not pinned (only one CPU)"
fi

# Per mode: STATUS (ok or the reason for n/a), the raw file and its kind,
# the tool's stdout and the exact commands.
declare -A STATUS RAW KIND OUT CMD

# in_ns_bounded NS CMD...: run CMD in namespace NS in the foreground,
# killed after MODE_TIMEOUT seconds.
in_ns_bounded()
{
	local ns=$1

	shift
	timeout --kill-after=5 "$MODE_TIMEOUT" ip netns exec "$ns" "$@"
}

# run_mode NAME SERVER_EXITS SERVER_CMD... -- CLIENT_CMD...: start the
# answering side in namespace B, give it 0.5 s, run the pinging side in
# namespace A, then wait for the server to exit by itself (SERVER_EXITS=1)
# or stop it (0). Sets STATUS[NAME].
run_mode()
{
	local name=$1 server_exits=$2 srv=() cli=() spid rc=0 src=0

	shift 2
	while (($#)) && [[ "$1" != -- ]]; do
		srv+=("$1")
		shift
	done
	shift
	cli=("$@")
	CMD[$name]="server (netns B): ${srv[*]}"$'\n'"client (netns A): ${cli[*]}"

	echo "bench: running $name ..." >&2
	# A simple command, not a function: $! is then the PID of timeout
	# itself, which passes a TERM on to the server.
	timeout --kill-after=5 "$MODE_TIMEOUT" \
		ip netns exec "$NS_B" "${PIN_PONG[@]}" "${srv[@]}" \
		>"$WORK/$name.server.out" 2>&1 &
	spid=$!
	BG_PIDS+=("$spid")
	sleep 0.5
	in_ns_bounded "$NS_A" "${PIN_PING[@]}" "${cli[@]}" \
		>"$OUT_FILE" 2>&1 || rc=$?
	if ((server_exits == 0)); then
		kill -TERM "$spid" 2>/dev/null || true
	fi
	wait "$spid" || src=$?
	# Nothing of this mode may linger into the next one.
	ns_kill_procs "$NS_A"
	ns_kill_procs "$NS_B"
	if ((rc == 124 || rc == 137)); then
		STATUS[$name]="n/a (timed out after ${MODE_TIMEOUT} s)"
	elif ((rc != 0)); then
		STATUS[$name]="n/a (client failed, exit $rc)"
	elif ((server_exits == 1 && src != 0)); then
		STATUS[$name]="n/a (server failed, exit $src)"
	elif [[ ! -s "${RAW[$name]}" ]]; then
		STATUS[$name]="n/a (no samples)"
	else
		STATUS[$name]=ok
	fi
	if [[ "${STATUS[$name]}" != ok ]]; then
		echo "bench: $name: ${STATUS[$name]}; last lines of its output:" >&2
		tail -n 5 "$OUT_FILE" "$WORK/$name.server.out" >&2 || true
	fi
}

# --- kernel_pingpong (reference) ---
name=kernel_pingpong
RAW[$name]=$WORK/$name.raw
KIND[$name]=ns
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
KP=$BUILD/bin/kernel_pingpong
TMO=$((MODE_TIMEOUT - 5 > 1 ? MODE_TIMEOUT - 5 : 1))
if [[ -x "$KP" ]]; then
	run_mode "$name" 1 \
		"$KP" -l "$IP_B" -r "$IP_A" -p "$PORT" -s "$PAYLEN" \
		-n "$ITERS" -w "$WARMUP" -t "$TMO" pong -- \
		"$KP" -l "$IP_A" -r "$IP_B" -p "$PORT" -s "$PAYLEN" \
		-n "$ITERS" -w "$WARMUP" -t "$TMO" -o "${RAW[$name]}" ping
else
	STATUS[$name]="n/a ($KP not built)"
fi

# --- sockperf ---
name=sockperf
RAW[$name]=$WORK/$name.csv
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
if command -v sockperf >/dev/null 2>&1; then
	# sockperf reports one-way latency (half the round trip) unless
	# --full-rtt is given; older versions lack it, and then the
	# half round trips are doubled.
	if sockperf ping-pong --help 2>&1 | grep -q -- '--full-rtt'; then
		KIND[$name]=sockperf_rtt
		SP_RTT=(--full-rtt)
	else
		KIND[$name]=sockperf_half
		SP_RTT=()
	fi
	run_mode "$name" 0 \
		sockperf server --nonblocked -i "$IP_B" -p "$PORT" -- \
		sockperf ping-pong --nonblocked -i "$IP_B" -p "$PORT" \
		-m "$PAYLEN" -t "$SOCKPERF_TIME" "${SP_RTT[@]}" \
		--full-log "${RAW[$name]}"
else
	STATUS[$name]="n/a (sockperf not installed)"
	KIND[$name]=sockperf_rtt
fi

# --- sockperf on both ends under anyload (transparent mode) ---
name=sockperf_anyload
RAW[$name]=$WORK/$name.csv
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
KIND[$name]=${KIND[sockperf]}
AL=$BUILD/bin/anyload
if command -v sockperf >/dev/null 2>&1 && [[ -x "$AL" ]]; then
	run_mode "$name" 0 \
		"$AL" --profile=latency --interface="$IF_B" \
		sockperf server -i "$IP_B" -p "$PORT" -- \
		"$AL" --profile=latency --interface="$IF_A" \
		sockperf ping-pong -i "$IP_B" -p "$PORT" \
		-m "$PAYLEN" -t "$SOCKPERF_TIME" "${SP_RTT[@]}" \
		--full-log "${RAW[$name]}"
	ip -n "$NS_A" link set dev "$IF_A" xdp off 2>/dev/null || true
	ip -n "$NS_B" link set dev "$IF_B" xdp off 2>/dev/null || true
else
	STATUS[$name]="n/a (sockperf or $AL missing)"
fi

# --- eflatency over anyload ---
name=eflatency
RAW[$name]=$WORK/$name.raw
KIND[$name]=ns
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
EFL=$BUILD/bin/eflatency
if [[ -x "$EFL" ]]; then
	run_mode "$name" 1 \
		env ANYLOAD_BACKEND=afxdp \
		"$EFL" -n "$ITERS" -w "$WARMUP" -s "$PAYLEN" -l "$IP_B" \
		-r "$IP_A" -p "$PORT" pong "$IF_B" -- \
		env ANYLOAD_BACKEND=afxdp \
		"$EFL" -n "$ITERS" -w "$WARMUP" -s "$PAYLEN" -l "$IP_A" \
		-r "$IP_B" -p "$PORT" -o "${RAW[$name]}" ping "$IF_A"
	# An XDP program loaded without libxdp's dispatcher outlives its
	# process (DESIGN.md); take it off this run's veth ends.
	ip -n "$NS_A" link set dev "$IF_A" xdp off 2>/dev/null || true
	ip -n "$NS_B" link set dev "$IF_B" xdp off 2>/dev/null || true
else
	STATUS[$name]="n/a ($EFL not built)"
fi

# --- eflatency over anyload's AF_PACKET backend ---
name=eflatency_afpacket
RAW[$name]=$WORK/$name.raw
KIND[$name]=ns
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
if [[ -x "$EFL" ]]; then
	run_mode "$name" 1 \
		env ANYLOAD_BACKEND=afpacket \
		"$EFL" -n "$ITERS" -w "$WARMUP" -s "$PAYLEN" -l "$IP_B" \
		-r "$IP_A" -p "$PORT" pong "$IF_B" -- \
		env ANYLOAD_BACKEND=afpacket \
		"$EFL" -n "$ITERS" -w "$WARMUP" -s "$PAYLEN" -l "$IP_A" \
		-r "$IP_B" -p "$PORT" -o "${RAW[$name]}" ping "$IF_A"
else
	STATUS[$name]="n/a ($EFL not built)"
fi

# --- anyload's UDP stack on both ends (AF_XDP) ---
name=stack_pingpong
RAW[$name]=$WORK/$name.raw
KIND[$name]=ns
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
SP=$BUILD/bin/stack_pingpong
if [[ -x "$SP" ]]; then
	run_mode "$name" 1 \
		env ANYLOAD_BACKEND=afxdp \
		"$SP" -l "$IP_B" -r "$IP_A" -p "$PORT" -s "$PAYLEN" \
		-n "$ITERS" -w "$WARMUP" -t "$TMO" pong "$IF_B" -- \
		env ANYLOAD_BACKEND=afxdp \
		"$SP" -l "$IP_A" -r "$IP_B" -p "$PORT" -s "$PAYLEN" \
		-n "$ITERS" -w "$WARMUP" -t "$TMO" -o "${RAW[$name]}" ping "$IF_A"
	ip -n "$NS_A" link set dev "$IF_A" xdp off 2>/dev/null || true
	ip -n "$NS_B" link set dev "$IF_B" xdp off 2>/dev/null || true
else
	STATUS[$name]="n/a ($SP not built)"
fi

# --- the table ---
DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
STAMP=$(date -u '+%Y-%m-%d-%H%M%S')
COMMAND="BENCH_ITERS=$ITERS BENCH_WARMUP=$WARMUP BENCH_PAYLEN=$PAYLEN"
COMMAND+=" BENCH_SOCKPERF_TIME=$SOCKPERF_TIME bash bench/run.sh $BUILD_ARG"
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

MODES=(kernel_pingpong eflatency eflatency_afpacket stack_pingpong sockperf
	sockperf_anyload)
STATS_ARGS=()
for m in "${MODES[@]}"; do
	STATS_ARGS+=("$m" "${STATUS[$m]}" "${KIND[$m]}" "${RAW[$m]}" "${OUT[$m]}")
done

TABLE=$WORK/table.md
{
	echo "# anyload UDP round-trip latency"
	echo
	echo "- date: $DATE"
	echo "- kernel: $(uname -r) ($(uname -m)), $(nproc) CPUs: ${CPU_MODEL:-unknown}"
	echo "- command: \`$COMMAND\`"
	echo "- network: veth pair between two network namespaces ($IP_A ↔ $IP_B), TX checksum offload off"
	echo "- pinning: $PINNING"
	echo "- UDP payload: $PAYLEN bytes; $ITERS measured round trips after $WARMUP warm-ups (sockperf: $SOCKPERF_TIME s after its own warm-up)"
	echo
	python3 - "${STATS_ARGS[@]}" <<'PY'
import math
import re
import sys

args = sys.argv[1:]
modes = [args[i:i + 5] for i in range(0, len(args), 5)]
labels = {
    "kernel_pingpong": "kernel_pingpong (kernel UDP, reference)",
    "eflatency": "eflatency (anyload, AF_XDP)",
    "eflatency_afpacket": "eflatency (anyload, AF_PACKET)",
    "stack_pingpong": "stack_pingpong (anyload stack, UDP sockets)",
    "sockperf": "sockperf ping-pong (kernel UDP)",
    "sockperf_anyload": "sockperf ping-pong, both ends under anyload",
}


def load(kind, path):
    """Round-trip samples in microseconds."""
    out = []
    with open(path) as f:
        if kind == "ns":
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    out.append(float(line) / 1000.0)
        else:
            # sockperf --full-log CSV: "packet, txTime(sec), rxTime(sec),
            # rtt(usec)" (or latency(usec), half the round trip).
            scale = 2.0 if kind == "sockperf_half" else 1.0
            for line in f:
                if re.match(r"^\d+,", line):
                    out.append(float(line.split(",")[3]) * scale)
    return out


def pct(s, p):
    """Nearest-rank percentile of sorted samples."""
    rank = min(max(math.ceil(p / 100.0 * len(s) - 1e-9), 1), len(s))
    return s[rank - 1]


def tool_median(kind, path):
    """The median the tool printed itself, for a cross-check."""
    try:
        text = open(path).read()
    except OSError:
        return None
    if kind == "ns":
        for line in text.splitlines():
            if line and not line.startswith("#"):
                f = line.split("\t")
                if len(f) >= 4:
                    try:
                        return float(f[3])
                    except ValueError:
                        return None
        return None
    m = re.search(r"percentile 50\.000 =\s*([0-9.]+)", text)
    if not m:
        return None
    return float(m.group(1)) * (2.0 if kind == "sockperf_half" else 1.0)


stats = {}
notes = []
for name, status, kind, raw, out in modes:
    if status != "ok":
        stats[name] = status
        continue
    try:
        s = sorted(load(kind, raw))
    except (OSError, ValueError) as e:
        stats[name] = "n/a (unreadable samples: %s)" % e
        continue
    if not s:
        stats[name] = "n/a (no samples)"
        continue
    st = {
        "n": len(s),
        "p50": pct(s, 50),
        "p99": pct(s, 99),
        "p999": pct(s, 99.9),
        "mean": sum(s) / len(s),
    }
    stats[name] = st
    tm = tool_median(kind, out)
    if tm is not None and abs(tm - st["p50"]) > 0.05 * st["p50"] + 0.01:
        notes.append("%s printed a median of %.3f µs, %.3f µs computed "
                     "here from its raw samples" % (name, tm, st["p50"]))
    notes.append("%s: %d samples" % (name, len(s)))

ref = stats.get("kernel_pingpong")
print("| mode | p50 µs | p99 µs | p99.9 µs | mean µs "
      "| p50 ratio vs kernel | p99 ratio vs kernel |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, _, kind, _, _ in modes:
    st = stats[name]
    label = labels.get(name, name)
    if kind == "sockperf_half":
        label += ", doubled one-way"
    if not isinstance(st, dict):
        print("| %s | %s | | | | | |" % (label, st))
        continue
    if isinstance(ref, dict):
        r50 = "%.2f" % (st["p50"] / ref["p50"])
        r99 = "%.2f" % (st["p99"] / ref["p99"])
    else:
        r50 = r99 = "n/a"
    print("| %s | %.3f | %.3f | %.3f | %.3f | %s | %s |" % (
        label, st["p50"], st["p99"], st["p999"], st["mean"], r50, r99))
print()
print("All values are full round trips (RTT) in microseconds, as seen by "
      "the pinging side; percentiles are nearest-rank over the raw "
      "per-sample times of each mode, computed by bench/run.sh. A ratio "
      "below 1 means faster than the kernel reference.")
for n in notes:
    print("- " + n)
PY
	echo
	echo "Commands:"
	echo
	for m in "${MODES[@]}"; do
		if [[ -n "${CMD[$m]:-}" ]]; then
			echo "- $m:"
			echo '  ```'
			while IFS= read -r line; do
				echo "  $line"
			done <<<"${CMD[$m]}"
			echo '  ```'
		fi
	done
} >"$TABLE"

# The same samples as a picture: CDFs, kernel and anyload side by side.
mkdir -p "$RESULTS_DIR"
if python3 "$REPO/bench/latency_cdf.py" "$WORK/cdf.svg" \
	"anyload UDP round-trip latency, $DATE" "${STATS_ARGS[@]}"; then
	cp "$WORK/cdf.svg" "$RESULTS_DIR/latency-$STAMP.svg"
	cp "$WORK/cdf.svg" "$RESULTS_DIR/latest.svg"
	printf '\n![latency CDFs](latency-%s.svg)\n' "$STAMP" >>"$TABLE"
fi
cp "$TABLE" "$RESULTS_DIR/latency-$STAMP.md"
cp "$TABLE" "$RESULTS_DIR/latest.md"
cat "$TABLE"
echo
echo "bench: written to $RESULTS_DIR/latency-$STAMP.md and latest.md" >&2

[[ "${STATUS[kernel_pingpong]}" == ok ]]
