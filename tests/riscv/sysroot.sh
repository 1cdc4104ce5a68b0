#!/bin/bash
# Prepare what building and testing a riscv64 lkvm needs, from Debian 13
# (trixie) riscv64 packages, without touching the host's apt state (apt-get
# runs with lists, status, sources and cache of its own in the cache dir).
#
# usage: tests/riscv/sysroot.sh [--guest] [--update]
#
#   (no option)  the sysroot for a static riscv64 lkvm: headers, static
#                libraries and .pc files of libfdt, libaio, libcap-ng,
#                liburing, libarchive (and the compressors libarchive's
#                read filters need), trixie's kernel headers, and
#                bin/pkg-config answering for it. Prints its path last:
#                  make ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- \
#                       PKG_CONFIG=$(tests/riscv/sysroot.sh | tail -n1)/bin/pkg-config
#   --guest      instead: the e2e guest, trixie's newest 6.12 riscv64
#                kernel (unpacked: boot/vmlinux-* is an Image with an EFI
#                stub, modules .ko.xz) and busybox-static. Prints its dir.
#   --update     refresh the package lists and rebuild if a version
#                changed (otherwise a complete cache is used offline)
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests/riscv64-{sysroot,guest,apt}
# Host packages: gcc-riscv64-linux-gnu, pkg-config, apt, dpkg,
# debian-archive-keyring (the scripts name what is missing).
set -eu
LKVM_PROG=riscv-sysroot
. "$(dirname "$0")/lib.sh"

what=sysroot
update=
usage() { sed -n '/^# usage:/,/^# Cache:/s/^# \{0,1\}//p' "$0" | sed '$d' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--guest) what=guest; shift ;;
	--update) update=update; shift ;;
	-h|--help) usage ;;
	*) echo "riscv-sysroot: unknown option '$1'" >&2; usage ;;
	esac
done

if [ "$what" = guest ]; then
	rv_guest $update
	lkvm_log "kernel $RV_KVER: $RV_KIMAGE; busybox: $RV_BUSYBOX"
	printf '%s\n' "$RV_GUEST_DIR"
else
	rv_sysroot $update
	printf '%s\n' "$RV_SYSROOT"
fi
