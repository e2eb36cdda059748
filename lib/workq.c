/* lib/workq.c - a small thread pool whose completions run on a libev loop. */
#include "lib/workq.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
	struct job	*next;		/* owns: rest of its list */
	bl_work_fn	 fn;
	bl_work_done_fn	 done;
	void		*arg;		/* borrows */
};

struct bl_workq {
	ev_async	 async;		/* first */
	struct ev_loop	*loop;		/* borrows */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct job	*todo, *todo_tail;	/* owns */
	struct job	*done;		/* owns: finished, not reported */
	pthread_t	*threads;	/* owns */
	int		 nthreads;
	int		 stop;
	unsigned int	 pending;	/* queued + running + unreported */
};

static void *
worker(void *arg)
{
	struct bl_workq *q = arg;
	struct job *j;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->todo == NULL && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->todo == NULL)
			break;
		j = q->todo;
		q->todo = j->next;
		if (q->todo == NULL)
			q->todo_tail = NULL;
		pthread_mutex_unlock(&q->mu);
		j->fn(j->arg);
		pthread_mutex_lock(&q->mu);
		j->next = q->done;
		q->done = j;
		ev_async_send(q->loop, &q->async);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void
on_async(struct ev_loop *loop, ev_async *w, int revents)
{
	struct bl_workq *q = (struct bl_workq *)w;
	struct job *list, *rev = NULL, *j;

	pthread_mutex_lock(&q->mu);
	list = q->done;
	q->done = NULL;
	pthread_mutex_unlock(&q->mu);
	/* Report in completion order. */
	while (list != NULL) {
		j = list;
		list = j->next;
		j->next = rev;
		rev = j;
	}
	while (rev != NULL) {
		j = rev;
		rev = j->next;
		q->pending--;
		if (j->done != NULL)
			j->done(j->arg);
		free(j);
	}
}

struct bl_workq *
bl_workq_new(struct ev_loop *loop, int threads, struct bl_err *err)
{
	struct bl_workq *q = calloc(1, sizeof(*q));

	if (q == NULL || threads < 1 ||
	    (q->threads = calloc((size_t)threads, sizeof(pthread_t))) == NULL) {
		free(q);
		bl_err_set(err, BL_ENOMEM, "workq: out of memory");
		return NULL;
	}
	q->loop = loop;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	ev_async_init(&q->async, on_async);
	ev_async_start(loop, &q->async);
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&q->threads[i], NULL, worker, q) != 0) {
			bl_workq_free(q);
			bl_err_set(err, BL_EIO, "workq: cannot start a thread");
			return NULL;
		}
		q->nthreads++;
	}
	return q;
}

int
bl_workq_submit(struct bl_workq *q, bl_work_fn fn, bl_work_done_fn done,
    void *arg)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -1;
	j->fn = fn;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&q->mu);
	if (q->todo_tail != NULL)
		q->todo_tail->next = j;
	else
		q->todo = j;
	q->todo_tail = j;
	q->pending++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

unsigned int
bl_workq_pending(const struct bl_workq *q)
{
	return q->pending;
}

void
bl_workq_free(struct bl_workq *q)
{
	struct job *j;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	/* Every job has run: report them here, in order. */
	on_async(q->loop, &q->async, 0);
	while ((j = q->done) != NULL) {
		q->done = j->next;
		free(j);
	}
	ev_async_stop(q->loop, &q->async);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q->threads);
	free(q);
}
