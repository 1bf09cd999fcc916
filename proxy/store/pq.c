/*
 * proxy/store/pq.c: owns the process's handle on libpq (see pq.h): the
 * dlopen() of libpq.so.5 and the table of its functions pubgate calls.
 */
#define PX_PQ_IMPL
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "pq.h"
#include "store-int.h"

/* The soname of Debian 12's libpq5 (PostgreSQL 15); stable since 8.x. */
#define PX_PQ_SONAME	"libpq.so.5"

struct px_pq	 px_pq;

static pthread_once_t	 pq_once = PTHREAD_ONCE_INIT;
static int		 pq_ok;		/* px_pq is complete */
static char		 pq_err[300];	/* why not */

static void
pq_open(void)
{
	void		*h;
	const char	*e;

	if ((h = dlopen(PX_PQ_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(pq_err, sizeof(pq_err), "postgresql: cannot load "
		    "%s (install the libpq5 package): %s", PX_PQ_SONAME,
		    e != NULL ? e : "dlopen failed");
		return;
	}
	/* A symbol missing: an older libpq than pubgate needs. */
#define PX_PQ_SYM(name)							\
	if ((*(void **)&px_pq.name = dlsym(h, #name)) == NULL) {	\
		snprintf(pq_err, sizeof(pq_err), "postgresql: %s has no "	\
		    "%s: libpq 10 or later is needed", PX_PQ_SONAME, #name);	\
		return;							\
	}
	PX_PQ_FUNCS(PX_PQ_SYM)
#undef PX_PQ_SYM
	pq_ok = 1;
}

int
px_pq_load(char *err, size_t errlen)
{
	pthread_once(&pq_once, pq_open);
	if (pq_ok)
		return 0;
	px_store_seterr(err, errlen, "%s", pq_err);
	return -1;
}
