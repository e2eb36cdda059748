#!/bin/sh
# A private PostgreSQL for tests, benchmarks and the demo: initdb and pg_ctl
# on a Unix socket inside DIR, trust auth, no TCP. Runs the server as the
# "postgres" user when invoked as root (PostgreSQL refuses to run as root).
#
#   pg-private.sh start DIR     prints the libpq conninfo on success
#   pg-private.sh stop DIR      fast shutdown (data kept)
#   pg-private.sh kill DIR      SIGKILL the postmaster (crash test)
#   pg-private.sh restart DIR   start again after stop or kill
#   pg-private.sh destroy DIR   stop and remove DIR
set -eu
cmd=${1:?usage: pg-private.sh start|stop|kill|restart|destroy DIR}
dir=${2:?usage: pg-private.sh start|stop|kill|restart|destroy DIR}

bindir=""
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/pg_ctl" ] && bindir=$d
done
[ -n "$bindir" ] || { echo "pg-private: no PostgreSQL server found; install postgresql" >&2; exit 1; }

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		su postgres -s /bin/sh -c "$*"
	else
		sh -c "$*"
	fi
}

data="$dir/data"
sock="$dir/sock"
conninfo="host=$sock dbname=ballast user=postgres"

start() {
	as_pg "'$bindir/pg_ctl' -D '$data' -l '$dir/postgres.log' -w -t 60 \
	    -o \"-k '$sock' -c listen_addresses='' -c fsync=off \
	    -c synchronous_commit=off -c full_page_writes=off \
	    -c max_connections=300 -c shared_buffers=128MB\" start" >/dev/null
}

case "$cmd" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	data="$dir/data"; sock="$dir/sock"
	conninfo="host=$sock dbname=ballast user=postgres"
	mkdir -p "$sock"
	[ "$(id -u)" -eq 0 ] && chown -R postgres "$dir"
	if [ ! -f "$data/PG_VERSION" ]; then
		as_pg "'$bindir/initdb' -D '$data' -U postgres --auth=trust \
		    -E UTF8 --locale=C.UTF-8 >'$dir/initdb.log' 2>&1" || {
			cat "$dir/initdb.log" >&2; exit 1; }
	fi
	start || { tail -n 20 "$dir/postgres.log" >&2; exit 1; }
	as_pg "'$bindir/psql' -q -h '$sock' -U postgres -d postgres -tAc \
	    \"SELECT 1 FROM pg_database WHERE datname='ballast'\"" | grep -q 1 ||
	as_pg "'$bindir/createdb' -h '$sock' -U postgres ballast"
	echo "$conninfo"
	;;
restart)
	start || { tail -n 20 "$dir/postgres.log" >&2; exit 1; }
	;;
stop)
	as_pg "'$bindir/pg_ctl' -D '$data' -m fast -w stop" >/dev/null 2>&1 || true
	;;
kill)
	pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	# The backends go with the postmaster; give them a moment.
	sleep 0.5
	;;
destroy)
	as_pg "'$bindir/pg_ctl' -D '$data' -m immediate -w stop" >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*)
	echo "pg-private: unknown command $cmd" >&2
	exit 2
	;;
esac
