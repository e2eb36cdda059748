/* lib/sign.c - HMAC-SHA256 request signing (see docs/signing.md). */
#include "lib/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static void
to_hex(const unsigned char *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
compute(const void *key, size_t keylen, const char *method,
    const char *target, const void *body, size_t bodylen, const char *date,
    unsigned char mac[32])
{
	unsigned char h[32];
	char hhex[65];
	unsigned int maclen = 0, hlen = 0;
	char *canon;
	size_t clen;
	int ok;

	if (EVP_Digest(body ? body : "", body ? bodylen : 0, h, &hlen,
	    EVP_sha256(), NULL) != 1 || hlen != 32)
		return -1;
	to_hex(h, 32, hhex);
	clen = strlen(BL_SIGN_SCHEME) + strlen(method) + strlen(target) +
	    strlen(date) + 64 + 5;
	if ((canon = malloc(clen)) == NULL)
		return -1;
	snprintf(canon, clen, "%s\n%s\n%s\n%s\n%s", BL_SIGN_SCHEME, method,
	    target, date, hhex);
	ok = HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)canon,
	    strlen(canon), mac, &maclen) != NULL && maclen == 32;
	free(canon);
	return ok ? 0 : -1;
}

int
bl_sign_request(const void *key, size_t keylen, const char *method,
    const char *target, const void *body, size_t bodylen, time_t now,
    struct bl_sign_hdrs *out)
{
	unsigned char mac[32];

	snprintf(out->date, sizeof(out->date), "%lld", (long long)now);
	if (compute(key, keylen, method, target, body, bodylen, out->date,
	    mac) == -1)
		return -1;
	to_hex(mac, 32, out->signature);
	return 0;
}

static int
parse_hex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				v |= c - 'A' + 10;
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return s[2 * n] == '\0' ? 0 : -1;
}

int
bl_sign_verify(const void *key, size_t keylen, const char *method,
    const char *target, const void *body, size_t bodylen, const char *date,
    const char *sig, time_t now, struct bl_err *err)
{
	unsigned char want[32], got[32];
	long long t;
	char *end;

	if (date == NULL || sig == NULL)
		return bl_err_set(err, BL_EAUTH, "signature missing");
	errno = 0;
	t = strtoll(date, &end, 10);
	if (errno != 0 || end == date || *end != '\0' || date[0] == '-' ||
	    date[0] == '+' || date[0] == ' ')
		return bl_err_set(err, BL_EAUTH, "signature date malformed");
	if (t < (long long)now - BL_SIGN_WINDOW ||
	    t > (long long)now + BL_SIGN_WINDOW)
		return bl_err_set(err, BL_EAUTH,
		    "signature stale: date=%lld now=%lld", t, (long long)now);
	if (strlen(sig) != 64 || parse_hex(sig, got, 32) == -1)
		return bl_err_set(err, BL_EAUTH, "signature malformed");
	if (compute(key, keylen, method, target, body, bodylen, date,
	    want) == -1)
		return bl_err_set(err, BL_EAUTH, "signature: hmac failed");
	if (CRYPTO_memcmp(want, got, 32) != 0)
		return bl_err_set(err, BL_EAUTH, "bad signature");
	return 0;
}

char *
bl_sign_read_secret(const char *path, size_t *len, struct bl_err *err)
{
	char *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		bl_err_set(err, BL_EIO, "secret file=%s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || st.st_size > 65536) {
		bl_err_set(err, BL_EINVAL, "secret file=%s: unreadable or "
		    "larger than 64 KiB", path);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		bl_err_set(err, BL_ENOMEM, "secret file=%s: out of memory",
		    path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			bl_err_set(err, BL_EIO, "secret file=%s: read failed",
			    path);
			goto fail;
		}
		got += (size_t)n;
	}
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r' ||
	    buf[got - 1] == ' ' || buf[got - 1] == '\t'))
		got--;
	buf[got] = '\0';
	if (got < BL_SIGN_MIN_SECRET) {
		bl_err_set(err, BL_EINVAL, "secret file=%s: shorter than %d "
		    "bytes", path, BL_SIGN_MIN_SECRET);
		goto fail;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	close(fd);
	return NULL;
}
