/* audit.c - the audit log's life: start with the gateway, records of the
 * gateway's own events (start, stop, reloads), reopen on SIGHUP, stop. */
#define _GNU_SOURCE
#include "audit/audit.h"
#include "audit/emit.h"
#include "audit/event.h"
#include "audit/record.h"
#include "audit/verify.h"
#include "audit/writer.h"
#include "base/log.h"
#include "base/version.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t started_us;             /* gateway_start time */
static char stop_reason[64] = "stop";  /* for gateway_stop */

bool kg_audit_enabled(void)
{
	return kg_audit_cfg_on != NULL;
}

static const struct kg_audit_cfg *wanted(const struct kg_audit_cfg *a)
{
	return a && a->enabled ? a : NULL;
}

int kg_audit_check(const struct kg_audit_cfg *cfg, char *err, size_t errlen)
{
	const struct kg_audit_cfg *a = wanted(cfg);
	if (!a)
		return 0;
	if (a->hmac_key_file) {
		uint8_t key[KG_AUDIT_KEY_MAX];
		size_t n;
		char why[512];
		if (kg_audit_key_load(a->hmac_key_file, true, key, &n, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "$.audit.hmac_key_file: %s", why);
			return -1;
		}
		memset(key, 0, sizeof(key));
	}
	if (a->sink == KG_AUDIT_SINK_FILE) {
		char *d = strdup(a->path);
		const char *dir = d ? dirname(d) : ".";
		int ok = access(dir, W_OK | X_OK);
		int e = errno;
		if (ok < 0)
			snprintf(err, errlen, "$.audit.path: directory %s is not writable: %s", dir,
				 strerror(e));
		free(d);
		if (ok < 0)
			return -1;
	}
	return 0;
}

static const char *on_full_name(int v) { return v == KG_AUDIT_BLOCK ? "block" : "drop"; }
static const char *sink_name(int v)
{
	return v == KG_AUDIT_SINK_FILE ? "file" : v == KG_AUDIT_SINK_STDOUT ? "stdout" : "syslog";
}

int kg_audit_start(const struct kg_audit_cfg *cfg, kg_audit_topic_name_fn names, char *err,
		   size_t errlen)
{
	const struct kg_audit_cfg *a = wanted(cfg);
	if (!a)
		return 0;
	uint8_t key[KG_AUDIT_KEY_MAX];
	size_t keylen = 0;
	if (a->hmac_key_file &&
	    kg_audit_key_load(a->hmac_key_file, true, key, &keylen, err, errlen) < 0)
		return -1;
	kg_audit_ev_instance(a->instance_id);
	int rc = kg_audit_writer_start(a, a->hmac_key_file ? key : NULL, keylen, err, errlen);
	memset(key, 0, sizeof(key));
	if (rc < 0)
		return -1;
	kg_audit_set_topic_names(names);
	kg_audit_cfg_on = a;
	log_info("audit log: %s%s%s, on_full %s, fsync %s%s, previous run %s", sink_name(a->sink),
		 a->path ? " " : "", a->path ? a->path : "", on_full_name(a->on_full),
		 a->fsync == KG_AUDIT_FSYNC_ALWAYS ? "always"
		 : a->fsync == KG_AUDIT_FSYNC_NEVER ? "never" : "interval",
		 a->hmac_key_file ? ", HMAC" : "", kg_audit_writer_previous_run());
	return 0;
}

void kg_audit_gateway_start(const struct kg_audit_start_info *info)
{
	const struct kg_audit_cfg *a = kg_audit_cfg_on;
	if (!a)
		return;
	started_us = kg_audit_now_us();
	json_t *e = kg_audit_ev_new("gateway_start");
	kg_audit_set_cstr(e, "version", KG_VERSION_STRING);
	kg_audit_set_int(e, "pid", (int64_t)getpid());
	kg_audit_set_cstr(e, "config", info->config_path);
	kg_audit_set_int(e, "workers", info->workers);
	kg_audit_set_int(e, "bootstrap_port", info->bootstrap_port);
	kg_audit_set_bool(e, "tls", info->tls);
	kg_audit_set_cstr(e, "auth_mode", info->auth_mode);
	kg_audit_set_cstr(e, "acl_policy_file", info->policy_file);
	json_t *o = json_object();
	kg_audit_set_cstr(o, "sink", sink_name(a->sink));
	kg_audit_set_cstr(o, "path", a->path);
	kg_audit_set_cstr(o, "on_full", on_full_name(a->on_full));
	kg_audit_set_bool(o, "hmac", a->hmac_key_file != NULL);
	kg_audit_set_bool(o, "per_request", a->per_request);
	json_object_set_new(e, "audit", o);
	kg_audit_set_cstr(e, "previous_run", kg_audit_writer_previous_run());
	const char *detail = NULL, *tail = kg_audit_writer_tail_check(&detail);
	if (tail) {
		json_t *t = json_object();
		kg_audit_set_cstr(t, "result", tail);
		kg_audit_set_cstr(t, "detail", detail);
		json_object_set_new(e, "audit_tail", t);
	}
	kg_audit_ev_emit(e);
}

void kg_audit_stopping(const char *reason)
{
	if (!kg_audit_cfg_on)
		return;
	snprintf(stop_reason, sizeof(stop_reason), "%s", reason ? reason : "stop");
	kg_audit_writer_stopping();
}

void kg_audit_stop(void)
{
	if (!kg_audit_cfg_on)
		return;
	struct kg_audit_stats st;
	kg_audit_writer_stats(&st);
	json_t *e = kg_audit_ev_new("gateway_stop");
	kg_audit_set_cstr(e, "reason", stop_reason);
	if (started_us)
		kg_audit_set_int(e, "uptime_s", (kg_audit_now_us() - started_us) / 1000000);
	kg_audit_set_int(e, "records", (int64_t)st.submitted + 1);
	kg_audit_set_int(e, "dropped", (int64_t)st.dropped);
	kg_audit_ev_emit(e);
	kg_audit_writer_stop();
	kg_audit_writer_stats(&st);
	if (st.dropped)
		log_warn("audit log: %llu records were dropped during this run",
			 (unsigned long long)st.dropped);
	kg_audit_cfg_on = NULL;
	kg_audit_set_topic_names(NULL);
	kg_audit_ev_instance(NULL);
}

bool kg_audit_stats(struct kg_audit_stats *out)
{
	if (!kg_audit_cfg_on)
		return false;
	kg_audit_writer_stats(out);
	return true;
}

void kg_audit_reopen(void)
{
	if (kg_audit_cfg_on)
		kg_audit_writer_reopen();
}

void kg_audit_reload(const char *what, bool ok, const char *detail)
{
	if (!kg_audit_cfg_on)
		return;
	json_t *e = kg_audit_ev_new("reload");
	kg_audit_set_cstr(e, "what", what);
	kg_audit_set_cstr(e, "result", ok ? "ok" : "failed");
	kg_audit_set_cstr(e, "detail", detail);
	kg_audit_ev_emit(e);
}
