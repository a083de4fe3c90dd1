#!/usr/bin/env bash
# Put your own copy of mini-ImageNet into DIR, in the layout metagon reads,
# and check it.
#
# Usage:
#   scripts/download_miniimagenet.sh [--any-split] YOUR_COPY [DIR]
#   scripts/download_miniimagenet.sh --check [--any-split] DIR
#
# mini-ImageNet (Vinyals et al., "Matching Networks for One Shot Learning",
# NeurIPS 2016) is 100 classes of 600 images from ImageNet's ILSVRC-2012
# training set, 84×84 colour; the few-shot literature splits it as Ravi &
# Larochelle ("Optimization as a Model for Few-Shot Learning", ICLR 2017)
# published: 64 training, 16 validation and 20 test classes, listed by
# train.csv, val.csv and test.csv (github.com/twitter/meta-learning-lstm,
# data/miniImagenet/). ImageNet's images may be used under ImageNet's terms
# of access (non-commercial research and education), and no stable
# official address serves mini-ImageNet, so this script downloads nothing:
# it takes YOUR_COPY, made by you from ILSVRC-2012 with those CSVs or
# obtained as your institution allows, checks it and puts it into DIR.
#
# YOUR_COPY is a .zip, .tar, .tar.gz, .tgz, .tar.bz2 or .tar.xz archive, or
# a folder, holding (at its top or in a folder at most two levels down)
# train.csv, val.csv and test.csv beside images/ (or images.zip, which is
# unpacked), the layout that MAML's and Prototypical Networks' instructions
# use: each CSV is the header filename,label and one line per image, e.g.
# n0153282900000005.jpg,n01532829, naming a JPEG or PNG in images/. Images
# of any size are accepted (metagon resizes them to 84×84 as MAML's
# proc_images.py does, with Pillow's LANCZOS filter).
#
# The checks, each failing with a message saying what is wrong:
#   - each CSV's first line is filename,label and every other line has two
#     fields, the second a WordNet id (n and 8 digits);
#   - train.csv, val.csv and test.csv have 64, 16 and 20 classes of 600
#     images each, 60,000 images in all;
#   - no class and no file is in two CSVs, and no file twice in one;
#   - every file the CSVs list is in images/;
#   - the CSVs are byte for byte Ravi & Larochelle's: their SHA-256 (the
#     authors publish none; these are computed from their repository's
#     files, commit af4c58a3, and are also data.RaviMiniImageNetCSVSHA256).
#     --any-split accepts other CSVs with the same counts, with a warning;
#   - if the `file` command is installed, every listed file is a JPEG or a
#     PNG (grey-scale and CMYK images are fine: metagon reads them as RGB,
#     as Pillow's Image.convert("RGB") does).
#
# DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/mini-imagenet,
# which is also where data.FindMiniImageNetDir looks last. DIR must not
# exist yet, or be empty; if it already holds a copy that passes the
# checks, the script says so and leaves it. --check only checks DIR in
# place (for instance a folder of yours that MINIIMAGENET_DIR will point
# at). At the end the script prints the `export MINIIMAGENET_DIR=...` line
# to use. metagon decodes the images on first use (minutes) and caches the
# decoded set (1.3 GB) under ~/.cache/metagon.
set -euo pipefail
# die, md5_of, sha256_of, fetch
source "$(dirname "$0")/lib/download.sh"

export LC_ALL=C

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

warn() {
	echo "download_miniimagenet.sh: warning: $*" >&2
}

want_sha256() { # of Ravi & Larochelle's CSVs (data/miniImagenet/ of github.com/twitter/meta-learning-lstm)
	case "$1" in
	train.csv) echo 498519cd8e49ce97ed26a4a3638966698ae41ab35e9c68538319fc9b46ba7d2f ;;
	val.csv) echo 5658a59921ca027ee76af92949869c5d6f41d77592ff3b18db325a9d10c893b9 ;;
	test.csv) echo 2b7cfa78342995761a572a8158e539bc4e0a80f9bbd7d00c1e17a460fbbb93fa ;;
	*) die "no sha256 known for $1" ;;
	esac
}

# want_classes SPLIT: how many classes the split has.
want_classes() {
	case "$1" in
	train) echo 64 ;;
	val) echo 16 ;;
	test) echo 20 ;;
	esac
}

readonly PER_CLASS=600 TOTAL=60000

# Scratch files of the checks, and the folder a copy is unpacked into;
# both removed on exit.
work="$(mktemp -d)"
stage=""
trap 'rm -rf "$work" ${stage:+"$stage"}' EXIT

# first_lines FILE: the first five lines of FILE (a regular file), one a
# line, indented, and how many more there are.
first_lines() {
	head -n 5 "$1" | sed 's/^/    /'
	local n
	n=$(wc -l <"$1")
	((n <= 5)) || echo "    ... and $((n - 5)) more"
}

# verify D [NAME]: runs every check on the layout in D, which messages
# call NAME (default D); dies at the first failure.
verify() {
	local d="$1" name="${2:-$1}" s f
	for s in train val test; do
		[[ -f "$d/$s.csv" ]] || die "$name has no $s.csv (want train.csv, val.csv and test.csv beside images/)"
	done
	[[ -d "$d/images" ]] || die "$name has no images/ folder beside its CSVs"
	rm -f "$work"/*

	# Each CSV: header, two fields a line, WordNet ids, counts.
	for s in train val test; do
		f="$d/$s.csv"
		awk -F, -v csv="$s.csv" -v rows="$work/$s.rows" -v bom="$(printf '\357\273\277')" '
			{ sub(/\r$/, "") }
			NR == 1 {
				if (index($0, bom) == 1) $0 = substr($0, 4)
				if ($0 != "filename,label") { printf "%s line 1 is \"%s\", want the header filename,label\n", csv, $0; exit 1 }
				next
			}
			$0 == "" { blank = NR; next }
			{
				if (blank) { printf "%s line %d is blank, want filename,label\n", csv, blank; exit 1 }
				if (NF != 2) { printf "%s line %d has %d fields (\"%s\"), want 2: filename,label\n", csv, NR, NF, $0; exit 1 }
				if ($2 !~ /^n[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]$/) { printf "%s line %d has label \"%s\", want a WordNet id (n and 8 digits)\n", csv, NR, $2; exit 1 }
				if ($1 == "" || $1 ~ /\// || $1 ~ /^\./) { printf "%s line %d has file name \"%s\", want the name of a file in images/\n", csv, NR, $1; exit 1 }
				print $1 "," $2 > rows
			}
		' "$f" >"$work/problem" || die "$name/$(cat "$work/problem")"
		[[ -s "$work/$s.rows" ]] || die "$name/$s.csv lists no images (only its header)"
		cut -d, -f2 "$work/$s.rows" | sort | uniq -c | awk '{ print $2, $1 }' >"$work/$s.classes"
		local classes want
		classes=$(wc -l <"$work/$s.classes")
		want=$(want_classes "$s")
		((classes == want)) || die "$name/$s.csv lists $classes classes, want $want (Ravi & Larochelle's $s split)"
		awk -v n="$PER_CLASS" '$2 != n { print $1 " has " $2 " images" }' "$work/$s.classes" >"$work/off"
		[[ ! -s "$work/off" ]] || die "$name/$s.csv: $(wc -l <"$work/off") classes do not have $PER_CLASS images each:
$(first_lines "$work/off")"
		cut -d, -f1 "$work/$s.rows" | sort | uniq -d >"$work/dup"
		[[ ! -s "$work/dup" ]] || die "$name/$s.csv lists these files more than once:
$(first_lines "$work/dup")"
	done
	local total
	total=$(cat "$work"/{train,val,test}.rows | wc -l)
	((total == TOTAL)) || die "$name: the CSVs list $total images, want $TOTAL"

	# Across the CSVs: no shared class or file.
	cat "$work"/{train,val,test}.classes | cut -d' ' -f1 | sort | uniq -d >"$work/shared"
	[[ ! -s "$work/shared" ]] || die "$name: these classes are in more than one CSV (the splits must not share classes):
$(first_lines "$work/shared")"
	cat "$work"/{train,val,test}.rows | cut -d, -f1 | sort >"$work/want"
	uniq -d "$work/want" >"$work/shared"
	[[ ! -s "$work/shared" ]] || die "$name: these files are in more than one CSV:
$(first_lines "$work/shared")"

	# Every listed file is in images/.
	(cd "$d/images" && find . -maxdepth 1 -type f | sed 's|^\./||' | sort) >"$work/have"
	comm -23 "$work/want" "$work/have" >"$work/missing"
	[[ ! -s "$work/missing" ]] || die "$name/images lacks $(wc -l <"$work/missing") of the $TOTAL files the CSVs list:
$(first_lines "$work/missing")"

	# Ravi & Larochelle's CSVs, byte for byte.
	local got other=()
	for s in train val test; do
		got="$(sha256_of "$d/$s.csv")"
		if [[ -z "$got" ]]; then
			warn "no sha256sum or shasum: the CSVs' checksums are not checked"
			break
		fi
		[[ "$got" == "$(want_sha256 "$s.csv")" ]] || other+=("$s.csv (sha256 $got)")
	done
	if ((${#other[@]} > 0)); then
		if ((any_split)); then
			warn "not Ravi & Larochelle's CSVs: ${other[*]}; accepted (--any-split), as they have the same counts"
		else
			die "$name: not Ravi & Larochelle's CSVs: ${other[*]} differ from data/miniImagenet/ of github.com/twitter/meta-learning-lstm (with CRLF line ends or re-sorted rows the checksums differ too); use --any-split to accept another split of 64/16/20 classes of 600 images"
		fi
	fi

	# JPEG or PNG.
	if command -v file >/dev/null 2>&1; then
		(cd "$d/images" && tr '\n' '\0' <"$work/want" | xargs -0 file -F '|' --) >"$work/types"
		grep -v -E '\| (JPEG image data|PNG image data)' "$work/types" >"$work/notimage" || true
		[[ ! -s "$work/notimage" ]] || die "$name/images: $(wc -l <"$work/notimage") files are neither JPEG nor PNG:
$(first_lines "$work/notimage")"
	else
		warn "no \`file\` command: image formats and channels are checked when metagon first loads the images"
	fi
	echo "ok      $name: train/val/test.csv list 64/16/20 classes of $PER_CLASS images, $TOTAL in images/"
}

# find_layout ROOT: the shallowest folder under ROOT (itself or at most two
# levels down, outside __MACOSX) that holds train.csv.
find_layout() {
	local shallowest
	shallowest="$(find "$1" -maxdepth 3 -name train.csv -type f -not -path '*/__MACOSX/*' |
		awk -F/ '{ print NF "\t" $0 }' | sort -n | awk -F'\t' 'NR == 1 { print $2 }')"
	[[ -z "$shallowest" ]] || dirname "$shallowest"
}

# unpack COPY STAGE: unpacks or copies COPY into the folder STAGE.
unpack() {
	local copy="$1" stage="$2"
	if [[ -d "$copy" ]]; then
		echo "copying $copy ..."
		cp -R "$copy"/. "$stage"/ || die "cannot copy $copy into $stage"
		return
	fi
	[[ -f "$copy" ]] || die "YOUR_COPY $copy: no such file or folder"
	echo "unpacking $copy ..."
	case "$copy" in
	*.zip | *.ZIP)
		command -v unzip >/dev/null 2>&1 || die "need unzip to unpack $copy"
		unzip -q "$copy" -d "$stage" || die "$copy is not a whole zip archive (unzip failed)"
		;;
	*.tar | *.tar.gz | *.tgz | *.tar.bz2 | *.tar.xz)
		tar -xf "$copy" -C "$stage" || die "$copy is not a whole tar archive (tar failed)"
		;;
	*) die "YOUR_COPY $copy: want a .zip, .tar, .tar.gz, .tgz, .tar.bz2 or .tar.xz archive, or a folder" ;;
	esac
}

any_split=0
check_only=0
args=()
while (($# > 0)); do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--any-split) any_split=1 ;;
	--check) check_only=1 ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) args+=("$1") ;;
	esac
	shift
done

if ((check_only)); then
	((${#args[@]} == 1)) || die "--check takes one DIR (see --help)"
	[[ -d "${args[0]}" ]] || die "--check ${args[0]}: no such folder"
	dir="$(cd "${args[0]}" && pwd)"
	verify "$dir"
else
	((${#args[@]} >= 1)) || die "give YOUR_COPY, your mini-ImageNet archive or folder (see --help); this script downloads nothing"
	((${#args[@]} <= 2)) || die "more than YOUR_COPY and DIR given (see --help)"
	copy="${args[0]}"
	if ((${#args[@]} == 2)); then
		dir="${args[1]}"
	else
		[[ -n "${XDG_CACHE_HOME:-}" || -n "${HOME:-}" ]] || die "neither HOME nor XDG_CACHE_HOME is set; give DIR"
		dir="${XDG_CACHE_HOME:-$HOME/.cache}/metagon/mini-imagenet"
	fi
	if [[ -f "$dir/train.csv" ]]; then
		verify "$dir"
		echo "ok      $dir already holds mini-ImageNet; $copy was not used"
	else
		if [[ -e "$dir" ]]; then
			[[ -d "$dir" && -z "$(ls -A "$dir")" ]] || die "$dir exists and is not an empty folder; remove it or give another DIR"
			rmdir "$dir"
		fi
		[[ -e "$copy" ]] || die "YOUR_COPY $copy: no such file or folder"
		copy="$(cd "$(dirname "$copy")" && pwd)/$(basename "$copy")"
		parent="$(dirname "$dir")"
		mkdir -p "$parent" || die "cannot create $parent"
		parent="$(cd "$parent" && pwd)"
		dir="$parent/$(basename "$dir")"
		# Unpacked next to DIR, so that the final move is a rename.
		stage="$(mktemp -d "$parent/.mini-imagenet-unpack.XXXXXX")"
		unpack "$copy" "$stage"
		root="$(find_layout "$stage")"
		[[ -n "$root" ]] || die "$copy holds no train.csv (at its top or two folders down); want train.csv, val.csv, test.csv and images/"
		if [[ ! -d "$root/images" && -f "$root/images.zip" ]]; then
			echo "unpacking images.zip ..."
			unzip -q "$root/images.zip" -d "$root" || die "$copy: images.zip is not a whole zip archive"
			rm -f "$root/images.zip"
		fi
		verify "$root" "$copy${root#"$stage"}"
		mv "$root" "$dir" || die "cannot move the checked copy to $dir"
		echo "ok      $dir"
	fi
fi

echo
echo "mini-ImageNet is in $dir. To use it:"
echo "export MINIIMAGENET_DIR=$(printf '%q' "$dir")"
