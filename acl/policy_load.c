/*
 * policy_load.c - policy file (JSON) -> struct kg_policy, with validation.
 *
 * Everything that can be checked is checked here, once, so that deciding
 * never meets a surprise: operations must exist and apply to the rule's
 * resource type, regexes are compiled (and JIT'd) now, hosts are parsed
 * into networks. The first problem found is reported with the file, where
 * it is ("roles[1] (tenant-b) rules[3]") and what is wrong, and nothing is
 * loaded: a policy is all or nothing, so a typo can never quietly drop the
 * one deny rule that mattered.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acl/policy.h"
#include "acl/policy_int.h"

/* Backtracking budget per regex match: far above what a sane name pattern
 * needs, low enough that a pathological one cannot stall a worker. */
#define KG_ACL_MATCH_LIMIT 1000000u

/* Where we are, and where the first error goes. */
struct lctx {
	const char *src;               /* file name for messages */
	char *err;                     /* caller's buffer */
	size_t errlen;                 /* its size */
	int failed;                    /* set by the first error */
	uint32_t order;                /* rules seen so far (next rule's order) */
};

static void lerr(struct lctx *c, const char *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lerr(struct lctx *c, const char *loc, const char *fmt, ...)
{
	if (c->failed)
		return;
	c->failed = 1;
	if (!c->err || c->errlen == 0)
		return;
	int n = snprintf(c->err, c->errlen, "%s: %s: ", c->src, loc);
	if (n < 0 || (size_t)n >= c->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Rejects keys of obj not in allowed (NULL-terminated). */
static int check_keys(struct lctx *c, json_t *obj, const char *loc,
		      const char *const *allowed)
{
	const char *key;
	json_t *val;
	json_object_foreach(obj, key, val) {
		const char *const *a = allowed;
		while (*a && strcmp(*a, key) != 0)
			a++;
		if (!*a) {
			lerr(c, loc, "unknown key '%s'", key);
			return -1;
		}
	}
	return 0;
}

/* A non-empty string of at most KG_ACL_PATTERN_MAX bytes, or NULL. */
static const char *get_str(struct lctx *c, json_t *j, const char *loc, const char *what)
{
	if (!json_is_string(j) || json_string_length(j) == 0 ||
	    json_string_length(j) > KG_ACL_PATTERN_MAX) {
		lerr(c, loc, "%s must be a non-empty string of at most %d bytes", what,
		     KG_ACL_PATTERN_MAX);
		return NULL;
	}
	return json_string_value(j);
}

/* Kafka's principal form "Type:name": both parts non-empty, no spaces or
 * control characters in the type (it is compared as text, so a stray
 * space would make a rule that never matches). */
static int principal_ok(const char *s)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s || colon[1] == '\0')
		return 0;
	for (const char *q = s; q < colon; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return 0;
	for (const char *q = colon + 1; *q; q++)
		if ((unsigned char)*q < ' ' || *q == 0x7f)
			return 0;
	return 1;
}

/* Fills *out (count *n) with copies of the principal strings of array j. */
static int load_principals(struct lctx *c, json_t *j, const char *loc, char ***out,
			   size_t *n)
{
	if (!json_is_array(j)) {
		lerr(c, loc, "must be an array of principals \"Type:name\"");
		return -1;
	}
	*out = calloc(json_array_size(j) + 1, sizeof(**out));
	if (!*out) {
		lerr(c, loc, "out of memory");
		return -1;
	}
	size_t i;
	json_t *e;
	json_array_foreach(j, i, e) {
		char l[512];
		snprintf(l, sizeof(l), "%s[%zu]", loc, i);
		if (!json_is_string(e) || !principal_ok(json_string_value(e))) {
			lerr(c, l, "%s%s%s is not a principal \"Type:name\" (e.g. \"User:alice\")",
			     json_is_string(e) ? "'" : "",
			     json_is_string(e) ? json_string_value(e) : "value",
			     json_is_string(e) ? "'" : "");
			return -1;
		}
		if (!((*out)[(*n)++] = strdup(json_string_value(e)))) {
			lerr(c, l, "out of memory");
			return -1;
		}
	}
	return 0;
}

static int parse_net(struct lctx *c, const char *loc, const char *s, struct kg_net_range *n)
{
	char err[160];
	if (kg_net_range_parse(s, n, err, sizeof(err)) == 0)
		return 0;
	lerr(c, loc, "host %s", err);
	return -1;
}

static const char *const rule_keys[] = { "effect", "resource", "name", "prefix", "regex",
					 "operations", "hosts", "description", NULL };

/* Operations of a rule: masks and the text "[READ,WRITE]". */
static int load_ops(struct lctx *c, const char *loc, json_t *j, struct kg_acl_rule *r,
		    char *text, size_t cap)
{
	if (!json_is_array(j) || json_array_size(j) == 0) {
		lerr(c, loc, "'operations' must be a non-empty array (e.g. [\"READ\"])");
		return -1;
	}
	uint16_t supported = kg_acl_supported_ops((enum kg_res)r->res);
	size_t i, used = 0;
	json_t *e;
	text[used++] = '[';
	json_array_foreach(j, i, e) {
		if (!json_is_string(e)) {
			lerr(c, loc, "operations[%zu] must be a string", i);
			return -1;
		}
		int op = kg_op_parse(json_string_value(e));
		if (op < 0) {
			lerr(c, loc, "unknown operation '%s'", json_string_value(e));
			return -1;
		}
		if (op != KG_OP_ALL && !(supported & (1u << op))) {
			char list[160] = "";
			for (int k = 0; k < 16; k++)
				if (supported & (1u << k))
					snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
						 list[0] ? ", " : "", kg_op_name((enum kg_op)k));
			lerr(c, loc, "operation %s does not apply to %s (it has %s, or ALL)",
			     kg_op_name((enum kg_op)op), kg_res_name((enum kg_res)r->res), list);
			return -1;
		}
		if (r->ops & (1u << op)) {
			lerr(c, loc, "operation %s is listed twice", kg_op_name((enum kg_op)op));
			return -1;
		}
		r->ops |= (uint16_t)(1u << op);
		used += (size_t)snprintf(text + used, cap - used, "%s%s", i ? "," : "",
					 kg_op_name((enum kg_op)op));
	}
	snprintf(text + used, cap - used, "]");
	if (r->deny)
		r->deny_mask = kg_acl_deny_mask(r->ops);
	else
		r->allow_mask = kg_acl_allow_mask(r->ops);
	return 0;
}

/* The name/prefix/regex of a rule (or none for cluster). */
static int load_pattern(struct lctx *c, const char *loc, json_t *o, struct kg_acl_rule *r)
{
	static const char *const kinds[] = { "name", "prefix", "regex" };
	int which = -1;
	for (int k = 0; k < 3; k++) {
		if (!json_object_get(o, kinds[k]))
			continue;
		if (which >= 0) {
			lerr(c, loc, "has both '%s' and '%s': give exactly one of name, prefix, regex",
			     kinds[which], kinds[k]);
			return -1;
		}
		which = k;
	}
	if (r->res == KG_RES_CLUSTER) {
		/* Kafka has one cluster resource, named "kafka-cluster". */
		json_t *n = json_object_get(o, "name");
		if (which > 0 || (which == 0 && (!json_is_string(n) ||
						 strcmp(json_string_value(n), "kafka-cluster") != 0))) {
			lerr(c, loc, "a cluster rule takes no pattern, or \"name\": \"kafka-cluster\"");
			return -1;
		}
		r->kind = KG_PAT_ANY;
		return 0;
	}
	if (which < 0) {
		lerr(c, loc, "needs one of 'name', 'prefix' or 'regex'");
		return -1;
	}
	const char *s = get_str(c, json_object_get(o, kinds[which]), loc, kinds[which]);
	if (!s)
		return -1;
	if (which == 0 && strcmp(s, "*") == 0) {
		r->kind = KG_PAT_ANY;
		return 0;
	}
	r->kind = which == 0 ? KG_PAT_NAME : which == 1 ? KG_PAT_PREFIX : KG_PAT_REGEX;
	r->plen = strlen(s);
	if (!(r->pattern = strdup(s))) {
		lerr(c, loc, "out of memory");
		return -1;
	}
	if (r->kind != KG_PAT_REGEX)
		return 0;
	int ec;
	PCRE2_SIZE eoff;
	/* Anchored at both ends: the whole name must match, like Java's
	 * Matcher.matches(); "a.c" must not match "xabc". */
	r->re = pcre2_compile((PCRE2_SPTR)s, r->plen,
			      PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &ec, &eoff, NULL);
	if (!r->re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		lerr(c, loc, "regex '%s' does not compile: %s at offset %zu", s,
		     (const char *)msg, (size_t)eoff);
		return -1;
	}
	/* Without JIT support pcre2_match interprets: slower, same result. */
	(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
	char *lit = malloc(r->plen + 1);
	if (!lit) {
		lerr(c, loc, "out of memory");
		return -1;
	}
	r->re_lit_len = kg_acl_regex_prefix(s, r->plen, lit);
	if (r->re_lit_len)
		r->re_lit = lit;
	else
		free(lit);
	return 0;
}

static int load_hosts(struct lctx *c, const char *loc, json_t *j, struct kg_acl_rule *r,
		      char *text, size_t cap)
{
	if (!json_is_array(j) || json_array_size(j) == 0) {
		lerr(c, loc, "'hosts' must be a non-empty array of addresses or CIDR ranges "
		     "(leave it out for any host)");
		return -1;
	}
	r->hosts = calloc(json_array_size(j), sizeof(*r->hosts));
	if (!r->hosts) {
		lerr(c, loc, "out of memory");
		return -1;
	}
	size_t i, used = strlen(text);
	json_t *e;
	json_array_foreach(j, i, e) {
		if (!json_is_string(e)) {
			lerr(c, loc, "hosts[%zu] must be a string", i);
			return -1;
		}
		if (parse_net(c, loc, json_string_value(e), &r->hosts[r->nhosts]) < 0)
			return -1;
		char net[64];
		kg_net_range_format(&r->hosts[r->nhosts++], net, sizeof(net));
		used += (size_t)snprintf(text + used, cap > used ? cap - used : 0, "%s%s",
					 i ? "," : " hosts ", net);
	}
	return 0;
}

static int load_rule(struct lctx *c, struct kg_acl_role *role, const char *loc, json_t *o,
		     struct kg_acl_rule *r)
{
	if (!json_is_object(o)) {
		lerr(c, loc, "a rule must be an object");
		return -1;
	}
	if (check_keys(c, o, loc, rule_keys) < 0)
		return -1;
	r->role = role->name;
	r->order = c->order++;
	json_t *eff = json_object_get(o, "effect"), *res = json_object_get(o, "resource");
	if (!json_is_string(eff) || (strcmp(json_string_value(eff), "allow") != 0 &&
				     strcmp(json_string_value(eff), "deny") != 0)) {
		lerr(c, loc, "'effect' must be \"allow\" or \"deny\"");
		return -1;
	}
	r->deny = strcmp(json_string_value(eff), "deny") == 0;
	int t = json_is_string(res) ? kg_res_parse(json_string_value(res)) : -1;
	if (t < 0) {
		lerr(c, loc, "'resource' must be \"topic\", \"group\", \"transactional_id\" "
		     "or \"cluster\"");
		return -1;
	}
	r->res = (uint8_t)t;
	json_t *d = json_object_get(o, "description");
	if (d && !json_is_string(d)) {
		lerr(c, loc, "'description' must be a string");
		return -1;
	}
	if (load_pattern(c, loc, o, r) < 0)
		return -1;

	/* Rendered once here; decisions hand out the pointer. */
	size_t cap = 64 + 2 * r->plen + 16 * 12 + 64 * (json_array_size(json_object_get(o, "hosts")));
	char *text = malloc(cap);
	if (!text) {
		lerr(c, loc, "out of memory");
		return -1;
	}
	r->text = text;
	static const char *const kname[] = { "name", "name", "prefix", "regex" };
	int n = snprintf(text, cap, "%s %s", r->deny ? "deny" : "allow", kg_res_name(t));
	if (t != KG_RES_CLUSTER)
		n += snprintf(text + n, cap - (size_t)n, " %s '%s'", kname[r->kind],
			      r->pattern ? r->pattern : "*");
	text[n++] = ' ';
	if (load_ops(c, loc, json_object_get(o, "operations"), r, text + n, cap - (size_t)n) < 0)
		return -1;
	json_t *h = json_object_get(o, "hosts");
	if (h && load_hosts(c, loc, h, r, text, cap) < 0)
		return -1;
	return 0;
}

static const char *const role_keys[] = { "name", "description", "members", "rules", NULL };

/* A role's or tenant's own copy of its name; its optional description
 * must be text. */
static int own_name(struct lctx *c, const char *loc, json_t *o, const char *nm, char **out)
{
	if (!(*out = strdup(nm))) {
		lerr(c, loc, "out of memory");
		return -1;
	}
	json_t *d = json_object_get(o, "description");
	if (d && !json_is_string(d)) {
		lerr(c, loc, "'description' must be a string");
		return -1;
	}
	return 0;
}

static int load_role(struct lctx *c, struct kg_policy *p, size_t idx, json_t *o)
{
	char loc[512], l2[600];
	snprintf(loc, sizeof(loc), "roles[%zu]", idx);
	if (!json_is_object(o)) {
		lerr(c, loc, "a role must be an object");
		return -1;
	}
	struct kg_acl_role *role = &p->roles[p->nroles++];
	json_t *name = json_object_get(o, "name");
	if (!name) {
		lerr(c, loc, "'name' is missing");
		return -1;
	}
	const char *nm = get_str(c, name, loc, "'name'");
	if (!nm)
		return -1;
	snprintf(loc, sizeof(loc), "roles[%zu] (%.200s)", idx, nm);
	if (check_keys(c, o, loc, role_keys) < 0)
		return -1;
	for (size_t i = 0; i + 1 < p->nroles; i++)
		if (strcmp(p->roles[i].name, nm) == 0) {
			lerr(c, loc, "role name '%s' is already used by roles[%zu]", nm, i);
			return -1;
		}
	if (own_name(c, loc, o, nm, &role->name) < 0)
		return -1;
	json_t *m = json_object_get(o, "members");
	if (m) {
		snprintf(l2, sizeof(l2), "%s members", loc);
		if (load_principals(c, m, l2, &role->members, &role->nmembers) < 0)
			return -1;
		for (size_t i = 0; i < role->nmembers; i++)
			if (strcmp(role->members[i], "User:*") == 0)
				role->everyone = 1;
	}
	json_t *rules = json_object_get(o, "rules");
	if (!rules)
		return 0;
	if (!json_is_array(rules)) {
		lerr(c, loc, "'rules' must be an array");
		return -1;
	}
	role->rules = calloc(json_array_size(rules) + 1, sizeof(*role->rules));
	if (!role->rules) {
		lerr(c, loc, "out of memory");
		return -1;
	}
	size_t i;
	json_t *e;
	json_array_foreach(rules, i, e) {
		snprintf(l2, sizeof(l2), "%s rules[%zu]", loc, i);
		struct kg_acl_rule *r = &role->rules[role->nrules++];
		r->index = (int)i;
		if (load_rule(c, role, l2, e, r) < 0)
			return -1;
	}
	p->nrules += role->nrules;
	return 0;
}

static const char *const tenant_keys[] = { "name", "description", "members", "limits",
					   "quotas", NULL };
/* Kafka's client quota names where they mean the same (bytes per second);
 * request_rate counts requests: the gateway has no broker threads whose
 * time request_percentage could measure. Indexed by enum kg_quota_kind. */
static const char *const tenant_quota_keys[] = { "producer_byte_rate", "consumer_byte_rate",
						 "request_rate", NULL };

const char *kg_quota_kind_name(enum kg_quota_kind k)
{
	return k < KG_QUOTA_KINDS ? tenant_quota_keys[k] : "?";
}
static const char *const tenant_limit_keys[] = { "max_connections", NULL };

/* Tenant names become metric labels and audit fields: short, plain. */
static int tenant_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > KG_TENANT_NAME_MAX)
		return 0;
	for (const char *q = s; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '.' || *q == '_' || *q == '-'))
			return 0;
	return 1;
}

/* A tenant's sub-object `what` (limits, quotas): an object of known
 * keys. Its location ("tenants[0] (a) limits") is written to l2. */
static int tenant_section(struct lctx *c, const char *loc, const char *what, json_t *o,
			  const char *const *keys, char *l2, size_t l2len)
{
	snprintf(l2, l2len, "%s %s", loc, what);
	if (!json_is_object(o)) {
		lerr(c, l2, "must be an object");
		return -1;
	}
	return check_keys(c, o, l2, keys);
}

static int load_tenant_limits(struct lctx *c, const char *loc, json_t *o, struct kg_tenant *t)
{
	char l2[600];
	if (tenant_section(c, loc, "limits", o, tenant_limit_keys, l2, sizeof(l2)) < 0)
		return -1;
	json_t *mc = json_object_get(o, "max_connections");
	if (mc) {
		if (!json_is_integer(mc) || json_integer_value(mc) < 0 ||
		    json_integer_value(mc) > 10000000) {
			lerr(c, l2, "'max_connections' must be an integer 0..10000000 (0: no limit)");
			return -1;
		}
		t->max_connections = (uint32_t)json_integer_value(mc);
	}
	return 0;
}

static int load_tenant_quotas(struct lctx *c, const char *loc, json_t *o, struct kg_tenant *t)
{
	char l2[600];
	if (tenant_section(c, loc, "quotas", o, tenant_quota_keys, l2, sizeof(l2)) < 0)
		return -1;
	for (int k = 0; k < KG_QUOTA_KINDS; k++) {
		json_t *v = json_object_get(o, tenant_quota_keys[k]);
		if (!v)
			continue;
		/* At least 1 per second, and far below what a double holds
		 * exactly (the rate arithmetic is in doubles). */
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > ((json_int_t)1 << 40)) {
			lerr(c, l2, "'%s' must be an integer 1..%lld per second (leave it out for "
			     "no quota)", tenant_quota_keys[k], (long long)1 << 40);
			return -1;
		}
		t->quota[k] = (uint64_t)json_integer_value(v);
	}
	return 0;
}

/* A principal belongs to one tenant at most: which one must never depend
 * on the order of the file. */
static int tenant_members_unique(struct lctx *c, const struct kg_policy *p, const char *loc,
				 const struct kg_acl_tenant *t)
{
	for (size_t j = 0; j < t->nmembers; j++) {
		const char *m = t->members[j];
		const char *colon = strchr(m, ':');
		if (strcmp(colon + 1, "*") == 0) {
			lerr(c, loc, "members: '%s' would put every principal in the tenant; "
			     "tenants list exact principals", m);
			return -1;
		}
		for (size_t i = 0; i < p->ntenants; i++) {
			const struct kg_acl_tenant *o = &p->tenants[i];
			for (size_t k = 0; k < (o == t ? j : o->nmembers); k++)
				if (strcmp(o->members[k], m) == 0) {
					lerr(c, loc, "members: '%.300s' is already a member of "
					     "tenant '%s'", m, o->pub.name);
					return -1;
				}
		}
	}
	return 0;
}

static int load_tenant(struct lctx *c, struct kg_policy *p, size_t idx, json_t *o)
{
	char loc[512], l2[600];
	snprintf(loc, sizeof(loc), "tenants[%zu]", idx);
	if (!json_is_object(o)) {
		lerr(c, loc, "a tenant must be an object");
		return -1;
	}
	struct kg_acl_tenant *t = &p->tenants[p->ntenants++];
	json_t *name = json_object_get(o, "name");
	if (!json_is_string(name) || !tenant_name_ok(json_string_value(name))) {
		lerr(c, loc, "'name' must be 1 to %d of A-Z a-z 0-9 . _ -", KG_TENANT_NAME_MAX);
		return -1;
	}
	const char *nm = json_string_value(name);
	snprintf(loc, sizeof(loc), "tenants[%zu] (%s)", idx, nm);
	if (check_keys(c, o, loc, tenant_keys) < 0)
		return -1;
	for (size_t i = 0; i + 1 < p->ntenants; i++)
		if (strcmp(p->tenants[i].pub.name, nm) == 0) {
			lerr(c, loc, "tenant name '%s' is already used by tenants[%zu]", nm, i);
			return -1;
		}
	char *own;
	if (own_name(c, loc, o, nm, &own) < 0)
		return -1;
	t->pub.name = own;
	json_t *m = json_object_get(o, "members");
	if (m) {
		snprintf(l2, sizeof(l2), "%s members", loc);
		if (load_principals(c, m, l2, &t->members, &t->nmembers) < 0 ||
		    tenant_members_unique(c, p, loc, t) < 0)
			return -1;
	}
	json_t *lim = json_object_get(o, "limits");
	json_t *quotas = json_object_get(o, "quotas");
	if (quotas && load_tenant_quotas(c, loc, quotas, &t->pub) < 0)
		return -1;
	if (lim && load_tenant_limits(c, loc, lim, &t->pub) < 0)
		return -1;
	return 0;
}

static int load_tenants(struct lctx *c, struct kg_policy *p, json_t *j)
{
	if (!json_is_array(j)) {
		lerr(c, "tenants", "must be an array of tenants");
		return -1;
	}
	p->tenants = calloc(json_array_size(j) + 1, sizeof(*p->tenants));
	if (!p->tenants) {
		lerr(c, "tenants", "out of memory");
		return -1;
	}
	size_t i;
	json_t *e;
	json_array_foreach(j, i, e)
		if (load_tenant(c, p, i, e) < 0)
			return -1;
	return 0;
}

static const char *const top_keys[] = { "version", "super_users", "roles", "tenants", NULL };

static struct kg_policy *from_json(json_t *root, const char *src, char *err, size_t errlen)
{
	struct lctx c = { .src = src, .err = err, .errlen = errlen };
	struct kg_policy *p = calloc(1, sizeof(*p));
	if (!p) {
		lerr(&c, "top level", "out of memory");
		return NULL;
	}
	atomic_init(&p->refs, 1);
	if (!json_is_object(root)) {
		lerr(&c, "top level", "must be a JSON object");
		goto fail;
	}
	if (check_keys(&c, root, "top level", top_keys) < 0)
		goto fail;
	json_t *v = json_object_get(root, "version");
	if (v && (!json_is_integer(v) || json_integer_value(v) != 1)) {
		lerr(&c, "version", "only version 1 is supported");
		goto fail;
	}
	json_t *su = json_object_get(root, "super_users");
	if (su && load_principals(&c, su, "super_users", &p->super_users, &p->nsuper) < 0)
		goto fail;
	json_t *roles = json_object_get(root, "roles");
	if (!roles) {
		lerr(&c, "top level", "'roles' is missing (an array of roles)");
		goto fail;
	}
	if (!json_is_array(roles)) {
		lerr(&c, "roles", "must be an array of roles");
		goto fail;
	}
	p->roles = calloc(json_array_size(roles) + 1, sizeof(*p->roles));
	p->mctx = pcre2_match_context_create(NULL);
	if (!p->roles || !p->mctx) {
		lerr(&c, "top level", "out of memory");
		goto fail;
	}
	pcre2_set_match_limit(p->mctx, KG_ACL_MATCH_LIMIT);
	size_t i;
	json_t *e;
	json_array_foreach(roles, i, e)
		if (load_role(&c, p, i, e) < 0)
			goto fail;
	json_t *tenants = json_object_get(root, "tenants");
	if (tenants && load_tenants(&c, p, tenants) < 0)
		goto fail;
	return p;
fail:
	kg_policy_free(p);
	return NULL;
}

struct kg_policy *kg_policy_parse(const char *json, const char *source, char *err,
				  size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "%s: line %d column %d: %s", source, je.line, je.column,
			 je.text);
		return NULL;
	}
	struct kg_policy *p = from_json(root, source, err, errlen);
	json_decref(root);
	return p;
}

struct kg_policy *kg_policy_load(const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (je.line < 1) /* could not be read at all: jansson says why */
			snprintf(err, errlen, "%s: %s", path, je.text);
		else
			snprintf(err, errlen, "%s: line %d column %d: %s", path, je.line,
				 je.column, je.text);
		return NULL;
	}
	struct kg_policy *p = from_json(root, path, err, errlen);
	json_decref(root);
	return p;
}
