/* tests/fuzz/fuzz_sign_verify.c - the signed-request verifier.
 *
 * The input is split at NUL bytes into method, target, date, signature and
 * body (missing pieces stay NULL, as an absent header would). Every input
 * is verified as sent; then the harness signs the same request and checks
 * that the verifier accepts it, and refuses it once one bit of the body,
 * target or signature differs. */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "lib/sign.h"

#define KEY	"fuzz-secret-0123456789abcdef"
#define NOW	((time_t)1800000000)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[5] = { NULL, NULL, NULL, NULL, NULL };
	struct bl_sign_hdrs h;
	struct bl_err err;
	size_t off = 0, body_len = 0;
	char *buf, *target2;
	int n = 0;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	while (n < 4 && off <= size) {
		part[n++] = buf + off;
		off += strlen(buf + off) + 1;
	}
	if (n == 4 && off <= size) {
		part[4] = buf + off;
		body_len = size - off;
	}
	/* As received: whatever it is, no crash and no leak. */
	(void)bl_sign_verify(KEY, strlen(KEY), part[0] ? part[0] : "GET",
	    part[1] ? part[1] : "/", part[4], body_len, part[2], part[3], NOW,
	    &err);
	if (part[0] == NULL || part[1] == NULL)
		goto out;
	/* Signed properly: accepted. */
	if (bl_sign_request(KEY, strlen(KEY), part[0], part[1], part[4],
	    body_len, NOW, &h) == -1)
		goto out;
	if (bl_sign_verify(KEY, strlen(KEY), part[0], part[1], part[4],
	    body_len, h.date, h.signature, NOW, &err) != 0)
		abort();
	/* One bit of the body, target or signature off: refused. */
	if (body_len > 0) {
		char *b = (char *)part[4];

		b[0] ^= 1;
		if (bl_sign_verify(KEY, strlen(KEY), part[0], part[1], b,
		    body_len, h.date, h.signature, NOW, &err) == 0)
			abort();
		b[0] ^= 1;
	}
	if ((target2 = malloc(strlen(part[1]) + 2)) != NULL) {
		strcpy(target2, part[1]);
		strcat(target2, "x");
		if (bl_sign_verify(KEY, strlen(KEY), part[0], target2,
		    part[4], body_len, h.date, h.signature, NOW, &err) == 0)
			abort();
		free(target2);
	}
	h.signature[63] = h.signature[63] == '0' ? '1' : '0';
	if (bl_sign_verify(KEY, strlen(KEY), part[0], part[1], part[4],
	    body_len, h.date, h.signature, NOW, &err) == 0)
		abort();
	/* Outside the window: refused. */
	h.signature[63] = h.signature[63] == '0' ? '1' : '0';
	if (bl_sign_verify(KEY, strlen(KEY), part[0], part[1], part[4],
	    body_len, h.date, h.signature, NOW + BL_SIGN_WINDOW + 1,
	    &err) == 0)
		abort();
out:
	free(buf);
	return 0;
}
