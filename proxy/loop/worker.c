/* worker.c - one libev loop per thread. Each worker binds its own socket
 * for every gateway port (SO_REUSEPORT: the kernel spreads new connections
 * over them), so no hand-off between threads is needed. When the router
 * learns a new broker, every worker is woken to bind that broker's port;
 * the worker that learned it binds it at once, before the client sees the
 * address (listeners_sync is called from the router callback too). */
#define _GNU_SOURCE
#include "loop/worker.h"
#include "base/metrics.h"
#include "audit/audit.h"
#include "config/config.h"
#include "loop/conn.h"
#include "loop/login.h"
#include "io/sbuf.h"
#include "io/stream.h"
#include "kafka/codec.h"
#include "base/log.h"
#include "io/net.h"
#include "route/router.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static __thread struct kg_worker *current_worker;

static void on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop; (void)revents;
	struct kg_listener *l = (struct kg_listener *)io;
	struct kg_worker *w = l->w;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("accept on port %u: %s", l->port, strerror(errno));
			return;
		}
		if (w->nconns >= w->gw->cfg->max_connections) {
			log_warn("port %u: connection limit reached, refusing", l->port);
			KG_METRIC_INC(refused[KG_MR_MAX_CONNECTIONS]);
			close(fd);
			continue;
		}
		w->accepted++;
		kg_conn_accept(w, fd, l->node_id, l->sni, (struct sockaddr *)&ss);
	}
}

static int listener_open(struct kg_worker *w, int32_t node_id, bool sni, uint16_t port)
{
	char err[256];
	int fd = kg_net_listen(w->gw->cfg->bind_host, port, err, sizeof(err));
	if (fd < 0) {
		log_error("worker %d: %s (node %d)", w->idx, err, node_id);
		return -1;
	}
	struct kg_listener *l = calloc(1, sizeof(*l));
	struct kg_listener **ls = realloc(w->ls, (w->nls + 1) * sizeof(*ls));
	if (!l || !ls) {
		free(l);
		close(fd);
		return -1;
	}
	w->ls = ls;
	l->w = w;
	l->node_id = node_id;
	l->sni = sni;
	l->port = port;
	ev_io_init(&l->io, on_accept, fd, EV_READ);
	ev_io_start(w->loop, &l->io);
	w->ls[w->nls++] = l;
	const char *proto = w->gw->cfg->tls.enabled ? "TLS" : "plaintext";
	if (w->idx == 0 && sni)
		log_info("listening on %s:%u for SNI routing (%s)", w->gw->cfg->bind_host, port,
			 proto);
	else if (w->idx == 0 && node_id < 0)
		log_info("listening on %s:%u for bootstrap (%s)", w->gw->cfg->bind_host, port,
			 proto);
	else if (w->idx == 0)
		log_info("listening on %s:%u for broker node %d (%s)", w->gw->cfg->bind_host,
			 port, node_id, proto);
	return 0;
}

static bool listener_has(struct kg_worker *w, uint16_t port)
{
	for (size_t i = 0; i < w->nls; i++)
		if (w->ls[i]->port == port)
			return true;
	return false;
}

/* Opens listeners for brokers this worker has not bound yet. */
static void listeners_sync(struct kg_worker *w)
{
	int32_t ids[1024];
	uint16_t ports[1024];
	uint64_t gen;
	size_t n = kg_router_ports(&w->gw->router, ids, ports, 1024, &gen);
	if (gen == w->listen_generation || w->draining)
		return;
	for (size_t i = 0; i < n; i++)
		if (!listener_has(w, ports[i]))
			listener_open(w, ids[i], false, ports[i]);
	w->listen_generation = gen;
}

/* Memory after a storm: the connections of a storm are gone, and so is
 * their memory, but the C library keeps freed pages mapped. Past these
 * amounts the worker asks it to give them back to the system. */
#define TRIM_BYTES ((size_t)8 << 20)
#define TRIM_CLOSED 512               /* closes and accepts */
#define QUIET_SECONDS 1.0

/* Gives back the buffers, decode arena, in-flight ring and OpenSSL record
 * buffers of a quiet connection (taken again on the next byte); returns
 * the bytes released. Only from the sweep, never inside a frame. */
static size_t release_idle(struct kg_conn *c)
{
	if (c->state == KG_CONN_CLOSED)
		return 0;
	size_t n = kg_sbuf_trim(&c->c_in) + kg_sbuf_trim(&c->u_in) + kg_obuf_trim(&c->to_c) +
		   kg_obuf_trim(&c->to_u);
	if (c->state != KG_CONN_HANDSHAKE) {
		kg_stream_release_buffers(&c->cs);
		kg_stream_release_buffers(&c->us);
	}
	/* Called from the worker's sweep, never inside a frame: the arena
	 * holds nothing live. */
	n += c->arena.total;
	kc_arena_free(&c->arena);
	if (c->qlen == 0 && c->q) {
		n += c->qcap * sizeof(*c->q);
		free(c->q);
		c->q = NULL;
		c->qcap = c->qhead = 0;
	}
	return n;
}

static void on_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct kg_worker *w = t->data;
	ev_tstamp now = ev_now(loop);
	for (struct kg_conn *c = w->conns; c; c = c->next) {
		kg_login_tenant_report(c);
		if (now - c->last_active >= QUIET_SECONDS)
			w->released += release_idle(c);
	}
	/* A burst of handshakes leaves holes between the connections that
	 * stay (the handshakes' own buffers): counted like closes. Trimmed
	 * during a long burst, and once more when it is over. */
	size_t churn = w->closed + w->accepted;
	bool burst_over = churn > 0 && churn == w->churn_seen && w->released == w->released_seen;
	if (w->released >= TRIM_BYTES || churn >= TRIM_CLOSED ||
	    (burst_over && (w->released >= TRIM_BYTES / 8 || churn >= TRIM_CLOSED / 8))) {
		malloc_trim(0);
		w->released = w->closed = w->accepted = 0;
	}
	w->churn_seen = w->closed + w->accepted;
	w->released_seen = w->released;
}

static void listeners_close(struct kg_worker *w)
{
	for (size_t i = 0; i < w->nls; i++) {
		ev_io_stop(w->loop, &w->ls[i]->io);
		close(w->ls[i]->io.fd);
		free(w->ls[i]);
	}
	free(w->ls);
	w->ls = NULL;
	w->nls = 0;
}

/* Nothing owed to the client on c: no request with the broker, no
 * response half sent. (A request the client sends meanwhile is not
 * read: it retries it on another gateway.) */
static bool conn_quiet(const struct kg_conn *c)
{
	return c->qlen == 0 && c->to_c.len == 0 && c->u_stream_left == 0;
}

static void on_drain_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop; (void)revents;
	struct kg_worker *w = t->data;
	for (struct kg_conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		if (conn_quiet(c) || c->state != KG_CONN_OPEN) {
			KG_METRIC_INC(refused[KG_MR_DRAINING]);
			kg_conn_close(c, "gateway draining (shutting down)");
		}
	}
}

static void on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)revents;
	struct kg_worker *w = a->data;
	if (atomic_load(&w->stop)) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (atomic_load(&w->drain) && !w->draining) {
		w->draining = true;
		listeners_close(w);
		ev_timer_init(&w->drain_timer, on_drain_timer, 0.0, 0.05);
		w->drain_timer.data = w;
		ev_timer_start(loop, &w->drain_timer);
		return;
	}
	listeners_sync(w);
}

void kg_workers_drain(struct kg_gateway *gw)
{
	for (int i = 0; i < gw->nworkers; i++) {
		atomic_store(&gw->workers[i].drain, true);
		ev_async_send(gw->workers[i].loop, &gw->workers[i].wake);
	}
}

void kg_workers_wake(void *arg)
{
	struct kg_gateway *gw = arg;
	if (current_worker)
		listeners_sync(current_worker);
	for (int i = 0; i < gw->nworkers; i++)
		if (&gw->workers[i] != current_worker)
			ev_async_send(gw->workers[i].loop, &gw->workers[i].wake);
}

int kg_workers_init(struct kg_gateway *gw, int n)
{
	gw->workers = calloc((size_t)n, sizeof(*gw->workers));
	if (!gw->workers)
		return -1;
	gw->nworkers = n;
	for (int i = 0; i < n; i++) {
		struct kg_worker *w = &gw->workers[i];
		w->idx = i;
		w->gw = gw;
		w->next_conn_id = (uint64_t)i + 1;
		w->loop = ev_loop_new(EVFLAG_AUTO);
		if (!w->loop)
			return -1;
		ev_async_init(&w->wake, on_wake);
		w->wake.data = w;
		ev_async_start(w->loop, &w->wake);
		ev_timer_init(&w->sweep, on_sweep, QUIET_SECONDS, QUIET_SECONDS);
		w->sweep.data = w;
		ev_timer_start(w->loop, &w->sweep);
		if (listener_open(w, -1, false, gw->cfg->bootstrap_port) < 0)
			return -1;
		if (gw->cfg->sni.enabled &&
		    listener_open(w, -1, true, gw->cfg->sni.port) < 0)
			return -1;
		/* Explicitly mapped brokers get their ports from the start. */
		for (size_t b = 0; b < gw->cfg->nbrokers; b++)
			if (listener_open(w, gw->cfg->brokers[b].node_id, false,
					  gw->cfg->brokers[b].port) < 0)
				return -1;
	}
	return 0;
}

static void *worker_main(void *arg)
{
	struct kg_worker *w = arg;
	current_worker = w;
	listeners_sync(w);
	kg_audit_worker_begin(w->loop);
	ev_run(w->loop, 0);
	while (w->conns)
		kg_conn_close(w->conns, "gateway stopping");
	kg_audit_worker_end(w->loop);
	listeners_close(w);
	if (w->draining)
		ev_timer_stop(w->loop, &w->drain_timer);
	ev_loop_destroy(w->loop);
	return NULL;
}

int kg_workers_start(struct kg_gateway *gw)
{
	for (int i = 0; i < gw->nworkers; i++)
		if (pthread_create(&gw->workers[i].thread, NULL, worker_main,
				   &gw->workers[i]) != 0)
			return -1;
	return 0;
}

void kg_workers_stop(struct kg_gateway *gw)
{
	for (int i = 0; i < gw->nworkers; i++) {
		atomic_store(&gw->workers[i].stop, true);
		ev_async_send(gw->workers[i].loop, &gw->workers[i].wake);
	}
	for (int i = 0; i < gw->nworkers; i++)
		pthread_join(gw->workers[i].thread, NULL);
	free(gw->workers);
	gw->workers = NULL;
}
