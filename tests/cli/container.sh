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
#         fleet's compose file (contrib/fleet) fits its parts together
#         (services, database URL, HAProxy's targets and health port,
#         secrets) and its gate settings pass `serve -n`; the
#         health check script answers 0 for a live gate's admin listener
#         and 1 for a refused port and for a listener that is not admin.
#   run   with a working podman or docker: makes sure the base image
#         debian:12-slim is there (pulled, or made with debootstrap from
#         Debian's mirror where no image registry is reachable), builds
#         the image, runs it, waits for "healthy", checks the uid, the
#         installed pubgate and the health answer through the published
#         port, and removes it.  Without a runtime it exits 77 and says
#         why (install-deps installs podman, so that is rare).
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

	# The fleet's compose file (contrib/fleet): its parts fit together.
	# No image registry is reachable here for postgres and haproxy, so
	# it is checked, not run; the fleet tests run its haproxy.cfg and
	# gate settings with real gates, HAProxy and PostgreSQL.
	python3 - "$src/contrib/fleet" "$src" <<'EOF' || bad "fleet compose.yaml"
import os, re, sys, urllib.parse, yaml
d, src = sys.argv[1], sys.argv[2]
doc = yaml.safe_load(open(os.path.join(d, "compose.yaml")))
sv = doc["services"]
assert set(sv) == {"db", "gate-a", "gate-b", "haproxy"}, sorted(sv)
gate = yaml.safe_load(open(os.path.join(d, "gate.yaml")))
for n in ("gate-a", "gate-b"):
    g = sv[n]
    ctx = os.path.normpath(os.path.join(d, g["build"]["context"]))
    assert os.path.samefile(ctx, src), n + ": build context"
    assert os.path.isfile(os.path.join(ctx, g["build"]["dockerfile"]))
    assert "./gate.yaml:/etc/pubgate/pubgate.yaml:ro" in g["volumes"], n
    assert set(g["secrets"]) == {"gate-cert", "gate-key", "pgpass"}, n
    assert g.get("read_only") is True and "ALL" in g["cap_drop"], n
    assert "db" in g["depends_on"], n
# The gates reach the database service with its user and database.
u = urllib.parse.urlsplit(gate["db"])
assert u.scheme == "postgresql" and u.hostname == "db", gate["db"]
env = sv["db"]["environment"]
assert u.username == env["POSTGRES_USER"], "db user"
assert u.path.lstrip("/") == env["POSTGRES_DB"], "db name"
q = urllib.parse.parse_qs(u.query)
assert q["passfile"] == ["/run/secrets/pgpass"], "passfile"
assert u.password is None, "a password in the URL"
lis = gate["listen"][0]
assert lis["cert"] == "/run/secrets/gate-cert" and lis["key"] == \
    "/run/secrets/gate-key" and lis["proxy_protocol"] is True, "listen"
port = lis["url"].rsplit(":", 1)[1]
admin = gate["admin"]["listen"].rsplit(":", 1)[1]
# HAProxy sends to those services on the gate's ports, PROXY v2.
h = sv["haproxy"]
he = h["environment"]
assert he["GATE_A"] == "gate-a:" + port and he["GATE_B"] == "gate-b:" + \
    port, "haproxy targets"
assert he["ADMIN_A"] == admin and he["ADMIN_B"] == admin, "health port"
cfg_mount = "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"
assert cfg_mount in h["volumes"], "haproxy.cfg mount"
cfg = open(os.path.join(d, "haproxy.cfg")).read()
for v in ("FLEET_BIND", "GATE_A", "GATE_B", "ADMIN_A", "ADMIN_B"):
    assert '"${%s}"' % v in cfg or "${%s}" % v in cfg, "haproxy.cfg " + v
assert "send-proxy-v2" in cfg and "/-/pubgate/health" in cfg, "haproxy.cfg"
for name, sec in doc["secrets"].items():
    assert sec["file"].startswith("./secrets/"), name
# Every secret file the header's steps make, and only those.
head = open(os.path.join(d, "compose.yaml")).read().split("name:")[0]
for name in doc["secrets"]:
    assert "secrets/" + name in head, "the header does not make " + name
print("ok: fleet compose.yaml: 2 gates, HAProxy, PostgreSQL fit together")
EOF
	# The fleet's gate settings pass serve -n, the secrets made here.
	mkdir -p "$tmp/fleet"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$tmp/fleet/gate-key" -out "$tmp/fleet/gate-cert" \
	    -days 1 -subj /CN=npm-gate.corp.example >/dev/null 2>&1
	: >"$tmp/fleet/pgpass"
	chmod 600 "$tmp/fleet/pgpass" "$tmp/fleet/gate-key"
	sed -e "s|/run/secrets|$tmp/fleet|g" -e "s|spool_dir: /tmp|spool_dir: $tmp|" \
	    -e "s|0.0.0.0:8443|127.0.0.1:$(free_port)|" \
	    -e "s|0.0.0.0:9100|127.0.0.1:$(free_port)|" \
	    "$src/contrib/fleet/gate.yaml" >"$tmp/fleet/gate.yaml"
	"$pubgate" serve -n -c "$tmp/fleet/gate.yaml" >"$tmp/fleet/n.out" 2>&1 &&
	    ok "the fleet's gate settings pass serve -n" ||
	    bad "fleet serve -n: $(cat "$tmp/fleet/n.out")"

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

# The runtime and the flags it needs on this kind of host.  podman is
# preferred when it can run a container (no daemon needed); docker when its
# daemon answers.  podman gets runc (crun refuses hybrid cgroup hierarchies)
# and explicit limits (its default RLIMIT_NOFILE of 1048576 is refused
# where the host's hard limit is lower).
rt=
rtflags=()
runflags=()
pick_runtime() {
	local nofile
	if command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1; then
		rt=podman
		command -v runc >/dev/null 2>&1 && rtflags=(--runtime runc)
		nofile=$(ulimit -Hn)
		[ "$nofile" = unlimited ] && nofile=65536
		runflags=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096)
	elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
		rt=docker
	fi
}

# The Dockerfile starts FROM debian:12-slim.  When the image is not there
# and cannot be pulled (no registry of images reachable: this project's CI
# reaches Debian's mirror and the npm registry only), it is made from
# Debian 12's own packages with debootstrap (minbase) and imported under
# that name, so the Dockerfile is built unchanged.  Kept for later runs.
base_image() {
	local ref=docker.io/library/debian:12-slim root mirror
	if "$rt" image inspect "$ref" >/dev/null 2>&1; then
		ok "base image $ref present"
		return 0
	fi
	if timeout 120 "$rt" pull -q "$ref" >"$tmp/pull.log" 2>&1; then
		ok "base image $ref pulled"
		return 0
	fi
	echo "note: $ref cannot be pulled ($(tail -n 1 "$tmp/pull.log"));" \
	    "making it from Debian 12's packages with debootstrap"
	if ! command -v debootstrap >/dev/null 2>&1; then
		bad "no base image and no debootstrap to make one"
		return 1
	fi
	mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p' \
	    /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
	mirror=${mirror:-http://deb.debian.org/debian}
	root=$tmp/rootfs
	if ! debootstrap --variant=minbase bookworm "$root" "$mirror" \
	    >"$tmp/debootstrap.log" 2>&1; then
		tail -n 20 "$tmp/debootstrap.log"
		bad "debootstrap bookworm from $mirror"
		return 1
	fi
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
	if ! tar -C "$root" -c . | "$rt" import - "$ref" >"$tmp/import.log" 2>&1; then
		cat "$tmp/import.log"
		bad "$rt import of the debootstrap tree"
		return 1
	fi
	rm -rf "$root"
	ok "base image $ref made with debootstrap from $mirror"
}

# Healthy: docker keeps the state from HEALTHCHECK; podman without systemd
# runs the check only when asked, so it is asked.
health() {
	if [ "$rt" = podman ]; then
		podman healthcheck run "$1" >/dev/null 2>&1 && echo healthy
	else
		docker inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null
	fi
}

run() {
	local name img hp st i fmt=()
	pick_runtime
	if [ -z "$rt" ]; then
		echo "SKIP: no container runtime: neither podman nor docker" \
		    "answers 'info' here ($(command -v docker podman | tr '\n' ' ')" \
		    "present); tests/cli/container lint checks the files"
		exit 77
	fi
	echo "runtime: $rt ${rtflags[*]} ${runflags[*]}"
	base_image || return
	img=localhost/pubgate-test:$$
	name=pubgate-test-$$
	hp=$(free_port)
	# podman writes OCI images by default, which have no HEALTHCHECK.
	[ "$rt" = podman ] && fmt=(--format docker)
	if ! "$rt" "${rtflags[@]}" build "${fmt[@]}" "${runflags[@]}" \
	    --network host -t "$img" "$src" >"$tmp/build.log" 2>&1; then
		tail -n 40 "$tmp/build.log"
		bad "$rt build"
		return
	fi
	ok "$rt build"
	if ! "$rt" "${rtflags[@]}" run -d "${runflags[@]}" --name "$name" \
	    -p "127.0.0.1:$hp:9100" "$img" >"$tmp/run.log" 2>&1; then
		cat "$tmp/run.log"
		bad "$rt run"
		"$rt" rmi -f "$img" >/dev/null 2>&1
		return
	fi
	st=
	for i in $(seq 1 60); do
		st=$(health "$name")
		[ "$st" = healthy ] && break
		sleep 1
	done
	[ "$st" = healthy ] && ok "container healthy" || {
		"$rt" logs "$name" 2>&1 | tail -n 20
		bad "health: ${st:-no answer}"
	}
	i=$("$rt" exec "$name" id -u 2>&1)
	[ "$i" = 10001 ] && ok "runs as uid 10001" || bad "uid $i"
	i=$("$rt" exec "$name" /usr/bin/pubgate --version 2>&1)
	case $i in
	pubgate*) ok "pubgate in the image: $i" ;;
	*) bad "pubgate --version in the image: $i" ;;
	esac
	"$src/contrib/docker/healthcheck.sh" 127.0.0.1 "$hp" &&
	    ok "health through the published port" || bad "published health"
	"$rt" rm -f "$name" >/dev/null 2>&1
	"$rt" rmi -f "$img" >/dev/null 2>&1
}

case $mode in
lint) lint ;;
run) run ;;
*) echo "usage: container.sh lint|run SRCDIR [PUBGATE]"; exit 2 ;;
esac
exit "$fail"
