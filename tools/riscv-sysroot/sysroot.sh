#!/bin/bash
# The sysroot a static riscv64 lkvm links against (`make deps-riscv`), from
# Debian 13 (trixie) riscv64 packages, without touching the host's apt
# state (riscv64-apt.sh: apt-get runs with lists, status, sources and cache
# of its own in the cache dir).
#
# usage: tools/riscv-sysroot/sysroot.sh [--update]
#
# Makes the sysroot: headers, static libraries and .pc files of libfdt,
# libaio, libcap-ng, liburing, libarchive (and the compressors libarchive's
# read filters need), trixie's kernel headers, and bin/pkg-config answering
# for it. Prints its path last:
#     make ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- \
#          PKG_CONFIG=$(tools/riscv-sysroot/sysroot.sh | tail -n1)/bin/pkg-config
#
#   --update     refresh the package lists and rebuild if a version
#                changed (otherwise a complete cache is used offline)
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests/riscv64-{sysroot,apt}
# (the e2e guest's kernel and busybox: tests/e2e/riscv/fetch-guest.sh)
# Host packages: gcc-riscv64-linux-gnu, pkg-config, apt, dpkg,
# debian-archive-keyring (the scripts name what is missing).
set -eu
LKVM_PROG=riscv-sysroot
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=riscv64-apt.sh
. "$here/riscv64-apt.sh"

RV_SYSROOT=$LKVM_CACHE/riscv64-sysroot
# Bump when the sysroot's layout changes.
RV_SYSROOT_FORMAT=2

# The -dev packages whose headers, static libraries and .pc files a static
# riscv64 lkvm needs: the five libraries lkvm links, the compressors
# libarchive's read filters call (archive_read_support_filter_all), and
# trixie's kernel headers (KVM's riscv API is newer than Debian 12's
# cross linux-libc-dev: RV_KVM_HEADERS). The runtime packages are not needed.
RV_SYSROOT_PKGS="libfdt-dev libaio-dev libcap-ng-dev liburing-dev libarchive-dev
zlib1g-dev libbz2-dev liblzma-dev libzstd-dev liblz4-dev linux-libc-dev"
RV_SYSROOT_PKGS=$(echo $RV_SYSROOT_PKGS)
# The headers taken from trixie's linux-libc-dev (Linux 6.12): KVM's API
# with the riscv AIA device, SBI extension and ISA extension registers,
# and linux/blkdev.h, which trixie's liburing headers include.
RV_KVM_HEADERS="linux/kvm.h linux/const.h linux/stddef.h asm/kvm.h asm/ptrace.h linux/blkdev.h"
# What `pkg-config --libs libarchive` gives: the archive and the libraries
# the objects lkvm pulls out of it need (found by linking sysroot-check.c;
# nettle, acl and xml2 serve formats and disk access lkvm does not use).
RV_ARCHIVE_LIBS="-larchive -lzstd -llzma -llz4 -lbz2 -lz"

# rv_need_cross: the cross toolchain is installed.
rv_need_cross() {
	lkvm_need $RV_TRIPLET-gcc gcc-riscv64-linux-gnu
	lkvm_need $RV_TRIPLET-ar binutils-riscv64-linux-gnu
	lkvm_need $RV_TRIPLET-nm binutils-riscv64-linux-gnu
}

# rv_stamp_header: the first line of the sysroot's stamp; a sysroot whose
# stamp starts differently is rebuilt.
rv_stamp_header() {
	printf 'lkvm-riscv64-sysroot format=%s sources=%s packages=%s\n' "$RV_SYSROOT_FORMAT" \
		"$(cat "$here/isoc23-compat.c" "$here/sysroot-check.c" | sha256sum | cut -c1-12)" \
		"$RV_SYSROOT_PKGS"
}

# rv_sysroot [update]: make sure $RV_SYSROOT is complete. Without "update"
# a complete sysroot is used as it is (no network); with it, the package
# lists are refreshed and the sysroot rebuilt if a version changed.
rv_sysroot() {
	local hdr stamp=$RV_SYSROOT/.stamp
	rv_need_cross
	hdr=$(rv_stamp_header)
	if [ "${1:-}" != update ] && [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$hdr" ]; then
		return 0
	fi
	lkvm_need pkg-config pkg-config
	rv_apt_setup
	rv_apt_update "${1:+force}"
	local versions
	versions=$(rv_versions $RV_SYSROOT_PKGS) || exit
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hdr
$versions" ]; then
		touch "$stamp"
		return 0
	fi
	local debs deb tmp=$RV_SYSROOT.tmp.$$
	debs=$(rv_download $versions) || exit
	rm -rf "$tmp"
	trap 'rm -rf "$RV_SYSROOT.tmp.$$"' EXIT
	mkdir -p "$tmp"
	for deb in $debs; do
		case "${deb##*/}" in
		linux-libc-dev_*) dpkg-deb -x "$deb" "$tmp/.kernel-headers" ;;
		*) dpkg-deb -x "$deb" "$tmp" ;;
		esac || lkvm_die "dpkg-deb -x $deb failed"
	done
	rv_sysroot_fixup "$tmp"
	rv_sysroot_check "$tmp"
	printf '%s\n%s\n' "$hdr" "$versions" >"$tmp/.stamp"
	rm -rf "$RV_SYSROOT.old.$$"
	[ ! -e "$RV_SYSROOT" ] || mv "$RV_SYSROOT" "$RV_SYSROOT.old.$$"
	mv "$tmp" "$RV_SYSROOT"
	rm -rf "$RV_SYSROOT.old.$$"
	trap - EXIT
	lkvm_log "riscv64 sysroot ready: $(tail -n +2 "$RV_SYSROOT/.stamp" | tr "\n" " ")"
}

# rv_sysroot_fixup DIR: turn the unpacked packages into a sysroot for a
# static link: only headers, .a and .pc files; trixie's riscv kernel
# headers where <asm/...> finds them; .pc files for libfdt and libaio
# (their packages ship none); libarchive's .pc listing what a static link
# needs; the C23 shim when the toolchain's glibc predates 2.38; and
# bin/pkg-config, which answers for the sysroot.
rv_sysroot_fixup() {
	local s=$1 l=$1/usr/lib/$RV_TRIPLET d compat=
	local pc=$l/pkgconfig
	rm -rf "${s:?}/usr/share/doc" "${s:?}/usr/share/man" "${s:?}/usr/share/info" "${s:?}/usr/share/lintian" \
		"${s:?}/usr/share/doc-base" "${s:?}/usr/share/aclocal" "${s:?}/usr/bin" "${s:?}/bin"
	find "$l" -maxdepth 1 -name '*.so*' -exec rm -f {} +
	# Of trixie's kernel headers, only KVM's API (and what it includes that
	# is newer than in Debian 12's cross linux-libc-dev): the rest of
	# Linux 6.12's uapi clashes with glibc 2.36's headers (RWF_* in
	# linux/fs.h against sys/uio.h).
	local k=$s/.kernel-headers/usr/include h
	mkdir -p "$s/usr/include/linux" "$s/usr/include/asm"
	for h in $RV_KVM_HEADERS; do
		case "$h" in
		asm/*) cp "$k/$RV_TRIPLET/$h" "$s/usr/include/$h" ;;
		*) cp "$k/$h" "$s/usr/include/$h" ;;
		esac || lkvm_die "linux-libc-dev has no $h"
	done
	rm -rf "$s/.kernel-headers"
	mkdir -p "$pc" "$s/bin"

	# Debian 12's cross glibc (2.36) lacks the __isoc23_* functions that
	# trixie's libraries call (glibc 2.38 redirects strtol & co. to them).
	if ! $RV_TRIPLET-nm -g --defined-only "$($RV_TRIPLET-gcc -print-file-name=libc.a)" 2>/dev/null |
		grep -q ' T __isoc23_strtol$'; then
		$RV_TRIPLET-gcc -std=gnu11 -O2 -Wall -Wextra -Werror -c \
			-o "$s/isoc23-compat.o" "$here/isoc23-compat.c" &&
			$RV_TRIPLET-ar rcs "$l/liblkvm-isoc23.a" "$s/isoc23-compat.o" ||
			lkvm_die "building the C23 shim (tools/riscv-sysroot/isoc23-compat.c) failed"
		rm -f "$s/isoc23-compat.o"
		compat=" -llkvm-isoc23"
	fi

	rv_write_pc "$pc/libfdt.pc" libfdt "Flat device tree manipulation" "$(rv_deb_version libfdt-dev)" "-lfdt"
	rv_write_pc "$pc/libaio.pc" libaio "Linux-native asynchronous I/O access" "$(rv_deb_version libaio-dev)" "-laio"
	rv_write_pc "$pc/libarchive.pc" libarchive "Multi-format archive library (static)" \
		"$(sed -n 's/^Version: //p' "$pc/libarchive.pc")" "$RV_ARCHIVE_LIBS$compat"
	[ -z "$compat" ] || sed -i "s/^Libs: .*-lcap-ng\$/&$compat/" "$pc/libcap-ng.pc"
	rm -f "$pc/liburing-ffi.pc" "$l/liburing-ffi.a"

	cat >"$s/bin/pkg-config" <<'EOF'
#!/bin/sh
# pkg-config for the riscv64 sysroot this file lives in (made by
# tools/riscv-sysroot/sysroot.sh): .pc files and -I/-L paths from the sysroot
# only, /usr/include included (it is the sysroot's).
s=$(cd "$(dirname "$0")/.." && pwd)
PKG_CONFIG_SYSROOT_DIR=$s
PKG_CONFIG_LIBDIR=$s/usr/lib/riscv64-linux-gnu/pkgconfig:$s/usr/share/pkgconfig
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS PKG_CONFIG_ALLOW_SYSTEM_LIBS
unset PKG_CONFIG_PATH
exec pkg-config "$@"
EOF
	chmod 755 "$s/bin/pkg-config"
}

# rv_write_pc FILE NAME DESCRIPTION VERSION LIBS
rv_write_pc() {
	cat >"$1" <<EOF
prefix=/usr
libdir=\${prefix}/lib/$RV_TRIPLET
includedir=\${prefix}/include

Name: $2
Description: $3
Version: ${4:-0}
Libs: -L\${libdir} $5
Cflags: -I\${includedir}
EOF
}

# rv_sysroot_check DIR: link sysroot-check.c statically against
# DIR with the flags its pkg-config gives; must give a static RISC-V ELF.
rv_sysroot_check() {
	local s=$1 out=$1/.check.$$ flags
	flags=$("$s/bin/pkg-config" --cflags --libs libfdt libaio libcap-ng liburing libarchive) ||
		lkvm_die "pkg-config of the sysroot $s failed"
	# shellcheck disable=SC2086
	if ! $RV_TRIPLET-gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$out" \
		"$here/sysroot-check.c" $flags >"$s/.check.log" 2>&1 ||
		grep -v -e 'warning: Using' -e 'in function' "$s/.check.log" | grep -q .; then
		sed 's/^/  /' "$s/.check.log" >&2
		lkvm_die "a static riscv64 test link against the sysroot failed (flags: $flags)"
	fi
	file "$out" 2>/dev/null | grep -q 'RISC-V.*statically linked' ||
		lkvm_die "the test link did not give a static RISC-V executable: $(file "$out")"
	rm -f "$out" "$s/.check.log"
}

update=
usage() { sed -n '/^# usage:/,/^# Cache:/s/^# \{0,1\}//p' "$0" | sed '$d' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--update) update=update; shift ;;
	-h|--help) usage ;;
	*) echo "riscv-sysroot: unknown option '$1'" >&2; usage ;;
	esac
done

rv_sysroot $update
printf '%s\n' "$RV_SYSROOT"
