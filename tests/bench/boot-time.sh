#!/bin/bash
# Boot-time benchmark: lkvm against QEMU -M microvm, both booting the same
# Debian kernel and busybox initramfs as L2 inside one nested-KVM L1 (QEMU
# TCG with emulated AMD SVM; see tests/e2e/x86/run.sh). Not part of make check.
#
# usage: tests/bench/boot-time.sh [--lkvm PATH] [--vmm-wrapper SCRIPT |
#                                 --qemu-shim] [--baseline PATH]
#                                 [--runs N] [--timeout S]
#
#   --lkvm PATH          lkvm binary (default: ./lkvm at the top)
#   --vmm-wrapper SCRIPT put SCRIPT in L1 as "lkvm" instead (e.g. to check
#                        the benchmark itself); also LKVM_E2E_WRAPPER
#   --qemu-shim          same as --vmm-wrapper tests/e2e/x86/qemu-shim.sh
#   --baseline PATH      another lkvm binary (an earlier build) booted in
#                        the same runs as "base" (bzImage and PVH), with
#                        lkvm/base ratios: before/after a change, same L1
#   --runs N             boots per VMM (default 5), alternating lkvm, qemu
#   --timeout S          limit for the whole L1 run (default 1200)
#
# For each boot it measures, inside L1 and with bootstamp (tests/bench/tools/),
# milliseconds from spawning the VMM to the L2 init's marker and to the
# VMM's exit. Prints each run, the medians and the ratios lkvm/qemu. Wall
# times under TCG are slow and noisy: compare only within one run.
set -eu
LKVM_PROG=bench
. "$(dirname "$0")/../e2e/lib/host.sh"

lkvm_bin=$LKVM_TOP/lkvm
wrapper=${LKVM_E2E_WRAPPER:-}
baseline=
runs=5
l1_timeout=1200

usage() { sed -n '/^# usage:/,/^#   --timeout/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--lkvm) lkvm_bin=$2; shift 2 ;;
	--vmm-wrapper) wrapper=$2; shift 2 ;;
	--qemu-shim) wrapper=$LKVM_TESTS_DIR/e2e/x86/qemu-shim.sh; shift ;;
	--baseline) baseline=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--timeout) l1_timeout=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "bench: unknown option '$1'" >&2; usage ;;
	esac
done
case "$runs" in ''|*[!0-9]*|0) lkvm_die "--runs needs a positive number" ;; esac
[ -z "$baseline" ] || [ -x "$baseline" ] || lkvm_die "--baseline $baseline: not an executable"
vmms="lkvm qemu lkvm_pvh qemu_pvh${baseline:+ base base_pvh}"

lkvm_check_host_tools
lkvm_check_vmm "$wrapper" "$lkvm_bin"
lkvm_fetch_kernel
lkvm_build_l2_initrd
BOOTSTAMP=$(lkvm_build_static_tool bootstamp "$LKVM_TESTS_DIR/bench/tools/bootstamp.c") || exit 2

lkvm_scratch bench
printf 'BENCH_RUNS=%s\nBENCH_TIMEOUT=%s\nBENCH_VMMS="%s"\n' "$runs" 120 "$vmms" >"$conf"
lkvm_stage_l1 "$stage" "$LKVM_TESTS_DIR/bench/bench-l1.sh" "$conf"
lkvm_stage_qemu "$stage"
lkvm_extract_vmlinux
cp "$VMLINUX" "$stage/l2/vmlinux"
install -m 755 "$BOOTSTAMP" "$stage/usr/bin/bootstamp"
if [ -n "$wrapper" ]; then
	install -m 755 "$wrapper" "$stage/usr/bin/lkvm"
else
	lkvm_stage_binary "$stage" "$lkvm_bin" /usr/bin/lkvm
fi
[ -z "$baseline" ] || lkvm_stage_binary "$stage" "$baseline" /usr/bin/lkvm-base
l1_image=$(lkvm_pack_cached "$stage" "$LKVM_BUILD/l1-bench")

lkvm_log "lkvm: $vmm_desc; qemu: $(command -v qemu-system-x86_64) -M microvm; $runs runs each"
lkvm_bench_boot_l1 bench "$l1_image" "$l1_timeout"

field() { sed -n "s/^BENCH $1 run=[0-9]* .*$2=\([-0-9]*\).*/\1/p" "$results"; }

ok=1
lkvm_bench_finished bench "$results" "$log" || ok=0

echo
echo "boot time inside one L1 (ms from spawn; $runs runs each; console: $log)"
printf '%-8s %5s %10s %10s %7s\n' vmm run marker_ms exit_ms status
sed -n 's/^BENCH \(lkvm\|qemu\|lkvm_pvh\|qemu_pvh\|base\|base_pvh\) run=\([0-9]*\) marker_ms=\([-0-9]*\) exit_ms=\([-0-9]*\) status=\([0-9]*\).*/\1 \2 \3 \4 \5/p' "$results" |
	while read -r v r m e s; do printf '%-8s %5s %10s %10s %7s\n' "$v" "$r" "$m" "$e" "$s"; done
for v in $vmms; do
	n=$(field "$v" marker_ms | wc -l)
	[ "$n" = "$runs" ] || { echo "bench: only $n of $runs $v runs reported"; ok=0; }
	field "$v" marker_ms | grep -qx -- -1 && { echo "bench: $v never showed the L2 marker in some run"; ok=0; }
done
for v in $vmms; do
	printf 'median %-8s marker_ms=%s exit_ms=%s\n' "$v" "$(field $v marker_ms | median)" "$(field $v exit_ms | median)"
done
# ratio A B LABEL: medians of A over B, to the marker and to exit.
ratio() {
	local am ae bm be
	am=$(field "$1" marker_ms | median) ae=$(field "$1" exit_ms | median)
	bm=$(field "$2" marker_ms | median) be=$(field "$2" exit_ms | median)
	[ -n "$am" ] && [ -n "$bm" ] && [ "${bm:-0}" -gt 0 ] && [ "${be:-0}" -gt 0 ] || return 0
	awk -v a="$am" -v b="$bm" -v c="$ae" -v d="$be" -v l="$3" \
		'BEGIN { printf "ratio %s: marker %.2f, exit %.2f\n", l, a / b, c / d }'
}
ratio lkvm qemu "lkvm/qemu (bzImage)"
ratio lkvm_pvh qemu_pvh "lkvm/qemu (PVH vmlinux)"
ratio lkvm_pvh lkvm "lkvm PVH/bzImage"
if [ -n "$baseline" ]; then
	ratio lkvm base "lkvm/base (bzImage)"
	ratio lkvm_pvh base_pvh "lkvm/base (PVH vmlinux)"
fi
[ "$ok" = 1 ] || { echo "bench: FAILED (see above)"; exit 1; }
