#!/bin/sh
# Stand-in for lkvm: translates the kvmtool-like command line that the e2e
# cases use into QEMU with -M microvm and KVM, so the harness itself can be
# checked (and compared in the boot benchmark) with a known-good VMM.
#
#   qemu-shim.sh run -k KERNEL [-i INITRD] [-m MiB] [-c CPUS] [-p PARAMS]
#
# Like lkvm it prepends its own kernel parameters (console=ttyS0 reboot=k
# panic=1 ...), sends the serial console to stdout, exits 0 when the guest
# resets, and fails with one line on stderr when the kernel is missing.
# The VMM binary can be overridden with QEMU=path.
set -eu
QEMU=${QEMU:-qemu-system-x86_64}

die() { echo "lkvm: $*" >&2; exit 1; }

[ "${1:-}" = run ] || die "usage: lkvm run -k KERNEL [-i INITRD] [-m MiB] [-c CPUS] [-p PARAMS]"
shift
kernel= initrd= mem=256 cpus=1 params=
while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel) kernel=$2; shift 2 ;;
	-i|--initrd) initrd=$2; shift 2 ;;
	-m|--mem) mem=$2; shift 2 ;;
	-c|--cpus) cpus=$2; shift 2 ;;
	-p|--params) params=$2; shift 2 ;;
	*) die "unknown option '$1'" ;;
	esac
done
[ -n "$kernel" ] || die "no kernel given (-k)"
[ -r "$kernel" ] || die "cannot read kernel '$kernel'"
[ -z "$initrd" ] || [ -r "$initrd" ] || die "cannot read initrd '$initrd'"

# microvm has no i8042 of its own; add one so reboot=k resets the machine
# (with -no-reboot QEMU then exits 0, as lkvm does). rtc=on spares the guest
# a 6 s probe of absent RTC ports. -serial stdio, not -nographic: see
# tests/bench/bench-l1.sh.
set -- -M microvm,rtc=on -device i8042 -enable-kvm -cpu host -m "$mem" -smp "$cpus" \
	-display none -monitor none -serial stdio -no-reboot \
	-kernel "$kernel" \
	-append "console=ttyS0 reboot=k panic=1 i8042.nopnp=1 $params"
[ -z "$initrd" ] || set -- "$@" -initrd "$initrd"
exec "$QEMU" "$@"
