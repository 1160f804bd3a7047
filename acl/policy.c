/*
 * policy.c - names of resource types and operations, operation masks,
 * policy lifetime. A pure library: which policy is in force is the
 * gateway's state (proxy/enforce/current_policy.c), not kept here.
 *
 * Loading is in policy_load.c, the per-principal index in subject.c and
 * decisions in decide.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl/policy.h"
#include "acl/policy_int.h"

/* ---- names ---- */

const char *kg_res_name(enum kg_res type)
{
	switch (type) {
	case KG_RES_TOPIC: return "topic";
	case KG_RES_GROUP: return "group";
	case KG_RES_CLUSTER: return "cluster";
	case KG_RES_TXN: return "transactional_id";
	}
	return "unknown";
}

int kg_res_parse(const char *s)
{
	static const enum kg_res all[] = { KG_RES_TOPIC, KG_RES_GROUP, KG_RES_CLUSTER,
					   KG_RES_TXN };
	for (size_t i = 0; s && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, kg_res_name(all[i])) == 0)
			return (int)all[i];
	return -1;
}

/* Indexed by operation code; NULL where Kafka has no ACL operation we use
 * (UNKNOWN, ANY, the delegation-token ones). */
static const char *const op_names[] = {
	[KG_OP_ALL] = "ALL",
	[KG_OP_READ] = "READ",
	[KG_OP_WRITE] = "WRITE",
	[KG_OP_CREATE] = "CREATE",
	[KG_OP_DELETE] = "DELETE",
	[KG_OP_ALTER] = "ALTER",
	[KG_OP_DESCRIBE] = "DESCRIBE",
	[KG_OP_CLUSTER_ACTION] = "CLUSTER_ACTION",
	[KG_OP_DESCRIBE_CONFIGS] = "DESCRIBE_CONFIGS",
	[KG_OP_ALTER_CONFIGS] = "ALTER_CONFIGS",
	[KG_OP_IDEMPOTENT_WRITE] = "IDEMPOTENT_WRITE",
};
#define NOPS (sizeof(op_names) / sizeof(op_names[0]))

const char *kg_op_name(enum kg_op op)
{
	if ((unsigned)op < NOPS && op_names[op])
		return op_names[op];
	return "UNKNOWN";
}

int kg_op_parse(const char *s)
{
	for (size_t i = 0; s && i < NOPS; i++)
		if (op_names[i] && strcasecmp(s, op_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *kg_acl_reason_name(enum kg_acl_reason r)
{
	switch (r) {
	case KG_ACL_SUPER_USER: return "super_user";
	case KG_ACL_RULE_DENY: return "deny_rule";
	case KG_ACL_RULE_ALLOW: return "allow_rule";
	case KG_ACL_DEFAULT_DENY: break;
	}
	return "no_rule";
}

/* ---- operation masks ---- */

#define B(op) ((uint16_t)(1u << (op)))

uint16_t kg_acl_supported_ops(enum kg_res type)
{
	switch (type) {
	case KG_RES_TOPIC:
		return B(KG_OP_READ) | B(KG_OP_WRITE) | B(KG_OP_CREATE) | B(KG_OP_DESCRIBE) |
		       B(KG_OP_DELETE) | B(KG_OP_ALTER) | B(KG_OP_DESCRIBE_CONFIGS) |
		       B(KG_OP_ALTER_CONFIGS);
	case KG_RES_GROUP:
		return B(KG_OP_READ) | B(KG_OP_DESCRIBE) | B(KG_OP_DELETE) |
		       B(KG_OP_DESCRIBE_CONFIGS) | B(KG_OP_ALTER_CONFIGS);
	case KG_RES_CLUSTER:
		return B(KG_OP_CREATE) | B(KG_OP_CLUSTER_ACTION) | B(KG_OP_DESCRIBE_CONFIGS) |
		       B(KG_OP_ALTER_CONFIGS) | B(KG_OP_IDEMPOTENT_WRITE) | B(KG_OP_ALTER) |
		       B(KG_OP_DESCRIBE);
	case KG_RES_TXN:
		return B(KG_OP_DESCRIBE) | B(KG_OP_WRITE);
	}
	return 0;
}

uint16_t kg_acl_allow_mask(uint16_t listed)
{
	if (listed & B(KG_OP_ALL))
		return KG_OPS_ALL_MASK;
	uint16_t m = listed;
	if (listed & (B(KG_OP_READ) | B(KG_OP_WRITE) | B(KG_OP_DELETE) | B(KG_OP_ALTER)))
		m |= B(KG_OP_DESCRIBE);
	if (listed & B(KG_OP_ALTER_CONFIGS))
		m |= B(KG_OP_DESCRIBE_CONFIGS);
	return m;
}

uint16_t kg_acl_deny_mask(uint16_t listed)
{
	return (listed & B(KG_OP_ALL)) ? KG_OPS_ALL_MASK : listed;
}

/* ---- lifetime ---- */

void kg_policy_free(struct kg_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsuper; i++)
		free(p->super_users[i]);
	free(p->super_users);
	for (size_t i = 0; i < p->nroles; i++) {
		struct kg_acl_role *r = &p->roles[i];
		for (size_t j = 0; j < r->nmembers; j++)
			free(r->members[j]);
		free(r->members);
		for (size_t j = 0; j < r->nrules; j++) {
			struct kg_acl_rule *u = &r->rules[j];
			free(u->pattern);
			pcre2_code_free(u->re);
			free(u->re_lit);
			free(u->hosts);
			free(u->text);
		}
		free(r->rules);
		free(r->name);
	}
	free(p->roles);
	for (size_t i = 0; i < p->ntenants; i++) {
		struct kg_acl_tenant *t = &p->tenants[i];
		for (size_t j = 0; j < t->nmembers; j++)
			free(t->members[j]);
		free(t->members);
		free((char *)t->pub.name);
	}
	free(p->tenants);
	pcre2_match_context_free(p->mctx);
	free(p);
}

void kg_policy_ref(struct kg_policy *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
}

void kg_policy_unref(struct kg_policy *p)
{
	if (p && atomic_fetch_sub(&p->refs, 1) == 1)
		kg_policy_free(p);
}

size_t kg_policy_rule_count(const struct kg_policy *p)
{
	return p ? p->nrules : 0;
}

size_t kg_policy_role_count(const struct kg_policy *p)
{
	return p ? p->nroles : 0;
}

size_t kg_policy_super_user_count(const struct kg_policy *p)
{
	return p ? p->nsuper : 0;
}

const char *kg_policy_role_info(const struct kg_policy *p, size_t i, size_t *nmembers,
				size_t *nrules)
{
	if (!p || i >= p->nroles)
		return NULL;
	if (nmembers)
		*nmembers = p->roles[i].nmembers;
	if (nrules)
		*nrules = p->roles[i].nrules;
	return p->roles[i].name;
}

/* ---- tenants ---- */

/* A linear scan: called once per login, over a handful of tenants. */
const struct kg_tenant *kg_policy_tenant_of(const struct kg_policy *p, const char *principal)
{
	if (!p || !principal)
		return NULL;
	for (size_t i = 0; i < p->ntenants; i++)
		for (size_t j = 0; j < p->tenants[i].nmembers; j++)
			if (strcmp(p->tenants[i].members[j], principal) == 0)
				return &p->tenants[i].pub;
	return NULL;
}

const struct kg_tenant *kg_policy_tenant_named(const struct kg_policy *p, const char *name)
{
	for (size_t i = 0; p && name && i < p->ntenants; i++)
		if (strcmp(p->tenants[i].pub.name, name) == 0)
			return &p->tenants[i].pub;
	return NULL;
}

size_t kg_policy_tenant_count(const struct kg_policy *p)
{
	return p ? p->ntenants : 0;
}

const struct kg_tenant *kg_policy_tenant(const struct kg_policy *p, size_t i)
{
	return p && i < p->ntenants ? &p->tenants[i].pub : NULL;
}
