/* policy_int-t.h - inside of the opaque policy and subject types of
 * policy-t.h. Only the files in acl/ include this; everyone else goes through
 * policy.h, so the layout can change without touching callers.
 *
 * Operation sets are 16-bit masks, bit n = AclOperation code n, the same
 * encoding as Kafka's authorized-operations fields, so a request's
 * operation is tested against a rule with one AND.
 */
#ifndef KG_POLICY_INT_T_H
#define KG_POLICY_INT_T_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "acl/policy-t.h"
#include "io/netrange.h"

/* Resource types as dense indexes (KG_RES_x - KG_RES_FIRST). */
#define KG_RES_FIRST KG_RES_TOPIC
#define KG_RES_N 4
/* Every operation bit a rule with ALL stands for. */
#define KG_OPS_ALL_MASK ((uint16_t)0x1ffc)   /* codes 2..12 */
/* Longest name, prefix or regex accepted in a rule, in bytes: far above
 * Kafka's 249-byte topic names, small enough to keep indexes compact. */
#define KG_ACL_PATTERN_MAX 1024

/* How a rule picks names. */
enum kg_acl_kind {
	KG_PAT_ANY,                    /* literal "*", or any cluster rule */
	KG_PAT_NAME,                   /* exact name */
	KG_PAT_PREFIX,                 /* names starting with pattern */
	KG_PAT_REGEX                   /* names the whole regex matches */
};

/* One rule, as loaded. Immutable. */
struct kg_acl_rule {
	uint8_t deny;                  /* 1: deny rule, 0: allow rule */
	uint8_t res;                   /* enum kg_res */
	uint8_t kind;                  /* enum kg_acl_kind */
	uint16_t ops;                  /* operations as listed (ALL: its bit only) */
	uint16_t deny_mask;            /* operations this rule denies: listed
	                                  ones, all for ALL; 0 on allow rules */
	uint16_t allow_mask;           /* operations it allows: listed ones plus
	                                  the ones they imply, all for ALL; 0 on
	                                  deny rules */
	uint32_t order;                /* position in the whole policy (role
	                                  order, then rule order): the first
	                                  applying rule is the one reported */
	int index;                     /* position in its role's rules */
	const char *role;              /* owning role's name */
	char *pattern;                 /* name, prefix or regex; NULL for ANY */
	size_t plen;                   /* strlen(pattern) */
	pcre2_code *re;                /* compiled, anchored both ends (REGEX) */
	char *re_lit;                  /* literal text every match starts with
	                                  (REGEX; NULL when none could be proven):
	                                  names without it skip pcre2 */
	size_t re_lit_len;             /* bytes in re_lit */
	struct kg_net_range *hosts;    /* client networks; NULL: any client */
	size_t nhosts;                 /* entries in hosts */
	char *text;                    /* readable rendering for why->rule_text */
};

/* One role: who is in it and what its rules say. */
struct kg_acl_role {
	char *name;                    /* unique in the policy */
	char **members;                /* principals "Type:name" */
	size_t nmembers;               /* entries in members */
	uint8_t everyone;              /* 1: "User:*" is a member */
	struct kg_acl_rule *rules;     /* in file order */
	size_t nrules;                 /* entries in rules */
};

/* A loaded policy (opaque in policy-t.h). Immutable once returned. */
/* A tenant, as loaded. */
struct kg_acl_tenant {
	struct kg_tenant pub;          /* what callers see (name owned here) */
	char **members;                /* principals "Type:name", exact */
	size_t nmembers;               /* entries in members */
};

struct kg_policy {
	atomic_int refs;               /* holders; freed when it drops to 0 */
	struct kg_acl_tenant *tenants; /* in file order; a principal is in at
	                                  most one */
	size_t ntenants;               /* entries in tenants */
	char **super_users;            /* principals always allowed */
	size_t nsuper;                 /* entries in super_users */
	struct kg_acl_role *roles;     /* in file order */
	size_t nroles;                 /* entries in roles */
	size_t nrules;                 /* rules of all roles */
	pcre2_match_context *mctx;     /* match limits for every regex; shared
	                                  read-only by all subjects */
};

/* Rules of one subject that share a name, prefix or "*": the unions of
 * their masks say in one test whether any of them can matter. */
struct kg_acl_group {
	uint16_t deny_mask;            /* OR of the rules' deny_mask */
	uint16_t allow_mask;           /* OR of the rules' allow_mask */
	uint32_t n;                    /* entries in rule */
	const struct kg_acl_rule **rule; /* ascending order */
};

/* A literal name or a prefix in a subject's hash tables. */
struct kg_acl_entry {
	uint64_t hash;                 /* hash of the name (see subject.c) */
	const char *name;              /* the rule's pattern (policy-owned) */
	uint32_t len;                  /* bytes in name; 0 marks a free slot
	                                  (patterns are never empty) */
	struct kg_acl_group g;         /* rules with exactly this pattern */
};

/* Open-addressing table of entries, power-of-two sized, at most half full. */
struct kg_acl_table {
	struct kg_acl_entry *slot;     /* NULL when empty */
	uint32_t mask;                 /* slots - 1 */
	uint32_t n;                    /* entries in use */
};

/* A subject's rules for one resource type, indexed by pattern kind. */
struct kg_acl_index {
	uint16_t ops_mask;             /* OR of every rule's deny and allow masks:
	                                  an operation outside it is a default
	                                  deny without looking at the name */
	struct kg_acl_group any;       /* "*" rules (all rules for CLUSTER) */
	struct kg_acl_table lit;       /* literal names */
	struct kg_acl_table pre;       /* prefixes, hashed incrementally */
	uint8_t *pre_len;              /* pre_len[L] != 0: some prefix has length L */
	size_t pre_max;                /* longest prefix, 0 if none */
	const struct kg_acl_rule **re; /* regex rules, ascending order */
	size_t nre;                    /* entries in re */
	uint16_t re_deny;              /* OR of the regex rules' deny_mask */
	uint16_t re_allow;             /* OR of their allow_mask */
	const struct kg_acl_rule **all; /* every rule of the type, ascending
	                                  order (for kg_acl_any_allowed) */
	size_t nall;                   /* entries in all */
};

/* Decision cache geometry: one slot per (type, op, name) asked, names in a
 * side arena. A full table or arena is simply emptied, so memory stays
 * fixed (about 24 KiB per subject, allocated at the first decision). */
#define KG_ACL_CACHE_SLOTS 512         /* power of two */
#define KG_ACL_CACHE_FILL 384          /* entries before the cache is emptied */
#define KG_ACL_CACHE_ARENA 16384       /* bytes of cached names */
#define KG_ACL_CACHE_NAME_MAX 200      /* longer names are never cached */

/* One cached decision. key == 0: free slot. */
struct kg_acl_centry {
	uint32_t hash;                 /* low bits of the name+type+op hash */
	uint16_t off;                  /* name's offset in the arena */
	uint8_t len;                   /* name length */
	uint8_t key;                   /* (type << 4) | op, never 0 */
	const struct kg_acl_rule *rule; /* deciding rule, NULL: default deny */
};

/* A subject's decision cache. */
struct kg_acl_cache {
	uint32_t used;                 /* entries in slot */
	uint32_t arena_used;           /* bytes used in arena */
	uint64_t hits;                 /* answers from the cache (tests, bench) */
	uint64_t misses;               /* answers computed */
	struct kg_acl_centry slot[KG_ACL_CACHE_SLOTS]; /* open addressing */
	char arena[KG_ACL_CACHE_ARENA]; /* names, back to back */
};

/* One principal+address view of a policy (opaque in policy-t.h). */
struct kg_acl_subject {
	struct kg_policy *p;           /* holds a reference */
	uint8_t super;                 /* 1: principal is a super user */
	uint8_t use_cache;             /* 0: every decision is computed (tests) */
	struct kg_acl_index idx[KG_RES_N]; /* per resource type */
	pcre2_match_data *md;          /* for this subject's regex matches */
	struct kg_acl_cache *cache;    /* NULL until the first cacheable decision */
};

#endif
