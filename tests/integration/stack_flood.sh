#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# stack_flood: a UDP flood at the highest rate this machine makes, for a
# bounded time (6 s), against the stack echo server on the AF_XDP backend
# (issue 5): its existing client's probes are answered before, mostly
# during and all after the flood, every frame sent is received or a counted
# loss, every frame received has one outcome, RSS and buffer pool bounded.
# The test and its checks are tests/harness/udp_flood_campaign.sh;
# afpacket_flood.sh runs it on AF_PACKET.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/udp_flood_campaign.sh"

flood_main afxdp
