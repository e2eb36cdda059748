/* agent/scan.c - recounts the objects under root on a worker thread.
 *
 * used_bytes and objects are kept up to date as the agent places and
 * deletes files, and recounted now and then so that files written or
 * removed by others are seen. A walk of millions of files is slow, so it
 * runs on its own thread and hands its totals back through an ev_async.
 */
#include "agent/agent.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

struct agt_scan {
	ev_async	 done;		/* first */
	struct agt	*g;		/* borrows */
	pthread_t	 th;
	int		 running;
	int		 ok;
	long long	 bytes, count;
	struct bl_err	 err;
};

static void *
scan_main(void *arg)
{
	struct agt_scan *s = arg;
	long long removed, failed;

	s->ok = agt_obj_scan(s->g->cfg.root, 0, &s->bytes, &s->count,
	    &removed, &failed, &s->err) == 0;
	ev_async_send(s->g->loop, &s->done);
	return NULL;
}

static void
on_done(struct ev_loop *loop, ev_async *w, int revents)
{
	struct agt_scan *s = (struct agt_scan *)w;

	if (!s->running)
		return;
	pthread_join(s->th, NULL);
	s->running = 0;
	if (!s->ok) {
		log_warnx("scan: %s", s->err.msg);
		return;
	}
	if (s->bytes != s->g->used_bytes || s->count != s->g->objects)
		log_info("scan: used_bytes=%lld objects=%lld (were %lld, %lld)",
		    s->bytes, s->count, s->g->used_bytes, s->g->objects);
	s->g->used_bytes = s->bytes;
	s->g->objects = s->count;
}

struct agt_scan *
agt_scan_new(struct agt *g)
{
	struct agt_scan *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->g = g;
	ev_async_init(&s->done, on_done);
	ev_async_start(g->loop, &s->done);
	return s;
}

void
agt_scan_kick(struct agt_scan *s)
{
	if (s->running)
		return;
	if (pthread_create(&s->th, NULL, scan_main, s) != 0) {
		log_warnx("scan: cannot start a thread");
		return;
	}
	s->running = 1;
}

void
agt_scan_free(struct agt_scan *s)
{
	if (s == NULL)
		return;
	if (s->running)
		pthread_join(s->th, NULL);
	ev_async_stop(s->g->loop, &s->done);
	free(s);
}
