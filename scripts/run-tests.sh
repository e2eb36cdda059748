#!/bin/sh
# Runs each test program given, prints its output, and ends with one line:
#   "tests: N passed, M failed"
# N and M count cmocka test cases; a program that exits non-zero without a
# cmocka failure line (a crash, a sanitizer report) counts as one failure.
set -u
passed=0
failed=0
bad=""
for t in "$@"; do
	name=$(basename "$t")
	out=$(mktemp)
	"$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$out" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$out" | tail -n 1)
	passed=$((passed + ${p:-0}))
	if [ -n "$f" ]; then
		failed=$((failed + f))
		bad="$bad $name"
	elif [ "$rc" -ne 0 ]; then
		failed=$((failed + 1))
		bad="$bad $name(exit=$rc)"
	fi
	rm -f "$out"
done
[ -n "$bad" ] && echo "failing:$bad"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
