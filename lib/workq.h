/* lib/workq.h - a small thread pool whose completions run on a libev loop.
 *
 * For blocking work that must not stall the loop (fsync, rename, a slow
 * scan). fn runs on a worker thread; done then runs on the loop thread, via
 * an ev_async. fn must touch only what the caller handed it for the job.
 */
#ifndef BL_WORKQ_H
#define BL_WORKQ_H

#include <ev.h>

#include "lib/err.h"

struct bl_workq;

typedef void (*bl_work_fn)(void *arg);
typedef void (*bl_work_done_fn)(void *arg);

/* Starts threads workers. NULL on error. */
struct bl_workq *bl_workq_new(struct ev_loop *loop, int threads,
	    struct bl_err *err);
/* Queues a job. 0, or -1 when out of memory (nothing queued). */
int	bl_workq_submit(struct bl_workq *q, bl_work_fn fn,
	    bl_work_done_fn done, void *arg);
/* Jobs queued or running now. */
unsigned int bl_workq_pending(const struct bl_workq *q);
/* Runs every queued job to its end, stops the threads, calls the done
 * callbacks not yet called (from here, in completion order) and frees.
 * NULL: no-op. */
void	bl_workq_free(struct bl_workq *q);

#endif
