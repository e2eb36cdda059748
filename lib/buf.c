/* lib/buf.c - a growable byte buffer. */
#include "lib/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
bl_buf_init(struct bl_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
bl_buf_release(struct bl_buf *b)
{
	free(b->p);
	bl_buf_init(b);
}

int
bl_buf_grow(struct bl_buf *b, size_t n)
{
	size_t cap;
	char *np;

	if (b->oom)
		return -1;
	if (n < b->cap - b->len)		/* room for n and the NUL */
		return 0;
	if (n > SIZE_MAX / 2 - b->len - 1) {
		b->oom = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	if ((np = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

int
bl_buf_add(struct bl_buf *b, const void *p, size_t n)
{
	if (bl_buf_grow(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
bl_buf_vaddf(struct bl_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (b->oom)
		return -1;
	/* Most adds fit what is left; try that first. */
	va_copy(cp, ap);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0,
	    fmt, cp);
	va_end(cp);
	if (n < 0) {
		b->oom = 1;
		return -1;
	}
	if (b->p == NULL || (size_t)n >= b->cap - b->len) {
		if (bl_buf_grow(b, (size_t)n) == -1)
			return -1;
		va_copy(cp, ap);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, cp);
		va_end(cp);
		if (n < 0) {
			b->oom = 1;
			return -1;
		}
	}
	b->len += (size_t)n;
	return 0;
}

int
bl_buf_addf(struct bl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bl_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *
bl_buf_detach(struct bl_buf *b, size_t *len)
{
	char *p;

	if (!b->oom && b->p == NULL)
		bl_buf_grow(b, 0);
	if (b->oom) {
		bl_buf_release(b);
		return NULL;
	}
	p = b->p;
	p[b->len] = '\0';
	if (len != NULL)
		*len = b->len;
	bl_buf_init(b);
	return p;
}
