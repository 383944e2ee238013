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
# then TCP, with TCP_PAYLEN-byte messages (a table of its own, whose
# reference is kernel_pingpong_tcp):
#   kernel_pingpong_tcp  kernel_pingpong -T: kernel TCP, TCP_NODELAY, both
#                    ends spinning on non-blocking receives
#   sockperf_tcp     sockperf ping-pong --tcp --nonblocked, kernel TCP
#   sockperf_tcp_anyload  the same binaries, blocking, both ends under
#                    `anyload --profile=latency`; "skipped" when the
#                    kernels carried the traffic (more than 1000 TCP
#                    segments in /proc/net/snmp of a namespace: transparent
#                    mode without TCP)
#   stack_tcp_pingpong  the same ping-pong over anyload's TCP (a stack and
#                    one connection on each end, AF_XDP)
#   stack_tcp_ping_kernel_pong  anyload's TCP pinging, kernel_pingpong -T
#                    answering
# and single-stream TCP throughput (a third table):
#   iperf3           iperf3 -c for IPERF_TIME s, kernel on both ends
#   iperf3_anyload   both ends under `anyload --profile=throughput`
#   iperf3_anyload_latency  both ends under `anyload --profile=latency`
#                    (they spin instead of sleeping: one core each)
#                    ("skipped" as above when not accelerated)
#   iperf3_anyload_nogso  as iperf3_anyload with ANYLOAD_TCP_GSO=0: every
#                    segment through the AF_XDP ring (what super-frames
#                    bring)
#   kernel_bulk      BULK_BYTES from a kernel sender to a kernel receiver
#                    (tests/integration/progs/tcp_hash_peer.py, no hashing)
#   stack_bulk_send  bench/stack_tcp_bulk on anyload's TCP (2 MiB socket
#                    buffers) sending to the same kernel receiver
#   stack_bulk_recv  the same kernel sender to stack_tcp_bulk receiving
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
#   BENCH_TCP_PAYLEN (64) TCP message bytes
#   BENCH_TCP_PORT (8090) first of the twelve TCP ports the TCP modes use
#   BENCH_IPERF_TIME (5)  iperf3 seconds
#   BENCH_IPERF_ROUNDS (3)  rounds of the four iperf3 modes, in turn
#   BENCH_BULK_BYTES (2G) bytes of each bulk transfer (suffix K, M, G)
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
TCP_PAYLEN=${BENCH_TCP_PAYLEN:-64}
TCP_PORT=${BENCH_TCP_PORT:-8090}
IPERF_TIME=${BENCH_IPERF_TIME:-5}
IPERF_ROUNDS=${BENCH_IPERF_ROUNDS:-3}
BULK_BYTES=${BENCH_BULK_BYTES:-2G}
[[ "$BULK_BYTES" =~ ^[1-9][0-9]*[KMG]?$ ]] ||
	{ echo "bench: bad BENCH_BULK_BYTES=$BULK_BYTES" >&2; exit 1; }
for v in ITERS WARMUP PAYLEN PORT MODE_TIMEOUT TCP_PAYLEN TCP_PORT \
	IPERF_TIME; do
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

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
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

# ---------------------------------------------------------------------
# TCP: round-trip latency of TCP_PAYLEN-byte messages (a second table,
# its reference kernel_pingpong_tcp), then single-stream throughput (a
# third table). The kernel's modes run first.

# tcp_outsegs NS: the kernel's TCP segments sent so far in namespace NS
# (Tcp OutSegs of /proc/net/snmp).
tcp_outsegs()
{
	ip netns exec "$1" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++)
		if ($i == "OutSegs") c = i; h = 1 } else print $c }' \
		/proc/net/snmp
}

# check_accelerated NAME A0 B0: after a mode run under anyload, mark it
# skipped if the kernels of the two namespaces carried its traffic (more
# than 1000 TCP segments since A0/B0): transparent mode did not take the
# TCP sockets (no TCP in libanyload.so yet, or a fallback).
check_accelerated()
{
	local name=$1 da db

	da=$(($(tcp_outsegs "$NS_A") - $2))
	db=$(($(tcp_outsegs "$NS_B") - $3))
	echo "bench: $name: the kernels sent $da (A) and $db (B) TCP segments" >&2
	if ((da > 1000 || db > 1000)) && [[ "${STATUS[$name]}" == ok ]]; then
		STATUS[$name]="skipped: not accelerated (the kernels sent $da and $db TCP segments: transparent mode has no TCP yet?)"
		echo "bench: $name: ${STATUS[$name]}" >&2
	fi
}

xdp_off()
{
	ip -n "$NS_A" link set dev "$IF_A" xdp off 2>/dev/null || true
	ip -n "$NS_B" link set dev "$IF_B" xdp off 2>/dev/null || true
}

# --- kernel TCP ping-pong (the TCP reference) ---
name=kernel_pingpong_tcp
RAW[$name]=$WORK/$name.raw
KIND[$name]=ns
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
if [[ -x "$KP" ]]; then
	run_mode "$name" 1 \
		"$KP" -T -l "$IP_B" -p "$TCP_PORT" -s "$TCP_PAYLEN" \
		-n "$ITERS" -w "$WARMUP" -t "$TMO" pong -- \
		"$KP" -T -r "$IP_B" -p "$TCP_PORT" -s "$TCP_PAYLEN" \
		-n "$ITERS" -w "$WARMUP" -t "$TMO" -o "${RAW[$name]}" ping
else
	STATUS[$name]="n/a ($KP not built)"
fi

# --- sockperf --tcp, kernel ---
name=sockperf_tcp
RAW[$name]=$WORK/$name.csv
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
KIND[$name]=${KIND[sockperf]}
if command -v sockperf >/dev/null 2>&1; then
	run_mode "$name" 0 \
		sockperf server --tcp --nonblocked -i "$IP_B" -p "$((TCP_PORT + 1))" -- \
		sockperf ping-pong --tcp --nonblocked -i "$IP_B" \
		-p "$((TCP_PORT + 1))" -m "$TCP_PAYLEN" -t "$SOCKPERF_TIME" \
		"${SP_RTT[@]}" --full-log "${RAW[$name]}"
else
	STATUS[$name]="n/a (sockperf not installed)"
fi

# --- sockperf --tcp, both ends under anyload ---
name=sockperf_tcp_anyload
RAW[$name]=$WORK/$name.csv
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
KIND[$name]=${KIND[sockperf]}
if command -v sockperf >/dev/null 2>&1 && [[ -x "$AL" ]]; then
	a0=$(tcp_outsegs "$NS_A")
	b0=$(tcp_outsegs "$NS_B")
	run_mode "$name" 0 \
		"$AL" --profile=latency --interface="$IF_B" \
		sockperf server --tcp -i "$IP_B" -p "$((TCP_PORT + 2))" -- \
		"$AL" --profile=latency --interface="$IF_A" \
		sockperf ping-pong --tcp -i "$IP_B" -p "$((TCP_PORT + 2))" \
		-m "$TCP_PAYLEN" -t "$SOCKPERF_TIME" "${SP_RTT[@]}" \
		--full-log "${RAW[$name]}"
	check_accelerated "$name" "$a0" "$b0"
	xdp_off
else
	STATUS[$name]="n/a (sockperf or $AL missing)"
fi

# --- anyload's TCP on both ends ---
name=stack_tcp_pingpong
RAW[$name]=$WORK/$name.raw
KIND[$name]=ns
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
STP=$BUILD/bin/stack_tcp_pingpong
if [[ -x "$STP" ]]; then
	run_mode "$name" 1 \
		env ANYLOAD_BACKEND=afxdp \
		"$STP" -l "$IP_B" -p "$((TCP_PORT + 3))" -s "$TCP_PAYLEN" \
		-n "$ITERS" -w "$WARMUP" -t "$TMO" pong "$IF_B" -- \
		env ANYLOAD_BACKEND=afxdp \
		"$STP" -r "$IP_B" -p "$((TCP_PORT + 3))" -s "$TCP_PAYLEN" \
		-n "$ITERS" -w "$WARMUP" -t "$TMO" -o "${RAW[$name]}" ping "$IF_A"
	xdp_off
else
	STATUS[$name]="n/a ($STP not built)"
fi

# --- anyload's TCP pinging, the kernel's answering ---
name=stack_tcp_ping_kernel_pong
RAW[$name]=$WORK/$name.raw
KIND[$name]=ns
OUT[$name]=$WORK/$name.out
OUT_FILE=${OUT[$name]}
if [[ -x "$STP" && -x "$KP" ]]; then
	run_mode "$name" 1 \
		"$KP" -T -l "$IP_B" -p "$((TCP_PORT + 4))" -s "$TCP_PAYLEN" \
		-n "$ITERS" -w "$WARMUP" -t "$TMO" pong -- \
		env ANYLOAD_BACKEND=afxdp \
		"$STP" -r "$IP_B" -p "$((TCP_PORT + 4))" -s "$TCP_PAYLEN" \
		-n "$ITERS" -w "$WARMUP" -t "$TMO" -o "${RAW[$name]}" ping "$IF_A"
	xdp_off
else
	STATUS[$name]="n/a ($STP or $KP not built)"
fi

# --- throughput: iperf3 ---
# KIND iperf3: the client's JSON (-J) of each round, in RAW.rN; bulk: a
# RESULT line of stack_tcp_bulk or progs/tcp_hash_peer.py.
PEER=$REPO/tests/integration/progs/tcp_hash_peer.py

# iperf3_round NAME ROUND PORT [PREFIX...]: one iperf3 run of mode NAME,
# both ends prefixed by PREFIX (IFX: the end's interface; with a prefix
# the run must be accelerated), its JSON in $WORK/NAME.json.rROUND. The
# rounds that ran go to GOOD[NAME] (comma-separated), the last failure to
# FAILED[NAME].
iperf3_round()
{
	local name=$1 round=$2 port=$3 a0 b0
	local pre_b=() pre_a=() w
	shift 3
	for w in "$@"; do
		pre_b+=("${w/IFX/$IF_B}")
		pre_a+=("${w/IFX/$IF_A}")
	done

	OUT_FILE=$WORK/$name.json.r$round
	RAW[$name]=$OUT_FILE
	a0=$(tcp_outsegs "$NS_A")
	b0=$(tcp_outsegs "$NS_B")
	run_mode "$name" 1 \
		"${pre_b[@]}" iperf3 -s -1 -B "$IP_B" -p "$port" -- \
		"${pre_a[@]}" iperf3 -c "$IP_B" -p "$port" -t "$IPERF_TIME" -J
	if (($#)); then
		check_accelerated "$name" "$a0" "$b0"
		xdp_off
	fi
	if [[ "${STATUS[$name]}" == ok ]]; then
		GOOD[$name]+=${GOOD[$name]:+,}$round
	else
		FAILED[$name]=${STATUS[$name]}
	fi
}

# The four iperf3 modes run in turn, IPERF_ROUNDS times: the VM's speed
# drifts by tens of percent within minutes, and only interleaved runs
# compare like with like. The table gives each mode's median round.
#   iperf3                  kernel on both ends
#   iperf3_anyload          both ends under `anyload --profile=throughput`
#   iperf3_anyload_latency  `--profile=latency` (spinning)
#   iperf3_anyload_nogso    the throughput profile with ANYLOAD_TCP_GSO=0
declare -A GOOD FAILED
IPERF_MODES=(iperf3 iperf3_anyload iperf3_anyload_latency iperf3_anyload_nogso)
for name in "${IPERF_MODES[@]}"; do
	KIND[$name]=iperf3
	FAILED[$name]="n/a (iperf3 or $AL missing)"
done
if command -v iperf3 >/dev/null 2>&1 && [[ -x "$AL" ]]; then
	for ((round = 1; round <= IPERF_ROUNDS; round++)); do
		iperf3_round iperf3 "$round" "$((TCP_PORT + 5))"
		iperf3_round iperf3_anyload "$round" "$((TCP_PORT + 6))" \
			"$AL" --profile=throughput --interface=IFX
		iperf3_round iperf3_anyload_latency "$round" \
			"$((TCP_PORT + 10))" \
			"$AL" --profile=latency --interface=IFX
		iperf3_round iperf3_anyload_nogso "$round" "$((TCP_PORT + 11))" \
			env ANYLOAD_TCP_GSO=0 \
			"$AL" --profile=throughput --interface=IFX
	done
fi
# For the table: RAW is "FILE-PREFIX:ROUNDS" (the rounds that ran).
for name in "${IPERF_MODES[@]}"; do
	OUT[$name]=$WORK/$name.json.r1
	RAW[$name]=$WORK/$name.json:${GOOD[$name]:-}
	if [[ -n "${GOOD[$name]:-}" ]]; then
		STATUS[$name]=ok
	else
		STATUS[$name]=${FAILED[$name]}
	fi
done

# --- bulk: a kernel sender (python) to a kernel receiver (python) ---
name=kernel_bulk
OUT[$name]=$WORK/$name.out
RAW[$name]=${OUT[$name]}
KIND[$name]=bulk
OUT_FILE=${OUT[$name]}
run_mode "$name" 1 \
	python3 "$PEER" recv --listen "$IP_B" --port "$((TCP_PORT + 7))" \
	--no-hash --timeout "$TMO" -- \
	python3 "$PEER" send --connect "$IP_B" --port "$((TCP_PORT + 7))" \
	--bytes "$BULK_BYTES" --no-hash --timeout "$TMO"

# --- bulk: anyload's stack sending to the same kernel receiver ---
name=stack_bulk_send
OUT[$name]=$WORK/$name.out
RAW[$name]=${OUT[$name]}
KIND[$name]=bulk
OUT_FILE=${OUT[$name]}
STB=$BUILD/bin/stack_tcp_bulk
if [[ -x "$STB" ]]; then
	run_mode "$name" 1 \
		python3 "$PEER" recv --listen "$IP_B" \
		--port "$((TCP_PORT + 8))" --no-hash --timeout "$TMO" -- \
		env ANYLOAD_BACKEND=afxdp \
		"$STB" -r "$IP_B" -p "$((TCP_PORT + 8))" -b "$BULK_BYTES" \
		-S 2M -R 2M -H -t "$TMO" send "$IF_A"
	xdp_off
else
	STATUS[$name]="n/a ($STB not built)"
fi

# --- bulk: the same kernel sender to anyload's stack ---
name=stack_bulk_recv
OUT[$name]=$WORK/$name.out
RAW[$name]=${OUT[$name]}
KIND[$name]=bulk
OUT_FILE=${OUT[$name]}
if [[ -x "$STB" ]]; then
	run_mode "$name" 1 \
		env ANYLOAD_BACKEND=afxdp \
		"$STB" -l "$IP_B" -p "$((TCP_PORT + 9))" -S 2M -R 2M -H \
		-t "$TMO" recv "$IF_B" -- \
		python3 "$PEER" send --connect "$IP_B" \
		--port "$((TCP_PORT + 9))" --bytes "$BULK_BYTES" --no-hash \
		--timeout "$TMO"
	xdp_off
else
	STATUS[$name]="n/a ($STB not built)"
fi

# --- the table ---
DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
STAMP=$(date -u '+%Y-%m-%d-%H%M%S')
COMMAND="BENCH_ITERS=$ITERS BENCH_WARMUP=$WARMUP BENCH_PAYLEN=$PAYLEN"
COMMAND+=" BENCH_SOCKPERF_TIME=$SOCKPERF_TIME BENCH_TCP_PAYLEN=$TCP_PAYLEN"
COMMAND+=" BENCH_IPERF_TIME=$IPERF_TIME BENCH_IPERF_ROUNDS=$IPERF_ROUNDS"
COMMAND+=" BENCH_BULK_BYTES=$BULK_BYTES"
COMMAND+=" bash bench/run.sh $BUILD_ARG"
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

MODES=(kernel_pingpong eflatency eflatency_afpacket stack_pingpong sockperf
	sockperf_anyload kernel_pingpong_tcp stack_tcp_pingpong
	stack_tcp_ping_kernel_pong sockperf_tcp sockperf_tcp_anyload)
TPUT_MODES=(iperf3 iperf3_anyload iperf3_anyload_latency iperf3_anyload_nogso
	kernel_bulk stack_bulk_send stack_bulk_recv)
STATS_ARGS=()
for m in "${MODES[@]}"; do
	STATS_ARGS+=("$m" "${STATUS[$m]}" "${KIND[$m]}" "${RAW[$m]}" "${OUT[$m]}")
done
TPUT_ARGS=()
for m in "${TPUT_MODES[@]}"; do
	TPUT_ARGS+=("$m" "${STATUS[$m]}" "${KIND[$m]}" "${RAW[$m]}" "${OUT[$m]}")
done

TABLE=$WORK/table.md
{
	echo "# anyload round-trip latency (UDP, TCP) and TCP throughput"
	echo
	echo "- date: $DATE"
	echo "- kernel: $(uname -r) ($(uname -m)), $(nproc) CPUs: ${CPU_MODEL:-unknown}"
	echo "- command: \`$COMMAND\`"
	echo "- network: veth pair between two network namespaces ($IP_A ↔ $IP_B), TX checksum offload off"
	echo "- pinning: $PINNING"
	echo "- UDP payload: $PAYLEN bytes; TCP messages: $TCP_PAYLEN bytes; $ITERS measured round trips after $WARMUP warm-ups (sockperf: $SOCKPERF_TIME s after its own warm-up)"
	echo "- load before the run: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg)"
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
    "kernel_pingpong_tcp": "kernel_pingpong -T (kernel TCP, reference)",
    "stack_tcp_pingpong": "stack_tcp_pingpong (anyload TCP, both ends)",
    "stack_tcp_ping_kernel_pong":
        "stack_tcp_pingpong ping, kernel_pingpong -T pong",
    "sockperf_tcp": "sockperf --tcp ping-pong (kernel TCP)",
    "sockperf_tcp_anyload": "sockperf --tcp ping-pong, both ends under anyload",
}
# The table each mode goes in: its title and its reference (first mode).
groups = [
    ("UDP", ["kernel_pingpong", "eflatency", "eflatency_afpacket",
             "stack_pingpong", "sockperf", "sockperf_anyload"]),
    ("TCP", ["kernel_pingpong_tcp", "stack_tcp_pingpong",
             "stack_tcp_ping_kernel_pong", "sockperf_tcp",
             "sockperf_tcp_anyload"]),
]


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

kinds = {m[0]: m[2] for m in modes}
for gi, (title, members) in enumerate(groups):
    members = [m for m in members if m in stats]
    if not members:
        continue
    ref = stats.get(members[0])
    if gi:
        print()
    print("%s round trips:" % title)
    print()
    print("| mode | p50 µs | p99 µs | p99.9 µs | mean µs "
          "| p50 ratio vs kernel | p99 ratio vs kernel |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in members:
        st = stats[name]
        label = labels.get(name, name)
        if kinds[name] == "sockperf_half":
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
	python3 - "${TPUT_ARGS[@]}" <<'PY'
import json
import re
import sys

args = sys.argv[1:]
modes = [args[i:i + 5] for i in range(0, len(args), 5)]
labels = {
    "iperf3": "iperf3, kernel TCP (reference)",
    "iperf3_anyload": "iperf3, both ends under anyload",
    "iperf3_anyload_latency": "iperf3, both ends under anyload "
                              "--profile=latency (spinning)",
    "iperf3_anyload_nogso": "iperf3, both ends under anyload, "
                            "ANYLOAD_TCP_GSO=0 (no super-frames)",
    "kernel_bulk": "bulk: kernel sender -> kernel receiver (reference)",
    "stack_bulk_send": "bulk: anyload stack_tcp_bulk -> kernel receiver",
    "stack_bulk_recv": "bulk: kernel sender -> anyload stack_tcp_bulk",
}
refs = {"iperf3": "iperf3", "iperf3_anyload": "iperf3",
        "iperf3_anyload_latency": "iperf3", "iperf3_anyload_nogso": "iperf3",
        "kernel_bulk": "kernel_bulk", "stack_bulk_send": "kernel_bulk",
        "stack_bulk_recv": "kernel_bulk"}


def measure_one(kind, path):
    """(Gbit/s, retransmissions or None, bytes) of one run."""
    text = open(path).read()
    if kind == "iperf3":
        # The client's JSON: what the server received, and the sender's
        # retransmissions (counted by the sending kernel's TCP_INFO).
        doc = json.loads(text)
        end = doc.get("end", {})
        if "sum_received" not in end:
            raise ValueError("iperf3 JSON without end.sum_received, "
                             "error: %s" % doc.get("error"))
        recv = end["sum_received"]
        return (recv["bits_per_second"] / 1e9,
                end["sum_sent"].get("retransmits"), recv["bytes"])
    m = re.search(r"^RESULT .*bytes=(\d+) .*gbps=([0-9.]+)", text, re.M)
    if not m:
        raise ValueError("no RESULT line")
    retr = re.search(r"tcpi_total_retrans=(\d+)", text)
    return (float(m.group(2)), int(retr.group(1)) if retr else None,
            int(m.group(1)))


def measure(kind, path):
    """The median run of a mode, and {round: Gbit/s} of every run (iperf3:
    path is PREFIX:ROUNDS, the rounds that ran, in PREFIX.rN; others have
    one run, round 1)."""
    if kind != "iperf3":
        r = measure_one(kind, path)
        return r, {1: r[0]}
    prefix, rounds = path.rsplit(":", 1)
    runs = {int(n): measure_one(kind, "%s.r%s" % (prefix, n))
            for n in rounds.split(",") if n}
    if not runs:
        raise ValueError("no round ran")
    by_speed = sorted(runs.values(), key=lambda r: r[0])
    return (by_speed[(len(by_speed) - 1) // 2],
            {n: r[0] for n, r in sorted(runs.items())})


def median(xs):
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2] if len(xs) % 2 else \
        (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


res = {}
for name, status, kind, raw, out in modes:
    if status != "ok":
        res[name] = status
        continue
    try:
        res[name] = measure(kind, raw)
    except (OSError, ValueError, KeyError) as e:
        res[name] = "n/a (unreadable result: %s)" % e
print("TCP single-stream throughput:")
print()
print("| mode | Gbit/s (median) | ratio vs kernel (median of rounds) | "
      "each round, Gbit/s | "
      "bytes | retransmitted segments |")
print("|---|---:|---:|---|---:|---:|")
for name, _, _, _, _ in modes:
    r = res[name]
    label = labels.get(name, name)
    if not isinstance(r, tuple):
        print("| %s | %s | | | | |" % (label, r))
        continue
    (gbps, retr, nbytes), each = r
    ref = res.get(refs[name])
    # The ratio pairs each round with the reference's run of the same
    # round (minutes apart at most), then takes the median.
    if isinstance(ref, tuple):
        pairs = [each[n] / ref[1][n] for n in each if n in ref[1]]
        ratio = "%.2f" % median(pairs) if pairs else "n/a"
    else:
        ratio = "n/a"
    print("| %s | %.3f | %s | %s | %d | %s |" % (
        label, gbps, ratio, " ".join("%.2f" % g for g in each.values()),
        nbytes, "-" if retr is None else retr))
print()
print("iperf3: what the server received over the client's -t seconds, "
      "from the client's JSON; the four iperf3 modes ran in turn, "
      "round after round; each row gives its median round, and its ratio "
      "is the median over the rounds of its run against the kernel's run "
      "of the same round (the VM's speed drifts between rounds). bulk: a fixed number of bytes, timed by "
      "the sender from the connection's establishment to the receiver's "
      "close (so every byte was read); neither end hashes. Ratios are "
      "against the kernel row of the same tool.")
PY
	echo
	echo "Commands:"
	echo
	for m in "${MODES[@]}" "${TPUT_MODES[@]}"; do
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
	"anyload round-trip latency, $DATE" "${STATS_ARGS[@]}"; then
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
