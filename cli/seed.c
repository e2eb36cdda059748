/* cli/seed.c - ballastctl demo-seed: writes objects of random content
 * straight into agents' roots, skewed on purpose, and prints the objects
 * CSV for `ballastctl objects import` (used by `make demo`).
 *
 *   ballastctl demo-seed --node ID=ROOT=FILL ... --objects N
 *       [--min-size B] [--max-size B] [--copies K] [--owner UUID]
 *       [--seed S]
 *
 * FILL is a node's share of the bytes (any positive numbers: relative).
 * Sizes are log-uniform between min and max. Each object's copies go to K
 * distinct nodes drawn by their remaining share; the first copy is
 * written, the others are hard links to it (same content, one write).
 * Agents find the MD5 themselves on first read.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/file.h"
#include "lib/uuid.h"

#define SEED_NODES_MAX	64

struct snode {
	char	id[128];
	char	root[512];
	double	share;
	double	assigned;	/* bytes */
};

static uint64_t
xs(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static void
b64(const unsigned char in[16], char out[25])
{
	EVP_EncodeBlock((unsigned char *)out, in, 16);
}

static void
seed_usage(FILE *f)
{
	fputs("usage: ballastctl demo-seed --node ID=ROOT=SHARE ... --objects N"
	    "\n           [--min-size B] [--max-size B] [--copies K] "
	    "[--owner UUID] [--seed S]\n", f);
}

/* What to seed. */
struct seed {
	struct snode	nodes[SEED_NODES_MAX];
	size_t		nn;
	size_t		min;
	size_t		max;
	long		nobj;
	long		copies;
	char		owner[BL_UUID_LEN + 1];
	uint64_t	rs;		/* the xorshift state */
};

/* Parses argv into s. Returns -1 to go on, or the exit status. */
static int
seed_args(int argc, char **argv, struct seed *s)
{
	static const struct option longopts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "objects", required_argument, NULL, 'o' },
		{ "min-size", required_argument, NULL, 'm' },
		{ "max-size", required_argument, NULL, 'M' },
		{ "copies", required_argument, NULL, 'c' },
		{ "owner", required_argument, NULL, 'w' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct snode *nodes = s->nodes;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n': {
			char *a = strchr(optarg, '='), *b;
			size_t nn = s->nn;

			b = a ? strchr(a + 1, '=') : NULL;
			if (nn == SEED_NODES_MAX || a == NULL || b == NULL ||
			    (size_t)(a - optarg) >= sizeof(nodes[0].id) ||
			    (size_t)(b - a - 1) >= sizeof(nodes[0].root))
				return cli_usage_error("demo-seed: --node: want "
				    "ID=ROOT=SHARE");
			memset(&nodes[nn], 0, sizeof(nodes[nn]));
			memcpy(nodes[nn].id, optarg, (size_t)(a - optarg));
			memcpy(nodes[nn].root, a + 1, (size_t)(b - a - 1));
			nodes[nn].share = strtod(b + 1, NULL);
			if (!(nodes[nn].share > 0))
				return cli_usage_error("demo-seed: --node %s: "
				    "SHARE must be > 0", nodes[nn].id);
			s->nn++;
			break;
		}
		case 'o': s->nobj = strtol(optarg, NULL, 10); break;
		case 'm': s->min = strtoull(optarg, NULL, 10); break;
		case 'M': s->max = strtoull(optarg, NULL, 10); break;
		case 'c': s->copies = strtol(optarg, NULL, 10); break;
		case 'w':
			snprintf(s->owner, sizeof(s->owner), "%s", optarg);
			break;
		case 's': s->rs = strtoull(optarg, NULL, 10); break;
		case 'h': seed_usage(stdout); return CLI_OK;
		default: seed_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind != argc || s->nobj < 1 || s->min < 1 ||
	    s->max < s->min || s->copies < 1 || (size_t)s->copies > s->nn)
		return seed_usage(stderr), cli_usage_error("demo-seed: want "
		    "--objects N >= 1, 1 <= --copies <= nodes, min <= max");
	if (s->owner[0] == '\0')
		bl_uuid_generate(s->owner);
	else if (!bl_uuid_valid(s->owner))
		return cli_usage_error("demo-seed: --owner: not a uuid");
	return -1;
}

/* Draws the copies distinct nodes of an object of size bytes into chosen,
 * by the remaining share of each node, and counts the bytes as theirs. */
static void
seed_draw(struct seed *s, size_t size, int *chosen)
{
	struct snode *nodes = s->nodes;
	double tot_share = 0, tot_as = 0;
	int nc = 0;

	for (size_t i = 0; i < s->nn; i++) {
		tot_share += nodes[i].share;
		tot_as += nodes[i].assigned;
	}
	while (nc < s->copies) {
		double w[SEED_NODES_MAX], sum = 0, r;
		size_t pick = s->nn;

		for (size_t i = 0; i < s->nn; i++) {
			int used = 0;
			double want = nodes[i].share / tot_share *
			    (tot_as + (double)size * (double)s->copies);

			for (int k = 0; k < nc; k++)
				used |= chosen[k] == (int)i;
			w[i] = used ? 0 : fmax(want - nodes[i].assigned, 0) +
			    1.0;
			sum += w[i];
		}
		r = (double)(xs(&s->rs) >> 11) / 9007199254740992.0 * sum;
		for (size_t i = 0; i < s->nn; i++) {
			if (w[i] <= 0)
				continue;
			pick = i;
			if (r < w[i])
				break;
			r -= w[i];
		}
		chosen[nc++] = (int)pick;
		nodes[pick].assigned += (double)size;
	}
}

/* Writes the object's first copy and hard-links the others to it. 0, or
 * -1 (the error printed). */
static int
seed_write(const struct seed *s, const char *id, const unsigned char *buf,
    size_t size, const int *chosen)
{
	char first[700];
	int fd;

	for (int k = 0; k < s->copies; k++) {
		char path[700];

		snprintf(path, sizeof(path), "%s/%s/%s",
		    s->nodes[chosen[k]].root, s->owner, id);
		if (k == 0) {
			snprintf(first, sizeof(first), "%s", path);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0 || bl_write_all(fd, buf, size) == -1 ||
			    close(fd) != 0)
				return cli_usage_error("demo-seed: write %s: "
				    "%s", path, strerror(errno)), -1;
		} else if (link(first, path) == -1) {
			return cli_usage_error("demo-seed: link %s: %s", path,
			    strerror(errno)), -1;
		}
	}
	return 0;
}

int
cli_seed_main(int argc, char **argv)
{
	struct seed s;
	unsigned char *buf = NULL;
	int rc = CLI_FAILED;

	memset(&s, 0, sizeof(s));
	s.min = 4096;
	s.max = 1 << 20;
	s.copies = 2;
	if ((rc = seed_args(argc, argv, &s)) >= 0)
		return rc;
	rc = CLI_FAILED;
	if (s.rs == 0 && getrandom(&s.rs, sizeof(s.rs), 0) != sizeof(s.rs))
		s.rs = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL;
	s.rs |= 1;
	if ((buf = malloc(s.max + 8)) == NULL)
		return cli_usage_error("demo-seed: out of memory");
	for (size_t i = 0; i < s.nn; i++) {
		char d[700];

		snprintf(d, sizeof(d), "%s/%s", s.nodes[i].root, s.owner);
		if (mkdir(d, 0755) == -1 && errno != EEXIST) {
			cli_usage_error("demo-seed: mkdir %s: %s", d,
			    strerror(errno));
			goto out;
		}
	}
	printf("id,owner,size,md5,copies\n");
	for (long o = 0; o < s.nobj; o++) {
		double lmin = log((double)s.min), lmax = log((double)s.max);
		double u = (double)(xs(&s.rs) >> 11) / 9007199254740992.0;
		size_t size = (size_t)exp(lmin + u * (lmax - lmin));
		unsigned char md[16];
		unsigned int mdl;
		char id[BL_UUID_LEN + 1], m64[25];
		int chosen[SEED_NODES_MAX];

		if (size < s.min)
			size = s.min;
		if (size > s.max)
			size = s.max;
		seed_draw(&s, size, chosen);
		for (size_t i = 0; i < size; i += 8) {
			uint64_t v = xs(&s.rs);

			memcpy(buf + i, &v, 8);
		}
		EVP_Digest(buf, size, md, &mdl, EVP_md5(), NULL);
		b64(md, m64);
		bl_uuid_generate(id);
		if (seed_write(&s, id, buf, size, chosen) == -1)
			goto out;
		printf("%s,%s,%zu,%s,", id, s.owner, size, m64);
		for (int k = 0; k < s.copies; k++)
			printf("%s%s", k ? ";" : "", s.nodes[chosen[k]].id);
		putchar('\n');
	}
	rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAILED;
out:
	free(buf);
	return rc;
}
