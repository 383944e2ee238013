#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/run.sh BUILD_DIR: anyload's test-suite runner (libuv runner and
# xdp-tools test_runner.sh style: one process per test, a timeout each).
#
# Runs, in this order, each as its own process under
# `timeout --kill-after=5 $TEST_TIMEOUT`, from the repository root, with
# stdin from /dev/null and stdout+stderr to BUILD_DIR/test-logs/<name>.log:
#   1. every executable under BUILD_DIR/tests/unit (recursively)
#   2. every executable under BUILD_DIR/tests/integration
#   3. every tests/integration/*.sh, with bash
# Every test gets BUILD (absolute build directory) and TESTS_DIR (absolute
# tests/ directory) in its environment.
#
# A test's exit status: 0 pass, 77 skip (the last line of its log is the
# reason), anything else fail (124 = timed out); a failure prints the tail
# of its log, and a "failed: NAME: ..." line before the totals repeats its
# log's first lines that say FAIL or error. Integration tests are skipped
# when not run as root. Before them, network namespaces left by an aborted
# earlier run are removed (only names of tests/harness/netns.sh's pattern
# whose owner is gone).
#
# Environment:
#   TESTS         extended regex; only tests whose name matches run
#                 (names look like unit/vi/test_pd, integration/udp.sh)
#   TEST_TIMEOUT  seconds per test (default 120); a script that needs more
#                 says so with a line "# test-timeout: SECONDS" in its
#                 first 40 lines (that value is then used, scaled like
#                 TEST_TIMEOUT / 120 when TEST_TIMEOUT is set)
#   TEST_LOG_TAIL lines of log shown for a failure (default 30)
#   SANITIZE_BUILD a second build directory (made with ASan + UBSan): its
#                 unit tests and the integration scripts run again against
#                 it, named asan/unit/... and asan/integration/...;
#                 SANITIZE_TESTS (extended regex) narrows the integration
#                 scripts that run there (default: all)
#
# The last line of output is "N passed, N failed, N skipped". The exit
# status is 1 if any test failed, else 0.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_ARG=${1:-build}
if [[ ! -d "$BUILD_ARG" ]]; then
	echo "run.sh: build directory $BUILD_ARG not found" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
BUILD=$(cd "$BUILD_ARG" && pwd)
TESTS_DIR=$REPO/tests
LOG_DIR=$BUILD/test-logs
TIMEOUT=${TEST_TIMEOUT:-120}
LOG_TAIL=${TEST_LOG_TAIL:-30}
FILTER=${TESTS:-}
export BUILD TESTS_DIR

if ! [[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]]; then
	echo "run.sh: bad TEST_TIMEOUT=$TIMEOUT" >&2
	exit 1
fi

mkdir -p "$LOG_DIR"
passed=0
failed=0
FAILURES=()
skipped=0

# log_name NAME: the log file of a test; "unit/vi/test_pd" becomes
# "unit.vi.test_pd.log".
log_name()
{
	echo "$LOG_DIR/${1//\//.}.log"
}

selected()
{
	[[ -z "$FILTER" || "$1" =~ $FILTER ]]
}

report_skip()
{
	echo "SKIP $1: $2"
	skipped=$((skipped + 1))
}

# test_timeout CMD...: the time limit of a test: the script's own
# "# test-timeout: N" line when CMD runs a script that has one (a long
# suite of sub-tests such as afpacket_parity.sh), else TIMEOUT.
test_timeout()
{
	local arg own=

	for arg in "$@"; do
		if [[ "$arg" == *.sh && -f "$arg" ]]; then
			own=$(head -n 40 "$arg" |
				sed -n 's/^# test-timeout: *\([1-9][0-9]*\) *$/\1/p' |
				head -n 1)
		fi
	done
	if [[ -z "$own" ]]; then
		echo "$TIMEOUT"
	elif [[ -n "${TEST_TIMEOUT:-}" ]]; then
		echo $((own * TIMEOUT / 120))
	else
		echo "$own"
	fi
}

# run_test NAME CMD...: run one test and report it.
run_test()
{
	local name=$1 log t0 t1 rc reason secs limit

	shift
	log=$(log_name "$name")
	t0=$EPOCHREALTIME
	# In the background and waited for, so that a signal to the runner
	# can stop the test: timeout runs in a process group of its own,
	# which a terminal's Ctrl-C does not reach.
	limit=$(test_timeout "$@")
	(cd "$REPO" && exec timeout --kill-after=5 "$limit" "$@") \
		</dev/null >"$log" 2>&1 &
	CUR_PID=$!
	wait "$CUR_PID"
	rc=$?
	CUR_PID=
	t1=$EPOCHREALTIME
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

	case $rc in
	0)
		echo "PASS $name (${secs}s)"
		passed=$((passed + 1))
		;;
	77)
		reason=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
		report_skip "$name" "${reason:-no reason given}"
		;;
	*)
		if ((rc == 124 || rc == 137)); then
			echo "FAIL $name (${secs}s, timed out after ${limit}s)"
		else
			echo "FAIL $name (${secs}s, exit $rc)"
		fi
		echo "---- last $LOG_TAIL lines of $log"
		tail -n "$LOG_TAIL" "$log" | sed 's/^/    /'
		echo "----"
		failed=$((failed + 1))
		# The first lines that say what failed, for the summary at the
		# end: a long tail of progress lines can hide them in a
		# shortened view of the output.
		FAILURES+=("$name: $(grep -m 3 -E 'FAIL|ERROR|[Ee]rror:|Assertion|runtime error' "$log" |
			tr '\n' ' ' | cut -c 1-600)")
		;;
	esac
}

CUR_PID=
on_signal()
{
	if [[ -n "$CUR_PID" ]]; then
		kill -TERM "$CUR_PID" 2>/dev/null
		wait "$CUR_PID" 2>/dev/null
	fi
	echo "run.sh: interrupted"
	echo "$passed passed, $((failed + 1)) failed, $skipped skipped"
	exit 130
}
trap on_signal INT TERM HUP

# find_execs DIR: executable files under DIR, sorted, one per line.
find_execs()
{
	[[ -d "$1" ]] || return 0
	find "$1" -type f -perm -u+x -print | LC_ALL=C sort
}

# 1. unit tests.
while IFS= read -r bin; do
	name=unit/${bin#"$BUILD/tests/unit/"}
	selected "$name" || continue
	run_test "$name" "$bin"
done < <(find_execs "$BUILD/tests/unit")

# 2 and 3. integration tests.
itests=()
while IFS= read -r bin; do
	name=integration/${bin#"$BUILD/tests/integration/"}
	selected "$name" && itests+=("$name" "$bin")
done < <(find_execs "$BUILD/tests/integration")
for script in "$TESTS_DIR"/integration/*.sh; do
	[[ -f "$script" ]] || continue
	name=integration/$(basename "$script")
	selected "$name" && itests+=("$name" "$script")
done

if ((${#itests[@]} > 0)); then
	if [[ $(id -u) -ne 0 ]]; then
		for ((i = 0; i < ${#itests[@]}; i += 2)); do
			report_skip "${itests[i]}" "integration tests need root"
		done
	else
		# shellcheck source=tests/harness/netns.sh
		(source "$TESTS_DIR/harness/netns.sh" && ns_cleanup_stale)
		for ((i = 0; i < ${#itests[@]}; i += 2)); do
			if [[ "${itests[i + 1]}" == *.sh ]]; then
				run_test "${itests[i]}" bash "${itests[i + 1]}"
			else
				run_test "${itests[i]}" "${itests[i + 1]}"
			fi
		done
	fi
fi

# 4. the same again against the sanitizer build, if there is one.
if [[ -n "${SANITIZE_BUILD:-}" && -d "$SANITIZE_BUILD" ]]; then
	SAN=$(cd "$SANITIZE_BUILD" && pwd)
	SAN_FILTER=${SANITIZE_TESTS:-}
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	while IFS= read -r bin; do
		name=asan/unit/${bin#"$SAN/tests/unit/"}
		selected "$name" || continue
		run_test "$name" "$bin"
	done < <(find_execs "$SAN/tests/unit")
	if [[ $(id -u) -eq 0 ]]; then
		for script in "$TESTS_DIR"/integration/*.sh; do
			[[ -f "$script" ]] || continue
			name=asan/integration/$(basename "$script")
			selected "$name" || continue
			[[ -z "$SAN_FILTER" || "$name" =~ $SAN_FILTER ]] || continue
			run_test "$name" env BUILD="$SAN" bash "$script"
		done
	fi
fi

for f in "${FAILURES[@]}"; do
	echo "failed: $f"
done
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
