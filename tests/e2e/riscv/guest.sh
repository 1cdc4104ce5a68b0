# The riscv64 e2e suite's guest: Debian 13's newest 6.12 riscv64 kernel
# (what L1 and L2 boot) and busybox-static, fetched with the private apt of
# tools/riscv-sysroot/riscv64-apt.sh.  Sourced (not executed) by run.sh and
# fetch-guest.sh; bash.
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests/riscv64-guest/
#   kernel-<ver>/ (the unpacked linux-image), busybox (static), .stamp

# shellcheck shell=bash
# shellcheck source=../lib/host.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/host.sh"
# shellcheck source=../../../tools/riscv-sysroot/riscv64-apt.sh
. "$LKVM_TOP/tools/riscv-sysroot/riscv64-apt.sh"

RV_GUEST_DIR=$LKVM_CACHE/riscv64-guest
# Bump when the guest cache's layout changes.
RV_GUEST_FORMAT=2

# rv_guest_kernel_pkg: the newest linux-image-6.12.*-riscv64 (what the
# linux-image-riscv64 metapackage depends on, if it is a 6.12).
rv_guest_kernel_pkg() {
	local p
	p=$(apt-cache "${RV_APT[@]}" depends linux-image-riscv64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.12\.[0-9]*+deb13-riscv64\)$/\1/p' | head -n1)
	if [ -z "$p" ]; then
		p=$(apt-cache "${RV_APT[@]}" pkgnames linux-image-6.12. 2>/dev/null |
			grep -E '^linux-image-6\.12\.[0-9]+\+deb13-riscv64$' | sort -V | tail -n1)
	fi
	[ -n "$p" ] || lkvm_die "no linux-image-6.12.*-riscv64 in the $RV_SUITE lists"
	printf '%s\n' "$p"
}

# rv_guest [update]: make sure $RV_GUEST_DIR holds the unpacked kernel and
# busybox. Sets RV_KVER, RV_KDIR, RV_KIMAGE (the Image), RV_KMODS,
# RV_KCONFIG and RV_BUSYBOX. Like rv_sysroot, no network once complete.
rv_guest() {
	local stamp=$RV_GUEST_DIR/.stamp hdr="lkvm-riscv64-guest format=$RV_GUEST_FORMAT"
	if [ "${1:-}" = update ] || [ ! -f "$stamp" ] || [ "$(head -n1 "$stamp")" != "$hdr" ]; then
		rv_apt_setup
		rv_apt_update "${1:+force}"
		local kpkg versions
		kpkg=$(rv_guest_kernel_pkg) || exit
		versions=$(rv_versions "$kpkg" busybox-static) || exit
		if [ ! -f "$stamp" ] || [ "$(grep -v '^kernel=' "$stamp")" != "$hdr
$versions" ]; then
			local debs kdeb bdeb tmp=$RV_GUEST_DIR/tmp.$$ kver=${kpkg#linux-image-}
			debs=$(rv_download $versions) || exit
			kdeb=$(printf '%s\n' "$debs" | head -n1)
			bdeb=$(printf '%s\n' "$debs" | tail -n1)
			rm -rf "$tmp"
			mkdir -p "$tmp/k" "$tmp/b"
			lkvm_log "unpacking ${kdeb##*/} and ${bdeb##*/}"
			dpkg-deb -x "$kdeb" "$tmp/k" && dpkg-deb -x "$bdeb" "$tmp/b" ||
				lkvm_die "dpkg-deb -x of the guest packages failed"
			[ -f "$tmp/b/usr/bin/busybox" ] || lkvm_die "no usr/bin/busybox in ${bdeb##*/}"
			rm -rf "$tmp/k/usr/share"
			mkdir -p "$RV_GUEST_DIR"
			rm -rf "$RV_GUEST_DIR/kernel-$kver" "$RV_GUEST_DIR/busybox"
			mv "$tmp/k" "$RV_GUEST_DIR/kernel-$kver"
			mv "$tmp/b/usr/bin/busybox" "$RV_GUEST_DIR/busybox"
			rm -rf "$tmp"
			# Keep only this kernel (each unpacked tree is ~140 MB).
			for d in "$RV_GUEST_DIR"/kernel-*; do
				[ "$d" = "$RV_GUEST_DIR/kernel-$kver" ] || rm -rf "$d"
			done
			printf '%s\n%s\nkernel=%s\n' "$hdr" "$versions" "$kver" >"$stamp"
			# The kernel .deb (110 MB) is not needed once unpacked.
			rm -f "$kdeb"
		else
			touch "$stamp"
		fi
	fi
	RV_KVER=$(sed -n 's/^kernel=//p' "$stamp")
	RV_KDIR=$RV_GUEST_DIR/kernel-$RV_KVER
	RV_KIMAGE=$RV_KDIR/boot/vmlinux-$RV_KVER
	RV_KCONFIG=$RV_KDIR/boot/config-$RV_KVER
	RV_KMODS=$RV_KDIR/usr/lib/modules/$RV_KVER
	RV_BUSYBOX=$RV_GUEST_DIR/busybox
	[ -f "$RV_KIMAGE" ] && [ -d "$RV_KMODS" ] && [ -f "$RV_BUSYBOX" ] ||
		lkvm_die "the riscv64 guest cache $RV_GUEST_DIR is incomplete; rerun with --update"
}
