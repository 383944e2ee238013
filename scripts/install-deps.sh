#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# install-deps.sh: install the Debian packages that building and testing
# anyload need. Fast no-op when every package is already installed: the
# status of each one is read with dpkg-query, and apt-get (update, then
# install) runs only for the missing ones. Runs unattended (no stdin).
set -euo pipefail

PACKAGES=(
	build-essential clang llvm libbpf-dev libxdp-dev libelf-dev zlib1g-dev
	libmnl-dev bpftool ethtool iproute2 sockperf libpcap-dev pkg-config
	python3 libclang-rt-14-dev socat netcat-openbsd tcpdump tshark nginx
	redis-server redis-tools wrk iperf3 curl python3-scapy memcached
	libmemcached-tools
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [[ "$status" != "install ok installed" ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

echo "install-deps: missing packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: must run as root to install them" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "install-deps: installed ${missing[*]}"
