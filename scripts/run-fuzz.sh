#!/bin/sh
# Runs each libFuzzer harness for a fixed time against a scratch copy of its
# committed corpus. Prints BENCH lines with the executions and fails on any
# crash, leak or sanitizer report (the input is kept in BUILD/artifacts).
#   run-fuzz.sh BUILD SECONDS NAME...
set -u
build=$1; secs=$2; shift 2
total=0; bad=""
mkdir -p "$build/artifacts"
for name in "$@"; do
	work=$(mktemp -d)
	log="$build/artifacts/$name.log"
	"$build/fuzz/fuzz_$name" -max_total_time="$secs" -print_final_stats=1 \
	    -artifact_prefix="$build/artifacts/$name-" -timeout=10 -rss_limit_mb=2048 \
	    "$work" "tests/fuzz/corpus/$name" >"$log" 2>&1
	rc=$?
	n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	n=${n:-0}
	total=$((total + n))
	echo "BENCH fuzz_${name}_execs $n execs"
	if [ "$rc" -ne 0 ]; then
		bad="$bad $name"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
	fi
	rm -rf "$work"
done
echo "BENCH fuzz_total_execs $total execs"
if [ -n "$bad" ]; then
	echo "fuzz: failures in:$bad (inputs in $build/artifacts)" >&2
	exit 1
fi
