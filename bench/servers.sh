#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/servers.sh [BUILD_DIR]: unmodified request/response servers on the
# kernel and under anyload, loaded from the kernel. Never part of `make
# test` (STYLE.md §6: benches never gate).
#
# On one fresh veth pair between two network namespaces
# (tests/harness/netns.sh) the server runs in namespace A on CPU 1 and its
# load generator in namespace B on CPU 0:
#   memcached_t1  memcached -t 1 (one worker thread), memcaslap -T 2
#                 -c 2 (closed loop, per-request latency bound) and
#                 -c 32 (throughput bound) for BENCH_SRV_SECS; metric:
#                 memcaslap's TPS of its last "Run time" line
#   memcached_t4  the same with -t 4 (four worker threads)
#   redis         redis-server, redis-benchmark -t get -q -c 2 (40000
#                 requests per second of BENCH_SRV_SECS) and -c 32 (50000
#                 per second: about BENCH_SRV_SECS on the kernel here);
#                 metric: GET requests per second
#   nginx         nginx in one process (master_process off, daemon off,
#                 worker_processes 1, private prefix in the temporary
#                 directory) serving a 1 KiB and a 1 MiB file, wrk -t 2
#                 -c 2 and -c 32 on the 1 KiB file for BENCH_SRV_SECS;
#                 metric: Requests/sec
#   nginx_q2      nginx on a veth pair with 2 queues (a pair of its own,
#                 as below): under anyload the one process's stack takes
#                 both queues and serves every connection, wherever the
#                 client kernel's hash puts it
#   nginx_w2      nginx with its master and 2 worker processes (daemon
#                 off, user nobody: as in a container), same load; under
#                 anyload one worker takes the listener into its stack,
#                 the other serves from the kernel socket (README,
#                 "Pre-forking servers"); the summary counted is the
#                 process's with the most bytes through its stack
#   nginx_w2q2    nginx_w2 on a veth pair with 2 queues (a pair of its
#                 own, made when the mode starts): under anyload each
#                 worker takes a queue into its stack and both listen
#                 there, each serving the connections that arrive on its
#                 queue (the client kernel spreads them by their hash);
#                 the summary counted is again the one with the most bytes
# Each (server, load) pair runs BENCH_SRV_ROUNDS rounds, each round the
# kernel run and then the anyload run, because this VM's speed drifts a
# lot; the anyload run puts only the server under `anyload
# --profile=throughput --interface=IF_A` (the load generator stays on the
# kernel) with ANYLOAD_STATS_AT_EXIT=1, and its number counts only when the
# server's socket summary at exit shows tcp_accelerated >= 1 and
# tcp_rx_bytes > 0 ("not accelerated" otherwise). Every run starts its own
# server on a fresh port and stops it afterwards (TERM, bounded wait,
# KILL); after an anyload run any XDP program left on IF_A is removed.
# Per pair the table gives the kernel's median, anyload's median, the
# median of the per-round ratios anyload/kernel (above 1: anyload faster)
# and every round's values. The Markdown report goes to stdout and to
# $BENCH_RESULTS_DIR/servers-<date>.md.
#
# Environment:
#   BENCH_SRV_SECS (3)     seconds of load per run
#   BENCH_SRV_ROUNDS (3)   rounds per (server, load) pair
#   BENCH_SRV_MODES (all)  the modes to run, by the names above
#   BENCH_RESULTS_DIR (bench/results)  where the report is written
#                          (relative to the repository)
# Exit status: 0 when every kernel run gave a number, 1 otherwise; a
# server or load generator that is not installed shows "n/a" in its rows.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BUILD_ARG=${1:-build}
if [[ ! -d "$BUILD_ARG" ]]; then
	echo "servers: build directory $BUILD_ARG not found (run make)" >&2
	exit 1
fi
BUILD=$(cd "$BUILD_ARG" && pwd)
export BUILD
AL=$BUILD/bin/anyload
if [[ ! -x "$AL" || ! -f "$BUILD/lib/libanyload.so" ]]; then
	echo "servers: anyload not built ($AL, $BUILD/lib/libanyload.so)" >&2
	exit 1
fi

SECS=${BENCH_SRV_SECS:-3}
ROUNDS=${BENCH_SRV_ROUNDS:-3}
RESULTS_DIR=${BENCH_RESULTS_DIR:-bench/results}
if ! [[ "$SECS" =~ ^[1-9][0-9]*$ ]] || ((SECS > 600)); then
	echo "servers: bad BENCH_SRV_SECS=$SECS (1-600)" >&2
	exit 1
fi
if ! [[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || ((ROUNDS > 50)); then
	echo "servers: bad BENCH_SRV_ROUNDS=$ROUNDS (1-50)" >&2
	exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "servers: needs root (it creates network namespaces)" >&2
	exit 1
fi

# shellcheck source=tests/harness/netns.sh
source "$REPO/tests/harness/netns.sh"
# shellcheck source=tests/harness/efvi_test.sh
source "$REPO/tests/harness/efvi_test.sh"
# shellcheck source=tests/harness/nginx.sh
source "$REPO/tests/harness/nginx.sh"

START_TIME=$(date +%s)
itest_init
require_cmd taskset timeout ss pgrep
ns_setup_pair

CPU_SERVER=1
CPU_CLIENT=0
# Seconds a load generator may take beyond its nominal length, and the
# limit of a server's whole life.
CLIENT_SLACK=30
SERVER_LIMIT=$((10 * SECS + 120))
# redis-benchmark runs a number of requests, not a time: per second of
# BENCH_SRV_SECS at 2 and at 32 connections.
REDIS_RATE_C2=40000
REDIS_RATE_C32=50000
NEXT_PORT=12000
KERNEL_FAILED=0

ALL_MODES=(memcached_t1 memcached_t4 redis nginx nginx_q2 nginx_w2 nginx_w2q2)
read -ra MODES <<<"${BENCH_SRV_MODES:-${ALL_MODES[*]}}"
for m in "${MODES[@]}"; do
	[[ " ${ALL_MODES[*]} " == *" $m "* ]] || {
		echo "servers: unknown mode $m in BENCH_SRV_MODES (${ALL_MODES[*]})" >&2
		exit 1
	}
done
LOADS=(c2 c32)
declare -A MODE_LABEL=(
	[memcached_t1]="memcached -t 1"
	[memcached_t4]="memcached -t 4"
	[redis]="redis-server"
	[nginx]="nginx, 1 process"
	[nginx_q2]="nginx, 1 process, 2-queue veth"
	[nginx_w2]="nginx, 2 workers"
	[nginx_w2q2]="nginx, 2 workers, 2-queue veth"
)
declare -A METRIC_LABEL=(
	[memcached_t1]="TPS"
	[memcached_t4]="TPS"
	[redis]="GET/s"
	[nginx]="req/s"
	[nginx_q2]="req/s"
	[nginx_w2]="req/s"
	[nginx_w2q2]="req/s"
)
# Per pair "MODE/LOAD": the numbers of each round (kernel, anyload), the
# per-round cells as shown, and the ratios of the rounds with both.
# The server threads' context switches per request of the last round, the
# first reason an anyload round gave no number, the missing tool of a mode.
declare -A K_VALS=() A_VALS=() K_CELLS=() A_CELLS=() RATIOS=()
declare -A K_SWITCHES=() A_SWITCHES=() A_NOTE=() MISSING=()

# mode_missing MODE: print the first tool MODE needs that is not installed.
mode_missing()
{
	local tools=() t

	case $1 in
	memcached_*) tools=(memcached memcaslap) ;;
	redis) tools=(redis-server redis-benchmark) ;;
	nginx | nginx_q2 | nginx_w2 | nginx_w2q2) tools=(nginx wrk) ;;
	esac
	for t in "${tools[@]}"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "$t"
			return 0
		fi
	done
}

# nginx_prefix: the private nginx prefix (its document root with the two
# files), made once.
nginx_prefix()
{
	local d=$TMPD/nginx

	[[ -d "$d/www" ]] && return 0
	mkdir -p "$d/www" "$d/tmp"
	head -c 1024 /dev/urandom >"$d/www/small.bin"
	head -c 1048576 /dev/urandom >"$d/www/large.bin"
	chmod -R a+rX "$d"
}

# nginx_conf PORT [WORKERS]: write the configuration listening on
# IP_A:PORT, one process (without WORKERS) or a master with WORKERS worker
# processes (daemon off); print its path.
nginx_conf()
{
	local port=$1 d=$TMPD/nginx conf master=off workers=1

	if [[ -n "${2:-}" ]]; then
		master=on
		workers=$2
	fi
	conf=$d/nginx-$port.conf
	nginx_conf_write "$conf" "$d" "$master" off "$workers" \
		"$d/nginx-$port.pid" "stderr warn" "$IP_A:$port"
	echo "$conf"
}

# server_cmd MODE PORT: set SERVER_CMD to MODE's server on IP_A:PORT.
server_cmd()
{
	local mode=$1 port=$2

	case $mode in
	memcached_t1 | memcached_t4)
		SERVER_CMD=(memcached -u root -t "${mode#memcached_t}" -p "$port"
			-U 0 -c 1024 -m 64 -l "$IP_A")
		;;
	redis)
		mkdir -p "$TMPD/redis"
		SERVER_CMD=(redis-server --port "$port" --bind "$IP_A"
			--save "" --appendonly no --daemonize no
			--protected-mode no --dir "$TMPD/redis" --logfile "")
		;;
	nginx | nginx_q2)
		nginx_prefix
		SERVER_CMD=(nginx -p "$TMPD/nginx" -e stderr
			-c "$(nginx_conf "$port")")
		;;
	nginx_w2 | nginx_w2q2)
		nginx_prefix
		SERVER_CMD=(nginx -p "$TMPD/nginx" -e stderr
			-c "$(nginx_conf "$port" 2)")
		;;
	esac
}

# client_cmd MODE LOAD PORT: set CLIENT_CMD to the load generator of MODE
# with LOAD (c2 or c32: the number of connections) against IP_A:PORT,
# CLIENT_LIMIT to the seconds it may take and CLIENT_REQUESTS to the
# number of requests it makes when that is fixed (else empty).
client_cmd()
{
	local mode=$1 conns=${2#c} port=$3 n rate

	CLIENT_LIMIT=$((SECS + CLIENT_SLACK))
	CLIENT_REQUESTS=
	case $mode in
	memcached_*)
		CLIENT_CMD=(memcaslap -s "$IP_A:$port" -T 2 -c "$conns"
			-t "${SECS}s")
		;;
	redis)
		rate=$REDIS_RATE_C2
		((conns == 2)) || rate=$REDIS_RATE_C32
		n=$((rate * SECS))
		CLIENT_REQUESTS=$n
		# A fixed number of requests: a slow server takes longer.
		CLIENT_LIMIT=$((10 * SECS + CLIENT_SLACK))
		CLIENT_CMD=(redis-benchmark -h "$IP_A" -p "$port" -t get
			-n "$n" -c "$conns" -q)
		;;
	nginx | nginx_q2 | nginx_w2 | nginx_w2q2)
		CLIENT_CMD=(wrk -t 2 -c "$conns" -d "${SECS}s"
			"http://$IP_A:$port/small.bin")
		;;
	esac
}

# parse_metric MODE FILE: print the number the load generator of MODE
# wrote to FILE (empty when there is none).
parse_metric()
{
	case $1 in
	memcached_*)
		sed -n 's/^Run time:.* TPS: \([0-9][0-9]*\).*/\1/p' "$2" |
			tail -n 1
		;;
	redis)
		# redis-benchmark rewrites its line with carriage returns.
		tr '\r' '\n' <"$2" |
			sed -n 's/^GET: \([0-9.][0-9.]*\) requests per second.*/\1/p' |
			tail -n 1
		;;
	nginx | nginx_q2 | nginx_w2 | nginx_w2q2)
		sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.][0-9.]*\).*/\1/p' "$2" |
			tail -n 1
		;;
	esac
}

# port_listening PORT: true if a TCP socket listens on PORT in namespace A.
port_listening()
{
	ns_a ss -Htln "sport = :$1" | grep -q .
}

# wait_listen TAG PORT: wait (10 s at most) until the server TAG listens
# on PORT; false if it does not or has exited.
wait_listen()
{
	local tag=$1 port=$2 i

	for ((i = 0; i < 100; i++)); do
		port_listening "$port" && return 0
		kill -0 "${BG_PID[$tag]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# wait_port_free PORT: wait (10 s at most) until no TCP socket of
# namespace A uses PORT any more (but those in TIME-WAIT, which a kernel
# server that closed its connections keeps for a minute).
wait_port_free()
{
	local port=$1 i

	for ((i = 0; i < 100; i++)); do
		ns_a ss -Htan exclude time-wait "sport = :$port" | grep -q . ||
			return 0
		sleep 0.1
	done
	echo "servers: port $port still in use after 10 s" >&2
}

# stop_server TAG: TERM the server TAG, wait for it (10 s at most, then
# KILL); BG_RC is its exit status.
stop_server()
{
	kill -TERM "${BG_PID[$1]}" 2>/dev/null || true
	bg_wait "$1" 10
}

# xdp_off: take any XDP program an anyload run left off IF_A.
xdp_off()
{
	ip -n "$NS_A" link set dev "$IF_A" xdp off 2>/dev/null || true
	ip -n "$NS_A" link set dev "$IF_A" xdpgeneric off 2>/dev/null || true
}

# server_pid TAG: the pid of the server that TAG runs (the child of its
# timeout; taskset, env and anyload exec it).
server_pid()
{
	pgrep -P "${BG_PID[$1]}" | head -n 1 || true
}

# thread_switches PID: one line per thread of PID: its id, its name and
# its voluntary context switches so far (the main thread's name gets
# "(main)").
thread_switches()
{
	local pid=$1 t tid name n

	for t in /proc/"$pid"/task/*; do
		tid=${t##*/}
		name=$(cat "$t/comm" 2>/dev/null) || continue
		n=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' \
			"$t/status" 2>/dev/null) || continue
		[[ "$tid" == "$pid" ]] && name+="(main)"
		echo "$tid $name ${n:-0}"
	done
}

# switches_per_request BEFORE AFTER REQUESTS: from two thread_switches
# snapshots, the total voluntary context switches per request and those
# of each thread with at least 0.01 per request, busiest first.
switches_per_request()
{
	awk -v req="$3" '
		FNR == NR { before[$1] = $3; next }
		{ d = $3 - before[$1]; tot += d; name[$1] = $2; delta[$1] = d }
		END {
			printf "total %.2f", tot / req
			n = 0
			for (t in delta)
				if (delta[t] / req >= 0.01) order[++n] = t
			for (i = 1; i <= n; i++)
				for (j = i + 1; j <= n; j++)
					if (delta[order[j]] > delta[order[i]]) {
						x = order[i]; order[i] = order[j]; order[j] = x
					}
			for (i = 1; i <= n; i++)
				printf "%s %s %.2f", i == 1 ? ";" : ",", name[order[i]],
					delta[order[i]] / req
			printf "\n"
		}' "$1" "$2"
}

# parse_requests MODE FILE: the number of requests the load generator of
# MODE made, from its output FILE (redis-benchmark: its -n).
parse_requests()
{
	case $1 in
	memcached_*)
		sed -n 's/^Run time:.* Ops: \([0-9][0-9]*\).*/\1/p' "$2" |
			tail -n 1
		;;
	redis)
		echo "$CLIENT_REQUESTS"
		;;
	nginx | nginx_q2 | nginx_w2 | nginx_w2q2)
		sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$2" |
			tail -n 1
		;;
	esac
}

# accel_summary FILE: print the socket summary line that anyload wrote to
# FILE at exit with the most bytes received through the stack (the last
# of equals; several processes write one each: nginx's master and
# workers); empty when there is none.
accel_summary()
{
	local line best= best_rx=-1 rx

	while read -r line; do
		rx=$(field "$line" tcp_rx_bytes) || continue
		if ((rx >= best_rx)); then
			best=$line
			best_rx=$rx
		fi
	done < <(grep -E 'anyload\[[0-9]+\]: sockets: ' "$1" 2>/dev/null || true)
	echo "$best"
}

# accelerated LINE: true if the summary LINE shows an accelerated TCP
# socket that received bytes through the stack.
accelerated()
{
	local n rx

	n=$(field "$1" tcp_accelerated) || return 1
	rx=$(field "$1" tcp_rx_bytes) || return 1
	((n >= 1 && rx > 0))
}

# wait_worker_stacks N MASTER: wait (at most 5 s) until N stacks on IF_A
# of processes other than MASTER are published and none of MASTER: the
# workers have taken the listener into their stacks. A client that came
# before would be queued in the master's stack, which then keeps the
# queue (README, "Pre-forking servers"). 1 if they did not.
wait_worker_stacks()
{
	local want=$1 master=$2 i counts

	for ((i = 0; i < 50; i++)); do
		counts=$("$BUILD/bin/anyload_stackdump" list 2>/dev/null |
			awk -v ifa="$IF_A" -v m="$master" '
				$3 == ifa { if ($2 == m) mm++; else w++ }
				END { print w + 0, mm + 0 }')
		[[ "$counts" == "$want 0" ]] && return 0
		sleep 0.1
	done
	echo "servers: worker stacks on $IF_A: want $want and none of the master, got (workers, master) $counts" >&2
	return 1
}

# run_once MODE LOAD VARIANT: one run of MODE's server (VARIANT kernel or
# anyload) under LOAD on a fresh port. Sets RUN_VALUE (the metric, or
# empty), RUN_NOTE (why there is none) and RUN_SWITCHES (the server's
# voluntary context switches per request, or empty).
run_once()
{
	local mode=$1 load=$2 variant=$3 port tag=srv prefix=() out summary
	local rc=0 alive=1 pid requests

	port=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
	RUN_VALUE=
	RUN_NOTE=
	RUN_SWITCHES=
	out=$TMPD/client-$mode-$load-$variant-$port.out
	server_cmd "$mode" "$port"
	client_cmd "$mode" "$load" "$port"
	if [[ "$variant" == anyload ]]; then
		prefix=(env ANYLOAD_STATS_AT_EXIT=1 "$AL" --profile=throughput
			--interface="$IF_A")
	fi
	bg_start "$tag" "$NS_A" timeout --kill-after=5 "$SERVER_LIMIT" \
		taskset -c "$CPU_SERVER" "${prefix[@]}" "${SERVER_CMD[@]}"
	if ! wait_listen "$tag" "$port"; then
		RUN_NOTE="server did not start"
		stop_server "$tag"
		echo "servers: $mode $variant: server did not start:" >&2
		tail -n 5 "$TMPD/$tag.err" "$TMPD/$tag.out" >&2 || true
		[[ "$variant" == kernel ]] || xdp_off
		return 0
	fi
	pid=$(server_pid "$tag")
	if [[ "$variant" == anyload && "$mode" == nginx_w2* && -n "$pid" ]]; then
		wait_worker_stacks "$PAIR_QUEUES" "$pid" || true
	fi
	[[ -z "$pid" ]] || thread_switches "$pid" >"$TMPD/switches.before"
	timeout --kill-after=5 "$CLIENT_LIMIT" \
		ip netns exec "$NS_B" taskset -c "$CPU_CLIENT" \
		"${CLIENT_CMD[@]}" >"$out" 2>&1 || rc=$?
	kill -0 "${BG_PID[$tag]}" 2>/dev/null || alive=0
	[[ -z "$pid" ]] || thread_switches "$pid" >"$TMPD/switches.after"
	stop_server "$tag"
	wait_port_free "$port"
	if [[ "$variant" == anyload ]]; then
		xdp_off
		summary=$(accel_summary "$TMPD/$tag.err")
	fi
	if ((alive == 0)); then
		RUN_NOTE="server died"
	elif ((rc == 124 || rc == 137)); then
		RUN_NOTE="timed out after $CLIENT_LIMIT s"
	elif ((rc != 0)); then
		RUN_NOTE="client failed, exit $rc"
	elif [[ "$mode" == nginx* ]] &&
		grep -qE 'Socket errors|Non-2xx' "$out"; then
		RUN_NOTE="HTTP or socket errors"
	elif [[ "$variant" == anyload ]] && ! accelerated "$summary"; then
		RUN_NOTE="not accelerated"
	else
		RUN_VALUE=$(parse_metric "$mode" "$out")
		[[ -n "$RUN_VALUE" ]] || RUN_NOTE="no number"
	fi
	requests=$(parse_requests "$mode" "$out")
	if [[ -n "$pid" && "$requests" =~ ^[1-9][0-9]*$ ]]; then
		RUN_SWITCHES=$(switches_per_request "$TMPD/switches.before" \
			"$TMPD/switches.after" "$requests")
	fi
	if [[ -n "$RUN_NOTE" ]]; then
		echo "servers: $mode $load $variant: $RUN_NOTE; last lines:" >&2
		tail -n 5 "$out" "$TMPD/$tag.err" >&2 || true
	else
		echo "servers: $mode $load $variant: $RUN_VALUE${summary:+ (${summary#*sockets: })}" >&2
	fi
}

# fmt_num X: X rounded to an integer.
fmt_num()
{
	awk -v x="$1" 'BEGIN { printf "%.0f", x }'
}

# median X...: the median of the numbers (the mean of the middle two for
# an even count); prints nothing for none.
median()
{
	(($#)) || return 0
	printf '%s\n' "$@" | sort -g |
		awk '{ v[NR] = $1 }
		END { if (NR % 2) m = v[(NR + 1) / 2]
		      else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%.6f\n", m }'
}

# run_pair MODE LOAD: ROUNDS rounds of a kernel run then an anyload run;
# records the numbers of the pair MODE/LOAD.
run_pair()
{
	local mode=$1 load=$2 key=$1/$2 r kv av

	K_VALS[$key]=
	A_VALS[$key]=
	K_CELLS[$key]=
	A_CELLS[$key]=
	RATIOS[$key]=
	for ((r = 1; r <= ROUNDS; r++)); do
		echo "servers: $mode $load round $r/$ROUNDS" >&2
		run_once "$mode" "$load" kernel
		kv=$RUN_VALUE
		K_SWITCHES[$key]=$RUN_SWITCHES
		if [[ -n "$kv" ]]; then
			K_VALS[$key]+=" $kv"
			K_CELLS[$key]+=" $(fmt_num "$kv")"
		else
			KERNEL_FAILED=1
			K_CELLS[$key]+=" ($RUN_NOTE)"
		fi
		run_once "$mode" "$load" anyload
		av=$RUN_VALUE
		A_SWITCHES[$key]=$RUN_SWITCHES
		if [[ -n "$av" ]]; then
			A_VALS[$key]+=" $av"
			A_CELLS[$key]+=" $(fmt_num "$av")"
		else
			A_CELLS[$key]+=" ($RUN_NOTE)"
			[[ -n "${A_NOTE[$key]:-}" ]] || A_NOTE[$key]=$RUN_NOTE
		fi
		if [[ -n "$kv" && -n "$av" ]]; then
			RATIOS[$key]+=" $(awk -v a="$av" -v k="$kv" \
				'BEGIN { printf "%.6f", a / k }')"
		fi
	done
}

# table_row MODE LOAD: print the table's row of the pair.
table_row()
{
	local mode=$1 load=$2 key=$1/$2 km am rm what
	local -a kv av rv

	what="${MODE_LABEL[$mode]} | ${load#c} | ${METRIC_LABEL[$mode]}"
	if [[ -n "${MISSING[$mode]:-}" ]]; then
		echo "| $what | n/a (${MISSING[$mode]} not installed) | n/a | n/a | - | - |"
		return 0
	fi
	read -r -a kv <<<"${K_VALS[$key]}"
	read -r -a av <<<"${A_VALS[$key]}"
	read -r -a rv <<<"${RATIOS[$key]}"
	km=$(median "${kv[@]}")
	am=$(median "${av[@]}")
	rm=$(median "${rv[@]}")
	km=${km:+$(fmt_num "$km")}
	am=${am:+$(fmt_num "$am")}
	rm=${rm:+$(awk -v x="$rm" 'BEGIN { printf "%.2f", x }')}
	echo "| $what | ${km:-n/a (kernel failed)} | ${am:-${A_NOTE[$key]:-n/a}} | ${rm:-n/a} | ${K_CELLS[$key]# } | ${A_CELLS[$key]# } |"
}

# shown CMD...: CMD as a shell would take it, the temporary directory
# written $TMP.
shown()
{
	local line

	line=$(printf '%q ' "$@")
	line=${line% }
	echo "${line//"$TMPD"/\$TMP}"
}

# commands_line MODE: the exact server and client commands of MODE (PORT
# stands for the port, fresh in every run).
commands_line()
{
	local mode=$1 srv c2 c32

	server_cmd "$mode" PORT
	srv=$(shown taskset -c "$CPU_SERVER" "${SERVER_CMD[@]}")
	client_cmd "$mode" c2 PORT
	c2=$(shown taskset -c "$CPU_CLIENT" "${CLIENT_CMD[@]}")
	client_cmd "$mode" c32 PORT
	c32=$(shown taskset -c "$CPU_CLIENT" "${CLIENT_CMD[@]}")
	echo "- ${MODE_LABEL[$mode]}: server (netns A): \`$srv\`; clients (netns B): \`$c2\` and \`$c32\`"
}

# write_report: the Markdown report, on stdout and in RESULTS_DIR.
write_report()
{
	local date stamp cpu command file mode load elapsed

	date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
	stamp=$(date -u '+%Y-%m-%d-%H%M%S')
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	command="BENCH_SRV_SECS=$SECS BENCH_SRV_ROUNDS=$ROUNDS"
	[[ "${MODES[*]}" == "${ALL_MODES[*]}" ]] ||
		command+=" BENCH_SRV_MODES=\"${MODES[*]}\""
	command+=" BENCH_RESULTS_DIR=$RESULTS_DIR bash bench/servers.sh $BUILD_ARG"
	elapsed=$(($(date +%s) - START_TIME))
	mkdir -p "$RESULTS_DIR"
	file=$RESULTS_DIR/servers-$stamp.md
	{
		echo "# anyload: request/response servers, kernel and anyload"
		echo
		echo "- date: $date (run time $elapsed s)"
		echo "- kernel: $(uname -r) ($(uname -m)), $(nproc) CPUs: ${cpu:-unknown}"
		echo "- command: \`$command\`"
		echo "- network: veth pair between two network namespaces ($IP_A ↔ $IP_B), TX checksum offload off"
		echo "- pinning: server in namespace A on CPU $CPU_SERVER, load generator in namespace B on CPU $CPU_CLIENT"
		echo "- rounds per pair: $ROUNDS (each the kernel run, then the anyload run); load per run: $SECS s (redis-benchmark: a fixed number of requests); every run a fresh server on a fresh port"
		echo
		echo "| server | connections | metric | kernel (median) | anyload (median) | ratio anyload/kernel (median of rounds) | kernel, each round | anyload, each round |"
		echo "|---|---:|---|---:|---:|---:|---|---|"
		for mode in "${MODES[@]}"; do
			for load in "${LOADS[@]}"; do
				table_row "$mode" "$load"
			done
		done
		echo
		echo "Higher is better for every metric; a ratio above 1 means anyload is faster. The anyload run puts only the server under \`env ANYLOAD_STATS_AT_EXIT=1 $BUILD_ARG/bin/anyload --profile=throughput --interface=IF_A\`; its number counts only when the server's socket summary at exit shows tcp_accelerated >= 1 and tcp_rx_bytes > 0. Commands (PORT: fresh in every run; \$TMP: the run's temporary directory):"
		echo
		for mode in "${MODES[@]}"; do
			commands_line "$mode"
		done
		echo "- nginx's configuration: master_process off; daemon off; worker_processes 1 (nginx, 2 workers: master_process on, worker_processes 2, user nobody); error_log stderr warn; access_log off; sendfile on; tcp_nopush on; keepalive_timeout 30; worker_connections 1024; a root with small.bin (1 KiB) and large.bin (1 MiB)"
		echo
		echo "The server's voluntary context switches per request during the load of the last round (/proc/PID/task/*/status, before and after the load generator; requests as the load generator counted them), in total and for each thread with at least 0.01:"
		echo
		for mode in "${MODES[@]}"; do
			[[ -z "${MISSING[$mode]:-}" ]] || continue
			for load in "${LOADS[@]}"; do
				echo "- ${MODE_LABEL[$mode]}, ${load#c} connections, kernel: ${K_SWITCHES[$mode/$load]:-n/a}"
				echo "- ${MODE_LABEL[$mode]}, ${load#c} connections, anyload: ${A_SWITCHES[$mode/$load]:-n/a}"
			done
		done
	} >"$TMPD/report.md"
	cp "$TMPD/report.md" "$file"
	cat "$TMPD/report.md"
	echo "servers: report written to $file" >&2
}

PAIR_QUEUES=1
for mode in "${MODES[@]}"; do
	MISSING[$mode]=$(mode_missing "$mode")
	if [[ -n "${MISSING[$mode]}" ]]; then
		echo "servers: $mode: n/a (${MISSING[$mode]} not installed)" >&2
		continue
	fi
	# A mode on another number of queues gets a fresh pair (the trap
	# removes every pair made).
	q=1
	[[ "$mode" != nginx_w2q2 && "$mode" != nginx_q2 ]] || q=2
	if ((q != PAIR_QUEUES)); then
		NS_QUEUES=$q ns_setup_pair
		PAIR_QUEUES=$q
	fi
	for load in "${LOADS[@]}"; do
		run_pair "$mode" "$load"
	done
done
write_report
if ((KERNEL_FAILED)); then
	echo "servers: a kernel run failed or gave no number" >&2
	exit 1
fi
