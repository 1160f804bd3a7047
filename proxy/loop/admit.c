/* admit.c - per-address connection counts (see admit.h).
 *
 * One hash table for the whole process, under a mutex: accepts are far
 * rarer than requests, and every worker must see the same counts (the
 * kernel spreads one address's connections over all workers). An entry
 * lives while its address has a connection, so the table holds no more
 * entries than there are connections; its limits are looked up once, when
 * the entry is made.
 */
#define _GNU_SOURCE
#include "loop/admit.h"
#include "io/netrange.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096

struct entry {
	struct entry *next;            /* bucket chain */
	uint8_t key[16];               /* the address */
	uint32_t total;                /* its connections */
	uint32_t unauthenticated;      /* of those, not logged in yet */
	uint32_t max_total;            /* limits for it; 0 = none */
	uint32_t max_unauthenticated;
};

static pthread_mutex_t admit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *buckets[BUCKETS];
static const struct kg_config *limits;

void kg_admit_configure(const struct kg_config *cfg)
{
	pthread_mutex_lock(&admit_lock);
	limits = cfg;
	pthread_mutex_unlock(&admit_lock);
}

static uint32_t bucket_of(const uint8_t key[16])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % BUCKETS;
}

/* The entry of key; with create, a new one when there is none. */
static struct entry *find(const uint8_t key[16], bool create)
{
	struct entry **head = &buckets[bucket_of(key)];
	for (struct entry *e = *head; e; e = e->next)
		if (memcmp(e->key, key, 16) == 0)
			return e;
	if (!create)
		return NULL;
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->key, key, 16);
	e->max_total = limits ? limits->max_connections_per_address : 0;
	e->max_unauthenticated = limits ? limits->max_unauthenticated_per_address : 0;
	for (size_t i = 0; limits && i < limits->naddress_limits; i++) {
		if (kg_net_range_contains(&limits->address_limits[i].net, key)) {
			e->max_total = e->max_unauthenticated = limits->address_limits[i].max;
			break;
		}
	}
	e->next = *head;
	*head = e;
	return e;
}

static void drop_if_unused(struct entry *e)
{
	if (e->total)
		return;
	struct entry **p = &buckets[bucket_of(e->key)];
	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	free(e);
}

enum kg_admit kg_admit_enter(const struct sockaddr *sa)
{
	uint8_t key[16];
	if (!kg_net_addr_key(sa, key))
		return KG_ADMIT_OK;
	enum kg_admit r = KG_ADMIT_OK;
	pthread_mutex_lock(&admit_lock);
	struct entry *e = find(key, true);
	if (!e)
		r = KG_ADMIT_NO_MEMORY;
	else if (e->max_total && e->total >= e->max_total)
		r = KG_ADMIT_ADDRESS_FULL;
	else if (e->max_unauthenticated && e->unauthenticated >= e->max_unauthenticated)
		r = KG_ADMIT_ADDRESS_LOGINS_FULL;
	if (r == KG_ADMIT_OK) {
		e->total++;
		e->unauthenticated++;
	} else if (e) {
		drop_if_unused(e);
	}
	pthread_mutex_unlock(&admit_lock);
	return r;
}

void kg_admit_authenticated(const struct sockaddr *sa)
{
	uint8_t key[16];
	if (!kg_net_addr_key(sa, key))
		return;
	pthread_mutex_lock(&admit_lock);
	struct entry *e = find(key, false);
	if (e && e->unauthenticated)
		e->unauthenticated--;
	pthread_mutex_unlock(&admit_lock);
}

void kg_admit_leave(const struct sockaddr *sa, bool authenticated)
{
	uint8_t key[16];
	if (!kg_net_addr_key(sa, key))
		return;
	pthread_mutex_lock(&admit_lock);
	struct entry *e = find(key, false);
	if (e) {
		if (!authenticated && e->unauthenticated)
			e->unauthenticated--;
		if (e->total)
			e->total--;
		drop_if_unused(e);
	}
	pthread_mutex_unlock(&admit_lock);
}

const char *kg_admit_reason(enum kg_admit a)
{
	switch (a) {
	case KG_ADMIT_OK:
		return "admitted";
	case KG_ADMIT_ADDRESS_FULL:
		return "too many connections from this address (limits.max_connections_per_address)";
	case KG_ADMIT_ADDRESS_LOGINS_FULL:
		return "too many unauthenticated connections from this address "
		       "(limits.max_unauthenticated_per_address)";
	case KG_ADMIT_NO_MEMORY:
		return "out of memory";
	}
	return "refused";
}
