/* lib/file.c - whole-file reads and full writes. */
#include "lib/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"

/* "256 MiB" when max is whole MiB, else "1000 bytes". */
static int
too_big(struct bl_err *err, const char *path, size_t max)
{
	if (max >= (1u << 20) && max % (1u << 20) == 0)
		return bl_err_set(err, BL_ETOOBIG, "%s: larger than %zu MiB",
		    path, max >> 20);
	return bl_err_set(err, BL_ETOOBIG, "%s: larger than %zu bytes", path,
	    max);
}

char *
bl_read_file(const char *path, size_t max, size_t *len, struct bl_err *err)
{
	struct bl_buf b = BL_BUF_INIT;
	struct stat st;
	size_t chunk = 65536;
	ssize_t n;
	char *out;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		bl_err_set(err, BL_EIO, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	/* A regular file's size is known: read it in one allocation, with a
	 * byte to spare to see the end. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		if (max != 0 && (uintmax_t)st.st_size > max) {
			too_big(err, path, max);
			goto fail;
		}
		chunk = (size_t)st.st_size + 1;
	}
	for (;;) {
		if (b.len + 1 >= b.cap && bl_buf_grow(&b, chunk) == -1) {
			bl_err_set(err, BL_ENOMEM, "%s: out of memory", path);
			goto fail;
		}
		n = read(fd, b.p + b.len, b.cap - b.len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			bl_err_set(err, BL_EIO, "%s: read error: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		if (max != 0 && b.len > max) {
			too_big(err, path, max);
			goto fail;
		}
		chunk = 65536;
	}
	close(fd);
	if ((out = bl_buf_detach(&b, len)) == NULL)
		bl_err_set(err, BL_ENOMEM, "%s: out of memory", path);
	return out;
fail:
	close(fd);
	bl_buf_release(&b);
	return NULL;
}

int
bl_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
