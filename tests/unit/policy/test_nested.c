/*
 * tests/unit/policy/test_nested.c: archives inside a package (nested.c,
 * zip.c) through the whole pipeline, and the gzip header's text fields.
 *
 * Packages are built here (ustar writer, zlib for gzip and raw deflate,
 * a zip writer that can use data descriptors or set odd flags) and
 * judged as bare .tgz under a small policy, whole and in 1-, 7- and
 * 4096-byte chunks (the verdict and reasons must not depend on the
 * split), with the package name given and without it (the rule is then
 * known only at the end and the facts are replayed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "policy-int.h"

#define TOKEN	"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"	/* CRC valid */

/* ------------------------------------------------------------ buffers */

struct buf {
	unsigned char	*p;
	size_t		 len, cap;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 1024;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put_zero(struct buf *b, size_t n)
{
	unsigned char z[512] = { 0 };

	while (n > 0) {
		size_t k = n < sizeof(z) ? n : sizeof(z);

		put(b, z, k);
		n -= k;
	}
}

static void
put16(struct buf *b, unsigned v)
{
	unsigned char x[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	put(b, x, 2);
}

static void
put32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8),
	    (unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	put(b, x, 4);
}

/* ----------------------------------------------------------------- tar */

static void
tar_add(struct buf *b, const char *name, char type, const void *data,
    size_t n)
{
	unsigned char	 h[512];
	unsigned	 sum = 0;
	size_t		 i;

	memset(h, 0, sizeof(h));
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", type == '0' ? n : 0);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (unsigned char)type;
	if (type == '2')
		snprintf((char *)h + 157, 100, "%s", (const char *)data);
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	put(b, h, 512);
	if (type == '0') {
		put(b, data, n);
		put_zero(b, (512 - n % 512) % 512);
	}
}

static void
tar_end(struct buf *b)
{
	put_zero(b, 1024);
}

/* ---------------------------------------------------------------- gzip */

/* gz() : gzip of in; name/comment in the header when not NULL. */
static struct buf
gz(const void *in, size_t n, const char *name, const char *comment)
{
	struct buf	 out = { 0 };
	z_stream	 z;
	gz_header	 h;
	unsigned char	 chunk[16384];
	int		 rc;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	memset(&h, 0, sizeof(h));
	h.os = 3;
	h.name = (Bytef *)(uintptr_t)name;
	h.comment = (Bytef *)(uintptr_t)comment;
	assert_int_equal(deflateSetHeader(&z, &h), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		put(&out, chunk, sizeof(chunk) - z.avail_out);
	} while (rc == Z_OK);
	assert_int_equal(rc, Z_STREAM_END);
	deflateEnd(&z);
	return out;
}

static struct buf
deflate_raw(const void *in, size_t n)
{
	struct buf	 out = { 0 };
	z_stream	 z;
	unsigned char	 chunk[16384];
	int		 rc;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = deflate(&z, Z_FINISH);
		put(&out, chunk, sizeof(chunk) - z.avail_out);
	} while (rc == Z_OK);
	assert_int_equal(rc, Z_STREAM_END);
	deflateEnd(&z);
	return out;
}

/* ----------------------------------------------------------------- zip */

#define ZO_DESC		0x01	/* sizes in a data descriptor */
#define ZO_DESC_NOSIG	0x02	/* ... without its signature */
#define ZO_ENCRYPTED	0x04	/* flag bit 0 */
#define ZO_STORED	0x08	/* method 0 */
#define ZO_ZIP64	0x10	/* a zip64 extra field */
#define ZO_CD_NAME	0x20	/* the central directory names another file */
#define ZO_TRAIL	0x40	/* bytes after the end record */
#define ZO_LINK		0x80	/* a Unix symlink in the central directory */

struct zent {
	const char	*name;
	const void	*data;
	size_t		 n;
};

static struct buf
zip(const struct zent *e, size_t ne, unsigned opt)
{
	struct buf	 out = { 0 }, cd = { 0 };
	uint32_t	 offs[16], crcs[16], cs[16];
	unsigned	 flags = 0, method = (opt & ZO_STORED) ? 0 : 8;
	size_t		 i;
	struct buf	 d;

	assert_true(ne <= 16);
	if (opt & ZO_DESC)
		flags |= 0x08;
	if (opt & ZO_ENCRYPTED)
		flags |= 0x01;
	for (i = 0; i < ne; i++) {
		offs[i] = (uint32_t)out.len;
		crcs[i] = (uint32_t)crc32(0, e[i].data, (uInt)e[i].n);
		if (method == 8)
			d = deflate_raw(e[i].data, e[i].n);
		else {
			memset(&d, 0, sizeof(d));
			put(&d, e[i].data, e[i].n);
		}
		cs[i] = (uint32_t)d.len;
		put32(&out, 0x04034b50);
		put16(&out, 20);
		put16(&out, flags);
		put16(&out, method);
		put16(&out, 0);
		put16(&out, 0x21);
		put32(&out, (opt & ZO_DESC) ? 0 : crcs[i]);
		put32(&out, (opt & ZO_DESC) ? 0 : cs[i]);
		put32(&out, (opt & ZO_DESC) ? 0 : (uint32_t)e[i].n);
		put16(&out, (unsigned)strlen(e[i].name));
		put16(&out, (opt & ZO_ZIP64) ? 20 : 0);
		put(&out, e[i].name, strlen(e[i].name));
		if (opt & ZO_ZIP64) {
			put16(&out, 1);
			put16(&out, 16);
			put_zero(&out, 16);
		}
		put(&out, d.p, d.len);
		free(d.p);
		if (opt & ZO_DESC) {
			if (!(opt & ZO_DESC_NOSIG))
				put32(&out, 0x08074b50);
			put32(&out, crcs[i]);
			put32(&out, cs[i]);
			put32(&out, (uint32_t)e[i].n);
		}
	}
	for (i = 0; i < ne; i++) {
		const char *nm = (opt & ZO_CD_NAME) ? "other.txt" : e[i].name;

		put32(&cd, 0x02014b50);
		put16(&cd, (opt & ZO_LINK) ? 0x031e : 20);
		put16(&cd, 20);
		put16(&cd, flags);
		put16(&cd, method);
		put16(&cd, 0);
		put16(&cd, 0x21);
		put32(&cd, crcs[i]);
		put32(&cd, cs[i]);
		put32(&cd, (uint32_t)e[i].n);
		put16(&cd, (unsigned)strlen(nm));
		put16(&cd, 0);
		put16(&cd, 0);
		put16(&cd, 0);
		put16(&cd, 0);
		put32(&cd, (opt & ZO_LINK) ? 0120777u << 16 : 0100644u << 16);
		put32(&cd, offs[i]);
		put(&cd, nm, strlen(nm));
	}
	{
		uint32_t cdoff = (uint32_t)out.len;

		put(&out, cd.p, cd.len);
		put32(&out, 0x06054b50);
		put16(&out, 0);
		put16(&out, 0);
		put16(&out, (unsigned)ne);
		put16(&out, (unsigned)ne);
		put32(&out, (uint32_t)cd.len);
		put32(&out, cdoff);
		put16(&out, 0);
	}
	if (opt & ZO_TRAIL)
		put(&out, "junk", 4);
	free(cd.p);
	return out;
}

/* ------------------------------------------------------------- package */

/* pkg() : the .tgz of package.json plus one file at path with data. */
static struct buf
pkg(const char *path, const void *data, size_t n)
{
	struct buf	 t = { 0 }, out;
	const char	*pj = "{\"name\":\"@acme/x\",\"version\":\"1.0.0\"}";
	char		 full[512];

	tar_add(&t, "package/package.json", '0', pj, strlen(pj));
	tar_add(&t, "package/dist/index.js", '0', "x\n", 2);
	snprintf(full, sizeof(full), "package/%s", path);
	tar_add(&t, full, '0', data, n);
	tar_end(&t);
	out = gz(t.p, t.len, NULL, NULL);
	free(t.p);
	return out;
}

static struct pol_policy *
policy(const char *archives, const char *limits)
{
	char			 doc[2048];
	struct pol_errors	 errs;
	struct pol_policy	*p;

	snprintf(doc, sizeof(doc),
	    "version: 1\n"
	    "rules:\n"
	    "  - match: \"@acme/*\"\n"
	    "    publish: allow\n"
	    "    files:\n"
	    "      allow: [\"package.json\", \"dist/**\"]\n"
	    "      deny: [\"**/*.pem\", \"src/**\"]\n"
	    "%s%s%s",
	    archives ? "    archives: " : "", archives ? archives : "",
	    archives ? "\n" : "");
	if (limits != NULL)
		snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc),
		    "    limits: %s\n", limits);
	p = pol_load_buf("test.yaml", doc, strlen(doc), &errs);
	if (p == NULL) {
		char line[400];

		print_error("%s\n", pol_errors_format(&errs, 0, line,
		    sizeof(line)));
	}
	assert_non_null(p);
	return p;
}

/* One run: the reasons as "rule file" lines. */
static char *
run(struct pol_policy *p, const struct buf *tgz, size_t chunk,
    const char *name, enum pol_verdict *v)
{
	struct pol_stream_opts	 o = { POL_INPUT_TGZ, name, NULL, NULL, 0, NULL, NULL };
	struct pol_stream	*s;
	const struct pol_report	*r;
	size_t			 off, n, i, used = 0, cap = 16384;
	char			*out;

	s = pol_publish_new(p, &o);
	assert_non_null(s);
	for (off = 0; off < tgz->len; off += n) {
		n = tgz->len - off < chunk ? tgz->len - off : chunk;
		if (pol_publish_feed(s, tgz->p + off, n) != POL_CONTINUE)
			break;
	}
	*v = pol_publish_end(s, &r);
	out = calloc(1, cap);
	assert_non_null(out);
	for (i = 0; i < r->nreasons; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s %s\n",
		    r->reasons[i].rule, r->reasons[i].file);
	pol_publish_free(s);
	return out;
}

/*
 * judge() : judges tgz under p in every split, with and without the
 * name; all runs must agree.  Returns the reasons (caller frees).
 */
static char *
judge(struct pol_policy *p, const struct buf *tgz, enum pol_verdict *v)
{
	static const size_t	 chunks[] = { 1, 7, 4096, (size_t)-1 };
	char			*first = NULL, *got;
	enum pol_verdict	 fv = POL_ALLOW, gv;
	size_t			 i;
	int			 named;

	for (named = 1; named >= 0; named--) {
		for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
			got = run(p, tgz, chunks[i], named ? "@acme/x" : NULL,
			    &gv);
			if (first == NULL) {
				first = got;
				fv = gv;
				continue;
			}
			if (strcmp(first, got) != 0 || fv != gv)
				fail_msg("split %zu named %d:\n%s\nvs\n%s",
				    chunks[i], named, got, first);
			free(got);
		}
	}
	*v = fv;
	return first;
}

static void
expect(struct pol_policy *p, const struct buf *tgz, enum pol_verdict want,
    const char *want_line)
{
	enum pol_verdict	 v;
	char			*got = judge(p, tgz, &v);

	if (v != want || (want_line != NULL && strstr(got, want_line) == NULL))
		fail_msg("want %s with \"%s\", got %s:\n%s",
		    want == POL_ALLOW ? "allow" : "deny",
		    want_line ? want_line : "", v == POL_ALLOW ? "allow" :
		    "deny", got);
	if (want == POL_ALLOW && got[0] != '\0')
		fail_msg("allowed with reasons:\n%s", got);
	free(got);
}

static const char secret_env[] = "# settings\nGITHUB_TOKEN=" TOKEN "\n";
static const char clean[] = "module.exports = 42;\n";

/* ------------------------------------------------------------- tests */

static void
test_tgz(void **state)
{
	struct pol_policy	*p = policy(NULL, NULL);
	struct buf		 t = { 0 }, g, pk;

	(void)state;
	tar_add(&t, "package/settings.env", '0', secret_env,
	    strlen(secret_env));
	tar_end(&t);
	g = gz(t.p, t.len, NULL, NULL);
	pk = pkg("dist/vendor.tgz", g.p, g.len);
	expect(p, &pk, POL_DENY,
	    "secret.github-token dist/vendor.tgz!package/settings.env");
	free(pk.p);
	/* The same archive, clean: allowed. */
	free(t.p);
	memset(&t, 0, sizeof(t));
	tar_add(&t, "package/index.js", '0', clean, strlen(clean));
	tar_add(&t, "package/lib", '5', NULL, 0);
	tar_end(&t);
	free(g.p);
	g = gz(t.p, t.len, "fixture.tar", NULL);
	pk = pkg("test/fixture.tgz", g.p, g.len);
	expect(p, &pk, POL_DENY, "files.allow test/fixture.tgz");
	free(pk.p);
	pk = pkg("dist/fixture.tgz", g.p, g.len);
	expect(p, &pk, POL_ALLOW, NULL);
	free(pk.p);
	/* An inner file the deny globs name, by its path in the archive. */
	free(t.p);
	memset(&t, 0, sizeof(t));
	tar_add(&t, "src/index.ts", '0', clean, strlen(clean));
	tar_add(&t, "keys/server.pem", '0', clean, strlen(clean));
	tar_end(&t);
	free(g.p);
	g = gz(t.p, t.len, NULL, NULL);
	pk = pkg("dist/src.tgz", g.p, g.len);
	expect(p, &pk, POL_DENY, "files.deny dist/src.tgz!src/index.ts");
	expect(p, &pk, POL_DENY, "files.deny dist/src.tgz!keys/server.pem");
	free(pk.p);
	free(g.p);
	free(t.p);
	pol_policy_unref(p);
}

static void
test_tar_and_gz(void **state)
{
	struct pol_policy	*p = policy(NULL, NULL);
	struct buf		 t = { 0 }, g, pk;

	(void)state;
	/* A plain tar, named .bin: found by its ustar magic. */
	tar_add(&t, "a/b.env", '0', secret_env, strlen(secret_env));
	tar_end(&t);
	pk = pkg("dist/data.bin", t.p, t.len);
	expect(p, &pk, POL_DENY, "secret.env-assignment dist/data.bin!a/b.env");
	free(pk.p);
	/* A bare gzip of one file, named after it without .gz. */
	g = gz(secret_env, strlen(secret_env), NULL, NULL);
	pk = pkg("dist/conf.env.gz", g.p, g.len);
	expect(p, &pk, POL_DENY,
	    "secret.github-token dist/conf.env.gz!conf.env");
	free(pk.p);
	free(g.p);
	/* A symlink and a ".." path inside a tar. */
	free(t.p);
	memset(&t, 0, sizeof(t));
	tar_add(&t, "a/link", '2', "/etc/passwd", 0);
	tar_add(&t, "a/../../x.js", '0', clean, strlen(clean));
	tar_end(&t);
	pk = pkg("dist/l.tar", t.p, t.len);
	expect(p, &pk, POL_DENY, "paths.link dist/l.tar!a/link");
	expect(p, &pk, POL_DENY, "paths.traversal dist/l.tar!a/../../x.js");
	free(pk.p);
	free(t.p);
	pol_policy_unref(p);
}

static void
test_zip(void **state)
{
	struct pol_policy	*p = policy(NULL, NULL);
	struct zent		 e[2] = {
		{ "index.js", clean, sizeof(clean) - 1 },
		{ "vendor/settings.env", secret_env, sizeof(secret_env) - 1 },
	};
	struct buf		 z, pk;
	static const unsigned	 ok[] = { 0, ZO_STORED, ZO_DESC,
	    ZO_DESC | ZO_DESC_NOSIG };
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		z = zip(e, 1, ok[i]);
		pk = pkg("dist/a.zip", z.p, z.len);
		expect(p, &pk, POL_ALLOW, NULL);
		free(pk.p);
		free(z.p);
		z = zip(e, 2, ok[i]);
		pk = pkg("dist/a.zip", z.p, z.len);
		expect(p, &pk, POL_DENY,
		    "secret.github-token dist/a.zip!vendor/settings.env");
		free(pk.p);
		free(z.p);
	}
	/* A root .env.local in a zip: the env detectors know it by name. */
	{
		struct zent n = { ".env.local", secret_env,
		    sizeof(secret_env) - 1 };

		z = zip(&n, 1, 0);
		pk = pkg("dist/a.zip", z.p, z.len);
		expect(p, &pk, POL_DENY,
		    "secret.env-assignment dist/a.zip!.env.local");
		free(pk.p);
		free(z.p);
	}
	/* An empty zip (only the end record) is a zip with nothing in it. */
	z = zip(e, 0, 0);
	pk = pkg("dist/empty.zip", z.p, z.len);
	expect(p, &pk, POL_ALLOW, NULL);
	free(pk.p);
	free(z.p);
	pol_policy_unref(p);
}

static void
test_zip_unjudgeable(void **state)
{
	struct pol_policy	*p = policy(NULL, NULL);
	struct zent		 e[1] = { { "index.js", clean, sizeof(clean) - 1 } };
	static const unsigned	 bad[] = { ZO_ENCRYPTED, ZO_STORED | ZO_DESC,
	    ZO_ZIP64, ZO_CD_NAME, ZO_TRAIL };
	struct buf		 z, pk;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		z = zip(e, 1, bad[i]);
		pk = pkg("dist/a.zip", z.p, z.len);
		expect(p, &pk, POL_DENY, "archive.nested dist/a.zip");
		free(pk.p);
		free(z.p);
	}
	/* A symlink in the central directory. */
	z = zip(e, 1, ZO_LINK);
	pk = pkg("dist/a.zip", z.p, z.len);
	expect(p, &pk, POL_DENY, "paths.link dist/a.zip!index.js");
	free(pk.p);
	free(z.p);
	/* Named like an archive, but it is not one; truncated; corrupt. */
	pk = pkg("dist/a.zip", "just text\n", 10);
	expect(p, &pk, POL_DENY, "archive.nested dist/a.zip");
	free(pk.p);
	z = zip(e, 1, 0);
	pk = pkg("dist/b.zip", z.p, z.len - 10);
	expect(p, &pk, POL_DENY, "archive.nested dist/b.zip");
	free(pk.p);
	z.p[40] ^= 0xff;
	pk = pkg("dist/b.zip", z.p, z.len);
	expect(p, &pk, POL_DENY, "archive.nested dist/b.zip");
	free(pk.p);
	free(z.p);
	pol_policy_unref(p);
}

static void
test_depth(void **state)
{
	struct pol_policy	*p = policy(NULL, NULL);
	struct buf		 t1 = { 0 }, t2 = { 0 }, g1, g2, z, pk;
	struct zent		 e;

	(void)state;
	/* depth 1: a.zip; depth 2: b.tgz in it; its settings.env judged */
	tar_add(&t1, "package/settings.env", '0', secret_env,
	    strlen(secret_env));
	tar_end(&t1);
	g1 = gz(t1.p, t1.len, NULL, NULL);
	e.name = "b.tgz";
	e.data = g1.p;
	e.n = g1.len;
	z = zip(&e, 1, 0);
	pk = pkg("dist/a.zip", z.p, z.len);
	expect(p, &pk, POL_DENY,
	    "secret.github-token dist/a.zip!b.tgz!package/settings.env");
	free(pk.p);
	/* depth 3: c.tar.gz holding a.zip: refused as too deep. */
	tar_add(&t2, "a.zip", '0', z.p, z.len);
	tar_end(&t2);
	g2 = gz(t2.p, t2.len, NULL, NULL);
	pk = pkg("dist/c.tar.gz", g2.p, g2.len);
	expect(p, &pk, POL_DENY, "archive.nested dist/c.tar.gz!a.zip!b.tgz");
	free(pk.p);
	free(t1.p);
	free(t2.p);
	free(g1.p);
	free(g2.p);
	free(z.p);
	pol_policy_unref(p);
}

static void
test_bombs(void **state)
{
	struct pol_policy	*p = policy(NULL, "{ ratio: 50, unpacked: 8MB }");
	size_t			 n = 6u << 20;
	unsigned char		*zeros = calloc(1, n);
	struct buf		 g, pk, z;
	struct zent		 e;
	enum pol_verdict	 v;
	char			*got;

	(void)state;
	assert_non_null(zeros);
	/* A gzip of 6 MiB of zeros: ~1000:1. */
	g = gz(zeros, n, NULL, NULL);
	pk = pkg("dist/bomb.gz", g.p, g.len);
	got = run(p, &pk, 4096, "@acme/x", &v);
	assert_int_equal(v, POL_DENY);
	assert_non_null(strstr(got, "limits.ratio dist/bomb.gz"));
	free(got);
	free(pk.p);
	/* The same as a zip entry. */
	e.name = "zeros.bin";
	e.data = zeros;
	e.n = n;
	z = zip(&e, 1, ZO_DESC);
	pk = pkg("dist/bomb.zip", z.p, z.len);
	got = run(p, &pk, 4096, NULL, &v);
	assert_int_equal(v, POL_DENY);
	assert_non_null(strstr(got, "limits.ratio dist/bomb.zip"));
	free(got);
	free(pk.p);
	free(z.p);
	free(g.p);
	pol_policy_unref(p);
	/* Under a ratio that lets it through, the unpacked total stops it. */
	p = policy(NULL, "{ ratio: 10000, unpacked: 4MB }");
	g = gz(zeros, n, NULL, NULL);
	pk = pkg("dist/big.gz", g.p, g.len);
	got = run(p, &pk, 4096, "@acme/x", &v);
	assert_int_equal(v, POL_DENY);
	assert_non_null(strstr(got, "limits.unpacked"));
	free(got);
	free(pk.p);
	free(g.p);
	pol_policy_unref(p);
	free(zeros);
}

static void
test_gzip_header(void **state)
{
	struct pol_policy	*p = policy(NULL, NULL);
	struct buf		 t = { 0 }, g, pk;
	const char		*pj = "{\"name\":\"@acme/x\",\"version\":\"1.0.0\"}";

	(void)state;
	/* The package tarball's own header: name and comment. */
	tar_add(&t, "package/package.json", '0', pj, strlen(pj));
	tar_end(&t);
	g = gz(t.p, t.len, "x-" TOKEN ".tar", NULL);
	expect(p, &g, POL_DENY, "secret.github-token (gzip name)");
	free(g.p);
	g = gz(t.p, t.len, NULL, "GITHUB_TOKEN=" TOKEN);
	expect(p, &g, POL_DENY, "secret.github-token (gzip comment)");
	free(g.p);
	/* An inner gzip's comment. */
	g = gz(clean, strlen(clean), "a.js", "token " TOKEN);
	pk = pkg("dist/a.js.gz", g.p, g.len);
	expect(p, &pk, POL_DENY,
	    "secret.github-token dist/a.js.gz!(gzip comment)");
	free(pk.p);
	free(g.p);
	free(t.p);
	pol_policy_unref(p);
}

static void
test_modes(void **state)
{
	struct pol_policy	*judge_p = policy("judge", NULL);
	struct pol_policy	*block_p = policy("block", NULL);
	struct pol_policy	*allow_p = policy("allow", NULL);
	struct zent		 e = { "vendor/settings.env", secret_env,
	    sizeof(secret_env) - 1 };
	struct zent		 c = { "index.js", clean, sizeof(clean) - 1 };
	struct buf		 z, pk;

	(void)state;
	z = zip(&e, 1, 0);
	pk = pkg("dist/a.zip", z.p, z.len);
	expect(judge_p, &pk, POL_DENY, "secret.github-token dist/a.zip!");
	expect(block_p, &pk, POL_DENY, "archive.nested dist/a.zip");
	/* allow: the archive is an opaque file (deflated: nothing seen). */
	expect(allow_p, &pk, POL_ALLOW, NULL);
	free(pk.p);
	free(z.p);
	z = zip(&c, 1, ZO_ENCRYPTED);
	pk = pkg("dist/a.zip", z.p, z.len);
	expect(allow_p, &pk, POL_ALLOW, NULL);
	expect(judge_p, &pk, POL_DENY, "archive.nested dist/a.zip");
	free(pk.p);
	free(z.p);
	z = zip(&c, 1, 0);
	pk = pkg("dist/a.zip", z.p, z.len);
	expect(block_p, &pk, POL_DENY, "archive.nested dist/a.zip");
	expect(judge_p, &pk, POL_ALLOW, NULL);
	free(pk.p);
	free(z.p);
	pol_policy_unref(judge_p);
	pol_policy_unref(block_p);
	pol_policy_unref(allow_p);
}

static void
test_load(void **state)
{
	const char		*doc = "version: 1\nrules:\n  - match: x\n"
	    "    archives: open\n";
	struct pol_errors	 errs;

	(void)state;
	assert_null(pol_load_buf("t.yaml", doc, strlen(doc), &errs));
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.e[0].msg, "judge, block or allow"));
}

/* The zip reader alone: entries and their data, in any split. */
struct zrec {
	char	 log[1024];
	size_t	 len;
};

static int
zr_begin(void *arg, const struct pol_tar_entry *e)
{
	struct zrec *r = arg;

	r->len += (size_t)snprintf(r->log + r->len, sizeof(r->log) - r->len,
	    "[%s %d]", e->path, (int)e->type);
	return 0;
}

static int
zr_data(void *arg, const unsigned char *b, size_t n)
{
	struct zrec *r = arg;

	r->len += (size_t)snprintf(r->log + r->len, sizeof(r->log) - r->len,
	    "%.*s", (int)n, (const char *)b);
	return 0;
}

static int
zr_end(void *arg)
{
	struct zrec *r = arg;

	r->len += (size_t)snprintf(r->log + r->len, sizeof(r->log) - r->len,
	    "|");
	return 0;
}

static void
test_zip_reader(void **state)
{
	static const struct pol_tar_cb cbs = { zr_begin, zr_data, zr_end };
	struct zent		 e[3] = { { "a.txt", "hello\n", 6 },
	    { "d/", "", 0 }, { "d/b.txt", "", 0 } };
	struct pol_zip		 z;
	struct zrec		 r;
	struct buf		 b;
	size_t			 off, step;
	enum pol_zip_rc		 rc = POL_ZIP_OK;

	(void)state;
	b = zip(e, 3, ZO_DESC);
	for (step = 1; step <= b.len; step = step * 3 + 1) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(pol_zip_init(&z, &cbs, &r, 100), 0);
		for (off = 0; off < b.len; off += step) {
			rc = pol_zip_feed(&z, b.p + off,
			    b.len - off < step ? b.len - off : step);
			if (rc != POL_ZIP_OK && rc != POL_ZIP_END)
				fail_msg("step %zu off %zu: %s", step, off,
				    z.err);
		}
		assert_int_equal(rc, POL_ZIP_END);
		assert_int_equal(pol_zip_finish(&z), POL_ZIP_END);
		assert_string_equal(r.log, "[a.txt 0]hello\n|[d/ 1]|[d/b.txt 0]|");
		pol_zip_free(&z);
	}
	free(b.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tgz),
		cmocka_unit_test(test_tar_and_gz),
		cmocka_unit_test(test_zip),
		cmocka_unit_test(test_zip_unjudgeable),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_gzip_header),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_zip_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
