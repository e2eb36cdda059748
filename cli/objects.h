/* cli/objects.h - the objects CSV of `ballastctl plan`, loaded for one
 * offline plan. Internal to cli/.
 *
 * A large file is parsed in two parts at once, one a thread: the second
 * part starts after a line end near the middle. That guess is checked: the
 * first part's parse must end exactly there, which it does unless the
 * line end is inside a quoted field. If it does not, or either part finds
 * an error, the whole file is parsed again in one pass, so every message
 * and every result is the one-pass parse's.
 *
 * A row keeps where its record starts in the text, not its id or line:
 * only the moves' ids and an error's line are ever needed again, and they
 * are read back from the text (plc_objects_csv_id, _line).
 */
#ifndef CLI_OBJECTS_H
#define CLI_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "placement/cluster.h"

/* Files at least this long are parsed in two parts. */
#define CLI_OBJS_SPLIT_MIN	((size_t)16 << 20)
/* The longest file read: a row's start has 40 bits. */
#define CLI_OBJS_TEXT_MAX	((size_t)1 << 40)

/* 32 bytes: on this scale the rows' memory is much of the run's time
 * (docs/performance.md). */
struct cli_row {
	uint64_t	size;
	double		reads;
	uint64_t	dcmask;
	uint64_t	start : 40;	/* the record's offset in the text */
	uint64_t	ncopies : 4;
	uint64_t	pinned : 1;
};

/* Affinity group names; a group's number is its place here + 1. */
struct cli_affs {
	uint32_t	*idx;		/* owns: open addressing, group + 1 */
	size_t		 cap;
	char		*names;		/* owns: NUL-terminated */
	size_t		 names_len, names_cap;
	size_t		*off;		/* owns: per group, into names */
	uint64_t	*key;		/* owns: per group */
	size_t		 n, off_cap;
};

struct cli_objs;

/* One part's rows, in file order. A row's copies are the next ncopies
 * entries of copies after the rows before it. */
struct cli_objs_part {
	struct cli_objs	*o;		/* borrows */
	struct cli_row	*rows;		/* owns */
	uint64_t	*keys;		/* owns: plc_object_key(id), per row */
	size_t		 n, cap, keys_cap;
	/* per row, its affinity group + 1 (0: none); NULL until a row of
	 * the part has one, 0 for the rows before it */
	uint32_t	*aff;		/* owns */
	size_t		 aff_cap;
	uint32_t	*copies;	/* owns */
	size_t		 copies_len, copies_cap;
	struct cli_affs	 affs;
	size_t		*key_hist;	/* owns: rows by their key's top bits */
	uint32_t	*node_copies;	/* owns: copies per node */
	size_t		 aff_copies;	/* copies of rows in a group */
	size_t		 drop_off;	/* the mapping is dropped before it */
	/* the second part's parse, on its thread */
	size_t		 from;
	int		 rc;
	struct bl_err	 err;
};

struct cli_objs {
	const char	*file;		/* borrows */
	const struct plc_cluster *cl;	/* borrows */
	const char	*csv;		/* borrows map or text */
	size_t		 csv_len;
	char		*map;		/* owns: the mapped file, or NULL */
	char		*text;		/* owns: the file read, or NULL */
	struct cli_objs_part part[2];
	size_t		 nparts;
	size_t		 n;		/* rows, every part's */
	uint32_t	*node_copies;	/* owns: copies per node, all parts */
	/* (group << 32 | node) + 1 -> objects of the group with a copy on
	 * the node; open addressing */
	uint64_t	*coloc_k;	/* owns; 0 is empty */
	uint32_t	*coloc_v;	/* owns */
	size_t		 coloc_cap;
	char		*id;		/* owns: the last cli_objs_id() */
};

/* Where cli_objs_next() is; zero it to start. */
struct cli_objs_iter {
	size_t		 part, r, at;
};

/* A row as cli_objs_next() shows it. */
struct cli_obj {
	const struct cli_row *row;
	uint64_t	 key;
	const uint32_t	*copies;	/* row->ncopies node indexes */
	uint32_t	 aff;		/* affinity group + 1; 0: none */
};

/* Loads path (a file, mapped, or a pipe, read) into o. Files of
 * split_min bytes or more are parsed in two parts (CLI_OBJS_SPLIT_MIN).
 * Refuses a file that names an object twice. 0, or -1 with err (the
 * message names the file, the line and the field). */
int	cli_objs_load(struct cli_objs *o, const char *path,
	    const struct plc_cluster *cl, size_t split_min, struct bl_err *err);

void	cli_objs_release(struct cli_objs *o);

/* The next row in file order into out: 1, or 0 after the last. */
int	cli_objs_next(const struct cli_objs *o, struct cli_objs_iter *it,
	    struct cli_obj *out);

/* How many other objects of group aff (a row's group, not 0) have a copy
 * on node, where the row has one. */
uint32_t cli_objs_colocated(const struct cli_objs *o, uint32_t aff,
	    uint32_t node);

/* Row h's id (h counts rows in file order from 0), valid until the next
 * call; "?" when out of memory. */
const char *cli_objs_id(struct cli_objs *o, size_t h);

/* The line row h starts on. */
size_t	cli_objs_line(const struct cli_objs *o, size_t h);

#endif
