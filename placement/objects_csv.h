/* placement/objects_csv.h - the objects CSV of `ballastctl plan`:
 *
 *   id,owner,size,md5,copies,reads_per_hour,affinity,allowed_dcs
 *
 * copies and allowed_dcs are lists separated by ';'; an empty allowed_dcs
 * means unrestricted. Fields may be double-quoted ("" is a quote). Pure: it
 * parses a buffer and calls back once per row, so a fuzzer can drive it.
 */
#ifndef PLC_OBJECTS_CSV_H
#define PLC_OBJECTS_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "placement/cluster.h"
#include "placement/planner.h"

/* One row; every pointer is borrowed for the duration of the callback. */
struct plc_csv_row {
	size_t		 line;		/* 1-based; the header is line 1 */
	/* Offset in buf where this record starts. The parser reads nothing
	 * before it again, so a caller may drop those pages; it may also
	 * keep the offset instead of the id and line, and get them back with
	 * plc_objects_csv_id() and plc_objects_csv_line(). */
	size_t		 start;
	const char	*id;		/* NUL-terminated, non-empty */
	size_t		 id_len;
	const char	*owner;
	const char	*md5;		/* "", base64 (24 chars) or 32 hex */
	const char	*affinity;	/* "" when none */
	uint64_t	 size;
	double		 reads_per_hour;
	uint32_t	 copies[PLC_COPIES_MAX];	/* node indexes */
	size_t		 ncopies;
	int		 pinned;	/* allowed_dcs not empty */
	uint64_t	 allowed_dcs;	/* plc_cluster_dcs() bits */
};

/* Returns 0 to go on, -1 (with err) to stop. */
typedef int (*plc_csv_row_fn)(const struct plc_csv_row *row, void *arg,
    struct bl_err *err);

/* Parses buf. Errors read "NAME:LINE: field FIELD: reason", e.g.
 * "objects.csv:7: field copies: unknown node \"9.stor\"". name is borrowed
 * and only used in messages. Datacenter names in allowed_dcs that no node
 * has are kept out of the mask (the object may then go nowhere else). */
int	plc_objects_csv_parse(const char *buf, size_t len,
	    const struct plc_cluster *cl, const char *name,
	    plc_csv_row_fn fn, void *arg, struct bl_err *err);

/* Parses the records of buf from offset from on, with no header: the rest
 * of a file that plc_objects_csv_parse() has read up to from, which must
 * start a record (or a blank line). Rows' starts are offsets in buf, and
 * messages count lines from line, the line at from. */
int	plc_objects_csv_parse_from(const char *buf, size_t len, size_t from,
	    size_t line, const struct plc_cluster *cl, const char *name,
	    plc_csv_row_fn fn, void *arg, struct bl_err *err);

/* The id of the record that starts at offset start of buf (a row's start,
 * from a buf that parsed), unquoted and NUL-terminated; the caller frees
 * it. NULL when out of memory. */
char	*plc_objects_csv_id(const char *buf, size_t len, size_t start);

/* The 1-based line of buf that offset off (at most len) is on, as the
 * parser's messages count lines. */
size_t	 plc_objects_csv_line(const char *buf, size_t len, size_t off);

#endif
