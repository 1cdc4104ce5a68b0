#!/bin/bash
# The smoke suite's guest cases (tests/smoke/guest-cases.sh) inside a nested
# L1, for hosts whose own /dev/kvm is missing or unusable: QEMU (TCG,
# emulated AMD SVM) boots the e2e suite's L1 kernel, whose kvm-amd gives a
# real /dev/kvm, and the cases run there with the same lkvm binary and the
# same stand-in kernel.  bash, util-linux's setpriv and script go into L1
# too, so no case is left out for want of a tool.
#
# usage: tests/smoke/in-l1.sh [--lkvm PATH] [--verbose]
#
# Prints the cases' SMOKE lines and ends with "N passed, N failed"; an L1
# that did not run them all counts as one more failure.
set -eu
LKVM_PROG=smoke
. "$(dirname "$0")/../e2e/lib/host.sh"

lkvm_bin=$LKVM_TOP/lkvm
verbose=0
while [ $# -gt 0 ]; do
	case "$1" in
	--lkvm) lkvm_bin=$2; shift 2 ;;
	--verbose|-v) verbose=1; shift ;;
	*) lkvm_die "unknown option '$1' (usage: tests/smoke/in-l1.sh [--lkvm PATH] [--verbose])" ;;
	esac
done
l1_timeout=600

lkvm_check_host_tools
lkvm_need setpriv util-linux
lkvm_need script bsdutils
lkvm_check_vmm "" "$lkvm_bin"
lkvm_fetch_kernel
lkvm_build_l2_initrd

lkvm_scratch smoke
: >"$conf"
lkvm_stage_l1 "$stage" "$LKVM_TESTS_DIR/smoke/l1-payload.sh" "$conf"
lkvm_stage_binary "$stage" "$lkvm_bin" /usr/bin/lkvm
lkvm_build_smoke_guest "$stage/l2/smoke.bzImage"
mkdir -p "$stage/smoke"
install -m 755 "$LKVM_TESTS_DIR/smoke/guest-cases.sh" "$stage/smoke/guest-cases.sh"
install -m 644 "$LKVM_TESTS_DIR/smoke/lib.sh" "$stage/smoke/lib.sh"
# The real tools, not busybox's applets (busybox has no script, and its
# setpriv no --reuid): unlink the applet links first, or cp would write
# through them into busybox.
for tool in bash setpriv script; do
	path=$(command -v "$tool")
	rm -f "$stage/bin/$tool" "$stage/usr/bin/$tool"
	lkvm_stage_binary "$stage" "$path" "/usr/bin/$tool"
done
rm -f "$stage/bin/bash"
ln -s /usr/bin/bash "$stage/bin/bash"
l1_image=$(lkvm_pack_cached "$stage" "$LKVM_BUILD/l1-smoke")
rm -f "$conf"

lkvm_new_log smoke
log=$LOG
lkvm_on_line() {
	case "$1" in
	"SMOKE "*|"--- "*|"  | "*|E2E-L1-FATAL*|E2E-L1-KVM-READY*) printf '%s\n' "$1" ;;
	*) [ "$verbose" = 0 ] || printf '%s\n' "$1" ;;
	esac
}
: >"$results"
lkvm_boot_l1 "$l1_image" "$l1_timeout" | lkvm_watch_l1 150 "$log" "$results"
line=$(sed -n 's/^E2E-SMOKE-RESULT \([0-9]* passed, [0-9]* failed\)$/\1/p' "$results" | tail -n 1)
if [ -z "$line" ] || ! grep -q '^E2E-L1-DONE' "$results"; then
	lkvm_e2e_verdict smoke "" "$results" "$log" \
		"$(sed -n 's/^E2E-HOST-QEMU-EXIT //p' "$results" | tail -n1)" "$l1_timeout"
	p=$(grep -c '^SMOKE .*: PASS' "$log" || true)
	f=$(grep -c '^SMOKE .*: FAIL' "$log" || true)
	echo "smoke: the nested L1 did not run every guest case; full console: $log"
	echo "$p passed, $((f + 1)) failed"
	exit 1
fi
echo "smoke: guest cases in a nested L1; full console: $log"
echo "$line"
case "$line" in *" 0 failed") exit 0 ;; *) exit 1 ;; esac
