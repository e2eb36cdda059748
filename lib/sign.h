/* lib/sign.h - HMAC-SHA256 request signing between ballast processes.
 *
 * See docs/signing.md. A signed request carries two headers:
 *	X-Ballast-Date:      the Unix time in seconds, decimal
 *	X-Ballast-Signature: lowercase hex HMAC-SHA256(secret, canonical)
 * where canonical is these five lines joined by "\n" (no final newline):
 *	BALLAST-HMAC-SHA256
 *	<METHOD>                e.g. GET
 *	<request target>        raw path as sent, with "?query" if any
 *	<timestamp>             the X-Ballast-Date value
 *	<hex SHA-256 of body>   of the empty string when there is no body
 * A request is accepted when the date is within BL_SIGN_WINDOW seconds of
 * the verifier's clock and the signatures compare equal in constant time.
 */
#ifndef BL_SIGN_H
#define BL_SIGN_H

#include <stddef.h>
#include <time.h>

#include "lib/err.h"

#define BL_SIGN_HDR_DATE	"X-Ballast-Date"
#define BL_SIGN_HDR_SIG		"X-Ballast-Signature"
#define BL_SIGN_SCHEME		"BALLAST-HMAC-SHA256"
#define BL_SIGN_WINDOW		300
#define BL_SIGN_MIN_SECRET	16

struct bl_sign_hdrs {
	char	date[24];	/* value for X-Ballast-Date */
	char	signature[65];	/* value for X-Ballast-Signature */
};

/* Signs a request made at time now. key is the shared secret. 0 or -1. */
int	bl_sign_request(const void *key, size_t keylen, const char *method,
	    const char *target, const void *body, size_t bodylen, time_t now,
	    struct bl_sign_hdrs *out);
/* Checks date and sig (the two header values; either may be NULL when the
 * header was absent) against the request. 0 if valid; -1 with BL_EAUTH and
 * the reason ("missing", "stale", "bad signature") otherwise. */
int	bl_sign_verify(const void *key, size_t keylen, const char *method,
	    const char *target, const void *body, size_t bodylen,
	    const char *date, const char *sig, time_t now, struct bl_err *err);
/* Reads a secret from path: the file's bytes, with trailing whitespace
 * removed; at least BL_SIGN_MIN_SECRET bytes. Returns a malloc'd buffer the
 * caller frees (and should wipe), its length in *len; NULL on error. */
char	*bl_sign_read_secret(const char *path, size_t *len, struct bl_err *err);

#endif
