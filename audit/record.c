/* record.c - the common part of connection records (see record.h). */
#include "audit/record.h"
#include "audit/event.h"
#include "kafka/codec.h"

#include <stdio.h>
#include <stdlib.h>

#define SOFTWARE_MAX 128               /* longest client software name kept */

const struct kg_audit_cfg *kg_audit_cfg_on;
static kg_audit_topic_name_fn topic_names;  /* set before the workers run */

void kg_audit_set_topic_names(kg_audit_topic_name_fn fn)
{
	topic_names = fn;
}

int kg_audit_topic_name(const uint8_t id[16], char *buf, size_t cap)
{
	return topic_names ? topic_names(id, buf, cap) : -1;
}

json_t *kg_audit_conn_event(const struct kg_audit_conn *a, const char *type)
{
	json_t *e = kg_audit_ev_new(type);
	if (!e)
		return NULL;
	kg_audit_set_int(e, "conn", (int64_t)a->id);
	kg_audit_set_cstr(e, "listener", a->listener);
	kg_audit_set_cstr(e, "client_address", a->addr);
	kg_audit_set_int(e, "client_port", a->port);
	if (a->broker >= 0)
		kg_audit_set_int(e, "broker", a->broker);
	kg_audit_set_cstr(e, "principal", a->principal);
	kg_audit_set_cstr(e, "tenant", a->tenant);
	kg_audit_set_cstr(e, "client_software_name", a->sw_name);
	kg_audit_set_cstr(e, "client_software_version", a->sw_version);
	if (a->tls_done) {
		json_t *t = json_object();
		kg_audit_set_cstr(t, "version", a->tls_version);
		kg_audit_set_cstr(t, "cipher", a->tls_cipher);
		kg_audit_set_cstr(t, "client_cert_subject", a->cert_subject);
		if (a->cert_sha256[0])
			kg_audit_set_cstr(t, "client_cert_sha256", a->cert_sha256);
		json_object_set_new(e, "tls", t);
	}
	return e;
}

const char *kg_audit_api_name(int16_t key)
{
	const struct kc_api *a = kc_api_find(key);
	static __thread char buf[16];
	if (a)
		return a->name;
	snprintf(buf, sizeof(buf), "api-%d", key);
	return buf;
}

/* ---- facts learned on the way ---- */

static char *take_string(struct kc_value *v)
{
	if (!v || v->u.b.len <= 0)
		return NULL;
	size_t n = (size_t)v->u.b.len < SOFTWARE_MAX ? (size_t)v->u.b.len : SOFTWARE_MAX;
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char ch = (char)v->u.b.p[i];
		s[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	s[n] = '\0';
	return s;
}

void kg_audit_client_software(struct kg_audit_conn *a, struct kc_obj *req)
{
	if (!a)
		return;
	char *name = take_string(kc_at(req, KCF_ApiVersionsRequest_ClientSoftwareName));
	char *version = take_string(kc_at(req, KCF_ApiVersionsRequest_ClientSoftwareVersion));
	if (!name && !version)
		return;
	free(a->sw_name);
	free(a->sw_version);
	a->sw_name = name;
	a->sw_version = version;
}
