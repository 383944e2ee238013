# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# preload_test.sh: helpers for the transparent-mode tests
# (tests/integration/preload_*.sh). Source it (it sources netns.sh and
# efvi_test.sh); it runs nothing by itself.
#
#   preload_test_init     itest_init, then preload_init: how a preload
#                         test starts
#   preload_launcher_init AL (the launcher); skips (77) when it or
#                         libanyload.so is not built. In a sanitizer build
#                         (BUILD/asan of `make test`) ASAN_OPTIONS gets
#                         detect_leaks=0, because foreign programs (python,
#                         sockperf, socat) leak at exit by design and
#                         LeakSanitizer would fail them (the launcher, built
#                         with ASan, puts the ASan runtime first in their
#                         LD_PRELOAD)
#   preload_init          preload_launcher_init, PROG
#                         (progs/preload_prog.py), TPROG
#                         (progs/preload_tcp_prog.py), PL_PRELOAD (what a
#                         bare LD_PRELOAD holds to load libanyload.so). In a
#                         sanitizer build the ASan runtime must be first in
#                         the initial library list of a program that is not
#                         instrumented: PL_PRELOAD puts it first
#   check_accel FILE RX TX   FILE (stderr of a run with
#                         ANYLOAD_STATS_AT_EXIT=1) has a socket summary with
#                         an accelerated socket, at least RX datagrams
#                         received and TX sent through the stack, and none
#                         received through the kernel
#   check_tcp FILE RX TX  the same for TCP: an accelerated TCP socket, at
#                         least RX bytes received and TX sent through the
#                         stack
#   no_xdp_left NS IF WHAT   fail if an XDP program is attached to IF
#   udp_send NS IP PORT TEXT   one datagram TEXT from namespace NS (kernel)
#   tcp_srv_start TAG MODE CONNS [PREFIX...]   TPROG's server in NS_A (under
#                         PREFIX, e.g. the launcher) on port 9700 for CONNS
#                         connections of BYTES each way, ready
#   tcp_srv_done TAG CONNS   that server exited 0 and served them

if [[ -n "${PRELOAD_TEST__SOURCED:-}" ]]; then
	return 0
fi
PRELOAD_TEST__SOURCED=1
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
source "$(dirname "${BASH_SOURCE[0]}")/efvi_test.sh"

preload_test_init()
{
	itest_init
	preload_init
}

preload_launcher_init()
{
	AL=$BUILD/bin/anyload
	[[ -x "$AL" && -f "$BUILD/lib/libanyload.so" ]] ||
		skip "anyload not built ($AL, $BUILD/lib/libanyload.so)"
	if itest_sanitized; then
		export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	fi
	export AL
}

preload_init()
{
	preload_launcher_init
	PROG=$REPO/tests/integration/progs/preload_prog.py
	TPROG=$REPO/tests/integration/progs/preload_tcp_prog.py
	PL_PRELOAD=$BUILD/lib/libanyload.so
	if itest_sanitized; then
		local rt
		rt=$(readlink -f "$(cc -print-file-name=libasan.so)")
		[[ -f "$rt" ]] || skip "sanitizer build: no ASan runtime ($rt)"
		PL_PRELOAD="$rt $PL_PRELOAD"
	fi
	export PROG TPROG PL_PRELOAD
}

check_accel()
{
	local f=$1 rx=$2 tx=$3 line

	line=$(grep -E 'sockets: udp_accelerated=[1-9]' "$f" | tail -n 1)
	[[ -n "$line" ]] || fail "no accelerated socket in $f: $(tail -n 5 "$f")"
	[[ $(field "$line" rx_stack) -ge $rx ]] ||
		fail "rx_stack < $rx: $line"
	[[ $(field "$line" tx_stack) -ge $tx ]] ||
		fail "tx_stack < $tx: $line"
	expect_eq "rx_kernel in '$line'" "$(field "$line" rx_kernel)" 0
}

no_xdp_left()
{
	if ip -n "$1" link show dev "$2" | grep -q xdp; then
		fail "$3: an XDP program is left on $2: $(ip -n "$1" link show dev "$2")"
	fi
}

udp_send()
{
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))' "$2" "$3" "$4"
}

# check_tcp FILE RX TX: FILE (stderr of a run with ANYLOAD_STATS_AT_EXIT=1)
# has a socket summary with an accelerated TCP socket and at least RX
# bytes received and TX bytes sent through the stack (the TCP tests).
check_tcp()
{
	local f=$1 rx=$2 tx=$3 line

	line=$(grep -E 'sockets: .* tcp_accelerated=[1-9]' "$f" | tail -n 1)
	[[ -n "$line" ]] ||
		fail "no accelerated TCP socket in $f: $(tail -n 5 "$f")"
	[[ $(field "$line" tcp_rx_bytes) -ge $rx ]] ||
		fail "tcp_rx_bytes < $rx: $line"
	[[ $(field "$line" tcp_tx_bytes) -ge $tx ]] ||
		fail "tcp_tx_bytes < $tx: $line"
	log "counters: ${line#*sockets: }"
}

tcp_srv_start()
{
	local tag=$1 mode=$2 conns=$3

	shift 3
	bg_start "$tag" "$NS_A" env ANYLOAD_STATS_AT_EXIT=1 ANYLOAD_LOG=2 "$@" \
		python3 "$TPROG" server --port 9700 --mode "$mode" \
		--conns "$conns" --bytes $BYTES --secs 20
	bg_wait_line "$tag" '^READY' 15 ||
		fail "server not ready: $(cat "$TMPD/$tag.err" "$TMPD/$tag.out")"
}

tcp_srv_done()
{
	local tag=$1 conns=$2

	bg_wait "$tag" 15
	expect_eq "server $tag exit" "$BG_RC" 0
	grep -q "^DONE conns=$conns" "$TMPD/$tag.out" ||
		fail "server $tag: $(cat "$TMPD/$tag.out")"
}
