#!/bin/bash
# pg.sh: a private PostgreSQL 15 cluster for development and tests, run as root.
#
#   scripts/pg.sh start [--durable] DIR [PORT]
#       Creates the cluster in DIR/data (initdb) unless it already exists, starts it
#       (or leaves it running) listening only on the unix socket DIR/.s.PGSQL.PORT,
#       then prints one line for eval:
#         export PGHOST=... PGPORT=... PGUSER=postgres PGDATABASE=postgres PGSH_DIR=...
#       PGHOST is the directory that really holds the socket (see below).
#       Without --durable (or PGSH_DURABLE=1) it runs with fsync, synchronous_commit
#       and full_page_writes off: fast, fine for tests, unsafe on a crash of the machine.
#   scripts/pg.sh stop DIR       fast shutdown through pg_ctl (postmaster.pid); keeps the data
#   scripts/pg.sh kill DIR       immediate shutdown (crash-like, for outage tests); keeps the data
#   scripts/pg.sh status DIR     exit 0 if running
#   scripts/pg.sh destroy DIR    stop, then delete the cluster directory (and the DIR symlink)
#
# initdb and postgres refuse to run as root, so they run as the postgres OS user (runuser).
# That user must be able to reach DIR: a work tree under /root (mode 0700) is not
# reachable. In that case, or when the socket path would be too long (max 107 bytes),
# the cluster lives in /var/tmp/sesd-<hash of DIR's absolute path> and DIR becomes a
# symlink to it. Processes are only ever stopped through pg_ctl and the PID file.
#
# Environment: PGBIN (default: pg_config --bindir, else /usr/lib/postgresql/15/bin),
#   PGSH_OSUSER (default postgres), PGSH_DURABLE=1 (same as --durable), PGSH_TCP=1
#   (also listen on 127.0.0.1:PORT), PGSH_OPTS (more server options, e.g. for a benchmark:
#   "-c shared_preload_libraries=pg_stat_statements").
set -eu

OSUSER=${PGSH_OSUSER:-postgres}
if [ -z "${PGBIN:-}" ]; then
	PGBIN=/usr/lib/postgresql/15/bin
	if [ ! -x "$PGBIN/initdb" ] && command -v pg_config >/dev/null 2>&1; then
		PGBIN=$(pg_config --bindir)
	fi
fi
DEFAULT_PORT=54329

die() {
	echo "pg.sh: $*" >&2
	exit 1
}
usage() {
	echo "usage: $0 start [--durable] DIR [PORT] | stop DIR | kill DIR | status DIR | destroy DIR" >&2
	exit 2
}
as_pg() { (cd / && runuser -u "$OSUSER" -- "$@"); }

# absolute path of $1 without resolving a final symlink
abspath() {
	case "$1" in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$(pwd -P)" "$1" ;;
	esac
}

# the directory that really holds the cluster for DIR ($1), whether or not it exists yet
realdir() {
	if [ -L "$1" ]; then
		readlink -m "$1"
	else
		printf '%s\n' "$1"
	fi
}

# can the postgres user reach directory $1 (every parent traversable)?
reachable() {
	as_pg test -x "$1" 2>/dev/null
}

fallback_dir() {
	printf '/var/tmp/sesd-%s\n' "$(printf '%s' "$1" | sha256sum | cut -c1-12)"
}

pg_running() {
	[ -f "$1/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

cmd_start() {
	durable=${PGSH_DURABLE:-0}
	if [ "${1:-}" = --durable ]; then
		durable=1
		shift
	fi
	if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
	dir=$(abspath "$1")
	port=${2:-$DEFAULT_PORT}
	case "$port" in
	'' | *[!0-9]*) die "bad port: $port" ;;
	esac
	[ -x "$PGBIN/initdb" ] || die "no $PGBIN/initdb: install postgresql-15 (make deps)"
	id "$OSUSER" >/dev/null 2>&1 || die "no OS user $OSUSER: install postgresql-15 (make deps)"

	sockname=".s.PGSQL.$port"
	if [ -L "$dir" ]; then
		real=$(readlink -m "$dir")
		mkdir -p "$real"
	else
		mkdir -p "$dir"
		real=$dir
		chown "$OSUSER" "$real"
		chmod 700 "$real"
		if ! reachable "$real" || [ $((${#real} + 1 + ${#sockname})) -gt 107 ]; then
			# not usable in place: move to /var/tmp, leave a symlink
			if [ -n "$(ls -A "$real")" ]; then
				die "$dir is not reachable by user $OSUSER (or too long for a socket path) and not empty; move it away"
			fi
			rmdir "$real"
			real=$(fallback_dir "$dir")
			mkdir -p "$real"
			ln -sfn "$real" "$dir"
			echo "pg.sh: $dir -> $real (user $OSUSER cannot reach $dir, or its socket path is too long)" >&2
		fi
	fi
	chown "$OSUSER" "$real"
	chmod 700 "$real"
	reachable "$real" || die "user $OSUSER cannot reach $real"
	[ $((${#real} + 1 + ${#sockname})) -le 107 ] || die "socket path $real/$sockname is too long"

	if [ ! -f "$real/data/PG_VERSION" ]; then
		nosync=--no-sync
		[ "$durable" = 1 ] && nosync=
		# shellcheck disable=SC2086
		as_pg "$PGBIN/initdb" -D "$real/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
			$nosync >"$real/initdb.log" 2>&1 || {
			cat "$real/initdb.log" >&2
			die "initdb failed"
		}
	fi

	if pg_running "$real"; then
		# already up: make sure it listens where we expect
		[ -S "$real/$sockname" ] || die "a cluster already runs in $real but not on port $port"
	else
		listen="''"
		[ "${PGSH_TCP:-0}" = 1 ] && listen=127.0.0.1
		fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
		[ "$durable" = 1 ] && fast=
		# a postmaster.pid left by a crash is handled by postgres itself
		as_pg "$PGBIN/pg_ctl" -D "$real/data" -l "$real/postgres.log" -w -t 60 \
			-o "-c listen_addresses=$listen -c port=$port -c unix_socket_directories=$real $fast ${PGSH_OPTS:-}" \
			start >/dev/null || {
			tail -n 30 "$real/postgres.log" >&2 || true
			die "pg_ctl start failed (log: $real/postgres.log)"
		}
	fi
	echo "export PGHOST=$real PGPORT=$port PGUSER=postgres PGDATABASE=postgres PGSH_DIR=$real"
}

cmd_stop() {
	mode=$1
	[ $# -eq 2 ] || usage
	real=$(realdir "$(abspath "$2")")
	if [ -f "$real/data/postmaster.pid" ]; then
		if ! as_pg "$PGBIN/pg_ctl" -D "$real/data" -m "$mode" -w -t 60 stop >/dev/null 2>&1; then
			if pg_running "$real"; then die "pg_ctl stop failed for $real"; fi
		fi
	fi
}

cmd_destroy() {
	[ $# -eq 1 ] || usage
	dir=$(abspath "$1")
	real=$(realdir "$dir")
	if [ -f "$real/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$real/data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$real"
	if [ -L "$dir" ]; then rm -f "$dir"; fi
}

case "${1:-}" in
start)
	shift
	cmd_start "$@"
	;;
stop)
	shift
	cmd_stop fast "$@"
	;;
kill)
	shift
	cmd_stop immediate "$@"
	;;
status)
	[ $# -eq 2 ] || usage
	pg_running "$(realdir "$(abspath "$2")")"
	;;
destroy)
	shift
	cmd_destroy "$@"
	;;
*) usage ;;
esac
