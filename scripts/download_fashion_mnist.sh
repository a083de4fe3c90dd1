#!/usr/bin/env bash
# Get Fashion-MNIST (Xiao, Rasul & Vollgraf 2017; MIT licence): its four
# gzipped idx files, in MNIST's format.
#
# Usage:
#   scripts/download_fashion_mnist.sh [DIR]
#   scripts/download_fashion_mnist.sh --debian
#
# Without --debian the files are downloaded into DIR (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/fashion-mnist, where
# data.FindFashionMNISTDir looks) from
# http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/, the links of
# the data set's README (override with FASHION_MNIST_BASE_URL=URL for a
# mirror serving the same file names), and each must have the MD5 sum that
# README lists. Files already in DIR with the right sum are kept. At the end
# the script prints the `export FASHION_MNIST_DIR=...` line to use.
#
# --debian installs Debian's dataset-fashion-mnist package instead (with
# apt-get, as root or through sudo), which puts the same images in
# /usr/share/datasets/fashion-mnist; metagon looks there by itself, so no
# variable needs setting. (Debian recompresses the files, so their MD5 sums
# differ from the README's; the images and labels are the same.)
set -euo pipefail
# die, md5_of, sha256_of, fetch
source "$(dirname "$0")/lib/download.sh"
FETCH_ALTERNATIVE="or use --debian"

readonly BASE_URL="${FASHION_MNIST_BASE_URL:-http://fashion-mnist.s3-website.eu-central-1.amazonaws.com}"
readonly DEBIAN_DIR=/usr/share/datasets/fashion-mnist
readonly FILES=(
	train-images-idx3-ubyte.gz
	train-labels-idx1-ubyte.gz
	t10k-images-idx3-ubyte.gz
	t10k-labels-idx1-ubyte.gz
)

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

want_md5() { # the sums the Fashion-MNIST README lists
	case "$1" in
	train-images-idx3-ubyte.gz) echo 8d4fb7e6c68d591d4c3dfef9ec88bf0d ;;
	train-labels-idx1-ubyte.gz) echo 25c81989df183df01b3e8a0aad5dffbe ;;
	t10k-images-idx3-ubyte.gz) echo bef4ecab320f06d8554ea6380940ec79 ;;
	t10k-labels-idx1-ubyte.gz) echo bb300cfdad3c16e7a12a480ee83cd310 ;;
	*) die "no md5 known for $1" ;;
	esac
}

md5_ok() {
	[[ -f "$1" ]] && [[ "$(md5_of "$1")" == "$(want_md5 "$(basename "$1")")" ]]
}

debian=false
dir=""
while (($# > 0)); do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--debian) debian=true ;;
	-*) die "unknown option $1 (see --help)" ;;
	*)
		[[ -z "$dir" ]] || die "more than one DIR given (see --help)"
		dir="$1"
		;;
	esac
	shift
done

if $debian; then
	[[ -z "$dir" ]] || die "--debian installs into $DEBIAN_DIR; give no DIR"
	if [[ ! -f "$DEBIAN_DIR/train-images-idx3-ubyte.gz" ]]; then
		command -v apt-get >/dev/null 2>&1 || die "--debian needs apt-get (a Debian or Ubuntu system)"
		sudo=()
		if [[ "$(id -u)" != 0 ]]; then
			command -v sudo >/dev/null 2>&1 || die "--debian needs root or sudo to run apt-get"
			sudo=(sudo)
		fi
		"${sudo[@]}" apt-get install -y dataset-fashion-mnist ||
			die "apt-get install dataset-fashion-mnist failed (run apt-get update first?)"
	fi
	for f in "${FILES[@]}"; do
		[[ -f "$DEBIAN_DIR/$f" ]] || die "$DEBIAN_DIR/$f is missing after installing dataset-fashion-mnist"
	done
	echo "Fashion-MNIST is in $DEBIAN_DIR, where metagon looks by itself."
	exit 0
fi

if [[ -z "$dir" ]]; then
	[[ -n "${XDG_CACHE_HOME:-}" || -n "${HOME:-}" ]] || die "neither HOME nor XDG_CACHE_HOME is set; give DIR"
	dir="${XDG_CACHE_HOME:-$HOME/.cache}/metagon/fashion-mnist"
fi

mkdir -p "$dir" || die "cannot create $dir"
dir="$(cd "$dir" && pwd)"

missing=()
for f in "${FILES[@]}"; do
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
			die "download of $BASE_URL/$f failed (offline? set FASHION_MNIST_BASE_URL to a mirror, or use --debian)"
		got="$(md5_of "$tmp/$f")"
		want="$(want_md5 "$f")"
		[[ "$got" == "$want" ]] || die "md5 mismatch for $f from $BASE_URL: got $got, want $want"
		mv -f "$tmp/$f" "$dir/$f"
		echo "ok      $dir/$f"
	done
fi

echo
echo "Fashion-MNIST is in $dir. To use it:"
echo "export FASHION_MNIST_DIR=$(printf '%q' "$dir")"
