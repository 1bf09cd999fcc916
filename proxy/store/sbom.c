/*
 * proxy/store/sbom.c: one decision as a CycloneDX 1.5 JSON SBOM (`pubgate
 * show ID --cyclonedx`, the admin API's format=cyclonedx).  The published
 * package is metadata.component (type library, purl pkg:npm/..., the
 * tarball's SHA-512); each file of its stored list is a component of type
 * file with its size and SHA-256; the decision (id, verdict, user,
 * client, policy) rides in properties under the "pubgate:" namespace.
 * Reads a struct px_store_row only: no database, no logging.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store-int.h"

/* purl_put() : s percent-encoded for a purl segment ('@' as %40). */
static void
purl_put(FILE *f, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~')
			putc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

/* purl() : "pkg:npm/%40scope/name@version" into a memstream string. */
static char *
purl(const struct px_store_row *r)
{
	FILE		*m;
	char		*out = NULL;
	size_t		 len = 0;
	const char	*slash;

	if ((m = open_memstream(&out, &len)) == NULL)
		return NULL;
	fputs("pkg:npm/", m);
	if (r->package[0] == '@' && (slash = strchr(r->package, '/')) != NULL) {
		char	scope[PX_STORE_PKG_MAX + 1];

		snprintf(scope, sizeof(scope), "%.*s",
		    (int)(slash - r->package), r->package);
		purl_put(m, scope);
		putc('/', m);
		purl_put(m, slash + 1);
	} else
		purl_put(m, r->package);
	if (r->version[0] != '\0') {
		putc('@', m);
		purl_put(m, r->version);
	}
	if (fclose(m) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void
prop(FILE *f, int *n, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	fputs(*n > 0 ? ",{\"name\":" : "{\"name\":", f);
	px_store_json_str(f, name);
	fputs(",\"value\":", f);
	px_store_json_str(f, value);
	putc('}', f);
	(*n)++;
}

int
px_store_row_cyclonedx(const struct px_store_row *r, FILE *f)
{
	struct px_store_file_row	*fr;
	const char			*cur;
	char				*pu, num[32];
	int				 n = 0, np = 0;

	if (r->files_listed < 0)
		return -1;
	if ((fr = malloc(sizeof(*fr))) == NULL)
		return -1;
	pu = purl(r);
	fputs("{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\","
	    "\"version\":1,\"metadata\":{\"timestamp\":", f);
	px_store_json_str(f, r->time);
	fputs(",\"tools\":{\"components\":[{\"type\":\"application\","
	    "\"name\":\"pubgate\"}]},\"component\":{\"type\":\"library\","
	    "\"bom-ref\":", f);
	px_store_json_str(f, pu != NULL ? pu : r->package);
	fputs(",\"name\":", f);
	px_store_json_str(f, r->package);
	if (r->version[0] != '\0') {
		fputs(",\"version\":", f);
		px_store_json_str(f, r->version);
	}
	if (pu != NULL) {
		fputs(",\"purl\":", f);
		px_store_json_str(f, pu);
	}
	if (strlen(r->sha512) == 128)
		fprintf(f, ",\"hashes\":[{\"alg\":\"SHA-512\",\"content\":"
		    "\"%s\"}]", r->sha512);
	fputs("},\"properties\":[", f);
	prop(f, &np, "pubgate:decision", r->request_id);
	prop(f, &np, "pubgate:verdict", r->verdict);
	prop(f, &np, "pubgate:kind", r->kind);
	prop(f, &np, "pubgate:user", r->user);
	prop(f, &np, "pubgate:who", r->who);
	prop(f, &np, "pubgate:client", r->client);
	prop(f, &np, "pubgate:path", r->path);
	prop(f, &np, "pubgate:connect_target", r->connect_target);
	prop(f, &np, "pubgate:policy_sha256", r->policy_sha256);
	prop(f, &np, "pubgate:policy_name", r->policy_name);
	prop(f, &np, "pubgate:policy_revision", r->policy_revision);
	snprintf(num, sizeof(num), "%" PRId64, r->files_total);
	prop(f, &np, "pubgate:files_total", num);
	snprintf(num, sizeof(num), "%" PRId64, r->files_listed);
	prop(f, &np, "pubgate:files_listed", num);
	fputs("]},\"components\":[", f);
	cur = r->files;
	while (px_store_files_next(&cur, fr)) {
		fputs(n++ > 0 ? ",{" : "{", f);
		fputs("\"type\":\"file\",\"name\":", f);
		px_store_json_str(f, fr->path);
		fprintf(f, ",\"hashes\":[{\"alg\":\"SHA-256\",\"content\":"
		    "\"%s\"}],\"properties\":[{\"name\":\"pubgate:size\","
		    "\"value\":\"%" PRIu64 "\"}]}", fr->sha256, fr->size);
	}
	fputs("]}", f);
	free(fr);
	free(pu);
	return 0;
}
