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

/* A tenant's counts, for /status and /metrics. */
struct kg_tenant_counts {
	char name[KG_TENANT_NAME_MAX + 1]; /* tenant name */
	uint32_t open;                 /* its logged-in connections now */
	uint64_t bytes_from_client;    /* since start: requests' bytes */
	uint64_t bytes_from_broker;    /* responses' bytes */
	uint64_t requests;             /* requests received */
};
/* A copy of every tenant's counts (in the order tenants were first seen),
 * *n entries; free() it. NULL and 0: none yet, or out of memory. */
struct kg_tenant_counts *kg_tenants_snapshot(size_t *n);

#endif
