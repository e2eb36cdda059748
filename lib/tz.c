/* lib/tz.c - local time in a named zone, and ISO 8601 instants. */
#include "lib/tz.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

static int
tz_is_utc(const char *tz)
{
	return strcmp(tz, "UTC") == 0 || strcmp(tz, "Etc/UTC") == 0 ||
	    strcmp(tz, "GMT") == 0 || strcmp(tz, "Z") == 0;
}

int
bl_tz_exists(const char *tz)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	struct stat st;

	if (tz == NULL || tz[0] == '\0')
		return 0;
	if (tz_is_utc(tz))
		return 1;
	if (tz[0] == '/' || strstr(tz, "..") != NULL)
		return 0;
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, tz) >=
	    sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int
bl_tz_localtime(time_t t, const char *tz, struct tm *out, void *arg)
{
	char *old = NULL, *saved;
	char buf[600];
	int rc = 0;

	if (tz_is_utc(tz))
		return gmtime_r(&t, out) != NULL ? 0 : -1;
	if (!bl_tz_exists(tz))
		return -1;
	snprintf(buf, sizeof(buf), ":%s", tz);
	pthread_mutex_lock(&tz_lock);
	saved = getenv("TZ");
	if (saved != NULL)
		old = strdup(saved);
	if (setenv("TZ", buf, 1) < 0)
		rc = -1;
	else {
		tzset();
		if (localtime_r(&t, out) == NULL)
			rc = -1;
	}
	if (old != NULL) {
		setenv("TZ", old, 1);
		free(old);
	} else
		unsetenv("TZ");
	tzset();
	pthread_mutex_unlock(&tz_lock);
	return rc;
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
bl_time_parse_iso8601(const char *s, time_t *out, struct bl_err *err)
{
	const char *p = s;
	struct tm tm;
	int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
	    *p++ != '-' || digits(&p, 2, &d) < 0 ||
	    (*p != 'T' && *p != 't' && *p != ' '))
		goto bad;
	p++;
	if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
		goto bad;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec) < 0)
			goto bad;
		if (*p == '.' || *p == ',') {
			p++;
			if (!isdigit((unsigned char)*p))
				goto bad;
			while (isdigit((unsigned char)*p))
				p++;
		}
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (digits(&p, 2, &oh) < 0)
			goto bad;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om) < 0)
			goto bad;
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60 || oh > 23 || om > 59)
		goto bad;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (tm.tm_mday != d)	/* timegm normalised e.g. Feb 30 */
		goto bad;
	*out = t - sign * (oh * 3600 + om * 60);
	return 0;
bad:
	return bl_err_set(err, BL_EPARSE, "\"%s\": expected an ISO 8601 time "
	    "such as 2026-03-29T01:30:00Z", s);
}
