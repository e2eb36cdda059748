#!/bin/sh
# Regenerates the CRUSH golden vectors with Ceph's own mapper (crushtool,
# Debian package ceph-base), or with --check proves that crushtool still
# produces the committed ones byte for byte.
#
#   scripts/golden-crush.sh [--check] [DIR]     (DIR: tests/golden/crush)
#
# DIR/src/NAME.crush is a map in crushtool's text syntax. DIR/cases has one
# case a line: "MAP RULE REPLICAS FROM TO [ID:WEIGHT16 ...]", WEIGHT16 a
# device reweight in 16.16 fixed point (0 = out). For each case the script
# compiles the map, writes DIR/MAP.map.json (crushtool --dump) when it is
# missing, and writes DIR/MAP.RULE.rREPLICAS.expect: a header with the
# ballastctl command that must reproduce it, then "x item item ..." lines
# with "none" for a hole, as tests/unit/test_crush.c and
# tests/integration/test_cli_crush.c read them.
set -eu

check=0
if [ "${1:-}" = "--check" ]; then
	check=1
	shift
fi
dir=${1:-"$(dirname "$0")/../tests/golden/crush"}
command -v crushtool >/dev/null 2>&1 || {
	echo "golden-crush: crushtool not found (apt-get install ceph-base)" >&2
	exit 1
}
[ -f "$dir/cases" ] || {
	echo "golden-crush: $dir/cases: no such file" >&2
	exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

bad=0
n=0
while read -r map rule reps from to reweights; do
	case "$map" in ''|'#'*) continue ;; esac
	src="$dir/src/$map.crush"
	[ -f "$src" ] || {
		echo "golden-crush: $src: no such file" >&2
		exit 1
	}
	[ -f "$tmp/$map.bin" ] ||
		crushtool -c "$src" -o "$tmp/$map.bin" >/dev/null
	if [ ! -f "$dir/$map.map.json" ]; then
		if [ "$check" -eq 1 ]; then
			echo "golden-crush: $dir/$map.map.json is missing" >&2
			bad=1
			continue
		fi
		crushtool -i "$tmp/$map.bin" --dump >"$dir/$map.map.json"
	fi
	id=$(awk -v r="$rule" '$1 == "rule" && $2 == r { on = 1; next }
	    on && $1 == "id" { print $2; exit }' "$src")
	[ -n "$id" ] || {
		echo "golden-crush: $src: no rule \"$rule\"" >&2
		exit 1
	}
	hdr="# ballastctl crush map --crushmap $map.map.json --rule $rule"
	hdr="$hdr --replicas $reps --from $from --to $to"
	wflags=""
	for rw in $reweights; do
		dev=${rw%%:*}
		w16=${rw#*:}
		hdr="$hdr --reweight $dev:$w16"
		wflags="$wflags --weight $dev $(awk -v w="$w16" \
		    'BEGIN { printf "%.8f", w / 65536 }')"
	done
	out="$tmp/$map.$rule.r$reps.expect"
	echo "$hdr" >"$out"
	# shellcheck disable=SC2086 # wflags is a list of flags
	crushtool -i "$tmp/$map.bin" --test --rule "$id" --num-rep "$reps" \
	    --min-x "$from" --max-x "$to" $wflags --show-mappings |
	    sed -n 's/^CRUSH rule [0-9]* x \([0-9]*\) \[\(.*\)\]$/\1 \2/p' |
	    sed -e 's/,/ /g' -e 's/\b2147483647\b/none/g' >>"$out"
	lines=$(($(wc -l <"$out") - 1))
	if [ "$lines" -ne $((to - from + 1)) ]; then
		echo "golden-crush: $map $rule: crushtool printed $lines" \
		    "mappings, want $((to - from + 1))" >&2
		exit 1
	fi
	name=$(basename "$out")
	if [ "$check" -eq 1 ]; then
		if ! cmp -s "$out" "$dir/$name"; then
			echo "golden-crush: $dir/$name differs from crushtool" >&2
			bad=1
		fi
	else
		cp "$out" "$dir/$name"
	fi
	n=$((n + 1))
done <"$dir/cases"

[ "$bad" -eq 0 ] || exit 1
if [ "$check" -eq 1 ]; then
	echo "golden-crush: $n cases match crushtool"
else
	echo "golden-crush: wrote $n cases to $dir"
fi
