# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# netns.sh: the test network of anyload's integration tests and benchmarks
# (DESIGN.md "Test network"), in the style of xdp-tools' test_runner.sh.
# Source it from a bash script; it runs nothing by itself.
#
#   ns_setup_pair         two fresh network namespaces joined by one veth
#                         pair, addressed in 198.18.0.0/15, no default route;
#                         installs ns_cleanup on EXIT (chaining an existing
#                         EXIT trap) and turns INT/TERM/HUP into an exit, so
#                         the clean-up also runs when a timeout kills the test
#   ns_cleanup            kills what runs in those namespaces and deletes
#                         them (the veth goes with them); idempotent
#   ns_cleanup_stale      deletes namespaces left by an earlier run that
#                         was killed (only names of our pattern whose owner
#                         process is gone)
#   ns_a CMD... / ns_b CMD...   run a command in namespace A / B
#   ns_kill_procs NS      stop every process still running in namespace NS
#   skip "reason"         exit 77 (skipped), the reason as the last line
#   fail "reason"         exit 1 with the reason on stderr
#   require_root, require_cmd CMD...   skip when not met
#
# After ns_setup_pair these are exported: NS_A NS_B (namespace names),
# IF_A IF_B (veth ends, IF_A in NS_A), IP_A IP_B (addresses without prefix
# length), MAC_A MAC_B, NS_PREFIX_LEN.
#
# Settings (environment, read by ns_setup_pair):
#   NS_IP_A, NS_IP_B   addresses (default 198.18.0.1 and 198.18.0.2); both
#                      must be inside 198.18.0.0/15
#   NS_PREFIX_LEN      prefix length (default 24)
#   NS_QUEUES          if set, the veth gets this many TX and RX queues
#   NS_MTU             if set, the MTU of both ends
#   NS_IPV6=1          keep IPv6 on the veth (default: disabled, so that no
#                      router or listener solicitations disturb the tests)
#
# Names: every namespace and link is "al" + the creating shell's PID
# zero-padded to 7 digits + 4 random digits + "a" or "b" (14 characters,
# within IFNAMSIZ). The veth ends are created directly inside the
# namespaces, so nothing is ever added to the caller's namespace, and
# deleting the namespaces removes everything (including XDP programs that
# were left attached to the veth).

if [[ -n "${NS__SOURCED:-}" ]]; then
	return 0
fi
NS__SOURCED=1

# The exact pattern of our namespace names; nothing else is ever deleted.
NS_NAME_RE='^al[0-9]{11}[ab]$'

# Namespaces created by this shell, deleted by ns_cleanup.
NS__CREATED=()
NS__TRAP_SET=

skip()
{
	echo "${*:-skipped}"
	exit 77
}

fail()
{
	echo "FAIL: ${*:-failed}" >&2
	exit 1
}

require_root()
{
	if [[ $(id -u) -ne 0 ]]; then
		skip "needs root (network namespaces)"
	fi
}

require_cmd()
{
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "missing command: $c"
	done
}

ns_a()
{
	ip netns exec "$NS_A" "$@"
}

ns_b()
{
	ip netns exec "$NS_B" "$@"
}

# ns__in_bench_range ADDR: true if ADDR is an IPv4 address in 198.18.0.0/15.
ns__in_bench_range()
{
	local a=$1 o1 o2 o3 o4 rest

	IFS=. read -r o1 o2 o3 o4 rest <<<"$a"
	[[ -z "$rest" && "$o1" == 198 && ("$o2" == 18 || "$o2" == 19) ]] ||
		return 1
	[[ "$o3" =~ ^[0-9]{1,3}$ && "$o4" =~ ^[0-9]{1,3}$ ]] || return 1
	((o3 <= 255 && o4 <= 255))
}

# ns_kill_procs NS: stop the processes that still run inside namespace
# NS (all of them were started by the test that owns NS, and are stopped
# by their PIDs): TERM, a bounded wait of 1 s, then KILL.
ns_kill_procs()
{
	local ns=$1 pids i

	pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
	[[ -n "$pids" ]] || return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
		[[ -n "$pids" ]] || return 0
		sleep 0.05
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
}

# ns__del NS: delete one namespace of ours.
ns__del()
{
	local ns=$1

	[[ "$ns" =~ $NS_NAME_RE ]] || return 0
	ns_kill_procs "$ns"
	ip netns del "$ns" 2>/dev/null || true
}

ns_cleanup()
{
	local ns

	for ns in "${NS__CREATED[@]}"; do
		ns__del "$ns"
	done
	NS__CREATED=()
}

ns_cleanup_stale()
{
	local ns pid

	while read -r ns _; do
		[[ "$ns" =~ $NS_NAME_RE ]] || continue
		pid=$((10#${ns:2:7}))
		# A live owner (or a process that reused its PID) keeps them.
		if kill -0 "$pid" 2>/dev/null; then
			continue
		fi
		echo "netns: removing stale namespace $ns" >&2
		ns__del "$ns"
	done < <(ip netns list 2>/dev/null)
}

# ns__install_trap: run ns_cleanup on exit, before any EXIT trap that the
# caller had set. Signals become an exit so that the EXIT trap runs.
ns__install_trap()
{
	local prev=

	[[ -z "$NS__TRAP_SET" ]] || return 0
	NS__TRAP_SET=1
	# trap -p prints "trap -- 'cmd' EXIT", the command shell-quoted.
	prev=$(trap -p EXIT)
	prev=${prev#trap -- }
	prev=${prev% EXIT}
	if [[ -n "$prev" ]]; then
		eval "NS__PREV_TRAP=$prev"
	else
		NS__PREV_TRAP=
	fi
	trap 'ns_cleanup; eval "$NS__PREV_TRAP"' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ns__mac NS IF: print the MAC address of link IF in namespace NS.
ns__mac()
{
	ip -n "$1" -o link show dev "$2" |
		sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

ns_setup_pair()
{
	local id i ns dev qopt=() mtu=() up

	require_root
	require_cmd ip ethtool

	IP_A=${NS_IP_A:-198.18.0.1}
	IP_B=${NS_IP_B:-198.18.0.2}
	NS_PREFIX_LEN=${NS_PREFIX_LEN:-24}
	ns__in_bench_range "$IP_A" || fail "NS_IP_A=$IP_A not in 198.18.0.0/15"
	ns__in_bench_range "$IP_B" || fail "NS_IP_B=$IP_B not in 198.18.0.0/15"
	if ! [[ "$NS_PREFIX_LEN" =~ ^[0-9]+$ ]] ||
		((NS_PREFIX_LEN < 15 || NS_PREFIX_LEN > 30)); then
		fail "bad NS_PREFIX_LEN=$NS_PREFIX_LEN"
	fi
	if [[ -n "${NS_QUEUES:-}" ]]; then
		[[ "$NS_QUEUES" =~ ^[1-9][0-9]*$ ]] ||
			fail "bad NS_QUEUES=$NS_QUEUES"
		qopt=(numtxqueues "$NS_QUEUES" numrxqueues "$NS_QUEUES")
	fi
	if [[ -n "${NS_MTU:-}" ]]; then
		mtu=(mtu "$NS_MTU")
	fi

	ns__install_trap

	id=
	for ((i = 0; i < 10; i++)); do
		id=$(printf 'al%07d%04d' "$$" $((RANDOM % 10000)))
		if ! ip netns list | grep -Eq "^${id}[ab]( |\$)"; then
			break
		fi
		id=
	done
	[[ -n "$id" ]] || fail "no free namespace name"

	NS_A=${id}a
	NS_B=${id}b
	IF_A=${id}a
	IF_B=${id}b

	# Record each name before creating it so that a failure half-way
	# still gets cleaned up.
	NS__CREATED+=("$NS_A")
	ip netns add "$NS_A" || fail "ip netns add $NS_A"
	NS__CREATED+=("$NS_B")
	ip netns add "$NS_B" || fail "ip netns add $NS_B"

	ip link add name "$IF_A" "${qopt[@]}" "${mtu[@]}" netns "$NS_A" \
		type veth peer name "$IF_B" "${qopt[@]}" "${mtu[@]}" \
		netns "$NS_B" || fail "cannot create veth pair"

	for ns in "$NS_A" "$NS_B"; do
		if [[ "$ns" == "$NS_A" ]]; then
			dev=$IF_A
			ip -n "$ns" addr add "$IP_A/$NS_PREFIX_LEN" dev "$dev"
		else
			dev=$IF_B
			ip -n "$ns" addr add "$IP_B/$NS_PREFIX_LEN" dev "$dev"
		fi
		if [[ "${NS_IPV6:-0}" != 1 ]]; then
			ip netns exec "$ns" sysctl -qw \
				"net.ipv6.conf.$dev.disable_ipv6=1" \
				2>/dev/null || true
		fi
		ip -n "$ns" link set lo up || fail "lo up in $ns"
		ip -n "$ns" link set "$dev" up || fail "$dev up in $ns"
		# veth leaves TX checksums to the peer: without this, frames
		# reach XDP with unfinished UDP/TCP checksums (DESIGN.md).
		ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null ||
			fail "ethtool -K $dev tx off"
	done

	# Bounded wait for the carrier on both ends.
	for ((i = 0; i < 50; i++)); do
		up=0
		ip -n "$NS_A" -o link show dev "$IF_A" | grep -q LOWER_UP &&
			((up += 1))
		ip -n "$NS_B" -o link show dev "$IF_B" | grep -q LOWER_UP &&
			((up += 1))
		((up == 2)) && break
		sleep 0.1
	done
	((up == 2)) || fail "veth $IF_A/$IF_B did not come up"

	MAC_A=$(ns__mac "$NS_A" "$IF_A")
	MAC_B=$(ns__mac "$NS_B" "$IF_B")
	export NS_A NS_B IF_A IF_B IP_A IP_B MAC_A MAC_B NS_PREFIX_LEN
}
