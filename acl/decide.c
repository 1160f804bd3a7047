/*
 * decide.c - Kafka StandardAuthorizer decisions over a subject's index
 * (subject.c), the per-subject decision cache, authorizeByResourceType and
 * authorized-operations bitmasks.
 *
 * Rule semantics (reference section 3.2): deny wins over allow; deny rules
 * match their exact operation or ALL only, allow rules also what their
 * operations imply; nothing applying means deny. Of several applying rules
 * the one reported is the first in policy order (role order, then rule
 * order), so `acl explain` and the audit log name a stable rule.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "acl/policy.h"
#include "acl/policy_int.h"

/* The first deny and the first allow found so far. */
struct verdict {
	const struct kg_acl_rule *deny;   /* lowest-order applying deny */
	const struct kg_acl_rule *allow;  /* lowest-order applying allow */
};

static inline const struct kg_acl_rule *first_deny(const struct kg_acl_group *g, uint16_t bit)
{
	for (uint32_t i = 0; i < g->n; i++)
		if (g->rule[i]->deny_mask & bit)
			return g->rule[i];
	return NULL;
}

static inline const struct kg_acl_rule *first_allow(const struct kg_acl_group *g,
						    uint16_t bit)
{
	for (uint32_t i = 0; i < g->n; i++)
		if (g->rule[i]->allow_mask & bit)
			return g->rule[i];
	return NULL;
}

/* Folds the rules of one group (all of which match the name) into v. */
static inline void consider(struct verdict *v, const struct kg_acl_group *g, uint16_t bit)
{
	if (g->deny_mask & bit) {
		const struct kg_acl_rule *r = first_deny(g, bit);
		if (!v->deny || r->order < v->deny->order)
			v->deny = r;
	}
	/* Once something denies, allows no longer matter. */
	if (!v->deny && (g->allow_mask & bit)) {
		const struct kg_acl_rule *r = first_allow(g, bit);
		if (!v->allow || r->order < v->allow->order)
			v->allow = r;
	}
}

/* Whether regex rule r matches the whole name. A match that cannot be
 * completed (invalid UTF-8 in the name, backtracking budget exhausted)
 * fails closed: it counts as a match for a deny rule and as no match for
 * an allow rule. */
static int re_match(const struct kg_acl_subject *s, const struct kg_acl_rule *r,
		    const char *name, size_t len)
{
	if (r->re_lit_len && (len < r->re_lit_len || memcmp(name, r->re_lit, r->re_lit_len) != 0))
		return 0; /* cannot match: the literal start differs */
	int rc = pcre2_match(r->re, (PCRE2_SPTR)(name ? name : ""), len, 0, 0, s->md,
			     s->p->mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return r->deny;
}

/* The deciding rule for (name, bit) in ix, or NULL for a default deny.
 * h is kg_acl_hash(name, len) when ix has literal names. */
static const struct kg_acl_rule *compute(const struct kg_acl_subject *s,
					 const struct kg_acl_index *ix, const char *name,
					 size_t len, uint64_t h, uint16_t bit)
{
	struct verdict v = { NULL, NULL };
	consider(&v, &ix->any, bit);
	if (ix->lit.n) {
		const struct kg_acl_entry *e = kg_acl_table_find(&ix->lit, h, name, len);
		if (e)
			consider(&v, &e->g, bit);
	}
	if (ix->pre.n) {
		size_t max = len < ix->pre_max ? len : ix->pre_max;
		uint64_t ph = KG_ACL_PREFIX_SEED;
		for (size_t i = 0; i < max; i++) {
			ph = kg_acl_hash_step(ph, (unsigned char)name[i]);
			if (!ix->pre_len[i + 1])
				continue;
			const struct kg_acl_entry *e = kg_acl_table_find(&ix->pre, ph, name, i + 1);
			if (e)
				consider(&v, &e->g, bit);
		}
	}
	/* Regexes last and only while they can still change the outcome or
	 * the reported rule: a regex later in policy order than the deny
	 * already found is not run. */
	if (ix->re_deny & bit) {
		for (size_t i = 0; i < ix->nre; i++) {
			const struct kg_acl_rule *r = ix->re[i];
			if (!(r->deny_mask & bit))
				continue;
			if (v.deny && r->order > v.deny->order)
				break;
			if (re_match(s, r, name, len)) {
				v.deny = r;
				break;
			}
		}
	}
	if (!v.deny && (ix->re_allow & bit)) {
		for (size_t i = 0; i < ix->nre; i++) {
			const struct kg_acl_rule *r = ix->re[i];
			if (!(r->allow_mask & bit))
				continue;
			if (v.allow && r->order > v.allow->order)
				break;
			if (re_match(s, r, name, len)) {
				v.allow = r;
				break;
			}
		}
	}
	return v.deny ? v.deny : v.allow;
}

static bool answer(const struct kg_acl_rule *r, struct kg_acl_why *why)
{
	if (why) {
		why->reason = !r ? KG_ACL_DEFAULT_DENY : r->deny ? KG_ACL_RULE_DENY
								 : KG_ACL_RULE_ALLOW;
		why->role = r ? r->role : NULL;
		why->rule = r ? r->index : -1;
		why->rule_text = r ? r->text : NULL;
	}
	return r && !r->deny;
}

/* ---- the decision cache ---- */

static inline uint64_t cache_hash(uint64_t h, uint8_t key)
{
	uint64_t c = h ^ ((uint64_t)key * 0x9e3779b97f4a7c15ULL);
	c *= 0xbf58476d1ce4e5b9ULL;
	return c ^ (c >> 31);
}

/* The cached decision for (key, name), computing and storing it on a
 * miss. Names are compared in full: a hash collision can never hand one
 * name another name's decision. */
static const struct kg_acl_rule *cached(struct kg_acl_subject *s,
					const struct kg_acl_index *ix, uint8_t key,
					const char *name, size_t len, uint64_t h, uint16_t bit)
{
	struct kg_acl_cache *c = s->cache;
	uint64_t ch = cache_hash(h, key);
	uint32_t tag = (uint32_t)(ch >> 32), i = (uint32_t)ch & (KG_ACL_CACHE_SLOTS - 1);
	for (;; i = (i + 1) & (KG_ACL_CACHE_SLOTS - 1)) {
		const struct kg_acl_centry *e = &c->slot[i];
		if (e->key == 0)
			break;
		if (e->hash == tag && e->key == key && e->len == len &&
		    memcmp(c->arena + e->off, name, len) == 0) {
			c->hits++;
			return e->rule;
		}
	}
	c->misses++;
	const struct kg_acl_rule *r = compute(s, ix, name, len, h, bit);
	if (c->used >= KG_ACL_CACHE_FILL || c->arena_used + len > KG_ACL_CACHE_ARENA) {
		/* Full: start over rather than grow or track ages. A hot set
		 * larger than the cache just costs recomputation. */
		memset(c->slot, 0, sizeof(c->slot));
		c->used = c->arena_used = 0;
		i = (uint32_t)ch & (KG_ACL_CACHE_SLOTS - 1);
	}
	struct kg_acl_centry *e = &c->slot[i];
	e->hash = tag;
	e->key = key;
	e->len = (uint8_t)len;
	e->off = (uint16_t)c->arena_used;
	e->rule = r;
	if (len)
		memcpy(c->arena + c->arena_used, name, len);
	c->arena_used += (uint32_t)len;
	c->used++;
	return r;
}

bool kg_acl_decide(struct kg_acl_subject *s, enum kg_res type, const char *name,
		   size_t name_len, enum kg_op op, struct kg_acl_why *why)
{
	if (!s)
		return answer(NULL, why);
	if (s->super) {
		if (why) {
			why->reason = KG_ACL_SUPER_USER;
			why->role = NULL;
			why->rule = -1;
			why->rule_text = NULL;
		}
		return true;
	}
	unsigned t = (unsigned)type - KG_RES_FIRST;
	if (t >= KG_RES_N || (unsigned)op > 15)
		return answer(NULL, why);
	const struct kg_acl_index *ix = &s->idx[t];
	uint16_t bit = (uint16_t)(1u << op);
	if (!(ix->ops_mask & bit))
		return answer(NULL, why);
	if (type == KG_RES_CLUSTER || !name) {
		name = "";
		name_len = 0;
	}
	/* Only "*" rules (or cluster): cheaper to decide than to look up. */
	if (!ix->lit.n && !ix->pre.n && !ix->nre)
		return answer(compute(s, ix, name, name_len, 0, bit), why);
	uint64_t h = kg_acl_hash(name, name_len);
	if (s->use_cache && name_len <= KG_ACL_CACHE_NAME_MAX) {
		if (!s->cache)
			s->cache = calloc(1, sizeof(*s->cache));
		if (s->cache)
			return answer(cached(s, ix, (uint8_t)((type << 4) | op), name, name_len, h,
					     bit), why);
	}
	return answer(compute(s, ix, name, name_len, h, bit), why);
}

/* ---- authorizeByResourceType ---- */

static int starts_with(const char *s, size_t n, const char *p, size_t pn)
{
	return pn <= n && memcmp(s, p, pn) == 0;
}

/* Whether some deny rule in ix (operation exactly or ALL) covers every
 * name the allow rule a covers: the same literal, a prefix of a's literal
 * or prefix, or (for a literal) a regex matching it. */
static int covered(const struct kg_acl_subject *s, const struct kg_acl_index *ix,
		   const struct kg_acl_rule *a, uint16_t want)
{
	for (size_t i = 0; i < ix->nall; i++) {
		const struct kg_acl_rule *d = ix->all[i];
		if (!d->deny || !(d->ops & want))
			continue;
		if (d->kind == KG_PAT_PREFIX &&
		    starts_with(a->pattern, a->plen, d->pattern, d->plen))
			return 1;
		if (a->kind == KG_PAT_NAME && d->kind == KG_PAT_NAME && d->plen == a->plen &&
		    memcmp(d->pattern, a->pattern, a->plen) == 0)
			return 1;
		if (a->kind == KG_PAT_NAME && d->kind == KG_PAT_REGEX &&
		    re_match(s, d, a->pattern, a->plen))
			return 1;
	}
	return 0;
}

/*
 * Reference section 3.4. Step 1 asks about a name no rule is expected to
 * target, "hardcode" as Kafka does, which settles super users and "*"
 * allows. Step 2 looks at rule patterns only, with operations matched
 * exactly or through ALL (no implied operations).
 *
 * Regexes are ours, not Kafka's, and are approximated: a regex allow
 * counts as "some resource is allowed" unless a "*" deny exists (we do not
 * try to prove that literal and prefix denies cover everything the regex
 * can match); a regex deny only takes away literal allows it matches.
 */
bool kg_acl_any_allowed(struct kg_acl_subject *s, enum kg_res type, enum kg_op op)
{
	if (!s)
		return false;
	if (kg_acl_decide(s, type, "hardcode", 8, op, NULL))
		return true;
	unsigned t = (unsigned)type - KG_RES_FIRST;
	if (s->super || t >= KG_RES_N || (unsigned)op > 15)
		return s->super;
	const struct kg_acl_index *ix = &s->idx[t];
	uint16_t want = (uint16_t)((1u << op) | (1u << KG_OP_ALL));
	for (size_t i = 0; i < ix->nall; i++)
		if (ix->all[i]->deny && ix->all[i]->kind == KG_PAT_ANY && (ix->all[i]->ops & want))
			return false;
	for (size_t i = 0; i < ix->nall; i++) {
		const struct kg_acl_rule *a = ix->all[i];
		if (a->deny || !(a->ops & want))
			continue;
		if (a->kind == KG_PAT_ANY || a->kind == KG_PAT_REGEX)
			return true;
		if (!covered(s, ix, a, want))
			return true;
	}
	return false;
}

int32_t kg_acl_authorized_ops(struct kg_acl_subject *s, enum kg_res type, const char *name,
			      size_t name_len)
{
	uint16_t supported = kg_acl_supported_ops(type);
	int32_t bits = 0;
	for (int op = 0; op < 16; op++)
		if ((supported & (1u << op)) &&
		    kg_acl_decide(s, type, name, name_len, (enum kg_op)op, NULL))
			bits |= (int32_t)1 << op;
	return bits;
}
