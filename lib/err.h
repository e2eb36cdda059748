/* lib/err.h - error values that carry a reason.
 *
 * Functions that return int return 0 or -1; a caller who wants the reason
 * passes a struct bl_err * (NULL is allowed). bl_err_set() returns -1 so an
 * error path is one line:
 *	return bl_err_set(err, BL_EINVAL, "rule name=%s: unknown", name);
 */
#ifndef BL_ERR_H
#define BL_ERR_H

#include <stddef.h>

enum bl_errcode {
	BL_OK = 0,
	BL_EINVAL,	/* bad input: a value out of range, a wrong type */
	BL_EPARSE,	/* malformed input: JSON, CSV, a number */
	BL_ENOENT,	/* something named does not exist */
	BL_ECONFLICT,	/* the request conflicts with the current state */
	BL_ENOMEM,
	BL_EIO,		/* a system call failed */
	BL_ENET,	/* a peer could not be reached */
	BL_ETIMEOUT,
	BL_EDB,		/* the database failed */
	BL_EAUTH,	/* authentication or signature refused */
	BL_ETOOBIG,	/* a size limit was passed */
	BL_EUNAVAIL,	/* a dependency is down; try again later */
};

#define BL_ERR_MSG_MAX 512

struct bl_err {
	int	code;
	char	msg[BL_ERR_MSG_MAX];
};

/* Records code and message in err (if not NULL). Always returns -1. */
int		bl_err_set(struct bl_err *err, int code, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* Prefixes err's message with "prefix: ". Returns -1. */
int		bl_err_wrap(struct bl_err *err, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		bl_err_clear(struct bl_err *err);
/* Stable snake_case name of code, e.g. "invalid". */
const char	*bl_err_code_name(int code);

#endif
