#!/usr/bin/env bash
# Runs every native Go fuzz target of the repository, one after another.
#
# Usage: scripts/fuzz.sh [REGEX]
#
# Finds every `func FuzzXxx(f *testing.F)` in the repository's *_test.go
# files (by grep, so targets added later are picked up) and runs each as
#
#   go test ./PKG -run '^$' -fuzz '^FuzzXxx$' -fuzztime $FUZZTIME
#
# then prints, per target, the number of inputs executed (from go's
# "fuzz: elapsed: ..., execs: N" lines) and whether it crashed, and a final
# summary line. With REGEX, runs only the targets whose "PKG FuzzXxx" (e.g.
# "./data FuzzReadIDX") matches it (grep -E). Works from any directory.
#
# Environment:
#   FUZZTIME          how long to fuzz each target (default 60s; go's
#                     -fuzztime, so "1000x" means 1000 inputs)
#   FUZZMINIMIZETIME  how long to minimize each new input (default 5s; go's
#                     default of 60s would stall the fuzzing each time a new
#                     interesting input is found; raise it to shrink a crasher)
#   FUZZFLAGS         more go test flags, e.g. "-parallel 1" on a shared machine
#
# Exit status: 0 if no target failed; 1 if any target crashed (go writes the
# crashing input to PKG/testdata/fuzz/FuzzXxx/: commit it as a regression
# test, it then runs in the normal go test) or failed to build or run; 2 for
# bad usage or no targets.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $# -gt 1 || ${1:-} == -h || ${1:-} == --help ]]; then
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 2
fi
filter=${1:-}
fuzztime=${FUZZTIME:-60s}
minimizetime=${FUZZMINIMIZETIME:-5s}
read -r -a extra <<<"${FUZZFLAGS:-}"

# Targets as "./PKG FuzzXxx", one a line, sorted.
targets=$(
	grep -rE --include='*_test.go' --exclude-dir=.git --exclude-dir=vendor --exclude-dir=testdata \
		--exclude-dir=shared -o '^func Fuzz[A-Za-z0-9_]*\([A-Za-z_][A-Za-z0-9_]* \*testing\.F\)' . |
		sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*$|\1 \2|' | sort -u || true
)
if [[ -n $filter ]]; then
	targets=$(grep -E -- "$filter" <<<"$targets" || true)
fi
if [[ -z $targets ]]; then
	echo "fuzz.sh: no fuzz targets found${filter:+ matching $filter}" >&2
	exit 2
fi

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT

declare -a results
total_execs=0
failed=0
n=0
while read -r pkg name; do
	n=$((n + 1))
	log=$logdir/$n.log
	echo "=== $pkg $name (fuzztime $fuzztime)"
	if go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" \
		${extra[@]+"${extra[@]}"} 2>&1 | tee "$log"; then
		status=ok
	else
		status=FAILED
		failed=$((failed + 1))
		crasher=$(grep -oE 'testdata/fuzz/[^ ]+' "$log" | tail -n 1 || true)
		if [[ -n $crasher ]]; then
			status="CRASHED, input in ${pkg#./}/$crasher"
		fi
	fi
	execs=$(grep -oE '^fuzz: elapsed: .*, execs: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+$' || true)
	execs=${execs:-0}
	total_execs=$((total_execs + execs))
	results+=("$(printf '%-14s %-24s %12s execs  %s' "$pkg" "$name" "$execs" "$status")")
done <<<"$targets"

echo
echo "=== fuzz results (fuzztime $fuzztime each)"
printf '%s\n' "${results[@]}"
echo "fuzz.sh: $n targets, $total_execs execs in all, $failed failed"
if ((failed > 0)); then
	exit 1
fi
