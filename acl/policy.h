/* policy.h - authorization policy: load, validate, decide (see policy-t.h). */
#ifndef KG_POLICY_H
#define KG_POLICY_H

#include <stddef.h>
#include <sys/socket.h>
#include "acl/policy-t.h"

/* Loads and validates a policy file. On error returns NULL and writes a
 * message naming the file, the JSON path / rule and the problem, e.g.
 * "policy.json: roles[1] (tenant-a) rules[3]: unknown operation 'REED'". */
struct kg_policy *kg_policy_load(const char *path, char *err, size_t errlen);
/* Same from text; `source` names it in messages. */
struct kg_policy *kg_policy_parse(const char *json, const char *source, char *err,
				  size_t errlen);
void kg_policy_ref(struct kg_policy *p);
void kg_policy_unref(struct kg_policy *p);     /* NULL is fine */
size_t kg_policy_rule_count(const struct kg_policy *p);
size_t kg_policy_role_count(const struct kg_policy *p);

/* The rules of p that apply to `principal` ("User:alice") connecting from
 * `addr` (NULL: no address known; only rules without hosts apply), with a
 * decision cache. Holds a reference on p. One per connection; not thread
 * safe (used by its connection's worker only). */
struct kg_acl_subject *kg_acl_subject_new(struct kg_policy *p, const char *principal,
					  const struct sockaddr *addr);
void kg_acl_subject_free(struct kg_acl_subject *s);   /* NULL is fine */
const struct kg_policy *kg_acl_subject_policy(const struct kg_acl_subject *s);

/* Kafka's StandardAuthorizer decision for (type, name, op): super user
 * allows; any applying deny (exact operation or ALL) denies; else an
 * applying allow (with implied operations: READ, WRITE, DELETE, ALTER
 * imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL implies
 * everything) allows; else deny. For KG_RES_CLUSTER the name is ignored.
 * why may be NULL. */
bool kg_acl_decide(struct kg_acl_subject *s, enum kg_res type, const char *name,
		   size_t name_len, enum kg_op op, struct kg_acl_why *why);
/* Kafka's authorizeByResourceType(op, type) (reference section 3.4): may
 * the principal do op on at least one resource of that type? Used for
 * idempotent InitProducerId (TOPIC, WRITE). */
bool kg_acl_any_allowed(struct kg_acl_subject *s, enum kg_res type, enum kg_op op);
/* Bits of the allowed operations among those Kafka supports for the type
 * (for authorized-operations fields: bit n = AclOperation code n). */
int32_t kg_acl_authorized_ops(struct kg_acl_subject *s, enum kg_res type,
			      const char *name, size_t name_len);

/* The tenant `principal` belongs to, or NULL (none, or p NULL). The
 * pointer lives as long as p. */
const struct kg_tenant *kg_policy_tenant_of(const struct kg_policy *p, const char *principal);
/* The tenant called name, or NULL. */
const struct kg_tenant *kg_policy_tenant_named(const struct kg_policy *p, const char *name);
size_t kg_policy_tenant_count(const struct kg_policy *p);
/* A quota's key in tenants[].quotas ("producer_byte_rate", ...). */
const char *kg_quota_kind_name(enum kg_quota_kind k);
/* Tenant i (0-based, file order), or NULL past the last. */
const struct kg_tenant *kg_policy_tenant(const struct kg_policy *p, size_t i);

/* Names for logs, the CLI and the audit log. */
const char *kg_res_name(enum kg_res type);     /* "topic", "group", ... */
const char *kg_op_name(enum kg_op op);         /* "READ", ... */
int kg_res_parse(const char *s);               /* -1 if unknown */
int kg_op_parse(const char *s);                /* -1 if unknown; case-insensitive */
/* "allow_rule", "deny_rule", "super_user", "no_rule" (audit records). */
const char *kg_acl_reason_name(enum kg_acl_reason r);

/* Additions for `acl check`, tests and benchmarks. */
size_t kg_policy_super_user_count(const struct kg_policy *p);
/* Role i (0-based, file order): its name, and its member and rule counts
 * through the non-NULL pointers; NULL when i is past the last role. */
const char *kg_policy_role_info(const struct kg_policy *p, size_t i, size_t *nmembers,
				size_t *nrules);
/* Turns s's decision cache off (every decision computed) or back on;
 * decisions are the same either way. */
void kg_acl_subject_set_cache(struct kg_acl_subject *s, bool on);
/* Decisions answered from s's cache and computed through it so far. */
void kg_acl_subject_cache_stats(const struct kg_acl_subject *s, uint64_t *hits,
				uint64_t *misses);

#endif
