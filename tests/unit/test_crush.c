/* tests/unit/test_crush.c - the CRUSH engine: hash, straw2, choose
 * semantics, bad maps, the golden vectors from libcrush, and straw2's
 * minimal-movement property. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/file.h"
#include "placement/crush.h"

/* --- helpers ---------------------------------------------------------------- */

/* A flat map: n devices with the given weights in one straw2 root, and a
 * rule "flat" (choose_firstn 0 type device) and "flat_indep". */
static struct plc_crush *
flat_map(int n, const uint32_t *weights)
{
	struct plc_crush *c = plc_crush_new();
	struct plc_crush_step firstn[3] = {
		{ PLC_CRUSH_TAKE, -1, 0 },
		{ PLC_CRUSH_CHOOSE_FIRSTN, 0, 0 },
		{ PLC_CRUSH_EMIT, 0, 0 },
	};
	struct plc_crush_step indep[3] = {
		{ PLC_CRUSH_TAKE, -1, 0 },
		{ PLC_CRUSH_CHOOSE_INDEP, 0, 0 },
		{ PLC_CRUSH_EMIT, 0, 0 },
	};
	int items[64];
	struct bl_err err;

	assert_non_null(c);
	assert_int_equal(plc_crush_add_type(c, 0, "osd", &err), 0);
	assert_int_equal(plc_crush_add_type(c, 1, "root", &err), 0);
	for (int i = 0; i < n; i++) {
		char name[16];

		snprintf(name, sizeof(name), "osd.%d", i);
		assert_int_equal(plc_crush_add_device(c, i, name, &err), 0);
		items[i] = i;
	}
	assert_int_equal(plc_crush_add_bucket(c, -1, "root", 1,
	    PLC_CRUSH_STRAW2, items, weights, n, &err), 0);
	assert_int_equal(plc_crush_add_rule(c, 0, "flat", firstn, 3, &err), 0);
	assert_int_equal(plc_crush_add_rule(c, 1, "flat_indep", indep, 3, &err),
	    0);
	assert_int_equal(plc_crush_finalize(c, &err), 0);
	return c;
}

static int
map_one(const struct plc_crush *c, int rule, uint32_t x, int *out, int n,
    const uint32_t *w, int nw)
{
	char scratch[65536];

	assert_true(plc_crush_scratch_size(c, n) <= sizeof(scratch));
	plc_crush_scratch_init(c, n, scratch);
	return plc_crush_do_rule(c, rule, x, out, n, w, nw, scratch);
}

static const char *
golden_dir(void)
{
	const char *d = getenv("BALLAST_GOLDEN");

	return d ? d : "tests/golden";
}

/* --- hash and ln ---------------------------------------------------------- */

static void
test_crush__hash_is_rjenkins1(void **state)
{
	(void)state;
	/* Pinned values: the golden vectors below only match with the exact
	 * rjenkins1 family, so these guard against a silent change. */
	assert_int_not_equal(plc_crush_hash2(1, 2), plc_crush_hash2(2, 1));
	assert_int_not_equal(plc_crush_hash3(1, 2, 3),
	    plc_crush_hash3(1, 2, 4));
	assert_int_equal(plc_crush_hash2(0x12345678, 0x9abcdef0), 0x43e2381fu);
	assert_int_equal(plc_crush_hash3(1, 2, 3), 0x735ad42bu);
	assert_int_equal(plc_crush_hash4(1, 2, 3, 4), 0x696d1f16u);
	assert_int_equal(plc_crush_hash5(1, 2, 3, 4, 5), 0x4b42a1a1u);
}

static void
test_crush__ln_spans_its_range(void **state)
{
	(void)state;
	/* crush_ln(u) ~ 2^44 log2(u + 1): 0 at u = 0, about 2^48 at 0xffff. */
	assert_int_equal(plc_crush_ln(0), 0);
	assert_true(plc_crush_ln(0xffff) <= 0x1000000000000ULL);
	assert_true(plc_crush_ln(0xffff) > 0xfff000000000ULL);
	assert_true(plc_crush_ln(1) == 1ULL << 44);
	assert_true(plc_crush_ln(3) == 2ULL << 44);
}

/* --- straw2 ---------------------------------------------------------------- */

static void
test_crush__straw2_single_item_always_wins(void **state)
{
	int32_t id = 42;
	uint32_t w = 0x10000;

	(void)state;
	for (uint32_t x = 0; x < 1000; x++)
		assert_int_equal(plc_crush_straw2_choose(&id, &w, 1, x, 0), 0);
}

static void
test_crush__straw2_zero_weight_never_wins(void **state)
{
	int32_t ids[3] = { 0, 1, 2 };
	uint32_t w[3] = { 0x10000, 0, 0x10000 };
	uint32_t none[3] = { 0, 0, 0 };

	(void)state;
	for (uint32_t x = 0; x < 5000; x++)
		assert_int_not_equal(plc_crush_straw2_choose(ids, w, 3, x, 1), 1);
	/* All weights zero: libcrush keeps the first item. */
	assert_int_equal(plc_crush_straw2_choose(ids, none, 3, 7, 0), 0);
	assert_true(plc_crush_straw2_draw(1, 2, 3, 0) == INT64_MIN);
}

/* The chooser skips most divisions and hashes several items at once; it
 * must still pick what libcrush's loop picks: the first item with the
 * strictly largest draw. Repeated ids and equal weights force ties, as do
 * huge weights in the truncated division; also zero weights, weights past
 * 2^31, and bucket sizes on both sides of the SIMD width. */
static void
test_crush__straw2_choose_is_the_first_largest_draw(void **state)
{
	static const uint32_t kinds[] = { 0, 1, 0x10000, 0x10000, 0x30000,
	    0x7fffffff, 0x80000000u, 0xffffffffu, 0x10000000, 3 };
	int32_t ids[70];
	uint32_t w[70];
	uint64_t s = 88172645463325252ULL;
	long ties = 0;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t n, want = 0, got;
		int64_t high = 0;
		int same = (round & 3) == 0;

		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		n = 1 + (size_t)(s % 70);
		for (size_t i = 0; i < n; i++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			/* Repeated ids draw alike: exact ties. */
			ids[i] = i > 0 && (s & 6) == 0 ? ids[i - 1] :
			    (int32_t)(uint32_t)(s >> 20);
			w[i] = same ? kinds[(round >> 2) % 10] :
			    (s & 1) ? kinds[(s >> 8) % 10] : (uint32_t)(s >> 32);
		}
		for (size_t i = 0; i < n; i++) {
			int64_t d = plc_crush_straw2_draw((uint32_t)round, ids[i],
			    (uint32_t)round >> 3, w[i]);

			if (i > 0 && d == high)
				ties++;
			if (i == 0 || d > high) {
				want = i;
				high = d;
			}
		}
		got = plc_crush_straw2_choose(ids, w, n, (uint32_t)round,
		    (uint32_t)round >> 3);
		if (got != want)
			fail_msg("round %d n %zu: chose %zu, libcrush's loop %zu",
			    round, n, got, want);
	}
	/* The rounds did exercise equal draws. */
	assert_true(ties > 1000);
}

static void
test_crush__straw2_follows_weights(void **state)
{
	int32_t ids[2] = { 10, 11 };
	uint32_t w[2] = { 0x10000, 0x30000 };
	int wins = 0;

	(void)state;
	for (uint32_t x = 0; x < 20000; x++)
		wins += plc_crush_straw2_choose(ids, w, 2, x, 0) == 1;
	/* Item 1 weighs 3/4 of the total. */
	assert_in_range(wins, 14500, 15500);
}

static void
test_crush__reweight_zero_marks_device_out(void **state)
{
	uint32_t w[6] = { 0x10000, 0x10000, 0x10000, 0x10000, 0x10000,
	    0x10000 };
	uint32_t rw[6] = { 0x10000, 0x10000, 0, 0x10000, 0x10000, 0x10000 };
	struct plc_crush *c = flat_map(6, w);
	int out[3];

	(void)state;
	for (uint32_t x = 0; x < 2000; x++) {
		int n = map_one(c, 0, x, out, 3, rw, 6);

		assert_int_equal(n, 3);
		for (int i = 0; i < n; i++)
			assert_int_not_equal(out[i], 2);
	}
	plc_crush_free(c);
}

static void
test_crush__partial_reweight_keeps_a_share(void **state)
{
	uint32_t w[4] = { 0x10000, 0x10000, 0x10000, 0x10000 };
	uint32_t rw[4] = { 0x8000, 0x10000, 0x10000, 0x10000 };
	struct plc_crush *c = flat_map(4, w);
	int out[1], full = 0, half = 0;

	(void)state;
	for (uint32_t x = 0; x < 20000; x++) {
		if (map_one(c, 0, x, out, 1, NULL, 0) == 1 && out[0] == 0)
			full++;
		if (map_one(c, 0, x, out, 1, rw, 4) == 1 && out[0] == 0)
			half++;
	}
	/* Reweight 0.5 keeps about half of the device's first replicas. */
	assert_true(half > full * 40 / 100 && half < full * 60 / 100);
	plc_crush_free(c);
}

static void
test_crush__all_devices_out_gives_nothing(void **state)
{
	uint32_t w[3] = { 0x10000, 0x10000, 0x10000 };
	uint32_t rw[3] = { 0, 0, 0 };
	struct plc_crush *c = flat_map(3, w);
	int out[3];

	(void)state;
	assert_int_equal(map_one(c, 0, 5, out, 3, rw, 3), 0);
	assert_int_equal(map_one(c, 1, 5, out, 3, rw, 3), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(out[i], PLC_CRUSH_ITEM_NONE);
	plc_crush_free(c);
}

/* --- choose semantics ----------------------------------------------------- */

static void
test_crush__collisions_retry_to_distinct_items(void **state)
{
	uint32_t w[4] = { 0x10000, 0x10000, 0x10000, 0x10000 };
	struct plc_crush *c = flat_map(4, w);
	int out[4];

	(void)state;
	for (uint32_t x = 0; x < 3000; x++) {
		int n = map_one(c, 0, x, out, 4, NULL, 0);

		assert_int_equal(n, 4);
		for (int i = 0; i < n; i++)
			for (int j = i + 1; j < n; j++)
				assert_int_not_equal(out[i], out[j]);
	}
	plc_crush_free(c);
}

static void
test_crush__firstn_returns_fewer_when_short(void **state)
{
	uint32_t w[2] = { 0x10000, 0x10000 };
	struct plc_crush *c = flat_map(2, w);
	int out[3];

	(void)state;
	assert_int_equal(map_one(c, 0, 99, out, 3, NULL, 0), 2);
	assert_int_not_equal(out[0], out[1]);
	plc_crush_free(c);
}

static void
test_crush__indep_leaves_holes_in_place(void **state)
{
	uint32_t w[2] = { 0x10000, 0x10000 };
	struct plc_crush *c = flat_map(2, w);
	int out[3];

	(void)state;
	for (uint32_t x = 0; x < 500; x++) {
		int holes = 0;

		assert_int_equal(map_one(c, 1, x, out, 3, NULL, 0), 3);
		for (int i = 0; i < 3; i++)
			holes += out[i] == PLC_CRUSH_ITEM_NONE;
		assert_int_equal(holes, 1);
	}
	plc_crush_free(c);
}

static void
test_crush__indep_positions_are_stable_when_a_device_fails(void **state)
{
	uint32_t w[8] = { 0x10000, 0x10000, 0x10000, 0x10000, 0x10000,
	    0x10000, 0x10000, 0x10000 };
	uint32_t rw[8] = { 0x10000, 0x10000, 0x10000, 0, 0x10000, 0x10000,
	    0x10000, 0x10000 };
	struct plc_crush *c = flat_map(8, w);
	int before[4], after[4], kept = 0, other = 0;

	(void)state;
	for (uint32_t x = 0; x < 2000; x++) {
		map_one(c, 1, x, before, 4, NULL, 0);
		map_one(c, 1, x, after, 4, rw, 8);
		for (int i = 0; i < 4; i++) {
			assert_int_not_equal(after[i], 3);
			if (before[i] == 3)
				continue;
			other++;
			kept += after[i] == before[i];
		}
	}
	/* Positions that did not hold the failed device keep their item,
	 * but for the rare one whose earlier retry it reshuffles. */
	assert_true(kept * 100 >= other * 99);
	plc_crush_free(c);
}

/* --- bad maps ---------------------------------------------------------------- */

struct bad_case {
	const char	*json;
	const char	*expect;	/* substring of the error */
};

#define DEV2 "\"devices\":[{\"id\":0,\"name\":\"osd.0\"},{\"id\":1,\"name\":\"osd.1\"}],"
#define TYPES "\"types\":[{\"type_id\":0,\"name\":\"osd\"},{\"type_id\":1,\"name\":\"host\"},{\"type_id\":2,\"name\":\"root\"}],"
#define TUN ",\"tunables\":{\"choose_local_tries\":0,\"choose_local_fallback_tries\":0,\"choose_total_tries\":50,\"chooseleaf_descend_once\":1,\"chooseleaf_vary_r\":1,\"chooseleaf_stable\":1}"
#define ROOT(items, w) "{\"id\":-1,\"name\":\"root\",\"type_id\":2,\"weight\":" #w ",\"alg\":\"straw2\",\"hash\":\"rjenkins1\",\"items\":[" items "]}"
#define RULE(take) "\"rules\":[{\"rule_id\":0,\"rule_name\":\"r\",\"steps\":[{\"op\":\"take\",\"item\":" #take "},{\"op\":\"choose_firstn\",\"num\":0,\"type\":\"osd\"},{\"op\":\"emit\"}]}]"
#define I0 "{\"id\":0,\"weight\":65536,\"pos\":0}"
#define I1 "{\"id\":1,\"weight\":65536,\"pos\":1}"

static const struct bad_case bad_cases[] = {
	{ "{\"devices\": [", "line 1" },
	{ "[1,2]", "top level: expected an object" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 "," I1, 131072) "]," RULE(-1)
	    "}", "tunables: missing field" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 "," I1, 131072) "]," RULE(-1)
	    TUN ",\"extra\":1}", "extra: unknown field" },
	{ "{" DEV2 TYPES "\"buckets\":[{\"id\":-1,\"name\":\"root\","
	    "\"type_id\":2,\"weight\":65536,\"alg\":\"straw2\",\"hash\":"
	    "\"rjenkins1\",\"items\":[{\"id\":0,\"weight\":65536,\"colour\":1}]"
	    "}]," RULE(-1) TUN "}", "buckets[0].items[0].colour: unknown field" },
	{ "{" DEV2 TYPES "\"buckets\":[{\"id\":-1,\"name\":\"root\","
	    "\"type_id\":2,\"weight\":65536,\"alg\":\"straw3\",\"hash\":"
	    "\"rjenkins1\",\"items\":[" I0 "]}]," RULE(-1) TUN "}",
	    "buckets[0].alg: unknown alg \"straw3\"" },
	{ "{" DEV2 TYPES "\"buckets\":[{\"id\":-1,\"name\":\"root\","
	    "\"type_id\":2,\"weight\":65536,\"alg\":\"straw2\",\"hash\":"
	    "\"md5\",\"items\":[" I0 "]}]," RULE(-1) TUN "}",
	    "buckets[0].hash: unknown hash" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 ",{\"id\":7,\"weight\":65536}",
	    131072) "]," RULE(-1) TUN "}",
	    "buckets[0].items[1].id: dangling item 7" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 ",{\"id\":-9,\"weight\":65536}",
	    131072) "]," RULE(-1) TUN "}",
	    "buckets[0].items[1].id: dangling item -9" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT("{\"id\":-2,\"weight\":65536},"
	    "{\"id\":-3,\"weight\":65536}", 131072) ","
	    "{\"id\":-2,\"name\":\"a\",\"type_id\":1,\"weight\":65536,\"alg\":"
	    "\"straw2\",\"hash\":\"rjenkins1\",\"items\":[{\"id\":-4,\"weight\":"
	    "65536}]},"
	    "{\"id\":-3,\"name\":\"b\",\"type_id\":1,\"weight\":65536,\"alg\":"
	    "\"straw2\",\"hash\":\"rjenkins1\",\"items\":[{\"id\":-4,\"weight\":"
	    "65536}]},"
	    "{\"id\":-4,\"name\":\"c\",\"type_id\":1,\"weight\":65536,\"alg\":"
	    "\"straw2\",\"hash\":\"rjenkins1\",\"items\":[" I0 "]}],"
	    RULE(-1) TUN "}", "bucket -4 used twice" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0, 65536) "," ROOT(I1, 65536)
	    "]," RULE(-1) TUN "}", "bucket -1 declared twice" },
	{ "{" DEV2 TYPES "\"buckets\":["
	    "{\"id\":-2,\"name\":\"a\",\"type_id\":1,\"weight\":65536,\"alg\":"
	    "\"straw2\",\"hash\":\"rjenkins1\",\"items\":[{\"id\":-3,\"weight\":"
	    "65536}]},"
	    "{\"id\":-3,\"name\":\"b\",\"type_id\":1,\"weight\":65536,\"alg\":"
	    "\"straw2\",\"hash\":\"rjenkins1\",\"items\":[{\"id\":-2,\"weight\":"
	    "65536}]}],"
	    RULE(-2) TUN "}", "cycle" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 ",{\"id\":1,\"weight\":-5}",
	    131072) "]," RULE(-1) TUN "}", "negative weight -5" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 "," I1, 99999) "]," RULE(-1)
	    TUN "}", "buckets[0].weight: 99999 is not the sum" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 "," I1, 131072) "]," RULE(-5)
	    TUN "}", "rules[0].steps[0].item: takes unknown item -5" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 "," I1, 131072) "],"
	    "\"rules\":[{\"rule_id\":0,\"rule_name\":\"r\",\"steps\":[{\"op\":"
	    "\"take\",\"item\":-1},{\"op\":\"spin\"}]}]" TUN "}",
	    "rules[0].steps[1].op: unknown op \"spin\"" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 "," I1, 131072) "],"
	    "\"rules\":[{\"rule_id\":0,\"rule_name\":\"r\",\"steps\":[{\"op\":"
	    "\"take\",\"item\":-1},{\"op\":\"chooseleaf_firstn\",\"num\":0,"
	    "\"type\":\"pod\"}]}]" TUN "}",
	    "rules[0].steps[1].type: unknown type \"pod\"" },
	{ "{" TYPES "\"buckets\":[]," RULE(-1) TUN "}",
	    "devices: missing field" },
	{ "{" DEV2 TYPES "\"buckets\":[{\"id\":-1,\"name\":\"root\","
	    "\"type_id\":2,\"weight\":65536,\"alg\":\"straw2\",\"items\":["
	    I0 "]}]," RULE(-1) TUN "}", "buckets[0].hash: missing field" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 "," I1, 131072) "]," RULE(-1)
	    TUN ",\"choose_args\":{\"1\":[]}}", "choose_args" },
	{ "{\"devices\":[{\"id\":\"zero\",\"name\":\"osd.0\"}]}",
	    "devices[0].id: expected an integer" },
	{ "{" DEV2 TYPES "\"buckets\":[" ROOT(I0 "," I1, 131072) "],"
	    "\"rules\":[{\"rule_id\":0,\"rule_name\":\"r\",\"steps\":[{"
	    "\"opcode\":99,\"arg1\":0,\"arg2\":0}]}]" TUN "}",
	    "rules[0].steps[0].opcode: 99 is not a known set_* opcode" },
};

static void
test_crush__bad_maps_are_refused_with_their_path(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct bl_err err = { 0 };
		struct plc_crush *c = plc_crush_from_json(bad_cases[i].json,
		    strlen(bad_cases[i].json), &err);

		if (c != NULL || strstr(err.msg, bad_cases[i].expect) == NULL)
			fail_msg("case %zu: want error containing \"%s\", got "
			    "\"%s\"", i, bad_cases[i].expect,
			    c ? "(loaded)" : err.msg);
	}
}

/* A chain of buckets deeper than the limit is refused, not recursed. */
static void
test_crush__depth_past_limit_is_refused(void **state)
{
	char *json = malloc(1 << 16);
	struct bl_err err;
	int len;

	(void)state;
	len = sprintf(json, "{" DEV2 TYPES "\"buckets\":[");
	for (int i = 1; i <= PLC_CRUSH_MAX_DEPTH + 2; i++) {
		if (i <= PLC_CRUSH_MAX_DEPTH + 1)
			len += sprintf(json + len, "{\"id\":%d,\"name\":\"b%d\","
			    "\"type_id\":1,\"weight\":65536,\"alg\":\"straw2\","
			    "\"hash\":\"rjenkins1\",\"items\":[{\"id\":%d,"
			    "\"weight\":65536}]},", -i, i, -(i + 1));
		else
			len += sprintf(json + len, "{\"id\":%d,\"name\":\"b%d\","
			    "\"type_id\":1,\"weight\":65536,\"alg\":\"straw2\","
			    "\"hash\":\"rjenkins1\",\"items\":[" I0 "]}", -i, i);
	}
	len += sprintf(json + len, "]," RULE(-1) TUN "}");
	assert_null(plc_crush_from_json(json, (size_t)len, &err));
	assert_non_null(strstr(err.msg, "past the limit"));
	free(json);
}

/* --- golden vectors --------------------------------------------------------- */

/* Runs one golden file: its first line is the command, the rest the
 * expected "x item item ..." lines. */
static void
check_golden(const char *dir, const char *file)
{
	char path[1024], line[4096], mapfile[512] = "", rule[128] = "";
	char *tok, *save, *text;
	long long from = 0, to = 0;
	size_t tlen;
	int replicas = 0, ruleno, nw, lines = 0;
	uint32_t *w;
	struct plc_crush *c;
	struct bl_err err;
	void *scratch;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	line[strcspn(line, "\n")] = '\0';
	/* First pass for the map and rule, then the reweights. */
	{
		char copy[4096];

		snprintf(copy, sizeof(copy), "%s", line);
		for (tok = strtok_r(copy, " ", &save); tok;
		    tok = strtok_r(NULL, " ", &save)) {
			char *val = NULL;

			if (tok[0] == '-' && tok[1] == '-')
				val = strtok_r(NULL, " ", &save);
			if (val == NULL)
				continue;
			if (strcmp(tok, "--crushmap") == 0)
				snprintf(mapfile, sizeof(mapfile), "%s/%s", dir,
				    val);
			else if (strcmp(tok, "--rule") == 0)
				snprintf(rule, sizeof(rule), "%s", val);
			else if (strcmp(tok, "--replicas") == 0)
				replicas = atoi(val);
			else if (strcmp(tok, "--from") == 0)
				from = atoll(val);
			else if (strcmp(tok, "--to") == 0)
				to = atoll(val);
		}
	}
	if ((text = bl_read_file(mapfile, PLC_CRUSH_JSON_MAX, &tlen, &err)) ==
	    NULL)
		fail_msg("%s: %s", file, err.msg);
	c = plc_crush_from_json(text, tlen, &err);
	free(text);
	if (c == NULL)
		fail_msg("%s: %s: %s", file, mapfile, err.msg);
	ruleno = plc_crush_find_rule(c, rule);
	assert_true(ruleno >= 0);
	nw = plc_crush_max_devices(c);
	w = calloc((size_t)nw + 1, sizeof(*w));
	for (int i = 0; i < nw; i++)
		w[i] = plc_crush_item_name(c, i) ? 0x10000 : 0;
	for (tok = strtok_r(line, " ", &save); tok;
	    tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, "--reweight") == 0) {
			char *v = strtok_r(NULL, " ", &save);
			int id = atoi(v);

			assert_true(id < nw);
			w[id] = (uint32_t)atol(strchr(v, ':') + 1);
		}
	}
	scratch = malloc(plc_crush_scratch_size(c, replicas));
	plc_crush_scratch_init(c, replicas, scratch);
	for (long long x = from; x <= to; x++) {
		char got[512];
		int out[PLC_CRUSH_MAX_RESULT], n, len;

		n = plc_crush_do_rule(c, ruleno, (uint32_t)x, out, replicas, w,
		    nw, scratch);
		len = snprintf(got, sizeof(got), "%lld", x);
		for (int i = 0; i < n; i++) {
			if (out[i] == PLC_CRUSH_ITEM_NONE)
				len += snprintf(got + len, sizeof(got) -
				    (size_t)len, " none");
			else
				len += snprintf(got + len, sizeof(got) -
				    (size_t)len, " %d", out[i]);
		}
		assert_non_null(fgets(line, sizeof(line), f));
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, got) != 0)
			fail_msg("%s: want \"%s\", got \"%s\"", file, line, got);
		lines++;
	}
	assert_int_equal(lines, to - from + 1);
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	free(scratch);
	free(w);
	plc_crush_free(c);
}

static void
test_crush__golden_vectors_match_libcrush(void **state)
{
	char dir[512];
	struct dirent *de;
	DIR *d;
	int files = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/crush", golden_dir());
	d = opendir(dir);
	if (d == NULL)
		fail_msg("golden directory %s: cannot open (set BALLAST_GOLDEN)",
		    dir);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 7 && strcmp(de->d_name + len - 7, ".expect") == 0) {
			check_golden(dir, de->d_name);
			files++;
		}
	}
	closedir(d);
	assert_true(files >= 5);
}

/* --- straw2's property ------------------------------------------------------ */

static void
test_crush__weight_change_moves_only_to_or_from_that_device(void **state)
{
	int32_t ids[10];
	uint32_t before[10], after[10];
	int moved = 0;

	(void)state;
	for (int i = 0; i < 10; i++) {
		ids[i] = i;
		before[i] = after[i] = 0x10000;
	}
	after[4] = 0x18000;	/* device 4 grows by half */
	for (uint32_t x = 0; x < 50000; x++) {
		for (uint32_t r = 0; r < 3; r++) {
			size_t a = plc_crush_straw2_choose(ids, before, 10, x, r);
			size_t b = plc_crush_straw2_choose(ids, after, 10, x, r);

			if (a != b) {
				assert_int_equal(b, 4);
				moved++;
			}
		}
	}
	/* The ideal share moved: 1.5/10.5 - 1/10 = 4.3% of 150,000. */
	assert_in_range(moved, 5000, 7800);

	/* Shrinking it moves data only away from it. */
	after[4] = 0x8000;
	for (uint32_t x = 0; x < 50000; x++) {
		size_t a = plc_crush_straw2_choose(ids, before, 10, x, 0);
		size_t b = plc_crush_straw2_choose(ids, after, 10, x, 0);

		if (a != b)
			assert_int_equal(a, 4);
	}
}

/* --- the cluster's CRUSH view ----------------------------------------------- */

static struct plc_cluster *
make_cluster(int nodes, const char *extra_id)
{
	struct plc_cluster *cl = calloc(1, sizeof(*cl));
	int n = nodes + (extra_id != NULL);

	cl->nodes = calloc((size_t)n, sizeof(*cl->nodes));
	cl->n = (size_t)n;
	for (int i = 0; i < n; i++) {
		struct plc_node *nd = &cl->nodes[i];
		char buf[64];

		if (i < nodes)
			snprintf(buf, sizeof(buf), "n%03d", i);
		else
			snprintf(buf, sizeof(buf), "%s", extra_id);
		nd->id = strdup(buf);
		nd->region = strdup("r1");
		snprintf(buf, sizeof(buf), "dc%d", i % 2);
		nd->datacenter = strdup(buf);
		snprintf(buf, sizeof(buf), "rack%d", i % 3);
		nd->rack = strdup(buf);
		snprintf(buf, sizeof(buf), "host%d", i);
		nd->host = strdup(buf);
		nd->capacity_bytes = 1ULL << 40;
		nd->weight = 1.0;
		nd->state = PLC_NODE_IN;
		nd->reachable = 1;
	}
	return cl;
}

static void
free_cluster(struct plc_cluster *cl)
{
	for (size_t i = 0; i < cl->n; i++) {
		free(cl->nodes[i].id);
		free(cl->nodes[i].region);
		free(cl->nodes[i].datacenter);
		free(cl->nodes[i].rack);
		free(cl->nodes[i].host);
	}
	free(cl->nodes);
	free(cl);
}

/* Maps x through rule and writes the node ids' indices of cl. */
static int
map_cluster(const struct plc_crush *c, const char *rule, uint32_t x, int *out)
{
	return map_one(c, plc_crush_find_rule(c, rule), x, out, 2, NULL, 0);
}

static void
test_crush__cluster_rule_keeps_copies_in_distinct_domains(void **state)
{
	struct plc_cluster *cl = make_cluster(12, NULL);
	struct bl_err err;
	struct plc_crush *c = plc_crush_from_cluster(cl, &err);
	int out[2];

	(void)state;
	assert_non_null(c);
	for (uint32_t x = 0; x < 2000; x++) {
		assert_int_equal(map_cluster(c, "ballast_datacenter", x, out), 2);
		assert_string_not_equal(cl->nodes[out[0]].datacenter,
		    cl->nodes[out[1]].datacenter);
		assert_int_equal(map_cluster(c, "ballast_rack", x, out), 2);
		/* A rack is named within its datacenter. */
		assert_false(strcmp(cl->nodes[out[0]].datacenter,
		    cl->nodes[out[1]].datacenter) == 0 &&
		    strcmp(cl->nodes[out[0]].rack, cl->nodes[out[1]].rack) == 0);
	}
	plc_crush_free(c);
	free_cluster(cl);
}

static void
test_crush__cluster_skips_nodes_that_are_not_in(void **state)
{
	struct plc_cluster *cl = make_cluster(6, NULL);
	struct bl_err err;
	struct plc_crush *c;
	int out[2];

	(void)state;
	cl->nodes[1].state = PLC_NODE_DRAINING;
	cl->nodes[2].state = PLC_NODE_OUT;
	cl->nodes[3].reachable = 0;
	c = plc_crush_from_cluster(cl, &err);
	assert_non_null(c);
	for (uint32_t x = 0; x < 2000; x++) {
		int n = map_cluster(c, "ballast_host", x, out);

		for (int i = 0; i < n; i++)
			assert_true(out[i] == 0 || out[i] == 4 || out[i] == 5);
	}
	plc_crush_free(c);
	free_cluster(cl);
}

static void
test_crush__adding_a_node_moves_data_only_into_its_branch(void **state)
{
	struct plc_cluster *a = make_cluster(12, NULL);
	struct plc_cluster *b = make_cluster(12, "n999");
	struct bl_err err;
	struct plc_crush *ca = plc_crush_from_cluster(a, &err);
	struct plc_crush *cb = plc_crush_from_cluster(b, &err);
	int oa[2], ob[2], moved = 0, total = 0, elsewhere = 0;
	const struct plc_node *nn = &b->nodes[12];

	(void)state;
	assert_non_null(ca);
	assert_non_null(cb);
	for (uint32_t x = 0; x < 20000; x++) {
		int na = map_cluster(ca, "ballast_host", x, oa);
		int nb = map_cluster(cb, "ballast_host", x, ob);

		assert_int_equal(na, nb);
		for (int i = 0; i < nb; i++) {
			const struct plc_node *nd = &b->nodes[ob[i]];
			int kept = 0;

			total++;
			for (int j = 0; j < na; j++)
				kept |= strcmp(a->nodes[oa[j]].id, nd->id) == 0;
			if (kept)
				continue;
			moved++;
			/* A new copy lands in the new node's branch, but for
			 * the rare retry that a collision reshuffles. */
			elsewhere += strcmp(nd->datacenter, nn->datacenter) != 0;
		}
	}
	/* One node in 13: about 1/13 of the copies move, not a reshuffle. */
	assert_true(moved > total / 30 && moved < total / 6);
	assert_true(elsewhere * 20 < moved);
	plc_crush_free(ca);
	plc_crush_free(cb);
	free_cluster(a);
	free_cluster(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crush__hash_is_rjenkins1),
		cmocka_unit_test(test_crush__ln_spans_its_range),
		cmocka_unit_test(test_crush__straw2_single_item_always_wins),
		cmocka_unit_test(test_crush__straw2_zero_weight_never_wins),
		cmocka_unit_test(test_crush__straw2_follows_weights),
		cmocka_unit_test(
		    test_crush__straw2_choose_is_the_first_largest_draw),
		cmocka_unit_test(test_crush__reweight_zero_marks_device_out),
		cmocka_unit_test(test_crush__partial_reweight_keeps_a_share),
		cmocka_unit_test(test_crush__all_devices_out_gives_nothing),
		cmocka_unit_test(test_crush__collisions_retry_to_distinct_items),
		cmocka_unit_test(test_crush__firstn_returns_fewer_when_short),
		cmocka_unit_test(test_crush__indep_leaves_holes_in_place),
		cmocka_unit_test(
		    test_crush__indep_positions_are_stable_when_a_device_fails),
		cmocka_unit_test(
		    test_crush__bad_maps_are_refused_with_their_path),
		cmocka_unit_test(test_crush__depth_past_limit_is_refused),
		cmocka_unit_test(test_crush__golden_vectors_match_libcrush),
		cmocka_unit_test(
		    test_crush__weight_change_moves_only_to_or_from_that_device),
		cmocka_unit_test(
		    test_crush__cluster_rule_keeps_copies_in_distinct_domains),
		cmocka_unit_test(test_crush__cluster_skips_nodes_that_are_not_in),
		cmocka_unit_test(
		    test_crush__adding_a_node_moves_data_only_into_its_branch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
