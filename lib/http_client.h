/* lib/http_client.h - libcurl multi driven by a libev loop.
 *
 * One ev_timer serves CURLMOPT_TIMERFUNCTION and one ev_io per socket serves
 * CURLMOPT_SOCKETFUNCTION. Transfers run in parallel on the caller's loop
 * and never block it.
 *
 * A transfer either streams its response body to data_fn or, when data_fn
 * is NULL, collects it (up to max_body) into the result. done_fn is called
 * exactly once, from the loop and never from inside bl_http_xfer_start(),
 * unless the transfer was cancelled. The transfer is freed after done_fn
 * returns.
 */
#ifndef BL_HTTP_CLIENT_H
#define BL_HTTP_CLIENT_H

#include <stddef.h>

#include <ev.h>

#include "lib/err.h"

struct bl_http_client;
struct bl_http_xfer;

/* Return from a data_fn to pause the transfer; the same bytes are handed
 * over again after bl_http_xfer_resume(). */
#define BL_HTTP_PAUSE	((size_t)-1)

struct bl_http_result {
	int		 code;		/* BL_OK, BL_ENET, BL_ETIMEOUT, BL_EIO
					 * (data_fn aborted), BL_EINVAL or
					 * BL_EAUTH (TLS: peer not verified,
					 * or a bad CA/cert/key file) */
	long		 status;	/* HTTP status, 0 if none */
	const char	*message;	/* borrows: curl's error text */
	const char	*body;		/* borrows: collected body or NULL */
	size_t		 body_len;
	double		 seconds;	/* total time */
};

/* Connections a client opens to one host at most, kept alive and reused;
 * more transfers to that host wait inside the client for a free one. */
#define BL_HTTP_HOST_CONNS	32

typedef size_t (*bl_http_data_fn)(struct bl_http_xfer *x, const char *p,
	    size_t n, void *arg);
typedef void (*bl_http_done_fn)(struct bl_http_xfer *x,
	    const struct bl_http_result *r, void *arg);

struct bl_http_xfer_opts {
	const char	 *method;	/* borrows: "GET" when NULL */
	const char	 *url;		/* borrows */
	const char *const *headers;	/* borrows: "Name: value", NULL end */
	const void	 *body;		/* borrows: copied at start */
	size_t		  body_len;
	long		  connect_timeout_ms;	/* 0: 10 s */
	long		  timeout_ms;		/* whole transfer; 0: none */
	long		  low_speed_time;	/* s below 1 B/s: timeout */
	size_t		  max_body;	/* when collecting; 0: 16 MiB */
	int		  follow;	/* follow up to 3 redirects */
	bl_http_data_fn	  data_fn;	/* NULL: collect the body */
	bl_http_done_fn	  done_fn;
	void		 *arg;		/* borrows */
};

/* From a done_fn: the value of the response's header name (the last
 * response's, after redirects), or NULL when it has none. Valid until
 * done_fn returns. */
const char *bl_http_xfer_header(struct bl_http_xfer *x, const char *name);

/* TLS settings for every https:// transfer of a client. The peer's
 * certificate and host name are always verified (TLS 1.2 or later). */
struct bl_http_tls {
	const char	*ca_file;	/* borrows: PEM CAs to trust, instead
					 * of the system's; NULL: system */
	const char	*cert_file;	/* borrows: client certificate (PEM);
					 * NULL: none */
	const char	*key_file;	/* borrows: its key; NULL with cert:
					 * the key is in cert_file */
};

struct bl_http_client *bl_http_client_new(struct ev_loop *loop,
	    struct bl_err *err);
/* Sets the TLS settings for transfers started afterwards (the strings are
 * copied). Each file named must be readable. 0 or -1. */
int	bl_http_client_set_tls(struct bl_http_client *c,
	    const struct bl_http_tls *tls, struct bl_err *err);
/* Cancels every transfer (no done_fn calls) and frees. NULL: no-op. */
void	bl_http_client_free(struct bl_http_client *c);
/* Starts a transfer. NULL on error. */
struct bl_http_xfer *bl_http_xfer_start(struct bl_http_client *c,
	    const struct bl_http_xfer_opts *o, struct bl_err *err);
/* Stops and frees a transfer; done_fn is not called. Never call it from
 * inside that transfer's data_fn. */
void	bl_http_xfer_cancel(struct bl_http_xfer *x);
/* Continues a transfer that a data_fn paused. */
void	bl_http_xfer_resume(struct bl_http_xfer *x);
unsigned int bl_http_client_active(const struct bl_http_client *c);
/* The HTTP status of the response being received (0 before the status
 * line). A data_fn uses it to tell an error page from the object. */
long	bl_http_xfer_status(const struct bl_http_xfer *x);

#endif
