/* lib/config.h - the one-table config loader.
 *
 * A program describes every option once, in a table of struct bl_cfg_opt:
 * key, type, offset of the field in its config struct, default (as text)
 * and bounds. Defaults go through the same parser and range checks as file
 * values, environment variables and flags. Load order: table, then file,
 * then environment, then flags; each value remembers where it came from,
 * and bl_cfg_print() shows it (secrets masked).
 *
 * Field types: BL_CFG_STR is a char * the config owns (NULL when the
 * default is NULL); BL_CFG_INT is a long long; BL_CFG_BOOL is an int 0/1.
 */
#ifndef BL_CONFIG_H
#define BL_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "lib/err.h"

enum bl_cfg_type {
	BL_CFG_STR,
	BL_CFG_INT,
	BL_CFG_BOOL,
};

#define BL_CFG_SECRET	0x1	/* print as "********" */
#define BL_CFG_RELOAD	0x2	/* a reload (SIGHUP) applies it without a
				   restart */

enum bl_cfg_source {
	BL_CFG_SRC_DEFAULT,
	BL_CFG_SRC_FILE,
	BL_CFG_SRC_ENV,
	BL_CFG_SRC_FLAG,
	BL_CFG_SRC_RUNTIME,
};

struct bl_cfg_opt {
	const char	*key;		/* borrows: static */
	int		 type;		/* enum bl_cfg_type */
	size_t		 offset;	/* of the field in the config struct */
	const char	*def;		/* borrows: static; NULL: unset string */
	long long	 min, max;	/* INT bounds; STR: min/max length */
	int		 flags;		/* BL_CFG_SECRET, BL_CFG_RELOAD */
	const char	*help;		/* borrows: static */
};

struct bl_cfg {
	const struct bl_cfg_opt	*table;		/* borrows */
	size_t			 n;
	void			*base;		/* borrows: the config struct */
	int			*source;	/* owns: n entries */
	char			*file;		/* owns: loaded file path */
};

/* Applies every default through the parser. 0 or -1 (a bad table). */
int	bl_cfg_init(struct bl_cfg *c, const struct bl_cfg_opt *table,
	    size_t n, void *base, struct bl_err *err);
/* Frees the owned strings in base and c's own memory. */
void	bl_cfg_release(struct bl_cfg *c);
/* Parses text for key and stores it. An unknown key, a bad value or one
 * out of range is refused with the key in the message. */
int	bl_cfg_set(struct bl_cfg *c, const char *key, const char *text,
	    int source, struct bl_err *err);
/* Loads a JSON object file. Every key must be in the table, and each value
 * must have the option's type; the message names "path: key". */
int	bl_cfg_load_file(struct bl_cfg *c, const char *path,
	    struct bl_err *err);
/* The same for a JSON object in memory (len bytes, NUL not needed); name
 * stands for the file in messages. Values count as BL_CFG_SRC_FILE. */
int	bl_cfg_load_buffer(struct bl_cfg *c, const char *buf, size_t len,
	    const char *name, struct bl_err *err);
/* Applies environment variables named prefix + KEY in upper case. */
int	bl_cfg_load_env(struct bl_cfg *c, const char *prefix,
	    struct bl_err *err);
/* Finds an option by key; NULL if there is none. */
const struct bl_cfg_opt *bl_cfg_find(const struct bl_cfg *c, const char *key);
/* Prints "key = value  # source" lines. */
void	bl_cfg_print(const struct bl_cfg *c, FILE *f);
/* Prints the table as help text: key, type, default, bounds, help. */
void	bl_cfg_print_help(const struct bl_cfg_opt *table, size_t n, FILE *f);
/* Prints the table as Markdown for docs/config.md: a table of key, type,
 * default, bounds, whether a reload applies it, and meaning. */
void	bl_cfg_print_reference(const struct bl_cfg_opt *table, size_t n,
	    FILE *f);
const char *bl_cfg_source_name(int source);

#endif
