"""
bench/lib/npmgen.py: synthetic npm packages and publish bodies for
bench/inspect.  Python 3 standard library only.

Everything is deterministic (seeded) so two machines benchmark the same
bytes.  The text generators build a pool of distinct statements/lines from
templates and a vocabulary, then assemble files by drawing from the pool
with random.choices (C speed).  A line that reappears far away (more than
deflate's 32 KiB window) does not help gzip, so the compression ratios stay
close to real code: minified JS ~3.5-4.5x, TypeScript sources ~4-6x.

Tarballs are written the way npm (pacote + node-tar) writes them: ustar
headers, every path under "package/", mode 0644, uid/gid 0, mtime
1985-10-26T08:15:00Z, no directory entries, gzip level 9.  Publish bodies
follow libnpmpublish: _id, name, description, dist-tags, versions{ver:
manifest with dist.integrity (sha512) and dist.shasum (sha1)}, access,
_attachments{"<name>-<ver>.tgz": {content_type, data (base64), length}}.
"""

import base64
import hashlib
import json
import os
import random
import struct
import zlib

# Bump an entry when that generator's bytes change (cached bodies are redone).
GEN_VERSION = {"tiny": 2, "leak": 2, "clean": 3, "huge": 2}
NPM_MTIME = 499162500          # 1985-10-26T08:15:00Z, what npm pack writes

WORDS = (
    "user config request response handle token session buffer stream parse "
    "render component state props value index item list map set get update "
    "create delete fetch load save error result options context message event "
    "listener callback promise module export import type string number tool "
    "command prompt model file path dir read write line text content input "
    "output format schema validate permission mode query search cache store "
    "client server api key id name data node tree child parent root width "
    "height color style theme layout view screen terminal cursor history "
    "memory agent task queue worker thread process spawn exit signal status "
    "code retry timeout delay limit count size offset start end range match "
    "pattern filter sort reduce merge diff patch hash digest encode decode "
    "json yaml http url header body method route handler auth account org "
    "project workspace repo branch commit git shell env args flag option "
    "setting plugin hook effect ref memo reducer action dispatch selector "
    "slice entry record field column row table cell chunk block segment usage "
    "cost budget metric trace span log debug info warn telemetry feature gate "
    "experiment variant policy rule check guard scope target source dest "
    "render frame width spinner dialog modal button label title subtitle "
    "footer banner notice approve reject allow deny accept cancel confirm "
    "submit resume pause abort stop run exec build compile bundle transform "
    "resolve normalize serialize deserialize stringify escape quote split "
    "join trim pad slug token stats summary report progress status "
    "conversation turn assistant system tool_use result stop_reason "
    "compact truncate window budget attempt backoff jitter socket stream"
).split()

SENTENCE_WORDS = (
    "the a an this that we it is are be to of and in for on with as by "
    "when if not only then so each every first last next previous new old "
    "should must may will can does do returns handles keeps makes sure "
    "used before after while until because otherwise instead also here "
    "value list file path user request response state error result message "
    "current original default empty invalid missing pending active cached "
    "already still never always again later once directly explicitly"
).split()

TYPES = ("string", "number", "boolean", "unknown", "void", "null",
         "undefined", "Date", "Buffer", "RegExp", "Error")

JS_KEYWORDS = ("return", "typeof", "void", "new", "delete", "throw")

BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


# Zipf-like word frequencies: a few words are everywhere, most are rare.
_ZIPF_CUM = []
_acc = 0.0
for _i in range(len(WORDS)):
    _acc += 1.0 / (_i + 1) ** 0.9
    _ZIPF_CUM.append(_acc)


def word(r):
    return r.choices(WORDS, cum_weights=_ZIPF_CUM)[0]


def assemble(r, pool, n, local_frac=0.5, local_size=120):
    """
    n items drawn from pool; local_frac of them from a small per-call
    subpool, the way one source file keeps reusing its own identifiers and
    statement shapes.  Tunes the gzip ratio without repeating whole files.
    """
    local = r.sample(pool, min(local_size, len(pool)))
    nl = int(n * local_frac)
    out = r.choices(pool, k=n - nl) + r.choices(local, k=nl)
    r.shuffle(out)
    return out


def camel(r, n=None):
    n = n or r.choice((1, 1, 2, 2, 2, 3))
    ws = [word(r) for _ in range(n)]
    return ws[0] + "".join(w[:1].upper() + w[1:] for w in ws[1:])


def pascal(r, n=None):
    s = camel(r, n)
    return s[:1].upper() + s[1:]


def sentence(r, lo=4, hi=14):
    n = r.randint(lo, hi)
    ws = [r.choice(SENTENCE_WORDS) if r.random() < 0.6 else word(r)
          for _ in range(n)]
    s = " ".join(ws)
    return s[:1].upper() + s[1:]


def short_ident(r):
    """Minifier-style identifier: e, t, A1, Qz, _$2..."""
    a = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$"
    k = r.random()
    if k < 0.35:
        return r.choice("etnrios")
    if k < 0.7:
        return r.choice(a) + r.choice(a + "0123456789")
    return r.choice(a) + r.choice(a) + r.choice("0123456789")


# ---------------------------------------------------------------------------
# Minified JavaScript (the bundle)

def _js_expr(r, d=0):
    k = r.random()
    if d > 2 or k < 0.25:
        return short_ident(r)
    if k < 0.35:
        return '"%s"' % (camel(r) if r.random() < 0.5 else sentence(r, 2, 7))
    if k < 0.42:
        return str(r.choice((0, 1, 2, -1, 16, 100, 1000, 1e3, 255,
                             r.randint(0, 99999))))
    if k < 0.55:
        return "%s.%s" % (short_ident(r), camel(r))
    if k < 0.7:
        args = ",".join(_js_expr(r, d + 1) for _ in range(r.randint(0, 3)))
        return "%s(%s)" % (short_ident(r) if r.random() < 0.5 else
                           "%s.%s" % (short_ident(r), camel(r)), args)
    if k < 0.78:
        return "%s%s%s" % (_js_expr(r, d + 1), r.choice(
            ("===", "!==", "&&", "||", "+", "-", "?.", "??", "<", ">=")),
            _js_expr(r, d + 1))
    if k < 0.85:
        return "{%s}" % ",".join("%s:%s" % (camel(r), _js_expr(r, d + 1))
                                 for _ in range(r.randint(1, 4)))
    if k < 0.9:
        return "(%s)=>%s" % (",".join(short_ident(r) for _ in
                                      range(r.randint(0, 2))),
                             _js_expr(r, d + 1))
    if k < 0.95:
        return "[%s]" % ",".join(_js_expr(r, d + 1)
                                 for _ in range(r.randint(1, 4)))
    return "%s?%s:%s" % (_js_expr(r, d + 1), _js_expr(r, d + 1),
                         _js_expr(r, d + 1))


def _js_stmt(r):
    k = r.random()
    if k < 0.2:
        return "var %s=%s" % (short_ident(r), _js_expr(r))
    if k < 0.3:
        return "let %s=%s,%s=%s" % (short_ident(r), _js_expr(r),
                                    short_ident(r), _js_expr(r))
    if k < 0.45:
        params = ",".join(short_ident(r) for _ in range(r.randint(0, 3)))
        body = ";".join(_js_stmt_simple(r) for _ in range(r.randint(1, 4)))
        return "function %s(%s){%s}" % (short_ident(r), params, body)
    if k < 0.55:
        return "if(%s)%s;else %s" % (_js_expr(r), _js_stmt_simple(r),
                                     _js_stmt_simple(r))
    if k < 0.62:
        return "for(let %s=0;%s<%s.length;%s++)%s" % (
            "e", "e", short_ident(r), "e", _js_stmt_simple(r))
    if k < 0.7:
        return 'class %s extends %s{constructor(%s){super(%s);this.%s=%s}%s(){return this.%s}}' % (
            short_ident(r), short_ident(r), "e", "e", camel(r),
            _js_expr(r), camel(r), camel(r))
    if k < 0.76:
        return "try{%s}catch(%s){%s}" % (_js_stmt_simple(r), short_ident(r),
                                         _js_stmt_simple(r))
    if k < 0.8:
        return 'throw new Error(`%s ${%s}`)' % (sentence(r, 3, 9),
                                                 short_ident(r))
    return _js_stmt_simple(r)


def _js_stmt_simple(r):
    k = r.random()
    if k < 0.3:
        return "return %s" % _js_expr(r)
    if k < 0.6:
        return _js_expr(r)
    if k < 0.8:
        return "%s.%s=%s" % (short_ident(r), camel(r), _js_expr(r))
    return "%s=%s" % (short_ident(r), _js_expr(r))


def js_pool(seed, n):
    r = random.Random(seed)
    return [_js_stmt(r) for _ in range(n)]


def minified_js(seed, size, pool, local_frac=0.6, local_size=200):
    """A bundle of about `size` bytes: long lines of ;-joined statements."""
    r = random.Random(seed)
    out = []
    have = 0
    while have < size:
        stmts = assemble(r, pool, 2000, local_frac, local_size)
        line = ";".join(stmts) + ";\n"
        out.append(line)
        have += len(line)
    s = "".join(out)
    return s[:size].encode()


# ---------------------------------------------------------------------------
# TypeScript sources (what a leaked map's sourcesContent holds)

def _ts_line(r, ind):
    p = "  " * ind
    k = r.random()
    if k < 0.1:
        return "%s// %s" % (p, sentence(r))
    if k < 0.25:
        return "%sconst %s = %s(%s);" % (
            p, camel(r), r.choice(("await ", "")) + camel(r),
            ", ".join(camel(r) for _ in range(r.randint(0, 3))))
    if k < 0.33:
        return "%sif (!%s) {" % (p, camel(r))
    if k < 0.4:
        return "%sreturn %s;" % (p, r.choice((
            "null", "undefined", camel(r), "{ ...%s, %s }" % (camel(r),
                                                            camel(r)))))
    if k < 0.47:
        return "%s}" % p
    if k < 0.55:
        return "%s%s.%s(%s);" % (p, camel(r), camel(r), ", ".join(
            camel(r) for _ in range(r.randint(0, 2))))
    if k < 0.6:
        return "%sthrow new %sError(`%s: ${%s}`);" % (
            p, pascal(r, 1), sentence(r, 3, 8), camel(r))
    if k < 0.66:
        return "%slogEvent('tengu_%s_%s', { %s: %s.length });" % (
            p, word(r), word(r), camel(r), camel(r))
    if k < 0.72:
        return "%sfor (const %s of %s) {" % (p, camel(r, 1), camel(r))
    if k < 0.78:
        return "%s%s: %s%s;" % (p, camel(r), r.choice(TYPES + (
            pascal(r), "Array<%s>" % pascal(r))), r.choice(("", " | null")))
    if k < 0.84:
        return '%s<%s %s="%s">{%s}</%s>' % (
            p, "Box", r.choice(("flexDirection", "marginLeft", "color")),
            r.choice(("column", "row", "red", "gray")), camel(r), "Box")
    if k < 0.9:
        return "%sconst [%s, set%s] = useState<%s>(%s);" % (
            p, camel(r, 1), pascal(r, 1), r.choice(TYPES),
            r.choice(("null", "false", "0", "''", "[]")))
    return "%s%s = %s %s %s;" % (p, camel(r), camel(r),
                                 r.choice(("+", "&&", "||", "??", "-")),
                                 camel(r))


def ts_pool(seed, n):
    r = random.Random(seed)
    return [_ts_line(r, r.choice((0, 1, 1, 2, 2, 3))) for _ in range(n)]


def ts_file(r, pool, nbytes, local_frac=0.6, local_size=100):
    head = []
    for _ in range(r.randint(2, 12)):
        names = ", ".join(pascal(r) if r.random() < 0.4 else camel(r)
                          for _ in range(r.randint(1, 4)))
        head.append("import %s{ %s } from '%s';" % (
            r.choice(("", "", "type ")), names,
            r.choice(("../", "./", "../../")) + "/".join(
                camel(r, 1) for _ in range(r.randint(1, 3)))))
    head.append("")
    head.append("/**\n * %s.\n * %s.\n */" % (sentence(r), sentence(r)))
    head.append("export %s %s%s {" % (
        r.choice(("function", "async function", "class", "interface")),
        pascal(r), r.choice(("(props: Props)", "", "<T>(input: T)"))))
    body = "\n".join(head) + "\n"
    n = max(1, (nbytes - len(body)) // 38)
    body += "\n".join(assemble(r, pool, n, local_frac, local_size)) + "\n}\n"
    return body


# ---------------------------------------------------------------------------
# Source-map "mappings" (base64 VLQ)

def _vlq(v):
    v = (-v << 1) | 1 if v < 0 else v << 1
    s = ""
    while True:
        d = v & 31
        v >>= 5
        if v:
            s += BASE64[d | 32]
        else:
            s += BASE64[d]
            return s


def vlq_pool(seed, n):
    r = random.Random(seed)
    pool = []
    for _ in range(n):
        fields = [r.choice((1, 2, 4, 6, 9, 14, 20, 33, 70)),
                  r.choice((0, 0, 0, 0, 1, -1, 3)),
                  r.choice((0, 0, 1, -1, 2, -3, 12, -40)),
                  r.choice((0, 2, 4, -6, 8, 13, -20))]
        if r.random() < 0.3:
            fields.append(r.randint(-50, 200))
        pool.append("".join(_vlq(f) for f in fields))
    return pool


def mappings(seed, size, pool):
    r = random.Random(seed)
    cum, acc = [], 0.0
    for i in range(len(pool)):
        acc += 1.0 / (i + 1) ** 0.8
        cum.append(acc)
    out = []
    have = 0
    while have < size:
        seg = ",".join(r.choices(pool, cum_weights=cum, k=r.randint(5, 120)))
        out.append(seg)
        have += len(seg) + 1
    return ";".join(out)[:size].rstrip(";,")


# ---------------------------------------------------------------------------
# tar / gzip / publish body

def _octal(v, width):
    s = "%o" % v
    if len(s) > width - 1:
        raise ValueError("tar field too large")
    return s.rjust(width - 1, "0").encode() + b"\0"


def tar_header(path, size, mode=0o644, mtime=NPM_MTIME, typeflag=b"0"):
    """A ustar header for `path` (already with its package/ prefix)."""
    name = path.encode()
    prefix = b""
    if len(name) > 100:
        cut = name.rfind(b"/", 0, 156)
        if cut <= 0 or len(name) - cut - 1 > 100:
            raise ValueError("path too long for ustar: %s" % path)
        prefix, name = name[:cut], name[cut + 1:]
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = _octal(mode, 8)
    h[108:116] = _octal(0, 8)
    h[116:124] = _octal(0, 8)
    h[124:136] = _octal(size, 12)
    h[136:148] = _octal(mtime, 12)
    h[148:156] = b"        "
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[345:345 + len(prefix)] = prefix
    csum = sum(h)
    h[148:156] = ("%06o" % csum).encode() + b"\0 "
    return bytes(h)


def tar_pad(size):
    return b"\0" * ((512 - size % 512) % 512)


class TgzWriter:
    """Streams a gzip'd tar to a file; keeps sha512/sha1 of the gzip bytes."""

    def __init__(self, path, level=9):
        self.f = open(path, "wb")
        self.z = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self.sha512 = hashlib.sha512()
        self.sha1 = hashlib.sha1()
        self.length = 0
        self.unpacked = 0
        self.nfiles = 0

    def _out(self, b):
        if b:
            self.f.write(b)
            self.sha512.update(b)
            self.sha1.update(b)
            self.length += len(b)

    def _raw(self, b):
        self._out(self.z.compress(b))

    def add(self, path, data, mode=0o644):
        self._raw(tar_header("package/" + path, len(data), mode))
        self._raw(data)
        self._raw(tar_pad(len(data)))
        self.unpacked += len(data)
        self.nfiles += 1

    def close(self):
        self._raw(b"\0" * 1024)
        self._out(self.z.flush())
        self.f.close()
        return self.digests()

    def digests(self):
        return {
            "integrity": "sha512-" + base64.b64encode(
                self.sha512.digest()).decode(),
            "shasum": self.sha1.hexdigest(),
            "length": self.length,
            "unpacked": self.unpacked,
            "files": self.nfiles,
        }


class SegmentTgzWriter(TgzWriter):
    """
    A gzip'd tar assembled from independently deflated segments (each ends
    with a sync flush, so their concatenation is one valid deflate stream).
    Lets the 1 GiB body reuse a pool of pre-compressed 64 KiB blocks:
    generation costs seconds, yet inflate sees an ordinary stream.
    """

    def __init__(self, path, level=6):
        super().__init__(path, level)
        self.level = level
        self.crc = 0
        self.isize = 0
        hdr = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"
        self._out(hdr)

    def _seg(self, raw):
        z = zlib.compressobj(self.level, zlib.DEFLATED, -zlib.MAX_WBITS)
        return z.compress(raw) + z.flush(zlib.Z_SYNC_FLUSH)

    def _rawseg(self, raw, seg=None):
        self._out(seg if seg is not None else self._seg(raw))
        self.crc = zlib.crc32(raw, self.crc)
        self.isize += len(raw)

    def add_blocks(self, path, blocks, segs):
        """blocks: raw 64 KiB blocks (multiple of 512), segs: their deflate."""
        size = sum(len(b) for b in blocks)
        self._rawseg(tar_header("package/" + path, size))
        for b, s in zip(blocks, segs):
            self._rawseg(b, s)
        self.unpacked += size
        self.nfiles += 1

    def add(self, path, data, mode=0o644):
        self._rawseg(tar_header("package/" + path, len(data), mode) + data +
                     tar_pad(len(data)))
        self.unpacked += len(data)
        self.nfiles += 1

    def close(self):
        self._rawseg(b"\0" * 1024)
        z = zlib.compressobj(self.level, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._out(z.flush(zlib.Z_FINISH))
        self._out(struct.pack("<II", self.crc & 0xffffffff,
                              self.isize & 0xffffffff))
        self.f.close()
        return self.digests()


def package_json(name, version, extra=None):
    m = {
        "name": name,
        "version": version,
        "description": "pubgate benchmark package (synthetic)",
        "main": "dist/index.js",
        "license": "MIT",
        "engines": {"node": ">=18"},
    }
    if extra:
        m.update(extra)
    return m


def write_body(body_path, tgz_path, manifest, dig, access="public"):
    """Wraps a .tgz into an npm publish body, libnpmpublish style."""
    name, version = manifest["name"], manifest["version"]
    tarball_name = "%s-%s.tgz" % (name, version)
    m = dict(manifest)
    m["_id"] = "%s@%s" % (name, version)
    m["_nodeVersion"] = "22.14.0"
    m["_npmVersion"] = "10.9.2"
    m["readme"] = "ERROR: No README data found!"
    m["dist"] = {
        "integrity": dig["integrity"],
        "shasum": dig["shasum"],
        "tarball": "http://registry.npmjs.org/%s/-/%s" % (name, tarball_name),
    }
    head = {
        "_id": name,
        "name": name,
        "description": manifest.get("description", ""),
        "dist-tags": {"latest": version},
        "versions": {version: m},
        "access": access,
    }
    h = json.dumps(head, separators=(",", ":"))
    assert h.endswith("}")
    pre = h[:-1] + ',"_attachments":{%s:{"content_type":' \
        '"application/octet-stream","data":"' % json.dumps(tarball_name)
    post = '","length":%d}}}' % dig["length"]
    with open(tgz_path, "rb") as src, open(body_path, "wb") as dst:
        dst.write(pre.encode())
        while True:
            chunk = src.read(3 << 20)      # multiple of 3: no inner padding
            if not chunk:
                break
            dst.write(base64.b64encode(chunk))
        dst.write(post.encode())
    return os.path.getsize(body_path)


# ---------------------------------------------------------------------------
# The three packages

def gen_leak(workdir, name, version="1.0.0", js_mb=19.0, map_mb=60.0,
             nsources=1900, log=print):
    """
    A leak-like package: dist/cli.js (~19 MB minified) and dist/cli.js.map
    (~60 MB) whose sourcesContent holds ~1,900 TypeScript files, like
    @anthropic-ai/claude-code@2.1.88.
    """
    tgz = os.path.join(workdir, "leak.tgz")
    log("  generating minified bundle (%.0f MB)..." % js_mb)
    jpool = js_pool(1, 60000)
    js = minified_js(2, int(js_mb * 1e6), jpool)
    js += b"\n//# sourceMappingURL=cli.js.map\n"

    log("  generating source map (%.0f MB, %d sources)..." % (map_mb,
                                                               nsources))
    r = random.Random(3)
    tpool = ts_pool(4, 150000)
    # Budget: ~70% sourcesContent, ~27% mappings, the rest names/sources.
    content_budget = int(map_mb * 1e6 * 0.70)
    sizes = [r.lognormvariate(0, 1.0) for _ in range(nsources)]
    scale = content_budget / sum(sizes)
    dirs = ["components", "tools", "services", "commands", "utils", "hooks",
            "screens", "context", "entrypoints", "bridge", "state", "ink",
            "query", "skills", "permissions", "migrations", "constants"]
    sources, contents = [], []
    seen = set()
    for i in range(nsources):
        while True:
            p = "../src/%s/%s%s" % (r.choice(dirs), "/".join(
                pascal(r, 1) for _ in range(r.randint(0, 2))),
                pascal(r) + r.choice((".ts", ".ts", ".tsx")))
            p = p.replace("//", "/")
            if p not in seen:
                seen.add(p)
                break
        sources.append(p)
        contents.append(ts_file(r, tpool, max(200, int(sizes[i] * scale))))
    names = sorted({camel(r) for _ in range(40000)})
    used = len(json.dumps(contents)) + len(json.dumps(sources)) + \
        len(json.dumps(names))
    mp = mappings(5, max(1000, int(map_mb * 1e6) - used - 100),
                  vlq_pool(6, 20000))
    smap = json.dumps({
        "version": 3,
        "file": "cli.js",
        "sources": sources,
        "sourcesContent": contents,
        "names": names,
        "mappings": mp,
    }, separators=(",", ":")).encode()
    del contents, mp

    log("  packing (gzip -9)...")
    pj = package_json(name, version, {
        "bin": {"bench-cli": "dist/cli.js"},
        "type": "module",
        "main": "dist/cli.js",
    })
    w = TgzWriter(tgz, 9)
    w.add("package.json", (json.dumps(pj, indent=2) + "\n").encode())
    w.add("README.md", ("# %s\n\n%s.\n" % (name, sentence(r, 10, 20))).encode())
    w.add("LICENSE.md", b"MIT License\n\nCopyright (c) bench\n")
    w.add("dist/cli.js", js, 0o755)
    w.add("dist/cli.js.map", smap)
    dig = w.close()
    dig["js_bytes"] = len(js)
    dig["map_bytes"] = len(smap)
    return tgz, pj, dig


def gen_clean(workdir, name, version="1.0.0", tgz_mb=74.5, log=print):
    """
    A clean package: many ordinary JS modules (no maps, no secrets) sized so
    that the publish body is ~100 MB.
    """
    tgz = os.path.join(workdir, "clean.tgz")
    r = random.Random(11)
    jpool = js_pool(12, 80000)
    tpool = ts_pool(13, 80000)
    pj = package_json(name, version)
    w = TgzWriter(tgz, 9)
    w.add("package.json", (json.dumps(pj, indent=2) + "\n").encode())
    w.add("README.md", ("# %s\n\n%s.\n" % (name, sentence(r, 10, 20))).encode())
    w.add("LICENSE", b"MIT License\n\nCopyright (c) bench\n")
    target = int(tgz_mb * 1e6)
    i = 0
    last = 0
    while w.length < target:
        i += 1
        d = "%s/%s" % (r.choice(("lib", "esm", "cjs", "dist")),
                       "/".join(camel(r, 1) for _ in range(r.randint(0, 2))))
        d = d.rstrip("/")
        size = int(min(400000, max(300, r.lognormvariate(9.6, 1.1))))
        if r.random() < 0.25:
            path = "%s/%s.d.ts" % (d, camel(r))
            data = ts_file(r, tpool, size // 3).encode()
        else:
            path = "%s/%s%d.js" % (d, camel(r), i)
            lines = ['"use strict";',
                     'Object.defineProperty(exports, "__esModule", '
                     '{ value: true });']
            n = max(1, size // 60)
            lines += assemble(r, jpool, n, 0.6, 200)
            data = (";\n".join(lines) + ";\n").encode()
        w.add(path, data)
        if w.length - last > 10e6:
            last = w.length
            log("  clean.tgz: %.0f/%.0f MB" % (w.length / 1e6, target / 1e6))
    dig = w.close()
    return tgz, pj, dig


def gen_huge(workdir, name, version="1.0.0", body_bytes=1 << 30, log=print):
    """
    A ~1 GiB publish body for peak RSS: files made of 64 KiB blocks drawn
    from a pool of pre-deflated blocks (see SegmentTgzWriter).  Content is
    minified-JS-like text with hex runs, compressing ~2-3x.
    """
    tgz = os.path.join(workdir, "huge.tgz")
    r = random.Random(21)
    jpool = js_pool(22, 40000)
    blocks, segs = [], []
    log("  huge: building block pool...")
    for b in range(384):
        parts, have = [], 0
        while have < 65536:
            if r.random() < 0.5:
                s = r.choice(jpool)
            else:
                s = '"%s"' % r.getrandbits(256 * 4).to_bytes(128, "big").hex()
            parts.append(s)
            have += len(s) + 1
        blk = (";".join(parts)).encode()[:65535] + b"\n"
        blocks.append(blk)
        z = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        segs.append(z.compress(blk) + z.flush(zlib.Z_SYNC_FLUSH))
    pj = package_json(name, version)
    w = SegmentTgzWriter(tgz, 6)
    w.add("package.json", (json.dumps(pj, indent=2) + "\n").encode())
    w.add("README.md", b"# huge bench package\n")
    target = body_bytes * 3 // 4 - 4096
    i = 0
    last = 0
    while w.length < target:
        i += 1
        nblk = r.randint(16, 160)        # 1-10 MiB files
        idx = [r.randrange(len(blocks)) for _ in range(nblk)]
        w.add_blocks("dist/chunk-%05d.js" % i, [blocks[k] for k in idx],
                     [segs[k] for k in idx])
        if w.length - last > 100e6:
            last = w.length
            log("  huge.tgz: %.0f/%.0f MB" % (w.length / 1e6, target / 1e6))
    dig = w.close()
    return tgz, pj, dig


def gen_tiny(workdir, name, version="1.0.0", log=print):
    """A one-file package: its scan time is process start + policy load."""
    tgz = os.path.join(workdir, "tiny.tgz")
    pj = package_json(name, version)
    w = TgzWriter(tgz, 9)
    w.add("package.json", (json.dumps(pj, indent=2) + "\n").encode())
    w.add("dist/index.js", b"module.exports = function add(a, b) {\n"
          b"  return a + b;\n};\n")
    return tgz, pj, w.close()
