# Debian 13 (trixie) riscv64 packages, fetched with the host's apt-get but
# with apt state of its own in the cache (-o Dir::State::Lists=... and the
# like), so the host's lists, status and sources stay untouched.  Sourced
# (not executed); bash.  Used by the sysroot (sysroot.sh here) and by the
# riscv64 e2e suite's guest (tests/e2e/riscv/guest.sh).
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm-tests/riscv64-apt/
#   sources.list, lists/, cache/, debs/ (the downloaded .debs, kept)

# shellcheck shell=bash
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

RV_SUITE=trixie
RV_TRIPLET=riscv64-linux-gnu
RV_APT_DIR=$LKVM_CACHE/riscv64-apt

# rv_host_mirror: the Debian archive URI the host's apt uses (the source
# whose suite is the host's codename), or $LKVM_DEBIAN_MIRROR.
rv_host_mirror() {
	if [ -n "${LKVM_DEBIAN_MIRROR:-}" ]; then
		printf '%s\n' "${LKVM_DEBIAN_MIRROR%/}"
		return 0
	fi
	local codename f uri
	codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || lkvm_die "cannot tell the host's Debian codename from /etc/os-release; set LKVM_DEBIAN_MIRROR=URI of a Debian archive"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		case "$f" in
		*.sources)
			# deb822: one paragraph per source.
			uri=$(awk -v s="$codename" '
				/^[[:space:]]*$/ { if (deb && suite && u != "") { print u; exit } deb = suite = 0; u = ""; next }
				/^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
				/^URIs:/ { u = $2 }
				/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) suite = 1 }
				END { if (deb && suite && u != "") print u }' "$f" | head -n1) ;;
		*)
			uri=$(sed -e 's/\[[^]]*\]//' "$f" | awk -v s="$codename" '$1 == "deb" && $3 == s { print $2; exit }') ;;
		esac
		if [ -n "$uri" ]; then
			printf '%s\n' "${uri%/}"
			return 0
		fi
	done
	lkvm_die "no Debian '$codename' source in the host's apt configuration; set LKVM_DEBIAN_MIRROR=URI of a Debian archive"
}

# rv_apt_setup: the private apt configuration; sets the array RV_APT of
# apt-get/apt-cache options that point every state and config path into
# $RV_APT_DIR (only the host's apt.conf.d, e.g. a proxy, still applies).
rv_apt_setup() {
	lkvm_need apt-get apt
	lkvm_need dpkg-deb dpkg
	lkvm_need_file /usr/share/keyrings/debian-archive-keyring.gpg debian-archive-keyring
	local a=$RV_APT_DIR mirror
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/parts" "$a/debs"
	[ -e "$a/status" ] || : >"$a/status"
	mirror=$(rv_host_mirror) || exit
	# trixie main alone: its point releases carry the newest 6.12 kernel.
	# deb-src: the sysroot builds libslirp.a from its source package.
	printf 'deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\ndeb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
		"$mirror" "$RV_SUITE" "$mirror" "$RV_SUITE" >"$a/sources.list.new"
	if ! cmp -s "$a/sources.list.new" "$a/sources.list"; then
		mv "$a/sources.list.new" "$a/sources.list"
		rm -f "$a/lists/"*_Packages* "$a/lists/"*_Sources* "$a/lists/"*Release*
	else
		rm -f "$a/sources.list.new"
	fi
	RV_APT=(
		-o "Dir::State::Lists=$a/lists"
		-o "Dir::State::status=$a/status"
		-o "Dir::Etc::SourceList=$a/sources.list"
		-o "Dir::Etc::SourceParts=$a/parts"
		-o "Dir::Etc::Preferences=$a/parts/none"
		-o "Dir::Etc::PreferencesParts=$a/parts"
		-o "Dir::Cache=$a/cache"
		-o "APT::Architecture=riscv64"
		-o "APT::Architectures::=riscv64"
		-o "Acquire::Languages=none"
		-q
	)
	# As root, apt downloads as the _apt user, which cannot write into
	# root's cache directory: download as root instead of warning.
	[ "$(id -u)" != 0 ] || RV_APT+=(-o "APT::Sandbox::User=root")
}

# rv_apt_update [force]: fetch the riscv64 package lists (once; again with
# "force" or when they are older than a day).
rv_apt_update() {
	local l
	l=$(ls "$RV_APT_DIR/lists/"*_Packages* 2>/dev/null | head -n1 || true)
	if [ "${1:-}" != force ] && [ -n "$l" ] && [ -z "$(find "$l" -mtime +0)" ]; then
		return 0
	fi
	lkvm_log "fetching the $RV_SUITE riscv64 package lists (private apt state in $RV_APT_DIR)"
	apt-get "${RV_APT[@]}" update >"$RV_APT_DIR/update.log" 2>&1 || true
	l=$(ls "$RV_APT_DIR/lists/"*_Packages* 2>/dev/null | head -n1 || true)
	[ -n "$l" ] || lkvm_offline "apt-get update of the $RV_SUITE riscv64 lists failed: $(grep -m1 '^[EW]:' "$RV_APT_DIR/update.log")"
}

# rv_versions PKG...: "name=version" of each package's candidate, one per
# line, in the order given; dies naming an unknown package.
rv_versions() {
	local p v
	for p in "$@"; do
		v=$(apt-cache "${RV_APT[@]}" policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		[ -n "$v" ] && [ "$v" != "(none)" ] || lkvm_die "no $RV_SUITE riscv64 package '$p' in the lists"
		printf '%s=%s\n' "$p" "$v"
	done
}

# rv_download NAME=VERSION...: the .debs into $RV_APT_DIR/debs (kept there);
# prints their paths, in order.
rv_download() {
	local pv p v deb missing=()
	for pv in "$@"; do
		p=${pv%%=*} v=${pv#*=}
		deb=$(rv_deb_path "$p" "$v")
		[ -s "$deb" ] || missing+=("$pv")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		lkvm_log "apt-get download ${missing[*]}"
		(cd "$RV_APT_DIR/debs" && apt-get "${RV_APT[@]}" download "${missing[@]}") >&2 ||
			lkvm_offline "apt-get download ${missing[*]} failed (is the Debian archive reachable?)"
	fi
	for pv in "$@"; do
		p=${pv%%=*} v=${pv#*=}
		deb=$(rv_deb_path "$p" "$v")
		[ -s "$deb" ] || lkvm_die "apt-get download $pv left no .deb in $RV_APT_DIR/debs"
		printf '%s\n' "$deb"
	done
}

# rv_deb_path NAME VERSION: where apt-get download puts that package (the
# epoch's colon is written %3a; arch riscv64 or all).
rv_deb_path() {
	local v=${2//:/%3a} f
	for f in "$RV_APT_DIR/debs/$1_${v}_riscv64.deb" "$RV_APT_DIR/debs/$1_${v}_all.deb"; do
		[ -e "$f" ] && { printf '%s\n' "$f"; return 0; }
	done
	printf '%s\n' "$RV_APT_DIR/debs/$1_${v}_riscv64.deb"
}

# rv_deb_version PKG: the version of PKG in the download set (upstream part).
rv_deb_version() {
	local f
	f=$(ls "$RV_APT_DIR/debs/$1"_*.deb 2>/dev/null | head -n1)
	dpkg-deb -f "$f" Version 2>/dev/null | sed 's/^[0-9]*%3a//; s/^[0-9]*://; s/-[^-]*$//'
}
