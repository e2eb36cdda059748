/* lib/buf.h - a growable byte buffer.
 *
 * The storage is the caller's (x_init/x_release); the bytes are the
 * buffer's until bl_buf_detach() hands them over. Once anything has been
 * added, p[len] is a NUL, so text can be used as a string, and binary
 * content keeps its own NULs. A failed add sets oom and every later add
 * does nothing, so a renderer may add freely and check once at the end:
 *
 *	struct bl_buf b = BL_BUF_INIT;
 *
 *	bl_buf_addf(&b, "%s %llu\n", name, v);
 *	...
 *	if (b.oom) { bl_buf_release(&b); return NULL; }
 *	return bl_buf_detach(&b, len);
 */
#ifndef BL_BUF_H
#define BL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct bl_buf {
	char	*p;	/* owns: NULL until the first add */
	size_t	 len;	/* bytes held, not counting the NUL */
	size_t	 cap;	/* bytes allocated at p */
	int	 oom;	/* an add failed; the buffer no longer grows */
};

#define BL_BUF_INIT	{ NULL, 0, 0, 0 }

void	 bl_buf_init(struct bl_buf *b);
/* Frees the bytes and leaves b empty (initialised). */
void	 bl_buf_release(struct bl_buf *b);
/* Makes room for n more bytes and the NUL after them, without changing
 * len. 0, or -1 (and oom set) when memory runs out. */
int	 bl_buf_grow(struct bl_buf *b, size_t n);
/* Appends n bytes of p. 0 or -1 (oom set). */
int	 bl_buf_add(struct bl_buf *b, const void *p, size_t n);
/* Appends printf-formatted text. 0 or -1 (oom set). */
int	 bl_buf_addf(struct bl_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 bl_buf_vaddf(struct bl_buf *b, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* Hands the NUL-terminated bytes to the caller (who frees them), writes
 * their length to len (if not NULL) and leaves b empty. An empty buffer
 * gives "" (allocated). NULL if an add failed or memory runs out; the
 * bytes are freed either way. */
char	*bl_buf_detach(struct bl_buf *b, size_t *len);

#endif
