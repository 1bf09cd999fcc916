/*
 * policy/sourcemap.c: source map detection, judged by name and content.
 *
 * Owns four judgments on one file at a time:
 *  - a file named *.map is a source map file ("sourcemap.file");
 *  - a file whose content is a source map (a JSON object with top-level
 *    "version" and "mappings" or "sections") is one too, whatever its name;
 *  - a map that embeds original sources ("sourcesContent" with a non-empty
 *    string, at the top or in an index map's "sections"[].map) is
 *    "sourcemap.sources-content"; one whose "sources" or "sourceRoot"
 *    point to a remote URL is "sourcemap.remote-sources";
 *  - an inline map, `sourceMappingURL=data:` (the scheme in any case)
 *    after `//#`, `//@`, `/ *#` or `/ *@` in any file, is decoded (base64
 *    of either alphabet, read as Node's Buffer.from does, or
 *    percent-encoded) and judged like a map file: only decoded bytes that
 *    are a real map count ("sourcemap.inline"), so a mere mention in code
 *    is not a finding;
 *  - a JSON object the strict scanner cannot read to the end, on input
 *    JSON.parse accepts (nesting, key or number over the caps, invalid
 *    UTF-8, a lone surrogate), before it could tell whether it embeds
 *    sources, is "sourcemap.undecidable": blocked, never allowed unread.
 * Depends on libc, json.c and b64.c; never logs, never allocates after
 * pol_smap_new(), never holds more of a file than a few dozen bytes.
 *
 * Data flow: pol_smap_data() feeds each chunk to (1) the content judge,
 * a pol_json parse started only when the first non-blank byte is '{'
 * (after an optional `)]}'` line), and (2) the inline finder: memmem()
 * for "sourceMappingURL=" over the chunk, plus a small history of the
 * bytes before it for matches that straddle chunks and for the comment
 * marker in front; after a hit, the data URL's media type, then its
 * payload, decoded into a second pol_json judge.  Both judges stop as soon
 * as nothing more can change their findings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy-int.h"
#include "scan-int.h"

#define NEEDLE		"sourceMappingURL="
#define NEEDLE_LEN	(sizeof(NEEDLE) - 1)
#define MARK_WS_MAX	POL_SMAP_MARK_WS_MAX
#define HIST_MAX	64	/* >= NEEDLE_LEN - 1 + 3 + MARK_WS_MAX */
#define MEDIA_MAX	POL_SMAP_MEDIA_MAX
#define SLICE		4096	/* payload bytes decoded at a time */
#define PFX_MAX		8	/* bytes of a source URL we look at */

_Static_assert(HIST_MAX >= NEEDLE_LEN - 1 + 3 + MARK_WS_MAX,
    "the history must hold a split needle and its comment marker");

/* What a key means in its object. */
enum {
	K_OTHER = 0,
	K_VERSION,
	K_MAPPINGS,
	K_SECTIONS,
	K_SOURCES,
	K_SC,		/* sourcesContent */
	K_ROOT,		/* sourceRoot */
	K_MAP,		/* "map" in a section */
};

/* What a container is. */
enum {
	C_OTHER = 0,
	C_MAPOBJ,	/* a map: the top object or sections[].map */
	C_SECTIONS,	/* the sections array of a map */
	C_SECTION,	/* one element of sections */
	C_SOURCES,	/* a map's sources array */
	C_SC,		/* a map's sourcesContent array */
};

/* What the current string value is watched for. */
enum {
	W_NONE = 0,
	W_URL,		/* a source or the sourceRoot: remote? */
	W_SC,		/* a sourcesContent entry: non-empty? */
	W_MAPPINGS,	/* the top mappings: non-empty? */
};

/* One JSON judge: is it a map, does it embed sources, are they remote. */
struct judge {
	struct pol_json	 js;
	int		 running;	/* fed until it stops */
	int		 top_obj;	/* the top value is an object */
	int		 version, mappings, sections;
	int		 nonempty;	/* maps something */
	int		 sc, remote;
	int		 srcs_done;	/* the top "sources" array ended */
	int		 need_map;	/* stop only once a map */
	int		 undecidable;	/* stopped on what JSON.parse reads */
	int		 watch;		/* W_* of this string */
	size_t		 plen;
	char		 pfx[PFX_MAX];
	/* Per depth: the C_* of the container, the K_* of its last key. */
	unsigned char	 kind[POL_JSON_DEPTH_MAX + 1];
	unsigned char	 key[POL_JSON_DEPTH_MAX + 1];
};

/* Content judge: sniffing the start of the file. */
enum {
	CS_BLANK = 0,	/* before the first non-blank byte */
	CS_XSSI,	/* in ")]}" */
	CS_XSSI_LINE,	/* rest of the ")]}'" line */
	CS_JSON,	/* judge running */
	CS_OFF,		/* not JSON, or the judge is done */
};

/* Inline finder. */
enum {
	IL_SEARCH = 0,
	IL_MEDIA,	/* after "data:", up to ',' */
	IL_B64,		/* base64 payload */
	IL_PLAIN,	/* percent-encoded or plain payload */
	IL_SKIP_B64,	/* judge done: skip the rest of the payload */
};

/*
 * Findings, reported once per file each, and once per judge: the content
 * judge's and the inline judge's bits are apart (F_JUDGE), since
 * which of the two reports first depends on how the file is cut into
 * calls (pol_smap_data runs the content judge over a chunk, then the
 * inline finder), and the findings must not (fuzz_scan).
 */
#define F_FILE		0x01u
#define F_SC		0x02u
#define F_REMOTE	0x04u
#define F_INLINE	0x08u
#define F_UNDECIDABLE	0x10u
#define F_JUDGE(f, inl)	((f) << ((inl) ? 8 : 0))

struct pol_smap {
	pol_emit_fn	 emit;
	void		*arg;
	uint64_t	 off;		/* file bytes seen */
	unsigned int	 reported;	/* F_* */
	int		 name_map;	/* named *.map */

	int		 cstate;	/* CS_* */
	int		 xssi;		/* bytes of ")]}" matched */
	struct judge	 cj;		/* content */

	int		 istate;	/* IL_* */
	size_t		 hlen;
	unsigned char	 hist[HIST_MAX];	/* bytes before it */
	size_t		 hsearch;	/* how many were searched */
	int		 block;		/* in a block comment */
	int64_t		 trig_off;	/* offset of the needle */
	size_t		 mlen;
	char		 media[MEDIA_MAX];
	uint32_t	 quad;		/* base64 sextets pending */
	int		 nq;
	int		 pct;		/* 1: after '%', 2: '%X' */
	unsigned char	 pct_hi;
	int		 star;		/* '*' pending */
	struct judge	 ij;		/* inline */
	unsigned char	 out[SLICE + 4];	/* decoded payload */
};

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* key_is() : 1 if the key s,len is exactly lit. */
static int
key_is(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* classify() : the K_* of a key in a container of kind c. */
static int
classify(int c, const char *s, size_t len)
{
	if (c == C_SECTION)
		return key_is(s, len, "map") ? K_MAP : K_OTHER;
	if (c != C_MAPOBJ)
		return K_OTHER;
	if (key_is(s, len, "version"))
		return K_VERSION;
	if (key_is(s, len, "mappings"))
		return K_MAPPINGS;
	if (key_is(s, len, "sections"))
		return K_SECTIONS;
	if (key_is(s, len, "sources"))
		return K_SOURCES;
	if (key_is(s, len, "sourcesContent"))
		return K_SC;
	if (key_is(s, len, "sourceRoot"))
		return K_ROOT;
	return K_OTHER;
}

/*
 * is_remote() : 1 if the first bytes of a URL name a remote location:
 * http:, https:, ftp:, ftps: (any case) or protocol-relative //.
 */
static int
is_remote(const char *p, size_t n)
{
	static const char *const schemes[] = { "http:", "https:", "ftp:",
	    "ftps:" };
	size_t i, k, m;

	if (n >= 2 && p[0] == '/' && p[1] == '/')
		return 1;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		m = strlen(schemes[i]);
		if (n < m)
			continue;
		for (k = 0; k < m; k++)
			if (lower((unsigned char)p[k]) != schemes[i][k])
				break;
		if (k == m)
			return 1;
	}
	return 0;
}

/*
 * judge_is_map() : 1 if the content is a source map that maps something
 * (an empty map, as tools embed in their own code, leaks nothing).
 */
static int
judge_is_map(const struct judge *j)
{
	return j->top_obj && j->version && (j->mappings || j->sections) &&
	    j->nonempty;
}

/*
 * judge_conclusive() : 1 when no later byte can add a finding, or when the
 * map is known to embed its sources and its own "sources" list was read:
 * the rest of a big map (megabytes of sourcesContent, the mappings) could
 * only add a remote "sourceRoot" written after it, which bundlers do not
 * do; stopping there saves parsing the bulk of a leaking map.
 */
static int
judge_conclusive(const struct judge *j)
{
	if (j->need_map && !judge_is_map(j))
		return 0;
	return j->sc && (j->remote || (j->srcs_done && !j->sections));
}

/*
 * judge_cb() : the pol_json callback of a judge.  A map is an object
 * with a "version" (number or string) and a "mappings" string or a
 * "sections" array at the top, and a non-empty mappings, sources or
 * sections.  Returns 1 (stop) when the top value is
 * not an object, when it is complete, or when the findings are
 * conclusive; else 0.
 */
static int
judge_cb(void *arg, enum pol_json_ev ev, const char *s, size_t len, int depth)
{
	struct judge *j = arg;
	int pk = C_OTHER, key = K_OTHER, k;

	if (depth > POL_JSON_DEPTH_MAX)
		return 1;
	if (depth > 0) {
		pk = j->kind[depth - 1];
		key = j->key[depth - 1];
	}
	/* Anything inside sources or sections: the map is not empty. */
	if (pk == C_SOURCES || pk == C_SECTIONS)
		j->nonempty = 1;
	/* The top object's members that make it a map, by value type. */
	if (depth == 1 && ev != POL_JSON_KEY) {
		if (key == K_VERSION && (ev == POL_JSON_NUMBER ||
		    ev == POL_JSON_STR_BEGIN))
			j->version = 1;
		else if (key == K_MAPPINGS && ev == POL_JSON_STR_BEGIN)
			j->mappings = 1;
		else if (key == K_SECTIONS && ev == POL_JSON_ARR_BEGIN)
			j->sections = 1;
	}
	switch (ev) {
	case POL_JSON_KEY:
		if (depth == 0)
			return 1;
		j->key[depth - 1] = (unsigned char)classify(pk, s, len);
		break;
	case POL_JSON_OBJ_BEGIN:
	case POL_JSON_ARR_BEGIN:
		if (depth == 0) {
			if (ev != POL_JSON_OBJ_BEGIN)
				return 1;
			j->top_obj = 1;
			j->kind[0] = C_MAPOBJ;
			j->key[0] = K_OTHER;
			break;
		}
		k = C_OTHER;
		if (ev == POL_JSON_ARR_BEGIN && pk == C_MAPOBJ) {
			if (key == K_SECTIONS)
				k = C_SECTIONS;
			else if (key == K_SOURCES)
				k = C_SOURCES;
			else if (key == K_SC)
				k = C_SC;
		} else if (ev == POL_JSON_OBJ_BEGIN) {
			if (pk == C_SECTIONS)
				k = C_SECTION;
			else if (pk == C_SECTION && key == K_MAP)
				k = C_MAPOBJ;
		}
		j->kind[depth] = (unsigned char)k;
		j->key[depth] = K_OTHER;
		break;
	case POL_JSON_OBJ_END:
	case POL_JSON_ARR_END:
		if (depth == 0)
			return 1;
		if (depth == 1 && j->kind[1] == C_SOURCES)
			j->srcs_done = 1;
		break;
	case POL_JSON_STR_BEGIN:
		if (depth == 0)
			return 1;
		j->watch = W_NONE;
		j->plen = 0;
		if (pk == C_SOURCES || (pk == C_MAPOBJ && key == K_ROOT))
			j->watch = W_URL;
		else if (pk == C_SC || (pk == C_MAPOBJ && key == K_SC))
			j->watch = W_SC;
		else if (depth == 1 && key == K_MAPPINGS)
			j->watch = W_MAPPINGS;
		break;
	case POL_JSON_STR_CHUNK:
		if (j->watch == W_SC && len > 0) {
			j->sc = 1;
			j->watch = W_NONE;
		} else if (j->watch == W_MAPPINGS && len > 0) {
			j->nonempty = 1;
			j->watch = W_NONE;
		} else if (j->watch == W_URL) {
			k = (int)(len < PFX_MAX - j->plen ? len :
			    PFX_MAX - j->plen);
			memcpy(j->pfx + j->plen, s, (size_t)k);
			j->plen += (size_t)k;
			if (j->plen == PFX_MAX) {
				if (is_remote(j->pfx, j->plen))
					j->remote = 1;
				j->watch = W_NONE;
			}
		}
		break;
	case POL_JSON_STR_END:
		if (j->watch == W_URL && is_remote(j->pfx, j->plen))
			j->remote = 1;
		j->watch = W_NONE;
		break;
	default:
		/* Numbers and literals. */
		if (depth == 0)
			return 1;
		break;
	}
	return judge_conclusive(j) ? 1 : 0;
}

static void
judge_start(struct judge *j, int need_map)
{
	memset(j, 0, sizeof(*j));
	pol_json_init(&j->js, POL_JSON_DEPTH_MAX, judge_cb, j);
	j->need_map = need_map;
	j->running = 1;
}

/* judge_feed() : feeds decoded bytes; the judge stops on any non-OK rc. */
static void
judge_feed(struct judge *j, const void *buf, size_t len)
{
	enum pol_json_rc rc;

	if (!j->running || len == 0)
		return;
	if ((rc = pol_json_feed(&j->js, buf, len)) == POL_JSON_OK)
		return;
	j->running = 0;
	/*
	 * The strict scanner stopped on something JSON.parse (and so Node
	 * and the browsers) reads: a nesting, key or number over our caps,
	 * an invalid UTF-8 byte (U+FFFD to them) or a lone surrogate.
	 */
	if (rc == POL_JSON_ERR_LIMIT || (rc == POL_JSON_ERR_SYNTAX &&
	    j->js.err != NULL && (strcmp(j->js.err, "invalid UTF-8 in "
	    "string") == 0 || strcmp(j->js.err, "lone surrogate in string")
	    == 0)))
		j->undecidable = 1;
}

/* emit() : reports finding bit `what` unless already reported. */
static void
emit(struct pol_smap *m, unsigned int what, const char *rule, int64_t off,
    const char *hint, const char *text)
{
	struct pol_finding f;

	if (m->reported & what)
		return;
	m->reported |= what;
	memset(&f, 0, sizeof(f));
	f.rule = rule;
	f.hint = hint;
	f.offset = off;
	snprintf(f.text, sizeof(f.text), "%s", text);
	m->emit(m->arg, &f);
}

#define HINT_FILE	"do not ship source maps: exclude *.map (\"files\" " \
	"or .npmignore) or build without them"
#define HINT_SC		"build maps without sourcesContent (esbuild " \
	"--sources-content=false, tsc without inlineSources) or do not " \
	"ship them"
#define HINT_REMOTE	"do not ship maps whose sources point to a " \
	"remote URL"
#define HINT_UNDECIDABLE	"this JSON starts like a source map but " \
	"the gate cannot read it to the end (nesting, a long key or number, " \
	"invalid UTF-8, a lone surrogate); ship plain JSON or exclude it"
#define HINT_INLINE	"build without inline source maps (esbuild " \
	"--sourcemap=external, tsc without inlineSourceMap, webpack devtool " \
	"without inline-)"

/* judge_report() : the findings of judge j (content or inline). */
static void
judge_report(struct pol_smap *m, const struct judge *j, int inline_map)
{
	int64_t off = inline_map ? m->trig_off : -1;

	/*
	 * A JSON object the strict scanner could not finish, on something
	 * the consumers read, before it could tell whether it embeds
	 * sources: blocked, never allowed unread.
	 */
	if (j->undecidable && j->top_obj && !j->sc)
		emit(m, F_JUDGE(F_UNDECIDABLE, inline_map),
		    "sourcemap.undecidable", off,
		    HINT_UNDECIDABLE, inline_map ? "inline data URL holds "
		    "JSON the gate cannot read to the end; it may be a "
		    "source map" : "JSON the gate cannot read to the end; "
		    "it may be a source map");
	if (inline_map) {
		if (!judge_is_map(j))
			return;
		emit(m, F_INLINE, "sourcemap.inline", off, HINT_INLINE,
		    "inline source map (sourceMappingURL=data:) in the file");
	} else if (!m->name_map) {
		if (!judge_is_map(j))
			return;
		emit(m, F_FILE, "sourcemap.file", -1, HINT_FILE,
		    "file content is a source map (JSON with version and "
		    "mappings)");
	} else if (!j->top_obj)
		return;
	if (j->sc)
		emit(m, F_JUDGE(F_SC, inline_map),
		    "sourcemap.sources-content", off, HINT_SC,
		    inline_map ? "inline source map embeds the original "
		    "sources (sourcesContent)" : "source map embeds the "
		    "original sources (sourcesContent)");
	if (j->remote)
		emit(m, F_JUDGE(F_REMOTE, inline_map),
		    "sourcemap.remote-sources", off, HINT_REMOTE,
		    inline_map ? "inline source map points its sources at a "
		    "remote URL" : "source map points its sources at a "
		    "remote URL");
}

struct pol_smap *
pol_smap_new(pol_emit_fn emit_fn, void *arg)
{
	struct pol_smap *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->emit = emit_fn;
	m->arg = arg;
	return m;
}

/* pol_smap_free() : frees m; the buffered file bytes are wiped first. */
void
pol_smap_free(struct pol_smap *m)
{
	if (m == NULL)
		return;
	explicit_bzero(m, sizeof(*m));
	free(m);
}

/* pol_smap_begin() : starts a file; a *.map name is a finding at once. */
void
pol_smap_begin(struct pol_smap *m, const char *path, uint64_t size)
{
	size_t len = strlen(path);

	(void)size;
	m->off = 0;
	m->reported = 0;
	m->cstate = CS_BLANK;
	m->xssi = 0;
	m->cj.running = 0;
	m->istate = IL_SEARCH;
	m->hlen = 0;
	m->hsearch = 0;
	m->ij.running = 0;
	m->name_map = len >= 4 && strcasecmp(path + len - 4, ".map") == 0;
	if (m->name_map)
		emit(m, F_FILE, "sourcemap.file", -1, HINT_FILE,
		    "source map file (*.map)");
}

/* content_data() : the content judge's share of a chunk. */
static void
content_data(struct pol_smap *m, const unsigned char *p, size_t len,
    uint64_t off)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < len && m->cstate != CS_JSON; i++) {
		c = p[i];
		switch (m->cstate) {
		case CS_BLANK:
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
				continue;
			/* A UTF-8 byte order mark at the very start. */
			if (off + i < 3 &&
			    c == (unsigned char)"\xef\xbb\xbf"[off + i])
				continue;
			if (c == '{') {
				/* The judge gets the '{' itself. */
				judge_start(&m->cj, !m->name_map);
				m->cstate = CS_JSON;
				goto json;
			} else if (c == ')') {
				m->xssi = 1;
				m->cstate = CS_XSSI;
			} else
				m->cstate = CS_OFF;
			continue;
		case CS_XSSI:
			if (c != (m->xssi == 1 ? ']' : '}')) {
				m->cstate = CS_OFF;
				continue;
			}
			if (++m->xssi == 3)
				m->cstate = CS_XSSI_LINE;
			continue;
		case CS_XSSI_LINE:
			if (c == '\n')
				m->cstate = CS_BLANK;
			continue;
		default:
			return;
		}
	}
	if (m->cstate != CS_JSON)
		return;
	i = 0;
json:
	judge_feed(&m->cj, p + i, len - i);
	if (!m->cj.running) {
		judge_report(m, &m->cj, 0);
		m->cstate = CS_OFF;
	}
}

/*
 * at() : byte v of the virtual view hist ++ chunk, where v < 0 indexes
 * back into the history and v >= 0 into the chunk.  Returns -1 when v is
 * before the history.
 */
static int
at(const struct pol_smap *m, const unsigned char *p, ptrdiff_t v)
{
	if (v >= 0)
		return p[v];
	if ((size_t)-v > m->hlen)
		return -1;
	return m->hist[(ptrdiff_t)m->hlen + v];
}

/*
 * marker() : checks the comment marker in front of a needle that starts
 * at v; returns 0 for a line comment (`//#`, `//@`), 1 for a block
 * comment (`/ *#`, `/ *@`), -1 if there is none.
 */
static int
marker(const struct pol_smap *m, const unsigned char *p, ptrdiff_t v)
{
	int c, n;

	v--;
	for (n = 0; n < MARK_WS_MAX && ((c = at(m, p, v)) == ' ' || c == '\t');
	    n++)
		v--;
	c = at(m, p, v);
	if (c != '#' && c != '@')
		return -1;
	c = at(m, p, v - 1);
	if ((c != '/' && c != '*') || at(m, p, v - 2) != '/')
		return -1;
	return c == '*';
}

/* trigger() : a needle with its marker starts at file offset off. */
static void
trigger(struct pol_smap *m, int block, uint64_t off)
{
	m->istate = IL_MEDIA;
	m->block = block;
	m->trig_off = (int64_t)off;
	m->mlen = 0;
}

/* payload_end() : the data URL ended; judges and resumes searching. */
static void
payload_end(struct pol_smap *m)
{
	size_t n;

	n = 0;
	if (m->istate == IL_B64 && m->ij.running) {
		/* A last group of 2 or 3 sextets still holds bytes. */
		if (m->nq >= 2)
			m->out[n++] = (unsigned char)(m->quad >> (6 * m->nq - 8));
		if (m->nq == 3)
			m->out[n++] = (unsigned char)(m->quad >> 2);
		judge_feed(&m->ij, m->out, n);
	}
	if (m->istate == IL_PLAIN && m->star && m->ij.running)
		judge_feed(&m->ij, "*", 1);
	judge_report(m, &m->ij, 1);
	m->ij.running = 0;
	m->istate = IL_SEARCH;
}

/* media_byte() : one byte of the media type; 1 if it was consumed. */
static int
media_byte(struct pol_smap *m, unsigned char c)
{
	static const char b64[] = ";base64";
	size_t k, bl = sizeof(b64) - 1;

	if (c == ',') {
		/* "data:" in any case, as URL parsers read a scheme. */
		if (m->mlen < 5 || strncasecmp(m->media, "data:", 5) != 0) {
			m->istate = IL_SEARCH;
			return 0;
		}
		judge_start(&m->ij, 1);
		m->istate = IL_PLAIN;
		if (m->mlen >= bl) {
			for (k = 0; k < bl; k++)
				if (lower((unsigned char)m->media[m->mlen -
				    bl + k]) != b64[k])
					break;
			if (k == bl)
				m->istate = IL_B64;
		}
		m->quad = 0;
		m->nq = 0;
		m->pct = 0;
		m->star = 0;
		return 1;
	}
	if (c <= ' ' || c == '"' || c == '\'' || c == '`' || c >= 0x7f ||
	    m->mlen == MEDIA_MAX) {
		/* Not a data URL after all; search on from this byte. */
		m->istate = IL_SEARCH;
		return 0;
	}
	m->media[m->mlen++] = (char)c;
	return 1;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * plain_data() : percent-decodes payload bytes until the end of the
 * comment (a line break, or `* /` in a block comment).  Returns the bytes
 * consumed; *ended says whether the payload ended.
 */
static size_t
plain_data(struct pol_smap *m, const unsigned char *p, size_t len, int *ended)
{
	size_t i, o = 0;
	unsigned char c;
	int h;

	*ended = 0;
	for (i = 0; i < len; i++) {
		c = p[i];
		if (c == '\n' || c == '\r') {
			*ended = 1;
			break;
		}
		if (m->block) {
			if (m->star) {
				m->star = 0;
				if (c == '/') {
					*ended = 1;
					break;
				}
				m->out[o++] = '*';
			}
			if (c == '*') {
				m->star = 1;
				goto next;	/* a run of stars still writes */
			}
		}
		if (m->pct == 1) {
			if ((h = hexval(c)) >= 0) {
				m->pct_hi = (unsigned char)h;
				m->pct = 2;
				goto next;
			}
			m->out[o++] = '%';
			m->pct = 0;
		} else if (m->pct == 2) {
			m->pct = 0;
			if ((h = hexval(c)) >= 0) {
				m->out[o++] =
				    (unsigned char)(m->pct_hi << 4 | h);
				goto next;
			}
			m->out[o++] = '%';
			m->out[o++] = "0123456789abcdef"[m->pct_hi];
		}
		if (c == '%')
			m->pct = 1;
		else
			m->out[o++] = c;
next:
		if (o >= SLICE) {
			judge_feed(&m->ij, m->out, o);
			o = 0;
		}
	}
	judge_feed(&m->ij, m->out, o);
	return i;
}

/* b64val() : a base64 digit of either alphabet, or -1. */
static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/*
 * b64_data() : decodes a base64 payload the way Node's Buffer.from(s,
 * 'base64') does (both alphabets; '=' and any other byte skipped) up to
 * the end of the URL: white space (Node's sourceMappingURL pattern ends
 * there; a quote does not end it, and Buffer.from skips it) or `* /` in
 * a block comment.  In IL_SKIP_B64 only the
 * end is looked for.  Returns the bytes consumed; *ended says whether the
 * payload ended.
 */
static size_t
b64_data(struct pol_smap *m, const unsigned char *p, size_t len, int *ended)
{
	size_t i, o = 0;
	unsigned char c;
	int v;

	*ended = 0;
	for (i = 0; i < len; i++) {
		c = p[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			*ended = 1;
			break;
		}
		if (m->block) {
			if (m->star && c == '/') {
				*ended = 1;
				break;
			}
			m->star = c == '*';
		}
		if (m->istate != IL_B64 || (v = b64val(c)) < 0)
			continue;
		m->quad = (m->quad << 6) | (uint32_t)v;
		if (++m->nq == 4) {
			m->out[o++] = (unsigned char)(m->quad >> 16);
			m->out[o++] = (unsigned char)(m->quad >> 8);
			m->out[o++] = (unsigned char)m->quad;
			m->quad = 0;
			m->nq = 0;
			if (o + 3 > SLICE) {
				judge_feed(&m->ij, m->out, o);
				o = 0;
			}
		}
	}
	if (m->istate == IL_B64)
		judge_feed(&m->ij, m->out, o);
	return i;
}

/*
 * inline_data() : the inline finder's share of a chunk starting at file
 * offset off.
 */
static void
inline_data(struct pol_smap *m, const unsigned char *p, size_t len,
    uint64_t off)
{
	size_t pos = 0, sstart = 0, n, k, hp, cp;
	unsigned char join[2 * NEEDLE_LEN];
	const unsigned char *q;
	int b, resumed = 0;

	/*
	 * A needle that starts in the searched tail of the history and
	 * ends in this chunk.
	 */
	hp = m->hsearch < NEEDLE_LEN - 1 ? m->hsearch : NEEDLE_LEN - 1;
	if (m->istate == IL_SEARCH && hp > 0) {
		cp = len < NEEDLE_LEN - 1 ? len : NEEDLE_LEN - 1;
		memcpy(join, m->hist + m->hlen - hp, hp);
		memcpy(join + hp, p, cp);
		q = memmem(join, hp + cp, NEEDLE, NEEDLE_LEN);
		if (q != NULL) {
			k = (size_t)(q - join);	/* < hp */
			if ((b = marker(m, p, (ptrdiff_t)k -
			    (ptrdiff_t)hp)) >= 0) {
				trigger(m, b, off - (hp - k));
				pos = k + NEEDLE_LEN - hp;
			}
		}
	}

	while (pos < len) {
		switch (m->istate) {
		case IL_SEARCH:
			q = memmem(p + pos, len - pos, NEEDLE, NEEDLE_LEN);
			if (q == NULL) {
				pos = len;
				break;
			}
			k = (size_t)(q - p);
			pos = k + NEEDLE_LEN;
			if ((b = marker(m, p, (ptrdiff_t)k)) >= 0)
				trigger(m, b, off + k);
			break;
		case IL_MEDIA:
			if (media_byte(m, p[pos]))
				pos++;
			else {
				sstart = pos;
				resumed = 1;
			}
			break;
		case IL_B64:
		case IL_SKIP_B64:
			n = b64_data(m, p + pos, len - pos, &b);
			pos += n;
			if (m->istate == IL_B64 && !m->ij.running) {
				judge_report(m, &m->ij, 1);
				m->istate = IL_SKIP_B64;
			}
			if (b) {
				if (m->istate == IL_SKIP_B64) {
					m->istate = IL_SEARCH;
					judge_report(m, &m->ij, 1);
				} else
					payload_end(m);
				sstart = pos;
				resumed = 1;
			}
			break;
		case IL_PLAIN:
			n = plain_data(m, p + pos, len - pos, &b);
			pos += n;
			/*
			 * Decoded on even when the judge is done: the comment
			 * end must be found the same way in any split.
			 */
			if (b) {
				payload_end(m);
				sstart = pos;
				resumed = 1;
			}
			break;
		}
	}

	/*
	 * Keep the raw tail of the stream for the next chunk (a comment
	 * marker may lie in bytes that were not searched), and how much of
	 * it was searched: only there may a straddling needle start, as in
	 * a single call.
	 */
	if (m->istate != IL_SEARCH)
		m->hsearch = 0;
	else if (!resumed && m->hsearch < HIST_MAX)
		m->hsearch += len < HIST_MAX ? len : HIST_MAX;
	else if (resumed)
		m->hsearch = len - sstart;
	if (m->hsearch > HIST_MAX)
		m->hsearch = HIST_MAX;
	if (len >= HIST_MAX) {
		memcpy(m->hist, p + len - HIST_MAX, HIST_MAX);
		m->hlen = HIST_MAX;
	} else {
		if (m->hlen + len > HIST_MAX) {
			k = m->hlen + len - HIST_MAX;
			memmove(m->hist, m->hist + k, m->hlen - k);
			m->hlen -= k;
		}
		memcpy(m->hist + m->hlen, p, len);
		m->hlen += len;
	}
}

/* pol_smap_data() : the next bytes of the file; returns 0. */
int
pol_smap_data(struct pol_smap *m, const unsigned char *p, size_t len)
{
	if (len == 0)
		return 0;
	if (m->cstate != CS_OFF)
		content_data(m, p, len, m->off);
	inline_data(m, p, len, m->off);
	m->off += len;
	return 0;
}

/* pol_smap_end() : the file is complete: reports what is pending; 0. */
int
pol_smap_end(struct pol_smap *m)
{
	if (m->cstate == CS_JSON) {
		judge_report(m, &m->cj, 0);
		m->cstate = CS_OFF;
	}
	switch (m->istate) {
	case IL_B64:
	case IL_PLAIN:
		payload_end(m);
		break;
	case IL_SKIP_B64:
		judge_report(m, &m->ij, 1);
		break;
	default:
		break;
	}
	m->istate = IL_SEARCH;
	return 0;
}
