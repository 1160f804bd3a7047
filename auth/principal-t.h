/*
 * principal-t.h - types of the mTLS identity module: client certificate ->
 * Kafka principal name, with Kafka's ssl.principal.mapping.rules semantics.
 *
 *   peer X509 --kg_x509_subject_dn--> "CN=alice,OU=eng,O=acme" (as Java's
 *   X500Principal.getName() prints it) --kg_principal_map--> "alice"
 *
 * Rules are parsed and their regexes compiled (pcre2, JIT when available)
 * once at config load; the compiled set is read-only afterwards, so any
 * number of threads may map concurrently.
 */
#ifndef KG_PRINCIPAL_T_H
#define KG_PRINCIPAL_T_H

#include <stddef.h>
#include <stdint.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

/* What a rule is. */
enum kg_rule_kind {
	KG_RULE_DEFAULT,             /* "DEFAULT": the DN unchanged */
	KG_RULE_REGEX                /* "RULE:pattern/replacement/[L|U]" */
};

/* Case folding applied to a RULE's result (ASCII letters only). */
enum kg_rule_case {
	KG_CASE_KEEP,                /* no suffix */
	KG_CASE_LOWER,               /* suffix L */
	KG_CASE_UPPER                /* suffix U */
};

/* One piece of a parsed replacement: literal bytes or a group reference. */
struct kg_repl_part {
	int32_t group;               /* capture group number, -1 for a literal */
	uint32_t off;                /* literal: offset into the rule's lit[] */
	uint32_t len;                /* literal: byte count */
};

/* One compiled rule. */
struct kg_principal_rule {
	uint8_t kind;                /* enum kg_rule_kind */
	uint8_t fold;                /* enum kg_rule_case */
	pcre2_code *whole;           /* pattern anchored at both ends, for the
	                                "matches the whole DN" test (Java
	                                Matcher.matches()); JIT'd when possible */
	pcre2_code *find;            /* the same pattern unanchored, to rebuild
	                                the result the way Java's replaceAll()
	                                does (Kafka applies the replacement with
	                                String.replaceAll on the whole DN) */
	struct kg_repl_part *parts;  /* parsed replacement, in order */
	size_t nparts;               /* entries in parts */
	char *lit;                   /* unescaped literal bytes of the replacement */
};

/* An ordered, compiled ssl.principal.mapping.rules list; immutable. */
struct kg_principal_rules {
	struct kg_principal_rule *rule; /* rules in configuration order */
	size_t n;                    /* number of rules */
	uint32_t ovec_pairs;         /* 1 + most capture groups of any rule:
	                                the match data size every call needs */
	pcre2_match_context *mctx;   /* match limits; read-only, so shared */
};

#endif
