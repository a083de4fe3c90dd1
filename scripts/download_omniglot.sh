#!/usr/bin/env bash
# Download Omniglot's images_background.zip and images_evaluation.zip into DIR
# and check them.
#
# Usage:
#   scripts/download_omniglot.sh [DIR]
#
# DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/omniglot, which is
# also where data.FindOmniglotDir looks last. The zips come from
# https://raw.githubusercontent.com/brendenlake/omniglot/master/python/
# (override with OMNIGLOT_BASE_URL=URL for a mirror). metagon reads them
# as they are; do not unzip them. Each download must be a valid zip (tested
# with `unzip -tq`, else `python3 -m zipfile -t`) with the md5 sum torchvision
# expects of the original files. A file already in DIR is kept if it is a
# valid zip (so the rebuilt zips of shared/data/omniglot, whose md5 differs,
# are accepted too). At the end the script prints the `export OMNIGLOT_DIR=...`
# line to use.
set -euo pipefail
# die, md5_of, sha256_of, fetch
source "$(dirname "$0")/lib/download.sh"

readonly BASE_URL="${OMNIGLOT_BASE_URL:-https://raw.githubusercontent.com/brendenlake/omniglot/master/python}"
readonly FILES=(images_background.zip images_evaluation.zip)

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

want_md5() { # torchvision.datasets.Omniglot's checksums of the original zips
	case "$1" in
	images_background.zip) echo 68d2efa1b9178cc56df9314c21c6e718 ;;
	images_evaluation.zip) echo 6b91aef0f799c5bb55b94e3f2daec811 ;;
	*) die "no md5 known for $1" ;;
	esac
}

md5_of() {
	if command -v md5sum >/dev/null 2>&1; then
		md5sum "$1" | cut -d' ' -f1
	elif command -v md5 >/dev/null 2>&1; then
		md5 -q "$1"
	else
		echo "" # no tool: the caller skips the check
	fi
}

# zip_ok FILE: whether FILE is a complete, valid zip archive.
zip_ok() {
	[[ -s "$1" ]] || return 1
	if command -v unzip >/dev/null 2>&1; then
		unzip -tq "$1" >/dev/null 2>&1
	elif command -v python3 >/dev/null 2>&1; then
		python3 -m zipfile -t "$1" >/dev/null 2>&1
	else
		die "need unzip or python3 to check $1"
	fi
}

dir=""
while (($# > 0)); do
	case "$1" in
	-h | --help)
		usage
		exit 0
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
	dir="${XDG_CACHE_HOME:-$HOME/.cache}/metagon/omniglot"
fi

mkdir -p "$dir" || die "cannot create $dir"
dir="$(cd "$dir" && pwd)"

missing=()
for f in "${FILES[@]}"; do
	if zip_ok "$dir/$f"; then
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
			die "download of $BASE_URL/$f failed (offline? set OMNIGLOT_BASE_URL to a mirror, or copy the zips into $dir)"
		zip_ok "$tmp/$f" || die "$BASE_URL/$f is not a valid zip archive (truncated download?)"
		got="$(md5_of "$tmp/$f")"
		want="$(want_md5 "$f")"
		if [[ -n "$got" && "$got" != "$want" ]]; then
			die "md5 mismatch for $f: got $got, want $want"
		fi
		mv -f "$tmp/$f" "$dir/$f"
		echo "ok      $dir/$f"
	done
fi

echo
echo "Omniglot is in $dir. To use it:"
echo "export OMNIGLOT_DIR=$(printf '%q' "$dir")"
