/* tenants.c - per-tenant connections and traffic (see tenants.h).
 *
 * One mutex over a short array: it is taken at a login, at the close of
 * a logged-in connection and by each worker's traffic report once a
 * second, never per request, and a policy has a handful of tenants.
 * Slots are allocated one by one and never freed, so a connection keeps
 * a stable pointer to the one it is counted in.
 */
#include "loop/tenants.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kg_tenant_slot {
	struct kg_tenant_counts n;     /* name, counts, rates in force */
	double credit[KG_QUOTA_KINDS]; /* bucket (bytes or requests; < 0 a debt) */
	uint64_t last_ns[KG_QUOTA_KINDS]; /* last charge (0: bucket untouched) */
	_Atomic uint64_t gen;          /* policy generation of n.rate */
	_Atomic unsigned kinds;        /* bit per kind with a rate */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kg_tenant_slot **slots; /* every tenant name seen */
static size_t nslots, capslots;       /* used, allocated */

/* The slot for name, created if needed; NULL out of memory. Locked. */
static struct kg_tenant_slot *slot_for(const char *name)
{
	for (size_t i = 0; i < nslots; i++)
		if (strcmp(slots[i]->n.name, name) == 0)
			return slots[i];
	if (nslots == capslots) {
		size_t cap = capslots ? capslots * 2 : 8;
		struct kg_tenant_slot **n = realloc(slots, cap * sizeof(*n));
		if (!n)
			return NULL;
		slots = n;
		capslots = cap;
	}
	struct kg_tenant_slot *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	snprintf(s->n.name, sizeof(s->n.name), "%s", name);
	slots[nslots++] = s;
	return s;
}

int kg_tenants_enter(const struct kg_tenant *t, struct kg_tenant_slot **slot)
{
	pthread_mutex_lock(&lock);
	struct kg_tenant_slot *s = slot_for(t->name);
	int rc = -2;
	if (s && t->max_connections != 0 && s->n.open >= t->max_connections)
		rc = -1;
	else if (s) {
		s->n.open++;
		rc = 0;
	}
	*slot = s;
	pthread_mutex_unlock(&lock);
	return rc;
}

void kg_tenants_leave(struct kg_tenant_slot *slot)
{
	if (!slot)
		return;
	pthread_mutex_lock(&lock);
	slot->n.open--;
	pthread_mutex_unlock(&lock);
}

const char *kg_tenant_slot_name(const struct kg_tenant_slot *slot)
{
	return slot->n.name;
}

void kg_tenants_traffic(struct kg_tenant_slot *slot, uint64_t bytes_from_client,
			uint64_t bytes_from_broker, uint64_t requests)
{
	pthread_mutex_lock(&lock);
	slot->n.bytes_from_client += bytes_from_client;
	slot->n.bytes_from_broker += bytes_from_broker;
	slot->n.requests += requests;
	pthread_mutex_unlock(&lock);
}

struct kg_tenant_counts *kg_tenants_snapshot(size_t *n)
{
	pthread_mutex_lock(&lock);
	struct kg_tenant_counts *out = nslots ? calloc(nslots, sizeof(*out)) : NULL;
	*n = out ? nslots : 0;
	for (size_t i = 0; i < *n; i++)
		out[i] = slots[i]->n;
	pthread_mutex_unlock(&lock);
	return out;
}

uint64_t kg_tenants_quota_generation(const struct kg_tenant_slot *slot)
{
	return atomic_load_explicit(&slot->gen, memory_order_acquire);
}

unsigned kg_tenants_quota_kinds(const struct kg_tenant_slot *slot)
{
	return atomic_load_explicit(&slot->kinds, memory_order_relaxed);
}

void kg_tenants_quota_set(struct kg_tenant_slot *slot, const uint64_t rate[KG_QUOTA_KINDS],
			  uint64_t gen)
{
	unsigned kinds = 0;
	pthread_mutex_lock(&lock);
	for (int k = 0; k < KG_QUOTA_KINDS; k++) {
		slot->n.rate[k] = rate[k];
		double burst = (double)rate[k] * KG_QUOTA_BURST_S;
		if (slot->credit[k] > burst)
			slot->credit[k] = burst;
		if (rate[k])
			kinds |= 1u << k;
		else
			slot->last_ns[k] = 0;   /* a quota set again starts full */
	}
	atomic_store_explicit(&slot->kinds, kinds, memory_order_relaxed);
	atomic_store_explicit(&slot->gen, gen, memory_order_release);
	pthread_mutex_unlock(&lock);
}

uint64_t kg_tenants_quota_rate(struct kg_tenant_slot *slot, enum kg_quota_kind k)
{
	pthread_mutex_lock(&lock);
	uint64_t r = slot->n.rate[k];
	pthread_mutex_unlock(&lock);
	return r;
}

uint32_t kg_tenants_quota_charge(struct kg_tenant_slot *slot, enum kg_quota_kind k,
				 uint64_t amount, uint64_t now_ns)
{
	if (!(kg_tenants_quota_kinds(slot) & (1u << k)))
		return 0;
	pthread_mutex_lock(&lock);
	double rate = (double)slot->n.rate[k];
	uint32_t ms = 0;
	if (rate > 0) {
		double burst = rate * KG_QUOTA_BURST_S;
		double credit = slot->credit[k];
		if (slot->last_ns[k] == 0)
			credit = burst;
		else if (now_ns > slot->last_ns[k])
			credit += rate * (double)(now_ns - slot->last_ns[k]) / 1e9;
		if (credit > burst)
			credit = burst;
		if (now_ns > slot->last_ns[k])
			slot->last_ns[k] = now_ns;
		credit -= (double)amount;
		slot->credit[k] = credit;
		if (credit < 0) {
			/* rounded up: a wait of 0 ms would not slow anyone */
			double wait = -credit / rate * 1000.0 + 1.0;
			ms = wait >= KG_QUOTA_MAX_THROTTLE_MS ? KG_QUOTA_MAX_THROTTLE_MS : (uint32_t)wait;
			slot->n.throttled[k]++;
			slot->n.throttle_ms[k] += ms;
		}
	}
	pthread_mutex_unlock(&lock);
	return ms;
}
