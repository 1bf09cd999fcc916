#!/bin/bash
# tests/cli/container.sh: the container image (Dockerfile) and the compose
# file (contrib/docker/compose.yaml).
#   lint  (no runtime needed) every COPY source exists and is in the build
#         context (.dockerignore); the runtime stage is debian:12-slim,
#         runs as a non-root uid, keeps state in a /var/lib/pubgate volume,
#         has a HEALTHCHECK and starts /usr/bin/pubgate (what the .deb
#         installs) with /etc/pubgate/pubgate.yaml; the compose file parses
#         as YAML, builds this tree's Dockerfile, publishes the admin port
#         on loopback only and mounts the state volume; the image's
#         settings pass `serve -n` (paths moved under a temp dir); the
#         health check script answers 0 for a live gate's admin listener
#         and 1 for a refused port and for a listener that is not admin.
#   run   with a working docker or podman: builds the image, runs it,
#         waits for "healthy", checks the uid and the health answer
#         through the published port, and removes it.  Without a runtime
#         it exits 77 and says why.
# Usage: container.sh lint|run SRCDIR [PUBGATE]
set -u
mode=$1
src=$2
pubgate=${3:-}
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
df=$src/Dockerfile

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

lint() {
	local f last user
	# COPY sources (not --from=) exist and are not excluded.
	while read -r f; do
		[ -e "$src/$f" ] && ok "COPY $f exists" || bad "COPY $f: no such path"
		case $f in
		.git* | build* | *node_modules* | *.tgz) bad "COPY $f is in .dockerignore" ;;
		esac
	done < <(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' "$df" | grep -vx '\.')
	grep -q '^COPY \. /src$' "$df" && ok "the build stage copies the tree" ||
	    bad "no COPY . /src"
	[ -x "$src/contrib/deb.sh" ] && ok "contrib/deb.sh (the build stage's step)" ||
	    bad "contrib/deb.sh missing"
	last=$(grep '^FROM ' "$df" | tail -n 1)
	[ "$last" = "FROM debian:12-slim" ] && ok "runtime stage: debian:12-slim" ||
	    bad "runtime stage: $last"
	[ "$(grep -c '^FROM ' "$df")" -ge 2 ] && ok "multi-stage" || bad "one stage"
	user=$(sed -n 's/^USER \([^:]*\).*/\1/p' "$df" | tail -n 1)
	case $user in
	"" | 0 | root) bad "runs as root ('$user')" ;;
	*) ok "USER $user" ;;
	esac
	grep -q '^VOLUME \["/var/lib/pubgate"\]' "$df" && ok "state volume" ||
	    bad "no VOLUME /var/lib/pubgate"
	grep -q '^HEALTHCHECK .*' "$df" &&
	    grep -q 'CMD \["/usr/local/lib/pubgate/healthcheck"\]' "$df" &&
	    grep -q '^COPY contrib/docker/healthcheck.sh /usr/local/lib/pubgate/healthcheck$' "$df" &&
	    ok "HEALTHCHECK runs the copied script" || bad "HEALTHCHECK"
	grep -q '^ENTRYPOINT \["/usr/bin/pubgate", "serve", "-c", "/etc/pubgate/pubgate.yaml"\]' "$df" &&
	    grep -q '^COPY contrib/docker/pubgate.yaml /etc/pubgate/pubgate.yaml$' "$df" &&
	    grep -q -- '-Dtests=false' "$src/contrib/debian/rules" &&
	    ok "ENTRYPOINT: /usr/bin/pubgate with the image's settings" ||
	    bad "ENTRYPOINT"

	python3 - "$src/contrib/docker/compose.yaml" "$src" <<'EOF' || bad "compose.yaml"
import os, sys, yaml
path, src = sys.argv[1], sys.argv[2]
with open(path) as f:
    doc = yaml.safe_load(f)
s = doc["services"]["pubgate"]
ctx = os.path.normpath(os.path.join(os.path.dirname(path), s["build"]["context"]))
assert os.path.samefile(ctx, src), "build context %s is not the tree" % ctx
assert os.path.isfile(os.path.join(ctx, s["build"]["dockerfile"])), "no Dockerfile"
assert "127.0.0.1:9100:9100" in s["ports"], "admin port not on loopback"
assert any(p.endswith(":8080") for p in s["ports"]), "gate port"
assert "pubgate-state:/var/lib/pubgate" in s["volumes"], "state volume"
assert "pubgate-state" in doc["volumes"], "volume declared"
assert s.get("read_only") is True and "ALL" in s["cap_drop"], "hardening"
print("ok: compose.yaml parses: one service, build context, ports, volume")
EOF

	# The image's settings, paths moved here and the upstream a dead
	# loopback port (nothing leaves the machine); then the health check.
	local gp ap
	gp=$(free_port)
	ap=$(free_port)
	mkdir -p "$tmp/state"
	sed -e "s|/var/lib/pubgate|$tmp/state|" -e "s|spool_dir: /tmp|spool_dir: $tmp|" \
	    -e "s|0.0.0.0:8080|127.0.0.1:$gp|" -e "s|0.0.0.0:9100|127.0.0.1:$ap|" \
	    -e "s|https://registry.npmjs.org|http://127.0.0.1:9|" \
	    "$src/contrib/docker/pubgate.yaml" >"$tmp/pubgate.yaml"
	"$pubgate" serve -n -c "$tmp/pubgate.yaml" >"$tmp/n.out" 2>&1 &&
	    ok "the image's settings pass serve -n" || bad "serve -n: $(cat "$tmp/n.out")"
	"$pubgate" serve -c "$tmp/pubgate.yaml" >"$tmp/serve.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		"$src/contrib/docker/healthcheck.sh" 127.0.0.1 "$ap" 2>/dev/null && break
		sleep 0.1
	done
	"$src/contrib/docker/healthcheck.sh" 127.0.0.1 "$ap" &&
	    ok "healthcheck: 0 for the admin listener" || bad "healthcheck on a live gate"
	if "$src/contrib/docker/healthcheck.sh" 127.0.0.1 "$gp" 2>/dev/null; then
		bad "healthcheck: 0 for the gate listener (not admin)"
	else
		ok "healthcheck: 1 for a listener that is not admin"
	fi
	kill "$pid"
	wait "$pid" 2>/dev/null
	pid=
	if "$src/contrib/docker/healthcheck.sh" 127.0.0.1 "$ap" 2>/dev/null; then
		bad "healthcheck: 0 with the gate stopped"
	else
		ok "healthcheck: 1 for a refused port"
	fi
}

run() {
	local rt="" name img hp st i
	for c in docker podman; do
		if command -v "$c" >/dev/null 2>&1 && "$c" info >/dev/null 2>&1; then
			rt=$c
			break
		fi
	done
	if [ -z "$rt" ]; then
		echo "SKIP: no container runtime: neither docker nor podman answers" \
		    "'info' here ($(command -v docker podman | tr '\n' ' ')present," \
		    "no daemon); tests/cli/container lint checks the files"
		exit 77
	fi
	img=pubgate-test:$$
	name=pubgate-test-$$
	hp=$(free_port)
	"$rt" build -q -t "$img" "$src" >"$tmp/build.log" 2>&1 || {
		tail -n 40 "$tmp/build.log"
		bad "$rt build"
		return
	}
	ok "$rt build"
	"$rt" run -d --name "$name" -p "127.0.0.1:$hp:9100" "$img" >/dev/null ||
	    bad "$rt run"
	st=
	for i in $(seq 1 60); do
		st=$("$rt" inspect -f '{{.State.Health.Status}}' "$name" 2>/dev/null)
		[ "$st" = healthy ] && break
		sleep 1
	done
	[ "$st" = healthy ] && ok "container healthy" || bad "health: $st"
	[ "$("$rt" exec "$name" id -u)" = 10001 ] && ok "runs as uid 10001" ||
	    bad "uid $("$rt" exec "$name" id -u)"
	"$src/contrib/docker/healthcheck.sh" 127.0.0.1 "$hp" &&
	    ok "health through the published port" || bad "published health"
	"$rt" rm -f "$name" >/dev/null
	"$rt" rmi -f "$img" >/dev/null
}

case $mode in
lint) lint ;;
run) run ;;
*) echo "usage: container.sh lint|run SRCDIR [PUBGATE]"; exit 2 ;;
esac
exit "$fail"
