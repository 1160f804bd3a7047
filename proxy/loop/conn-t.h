/* conn-t.h - one client connection paired with its upstream broker
 * connection.
 *
 *   client --c_in--> [parse, check, forward] --to_u + c_in--> broker
 *   client <--to_c + u_in-- [match, rewrite]  <--u_in-------- broker
 *
 * Each direction forwards from its receive buffer without copying; the
 * gateway's own bytes (rewritten or local responses) go through to_c/to_u.
 * The in-flight queue pairs responses with requests in order.
 */
#ifndef KG_CONN_T_H
#define KG_CONN_T_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "auth/authn-t.h"
#include "enforce/authz-t.h"
#include "io/sbuf-t.h"
#include "io/stream-t.h"
#include "kafka/codec-t.h"

struct kg_worker;
struct kg_tls_contexts;
struct kg_audit_conn;
struct kg_tenant_slot;

/* A request waiting for its response, or a local response waiting for its
 * turn (local != NULL), in the order the client sent them. */
struct kg_inflight {
	int32_t corr;                  /* correlation id */
	int16_t api_key;               /* request api key */
	int16_t version;               /* request api version */
	uint8_t *local;                /* gateway-made response frame, or NULL */
	uint32_t local_len;            /* length of local (with size prefix) */
	uint8_t *merge;                /* encoded error items of the denied part
	                                  of the request (authz.h), or NULL */
	uint32_t merge_len;            /* length of merge */
	uint8_t post;                  /* enum kg_authz_post bits */
	ev_tstamp deadline;            /* the broker's answer is due (loop
	                                  time, never before the previous
	                                  entry's); 0 for local entries */
	uint64_t sent_ns;              /* handed to the broker (monotonic ns) */
	uint32_t gateway_ns;           /* time the gateway spent on the request */
	uint32_t throttle_ms;          /* the wait a tenant quota set at the
	                                  request, for its throttle_time_ms */
};

enum kg_conn_state {
	KG_CONN_HANDSHAKE,             /* client TLS handshake in progress */
	KG_CONN_AUTHENTICATING,        /* SASL exchange with the gateway; no
	                                  upstream connection yet */
	KG_CONN_LOGGED_IN,             /* authenticated, nothing to forward yet:
	                                  the upstream connection is opened by
	                                  the first request for the broker */
	KG_CONN_RESOLVING,             /* waiting for the broker's address
	                                  (resolved off the loop): no upstream
	                                  socket yet */
	KG_CONN_CONNECTING,            /* upstream connect in progress */
	KG_CONN_OPEN,                  /* both sides up */
	KG_CONN_CLOSED                 /* being torn down */
};

struct kg_conn {
	struct kg_worker *w;           /* owning worker (its loop) */
	struct kg_conn *prev, *next;   /* worker's connection list */
	uint64_t id;                   /* worker-unique id, for logs */
	enum kg_conn_state state;      /* lifecycle */
	int32_t node_id;               /* broker this port stands for, -1 bootstrap */
	bool sni;                      /* accepted on the SNI port: node_id comes
	                                  from the SNI name, and addresses are
	                                  advertised as SNI names */
	uint8_t listener;              /* enum kg_metrics_listener of the port */
	bool sni_unknown;              /* the SNI name had no route */
	bool upstream_counted;         /* counted in the upstream_open gauge */
	unsigned attempt;              /* bootstrap connect attempts so far */
	char peer[64];                 /* client address text */

	struct kg_stream cs, us;       /* client and upstream sides */
	struct kg_tls_contexts *tls;   /* contexts held during the handshake */
	char *upstream_host;           /* broker host name, for upstream TLS
	                                  (malloc'd; NULL without it) */
	ev_io c_rd, c_wr, u_rd, u_wr;  /* readiness watchers */
	ev_timer timer;                /* connect timeout, then idle check */
	ev_timer answer_timer;         /* the oldest request's deadline */
	ev_timer quota_timer;          /* runs while a tenant quota's wait
	                                  holds the client's requests (quota.c) */
	ev_tstamp last_deadline;       /* deadline of the newest request */
	ev_tstamp last_active;         /* last byte in either direction */

	struct kg_sbuf c_in;           /* requests received from the client */
	struct kg_sbuf u_in;           /* responses received from the broker */
	struct kg_obuf to_c;           /* gateway-made bytes for the client */
	struct kg_obuf to_u;           /* gateway-made bytes for the broker */

	struct kg_inflight *q;         /* ring of in-flight entries */
	uint32_t qhead, qlen, qcap;    /* ring head, length, capacity */

	size_t u_stream_left;          /* bytes of the response being passed
	                                  through as they arrive (0: none) */
	struct kc_arena arena;         /* decoded trees, reset per frame */
	bool close_after_flush;        /* close once to_c is written */
	bool hold_output;              /* failure delay: write nothing yet */
	struct sockaddr_in6 peer_sa;   /* client address (TCP: an IPv4 one
	                                  fits too; not sockaddr_storage, 100
	                                  bytes more per connection) */

	struct kg_authn authn;         /* SASL state and the principal
	                                  (auth/authn-t.h) */
	struct kg_authz_conn authz;    /* the policy view (enforce/authz-t.h) */
	struct kg_audit_conn *audit;   /* audit context, NULL when off */

	struct kg_conn *login_prev, *login_next; /* worker's list of
	                                  connections logging in (login.c) */
	bool logging_in;               /* on that list: not authenticated */
	bool tenant_counted;           /* counted in tenant (tenants.c) */
	struct kg_tenant_slot *tenant; /* the principal's tenant at login, or
	                                  NULL (none) */
	uint32_t tenant_full;          /* the tenant was at this many connections
	                                  (its max_connections): close at once */
	uint64_t tenant_reported[3];   /* bytes_c2u, bytes_u2c, requests as far
	                                  as reported to the tenant (login.c) */
	bool counted;                  /* counted by admit.c */
	ev_tstamp accepted_at;         /* for listen.auth.login_timeout_ms */
	ev_tstamp connect_started;     /* for upstream.connect_timeout_ms */

	uint64_t bytes_c2u, bytes_u2c; /* traffic counters */
	uint64_t requests;             /* requests received */
};

#endif
