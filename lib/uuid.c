/* lib/uuid.c - UUID validation and generation. */
#include "lib/uuid.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

int
bl_uuid_valid_n(const char *s, size_t n)
{
	if (s == NULL || n != BL_UUID_LEN)
		return 0;
	for (size_t i = 0; i < BL_UUID_LEN; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

int
bl_uuid_valid(const char *s)
{
	if (s == NULL)
		return 0;
	return bl_uuid_valid_n(s, strnlen(s, BL_UUID_LEN + 1));
}

int
bl_uuid_generate(char out[BL_UUID_LEN + 1])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, BL_UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}
