#!/usr/bin/env python3
# tests/cli/notify.py: `pubgate serve` speaks systemd's notify protocol
# (Type=notify) to the datagram socket named by $NOTIFY_SOCKET, as
# systemd would see it.  For one process, for `workers: 2` and for an
# abstract socket name ('@...'):
#   - READY=1 arrives once, and only when the gate's listener already
#     accepts (a connect right after it succeeds);
#   - SIGHUP: RELOADING=1 (with MONOTONIC_USEC) then READY=1; a policy
#     broken on disk still ends in READY=1 (the old one kept) and the
#     metrics say the reload failed, a good one says it worked;
#   - SIGTERM: STOPPING=1, then exit 0.
# Without NOTIFY_SOCKET nothing is sent (covered by every other test).
# Usage: notify.py PUBGATE
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

pubgate = sys.argv[1]
fails = 0


def ok(msg):
    print("ok: " + msg)


def bad(msg):
    global fails
    print("FAIL: " + msg)
    fails += 1


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def recv(sock, timeout=90.0):
    """The next notify datagram as a dict of its lines, or None.  The wait
    is long: without cache_dir a reload with workers: 2 compiles the
    detectors three times (supervisor, then each worker), which took 25 s
    under ASan on a loaded 2-core machine."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096).decode()
    except socket.timeout:
        return None
    return dict(l.split("=", 1) for l in data.split("\n") if "=" in l)


def scrape(admin):
    with urllib.request.urlopen(admin + "/-/pubgate/metrics",
                                timeout=10) as r:
        return r.read().decode()


def metric(text, name):
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    return m.group(1) if m else None


def run(tmp, label, workers, abstract):
    policy = os.path.join(tmp, "policy.yaml")
    with open(policy, "w") as f:
        f.write("version: 1\ndefault: deny\nrules:\n"
                "  - match: \"@x/*\"\n    publish: allow\n")
    port, admin_port = free_port(), free_port()
    admin = "http://127.0.0.1:%d" % admin_port
    with open(os.path.join(tmp, "pubgate.yaml"), "w") as f:
        f.write("workers: %d\nadmin:\n  listen: %s\n" % (workers, admin))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "@pubgate-notify-test-%d" % os.getpid()
        sock.bind("\0" + name[1:])
    else:
        name = os.path.join(tmp, "notify.sock")
        sock.bind(name)
    env = dict(os.environ, NOTIFY_SOCKET=name)
    err = open(os.path.join(tmp, "serve.err"), "w")
    p = subprocess.Popen([pubgate, "serve", "-c",
                          os.path.join(tmp, "pubgate.yaml"),
                          "--listen", "http://127.0.0.1:%d" % port,
                          "--upstream", "http://127.0.0.1:9",
                          "--policy", policy,
                          "--db", os.path.join(tmp, "pubgate.db")],
                         env=env, stdout=err, stderr=err)
    try:
        m = recv(sock)
        if m is None or m.get("READY") != "1":
            bad("%s: no READY=1 after start: %r" % (label, m))
            return
        # The listener is up by then: a connect succeeds at once.
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            ok("%s: READY=1 after the listener accepts" % label)
        except OSError as e:
            bad("%s: READY=1 but the listener refuses: %s" % (label, e))
        extra = recv(sock, 1.0)
        if extra is None:
            ok("%s: READY=1 sent once" % label)
        else:
            bad("%s: more after READY=1: %r" % (label, extra))
        m = scrape(admin)
        if metric(m, "pubgate_config_last_reload_successful") == "1":
            ok("%s: metrics: started counts as a good load" % label)
        else:
            bad("%s: last_reload_successful at start" % label)

        # A good reload.
        p.send_signal(signal.SIGHUP)
        m1, m2 = recv(sock), recv(sock)
        if m1 is not None and m1.get("RELOADING") == "1" and \
                re.fullmatch(r"[0-9]+", m1.get("MONOTONIC_USEC", "")):
            ok("%s: SIGHUP: RELOADING=1 with MONOTONIC_USEC" % label)
        else:
            bad("%s: SIGHUP: first message %r" % (label, m1))
        if m2 is not None and m2.get("READY") == "1":
            ok("%s: SIGHUP: then READY=1" % label)
        else:
            bad("%s: SIGHUP: second message %r" % (label, m2))
        m = scrape(admin)
        if metric(m, 'pubgate_config_reloads_total{result="ok"}') == "1":
            ok("%s: metrics: one good reload" % label)
        else:
            bad("%s: metrics after a good reload" % label)
        if workers > 1:
            # No cache_dir: the supervisor's private cache serves the
            # workers' reload, none of them compiles again.
            err.flush()
            with open(os.path.join(tmp, "serve.err")) as f:
                log = f.read()
            ws = re.findall(r"event=reloaded what=policy worker=(\d+) .*"
                            r"detectors_compiled=(\d+)", log)
            if len(ws) == workers and all(c == "0" for _, c in ws):
                ok("%s: workers reload from the private cache" % label)
            else:
                bad("%s: workers compiled at the reload: %r" % (label, ws))

        # A broken policy: the old one stays, systemd still hears READY.
        with open(policy, "w") as f:
            f.write("version: 1\nrules:\n  - match: x\n    nosuchkey: 1\n")
        p.send_signal(signal.SIGHUP)
        m1, m2 = recv(sock), recv(sock)
        if m1 is not None and m1.get("RELOADING") == "1" and \
                m2 is not None and m2.get("READY") == "1":
            ok("%s: failed reload: RELOADING=1 then READY=1" % label)
        else:
            bad("%s: failed reload: %r %r" % (label, m1, m2))
        m = scrape(admin)
        if metric(m, "pubgate_config_last_reload_successful") == "0" and \
                metric(m, 'pubgate_config_reloads_total{result="fail"}') \
                == "1":
            ok("%s: metrics: the failed reload shows" % label)
        else:
            bad("%s: metrics after a failed reload" % label)

        p.send_signal(signal.SIGTERM)
        m = recv(sock)
        if m is not None and m.get("STOPPING") == "1":
            ok("%s: SIGTERM: STOPPING=1" % label)
        else:
            bad("%s: SIGTERM: %r" % (label, m))
        rc = p.wait(timeout=30)
        if rc == 0:
            ok("%s: exit 0" % label)
        else:
            bad("%s: exit %d" % (label, rc))
        if workers > 1:
            with open(os.path.join(tmp, "serve.err")) as f:
                pc = re.search(r"event=policy-loaded .*cache_dir=(\S+) "
                               r"cache_private=yes", f.read())
            if pc is None:
                bad("%s: no private detector cache at the start" % label)
            elif os.path.exists(pc.group(1)):
                bad("%s: private cache %s left behind" % (label, pc.group(1)))
            else:
                ok("%s: private cache made and removed" % label)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        sock.close()
        err.close()
        if fails:
            with open(os.path.join(tmp, "serve.err")) as f:
                sys.stdout.write(f.read()[-3000:])


for label, workers, abstract in (("one process", 1, False),
                                 ("workers: 2", 2, False),
                                 ("abstract socket", 1, True)):
    with tempfile.TemporaryDirectory() as tmp:
        run(tmp, label, workers, abstract)
sys.exit(1 if fails else 0)
