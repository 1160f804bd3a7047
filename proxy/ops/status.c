/* status.c - the /status document (status.h). */
#include "ops/status.h"
#include "audit/audit.h"
#include "base/metrics.h"
#include "base/version.h"
#include "acl/policy.h"
#include "enforce/current_policy.h"
#include "loop/tenants.h"
#include "ops/health.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *brokers(struct kg_router *r)
{
	json_t *a = json_array();
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->nnodes; i++) {
		const struct kg_node *n = &r->nodes[i];
		json_array_append_new(a, json_pack("{s:i, s:s, s:i, s:i, s:s}", "node_id", n->node_id,
						   "upstream_host", n->host, "upstream_port", n->port,
						   "gateway_port", n->bind_port, "state",
						   n->refused ? "refused" : n->resolved ? "resolved"
										: "unresolved"));
	}
	pthread_mutex_unlock(&r->lock);
	return a;
}

/* Each tenant seen since start: its logged-in connections, its limit in
 * the policy in force (null: not in it any more) and its traffic. */
static json_t *tenants(void)
{
	json_t *out = json_array();
	size_t n;
	struct kg_tenant_counts *c = kg_tenants_snapshot(&n);
	struct kg_policy *p = kg_current_policy();
	for (size_t i = 0; i < n; i++) {
		const struct kg_tenant *t = kg_policy_tenant_named(p, c[i].name);
		json_t *q = json_object();
		for (int k = 0; t && k < KG_QUOTA_KINDS; k++)
			if (t->quota[k])
				json_object_set_new(q, kg_quota_kind_name(k), json_pack(
					"{s:I, s:I, s:f}", "rate", (json_int_t)t->quota[k],
					"throttled", (json_int_t)c[i].throttled[k],
					"throttle_seconds", (double)c[i].throttle_ms[k] / 1000.0));
		json_array_append_new(out, json_pack(
			"{s:s, s:I, s:o, s:I, s:I, s:I, s:o}", "name", c[i].name,
			"connections", (json_int_t)c[i].open,
			"max_connections", t ? json_integer(t->max_connections) : json_null(),
			"bytes_from_client", (json_int_t)c[i].bytes_from_client,
			"bytes_from_broker", (json_int_t)c[i].bytes_from_broker,
			"requests", (json_int_t)c[i].requests, "quotas", q));
	}
	kg_policy_unref(p);
	free(c);
	return out;
}

char *kg_status_json(struct kg_gateway *gw)
{
	static const char *const names[KG_ML_N] = { "bootstrap", "broker", "sni" };
	static struct kg_metrics m;   /* ~60 KiB; one request at a time (admin.c) */
	kg_metrics_sum(&m);
	char why[160];
	bool ready = kg_health_ready(&gw->router, why, sizeof(why));
	json_t *conns = json_object();
	for (int l = 0; l < KG_ML_N; l++)
		json_object_set_new(conns, names[l], json_integer(m.open[l]));
	uint64_t at = atomic_load(&gw->router.refreshed_ns);
	json_t *doc = json_pack("{s:s, s:s, s:i, s:b, s:s?, s:b, s:I, s:o, s:I, s:I, s:o}",
				"version", KG_VERSION_STRING, "config", gw->cfg->path,
				"workers", gw->nworkers, "ready", ready,
				"not_ready_because", ready ? NULL : why,
				"draining", kg_health_draining(),
				"policy_generation", (json_int_t)kg_current_policy_generation(),
				"connections", conns,
				"requests_in_flight", (json_int_t)m.inflight,
				"upstream_connections", (json_int_t)m.upstream_open,
				"brokers", brokers(&gw->router));
	if (!doc)
		return NULL;
	json_object_set_new(doc, "metadata_refresh_age_s",
			    at ? json_real((double)(kg_metrics_now_ns() - at) / 1e9) : json_null());
	json_object_set_new(doc, "tenants", tenants());
	struct kg_audit_stats st;
	if (kg_audit_stats(&st))
		json_object_set_new(doc, "audit",
				    json_pack("{s:I, s:I, s:I, s:I, s:b}", "queued",
					      (json_int_t)st.queued, "written", (json_int_t)st.written,
					      "dropped", (json_int_t)st.dropped, "write_errors",
					      (json_int_t)st.write_errors, "failing", st.failing));
	char *s = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	char *nl = s ? realloc(s, strlen(s) + 2) : NULL;
	if (!nl) {
		free(s);
		return NULL;
	}
	strcat(nl, "\n");
	return nl;
}
