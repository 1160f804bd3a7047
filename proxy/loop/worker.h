/* worker.h - worker threads and their listeners (see worker-t.h). */
#ifndef KG_WORKER_H
#define KG_WORKER_H

#include "loop/worker-t.h"

/* Creates loops and binds the bootstrap port in every worker. -1 on error. */
int kg_workers_init(struct kg_gateway *gw, int n);
int kg_workers_start(struct kg_gateway *gw);
/* Asks every worker to (re)sync its listeners with the router. */
void kg_workers_wake(void *gw);
/* SIGTERM's drain: every worker closes its listeners, then each
 * connection once nothing is in flight on it. */
void kg_workers_drain(struct kg_gateway *gw);
void kg_workers_stop(struct kg_gateway *gw);

#endif
