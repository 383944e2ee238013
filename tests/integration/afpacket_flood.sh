#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# afpacket_flood: stack_flood.sh's UDP flood on the AF_PACKET backend
# (ANYLOAD_BACKEND=afpacket), with the same checks and the same exact
# accounting (tests/harness/udp_flood_campaign.sh): here the frames lost
# for want of room are those of the packet socket's full RX ring, which
# the backend reads from PACKET_STATISTICS and reports one
# RX_NO_DESC_TRUNC event each, so the stack's rx_drop_no_desc counts them
# as it counts an XDP socket's.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/udp_flood_campaign.sh"

flood_main afpacket
