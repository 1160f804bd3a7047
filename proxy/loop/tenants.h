/* tenants.h - what the gateway counts per tenant across all workers: its
 * logged-in connections (policy tenants[].limits.max_connections) and its
 * traffic. A tenant is counted under its name, so a reload that changes
 * the policy keeps the counts: a new limit applies to the next logins,
 * connections already in are kept (as a broker keeps connections when a
 * quota is lowered). Thread safe. */
#ifndef KG_LOOP_TENANTS_H
#define KG_LOOP_TENANTS_H

#include <stddef.h>
#include <stdint.h>

#include "acl/policy-t.h"

struct kg_tenant_slot;             /* one per tenant name, never freed */

/* Counts one connection of tenant t in: 0, or -1 when t is at its limit
 * (nothing counted), with *slot set to the tenant's either way; -2 and
 * *slot NULL out of memory. */
int kg_tenants_enter(const struct kg_tenant *t, struct kg_tenant_slot **slot);
/* The connection counted in slot is gone (NULL: nothing to do). */
void kg_tenants_leave(struct kg_tenant_slot *slot);
/* Adds traffic of one of the tenant's connections (the worker reports its
 * connections' new traffic about once a second, and at close). */
void kg_tenants_traffic(struct kg_tenant_slot *slot, uint64_t bytes_from_client,
			uint64_t bytes_from_broker, uint64_t requests);
/* The tenant's name; lives as long as the process. */
const char *kg_tenant_slot_name(const struct kg_tenant_slot *slot);

/* ---- quotas (tenants[].quotas): a token bucket per tenant and kind ----
 *
 *   credit += rate * elapsed, at most rate * KG_QUOTA_BURST_S
 *   credit -= amount charged            (may go below zero: a debt)
 *   throttle = debt / rate              (how long until it is paid)
 *
 * A tenant over its rate is told to wait as long as it takes to pay its
 * debt back at its rate; every connection of the tenant shares the
 * bucket, so their sum is held to the rate whatever their number. */

/* Credit a tenant may save up, in seconds of its rate: one second of
 * burst over any span, so a 30 s measurement sees at most 1/30 more. */
#define KG_QUOTA_BURST_S 1.0
/* Longest wait asked for at once (a broker's quota window is 11 s); a
 * debt longer than that is asked for again by the next request. */
#define KG_QUOTA_MAX_THROTTLE_MS 10000u

/* The policy generation the slot's rates were read at (0: never). */
uint64_t kg_tenants_quota_generation(const struct kg_tenant_slot *slot);
/* Sets the slot's rates (bytes or requests per second, 0 = no quota,
 * indexed by enum kg_quota_kind), read from policy generation gen. A
 * lowered rate caps the saved credit at the new burst; a debt stays. */
void kg_tenants_quota_set(struct kg_tenant_slot *slot, const uint64_t rate[KG_QUOTA_KINDS],
			  uint64_t gen);
/* Bit (1 << kind) for each kind with a quota; one atomic load. */
unsigned kg_tenants_quota_kinds(const struct kg_tenant_slot *slot);
/* The rate of kind k in force (0: none). */
uint64_t kg_tenants_quota_rate(struct kg_tenant_slot *slot, enum kg_quota_kind k);
/* Charges amount of kind k at now_ns (monotonic): the wait it earns, in
 * ms (0: within the quota, or no quota of kind k). */
uint32_t kg_tenants_quota_charge(struct kg_tenant_slot *slot, enum kg_quota_kind k,
				 uint64_t amount, uint64_t now_ns);

/* A tenant's counts, for /status and /metrics. */
struct kg_tenant_counts {
	char name[KG_TENANT_NAME_MAX + 1]; /* tenant name */
	uint32_t open;                 /* its logged-in connections now */
	uint64_t bytes_from_client;    /* since start: requests' bytes */
	uint64_t bytes_from_broker;    /* responses' bytes */
	uint64_t requests;             /* requests received */
	uint64_t rate[KG_QUOTA_KINDS]; /* quotas in force (0: none) */
	uint64_t throttled[KG_QUOTA_KINDS]; /* charges that earned a wait */
	uint64_t throttle_ms[KG_QUOTA_KINDS]; /* the waits they earned, ms */
};
/* A copy of every tenant's counts (in the order tenants were first seen),
 * *n entries; free() it. NULL and 0: none yet, or out of memory. */
struct kg_tenant_counts *kg_tenants_snapshot(size_t *n);

#endif
