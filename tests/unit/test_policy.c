/*
 * test_policy.c - unit tests of acl/: loading and validating policies, Kafka
 * StandardAuthorizer decisions (patterns, deny precedence, implied
 * operations, hosts, super users, roles), authorizeByResourceType,
 * authorized-operations bitmasks, the current-policy swap, and the
 * decision cache against uncached decisions.
 *
 * Most tests are tables: one row per question with the expected answer and
 * the rule expected to be reported for it.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "acl/policy.h"
#include "enforce/current_policy.h"
#include "acl/policy_int.h" /* kg_acl_regex_prefix */

static char err[1024];

/* Parses text, failing the test with the message if it does not load. */
static struct kg_policy *parse_ok(const char *text)
{
	err[0] = '\0';
	struct kg_policy *p = kg_policy_parse(text, "t.json", err, sizeof(err));
	if (!p)
		fail_msg("policy rejected: %s", err);
	return p;
}

/* "10.1.2.3", "::1", or NULL -> a sockaddr in ss (NULL for NULL). */
static const struct sockaddr *addr(const char *s, struct sockaddr_storage *ss)
{
	if (!s)
		return NULL;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		fail_msg("bad test address %s", s);
	return (const struct sockaddr *)ss;
}

static struct kg_acl_subject *subject(struct kg_policy *p, const char *principal,
				      const char *address)
{
	struct sockaddr_storage ss;
	struct kg_acl_subject *s = kg_acl_subject_new(p, principal, addr(address, &ss));
	assert_non_null(s);
	return s;
}

/* ---- decisions ---- */

/* The policy of the README example plus rules for the edge cases. */
static const char *const POLICY =
	"{\"version\": 1, \"super_users\": [\"User:admin\"], \"roles\": ["
	" {\"name\": \"tenant-a\", \"description\": \"x\","
	"  \"members\": [\"User:alice\", \"User:svc-a\"], \"rules\": ["
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"prefix\": \"tenant-a.\", \"operations\": [\"ALL\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"group\", \"prefix\": \"tenant-a.\", \"operations\": [\"read\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"transactional_id\", \"prefix\": \"tenant-a.\", \"operations\": [\"WRITE\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"cluster\", \"operations\": [\"IDEMPOTENT_WRITE\"]},"
	"  {\"effect\": \"deny\", \"resource\": \"topic\", \"regex\": \"tenant-a\\\\.secret\\\\..*\", \"operations\": [\"READ\"],"
	"   \"hosts\": [\"10.0.0.0/8\", \"192.168.1.7\", \"::1/128\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"shared-events\", \"operations\": [\"READ\", \"DESCRIBE\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"*\", \"operations\": [\"DESCRIBE\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"regex\": \"a.c\", \"operations\": [\"WRITE\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"cfg\", \"operations\": [\"ALTER_CONFIGS\"]}"
	" ]},"
	" {\"name\": \"blockers\", \"members\": [\"User:alice\"], \"rules\": ["
	"  {\"effect\": \"deny\", \"resource\": \"topic\", \"name\": \"shared-events\", \"operations\": [\"READ\"]},"
	"  {\"effect\": \"deny\", \"resource\": \"topic\", \"prefix\": \"tenant-a.private\", \"operations\": [\"ALL\"]}"
	" ]},"
	" {\"name\": \"everyone\", \"members\": [\"User:*\"], \"rules\": ["
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"public\", \"operations\": [\"READ\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"group\", \"name\": \"*\", \"operations\": [\"DESCRIBE\"]}"
	" ]},"
	" {\"name\": \"nets\", \"members\": [\"User:carol\"], \"rules\": ["
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"v6only\", \"operations\": [\"READ\"], \"hosts\": [\"2001:db8::/32\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"v4only\", \"operations\": [\"READ\"], \"hosts\": [\"10.1.0.0/16\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"cluster\", \"name\": \"kafka-cluster\", \"operations\": [\"ALL\"]}"
	" ]}"
	"]}";

/* One question and its expected answer. */
struct dcase {
	const char *principal;         /* who asks */
	const char *address;           /* from where (NULL: unknown) */
	enum kg_res type;              /* on what */
	const char *name;              /* resource name */
	enum kg_op op;                 /* to do what */
	enum kg_acl_reason reason;     /* expected reason (allowed iff ALLOW/SUPER) */
	const char *role;              /* expected deciding role, or NULL */
	int rule;                      /* expected rule index, or -1 */
};

#define T KG_RES_TOPIC
#define G KG_RES_GROUP
#define C KG_RES_CLUSTER
#define X KG_RES_TXN
#define ALLOW KG_ACL_RULE_ALLOW
#define DENY KG_ACL_RULE_DENY
#define NONE KG_ACL_DEFAULT_DENY
#define SUPER KG_ACL_SUPER_USER

static const struct dcase decide_cases[] = {
	/* prefix, ALL */
	{ "User:alice", "10.1.2.3", T, "tenant-a.orders", KG_OP_READ, ALLOW, "tenant-a", 0 },
	{ "User:alice", "10.1.2.3", T, "tenant-a.orders", KG_OP_CREATE, ALLOW, "tenant-a", 0 },
	{ "User:alice", "10.1.2.3", T, "tenant-a.", KG_OP_WRITE, ALLOW, "tenant-a", 0 },
	{ "User:alice", "10.1.2.3", T, "tenant-a", KG_OP_WRITE, NONE, NULL, -1 },
	{ "User:alice", "10.1.2.3", T, "Tenant-a.orders", KG_OP_WRITE, NONE, NULL, -1 },
	/* regex deny with hosts: deny wins, implied ops are not denied */
	{ "User:alice", "10.1.2.3", T, "tenant-a.secret.x", KG_OP_READ, DENY, "tenant-a", 4 },
	{ "User:alice", "10.1.2.3", T, "tenant-a.secret.x", KG_OP_DESCRIBE, ALLOW, "tenant-a", 0 },
	{ "User:alice", "10.1.2.3", T, "tenant-a.secret.x", KG_OP_WRITE, ALLOW, "tenant-a", 0 },
	{ "User:alice", "10.1.2.3", T, "tenant-a.secretx", KG_OP_READ, ALLOW, "tenant-a", 0 },
	{ "User:alice", "172.16.0.1", T, "tenant-a.secret.x", KG_OP_READ, ALLOW, "tenant-a", 0 },
	{ "User:alice", NULL, T, "tenant-a.secret.x", KG_OP_READ, ALLOW, "tenant-a", 0 },
	{ "User:alice", "::ffff:10.9.9.9", T, "tenant-a.secret.x", KG_OP_READ, DENY, "tenant-a", 4 },
	{ "User:alice", "::1", T, "tenant-a.secret.x", KG_OP_READ, DENY, "tenant-a", 4 },
	{ "User:alice", "::2", T, "tenant-a.secret.x", KG_OP_READ, ALLOW, "tenant-a", 0 },
	{ "User:alice", "192.168.1.7", T, "tenant-a.secret.x", KG_OP_READ, DENY, "tenant-a", 4 },
	{ "User:alice", "192.168.1.8", T, "tenant-a.secret.x", KG_OP_READ, ALLOW, "tenant-a", 0 },
	/* regex anchoring */
	{ "User:svc-a", NULL, T, "abc", KG_OP_WRITE, ALLOW, "tenant-a", 7 },
	{ "User:svc-a", NULL, T, "axc", KG_OP_WRITE, ALLOW, "tenant-a", 7 },
	{ "User:svc-a", NULL, T, "xabc", KG_OP_WRITE, NONE, NULL, -1 },
	{ "User:svc-a", NULL, T, "abcd", KG_OP_WRITE, NONE, NULL, -1 },
	{ "User:svc-a", NULL, T, "ac", KG_OP_WRITE, NONE, NULL, -1 },
	{ "User:svc-a", NULL, T, "abc", KG_OP_DESCRIBE, ALLOW, "tenant-a", 6 },
	/* deny in another role beats allow; the allow role alone is fine */
	{ "User:alice", NULL, T, "shared-events", KG_OP_READ, DENY, "blockers", 0 },
	{ "User:svc-a", NULL, T, "shared-events", KG_OP_READ, ALLOW, "tenant-a", 5 },
	{ "User:alice", NULL, T, "shared-events", KG_OP_DESCRIBE, ALLOW, "tenant-a", 5 },
	{ "User:alice", NULL, T, "tenant-a.private.x", KG_OP_WRITE, DENY, "blockers", 1 },
	{ "User:alice", NULL, T, "tenant-a.private.x", KG_OP_DESCRIBE, DENY, "blockers", 1 },
	{ "User:svc-a", NULL, T, "tenant-a.private.x", KG_OP_WRITE, ALLOW, "tenant-a", 0 },
	/* literal "*" */
	{ "User:svc-a", NULL, T, "anything", KG_OP_DESCRIBE, ALLOW, "tenant-a", 6 },
	{ "User:svc-a", NULL, T, "anything", KG_OP_READ, NONE, NULL, -1 },
	{ "User:svc-a", NULL, T, "*", KG_OP_DESCRIBE, ALLOW, "tenant-a", 6 },
	/* implied operations */
	{ "User:alice", NULL, G, "tenant-a.g", KG_OP_READ, ALLOW, "tenant-a", 1 },
	{ "User:alice", NULL, G, "tenant-a.g", KG_OP_DESCRIBE, ALLOW, "tenant-a", 1 },
	{ "User:alice", NULL, G, "tenant-a.g", KG_OP_DELETE, NONE, NULL, -1 },
	{ "User:alice", NULL, X, "tenant-a.t", KG_OP_DESCRIBE, ALLOW, "tenant-a", 2 },
	{ "User:alice", NULL, X, "tenant-a.t", KG_OP_WRITE, ALLOW, "tenant-a", 2 },
	{ "User:svc-a", NULL, T, "cfg", KG_OP_DESCRIBE_CONFIGS, ALLOW, "tenant-a", 8 },
	{ "User:svc-a", NULL, T, "cfg", KG_OP_ALTER_CONFIGS, ALLOW, "tenant-a", 8 },
	{ "User:svc-a", NULL, T, "cfg", KG_OP_DESCRIBE, ALLOW, "tenant-a", 6 },
	{ "User:svc-a", NULL, T, "cfg", KG_OP_ALTER, NONE, NULL, -1 },
	/* cluster rules ignore the name; no inheritance across types */
	{ "User:alice", NULL, C, "kafka-cluster", KG_OP_IDEMPOTENT_WRITE, ALLOW, "tenant-a", 3 },
	{ "User:alice", NULL, C, "whatever", KG_OP_IDEMPOTENT_WRITE, ALLOW, "tenant-a", 3 },
	{ "User:alice", NULL, C, NULL, KG_OP_IDEMPOTENT_WRITE, ALLOW, "tenant-a", 3 },
	{ "User:alice", NULL, C, "kafka-cluster", KG_OP_CREATE, NONE, NULL, -1 },
	{ "User:carol", NULL, C, "kafka-cluster", KG_OP_ALTER, ALLOW, "nets", 2 },
	{ "User:carol", NULL, T, "kafka-cluster", KG_OP_ALTER, NONE, NULL, -1 },
	{ "User:carol", NULL, T, "x", KG_OP_READ, NONE, NULL, -1 },
	{ "User:alice", NULL, X, "tenant-a.orders", KG_OP_READ, NONE, NULL, -1 },
	{ "User:alice", NULL, G, "tenant-a.orders", KG_OP_WRITE, NONE, NULL, -1 },
	/* "User:*" and multiple roles */
	{ "User:bob", NULL, T, "public", KG_OP_READ, ALLOW, "everyone", 0 },
	{ "User:ANONYMOUS", NULL, T, "public", KG_OP_READ, ALLOW, "everyone", 0 },
	{ "User:bob", NULL, T, "tenant-a.orders", KG_OP_READ, NONE, NULL, -1 },
	{ "User:bob", NULL, G, "any", KG_OP_DESCRIBE, ALLOW, "everyone", 1 },
	{ "User:alice", NULL, T, "public", KG_OP_READ, ALLOW, "everyone", 0 },
	{ "User:Alice", NULL, T, "tenant-a.orders", KG_OP_READ, NONE, NULL, -1 },
	/* super users: deny rules ignored */
	{ "User:admin", NULL, T, "tenant-a.private.x", KG_OP_DELETE, SUPER, NULL, -1 },
	{ "User:admin", NULL, C, NULL, KG_OP_CLUSTER_ACTION, SUPER, NULL, -1 },
	/* hosts: IPv6 range, IPv4 range, mapped IPv4, no address */
	{ "User:carol", "2001:db8::1", T, "v6only", KG_OP_READ, ALLOW, "nets", 0 },
	{ "User:carol", "2001:db9::1", T, "v6only", KG_OP_READ, NONE, NULL, -1 },
	{ "User:carol", "10.1.2.3", T, "v6only", KG_OP_READ, NONE, NULL, -1 },
	{ "User:carol", NULL, T, "v6only", KG_OP_READ, NONE, NULL, -1 },
	{ "User:carol", "10.1.200.1", T, "v4only", KG_OP_READ, ALLOW, "nets", 1 },
	{ "User:carol", "::ffff:10.1.0.5", T, "v4only", KG_OP_READ, ALLOW, "nets", 1 },
	{ "User:carol", "10.2.0.1", T, "v4only", KG_OP_READ, NONE, NULL, -1 },
	{ "User:carol", NULL, T, "v4only", KG_OP_READ, NONE, NULL, -1 },
};

static void check_case(struct kg_policy *p, const struct dcase *c, int cache)
{
	struct kg_acl_subject *s = subject(p, c->principal, c->address);
	kg_acl_subject_set_cache(s, cache);
	for (int round = 0; round < 2; round++) { /* second round: from the cache */
		struct kg_acl_why why;
		memset(&why, 0x5a, sizeof(why));
		bool ok = kg_acl_decide(s, c->type, c->name, c->name ? strlen(c->name) : 0, c->op,
					&why);
		bool want = c->reason == ALLOW || c->reason == SUPER;
		const char *role = why.role ? why.role : "(none)";
		if (ok != want || why.reason != c->reason || why.rule != c->rule ||
		    (c->role ? !why.role || strcmp(why.role, c->role) : why.role != NULL))
			fail_msg("%s from %s: %s %s '%s': got %s reason %d role %s rule %d, want "
				 "reason %d role %s rule %d",
				 c->principal, c->address ? c->address : "-", kg_op_name(c->op),
				 kg_res_name(c->type), c->name ? c->name : "", ok ? "allow" : "deny",
				 why.reason, role, why.rule, c->reason, c->role ? c->role : "(none)",
				 c->rule);
		assert_int_equal(why.rule_text != NULL, c->rule >= 0);
		assert_int_equal(kg_acl_decide(s, c->type, c->name, c->name ? strlen(c->name) : 0,
					       c->op, NULL), want);
	}
	kg_acl_subject_free(s);
}

static void test_decide_table(void **state)
{
	(void)state;
	struct kg_policy *p = parse_ok(POLICY);
	assert_int_equal(kg_policy_role_count(p), 4);
	assert_int_equal(kg_policy_rule_count(p), 16);
	for (size_t i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
		check_case(p, &decide_cases[i], 1);
		check_case(p, &decide_cases[i], 0);
	}
	kg_policy_unref(p);
}

/* Regexes: alternation, optional and repeated characters (the literal
 * prefix used to skip pcre2 must not include them), inline options, and
 * names that are not valid UTF-8 (fail closed). */
static const char *const RE_POLICY =
	"{\"roles\": [{\"name\": \"re\", \"members\": [\"User:re\"], \"rules\": ["
	" {\"effect\": \"allow\", \"resource\": \"topic\", \"regex\": \"ab|cd\", \"operations\": [\"READ\"]},"
	" {\"effect\": \"allow\", \"resource\": \"topic\", \"regex\": \"x\\\\.y?z\", \"operations\": [\"READ\"]},"
	" {\"effect\": \"allow\", \"resource\": \"topic\", \"regex\": \"colou?r\", \"operations\": [\"READ\"]},"
	" {\"effect\": \"allow\", \"resource\": \"topic\", \"regex\": \"a{0}b\", \"operations\": [\"READ\"]},"
	" {\"effect\": \"deny\", \"resource\": \"topic\", \"regex\": \"(?i)SECRET.*\", \"operations\": [\"READ\"]},"
	" {\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"*\", \"operations\": [\"WRITE\"]},"
	" {\"effect\": \"allow\", \"resource\": \"topic\", \"prefix\": \"s\", \"operations\": [\"READ\"]},"
	" {\"effect\": \"allow\", \"resource\": \"group\", \"regex\": \"g[|]x\\\\|y\", \"operations\": [\"READ\"]}"
	"]}]}";

static const struct dcase re_cases[] = {
	{ "User:re", NULL, T, "ab", KG_OP_READ, ALLOW, "re", 0 },
	{ "User:re", NULL, T, "cd", KG_OP_READ, ALLOW, "re", 0 },
	{ "User:re", NULL, T, "abcd", KG_OP_READ, NONE, NULL, -1 },
	{ "User:re", NULL, T, "x.z", KG_OP_READ, ALLOW, "re", 1 },
	{ "User:re", NULL, T, "x.yz", KG_OP_READ, ALLOW, "re", 1 },
	{ "User:re", NULL, T, "x.yyz", KG_OP_READ, NONE, NULL, -1 },
	{ "User:re", NULL, T, "xyz", KG_OP_READ, NONE, NULL, -1 },
	{ "User:re", NULL, T, "color", KG_OP_READ, ALLOW, "re", 2 },
	{ "User:re", NULL, T, "colour", KG_OP_READ, ALLOW, "re", 2 },
	{ "User:re", NULL, T, "b", KG_OP_READ, ALLOW, "re", 3 },
	{ "User:re", NULL, T, "secret.x", KG_OP_READ, DENY, "re", 4 },
	{ "User:re", NULL, T, "SeCrEt", KG_OP_READ, DENY, "re", 4 },
	{ "User:re", NULL, T, "secret.x", KG_OP_WRITE, ALLOW, "re", 5 },
	{ "User:re", NULL, T, "sx", KG_OP_READ, ALLOW, "re", 6 },
	{ "User:re", NULL, T, "s\xff", KG_OP_READ, DENY, "re", 4 },
	{ "User:re", NULL, T, "c\xff", KG_OP_READ, DENY, "re", 4 },
	{ "User:re", NULL, G, "g\xff", KG_OP_READ, NONE, NULL, -1 },
	{ "User:re", NULL, G, "g|x|y", KG_OP_READ, ALLOW, "re", 7 },
	{ "User:re", NULL, G, "g|x", KG_OP_READ, NONE, NULL, -1 },
};

static void test_regex_decisions(void **state)
{
	(void)state;
	struct kg_policy *p = parse_ok(RE_POLICY);
	for (size_t i = 0; i < sizeof(re_cases) / sizeof(re_cases[0]); i++) {
		check_case(p, &re_cases[i], 1);
		check_case(p, &re_cases[i], 0);
	}
	kg_policy_unref(p);
}

static void test_regex_prefix(void **state)
{
	(void)state;
	static const struct {
		const char *re, *prefix;
	} rows[] = {
		{ "svc1\\.logs\\.[a-z]+", "svc1.logs." },
		{ "tenant-a\\.secret\\..*", "tenant-a.secret." },
		{ "metrics\\.(cpu|mem)", "metrics." },
		{ "ab|cd", "" },
		{ "(ab|cd)x", "" },
		{ "x(a)|b", "" },
		{ "colou?r", "colo" },
		{ "ab*", "a" },
		{ "ab+", "a" },
		{ "a{0}b", "" },
		{ "(?i)abc", "" },
		{ "abc(?i)def", "abc" },
		{ "a\\Qb|c\\E", "" },
		{ "ab(?#|)", "" },
		{ "(*UTF)abc", "" },
		{ "[|]|b", "" },
		{ "[]|]x", "" },
		{ "a[[:alpha:]|]", "" },
		{ "a\\\\b", "a\\b" },
		{ "a\\db", "a" },
		{ "\u00e9t\u00e9", "" },
		{ "a.c", "a" },
		{ "^abc", "" },
	};
	char out[64];
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n = kg_acl_regex_prefix(rows[i].re, strlen(rows[i].re), out);
		if (n != strlen(rows[i].prefix) || memcmp(out, rows[i].prefix, n) != 0)
			fail_msg("regex '%s': prefix '%.*s', want '%s'", rows[i].re, (int)n, out,
				 rows[i].prefix);
	}
}

static void test_rule_text(void **state)
{
	(void)state;
	struct kg_policy *p = parse_ok(POLICY);
	static const struct {
		const char *principal, *address, *name;
		enum kg_res type;
		enum kg_op op;
		const char *text;
	} rows[] = {
		{ "User:alice", "10.0.0.1", "tenant-a.secret.1", T, KG_OP_READ,
		  "deny topic regex 'tenant-a\\.secret\\..*' [READ] hosts "
		  "10.0.0.0/8,192.168.1.7/32,::1/128" },
		{ "User:alice", NULL, "x", T, KG_OP_DESCRIBE, "allow topic name '*' [DESCRIBE]" },
		{ "User:alice", NULL, "tenant-a.x", T, KG_OP_READ, "allow topic prefix 'tenant-a.' [ALL]" },
		{ "User:alice", NULL, "shared-events", T, KG_OP_DESCRIBE,
		  "allow topic name 'shared-events' [READ,DESCRIBE]" },
		{ "User:alice", NULL, "tenant-a.g", G, KG_OP_READ, "allow group prefix 'tenant-a.' [READ]" },
		{ "User:alice", NULL, NULL, C, KG_OP_IDEMPOTENT_WRITE, "allow cluster [IDEMPOTENT_WRITE]" },
		{ "User:carol", "2001:db8:1::", "v6only", T, KG_OP_READ,
		  "allow topic name 'v6only' [READ] hosts 2001:db8::/32" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct kg_acl_subject *s = subject(p, rows[i].principal, rows[i].address);
		struct kg_acl_why why;
		kg_acl_decide(s, rows[i].type, rows[i].name, rows[i].name ? strlen(rows[i].name) : 0,
			      rows[i].op, &why);
		assert_non_null(why.rule_text);
		assert_string_equal(why.rule_text, rows[i].text);
		kg_acl_subject_free(s);
	}
	kg_policy_unref(p);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(kg_op_parse("read"), KG_OP_READ);
	assert_int_equal(kg_op_parse("Idempotent_Write"), KG_OP_IDEMPOTENT_WRITE);
	assert_int_equal(kg_op_parse("ALL"), KG_OP_ALL);
	assert_int_equal(kg_op_parse("REED"), -1);
	assert_int_equal(kg_op_parse("ANY"), -1);
	assert_int_equal(kg_op_parse(NULL), -1);
	assert_int_equal(kg_res_parse("transactional_id"), KG_RES_TXN);
	assert_int_equal(kg_res_parse("cluster"), KG_RES_CLUSTER);
	assert_int_equal(kg_res_parse("TOPIC"), -1);
	assert_string_equal(kg_res_name(KG_RES_GROUP), "group");
	assert_string_equal(kg_op_name(KG_OP_DESCRIBE_CONFIGS), "DESCRIBE_CONFIGS");
	assert_string_equal(kg_op_name((enum kg_op)13), "UNKNOWN");
}

/* ---- authorized operations ---- */

#define BIT(op) (1 << (op))
#define TOPIC_OPS (BIT(KG_OP_READ) | BIT(KG_OP_WRITE) | BIT(KG_OP_CREATE) | BIT(KG_OP_DESCRIBE) | \
		   BIT(KG_OP_DELETE) | BIT(KG_OP_ALTER) | BIT(KG_OP_DESCRIBE_CONFIGS) |           \
		   BIT(KG_OP_ALTER_CONFIGS))

static void test_authorized_ops(void **state)
{
	(void)state;
	struct kg_policy *p = parse_ok(POLICY);
	static const struct {
		const char *principal, *address, *name;
		enum kg_res type;
		int32_t bits;
	} rows[] = {
		{ "User:alice", NULL, "tenant-a.x", T, TOPIC_OPS },
		{ "User:alice", "10.0.0.1", "tenant-a.secret.1", T, TOPIC_OPS & ~BIT(KG_OP_READ) },
		{ "User:alice", NULL, "tenant-a.private", T, 0 },
		{ "User:alice", NULL, "tenant-a.g", G, BIT(KG_OP_READ) | BIT(KG_OP_DESCRIBE) },
		{ "User:bob", NULL, "g", G, BIT(KG_OP_DESCRIBE) },
		{ "User:svc-a", NULL, "cfg", T,
		  BIT(KG_OP_DESCRIBE) | BIT(KG_OP_DESCRIBE_CONFIGS) | BIT(KG_OP_ALTER_CONFIGS) },
		{ "User:alice", NULL, "tenant-a.t", X, BIT(KG_OP_WRITE) | BIT(KG_OP_DESCRIBE) },
		{ "User:alice", NULL, NULL, C, BIT(KG_OP_IDEMPOTENT_WRITE) },
		{ "User:carol", NULL, NULL, C,
		  BIT(KG_OP_CREATE) | BIT(KG_OP_CLUSTER_ACTION) | BIT(KG_OP_DESCRIBE_CONFIGS) |
		  BIT(KG_OP_ALTER_CONFIGS) | BIT(KG_OP_IDEMPOTENT_WRITE) | BIT(KG_OP_ALTER) |
		  BIT(KG_OP_DESCRIBE) },
		{ "User:admin", NULL, "x", G,
		  BIT(KG_OP_READ) | BIT(KG_OP_DESCRIBE) | BIT(KG_OP_DELETE) |
		  BIT(KG_OP_DESCRIBE_CONFIGS) | BIT(KG_OP_ALTER_CONFIGS) },
		{ "User:nobody", NULL, "x", T, 0 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct kg_acl_subject *s = subject(p, rows[i].principal, rows[i].address);
		int32_t got = kg_acl_authorized_ops(s, rows[i].type, rows[i].name,
						    rows[i].name ? strlen(rows[i].name) : 0);
		if (got != rows[i].bits)
			fail_msg("row %zu: authorized ops 0x%x, want 0x%x", i, (unsigned)got,
				 (unsigned)rows[i].bits);
		kg_acl_subject_free(s);
	}
	kg_policy_unref(p);
}

/* ---- authorizeByResourceType (reference 3.4) ---- */

/* A one-role policy for User:u with the given rules (JSON array body). */
static struct kg_policy *rules_policy(const char *rules)
{
	char text[4096];
	snprintf(text, sizeof(text),
		 "{\"super_users\": [\"User:root\"], \"roles\": [{\"name\": \"r\", \"members\": "
		 "[\"User:u\"], \"rules\": [%s]}]}",
		 rules);
	return parse_ok(text);
}

#define AW(pat) "{\"effect\": \"allow\", \"resource\": \"topic\", " pat ", \"operations\": [\"WRITE\"]}"
#define DW(pat) "{\"effect\": \"deny\", \"resource\": \"topic\", " pat ", \"operations\": [\"WRITE\"]}"

static void test_any_allowed(void **state)
{
	(void)state;
	static const struct {
		const char *rules;
		const char *principal;
		enum kg_res type;
		enum kg_op op;
		bool want;
	} rows[] = {
		{ "", "User:u", T, KG_OP_WRITE, false },
		{ "", "User:root", T, KG_OP_WRITE, true },
		{ AW("\"name\": \"*\""), "User:u", T, KG_OP_WRITE, true },
		{ AW("\"name\": \"*\""), "User:other", T, KG_OP_WRITE, false },
		{ AW("\"name\": \"t1\""), "User:u", T, KG_OP_WRITE, true },
		{ AW("\"name\": \"t1\"") "," DW("\"name\": \"t1\""), "User:u", T, KG_OP_WRITE, false },
		{ AW("\"name\": \"t1\"") "," DW("\"name\": \"t2\""), "User:u", T, KG_OP_WRITE, true },
		{ AW("\"name\": \"ab-1\"") "," DW("\"prefix\": \"ab\""), "User:u", T, KG_OP_WRITE, false },
		{ AW("\"prefix\": \"ab-\"") "," DW("\"prefix\": \"ab\""), "User:u", T, KG_OP_WRITE, false },
		{ AW("\"prefix\": \"ab\"") "," DW("\"prefix\": \"ab-\""), "User:u", T, KG_OP_WRITE, true },
		{ AW("\"prefix\": \"ab\"") "," DW("\"name\": \"ab\""), "User:u", T, KG_OP_WRITE, true },
		{ AW("\"name\": \"t1\"") "," DW("\"name\": \"*\""), "User:u", T, KG_OP_WRITE, false },
		{ AW("\"name\": \"*\"") "," DW("\"name\": \"*\""), "User:u", T, KG_OP_WRITE, false },
		{ AW("\"name\": \"*\"") "," DW("\"name\": \"hardcode\""), "User:u", T, KG_OP_WRITE, true },
		{ AW("\"name\": \"t1\"") "," DW("\"name\": \"t1\"") "," AW("\"prefix\": \"p\""),
		  "User:u", T, KG_OP_WRITE, true },
		/* no implied operations: WRITE does not make DESCRIBE "any allowed" */
		{ AW("\"name\": \"t1\""), "User:u", T, KG_OP_DESCRIBE, false },
		{ AW("\"name\": \"t1\""), "User:u", T, KG_OP_READ, false },
		{ AW("\"name\": \"t1\""), "User:u", G, KG_OP_WRITE, false },
		/* ALL counts for any operation, on both sides */
		{ "{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"t1\", \"operations\": [\"ALL\"]}",
		  "User:u", T, KG_OP_WRITE, true },
		{ AW("\"name\": \"t1\"") ", {\"effect\": \"deny\", \"resource\": \"topic\", \"prefix\": \"t\", "
		  "\"operations\": [\"ALL\"]}", "User:u", T, KG_OP_WRITE, false },
		/* regex approximation */
		{ AW("\"regex\": \"x.*\""), "User:u", T, KG_OP_WRITE, true },
		{ AW("\"regex\": \"x.*\"") "," DW("\"name\": \"*\""), "User:u", T, KG_OP_WRITE, false },
		{ AW("\"name\": \"abc\"") "," DW("\"regex\": \"a.c\""), "User:u", T, KG_OP_WRITE, false },
		{ AW("\"name\": \"abcd\"") "," DW("\"regex\": \"a.c\""), "User:u", T, KG_OP_WRITE, true },
		/* cluster */
		{ "{\"effect\": \"allow\", \"resource\": \"cluster\", \"operations\": [\"IDEMPOTENT_WRITE\"]}",
		  "User:u", C, KG_OP_IDEMPOTENT_WRITE, true },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct kg_policy *p = rules_policy(rows[i].rules);
		struct kg_acl_subject *s = subject(p, rows[i].principal, "10.0.0.1");
		bool got = kg_acl_any_allowed(s, rows[i].type, rows[i].op);
		if (got != rows[i].want)
			fail_msg("row %zu (%s): any_allowed %d, want %d", i, rows[i].rules, got,
				 rows[i].want);
		kg_acl_subject_free(s);
		kg_policy_unref(p);
	}
}

/* ---- validation ---- */

/* A valid role to put before the bad one, so indexes are tested. */
#define ROLE_OK "{\"name\": \"ok\", \"members\": [\"User:x\"], \"rules\": []}"
#define RULE(body) "{\"name\": \"r\", \"members\": [\"User:x\"], \"rules\": [" body "]}"
#define ONE(role) "{\"roles\": [" role "]}"

static const struct {
	const char *text;              /* the policy */
	const char *want;              /* expected message, after "t.json: " */
} bad_cases[] = {
	{ "{\"roles\": [" ROLE_OK ", {\"name\": \"tenant-b\", \"rules\": ["
	  "{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"a\", \"operations\": [\"READ\"]},"
	  "{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"b\", \"operations\": [\"READ\"]},"
	  "{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"c\", \"operations\": [\"READ\"]},"
	  "{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"d\", \"operations\": [\"REED\"]}]}]}",
	  "roles[1] (tenant-b) rules[3]: unknown operation 'REED'" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"topic\", \"regex\": \"a(\", \"operations\": [\"READ\"]}")),
	  "roles[0] (r) rules[0]: regex 'a(' does not compile: missing closing parenthesis at offset 2" },
	{ "{\"roles\": [\n  {\"name\": \"r\",}\n]}", "line 2 column" },
	{ "{\"roles\": [" ROLE_OK ", " ROLE_OK "]}", "roles[1] (ok): role name 'ok' is already used by roles[0]" },
	{ ONE("{\"name\": \"r\", \"members\": [\"User:a\", \"alice\"]}"),
	  "roles[0] (r) members[1]: 'alice' is not a principal \"Type:name\"" },
	{ ONE("{\"name\": \"r\", \"members\": [\"User:\"]}"),
	  "roles[0] (r) members[0]: 'User:' is not a principal" },
	{ ONE("{\"name\": \"r\", \"members\": [42]}"),
	  "roles[0] (r) members[0]: value is not a principal" },
	{ "{\"super_users\": [\"admin\"], \"roles\": []}",
	  "super_users[0]: 'admin' is not a principal \"Type:name\"" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"a\", \"prefix\": \"b\", \"operations\": [\"READ\"]}")),
	  "roles[0] (r) rules[0]: has both 'name' and 'prefix': give exactly one of name, prefix, regex" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"topic\", \"prefix\": \"\", \"operations\": [\"READ\"]}")),
	  "roles[0] (r) rules[0]: prefix must be a non-empty string" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"topic\", \"operations\": [\"READ\"]}")),
	  "roles[0] (r) rules[0]: needs one of 'name', 'prefix' or 'regex'" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"a\", \"operations\": [\"IDEMPOTENT_WRITE\"]}")),
	  "roles[0] (r) rules[0]: operation IDEMPOTENT_WRITE does not apply to topic" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"transactional_id\", \"name\": \"a\", \"operations\": [\"READ\"]}")),
	  "roles[0] (r) rules[0]: operation READ does not apply to transactional_id (it has WRITE, DESCRIBE, or ALL)" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"topic\", \"nmae\": \"a\", \"operations\": [\"READ\"]}")),
	  "roles[0] (r) rules[0]: unknown key 'nmae'" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"a\", \"operations\": [\"READ\"], \"hosts\": [\"10.0.0.300\"]}")),
	  "roles[0] (r) rules[0]: host '10.0.0.300' is not an IPv4/IPv6 address or CIDR range" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"a\", \"operations\": [\"READ\"], \"hosts\": [\"10.0.0.0/33\"]}")),
	  "roles[0] (r) rules[0]: host '10.0.0.0/33' is not an IPv4/IPv6 address or CIDR range" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"a\", \"operations\": [\"READ\"], \"hosts\": [\"10.0.0.1/8\"]}")),
	  "roles[0] (r) rules[0]: host '10.0.0.1/8' has bits set past its prefix length (the network is 10.0.0.0/8)" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"a\", \"operations\": [\"READ\"], \"hosts\": []}")),
	  "roles[0] (r) rules[0]: 'hosts' must be a non-empty array" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"cluster\", \"prefix\": \"k\", \"operations\": [\"ALTER\"]}")),
	  "roles[0] (r) rules[0]: a cluster rule takes no pattern, or \"name\": \"kafka-cluster\"" },
	{ ONE(RULE("{\"effect\": \"allow\", \"resource\": \"cluster\", \"name\": \"c1\", \"operations\": [\"ALTER\"]}")),
	  "roles[0] (r) rules[0]: a cluster rule takes no pattern" },
	{ ONE(RULE("{\"effect\": \"permit\", \"resource\": \"topic\", \"name\": \"a\", \"operations\": [\"READ\"]}")),
	  "roles[0] (r) rules[0]: 'effect' must be \"allow\" or \"deny\"" },
	{ ONE(RULE("{\"effect\": \"deny\", \"resource\": \"topics\", \"name\": \"a\", \"operations\": [\"READ\"]}")),
	  "roles[0] (r) rules[0]: 'resource' must be \"topic\"" },
	{ ONE(RULE("{\"effect\": \"deny\", \"resource\": \"topic\", \"name\": \"a\", \"operations\": []}")),
	  "roles[0] (r) rules[0]: 'operations' must be a non-empty array" },
	{ ONE(RULE("{\"effect\": \"deny\", \"resource\": \"topic\", \"name\": \"a\", \"operations\": [\"READ\", \"read\"]}")),
	  "roles[0] (r) rules[0]: operation READ is listed twice" },
	{ ONE("{\"members\": [\"User:x\"]}"), "roles[0]: 'name' is missing" },
	{ ONE("{\"name\": \"r\", \"member\": [\"User:x\"]}"), "roles[0] (r): unknown key 'member'" },
	{ "{\"version\": 2, \"roles\": []}", "version: only version 1 is supported" },
	{ "{\"roles\": [], \"rolez\": []}", "top level: unknown key 'rolez'" },
	{ "{\"super_users\": []}", "top level: 'roles' is missing" },
	{ "[]", "top level: must be a JSON object" },
	{ "{\"roles\": [], \"roles\": []}", "duplicate object key" },
	/* tenants */
	{ "{\"roles\": [], \"tenants\": {}}", "tenants: must be an array of tenants" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a b\"}]}",
	  "tenants[0]: 'name' must be 1 to 64 of A-Z a-z 0-9 . _ -" },
	{ "{\"roles\": [], \"tenants\": [{\"members\": []}]}", "tenants[0]: 'name' must be" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}",
	  "tenants[1] (a): tenant name 'a' is already used by tenants[0]" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"members\": [\"User:x\"]}, "
	  "{\"name\": \"b\", \"members\": [\"User:y\", \"User:x\"]}]}",
	  "tenants[1] (b): members: 'User:x' is already a member of tenant 'a'" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"members\": [\"User:x\", \"User:x\"]}]}",
	  "tenants[0] (a): members: 'User:x' is already a member of tenant 'a'" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"members\": [\"User:*\"]}]}",
	  "tenants[0] (a): members: 'User:*' would put every principal in the tenant" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"members\": [\"x\"]}]}",
	  "tenants[0] (a) members[0]: 'x' is not a principal" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"namespace\": \"a.\"}]}",
	  "tenants[0] (a): unknown key 'namespace'" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"limits\": {\"max_connections\": -1}}]}",
	  "tenants[0] (a) limits: 'max_connections' must be an integer 0..10000000 (0: no limit)" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"limits\": {\"max_conections\": 1}}]}",
	  "tenants[0] (a) limits: unknown key 'max_conections'" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"quotas\": []}]}",
	  "tenants[0] (a) quotas: must be an object" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"quotas\": {\"producer_byte_rate\": 0}}]}",
	  "tenants[0] (a) quotas: 'producer_byte_rate' must be an integer 1..1099511627776 per "
	  "second (leave it out for no quota)" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"quotas\": {\"request_rate\": 1.5}}]}",
	  "tenants[0] (a) quotas: 'request_rate' must be an integer" },
	{ "{\"roles\": [], \"tenants\": [{\"name\": \"a\", \"quotas\": {\"request_percentage\": 5}}]}",
	  "tenants[0] (a) quotas: unknown key 'request_percentage'" },
};

/* Tenants: each principal's tenant, limits, order, and no tenant for others. */
static void test_tenants(void **state)
{
	(void)state;
	struct kg_policy *p = kg_policy_parse(
		"{\"roles\": [], \"tenants\": ["
		"{\"name\": \"acme\", \"members\": [\"User:a1\", \"User:a2\"], "
		" \"limits\": {\"max_connections\": 3}, \"quotas\": {\"producer_byte_rate\": 1048576,"
		" \"consumer_byte_rate\": 2097152, \"request_rate\": 50}},"
		"{\"name\": \"globex.eu-1\", \"description\": \"d\", \"members\": [\"User:g\"]}]}",
		"t.json", err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(kg_policy_tenant_count(p), 2);
	const struct kg_tenant *a = kg_policy_tenant_of(p, "User:a2");
	assert_non_null(a);
	assert_string_equal(a->name, "acme");
	assert_int_equal(a->max_connections, 3);
	assert_int_equal(a->quota[KG_QUOTA_PRODUCE], 1048576);
	assert_int_equal(a->quota[KG_QUOTA_FETCH], 2097152);
	assert_int_equal(a->quota[KG_QUOTA_REQUEST], 50);
	assert_string_equal(kg_quota_kind_name(KG_QUOTA_FETCH), "consumer_byte_rate");
	assert_ptr_equal(kg_policy_tenant_of(p, "User:a1"), a);
	assert_ptr_equal(kg_policy_tenant(p, 0), a);
	const struct kg_tenant *g = kg_policy_tenant_of(p, "User:g");
	assert_string_equal(g->name, "globex.eu-1");
	assert_int_equal(g->max_connections, 0);
	assert_int_equal(g->quota[KG_QUOTA_PRODUCE] | g->quota[KG_QUOTA_FETCH] |
			 g->quota[KG_QUOTA_REQUEST], 0);
	assert_ptr_equal(kg_policy_tenant(p, 1), g);
	assert_null(kg_policy_tenant(p, 2));
	assert_ptr_equal(kg_policy_tenant_named(p, "acme"), a);
	assert_ptr_equal(kg_policy_tenant_named(p, "globex.eu-1"), g);
	assert_null(kg_policy_tenant_named(p, "acm"));
	assert_null(kg_policy_tenant_named(p, NULL));
	/* exact principals only: no prefix, case or type folding */
	assert_null(kg_policy_tenant_of(p, "User:a"));
	assert_null(kg_policy_tenant_of(p, "User:a12"));
	assert_null(kg_policy_tenant_of(p, "user:a1"));
	assert_null(kg_policy_tenant_of(p, "Group:a1"));
	assert_null(kg_policy_tenant_of(p, NULL));
	assert_null(kg_policy_tenant_of(NULL, "User:a1"));
	kg_policy_unref(p);
	/* without tenants */
	p = kg_policy_parse("{\"roles\": []}", "t.json", err, sizeof(err));
	assert_int_equal(kg_policy_tenant_count(p), 0);
	assert_null(kg_policy_tenant_of(p, "User:a1"));
	kg_policy_unref(p);
}

static void test_validation(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		err[0] = '\0';
		struct kg_policy *p = kg_policy_parse(bad_cases[i].text, "t.json", err, sizeof(err));
		if (p) {
			kg_policy_unref(p);
			fail_msg("case %zu accepted, expected: %s", i, bad_cases[i].want);
		}
		char full[1100];
		snprintf(full, sizeof(full), "t.json: %s", bad_cases[i].want);
		if (strncmp(err, "t.json: ", 8) != 0 || !strstr(err, bad_cases[i].want) ||
		    (strstr(bad_cases[i].want, ": ") && !strstr(err, full)))
			fail_msg("case %zu: message\n  %s\ndoes not contain\n  %s", i, err, full);
	}
}

static void test_load_files(void **state)
{
	(void)state;
	struct kg_policy *p = kg_policy_load("conf/policy.json", err, sizeof(err));
	if (!p)
		fail_msg("conf/policy.json: %s", err);
	assert_true(kg_policy_role_count(p) >= 3);
	struct kg_acl_subject *s = subject(p, "User:demo", "127.0.0.1");
	assert_true(kg_acl_decide(s, T, "any-topic", 9, KG_OP_WRITE, NULL));
	assert_true(kg_acl_decide(s, G, "g", 1, KG_OP_READ, NULL));
	assert_true(kg_acl_decide(s, C, NULL, 0, KG_OP_IDEMPOTENT_WRITE, NULL));
	assert_true(kg_acl_any_allowed(s, T, KG_OP_WRITE));
	kg_acl_subject_free(s);
	s = subject(p, "User:tenant-b-app", NULL);
	assert_false(kg_acl_decide(s, T, "tenant-a.orders", 15, KG_OP_READ, NULL));
	assert_true(kg_acl_decide(s, T, "tenant-b.orders", 15, KG_OP_READ, NULL));
	kg_acl_subject_free(s);
	kg_policy_unref(p);

	p = kg_policy_load("conf/policy-allow-all.json", err, sizeof(err));
	if (!p)
		fail_msg("conf/policy-allow-all.json: %s", err);
	s = subject(p, "User:ANONYMOUS", NULL);
	assert_int_equal(kg_acl_authorized_ops(s, T, "x", 1), TOPIC_OPS);
	assert_true(kg_acl_decide(s, C, NULL, 0, KG_OP_CLUSTER_ACTION, NULL));
	kg_acl_subject_free(s);
	kg_policy_unref(p);

	assert_null(kg_policy_load("/nonexistent/policy.json", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/policy.json: "));
}

/* ---- current policy (enforce/current_policy.c, a base/reload.h slot) ---- */

static void test_swap_generation(void **state)
{
	(void)state;
	struct kg_policy *a = rules_policy(AW("\"name\": \"t1\""));
	struct kg_policy *b = rules_policy(AW("\"name\": \"t2\""));
	uint64_t g0 = kg_current_policy_generation();
	kg_current_policy_swap(a);
	assert_int_equal(kg_current_policy_generation(), g0 + 1);
	struct kg_policy *cur = kg_current_policy();
	assert_ptr_equal(cur, a);
	struct kg_acl_subject *s = subject(cur, "User:u", NULL);
	kg_policy_unref(cur); /* the subject keeps its own reference */
	kg_current_policy_swap(b);
	assert_int_equal(kg_current_policy_generation(), g0 + 2);
	/* The old policy still answers for the subject built on it. */
	assert_true(kg_acl_decide(s, T, "t1", 2, KG_OP_WRITE, NULL));
	assert_false(kg_acl_decide(s, T, "t2", 2, KG_OP_WRITE, NULL));
	kg_acl_subject_free(s);
	cur = kg_current_policy();
	assert_ptr_equal(cur, b);
	s = subject(cur, "User:u", NULL);
	assert_ptr_equal(kg_acl_subject_policy(s), b);
	assert_true(kg_acl_decide(s, T, "t2", 2, KG_OP_WRITE, NULL));
	kg_acl_subject_free(s);
	kg_policy_unref(cur);
	kg_current_policy_swap(NULL);
	assert_null(kg_current_policy());
	assert_int_equal(kg_current_policy_generation(), g0 + 3);
	/* No subject without a policy; a NULL subject denies. */
	assert_null(kg_acl_subject_new(NULL, "User:u", NULL));
	struct kg_acl_why why;
	assert_false(kg_acl_decide(NULL, T, "t", 1, KG_OP_READ, &why));
	assert_int_equal(why.reason, KG_ACL_DEFAULT_DENY);
}

/* ---- the decision cache ---- */

/* A policy with many literal, prefix, regex and deny rules over a few
 * roles, to compare cached and uncached subjects on. */
static char *big_policy(void)
{
	size_t cap = 1 << 20, n = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	n += (size_t)snprintf(t + n, cap - n, "{\"roles\": [");
	for (int r = 0; r < 8; r++) {
		n += (size_t)snprintf(t + n, cap - n, "%s{\"name\": \"r%d\", \"members\": [\"User:u\"], "
				      "\"rules\": [", r ? "," : "", r);
		for (int k = 0; k < 40; k++) {
			static const char *const ops[] = { "READ", "WRITE", "DESCRIBE", "ALL", "DELETE" };
			int deny = k % 7 == 3;
			const char *res = (k % 3 == 0) ? "group" : "topic";
			const char *op = ops[(k + r) % 5];
			if (strcmp(op, "WRITE") == 0 && res[0] == 'g')
				op = "READ";
			if (deny && strcmp(op, "ALL") == 0)
				op = "DELETE";
			char pat[96];
			switch (k % 4) {
			case 0: snprintf(pat, sizeof(pat), "\"name\": \"n%d\"", (k * 7 + r) % 50); break;
			case 1: snprintf(pat, sizeof(pat), "\"prefix\": \"n%d\"", (k + r) % 9); break;
			case 2: snprintf(pat, sizeof(pat), "\"regex\": \"n%d[0-9]*x?\"", (k * 3 + r) % 20); break;
			default: /* "*": allow DESCRIBE only, so names still differ */
				snprintf(pat, sizeof(pat), "\"name\": \"*\"");
				deny = 0;
				op = "DESCRIBE";
				break;
			}
			n += (size_t)snprintf(t + n, cap - n,
					      "%s{\"effect\": \"%s\", \"resource\": \"%s\", %s, "
					      "\"operations\": [\"%s\"]}",
					      k ? "," : "", deny ? "deny" : "allow", res, pat, op);
		}
		n += (size_t)snprintf(t + n, cap - n, "]}");
	}
	snprintf(t + n, cap - n, "]}");
	return t;
}

static void test_cache_matches_uncached(void **state)
{
	(void)state;
	char *text = big_policy();
	struct kg_policy *p = parse_ok(text);
	free(text);
	struct kg_acl_subject *c = subject(p, "User:u", NULL), *u = subject(p, "User:u", NULL);
	kg_acl_subject_set_cache(u, false);
	static const enum kg_op ops[] = { KG_OP_READ, KG_OP_WRITE, KG_OP_DESCRIBE, KG_OP_DELETE,
					  KG_OP_CREATE };
	char name[300];
	size_t decisions = 0, allowed = 0, denied_by_rule = 0;
	for (int round = 0; round < 3; round++) {
		/* 2000 names x 5 ops x 2 types overflows the cache many times
		 * (it is emptied when full); each name's questions are asked
		 * twice in a row, so some come from the cache; names of 250
		 * bytes bypass it. */
		for (int i = 0; i < 2000; i++) {
			int len = snprintf(name, sizeof(name), "n%d%s", i % 400, i % 3 ? "x" : "");
			if (i % 97 == 0) {
				memset(name + len, 'z', 250 - (size_t)len);
				len = 250;
			}
			for (size_t k = 0; k < 2 * sizeof(ops) / sizeof(ops[0]); k++) {
				for (int ty = 0; ty < 2; ty++) {
					enum kg_res type = ty ? G : T;
					enum kg_op op = ops[k % (sizeof(ops) / sizeof(ops[0]))];
					struct kg_acl_why wc, wu;
					bool a = kg_acl_decide(c, type, name, (size_t)len, op, &wc);
					bool b = kg_acl_decide(u, type, name, (size_t)len, op, &wu);
					if (a != b || wc.reason != wu.reason || wc.rule != wu.rule ||
					    wc.role != wu.role || wc.rule_text != wu.rule_text)
						fail_msg("%s %s '%.*s': cached %d (%s %d), uncached %d (%s %d)",
							 kg_op_name(op), kg_res_name(type), len, name, a,
							 wc.role ? wc.role : "-", wc.rule, b,
							 wu.role ? wu.role : "-", wu.rule);
					decisions++;
					allowed += a;
					denied_by_rule += wc.reason == KG_ACL_RULE_DENY;
				}
			}
		}
	}
	/* The policy must exercise every outcome for the comparison to mean
	 * something. */
	assert_true(allowed > decisions / 10);
	assert_true(denied_by_rule > decisions / 50);
	assert_true(allowed + denied_by_rule < decisions);
	uint64_t hits, misses;
	kg_acl_subject_cache_stats(c, &hits, &misses);
	assert_true(hits > 0);
	assert_true(misses > 0);
	kg_acl_subject_cache_stats(u, &hits, &misses);
	assert_int_equal(hits + misses, 0);

	/* A small hot set is answered from the cache after the first round. */
	struct kg_acl_subject *h = subject(p, "User:u", NULL);
	for (int round = 0; round < 10; round++)
		for (int i = 0; i < 100; i++) {
			int len = snprintf(name, sizeof(name), "n%d", i);
			kg_acl_decide(h, T, name, (size_t)len, KG_OP_READ, NULL);
		}
	kg_acl_subject_cache_stats(h, &hits, &misses);
	assert_int_equal(misses, 100);
	assert_int_equal(hits, 900);
	kg_acl_subject_free(h);
	kg_acl_subject_free(c);
	kg_acl_subject_free(u);
	kg_policy_unref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_decide_table),
		cmocka_unit_test(test_regex_decisions),
		cmocka_unit_test(test_regex_prefix),
		cmocka_unit_test(test_rule_text),
		cmocka_unit_test(test_authorized_ops),
		cmocka_unit_test(test_any_allowed),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_tenants),
		cmocka_unit_test(test_load_files),
		cmocka_unit_test(test_swap_generation),
		cmocka_unit_test(test_cache_matches_uncached),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
