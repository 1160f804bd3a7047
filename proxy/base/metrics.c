/* metrics.c - per-thread counter blocks (metrics-t.h) and their sum. */
#define _GNU_SOURCE
#include "base/metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

_Thread_local struct kg_metrics *kg_metrics_tls;

static pthread_mutex_t blocks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kg_metrics *blocks;       /* every block, newest first */
/* Threads that could not get a block of their own share this one; their
 * counts may then race (and be a little low), never crash. */
static struct kg_metrics overflow;

struct kg_metrics *kg_metrics_register(void)
{
	struct kg_metrics *m = calloc(1, sizeof(*m));
	pthread_mutex_lock(&blocks_lock);
	if (m) {
		m->next = blocks;
		blocks = m;
	} else {
		m = &overflow;
	}
	pthread_mutex_unlock(&blocks_lock);
	kg_metrics_tls = m;
	return m;
}

double kg_metrics_bucket_bound_s(int b)
{
	return (double)(1ull << (b + KG_METRICS_BUCKET_SHIFT)) / 1e9;
}

/* Recording (compiled out in build/kafka-gateway-nometrics, metrics.h). */
#ifndef KG_METRICS_OFF
void kg_metrics_request(int16_t api_key, enum kg_metrics_listener l, uint64_t bytes,
			enum kg_metrics_decision d)
{
	int k = kg_metrics_api(api_key);
	if (k < 0)
		return;
	struct kg_metrics *m = kg_metrics_mine();
	kg_metric_add(&m->requests[k][l], 1);
	kg_metric_add(&m->bytes[k][KG_MDIR_IN], bytes);
	kg_metric_add(&m->decisions[k][d], 1);
}

/* The histogram bucket of a latency: ns in (2^(k-1), 2^k] is bucket
 * k - KG_METRICS_BUCKET_SHIFT (its bound 2^k ns), found with one count
 * of leading zeros, no table. */
static inline int bucket(uint64_t ns)
{
	if (ns <= (1u << KG_METRICS_BUCKET_SHIFT))
		return 0;
	int b = 64 - __builtin_clzll(ns - 1) - KG_METRICS_BUCKET_SHIFT;
	return b < KG_METRICS_BUCKETS ? b : KG_METRICS_BUCKETS;
}

static void latency(struct kg_metrics *m, int k, enum kg_metrics_part part, uint64_t ns)
{
	kg_metric_add(&m->hist[k][part][bucket(ns)], 1);
	kg_metric_add(&m->hist_ns[k][part], ns);
}

void kg_metrics_response(int16_t api_key, uint64_t bytes, uint64_t broker_ns,
			 uint64_t gateway_ns)
{
	int k = kg_metrics_api(api_key);
	if (k < 0)
		return;
	struct kg_metrics *m = kg_metrics_mine();
	kg_metric_add(&m->bytes[k][KG_MDIR_OUT], bytes);
	latency(m, k, KG_MP_BROKER, broker_ns);
	latency(m, k, KG_MP_GATEWAY, gateway_ns);
}

void kg_metrics_unanswered(int16_t api_key, uint64_t gateway_ns)
{
	int k = kg_metrics_api(api_key);
	if (k >= 0)
		latency(kg_metrics_mine(), k, KG_MP_GATEWAY, gateway_ns);
}

void kg_metrics_decision(int16_t api_key, enum kg_metrics_decision d)
{
	int k = kg_metrics_api(api_key);
	if (k >= 0)
		kg_metric_add(&kg_metrics_mine()->decisions[k][d], 1);
}

void kg_metrics_login(const char *mechanism, bool ok)
{
	enum kg_metrics_mechanism mm = KG_MM_OTHER;
	if (mechanism) {
		if (strcasecmp(mechanism, "SCRAM-SHA-256") == 0)
			mm = KG_MM_SCRAM_SHA_256;
		else if (strcasecmp(mechanism, "SCRAM-SHA-512") == 0)
			mm = KG_MM_SCRAM_SHA_512;
		else if (strcasecmp(mechanism, "PLAIN") == 0)
			mm = KG_MM_PLAIN;
		else if (strcasecmp(mechanism, "TLS") == 0)
			mm = KG_MM_TLS;
	}
	kg_metric_add(&kg_metrics_mine()->logins[mm][ok], 1);
}

void kg_metrics_reload(enum kg_metrics_reload kind, bool ok)
{
	kg_metric_add(&kg_metrics_mine()->reloads[kind][ok], 1);
}

#endif

void kg_metrics_sum(struct kg_metrics *out)
{
	enum { WORDS = offsetof(struct kg_metrics, next) / sizeof(uint64_t) };
	_Static_assert(offsetof(struct kg_metrics, next) % sizeof(uint64_t) == 0,
		       "counters are 64-bit words");
	memset(out, 0, sizeof(*out));
	uint64_t *dst = (uint64_t *)out;
	pthread_mutex_lock(&blocks_lock);
	for (struct kg_metrics *m = blocks;; m = m->next) {
		if (!m)
			m = &overflow;
		const uint64_t *src = (const uint64_t *)m;
		for (size_t i = 0; i < WORDS; i++)
			dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
		if (m == &overflow)
			break;
	}
	pthread_mutex_unlock(&blocks_lock);
}
