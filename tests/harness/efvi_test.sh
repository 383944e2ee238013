# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# efvi_test.sh: helpers for the ef_vi integration tests
# (tests/integration/*.sh). Source it after netns.sh; it runs nothing by
# itself.
#
#   itest_init            REPO, BUILD (env BUILD or REPO/build), PROGS
#                         (BUILD/tests/progs), a private TMPD removed on
#                         exit; skips (77) unless root and the library
#                         is built; requires python3
#   itest_build NAME...   compile tests/integration/progs/NAME.c against
#                         the static library into PROGS/NAME, with the
#                         build's extra flags (BUILD/test-cflags), linked
#                         with the programs' shared modules
#                         (progs/common/*.c, an archive: a program gets
#                         the modules it uses; their headers on the
#                         include path)
#   itest_build_stack NAME...   the same for programs on the stack's API
#                         (they need libmnl too, for the control plane)
#   itest_sanitized       true for a sanitizer build
#   bg_start TAG NS CMD...   run CMD in namespace NS in the background,
#                         stdin from a fifo (fd kept open by us), stdout
#                         to TMPD/TAG.out, stderr to TMPD/TAG.err; its pid
#                         is BG_PID[TAG]
#   bg_cmd TAG LINE       (for progs/vi_recv) send a command line and wait
#                         (5 s) for its "R<n>" answer, left in BG_REPLY
#   bg_wait_line TAG REGEX [SECS]   wait until TAG.out has a matching line
#   bg_stop TAG [SECS]    close its stdin and send SIGTERM (vi_recv and
#                         udptool recv both end cleanly on either), wait up
#                         to SECS (default 5), then SIGKILL; BG_RC is its
#                         exit status
#   bg_wait TAG [SECS]    wait up to SECS (default 10) for it to exit by
#                         itself, then SIGKILL; BG_RC is its exit status
#   bg_kill9 TAG          SIGKILL it and reap it
#   count_lines FILE REGEX   number of matching lines (0 if none)
#   wait_count FILE REGEX N [SECS]  wait until at least N lines match
#   expect_eq WHAT GOT WANT   fail unless equal
#   field LINE NAME        value of NAME=... in a line of KEY=VALUE words
#   udptool ARGS...        python3 progs/udptool.py ARGS...
#   log MSG                a progress line on stdout
#
# Every wait is bounded; every background program is stopped on exit.
# Safe under set -euo pipefail.

if [[ -n "${EFVI_TEST__SOURCED:-}" ]]; then
	return 0
fi
EFVI_TEST__SOURCED=1

declare -gA BG_PID=() BG_FD=() BG_SEQ=()
BG_REPLY=
BG_RC=

log()
{
	echo "[$(date +%T.%N | cut -c1-12)] $*"
}

itest__cleanup()
{
	local tag

	for tag in "${!BG_PID[@]}"; do
		kill -KILL "${BG_PID[$tag]}" 2>/dev/null || true
	done
	if [[ -n "${TMPD:-}" && -d "$TMPD" ]]; then
		if [[ -n "${ITEST_KEEP:-}" ]]; then
			echo "keeping $TMPD"
		else
			rm -rf "$TMPD"
		fi
	fi
}

itest_init()
{
	require_root
	require_cmd python3 ip cc
	REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	BUILD=${BUILD:-$REPO/build}
	[[ -f "$BUILD/lib/libanyvi.a" ]] ||
		skip "library not built ($BUILD/lib/libanyvi.a missing)"
	PROGS=$BUILD/tests/progs
	mkdir -p "$PROGS"
	TMPD=$(mktemp -d /tmp/anyload-itest.XXXXXX)
	chmod 755 "$TMPD"
	# ns_setup_pair (called later) chains this EXIT trap after its own
	# clean-up of the namespaces.
	trap 'itest__cleanup' EXIT
	export REPO BUILD PROGS TMPD
}

# itest_sanitized: true if BUILD is a sanitizer build (its test-cflags,
# written by the Makefile, hold -fsanitize flags).
itest_sanitized()
{
	grep -q -- '-fsanitize' "$BUILD/test-cflags" 2>/dev/null
}

itest_build()
{
	ITEST_LIBS="-lbpf -lelf -lz -lpthread -lm" itest__build "$@"
}

itest_build_stack()
{
	ITEST_LIBS="-lmnl -lbpf -lelf -lz -lpthread -lm" itest__build "$@"
}

# itest__build NAME...: itest_build with the libraries in ITEST_LIBS.
itest__build()
{
	local name extra=() libs=()

	# The build's extra flags (e.g. -fsanitize=...) for compiling and
	# linking, as its library was built with them.
	if [[ -s "$BUILD/test-cflags" ]]; then
		read -r -a extra <"$BUILD/test-cflags" || true
	fi
	read -r -a libs <<<"$ITEST_LIBS"
	itest__build_common "${extra[@]}"
	for name in "$@"; do
		itest__cc "${extra[@]}" -o "$PROGS/$name" \
			"$REPO/tests/integration/progs/$name.c" \
			"$PROGS/common.a" "$BUILD/lib/libanyvi.a" "${libs[@]}" ||
			fail "cannot build progs/$name.c"
	done
}

# itest__cc ARGS...: the C compiler with the flags every program gets.
itest__cc()
{
	cc -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE \
		-I"$REPO/include" -I"$REPO/tests/harness" \
		-I"$REPO/tests/integration/progs/common" "$@"
}

# itest__build_common EXTRA_FLAGS...: PROGS/common.a from progs/common/*.c.
itest__build_common()
{
	local src obj objs=()

	for src in "$REPO"/tests/integration/progs/common/*.c; do
		obj=$PROGS/common-$(basename "$src" .c).o
		itest__cc "$@" -c -o "$obj" "$src" ||
			fail "cannot build ${src#"$REPO/tests/integration/"}"
		objs+=("$obj")
	done
	rm -f "$PROGS/common.a"
	ar rcs "$PROGS/common.a" "${objs[@]}" ||
		fail "cannot make $PROGS/common.a"
}

udptool()
{
	python3 "$REPO/tests/integration/progs/udptool.py" "$@"
}

bg_start()
{
	local tag=$1 ns=$2 fifo fd

	shift 2
	fifo=$TMPD/$tag.in
	rm -f "$fifo" "$TMPD/$tag.out" "$TMPD/$tag.err"
	mkfifo "$fifo"
	ip netns exec "$ns" "$@" <"$fifo" >"$TMPD/$tag.out" \
		2>"$TMPD/$tag.err" &
	BG_PID[$tag]=$!
	exec {fd}>"$fifo"
	BG_FD[$tag]=$fd
	BG_SEQ[$tag]=0
}

# bg_wait_line TAG REGEX [SECS]: 0 when found, 1 on timeout or when the
# program ended without printing it. A program that forks and exits (a
# daemon's first process) leaves the output to its child, which may print
# a moment after: once the program is gone the line has one more second
# (CI: a child that printed as its parent exited was missed).
bg_wait_line()
{
	local tag=$1 re=$2 secs=${3:-5} i n gone=-1

	n=$((secs * 20))
	for ((i = 0; i < n; i++)); do
		grep -Eq -- "$re" "$TMPD/$tag.out" 2>/dev/null && return 0
		if ((gone < 0)) && ! kill -0 "${BG_PID[$tag]}" 2>/dev/null; then
			gone=$i
		fi
		if ((gone >= 0 && i - gone >= 20)); then
			grep -Eq -- "$re" "$TMPD/$tag.out" 2>/dev/null
			return
		fi
		sleep 0.05
	done
	return 1
}

bg_cmd()
{
	local tag=$1 line=$2 seq i

	seq=$((BG_SEQ[$tag] + 1))
	BG_SEQ[$tag]=$seq
	echo "$line" >&"${BG_FD[$tag]}" || fail "$tag: cannot send '$line'"
	bg_wait_line "$tag" "^R$seq " 5 ||
		fail "$tag: no answer to '$line'; stderr: $(tail -3 "$TMPD/$tag.err")"
	# A whole answer: stdio may write a long one in pieces (the output
	# ends with a newline once it is all there).
	for ((i = 0; i < 100; i++)); do
		[[ -z "$(tail -c 1 "$TMPD/$tag.out")" ]] && break
		sleep 0.02
	done
	BG_REPLY=$(grep -E "^R$seq " "$TMPD/$tag.out" | head -n 1)
}

bg__close_fd()
{
	local fd=${BG_FD[$1]:-}

	if [[ -n "$fd" ]]; then
		exec {fd}>&-
		unset "BG_FD[$1]"
	fi
}

bg_stop()
{
	local tag=$1 secs=${2:-5} pid i

	pid=${BG_PID[$tag]:-}
	[[ -n "$pid" ]] || return 0
	bg__close_fd "$tag"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$tag (pid $pid) did not stop in ${secs}s: killing" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	BG_RC=0
	wait "$pid" 2>/dev/null || BG_RC=$?
	unset "BG_PID[$tag]"
}

bg_wait()
{
	local tag=$1 secs=${2:-10} pid i

	pid=${BG_PID[$tag]:-}
	[[ -n "$pid" ]] || return 0
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$tag (pid $pid) did not exit in ${secs}s: killing" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	BG_RC=0
	wait "$pid" 2>/dev/null || BG_RC=$?
	bg__close_fd "$tag"
	unset "BG_PID[$tag]"
}

bg_kill9()
{
	local tag=$1 pid

	pid=${BG_PID[$tag]}
	kill -KILL "$pid" 2>/dev/null || true
	BG_RC=0
	wait "$pid" 2>/dev/null || BG_RC=$?
	bg__close_fd "$tag"
	unset "BG_PID[$tag]"
}

count_lines()
{
	local n

	n=$(grep -Ec -- "$2" "$1" 2>/dev/null) || true
	echo "${n:-0}"
}

wait_count()
{
	local file=$1 re=$2 want=$3 secs=${4:-5} i

	for ((i = 0; i < secs * 20; i++)); do
		(($(count_lines "$file" "$re") >= want)) && return 0
		sleep 0.05
	done
	return 1
}

expect_eq()
{
	[[ "$2" == "$3" ]] || fail "$1: got '$2', expected '$3'"
	log "ok: $1 = $3"
}

field()
{
	local w

	for w in $1; do
		if [[ "$w" == "$2="* ]]; then
			echo "${w#*=}"
			return 0
		fi
	done
	return 1
}
