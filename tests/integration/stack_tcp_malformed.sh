#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# stack_tcp_malformed: the TCP part of the malformed-traffic campaign
# (issue 5) against a TCP echo server on anyload's stack
# (progs/stack_tcp_echo, listening on port 8000 of IP_A) on AF_XDP
# (tests/harness/tcp_malformed_campaign.sh; afpacket_tcp_malformed.sh
# runs the same on AF_PACKET):
# progs/tcp_malformed.py in NS_B keeps a real kernel connection to the
# server, which must echo after every batch, and plays a raw peer from
# 198.18.0.3 (an address nobody owns: NS_A reaches it through a permanent
# neighbour entry to MAC_B, and NS_B's kernel drops what comes back, so it
# never answers for the raw peer, nor for the server's SYNs to it).
# Batches: SYNs with option garbage (bad, zero and truncated lengths, unknown kinds, repeated options, WS > 14,
# MSS 0 and 1, options past the header) and bad data offsets; the 256 flag
# combinations to the listener, to a closed port (the kernel's), as the
# answers to the server's own SYNs (SYN_SENT: connect commands to the
# raw peer's address; ACK fields acceptable, at ISS and beyond SND.NXT),
# and on raw connections in SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1,
# FIN_WAIT_2, CLOSING, LAST_ACK and TIME_WAIT (the server closes with the
# closepeer command; the raw peer acknowledges its FIN or not, and sends
# its own before or after) with the sequence number at RCV.NXT, in the
# window and out of it (in TIME_WAIT a SYN above RCV.NXT opens a new
# connection, RFC 1122 §4.2.2.13 / RFC 6191, which goes back to TIME_WAIT
# when the raw peer resets it). Every answer
# of the server is checked against RFC 9293 and RFC 5961 (see
# tcp_malformed.py), so are the counters those segments must move and the
# state of every connection afterwards; after each batch the server has no
# raw connection left but those in TIME_WAIT, and its buffer pool and TCP
# buffers are at their idle level; every frame sent to it is received or a
# counted loss; at the end its RSS is within a margin (only shown under
# ASan, whose quarantine keeps the freed buffers of each connection).
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/tcp_malformed_campaign.sh"

tcp_malformed_main afxdp
