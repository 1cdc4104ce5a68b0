#!/bin/bash
# Boot-time benchmark: lkvm against kvmtool and QEMU -M microvm, all booting
# the same Debian kernel and busybox initramfs as L2 inside one nested-KVM
# L1 (QEMU TCG with emulated AMD SVM; see tests/e2e/x86/run.sh). Not part
# of make check.
#
# usage: tests/bench/boot-time.sh [--lkvm PATH] [--vmm-wrapper SCRIPT |
#                                 --qemu-shim] [--kvmtool PATH]
#                                 [--baseline PATH] [--vmms LIST]
#                                 [--runs N] [--timeout S]
#
#   --lkvm PATH          lkvm binary (default: ./lkvm at the top)
#   --vmm-wrapper SCRIPT put SCRIPT in L1 as "lkvm" instead (e.g. to check
#                        the benchmark itself); also LKVM_E2E_WRAPPER
#   --qemu-shim          same as --vmm-wrapper tests/e2e/x86/qemu-shim.sh
#   --kvmtool PATH       the kvmtool binary to compare with (static; default:
#                        built once from ../shared/peers; without either the
#                        kvmtool rows are skipped)
#   --baseline PATH      another lkvm binary (an earlier build) booted in
#                        the same runs as "base" (bzImage and PVH), with
#                        lkvm/base ratios: before/after a change, same L1
#   --vmms LIST          the rows, comma-separated (default lkvm,lkvm_pvh,
#                        kvmtool,qemu,qemu_pvh; lkvm_nopvh follows lkvm when
#                        lkvm has --no-pvh; also qemu_a, qemu_b, qemu_c and
#                        their _pvh: the microvm variants in bench-l1.sh)
#   --runs N             timed boots per row (default 5), the rows
#                        alternating, after one untimed warm-up boot each
#   --timeout S          limit for the L1 run (default 600 s + 40 s a boot)
#
# For each boot it measures, inside L1 and with bootstamp (tests/bench/tools/),
# milliseconds from spawning the VMM to the L2 init's marker and to the
# VMM's exit. Prints each run, the medians, the ratios of every lkvm row to
# kvmtool and to QEMU's fastest row, and the goals; then lkvm's per-phase
# figures (lkvm bench boot) where the lkvm has them. Wall times under TCG
# are slow and noisy: compare only within one run.
set -eu
LKVM_PROG=bench
. "$(dirname "$0")/../e2e/lib/host.sh"

lkvm_bin=$LKVM_TOP/lkvm
wrapper=${LKVM_E2E_WRAPPER:-}
kvmtool_arg=
baseline=
vmms="lkvm lkvm_pvh kvmtool qemu qemu_pvh"
runs=5
l1_timeout=

usage() { sed -n '/^# usage:/,/^#   --timeout/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--lkvm) lkvm_bin=$2; shift 2 ;;
	--vmm-wrapper) wrapper=$2; shift 2 ;;
	--qemu-shim) wrapper=$LKVM_TESTS_DIR/e2e/x86/qemu-shim.sh; shift ;;
	--kvmtool) kvmtool_arg=$2; shift 2 ;;
	--baseline) baseline=$2; shift 2 ;;
	--vmms) vmms=${2//,/ }; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--timeout) l1_timeout=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "bench: unknown option '$1'" >&2; usage ;;
	esac
done
for n in "$runs" ${l1_timeout:+"$l1_timeout"}; do
	case "$n" in ''|*[!0-9]*|0) lkvm_die "--runs and --timeout need positive numbers" ;; esac
done
[ -z "$baseline" ] || [ -x "$baseline" ] || lkvm_die "--baseline $baseline: not an executable"
for v in $vmms; do
	case "$v" in
	lkvm|lkvm_pvh|kvmtool|qemu|qemu_pvh|qemu_[abc]|qemu_[abc]_pvh) ;;
	*) lkvm_die "unknown row '$v' (lkvm, lkvm_pvh, kvmtool, qemu, qemu_pvh, qemu_{a,b,c}[_pvh])" ;;
	esac
done
[ -n "$vmms" ] || lkvm_die "--vmms: give at least one row"
[ -z "$baseline" ] || vmms="$vmms base base_pvh"

lkvm_check_host_tools
lkvm_check_vmm "$wrapper" "$lkvm_bin"
kvmtool=''
kvmtool_wanted=0
case " $vmms " in
*" kvmtool "*)
	kvmtool_wanted=1
	kvmtool=$(lkvm_build_kvmtool "$kvmtool_arg")
	[ -n "$kvmtool" ] || vmms=$(echo " $vmms " | sed 's/ kvmtool / /')
	;;
esac
lkvm_fetch_kernel
lkvm_build_l2_initrd
BOOTSTAMP=$(lkvm_build_static_tool bootstamp "$LKVM_TESTS_DIR/bench/tools/bootstamp.c") || exit 2

# Every boot (warm-up included, and lkvm_nopvh) at most 40 s, plus L1's own
# boot and lkvm bench boot.
# shellcheck disable=SC2086
set -- $vmms
nv=$(($# + 1))
[ -n "$l1_timeout" ] || l1_timeout=$((600 + nv * (runs + 1) * 40))

lkvm_scratch bench
printf 'BENCH_RUNS=%s\nBENCH_TIMEOUT=%s\nBENCH_VMMS="%s"\n' "$runs" 120 "$*" >"$conf"
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
[ -z "$kvmtool" ] || lkvm_stage_binary "$stage" "$kvmtool" /usr/bin/kvmtool
[ -z "$baseline" ] || lkvm_stage_binary "$stage" "$baseline" /usr/bin/lkvm-base
l1_image=$(lkvm_pack_cached "$stage" "$LKVM_BUILD/l1-bench")

# L1 prints BENCH-SNAP before and after each boot: note there how much host
# CPU L1's QEMU has used, as net.sh does. Other work on the host starves L1
# at times, which stretches the wall times; the CPU L1 spent on a boot
# varies much less.
hz=$(getconf CLK_TCK)
lkvm_on_line() {
	case "$1" in
	BENCH-SNAP*) lkvm_bench_snap "$1" ;;
	E2E-L1-HEARTBEAT*) ;;
	BENCH*|E2E-*|"  ["*) printf '%s\n' "$1" ;;
	esac
}

lkvm_log "lkvm: $vmm_desc; kvmtool: ${kvmtool:-none}; qemu: $(command -v qemu-system-x86_64) -M microvm; $runs runs each"
lkvm_bench_boot_l1 bench "$l1_image" "$l1_timeout"

# field ROW KEY [LABEL]: the KEY=value of each of ROW's lines (LABEL: BENCH,
# the timed runs, or BENCH-WARMUP).
field() { sed -n "s/^${3:-BENCH} $1 run=[0-9]* .*$2=\([-0-9]*\).*/\1/p" "$results"; }
med() { field "$1" "$2" | median; }
# cpu ROW [LABEL]: per boot of ROW, the host CPU ms L1 used during it.
cpu() {
	awk -v hz="$hz" -v p="^${1}-" -v w="${2:-BENCH}" '
	$1 == "BENCH" && $2 == "host-snap" && $3 ~ p {
		n = split($3, a, "-"); k = a[n - 1]; c = substr($4, 5)
		if (a[n] == "a") t0[k] = c; else if (k in t0) d[k] = c - t0[k]
	}
	END { for (k in d) if ((w == "BENCH-WARMUP") == (k == 0)) printf "%d\n", d[k] * 1000 / hz }' "$results"
}

ok=1
lkvm_bench_finished bench "$results" "$log" || ok=0

# The rows L1 ran (it adds lkvm_nopvh, drops a kvmtool it was not given).
rows=$(sed -n 's/^BENCH-ROWS //p' "$results" | head -n 1)
[ -n "$rows" ] || rows=$vmms

echo
echo "boot time inside one L1 (ms from spawn; $runs timed runs per row after one warm-up; console: $log)"
sed -n 's/^BENCH-QEMU /qemu rows: /p' "$results" | head -n 1
[ -n "$kvmtool" ] || [ "$kvmtool_wanted" = 0 ] ||
	echo "kvmtool: none (no --kvmtool and no ../shared/peers tarball): no kvmtool rows"
printf '%-11s %5s %10s %10s %7s\n' row run marker_ms exit_ms status
sed -n 's/^BENCH\(-WARMUP\)\{0,1\} \([a-z_]*\) run=\([0-9]*\) marker_ms=\([-0-9]*\) exit_ms=\([-0-9]*\) status=\([0-9]*\).*/\2 \3 \4 \5 \6/p' "$results" |
	while read -r v r m e s; do
		[ "$r" != 0 ] || r=warm
		printf '%-11s %5s %10s %10s %7s\n' "$v" "$r" "$m" "$e" "$s"
	done
for v in $rows; do
	n=$(field "$v" marker_ms | wc -l)
	[ "$n" = "$runs" ] || { echo "bench: only $n of $runs $v runs reported"; ok=0; }
	! field "$v" marker_ms | grep -qx -- -1 || { echo "bench: $v never showed the L2 marker in some run"; ok=0; }
done

echo
echo "page cache: warm. L1's root (VMM binaries, kernels, initramfs) is an initramfs, always"
echo "in memory; each row's first boot, untimed, also faulted its binary, libraries and"
echo "firmware in. Warm-up (first) boot, then the medians of the $runs timed runs:"
printf '%-11s %10s %10s %10s   %10s %10s %10s\n' row warm_mark warm_exit warm_cpu marker_ms exit_ms l1_cpu_ms
for v in $rows; do
	printf '%-11s %10s %10s %10s   %10s %10s %10s\n' "$v" "$(field "$v" marker_ms BENCH-WARMUP)" \
		"$(field "$v" exit_ms BENCH-WARMUP)" "$(cpu "$v" BENCH-WARMUP)" \
		"$(med "$v" marker_ms)" "$(med "$v" exit_ms)" "$(cpu "$v" | median)"
done
echo "(l1_cpu_ms: the host CPU time L1 used during a boot, as the host saw it: the"
echo " work each boot cost, much less stretched than wall time when other work starves L1)"

# QEMU's fastest row (lowest median to exit) among the qemu* rows.
qbest=
for v in $rows; do
	case "$v" in qemu*) ;; *) continue ;; esac
	e=$(med "$v" exit_ms)
	[ -n "$e" ] || continue
	if [ -z "$qbest" ] || [ "$e" -lt "$(med "$qbest" exit_ms)" ]; then qbest=$v; fi
done
has_row() { case " $rows " in *" $1 "*) return 0 ;; esac; return 1; }
# quot A B: A/B to 2 places, empty without both.
quot() {
	[ -n "$1" ] && [ -n "$2" ] && [ "$2" -gt 0 ] || return 0
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}
# ratio A B LABEL: medians of A over B, to the marker and to exit.
ratio() {
	local m e c
	has_row "$1" && has_row "$2" || return 0
	m=$(quot "$(med "$1" marker_ms)" "$(med "$2" marker_ms)")
	e=$(quot "$(med "$1" exit_ms)" "$(med "$2" exit_ms)")
	c=$(quot "$(cpu "$1" | median)" "$(cpu "$2" | median)")
	[ -z "$m$e" ] || printf 'ratio %-32s marker %s, exit %s (L1 CPU %s)\n' "$3:" "${m:--}" "${e:--}" "${c:--}"
}
echo
for v in $rows; do
	case "$v" in lkvm*) ;; *) continue ;; esac
	ratio "$v" kvmtool "$v/kvmtool (bzImage)"
	[ -z "$qbest" ] || ratio "$v" "$qbest" "$v/$qbest (QEMU's best)"
done
ratio lkvm_pvh lkvm "lkvm PVH/bzImage"
ratio lkvm lkvm_nopvh "lkvm bzImage PVH/--no-pvh"
ratio qemu_pvh qemu "qemu PVH/bzImage"
if [ -n "$baseline" ]; then
	ratio lkvm base "lkvm/base (bzImage)"
	ratio lkvm_pvh base_pvh "lkvm/base (PVH vmlinux)"
fi

# The goals, for lkvm's default row (the bzImage).
echo
# goal TEXT RATIO LIMIT: "goal: TEXT: RATIO met" if RATIO < LIMIT (or <=).
goal() {
	if [ -z "$2" ]; then
		echo "goal: $1: - not measured"
	elif awk -v r="$2" -v l="$3" 'BEGIN { exit !(r <= l) }'; then
		echo "goal: $1: $2 met"
	else
		echo "goal: $1: $2 not met"
	fi
}
r=
! has_row kvmtool || r=$(quot "$(med lkvm exit_ms)" "$(med kvmtool exit_ms)")
goal "lkvm spawn→exit ≤ 0.6× kvmtool (bzImage)" "$r" 0.6
r=
[ -z "$qbest" ] || r=$(quot "$(med lkvm exit_ms)" "$(med "$qbest" exit_ms)")
# "ahead": strictly below 1 (the ratio is rounded to 2 places).
goal "ahead of QEMU microvm's best (${qbest:-none})" "$r" 0.99

echo
if grep -q '^BENCH-PHASE ' "$results"; then
	echo "lkvm's boot phases (lkvm bench boot -n 3, bzImage, in the same L1):"
	sed -n 's/^BENCH-PHASE //p' "$results"
elif grep -q '^BENCH-PHASE-SKIP' "$results"; then
	sed -n 's/^BENCH-PHASE-SKIP /lkvm per-phase figures skipped: /p' "$results"
fi
[ "$ok" = 1 ] || { echo "bench: FAILED (see above)"; exit 1; }
