#!/bin/bash
# Fast smoke tests: a tiny 64-bit stand-in kernel (tests/smoke/guest.S)
# drives lkvm's boot path, vCPU loop, port bus, UART, i8042 reset and signal
# handling in well under a second per case, plus the user-error paths that
# need no guest at all.  Real Linux guests are the nested e2e suite's job
# (tests/e2e/).
#
# The guest cases (tests/smoke/guest-cases.sh) run on the host's /dev/kvm;
# a host without a usable one (or SMOKE_IN_L1=1) runs them inside a nested
# L1 under QEMU instead (tests/smoke/in-l1.sh), so they always run.
#
# usage: tests/smoke/run.sh [--lkvm PATH]
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
lkvm=$top/lkvm
[ "${1:-}" = --lkvm ] && lkvm=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
work=$(mktemp -d /tmp/lkvm-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
. "$top/tests/smoke/lib.sh"

[ -x "$lkvm" ] || { echo "smoke: no lkvm at $lkvm (run make)" >&2; exit 2; }
# Build the stand-in kernel.
if ! gcc -c "$top/tests/smoke/guest.S" -o "$work/guest.o" ||
   ! objcopy -O binary -j .text "$work/guest.o" "$work/smoke.bzImage"; then
	echo "smoke: cannot assemble tests/smoke/guest.S (needs gcc/binutils)" >&2
	exit 2
fi
img=$work/smoke.bzImage

# --- user errors: no KVM needed ---
run_case not-bzimage 1 "" "is not a bzImage" -- run -k /etc/hostname
run_case missing-kernel 1 "" "cannot read kernel '/nonexistent'" -- run -k /nonexistent
# Not a regular file: refused at once (a FIFO used to block in open()).
mkfifo "$work/fifo"
run_case kernel-fifo 1 "" "kernel '$work/fifo' is not a regular file" -- run -k "$work/fifo"
run_case kernel-char-device 1 "" "kernel '/dev/zero' is not a regular file" -- run -k /dev/zero
run_case bad-mem 2 "" "memory size '0' for -m is out of range: give 4 MiB to 1 TiB" -- run -k "$img" -m 0
run_case bad-cpus 2 "" "invalid CPU count '0'" -- run -k "$img" -c 0
run_case unknown-option 2 "" "unknown option '--bogus'" -- run --bogus "$img"
run_case no-kernel 2 "" "no kernel given" -- run -m 128
# Other tools' habits: one line saying what lkvm does instead.
run_case kvmtool-option 2 "" "--sandbox (a kvmtool option) is not supported by lkvm; use 'lkvm sandbox -- CMD'" -- run --sandbox x.sh "$img"
run_case kvmtool-command 2 "" "'lkvm stop' (a kvmtool command) is not supported by lkvm" -- stop
run_case qemu-option 2 "" "unknown option '-kernel' (did you mean '--kernel'?)" -- run -kernel "$img"
run_case qemu-smp 2 "" "-smp (a QEMU option) is not supported by lkvm; did you mean '--cpus'?" -- run -k "$img" -smp 2
run_case option-as-value 2 "" "option '-k' needs a value (got option '-i')" -- run -k -i "$work/initrd.img"
run_case run-option-as-command 2 "" "did you mean 'lkvm run -k ...'?" -- -k "$img"
run_case command-typo 2 "" "unknown command 'rnu' (did you mean 'run'?" -- rnu
run_case option-typo 2 "" "unknown option '--dsik' (did you mean '--disk'?" -- run --dsik x.img "$img"
run_case given-twice 2 "" "--initrd given twice ('a' and 'b')" -- run -k "$img" -i a -i b
run_case version-extra 2 "" "unexpected argument 'extra'" -- version extra
run_case help-extra 2 "" "unexpected argument 'extra'" -- help run extra
# A file name's control characters are escaped, not sent to the terminal.
run_case escaped-name 1 "" "cannot read kernel '.x1b\[31mX'" -- run -k $'\e[31mX'
if grep -q $'\e' "$work/err"; then
	result escaped-name-raw 1 "an ESC byte reached stderr"
else
	result escaped-name-raw 0 ""
fi
# make STATIC=1: a static lkvm (no dynamic loader at start-up) still
# builds and runs.
if make -s -j2 -C "$top" STATIC=1 O="$work/static" >"$work/static.log" 2>&1 &&
   ! ldd "$work/static/lkvm" >/dev/null 2>&1 &&
   "$work/static/lkvm" version | grep -q '^lkvm version '; then
	result static-build 0 ""
else
	result static-build 1 "make STATIC=1: $(grep -m1 -e 'rror' -e 'dynamic' "$work/static.log" || echo 'a dynamic executable')"
fi
# Closed standard descriptors (`<&- >&-`) are /dev/null to lkvm: the usual
# one error line, nothing written into a file lkvm opened.
timeout -k 5 20 "$lkvm" run -k /nonexistent <&- >&- 2>"$work/err"
rc=$?
if [ "$rc" = 1 ] && [ "$(wc -l <"$work/err")" = 1 ] &&
   grep -q "cannot read kernel '/nonexistent'" "$work/err"; then
	result closed-std-fds 0 ""
else
	result closed-std-fds 1 "exit status $rc"
fi
# Output that cannot be written is an error, not a silent exit 0.
for args in "version" "help" "run --help"; do
	timeout -k 5 20 "$lkvm" $args >/dev/full 2>"$work/err"
	rc=$?
	if [ "$rc" = 1 ] && [ "$(wc -l <"$work/err")" = 1 ] &&
	   grep -q "lkvm: error: cannot write to standard output: No space left on device" "$work/err"; then
		result "full-stdout-${args// /-}" 0 ""
	else
		result "full-stdout-${args// /-}" 1 "exit status $rc"
	fi
done
# More virtio devices than the transport takes: one line with the real
# limit (31 PCI slots; 15 interrupt lines for mmio on x86), before KVM.
many=""
for i in $(seq 0 31); do
	truncate -s 1M "$work/many$i.img"
	many="$many -d $work/many$i.img"
done
# shellcheck disable=SC2086
run_case too-many-pci-disks 2 "" "too many virtio devices for --virtio-transport pci (the default): 32 given (32 virtio-blk), at most 31 on x86 (one PCI slot each)" -- run -k "$img" -i "$img" $many
many16=""
for i in $(seq 0 15); do many16="$many16 -d $work/many$i.img"; done
# shellcheck disable=SC2086
run_case too-many-mmio-disks 2 "" "at most 15 on x86 (one interrupt line each); --virtio-transport pci allows 31" -- run -k "$img" -i "$img" --virtio-transport mmio $many16
# The same image twice, by any path: not "locked by another process".
run_case disk-given-twice 2 "" "disk '$work/many0.img' given twice" -- run -k "$img" -d "$work/many0.img" -d "$work/many0.img"
: >"$work/a,b.img"
run_case disk-comma-escape 2 "" "disk '$work/a,b.img' given twice" -- run -k "$img" -d "$work/a,,b.img" -d "$work/a,,b.img,ro"

# Something that is not KVM at /dev/kvm (a private mount namespace puts
# /dev/null there): the failing ioctl and its errno, not "API version -1".
if unshare -m true 2>/dev/null; then
	: >"$work/nullb"
	unshare -m sh -c "mount --bind /dev/null '$work/nullb' && mount -t tmpfs none /dev && : >/dev/kvm && mount --bind '$work/nullb' /dev/kvm && exec '$lkvm' run -k '$img' -i '$img' -m 64" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
	if [ $rc = 1 ] && grep -q "/dev/kvm: KVM_GET_API_VERSION failed: Inappropriate ioctl for device (is it a KVM device?)" "$work/err" &&
	   [ "$(wc -l <"$work/err")" = 1 ]; then
		result not-kvm-device-host 0 ""
	else
		result not-kvm-device-host 1 "rc=$rc"
	fi
fi

# --- lkvm setup / lkvm sandbox: the setup layout and the errors that need
# no guest (the nested e2e boots real sandboxes).  HOME is a scratch
# directory, so ~/.lkvm is $work/home/.lkvm.
home=$work/home
mkdir -p "$home"
HOME=$home run_case setup-creates 0 "lkvm run -d box" "" -- setup box
inst=$home/.lkvm/box
if [ -d "$inst/host" ] && [ -d "$inst/etc" ] && [ -d "$inst/var/lib" ] &&
   [ "$(readlink "$inst/bin")" = /host/bin ] && [ "$(readlink "$inst/usr")" = /host/usr ] &&
   grep -qx 'root:x:0:0:root:/root:/bin/sh' "$inst/etc/passwd" &&
   [ "$(cat "$inst/etc/hostname")" = box ] &&
   [ "$(stat -c %a "$inst/tmp")" = 1777 ] && [ "$(ls -A "$home/.lkvm")" = box ]; then
	result setup-layout 0 ""
else
	result setup-layout 1 "$(ls -la "$inst" 2>&1 | tr '\n' ' ')"
fi
HOME=$home run_case setup-exists 1 "" "$inst already exists" -- setup box
run_case setup-bad-name 2 "" "invalid name '.box'" -- setup .box
run_case setup-no-name 2 "" "lkvm setup needs one NAME" -- setup
run_case help-setup 0 "usage: lkvm setup NAME" "" -- help setup
run_case help-sandbox 0 "usage: lkvm sandbox" "" -- sandbox --help
run_case sandbox-no-command 2 "" "lkvm sandbox needs a command" -- sandbox -k "$img"
run_case sandbox-empty-command 2 "" "lkvm sandbox needs a command" -- sandbox -k "$img" --
run_case sandbox-bad-option 2 "" "unknown option '--bogus'" -- sandbox --bogus -- true
run_case sandbox-with-initrd 2 "" "-i/--initrd cannot be used" -- sandbox -k "$img" -i "$work/initrd.img" -- true
HOME=$home run_case sandbox-missing-kernel 1 "" "cannot read kernel '/nonexistent'" -- sandbox -k /nonexistent -- true
# The stand-in kernel has no release string: one line, and nothing made.
HOME=$home run_case sandbox-no-release 1 "" "cannot read the release of kernel '$img'" -- sandbox -k "$img" -- true
if [ -e "$home/.lkvm/default" ]; then
	result sandbox-error-makes-nothing 1 "$home/.lkvm/default was created"
else
	result sandbox-error-makes-nothing 0 ""
fi
# No -k: /boot/vmlinuz-$(uname -r), as kvmtool; this host has none.
if [ ! -e "/boot/vmlinuz-$(uname -r)" ]; then
	want="no kernel given and /boot/vmlinuz-$(uname -r) does not exist (use -k/--kernel PATH)"
	run_case run-default-kernel 2 "" "$want" -- run -m 128
	HOME=$home run_case sandbox-default-kernel 2 "" "$want" -- sandbox -- true
fi

# --- the guest cases: on the host's /dev/kvm, or in a nested L1 ---
if [ -w /dev/kvm ] && [ -z "${SMOKE_IN_L1:-}" ]; then
	guest=("$top/tests/smoke/guest-cases.sh" "$lkvm" "$img")
else
	echo "smoke: no usable /dev/kvm on this host: the guest cases run in a nested L1 (tests/smoke/in-l1.sh)"
	guest=("$top/tests/smoke/in-l1.sh" --lkvm "$lkvm")
fi
"${guest[@]}" 2>&1 | tee "$work/guest.log"
guest_rc=${PIPESTATUS[0]}
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/guest.log" | tail -n 1)
if [ "$guest_rc" = 77 ] && [ -z "$line" ]; then
	# The L1's kernel could not be downloaded: the host-only cases above
	# still count; run-all reports the guest cases as skipped, not passed.
	echo "smoke: guest cases skipped: no network"
	echo "$pass passed, $fail failed"
	exit 77
elif [ -z "$line" ]; then
	result guest-cases 1 "no result line from ${guest[0]##*/}"
else
	pass=$((pass + ${line%% passed*}))
	f=${line#*passed, }
	fail=$((fail + ${f%% failed*}))
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
