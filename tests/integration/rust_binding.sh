#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# rust_binding: the Rust binding (bindings/rust, crate anyvi) against this
# build's static library (ANYVI_LIB_DIR=$BUILD/lib), offline, with its
# cargo output under $BUILD/rust-target.
#  cargo test   unit tests (layouts against C, errno mapping, the event
#               codec through the C shim, filter specs, PDs, registered
#               memory bounds, UDP frames), the doc tests with their
#               compile-fail checks of the lifetimes, and the crate's own
#               netns+veth tests (ANYVI_TEST_NO_SKIP=1: they must run)
#  rx_filter    the guide-flow example in NS_B with -e receives exactly
#               the N datagrams that a kernel socket in NS_A sends, prints
#               each with its payload, and its N echoes reach that socket
#  latency      the Rust ping-pong against the C eflatency, both ways
#               (Rust pong + C ping, Rust ping + C pong), -n 2000 -w 200:
#               exit 0 and eflatency's output format
# Skipped (77) when cargo is not installed (CARGO=path picks one).
#
# Sanitizer builds: the library is compiled with ASan + UBSan, Rust code
# is not; the runtimes are linked in and preloaded into the test programs
# (not into cargo, rustc or ip), and doc tests, which cargo cannot run
# with a preload, are left to the normal build.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
# $CARGO, if set, names the cargo to use; else the one on PATH, else the
# rustup default (root's PATH under sudo often lacks ~/.cargo/bin).
if [[ -z "${CARGO:-}" ]]; then
	CARGO=$(command -v cargo 2>/dev/null || true)
	for c in "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" /root/.cargo/bin/cargo; do
		if [[ -z "$CARGO" && -x "$c" ]]; then
			CARGO=$c
		fi
	done
fi
[[ -n "$CARGO" && -x "$CARGO" ]] ||
	skip "cargo not installed: the Rust binding is not tested"
PATH=$(dirname "$CARGO"):$PATH:/usr/sbin:/sbin

CRATE=$REPO/bindings/rust
export ANYVI_LIB_DIR=$BUILD/lib
export CARGO_TARGET_DIR=$BUILD/rust-target
export CARGO_TERM_COLOR=never
export ANYVI_TEST_NO_SKIP=1
RUN=()
tests=()
if itest_sanitized; then
	preload=
	for lib in asan ubsan; do
		so=$(cc -print-file-name="lib$lib.so")
		[[ -f "$so" ]] || skip "sanitizer build, but no lib$lib.so to preload"
		preload+=${preload:+:}$so
	done
	export RUSTFLAGS="-C link-arg=-lasan -C link-arg=-lubsan"
	export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="env LD_PRELOAD=$preload"
	RUN=(env "LD_PRELOAD=$preload")
	tests=(--lib --tests)
fi

log "---- cargo test ${tests[*]}"
(cd "$CRATE" && "$CARGO" test --offline "${tests[@]}") || fail "cargo test failed"
(cd "$CRATE" && "$CARGO" build --offline --examples) ||
	fail "cargo build --examples failed"
EX=$CARGO_TARGET_DIR/debug/examples
for b in rx_filter latency; do
	[[ -x "$EX/$b" ]] || fail "example $b was not built ($EX/$b)"
done

NS_PREFIX_LEN=24 ns_setup_pair
ip -n "$NS_A" neigh replace "$IP_B" lladdr "$MAC_B" dev "$IF_A" nud permanent
ip -n "$NS_B" neigh replace "$IP_A" lladdr "$MAC_A" dev "$IF_B" nud permanent

# ---- rx_filter ------------------------------------------------------------
log "---- rx_filter -e"
P=9600
N=50
bg_start rx "$NS_B" "${RUN[@]}" "$EX/rx_filter" -n $N -e -t 30 "$IF_B" "$IP_B" $P
bg_wait_line rx '^# rx buffers: ' 20 ||
	fail "rx_filter did not start: $(cat "$TMPD/rx.out" "$TMPD/rx.err")"
cat >"$TMPD/echo.py" <<'EOF'
import socket, sys, time
dst, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 0))
s.settimeout(0.2)
for i in range(n):
    s.sendto(b"R-%06d" % i, (dst, port))
    time.sleep(0.0005)
got, end = [], time.monotonic() + 10
while len(got) < n and time.monotonic() < end:
    try:
        got.append(s.recvfrom(2048)[0].decode())
    except socket.timeout:
        pass
print("\n".join("ECHO " + g for g in got))
EOF
ns_a python3 "$TMPD/echo.py" "$IP_B" $P $N >"$TMPD/echo.out"
bg_wait rx 10
cat "$TMPD/rx.err"
tail -n 3 "$TMPD/rx.out"
expect_eq "rx_filter exit status" "$BG_RC" 0
expect_eq "datagram lines" "$(grep -c $'^[0-9]*\t' "$TMPD/rx.out")" $N
expect_eq "datagrams in order, with their source and payload" \
	"$(grep $'^[0-9]*\t' "$TMPD/rx.out" | awk -F'\t' -v ip="$IP_A" '
		{ split($2, a, ":"); if (a[1] != ip || $3 != 8) { print "bad: " $0; exit } }
		{ printf "%s %s\n", $1, $4 }' | md5sum)" \
	"$(for ((i = 0; i < N; i++)); do printf '%d R-%06d\n' $((i + 1)) $i; done | md5sum)"
expect_eq "rx_filter summary" "$(grep '^received ' "$TMPD/rx.out")" \
	"received $N datagrams, 0 discards, 0 no-desc"
expect_eq "rx_filter echo summary" "$(grep '^echoed ' "$TMPD/rx.out")" \
	"echoed $N datagrams, 0 not sent"
expect_eq "echoes at the kernel socket" \
	"$(sort "$TMPD/echo.out" | uniq | md5sum)" \
	"$(for ((i = 0; i < N; i++)); do printf 'ECHO R-%06d\n' $i; done | md5sum)"

# ---- latency against eflatency, both ways ---------------------------------
# check_latency_output FILE: eflatency's format, as samples.sh checks it.
check_latency_output()
{
	local out=$1 data check

	grep -q '^# ef_vi_version_str: anyload-' "$out" || fail "no version line"
	expect_eq "interface header" "$(grep -c "^# interface: $IF_A\$" "$out")" 1
	expect_eq "payload header" "$(grep -c '^# udp payload len: 28$' "$out")" 1
	expect_eq "iterations header" "$(grep -c '^# iterations: 2000$' "$out")" 1
	expect_eq "warm-ups header" "$(grep -c '^# warmups: 200$' "$out")" 1
	expect_eq "column header" "$(grep -c $'^#\tpaylen\tmean\tmin\tmedian\t95%ile\t99%ile\t99.9%ile\tmax$' "$out")" 1
	expect_eq "data lines" "$(grep -vc '^#' "$out")" 1
	data=$(grep -v '^#' "$out")
	check=$(awk '{
		if (NF != 8) { print "fields=" NF; exit }
		for (i = 1; i <= 8; i++)
			if ($i !~ /^[0-9]+(\.[0-9]+)?$/) { print "field " i ": " $i; exit }
		if ($1 != 28) { print "paylen " $1; exit }
		if (!($3 <= $4 && $4 <= $5 && $5 <= $6 && $6 <= $7 && $7 <= $8)) { print "not ordered"; exit }
		if (!($3 <= $2 && $2 <= $8) || $3 <= 0) { print "mean/min"; exit }
		print "ok" }' <<<"$data")
	expect_eq "data line '$data'" "$check" ok
}

# run_pair PING_CMD PONG_CMD TAG: pong in NS_B, ping in NS_A.
run_pair()
{
	local ping=$1 pong=$2 tag=$3 rc=0

	log "---- latency: $tag"
	bg_start "pong$tag" "$NS_B" "${RUN[@]}" $pong -n 2000 -w 200 -t 30 pong "$IF_B"
	sleep 0.3
	ns_a timeout 60 "${RUN[@]}" $ping -n 2000 -w 200 -t 30 ping "$IF_A" \
		>"$TMPD/ping$tag.out" 2>"$TMPD/ping$tag.err" || rc=$?
	cat "$TMPD/ping$tag.out" "$TMPD/ping$tag.err"
	bg_wait "pong$tag" 15
	expect_eq "$tag: ping exit status" "$rc" 0
	expect_eq "$tag: pong exit status" "$BG_RC" 0
	check_latency_output "$TMPD/ping$tag.out"
}

C_LAT=$BUILD/bin/eflatency
[[ -x "$C_LAT" ]] || fail "$C_LAT not built"
run_pair "$C_LAT" "$EX/latency" c-ping-rust-pong
run_pair "$EX/latency" "$C_LAT" rust-ping-c-pong
echo "rust_binding: PASS"
