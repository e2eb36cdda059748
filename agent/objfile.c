/* agent/objfile.c - object files under the root: paths, MD5s, the scan. */
#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <openssl/evp.h>

#define MD5_XATTR "user.ballast.md5"

int
agt_obj_path(char *buf, size_t len, const char *root, const char *owner,
    const char *object_id)
{
	int n;

	if (object_id != NULL)
		n = snprintf(buf, len, "%s/%s/%s", root, owner, object_id);
	else
		n = snprintf(buf, len, "%s/%s", root, owner);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void
xattr_value(const struct stat *st, const unsigned char raw[16], char *out,
    size_t len)
{
	char b64[25];

	bl_wire_md5_b64(raw, b64);
	snprintf(out, len, "%s %lld %lld.%09ld", b64, (long long)st->st_size,
	    (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
}

int
agt_obj_md5_record(int fd, const unsigned char raw[16])
{
	struct stat st;
	char val[96];

	if (fstat(fd, &st) == -1)
		return -1;
	xattr_value(&st, raw, val, sizeof(val));
	return fsetxattr(fd, MD5_XATTR, val, strlen(val), 0);
}

int
agt_obj_md5_cached(int fd, const struct stat *st, unsigned char raw[16])
{
	char want[96], got[96], b64[25];
	ssize_t n;

	n = fgetxattr(fd, MD5_XATTR, got, sizeof(got) - 1);
	if (n <= 24)
		return -1;
	got[n] = '\0';
	memcpy(b64, got, 24);
	b64[24] = '\0';
	if (bl_wire_md5_from_b64(b64, raw) == -1)
		return -1;
	xattr_value(st, raw, want, sizeof(want));
	return strcmp(want, got) == 0 ? 0 : -1;
}

int
agt_obj_md5(int fd, const struct stat *st, unsigned char raw[16],
    struct bl_err *err)
{
	char want[96], buf[65536];
	EVP_MD_CTX *md;
	ssize_t n;
	off_t off = 0;
	unsigned int len = 0;

	if (agt_obj_md5_cached(fd, st, raw) == 0)
		return 0;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return bl_err_set(err, BL_ENOMEM, "md5: init failed");
	}
	for (;;) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			EVP_MD_CTX_free(md);
			return bl_err_set(err, BL_EIO, "md5: read: %s",
			    strerror(errno));
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
		off += n;
	}
	EVP_DigestFinal_ex(md, raw, &len);
	EVP_MD_CTX_free(md);
	if (off != st->st_size)
		return bl_err_set(err, BL_EIO, "md5: file changed while read");
	/* A cache only: a failure here (no xattr support) costs a re-read. */
	xattr_value(st, raw, want, sizeof(want));
	(void)fsetxattr(fd, MD5_XATTR, want, strlen(want), 0);
	return 0;
}

/* Files hashed on the loop, at most (see agt_obj_md5_quick). */
#define MD5_QUICK_MAX	(64 * 1024)

int
agt_obj_md5_quick(int fd, const struct stat *st, unsigned char raw[16])
{
	if (st->st_size <= MD5_QUICK_MAX)
		return agt_obj_md5(fd, st, raw, NULL);
	return agt_obj_md5_cached(fd, st, raw);
}

int
agt_fsync_dir(const char *path)
{
	int fd, rc, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	if (close(fd) == -1 && rc == 0)
		return -1;
	errno = saved;
	return rc;
}

static int
is_tmp_name(const char *name)
{
	return strlen(name) > BL_UUID_LEN + 5 &&
	    bl_uuid_valid_n(name, BL_UUID_LEN) &&
	    strncmp(name + BL_UUID_LEN, ".tmp.", 5) == 0;
}

int
agt_obj_scan(const char *root, int remove_tmp, long long *bytes,
    long long *count, long long *tmp_removed, long long *tmp_failed,
    struct bl_err *err)
{
	DIR *top, *sub;
	struct dirent *de, *se;
	char path[4096];

	*bytes = *count = *tmp_removed = *tmp_failed = 0;
	if ((top = opendir(root)) == NULL)
		return bl_err_set(err, BL_EIO, "root dir=%s: %s", root,
		    strerror(errno));
	while ((de = readdir(top)) != NULL) {
		int removed = 0;

		if (!bl_uuid_valid(de->d_name))
			continue;
		if (agt_obj_path(path, sizeof(path), root, de->d_name,
		    NULL) == -1 || (sub = opendir(path)) == NULL)
			continue;
		while ((se = readdir(sub)) != NULL) {
			struct stat st;

			if (is_tmp_name(se->d_name)) {
				if (!remove_tmp)
					continue;
				if (unlinkat(dirfd(sub), se->d_name, 0) == 0) {
					(*tmp_removed)++;
					removed = 1;
				} else {
					(*tmp_failed)++;
				}
				continue;
			}
			if (!bl_uuid_valid(se->d_name))
				continue;
			if (fstatat(dirfd(sub), se->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
				*bytes += st.st_size;
				(*count)++;
			}
		}
		closedir(sub);
		if (removed && agt_fsync_dir(path) == -1)
			(*tmp_failed)++;
	}
	closedir(top);
	return 0;
}
