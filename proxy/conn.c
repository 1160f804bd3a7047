/* conn.c - connection pairs: accept, upstream connect, non-blocking I/O,
 * back-pressure and teardown. Frame decisions live in exchange.c.
 *
 * Back-pressure: a side is read only while its receive buffer has room and
 * (for the client) the in-flight queue is not full. Parsed bytes stay in
 * the receive buffer until the other side has taken them, so a peer that
 * cannot drain stops the reading of the source (PgBouncer's sbuf rule).
 */
#define _GNU_SOURCE
#include "conn.h"
#include "codec.h"
#include "exchange.h"
#include "log.h"
#include "net.h"
#include "router.h"
#include "sbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void conn_update(struct kg_conn *c);
static int conn_pump(struct kg_conn *c);

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void watcher_set(struct ev_loop *loop, ev_io *io, bool on)
{
	if (on && !ev_is_active(io))
		ev_io_start(loop, io);
	else if (!on && ev_is_active(io))
		ev_io_stop(loop, io);
}

void kg_conn_close(struct kg_conn *c, const char *reason)
{
	struct kg_worker *w = c->w;
	if (c->state == KG_CONN_CLOSED)
		return;
	c->state = KG_CONN_CLOSED;
	log_info("conn %llu %s node %d closed: %s (requests %llu, bytes in %llu out %llu)",
		 (unsigned long long)c->id, c->peer, c->node_id, reason,
		 (unsigned long long)c->requests, (unsigned long long)c->bytes_c2u,
		 (unsigned long long)c->bytes_u2c);
	ev_io_stop(w->loop, &c->c_rd);
	ev_io_stop(w->loop, &c->c_wr);
	ev_io_stop(w->loop, &c->u_rd);
	ev_io_stop(w->loop, &c->u_wr);
	ev_timer_stop(w->loop, &c->timer);
	close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	kg_sbuf_free(&c->c_in);
	kg_sbuf_free(&c->u_in);
	kg_obuf_free(&c->to_c);
	kg_obuf_free(&c->to_u);
	kg_inflight_clear(c);
	free(c->q);
	kc_arena_free(&c->arena);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	free(c);
}

/* Writes what is pending towards one side. 0 ok, -1 closed. */
static int flush_side(struct kg_conn *c, bool to_client)
{
	int rc;
	if (to_client) {
		rc = kg_flush(c->cfd, &c->to_c, &c->u_in);
		if (rc >= 0)
			kg_sbuf_settle(&c->u_in);
	} else {
		if (c->state != KG_CONN_OPEN)
			return 0;
		rc = kg_flush(c->ufd, &c->to_u, &c->c_in);
		if (rc >= 0)
			kg_sbuf_settle(&c->c_in);
	}
	if (rc < 0) {
		kg_conn_close(c, to_client ? "client write failed" : "broker write failed");
		return -1;
	}
	return 0;
}

/* Runs the frames of one receive buffer through exchange.c.
 * Returns 0, or -1 when the connection was closed. */
static int process(struct kg_conn *c, bool requests)
{
	struct kg_sbuf *b = requests ? &c->c_in : &c->u_in;
	uint32_t max = requests ? c->w->gw->cfg->max_frame_bytes
				: c->w->gw->cfg->max_response_bytes;
	const char *reason = NULL;
	for (;;) {
		if (!requests && kg_exchange_emit_local(c) > 0) {
			if (flush_side(c, true) < 0)
				return -1;
			if (kg_exchange_emit_local(c) > 0)
				return 0;
		}
		if (requests && c->qlen >= c->w->gw->cfg->max_inflight)
			return 0;
		size_t avail = b->len - b->ready;
		if (avail < 4) {
			if (kg_sbuf_reserve(b, 4) < 0)
				goto nomem;
			return 0;
		}
		uint32_t size = be32(b->data + b->ready);
		if (size == 0 || size > max || (size & 0x80000000u)) {
			kg_conn_close(c, requests ? "request frame size out of range"
						  : "response frame size out of range");
			return -1;
		}
		size_t total = (size_t)size + 4;
		if (avail < total) {
			if (kg_sbuf_reserve(b, total) < 0)
				goto nomem;
			return 0;
		}
		size_t fwd = total;
		enum kg_verdict v = requests
			? kg_exchange_request(c, b->data + b->ready, total, &fwd, &reason)
			: kg_exchange_response(c, b->data + b->ready, total, &reason);
		switch (v) {
		case KG_FORWARD:
			b->ready += fwd;
			break;
		case KG_CONSUMED:
			/* exchange.c consumed it only with nothing before it
			 * waiting, so the frame can simply be skipped. */
			b->sent = b->ready = b->ready + total;
			kg_sbuf_settle(b);
			break;
		case KG_WAIT:
			if (flush_side(c, !requests) < 0)
				return -1;
			if (b->sent != b->ready)
				return 0;
			break;
		case KG_CLOSE:
			kg_conn_close(c, reason ? reason : "protocol error");
			return -1;
		}
	}
nomem:
	kg_conn_close(c, "out of memory");
	return -1;
}

/* Processes both directions and writes what can be written. */
static int conn_pump(struct kg_conn *c)
{
	if (process(c, true) < 0 || flush_side(c, false) < 0)
		return -1;
	if (process(c, false) < 0 || flush_side(c, true) < 0)
		return -1;
	if (c->close_after_flush && kg_obuf_pending(&c->to_c) == 0 &&
	    c->u_in.sent == c->u_in.ready) {
		kg_conn_close(c, "closed after response");
		return -1;
	}
	conn_update(c);
	return 0;
}

static void conn_update(struct kg_conn *c)
{
	struct ev_loop *loop = c->w->loop;
	bool open = c->state == KG_CONN_OPEN;
	watcher_set(loop, &c->c_rd, !c->close_after_flush && c->c_in.len < c->c_in.cap &&
				    c->qlen < c->w->gw->cfg->max_inflight);
	watcher_set(loop, &c->c_wr, kg_obuf_pending(&c->to_c) > 0 ||
				    c->u_in.ready > c->u_in.sent);
	watcher_set(loop, &c->u_rd, open && c->u_in.len < c->u_in.cap);
	watcher_set(loop, &c->u_wr, c->state == KG_CONN_CONNECTING ||
				    (open && (kg_obuf_pending(&c->to_u) > 0 ||
					      c->c_in.ready > c->c_in.sent)));
}

static void on_read(struct kg_conn *c, bool client)
{
	struct kg_sbuf *b = client ? &c->c_in : &c->u_in;
	long n = kg_sbuf_recv(b, client ? c->cfd : c->ufd);
	if (n == 0 || n == -1) {
		if (!client) {
			/* Hand the client what the broker already said. */
			if (process(c, false) < 0)
				return;
			kg_flush(c->cfd, &c->to_c, &c->u_in);
		}
		kg_conn_close(c, n == 0 ? (client ? "client closed" : "broker closed")
					: (client ? "client read error" : "broker read error"));
		return;
	}
	if (n > 0) {
		c->last_active = ev_now(c->w->loop);
		if (client)
			c->bytes_c2u += (uint64_t)n;
		else
			c->bytes_u2c += (uint64_t)n;
	}
	conn_pump(c);
}

static void on_client_read(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop; (void)revents;
	on_read(io->data, true);
}

static void on_upstream_read(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop; (void)revents;
	on_read(io->data, false);
}

static void on_client_write(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop; (void)revents;
	struct kg_conn *c = io->data;
	if (flush_side(c, true) < 0)
		return;
	conn_pump(c);
}

static int start_connect(struct kg_conn *c);

static void on_upstream_write(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)revents;
	struct kg_conn *c = io->data;
	if (c->state == KG_CONN_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			log_warn("conn %llu: upstream connect failed: %s",
				 (unsigned long long)c->id, strerror(err));
			ev_io_stop(loop, &c->u_wr);
			close(c->ufd);
			c->ufd = -1;
			c->attempt++;
			start_connect(c);
			return;
		}
		c->state = KG_CONN_OPEN;
		ev_timer_stop(loop, &c->timer);
		ev_timer_set(&c->timer, c->w->gw->cfg->idle_timeout_ms / 4000.0,
			     c->w->gw->cfg->idle_timeout_ms / 4000.0);
		ev_timer_start(loop, &c->timer);
	}
	if (flush_side(c, false) < 0)
		return;
	conn_pump(c);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct kg_conn *c = t->data;
	if (c->state == KG_CONN_CONNECTING) {
		kg_conn_close(c, "upstream connect timed out");
		return;
	}
	if (ev_now(loop) - c->last_active >= c->w->gw->cfg->idle_timeout_ms / 1000.0)
		kg_conn_close(c, "idle timeout");
}

/* Connects to the broker this listener stands for, or to the next
 * bootstrap server. Returns -1 (connection closed) when none is left. */
static int start_connect(struct kg_conn *c)
{
	struct kg_router *r = &c->w->gw->router;
	struct kg_addr addr;
	for (;;) {
		int rc = c->node_id < 0 ? kg_router_bootstrap(r, c->attempt, &addr)
					: (c->attempt == 0 ? kg_router_upstream(r, c->node_id, &addr) : -1);
		if (rc < 0) {
			kg_conn_close(c, c->node_id < 0 ? "no bootstrap server reachable"
							: "broker unknown or unreachable");
			return -1;
		}
		c->ufd = kg_net_connect(&addr);
		if (c->ufd >= 0)
			break;
		c->attempt++;
	}
	ev_io_init(&c->u_rd, on_upstream_read, c->ufd, EV_READ);
	ev_io_init(&c->u_wr, on_upstream_write, c->ufd, EV_WRITE);
	c->u_rd.data = c->u_wr.data = c;
	c->state = KG_CONN_CONNECTING;
	conn_update(c);
	return 0;
}

void kg_conn_accept(struct kg_worker *w, int fd, int32_t node_id,
		    const struct sockaddr *peer)
{
	const struct kg_config *cfg = w->gw->cfg;
	struct kg_conn *c = calloc(1, sizeof(*c));
	if (!c || kg_sbuf_init(&c->c_in, cfg->buffer_bytes) < 0 ||
	    kg_sbuf_init(&c->u_in, cfg->buffer_bytes) < 0) {
		log_error("out of memory accepting a connection");
		if (c) {
			kg_sbuf_free(&c->c_in);
			free(c);
		}
		close(fd);
		return;
	}
	kg_net_tune(fd);
	c->w = w;
	c->id = w->next_conn_id;
	w->next_conn_id += (uint64_t)w->gw->nworkers;
	c->cfd = fd;
	c->ufd = -1;
	c->node_id = node_id;
	kg_net_addr_str(peer, c->peer, sizeof(c->peer));
	kc_arena_init(&c->arena);
	c->last_active = ev_now(w->loop);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;

	ev_io_init(&c->c_rd, on_client_read, fd, EV_READ);
	ev_io_init(&c->c_wr, on_client_write, fd, EV_WRITE);
	c->c_rd.data = c->c_wr.data = c;
	ev_timer_init(&c->timer, on_timer, cfg->connect_timeout_ms / 1000.0, 0.0);
	c->timer.data = c;
	ev_timer_start(w->loop, &c->timer);
	log_debug("conn %llu from %s on node %d", (unsigned long long)c->id, c->peer, node_id);
	start_connect(c);
}
