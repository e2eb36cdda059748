/* lib/agent_call.h - signed calls to many agents at once.
 *
 * ballastd's control loop, its job engine and the CLI all ask many agents
 * the same kind of question (GET /v1/status, POST an assignment, DELETE a
 * copy...). bl_acalls_run() signs each call with the shared agent secret
 * (lib/sign.h), runs them all in parallel on the caller's libev loop
 * through a bl_http_client, and returns when every one has answered or
 * failed. A call's JSON answer, if any, is parsed for the caller.
 */
#ifndef BL_AGENT_CALL_H
#define BL_AGENT_CALL_H

#include <stddef.h>

#include <ev.h>
#include <jansson.h>

#include "lib/http_client.h"

struct bl_acall {
	const char	*method;	/* borrows: static; NULL: GET */
	char		 url[600];	/* base + target */
	char		 target[256];	/* what is signed */
	char		*body;		/* owns: request body or NULL */
	char		 tag[40];	/* the caller's: what the call is
					   about (an assignment id, a row) */
	const char	*want_header;	/* borrows: a response header to keep
					   in header, e.g. "Content-MD5" */
	char		 header[128];	/* its value; "" if absent */
	char		 error[128];	/* no answer: why (curl's words) */
	long		 status;	/* HTTP status; 0: no answer */
	int		 code;		/* BL_OK, BL_ENET, BL_ETIMEOUT, ... */
	json_t		*json;		/* owns: the parsed answer or NULL */
	/* while running */
	int		*pending;	/* borrows */
	struct ev_loop	*loop;		/* borrows */
};

struct bl_acall_opts {
	const void	*secret;	/* borrows */
	size_t		 secret_len;
	long		 connect_timeout_ms;	/* 0: 2 s */
	long		 timeout_ms;		/* whole call; 0: 10 s */
	size_t		 max_body;		/* answers; 0: 16 MiB */
};

/* Prepares c: method to base (trailing slashes dropped) + target; body is
 * taken (may be NULL). Clears the rest of c. */
void	bl_acall_set(struct bl_acall *c, const char *method,
	    const char *base, const char *target, char *body);
/* Runs the n calls in parallel on loop and returns when all have ended.
 * Each gets status, code and json; a call whose method is NULL and url
 * empty is skipped (status 0, code BL_EINVAL). */
void	bl_acalls_run(struct ev_loop *loop, struct bl_http_client *http,
	    const struct bl_acall_opts *o, struct bl_acall *c, size_t n);
/* Frees the bodies and answers of n calls (the array stays the caller's). */
void	bl_acalls_release(struct bl_acall *c, size_t n);

#endif
