/* authz_core.c - authorization machinery: the connection's policy view,
 * one check, splitting a request into allowed and denied items, and
 * merging the denied items' errors back into the broker's answer.
 *
 *   request --authz_apis.c: which resource/operation per item-->
 *     all allowed ........ forward as is
 *     some denied ........ denied items cut out (REWRITE), their errors
 *                          encoded and kept with the in-flight entry;
 *                          merged into the broker's response later
 *     all denied ......... answered by the gateway (LOCAL)
 *   response --authz_resp.c--> hide what may not be seen, merge errors
 *
 * Decisions are recorded first and written to the audit log only by
 * authz_recs_commit, because a request may be decided again after waiting
 * for output to drain.
 */
#include "enforce/authz_core.h"
#include "acl/policy.h"
#include "audit/audit.h"
#include "enforce/current_policy.h"
#include "kafka/codec.h"
#include "kafka/errors.h"
#include "route/refresh.h"
#include "route/topics.h"

#include <stdlib.h>
#include <string.h>

/* One decision kept for the audit log until the request is committed. */
struct authz_rec {
	enum kg_res type;              /* resource type */
	enum kg_op op;                 /* operation */
	bool allowed;                  /* outcome */
	const char *name;              /* resource name (frame or arena) */
	size_t len;                    /* its length */
	struct kg_acl_why why;         /* deciding rule */
};

/* Decisions of the request being decided (the frame's arena). */
struct authz_recs {
	struct kc_arena *a;            /* where v grows */
	struct authz_rec *v;           /* records */
	uint32_t n, cap;               /* used, allocated */
};

/* The connection's view of the current policy; rebuilt when a reload
 * swapped in a new one, so existing connections follow it at once. */
struct kg_acl_subject *authz_subject(struct kg_authz_conn *z)
{
	uint64_t g = kg_current_policy_generation();
	if (z->subject && z->gen == g)
		return z->subject;
	kg_acl_subject_free(z->subject);
	z->subject = NULL;
	struct kg_policy *p = kg_current_policy();
	if (p) {
		const char *who = z->principal && z->principal[0] ? z->principal
								  : "User:ANONYMOUS";
		z->subject = kg_acl_subject_new(p, who, z->peer);
		kg_policy_unref(p);
	}
	z->gen = g;
	return z->subject;
}

bool authz_check_quiet(struct kg_authz_conn *z, enum kg_res type, const char *name,
		       size_t len, enum kg_op op)
{
	struct kg_acl_subject *s = authz_subject(z);
	/* No policy view (out of memory): fail closed. */
	return s && kg_acl_decide(s, type, name ? name : "", name ? len : 0, op, NULL);
}

bool authz_check(struct authz_ctx *x, enum kg_res type, const char *name, size_t len,
		 enum kg_op op)
{
	struct kg_acl_subject *s = authz_subject(x->z);
	struct kg_acl_why why = { .reason = KG_ACL_DEFAULT_DENY, .rule = -1 };
	if (!name) {
		name = "";
		len = 0;
	}
	struct authz_recs *r = x->z->recs;
	bool ok = s && kg_acl_decide(s, type, name, len, op, r ? &why : NULL);
	if (!r)
		return ok;
	if (r->n == r->cap) {
		uint32_t ncap = r->cap ? r->cap * 2 : 16;
		struct authz_rec *nv = kc_arena_alloc(r->a, ncap * sizeof(*nv));
		if (nv) {
			if (r->n)
				memcpy(nv, r->v, r->n * sizeof(*nv));
			r->v = nv;
			r->cap = ncap;
		}
	}
	if (r->n < r->cap)
		r->v[r->n++] = (struct authz_rec){ .type = type, .op = op, .allowed = ok,
						   .name = name, .len = len, .why = why };
	return ok;
}

bool authz_recs_begin(struct kg_authz_conn *z, struct kc_arena *a)
{
	struct authz_recs *r = kc_arena_alloc(a, sizeof(*r));
	if (r)
		r->a = a;
	z->recs = r;
	return r != NULL;
}

void authz_recs_commit(struct kg_authz_conn *z, int16_t api_key)
{
	struct authz_recs *r = z->recs;
	if (!r)
		return;
	for (uint32_t i = 0; i < r->n; i++) {
		const struct authz_rec *e = &r->v[i];
		struct kg_audit_decision d = {
			.api_key = api_key,
			.resource_type = kg_res_name(e->type),
			/* The cluster has no name. */
			.name = e->type == KG_RES_CLUSTER ? NULL : e->name,
			.name_len = e->type == KG_RES_CLUSTER ? 0 : e->len,
			.operation = kg_op_name(e->op),
			.allowed = e->allowed,
			.reason = kg_acl_reason_name(e->why.reason),
			.role = e->why.role,
			.rule = e->why.rule,
			.rule_text = e->why.rule_text,
		};
		kg_audit_decision(z->audit, &d);
	}
	z->recs = NULL;
}

bool authz_str(struct kc_value *v, const char **p, size_t *n)
{
	if (!v || !v->present || v->u.b.len < 0)
		return false;
	*p = (const char *)v->u.b.p;
	*n = (size_t)v->u.b.len;
	return true;
}

bool authz_field_str(struct kc_obj *o, enum kc_field_handle f, const char **p, size_t *n)
{
	return authz_str(kc_at(o, f), p, n);
}

int16_t authz_topic_name(struct authz_ctx *x, struct kc_obj *item, enum kc_field_handle name,
			 const char **p, size_t *n)
{
	if (authz_field_str(item, name, p, n) && *n > 0)
		return 0;
	/* Items of every message that names topics by id call it TopicId. */
	struct kc_value *id = kc_find(item, KCN_TopicId);
	if (!id) {
		/* No id in this version: a null or empty name names no topic
		 * anyone may have been granted, and is checked as such. */
		if (!authz_field_str(item, name, p, n)) {
			*p = "";
			*n = 0;
		}
		return 0;
	}
	/* A topic id never bypasses a check: unknown ids (and the zero id)
	 * are refused, and the refresh is asked to learn them for the
	 * client's retry. */
	char *buf = kc_arena_alloc(x->a, 256);
	int len = buf ? kg_topics_name(id->u.uuid, buf, 256) : -1;
	if (len < 0) {
		kg_refresh_kick();
		return KERR_UNKNOWN_TOPIC_ID;
	}
	*p = buf;
	*n = (size_t)len;
	return 0;
}

void authz_set_errors(struct kc_obj *o, int16_t err)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->st->nfields; i++) {
		const struct kc_field *f = &o->st->fields[i];
		struct kc_value *v = &o->vals[i];
		if (!v->present)
			continue;
		if (f->flags & KC_FIELD_ERROR_CODE)
			v->u.i = err;
		else if (f->type == KC_STRUCT)
			authz_set_errors(v->u.obj, err);
		else if (f->type == KC_ARRAY && f->elem_type == KC_STRUCT)
			for (int32_t j = 0; j < v->u.arr.n; j++)
				authz_set_errors(v->u.arr.v[j].u.obj, err);
	}
}

int authz_merge(struct kc_arena *a, struct kc_obj *dst, const struct kc_obj *src)
{
	if (!dst || !src || dst->st != src->st)
		return -1;
	for (size_t i = 0; i < dst->st->nfields; i++) {
		const struct kc_field *f = &dst->st->fields[i];
		const struct kc_value *sv = &src->vals[i];
		struct kc_value *dv = &dst->vals[i];
		if (f->type != KC_ARRAY || f->elem_type != KC_STRUCT || !sv->present ||
		    !dv->present || sv->u.arr.n <= 0)
			continue;
		int32_t dn = dv->u.arr.n > 0 ? dv->u.arr.n : 0;
		struct kc_value *nv = kc_arena_alloc(a, (size_t)(dn + sv->u.arr.n) * sizeof(*nv));
		if (!nv)
			return -1;
		if (dn)
			memcpy(nv, dv->u.arr.v, (size_t)dn * sizeof(*nv));
		memcpy(nv + dn, sv->u.arr.v, (size_t)sv->u.arr.n * sizeof(*nv));
		dv->u.arr.v = nv;
		dv->u.arr.n = dn + sv->u.arr.n;
	}
	return 0;
}

/* A response with the top-level ErrorCode (if any) back at 0: per-item
 * denials leave the request as a whole successful. */
static void clear_top_error(struct kc_obj *o)
{
	struct kc_value *e = kc_find(o, KCN_ErrorCode);
	if (e)
		e->u.i = 0;
}

void authz_deny_all(struct authz_ctx *x, int16_t err)
{
	struct kc_obj *resp;
	if (kc_build_error_response(x->key, x->ver, x->req, err, x->a, &resp) != KC_OK) {
		x->out->verdict = KG_AUTHZ_CLOSE;
		x->out->reason = "cannot build an authorization error response";
		return;
	}
	x->out->verdict = KG_AUTHZ_LOCAL;
	x->out->local = resp;
}

/* A copy of req whose item arrays are empty except `fi`, set to items. */
static struct kc_obj *clone_with(struct authz_ctx *x, unsigned fi, struct kc_value *items,
				 int32_t n)
{
	struct kc_obj *o = kc_arena_alloc(x->a, sizeof(*o));
	struct kc_value *vals = kc_arena_alloc(x->a, x->req->st->nfields * sizeof(*vals));
	if (!o || !vals)
		return NULL;
	*o = *x->req;
	memcpy(vals, x->req->vals, x->req->st->nfields * sizeof(*vals));
	o->vals = vals;
	for (size_t i = 0; i < o->st->nfields; i++)
		if (o->st->fields[i].type == KC_ARRAY && vals[i].present && vals[i].u.arr.n > 0)
			vals[i].u.arr.n = 0;
	vals[fi].u.arr.v = items;
	vals[fi].u.arr.n = n;
	return o;
}

int authz_split(struct authz_ctx *x, enum kc_field_handle field, authz_item_fn fn)
{
	struct kc_value *arr = kc_at(x->req, field);
	if (!arr || arr->u.arr.n <= 0)
		return 0;
	unsigned fi = (unsigned)(arr - x->req->vals);
	int32_t n = arr->u.arr.n;
	int16_t *codes = kc_arena_alloc(x->a, (size_t)n * sizeof(*codes));
	struct kc_value *denied = kc_arena_alloc(x->a, (size_t)n * sizeof(*denied));
	if (!codes || !denied)
		return -1;
	int32_t ndenied = 0;
	for (int32_t i = 0; i < n; i++)
		if ((codes[i] = fn(x, &arr->u.arr.v[i])) != 0)
			ndenied++;
	if (ndenied == 0)
		return n;
	/* One error response per distinct code, merged into one. */
	for (int32_t i = 0; i < n; i++) {
		int16_t code = codes[i];
		if (code == 0 || code == -1)
			continue;
		int32_t k = 0;
		for (int32_t j = i; j < n; j++)
			if (codes[j] == code) {
				denied[k++] = arr->u.arr.v[j];
				codes[j] = -1;
			}
		struct kc_obj *cl = clone_with(x, fi, denied, k), *resp;
		if (!cl || kc_build_error_response(x->key, x->ver, cl, code, x->a, &resp) != KC_OK)
			return -1;
		clear_top_error(resp);
		if (!x->out->merge)
			x->out->merge = resp;
		else if (authz_merge(x->a, x->out->merge, resp) < 0)
			return -1;
		denied = kc_arena_alloc(x->a, (size_t)n * sizeof(*denied));
		if (!denied)
			return -1;
	}
	int32_t keep = 0;
	for (int32_t i = 0; i < n; i++)
		if (codes[i] == 0)
			arr->u.arr.v[keep++] = arr->u.arr.v[i];
	arr->u.arr.n = keep;
	x->modified = true;
	return keep;
}

void authz_local_if_empty(struct authz_ctx *x, int kept)
{
	if (kept != 0 || !x->out->merge || x->out->verdict != KG_AUTHZ_FORWARD)
		return;
	x->out->verdict = KG_AUTHZ_LOCAL;
	x->out->local = x->out->merge;
	x->out->merge = NULL;
}
