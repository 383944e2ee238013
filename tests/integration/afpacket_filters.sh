#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# afpacket_filters: on the AF_PACKET backend a filter means what it means
# on AF_XDP: the claimed flow reaches the VI and not the kernel, the rest
# reaches the kernel and not the VI. A VI (progs/vi_recv,
# ANYLOAD_BACKEND=afpacket) in NS_B claims UDP port P and TCP port T of
# IP_B, where NS_B's kernel has no socket. Checks, with the kernel's own
# counters (/proc/net/snmp of each namespace):
#  - the VI gets exactly the N datagrams to P; NS_B's UDP never sees them
#    (Udp NoPorts unchanged), so it sends no ICMP port unreachable
#    (NS_B Icmp OutDestUnreachs and NS_A Icmp InDestUnreachs unchanged);
#  - a TCP connect to T gets no RST (NS_B Tcp OutRsts unchanged, the
#    connect times out instead of being refused) and its SYN reaches the
#    VI;
#  - the M datagrams to Q reach a kernel socket and not the VI; ARP works
#    through NS_B's kernel (neighbour tables flushed first) and the VI
#    gets no ARP frame;
#  - a VLAN-tagged frame (the stack takes the tag out before packet
#    sockets and tc see it) is matched by its inner EtherType and reaches
#    the VI with its tag back in place;
#  - a frame larger than the ring's frames (the MTU raised after the VI
#    was made) reaches the VI whole, from the socket queue, over three
#    posted buffers, its checksums good;
#  - after ef_vi_filter_del the datagrams to P are the kernel's again:
#    NoPorts grows by their number and NS_A gets port unreachables;
#  - when the VI exits, no anyload tc program is left on the interface.
# Runs in the kernel's default tc mode (tcx on Linux >= 6.6), or in the
# one ANYLOAD_AFPACKET_TC names (afpacket_clsact.sh runs it in clsact).
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/afpacket_test.sh"

itest_init
itest_build vi_recv
afp_init
ns_setup_pair
export ANYLOAD_BACKEND=afpacket

P=9600		# claimed UDP port, no kernel socket
T=9601		# claimed TCP port, no kernel listener
Q=9602		# kernel UDP port
N=40
M=30
UDPTOOL=$REPO/tests/integration/progs/udptool.py

# snmp NS PROTO FIELD: a counter of /proc/net/snmp in namespace NS.
snmp()
{
	ip netns exec "$1" awk -v p="$2:" -v f="$3" '
		$1 == p && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == p && h { print $col[f]; exit }' /proc/net/snmp
}

flush_neigh()
{
	ip -n "$NS_A" neigh flush dev "$IF_A"
	ip -n "$NS_B" neigh flush dev "$IF_B"
}

bg_start kq "$NS_B" python3 "$UDPTOOL" recv --bind "$IP_B" --port $Q --secs 60
bg_wait_line kq '^READY' 10 || fail "kernel receiver on $Q did not start"
bg_start vi "$NS_B" env ANYLOAD_LOG=2 "$PROGS/vi_recv" -t 60 "$IF_B"
bg_wait_line vi '^READY' 10 ||
	fail "vi_recv did not start: $(cat "$TMPD/vi.out" "$TMPD/vi.err")"
grep -q 'AF_PACKET TPACKET_V2' "$TMPD/vi.err" ||
	fail "the VI is not on AF_PACKET: $(cat "$TMPD/vi.err")"
afp_expect_claims "anyload tc programs on $IF_B with one VI" "$NS_B" "$IF_B" 1
bg_cmd vi "add 0 udp:$IP_B:$P"
expect_eq "filter_add udp:$IP_B:$P" "$(field "$BG_REPLY" rc)" 0
FID=$(field "$BG_REPLY" id)
bg_cmd vi "add 0 tcp:$IP_B:$T"
expect_eq "filter_add tcp:$IP_B:$T" "$(field "$BG_REPLY" rc)" 0

noports0=$(snmp "$NS_B" Udp NoPorts)
icmp_out0=$(snmp "$NS_B" Icmp OutDestUnreachs)
icmp_in0=$(snmp "$NS_A" Icmp InDestUnreachs)
rsts0=$(snmp "$NS_B" Tcp OutRsts)

log "claimed: $N datagrams to $P, a TCP connect to $T; kernel: $M to $Q"
flush_neigh
ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $P --count $N --tag P1
ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $Q --count $M --tag Q1
conn=$(ns_a python3 -c "
import socket
s = socket.socket()
s.settimeout(1.0)
try:
    s.connect(('$IP_B', $T))
    print('CONNECTED')
except socket.timeout:
    print('TIMEOUT')
except ConnectionRefusedError:
    print('REFUSED')
")
wait_count "$TMPD/vi.out" "^RX vi=0 .* proto=17 .* dport=$P " $N 10 ||
	fail "VI got $(count_lines "$TMPD/vi.out" "dport=$P ") of $N datagrams"
wait_count "$TMPD/kq.out" '^GOT Q1-' $M 10 ||
	fail "kernel socket on $Q got $(count_lines "$TMPD/kq.out" '^GOT') of $M"
sleep 0.3

expect_eq "UDP datagrams at the VI" \
	"$(count_lines "$TMPD/vi.out" "^RX vi=0 .* proto=17 .* dport=$P ")" $N
expect_eq "VI payloads (each of P1-000000..P1-$((N - 1)) once)" \
	"$(grep -o 'payload=P1-[0-9]*' "$TMPD/vi.out" | sort -u | wc -l)" $N
expect_eq "checksums of the VI's datagrams" \
	"$(grep "dport=$P " "$TMPD/vi.out" | grep -vc ' csum=1 ' || true)" 0
expect_eq "NS_B Udp NoPorts while claimed" "$(snmp "$NS_B" Udp NoPorts)" \
	"$noports0"
expect_eq "NS_B Icmp OutDestUnreachs while claimed" \
	"$(snmp "$NS_B" Icmp OutDestUnreachs)" "$icmp_out0"
expect_eq "NS_A Icmp InDestUnreachs while claimed" \
	"$(snmp "$NS_A" Icmp InDestUnreachs)" "$icmp_in0"
expect_eq "TCP connect to the claimed port" "$conn" TIMEOUT
expect_eq "NS_B Tcp OutRsts while claimed" "$(snmp "$NS_B" Tcp OutRsts)" \
	"$rsts0"
(($(count_lines "$TMPD/vi.out" "^RX vi=0 .* proto=6 .* dport=$T ") >= 1)) ||
	fail "the TCP SYN to $T did not reach the VI"
log "ok: the SYN reached the VI"
expect_eq "kernel datagrams on $Q" "$(count_lines "$TMPD/kq.out" '^GOT Q1-')" $M
expect_eq "VI frames to $Q" "$(count_lines "$TMPD/vi.out" "dport=$Q ")" 0
expect_eq "ARP frames at the VI" "$(count_lines "$TMPD/vi.out" 'type=0x0806')" 0
expect_eq "discard/no-desc events" \
	"$(count_lines "$TMPD/vi.out" '^(DISCARD|NODESC|RXPART)')" 0
lladdr=$(ip -n "$NS_A" neigh show "$IP_B" dev "$IF_A" |
	sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')
expect_eq "NS_A resolved $IP_B by ARP through NS_B's kernel" "$lladdr" "$MAC_B"

log "VLAN-tagged frames"
bg_cmd vi "add 0 ethertype:0x88b5"
expect_eq "filter_add ethertype:0x88b5" "$(field "$BG_REPLY" rc)" 0
ns_a python3 -c "
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('$IF_A', 0))
mac = lambda m: bytes(int(x, 16) for x in m.split(':'))
for i in range(5):
    f = mac('$MAC_B') + mac('$MAC_A') + struct.pack('!HHH', 0x8100, 5, 0x88b5)
    s.send(f + b'V-%06d' % i + b'.' * 40)
"
VLAN_RE='^RX vi=0 .* type=0x8100 payload=hex:000588b5'
if ! wait_count "$TMPD/vi.out" "$VLAN_RE" 5 5; then
	fail "VLAN frames at the VI: $(count_lines "$TMPD/vi.out" "$VLAN_RE")" \
		"of 5; $(grep 'type=0x8' "$TMPD/vi.out" | head -2)"
fi
log "ok: 5 VLAN frames at the VI, tag 0x8100/5 in place"

log "a frame larger than a ring frame (MTU raised after the VI was made)"
PB=9603
bg_cmd vi "add 0 udp:$IP_B:$PB"
expect_eq "filter_add udp:$IP_B:$PB" "$(field "$BG_REPLY" rc)" 0
ip -n "$NS_A" link set dev "$IF_A" mtu 9000
ip -n "$NS_B" link set dev "$IF_B" mtu 9000
ns_a python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'J' * 4000, ('$IP_B', $PB))
"
# 4042 bytes in buffers of 1984: three RX events, the first with SOP; the
# last (no CONT) says the whole length (RX_BYTES counts the frame so far).
wait_count "$TMPD/vi.out" '^RXPART ' 3 5 ||
	fail "big frame: $(grep -c '^RXPART' "$TMPD/vi.out" || true) of 3 parts"
expect_eq "big frame: parts" "$(count_lines "$TMPD/vi.out" '^RXPART ')" 3
expect_eq "big frame: its last part" \
	"$(grep '^RXPART ' "$TMPD/vi.out" | tail -n 1)" \
	"RXPART vi=0 len=4042 sop=0 cont=0"
# The first part starts the IPv4 header: total length 4028 (0x0fbc).
expect_eq "big frame: first part" \
	"$(grep -c '^RX vi=0 .* len=1984 .* type=0x0800 payload=hex:45000fbc' \
		"$TMPD/vi.out")" 1
# Checked whole (IPv4 and UDP checksums): a bad one would be a DISCARD.
expect_eq "big frame: discards" "$(count_lines "$TMPD/vi.out" '^DISCARD')" 0
expect_eq "NS_B Udp NoPorts after the big frame" \
	"$(snmp "$NS_B" Udp NoPorts)" "$noports0"
ip -n "$NS_A" link set dev "$IF_A" mtu 1500
ip -n "$NS_B" link set dev "$IF_B" mtu 1500

log "filter_del: $N datagrams to $P go to NS_B's kernel again"
bg_cmd vi "del $FID"
expect_eq "filter_del" "$(field "$BG_REPLY" rc)" 0
ns_a python3 "$UDPTOOL" send --dst "$IP_B" --port $P --count $N --tag P2
sleep 0.3
expect_eq "NS_B Udp NoPorts after filter_del" "$(snmp "$NS_B" Udp NoPorts)" \
	$((noports0 + N))
(($(snmp "$NS_A" Icmp InDestUnreachs) > icmp_in0)) ||
	fail "NS_A got no port unreachable after filter_del"
log "ok: NS_A got port unreachables again"
expect_eq "VI datagrams after filter_del" \
	"$(count_lines "$TMPD/vi.out" 'payload=P2-')" 0

bg_stop vi
expect_eq "vi_recv exit status" "$BG_RC" 0
afp_expect_claims "anyload tc programs on $IF_B after the VI exited" \
	"$NS_B" "$IF_B" 0
bg_stop kq
echo "afpacket_filters: PASS"
