/* lib/tz.h - local time in a named zone from the system tz database, and
 * ISO 8601 instants.
 *
 * bl_tz_localtime() has the shape of pol_localtime_fn (policy/policy.h). It
 * switches TZ under a process-wide mutex and restores it, so it is safe
 * between threads that all go through it.
 */
#ifndef BL_TZ_H
#define BL_TZ_H

#include <time.h>

#include "lib/err.h"

/* Converts t to local time in zone tz ("UTC" or a name in the tz database
 * such as "Europe/Paris"). Returns -1 if the zone is unknown. arg unused. */
int	bl_tz_localtime(time_t t, const char *tz, struct tm *out, void *arg);
/* Whether tz names a zone in the tz database (or is "UTC"). */
int	bl_tz_exists(const char *tz);
/* Parses "YYYY-MM-DDTHH:MM[:SS[.frac]](Z|+HH:MM|-HH:MM)" (a space may
 * replace the T; no offset means UTC). */
int	bl_time_parse_iso8601(const char *s, time_t *out, struct bl_err *err);

#endif
