/* policy_int.h - functions shared by the acl/ files only (see
 * policy_int-t.h); the public interface is policy.h. */
#ifndef KG_POLICY_INT_H
#define KG_POLICY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "acl/policy_int-t.h"

/* Operations Kafka supports on a resource type (reference 3.1), as a
 * mask; 0 for an unknown type. */
uint16_t kg_acl_supported_ops(enum kg_res type);
/* What an allow rule listing `listed` grants: those, the operations they
 * imply (READ/WRITE/DELETE/ALTER -> DESCRIBE, ALTER_CONFIGS ->
 * DESCRIBE_CONFIGS), and everything for ALL. */
uint16_t kg_acl_allow_mask(uint16_t listed);
/* What a deny rule listing `listed` denies: exactly those, everything
 * for ALL (deny never extends to implied operations). */
uint16_t kg_acl_deny_mask(uint16_t listed);
/* Writes into out (at least n bytes) the literal text that every match of
 * the start-anchored regex p[0..n) begins with; returns its length, 0 when
 * there is none or it cannot be established safely (regex_prefix.c). */
size_t kg_acl_regex_prefix(const char *p, size_t n, char *out);
/* Frees a policy whose last reference is gone (or a half-built one). */
void kg_policy_free(struct kg_policy *p);

/* The literal or prefix entry for name[0..len) with hash h, or NULL. */
const struct kg_acl_entry *kg_acl_table_find(const struct kg_acl_table *t, uint64_t h,
					     const char *name, size_t len);
/* Hash used for literal names (any length). */
uint64_t kg_acl_hash(const char *s, size_t n);
/* Incremental hash used for prefixes: h = kg_acl_hash_step(h, byte) from
 * KG_ACL_PREFIX_SEED, so every prefix length of a name costs one step. */
#define KG_ACL_PREFIX_SEED 0xcbf29ce484222325ULL
static inline uint64_t kg_acl_hash_step(uint64_t h, unsigned char c)
{
	return (h ^ c) * 0x100000001b3ULL;
}

#endif
