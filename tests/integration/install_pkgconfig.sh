#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# install_pkgconfig.sh: `make install` into a staging directory, then build
# a small ef_vi program the way a user would, with nothing but
# `pkg-config --cflags --libs anyvi`, against the installed headers and
# shared library, and run it: it must print the library's version and get
# -ENODEV for a missing interface (no network needed).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$REPO/build}
command -v pkg-config >/dev/null || { echo "pkg-config missing"; exit 77; }

STAGE=$(mktemp -d /tmp/anyload-install.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
FLAGS=$(cat "$BUILD/test-cflags" 2>/dev/null || true)
make -s -C "$REPO" BUILD="$BUILD" EXTRA_CFLAGS="$FLAGS" LDFLAGS="$FLAGS" \
	DESTDIR="$STAGE" PREFIX=/usr/local install >/dev/null

cat > "$STAGE/user.c" <<'C'
#include <etherfabric/vi.h>
#include <etherfabric/pd.h>
#include <etherfabric/memreg.h>
#include <etherfabric/capabilities.h>
#include <etherfabric/checksum.h>
#include <etherfabric/pio.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
  ef_driver_handle dh;
  ef_pd pd;
  int rc;

  if (ef_driver_open(&dh) != 0)
    return 1;
  rc = ef_pd_alloc_by_name(&pd, dh, "no-such-if0", EF_PD_DEFAULT);
  printf("%s %d\n", ef_vi_version_str(), rc);
  ef_driver_close(dh);
  return rc == -ENODEV && !strncmp(ef_vi_version_str(), "anyload-", 8) ? 0 : 1;
}
C
export PKG_CONFIG_PATH=$STAGE/usr/local/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$STAGE
# A sanitizer build's library needs the same flags in the program.
read -r -a extra <<<"$FLAGS"
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Wextra -Werror "${extra[@]}" -o "$STAGE/user" \
	"$STAGE/user.c" $(pkg-config --cflags --libs anyvi)
out=$(LD_LIBRARY_PATH=$STAGE/usr/local/lib "$STAGE/user")
echo "$out"
[[ "$out" == anyload-*" -19" ]]
# The shared library exports the API and nothing else.
bad=$(nm -D --defined-only "$STAGE/usr/local/lib/libanyvi.so.0" |
	awk '$2 ~ /[TDBR]/ && $3 !~ /^(ef_|anyload_)/ {print $3}')
if [[ -n "$bad" ]]; then
	echo "libanyvi.so exports internal symbols: $bad"
	exit 1
fi
echo "install + pkg-config build OK"
