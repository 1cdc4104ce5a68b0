# What the tree's bash scripts share, sourced (not executed): the top of the
# tree, the download cache and how to log, fail and ask for a missing host
# package.  tools/riscv-sysroot/ and the nested test harnesses
# (tests/e2e/lib/host.sh) build on it.
#
# Everything downloaded or built goes to the cache directory
#   ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests   (or $LKVM_CACHE)
# never into the source tree.

# shellcheck shell=bash

LKVM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# CI may run without HOME: fall back to the passwd entry.
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
LKVM_CACHE=${LKVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests}

# LKVM_PROG names the calling script in every message.
lkvm_log() { printf '%s: %s\n' "${LKVM_PROG:-lkvm-tests}" "$*" >&2; }
lkvm_die() { printf '%s: error: %s\n' "${LKVM_PROG:-lkvm-tests}" "$*" >&2; exit 2; }
# A download failed, so the suite cannot run: exit LKVM_EXIT_OFFLINE, which
# tests/run-all.sh reports as "skipped: no network" (never as a pass).
LKVM_EXIT_OFFLINE=77
lkvm_offline() {
	printf '%s: skipped: no network: %s\n' "${LKVM_PROG:-lkvm-tests}" "$*" >&2
	exit $LKVM_EXIT_OFFLINE
}

# lkvm_need CMD PACKAGE: fail clearly when a host command is missing.
lkvm_need() {
	command -v "$1" >/dev/null 2>&1 ||
		lkvm_die "'$1' not found; install the Debian package '$2' (apt-get install $2)"
}

# lkvm_need_file PATH PACKAGE: the same for a file.
lkvm_need_file() {
	[ -e "$1" ] || lkvm_die "'$1' not found; install the Debian package '$2' (apt-get install $2)"
}
