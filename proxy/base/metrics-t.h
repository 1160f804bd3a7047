/* metrics-t.h - the gateway's counters: one block per thread that records
 * (each worker, the refresh thread, the main thread), written only by its
 * thread with plain relaxed stores, read and summed by the admin
 * listener (ops/). No lock and no shared cache line on the request path.
 *
 *   worker 0 ──► block 0 ─┐
 *   worker 1 ──► block 1 ─┼──► ops/metrics_text.c sums ──► GET /metrics
 *   main     ──► block 2 ─┘
 *
 * Every label has a fixed, small set of values (enums below, API keys
 * below KG_METRICS_APIS): no per-topic, per-client or per-address series. */
#ifndef KG_BASE_METRICS_T_H
#define KG_BASE_METRICS_T_H

#include <stdint.h>

#define KG_METRICS_APIS 128           /* API keys counted one by one */
#define KG_METRICS_BUCKETS 25         /* latency histogram upper bounds:
                                         2^10 .. 2^34 ns (1.024 us ..
                                         17.2 s), +Inf apart: a bucket is
                                         one count of leading zeros */
#define KG_METRICS_BUCKET_SHIFT 10    /* log2 of the first bound (ns) */

/* Which kind of listening port a connection came in on. */
enum kg_metrics_listener {
	KG_ML_BOOTSTRAP,               /* the bootstrap port */
	KG_ML_BROKER,                  /* a broker's own port */
	KG_ML_SNI,                     /* the SNI port */
	KG_ML_N
};

/* Why a connection was refused or closed before it could log in. */
enum kg_metrics_refusal {
	KG_MR_MAX_CONNECTIONS,         /* limits.max_connections */
	KG_MR_PER_ADDRESS,             /* limits.max_connections_per_address */
	KG_MR_UNAUTHENTICATED_ADDRESS, /* max_unauthenticated_per_address */
	KG_MR_EVICTED,                 /* the oldest login, cut for a newer one
	                                  (max_unauthenticated_connections) */
	KG_MR_LOGIN_TIMEOUT,           /* listen.auth.login_timeout_ms */
	KG_MR_ADDRESS_BLOCKED,         /* repeated login failures */
	KG_MR_NO_MEMORY,               /* could not be taken in */
	KG_MR_DRAINING,                /* the gateway is shutting down */
	KG_MR_TENANT_CONNECTIONS,      /* tenants[].limits.max_connections */
	KG_MR_N
};

enum kg_metrics_tls_result {
	KG_MT_OK,                      /* handshake completed */
	KG_MT_TIMEOUT,                 /* not completed in time */
	KG_MT_PLAINTEXT,               /* a plaintext client on a TLS port */
	KG_MT_UNRECOGNIZED_NAME,       /* SNI name with no route */
	KG_MT_CERTIFICATE,             /* peer certificate refused */
	KG_MT_PROTOCOL,                /* other handshake failure */
	KG_MT_N
};

enum kg_metrics_mechanism {
	KG_MM_SCRAM_SHA_256,
	KG_MM_SCRAM_SHA_512,
	KG_MM_PLAIN,
	KG_MM_TLS,                     /* mTLS certificate */
	KG_MM_OTHER,                   /* unknown or unsupported mechanism */
	KG_MM_N
};

/* What authorization made of a request. */
enum kg_metrics_decision {
	KG_MD_ALLOWED,                 /* forwarded whole */
	KG_MD_PARTIAL,                 /* some items denied (errors merged) */
	KG_MD_DENIED,                  /* answered with errors, or closed */
	KG_MD_N
};

/* Which side of a request's time a histogram holds. */
enum kg_metrics_part {
	KG_MP_GATEWAY,                 /* parsing, authorizing, rewriting:
	                                  request in, until handed on; response
	                                  in, until queued to the client */
	KG_MP_BROKER,                  /* handed on until the response is in */
	KG_MP_N
};

enum kg_metrics_direction { KG_MDIR_IN, KG_MDIR_OUT, KG_MDIR_N };

/* Reload kinds (kg_metrics.reloads). */
enum kg_metrics_reload {
	KG_MRL_POLICY, KG_MRL_TLS, KG_MRL_USERS, KG_MRL_N
};

/* A thread's block. Counters only grow; the *_open gauges are raised
 * and lowered by the same thread, so their sum over blocks is exact. */
struct kg_metrics {
	uint64_t accepted[KG_ML_N];              /* connections accepted */
	int64_t open[KG_ML_N];                   /* connections open now */
	uint64_t refused[KG_MR_N];               /* refused or cut, by reason */
	uint64_t tls[KG_MT_N];                   /* handshakes by result */
	uint64_t logins[KG_MM_N][2];             /* [mechanism][ok] */
	uint64_t decisions[KG_METRICS_APIS][KG_MD_N]; /* authorization verdicts */
	uint64_t requests[KG_METRICS_APIS][KG_ML_N];  /* requests taken */
	uint64_t bytes[KG_METRICS_APIS][KG_MDIR_N];   /* frame bytes: requests
	                                                 in, responses out */
	uint64_t hist[KG_METRICS_APIS][KG_MP_N][KG_METRICS_BUCKETS + 1];
	                                         /* latency, per bucket (not
	                                            cumulative; last: +Inf) */
	uint64_t hist_ns[KG_METRICS_APIS][KG_MP_N]; /* sum of those latencies */
	int64_t inflight;                        /* requests awaiting a broker */
	int64_t upstream_open;                   /* connections to brokers */
	uint64_t reloads[KG_MRL_N][2];           /* [kind][ok] (main thread) */
	struct kg_metrics *next;                 /* all blocks (metrics.c);
	                                            last: the counters above
	                                            are summed as 64-bit words */
};

#endif
