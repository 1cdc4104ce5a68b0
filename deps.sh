#!/bin/sh
# Install everything lkvm needs to build and to run its tests on Debian 12,
# then build ./lkvm.  Needs nothing but sh and apt-get: a minimal Debian
# (debootstrap --variant=minbase) has no make yet, so this script installs it.
#
#   ./deps.sh            install the packages, then `make`
#   ./deps.sh --no-build install the packages only (what `make deps` runs)
#
# Run as root (or with sudo available).  Every package that `make check`
# uses must be listed here: `make check-fresh` (and CI) run this script in
# a fresh Debian root, so a missing one fails there.
set -eu
cd "$(dirname "$0")"
build=1
case "${1:-}" in
--no-build) build= ;;
"") ;;
*) echo "usage: ./deps.sh [--no-build]" >&2; exit 2 ;;
esac
# build: compilers (clang builds too), libraries (pkg-config finds them)
#   (libglib2.0-dev: slirp.pc requires glib-2.0.pc, even for a shared link;
#   the decompressors' and xxhash's headers: a bzImage's payload is unpacked
#   on the host, the libraries dlopen()ed, the hash inlined;
#   libarchive13 and libslirp0: lkvm dlopens them, so no link names them)
# tests: QEMU for the nested e2e suites, busybox/cpio for the guest
#   images, zstd/lz4 (with gzip, xz, bzip2) to compress the unit tests'
#   fake bzImages as Linux's build does, e2fsprogs/fio for the disk
#   checks and benchmarks, dtc for the device-tree tests, apt/dpkg to download and unpack Debian's kernels
# riscv: the cross compiler and its C library headers (the riscv64 lkvm
#   and the SBI/compat pieces of its static link; patch and bzip2 build
#   libslirp.a from its Debian source package for the riscv64 sysroot)
pkgs="gcc clang make pkg-config binutils libc6-dev
      libfdt-dev libaio-dev libcap-ng-dev liburing-dev libarchive-dev
      libslirp-dev libglib2.0-dev libarchive13 libslirp0
      zlib1g-dev liblzma-dev libzstd-dev liblz4-dev libbz2-dev libxxhash-dev
      e2fsprogs fio device-tree-compiler
      qemu-system-x86 busybox-static cpio gzip xz-utils zstd lz4
      gcc-riscv64-linux-gnu libc6-dev-riscv64-cross qemu-system-misc
      patch bzip2
      file debian-archive-keyring ca-certificates
      util-linux bsdutils coreutils dpkg apt"
if [ "$(id -u)" = 0 ]; then
	SUDO=
elif command -v sudo >/dev/null; then
	SUDO=sudo
else
	echo "deps: run as root (apt-get needs it): $pkgs" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null; then
	echo "deps: apt-get not found; install these Debian packages by hand: $pkgs" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The e2e suite downloads the guest kernel with apt-get download, which needs
# fresh package lists even when every package is already installed.
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
echo "deps: installed: $(echo $pkgs)"
[ -n "$build" ] || exit 0
exec make
