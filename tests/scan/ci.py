#!/usr/bin/env python3
# tests/scan/ci.py: contrib/ci/ checked without GitHub or GitLab.
#  - lint: action.yml and pubgate.gitlab-ci.yml parse as YAML; the action
#    is composite, every run step names its shell, every ${{ inputs.X }}
#    and ${{ steps.Y }} it uses is declared, every script it calls exists
#    and is executable, the SARIF upload is github/codeql-action's; every
#    `pubgate scan` flag the scripts and the template pass is one that
#    `pubgate scan --help` lists; install-pubgate.sh's build dependencies
#    are the Build-Depends of contrib/debian/control (less debhelper).
#  - run: the action's shell steps, in order, as the runner would run them
#    (env with ${{ }} filled in, GITHUB_ACTION_PATH, GITHUB_OUTPUT), and
#    the GitLab job's script, against a fixture repository with pubgate
#    on PATH: a leaky package fails the job (exit 1) with a SARIF log
#    written, a clean one passes (exit 0); SARIF validated when the
#    validator's packages are installed (tests/scan/install.sh).
# Usage: ci.py PUBGATE SRCDIR
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml is not installed")
    sys.exit(77)

pubgate, src = sys.argv[1], sys.argv[2]
ci = os.path.join(src, "contrib", "ci")
fail = 0


def bad(msg):
    global fail
    fail = 1
    print("FAIL: " + msg)


def ok(msg):
    print("ok: " + msg)


with open(os.path.join(ci, "action.yml")) as f:
    action = yaml.safe_load(f)
with open(os.path.join(ci, "pubgate.gitlab-ci.yml")) as f:
    gitlab = yaml.safe_load(f)
ok("action.yml and pubgate.gitlab-ci.yml parse")

# ---- lint the action ----
runs = action.get("runs", {})
if runs.get("using") != "composite":
    bad("action.yml: runs.using is not composite")
inputs = action.get("inputs", {})
steps = runs.get("steps", [])
ids = {s.get("id") for s in steps if s.get("id")}
uses = [s["uses"] for s in steps if "uses" in s]
if not any(re.fullmatch(r"github/codeql-action/upload-sarif@v\d+", u)
           for u in uses):
    bad("action.yml: no github/codeql-action/upload-sarif@vN step")
text = open(os.path.join(ci, "action.yml")).read()
for name in re.findall(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)", text) + \
        re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text):
    if name not in inputs:
        bad(f"action.yml: inputs.{name} is used but not declared")
for sid in re.findall(r"\bsteps\.([A-Za-z0-9_-]+)\.", text):
    if sid not in ids:
        bad(f"action.yml: steps.{sid} is not a step id")
for s in steps:
    if "run" in s:
        if s.get("shell") not in ("sh", "bash"):
            bad(f"action.yml: step {s.get('name')} has no shell")
        for script in re.findall(r"\$GITHUB_ACTION_PATH/([A-Za-z0-9_.-]+)",
                                 s["run"]):
            p = os.path.join(ci, script)
            if not os.access(p, os.X_OK):
                bad(f"action.yml: {script} is not an executable in contrib/ci")
ok("action.yml lint")

# ---- the flags pubgate is given exist ----
helptext = subprocess.run([pubgate, "scan", "--help"], capture_output=True,
                          text=True).stdout
sources = [open(os.path.join(ci, "scan.sh")).read(),
           gitlab["pubgate-scan"]["script"][0]]
for body in sources:
    for line in body.splitlines():
        if "pubgate scan" not in line and "set -- " not in line:
            continue
        for flag in re.findall(r"(?<![\w$])(--?[a-z][a-z-]*)", line):
            if flag in ("-n", "-le", "-eq", "-z") and "pubgate" not in line:
                continue
            if flag in ("-le", "-eq"):
                continue
            if not re.search(r"(^|[\s,])" + re.escape(flag) + r"\b", helptext):
                bad(f"`{flag}` ({line.strip()}) is not in pubgate scan --help")
for flag in ("--format", "sarif", "--name", "--policy"):
    if flag not in helptext:
        bad(f"pubgate scan --help does not mention {flag}")
ok("pubgate scan flags used by contrib/ci exist")

# install-pubgate.sh reads the build dependencies from the control file.
deps = subprocess.run([os.path.join(ci, "install-pubgate.sh"), "--print-deps"],
                      capture_output=True, text=True, check=True).stdout.split()
control = open(os.path.join(src, "contrib", "debian", "control")).read()
block = re.search(r"^Build-Depends:(.*?)^\S", control, re.S | re.M).group(1)
want = [re.sub(r"\(.*?\)", "", d).strip() for d in block.split(",")]
want = [d for d in want if d and not d.startswith("debhelper")]
if deps != want:
    bad(f"install-pubgate.sh --print-deps: {deps}, control says {want}")
else:
    ok(f"install-pubgate.sh builds with {len(deps)} Build-Depends")

# ---- run the action's steps and the GitLab job on fixture repos ----
tmp = tempfile.mkdtemp()
bindir = os.path.join(tmp, "bin")
os.makedirs(bindir)
os.symlink(os.path.abspath(pubgate), os.path.join(bindir, "pubgate"))
validator = os.path.join(src, "tests", "scan", "sarif-validate.js")
have_validator = os.path.exists(os.path.join(
    src, "tests", "scan", "node_modules", "ajv-draft-04", "package.json"))
policy = """version: 1
default: allow
rules:
  - match: "@acme/*"
    publish: allow
    files: { deny: ["**/*.map"] }
    sourcemaps: block
"""


def repo(name, leaky):
    d = os.path.join(tmp, name)
    os.makedirs(os.path.join(d, "dist"))
    os.makedirs(os.path.join(d, ".github"))
    with open(os.path.join(d, "package.json"), "w") as f:
        json.dump({"name": "@acme/" + name, "version": "1.0.0",
                   "files": ["dist"]}, f)
    with open(os.path.join(d, "dist", "index.js"), "w") as f:
        f.write("module.exports = 1\n")
    if leaky:
        with open(os.path.join(d, "dist", "index.js.map"), "w") as f:
            json.dump({"version": 3, "sources": ["../src/a.ts"],
                       "sourcesContent": ["const a = 1\n"],
                       "mappings": "AAAA"}, f)
    with open(os.path.join(d, ".github", "pubgate.yaml"), "w") as f:
        f.write(policy)
    return d


def check_sarif(path, what):
    if not os.path.exists(path):
        bad(f"{what}: no SARIF log at {path}")
        return
    if have_validator:
        r = subprocess.run(["node", validator, path], capture_output=True,
                           text=True)
        if r.returncode != 0:
            bad(f"{what}: invalid SARIF: {r.stdout}")
    else:
        json.load(open(path))


def fill(value, ins, outputs):
    def sub(m):
        expr = m.group(1).strip()
        if expr.startswith("inputs."):
            return ins[expr[7:]]
        if expr.startswith("steps."):
            _, sid, _, key = expr.split(".")
            return outputs.get(sid, {}).get(key, "")
        raise ValueError(expr)
    return re.sub(r"\$\{\{(.*?)\}\}", sub, str(value))


def cond_true(cond, ins, outputs):
    # the two forms action.yml uses: inputs.X == 'v' && steps.Y.outputs.Z != 'v'
    for part in cond.split("&&"):
        m = re.fullmatch(r"\s*(inputs|steps)\.([\w.-]+)\s*(==|!=)\s*'([^']*)'\s*",
                         part)
        if not m:
            raise ValueError(cond)
        if m.group(1) == "inputs":
            val = ins[m.group(2)]
        else:
            sid, _, key = m.group(2).split(".")
            val = outputs.get(sid, {}).get(key, "")
        if (val == m.group(4)) != (m.group(3) == "=="):
            return False
    return True


def run_action(d, want_rc):
    ins = {k: str(v.get("default", "")) for k, v in inputs.items()}
    ins["policy"] = ".github/pubgate.yaml"
    outputs = {}
    last = 0
    uploaded = False
    for s in steps:
        if "if" in s and not cond_true(s["if"], ins, outputs):
            continue
        if "uses" in s:
            uploaded = True
            sarif = fill(s["with"]["sarif_file"], ins, outputs)
            check_sarif(os.path.join(d, sarif), f"action upload in {d}")
            continue
        out = os.path.join(tmp, "github_output")
        open(out, "w").close()
        env = dict(os.environ)
        env["PATH"] = bindir + os.pathsep + env["PATH"]
        env["GITHUB_ACTION_PATH"] = ci
        env["GITHUB_OUTPUT"] = out
        for k, v in (s.get("env") or {}).items():
            env[k] = fill(v, ins, outputs)
        r = subprocess.run([s["shell"], "-e", "-c", s["run"]], cwd=d, env=env,
                           capture_output=True, text=True, timeout=600)
        print(r.stdout, end="")
        last = r.returncode
        if s.get("id"):
            outputs[s["id"]] = dict(line.split("=", 1) for line in
                                    open(out).read().splitlines() if "=" in line)
        if r.returncode != 0:
            break
    if last != want_rc:
        bad(f"action on {os.path.basename(d)}: exit {last}, want {want_rc}")
    elif not uploaded:
        bad(f"action on {os.path.basename(d)}: the SARIF upload step did not run")
    else:
        ok(f"action on {os.path.basename(d)}: exit {last}, SARIF uploaded")


def run_gitlab(d, want_rc):
    job = gitlab["pubgate-scan"]
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env["PATH"]
    for k, v in gitlab["variables"].items():
        env[k] = str(v)
    env["PUBGATE_POLICY"] = ".github/pubgate.yaml"
    script = "\n".join(job["script"])
    r = subprocess.run(["sh", "-e", "-c", script], cwd=d, env=env,
                       capture_output=True, text=True, timeout=600)
    art = job["artifacts"]["paths"][0]
    if r.returncode != want_rc:
        bad(f"gitlab job on {os.path.basename(d)}: exit {r.returncode}, "
            f"want {want_rc}: {r.stdout} {r.stderr}")
    else:
        ok(f"gitlab job on {os.path.basename(d)}: exit {r.returncode}")
    check_sarif(os.path.join(d, art), f"gitlab artifact in {d}")


try:
    leaky = repo("leaky", True)
    clean = repo("clean", False)
    run_action(leaky, 1)
    run_action(clean, 0)
    run_gitlab(leaky, 1)
    run_gitlab(clean, 0)
    # an error (no package.json) fails the job with 2 and leaves no log
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    open(os.path.join(empty, "pubgate.sarif"), "w").write("stale")
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"])
    r = subprocess.run([os.path.join(ci, "scan.sh")], cwd=empty, env=env,
                       capture_output=True, text=True)
    if r.returncode != 2 or os.path.exists(os.path.join(empty, "pubgate.sarif")):
        bad(f"scan.sh on an empty folder: exit {r.returncode}, stale log kept")
    else:
        ok("scan.sh error: exit 2, no log left")
finally:
    shutil.rmtree(tmp)
if not have_validator:
    print("note: SARIF only parsed as JSON (run tests/scan/install.sh to validate)")
sys.exit(fail)
