/* lib/uuid.h - UUID validation and generation.
 *
 * The canonical form is 36 characters, lowercase hex in 8-4-4-4-12 groups,
 * e.g. "3f2a0c1e-6b7d-4e8f-9a0b-1c2d3e4f5a6b". Only that form is valid:
 * it is what ids turn into on disk, so no other spelling may alias it.
 */
#ifndef BL_UUID_H
#define BL_UUID_H

#include <stddef.h>

#define BL_UUID_LEN 36

/* 1 if s is a canonical lowercase UUID, else 0. s may be NULL. */
int	bl_uuid_valid(const char *s);
/* 1 if the first n bytes of s are a canonical UUID, else 0. */
int	bl_uuid_valid_n(const char *s, size_t n);
/* Writes a random (version 4) UUID and a NUL to out. 0 or -1. */
int	bl_uuid_generate(char out[BL_UUID_LEN + 1]);

#endif
