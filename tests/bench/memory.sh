#!/bin/bash
# VMM memory benchmark: lkvm's resident memory outside guest RAM against
# kvmtool's, both booting the same Debian kernel and busybox initramfs as L2
# (-m 256 -c 1, one 64 MiB raw disk, no network) inside one nested-KVM L1
# (see tests/e2e/x86/run.sh), read from /proc/PID/smaps while the L2 init
# sits idle. Also lkvm per device: no disk, one disk, one disk + --9p, one
# disk + -n user. Not part of make check.
#
# usage: tests/bench/memory.sh [--lkvm PATH] [--baseline PATH]
#                              [--kvmtool PATH] [--timeout S]
#
#   --lkvm PATH      lkvm binary (default: ./lkvm at the top)
#   --baseline PATH  another lkvm binary (an earlier build) measured in the
#                    same L1 as "base", with lkvm/base ratios
#   --kvmtool PATH   a static kvmtool (default: built from ../shared/peers;
#                    without either the kvmtool rows are skipped)
#   --timeout S      limit for the whole L1 run (default 1200)
#
# Prints, per boot, RSS outside guest RAM in KiB (anonymous, file-backed,
# of which transparent huge pages), the increments per lkvm device and the
# ratios lkvm/kvmtool; the biggest mappings of each VMM are in the console
# log (BENCH-MAP lines).
set -eu
LKVM_PROG=bench-mem
. "$(dirname "$0")/../e2e/lib/host.sh"

lkvm_bin=$LKVM_TOP/lkvm
baseline=
kvmtool=
l1_timeout=1200

usage() { sed -n '/^# usage:/,/^#   --timeout/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--lkvm) lkvm_bin=$2; shift 2 ;;
	--baseline) baseline=$2; shift 2 ;;
	--kvmtool) kvmtool=$2; shift 2 ;;
	--timeout) l1_timeout=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "bench-mem: unknown option '$1'" >&2; usage ;;
	esac
done
case "$l1_timeout" in ''|*[!0-9]*|0) lkvm_die "--timeout needs a positive number" ;; esac
[ -z "$baseline" ] || [ -x "$baseline" ] || lkvm_die "--baseline $baseline: not an executable"

lkvm_check_host_tools
lkvm_check_vmm "" "$lkvm_bin"
kvmtool=$(lkvm_build_kvmtool "$kvmtool")
lkvm_fetch_kernel
lkvm_build_l2_initrd
vmms="lkvm${baseline:+ base}${kvmtool:+ kvmtool}"

lkvm_scratch memory
printf 'BENCH_TIMEOUT=%s\nBENCH_SETTLE=%s\nBENCH_VMMS="%s"\n' 180 5 "$vmms" >"$conf"
lkvm_stage_l1 "$stage" "$LKVM_TESTS_DIR/bench/memory-l1.sh" "$conf"
lkvm_stage_binary "$stage" "$lkvm_bin" /usr/bin/lkvm
[ -z "$baseline" ] || lkvm_stage_binary "$stage" "$baseline" /usr/bin/lkvm-base
[ -z "$kvmtool" ] || install -m 755 "$kvmtool" "$stage/usr/bin/kvmtool"
l1_image=$(lkvm_pack_cached "$stage" "$LKVM_BUILD/l1-memory")

lkvm_log "lkvm: $vmm_desc${baseline:+; base: $baseline}; kvmtool: ${kvmtool:-none (skipped)}"
lkvm_bench_boot_l1 bench-mem "$l1_image" "$l1_timeout"

ok=1
lkvm_bench_finished bench-mem "$results" "$log" || ok=0

# get TAG FIELD: that field of the boot TAG
get() { sed -n "/^BENCH mem vmm=$1 /s/.* $2=\([-0-9]*\).*/\1/p" "$results" | head -n1; }
# sub A B: A - B, or - when either is missing
sub() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "") print a - b; else print "-" }'; }
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }

echo
echo "VMM memory outside guest RAM at an idle L2 init, KiB (-m 256 -c 1; console: $log)"
printf '%-14s %8s %8s %8s %8s %8s %7s\n' boot rss anon file thp guest threads
tags=
for v in $vmms; do
	case $v in
	kvmtool) tags="$tags kvmtool" ;;
	*) tags="$tags $v-nodisk $v $v-9p $v-user" ;;
	esac
done
for t in $tags; do
	r=$(get "$t" rss_kb)
	[ -n "$r" ] || { echo "bench-mem: no measurement for $t"; ok=0; continue; }
	printf '%-14s %8s %8s %8s %8s %8s %7s\n' "$t" "$r" "$(get "$t" anon_kb)" \
		"$(get "$t" file_kb)" "$(get "$t" thp_kb)" "$(get "$t" guest_rss_kb)" "$(get "$t" threads)"
done
for v in lkvm${baseline:+ base}; do
	d=$(get "$v" rss_kb) n=$(get "$v-nodisk" rss_kb)
	[ -n "$d" ] && [ -n "$n" ] || continue
	printf '%s increments (rss KiB): disk %s, --9p %s, -n user %s\n' "$v" "$(sub "$d" "$n")" \
		"$(sub "$(get "$v-9p" rss_kb)" "$d")" "$(sub "$(get "$v-user" rss_kb)" "$d")"
done
if [ -n "$kvmtool" ]; then
	for f in rss_kb anon_kb file_kb; do
		printf 'ratio lkvm/kvmtool %s: %s\n' "${f%_kb}" "$(ratio "$(get lkvm $f)" "$(get kvmtool $f)")"
	done
fi
if [ -n "$baseline" ]; then
	for f in rss_kb anon_kb file_kb; do
		printf 'ratio lkvm/base %s: %s\n' "${f%_kb}" "$(ratio "$(get lkvm $f)" "$(get base $f)")"
	done
fi
[ "$ok" = 1 ] || { echo "bench-mem: FAILED (see above)"; exit 1; }
