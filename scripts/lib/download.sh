# Shared helpers of the scripts/download_*.sh scripts, sourced after
# `set -euo pipefail`. A script may set FETCH_ALTERNATIVE (e.g. "or use
# --debian") before calling fetch, for the message when neither curl nor
# wget is installed.

# die MESSAGE…: the message on stderr, prefixed by the script's name; exit 1.
die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# md5_of FILE: its MD5 in hex.
md5_of() {
	if command -v md5sum >/dev/null 2>&1; then
		md5sum "$1" | cut -d' ' -f1
	elif command -v md5 >/dev/null 2>&1; then
		md5 -q "$1"
	else
		die "need md5sum or md5 to verify the files"
	fi
}

# sha256_of FILE: its SHA-256 in hex, or nothing without a tool for it.
sha256_of() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	else
		echo ""
	fi
}

# fetch URL DEST: download with curl or wget, 3 tries, 20 s to connect.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --retry 3 --connect-timeout 20 -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -t 3 -T 20 -O "$2" "$1"
	else
		die "need curl or wget${FETCH_ALTERNATIVE:+ ($FETCH_ALTERNATIVE)}"
	fi
}
