/* authz.c - authorization machinery: the connection's policy view, one
 * check, splitting a request into allowed and denied items, and merging
 * the denied items' errors back into the broker's answer.
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
 * kg_authz_commit, because a request may be decided again after waiting
 * for output to drain.
 */
#include "enforce/authz.h"
#include "enforce/authz-int.h"
#include "audit/audit.h"
#include "kafka/codec.h"
#include "acl/policy.h"
#include "route/refresh.h"
#include "route/topics.h"

#include <stdlib.h>
#include <string.h>

/* Decisions of the request being decided (c->arena, reset per frame). */
struct authz_recs {
	struct authz_rec *v;           /* records */
	uint32_t n, cap;               /* used, allocated */
};

/* The connection's view of the current policy; rebuilt when a reload
 * swapped in a new one, so existing connections follow it at once. */
struct kg_acl_subject *authz_subject(struct kg_conn *c)
{
	uint64_t g = kg_policy_generation();
	if (c->acl && c->acl_gen == g)
		return c->acl;
	kg_acl_subject_free(c->acl);
	c->acl = NULL;
	struct kg_policy *p = kg_policy_current();
	if (p) {
		const char *who = c->principal[0] ? c->principal : "User:ANONYMOUS";
		c->acl = kg_acl_subject_new(p, who, (const struct sockaddr *)&c->peer_sa);
		kg_policy_unref(p);
	}
	c->acl_gen = g;
	return c->acl;
}

void kg_authz_release(struct kg_conn *c)
{
	kg_acl_subject_free(c->acl);
	c->acl = NULL;
	c->acl_gen = 0;
}

bool authz_check_quiet(struct kg_conn *c, enum kg_res type, const char *name, size_t len,
		       enum kg_op op)
{
	struct kg_acl_subject *s = authz_subject(c);
	/* No policy view (out of memory): fail closed. */
	return s && kg_acl_decide(s, type, name ? name : "", name ? len : 0, op, NULL);
}

bool authz_check(struct authz_ctx *x, enum kg_res type, const char *name, size_t len,
		 enum kg_op op)
{
	struct kg_acl_subject *s = authz_subject(x->c);
	struct kg_acl_why why = { .reason = KG_ACL_DEFAULT_DENY, .rule = -1 };
	if (!name) {
		name = "";
		len = 0;
	}
	struct authz_recs *r = x->c->authz_recs;
	bool ok = s && kg_acl_decide(s, type, name, len, op, r ? &why : NULL);
	if (!r)
		return ok;
	if (r->n == r->cap) {
		uint32_t ncap = r->cap ? r->cap * 2 : 16;
		struct authz_rec *nv = kc_arena_alloc(x->a, ncap * sizeof(*nv));
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

void kg_authz_commit(struct kg_conn *c, int16_t api_key)
{
	struct authz_recs *r = c->authz_recs;
	if (!r)
		return;
	for (uint32_t i = 0; i < r->n; i++)
		kg_audit_decision(c, api_key, r->v[i].type, r->v[i].name, r->v[i].len,
				  r->v[i].op, r->v[i].allowed, &r->v[i].why);
	c->authz_recs = NULL;
}

bool authz_str(struct kc_value *v, const char **p, size_t *n)
{
	if (!v || !v->present || v->u.b.len < 0)
		return false;
	*p = (const char *)v->u.b.p;
	*n = (size_t)v->u.b.len;
	return true;
}

bool authz_field_str(struct kc_obj *o, const char *field, const char **p, size_t *n)
{
	return o && authz_str(kc_get(o, field), p, n);
}

int16_t authz_topic_name(struct authz_ctx *x, struct kc_obj *item, const char *name_field,
			 const char **p, size_t *n)
{
	if (authz_field_str(item, name_field, p, n) && *n > 0)
		return 0;
	struct kc_value *id = kc_get(item, "TopicId");
	if (!id) {
		/* No id in this version: a null or empty name names no topic
		 * anyone may have been granted, and is checked as such. */
		if (!authz_field_str(item, name_field, p, n)) {
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
		return ERR_UNKNOWN_TOPIC_ID;
	}
	*p = buf;
	*n = (size_t)len;
	return 0;
}

static bool is_error_field(const struct kc_field *f)
{
	size_t n = strlen(f->name);
	return f->type == KC_INT16 && n >= 9 && strcmp(f->name + n - 9, "ErrorCode") == 0;
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
		if (is_error_field(f))
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
	struct kc_value *e = kc_get(o, "ErrorCode");
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
static struct kc_obj *clone_with(struct authz_ctx *x, int fi, struct kc_value *items,
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

int authz_split(struct authz_ctx *x, const char *field, authz_item_fn fn)
{
	int fi = kc_field_index(x->req->st, field);
	if (fi < 0 || !x->req->vals[fi].present || x->req->vals[fi].u.arr.n <= 0)
		return 0;
	struct kc_value *arr = &x->req->vals[fi];
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

void kg_authz_request(struct kg_conn *c, const struct kc_req_header *h,
		      struct kc_obj *req, struct kg_authz_out *out)
{
	memset(out, 0, sizeof(*out));
	/* Decisions are kept for kg_authz_commit only when there is an
	 * audit log to write them to. */
	struct authz_recs *r = c->audit ? kc_arena_alloc(&c->arena, sizeof(*r)) : NULL;
	c->authz_recs = r;
	struct authz_ctx x = { .c = c, .a = &c->arena, .key = h->api_key,
			       .ver = h->api_version, .h = h, .req = req, .out = out };
	authz_apis_decide(&x);
	if (out->verdict == KG_AUTHZ_FORWARD && x.modified)
		out->verdict = KG_AUTHZ_REWRITE;
	if (c->audit && !r) {
		/* Out of memory for the audit trail: refuse rather than
		 * forward something unrecorded. */
		out->verdict = KG_AUTHZ_CLOSE;
		out->reason = "out of memory";
	}
}

int kg_authz_response(struct kg_conn *c, int16_t api_key, int16_t version, uint8_t post,
		      const uint8_t *merge, uint32_t merge_len, struct kc_obj *resp)
{
	/* Fixes first: they must not hide the merged denial entries. */
	int rc = authz_resp_fix(c, api_key, post, resp);
	if (rc < 0)
		return -1;
	if (merge) {
		struct kc_obj *m;
		if (kc_decode_response(api_key, version, merge, merge_len, &c->arena, &m) != KC_OK ||
		    authz_merge(&c->arena, resp, m) < 0)
			return -1;
		rc = 1;
	}
	return rc;
}
