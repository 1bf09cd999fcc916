/*
 * proxy/core/limit.c: connections per client address.
 *
 * Owns the table that counts open client connections by address (the
 * host part of "ip:port"), so that one address cannot take every
 * connection slot of the process (limits.client_conns).  The table is an
 * open-addressing hash of PX_CLIENTS_SLOTS entries, allocated at the
 * first connection and freed with the ctx; a slot is freed by backward
 * shifting, so lookups never meet tombstones.  There are at most
 * PX_CONN_MAX reverse and PX_CONN_MAX egress connections open, so the
 * table (twice that plus room) never fills.  Peers without an address
 * ("local": socketpairs in tests) are not counted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proxy-int.h"

#define PX_CLIENTS_SLOTS	(4 * PX_CONN_MAX)	/* power of two */

struct px_client_slot {
	char		 host[48];	/* "" empty */
	uint32_t	 count;
};

static uint32_t
hash(const char *s)
{
	uint32_t	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* find() : the slot of host, or the empty slot where it would go. */
static size_t
find(const struct px_client_slot *t, const char *host)
{
	size_t	 i = hash(host) & (PX_CLIENTS_SLOTS - 1);

	while (t[i].host[0] != '\0' && strcmp(t[i].host, host) != 0)
		i = (i + 1) & (PX_CLIENTS_SLOTS - 1);
	return i;
}

int
px_client_take(struct px_ctx *ctx, const char *peer)
{
	struct px_client_slot	*t;
	char			 host[48];
	size_t			 i;

	if (ctx->cfg->client_conns == 0 ||
	    px_peer_host(peer, host, sizeof(host)) == -1)
		return 0;
	if (ctx->clients == NULL && (ctx->clients = calloc(PX_CLIENTS_SLOTS,
	    sizeof(struct px_client_slot))) == NULL)
		return -1;
	t = ctx->clients;
	i = find(t, host);
	if (t[i].host[0] == '\0') {
		if (ctx->nclients >= PX_CLIENTS_SLOTS / 2)
			return -1;	/* cannot happen: conns are capped */
		memcpy(t[i].host, host, sizeof(host));
		t[i].count = 0;
		ctx->nclients++;
	}
	if (t[i].count >= ctx->cfg->client_conns) {
		PX_MADD(ctx->m->client_cap_refused, 1);
		/* At most one line a second, not one per refused socket. */
		if (px_now_ms() - ctx->client_cap_log_ms >= 1000) {
			ctx->client_cap_log_ms = px_now_ms();
			px_log_warnx("event=client-cap client=%s limit=%u "
			    "refused_total=%llu", host, ctx->cfg->client_conns,
			    (unsigned long long)PX_MGET(ctx->m->client_cap_refused));
		}
		return -1;
	}
	t[i].count++;
	return 0;
}

void
px_client_drop(struct px_ctx *ctx, const char *peer)
{
	struct px_client_slot	*t = ctx->clients;
	char			 host[48];
	size_t			 i, j, k;

	if (t == NULL || px_peer_host(peer, host, sizeof(host)) == -1)
		return;
	i = find(t, host);
	if (t[i].host[0] == '\0' || --t[i].count > 0)
		return;
	/* Empty slot i, then shift back the entries that probed past it. */
	t[i].host[0] = '\0';
	ctx->nclients--;
	j = i;
	for (;;) {
		j = (j + 1) & (PX_CLIENTS_SLOTS - 1);
		if (t[j].host[0] == '\0')
			break;
		k = hash(t[j].host) & (PX_CLIENTS_SLOTS - 1);
		/* Leave j if its home k lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t[i] = t[j];
		t[j].host[0] = '\0';
		i = j;
	}
}
