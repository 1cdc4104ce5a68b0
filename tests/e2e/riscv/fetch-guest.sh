#!/bin/bash
# Download (apt-get download, private apt state) and unpack the riscv64
# e2e suite's guest: Debian 13's newest 6.12 riscv64 kernel (boot/vmlinux-*
# is an Image with an EFI stub, the modules are .ko.xz) and busybox-static,
# into ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests/riscv64-guest. Done once;
# later runs reuse it offline. Prints the directory on stdout.
#
# usage: tests/e2e/riscv/fetch-guest.sh [--update]
#   --update   refresh the package lists and fetch again if a version changed
set -eu
LKVM_PROG=riscv-guest
. "$(dirname "$0")/guest.sh"
case "${1:-}" in
--update) rv_guest update ;;
"") rv_guest ;;
*) echo "usage: ${0##*/} [--update]" >&2; exit 2 ;;
esac
lkvm_log "kernel $RV_KVER: $RV_KIMAGE; busybox: $RV_BUSYBOX"
printf '%s\n' "$RV_GUEST_DIR"
