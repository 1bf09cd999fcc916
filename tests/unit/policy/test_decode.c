/*
 * tests/unit/policy/test_decode.c: encoded content (decode.c, through
 * scan.c): a secret or a source map in base64, hex, percent-encoded or
 * UTF-16 text, a JS string or (a map) a JS object literal is found, in
 * every split of the file; ordinary encoded
 * data (images and fonts in CSS data URLs, hashes, short runs, prose)
 * gives nothing.  test_splits holds decode.c's block skipping (AVX2,
 * SSE2 or plain C, as built: meson builds this file three ways) to its
 * byte-at-a-time path: one-byte feeds never skip, so every other split
 * of generated text must give the same pieces, byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy-int.h"
#include "scan-int.h"

#define TOK	"sk_live_Zq81mNbVx02LkPwe93JdTy7u"

static struct pol_policy *pol;

struct found {
	char	 lines[4096];
	size_t	 n;
};

static void
collect(void *arg, const char *file, const struct pol_finding *f)
{
	struct found	*fo = arg;
	size_t		 used = strlen(fo->lines);

	snprintf(fo->lines + used, sizeof(fo->lines) - used, "%s %s %s\n",
	    f->rule, file, f->text);
	fo->n++;
}

/* scan() : the findings of one file fed in chunks of chunk bytes. */
static void
scan(const char *path, const unsigned char *buf, size_t len, size_t chunk,
    struct found *fo)
{
	const struct pol_rule	*r = pol_rule_find(pol, "x");
	struct pol_scan		*s;
	size_t			 off, n;

	memset(fo, 0, sizeof(*fo));
	assert_non_null(s = pol_scan_new(r, collect, fo));
	assert_int_equal(pol_scan_file_begin(s, path, len), 0);
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		assert_int_equal(pol_scan_file_data(s, buf + off, n), 0);
	}
	assert_int_equal(pol_scan_file_end(s), 0);
	pol_scan_free(s);
}

static const char b64tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
b64(const unsigned char *in, size_t n, char *out)
{
	size_t	 i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64tab[v >> 18];
		out[o++] = b64tab[(v >> 12) & 63];
		out[o++] = b64tab[(v >> 6) & 63];
		out[o++] = b64tab[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64tab[v >> 18];
		out[o++] = b64tab[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64tab[v >> 18];
		out[o++] = b64tab[(v >> 12) & 63];
		out[o++] = b64tab[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* Every split gives the same findings; returns them (whole-file run). */
static void
scan_all(const char *path, const unsigned char *buf, size_t len,
    struct found *fo)
{
	static const size_t chunks[] = { 1 << 20, 4096, 13, 1 };
	struct found	 g;
	size_t		 i;

	scan(path, buf, len, chunks[0], fo);
	for (i = 1; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		scan(path, buf, len, chunks[i], &g);
		assert_string_equal(g.lines, fo->lines);
	}
}

static void
test_true(void **state)
{
	static const char secret_js[] = "config = {key: \"" TOK "\"};\n";
	static const char map[] = "{\"version\":3,\"sources\":[\"../src/a.ts"
	    "\"],\"sourcesContent\":[\"const internal = 1;\"],\"mappings\":"
	    "\"AAAA\"}";
	char		 enc[2048], file[4096];
	unsigned char	 u16[512];
	struct found	 fo;
	size_t		 i, n;

	(void)state;
	/* base64 in a JS string */
	b64((const unsigned char *)secret_js, strlen(secret_js), enc);
	n = (size_t)snprintf(file, sizeof(file), "const a = Buffer.from('%s', "
	    "'base64');\n", enc);
	scan_all("lib/a.js", (unsigned char *)file, n, &fo);
	assert_non_null(strstr(fo.lines, "secret.stripe-live-key lib/a.js"));
	assert_non_null(strstr(fo.lines, "in base64 text at byte 23"));
	/* hex */
	n = (size_t)snprintf(file, sizeof(file), "const h = '");
	for (i = 0; secret_js[i] != '\0'; i++)
		n += (size_t)snprintf(file + n, sizeof(file) - n, "%02x",
		    (unsigned char)secret_js[i]);
	n += (size_t)snprintf(file + n, sizeof(file) - n, "';\n");
	scan_all("lib/h.js", (unsigned char *)file, n, &fo);
	assert_non_null(strstr(fo.lines, "secret.stripe-live-key lib/h.js"));
	assert_non_null(strstr(fo.lines, "in hex text"));
	/* percent-encoded map */
	n = (size_t)snprintf(file, sizeof(file), "var u = \"");
	for (i = 0; map[i] != '\0'; i++)
		n += (size_t)snprintf(file + n, sizeof(file) - n,
		    strchr("{}\":,[]/ ;", map[i]) ? "%%%02X" : "%c",
		    (unsigned char)map[i]);
	n += (size_t)snprintf(file + n, sizeof(file) - n, "\";\n");
	scan_all("lib/p.js", (unsigned char *)file, n, &fo);
	assert_non_null(strstr(fo.lines, "sourcemap.sources-content lib/p.js"));
	assert_non_null(strstr(fo.lines, "percent-encoded"));
	/* base64 map */
	b64((const unsigned char *)map, strlen(map), enc);
	n = (size_t)snprintf(file, sizeof(file), "var m = \"%s\";\n", enc);
	scan_all("lib/m.js", (unsigned char *)file, n, &fo);
	assert_non_null(strstr(fo.lines, "sourcemap.sources-content lib/m.js"));
	/* A map as JSON in a JS string, escaped and raw. */
	n = (size_t)snprintf(file, sizeof(file), "module.exports = JSON.parse("
	    "\"");
	for (i = 0; map[i] != '\0'; i++)
		n += (size_t)snprintf(file + n, sizeof(file) - n, "%s%c",
		    map[i] == '"' ? "\\" : "", map[i]);
	n += (size_t)snprintf(file + n, sizeof(file) - n, "\");\n");
	scan_all("lib/j.js", (unsigned char *)file, n, &fo);
	assert_non_null(strstr(fo.lines, "sourcemap.sources-content lib/j.js"));
	assert_non_null(strstr(fo.lines, "in JS string text"));
	n = (size_t)snprintf(file, sizeof(file), "x = JSON.parse('%s');\n",
	    map);
	scan_all("lib/k.js", (unsigned char *)file, n, &fo);
	assert_non_null(strstr(fo.lines, "sourcemap.sources-content lib/k.js"));
	/* UTF-16LE with and without a BOM, UTF-16BE with one */
	for (i = 0; secret_js[i] != '\0'; i++) {
		u16[2 + 2 * i] = (unsigned char)secret_js[i];
		u16[3 + 2 * i] = 0;
	}
	u16[0] = 0xff;
	u16[1] = 0xfe;
	n = 2 + 2 * strlen(secret_js);
	scan_all("notes.txt", u16, n, &fo);
	assert_non_null(strstr(fo.lines, "secret.stripe-live-key notes.txt"));
	assert_non_null(strstr(fo.lines, "UTF-16"));
	scan_all("notes.txt", u16 + 2, n - 2, &fo);
	assert_non_null(strstr(fo.lines, "UTF-16"));
	for (i = 0; secret_js[i] != '\0'; i++) {
		u16[2 + 2 * i] = 0;
		u16[3 + 2 * i] = (unsigned char)secret_js[i];
	}
	u16[0] = 0xfe;
	u16[1] = 0xff;
	scan_all("notes.txt", u16, n, &fo);
	assert_non_null(strstr(fo.lines, "UTF-16"));
}

/* Ordinary encoded data is not a finding. */
static void
test_lookalikes(void **state)
{
	unsigned char	 bin[3000], png[64];
	char		 enc[4100], file[8192];
	struct found	 fo;
	size_t		 i, n;
	uint32_t	 x = 12345;

	(void)state;
	/* A PNG and a woff2 font in CSS data URLs (random-looking bodies). */
	memcpy(png, "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
	for (i = 0; i < sizeof(bin); i++) {
		x = x * 1103515245u + 12345u;
		bin[i] = (unsigned char)(x >> 16);
	}
	memcpy(bin, png, 16);
	b64(bin, sizeof(bin), enc);
	n = (size_t)snprintf(file, sizeof(file), ".logo{background:url("
	    "data:image/png;base64,%s)}\n", enc);
	memcpy(bin, "wOF2", 4);
	b64(bin, 1500, enc);
	n += (size_t)snprintf(file + n, sizeof(file) - n, "@font-face{src:"
	    "url(data:font/woff2;base64,%s) format(\"woff2\")}\n", enc);
	scan_all("dist/style.css", (unsigned char *)file, n, &fo);
	assert_int_equal(fo.n, 0);
	/* Hashes: integrity strings, git SHAs, hex digests. */
	n = (size_t)snprintf(file, sizeof(file), "\"integrity\": \"sha512-"
	    "YtVwMp5RAEFa7SyRaKUpr9Escj/Xqx/yB6OiU5R6Y7PK2+Q1Wfe9a0lh0SGRQk3j"
	    "DuPy3uomR/6t2sn5gHQ1hA==\",\n\"sha\": \"62d570329e5100415aed2c9"
	    "168a529afd12c723fd7ab1ff207a3a253947a63b3cadbe43559f7bd6b4961d1"
	    "2191424de30ee3f2deea2647feaddac9f980743584\"\n");
	scan_all("package.json", (unsigned char *)file, n, &fo);
	assert_int_equal(fo.n, 0);
	/* A URL with a few escapes; prose; code. */
	n = (size_t)snprintf(file, sizeof(file), "see https://example.com/"
	    "search?q=a%%20b%%20c&x=%%2F and 100%% of the time\n"
	    "function camelCaseIdentifiersThatGoOnAndOnForeverAndEver() {}\n");
	scan_all("README.md", (unsigned char *)file, n, &fo);
	assert_int_equal(fo.n, 0);
	/* Binary that is not UTF-16: zeros but not every other byte. */
	memset(bin, 0, 200);
	for (i = 0; i < 200; i += 3)
		bin[i] = 'a';
	scan_all("data.bin", bin, 200, &fo);
	assert_int_equal(fo.n, 0);
	/* JSON in strings that is not a map; format strings. */
	n = (size_t)snprintf(file, sizeof(file), "a = '{\"name\":\"x\","
	    "\"version\":\"1.0.0\",\"sources\":[]}'; b = \"{0} of {1}\";\n"
	    "c = JSON.parse(\"{\\\"version\\\":3,\\\"mappings\\\":\\\"\\\","
	    "\\\"sources\\\":[]}\");\n");
	scan_all("lib/cfg.js", (unsigned char *)file, n, &fo);
	assert_int_equal(fo.n, 0);
	/* A base64 secret that is too short to be looked at (under 40). */
	n = (size_t)snprintf(file, sizeof(file), "x = 'c2tfbGl2ZV8=';\n");
	scan_all("a.js", (unsigned char *)file, n, &fo);
	assert_int_equal(fo.n, 0);
}

/* count() : how many lines of fo hold needle. */
static int
count(const struct found *fo, const char *needle)
{
	const char	*p = fo->lines;
	int		 n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* A source map held in a JS object literal is found as a map is. */
static void
test_objects(void **state)
{
	static const struct {
		const char	*path, *text;
	} maps[] = {
		/* unquoted keys, '-strings */
		{ "lib/o.js", "var map = {version: 3, sources: ['../src/a.ts'], "
		    "sourcesContent: ['const internal = 1;'], mappings: 'AAAA'};"
		    "\n" },
		/* quoted keys, as JSON.stringify writes it */
		{ "lib/q.js", "module.exports = {\"version\":3,\"sources\":[\"../"
		    "src/a.ts\"],\"sourcesContent\":[\"x\"],\"mappings\":\"AAAA\""
		    "};\n" },
		/* '-quoted keys, blanks around the colon */
		{ "lib/s.js", "f({ 'version' : 3, 'sources': [\"a.ts\"], "
		    "'sourcesContent': [\"let a\"], 'mappings': \"AAAA\" })\n" },
		/* istanbul's inputSourceMap: nested, comments, a template,
		   trailing commas, escapes, other values */
		{ "dist/cov.js", "var cov = {\n  path: \"/src/a.ts\",\n  hash: "
		    "-1.5e+3,\n  inputSourceMap: {\n    version: 3,\n    // map\n"
		    "    file: 'a.js', ok: true, no: null,\n    sources: [\"a.ts\","
		    "],\n    sourcesContent: [`export const a = 1;\nconst b = "
		    "\"x\" + '\\'';`],\n    names: [],\n    mappings: \"AAAA,CAAC\","
		    " /* end */\n  },\n};\n" },
		/* a map nested in a JSON file */
		{ "coverage/out.json", "{\"a.ts\": {\"path\": \"a.ts\", "
		    "\"inputSourceMap\": {\"version\":3,\"sources\":[\"a.ts\"],"
		    "\"sourcesContent\":[\"x\"],\"mappings\":\"AAAA\"}}}\n" },
	};
	static const char *const not_maps[] = {
		/* a version 3 without a map's members */
		"var pkg = {version: 3, name: 'x', sources: ['a']};\n",
		/* a webpack config */
		"module.exports = {version: 3, entry: './src/index.js', "
		"output: {path: __dirname + '/dist', filename: 'bundle.js'}, "
		"devtool: 'source-map', module: {rules: [{test: /\\.js$/, "
		"use: 'babel-loader'}]}};\n",
		/* code that builds a map from its parts (gen-mapping) */
		"const map = {version: 3, file, names, sourceRoot, sources, "
		"sourcesContent, mappings};\n"
		"return {version: 3, sources: s, sourcesContent: c, "
		"mappings: encode(m)};\n",
		/* an empty map, as tools embed in their own code */
		"var e = {version: 3, sources: [], names: [], mappings: ''};\n",
		/* the sources are code, not text */
		"x = {version: 3, sources: ['a'], sourcesContent: [`${code}`], "
		"mappings: 'AAAA'};\n",
		/* a map without sources in code (next.js's dummy map), an
		   example in a README: code, not a map file */
		"return {version: 3, ignoreList: [0], mappings: 'AAAA', "
		"sources: [url.toString()], sourcesContent: ['' + s]};\n"
		"```json\n{\n  \"version\": 3,\n  \"file\": \"a.js\",\n  "
		"\"sources\": [\"a.ts\"],\n  \"mappings\": \";;AAAA\"\n}\n```\n",
		/* a version that is not the key's: myversion, a string */
		"y = {myversion: 3, sources: ['a'], sourcesContent: ['b'], "
		"mappings: 'AAAA'};\nz = \"version: 3\";\n",
	};
	struct found	 fo;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		scan_all(maps[i].path, (const unsigned char *)maps[i].text,
		    strlen(maps[i].text), &fo);
		if (strstr(fo.lines, "sourcemap.sources-content") == NULL ||
		    strstr(fo.lines, "in JS object text") == NULL)
			fail_msg("map %zu not found: %s", i, fo.lines);
	}
	for (i = 0; i < sizeof(not_maps) / sizeof(not_maps[0]); i++) {
		scan_all("lib/n.js", (const unsigned char *)not_maps[i],
		    strlen(not_maps[i]), &fo);
		if (fo.n != 0)
			fail_msg("look-alike %zu found: %s", i, fo.lines);
	}
	/* Where the piece starts: the '{' of the literal. */
	scan_all(maps[0].path, (const unsigned char *)maps[0].text,
	    strlen(maps[0].text), &fo);
	assert_non_null(strstr(fo.lines, "in JS object text at byte 10"));
	/* A map file, or a map in a '{' string: judged once, as before. */
	scan_all("dist/a.js.map", (const unsigned char *)maps[1].text + 17,
	    strlen(maps[1].text) - 19, &fo);
	assert_int_equal(count(&fo, "sourcemap.sources-content"), 1);
	assert_int_equal(count(&fo, "JS object"), 0);
	{
		char	 file[512];
		size_t	 n;

		n = (size_t)snprintf(file, sizeof(file), "x = JSON.parse('%.*s"
		    "');\n", (int)strlen(maps[1].text) - 19, maps[1].text + 17);
		scan_all("lib/k.js", (unsigned char *)file, n, &fo);
		assert_int_equal(count(&fo, "sourcemap.sources-content"), 1);
		assert_true(count(&fo, "JS string") > 0);
		assert_int_equal(count(&fo, "JS object"), 0);
	}
}

/* ------------------------------------------------------------ splits */
struct pieces {
	unsigned char	*p[POL_DEC_KINDS];
	size_t		 n[POL_DEC_KINDS], cap[POL_DEC_KINDS];
	int		 open[POL_DEC_KINDS];
	size_t		 count;
};

static void
pc_add(struct pieces *pc, int kind, const void *p, size_t n)
{
	if (pc->n[kind] + n > pc->cap[kind]) {
		pc->cap[kind] = (pc->n[kind] + n) * 2;
		assert_non_null(pc->p[kind] = realloc(pc->p[kind],
		    pc->cap[kind]));
	}
	memcpy(pc->p[kind] + pc->n[kind], p, n);
	pc->n[kind] += n;
}

/* on_piece() : each kind's pieces as "<offset:" bytes ">". */
static int
on_piece(void *arg, int kind, enum pol_dec_ev ev, const unsigned char *p,
    size_t len, uint64_t at)
{
	struct pieces	*pc = arg;
	char		 b[32];

	switch (ev) {
	case POL_DEC_BEGIN:
		assert_false(pc->open[kind]);
		pc->open[kind] = 1;
		pc->count++;
		pc_add(pc, kind, b, (size_t)snprintf(b, sizeof(b), "<%llu:",
		    (unsigned long long)at));
		break;
	case POL_DEC_DATA:
		assert_true(pc->open[kind] && len > 0);
		pc_add(pc, kind, p, len);
		break;
	case POL_DEC_END:
		assert_true(pc->open[kind]);
		pc->open[kind] = 0;
		pc_add(pc, kind, ">", 1);
		break;
	}
	return 0;
}

static uint32_t
rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* feed() : buf through a decoder in pieces: mode 0 whole, 1 a byte at a
   time, else random sizes up to mode bytes (each a copy of its own, so
   ASan sees a read past it). */
static void
feed(const unsigned char *buf, size_t len, size_t mode, uint32_t seed,
    struct pieces *pc)
{
	struct pol_dec	*d;
	unsigned char	*c;
	size_t		 off, n;

	memset(pc, 0, sizeof(*pc));
	assert_non_null(d = pol_dec_new(on_piece, pc));
	pol_dec_objects(d, 1);
	pol_dec_begin(d);
	for (off = 0; off < len; off += n) {
		n = mode == 0 ? len : mode == 1 ? 1 : 1 + rnd(&seed) % mode;
		if (n > len - off)
			n = len - off;
		assert_non_null(c = malloc(n));
		memcpy(c, buf + off, n);
		assert_int_equal(pol_dec_data(d, c, n), 0);
		free(c);
	}
	assert_int_equal(pol_dec_end(d), 0);
	pol_dec_free(d);
}

static void
test_splits(void **state)
{
	static const char *const frag[] = {
		"sourceMappingURL=", "//# sourceMappingURL=data:application/"
		"json;base64,", "\n", "\"", "'", "`", "{", "}", "\\",
		"\\\"", "\\u0041", "\\u00e9", "\\uZZ", "%", "%41",
		"%2F%2f", "%zz", "+", "/", "=", "==", "L=", "URL=", " ", ";",
		",", "\r", "\t", "function ", "addEventListener",
		"JSON.parse(\"{\\\"version\\\":3,",
		"c2tfbGl2ZV9acTgxbU5iVngwMkxrUHdlOTNKZFR5N3U=",
		"%7B%22a%22%3A%22b%22%7D%0A", "deadbeefDEADBEEF0123456789",
		"{version: 3, ", "{\"version\":3,", "{ 'version' : 3", ":3",
		": 3", " 3", "3", "sources: ['a'], ", "sourcesContent: [`x`],",
		"mappings: \"AAAA\"}", "// c\n", "/* c */", "${", "[", "]",
		"true", "null", "x(", "-1.5e+3",
	};
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
	    "nopqrstuvwxyz0123456789+/0123456789abcdef";
	static const size_t modes[] = { 1, 0, 7, 100, 5000 };
	struct pieces	 ref, got;
	unsigned char	*buf;
	uint32_t	 x = 2463534242u;
	size_t		 doc, len, cap, n, m, k, kind, total = 0;

	(void)state;
	assert_non_null(buf = malloc(20000 + 128));
	for (doc = 0; doc < 300; doc++) {
		cap = 1 + rnd(&x) % (doc % 10 == 0 ? 20000 : 3000);
		for (len = 0; len < cap;) {
			k = rnd(&x) % 10;
			if (k < 6) {
				const char *f = frag[rnd(&x) %
				    (sizeof(frag) / sizeof(frag[0]))];

				n = strlen(f);
				memcpy(buf + len, f, n);
				len += n;
			} else if (k < 9) {
				/* a run of base64 (or hex) characters */
				for (n = rnd(&x) % 90; n > 0 && len < cap; n--)
					buf[len++] = (unsigned char)alpha[rnd(&x)
					    % (k < 8 ? 64 : 16) + (k < 8 ? 0 :
					    64)];
			} else
				buf[len++] = (unsigned char)rnd(&x);
		}
		if (doc % 25 == 0) {
			buf[0] = 0xff;	/* UTF-16LE */
			buf[1] = 0xfe;
		}
		feed(buf, len, modes[0], 0, &ref);
		total += ref.count;
		for (m = 1; m < sizeof(modes) / sizeof(modes[0]); m++) {
			feed(buf, len, modes[m], (uint32_t)doc + 1, &got);
			for (kind = 0; kind < POL_DEC_KINDS; kind++) {
				assert_int_equal(got.n[kind], ref.n[kind]);
				if (ref.n[kind] > 0)
					assert_memory_equal(got.p[kind],
					    ref.p[kind], ref.n[kind]);
				free(got.p[kind]);
			}
		}
		for (kind = 0; kind < POL_DEC_KINDS; kind++)
			free(ref.p[kind]);
	}
	free(buf);
	/* The text did open pieces of every kind, not just none. */
	assert_true(total > 1000);
}

static int
setup(void **state)
{
	static const char doc[] = "version: 1\nrules:\n  - match: \"*\"\n"
	    "    publish: allow\n";
	struct pol_errors	 errs;

	(void)state;
	pol = pol_load_buf("decode.yaml", doc, sizeof(doc) - 1, &errs);
	return pol == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	pol_policy_unref(pol);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_true),
		cmocka_unit_test(test_lookalikes),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_splits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
