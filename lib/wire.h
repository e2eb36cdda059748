/* lib/wire.h - the agent API's request shapes, parsed and validated.
 *
 * The agent parses these from untrusted peers, and the controller builds
 * them, so the rules live in lib/ where both (and the fuzz harnesses) can
 * reach them. Every parser is strict: unknown keys, wrong types, ids that
 * are not canonical lowercase UUIDs and non-canonical base64 are refused
 * with BL_EINVAL and the field's path ("tasks[3].source.url: ..."); bad
 * JSON with BL_EPARSE. See docs/agent.md for the routes.
 */
#ifndef BL_WIRE_H
#define BL_WIRE_H

#include <stddef.h>

#include "lib/err.h"
#include "lib/uuid.h"

#define BL_WIRE_MAX_URL		2048
#define BL_WIRE_MAX_NODE	255

/* Writes the base64 Content-MD5 of raw (24 characters and a NUL). */
void	bl_wire_md5_b64(const unsigned char raw[16], char out[25]);
/* Decodes a canonical base64 Content-MD5 (24 characters ending "=="). 0 or
 * -1; other spellings of the same bytes are refused. */
int	bl_wire_md5_from_b64(const char *b64, unsigned char raw[16]);

/* Splits "<owner>/<object_id>" (the rest of /v1/objects/) into two
 * canonical UUIDs. 0 or -1; nothing else, no "..", "/", "%2f" or NUL,
 * passes, so the ids are safe as path components under the root. */
int	bl_wire_object_path(const char *rest, char owner[BL_UUID_LEN + 1],
	    char object_id[BL_UUID_LEN + 1]);
/* 1 if url is an http:// or https:// base URL of at most BL_WIRE_MAX_URL
 * bytes, with a host, without user:password@ and with no space, tab, CR
 * or LF; else 0. */
int	bl_wire_base_url_valid(const char *url);

struct bl_wire_task {
	char		 owner[BL_UUID_LEN + 1];
	char		 object_id[BL_UUID_LEN + 1];
	char		 md5[25];	/* base64, canonical */
	unsigned char	 md5raw[16];
	long long	 size;
	char		*source_node;	/* owns */
	char		*source_url;	/* owns */
};

struct bl_wire_assign {
	char			 id[BL_UUID_LEN + 1];
	char			 job[BL_UUID_LEN + 1];	/* "": not given */
	long long		 throttle;	/* the job's bytes/s here; -1:
						   not given, 0: none */
	size_t			 ntasks;
	struct bl_wire_task	*tasks;		/* owns: ntasks */
	char			 hash[65];	/* hex SHA-256 of the body's
						 * canonical JSON, without
						 * the throttle */
};

/* Parses a POST /v1/assignments body into a (caller's storage). More than
 * max_tasks tasks: BL_ETOOBIG. 0 or -1; on -1, a holds nothing to
 * release. */
int	bl_wire_assign_parse(const char *body, size_t len, long long max_tasks,
	    struct bl_wire_assign *a, struct bl_err *err);
/* Frees what a owns. */
void	bl_wire_assign_release(struct bl_wire_assign *a);

/* Parses a PUT /v1/config/throttle body {"bytes_per_sec": N}, N in
 * [0, 2^50]. 0 or -1. */
int	bl_wire_throttle_parse(const char *body, size_t len, long long *bps,
	    struct bl_err *err);
/* Parses a DELETE /v1/objects body {"md5": B64, "forward_to": URL?}.
 * *forward_to gets a malloc'd copy or NULL. 0 or -1 (*forward_to NULL). */
int	bl_wire_delete_parse(const char *body, size_t len,
	    unsigned char md5[16], char **forward_to, struct bl_err *err);

/* The most objects one POST /v1/deletes may name. */
#define BL_WIRE_MAX_DELETES	1000

struct bl_wire_del {
	char		 owner[BL_UUID_LEN + 1];
	char		 object_id[BL_UUID_LEN + 1];
	unsigned char	 md5[16];
	char		*forward_to;	/* owns; NULL: none */
};

struct bl_wire_dels {
	size_t			 n;
	struct bl_wire_del	*items;		/* owns: n */
};

/* Parses a POST /v1/deletes body {"objects": [{"owner": U, "object_id":
 * U, "md5": B64, "forward_to": URL?}, ...]}, 1 to max objects (more:
 * BL_ETOOBIG), each checked as a DELETE's body is. 0 or -1; on -1, d
 * holds nothing to release. */
int	bl_wire_deletes_parse(const char *body, size_t len, size_t max,
	    struct bl_wire_dels *d, struct bl_err *err);
/* Frees what d owns. */
void	bl_wire_deletes_release(struct bl_wire_dels *d);

#endif
