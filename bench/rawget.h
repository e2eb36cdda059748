/* bench/rawget.h - the benches' raw baseline: signed GETs of objects from
 * agents in one process, n transfers in flight at once (curl multi), each
 * body written to a file and MD5-hashed as it arrives, as an agent does
 * with a pulled object. No process start per object. */
#ifndef BENCH_RAWGET_H
#define BENCH_RAWGET_H

#include <stddef.h>

struct rawget_item {
	const char	*base_url;	/* borrows: agent, "http://127.0.0.1:p" */
	const char	*owner;		/* borrows */
	const char	*id;		/* borrows */
	const char	*md5;		/* borrows: base64 MD5 to check, or NULL */
};

/* Fetches every item, parallel at a time, into files under outdir (which
 * exists), signing with secret. Returns the bytes fetched, or -1 if a
 * transfer failed, answered non-200 or its MD5 differed (reason on
 * stderr). */
long long rawget_run(const struct rawget_item *items, int n, int parallel,
	    const char *secret, const char *outdir);

#endif
