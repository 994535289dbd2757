#!/bin/bash
# dev-run.sh: run sesd locally with everything it needs, state kept in var/ (what `make run`
# execs after building):
#   var/pg          PostgreSQL cluster (scripts/pg.sh, durable, unix socket only), database sesd
#   var/sesd.conf   written once; edit it freely, later runs keep it
#   var/credentials two accounts (AppId 1000001, 1000002), mode 0600, written once
#   var/unsubscribe.key  32 random bytes, mode 0600, written once: the HMAC key of the
#                   unsubscribe links ([content] unsubscribe_key_file)
#   var/mail/       smtp-sink on 127.0.0.1:2525 keeps every message as a file here
#   var/sesd.log    sesd's output (also shown on the terminal)
#   var/dev.env     SESD_ENDPOINT, SESD_SECRET_ID(_2), SESD_SECRET_KEY(_2), SESD_MAIL_DIR
# Stays in the foreground until Ctrl-C / SIGTERM or until sesd exits, then stops sesd,
# smtp-sink and PostgreSQL (all by pid / postmaster.pid). A second run reuses everything.
#
# Environment: SESD_BIN (default build/daemon/sesd), SESD_DEV_API_PORT (9380) and
# SESD_DEV_WEB_PORT (9381; the unsubscribe pages), both used only when var/sesd.conf is
# written, SESD_DEV_SMTP_PORT (2525), SESD_DEV_PG_PORT (54329).
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
VAR=$REPO/var
SESD=${SESD_BIN:-$REPO/build/daemon/sesd}
API_PORT=${SESD_DEV_API_PORT:-9380}
WEB_PORT=${SESD_DEV_WEB_PORT:-9381}
SMTP_PORT=${SESD_DEV_SMTP_PORT:-2525}
PG_PORT=${SESD_DEV_PG_PORT:-54329}
CONF=$VAR/sesd.conf
CREDS=$VAR/credentials
UNSUB_KEY=$VAR/unsubscribe.key
LOG=$VAR/sesd.log

die() {
	echo "dev-run: $*" >&2
	exit 1
}
say() { echo "dev-run: $*" >&2; }

port_busy() { ss -Hltn "sport = :$1" | grep -q .; }

random_alnum() {
	local s=""
	while [ ${#s} -lt "$1" ]; do
		s="$s$(head -c 256 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')"
	done
	printf '%s' "${s:0:$1}"
}

# value of key $2 in section $1 of the ini file $3 (quotes removed)
ini_get() {
	awk -v sec="[$1]" -v key="$2" '
		/^[ \t]*\[/ { gsub(/[ \t]/, ""); cur = $0; next }
		cur == sec && $0 ~ "^[ \t]*" key "[ \t]*=" {
			sub(/^[^=]*=[ \t]*/, ""); sub(/[ \t]+$/, ""); gsub(/^"|"$/, ""); print; exit
		}' "$3"
}

# a directory user $1 can write, at path $2: in place if reachable, else under /var/tmp
# with $2 a symlink to it (a work tree under /root is not reachable by other users)
reachable_dir() {
	local user=$1 dir=$2 real
	if [ -L "$dir" ]; then
		real=$(readlink -m "$dir")
		mkdir -p "$real"
	else
		mkdir -p "$dir"
		real=$dir
		chown "$user" "$real"
		if ! runuser -u "$user" -- test -w "$real" 2>/dev/null; then
			[ -z "$(ls -A "$real")" ] || die "$dir is not writable by $user and not empty; move it away"
			rmdir "$real"
			real=/var/tmp/sesd-mail-$(printf '%s' "$dir" | sha256sum | cut -c1-12)
			mkdir -p "$real"
			ln -sfn "$real" "$dir"
			say "$dir -> $real (user $user cannot reach $dir)"
		fi
	fi
	chown "$user" "$real"
	runuser -u "$user" -- test -w "$real" 2>/dev/null || die "user $user cannot write $real"
}

[ "$(id -u)" = 0 ] || die "run as root (PostgreSQL and smtp-sink are started as their own users)"
[ -x "$SESD" ] || die "no sesd binary at $SESD: run make build"
command -v smtp-sink >/dev/null 2>&1 || die "smtp-sink not found: run make deps"
mkdir -p "$VAR"

# --- everything that can fail before anything is started ---
if [ -f "$CONF" ]; then
	LISTEN=$(ini_get api listen "$CONF")
	[ -n "$LISTEN" ] || LISTEN=127.0.0.1:9380 # sesd's default
	API_PORT=${LISTEN##*:}
	WEB_LISTEN=$(ini_get web listen "$CONF")
	[ -n "$WEB_LISTEN" ] || WEB_LISTEN=127.0.0.1:9381 # sesd's default
	WEB_PORT=${WEB_LISTEN##*:}
else
	LISTEN=127.0.0.1:$API_PORT
	WEB_LISTEN=127.0.0.1:$WEB_PORT
fi
port_busy "$API_PORT" && die "API port $API_PORT is busy (ss -ltnp 'sport = :$API_PORT'); set SESD_DEV_API_PORT or edit $CONF"
port_busy "$WEB_PORT" && die "web port $WEB_PORT is busy (ss -ltnp 'sport = :$WEB_PORT'); set SESD_DEV_WEB_PORT or edit $CONF"
# smtp-sink sets SO_REUSEPORT: a second one would share the port silently
port_busy "$SMTP_PORT" && die "SMTP port $SMTP_PORT is busy (ss -ltnp 'sport = :$SMTP_PORT'); set SESD_DEV_SMTP_PORT"

# --- cleanup: everything started here, by pid ---
SESD_PID=
SINK_PID=
TAIL_PID=
PG_STARTED=
# shellcheck disable=SC2317 # called through trap
cleanup() {
	trap - EXIT
	trap '' INT TERM HUP # see stop_requested
	set +e
	if [ -n "$SESD_PID" ] && kill -0 "$SESD_PID" 2>/dev/null; then
		say "stopping sesd (pid $SESD_PID)"
		kill -TERM "$SESD_PID"
		for _ in $(seq 1 700); do
			kill -0 "$SESD_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$SESD_PID" 2>/dev/null; then
			say "sesd did not stop in 70 s: SIGKILL"
			kill -KILL "$SESD_PID"
		fi
		wait "$SESD_PID" 2>/dev/null
	fi
	if [ -n "$SINK_PID" ] && kill -0 "$SINK_PID" 2>/dev/null; then
		say "stopping smtp-sink (pid $SINK_PID)"
		kill -TERM "$SINK_PID"
		wait "$SINK_PID" 2>/dev/null
	fi
	if [ -n "$TAIL_PID" ]; then
		sleep 0.2 # let tail print sesd's last lines
		kill -TERM "$TAIL_PID" 2>/dev/null
		wait "$TAIL_PID" 2>/dev/null
	fi
	if [ -n "$PG_STARTED" ]; then
		say "stopping PostgreSQL"
		"$REPO/scripts/pg.sh" stop "$VAR/pg"
	fi
}
# A stop signal often comes twice: a terminal or `kill -- -PGID` signals the
# whole group, and make passes its own SIGTERM on to this script. A second
# one must not end the script before or during cleanup (PostgreSQL was left
# running), so the first one ignores the rest before anything else.
# shellcheck disable=SC2317 # called through trap
stop_requested() {
	trap '' INT TERM HUP
	exit "$1"
}
trap cleanup EXIT
# a requested stop is a clean stop: make run should not report an error for it
trap 'stop_requested 0' INT TERM
trap 'stop_requested 129' HUP

# --- PostgreSQL ---
PG_STARTED=1
eval "$("$REPO/scripts/pg.sh" start --durable "$VAR/pg" "$PG_PORT")"
# shellcheck disable=SC2153 # set by pg.sh's export line
PG_SOCKET_DIR=$PGHOST
if [ "$(psql -X -Atq -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'sesd'")" != 1 ]; then
	say "creating database sesd"
	psql -X -q -d postgres -c 'CREATE DATABASE sesd' >/dev/null
fi

# --- configuration and credentials (only if absent) ---
if [ ! -f "$CONF" ]; then
	say "writing $CONF"
	cat >"$CONF" <<EOF
# Written by scripts/dev-run.sh for local development; edit freely, it is kept.
# Every key and its default: conf/sesd.conf.

[sesd]
credentials_file = credentials

[database]
conninfo = "host=$PG_SOCKET_DIR port=$PG_PORT dbname=sesd user=postgres"

[api]
listen = $LISTEN

# The local SMTP sink (smtp-sink) keeps every message in var/mail/.
[smtp]
relay_host = 127.0.0.1
relay_port = $SMTP_PORT

[content]
public_url = "http://$WEB_LISTEN"
unsubscribe_key_file = unsubscribe.key

[web]
listen = $WEB_LISTEN
EOF
fi
if [ ! -f "$UNSUB_KEY" ]; then
	say "writing $UNSUB_KEY (32 random bytes)"
	(
		umask 077
		head -c 32 /dev/urandom >"$UNSUB_KEY"
	)
fi
chmod 600 "$UNSUB_KEY"
[ -n "$(ini_get content unsubscribe_key_file "$CONF")" ] ||
	say "note: $CONF has no [content] unsubscribe_key_file; add \"unsubscribe_key_file = unsubscribe.key\" for unsubscribe links"
if [ ! -f "$CREDS" ]; then
	say "writing $CREDS (two random accounts)"
	(
		umask 077
		printf '%s %s %s\n' "AKID$(random_alnum 32)" "$(random_alnum 32)" 1000001 \
			"AKID$(random_alnum 32)" "$(random_alnum 32)" 1000002 >"$CREDS"
	)
fi
chmod 600 "$CREDS"

# --- schema ---
(cd "$VAR" && "$SESD" -n -c "$CONF") || die "sesd -n rejected $CONF"
(cd "$VAR" && "$SESD" --migrate -c "$CONF") || die "sesd --migrate failed"

# --- SMTP sink: one file per message under var/mail/YYYYMMDD/ ---
MAIL=$VAR/mail
reachable_dir nobody "$MAIL"
MAIL_REAL=$(readlink -f "$MAIL")
smtp-sink -u nobody -4 -c -d "$MAIL_REAL/%Y%m%d/%H%M%S." "127.0.0.1:$SMTP_PORT" 256 \
	>>"$VAR/smtp-sink.log" 2>&1 &
SINK_PID=$!
for _ in $(seq 1 50); do
	port_busy "$SMTP_PORT" && break
	kill -0 "$SINK_PID" 2>/dev/null || die "smtp-sink exited: $(tail -n 5 "$VAR/smtp-sink.log")"
	sleep 0.1
done
port_busy "$SMTP_PORT" || die "smtp-sink does not listen on 127.0.0.1:$SMTP_PORT"

# --- sesd ---
touch "$LOG"
LOG_START=$(stat -c %s "$LOG")
(cd "$VAR" && exec "$SESD" -c "$CONF") >>"$LOG" 2>&1 &
SESD_PID=$!
tail -c +$((LOG_START + 1)) -F "$LOG" 2>/dev/null &
TAIL_PID=$!

ready=
for _ in $(seq 1 200); do
	if ! kill -0 "$SESD_PID" 2>/dev/null; then
		sleep 0.2
		die "sesd exited during startup; last lines of $LOG:
$(tail -n 20 "$LOG")"
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.1
done
[ -n "$ready" ] || die "sesd does not accept connections on 127.0.0.1:$API_PORT after 20 s; last lines of $LOG:
$(tail -n 20 "$LOG")"

# --- dev.env ---
HOST=${LISTEN%:*}
case "$HOST" in '' | 0.0.0.0 | '*' | '[::]') HOST=127.0.0.1 ;; esac
# first two accounts of the credentials file
read -r ID1 KEY1 _ ID2 KEY2 _ <<<"$(grep -v -E '^[[:space:]]*(#|$)' "$CREDS" | head -n 2 | tr '\n' ' ')"
cat >"$VAR/dev.env" <<EOF
SESD_ENDPOINT=$HOST:$API_PORT
SESD_SECRET_ID=$ID1
SESD_SECRET_KEY=$KEY1
SESD_SECRET_ID_2=${ID2:-}
SESD_SECRET_KEY_2=${KEY2:-}
SESD_MAIL_DIR=$MAIL
EOF
chmod 600 "$VAR/dev.env"
echo
echo "sesd is running (pid $SESD_PID); PostgreSQL socket $PG_SOCKET_DIR port $PG_PORT;"
echo "smtp-sink on 127.0.0.1:$SMTP_PORT (pid $SINK_PID). Written to $VAR/dev.env:"
cat "$VAR/dev.env"
echo "Ctrl-C stops everything."
echo

# --- foreground until sesd exits or we are told to stop ---
set +e
wait "$SESD_PID"
rc=$?
set -e
SESD_PID=
say "sesd exited with status $rc"
exit "$rc"
