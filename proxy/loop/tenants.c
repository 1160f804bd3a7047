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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kg_tenant_slot {
	struct kg_tenant_counts n;     /* name and counts */
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
