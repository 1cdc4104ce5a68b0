#!/bin/sh
# Install everything lkvm needs to build and to run its tests on Debian 12.
# Run as root (or with sudo available).  Used by `make deps`.
set -eu
pkgs="gcc clang make pkg-config binutils libc6-dev
      libfdt-dev libaio-dev libcap-ng-dev liburing-dev libarchive-dev
      e2fsprogs fio device-tree-compiler
      qemu-system-x86 busybox-static cpio gzip xz-utils
      gcc-riscv64-linux-gnu qemu-system-misc file debian-archive-keyring
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
