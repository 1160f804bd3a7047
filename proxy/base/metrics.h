/* metrics.h - recording the gateway's counters (metrics-t.h) from any
 * thread, at the cost of a thread-local load and a plain add. */
#ifndef KG_BASE_METRICS_H
#define KG_BASE_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/metrics-t.h"

extern _Thread_local struct kg_metrics *kg_metrics_tls;

/* The calling thread's block, made on its first use (never NULL: a
 * thread that cannot get one records into a shared overflow block). */
struct kg_metrics *kg_metrics_register(void);

static inline struct kg_metrics *kg_metrics_mine(void)
{
	struct kg_metrics *m = kg_metrics_tls;
	return m ? m : kg_metrics_register();
}

/* KG_METRICS_OFF (build/kafka-gateway-nometrics, `make bench` only)
 * compiles every recording call below into nothing, so that the cost of
 * metrics on the request path can be measured against the same code
 * without them in one run. The product always records. */
#ifdef KG_METRICS_OFF
static inline void kg_metric_add(uint64_t *p, uint64_t n) { (void)p; (void)n; }
static inline void kg_metric_gauge(int64_t *p, int64_t d) { (void)p; (void)d; }
#else
/* One writer per block: a relaxed load and store never tear, and the
 * reader sees each word whole. */
static inline void kg_metric_add(uint64_t *p, uint64_t n)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline void kg_metric_gauge(int64_t *p, int64_t d)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}
#endif

#define KG_METRIC_INC(field) kg_metric_add(&kg_metrics_mine()->field, 1)

/* Monotonic time in nanoseconds (vDSO clock, no system call); only the
 * latency histograms read it. */
static inline uint64_t kg_metrics_now_ns(void)
{
#ifdef KG_METRICS_OFF
	return 0;
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* API key -> counter slot; keys outside the table share none (dropped). */
static inline int kg_metrics_api(int16_t key)
{
	return key >= 0 && key < KG_METRICS_APIS ? key : -1;
}

#ifdef KG_METRICS_OFF
#define kg_metrics_request(key, l, bytes, d) ((void)(key), (void)(l), (void)(bytes), (void)(d))
#define kg_metrics_response(key, bytes, b_ns, g_ns) \
	((void)(key), (void)(bytes), (void)(b_ns), (void)(g_ns))
#define kg_metrics_unanswered(key, g_ns) ((void)(key), (void)(g_ns))
#define kg_metrics_decision(key, d) ((void)(key), (void)(d))
#define kg_metrics_login(mech, ok) ((void)(mech), (void)(ok))
#define kg_metrics_reload(kind, ok) ((void)(kind), (void)(ok))
#else
/* A request taken from a client on a listener of kind l, and what
 * authorization made of it. */
void kg_metrics_request(int16_t api_key, enum kg_metrics_listener l, uint64_t bytes,
			enum kg_metrics_decision d);
/* Its response from the broker: bytes to the client, the broker's time
 * and the gateway's own. */
void kg_metrics_response(int16_t api_key, uint64_t bytes, uint64_t broker_ns,
			 uint64_t gateway_ns);
/* A request the broker was not asked to answer (answered by the gateway,
 * or Produce acks=0): the gateway's time only. */
void kg_metrics_unanswered(int16_t api_key, uint64_t gateway_ns);
/* A request closed on, or decided without a request counted. */
void kg_metrics_decision(int16_t api_key, enum kg_metrics_decision d);
void kg_metrics_login(const char *mechanism, bool ok);
void kg_metrics_reload(enum kg_metrics_reload kind, bool ok);
#endif

/* Upper bound of latency bucket b (< KG_METRICS_BUCKETS), in seconds. */
double kg_metrics_bucket_bound_s(int b);

/* Sum of every block so far (blocks of ended threads included). */
void kg_metrics_sum(struct kg_metrics *out);

#endif
