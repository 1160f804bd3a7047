/* group_regex.c - KIP-848 regex subscriptions resolved at the gateway
 * (see group_regex.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "enforce/group_regex.h"
#include "kafka/codec.h"
#include "kafka/errors.h"
#include "route/topics.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct kg_group_regex {
	char *group;                   /* the group and member it is for */
	char *member;
	pcre2_code *re;                /* the member's regex, compiled */
	pcre2_match_data *md;          /* its match data */
	uint64_t sent;                 /* hash of the names last sent */
};

void kg_group_regex_free(struct kg_authz_conn *z)
{
	struct kg_group_regex *g = z->regex;
	if (!g)
		return;
	pcre2_match_data_free(g->md);
	pcre2_code_free(g->re);
	free(g->group);
	free(g->member);
	free(g);
	z->regex = NULL;
}

static char *dup_value(const struct kc_value *v)
{
	size_t n = v && v->u.b.len > 0 ? (size_t)v->u.b.len : 0;
	char *s = malloc(n + 1);
	if (s) {
		if (n)
			memcpy(s, v->u.b.p, n);
		s[n] = '\0';
	}
	return s;
}

static bool same(const char *s, const struct kc_value *v)
{
	size_t n = v && v->u.b.len > 0 ? (size_t)v->u.b.len : 0;
	return s && strlen(s) == n && (n == 0 || memcmp(s, v->u.b.p, n) == 0);
}

/* Matching topics, collected under the topic map's lock. */
struct collect {
	struct authz_ctx *x;           /* whose DESCRIBE decides */
	struct kg_group_regex *g;      /* the regex */
	const char **names;            /* arena copies */
	int32_t n, cap;
	bool nomem;
};

static bool collect_one(void *ctx, const char *name, size_t len)
{
	struct collect *c = ctx;
	if (c->nomem || pcre2_match(c->g->re, (PCRE2_SPTR)name, len, 0, 0, c->g->md, NULL) < 0 ||
	    !authz_check_quiet(c->x->z, KG_RES_TOPIC, name, len, KG_OP_DESCRIBE))
		return true;
	if (c->n == c->cap) {
		int32_t cap = c->cap ? c->cap * 2 : 16;
		const char **v = kc_arena_alloc(c->x->a, (size_t)cap * sizeof(*v));
		if (!v) {
			c->nomem = true;
			return true;
		}
		if (c->n)
			memcpy(v, c->names, (size_t)c->n * sizeof(*v));
		c->names = v;
		c->cap = cap;
	}
	char *copy = kc_arena_alloc(c->x->a, len + 1);
	if (!copy) {
		c->nomem = true;
		return true;
	}
	memcpy(copy, name, len);
	c->names[c->n++] = copy;
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted names the regex gives the principal now; -1: no memory. */
static int resolve(struct authz_ctx *x, struct kg_group_regex *g, struct collect *c)
{
	*c = (struct collect){ .x = x, .g = g };
	kg_topics_each(collect_one, c);
	if (c->nomem)
		return -1;
	if (c->n > 1)
		qsort(c->names, (size_t)c->n, sizeof(*c->names), by_name);
	return 0;
}

static uint64_t names_hash(const struct collect *c)
{
	uint64_t h = 1469598103934665603ull;
	for (int32_t i = 0; i < c->n; i++) {
		for (const char *p = c->names[i]; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ull;
		h = (h ^ 0xff) * 1099511628211ull;   /* name separator */
	}
	return h ^ (uint64_t)c->n;
}

/* Puts the names in the request (and the regex out). */
static int16_t send_names(struct authz_ctx *x, const struct collect *c)
{
	struct kc_value *re = kc_at(x->req, KCF_ConsumerGroupHeartbeatRequest_SubscribedTopicRegex);
	struct kc_value *arr = kc_resize_at(x->a, x->req,
					    KCF_ConsumerGroupHeartbeatRequest_SubscribedTopicNames,
					    x->ver, c->n);
	if (!arr)
		return KERR_INVALID_REQUEST;
	for (int32_t i = 0; i < c->n; i++)
		if (kc_set_string(x->a, &arr->u.arr.v[i], c->names[i], strlen(c->names[i])) < 0)
			return KERR_INVALID_REQUEST;
	if (re)
		re->u.b.len = -1;
	x->modified = true;
	return 0;
}

int16_t kg_group_regex_heartbeat(struct authz_ctx *x)
{
	struct kg_authz_conn *z = x->z;
	struct kc_value *gid = kc_at(x->req, KCF_ConsumerGroupHeartbeatRequest_GroupId);
	struct kc_value *mid = kc_at(x->req, KCF_ConsumerGroupHeartbeatRequest_MemberId);
	struct kc_value *epoch = kc_at(x->req, KCF_ConsumerGroupHeartbeatRequest_MemberEpoch);
	struct kc_value *names = kc_at(x->req, KCF_ConsumerGroupHeartbeatRequest_SubscribedTopicNames);
	struct kc_value *re = kc_at(x->req, KCF_ConsumerGroupHeartbeatRequest_SubscribedTopicRegex);
	struct collect c;
	if (re && re->u.b.len > 0) {
		/* A new (or repeated) regex: compile it, resolve it, send names. */
		kg_group_regex_free(z);
		struct kg_group_regex *g = calloc(1, sizeof(*g));
		int err;
		PCRE2_SIZE off;
		if (!g)
			return KERR_INVALID_REQUEST;
		z->regex = g;
		g->group = dup_value(gid);
		g->member = dup_value(mid);
		g->re = pcre2_compile((PCRE2_SPTR)re->u.b.p, (size_t)re->u.b.len,
				      PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF, &err, &off, NULL);
		g->md = g->re ? pcre2_match_data_create_from_pattern(g->re, NULL) : NULL;
		if (!g->re) {
			kg_group_regex_free(z);
			return KERR_INVALID_REGULAR_EXPRESSION;
		}
		if (!g->group || !g->member || !g->md || resolve(x, g, &c) < 0) {
			kg_group_regex_free(z);
			return KERR_INVALID_REQUEST;
		}
		g->sent = names_hash(&c);
		return send_names(x, &c);
	}
	struct kg_group_regex *g = z->regex;
	if (!g)
		return 0;
	if ((names && names->u.arr.n >= 0) || !same(g->group, gid) ||
	    (epoch && epoch->u.i < 0)) {
		/* Names of its own, another member, or leaving: no regex now. */
		kg_group_regex_free(z);
		return 0;
	}
	/* The member id is the broker's choice on the first heartbeat (v0)
	 * or the client's (v1+): follow it. */
	if (!same(g->member, mid)) {
		free(g->member);
		g->member = dup_value(mid);
	}
	if (resolve(x, g, &c) < 0)
		return KERR_INVALID_REQUEST;
	uint64_t h = names_hash(&c);
	if (h == g->sent)
		return 0;
	g->sent = h;
	return send_names(x, &c);
}
