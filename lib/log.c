/* lib/log.c - one line per event. */
#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int bl_log_level = BL_LOG_INFO;
static FILE *log_sink;
static const char *log_ident = "";

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int
bl_log_set_level(const char *name)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			bl_log_level = i;
			return 0;
		}
	}
	return -1;
}

void
bl_log_set_sink(FILE *f)
{
	log_sink = f;
}

void
bl_log_set_ident(const char *name)
{
	log_ident = name ? name : "";
}

static void vemit(int level, int saved_errno, int with_errno, const char *fmt,
    va_list ap) __attribute__((format(printf, 4, 0)));

static void
vemit(int level, int saved_errno, int with_errno, const char *fmt, va_list ap)
{
	FILE *f = log_sink ? log_sink : stderr;
	struct timespec ts;
	struct tm tm;
	char stamp[32], line[2048];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		line[0] = '\0';
	/* One fprintf per line keeps lines whole between threads. */
	fprintf(f, "%s.%03ldZ %s%s%s %s%s%s\n", stamp, ts.tv_nsec / 1000000,
	    log_ident, *log_ident ? " " : "", level_names[level], line,
	    with_errno ? ": " : "", with_errno ? strerror(saved_errno) : "");
	fflush(f);
}

void
bl_log_emit(int level, int with_errno, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (level < bl_log_level)
		return;
	va_start(ap, fmt);
	vemit(level, saved, with_errno, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vemit(BL_LOG_ERROR, saved, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(BL_LOG_ERROR, 0, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
