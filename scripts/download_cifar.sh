#!/usr/bin/env bash
# Download the binary releases of CIFAR-10 and CIFAR-100 into DIR and check
# them.
#
# Usage:
#   scripts/download_cifar.sh [--only cifar10|cifar100] [DIR]
#
# DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/cifar, which is
# also where data.FindCIFARDir looks last. The tarballs are
# cifar-10-binary.tar.gz (162 MB) and cifar-100-binary.tar.gz (161 MB)
# from https://www.cs.toronto.edu/~kriz/ (override with CIFAR_BASE_URL=URL
# for a mirror that serves the same file names). metagon reads them as they
# are: do not unpack them. Each download must have the MD5 sum that the
# CIFAR page (https://www.cs.toronto.edu/~kriz/cifar.html) publishes for it
# and be a whole gzip stream (gzip -t); the page publishes no SHA-256, so
# the script prints each file's SHA-256 for your records. A file already in
# DIR with the right MD5 is kept. --only fetches one of the two. At the end
# the script prints the `export CIFAR_DIR=...` line to use.
#
# The CIFAR page states no licence; it asks: "If you're going to use this
# dataset, please cite the tech report": Alex Krizhevsky, "Learning
# Multiple Layers of Features from Tiny Images", 2009.
set -euo pipefail
# die, md5_of, sha256_of, fetch
source "$(dirname "$0")/lib/download.sh"

readonly BASE_URL="${CIFAR_BASE_URL:-https://www.cs.toronto.edu/~kriz}"

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

want_md5() { # the CIFAR page's sums of the binary versions
	case "$1" in
	cifar-10-binary.tar.gz) echo c32a1d4ab5d03f1284b67883e8d87530 ;;
	cifar-100-binary.tar.gz) echo 03b5dce01913d631647c71ecec9e9cb8 ;;
	*) die "no md5 known for $1" ;;
	esac
}

# md5_ok FILE: whether FILE exists and has the published md5.
md5_ok() {
	[[ -f "$1" ]] && [[ "$(md5_of "$1")" == "$(want_md5 "$(basename "$1")")" ]]
}

files=(cifar-10-binary.tar.gz cifar-100-binary.tar.gz)
dir=""
while (($# > 0)); do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--only)
		(($# > 1)) || die "--only needs cifar10 or cifar100"
		case "$2" in
		cifar10) files=(cifar-10-binary.tar.gz) ;;
		cifar100) files=(cifar-100-binary.tar.gz) ;;
		*) die "--only $2: want cifar10 or cifar100" ;;
		esac
		shift
		;;
	-*) die "unknown option $1 (see --help)" ;;
	*)
		[[ -z "$dir" ]] || die "more than one DIR given (see --help)"
		dir="$1"
		;;
	esac
	shift
done
if [[ -z "$dir" ]]; then
	[[ -n "${XDG_CACHE_HOME:-}" || -n "${HOME:-}" ]] || die "neither HOME nor XDG_CACHE_HOME is set; give DIR"
	dir="${XDG_CACHE_HOME:-$HOME/.cache}/metagon/cifar"
fi

mkdir -p "$dir" || die "cannot create $dir"
dir="$(cd "$dir" && pwd)"

missing=()
for f in "${files[@]}"; do
	if md5_ok "$dir/$f"; then
		echo "ok      $dir/$f (already present)"
	else
		missing+=("$f")
	fi
done

if ((${#missing[@]} > 0)); then
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	for f in "${missing[@]}"; do
		echo "fetching $BASE_URL/$f ..."
		fetch "$BASE_URL/$f" "$tmp/$f" ||
			die "download of $BASE_URL/$f failed (offline, or the site is down? set CIFAR_BASE_URL to a mirror that serves $f, or copy $f into $dir)"
		got="$(md5_of "$tmp/$f")"
		want="$(want_md5 "$f")"
		[[ "$got" == "$want" ]] ||
			die "md5 mismatch for $f from $BASE_URL: got $got, want $want (a truncated download, or a mirror serving another file; try again or another CIFAR_BASE_URL)"
		if command -v gzip >/dev/null 2>&1; then
			gzip -t "$tmp/$f" 2>/dev/null || die "$f from $BASE_URL is not a whole gzip stream"
		fi
		mv -f "$tmp/$f" "$dir/$f"
		echo "ok      $dir/$f (md5 $got, sha256 $(sha256_of "$dir/$f"))"
	done
fi

echo
echo "CIFAR is in $dir. To use it:"
echo "export CIFAR_DIR=$(printf '%q' "$dir")"
