/* lib/http_server.h - libmicrohttpd driven by a libev loop.
 *
 * MHD runs in its epoll mode with no threads of its own: the server watches
 * MHD's epoll fd with an ev_io, calls MHD_run, and honours MHD_get_timeout
 * with an ev_timer. MHD provides connection limits, timeouts, keep-alive
 * and zero-copy file responses.
 *
 * The server reads the whole request body (up to max_body; beyond it the
 * client gets 413 without the handler being called: after the rest of a
 * body up to 16 MiB over the limit is read and dropped, so that the
 * client reads the answer rather than a reset; at once for a larger one)
 * and then calls the handler once. The handler answers with one
 * bl_http_respond*() call before it returns; if it does not, the client
 * gets 500. The request, and every pointer it hands out, lives until the
 * handler returns.
 *
 * Async handlers: a handler may instead call bl_http_req_suspend() and
 * return. The connection then waits (MHD suspends it) until the
 * application calls one bl_http_respond*() from the loop later; that
 * resumes it. The request stays valid until then, unless the server is
 * freed first: the close callback (bl_http_req_on_close) then tells the
 * application to drop its pointer.
 *
 * Paths are not percent-decoded: bl_http_req_path() is the raw path as
 * sent, so "%2f" stays "%2f" and can be refused by the application.
 */
#ifndef BL_HTTP_SERVER_H
#define BL_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "lib/err.h"

struct bl_http_server;
struct bl_http_req;

typedef void (*bl_http_handler_fn)(struct bl_http_req *req, void *arg);
/* Called on the loop each time a response is queued: its status and the
 * seconds since the request line arrived. For metrics; r is valid during
 * the call only. */
typedef void (*bl_http_observe_fn)(const struct bl_http_req *r,
	    unsigned int status, double seconds, void *arg);

struct bl_http_server_opts {
	const char	*listen;	/* borrows: "HOST:PORT", "[V6]:PORT" */
	size_t		 max_body;	/* bytes; larger bodies get 413 */
	unsigned int	 conn_limit;	/* concurrent connections */
	unsigned int	 conn_timeout;	/* idle seconds before a close */
	bl_http_handler_fn handler;
	void		*arg;		/* borrows: handed to handler */
	/* TLS (https) when both are set; plain HTTP when both are NULL. The
	 * files are read once, in bl_http_server_new. */
	const char	*tls_cert_file;	/* borrows: PEM certificate chain */
	const char	*tls_key_file;	/* borrows: PEM private key */
	bl_http_observe_fn observe;	/* NULL: none */
	void		*observe_arg;	/* borrows: handed to observe */
	/* 1: bind with SO_REUSEPORT, so that siblings (other loops, other
	 * threads) can share the address; the server first checks that no
	 * other process listens there, so a second daemon started on the
	 * same port still gets "address in use". */
	int		 reuse_port;
};

/* Binds and starts serving on loop. NULL on error (also for a TLS option
 * with a missing or unreadable file, only one of the two files, or a
 * libmicrohttpd built without TLS). Port 0 picks a free port;
 * bl_http_server_port() tells which. */
struct bl_http_server *bl_http_server_new(struct ev_loop *loop,
	    const struct bl_http_server_opts *o, struct bl_err *err);
/* Another server on the same address and port as first (which was made
 * with reuse_port), driven by loop and calling the same handler with arg.
 * The kernel spreads new connections over the servers of one address;
 * each server and its requests belong to their own loop's thread. */
struct bl_http_server *bl_http_server_new_sibling(struct ev_loop *loop,
	    const struct bl_http_server *first, void *arg, struct bl_err *err);
/* Closes the listening socket and every connection. NULL: no-op. */
void	bl_http_server_free(struct bl_http_server *s);
int	bl_http_server_port(const struct bl_http_server *s);
/* Stops accepting new connections; open ones are served. */
void	bl_http_server_quiesce(struct bl_http_server *s);
/* 1 if the server speaks TLS. */
int	bl_http_server_tls(const struct bl_http_server *s);
unsigned int bl_http_server_connections(const struct bl_http_server *s);

const char *bl_http_req_method(const struct bl_http_req *r);
/* The raw path, without the query string. */
const char *bl_http_req_path(const struct bl_http_req *r);
/* The raw request target: path and "?query" as sent. */
const char *bl_http_req_target(const struct bl_http_req *r);
/* Copies the value of "key=value" in the query string into out, as sent
 * (no percent-decoding: for names and numbers). 1 found, 0 absent, -1
 * longer than len - 1. */
int	bl_http_req_query(const struct bl_http_req *r, const char *key,
	    char *out, size_t len);
/* A request header's value, or NULL when absent. */
const char *bl_http_req_header(const struct bl_http_req *r,
	    const char *name);
/* The body (NUL-terminated for convenience) and its length. */
const char *bl_http_req_body(const struct bl_http_req *r, size_t *len);
int	bl_http_req_is_head(const struct bl_http_req *r);

/* Adds a header to the coming response; name and value are copied. */
int	bl_http_req_add_header(struct bl_http_req *r, const char *name,
	    const char *value);
/* Sends body (copied). */
int	bl_http_respond(struct bl_http_req *r, unsigned int status,
	    const char *content_type, const void *body, size_t len);
/* Sends json as compact JSON and drops the reference (takes it even on
 * failure). */
int	bl_http_respond_json_take(struct bl_http_req *r, unsigned int status,
	    json_t *json);
/* Sends {"error":{"code":code,"message":...}}. */
int	bl_http_respond_error(struct bl_http_req *r, unsigned int status,
	    const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* Sends len bytes of fd from off, zero-copy. Takes fd, even on failure. */
int	bl_http_respond_fd_take(struct bl_http_req *r, unsigned int status,
	    int fd, uint64_t off, uint64_t len);
/* 1 once a response was queued. */
int	bl_http_req_responded(const struct bl_http_req *r);

typedef void (*bl_http_close_fn)(struct bl_http_req *r, void *arg);
/* Inside the handler: answer later. See the top of this file. */
void	bl_http_req_suspend(struct bl_http_req *r);
/* Called if the request goes away while suspended (fn may be NULL). */
void	bl_http_req_on_close(struct bl_http_req *r, bl_http_close_fn fn,
	    void *arg);

#endif
