/* cli/http.h - ballastctl's client for ballastd's API. */
#ifndef CLI_HTTP_H
#define CLI_HTTP_H

#include <stddef.h>

#include <jansson.h>

#include "cli/cli.h"

struct cli_http {
	char	server[512];	/* base url, no trailing slash */
	char	token[512];	/* bearer token; "" for none */
	char	cacert[512];	/* PEM CAs for https; "": system */
	char	error[600];	/* the last failure, for messages */
	char	leader[512];	/* a follower's 503: the leader's url */
	void	*secret;	/* borrows: set, requests are signed for an
				   agent (lib/sign.h) instead of a token */
	size_t	 secret_len;
};

/* server and token_file may be NULL: $BALLAST_SERVER (default
 * http://127.0.0.1:8460) and $BALLAST_TOKEN_FILE. $BALLAST_CACERT (set by
 * --cacert) names the CAs that verify an https server. 0 or -1 (printed). */
int	cli_http_init(struct cli_http *h, const char *server,
	    const char *token_file);
/* One request. Returns the HTTP status, or -1 when the server could not
 * be reached. *out is the parsed body (or NULL); the caller decrefs. A
 * follower's 503 not_leader leaves the leader's url in h->leader; with
 * $BALLAST_FOLLOW_LEADER set (--follow-leader) the request is sent once
 * more, to the leader, and h->server becomes it. */
int	cli_http_call(struct cli_http *h, const char *method,
	    const char *target, const char *body, size_t len,
	    const char *ctype, json_t **out);
/* GET target and hand the answer over as it came (a CSV, say): *body
 * (caller frees; NUL-terminated, NULL on an error answer) and *len.
 * Returns the status, or -1 when the server could not be reached; an
 * error's message is in h->error. */
int	cli_http_get_raw(struct cli_http *h, const char *target, char **body,
	    size_t *len);
/* The exit code for a status: 3 unreachable, 4 for 401/403, 5 for a
 * follower's 503 not_leader (the leader's url printed), 2 for 400/422, 1
 * for other errors, 0 below 400. Prints the error. */
int	cli_http_exit(struct cli_http *h, int status);
void	cli_print_json(json_t *j);
/* Removes every "--json" from argv (keeping it NULL-terminated) and
 * returns 1 if there was one: the command then prints the API's answer as
 * JSON on stdout, and nothing else, with the same exit codes. */
int	cli_take_json(int *argc, char **argv);

#endif
