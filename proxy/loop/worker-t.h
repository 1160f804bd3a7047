/* worker-t.h - worker threads: one libev loop each, its own listening
 * sockets (SO_REUSEPORT spreads accepts over workers) and its connections. */
#ifndef KG_WORKER_T_H
#define KG_WORKER_T_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config-t.h"
#include "route/router-t.h"

struct kg_worker;
struct kg_conn;

/* One listening socket of one worker. */
struct kg_listener {
	ev_io io;                      /* accept readiness */
	struct kg_worker *w;           /* owner */
	int32_t node_id;               /* broker it stands for, -1 bootstrap */
	bool sni;                      /* SNI port: the TLS name picks the route */
	uint16_t port;                 /* bound port */
};

struct kg_gateway;

struct kg_worker {
	int idx;                       /* 0..nworkers-1 */
	struct kg_gateway *gw;         /* shared state */
	struct ev_loop *loop;          /* this thread's loop */
	pthread_t thread;              /* the thread */
	ev_async wake;                 /* new listeners or stop */
	atomic_bool stop;              /* set by main thread to stop */
	atomic_bool drain;             /* set by main thread: SIGTERM's drain */
	bool draining;                 /* this loop has closed its listeners
	                                  and closes connections as they go
	                                  quiet */
	ev_timer drain_timer;          /* looks for quiet ones while draining */
	struct kg_listener **ls;       /* open listeners */
	size_t nls;                    /* count of ls[] */
	uint64_t listen_generation;    /* router generation ls[] reflects */
	struct kg_conn *conns;         /* live connections (list head) */
	size_t nconns;                 /* count of conns */
	uint64_t next_conn_id;         /* ids: idx + k * nworkers */
	struct kg_conn *login_head;    /* connections logging in, oldest */
	struct kg_conn *login_tail;    /* ... newest */
	size_t nlogin;                 /* count of that list */
	uint64_t refused;              /* refused at accept since last logged */
	ev_tstamp refused_logged_at;   /* when that was */
	ev_timer sweep;                /* once a second: quiet connections give
	                                  their memory back */
	size_t released;               /* bytes given back since the last
	                                  malloc_trim */
	size_t closed;                 /* connections closed since then */
	size_t accepted;               /* and accepted */
	size_t churn_seen;             /* closed + accepted at the last sweep */
	size_t released_seen;          /* released at the last sweep */
};

/* Process-wide state. */
struct kg_gateway {
	struct kg_config *cfg;         /* active configuration */
	struct kg_router router;       /* broker registry */
	struct kg_worker *workers;     /* worker array */
	int nworkers;                  /* count of workers */
};

#endif
