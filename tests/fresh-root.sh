#!/bin/bash
# The README's two commands on a fresh Debian 12: a minimal root made by
# `debootstrap --variant=minbase bookworm`, the committed HEAD cloned into
# it, then `./deps.sh` (install + build) and `make check` inside it.  A
# package installed by hand on this machine cannot hide a missing install
# step here.  `make check-fresh` and CI (.ci/run) run this.
#
#   tests/fresh-root.sh [--empty-cache] [-- COMMAND...]
#
#   --empty-cache  do not lend the root this machine's download cache
#                  (kernels, sysroot, .debs): prove the downloads too
#   COMMAND        what to run in the clone instead of the README's two
#                  commands (e.g. `-- make unit`), after ./deps.sh
#
# Needs root (debootstrap, chroot, mounts); installs debootstrap itself.
# The root's tarball is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests
# and rebuilt once it is a week old, so point releases are picked up.
set -euo pipefail
# One compound command: bash reads it whole before running it, so editing
# this file during a run (a long make check) cannot change what runs.
{
top=$(cd "$(dirname "$0")/.." && pwd)
# CI may run without HOME: fall back to the passwd entry.
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests
suite=bookworm
mirror=${LKVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
tarball=$cache/fresh-root-$suite-minbase.tar.gz
max_age_days=7
lend_cache=1
cmd=()

die() { echo "fresh-root: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--empty-cache) lend_cache= ;;
	--) shift; cmd=("$@"); break ;;
	*) echo "usage: tests/fresh-root.sh [--empty-cache] [-- COMMAND...]" >&2
	   exit 2 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and bind mounts)"
command -v git >/dev/null || die "needs git to clone the tree"
if ! command -v debootstrap >/dev/null; then
	echo "fresh-root: installing debootstrap" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends debootstrap >/dev/null
fi
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
	echo "fresh-root: note: uncommitted changes are not tested (HEAD is cloned)" >&2
fi

mkdir -p "$cache"
work=$(mktemp -d /var/tmp/lkvm-fresh.XXXXXX)
root=$work/root
# The mounts live in a private mount namespace (below), so they vanish
# with it; this removes only the files.
trap 'rm -rf --one-file-system "$work"' EXIT

if [ -z "$(find "$tarball" -mtime -"$max_age_days" 2>/dev/null)" ]; then
	echo "fresh-root: debootstrap --variant=minbase $suite (cached as $tarball)" >&2
	mkdir "$root"
	debootstrap --variant=minbase "$suite" "$root" "$mirror" \
		>"$work/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
	tar -C "$root" -czf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf --one-file-system "$root"
fi
mkdir "$root"
tar -C "$root" -xzf "$tarball"
# The root has what minbase gives and nothing else: no make, no compiler.
for tool in make gcc git; do
	[ ! -e "$root/usr/bin/$tool" ] || die "the cached root has $tool; remove $tarball"
done
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
git clone -q --no-hardlinks "$top" "$root/root/lkvm"
echo "fresh-root: $(git -C "$root/root/lkvm" log -1 --format='%h %s')" >&2

if [ ${#cmd[@]} -eq 0 ]; then
	# The README's two commands, word for word.
	run='./deps.sh && make check'
else
	run='./deps.sh && '"$(printf '%q ' "${cmd[@]}")"
fi

# /dev (with /dev/kvm, /dev/pts, /dev/shm), /proc and /sys from the host, so
# the smoke tests reach KVM and the nested e2e suites run QEMU as they would
# on a real machine.  The download caches are lent (unless --empty-cache):
# what they hold is fetched by the tests' own scripts, not installed.
mkdir -p "$root/root/.cache/lkvm-tests" "$cache/fresh-root-debs"
inner=$(cat <<'EOS'
set -eu
mount --make-rprivate /
mount --rbind /dev "$ROOT/dev"
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"
if [ -n "$LEND_CACHE" ]; then
	mount --bind "$CACHE" "$ROOT/root/.cache/lkvm-tests"
	mount --bind "$CACHE/fresh-root-debs" "$ROOT/var/cache/apt/archives"
fi
exec chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	CI="${CI:-}" LANG=C.UTF-8 \
	/bin/sh -c "cd /root/lkvm && $RUN"
EOS
)
start=$(date +%s)
set +e
ROOT=$root CACHE=$cache LEND_CACHE=$lend_cache RUN=$run \
	unshare --mount --propagation private /bin/sh -c "$inner" </dev/null
status=$?
set -e
echo "fresh-root: '$run' exited $status after $(( $(date +%s) - start )) s" >&2
exit $status
}
