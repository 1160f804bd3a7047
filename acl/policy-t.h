/* policy-t.h - types of the authorization policy (roles, rules, decisions).
 *
 * A policy is loaded from JSON (see README "Authorization policy"), is
 * immutable once built and reference counted, so a reload builds a new one
 * and swaps it in while connections still finish decisions on the old one.
 *
 *   policy (all roles)  --kg_acl_subject_new(principal, address)-->
 *   subject (only the rules that apply to that principal and address,
 *            indexed per resource type, plus a decision cache)
 *   --kg_acl_decide(type, name, operation)--> allow/deny + deciding rule
 */
#ifndef KG_POLICY_T_H
#define KG_POLICY_T_H

#include <stdbool.h>
#include <stdint.h>

/* Resource types, with Kafka's ResourceType codes. */
enum kg_res {
	KG_RES_TOPIC = 2,
	KG_RES_GROUP = 3,
	KG_RES_CLUSTER = 4,
	KG_RES_TXN = 5                 /* TRANSACTIONAL_ID */
};

/* Operations, with Kafka's AclOperation codes (bit n of an
 * authorized-operations field stands for code n). */
enum kg_op {
	KG_OP_ALL = 2,
	KG_OP_READ = 3,
	KG_OP_WRITE = 4,
	KG_OP_CREATE = 5,
	KG_OP_DELETE = 6,
	KG_OP_ALTER = 7,
	KG_OP_DESCRIBE = 8,
	KG_OP_CLUSTER_ACTION = 9,
	KG_OP_DESCRIBE_CONFIGS = 10,
	KG_OP_ALTER_CONFIGS = 11,
	KG_OP_IDEMPOTENT_WRITE = 12
};

/* Why a decision came out as it did. */
enum kg_acl_reason {
	KG_ACL_SUPER_USER,             /* principal is in super_users: allowed */
	KG_ACL_RULE_DENY,              /* a deny rule applied */
	KG_ACL_RULE_ALLOW,             /* an allow rule applied, none denied */
	KG_ACL_DEFAULT_DENY            /* no rule applied */
};

/* The decision and what made it. role/rule point into the policy, which
 * the subject keeps alive. */
struct kg_acl_why {
	enum kg_acl_reason reason;     /* see above */
	const char *role;              /* role of the deciding rule, or NULL */
	int rule;                      /* its index in the role's rules (0-based), or -1 */
	const char *rule_text;         /* rule in readable form, e.g.
	                                  "deny topic prefix 'a.' [READ] hosts 10.0.0.0/8",
	                                  or NULL */
};

/* Longest tenant name: tenant names are metric label values and audit
 * fields, so they are short and plain ([A-Za-z0-9._-]). */
#define KG_TENANT_NAME_MAX 64

/* What a tenant quota (policy tenants[].quotas) measures. */
enum kg_quota_kind {
	KG_QUOTA_PRODUCE,              /* Produce request bytes per second */
	KG_QUOTA_FETCH,                /* Fetch response bytes per second */
	KG_QUOTA_REQUEST,              /* requests per second, every API */
	KG_QUOTA_KINDS
};

/* A tenant: principals that share limits (README "Tenants"). Points into
 * its policy, alive while the policy is. */
struct kg_tenant {
	const char *name;              /* unique in the policy */
	uint32_t max_connections;      /* its logged-in connections at once, all
	                                  workers; 0: no limit */
	uint64_t quota[KG_QUOTA_KINDS]; /* indexed by enum kg_quota_kind: bytes
	                                  or requests per second this gateway
	                                  lets the tenant use; 0: no quota */
};

struct kg_policy;                  /* opaque, immutable, refcounted */
struct kg_acl_subject;             /* opaque: one principal+address view */

#endif
