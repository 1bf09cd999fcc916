#!/bin/bash
# tests/integration/packument-gzip.sh: packuments keep their compression
# through the gate (issue 9).  Verdaccio gzips a packument for a client
# that asks; the gate asks for gzip, inflates it to rewrite the tarball
# URLs to itself, and compresses it again:
#   - curl --compressed gets Content-Encoding: gzip, and the document
#     names the gate's tarball URLs, not Verdaccio's (full and abbreviated
#     application/vnd.npm.install-v1+json);
#   - the gzip body is smaller than the plain one, and valid (gzip -t);
#   - a client that does not take gzip gets the same document plain;
#   - ETag and Last-Modified pass through, and If-None-Match gives the
#     304 Verdaccio gives;
#   - npm install through the gate works (the lockfile names the gate), and
#     tarballs pass byte for byte.
. "$(dirname "$0")/lib.sh"
it_init
it_make_ca
it_start_verdaccio
it_adduser alice
it_start_pubgate

# A packument of a few KB (the README goes in it): Verdaccio compresses
# bodies over 1 KB only.
pkg="$T/gz"
it_pkg "$pkg" @pgtest/gz 1.0.0
for i in $(seq 1 200); do
	printf 'Line %d of a README long enough to be compressed.\n' "$i"
done >>"$pkg/README.md"
# A tarball no npm cache can hold already: this run's own bytes.
printf 'run %s %s\n' "$$" "$(date +%s%N)" >>"$pkg/dist/index.js"
(cd "$pkg" && it_npm_direct publish) || it_fail "publish to Verdaccio failed"
node -e '
	const f = process.argv[1], p = require(f);
	p.version = "1.0.1";
	require("fs").writeFileSync(f, JSON.stringify(p, null, 2));
' "$pkg/package.json"
(cd "$pkg" && it_npm_direct publish) || it_fail "second publish failed"

path=/@pgtest%2fgz
abbr='application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*'

# Verdaccio itself must gzip, or this test proves nothing.
curl -sS -o /dev/null -D "$T/vd.h" -H 'Accept-Encoding: gzip' "$VD_URL$path" ||
    it_fail "Verdaccio did not answer"
grep -qi '^content-encoding: gzip' "$T/vd.h" ||
    it_fail "Verdaccio sent the packument uncompressed: nothing to prove"

# check_doc FILE WHAT: a packument naming the gate's tarballs only.
check_doc() {
	it_json 'd.name' "$1" >/dev/null || it_fail "$2: not JSON"
	it_expect_grep "$PG_URL/@pgtest/gz/-/gz-1.0.0.tgz" "$1" "$2"
	it_expect_no_grep "$VD_URL" "$1" "$2"
}

for accept in 'application/json' "$abbr"; do
	what="packument (Accept: ${accept%%;*})"
	# Compressed on the wire, decoded by curl.
	it_pgcurl -o "$T/doc.json" -D "$T/h" --compressed -H "Accept: $accept" \
	    "$PG_URL$path" || it_fail "$what: curl failed"
	grep -q '^HTTP/1.1 200' "$T/h" || it_fail "$what: $(head -1 "$T/h")"
	grep -qi '^content-encoding: gzip' "$T/h" ||
	    it_fail "$what: no Content-Encoding: gzip"
	check_doc "$T/doc.json" "$what, --compressed"
	# The raw bytes: valid gzip, smaller than the document.
	it_pgcurl -o "$T/raw.gz" -H 'Accept-Encoding: gzip' -H "Accept: $accept" \
	    "$PG_URL$path" || it_fail "$what: curl failed"
	gzip -t "$T/raw.gz" || it_fail "$what: the body is not valid gzip"
	gz=$(stat -c %s "$T/raw.gz")
	plain=$(stat -c %s "$T/doc.json")
	[ "$gz" -lt "$plain" ] ||
	    it_fail "$what: gzip body $gz bytes, plain $plain bytes"
	it_log "$what: $plain bytes plain, $gz bytes gzip"
	# No Accept-Encoding: plain, the same document.
	it_pgcurl -o "$T/plain.json" -D "$T/hp" -H "Accept: $accept" \
	    "$PG_URL$path" || it_fail "$what: curl failed"
	if grep -qi '^content-encoding:' "$T/hp"; then
		it_fail "$what: a client without gzip got a content coding"
	fi
	cmp -s "$T/plain.json" "$T/doc.json" ||
	    it_fail "$what: the plain and the gzip documents differ"
	# gzip;q=0 refuses gzip.
	it_pgcurl -o /dev/null -D "$T/hq" -H 'Accept-Encoding: gzip;q=0' \
	    -H "Accept: $accept" "$PG_URL$path" || it_fail "$what: curl failed"
	if grep -qi '^content-encoding:' "$T/hq"; then
		it_fail "$what: gzip;q=0 got a content coding"
	fi
done

# Validators pass through; a conditional GET gets what Verdaccio gives.
it_pgcurl -o /dev/null -D "$T/h" --compressed "$PG_URL$path"
curl -sS -o /dev/null -D "$T/vh" --compressed "$VD_URL$path"
for f in etag last-modified; do
	want=$(grep -i "^$f:" "$T/vh" | tr -d '\r' || true)
	got=$(grep -i "^$f:" "$T/h" | tr -d '\r' || true)
	it_expect_eq "$got" "$want" "$f through the gate"
	it_log "$f: ${want:-(none from Verdaccio)}"
done
etag=$( (grep -i '^etag:' "$T/vh" || true) | tr -d '\r' | cut -d' ' -f2-)
if [ -n "$etag" ]; then
	want=$(curl -sS -o /dev/null -w '%{http_code}' --compressed \
	    -H "If-None-Match: $etag" "$VD_URL$path")
	got=$(it_pgcurl -o /dev/null -w '%{http_code}' --compressed \
	    -H "If-None-Match: $etag" "$PG_URL$path")
	it_expect_eq "$got" "$want" "status of If-None-Match: $etag"
fi

# npm install through the gate, in a fresh project.
mkdir -p "$T/app"
echo '{"name":"app","version":"1.0.0"}' >"$T/app/package.json"
(cd "$T/app" && it_npm install --cache "$T/npm-cache" @pgtest/gz) ||
    it_fail "npm install through pubgate failed: $(tail -5 "$T/npm.err")"
[ -f "$T/app/node_modules/@pgtest/gz/package.json" ] ||
    it_fail "npm install did not install @pgtest/gz"
grep -q "\"resolved\": \"$PG_URL/@pgtest/gz/-/gz-1.0.1.tgz\"" \
    "$T/app/package-lock.json" ||
    it_fail "the lockfile does not resolve through the gate"
# The tarball itself passes byte for byte, gzip asked for or not.
tgz=/@pgtest/gz/-/gz-1.0.1.tgz
curl -sS -o "$T/direct.tgz" "$VD_URL$tgz" || it_fail "Verdaccio: no tarball"
for ae in gzip identity; do
	it_pgcurl -o "$T/gate.tgz" -H "Accept-Encoding: $ae" "$PG_URL$tgz" ||
	    it_fail "no tarball through the gate"
	cmp -s "$T/direct.tgz" "$T/gate.tgz" ||
	    it_fail "the tarball changed through the gate (Accept-Encoding: $ae)"
done
it_stop_pubgate || it_fail "pubgate did not stop cleanly"
exit 0
