#!/bin/bash
# tests/integration/drain-pg.sh: a gate on PostgreSQL that is told to stop
# (SIGTERM) loses no store operation it has queued (issue 11).
#  - a publish is forwarded (its record committed) to a registry that
#    takes 5 s to answer; PostgreSQL is stopped meanwhile, so the
#    registry's 201 can only be queued as the record's upstream status;
#  - SIGTERM while that publish is in flight: the client still gets its
#    201 and the gate, with no conn left, waits for the queued status
#    (event=drain-store) instead of exiting at once;
#  - PostgreSQL started again within the drain timeout: the gate
#    reconnects, writes the status and exits 0; the record says 201.
# Without the wait the status is dropped and the record keeps 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../pg-lib.sh"
it_init
it_need python3

DBD=$(mktemp -d /tmp/pubgate-drain-pg.XXXXXX)
GATE_PID= UP_PID= PUB_PID=
IT_ON_EXIT='kill $GATE_PID $UP_PID $PUB_PID 2>/dev/null; pg_stop "$DBD";
    rm -rf "$DBD"'
pg_start "$DBD" || it_fail "PostgreSQL did not start"
DB_URL=$PG_URL
"$PUBGATE" db migrate --db "$DB_URL" >/dev/null || it_fail "db migrate"

# The registry: answers a PUT with 201 after 5 s, anything else 404.
UP_PORT=$(it_free_port)
cat >"$T/slowreg.py" <<'EOPY'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        time.sleep(5)
        b = b'{"ok":"created"}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_GET(self):
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOPY
python3 "$T/slowreg.py" "$UP_PORT" &
UP_PID=$!

cat >"$T/policy.yaml" <<'EOY'
version: 1
default: deny
rules:
  - match: "@drain/*"
    publish: allow
EOY
GATE_PORT=$(it_free_port)
ADMIN_PORT=$(it_free_port)
"$PUBGATE" serve --listen "http://127.0.0.1:$GATE_PORT" \
    --upstream "http://127.0.0.1:$UP_PORT" --policy "$T/policy.yaml" \
    --db "$DB_URL" --admin "http://127.0.0.1:$ADMIN_PORT" --workers 1 \
    >"$T/gate.out" 2>"$T/gate.err" &
GATE_PID=$!
it_wait_http "http://127.0.0.1:$ADMIN_PORT/-/pubgate/health" ||
    it_fail "the gate did not start"

it_pkg "$T/pkg" @drain/one 1.0.0
(cd "$T/pkg" && npm pack --silent --pack-destination "$T" >/dev/null) ||
    it_fail "npm pack failed"
it_body "$T/drain-one-1.0.0.tgz" @drain/one 1.0.0 restricted \
    >"$T/body.json"
curl -sS -o "$T/pub.out" -w '%{http_code}' -X PUT \
    -H 'Content-Type: application/json' -H 'Authorization: Bearer t0k' \
    --data-binary @"$T/body.json" \
    "http://127.0.0.1:$GATE_PORT/@drain%2fone" >"$T/pub.code" &
PUB_PID=$!

# The record is committed before the body goes upstream.
for i in $(seq 1 50); do
	"$PUBGATE" log --db "$DB_URL" --json 2>/dev/null |
	    grep -q '"package":"@drain/one"' && break
	sleep 0.1
done
"$PUBGATE" log --db "$DB_URL" --json | grep -q '"package":"@drain/one"' ||
    it_fail "no record of the publish before it went upstream"
pg_stop "$DBD" || it_fail "pg_ctl stop"
kill -TERM "$GATE_PID"
wait "$PUB_PID" || true
PUB_PID=
it_expect_eq "$(cat "$T/pub.code")" 201 \
    "the publish in flight at SIGTERM is answered 201"
sleep 1
kill -0 "$GATE_PID" 2>/dev/null ||
    it_fail "the gate exited with its status update still queued"
it_expect_grep 'event=drain-store pending=1' "$T/gate.err" \
    "the gate waits for the store (drain-store pending=1)"
pg_restart "$DBD" || it_fail "pg_ctl start"
rc=0
for i in $(seq 1 100); do
	kill -0 "$GATE_PID" 2>/dev/null || break
	sleep 0.2
done
wait "$GATE_PID" || rc=$?
GATE_PID=
it_expect_eq "$rc" 0 "the gate exits 0 once the status is written"
it_expect_no_grep 'drain-timeout' "$T/gate.err" "no drain timeout"
it_expect_no_grep 'AddressSanitizer|LeakSanitizer|runtime error:' \
    "$T/gate.err" "no sanitizer report"
"$PUBGATE" log --db "$DB_URL" --json >"$T/log.json"
st=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    l = l.strip().rstrip(",")
    if l.startswith("{"):
        r = json.loads(l)
        if r.get("package") == "@drain/one":
            print(r.get("status"))
' "$T/log.json")
it_expect_eq "$st" 201 "the record has the registry's 201"
it_log "ok"
