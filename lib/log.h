/* lib/log.h - one line per event: timestamp, level, message.
 *
 * Messages are lowercase with key=value fields. log_warn appends
 * strerror(errno); log_warnx does not. log_debug checks the level before it
 * evaluates its arguments. fatal() is for start-up in main() only.
 * The sink (stderr by default) and the level are the only globals.
 */
#ifndef BL_LOG_H
#define BL_LOG_H

#include <stdio.h>

enum bl_log_level {
	BL_LOG_DEBUG = 0,
	BL_LOG_INFO,
	BL_LOG_WARN,
	BL_LOG_ERROR,
};

extern int bl_log_level;

/* Sets the threshold; "debug", "info", "warn" or "error". -1 if unknown. */
int	bl_log_set_level(const char *name);
/* Sends log lines to f (borrowed; NULL means stderr). */
void	bl_log_set_sink(FILE *f);
/* Prefixes every line with "name:". name is borrowed for the process life. */
void	bl_log_set_ident(const char *name);

void	bl_log_emit(int level, int with_errno, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#define log_debug(...) do {						\
	if (bl_log_level <= BL_LOG_DEBUG)				\
		bl_log_emit(BL_LOG_DEBUG, 0, __VA_ARGS__);		\
} while (0)
#define log_info(...)	bl_log_emit(BL_LOG_INFO, 0, __VA_ARGS__)
#define log_warn(...)	bl_log_emit(BL_LOG_WARN, 1, __VA_ARGS__)
#define log_warnx(...)	bl_log_emit(BL_LOG_WARN, 0, __VA_ARGS__)
#define log_error(...)	bl_log_emit(BL_LOG_ERROR, 0, __VA_ARGS__)

#endif
