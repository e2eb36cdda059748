/* tests/integration/test_crush_crushtool.c - differential test against
 * Ceph's own libcrush, through Debian's crushtool (package ceph-base).
 *
 * For each seed it writes a random map in crushtool's text syntax (straw2,
 * uniform, list and tree buckets; skewed and zero weights; random tunables),
 * compiles it with crushtool, loads crushtool's JSON dump with our loader,
 * and compares every mapping of a dozen rules (firstn, indep with holes,
 * multi-step, multi-emit, set_* steps) and random reweights with what
 * `crushtool --test --show-mappings` prints. The golden files are one
 * sample; this covers the algorithm.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/file.h"
#include "placement/crush.h"

#define SEEDS		60
#define MAX_X		300

static char tmpdir[256];

struct rng {
	uint64_t s;
};

static uint32_t
rnd(struct rng *r, uint32_t n)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (uint32_t)(r->s % n);
}

static const char *const rules[] = {
	"step take default\nstep chooseleaf firstn 0 type host\nstep emit",
	"step take default\nstep chooseleaf indep 0 type host\nstep emit",
	"step take default\nstep choose firstn 0 type osd\nstep emit",
	"step take default\nstep choose indep 0 type osd\nstep emit",
	"step take default\nstep chooseleaf firstn 0 type rack\nstep emit",
	"step take default\nstep choose firstn 2 type datacenter\n"
	    "step chooseleaf firstn 2 type host\nstep emit",
	"step take default\nstep choose indep 2 type datacenter\n"
	    "step chooseleaf indep 2 type host\nstep emit",
	"step set_choose_tries 100\nstep set_chooseleaf_tries 5\n"
	    "step take default\nstep chooseleaf indep 0 type host\nstep emit",
	"step take default\nstep choose firstn 0 type rack\n"
	    "step choose firstn 1 type osd\nstep emit",
	"step take dc0\nstep chooseleaf firstn 0 type host\nstep emit\n"
	    "step take default\nstep chooseleaf firstn -1 type rack\nstep emit",
	"step set_chooseleaf_vary_r 0\nstep set_chooseleaf_stable 0\n"
	    "step take default\nstep chooseleaf firstn 0 type host\nstep emit",
	"step set_choose_local_tries 2\n"
	    "step set_choose_local_fallback_tries 3\nstep take default\n"
	    "step choose firstn 0 type osd\nstep emit",
};
#define NRULES ((int)(sizeof(rules) / sizeof(rules[0])))

struct gen_bucket {
	char		name[32];
	const char	*type;
	int		id;
	const char	*alg;
	char		items[64][32];
	uint32_t	weights[64];
	int		n;
};

struct gen {
	struct gen_bucket	b[128];
	int			nb;
	int			ndev;
	int			next_id;
};

static uint32_t
bucket_add(struct gen *g, struct rng *r, const char *type, const char *name,
    char items[][32], const uint32_t *w, int n, int id)
{
	static const char *const algs[] = {
		"straw2", "straw2", "straw2", "straw2", "straw2", "straw2",
		"uniform", "list", "tree"
	};
	struct gen_bucket *b = &g->b[g->nb++];
	uint32_t sum = 0;

	snprintf(b->name, sizeof(b->name), "%s", name);
	b->type = type;
	b->id = id ? id : g->next_id--;
	b->alg = id ? "straw2" : algs[rnd(r, 9)];
	b->n = n;
	for (int i = 0; i < n; i++) {
		snprintf(b->items[i], sizeof(b->items[i]), "%s", items[i]);
		/* Uniform buckets weigh their items alike. */
		b->weights[i] = strcmp(b->alg, "uniform") == 0 ? w[0] : w[i];
		sum += b->weights[i];
	}
	return sum;
}

/* Writes map.txt for seed; returns the number of devices. */
static int
write_map(FILE *f, uint64_t seed)
{
	struct rng r = { seed * 0x9e3779b97f4a7c15ULL + 1 };
	static struct gen g;
	char dcs[8][32];
	uint32_t dcw[8];
	int ndc = 1 + (int)rnd(&r, 3);
	static const uint32_t total_tries[] = { 50, 50, 19, 5, 100 };
	static const uint32_t devw[] = { 0x10000, 0x10000, 0x20000 };

	memset(&g, 0, sizeof(g));
	g.next_id = -2;
	fprintf(f, "tunable choose_local_tries %u\n", rnd(&r, 4) ? 0 : 2);
	fprintf(f, "tunable choose_local_fallback_tries %u\n",
	    rnd(&r, 4) ? 0 : 5);
	fprintf(f, "tunable choose_total_tries %u\n", total_tries[rnd(&r, 5)]);
	fprintf(f, "tunable chooseleaf_descend_once %u\n", rnd(&r, 3) ? 1 : 0);
	fprintf(f, "tunable chooseleaf_vary_r %u\n", rnd(&r, 4) ? 1 :
	    rnd(&r, 2) ? 0 : 2);
	fprintf(f, "tunable chooseleaf_stable %u\n", rnd(&r, 3) ? 1 : 0);
	fprintf(f, "tunable straw_calc_version 1\n"
	    "tunable allowed_bucket_algs 54\n");
	for (int d = 0; d < ndc; d++) {
		char racks[8][32];
		uint32_t rw[8];
		int nr = 1 + (int)rnd(&r, 3);

		for (int k = 0; k < nr; k++) {
			char hosts[8][32];
			uint32_t hw[8];
			int nh = 1 + (int)rnd(&r, 4);

			for (int h = 0; h < nh; h++) {
				char osds[8][32];
				uint32_t ow[8];
				int no = 1 + (int)rnd(&r, 5);

				for (int o = 0; o < no; o++) {
					snprintf(osds[o], sizeof(osds[o]), "osd.%d",
					    g.ndev++);
					/* Skewed, sometimes zero, weights that
					 * print exactly in decimal. */
					ow[o] = rnd(&r, 3) ? devw[rnd(&r, 3)] :
					    1024 * rnd(&r, 200);
				}
				snprintf(hosts[h], sizeof(hosts[h]), "h%d_%d_%d",
				    d, k, h);
				hw[h] = bucket_add(&g, &r, "host", hosts[h], osds,
				    ow, no, 0);
			}
			snprintf(racks[k], sizeof(racks[k]), "r%d_%d", d, k);
			rw[k] = bucket_add(&g, &r, "rack", racks[k], hosts, hw,
			    nh, 0);
		}
		snprintf(dcs[d], sizeof(dcs[d]), "dc%d", d);
		dcw[d] = bucket_add(&g, &r, "datacenter", dcs[d], racks, rw, nr,
		    0);
	}
	bucket_add(&g, &r, "root", "default", dcs, dcw, ndc, -1);

	for (int i = 0; i < g.ndev; i++)
		fprintf(f, "device %d osd.%d\n", i, i);
	fprintf(f, "type 0 osd\ntype 1 host\ntype 3 rack\ntype 8 datacenter\n"
	    "type 11 root\n");
	for (int i = 0; i < g.nb; i++) {
		struct gen_bucket *b = &g.b[i];

		fprintf(f, "%s %s {\n\tid %d\n\talg %s\n\thash 0\n", b->type,
		    b->name, b->id, b->alg);
		for (int j = 0; j < b->n; j++)
			fprintf(f, "\titem %s weight %.6f\n", b->items[j],
			    b->weights[j] / 65536.0);
		fputs("}\n", f);
	}
	for (int i = 0; i < NRULES; i++)
		fprintf(f, "rule r%d {\n\tid %d\n\ttype %s\n\tmin_size 1\n"
		    "\tmax_size 20\n%s\n}\n", i, i,
		    strstr(rules[i], "indep") ? "erasure" : "replicated",
		    rules[i]);
	return g.ndev;
}

static int
sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
check_seed(uint64_t seed)
{
	struct rng r = { seed + 77 };
	char path[512], cmd[2048], line[1024], *text;
	struct plc_crush *c;
	struct bl_err err;
	size_t tlen;
	uint32_t *w;
	int ndev, nw, nrep = 1 + (int)rnd(&r, 6), rw_id[4], nrw;
	uint32_t rw_val[4];
	static const uint32_t rwv[] = { 0, 32768, 16384, 60000, 65536 };
	void *scratch;
	FILE *f;

	snprintf(path, sizeof(path), "%s/map.txt", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	ndev = write_map(f, seed);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd '%s' && crushtool -c map.txt -o map.bin "
	    ">/dev/null 2>&1 && crushtool -i map.bin --dump >map.json", tmpdir);
	assert_int_equal(sh(cmd), 0);
	snprintf(path, sizeof(path), "%s/map.json", tmpdir);
	if ((text = bl_read_file(path, PLC_CRUSH_JSON_MAX, &tlen, &err)) ==
	    NULL)
		fail_msg("seed %llu: %s", (unsigned long long)seed, err.msg);
	c = plc_crush_from_json(text, tlen, &err);
	free(text);
	if (c == NULL)
		fail_msg("seed %llu: %s: %s", (unsigned long long)seed, path,
		    err.msg);
	nw = plc_crush_max_devices(c);
	assert_int_equal(nw, ndev);
	w = calloc((size_t)nw, sizeof(*w));
	for (int i = 0; i < nw; i++)
		w[i] = 0x10000;
	nrw = (int)rnd(&r, 5);
	for (int i = 0; i < nrw; i++) {
		rw_id[i] = (int)rnd(&r, (uint32_t)ndev);
		rw_val[i] = rwv[rnd(&r, 5)];
		w[rw_id[i]] = rw_val[i];
	}
	scratch = malloc(plc_crush_scratch_size(c, nrep));
	plc_crush_scratch_init(c, nrep, scratch);

	for (int rule = 0; rule < NRULES; rule++) {
		int len = snprintf(cmd, sizeof(cmd), "cd '%s' && crushtool -i "
		    "map.bin --test --show-mappings --rule %d --num-rep %d "
		    "--min-x 0 --max-x %d", tmpdir, rule, nrep, MAX_X);
		int seen = 0;

		/* crushtool takes a reweight as a float; these convert back
		 * to the same 16.16 value. Later ones win, as in ours. */
		for (int i = 0; i < nrw; i++)
			len += snprintf(cmd + len, sizeof(cmd) - (size_t)len,
			    " --weight %d %.9f", rw_id[i], rw_val[i] / 65536.0);
		snprintf(cmd + len, sizeof(cmd) - (size_t)len, " 2>/dev/null");
		f = popen(cmd, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			int x, out[PLC_CRUSH_MAX_RESULT], n, k = 0;
			char want[512], got[512], *list, *tok, *save;
			int wl = 0, gl;

			if (sscanf(line, "CRUSH rule %*d x %d", &x) != 1)
				continue;
			list = strchr(line, '[');
			assert_non_null(list);
			list[strcspn(list, "]")] = '\0';
			for (tok = strtok_r(list + 1, ",", &save); tok;
			    tok = strtok_r(NULL, ",", &save), k++)
				wl += snprintf(want + wl, sizeof(want) -
				    (size_t)wl, " %s", strcmp(tok,
				    "2147483647") == 0 ? "none" : tok);
			want[wl] = '\0';
			n = plc_crush_do_rule(c, rule, (uint32_t)x, out, nrep, w,
			    nw, scratch);
			gl = 0;
			got[0] = '\0';
			for (int i = 0; i < n; i++) {
				if (out[i] == PLC_CRUSH_ITEM_NONE)
					gl += snprintf(got + gl, sizeof(got) -
					    (size_t)gl, " none");
				else
					gl += snprintf(got + gl, sizeof(got) -
					    (size_t)gl, " %d", out[i]);
			}
			if (strcmp(want, got) != 0)
				fail_msg("seed %llu rule r%d replicas %d x %d: "
				    "libcrush [%s], ours [%s]",
				    (unsigned long long)seed, rule, nrep, x,
				    want, got);
			seen++;
		}
		pclose(f);
		assert_int_equal(seen, MAX_X + 1);
	}
	free(scratch);
	free(w);
	plc_crush_free(c);
}

static void
test_crush_crushtool__random_maps_map_as_libcrush_does(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= SEEDS; seed++)
		check_seed(seed);
}

static int
setup(void **state)
{
	(void)state;
	if (sh("command -v crushtool >/dev/null") != 0) {
		fprintf(stderr, "crushtool not found: install ceph-base "
		    "(make deps)\n");
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ballast-crushtool-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return sh(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_crush_crushtool__random_maps_map_as_libcrush_does),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
