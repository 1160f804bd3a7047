/* admin.c - administrative operations and their outcome: one "admin"
 * record per item (topic, group, config resource, quota entity, feature)
 * with what was asked (from the request, kept until the response) and what
 * the broker answered (error code, name and message).
 *
 *   kg_audit_request (admin API) --> pending list (FIFO per connection)
 *   kg_audit_response            --> pop the oldest of that API, walk the
 *                                    response for ErrorCode fields, write
 */
#define _GNU_SOURCE
#include "audit/admin.h"
#include "audit/audit.h"
#include "audit/chain.h"
#include "audit/emit.h"
#include "audit/event.h"
#include "audit/record.h"
#include "kafka/codec.h"
#include "kafka/constants.h"
#include "kafka/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_MAX 256                /* admin requests awaiting responses */
#define ITEMS_MAX 10000                /* items written per response */

struct kg_audit_pending {
	struct kg_audit_pending *next; /* younger */
	int16_t api;                   /* api key */
	bool validate_only;            /* nothing was to change */
	char *group;                   /* OffsetDelete: the group */
	json_t *details;               /* item name -> what was asked */
};

/* The APIs whose outcome is written, and what they do to what. */
static const struct {
	int16_t api;                   /* api key */
	const char *action;            /* "action" of the record */
	const char *rtype;             /* "resource_type", NULL: per item */
} admin_apis[] = {
	{ KC_API_CREATE_TOPICS, "create", "topic" },
	{ KC_API_DELETE_TOPICS, "delete", "topic" },
	{ KC_API_DELETE_RECORDS, "delete_records", "topic" },
	{ KC_API_ALTER_CONFIGS, "alter_configs", NULL },
	{ KC_API_ALTER_REPLICA_LOG_DIRS, "alter_replica_log_dirs", "topic" },
	{ KC_API_CREATE_PARTITIONS, "create_partitions", "topic" },
	{ KC_API_DELETE_GROUPS, "delete", "group" },
	{ KC_API_ELECT_LEADERS, "elect_leaders", "topic" },
	{ KC_API_INCREMENTAL_ALTER_CONFIGS, "incremental_alter_configs", NULL },
	{ KC_API_ALTER_PARTITION_REASSIGNMENTS, "alter_partition_reassignments", "topic" },
	{ KC_API_OFFSET_DELETE, "delete_offsets", "group" },
	{ KC_API_ALTER_CLIENT_QUOTAS, "alter_client_quotas", "client_quota" },
	{ KC_API_UPDATE_FEATURES, "update_features", "feature" },
	{ KC_API_UNREGISTER_BROKER, "unregister_broker", "broker" },
};

static int admin_index(int16_t api)
{
	for (size_t i = 0; i < sizeof(admin_apis) / sizeof(admin_apis[0]); i++)
		if (admin_apis[i].api == api)
			return (int)i;
	return -1;
}

bool kg_audit_wants_response(int16_t api_key)
{
	return kg_audit_cfg_on && admin_index(api_key) >= 0;
}

/* ---- strings out of trees ---- */

static int str_of(struct kc_obj *o, enum kc_name field, char *buf, size_t cap)
{
	struct kc_value *v = kc_find(o, field);
	if (!v || v->u.b.len < 0)
		return -1;
	size_t n = (size_t)v->u.b.len < cap - 1 ? (size_t)v->u.b.len : cap - 1;
	for (size_t i = 0; i < n; i++) {
		char ch = (char)v->u.b.p[i];
		buf[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	buf[n] = '\0';
	return (int)n;
}

/* An item's name: a name field, a topic id resolved, or an entity list. */
static bool item_name(struct kc_obj *o, char *buf, size_t cap)
{
	static const enum kc_name fields[] = { KCN_Name, KCN_TopicName, KCN_Topic, KCN_GroupId,
						KCN_ResourceName, KCN_Feature, KCN_NONE };
	for (const enum kc_name *f = fields; *f; f++)
		if (str_of(o, *f, buf, cap) > 0)
			return true;
	struct kc_value *id = kc_find(o, KCN_TopicId);
	if (id && kg_audit_topic_name(id->u.uuid, buf, cap) >= 0)
		return true;
	struct kc_value *ent = kc_find(o, KCN_Entity);
	if (ent && ent->u.arr.n > 0) {
		size_t len = 0;
		buf[0] = '\0';
		for (int32_t i = 0; i < ent->u.arr.n; i++) {
			char t[64], n[128];
			if (str_of(ent->u.arr.v[i].u.obj, KCN_EntityType, t, sizeof(t)) < 0)
				continue;
			if (str_of(ent->u.arr.v[i].u.obj, KCN_EntityName, n, sizeof(n)) < 0)
				strcpy(n, "<default>");
			len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s%s=%s",
						len ? "," : "", t, n);
		}
		return buf[0] != '\0';
	}
	if (id) {
		kg_audit_hex(id->u.uuid, 16, buf);
		return true;
	}
	return false;
}

static bool sensitive(const char *name)
{
	static const char *const words[] = { "password", "secret", "jaas", "credential",
					     "token", "ssl.key", NULL };
	for (const char *const *w = words; *w; w++)
		if (strcasestr(name, *w))
			return true;
	return false;
}

/* ---- requests: what was asked ---- */

static json_t *ints(struct kc_value *arr)
{
	json_t *a = json_array();
	for (int32_t i = 0; arr && i < arr->u.arr.n; i++)
		json_array_append_new(a, json_integer(arr->u.arr.v[i].u.i));
	return a;
}

static int64_t int_of(struct kc_obj *o, enum kc_name f, int64_t dflt)
{
	struct kc_value *v = kc_find(o, f);
	return v ? v->u.i : dflt;
}

/* What one request item asks for, by API. */
static json_t *item_details(int16_t api, struct kc_obj *t)
{
	json_t *d = json_object();
	char buf[256];
	struct kc_value *v;
	switch (api) {
	case KC_API_CREATE_TOPICS:
		kg_audit_set_int(d, "partitions", int_of(t, KCN_NumPartitions, -1));
		kg_audit_set_int(d, "replication_factor", int_of(t, KCN_ReplicationFactor, -1));
		/* fall through */
	case KC_API_ALTER_CONFIGS:
	case KC_API_INCREMENTAL_ALTER_CONFIGS:
		if ((v = kc_find(t, KCN_ResourceType)))
			kg_audit_set_int(d, "config_resource_type", v->u.i);
		if ((v = kc_find(t, KCN_Configs)) && v->u.arr.n > 0) {
			json_t *cs = json_array();
			for (int32_t i = 0; i < v->u.arr.n; i++) {
				struct kc_obj *c = v->u.arr.v[i].u.obj;
				json_t *o = json_object();
				str_of(c, KCN_Name, buf, sizeof(buf));
				kg_audit_set_cstr(o, "name", buf);
				if (kc_find(c, KCN_ConfigOperation)) {
					static const char *const ops[] = { "set", "delete", "append",
									   "subtract" };
					int64_t op = int_of(c, KCN_ConfigOperation, 0);
					kg_audit_set_cstr(o, "op", op >= 0 && op < 4 ? ops[op] : "?");
				}
				bool hide = sensitive(buf);
				if (str_of(c, KCN_Value, buf, sizeof(buf)) >= 0)
					kg_audit_set_cstr(o, "value", hide ? "[hidden]" : buf);
				json_array_append_new(cs, o);
			}
			json_object_set_new(d, "configs", cs);
		}
		break;
	case KC_API_DELETE_RECORDS:
		if ((v = kc_find(t, KCN_Partitions))) {
			json_t *o = json_object();
			for (int32_t i = 0; i < v->u.arr.n; i++) {
				snprintf(buf, sizeof(buf), "%lld", (long long)int_of(
					v->u.arr.v[i].u.obj, KCN_PartitionIndex, -1));
				json_object_set_new(o, buf, json_integer(
					int_of(v->u.arr.v[i].u.obj, KCN_Offset, -1)));
			}
			json_object_set_new(d, "before_offsets", o);
		}
		break;
	case KC_API_CREATE_PARTITIONS:
		kg_audit_set_int(d, "count", int_of(t, KCN_Count, -1));
		break;
	case KC_API_ALTER_REPLICA_LOG_DIRS:
	case KC_API_ELECT_LEADERS:
	case KC_API_OFFSET_DELETE:
		if ((v = kc_find(t, KCN_Partitions))) {
			json_t *a = json_array();
			for (int32_t i = 0; i < v->u.arr.n; i++)
				json_array_append_new(a, json_integer(v->u.arr.v[i].u.obj
					? int_of(v->u.arr.v[i].u.obj, KCN_PartitionIndex, -1)
					: v->u.arr.v[i].u.i));
			json_object_set_new(d, "partitions", a);
		}
		break;
	case KC_API_ALTER_PARTITION_REASSIGNMENTS:
		if ((v = kc_find(t, KCN_Partitions))) {
			json_t *o = json_object();
			for (int32_t i = 0; i < v->u.arr.n; i++) {
				struct kc_obj *p = v->u.arr.v[i].u.obj;
				struct kc_value *r = kc_find(p, KCN_Replicas);
				snprintf(buf, sizeof(buf), "%lld",
					 (long long)int_of(p, KCN_PartitionIndex, -1));
				json_object_set_new(o, buf, r && r->u.arr.n >= 0 ? ints(r)
									 : json_null());
			}
			json_object_set_new(d, "replicas", o);
		}
		break;
	case KC_API_ALTER_CLIENT_QUOTAS:
		if ((v = kc_find(t, KCN_Ops))) {
			json_t *o = json_object();
			for (int32_t i = 0; i < v->u.arr.n; i++) {
				struct kc_obj *op = v->u.arr.v[i].u.obj;
				struct kc_value *val = kc_find(op, KCN_Value);
				str_of(op, KCN_Key, buf, sizeof(buf));
				json_object_set_new(o, buf, int_of(op, KCN_Remove, 0) ? json_null()
							  : json_real(val ? val->u.f : 0));
			}
			json_object_set_new(d, "quotas", o);
		}
		break;
	case KC_API_UPDATE_FEATURES:
		kg_audit_set_int(d, "max_version_level", int_of(t, KCN_MaxVersionLevel, -1));
		if (kc_find(t, KCN_UpgradeType))
			kg_audit_set_int(d, "upgrade_type", int_of(t, KCN_UpgradeType, 0));
		break;
	}
	return d;
}

void kg_audit_admin_request(struct kg_audit_conn *a, int16_t api, int16_t version,
			    struct kc_obj *req)
{
	(void)version;
	if (!a || !req || a->npend >= PENDING_MAX)
		return;
	struct kg_audit_pending *p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->api = api;
	p->details = json_object();
	p->validate_only = int_of(req, KCN_ValidateOnly, int_of(req, KCN_validateOnly, 0)) != 0;
	char buf[256];
	if (str_of(req, KCN_GroupId, buf, sizeof(buf)) >= 0)
		p->group = strdup(buf);
	/* The items: the first array of structs (or of names) in the request. */
	static const enum kc_name lists[] = { KCN_Topics, KCN_TopicNames, KCN_Resources,
					       KCN_GroupsNames, KCN_TopicPartitions, KCN_Entries,
					       KCN_FeatureUpdates, KCN_NONE };
	for (const enum kc_name *l = lists; *l; l++) {
		struct kc_value *arr = kc_find(req, *l);
		if (!arr)
			continue;
		bool names = *l == KCN_TopicNames || *l == KCN_GroupsNames;
		for (int32_t i = 0; i < arr->u.arr.n && json_object_size(p->details) < ITEMS_MAX; i++) {
			struct kc_value *e = &arr->u.arr.v[i];
			if (names) {
				int32_t n = e->u.b.len < 255 ? e->u.b.len : 255;
				for (int32_t k = 0; k < n; k++) {
					char ch = (char)e->u.b.p[k];
					buf[k] = ch >= 0x20 && ch < 0x7f ? ch : '?';
				}
				buf[n > 0 ? n : 0] = '\0';
				if (n > 0)
					json_object_set_new(p->details, buf, json_object());
			} else if (e->u.obj && item_name(e->u.obj, buf, sizeof(buf))) {
				json_object_set_new(p->details, buf, item_details(api, e->u.obj));
			}
		}
		break;
	}
	if (api == KC_API_UNREGISTER_BROKER) {
		snprintf(buf, sizeof(buf), "%lld", (long long)int_of(req, KCN_BrokerId, -1));
		json_object_set_new(p->details, buf, json_object());
	}
	if (a->pend_tail)
		a->pend_tail->next = p;
	else
		a->pend = p;
	a->pend_tail = p;
	a->npend++;
}

static void pending_free(struct kg_audit_pending *p)
{
	json_decref(p->details);
	free(p->group);
	free(p);
}

void kg_audit_admin_free(struct kg_audit_conn *a)
{
	while (a->pend) {
		struct kg_audit_pending *p = a->pend;
		a->pend = p->next;
		pending_free(p);
	}
	a->pend_tail = NULL;
	a->npend = 0;
}

/* The oldest pending request of this API (older ones of other APIs were
 * never answered by the broker: dropped). */
static struct kg_audit_pending *pending_take(struct kg_audit_conn *a, int16_t api)
{
	while (a->pend) {
		struct kg_audit_pending *p = a->pend;
		a->pend = p->next;
		if (!a->pend)
			a->pend_tail = NULL;
		a->npend--;
		if (p->api == api)
			return p;
		pending_free(p);
	}
	return NULL;
}

/* ---- responses: what the broker answered ---- */

struct item {
	char name[256];                /* resource name ("" none) */
	int err;                       /* first error, 0 none */
	char msg[256];                 /* its message */
	int rtype;                     /* ResourceType of config items, -1 */
	uint32_t parts, failed;        /* partition results, failed ones */
};

struct items {
	struct item *v;                /* found items */
	size_t n, cap;                 /* count, allocated */
	int top_err;                   /* response-level ErrorCode */
	char top_msg[256];             /* its message */
};

static struct item *item_get(struct items *it, const char *name)
{
	for (size_t i = 0; i < it->n; i++)
		if (strcmp(it->v[i].name, name) == 0)
			return &it->v[i];
	if (it->n >= ITEMS_MAX)
		return NULL;
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 8;
		struct item *v = realloc(it->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		it->v = v;
		it->cap = cap;
	}
	struct item *x = &it->v[it->n++];
	memset(x, 0, sizeof(*x));
	x->rtype = -1;
	snprintf(x->name, sizeof(x->name), "%s", name);
	return x;
}

static void walk(struct kc_obj *o, const char *name, int depth, struct items *it)
{
	char here[256];
	if (!o || depth > 4)
		return;
	if (item_name(o, here, sizeof(here)))
		name = here;
	struct kc_value *err = kc_find(o, KCN_ErrorCode);
	if (err && depth == 0) {
		it->top_err = (int)err->u.i;
		str_of(o, KCN_ErrorMessage, it->top_msg, sizeof(it->top_msg));
	} else if (err) {
		struct item *x = item_get(it, name);
		if (x) {
			bool part = kc_find(o, KCN_PartitionIndex) || kc_find(o, KCN_PartitionId);
			x->parts += part;
			x->failed += part && err->u.i != 0;
			if (err->u.i != 0 && x->err == 0) {
				x->err = (int)err->u.i;
				str_of(o, KCN_ErrorMessage, x->msg, sizeof(x->msg));
			}
			struct kc_value *rt = kc_find(o, KCN_ResourceType);
			if (rt)
				x->rtype = (int)rt->u.i;
		}
	}
	for (uint16_t i = 0; i < o->st->nfields; i++) {
		const struct kc_field *f = &o->st->fields[i];
		struct kc_value *v = &o->vals[i];
		if (!v->present || f->type != KC_ARRAY || f->elem_type != KC_STRUCT ||
		    f->name_id == KCN_Configs || f->name_id == KCN_Entity)
			continue;
		for (int32_t k = 0; k < v->u.arr.n; k++)
			walk(v->u.arr.v[k].u.obj, name, depth + 1, it);
	}
}

static const char *config_type_name(int t)
{
	switch (t) {
	case KC_CONFIG_TOPIC: return "topic";
	case KC_CONFIG_BROKER: return "broker";
	case KC_CONFIG_BROKER_LOGGER: return "broker_logger";
	case KC_CONFIG_CLIENT_METRICS: return "client_metrics";
	case KC_CONFIG_GROUP: return "group";
	default: return "config";
	}
}

static void write_item(struct kg_audit_conn *a, int idx, const struct kg_audit_pending *p,
		       const struct item *x)
{
	int16_t api = admin_apis[idx].api;
	json_t *e = kg_audit_conn_event(a, "admin");
	kg_audit_set_cstr(e, "api", kg_audit_api_name(api));
	kg_audit_set_cstr(e, "action", admin_apis[idx].action);
	json_t *d = p ? json_object_get(p->details, x->name) : NULL;
	int rtype = x->rtype;
	if (rtype < 0 && d && json_object_get(d, "config_resource_type"))
		rtype = (int)json_integer_value(json_object_get(d, "config_resource_type"));
	kg_audit_set_cstr(e, "resource_type", admin_apis[idx].rtype ? admin_apis[idx].rtype
					      : config_type_name(rtype));
	if (api == KC_API_OFFSET_DELETE && p && p->group) {
		kg_audit_set_cstr(e, "resource_name", p->group);
		if (x->name[0])
			kg_audit_set_cstr(e, "topic", x->name);
	} else if (x->name[0]) {
		kg_audit_set_cstr(e, "resource_name", x->name);
	}
	const char *result = x->err == 0 ? "ok" : x->failed && x->failed < x->parts ? "partial"
										   : "failed";
	kg_audit_set_cstr(e, "result", result);
	kg_audit_set_int(e, "error_code", x->err);
	kg_audit_set_cstr(e, "error", kafka_error_name(x->err));
	if (x->msg[0])
		kg_audit_set_cstr(e, "error_message", x->msg);
	if (x->parts) {
		kg_audit_set_int(e, "partitions", x->parts);
		kg_audit_set_int(e, "failed_partitions", x->failed);
	}
	if (p && p->validate_only)
		kg_audit_set_bool(e, "validate_only", 1);
	if (d && json_object_size(d) > 0) {
		json_t *dc = json_deep_copy(d);
		json_object_del(dc, "config_resource_type");
		if (json_object_size(dc))
			json_object_set_new(e, "request", dc);
		else
			json_decref(dc);
	}
	kg_audit_ev_emit(e);
}

void kg_audit_response(struct kg_audit_conn *a, int16_t api_key, int16_t version,
		       struct kc_obj *resp)
{
	(void)version;
	int idx = admin_index(api_key);
	if (!a || idx < 0)
		return;
	struct kg_audit_pending *p = pending_take(a, api_key);
	struct items it = { .top_err = 0 };
	walk(resp, "", 0, &it);
	/* Items asked for but not in the answer take the response's outcome. */
	const char *key;
	json_t *val;
	if (p)
		json_object_foreach(p->details, key, val)
			item_get(&it, key);
	if (it.n == 0)
		item_get(&it, "");
	for (size_t i = 0; i < it.n; i++) {
		struct item *x = &it.v[i];
		if (x->err == 0 && it.top_err != 0) {
			x->err = it.top_err;
			snprintf(x->msg, sizeof(x->msg), "%s", it.top_msg);
		}
		write_item(a, idx, p, x);
	}
	free(it.v);
	if (p)
		pending_free(p);
}
