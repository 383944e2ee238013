#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# observability: anyload_stackdump and anyload_tcpdump against running
# stacks in netns+veth. The stacks publish into a private directory
# (ANYLOAD_SHM_DIR), so stacks of other tests do not show. Checks:
#   1. no stack: a clear message and exit status 1;
#   2. progs/stack_echo on IF_A with an echo socket on 47000 and a socket
#      connected to IP_B:46001; the listing names it; its sockets show
#      with their addresses and states;
#   3. anyload_tcpdump -w while a kernel client in NS_B sends 5 datagrams
#      (payloads known) that the stack echoes: `tcpdump -r` and
#      `tshark -r` read exactly the 10 frames, in order, in and out, with
#      the addresses, ports and payloads sent; a second capture with a
#      filter expression (only NS_B's datagrams) prints one line per frame
#      for exactly the 3 frames that match; a frame with a wrong UDP
#      checksum, sent raw, is captured as it was before the stack drops it;
#   4. after 2 datagrams from the connected socket, the counters match
#      the traffic exactly (text and --json, which python3 -m json.tool
#      parses; per socket too); `counters --nonzero` shows the non-zero
#      counters only; the latency histogram has one sample per datagram
#      read, with ordered percentiles; `watch -n 2` prints two rounds and
#      stops;
#   5. a UDP program under `anyload` (transparent mode) publishes its
#      settings and its socket;
#   6. the stack killed with kill -9: listed as dead, its dump refused
#      with "stack 0 of pid P is dead (not cleaned up)" and its file
#      removed; another killed one is removed by `clean`; a stack that
#      quits removes its file itself; no stack left: exit status 1.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
require_cmd tcpdump tshark
SDUMP=$BUILD/bin/anyload_stackdump
TDUMP=$BUILD/bin/anyload_tcpdump
AL=$BUILD/bin/anyload
[[ -x "$SDUMP" && -x "$TDUMP" ]] || skip "tools not built ($SDUMP)"

itest_build_stack stack_echo

export ANYLOAD_SHM_DIR=$TMPD/shm
ns_setup_pair
UDPTOOL=$REPO/tests/integration/progs/udptool.py
PY=python3

# ---- 1. no stack -----------------------------------------------------------
rc=0
out=$("$SDUMP" 2>&1) || rc=$?
expect_eq "exit status without a stack" "$rc" 1
[[ "$out" == *"no stack found"* ]] || fail "no clear message: $out"
rc=0
out=$("$SDUMP" 12345 counters 2>&1) || rc=$?
expect_eq "exit status for an unknown pid" "$rc" 1
[[ "$out" == *"no stack 12345 found"* ]] || fail "unclear: $out"

# ---- 2. a stack and its sockets --------------------------------------------
bg_start st "$NS_A" "$PROGS/stack_echo" -t 100 "$IF_A"
bg_wait_line st '^READY' 10 ||
	fail "stack_echo did not start: $(cat "$TMPD/st.out" "$TMPD/st.err")"
PID=${BG_PID[st]}
bg_cmd st "open 47000"
SD_ECHO=$(field "$BG_REPLY" sd)
bg_cmd st "echo $SD_ECHO"
bg_cmd st "open 47001"
SD_CONN=$(field "$BG_REPLY" sd)
bg_cmd st "connect $SD_CONN $IP_B 46001"
expect_eq "connect" "$(field "$BG_REPLY" rc)" 0

# The stack publishes at its next poll: wait for both sockets to show.
for _ in $(seq 50); do
	"$SDUMP" "$PID" sockets 2>/dev/null | grep -q ":46001" && break
	sleep 0.1
done
out=$("$SDUMP")
log "$out"
echo "$out" | grep -E "^$PID\.0 +$PID +$IF_A +[a-z]+ +2 " >/dev/null ||
	fail "listing lacks the stack: $out"
out=$("$SDUMP" "$PID" sockets)
log "$out"
echo "$out" | grep -E "^ +$SD_ECHO +udp +BOUND +\*:47000 +\*:\* " \
	>/dev/null || fail "echo socket not shown: $out"
echo "$out" | grep -E "^ +$SD_CONN +udp +CONNECTED +$IP_A:47001 +$IP_B:46001 " \
	>/dev/null || fail "connected socket not shown: $out"
out=$("$SDUMP" "$PID" filters)
echo "$out" | grep -E "ip4_local +udp +\*:47000 +sockets=1" >/dev/null ||
	fail "filter of 47000 not shown: $out"

# ---- 3. capture of a known exchange ----------------------------------------
PCAP=$TMPD/echo.pcap
ip netns exec "$NS_A" timeout 30 "$TDUMP" -i "$IF_A" -w "$PCAP" -c 10 \
	2>"$TMPD/td1.err" &
TD=$!
for _ in $(seq 50); do
	grep -q "capturing stack $PID.0" "$TMPD/td1.err" && break
	sleep 0.1
done
grep -q "capturing stack $PID.0" "$TMPD/td1.err" ||
	fail "anyload_tcpdump did not attach: $(cat "$TMPD/td1.err")"
# One at a time: each echo is out before the next datagram comes in, and
# reaches a socket still open (else its port unreachable, which the stack
# gets, would be captured too).
for i in 0 1 2 3 4; do
	ns_b $PY "$UDPTOOL" send --dst "$IP_A" --port 47000 --count 1 \
		--tag "obs$i" --sport 46000 --linger 0.1
done
rc=0
wait $TD || rc=$?
if ((rc != 0)); then
	log "anyload_tcpdump: $(cat "$TMPD/td1.err")"
	log "$("$SDUMP" "$PID" counters --nonzero 2>&1)"
	log "$(ip -n "$NS_A" neigh show dev "$IF_A"; cat "$TMPD/st.out")"
fi
expect_eq "anyload_tcpdump -c 10 exit status" "$rc" 0
log "$(cat "$TMPD/td1.err")"
grep -q "^10 packets captured" "$TMPD/td1.err" ||
	fail "capture count: $(cat "$TMPD/td1.err")"

want_td=""
want_ts=""
for i in 0 1 2 3 4; do
	hex=$(printf 'obs%d-000000' "$i" | od -An -tx1 | tr -d ' \n')
	want_td+="IP $IP_B.46000 > $IP_A.47000: UDP, length 11"$'\n'
	want_td+="IP $IP_A.47000 > $IP_B.46000: UDP, length 11"$'\n'
	want_ts+="$IP_B,46000,$IP_A,47000,$hex"$'\n'
	want_ts+="$IP_A,47000,$IP_B,46000,$hex"$'\n'
done
got=$(tcpdump -nn -r "$PCAP" 2>/dev/null | sed 's/^[0-9:.]* //')
expect_eq "tcpdump -r of the capture" "$got" "${want_td%$'\n'}"
got=$(tshark -r "$PCAP" -T fields -E separator=, -e ip.src -e udp.srcport \
	-e ip.dst -e udp.dstport -e udp.payload 2>/dev/null)
expect_eq "tshark -r of the capture" "$got" "${want_ts%$'\n'}"
got=$(tshark -r "$PCAP" -T fields -e eth.src -e eth.dst 2>/dev/null |
	sort -u | tr '\t\n' ' ')
want=$(printf '%s\t%s\n%s\t%s\n' "$MAC_A" "$MAC_B" "$MAC_B" "$MAC_A" |
	sort -u | tr '\t\n' ' ')
expect_eq "MAC addresses" "$got" "$want"

# A filter expression, and a line per frame without -w.
ip netns exec "$NS_A" timeout 30 "$TDUMP" -i "$IF_A" -c 3 \
	udp and src host "$IP_B" >"$TMPD/td2.out" 2>"$TMPD/td2.err" &
TD=$!
for _ in $(seq 50); do
	grep -q "capturing stack" "$TMPD/td2.err" && break
	sleep 0.1
done
for i in 5 6 7; do
	ns_b $PY "$UDPTOOL" send --dst "$IP_A" --port 47000 --count 1 \
		--tag "obs$i" --sport 46000 --linger 0.1
done
rc=0
wait $TD || rc=$?
expect_eq "filtered capture exit status" "$rc" 0
log "$(cat "$TMPD/td2.out" "$TMPD/td2.err")"
got=$(sed 's/^[0-9:.]* //' "$TMPD/td2.out")
want="In  IP $IP_B.46000 > $IP_A.47000: UDP, length 11"
expect_eq "filtered capture" "$got" "$want"$'\n'"$want"$'\n'"$want"
grep -q "^2 packets filtered out" "$TMPD/td2.err" ||
	fail "the 2 echoes before the last frame should be filtered out: $(cat "$TMPD/td2.err")"

# A malformed frame (a wrong UDP checksum) is captured before the stack
# drops it.
ip netns exec "$NS_A" timeout 30 "$TDUMP" -i "$IF_A" -c 1 -w "$TMPD/bad.pcap" \
	2>"$TMPD/td3.err" &
TD=$!
for _ in $(seq 50); do
	grep -q "capturing stack" "$TMPD/td3.err" && break
	sleep 0.1
done
ns_b $PY - "$IF_B" "$MAC_A" "$MAC_B" "$IP_B" "$IP_A" <<'PYEOF'
import socket, struct, sys
ifn, dmac, smac, sip, dip = sys.argv[1:6]
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
payload = b"bad"
udp = struct.pack("!HHHH", 46000, 47000, 8 + len(payload), 0x1234) + payload
ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0,
                           64, 17, 0, socket.inet_aton(sip),
                           socket.inet_aton(dip)))
s = sum(struct.unpack("!10H", ip))
s = (s & 0xffff) + (s >> 16)
s = (s & 0xffff) + (s >> 16)
ip[10:12] = struct.pack("!H", ~s & 0xffff)
frame = mac(dmac) + mac(smac) + b"\x08\x00" + bytes(ip) + udp
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
p.bind((ifn, 0))
p.send(frame)
PYEOF
rc=0
wait $TD || rc=$?
expect_eq "capture of a malformed frame: exit status" "$rc" 0
got=$(tshark -r "$TMPD/bad.pcap" -T fields -E separator=, -e ip.src \
	-e udp.dstport -e udp.checksum -e udp.payload 2>/dev/null)
expect_eq "malformed frame captured" "$got" "$IP_B,47000,0x1234,626164"

# ---- 4. counters and latency -----------------------------------------------
bg_start kr "$NS_B" $PY "$UDPTOOL" recv --port 46001 --secs 30
bg_wait_line kr '^READY' 10 || fail "kernel receiver did not start"
bg_cmd st "send $SD_CONN - 0 2 conn"
expect_eq "connected send" "$(field "$BG_REPLY" sent)" 2
wait_count "$TMPD/kr.out" '^GOT conn-' 2 10 ||
	fail "the kernel did not get the 2 datagrams"
bg_stop kr

json=
for _ in $(seq 50); do
	json=$("$SDUMP" --json "$PID")
	[[ $(echo "$json" | $PY -c 'import json,sys
print(json.load(sys.stdin)["counters"]["tx_datagrams"])') == 10 ]] && break
	sleep 0.1
done
echo "$json" | $PY -m json.tool >/dev/null || fail "--json does not parse"
echo "$json" | $PY -c '
import json, sys
d = json.load(sys.stdin)
c = d["counters"]
want = {"rx_frames": 9, "rx_udp_datagrams": 8, "tx_datagrams": 10,
        "tx_frames": 10, "rx_drop_udp_no_sock": 0, "rx_drop_udp_csum": 1}
for k, v in want.items():
    assert c[k] == v, "%s=%d, want %d" % (k, c[k], v)
socks = {s["local"]: s for s in d["sockets"]}
e = socks["*:47000"]["counters"]
assert e["rx_datagrams"] == 8 and e["tx_datagrams"] == 8, e
assert e["rx_bytes"] == 88 and e["tx_bytes"] == 88, e
assert socks["*:47000"]["latency"]["count"] == 8, socks["*:47000"]
k = socks[sys.argv[1] + ":47001"]
assert k["remote"] == sys.argv[2] + ":46001" and k["state"] == "CONNECTED", k
assert k["counters"]["tx_datagrams"] == 2, k
assert k["counters"]["rx_datagrams"] == 0, k
assert d["interface"] == sys.argv[3] and d["pid"] == int(sys.argv[4]), d
assert d["resources"]["sockets"] == 2, d["resources"]
assert d["capture"]["frames"] >= 16 and d["capture"]["drops"] == 0, d
l = d["latency"]
assert l["count"] == 8, l
assert 0 < l["p50_ns"] <= l["p99_ns"] <= l["p99.9_ns"] <= l["max_ns"], l
assert l["min_ns"] <= l["p50_ns"], l
' "$IP_A" "$IP_B" "$IF_A" "$PID" || fail "dump does not match the traffic"

out=$("$SDUMP" "$PID" counters)
expect_eq "rx_udp_datagrams (text)" \
	"$(echo "$out" | awk '$1 == "rx_udp_datagrams" { print $2 }')" 8
nz=$("$SDUMP" "$PID" counters --nonzero | grep -E '^  [a-z_]+ +[0-9]+ ')
log "$nz"
echo "$nz" | awk '$2 == 0 { exit 1 }' || fail "--nonzero shows zeros: $nz"
n_json=$("$SDUMP" --json "$PID" counters --nonzero |
	$PY -c 'import json,sys; print(len(json.load(sys.stdin)["counters"]))')
expect_eq "non-zero counters, text vs json" "$(echo "$nz" | wc -l)" "$n_json"
((n_json < $(echo "$out" | grep -cE '^  [a-z_]+ +[0-9]+ '))) ||
	fail "--nonzero did not leave out the zero counters"
grep -qE '^  tx_frames +10 ' <<<"$nz" || fail "tx_frames not shown"
out=$("$SDUMP" "$PID" latency)
log "$out"
grep -q "samples 8 " <<<"$out" || fail "latency: $out"

rc=0
timeout 20 "$SDUMP" "$PID" watch 0.2 -n 2 >"$TMPD/watch.out" || rc=$?
expect_eq "watch -n 2 exit status" "$rc" 0
expect_eq "watch rounds" "$(grep -c "^stack $PID.0, " "$TMPD/watch.out")" 2
"$SDUMP" --json lots | $PY -m json.tool >/dev/null || fail "lots --json"

# ---- 5. transparent mode publishes its settings ------------------------------
if [[ -x "$AL" && -f "$BUILD/lib/libanyload.so" ]]; then
	# In NS_B on IF_B: IF_A's queue is stack_echo's.
	bg_start pl "$NS_B" env ANYLOAD_STATS_AT_EXIT=1 "$AL" \
		--interface="$IF_B" $PY "$UDPTOOL" recv --port 47100 --secs 30
	bg_wait_line pl '^READY' 15 || fail "preloaded receiver: $(cat "$TMPD/pl.err")"
	ns_a $PY "$UDPTOOL" send --dst "$IP_B" --port 47100 --count 3 --tag pl
	wait_count "$TMPD/pl.out" '^GOT pl-' 3 10 || fail "preloaded receiver got nothing"
	PLPID=${BG_PID[pl]}
	PLSTACK=$("$SDUMP" --json | $PY -c '
import json, sys
for s in json.load(sys.stdin):
    if "udptool" in s["command"] and "recv" in s["command"]:
        print(s["stack"])')
	[[ -n "$PLSTACK" ]] || fail "no stack of the preloaded program: $("$SDUMP")"
	out=$("$SDUMP" "$PLSTACK" settings)
	log "$out"
	grep -q "ANYLOAD_INTERFACE=$IF_B (ANYLOAD_INTERFACE)" <<<"$out" ||
		fail "settings not published: $out"
	grep -q "ANYLOAD_RXQ_SIZE=512 (default)" <<<"$out" ||
		fail "defaults not published: $out"
	for _ in $(seq 50); do
		"$SDUMP" --json "$PLSTACK" latency | grep -q '"count":3,' && break
		sleep 0.1
	done
	out=$("$SDUMP" --json "$PLSTACK")
	echo "$out" | $PY -c '
import json, sys
d = json.load(sys.stdin)
s = [s for s in d["sockets"] if s["local"].endswith(":47100")]
assert len(s) == 1 and s[0]["counters"]["rx_datagrams"] == 3, d["sockets"]
assert d["latency"]["count"] == 3, d["latency"]
' || fail "preloaded program's dump: $out"
	bg_stop pl
	[[ ! -e "$ANYLOAD_SHM_DIR/$PLSTACK" ]] ||
		fail "the preloaded program left its file"
	log "preloaded program $PLPID: settings, socket and latency published"
else
	log "transparent mode not built: part 5 skipped"
fi

# ---- 6. dead stacks ----------------------------------------------------------
bg_kill9 st
[[ -e "$ANYLOAD_SHM_DIR/$PID.0" ]] || fail "no file left by kill -9"
rc=0
out=$("$SDUMP" 2>&1) || rc=$?
log "$out"
expect_eq "listing with a dead stack only: exit status" "$rc" 1
[[ "$out" == *"dead (not cleaned up"* ]] || fail "dead stack not shown: $out"
rc=0
out=$("$SDUMP" "$PID" 2>&1) || rc=$?
log "$out"
expect_eq "dump of a dead stack: exit status" "$rc" 1
[[ "$out" == *"stack 0 of pid $PID is dead (not cleaned up)"* ]] ||
	fail "dead stack not refused clearly: $out"
[[ ! -e "$ANYLOAD_SHM_DIR/$PID.0" ]] || fail "dead stack's file not removed"

bg_start st2 "$NS_A" "$PROGS/stack_echo" -t 100 "$IF_A"
bg_wait_line st2 '^READY' 10 || fail "second stack_echo did not start"
PID2=${BG_PID[st2]}
bg_kill9 st2
out=$("$SDUMP" clean)
expect_eq "clean" "$out" \
	"removed $ANYLOAD_SHM_DIR/$PID2.0 (stack 0 of pid $PID2, dead)"
bg_start st3 "$NS_A" "$PROGS/stack_echo" -t 100 "$IF_A"
bg_wait_line st3 '^READY' 10 || fail "third stack_echo did not start"
PID3=${BG_PID[st3]}
[[ -e "$ANYLOAD_SHM_DIR/$PID3.0" ]] || fail "the third stack has no file"
bg_cmd st3 quit
bg_wait st3 10
expect_eq "stack_echo exit status" "$BG_RC" 0
[[ ! -e "$ANYLOAD_SHM_DIR/$PID3.0" ]] || fail "a clean exit left the file"
rc=0
out=$("$SDUMP" 2>&1) || rc=$?
expect_eq "no stack left: exit status" "$rc" 1
[[ "$out" == *"no stack found"* ]] || fail "no stack left: $out"
expect_eq "files left" "$(ls -A "$ANYLOAD_SHM_DIR")" ""
log "observability: all checks passed"
