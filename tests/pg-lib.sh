# tests/pg-lib.sh: a throw-away PostgreSQL for the tests, sourced by sh.
# pg_start DIR starts a server from Debian's packages (initdb, pg_ctl)
# with its data, socket and log in DIR, on 127.0.0.1 only, on a free
# port, with password (SCRAM) authentication: the password is in
# DIR/pgpass, the libpq passfile the gate reads.  It sets PG_PORT and
# PG_URL (postgresql://pubgate@127.0.0.1:PORT/pubgate?passfile=...).
# PostgreSQL refuses to run as root: as root the server runs as nobody.
# pg_stop DIR and pg_restart DIR stop and start that server.  Missing
# PostgreSQL is a failure, never a skip: contrib/install-deps.sh
# installs it.

pg_bindir() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# pg_as CMD...: runs CMD as the server's user.
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	_d=$1
	PG_BIN=$(pg_bindir) || {
		echo "FAIL: PostgreSQL missing: run contrib/install-deps.sh" >&2
		return 1
	}
	mkdir -p "$_d/data"
	chmod 700 "$_d/data"
	printf 'pg-test-%s\n' "$$" >"$_d/pw"
	[ "$(id -u)" -eq 0 ] && chown -R nobody "$_d"
	pg_as "$PG_BIN/initdb" -D "$_d/data" -U pubgate -E UTF8 --locale=C \
	    --auth=scram-sha-256 --pwfile="$_d/pw" >"$_d/initdb.log" 2>&1 || {
		cat "$_d/initdb.log" >&2
		return 1
	}
	_tries=0
	while :; do
		PG_PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		if pg_as "$PG_BIN/pg_ctl" -D "$_d/data" -l "$_d/server.log" -w \
		    -t 30 -o "-p $PG_PORT -k $_d -c listen_addresses=127.0.0.1" \
		    start >/dev/null 2>&1; then
			break
		fi
		_tries=$((_tries + 1))
		if [ $_tries -ge 5 ]; then
			cat "$_d/server.log" >&2
			return 1
		fi
	done
	echo "$PG_PORT" >"$_d/port"
	printf '127.0.0.1:%s:*:pubgate:%s\n' "$PG_PORT" "$(cat "$_d/pw")" \
	    >"$_d/pgpass.root"
	chmod 600 "$_d/pgpass.root"
	PG_PASSFILE=$_d/pgpass.root
	PG_URL="postgresql://pubgate@127.0.0.1:$PG_PORT/postgres?passfile=$PG_PASSFILE"
	export PG_PORT PG_URL PG_PASSFILE PG_BIN
}

pg_stop() {
	pg_as "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1
}

pg_restart() {
	pg_as "$PG_BIN/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 \
	    -o "-p $(cat "$1/port") -k $1 -c listen_addresses=127.0.0.1" \
	    start >/dev/null
}
