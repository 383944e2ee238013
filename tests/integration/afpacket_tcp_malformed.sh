#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# afpacket_tcp_malformed: stack_tcp_malformed.sh's TCP campaign on the
# AF_PACKET backend (ANYLOAD_BACKEND=afpacket): the same batches (option
# garbage, the 256 flag combinations to the listener, to a closed port, as
# answers to the server's SYNs (SYN_SENT) and
# on connections in every reachable state at RCV.NXT, in the window and
# out of it), the same RFC 9293 / RFC 5961 model of every answer, the same
# counters, survivors, pool and frame accounting
# (tests/harness/tcp_malformed_campaign.sh, progs/tcp_malformed.py). The
# tc ingress program of the backend keeps the server's segments from
# NS_A's kernel, as XDP does, so the model does not differ.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/tcp_malformed_campaign.sh"

tcp_malformed_main afpacket
