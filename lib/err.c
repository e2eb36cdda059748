/* lib/err.c - error values that carry a reason. */
#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
bl_err_set(struct bl_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
bl_err_wrap(struct bl_err *err, const char *fmt, ...)
{
	char prefix[BL_ERR_MSG_MAX], old[BL_ERR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* A long message is cut; using the result keeps gcc's
	 * -Wformat-truncation quiet under DEV=1. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) < 0)
		err->msg[0] = '\0';
	return -1;
}

void
bl_err_clear(struct bl_err *err)
{
	if (err == NULL)
		return;
	err->code = BL_OK;
	err->msg[0] = '\0';
}

const char *
bl_err_code_name(int code)
{
	switch (code) {
	case BL_OK:		return "ok";
	case BL_EINVAL:		return "invalid";
	case BL_EPARSE:		return "malformed";
	case BL_ENOENT:		return "not_found";
	case BL_ECONFLICT:	return "conflict";
	case BL_ENOMEM:		return "out_of_memory";
	case BL_EIO:		return "io_error";
	case BL_ENET:		return "network_error";
	case BL_ETIMEOUT:	return "timeout";
	case BL_EDB:		return "database_error";
	case BL_EAUTH:		return "unauthorized";
	case BL_ETOOBIG:	return "too_large";
	case BL_EUNAVAIL:	return "unavailable";
	}
	return "unknown";
}
