/* placement/crush_draw.h - private to placement/: the rjenkins1 hash, the
 * fixed-point logarithm and the straw2 choice as inline code, so that the
 * mapper's inner loop is one function. crush_hash.c wraps them in the
 * public plc_crush_hash*() and plc_crush_straw2_*() calls.
 *
 * Every result here must equal libcrush's bit for bit: a change moves data.
 */
#ifndef PLC_CRUSH_DRAW_H
#define PLC_CRUSH_DRAW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PLC_CRUSH_HASH_SEED	1315423911u
#define PLC_CRUSH_HASH_X	231232u
#define PLC_CRUSH_HASH_Y	1232u

/* Bob Jenkins' 96-bit mix, as CRUSH uses it. It works on scalars and on
 * GCC vectors alike. */
#define PLC_CRUSH_MIX(a, b, c) do {					\
	a -= b; a -= c; a ^= c >> 13;					\
	b -= c; b -= a; b ^= a << 8;					\
	c -= a; c -= b; c ^= b >> 13;					\
	a -= b; a -= c; a ^= c >> 12;					\
	b -= c; b -= a; b ^= a << 16;					\
	c -= a; c -= b; c ^= b >> 5;					\
	a -= b; a -= c; a ^= c >> 3;					\
	b -= c; b -= a; b ^= a << 10;					\
	c -= a; c -= b; c ^= b >> 15;					\
} while (0)

/* The log tables (crush_hash.c says where their values come from). */
extern const uint64_t plc_crush_ln_rh_lh[129 * 2];
extern const uint64_t plc_crush_ln_ll[256];

static inline uint32_t
plc_crush_hash3_inline(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t h = PLC_CRUSH_HASH_SEED ^ a ^ b ^ c;
	uint32_t x = PLC_CRUSH_HASH_X, y = PLC_CRUSH_HASH_Y;

	PLC_CRUSH_MIX(a, b, h);
	PLC_CRUSH_MIX(c, x, h);
	PLC_CRUSH_MIX(y, a, h);
	PLC_CRUSH_MIX(b, x, h);
	PLC_CRUSH_MIX(y, c, h);
	return h;
}

/* 2^44 * log2(u + 1) in CRUSH's fixed point, u in [0, 0xffff]. */
static inline uint64_t
plc_crush_ln_inline(uint32_t u)
{
	uint32_t x = u + 1;
	int iexpon = 15, index1, index2;
	uint64_t rh, lh, ll, result;

	/* Normalise x into [2^15, 2^17) in one shift. */
	if ((x & 0x18000) == 0) {
		int bits = __builtin_clz(x & 0x1ffff) - 16;

		x <<= bits;
		iexpon = 15 - bits;
	}
	index1 = (int)((x >> 8) << 1);
	rh = plc_crush_ln_rh_lh[index1 - 256];	/* ~ 2^56 / index1 */
	lh = plc_crush_ln_rh_lh[index1 + 1 - 256]; /* ~ 2^48 log2(index1/256) */
	index2 = (int)((((uint64_t)x * rh) >> 48) & 0xff);
	ll = plc_crush_ln_ll[index2];	/* ~ 2^48 log2(1 + index2/2^15) */

	result = (uint64_t)iexpon << (12 + 32);
	result += (lh + ll) >> (48 - 12 - 32);
	return result;
}

/*
 * The straw2 choice.
 *
 * libcrush draws, for each item of non-zero weight w,
 *	draw = (ln(u) - 2^48) / w	(signed, truncated toward zero)
 * with u the low 16 bits of hash3(x, id, r), and keeps the first item
 * with the strictly largest draw (an item of weight 0 draws INT64_MIN).
 * ln(u) < 2^48 always, so with A = 2^48 - ln(u) > 0 the draw is -(A / w)
 * in unsigned floor division, and the largest draw is the smallest
 * D = A / w. An item beats the best so far, D, exactly when
 *	floor(A / w) < D  <=>  A < D * w
 * since D is an integer. So the loop compares with one multiply and
 * divides only when the best changes, about ln(n) times for n items,
 * not n times, and picks exactly the item libcrush picks.
 *
 * The hashes are computed PLC_CRUSH_LANES at a time with GCC vector types,
 * which compile to SIMD where the target has it and to scalar code where
 * it does not; the results are the same either way.
 */
#define PLC_CRUSH_LANES	8

typedef uint32_t plc_crush_vu __attribute__((vector_size(4 * PLC_CRUSH_LANES)));

/* hash3(a_, b[k], c_) for every lane k. Vectors go by pointer: passing
 * them by value would tie the ABI to the target's SIMD width. */
static inline void
plc_crush_hash3_vec(plc_crush_vu *out, uint32_t a_, const plc_crush_vu *bp,
    uint32_t c_)
{
	plc_crush_vu zero = { 0 }, b = *bp;
	plc_crush_vu a = zero + a_, c = zero + c_;
	plc_crush_vu h = (zero + (PLC_CRUSH_HASH_SEED ^ a_ ^ c_)) ^ b;
	plc_crush_vu x = zero + PLC_CRUSH_HASH_X, y = zero + PLC_CRUSH_HASH_Y;

	PLC_CRUSH_MIX(a, b, h);
	PLC_CRUSH_MIX(c, x, h);
	PLC_CRUSH_MIX(y, a, h);
	PLC_CRUSH_MIX(b, x, h);
	PLC_CRUSH_MIX(y, c, h);
	*out = h;
}

/* Index of the straw2 winner among n > 0 items: ids hashed, weights
 * 16.16; ties go to the lower index. */
static inline uint32_t
plc_crush_straw2_pick(const int32_t *ids, const uint32_t *weights,
    uint32_t n, uint32_t x, uint32_t r)
{
	uint32_t high = 0;
	uint64_t best = 0;	/* D of the winner so far */
	int none = 1;		/* no item of non-zero weight seen yet */

	for (uint32_t i = 0; i < n; i += PLC_CRUSH_LANES) {
		plc_crush_vu idv, hv;
		uint32_t h[PLC_CRUSH_LANES];
		uint32_t m = n - i < PLC_CRUSH_LANES ? n - i : PLC_CRUSH_LANES;

		if (m == PLC_CRUSH_LANES) {
			memcpy(&idv, ids + i, sizeof(idv));
		} else {
			idv = (plc_crush_vu){ 0 };
			memcpy(&idv, ids + i, m * sizeof(*ids));
		}
		plc_crush_hash3_vec(&hv, x, &idv, r);
		memcpy(h, &hv, sizeof(h));
		for (uint32_t j = 0; j < m; j++) {
			uint32_t w = weights[i + j];
			uint64_t a, dw;

			if (w == 0)
				continue;
			a = 0x1000000000000ULL -
			    plc_crush_ln_inline(h[j] & 0xffff);
			if (none || __builtin_mul_overflow(best, (uint64_t)w,
			    &dw) || a < dw) {
				high = i + j;
				best = a / w;
				none = 0;
			}
		}
	}
	return high;
}

#endif
