#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# observability_tcp: anyload_stackdump and anyload_tcpdump on anyload's
# TCP, in netns+veth: progs/stack_tcp serves one connection on IF_A
# (sending 2 MB through 128 KiB buffers), a kernel client in NS_B
# connects, sends 5000 bytes and stops reading for a while. Checks:
#   1. the listener shows as tcp LISTEN *:47200 with its ip4_local filter;
#   2. anyload_tcpdump catches the handshake: SYN in, SYN-ACK out, ACK in
#      (tshark reads the flags, addresses and ports);
#   3. while the client does not read, the connection shows ESTABLISHED
#      with the client's address, the 5000 bytes received in its counters
#      and a non-empty send queue within its send buffer, in text and JSON;
#   4. once the client reads, the transfer completes, the program exits
#      and its stack file is gone.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"

itest_init
require_cmd tshark
SDUMP=$BUILD/bin/anyload_stackdump
TDUMP=$BUILD/bin/anyload_tcpdump
[[ -x "$SDUMP" && -x "$TDUMP" ]] || skip "tools not built ($SDUMP)"
itest_build_stack stack_tcp

export ANYLOAD_SHM_DIR=$TMPD/shm
ns_setup_pair
PY=python3
PORT=47200

bg_start ss "$NS_A" "$PROGS/stack_tcp" -t 40 -n 2000000 -b 65536 \
	-r server "$IF_A" 0.0.0.0 "$PORT"
bg_wait_line ss '^LISTENING' 10 ||
	fail "stack server did not start: $(cat "$TMPD/ss.out" "$TMPD/ss.err")"
PID=${BG_PID[ss]}

# ---- 1. the listener ---------------------------------------------------------
for _ in $(seq 50); do
	"$SDUMP" "$PID" sockets 2>/dev/null | grep -q "LISTEN" && break
	sleep 0.1
done
out=$("$SDUMP" "$PID")
log "$out"
echo "$out" | grep -E "^ +[0-9]+ +tcp +LISTEN +\*:$PORT +\*:\* " >/dev/null ||
	fail "listener not shown: $out"
echo "$out" | grep -E "ip4_local +tcp +\*:$PORT " >/dev/null ||
	fail "listener's filter not shown: $out"

# ---- 2. the handshake, captured -----------------------------------------------
ip netns exec "$NS_A" timeout 30 "$TDUMP" -i "$IF_A" -c 3 \
	-w "$TMPD/hs.pcap" tcp port "$PORT" 2>"$TMPD/td.err" &
TD=$!
for _ in $(seq 50); do
	grep -q "capturing stack $PID.0" "$TMPD/td.err" && break
	sleep 0.1
done
grep -q "capturing stack $PID.0" "$TMPD/td.err" ||
	fail "anyload_tcpdump did not attach: $(cat "$TMPD/td.err")"

# The kernel client: connect, send 5000 bytes, read nothing until GO
# exists, then read to the end and close.
GO=$TMPD/go
cat >"$TMPD/client.py" <<'PYEOF'
import os, socket, sys, time
ip, port, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((ip, port), timeout=20)
s.sendall(b"k" * 5000)
print("CONNECTED port=%d" % s.getsockname()[1], flush=True)
end = time.monotonic() + 25
while not os.path.exists(go) and time.monotonic() < end:
    time.sleep(0.05)
n = 0
while True:
    b = s.recv(65536)
    if not b:
        break
    n += len(b)
s.close()
print("DONE recv=%d" % n, flush=True)
PYEOF
bg_start kc "$NS_B" $PY "$TMPD/client.py" "$IP_A" "$PORT" "$GO"
bg_wait_line kc '^CONNECTED' 15 || fail "client: $(cat "$TMPD/kc.out" "$TMPD/kc.err")"
CPORT=$(field "$(grep '^CONNECTED' "$TMPD/kc.out")" port)
rc=0
wait $TD || rc=$?
log "$(cat "$TMPD/td.err")"
expect_eq "handshake capture exit status" "$rc" 0
got=$(tshark -r "$TMPD/hs.pcap" -T fields -E separator=, -e ip.src \
	-e tcp.srcport -e ip.dst -e tcp.dstport -e tcp.flags 2>/dev/null)
want="$IP_B,$CPORT,$IP_A,$PORT,0x0002"$'\n'
want+="$IP_A,$PORT,$IP_B,$CPORT,0x0012"$'\n'
want+="$IP_B,$CPORT,$IP_A,$PORT,0x0010"
expect_eq "the handshake (tshark)" "$got" "$want"

# ---- 3. the connection while the client does not read --------------------------
json=
for _ in $(seq 100); do
	json=$("$SDUMP" --json "$PID")
	echo "$json" | $PY -c '
import json, sys
d = json.load(sys.stdin)
c = [s for s in d["sockets"] if s["proto"] == "tcp" and
     s["remote"] == "%s:%s" % (sys.argv[1], sys.argv[2])]
ok = (len(c) == 1 and c[0]["counters"]["rx_bytes"] == 5000 and
      c[0]["txq_bytes"] > 0)
sys.exit(0 if ok else 1)' "$IP_B" "$CPORT" && break
	sleep 0.1
done
echo "$json" | $PY -m json.tool >/dev/null || fail "--json does not parse"
echo "$json" | $PY -c '
import json, sys
d = json.load(sys.stdin)
c = [s for s in d["sockets"] if s["proto"] == "tcp" and
     s["remote"] == "%s:%s" % (sys.argv[1], sys.argv[2])]
assert len(c) == 1, d["sockets"]
c = c[0]
assert c["state"] == "ESTABLISHED", c
assert c["local"] == "%s:%s" % (sys.argv[3], sys.argv[4]), c
assert c["counters"]["rx_bytes"] == 5000, c
assert 0 < c["txq_bytes"] <= c["sndbuf"], c
assert d["counters"]["rx_frames"] > 0 and d["counters"]["tx_frames"] > 0
# The program closed its listener after the accept: the connection
# holds a full filter of its own, and the local filter of the listener
# is gone.
full = [f for f in d["filters"] if f["kind"] == "ip4_full" and
        f["local"] == "%s:%s" % (sys.argv[3], sys.argv[4]) and
        f["remote"] == "%s:%s" % (sys.argv[1], sys.argv[2])]
assert len(full) == 1 and len(d["filters"]) == 1, d["filters"]
' "$IP_B" "$CPORT" "$IP_A" "$PORT" || fail "the connection's dump: $json"
out=$("$SDUMP" "$PID" sockets)
log "$out"
echo "$out" | grep -E "^ +[0-9]+ +tcp +ESTABLISHED +$IP_A:$PORT +$IP_B:$CPORT " \
	>/dev/null || fail "connection not shown: $out"

# ---- 4. the end --------------------------------------------------------------
touch "$GO"
bg_wait kc 30
expect_eq "client exit status" "$BG_RC" 0
expect_eq "bytes the client got" "$(field "$(grep '^DONE' "$TMPD/kc.out")" recv)" \
	2000000
bg_wait ss 20
expect_eq "stack server exit status" "$BG_RC" 0
[[ ! -e "$ANYLOAD_SHM_DIR/$PID.0" ]] || fail "the stack's file is left"
log "observability_tcp: all checks passed"
