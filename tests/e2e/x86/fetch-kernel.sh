#!/bin/bash
# Download (apt-get download) and unpack (dpkg -x) the Debian amd64 kernel
# used as both L1 and L2 guest kernel, into
# ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests. Done once; later runs reuse it.
# Prints the kernel image path on stdout.
set -eu
LKVM_PROG=fetch-kernel
. "$(dirname "$0")/../lib/host.sh"
lkvm_fetch_kernel
lkvm_log "kernel $KVER unpacked in $KDIR"
printf '%s\n' "$KIMAGE"
