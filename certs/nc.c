/*
 * certs/nc.c: X.509 name constraints (RFC 5280 4.2.1.10) of the CA
 * certificates pubgate signs under.  Owns struct cert_nc: the decoded
 * NameConstraints extension of one certificate and its DNS and IP subtrees
 * in a form that can be matched against a host name without allocating.
 *
 * Flow: cert_ca_load() parses the extension of the signing CA and of every
 * served chain certificate (cert_nc_parse); before a leaf is signed,
 * cert_ca_permits() matches the host against them (cert_nc_check); after
 * it is signed, cert_nc_check_leaf() has OpenSSL's own NAME_CONSTRAINTS_check
 * judge the finished leaf as a second, independent reading.
 *
 * DNS semantics are RFC 5280's, as OpenSSL, NSS and Go read them: a
 * constraint "example.com" matches example.com and every name made by
 * adding labels on the left (a.example.com, not badexample.com); a
 * constraint ".example.com" matches the subdomains only; an empty one
 * matches every name.  Comparison is case-insensitive.  IP subtrees are
 * address/mask pairs (4 + 4 or 16 + 16 bytes) and match addresses of the
 * same family only.
 *
 * Depends on OpenSSL and libc only: no libevent, no proxy types, no
 * logging, no globals.  Everything is bounded: at most CERT_NC_MAX
 * subtrees per certificate, each DNS name at most CERT_HOST_MAX bytes.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs-int.h"

struct nc_ent {
	int		 ne_type;	/* GEN_DNS or GEN_IPADD */
	int		 ne_excluded;
	int		 ne_any;	/* DNS "": every name */
	size_t		 ne_len;	/* DNS: strlen(ne_name); IP: 4 or 16 */
	unsigned char	 ne_addr[16];
	unsigned char	 ne_mask[16];
	char		 ne_name[CERT_HOST_MAX + 2];	/* lower case */
};

struct cert_nc {
	NAME_CONSTRAINTS	*nc_raw;	/* for NAME_CONSTRAINTS_check */
	struct nc_ent		*nc_ent;
	size_t			 nc_n;
	size_t			 nc_dns_permitted;
	size_t			 nc_dns_any;	/* permitted "" entries */
	size_t			 nc_ip_permitted;
	int			 nc_critical;
};

/*
 * dns_base_ok() : is s (len bytes, lower case) a DNS name constraint we
 * can read: "" or an optional leading '.' then labels of letters, digits,
 * '-' and '_', none empty, none longer than 63.  Returns 1 or 0.
 */
static int
dns_base_ok(const char *s, size_t len)
{
	size_t	 i, label = 0;

	if (len == 0)
		return 1;
	if (*s == '.') {
		s++;
		len--;
		if (len == 0)
			return 0;
	}
	if (len > CERT_HOST_MAX)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/*
 * add_subtrees() : appends the DNS and IP subtrees of one list (permitted
 * or excluded) to nc.  Other name forms (email, URI, directoryName, ...)
 * say nothing about a DNS name or an address and are left to
 * cert_nc_check_leaf.  Returns 0, or -1 with *err set.
 */
static int
add_subtrees(struct cert_nc *nc, STACK_OF(GENERAL_SUBTREE) *list,
    int excluded, struct cert_err *err)
{
	GENERAL_SUBTREE	*st;
	GENERAL_NAME	*gn;
	struct nc_ent	*e;
	const unsigned char *d;
	size_t		 k, len;
	int		 i;

	/* A NULL list (no such subtrees) counts -1: nothing to add. */
	for (i = 0; i < sk_GENERAL_SUBTREE_num(list); i++) {
		st = sk_GENERAL_SUBTREE_value(list, i);
		/* RFC 5280: minimum 0 and no maximum; clients refuse others. */
		if (st->maximum != NULL || (st->minimum != NULL &&
		    ASN1_INTEGER_get(st->minimum) != 0)) {
			cert_err_set(err, "a name constraint has a minimum or "
			    "maximum");
			return -1;
		}
		gn = st->base;
		if (gn->type != GEN_DNS && gn->type != GEN_IPADD)
			continue;
		if (nc->nc_n >= CERT_NC_MAX) {
			cert_err_set(err, "more than %d name constraints",
			    CERT_NC_MAX);
			return -1;
		}
		e = &nc->nc_ent[nc->nc_n];
		memset(e, 0, sizeof(*e));
		e->ne_type = gn->type;
		e->ne_excluded = excluded;
		if (gn->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(gn->d.dNSName);
			len = (size_t)ASN1_STRING_length(gn->d.dNSName);
			if (len >= sizeof(e->ne_name) ||
			    memchr(d, '\0', len) != NULL) {
				cert_err_set(err, "unreadable DNS name "
				    "constraint");
				return -1;
			}
			for (k = 0; k < len; k++)
				e->ne_name[k] = (char)tolower(d[k]);
			e->ne_name[len] = '\0';
			if (!dns_base_ok(e->ne_name, len)) {
				cert_err_set(err, "unreadable DNS name "
				    "constraint \"%.80s\"", e->ne_name);
				return -1;
			}
			e->ne_len = len;
			e->ne_any = len == 0;
			if (!excluded) {
				nc->nc_dns_permitted++;
				if (e->ne_any)
					nc->nc_dns_any++;
			}
		} else {
			d = ASN1_STRING_get0_data(gn->d.iPAddress);
			len = (size_t)ASN1_STRING_length(gn->d.iPAddress);
			if (len != 8 && len != 32) {
				cert_err_set(err, "unreadable IP address name "
				    "constraint");
				return -1;
			}
			e->ne_len = len / 2;
			memcpy(e->ne_addr, d, e->ne_len);
			memcpy(e->ne_mask, d + e->ne_len, e->ne_len);
			if (!excluded)
				nc->nc_ip_permitted++;
		}
		nc->nc_n++;
	}
	return 0;
}

int
cert_nc_parse(X509 *x, struct cert_nc **out, struct cert_err *err)
{
	struct cert_nc		*nc;
	NAME_CONSTRAINTS	*raw;
	int			 crit = -1;

	*out = NULL;
	raw = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
	if (raw == NULL) {
		if (crit == -1)
			return 0;	/* no extension */
		cert_err_set(err, "unreadable or repeated name constraints "
		    "extension");
		return -1;
	}
	if ((nc = calloc(1, sizeof(*nc))) == NULL ||
	    (nc->nc_ent = calloc(CERT_NC_MAX, sizeof(*nc->nc_ent))) == NULL) {
		free(nc);
		NAME_CONSTRAINTS_free(raw);
		cert_err_set(err, "out of memory");
		return -1;
	}
	nc->nc_raw = raw;
	nc->nc_critical = crit == 1;
	if (add_subtrees(nc, raw->permittedSubtrees, 0, err) == -1 ||
	    add_subtrees(nc, raw->excludedSubtrees, 1, err) == -1) {
		cert_nc_free(nc);
		return -1;
	}
	*out = nc;
	return 0;
}

void
cert_nc_free(struct cert_nc *nc)
{
	if (nc == NULL)
		return;
	NAME_CONSTRAINTS_free(nc->nc_raw);
	free(nc->nc_ent);
	free(nc);
}

int
cert_nc_dns_limited(const struct cert_nc *nc)
{
	return nc != NULL && nc->nc_dns_permitted > 0 && nc->nc_dns_any == 0;
}

int
cert_nc_critical(const struct cert_nc *nc)
{
	return nc != NULL && nc->nc_critical;
}

/*
 * dns_match() : does host (lower case, len bytes) fall in the subtree e?
 * "example.com": example.com and x.example.com; ".example.com": only
 * x.example.com; "": everything.
 */
static int
dns_match(const struct nc_ent *e, const char *host, size_t len)
{
	const char	*tail;

	if (e->ne_any)
		return 1;
	if (len < e->ne_len)
		return 0;
	tail = host + len - e->ne_len;
	if (memcmp(tail, e->ne_name, e->ne_len) != 0)
		return 0;
	if (e->ne_name[0] == '.')
		return len > e->ne_len;
	return len == e->ne_len || tail[-1] == '.';
}

static int
ip_match(const struct nc_ent *e, const unsigned char *addr, size_t len)
{
	size_t	 i;

	if (len != e->ne_len)
		return 0;
	for (i = 0; i < len; i++)
		if ((addr[i] & e->ne_mask[i]) !=
		    (e->ne_addr[i] & e->ne_mask[i]))
			return 0;
	return 1;
}

int
cert_nc_check(const struct cert_nc *nc, const char *host, int strict,
    struct cert_err *err)
{
	unsigned char	 addr[16];
	size_t		 i, len, permitted = 0;
	int		 type, hit = 0;

	if (inet_pton(AF_INET, host, addr) == 1) {
		type = GEN_IPADD;
		len = 4;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		type = GEN_IPADD;
		len = 16;
	} else {
		type = GEN_DNS;
		len = strlen(host);
	}
	for (i = 0; i < nc->nc_n; i++) {
		const struct nc_ent *e = &nc->nc_ent[i];
		int m;

		if (e->ne_type != type)
			continue;
		m = type == GEN_DNS ? dns_match(e, host, len) :
		    ip_match(e, addr, len);
		if (e->ne_excluded && m) {
			cert_err_set(err, "%s is excluded by the CA's name "
			    "constraints", host);
			return -1;
		}
		if (!e->ne_excluded) {
			permitted++;
			hit |= m;
		}
	}
	/*
	 * RFC 5280: no permitted subtree of a name's type leaves that type
	 * unconstrained.  strict (a CA pubgate relies on) refuses it.
	 */
	if (hit || (permitted == 0 && !strict))
		return 0;
	cert_err_set(err, "%s is outside the CA's name constraints", host);
	return -1;
}

int
cert_nc_check_leaf(const struct cert_nc *nc, X509 *leaf,
    struct cert_err *err)
{
	int	 rc;

	/* Fills the leaf's extension cache (its names), once it is signed. */
	if (X509_check_purpose(leaf, -1, 0) != 1) {
		cert_err_set(err, "cannot read the minted certificate");
		return -1;
	}
	if ((rc = NAME_CONSTRAINTS_check(leaf, nc->nc_raw)) != X509_V_OK) {
		cert_err_set(err, "OpenSSL refuses the minted certificate "
		    "under the CA's name constraints (%s)",
		    X509_verify_cert_error_string(rc));
		return -1;
	}
	return 0;
}

/*
 * cert_nc_describe() : the permitted DNS subtrees, comma-separated, into
 * buf (truncated to len, always terminated).  For error messages.
 */
void
cert_nc_describe(const struct cert_nc *nc, char *buf, size_t len)
{
	size_t	 i, n = 0;
	int	 w;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; nc != NULL && i < nc->nc_n && n < len; i++) {
		const struct nc_ent *e = &nc->nc_ent[i];

		if (e->ne_type != GEN_DNS || e->ne_excluded)
			continue;
		w = snprintf(buf + n, len - n, "%s%s", n > 0 ? ", " : "",
		    e->ne_any ? "(any)" : e->ne_name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}
