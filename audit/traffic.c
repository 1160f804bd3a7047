/* traffic.c - what a connection did: authorization decisions and the
 * requests it sent, kept to a readable volume.
 *
 *   denial        written at once; the same denial again within
 *                 denial_window_ms is only counted, and written as one
 *                 grouped record ("count") when the window ends
 *   admin API     its allowed decisions are written one by one (and its
 *                 outcome by admin.c)
 *   anything else summarised per connection, API and resource (topic,
 *                 group, transactional id): requests, records and bytes
 *                 (Produce), written every summary_interval_ms and at close
 *   per_request   one "request" record per request, allowed decisions too
 *
 * State lives in the connection's context (struct kg_audit_conn) and is
 * touched by its worker thread only; a per-worker timer (conn_hooks.c)
 * flushes it.
 */
#define _GNU_SOURCE
#include "audit/traffic.h"
#include "audit/admin.h"
#include "audit/audit.h"
#include "audit/chain.h"
#include "audit/emit.h"
#include "audit/event.h"
#include "audit/record.h"
#include "audit/sink.h"
#include "kafka/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a summary is about: the resource types a request's entities name
 * (kc_foreach_entity), with the names records give them. */
enum sum_type { SUM_NONE, SUM_TOPIC, SUM_GROUP, SUM_TXN };
static const char *const sum_type_names[] = { NULL, "topic", "group", "transactional_id" };

#define SUMS_MAX 4096                  /* summary keys per connection */
#define DENY_GROUPS 64                 /* denial groups per connection */

struct kg_audit_sum {
	char *name;                    /* resource name, NULL: none */
	int16_t api;                   /* api key; -1: free slot */
	uint8_t rtype;                 /* enum sum_type, SUM_NONE: no resource */
	bool by_id;                    /* name is an unknown topic id (hex) */
	uint64_t stamp;                /* request it was last counted for */
	uint64_t requests;             /* requests naming it */
	uint64_t records;              /* Produce: records */
	uint64_t bytes;                /* Produce: record batch bytes */
};

struct kg_audit_deny {
	int16_t api;                   /* api key */
	bool has_name;                 /* name is a resource name (not the
	                                  cluster's absence of one) */
	char type[24];                 /* resource type name */
	char op[24];                   /* operation name */
	char reason[16];               /* why it was denied */
	char *name;                    /* resource name */
	char *role;                    /* deciding rule's role, or NULL */
	char *rule_text;               /* the rule, readable, or NULL */
	int rule;                      /* its index, -1 */
	double first;                  /* written at (monotonic s) */
	int64_t last_us;               /* last repeat (wall) */
	uint64_t repeats;              /* repeats not yet written */
};

/* Per-connection request counter for "requests" (a resource named twice
 * in one request counts once). */
static __thread uint64_t req_stamp;

/* ---- data-plane summaries ---- */

static uint32_t sum_hash(int16_t api, uint8_t rtype, const char *name, size_t len)
{
	uint32_t h = 2166136261u ^ (uint32_t)(api * 31 + rtype);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h;
}

static struct kg_audit_sum *sum_slot(struct kg_audit_sum *t, uint32_t cap, int16_t api,
				     uint8_t rtype, const char *name, size_t len)
{
	for (uint32_t i = sum_hash(api, rtype, name, len) & (cap - 1);; i = (i + 1) & (cap - 1)) {
		struct kg_audit_sum *s = &t[i];
		if (s->api < 0)
			return s;
		if (s->api == api && s->rtype == rtype &&
		    (s->name ? strlen(s->name) == len && memcmp(s->name, name, len) == 0
			     : name == NULL))
			return s;
	}
}

static int sums_grow(struct kg_audit_conn *a)
{
	uint32_t cap = a->sums_cap ? a->sums_cap * 2 : 16;
	struct kg_audit_sum *t = malloc(cap * sizeof(*t));
	if (!t)
		return -1;
	for (uint32_t i = 0; i < cap; i++)
		t[i].api = -1;
	for (uint32_t i = 0; i < a->sums_cap; i++) {
		struct kg_audit_sum *s = &a->sums[i];
		if (s->api >= 0)
			*sum_slot(t, cap, s->api, s->rtype, s->name, s->name ? strlen(s->name) : 0) = *s;
	}
	free(a->sums);
	a->sums = t;
	a->sums_cap = cap;
	return 0;
}

static void sum_add(struct kg_audit_conn *a, int16_t api, uint8_t rtype, const char *name,
		    size_t len, bool by_id, uint64_t records, uint64_t bytes)
{
	if (a->sums_used >= SUMS_MAX) {
		/* Too many names on one connection: the rest go to one
		 * nameless entry per API. */
		rtype = 0;
		name = NULL;
		len = 0;
	}
	if ((a->sums_used + 1) * 4 > a->sums_cap * 3 && sums_grow(a) < 0)
		return;
	struct kg_audit_sum *s = sum_slot(a->sums, a->sums_cap, api, rtype, name, len);
	if (s->api < 0) {
		*s = (struct kg_audit_sum){ .api = api, .rtype = rtype, .by_id = by_id };
		if (name && !(s->name = strndup(name, len))) {
			s->api = -1;
			return;
		}
		a->sums_used++;
	}
	if (s->stamp != req_stamp) {
		s->stamp = req_stamp;
		s->requests++;
	}
	s->records += records;
	s->bytes += bytes;
}

static void sums_write(struct kg_audit_conn *a)
{
	for (uint32_t i = 0; i < a->sums_cap; i++) {
		struct kg_audit_sum *s = &a->sums[i];
		if (s->api < 0)
			continue;
		json_t *e = kg_audit_conn_event(a, "traffic_summary");
		kg_audit_set_cstr(e, "api", kg_audit_api_name(s->api));
		if (s->rtype)
			kg_audit_set_cstr(e, "resource_type", sum_type_names[s->rtype]);
		if (s->name)
			kg_audit_set_cstr(e, s->by_id ? "topic_id" : "resource_name", s->name);
		kg_audit_set_int(e, "requests", (int64_t)s->requests);
		if (s->api == KC_API_PRODUCE) {
			kg_audit_set_int(e, "records", (int64_t)s->records);
			kg_audit_set_int(e, "bytes", (int64_t)s->bytes);
		}
		kg_audit_ev_emit(e);
		free(s->name);
		s->name = NULL;
		s->api = -1;
	}
	a->sums_used = 0;
}

/* ---- what a request names ---- */

typedef void (*visit_fn)(void *ctx, int16_t api, uint8_t rtype, const char *name, size_t len,
			 bool by_id, uint64_t records, uint64_t bytes);

/* Records in Produce record data: v2 batches, count at byte 57. */
static void count_records(const struct kc_value *v, uint64_t *records, uint64_t *bytes)
{
	if (!v || v->u.b.len <= 0)
		return;
	const uint8_t *p = v->u.b.p;
	size_t len = (size_t)v->u.b.len, off = 0;
	*bytes += len;
	while (len - off >= 61) {
		const uint8_t *b = p + off;
		uint32_t blen = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
		if (b[16] == 2) {
			uint32_t n = (uint32_t)b[57] << 24 | (uint32_t)b[58] << 16 |
				     (uint32_t)b[59] << 8 | b[60];
			if (n < (1u << 31))
				*records += n;
		}
		if (blen > len - off - 12)
			break;
		off += 12 + (size_t)blen;
	}
}

/* A topic named by name or, newer versions, by id. */
static void topic_of(struct kc_obj *t, enum kc_field_handle namefield,
		     enum kc_field_handle idfield, char *buf, size_t cap, const char **name,
		     size_t *len, bool *by_id)
{
	struct kc_value *n = kc_at(t, namefield);
	*by_id = false;
	if (n && n->u.b.len > 0) {
		*name = (const char *)n->u.b.p;
		*len = (size_t)n->u.b.len;
		return;
	}
	struct kc_value *id = kc_at(t, idfield);
	int l = id ? kg_audit_topic_name(id->u.uuid, buf, cap) : -1;
	if (l >= 0) {
		*name = buf;
		*len = (size_t)l;
	} else if (id) {
		kg_audit_hex(id->u.uuid, 16, buf);
		*name = buf;
		*len = 32;
		*by_id = true;
	} else {
		*name = NULL;
		*len = 0;
	}
}

struct ent_ctx {
	visit_fn fn;                   /* where names go */
	void *ctx;                     /* its argument */
	int16_t api;                   /* the request's api */
	int n;                         /* names seen */
};

static void on_entity(void *p, enum kc_entity ent, const struct kc_field *f, struct kc_value *v)
{
	(void)f;
	struct ent_ctx *x = p;
	char buf[256];
	uint8_t type = ent == KC_ENT_TOPIC_NAME || ent == KC_ENT_TOPIC_ID ? SUM_TOPIC
		       : ent == KC_ENT_GROUP_ID ? SUM_GROUP : ent == KC_ENT_TXN_ID ? SUM_TXN : SUM_NONE;
	if (!type)
		return;
	if (ent == KC_ENT_TOPIC_ID) {
		int l = kg_audit_topic_name(v->u.uuid, buf, sizeof(buf));
		bool by_id = l < 0;
		if (by_id)
			kg_audit_hex(v->u.uuid, 16, buf);
		x->fn(x->ctx, x->api, type, buf, by_id ? 32 : (size_t)l, by_id, 0, 0);
	} else if (v->u.b.len > 0) {
		x->fn(x->ctx, x->api, type, (const char *)v->u.b.p, (size_t)v->u.b.len, false, 0, 0);
	} else {
		return;
	}
	x->n++;
}

static void extract(int16_t api, struct kc_obj *req, visit_fn fn, void *ctx)
{
	char buf[256];
	const char *name;
	size_t len;
	bool by_id;
	int n = 0;
	bool produce = api == KC_API_PRODUCE;
	struct kc_value *arr = produce ? kc_at(req, KCF_ProduceRequest_TopicData)
		: api == KC_API_FETCH ? kc_at(req, KCF_FetchRequest_Topics) : NULL;
	if (arr) {
		for (int32_t i = 0; i < arr->u.arr.n; i++) {
			struct kc_obj *t = arr->u.arr.v[i].u.obj;
			if (!t)
				continue;
			if (produce)
				topic_of(t, KCF_ProduceRequest_TopicData_Name,
					 KCF_ProduceRequest_TopicData_TopicId, buf, sizeof(buf), &name,
					 &len, &by_id);
			else
				topic_of(t, KCF_FetchRequest_Topics_Topic, KCF_FetchRequest_Topics_TopicId,
					 buf, sizeof(buf), &name, &len, &by_id);
			uint64_t records = 0, bytes = 0;
			struct kc_value *parts = produce
				? kc_at(t, KCF_ProduceRequest_TopicData_PartitionData) : NULL;
			for (int32_t j = 0; parts && j < parts->u.arr.n; j++)
				count_records(kc_at(parts->u.arr.v[j].u.obj,
						    KCF_ProduceRequest_TopicData_PartitionData_Records),
					      &records, &bytes);
			fn(ctx, api, SUM_TOPIC, name, len, by_id, records, bytes);
			n++;
		}
	} else if (req && api != KC_API_FETCH) {
		struct ent_ctx x = { .fn = fn, .ctx = ctx, .api = api };
		kc_foreach_entity(req, on_entity, &x);
		n = x.n;
	}
	if (n == 0)
		fn(ctx, api, 0, NULL, 0, false, 0, 0);
}

static void visit_sum(void *ctx, int16_t api, uint8_t rtype, const char *name, size_t len,
		      bool by_id, uint64_t records, uint64_t bytes)
{
	sum_add(ctx, api, rtype, name, len, by_id, records, bytes);
}

struct req_ctx {
	json_t *list;                  /* "resources" of a request record */
	uint64_t records, bytes;       /* Produce totals */
};

static void visit_req(void *ctx, int16_t api, uint8_t rtype, const char *name, size_t len,
		      bool by_id, uint64_t records, uint64_t bytes)
{
	(void)api;
	struct req_ctx *r = ctx;
	r->records += records;
	r->bytes += bytes;
	if (!rtype || json_array_size(r->list) >= 1000)
		return;
	json_t *o = json_object();
	kg_audit_set_cstr(o, "type", sum_type_names[rtype]);
	kg_audit_set_str(o, by_id ? "topic_id" : "name", name, len);
	if (api == KC_API_PRODUCE) {
		kg_audit_set_int(o, "records", (int64_t)records);
		kg_audit_set_int(o, "bytes", (int64_t)bytes);
	}
	json_array_append_new(r->list, o);
}

void kg_audit_request(struct kg_audit_conn *a, int16_t api_key, int16_t version,
		      struct kc_obj *req, size_t frame_len)
{
	if (!a)
		return;
	if (api_key == KC_API_API_VERSIONS && version >= 3)
		kg_audit_client_software(a, req);
	bool admin = kg_audit_wants_response(api_key);
	if (admin)
		kg_audit_admin_request(a, api_key, version, req);
	req_stamp++;
	if (kg_audit_cfg_on->per_request) {
		struct req_ctx r = { .list = json_array() };
		extract(api_key, req, visit_req, &r);
		json_t *e = kg_audit_conn_event(a, "request");
		kg_audit_set_cstr(e, "api", kg_audit_api_name(api_key));
		kg_audit_set_int(e, "api_version", version);
		kg_audit_set_int(e, "frame_bytes", (int64_t)frame_len);
		if (api_key == KC_API_PRODUCE) {
			kg_audit_set_int(e, "records", (int64_t)r.records);
			kg_audit_set_int(e, "bytes", (int64_t)r.bytes);
		}
		json_object_set_new(e, "resources", r.list);
		kg_audit_ev_emit(e);
		return;
	}
	if (!admin)
		extract(api_key, req, visit_sum, a);
}

/* ---- authorization decisions ---- */

static void decision_write(struct kg_audit_conn *a, const struct kg_audit_decision *d,
			   uint64_t count, int64_t since_us)
{
	json_t *e = kg_audit_conn_event(a, "authorization");
	kg_audit_set_cstr(e, "api", kg_audit_api_name(d->api_key));
	kg_audit_set_cstr(e, "resource_type", d->resource_type);
	if (d->name)
		kg_audit_set_str(e, "resource_name", d->name, d->name_len);
	kg_audit_set_cstr(e, "operation", d->operation);
	kg_audit_set_cstr(e, "decision", d->allowed ? "allow" : "deny");
	json_t *r = json_object();
	kg_audit_set_cstr(r, "reason", d->reason);
	kg_audit_set_cstr(r, "role", d->role);
	if (d->rule >= 0)
		kg_audit_set_int(r, "index", d->rule);
	kg_audit_set_cstr(r, "text", d->rule_text);
	json_object_set_new(e, "rule", r);
	kg_audit_set_int(e, "count", (int64_t)count);
	if (since_us) {
		char t[32];
		kg_audit_time_str(since_us, t);
		kg_audit_set_cstr(e, "repeated_since", t);
	}
	kg_audit_ev_emit(e);
}

static void group_write(struct kg_audit_conn *a, struct kg_audit_deny *g, int64_t since_us)
{
	if (g->repeats) {
		struct kg_audit_decision d = {
			.api_key = g->api, .resource_type = g->type,
			.name = g->has_name ? g->name : NULL, .name_len = strlen(g->name),
			.operation = g->op, .allowed = false, .reason = g->reason,
			.role = g->role, .rule = g->rule, .rule_text = g->rule_text,
		};
		decision_write(a, &d, g->repeats, since_us);
	}
	g->repeats = 0;
}

static void group_free(struct kg_audit_deny *g)
{
	free(g->name);
	free(g->role);
	free(g->rule_text);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool same_denial(const struct kg_audit_deny *g, const struct kg_audit_decision *d,
			size_t name_len, const char *name)
{
	return g->api == d->api_key && g->rule == d->rule && strcmp(g->type, d->resource_type) == 0 &&
	       strcmp(g->op, d->operation) == 0 && strlen(g->name) == name_len &&
	       memcmp(g->name, name, name_len) == 0;
}

void kg_audit_decision(struct kg_audit_conn *a, const struct kg_audit_decision *d)
{
	if (!a)
		return;
	const struct kg_audit_cfg *cfg = kg_audit_cfg_on;
	const char *name = d->name ? d->name : "";
	size_t name_len = d->name ? d->name_len : 0;
	if (d->allowed) {
		if (cfg->per_request || kg_audit_wants_response(d->api_key))
			decision_write(a, d, 1, 0);
		return;
	}
	if (cfg->denial_window_ms == 0) {
		decision_write(a, d, 1, 0);
		return;
	}
	double now = kg_audit_mono(), window = cfg->denial_window_ms / 1000.0;
	struct kg_audit_deny *g = NULL, *oldest = NULL;
	for (uint32_t i = 0; i < a->ndenials; i++) {
		struct kg_audit_deny *x = &a->denials[i];
		if (same_denial(x, d, name_len, name)) {
			g = x;
			break;
		}
		if (!oldest || x->first < oldest->first)
			oldest = x;
	}
	if (g && now - g->first < window) {
		g->repeats++;
		g->last_us = kg_audit_now_us();
		return;
	}
	if (g) {
		group_write(a, g, 0);
	} else {
		if (!a->denials && !(a->denials = calloc(DENY_GROUPS, sizeof(*a->denials))))
			return;
		if (a->ndenials == DENY_GROUPS) {
			g = oldest;
			group_write(a, g, 0);
			group_free(g);
		} else {
			g = &a->denials[a->ndenials++];
		}
		*g = (struct kg_audit_deny){ .api = d->api_key, .rule = d->rule,
					     .has_name = d->name != NULL };
		snprintf(g->type, sizeof(g->type), "%s", d->resource_type);
		snprintf(g->op, sizeof(g->op), "%s", d->operation);
		snprintf(g->reason, sizeof(g->reason), "%s", d->reason ? d->reason : "");
		g->name = strndup(name, name_len);
		g->role = dup_or_null(d->role);
		g->rule_text = dup_or_null(d->rule_text);
		if (!g->name) {
			group_free(g);
			*g = a->denials[--a->ndenials];
			return;
		}
	}
	g->first = now;
	decision_write(a, d, 1, 0);
}

/* ---- flushing ---- */

void kg_audit_conn_flush(struct kg_audit_conn *a, bool closing)
{
	if (!a)
		return;
	if (a->sums_used)
		sums_write(a);
	double now = kg_audit_mono(), window = kg_audit_cfg_on->denial_window_ms / 1000.0;
	for (uint32_t i = 0; i < a->ndenials;) {
		struct kg_audit_deny *g = &a->denials[i];
		if (!closing && now - g->first < window) {
			i++;
			continue;
		}
		int64_t since = kg_audit_now_us() - (int64_t)((now - g->first) * 1e6);
		group_write(a, g, since);
		group_free(g);
		a->denials[i] = a->denials[--a->ndenials];
	}
	if (closing) {
		free(a->sums);
		a->sums = NULL;
		a->sums_cap = 0;
		free(a->denials);
		a->denials = NULL;
	}
}
