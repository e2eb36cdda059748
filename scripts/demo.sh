#!/bin/sh
# make demo: a private PostgreSQL, 6 agents on loopback (2 datacenters x 3
# racks, ~2 GiB quota each), ~20,000 objects of random content (4 KiB-1 MiB,
# 2 copies) skewed onto two nodes, and ballastd with the default preset
# (check_interval_s 5). It prints one line per cycle until the imbalance is
# at or below the target, verifies every copy, and stops everything.
#
#   scripts/demo.sh [--keep]    --keep (make demo KEEP=1): leave it running
#
# Environment: DEMO_OBJECTS (20000), DEMO_DIR (a new dir under var/),
# DEMO_TIMEOUT (280 s to converge).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/bin"
keep=0
[ "${1:-}" = "--keep" ] && keep=1
objects=${DEMO_OBJECTS:-20000}
timeout=${DEMO_TIMEOUT:-280}
start_ts=$(date +%s)
mkdir -p "$here/var"
dir=${DEMO_DIR:-$(mktemp -d "$here/var/demo.XXXXXX")}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
chmod 755 "$dir"
pids=""
pg_started=0

psqlbin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null |
    tail -n 1)

say() { printf 'demo: %s\n' "$*"; }

cleanup() {
	rc=$?
	if [ "$keep" -eq 1 ] && [ "$rc" -eq 0 ]; then
		return
	fi
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	if [ "$pg_started" -eq 1 ]; then
		"$here/scripts/pg-private.sh" stop "$dir/pg" || true
	fi
	if [ "$rc" -eq 0 ] && [ -z "${DEMO_DIR:-}" ]; then
		rm -rf "$dir"
	elif [ "$rc" -ne 0 ]; then
		echo "demo: failed; logs are in $dir" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sql() {
	"$psqlbin" -X -q -At -h "$dir/pg/sock" -U postgres -d ballast -c "$1"
}

free_port() {
	# The kernel picks; the small window before use is fine on loopback.
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
	    echo $((20000 + ($$ + $1 * 7919) % 30000))
}

say "building"
(cd "$here" && make -s all >/dev/null)

say "starting PostgreSQL in $dir/pg"
conninfo=$("$here/scripts/pg-private.sh" start "$dir/pg")
pg_started=1

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/secret"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/operator.token"
chmod 600 "$dir/secret" "$dir/operator.token"
token=$(cat "$dir/operator.token")

# 6 nodes: dc1/dc2 x rack r1..r3, one host each. The objects are written
# before the agents start (an agent counts its root at start-up).
cap=$((2 * 1024 * 1024 * 1024))
i=0
for dc in dc1 dc2; do
	for rack in r1 r2 r3; do
		i=$((i + 1))
		id="$i.stor.$dc"
		mkdir -p "$dir/$id/root"
		echo "$id $(free_port $i) $dc $rack" >> "$dir/nodes.txt"
	done
done
say "seeding $objects objects (4 KiB-1 MiB, 2 copies), skewed onto 1.stor.dc1 and 4.stor.dc2"
seedargs=""
while read -r id port dc rack; do
	share=45
	case "$id" in 1.stor.dc1|4.stor.dc2) share=85 ;; esac
	seedargs="$seedargs --node $id=$dir/$id/root=$share"
done < "$dir/nodes.txt"
t0=$(date +%s)
# shellcheck disable=SC2086
"$bin/ballastctl" demo-seed $seedargs --objects "$objects" \
    --min-size 4096 --max-size 1048576 --copies 2 > "$dir/objects.csv"
say "seeded $(awk -F, 'NR > 1 { s += $3 } END { printf "%.2f GiB", s / 1073741824 }' "$dir/objects.csv") of unique content in $(( $(date +%s) - t0 ))s"

while read -r id port dc rack; do
	"$bin/ballast-agent" --listen "127.0.0.1:$port" \
	    --root "$dir/$id/root" --state "$dir/$id/state.db" \
	    --node-id "$id" --secret-file "$dir/secret" \
	    --capacity-bytes "$cap" --max-transfers 16 \
	    >"$dir/$id/agent.log" 2>&1 &
	pids="$pids $!"
done < "$dir/nodes.txt"

api_port=$(free_port 99)
cat > "$dir/ballast.json" <<EOF
{
  "listen": "127.0.0.1:$api_port",
  "database": "$conninfo",
  "secret_file": "$dir/secret",
  "log_level": "info",
  "tokens": [{"name": "demo", "token_file": "$dir/operator.token",
              "role": "operator"}],
  "policy": {"preset": "default", "check_interval_s": 5},
  "engine": {"poll_interval_ms": 200, "max_assignment_age_s": 0,
             "source_delete_grace_s": 0, "max_tasks_per_assignment": 100}
}
EOF
"$bin/ballastd" --config "$dir/ballast.json" >"$dir/ballastd.log" 2>&1 &
ctl_pid=$!
pids="$pids $ctl_pid"
export BALLAST_SERVER="http://127.0.0.1:$api_port"
export BALLAST_TOKEN_FILE="$dir/operator.token"
n=0
until "$bin/ballastctl" status >/dev/null 2>&1; do
	n=$((n + 1))
	[ "$n" -lt 200 ] || { say "ballastd did not start"; tail "$dir/ballastd.log"; exit 1; }
	sleep 0.1
done

# Register the nodes (waiting for each agent), then seed.
while read -r id port dc rack; do
	n=0
	until curl -sf "http://127.0.0.1:$port/v1/status" >/dev/null; do
		n=$((n + 1))
		[ "$n" -lt 200 ] || { say "agent $id did not start"; exit 1; }
		sleep 0.1
	done
	curl -sf -X PUT -H "Authorization: Bearer $token" \
	    -H 'Content-Type: application/json' \
	    -d "{\"region\":\"r\",\"datacenter\":\"$dc\",\"rack\":\"$rack\",\"host\":\"$id\",\"agent_url\":\"http://127.0.0.1:$port\",\"capacity_bytes\":$cap}" \
	    "$BALLAST_SERVER/v1/nodes/$id" >/dev/null
done < "$dir/nodes.txt"

"$bin/ballastctl" objects import "$dir/objects.csv" >/dev/null

# Wait for a fresh view of the agents' usage, then let the loop run.
"$bin/ballastctl" run >/dev/null
bar() {
	# bar FILL(0..1): 20 characters
	awk -v f="$1" 'BEGIN { n = int(f * 20 + 0.5); s = "";
	    for (i = 0; i < 20; i++) s = s (i < n ? "#" : ".");
	    printf "%s", s }'
}
last=0
first_id=""
target=""
deadline=$(( $(date +%s) + timeout ))
while :; do
	rows=$(sql "SELECT id, outcome, coalesce(round(imbalance_before::numeric, 4)::text, '-'), moves, bytes, round(target::numeric, 4) FROM cycles WHERE id > $last AND outcome <> 'not_leader' ORDER BY id")
	if [ -n "$rows" ]; then
		echo "$rows" | while IFS='|' read -r cid outcome imb moves bytes tgt; do
			fills=$(sql "SELECT string_agg(split_part(id, '.', 1) || ':' || round(used_bytes::numeric / greatest(capacity_bytes, 1), 2)::text, ' ' ORDER BY id) FROM nodes")
			b=""
			for f in $fills; do
				b="$b ${f%%:*}[$(bar "${f#*:}")]"
			done
			printf 'cycle %3s  %-16s imbalance %-6s target %s  moves %5s  %4s MiB %s\n' \
			    "$cid" "$outcome" "$imb" "$tgt" "$moves" \
			    "$((bytes / 1048576))" "$b"
		done
		last=$(echo "$rows" | tail -n 1 | cut -d'|' -f1)
		[ -n "$first_id" ] || first_id=$(echo "$rows" | head -n 1 | cut -d'|' -f1)
	fi
	if [ -n "$first_id" ]; then
		done_id=$(sql "SELECT c.id FROM cycles c WHERE c.id <= $last AND (SELECT count(*) FROM jobs WHERE state IN ('init','setup','running','paused')) = 0 AND (SELECT count(*) FROM job_tasks WHERE cleanup = 'source') = 0 AND c.outcome = 'idle' AND c.imbalance_before <= c.target AND c.started_at > coalesce((SELECT max(finished_at) FROM jobs), 'epoch') AND c.id = (SELECT max(id) FROM cycles WHERE id <= $last AND outcome <> 'not_leader')")
		[ -n "$done_id" ] && break
	fi
	if [ "$(date +%s)" -ge "$deadline" ]; then
		say "did not converge within ${timeout}s"
		"$bin/ballastctl" status || true
		exit 1
	fi
	sleep 1
done

say "verifying every copy of every object"
"$bin/ballastctl" verify --database "$conninfo" --secret-file "$dir/secret" --quiet > "$dir/verify.txt" 2>&1 || {
	cat "$dir/verify.txt"; say "the verifier found damage"; exit 1; }
tail -n 1 "$dir/verify.txt"
lost=$(sql "SELECT count(*) FROM objects WHERE cardinality(copies) < 2")

summary=$(sql "SELECT round(f.imbalance_before::numeric, 2), round((SELECT max(u) - min(u) FROM (SELECT used_bytes::float8 / capacity_bytes AS u FROM nodes WHERE state = 'in') x)::numeric, 2), (SELECT count(*) FROM cycles WHERE id BETWEEN f.id AND $done_id AND outcome <> 'not_leader'), (SELECT coalesce(sum(bytes_done), 0) FROM jobs WHERE origin = 'controller'), f.min_bytes FROM cycles f WHERE f.id = $first_id")
IFS='|' read -r a b ncyc moved minb <<EOF
$summary
EOF
human() {
	awk -v b="$1" 'BEGIN { if (b >= 1073741824) printf "%.2f GiB", b / 1073741824;
	    else printf "%.1f MiB", b / 1048576 }'
}
if [ "$keep" -eq 1 ]; then
	say "left running (KEEP=1):"
	say "  API      $BALLAST_SERVER  (token: $token)"
	say "  token    $dir/operator.token"
	while read -r id port dc rack; do
		say "  agent    $id http://127.0.0.1:$port"
	done < "$dir/nodes.txt"
	say "  database $conninfo"
	say "  try: BALLAST_SERVER=$BALLAST_SERVER BALLAST_TOKEN_FILE=$dir/operator.token $bin/ballastctl status"
	say "  stop: kill$pids; scripts/pg-private.sh stop $dir/pg"
fi
say "finished in $(( $(date +%s) - start_ts ))s"
echo "demo: converged: imbalance $a -> $b in $ncyc cycles, moved $(human "$moved") (minimum $(human "$minb")), $lost objects lost"
