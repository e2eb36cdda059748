/* lib/sign.c - HMAC-SHA256 request signing (see docs/signing.md). */
#include "lib/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

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

/* SHA-256 and HMAC, fetched once for the process. EVP_sha256() and the
 * one-shot HMAC() look them up again on every call, and that lookup cost
 * more than the hashing of a request. */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256;
static EVP_MAC *hmac;

static void
fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static int
digest(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 0;

	pthread_once(&fetch_once, fetch);
	return sha256 != NULL && EVP_Digest(p, n, out, &len, sha256,
	    NULL) == 1 && len == 32 ? 0 : -1;
}

static int
compute(const void *key, size_t keylen, const char *method,
    const char *target, const void *body, size_t bodylen, const char *date,
    unsigned char mac[32])
{
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	unsigned char h[32];
	char hhex[65];
	EVP_MAC_CTX *ctx;
	size_t maclen = 0;
	char *canon;
	size_t clen;
	int ok;

	if (digest(body ? body : "", body ? bodylen : 0, h) == -1 ||
	    hmac == NULL)
		return -1;
	to_hex(h, 32, hhex);
	clen = strlen(BL_SIGN_SCHEME) + strlen(method) + strlen(target) +
	    strlen(date) + 64 + 5;
	if ((canon = malloc(clen)) == NULL)
		return -1;
	snprintf(canon, clen, "%s\n%s\n%s\n%s\n%s", BL_SIGN_SCHEME, method,
	    target, date, hhex);
	ok = (ctx = EVP_MAC_CTX_new(hmac)) != NULL &&
	    EVP_MAC_init(ctx, key, keylen, params) == 1 &&
	    EVP_MAC_update(ctx, (unsigned char *)canon, strlen(canon)) == 1 &&
	    EVP_MAC_final(ctx, mac, &maclen, 32) == 1 && maclen == 32;
	EVP_MAC_CTX_free(ctx);
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

int
bl_sign_secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned char ha[32], hb[32];
	int eq;

	if (a == NULL || b == NULL)
		return 0;
	if (digest(a, alen, ha) == -1 || digest(b, blen, hb) == -1)
		return 0;
	eq = CRYPTO_memcmp(ha, hb, 32) == 0 && alen == blen;
	OPENSSL_cleanse(ha, sizeof(ha));
	OPENSSL_cleanse(hb, sizeof(hb));
	return eq;
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
