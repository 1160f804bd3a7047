/*
 * subject.c - one principal+address view of a policy: the rules that apply
 * to it, indexed so that a decision looks at only the rules that can match
 * the name (see policy_int-t.h for the layout).
 *
 * Built once per connection, after authentication. Which roles the
 * principal is in and which "hosts" lists admit its address are settled
 * here, so kg_acl_decide never compares principals or addresses; per
 * resource type it then finds literal names with one hash probe, prefixes
 * with one hash step per byte of the name (and a probe only at lengths
 * some prefix has), and runs regexes only when they could change the
 * answer.
 */
#define _POSIX_C_SOURCE 200809L
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "acl/policy.h"
#include "acl/policy_int.h"
#include "io/netrange.h"

/* ---- hashing ---- */

uint64_t kg_acl_hash(const char *s, size_t n)
{
	/* Eight bytes per multiply: names are hashed on every uncached
	 * decision and every cache probe. */
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)(unsigned char)s[i] << (8 * i);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static uint64_t prefix_hash(const char *s, size_t n)
{
	uint64_t h = KG_ACL_PREFIX_SEED;
	for (size_t i = 0; i < n; i++)
		h = kg_acl_hash_step(h, (unsigned char)s[i]);
	return h;
}

/* ---- tables and groups ---- */

const struct kg_acl_entry *kg_acl_table_find(const struct kg_acl_table *t, uint64_t h,
					     const char *name, size_t len)
{
	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		const struct kg_acl_entry *e = &t->slot[i];
		if (e->len == 0)
			return NULL;
		if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	}
}

static int group_add(struct kg_acl_group *g, const struct kg_acl_rule *r)
{
	const struct kg_acl_rule **n = realloc(g->rule, (g->n + 1) * sizeof(*n));
	if (!n)
		return -1;
	g->rule = n;
	g->rule[g->n++] = r;
	g->deny_mask |= r->deny_mask;
	g->allow_mask |= r->allow_mask;
	return 0;
}

/* Sizes t for up to n entries (at most half full). */
static int table_init(struct kg_acl_table *t, size_t n)
{
	if (n == 0)
		return 0;
	size_t cap = 4;
	while (cap < 2 * n)
		cap *= 2;
	t->slot = calloc(cap, sizeof(*t->slot));
	t->mask = (uint32_t)(cap - 1);
	return t->slot ? 0 : -1;
}

static int table_add(struct kg_acl_table *t, uint64_t h, const struct kg_acl_rule *r)
{
	uint32_t i = (uint32_t)h & t->mask;
	for (;; i = (i + 1) & t->mask) {
		struct kg_acl_entry *e = &t->slot[i];
		if (e->len == 0) {
			e->hash = h;
			e->name = r->pattern;
			e->len = (uint32_t)r->plen;
			t->n++;
			break;
		}
		if (e->hash == h && e->len == r->plen && memcmp(e->name, r->pattern, r->plen) == 0)
			break;
	}
	return group_add(&t->slot[i].g, r);
}

static void table_free(struct kg_acl_table *t)
{
	for (uint32_t i = 0; t->slot && i <= t->mask; i++)
		free(t->slot[i].g.rule);
	free(t->slot);
}

/* ---- who the rules apply to ---- */

static int is_member(const struct kg_acl_role *role, const char *principal)
{
	/* "User:*" is Kafka's only principal wildcard and covers every
	 * principal, User:ANONYMOUS included. */
	if (role->everyone)
		return 1;
	for (size_t i = 0; i < role->nmembers; i++)
		if (strcmp(role->members[i], principal) == 0)
			return 1;
	return 0;
}

static int host_applies(const struct kg_acl_rule *r, const uint8_t *addr)
{
	if (r->nhosts == 0)
		return 1;
	if (!addr) /* unknown address: a host-limited rule cannot be shown to apply */
		return 0;
	for (size_t i = 0; i < r->nhosts; i++)
		if (kg_net_range_contains(&r->hosts[i], addr))
			return 1;
	return 0;
}

/* ---- building ---- */

static int index_add(struct kg_acl_index *ix, const struct kg_acl_rule *r)
{
	ix->all[ix->nall++] = r;
	ix->ops_mask |= r->deny_mask | r->allow_mask;
	switch (r->kind) {
	case KG_PAT_ANY:
		return group_add(&ix->any, r);
	case KG_PAT_NAME:
		return table_add(&ix->lit, kg_acl_hash(r->pattern, r->plen), r);
	case KG_PAT_PREFIX:
		ix->pre_len[r->plen] = 1;
		return table_add(&ix->pre, prefix_hash(r->pattern, r->plen), r);
	case KG_PAT_REGEX:
		ix->re[ix->nre++] = r;
		ix->re_deny |= r->deny_mask;
		ix->re_allow |= r->allow_mask;
		return 0;
	}
	return -1;
}

/* Two passes over the applying rules: count per type and kind to size
 * everything, then fill. Rules are visited in policy order, so every list
 * comes out in ascending order without sorting. */
static int build(struct kg_acl_subject *s, const char *principal, const uint8_t *addr)
{
	const struct kg_policy *p = s->p;
	size_t count[KG_RES_N][4] = { { 0 } }, pre_max[KG_RES_N] = { 0 };
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < p->nroles; i++) {
			const struct kg_acl_role *role = &p->roles[i];
			if (!is_member(role, principal))
				continue;
			for (size_t j = 0; j < role->nrules; j++) {
				const struct kg_acl_rule *r = &role->rules[j];
				if (!host_applies(r, addr))
					continue;
				unsigned t = r->res - KG_RES_FIRST;
				if (pass == 0) {
					count[t][r->kind]++;
					if (r->kind == KG_PAT_PREFIX && r->plen > pre_max[t])
						pre_max[t] = r->plen;
				} else if (index_add(&s->idx[t], r) < 0) {
					return -1;
				}
			}
		}
		if (pass == 1)
			break;
		for (unsigned t = 0; t < KG_RES_N; t++) {
			struct kg_acl_index *ix = &s->idx[t];
			size_t *c = count[t];
			size_t total = c[0] + c[1] + c[2] + c[3];
			ix->pre_max = pre_max[t];
			if (total && !(ix->all = malloc(total * sizeof(*ix->all))))
				return -1;
			if (c[KG_PAT_REGEX] && !(ix->re = malloc(c[KG_PAT_REGEX] * sizeof(*ix->re))))
				return -1;
			if (c[KG_PAT_PREFIX] && !(ix->pre_len = calloc(pre_max[t] + 1, 1)))
				return -1;
			if (table_init(&ix->lit, c[KG_PAT_NAME]) < 0 ||
			    table_init(&ix->pre, c[KG_PAT_PREFIX]) < 0)
				return -1;
		}
	}
	return 0;
}

struct kg_acl_subject *kg_acl_subject_new(struct kg_policy *p, const char *principal,
					  const struct sockaddr *addr)
{
	if (!p)
		return NULL;
	struct kg_acl_subject *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	kg_policy_ref(p);
	s->p = p;
	s->use_cache = 1;
	/* No principal matches no role (not even "User:*") and no super
	 * user: everything is denied, never crashes. */
	if (!principal)
		return s;
	for (size_t i = 0; i < p->nsuper; i++)
		if (strcmp(p->super_users[i], principal) == 0)
			s->super = 1;
	if (s->super) /* decisions never look at rules */
		return s;
	uint8_t a[16];
	int have = kg_net_addr_key(addr, a);
	if (build(s, principal, have ? a : NULL) < 0)
		goto fail;
	for (unsigned t = 0; t < KG_RES_N; t++)
		if (s->idx[t].nre && !s->md && !(s->md = pcre2_match_data_create(1, NULL)))
			goto fail;
	return s;
fail:
	kg_acl_subject_free(s);
	return NULL;
}

void kg_acl_subject_free(struct kg_acl_subject *s)
{
	if (!s)
		return;
	for (unsigned t = 0; t < KG_RES_N; t++) {
		struct kg_acl_index *ix = &s->idx[t];
		free(ix->any.rule);
		table_free(&ix->lit);
		table_free(&ix->pre);
		free(ix->pre_len);
		free(ix->re);
		free(ix->all);
	}
	pcre2_match_data_free(s->md);
	free(s->cache);
	kg_policy_unref(s->p);
	free(s);
}

const struct kg_policy *kg_acl_subject_policy(const struct kg_acl_subject *s)
{
	return s ? s->p : NULL;
}

void kg_acl_subject_set_cache(struct kg_acl_subject *s, bool on)
{
	if (s)
		s->use_cache = on;
}

void kg_acl_subject_cache_stats(const struct kg_acl_subject *s, uint64_t *hits,
				uint64_t *misses)
{
	*hits = s && s->cache ? s->cache->hits : 0;
	*misses = s && s->cache ? s->cache->misses : 0;
}
