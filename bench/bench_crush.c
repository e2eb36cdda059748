/* bench/bench_crush.c - CRUSH mapping throughput.
 *
 * Two maps, all straw2 at weight 1.0, rule "take root; chooseleaf_firstn 0
 * type host; emit", 3 replicas, x = 0..999,999, one thread:
 *   hier1000: 10 racks x 10 hosts x 10 devices
 *   flat100x10: 100 hosts x 10 devices under the root
 * Prints BENCH lines, and each map's speed as a ratio to a baseline measured
 * in the same run: the rjenkins1 hash alone, 1,000,000 x 3 calls.
 */
#include "placement/crush.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define INPUTS 1000000u
#define REPLICAS 3

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const struct bl_err *err)
{
	fprintf(stderr, "bench_crush: %s: %s\n", what, err->msg);
	exit(1);
}

/* racks == 0: hosts hang directly under the root. */
static struct plc_crush *
build(int racks, int hosts, int devs)
{
	struct plc_crush *c = plc_crush_new();
	struct plc_crush_step steps[3] = {
		{ PLC_CRUSH_TAKE, -1, 0 },
		{ PLC_CRUSH_CHOOSELEAF_FIRSTN, 0, 1 },
		{ PLC_CRUSH_EMIT, 0, 0 },
	};
	int nracks = racks ? racks : 1, next_bucket = -2, dev = 0;
	int *top = calloc((size_t)(racks ? racks : hosts), sizeof(int));
	uint32_t *topw = calloc((size_t)(racks ? racks : hosts), sizeof(int));
	struct bl_err err;

	plc_crush_add_type(c, 0, "osd", &err);
	plc_crush_add_type(c, 1, "host", &err);
	plc_crush_add_type(c, 3, "rack", &err);
	plc_crush_add_type(c, 11, "root", &err);
	for (int r = 0; r < nracks; r++) {
		int hid[256];
		uint32_t hw[256];

		for (int h = 0; h < hosts; h++) {
			int items[64];
			uint32_t w[64];
			char name[32];

			for (int d = 0; d < devs; d++) {
				snprintf(name, sizeof(name), "osd.%d", dev);
				if (plc_crush_add_device(c, dev, name, &err) < 0)
					die("device", &err);
				items[d] = dev++;
				w[d] = 0x10000;
			}
			snprintf(name, sizeof(name), "host%d", -next_bucket);
			hid[h] = next_bucket--;
			hw[h] = (uint32_t)devs * 0x10000;
			if (plc_crush_add_bucket(c, hid[h], name, 1,
			    PLC_CRUSH_STRAW2, items, w, devs, &err) < 0)
				die("host", &err);
		}
		if (racks) {
			char name[32];

			snprintf(name, sizeof(name), "rack%d", r);
			top[r] = next_bucket--;
			topw[r] = (uint32_t)hosts * hw[0];
			if (plc_crush_add_bucket(c, top[r], name, 3,
			    PLC_CRUSH_STRAW2, hid, hw, hosts, &err) < 0)
				die("rack", &err);
		} else {
			for (int h = 0; h < hosts; h++) {
				top[h] = hid[h];
				topw[h] = hw[h];
			}
		}
	}
	if (plc_crush_add_bucket(c, -1, "root", 11, PLC_CRUSH_STRAW2, top,
	    topw, racks ? racks : hosts, &err) < 0)
		die("root", &err);
	if (plc_crush_add_rule(c, 0, "r", steps, 3, &err) < 0 ||
	    plc_crush_finalize(c, &err) < 0)
		die("rule", &err);
	free(top);
	free(topw);
	return c;
}

static double
run(const struct plc_crush *c, unsigned long *check)
{
	void *scratch = malloc(plc_crush_scratch_size(c, REPLICAS));
	int out[REPLICAS];
	double t0;

	plc_crush_scratch_init(c, REPLICAS, scratch);
	t0 = now();
	for (uint32_t x = 0; x < INPUTS; x++) {
		int n = plc_crush_do_rule(c, 0, x, out, REPLICAS, NULL, 0,
		    scratch);

		for (int i = 0; i < n; i++)
			*check += (unsigned long)out[i];
	}
	t0 = now() - t0;
	free(scratch);
	return (double)INPUTS / t0;
}

int
main(void)
{
	struct plc_crush *hier = build(10, 10, 10);
	struct plc_crush *flat = build(0, 100, 10);
	unsigned long check = 0;
	uint32_t h = 0;
	double t0, base, rh, rf;

	/* Baseline: the hash alone, as many calls as replicas x inputs. */
	t0 = now();
	for (uint32_t x = 0; x < INPUTS * REPLICAS; x++)
		h += plc_crush_hash3(x, h, 7);
	base = (double)INPUTS * REPLICAS / (now() - t0);
	check += h;

	rh = run(hier, &check);
	rf = run(flat, &check);
	printf("BENCH crush_hier1000_mappings_per_sec %.0f mappings/s\n", rh);
	printf("BENCH crush_flat100x10_mappings_per_sec %.0f mappings/s\n", rf);
	printf("BENCH crush_hash3_calls_per_sec %.0f calls/s\n", base);
	printf("BENCH crush_hier1000_vs_hash_ratio %.5f ratio\n", rh / base);
	printf("BENCH crush_flat100x10_vs_hash_ratio %.5f ratio\n", rf / base);
	fflush(stdout);
	fprintf(stderr, "bench_crush: checksum %lu\n", check);
	plc_crush_free(hier);
	plc_crush_free(flat);
	return 0;
}
