#!/bin/bash
# The smoke cases that boot the stand-in kernel (tests/smoke/guest.S) and
# so need a usable /dev/kvm.  tests/smoke/run.sh runs them on the host's
# /dev/kvm, or, on a host without one, inside a nested L1 that has a real
# KVM (tests/smoke/in-l1.sh): the same cases either way, never skipped.
#
# usage: tests/smoke/guest-cases.sh LKVM STAND_IN_KERNEL
#   SMOKE_SETTLE  seconds to let a running lkvm start its threads before
#                 /proc is read (default 0.5; more under an emulated L1)
set -u
lkvm=$1
img=$2
settle=${SMOKE_SETTLE:-0.5}
work=$(mktemp -d /tmp/lkvm-smoke-guest.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
. "$(dirname "$0")/lib.sh"
head -c 1048576 /dev/urandom >"$work/initrd.img"

# lkvm opens /dev/kvm before it reads the initrd, so this error needs KVM.
run_case missing-initrd 1 "" "cannot read initrd '/nonexistent.img'" -- run -k "$img" -i /nonexistent.img
mkfifo "$work/fifo"
run_case initrd-fifo 1 "" "initrd '$work/fifo' is not a regular file" -- run -k "$img" -i "$work/fifo"
# (-i: an initrd; with no disk and no initrd lkvm boots its 9p root.)
run_case boot-serial-reset 0 "SMOKE-OK" "" -- run -k "$img" -i "$work/initrd.img" -m 64 -c 1 -p smoke=o
run_case unclaimed-port-reads-ff 0 "PIO-FF" "" -- run -k "$img" -i "$work/initrd.img" -m 64 -c 1 -p smoke=p
run_case debug-logs-unclaimed-port 0 "PIO-FF" "unhandled port read 0x2f8" -- run -k "$img" -i "$work/initrd.img" -m 64 -c 1 --debug -p smoke=p
run_case with-initrd-smp 0 "SMOKE-OK" "" -- run -k "$img" -i "$work/initrd.img" -m 64 -c 2 -p smoke=o
# pvpanic at port 0x505: the register offers PANICKED|CRASH_LOADED; a
# PANICKED write stops the VM with status 3 and one line; CRASH_LOADED
# (the kdump kernel takes over) is logged and the VM goes on to its reset.
run_case pvpanic-panicked-exit3 3 "PVPANIC-CAPS-3" "lkvm: guest kernel panicked" -- run -k "$img" -i "$work/initrd.img" -m 64 -c 1 -p smoke=v
run_case pvpanic-crash-loaded-goes-on 0 "CRASH-LOADED" "crash (kdump) kernel takes over" -- run -k "$img" -i "$work/initrd.img" -m 64 -c 1 -p smoke=k
run_case kernel-does-not-fit 1 "" "of guest RAM (.*), the guest has 8 MiB: give -m [0-9]*M or more" -- run -k "$img" -i "$work/initrd.img" -m 8 -c 1 -p smoke=o
truncate -s 80M "$work/big.img"
run_case initrd-does-not-fit 1 "" "does not fit in guest memory" -- run -k "$img" -i "$work/big.img" -m 64 -c 1 -p smoke=o
long=$(head -c 3000 /dev/zero | tr '\0' x)
run_case cmdline-too-long 1 "" "command line is" -- run -k "$img" -i "$work/initrd.img" -m 64 -p "$long"

# --- virtio devices: set up on every transport, then the guest boots ---
# (the stand-in kernel has no virtio driver; the nested e2e drives them).
truncate -s 8M "$work/disk0.img" "$work/disk1.img"
: >"$work/empty.img"
for tr in pci pci-legacy mmio mmio-legacy; do
	run_case "virtio-devices-$tr" 0 "SMOKE-OK" "" -- run -k "$img" -m 64 -c 2 \
		--virtio-transport $tr -d "$work/disk0.img" -d "$work/disk1.img,ro,serial=S1" \
		--rng --console virtio -p smoke=o
done
run_case disk-missing 1 "" "disk '/nonexistent.img' does not exist" -- run -k "$img" -m 64 -d /nonexistent.img -p smoke=o
# A directory is not a disk but the 9p root (lkvm sandbox's block below).
run_case disk-directory-is-9p-root 1 "" "cannot read the release of kernel '$img'" -- run -k "$img" -m 64 -d "$work" -p smoke=o
run_case disk-empty 1 "" "is empty" -- run -k "$img" -m 64 -d "$work/empty.img" -p smoke=o
run_case disk-bad-option 2 "" "unknown disk option 'rw'" -- run -k "$img" -d "$work/disk0.img,rw"
# virtio-mmio has one interrupt line per device: 15 on x86, all usable
# (one more is a usage error before KVM: tests/smoke/run.sh).
many15=""
for i in $(seq 0 14); do
	truncate -s 1M "$work/many$i.img"
	many15="$many15 -d $work/many$i.img"
done
# shellcheck disable=SC2086
run_case many-mmio-disks 0 "SMOKE-OK" "" -- run -k "$img" -m 64 --virtio-transport mmio $many15 -p smoke=o
# An image in a format lkvm does not read: one line saying how to convert it.
printf 'QFI\373\0\0\0\3' >"$work/x.qcow2"
truncate -s 1M "$work/x.qcow2"
run_case disk-qcow2 1 "" "disk '$work/x.qcow2' is a qcow2 image; lkvm reads raw images only: convert it with 'qemu-img convert -O raw $work/x.qcow2 $work/x.img', or add ,format=raw" -- run -k "$img" -m 64 -d "$work/x.qcow2" -p smoke=o
run_case disk-qcow2-format-raw 0 "SMOKE-OK" "" -- run -k "$img" -m 64 -d "$work/x.qcow2,format=raw" -p smoke=o

# --- virtio-9p: exports set up on every transport, then the guest boots ---
# (-i: an initrd, so the root is not the 9p root lkvm builds without one).
mkdir -p "$work/share"
echo hello >"$work/share/file"
for tr in pci pci-legacy mmio mmio-legacy; do
	run_case "9p-$tr" 0 "SMOKE-OK" "" -- run -k "$img" -i "$work/initrd.img" -m 64 -c 1 \
		--virtio-transport $tr --9p "$work/share" --9p "$work/share,second,ro" -p smoke=o
done
run_case 9p-missing-dir 1 "" "9p export '/nonexistent-9p-dir'" -- run -k "$img" -i "$work/initrd.img" -m 64 --9p /nonexistent-9p-dir -p smoke=o
run_case 9p-not-a-directory 1 "" "9p export '$work/share/file'" -- run -k "$img" -i "$work/initrd.img" -m 64 --9p "$work/share/file" -p smoke=o
run_case 9p-bad-option 2 "" "unknown 9p option 'rw' in --9p" -- run -k "$img" --9p "$work/share,tag,rw"
run_case 9p-duplicate-tag 2 "" "9p tag 'kvm_9p' is used twice; give each --9p its own tag" -- run -k "$img" --9p "$work/share" --9p "$work"
run_case 9p-tag-too-long 2 "" "is longer than 64 bytes" -- run -k "$img" --9p "$work/share,$(head -c 65 /dev/zero | tr '\0' t)"
# passthrough needs root.  Only testable where an unprivileged user may open
# /dev/kvm (the error comes when the device is created, after KVM is open).
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ] &&
   setpriv --reuid=65534 --regid=65534 --clear-groups test -r /dev/kvm -a -w /dev/kvm; then
	chmod 755 "$work" && chmod 777 "$work/share"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$lkvm" run -k "$img" -i "$work/initrd.img" -m 64 \
		--9p "$work/share,passthrough" -p smoke=o </dev/null >"$work/out" 2>"$work/err"
	rc=$?
	if [ $rc = 1 ] && grep -q "passthrough needs root" "$work/err" &&
	   [ "$(wc -l <"$work/err")" = 1 ]; then
		result 9p-passthrough-needs-root 0 ""
	else
		result 9p-passthrough-needs-root 1 "rc=$rc"
	fi
	chmod 700 "$work"
fi
# With passthrough, lkvm keeps exactly CAP_CHOWN, CAP_DAC_OVERRIDE,
# CAP_FOWNER, CAP_FSETID and CAP_MKNOD (bits 0, 1, 3, 4 and 27).
if [ "$(id -u)" = 0 ]; then
	"$lkvm" run -k "$img" -i "$work/initrd.img" -m 64 -c 1 --9p "$work/share,passthrough" -p smoke=h \
		</dev/null >"$work/out" 2>"$work/err" &
	pid=$!
	sleep "$settle"
	# Capabilities are per thread: every thread, workers included.
	caps=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$pid/task/*/status | sort -u | tr '\n' ' ')
	nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/$pid/task/*/status | sort -u | tr '\n' ' ')
	kill -TERM $pid; wait $pid
	rc=$?
	if [ $rc = 0 ] && [ "$caps" = "000000000800001b " ] && [ "$nnp" = "1 " ]; then
		result 9p-passthrough-keeps-five-caps 0 ""
	else
		result 9p-passthrough-keeps-five-caps 1 "rc=$rc CapEff=$caps NoNewPrivs=$nnp"
	fi
fi

# A guest lkvm cannot run: exit 1 with the exit reason and the registers.
timeout -k 5 20 "$lkvm" run -k "$img" -i "$work/initrd.img" -m 64 -c 1 -p smoke=x </dev/null >"$work/out" 2>"$work/err"
rc=$?
if [ $rc = 1 ] && grep -q "EXEC-MMIO" "$work/out" && grep -q "KVM_EXIT_INTERNAL_ERROR" "$work/err" &&
   grep -q "rip 00000000c0000000" "$work/err"; then
	result internal-error-report 0 ""
else
	result internal-error-report 1 "rc=$rc"
fi

# /dev/kvm that the user may not open: one line saying so.
# (The kernel and initrd are read first, so they must be readable to the
# unprivileged user.)
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	pub=$(mktemp -d /tmp/lkvm-smoke-pub.XXXXXX)
	chmod 755 "$pub"
	cp "$img" "$pub/kernel"
	cp "$work/initrd.img" "$pub/initrd.img"
	chmod 644 "$pub/kernel" "$pub/initrd.img"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$lkvm" run -k "$pub/kernel" -i "$pub/initrd.img" \
		</dev/null >"$work/out" 2>"$work/err"
	rc=$?
	if [ $rc = 1 ] && grep -q "/dev/kvm: permission denied" "$work/err" &&
	   [ "$(wc -l <"$work/err")" = 1 ]; then
		result dev-kvm-permission 0 ""
	else
		result dev-kvm-permission 1 "rc=$rc"
	fi
	rm -rf "$pub"
fi

# stdin (a pipe, not a tty) reaches the UART; the guest echoes it back.
printf 'hello-lkvm-42q' | timeout -k 5 20 "$lkvm" run -k "$img" -i "$work/initrd.img" -m 64 -c 1 -p smoke=e >"$work/out" 2>"$work/err"
rc=$?
if [ $rc = 0 ] && grep -q "ECHO-READY" "$work/out" && grep -q "hello-lkvm-42" "$work/out"; then
	result stdin-pipe-echo 0 ""
else
	result stdin-pipe-echo 1 "rc=$rc"
fi

# SIGTERM stops a running guest cleanly with status 0; so does SIGINT.
for sig in TERM INT; do
	timeout -k 5 20 "$lkvm" run -k "$img" -i "$work/initrd.img" -m 64 -c 2 -p smoke=h </dev/null >"$work/out" 2>"$work/err" &
	pid=$!
	sleep "$settle"
	kill -$sig $pid
	wait $pid
	rc=$?
	if [ $rc = 0 ] && grep -q "SIG$sig received" "$work/err"; then
		result sig$(echo $sig | tr A-Z a-z)-stops-vm 0 ""
	else
		result sig$(echo $sig | tr A-Z a-z)-stops-vm 1 "rc=$rc"
	fi
done

# Started with stdin closed (`<&-`), lkvm's own files must not become fd 0:
# the console reader would eat the stop eventfd and SIGTERM would hang.
timeout -k 5 20 "$lkvm" run -k "$img" -i "$work/initrd.img" -m 64 -c 1 -p smoke=h <&- >"$work/out" 2>"$work/err" &
pid=$!
sleep "$settle"
kill -TERM $pid
wait $pid
rc=$?
if [ $rc = 0 ] && grep -q "SIGTERM received" "$work/err"; then
	result closed-stdin-sigterm 0 ""
else
	result closed-stdin-sigterm 1 "rc=$rc"
fi

# Once the guest runs, lkvm holds no capabilities and cannot gain any: in
# every thread (capabilities are per thread), device and 9p workers and the
# disk thread pool included.
mkdir -p "$work/caps-share"
truncate -s 1M "$work/caps.img"
"$lkvm" run -k "$img" -i "$work/initrd.img" -m 64 -c 1 --rng --9p "$work/caps-share" \
	-d "$work/caps.img,aio=sync" -p smoke=h </dev/null >"$work/out" 2>"$work/err" &
pid=$!
sleep "$settle"
nthreads=$(ls /proc/$pid/task | wc -l)
caps=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$pid/task/*/status | sort -u | tr '\n' ' ')
nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/$pid/task/*/status | sort -u | tr '\n' ' ')
kill -TERM $pid; wait $pid
if [ "$caps" = "0000000000000000 " ] && [ "$nnp" = "1 " ] && [ "$nthreads" -gt 8 ]; then
	result privileges-dropped 0 ""
else
	result privileges-dropped 1 "threads=$nthreads CapEff=$caps NoNewPrivs=$nnp"
fi

# /dev/kvm missing: one clear line (private mount namespace hides it).
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	unshare -m sh -c "mount -t tmpfs none /dev && exec '$lkvm' run -k '$img' -i '$work/initrd.img' -m 64" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
	if [ $rc = 1 ] && grep -q "/dev/kvm does not exist" "$work/err" && [ "$(wc -l <"$work/err")" = 1 ]; then
		result no-dev-kvm 0 ""
	else
		result no-dev-kvm 1 "rc=$rc"
	fi
	# Something that is not KVM at /dev/kvm: the API check names the problem.
	unshare -m sh -c "mount --bind /dev/null /dev/kvm && exec '$lkvm' run -k '$img' -i '$work/initrd.img' -m 64" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
	if [ $rc = 1 ] && grep -q "/dev/kvm: KVM_GET_API_VERSION failed: Inappropriate ioctl for device (is it a KVM device?)" "$work/err" &&
	   [ "$(wc -l <"$work/err")" = 1 ]; then
		result not-kvm-device 0 ""
	else
		result not-kvm-device 1 "rc=$rc"
	fi
fi

# The terminal: raw while the guest runs, restored however lkvm ends.
if command -v script >/dev/null; then
	cat >"$work/tty.sh" <<TTY
stty -g >"$work/before"
"$lkvm" run -k "$img" -i "$work/initrd.img" -m 64 -p smoke=o >/dev/null 2>&1
stty -g >"$work/after-reset"
"$lkvm" run -k "$img" -i "$work/initrd.img" -m 64 -p smoke=h </dev/tty >/dev/null 2>&1 &
sleep "$settle"
stty -g >"$work/during"
kill -TERM \$!
wait
stty -g >"$work/after-sigterm"
TTY
	timeout -k 5 30 script -qec "sh $work/tty.sh" /dev/null >/dev/null 2>&1
	if [ -s "$work/before" ] && cmp -s "$work/before" "$work/after-reset" &&
	   cmp -s "$work/before" "$work/after-sigterm" &&
	   ! cmp -s "$work/before" "$work/during"; then
		result tty-raw-and-restored 0 ""
	else
		result tty-raw-and-restored 1 "before=$(cat "$work/before" 2>/dev/null) during=$(cat "$work/during" 2>/dev/null) after=$(cat "$work/after-sigterm" 2>/dev/null)"
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
