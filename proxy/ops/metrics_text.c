/* metrics_text.c - the Prometheus exposition of the gateway (see
 * metrics_text.h; README "Operations" lists every family). Families with
 * an "api" label list only the APIs that have been seen. */
#define _GNU_SOURCE
#include "ops/metrics_text.h"
#include "audit/audit.h"
#include "auth/tls.h"
#include "base/metrics.h"
#include "base/version.h"
#include "kafka/codec.h"
#include "acl/policy.h"
#include "loop/tenants.h"
#include "ops/health.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define P "kafka_gateway_"

static const char *const listener_names[KG_ML_N] = { "bootstrap", "broker", "sni" };
static const char *const refusal_names[KG_MR_N] = {
	"max_connections", "max_connections_per_address", "max_unauthenticated_per_address",
	"evicted_for_newer_login", "login_timeout", "address_blocked", "out_of_memory",
	"draining", "tenant_max_connections",
};
static const char *const tls_names[KG_MT_N] = {
	"ok", "timeout", "plaintext_client", "unrecognized_name", "certificate", "protocol",
};
static const char *const mech_names[KG_MM_N] = {
	"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN", "TLS", "other",
};
static const char *const decision_names[KG_MD_N] = { "allowed", "partially_denied", "denied" };
static const char *const part_names[KG_MP_N] = { "gateway", "broker" };
static const char *const dir_names[KG_MDIR_N] = { "in", "out" };
static const char *const reload_names[KG_MRL_N] = { "policy", "tls", "users" };

static void family(struct kg_text *t, const char *name, const char *type, const char *help)
{
	kg_text_printf(t, "# HELP " P "%s %s\n# TYPE " P "%s %s\n", name, help, name, type);
}

static const char *api_name(int k)
{
	const struct kc_api *a = kc_api_find((int16_t)k);
	return a ? a->name : "unknown";
}

static void connections(struct kg_text *t, const struct kg_metrics *m)
{
	family(t, "connections_accepted_total", "counter", "Client connections accepted.");
	for (int l = 0; l < KG_ML_N; l++)
		kg_text_printf(t, P "connections_accepted_total{listener=\"%s\"} %llu\n",
			       listener_names[l], (unsigned long long)m->accepted[l]);
	family(t, "connections_open", "gauge", "Client connections open now.");
	for (int l = 0; l < KG_ML_N; l++)
		kg_text_printf(t, P "connections_open{listener=\"%s\"} %lld\n", listener_names[l],
			       (long long)m->open[l]);
	family(t, "connections_refused_total", "counter",
	       "Client connections refused or cut before logging in, by reason.");
	for (int r = 0; r < KG_MR_N; r++)
		kg_text_printf(t, P "connections_refused_total{reason=\"%s\"} %llu\n",
			       refusal_names[r], (unsigned long long)m->refused[r]);
	family(t, "tls_handshakes_total", "counter", "Client TLS handshakes by result.");
	for (int r = 0; r < KG_MT_N; r++)
		kg_text_printf(t, P "tls_handshakes_total{result=\"%s\"} %llu\n", tls_names[r],
			       (unsigned long long)m->tls[r]);
	family(t, "logins_total", "counter", "Client logins by mechanism and result.");
	for (int i = 0; i < KG_MM_N; i++)
		for (int ok = 1; ok >= 0; ok--)
			kg_text_printf(t, P "logins_total{mechanism=\"%s\",result=\"%s\"} %llu\n",
				       mech_names[i], ok ? "ok" : "failed",
				       (unsigned long long)m->logins[i][ok]);
}

static bool api_seen(const struct kg_metrics *m, int k)
{
	for (int l = 0; l < KG_ML_N; l++)
		if (m->requests[k][l])
			return true;
	for (int d = 0; d < KG_MD_N; d++)
		if (m->decisions[k][d])
			return true;
	return false;
}

static void histogram(struct kg_text *t, const struct kg_metrics *m, int k, int part)
{
	uint64_t cum = 0;
	const char *a = api_name(k);
	for (int b = 0; b <= KG_METRICS_BUCKETS; b++) {
		cum += m->hist[k][part][b];
		if (b < KG_METRICS_BUCKETS)
			kg_text_printf(t, P "request_duration_seconds_bucket{api=\"%s\",part=\"%s\","
				       "le=\"%g\"} %llu\n", a, part_names[part],
				       kg_metrics_bucket_bound_s(b), (unsigned long long)cum);
		else
			kg_text_printf(t, P "request_duration_seconds_bucket{api=\"%s\",part=\"%s\","
				       "le=\"+Inf\"} %llu\n", a, part_names[part],
				       (unsigned long long)cum);
	}
	kg_text_printf(t, P "request_duration_seconds_sum{api=\"%s\",part=\"%s\"} %.9f\n", a,
		       part_names[part], (double)m->hist_ns[k][part] / 1e9);
	kg_text_printf(t, P "request_duration_seconds_count{api=\"%s\",part=\"%s\"} %llu\n", a,
		       part_names[part], (unsigned long long)cum);
}

static void requests(struct kg_text *t, const struct kg_metrics *m)
{
	family(t, "authorization_total", "counter",
	       "Requests by API and what authorization made of them.");
	for (int k = 0; k < KG_METRICS_APIS; k++)
		for (int d = 0; api_seen(m, k) && d < KG_MD_N; d++)
			kg_text_printf(t, P "authorization_total{api=\"%s\",result=\"%s\"} %llu\n",
				       api_name(k), decision_names[d],
				       (unsigned long long)m->decisions[k][d]);
	family(t, "requests_total", "counter", "Requests taken from clients, by API and listener.");
	for (int k = 0; k < KG_METRICS_APIS; k++)
		for (int l = 0; api_seen(m, k) && l < KG_ML_N; l++)
			kg_text_printf(t, P "requests_total{api=\"%s\",listener=\"%s\"} %llu\n",
				       api_name(k), listener_names[l],
				       (unsigned long long)m->requests[k][l]);
	family(t, "request_bytes_total", "counter",
	       "Frame bytes by API: requests from clients (in), responses to them (out).");
	for (int k = 0; k < KG_METRICS_APIS; k++)
		for (int d = 0; api_seen(m, k) && d < KG_MDIR_N; d++)
			kg_text_printf(t, P "request_bytes_total{api=\"%s\",direction=\"%s\"} %llu\n",
				       api_name(k), dir_names[d], (unsigned long long)m->bytes[k][d]);
	family(t, "request_duration_seconds", "histogram",
	       "Request latency by API: the gateway's own work, and the broker's (handed on "
	       "until the response is in).");
	for (int k = 0; k < KG_METRICS_APIS; k++)
		for (int part = 0; api_seen(m, k) && part < KG_MP_N; part++)
			histogram(t, m, k, part);
	family(t, "requests_in_flight", "gauge", "Requests handed to brokers, not answered yet.");
	kg_text_printf(t, P "requests_in_flight %lld\n", (long long)m->inflight);
}

static void upstream(struct kg_text *t, struct kg_gateway *gw, const struct kg_metrics *m)
{
	struct kg_router *r = &gw->router;
	size_t known = 0, resolved = 0, refused = 0;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->nnodes; i++) {
		known++;
		resolved += r->nodes[i].resolved;
		refused += r->nodes[i].refused;
	}
	pthread_mutex_unlock(&r->lock);
	family(t, "upstream_brokers", "gauge",
	       "Brokers known from metadata: resolved, waiting for DNS, or refused "
	       "(outside upstream.allowed_hosts).");
	kg_text_printf(t, P "upstream_brokers{state=\"resolved\"} %zu\n", resolved - refused);
	kg_text_printf(t, P "upstream_brokers{state=\"unresolved\"} %zu\n", known - resolved);
	kg_text_printf(t, P "upstream_brokers{state=\"refused\"} %zu\n", refused);
	family(t, "upstream_connections_open", "gauge", "Connections to brokers open now.");
	kg_text_printf(t, P "upstream_connections_open %lld\n", (long long)m->upstream_open);
	family(t, "metadata_refresh_age_seconds", "gauge",
	       "Time since the last metadata refresh that reached the brokers.");
	uint64_t at = atomic_load(&r->refreshed_ns);
	if (at)
		kg_text_printf(t, P "metadata_refresh_age_seconds %.3f\n",
			       (double)(kg_metrics_now_ns() - at) / 1e9);
	else
		kg_text_printf(t, P "metadata_refresh_age_seconds +Inf\n");
}

/* Per tenant and quota in force (or once used): how many charges earned
 * a wait, or (seconds) how long the waits were. */
static void quota_family(struct kg_text *t, const struct kg_tenant_counts *c, size_t n,
			 bool seconds)
{
	const char *name = seconds ? "tenant_quota_throttle_seconds_total"
				   : "tenant_quota_throttled_total";
	family(t, name, "counter", seconds
	       ? "Waits a tenant's clients were given for going over its quota."
	       : "Charges against a tenant quota that earned the client a wait (throttle_time_ms).");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < KG_QUOTA_KINDS; k++) {
			if (!c[i].rate[k] && !c[i].throttled[k])
				continue;
			kg_text_printf(t, P "%s{tenant=\"%s\",quota=\"%s\"} ", name, c[i].name,
				       kg_quota_kind_name(k));
			if (seconds)
				kg_text_printf(t, "%.3f\n", (double)c[i].throttle_ms[k] / 1000.0);
			else
				kg_text_printf(t, "%llu\n", (unsigned long long)c[i].throttled[k]);
		}
}

/* Tenant names are few (the policy's) and plain: bounded label values. */
static void tenants(struct kg_text *t)
{
	size_t n;
	struct kg_tenant_counts *c = kg_tenants_snapshot(&n);
	family(t, "tenant_connections_open", "gauge",
	       "Logged-in connections per tenant (policy tenants[]).");
	for (size_t i = 0; i < n; i++)
		kg_text_printf(t, P "tenant_connections_open{tenant=\"%s\"} %u\n", c[i].name,
			       c[i].open);
	family(t, "tenant_bytes_total", "counter",
	       "Bytes of the tenant's connections: requests from clients, responses from brokers "
	       "(reported about once a second).");
	for (size_t i = 0; i < n; i++)
		kg_text_printf(t, P "tenant_bytes_total{tenant=\"%s\",direction=\"from_client\"} "
			       "%llu\n" P "tenant_bytes_total{tenant=\"%s\",direction=\"from_broker\"} "
			       "%llu\n", c[i].name, (unsigned long long)c[i].bytes_from_client,
			       c[i].name, (unsigned long long)c[i].bytes_from_broker);
	family(t, "tenant_requests_total", "counter", "Requests of the tenant's connections.");
	for (size_t i = 0; i < n; i++)
		kg_text_printf(t, P "tenant_requests_total{tenant=\"%s\"} %llu\n", c[i].name,
			       (unsigned long long)c[i].requests);
	quota_family(t, c, n, false);
	quota_family(t, c, n, true);
	free(c);
}

static void audit(struct kg_text *t)
{
	struct kg_audit_stats st;
	if (!kg_audit_stats(&st))
		return;
	family(t, "audit_queue_depth", "gauge", "Audit records waiting for the writer.");
	kg_text_printf(t, P "audit_queue_depth %llu\n", (unsigned long long)st.queued);
	family(t, "audit_queue_capacity", "gauge", "Size of the audit queue.");
	kg_text_printf(t, P "audit_queue_capacity %llu\n", (unsigned long long)st.capacity);
	family(t, "audit_records_written_total", "counter", "Audit records written.");
	kg_text_printf(t, P "audit_records_written_total %llu\n", (unsigned long long)st.written);
	family(t, "audit_records_dropped_total", "counter", "Audit records lost.");
	kg_text_printf(t, P "audit_records_dropped_total %llu\n", (unsigned long long)st.dropped);
	family(t, "audit_write_errors_total", "counter", "Failed audit write attempts.");
	kg_text_printf(t, P "audit_write_errors_total %llu\n",
		       (unsigned long long)st.write_errors);
	family(t, "audit_sink_failing", "gauge", "1 while the audit log cannot be written.");
	kg_text_printf(t, P "audit_sink_failing %d\n", st.failing ? 1 : 0);
}

static void process(struct kg_text *t)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	family(t, "process_cpu_seconds_total", "counter", "User and system CPU time of the process.");
	kg_text_printf(t, P "process_cpu_seconds_total %.6f\n",
		       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		long size;
		if (fscanf(f, "%ld %ld", &size, &pages) != 2)
			pages = 0;
		fclose(f);
	}
	family(t, "process_resident_memory_bytes", "gauge", "Resident memory of the process.");
	kg_text_printf(t, P "process_resident_memory_bytes %ld\n", pages * sysconf(_SC_PAGESIZE));
	long fds = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		while (readdir(d))
			fds++;
		closedir(d);
		fds -= 3;   /* ".", ".." and the directory itself */
	}
	family(t, "process_open_fds", "gauge", "Open file descriptors of the process.");
	kg_text_printf(t, P "process_open_fds %ld\n", fds);
}

void kg_metrics_text(struct kg_gateway *gw, struct kg_text *t)
{
	static struct kg_metrics m;   /* one scrape at a time (admin.c) */
	kg_metrics_sum(&m);
	family(t, "build_info", "gauge", "The gateway's version.");
	kg_text_printf(t, P "build_info{version=\"%s\"} 1\n", KG_VERSION_STRING);
	family(t, "workers", "gauge", "Worker threads (event loops).");
	kg_text_printf(t, P "workers %d\n", gw->nworkers);
	char why[160];
	family(t, "ready", "gauge", "1 when /readyz answers 200.");
	kg_text_printf(t, P "ready %d\n", kg_health_ready(&gw->router, why, sizeof(why)) ? 1 : 0);
	family(t, "draining", "gauge", "1 once SIGTERM began the drain.");
	kg_text_printf(t, P "draining %d\n", kg_health_draining() ? 1 : 0);
	connections(t, &m);
	requests(t, &m);
	upstream(t, gw, &m);
	tenants(t);
	audit(t);
	family(t, "reloads_total", "counter", "Reloads by kind and result.");
	for (int k = 0; k < KG_MRL_N; k++)
		for (int ok = 1; ok >= 0; ok--)
			kg_text_printf(t, P "reloads_total{kind=\"%s\",result=\"%s\"} %llu\n",
				       reload_names[k], ok ? "ok" : "failed",
				       (unsigned long long)m.reloads[k][ok]);
	long long srv, up;
	kg_tls_cert_expiry(&srv, &up);
	if (srv || up)
		family(t, "certificate_expiry_timestamp_seconds", "gauge",
		       "When the certificates in use expire (Unix time).");
	if (srv)
		kg_text_printf(t, P "certificate_expiry_timestamp_seconds{certificate=\"listener\"} "
			       "%lld\n", srv);
	if (up)
		kg_text_printf(t, P "certificate_expiry_timestamp_seconds{certificate=\""
			       "upstream_client\"} %lld\n", up);
	process(t);
}
