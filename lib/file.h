/* lib/file.h - whole-file reads and full writes.
 *
 * Errors start with the path, e.g. "map.json: cannot open: No such file
 * or directory", so a caller can print them as they are.
 */
#ifndef BL_FILE_H
#define BL_FILE_H

#include <stddef.h>

#include "lib/err.h"

/* Reads all of path (a regular file, a pipe, /dev/stdin) and returns its
 * bytes followed by a NUL; the caller frees them. *len (if not NULL) gets
 * the length without the NUL; binary content keeps its own NULs. max
 * bounds the size (0: no bound); a longer file is BL_ETOOBIG. NULL on
 * error: BL_EIO, BL_ENOMEM or BL_ETOOBIG. */
char	*bl_read_file(const char *path, size_t max, size_t *len,
	    struct bl_err *err);
/* Writes all n bytes of p to fd, retrying short writes and EINTR. A write
 * of 0 bytes counts as ENOSPC. 0, or -1 with errno set. */
int	 bl_write_all(int fd, const void *p, size_t n);

#endif
