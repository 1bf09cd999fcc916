# tests/integration/fleet-lib.sh: the fleet of contrib/fleet for the
# fleet-* scenarios (two gates behind HAProxy on one store), sourced after
# lib.sh; it sources ../pg-lib.sh.  It owns their setup and teardown:
#
#   fleet_pg NAME       a throw-away PostgreSQL in /tmp/pubgate-NAME.XXXXXX
#                       ($DBD); sets DB_URL, the gates' store;
#   fleet_gate NAME     a gate with a PROXY-protocol TLS listener and an
#                       admin listener on the store $DB_URL (a SQLite
#                       file or a postgresql:// URL); sets GATE_<NAME>_PORT,
#                       ADMIN_<NAME>_PORT, PID_<NAME>;
#   fleet_haproxy [--sock]  HAProxy running contrib/fleet/haproxy.cfg in
#                       front of gates A and B (HA_PID); PG_PORT, PG_URL
#                       and the npmrc then name HAProxy.  With --sock, a
#                       runtime socket for fleet_ha;
#   fleet_ha CMD        one command on that socket;
#   fleet_log ARGS...   `pubgate log` on the store.
#
# Teardown (IT_ON_EXIT, run by it_cleanup, which keeps the scenario's exit
# status): kills HAProxy and the gates, stops PostgreSQL, removes $DBD.  A
# scenario with processes of its own puts their kill before it.
. "$IT_HERE/../pg-lib.sh"

HA_PID= PID_A= PID_B= DBD=
IT_ON_EXIT='kill $HA_PID $PID_A $PID_B 2>/dev/null;
    if [ -n "$DBD" ]; then pg_stop "$DBD"; rm -rf "$DBD"; fi'

# fleet_pg NAME: its own folder, not in $T (as root the server runs as
# nobody, who must reach it; $T is private).
fleet_pg() {
	DBD=$(mktemp -d "/tmp/pubgate-$1.XXXXXX")
	pg_start "$DBD" || it_fail "PostgreSQL did not start"
	DB_URL=$PG_URL
}

fleet_gate() {
	local n=$1 port admin
	port=$(it_free_port)
	admin=$(it_free_port)
	cat >"$T/gate-$n.yaml" <<EOY
listen:
  - {url: "https://127.0.0.1:$port", cert: "$T/server.pem", key: "$T/server.key", proxy_protocol: true}
trusted_proxies: [127.0.0.1]
workers: 1
EOY
	"$PUBGATE" serve -c "$T/gate-$n.yaml" --upstream "$VD_URL" \
	    --policy "$IT_POLICY" --db "$DB_URL" \
	    --admin "http://127.0.0.1:$admin" \
	    >>"$T/gate-$n.out" 2>>"$T/gate-$n.err" &
	eval "PID_$n=$!"
	eval "GATE_${n}_PORT=$port"
	eval "ADMIN_${n}_PORT=$admin"
	it_wait_http "http://127.0.0.1:$admin/-/pubgate/health" ||
	    it_fail "gate $n did not start"
}

fleet_haproxy() {
	local test_cfg=()
	HA_PORT=$(it_free_port)
	if [ "${1:-}" = --sock ]; then
		printf 'global\n\tstats socket %s mode 600 level admin\n' \
		    "$T/haproxy.sock" >"$T/haproxy-test.cfg"
		test_cfg=(-f "$T/haproxy-test.cfg")
	fi
	FLEET_BIND=127.0.0.1:$HA_PORT GATE_A=127.0.0.1:$GATE_A_PORT \
	    GATE_B=127.0.0.1:$GATE_B_PORT ADMIN_A=$ADMIN_A_PORT \
	    ADMIN_B=$ADMIN_B_PORT haproxy -db \
	    -f "$IT_HERE/../../contrib/fleet/haproxy.cfg" "${test_cfg[@]}" \
	    >"$T/haproxy.out" 2>&1 &
	HA_PID=$!
	PG_PORT=$HA_PORT
	PG_URL="https://127.0.0.1:$HA_PORT"
	it_wait_http "$PG_URL/-/ping" --cacert "$T/ca.pem" ||
	    it_fail "no answer through HAProxy"
	it_write_npmrc
}

fleet_ha() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
print(s.recv(65536).decode())' "$T/haproxy.sock" "$1"
}

fleet_log() {
	"$PUBGATE" log --db "$DB_URL" "$@"
}
