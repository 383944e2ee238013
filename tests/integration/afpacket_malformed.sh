#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# afpacket_malformed: malformed_traffic.sh's campaign on the AF_PACKET
# backend (ANYLOAD_BACKEND=afpacket): the same batches, the same exact
# accounting of every frame by the stack's counters, the same echoes,
# probes, pool and RSS checks (tests/harness/malformed_campaign.sh). The
# model differs only where the kernel's path differs: VLAN tags are taken
# out of the frame before the packet socket and tc see it (they look
# through one tag more than XDP; tagged frames under 20 bytes are dropped
# by the kernel before anyone sees them).
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/malformed_campaign.sh"

malformed_main afpacket
