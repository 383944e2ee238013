#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# malformed_traffic: the malformed-traffic campaign of issue 5 over veth
# against the stack echo server (with and without fragments and ICMP
# claimed) and a raw VI receiver, on the AF_XDP backend: every frame a
# counted drop, an exact echo or one ICMP outcome as the model predicts,
# probes answered, pool and RSS bounded. The campaign and its checks are
# tests/harness/malformed_campaign.sh; afpacket_malformed.sh runs it on
# AF_PACKET.
set -euo pipefail
source "$(dirname "$0")/../harness/netns.sh"
source "$(dirname "$0")/../harness/efvi_test.sh"
source "$(dirname "$0")/../harness/malformed_campaign.sh"

malformed_main afxdp
