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
# read filters need), libslirp (built here from trixie's source package:
# Debian ships no libslirp.a) and glib, trixie's kernel headers, and
# bin/pkg-config answering for it. Prints its path last:
#     make ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- \
#          PKG_CONFIG=$(tools/riscv-sysroot/sysroot.sh | tail -n1)/bin/pkg-config
#
#   --update     refresh the package lists and rebuild if a version
#                changed (otherwise a complete cache is used offline)
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests/riscv64-{sysroot,apt}
# (the e2e guest's kernel and busybox: tests/e2e/riscv/fetch-guest.sh)
# Host packages: gcc-riscv64-linux-gnu, pkg-config, apt, dpkg,
# debian-archive-keyring, bzip2, xz-utils, patch (the scripts name what is
# missing).
set -eu
LKVM_PROG=riscv-sysroot
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=riscv64-apt.sh
. "$here/riscv64-apt.sh"

RV_SYSROOT=$LKVM_CACHE/riscv64-sysroot
# Bump when the sysroot's layout changes.
RV_SYSROOT_FORMAT=3

# The -dev packages whose headers, static libraries and .pc files a static
# riscv64 lkvm needs: the five libraries lkvm links, the compressors
# libarchive's read filters call (archive_read_support_filter_all), and
# trixie's kernel headers (KVM's riscv API is newer than Debian 12's
# cross linux-libc-dev: RV_KVM_HEADERS), libslirp-dev (headers and .pc;
# the library itself is built from its source, RV_SLIRP_SRC) and what a
# static glib needs (trixie's libgio-2.0-dev holds glib-2.0's .a and .pc;
# pcre2 and sysprof-capture are its Requires.private). The runtime
# packages are not needed.
RV_SYSROOT_PKGS="libfdt-dev libaio-dev libcap-ng-dev liburing-dev libarchive-dev
zlib1g-dev libbz2-dev liblzma-dev libzstd-dev liblz4-dev linux-libc-dev
libslirp-dev libgio-2.0-dev libpcre2-dev libsysprof-capture-4-dev"
RV_SYSROOT_PKGS=$(echo $RV_SYSROOT_PKGS)
# The headers taken from trixie's linux-libc-dev (Linux 6.12): KVM's API
# with the riscv AIA device, SBI extension and ISA extension registers,
# and linux/blkdev.h, which trixie's liburing headers include.
RV_KVM_HEADERS="linux/kvm.h linux/const.h linux/stddef.h asm/kvm.h asm/ptrace.h linux/blkdev.h"
# What `pkg-config --libs libarchive` gives: the archive and the libraries
# the objects lkvm pulls out of it need (found by linking sysroot-check.c;
# nettle, acl and xml2 serve formats and disk access lkvm does not use).
RV_ARCHIVE_LIBS="-larchive -lzstd -llzma -llz4 -lbz2 -lz"

# The source package libslirp.a is built from (that of libslirp-dev).
RV_SLIRP_SRC=libslirp

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
	lkvm_need patch patch
	lkvm_need bzip2 bzip2
	lkvm_need xz xz-utils
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
	rv_build_slirp "$tmp" "$(printf '%s\n' "$versions" | sed -n 's/^libslirp-dev=//p')"
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
	# glib's static library calls glibc 2.38's strlcpy and __isoc23_*.
	[ -z "$compat" ] || sed -i "s/^Libs.private: .*/&$compat/" "$pc/glib-2.0.pc"
	# Of glib, lkvm links glib-2.0 alone.
	rm -f "$l/libgio-2.0.a" "$l/libgobject-2.0.a" "$l/libgmodule-2.0.a" \
		"$l/libgthread-2.0.a" "$l/libgirepository-2.0.a"
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

# rv_build_slirp DIR VERSION: libslirp.a into the sysroot DIR, cross-built
# from trixie's source package at VERSION (the version of libslirp-dev;
# Debian's patches applied) as its meson build compiles it, and a slirp.pc
# for a static link (Requires.private: glib-2.0, which brings pcre2,
# sysprof-capture, libatomic and the shim).
rv_build_slirp() {
	local s=$1 v=${2%+b[0-9]*} l=$1/usr/lib/$RV_TRIPLET src=$1/.slirp-src
	local a=$RV_APT_DIR/src orig deb f p flags major minor micro up
	[ -n "$2" ] || lkvm_die "no libslirp-dev version to build libslirp from"
	up=${v#*:}
	up=${up%-*}
	mkdir -p "$a"
	orig=$(ls "$a/${RV_SLIRP_SRC}_$up.orig.tar."* 2>/dev/null | head -n1 || true)
	deb=$(ls "$a/${RV_SLIRP_SRC}_${v#*:}.debian.tar."* 2>/dev/null | head -n1 || true)
	if [ -z "$orig" ] || [ -z "$deb" ]; then
		lkvm_log "apt-get source --download-only $RV_SLIRP_SRC=$v"
		# apt checks each file against the signed Sources index; the
		# .dsc itself is not needed (some mirrors refuse its name).
		(cd "$a" && apt-get "${RV_APT[@]}" source --download-only "$RV_SLIRP_SRC=$v") \
			>"$a/source.log" 2>&1 || true
		orig=$(ls "$a/${RV_SLIRP_SRC}_$up.orig.tar."* 2>/dev/null | head -n1 || true)
		deb=$(ls "$a/${RV_SLIRP_SRC}_${v#*:}.debian.tar."* 2>/dev/null | head -n1 || true)
		[ -n "$orig" ] && [ -n "$deb" ] ||
			lkvm_offline "apt-get source $RV_SLIRP_SRC=$v failed: $(grep -m1 '^E:' "$a/source.log")"
	fi
	rm -rf "$src"
	mkdir -p "$src/debian-dir" "$src/inc/slirp" "$src/obj"
	tar -xf "$orig" -C "$src" || lkvm_die "cannot unpack $orig"
	tar -xf "$deb" -C "$src/debian-dir" || lkvm_die "cannot unpack $deb"
	f=$(find "$src" -maxdepth 3 -path '*/src/libslirp.h' | head -n1)
	[ -n "$f" ] || lkvm_die "$orig holds no src/libslirp.h"
	f=${f%/src/libslirp.h}
	if [ -f "$src/debian-dir/debian/patches/series" ]; then
		for p in $(grep -v '^[[:space:]]*#' "$src/debian-dir/debian/patches/series"); do
			patch -s -p1 -d "$f" <"$src/debian-dir/debian/patches/$p" ||
				lkvm_die "Debian's patch $p does not apply to libslirp $v"
		done
	fi
	major=$(echo "$up" | cut -d. -f1)
	minor=$(echo "$up" | cut -d. -f2)
	micro=$(echo "$up" | cut -d. -f3)
	sed -e "s/@SLIRP_MAJOR_VERSION@/$major/; s/@SLIRP_MINOR_VERSION@/$minor/" \
		-e "s/@SLIRP_MICRO_VERSION@/${micro:-0}/; s/@SLIRP_VERSION_STRING@/\"$up\"/" \
		"$f/src/libslirp-version.h.in" >"$src/inc/slirp/libslirp-version.h"
	flags=$("$s/bin/pkg-config" --cflags glib-2.0) || lkvm_die "pkg-config glib-2.0 of the sysroot failed"
	for p in "$f"/src/*.c; do
		# shellcheck disable=SC2086
		$RV_TRIPLET-gcc -std=gnu99 -O2 -I"$src/inc/slirp" -I"$f/src" $flags \
			-DG_LOG_DOMAIN='"Slirp"' -DBUILDING_LIBSLIRP \
			-c -o "$src/obj/$(basename "$p" .c).o" "$p" >>"$src/build.log" 2>&1 ||
			{ sed 's/^/  /' "$src/build.log" >&2; lkvm_die "cross-compiling libslirp's $(basename "$p") failed"; }
	done
	$RV_TRIPLET-ar rcs "$l/libslirp.a" "$src"/obj/*.o || lkvm_die "ar of libslirp.a failed"
	# The headers of the very version built.
	mkdir -p "$s/usr/include/slirp"
	cp "$f/src/libslirp.h" "$src/inc/slirp/libslirp-version.h" "$s/usr/include/slirp/"
	cat >"$l/pkgconfig/slirp.pc" <<EOF
prefix=/usr
libdir=\${prefix}/lib/$RV_TRIPLET
includedir=\${prefix}/include

Name: slirp
Description: User-mode network stack (static, built by lkvm's sysroot.sh)
Version: $up
Requires.private: glib-2.0
Libs: -L\${libdir} -lslirp
Cflags: -I\${includedir}/slirp
EOF
	rm -rf "$src"
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
	flags=$("$s/bin/pkg-config" --static --cflags --libs libfdt libaio libcap-ng liburing libarchive slirp) ||
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
