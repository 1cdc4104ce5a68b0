#!/bin/sh
# Stand-in for lkvm: translates the kvmtool-like command line that the e2e
# cases use into QEMU with -M microvm and KVM, so the harness itself can be
# checked (and compared in the boot benchmark) with a known-good VMM.
#
#   qemu-shim.sh run -k KERNEL [-i INITRD] [-m MiB] [-c CPUS] [-p PARAMS]
#                    [--disk PATH[,ro][,direct][,aio=..][,serial=ID]]...
#                    [--rng] [--console serial|virtio] [--debug]
#                    [--9p DIR,TAG[,ro]]...
#                    [-n mode=user[,hostfwd=RULE]...|mode=tap,tapif=IF|mode=tap,script=PATH]...
#                    [--virtio-transport pci|pci-legacy|mmio|mmio-legacy]
#
# Without virtio devices it runs -M microvm; with them, -M pc for the PCI
# transports (virtio-*-pci; INTx/MSI-X as QEMU does them) and -M microvm
# (virtio-mmio announced in its ACPI DSDT) for the mmio ones.
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
kernel= initrd= mem=256 cpus=1 params= transport=pci console=serial rng=0
devs= nd=0 virtio=0
# disk_args SPEC: -drive/-device for one --disk.
disk_args() {
	path=${1%%,*} opts= ro=off cache=writeback aio=threads serial=
	[ "$path" = "$1" ] || opts=${1#*,}
	IFS=,
	for o in $opts; do
		case "$o" in
		ro) ro=on ;;
		direct) cache=none ;;
		aio=io_uring) aio=io_uring ;;
		aio=libaio) aio=native ;;
		aio=sync) aio=threads ;;
		serial=*) serial=${o#serial=} ;;
		*) unset IFS; die "unknown disk option '$o'" ;;
		esac
	done
	unset IFS
	# QEMU's native AIO needs O_DIRECT.
	[ "$aio" != native ] || [ "$cache" = none ] || aio=threads
	devs="$devs -drive file=$path,if=none,id=d$nd,format=raw,readonly=$ro,cache=$cache,aio=$aio,discard=unmap"
	devs="$devs -device virtio-blk-$bus,drive=d$nd${serial:+,serial=$serial}$modern"
	nd=$((nd + 1))
}
# p9_args SPEC: -fsdev/-device for one --9p (QEMU's virtfs; root runs it,
# security_model=none as in tests/bench/9p.sh).
p9_args() {
	path=${1%%,*} rest= tag=kvm_9p ro=
	[ "$path" = "$1" ] || rest=${1#*,}
	IFS=,
	for o in $rest; do
		case "$o" in
		ro) ro=,readonly=on ;;
		*) tag=$o ;;
		esac
	done
	unset IFS
	devs="$devs -fsdev local,id=fs$nf,path=$path,security_model=none$ro"
	devs="$devs -device virtio-9p-$bus,fsdev=fs$nf,mount_tag=$tag$modern"
	nf=$((nf + 1))
}
# net_args SPEC: -netdev/-device for one -n, with lkvm's default MAC
# (02:15:15:15:15:15 plus the card's index) and, for a tap lkvm would make
# (no tapif=), one queue pair per vCPU; a tapif= tap's MTU other than 1500
# as host_mtu=.
net_args() {
	mode=tap nopts= tapif= script=no queues=1 vhost=
	IFS=,
	for o in $1; do
		case "$o" in
		mode=*) mode=${o#mode=} ;;
		hostfwd=*) nopts="$nopts,$o" ;;
		tapif=*) tapif=${o#tapif=} ;;
		script=*) script=${o#script=} ;;
		vhost=on) vhost=,vhost=on ;;
		*) unset IFS; die "unknown -n option '$o'" ;;
		esac
	done
	unset IFS
	mac=02:15:15:15:15:$(printf %02x $((0x15 + nn)))
	dopts=
	[ "$bus" != pci ] || dopts=,romfile=
	case "$mode" in
	user) devs="$devs -netdev user,id=n$nn$nopts" ;;
	tap)
		if [ -n "$tapif" ]; then
			devs="$devs -netdev tap,id=n$nn,ifname=$tapif,script=no,downscript=no$vhost"
			# lkvm offers the tap's MTU (VIRTIO_NET_F_MTU); QEMU
			# needs host_mtu= for that.
			mtu=$(cat "/sys/class/net/$tapif/mtu" 2>/dev/null || echo 1500)
			[ "$mtu" = 1500 ] || dopts="$dopts,host_mtu=$mtu"
		else
			queues=$cpus
			devs="$devs -netdev tap,id=n$nn,script=$script,downscript=no,queues=$queues$vhost"
			[ "$queues" = 1 ] || dopts="$dopts,mq=on,vectors=$((2 * queues + 2))"
		fi
		;;
	*) die "unknown -n mode '$mode'" ;;
	esac
	devs="$devs -device virtio-net-$bus,netdev=n$nn,mac=$mac$dopts$modern"
	nn=$((nn + 1))
}
disks= shares= nets= nf=0 nn=0
while [ $# -gt 0 ]; do
	case "$1" in
	-k|--kernel) kernel=$2; shift 2 ;;
	-i|--initrd) initrd=$2; shift 2 ;;
	-m|--mem) mem=$2; shift 2 ;;
	-c|--cpus) cpus=$2; shift 2 ;;
	-p|--params) params=$2; shift 2 ;;
	-d|--disk) disks="$disks $2"; shift 2 ;;
	--rng) rng=1; shift ;;
	--9p) shares="$shares $2"; shift 2 ;;
	-n|--network) nets="$nets $2"; shift 2 ;;
	--console) console=$2; shift 2 ;;
	--virtio-transport) transport=$2; shift 2 ;;
	--debug) shift ;;
	*) die "unknown option '$1'" ;;
	esac
done
[ -n "$kernel" ] || die "no kernel given (-k)"
[ -r "$kernel" ] || die "cannot read kernel '$kernel'"
[ -z "$initrd" ] || [ -r "$initrd" ] || die "cannot read initrd '$initrd'"
case "$transport" in
pci) bus=pci modern= ;;
pci-legacy) bus=pci modern=,disable-modern=on,disable-legacy=off ;;
mmio|mmio-legacy) bus=device modern= ;;
*) die "unknown transport '$transport'" ;;
esac
for x in $disks; do disk_args "$x"; done
for x in $shares; do p9_args "$x"; done
for x in $nets; do net_args "$x"; done
[ "$rng" = 0 ] || devs="$devs -object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-$bus,rng=rng0"
[ -z "$devs" ] && [ "$console" = serial ] || virtio=1

# microvm has no i8042 of its own; add one so reboot=k resets the machine
# (with -no-reboot QEMU then exits 0, as lkvm does). rtc=on spares the guest
# a 6 s probe of absent RTC ports. -serial stdio, not -nographic: see
# tests/bench/bench-l1.sh.
serial="-serial stdio"
if [ "$console" = virtio ]; then
	# stdin goes to hvc0 only; the UART's output still reaches stdout.
	serial="-serial file:/proc/self/fd/1 -chardev stdio,id=hvc -device virtio-serial-$bus -device virtconsole,chardev=hvc"
fi
machine="-M microvm,rtc=on -device i8042"
if [ "$virtio" = 1 ]; then
	case "$transport" in
	pci*) machine="-M pc -bios /usr/share/qemu/bios-microvm.bin -nodefaults" ;;
	mmio) machine="$machine -global virtio-mmio.force-legacy=off" ;;
	mmio-legacy) machine="$machine -global virtio-mmio.force-legacy=on" ;;
	esac
fi
# shellcheck disable=SC2086
set -- $machine -enable-kvm -cpu host -m "$mem" -smp "$cpus" \
	-display none -monitor none $serial -no-reboot $devs \
	-kernel "$kernel" \
	-append "console=ttyS0 reboot=k panic=1 i8042.nopnp=1 $params"
[ -z "$initrd" ] || set -- "$@" -initrd "$initrd"
exec "$QEMU" "$@"
