/* config_audit.c - the "audit" section: where the audit log goes and how
 * it behaves under pressure. Absent: no audit log. The HMAC key file is
 * read when the log starts (and by `check`), not here. */
#define _GNU_SOURCE
#include "config/config_util.h"
#include "config/config.h"
#include "audit/audit-t.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

/* One of names[], or an error naming them; returns the index (dflt when
 * absent). */
static int get_enum(struct vctx *v, json_t *o, const char *key, const char *const *names,
		    int dflt, const char *choices)
{
	char *s = kg_get_str(v, o, key, "$.audit", NULL, 0);
	if (!s)
		return dflt;
	int r = -1;
	for (int i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0)
			r = i;
	if (r < 0) {
		char p[64];
		snprintf(p, sizeof(p), "$.audit.%s", key);
		kg_verr(v, p, "must be one of %s", choices);
		r = dflt;
	}
	free(s);
	return r;
}

static bool get_bool(struct vctx *v, json_t *o, const char *key, bool dflt)
{
	json_t *j = json_object_get(o, key);
	if (!j)
		return dflt;
	if (!json_is_boolean(j)) {
		char p[64];
		snprintf(p, sizeof(p), "$.audit.%s", key);
		kg_verr(v, p, "must be true or false");
		return dflt;
	}
	return json_is_true(j);
}

static int facility(const char *name)
{
	static const struct { const char *n; int f; } f[] = {
		{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "daemon", LOG_DAEMON },
		{ "user", LOG_USER }, { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strcasecmp(name, f[i].n) == 0)
			return f[i].f;
	return -1;
}

void kg_config_load_audit(struct vctx *v, struct kg_config *c, json_t *root)
{
	json_t *o = kg_get_obj(v, root, "audit", "$", 0);
	if (!o)
		return;
	static const char *const keys[] = {
		"enabled", "sink", "path", "queue_size", "on_full", "fsync",
		"fsync_interval_ms", "rotate_bytes", "rotate_interval_s",
		"summary_interval_ms", "per_request", "denial_window_ms", "hmac_key_file",
		"instance_id", "syslog_facility", "syslog_ident", "stop_timeout_ms",
		"anchor_file", "anchor_syslog", "anchor_interval_ms", NULL
	};
	static const char *const sinks[] = { "file", "stdout", "syslog", NULL };
	static const char *const on_full[] = { "block", "drop", NULL };
	static const char *const fsyncs[] = { "interval", "always", "never", NULL };
	const char *jp = "$.audit";
	struct kg_audit_cfg *a = calloc(1, sizeof(*a));
	if (!a) {
		kg_verr(v, jp, "out of memory");
		return;
	}
	c->audit = a;
	kg_check_keys(v, o, jp, keys);
	a->enabled = get_bool(v, o, "enabled", true);
	a->sink = get_enum(v, o, "sink", sinks, KG_AUDIT_SINK_FILE,
			   "\"file\", \"stdout\", \"syslog\"");
	a->path = kg_get_str(v, o, "path", jp, NULL, a->sink == KG_AUDIT_SINK_FILE);
	if (a->path && a->sink != KG_AUDIT_SINK_FILE)
		kg_verr(v, "$.audit.path", "only with sink \"file\"");
	a->queue_size = (uint32_t)kg_get_int(v, o, "queue_size", jp, 16, 1 << 24, 65536, 0);
	a->on_full = get_enum(v, o, "on_full", on_full, KG_AUDIT_BLOCK, "\"block\", \"drop\"");
	a->fsync = get_enum(v, o, "fsync", fsyncs, KG_AUDIT_FSYNC_INTERVAL,
			    "\"interval\", \"always\", \"never\"");
	a->fsync_interval_ms = (uint32_t)kg_get_int(v, o, "fsync_interval_ms", jp, 10, 3600000,
						    1000, 0);
	a->rotate_bytes = (uint64_t)kg_get_int(v, o, "rotate_bytes", jp, 0, (int64_t)1 << 50, 0, 0);
	if (a->rotate_bytes > 0 && a->rotate_bytes < 4096)
		kg_verr(v, "$.audit.rotate_bytes", "must be 0 (no size rotation) or at least 4096");
	a->rotate_interval_s = (uint32_t)kg_get_int(v, o, "rotate_interval_s", jp, 0,
						    366 * 86400, 0, 0);
	if ((a->rotate_bytes || a->rotate_interval_s) && a->sink != KG_AUDIT_SINK_FILE)
		kg_verr(v, a->rotate_bytes ? "$.audit.rotate_bytes" : "$.audit.rotate_interval_s",
			"only with sink \"file\"");
	a->summary_interval_ms = (uint32_t)kg_get_int(v, o, "summary_interval_ms", jp, 100,
						      86400000, 60000, 0);
	a->per_request = get_bool(v, o, "per_request", false);
	a->denial_window_ms = (uint32_t)kg_get_int(v, o, "denial_window_ms", jp, 0, 86400000,
						   60000, 0);
	a->hmac_key_file = kg_get_str(v, o, "hmac_key_file", jp, NULL, 0);
	a->instance_id = kg_get_str(v, o, "instance_id", jp, NULL, 0);
	if (!a->instance_id) {
		/* Default: this host and bootstrap port, stable across restarts. */
		char host[256] = "localhost", id[300];
		if (gethostname(host, sizeof(host) - 1) < 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(id, sizeof(id), "%s:%u", host, c->bootstrap_port);
		a->instance_id = strdup(id);
	}
	char *fac = kg_get_str(v, o, "syslog_facility", jp, "local0", 0);
	a->syslog_facility = fac ? facility(fac) : LOG_LOCAL0;
	if (a->syslog_facility < 0)
		kg_verr(v, "$.audit.syslog_facility",
			"must be one of auth, authpriv, daemon, user, local0 .. local7");
	free(fac);
	a->syslog_ident = kg_get_str(v, o, "syslog_ident", jp, "kafka-gateway-audit", 0);
	/* Anchors: the chain head kept outside the log, so that cutting its
	 * tail (seal included) while the gateway is stopped is seen. */
	a->anchor_file = kg_get_str(v, o, "anchor_file", jp, NULL, 0);
	if (a->anchor_file && a->path && strcmp(a->anchor_file, a->path) == 0)
		kg_verr(v, "$.audit.anchor_file", "must not be the audit log itself");
	a->anchor_syslog = get_bool(v, o, "anchor_syslog", false);
	a->anchor_interval_ms = (uint32_t)kg_get_int(v, o, "anchor_interval_ms", jp, 100,
						     86400000, 10000, 0);
	a->stop_timeout_ms = (uint32_t)kg_get_int(v, o, "stop_timeout_ms", jp, 0, 3600000, 30000,
						  0);
}

void kg_config_free_audit(struct kg_config *c)
{
	struct kg_audit_cfg *a = c->audit;
	if (!a)
		return;
	free(a->path);
	free(a->hmac_key_file);
	free(a->instance_id);
	free(a->syslog_ident);
	free(a->anchor_file);
	free(a);
	c->audit = NULL;
}
