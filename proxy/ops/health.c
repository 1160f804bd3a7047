/* health.c - readiness (health.h). */
#include "ops/health.h"
#include "audit/audit.h"

#include <stdatomic.h>
#include <stdio.h>

static atomic_bool listening;  /* workers up, listeners bound */
static atomic_bool draining;   /* SIGTERM received */

void kg_health_set_listening(bool on)
{
	atomic_store(&listening, on);
}

void kg_health_set_draining(void)
{
	atomic_store(&draining, true);
}

bool kg_health_draining(void)
{
	return atomic_load(&draining);
}

bool kg_health_ready(struct kg_router *r, char *why, size_t len)
{
	struct kg_audit_stats st;
	if (atomic_load(&draining))
		snprintf(why, len, "draining: the gateway is shutting down");
	else if (!atomic_load(&listening))
		snprintf(why, len, "starting: listeners not open yet");
	else if (atomic_load(&r->refreshed_ns) == 0)
		snprintf(why, len, "no broker has answered a metadata request yet");
	else if (atomic_load(&r->refresh_brokers) < 0)
		snprintf(why, len, "the last metadata refresh reached no upstream bootstrap server");
	else if (atomic_load(&r->refresh_brokers) == 0)
		snprintf(why, len, "the brokers' metadata lists no broker");
	else if (kg_audit_stats(&st) && st.failing)
		snprintf(why, len, "the audit log cannot be written");
	else
		return true;
	return false;
}
