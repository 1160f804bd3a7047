/* conn.c - connection pairs: accept, TLS handshake, upstream connect,
 * non-blocking I/O, back-pressure and teardown. Frame decisions live in
 * exchange.c.
 *
 *   accept --(TLS)--> HANDSHAKE --.
 *      '--(plaintext)-------------+--(no SASL)-------------------> CONNECTING --> OPEN --> CLOSED
 *                                 '--(SASL)--> AUTHENTICATING         ^   (RESOLVING while the
 *                                                  |                  |    address is looked up)
 *                                                  '--> LOGGED_IN ----'
 *                                                       first request for the broker
 *
 * Nothing goes upstream before the client's handshake has succeeded (and,
 * on the SNI port, before the SNI name has picked the broker); with SASL,
 * not before the login and a request that is for the broker, so an idle
 * logged-in client holds one socket, not two.
 *
 * Back-pressure: a side is read only while its receive buffer has room and
 * (for the client) the in-flight queue is not full. Parsed bytes stay in
 * the receive buffer until the other side has taken them, so a peer that
 * cannot drain stops the reading of the source (PgBouncer's sbuf rule).
 *
 * TLS (Redis tls.c lessons): a read may need writability and a write
 * readability (flags in kg_stream), and bytes OpenSSL already decrypted
 * never wake the loop, so SSL_pending is drained by feeding read events.
 */
#define _GNU_SOURCE
#include "loop/conn.h"
#include "base/metrics.h"
#include "loop/conn_tls.h"
#include "audit/audit.h"
#include "auth/authn.h"
#include "auth/limiter.h"
#include "auth/principal.h"
#include "auth/tls.h"
#include "base/log.h"
#include "config/config.h"
#include "enforce/apis.h"
#include "enforce/authz.h"
#include "io/net.h"
#include "io/sbuf.h"
#include "io/stream.h"
#include "kafka/codec.h"
#include "kafka/frame.h"
#include "loop/exchange.h"
#include "loop/inflight.h"
#include "loop/login.h"
#include "loop/quota.h"
#include "route/router.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void conn_update(struct kg_conn *c);
static int conn_pump(struct kg_conn *c);
static int start_connect(struct kg_conn *c);
static int connect_begin(struct kg_conn *c);
static void idle_timer_start(struct kg_conn *c);

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
	log_info("conn %llu %s node %d %s closed: %s (requests %llu, bytes in %llu out %llu)",
		 (unsigned long long)c->id, c->peer, c->node_id,
		 c->authn.principal[0] ? c->authn.principal : "-", reason,
		 (unsigned long long)c->requests, (unsigned long long)c->bytes_c2u,
		 (unsigned long long)c->bytes_u2c);
	struct kg_audit_close how = { .reason = reason, .bytes_from_client = c->bytes_c2u,
				      .bytes_from_broker = c->bytes_u2c, .requests = c->requests };
	kg_audit_conn_close(c->audit, &how);
	c->audit = NULL;
	kg_login_leave(c);
	struct kg_metrics *m = kg_metrics_mine();
	kg_metric_gauge(&m->open[c->listener], -1);
	if (c->upstream_counted)
		kg_metric_gauge(&m->upstream_open, -1);
	ev_io_stop(w->loop, &c->c_rd);
	ev_io_stop(w->loop, &c->c_wr);
	ev_io_stop(w->loop, &c->u_rd);
	ev_io_stop(w->loop, &c->u_wr);
	ev_timer_stop(w->loop, &c->timer);
	ev_timer_stop(w->loop, &c->answer_timer);
	ev_timer_stop(w->loop, &c->quota_timer);
	kg_stream_close(&c->cs);
	kg_stream_close(&c->us);
	kg_tls_release(c->tls);
	kg_authn_release(&c->authn);
	kg_sbuf_free(&c->c_in);
	kg_sbuf_free(&c->u_in);
	kg_obuf_free(&c->to_c);
	kg_obuf_free(&c->to_u);
	free(c->upstream_host);
	kg_inflight_clear(c);
	kg_authz_release(&c->authz);
	free(c->q);
	kc_arena_free(&c->arena);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	w->closed++;
	free(c);
}

/* Writes what is pending towards one side. 0 ok, -1 closed. */
static int flush_side(struct kg_conn *c, bool to_client)
{
	int rc;
	if (to_client && c->hold_output)
		return 0;
	if (to_client) {
		rc = kg_flush(&c->cs, &c->to_c, &c->u_in);
		if (rc >= 0)
			kg_sbuf_settle(&c->u_in);
	} else {
		if (c->state != KG_CONN_OPEN)
			return 0;
		rc = kg_flush(&c->us, &c->to_u, &c->c_in);
		if (rc >= 0)
			kg_sbuf_settle(&c->c_in);
	}
	if (rc < 0) {
		struct kg_stream *s = to_client ? &c->cs : &c->us;
		char why[160];
		snprintf(why, sizeof(why), "%s write failed%s%s",
			 to_client ? "client" : "broker", s->ssl ? ": " : "",
			 s->ssl ? kg_stream_error(s) : "");
		kg_conn_close(c, why);
		return -1;
	}
	return 0;
}

/* Runs the frames of one receive buffer through exchange.c.
 * Returns 0, or -1 when the connection was closed. */
static int process(struct kg_conn *c, bool requests)
{
	struct kg_sbuf *b = requests ? &c->c_in : &c->u_in;
	const struct kg_config *cfg = c->w->gw->cfg;
	/* A stricter cap until the client has authenticated. */
	uint32_t max = !requests ? cfg->max_response_bytes
		: !kg_authn_done(&c->authn) ? cfg->auth.max_preauth_frame_bytes
					    : cfg->max_frame_bytes;
	const char *reason = NULL;
	for (;;) {
		if (!requests && c->u_stream_left > 0) {
			/* The rest of a pass-through response: forward what
			 * arrived, no need to hold the whole frame. */
			size_t n = b->len - b->ready;
			if (n > c->u_stream_left)
				n = c->u_stream_left;
			b->ready += n;
			c->u_stream_left -= n;
			if (c->u_stream_left > 0)
				return 0;
			continue;
		}
		if (!requests && kg_inflight_emit_local(c) > 0) {
			if (flush_side(c, true) < 0)
				return -1;
			if (kg_inflight_emit_local(c) > 0)
				return 0;
		}
		if (requests && (c->qlen >= c->w->gw->cfg->max_inflight || kg_quota_paused(c)))
			return 0;
		size_t avail = b->len - b->ready;
		if (avail < 4) {
			/* Room for the rest of a size prefix; nothing received
			 * takes no storage (kg_sbuf_recv takes it as bytes come). */
			if (avail > 0 && kg_sbuf_reserve(b, 4) < 0)
				goto nomem;
			return 0;
		}
		const uint8_t *p = b->data + b->ready;
		uint32_t size = kg_be32(p);
		if (size == 0 || size > max || (size & 0x80000000u)) {
			kg_conn_close(c, requests ? "request frame size out of range"
						  : "response frame size out of range");
			return -1;
		}
		size_t total = (size_t)size + 4;
		if (avail < total) {
			if (!requests && avail >= 8 && kg_exchange_response_streamable(c, b->data + b->ready, avail)) {
				c->u_stream_left = total;
				kg_audit_responded(c->audit);
				continue;
			}
			if (kg_sbuf_reserve(b, total) < 0)
				goto nomem;
			return 0;
		}
		size_t fwd = total;
		enum kg_verdict v = requests
			? kg_exchange_request(c, b->data + b->ready, total, &fwd, &reason)
			: kg_exchange_response(c, b->data + b->ready, total, &reason);
		if (requests)
			kg_login_settle(c);
		switch (v) {
		case KG_FORWARD:
			b->ready += fwd;
			if (!requests)
				kg_audit_responded(c->audit);
			break;
		case KG_CONSUMED:
			if (!requests)
				kg_audit_responded(c->audit);
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
	if (process(c, true) < 0)
		return -1;
	if (c->authn.connect_pending) {
		/* Authenticated just now. The broker is contacted by the first
		 * request that is for it, not here: a logged-in client that
		 * stays idle holds one socket, not two. */
		c->authn.connect_pending = false;
		c->authz.principal = c->authn.principal;   /* set by the login */
		kg_login_end(c);
		char why[160];
		if (kg_login_tenant_full(c, why, sizeof(why))) {
			kg_conn_close(c, why);
			return -1;
		}
		c->state = KG_CONN_LOGGED_IN;
		idle_timer_start(c);
	}
	if (c->state == KG_CONN_LOGGED_IN &&
	    (c->c_in.ready > c->c_in.sent || kg_obuf_pending(&c->to_u) > 0) &&
	    connect_begin(c) < 0)
		return -1;
	if (flush_side(c, false) < 0)
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

static bool client_readable(const struct kg_conn *c)
{
	return !c->close_after_flush && c->authn.state != KG_AS_FAILED &&
	       kg_sbuf_room(&c->c_in) > 0 && c->qlen < c->w->gw->cfg->max_inflight &&
	       !kg_quota_paused(c);
}

static void conn_update(struct kg_conn *c)
{
	struct ev_loop *loop = c->w->loop;
	if (c->state == KG_CONN_HANDSHAKE) {
		watcher_set(loop, &c->c_rd, c->cs.write_wants_read);
		watcher_set(loop, &c->c_wr, c->cs.read_wants_write);
		return;
	}
	bool open = c->state == KG_CONN_OPEN;
	bool c_more = client_readable(c);
	bool u_more = open && kg_sbuf_room(&c->u_in) > 0;
	bool to_c = !c->hold_output &&
		    (kg_obuf_pending(&c->to_c) > 0 || c->u_in.ready > c->u_in.sent);
	bool to_u = open && (kg_obuf_pending(&c->to_u) > 0 || c->c_in.ready > c->c_in.sent);
	watcher_set(loop, &c->c_rd, c_more || (to_c && c->cs.write_wants_read));
	watcher_set(loop, &c->c_wr, (to_c && !c->cs.write_wants_read) ||
				    (c_more && c->cs.read_wants_write));
	watcher_set(loop, &c->u_rd, u_more || (to_u && c->us.write_wants_read));
	watcher_set(loop, &c->u_wr, c->state == KG_CONN_CONNECTING ||
				    (to_u && !c->us.write_wants_read) ||
				    (u_more && c->us.read_wants_write));
	/* Decrypted bytes waiting inside OpenSSL: no socket event will come. */
	if (c_more && kg_stream_pending(&c->cs) > 0)
		ev_feed_event(loop, &c->c_rd, EV_READ);
	if (u_more && kg_stream_pending(&c->us) > 0)
		ev_feed_event(loop, &c->u_rd, EV_READ);
}

/* Reads what one side has; then processes. -1 when closed. */
static int read_side(struct kg_conn *c, bool client)
{
	struct kg_sbuf *b = client ? &c->c_in : &c->u_in;
	struct kg_stream *s = client ? &c->cs : &c->us;
	if (client ? !client_readable(c) : kg_sbuf_room(&c->u_in) == 0)
		return conn_pump(c);
	long n = kg_sbuf_recv(b, s);
	/* TLS: drain what OpenSSL already holds while there is room; each
	 * call then costs no system call. */
	/* An EOF or error met here is seen again on the next wake-up, after
	 * what was read has been processed. */
	while (n > 0 && s->ssl && kg_stream_pending(s) && kg_sbuf_room(b) > 0) {
		long m = kg_sbuf_recv(b, s);
		if (m <= 0)
			break;
		n += m;
	}
	if (n == 0 || n == -1) {
		if (!client) {
			/* Hand the client what the broker already said. */
			if (process(c, false) < 0)
				return -1;
			kg_flush(&c->cs, &c->to_c, &c->u_in);
		}
		char why[160];
		snprintf(why, sizeof(why), "%s %s%s%s", client ? "client" : "broker",
			 n == 0 ? "closed" : "read error", s->ssl && n < 0 ? ": " : "",
			 s->ssl && n < 0 ? kg_stream_error(s) : "");
		kg_conn_close(c, why);
		return -1;
	}
	if (n > 0) {
		c->last_active = ev_now(c->w->loop);
		if (client)
			c->bytes_c2u += (uint64_t)n;
		else
			c->bytes_u2c += (uint64_t)n;
	}
	return conn_pump(c);
}

/* The client side is ready (TCP accepted, TLS done): with SASL the
 * gateway authenticates the client first; otherwise it connects upstream
 * right away. */
static void begin(struct kg_conn *c)
{
	const struct kg_config *cfg = c->w->gw->cfg;
	c->authz.principal = c->authn.principal;
	if (cfg->auth.mode != KG_AUTH_SASL) {
		kg_audit_principal(c->audit, c->authn.principal);
		kg_login_principal(c, c->authn.principal);
	}
	kg_audit_conn_open(c->audit);
	ev_timer_stop(c->w->loop, &c->timer);
	if (cfg->auth.mode == KG_AUTH_SASL) {
		c->authn.state = KG_AS_INITIAL;
		c->state = KG_CONN_AUTHENTICATING;
		double left = cfg->auth.login_timeout_ms / 1000.0 - (ev_now(c->w->loop) - c->accepted_at);
		ev_timer_set(&c->timer, left > 0.001 ? left : 0.001, 0.0);
		ev_timer_start(c->w->loop, &c->timer);
		conn_pump(c);
		return;
	}
	kg_login_end(c);
	char why[160];
	if (kg_login_tenant_full(c, why, sizeof(why))) {
		kg_conn_close(c, why);
		return;
	}
	c->state = KG_CONN_CONNECTING;
	if (connect_begin(c) == 0)
		conn_pump(c);
}

static void handshake_step(struct kg_conn *c)
{
	int rc = kg_stream_handshake(&c->cs);
	if (rc == 0) {
		conn_update(c);
		return;
	}
	if (rc < 0) {
		char why[256];
		kg_conn_tls_failed(c, kg_stream_error(&c->cs), why, sizeof(why));
		kg_conn_close(c, why);
		return;
	}
	KG_METRIC_INC(tls[KG_MT_OK]);
	if (c->audit) {
		struct kg_tls_peer p;
		kg_tls_peer_describe(c->cs.ssl, &p);
		struct kg_audit_tls t = { .version = p.version, .cipher = p.cipher,
					  .cert_subject = p.has_cert ? p.subject : NULL,
					  .cert_sha256 = p.sha256 };
		kg_audit_tls_done(c->audit, &t);
	}
	if (kg_conn_tls_principal(c) < 0) {
		struct kg_audit_auth e = { .ok = false, .mechanism = "TLS",
					   .reason = "certificate maps to no principal" };
		kg_audit_auth(c->audit, &e);
		kg_metrics_login("TLS", false);
		kg_conn_close(c, "certificate maps to no principal");
		return;
	}
	if (SSL_get0_peer_certificate(c->cs.ssl)) {
		struct kg_audit_auth e = { .ok = true, .mechanism = "TLS",
					   .principal = c->authn.principal };
		kg_audit_auth(c->audit, &e);
		kg_metrics_login("TLS", true);
	}
	const char *sni = SSL_get_servername(c->cs.ssl, TLSEXT_NAMETYPE_host_name);
	char clean[256];
	log_info("conn %llu %s: %s %s, principal %s, sni %s, node %d",
		 (unsigned long long)c->id, c->peer, SSL_get_version(c->cs.ssl),
		 SSL_get_cipher_name(c->cs.ssl), c->authn.principal,
		 sni ? kg_log_clean(sni, strlen(sni), clean, sizeof(clean)) : "-", c->node_id);
	/* The rules were needed only now; the SSL keeps its own context. */
	kg_tls_release(c->tls);
	c->tls = NULL;
	begin(c);
}

static void on_client_read(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop; (void)revents;
	struct kg_conn *c = io->data;
	if (c->state == KG_CONN_HANDSHAKE) {
		handshake_step(c);
		return;
	}
	if (c->cs.write_wants_read && flush_side(c, true) < 0)
		return;
	read_side(c, true);
}

static void on_client_write(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop; (void)revents;
	struct kg_conn *c = io->data;
	if (c->state == KG_CONN_HANDSHAKE) {
		handshake_step(c);
		return;
	}
	if (c->cs.read_wants_write) {
		read_side(c, true);
		return;
	}
	if (flush_side(c, true) < 0)
		return;
	conn_pump(c);
}

static void on_upstream_read(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop; (void)revents;
	struct kg_conn *c = io->data;
	if (c->us.write_wants_read && flush_side(c, false) < 0)
		return;
	read_side(c, false);
}

/* The TCP connect finished: check it, start upstream TLS if configured. */
static int connect_done(struct kg_conn *c)
{
	struct ev_loop *loop = c->w->loop;
	int err = 0;
	socklen_t len = sizeof(err);
	getsockopt(c->us.fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err != 0) {
		log_warn("conn %llu: upstream connect failed: %s", (unsigned long long)c->id,
			 strerror(err));
		ev_io_stop(loop, &c->u_wr);
		ev_io_stop(loop, &c->u_rd);
		kg_stream_close(&c->us);
		c->attempt++;
		start_connect(c);
		return -1;
	}
	const struct kg_config *cfg = c->w->gw->cfg;
	if (cfg->upstream_tls.enabled) {
		/* The handshake runs inside the first SSL_write/SSL_read. */
		c->us.ssl = kg_tls_upstream_new(c->upstream_host, cfg->upstream_tls.verify_hostname);
		if (!c->us.ssl || SSL_set_fd(c->us.ssl, c->us.fd) != 1) {
			kg_conn_close(c, "cannot start upstream TLS");
			return -1;
		}
	}
	c->state = KG_CONN_OPEN;
	c->upstream_counted = true;
	kg_metric_gauge(&kg_metrics_mine()->upstream_open, 1);
	idle_timer_start(c);
	return 0;
}

static void on_upstream_write(struct ev_loop *loop, ev_io *io, int revents)
{
	(void)loop; (void)revents;
	struct kg_conn *c = io->data;
	if (c->state == KG_CONN_CONNECTING && connect_done(c) < 0)
		return;
	if (c->us.read_wants_write) {
		read_side(c, false);
		return;
	}
	if (flush_side(c, false) < 0)
		return;
	conn_pump(c);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct kg_conn *c = t->data;
	if (c->state == KG_CONN_HANDSHAKE) {
		log_warn("conn %llu %s: TLS handshake timed out", (unsigned long long)c->id,
			 c->peer);
		KG_METRIC_INC(tls[KG_MT_TIMEOUT]);
		kg_conn_close(c, "TLS handshake timed out");
		return;
	}
	if (c->authn.state == KG_AS_FAILED) {
		/* The failure delay is over: send what was held and close. */
		c->hold_output = false;
		c->close_after_flush = true;
		conn_pump(c);
		return;
	}
	if (c->state == KG_CONN_CONNECTING) {
		kg_conn_close(c, "upstream connect timed out");
		return;
	}
	if (c->state == KG_CONN_RESOLVING) {
		if (start_connect(c) == 0 && c->state == KG_CONN_CONNECTING)
			conn_pump(c);
		return;
	}
	if (c->state == KG_CONN_AUTHENTICATING) {
		char why[96];
		snprintf(why, sizeof(why), "not authenticated within %u ms (login_timeout_ms)",
			 c->w->gw->cfg->auth.login_timeout_ms);
		log_warn("conn %llu %s: %s", (unsigned long long)c->id, c->peer, why);
		KG_METRIC_INC(refused[KG_MR_LOGIN_TIMEOUT]);
		kg_conn_close(c, why);
		return;
	}
	double quiet = ev_now(loop) - c->last_active;
	if (quiet >= c->w->gw->cfg->idle_timeout_ms / 1000.0) {
		kg_conn_close(c, "idle timeout");
		return;
	}
}

/* The oldest request still waiting for the broker is due: a broker that
 * accepts and never answers (hung, paused, half-dead) is given up, so the
 * client fails over now instead of at its own timeout. */
static void on_answer_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct kg_conn *c = t->data;
	const struct kg_inflight *due = NULL;
	for (uint32_t i = 0; i < c->qlen && !due; i++)
		if (c->q[(c->qhead + i) % c->qcap].deadline > 0)
			due = &c->q[(c->qhead + i) % c->qcap];
	if (!due)
		return;
	ev_tstamp left = due->deadline - ev_now(loop);
	if (left > 0.001) {
		/* Fired for a request answered since: move on to the next. */
		ev_timer_set(t, left, 0.0);
		ev_timer_start(loop, t);
		return;
	}
	char why[160];
	snprintf(why, sizeof(why), "broker did not answer %s v%d (correlation id %d) in time "
		 "(upstream.request_timeout_ms %u plus the request's own wait)",
		 kg_api_name(due->api_key), due->version, due->corr,
		 c->w->gw->cfg->request_timeout_ms);
	log_warn("conn %llu %s node %d: %s", (unsigned long long)c->id, c->peer, c->node_id, why);
	kg_conn_close(c, why);
}

/* A quota's wait is over: the client's requests are read again. */
static void on_quota_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	conn_pump(t->data);
}

/* The timer checks for idleness a few times per idle timeout. */
static void idle_timer_start(struct kg_conn *c)
{
	double every = c->w->gw->cfg->idle_timeout_ms / 4000.0;
	ev_timer_stop(c->w->loop, &c->timer);
	ev_timer_set(&c->timer, every, every);
	ev_timer_start(c->w->loop, &c->timer);
}

/* Starts the upstream connection under upstream.connect_timeout_ms.
 * -1: the connection was closed. */
static int connect_begin(struct kg_conn *c)
{
	ev_timer_stop(c->w->loop, &c->timer);
	ev_timer_set(&c->timer, c->w->gw->cfg->connect_timeout_ms / 1000.0, 0.0);
	ev_timer_start(c->w->loop, &c->timer);
	c->connect_started = ev_now(c->w->loop);
	return start_connect(c);
}

/* Connects to the broker this connection stands for, or to the next
 * bootstrap server. Returns -1 (connection closed) when none is left. */
static int start_connect(struct kg_conn *c)
{
	struct kg_router *r = &c->w->gw->router;
	struct kg_addr addr;
	char host[256];
	/* The host name is kept only for upstream TLS (SNI, verification). */
	char *want = c->w->gw->cfg->upstream_tls.enabled ? host : NULL;
	int fd;
	for (;;) {
		int rc = c->node_id < 0
			? kg_router_bootstrap(r, c->attempt, &addr, want)
			: (c->attempt == 0 ? kg_router_upstream(r, c->node_id, &addr, want) : -1);
		if (rc == -2) {
			/* The address is being resolved by the refresh thread:
			 * look again shortly, within the connect timeout. */
			if (ev_now(c->w->loop) - c->connect_started >=
			    c->w->gw->cfg->connect_timeout_ms / 1000.0) {
				kg_conn_close(c, "broker address not resolved in time");
				return -1;
			}
			c->state = KG_CONN_RESOLVING;
			ev_timer_stop(c->w->loop, &c->timer);
			ev_timer_set(&c->timer, 0.02, 0.0);
			ev_timer_start(c->w->loop, &c->timer);
			return 0;
		}
		if (rc < 0) {
			kg_conn_close(c, c->node_id < 0 ? "no bootstrap server reachable"
							: "broker unknown or unreachable");
			return -1;
		}
		fd = kg_net_connect(&addr);
		if (fd >= 0)
			break;
		c->attempt++;
	}
	if (want) {
		free(c->upstream_host);
		c->upstream_host = strdup(host);
		if (!c->upstream_host) {
			close(fd);
			kg_conn_close(c, "out of memory");
			return -1;
		}
	}
	if (c->state == KG_CONN_RESOLVING) {
		/* Resolved while waiting: the connect timeout runs again. */
		ev_timer_stop(c->w->loop, &c->timer);
		ev_timer_set(&c->timer, c->w->gw->cfg->connect_timeout_ms / 1000.0, 0.0);
		ev_timer_start(c->w->loop, &c->timer);
	}
	c->us = (struct kg_stream){ .fd = fd };
	ev_io_init(&c->u_rd, on_upstream_read, fd, EV_READ);
	ev_io_init(&c->u_wr, on_upstream_write, fd, EV_WRITE);
	c->u_rd.data = c->u_wr.data = c;
	c->state = KG_CONN_CONNECTING;
	conn_update(c);
	return 0;
}

void kg_conn_accept(struct kg_worker *w, int fd, int32_t node_id, bool sni,
		    const struct sockaddr *peer)
{
	const struct kg_config *cfg = w->gw->cfg;
	struct kg_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		log_error("out of memory accepting a connection");
		close(fd);
		return;
	}
	if (!kg_login_admit(w, peer)) {
		free(c);
		close(fd);
		return;
	}
	kg_sbuf_init(&c->c_in, cfg->buffer_bytes);
	kg_sbuf_init(&c->u_in, cfg->buffer_bytes);
	kg_net_tune(fd);
	c->w = w;
	c->id = w->next_conn_id;
	w->next_conn_id += (uint64_t)w->gw->nworkers;
	c->cs = (struct kg_stream){ .fd = fd };
	c->us = (struct kg_stream){ .fd = -1 };
	c->node_id = node_id;
	c->sni = sni;
	c->listener = sni ? KG_ML_SNI : node_id < 0 ? KG_ML_BOOTSTRAP : KG_ML_BROKER;
	struct kg_metrics *m = kg_metrics_mine();
	kg_metric_add(&m->accepted[c->listener], 1);
	kg_metric_gauge(&m->open[c->listener], 1);
	kg_net_addr_str(peer, c->peer, sizeof(c->peer));
	memcpy(&c->peer_sa, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							     : sizeof(struct sockaddr_in));
	kc_arena_init(&c->arena);
	c->last_active = c->accepted_at = ev_now(w->loop);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	struct kg_conn *oldest = kg_login_begin(c);
	struct kg_audit_conn_info ai = { .id = c->id, .broker = node_id, .sni = sni,
					 .tls = cfg->tls.enabled,
					 .peer = (const struct sockaddr *)&c->peer_sa };
	c->audit = kg_audit_conn_new(&ai);
	c->authn = (struct kg_authn){
		.cfg = &cfg->auth, .peer = (const struct sockaddr *)&c->peer_sa,
		.conn_id = c->id, .peer_text = c->peer, .audit = c->audit,
		.answer = { kg_inflight_queue_local, c }, .api_versions = kg_exchange_api_versions,
		.on_principal = { kg_login_principal, c },
		.arena = &c->arena, .state = KG_AS_NONE,
	};
	kg_authn_init(&c->authn);
	c->authz = (struct kg_authz_conn){ .principal = c->authn.principal,
					   .peer = (const struct sockaddr *)&c->peer_sa,
					   .audit = c->audit };

	ev_io_init(&c->c_rd, on_client_read, fd, EV_READ);
	ev_io_init(&c->c_wr, on_client_write, fd, EV_WRITE);
	c->c_rd.data = c->c_wr.data = c;
	ev_init(&c->timer, on_timer);
	c->timer.data = c;
	ev_init(&c->answer_timer, on_answer_timer);
	c->answer_timer.data = c;
	ev_init(&c->quota_timer, on_quota_timer);
	c->quota_timer.data = c;
	log_debug("conn %llu from %s on node %d", (unsigned long long)c->id, c->peer, node_id);

	if (oldest) {
		KG_METRIC_INC(refused[KG_MR_EVICTED]);
		kg_conn_close(oldest, "too many connections logging in: the oldest is dropped "
				      "(limits.max_unauthenticated_connections)");
	}
	if (cfg->auth.mode == KG_AUTH_SASL && kg_limiter_address_blocked(peer)) {
		KG_METRIC_INC(refused[KG_MR_ADDRESS_BLOCKED]);
		kg_conn_close(c, "address blocked after repeated authentication failures");
		return;
	}
	if (cfg->tls.enabled) {
		c->tls = kg_tls_acquire();
		c->cs.ssl = c->tls && c->tls->server ? SSL_new(c->tls->server) : NULL;
		if (!c->cs.ssl || SSL_set_fd(c->cs.ssl, fd) != 1) {
			kg_conn_close(c, "cannot start TLS");
			return;
		}
		SSL_set_app_data(c->cs.ssl, c);
		SSL_set_accept_state(c->cs.ssl);
		c->state = KG_CONN_HANDSHAKE;
		ev_timer_set(&c->timer, cfg->tls.handshake_timeout_ms / 1000.0, 0.0);
		ev_timer_start(w->loop, &c->timer);
		handshake_step(c);
		return;
	}
	if (kg_authn_set_principal(&c->authn, "ANONYMOUS") < 0) {
		kg_conn_close(c, "out of memory");
		return;
	}
	begin(c);
}
