/*
 * cli_acl.c - `kafka-gateway acl explain|check`.
 *
 * explain runs the very code the gateway runs (kg_acl_subject_new and
 * kg_acl_decide on the loaded policy), so its answer is the gateway's
 * answer, not a re-implementation that could drift from it.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "cli/cli_acl.h"
#include "acl/policy.h"

/* Exit status of explain for a denied request (0 is allowed, 1 and 2 are
 * taken by errors and usage). */
#define KG_EXIT_DENIED 3

static void usage(FILE *f)
{
	fprintf(f,
		"Usage:\n"
		"  kafka-gateway acl explain (--policy FILE | -c CONFIG) --principal Type:name\n"
		"                [--address IP] --resource RESOURCE --operation OP\n"
		"  kafka-gateway acl check (--policy FILE | -c CONFIG)\n"
		"\n"
		"  --policy FILE   the policy file (JSON, see README)\n"
		"  -c CONFIG       the gateway configuration; its acl.policy_file is used\n"
		"  --principal     e.g. User:alice\n"
		"  --address       the client's IPv4/IPv6 address; without it, rules that\n"
		"                  have \"hosts\" do not apply\n"
		"  --resource      topic:NAME, group:NAME, transactional_id:NAME or cluster\n"
		"  --operation     READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE,\n"
		"                  DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE,\n"
		"                  CLUSTER_ACTION\n"
		"\n"
		"explain exits 0 when allowed, 3 when denied; both commands exit 1 on a bad\n"
		"policy and 2 on bad usage.\n");
}

/* acl.policy_file of a gateway configuration, malloc'd; NULL after
 * printing why. Only this key is read: `kafka-gateway check` validates
 * the rest. */
static char *policy_from_config(const char *cfg)
{
	json_error_t je;
	json_t *root = json_load_file(cfg, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (je.line < 1)
			fprintf(stderr, "kafka-gateway acl: %s: %s\n", cfg, je.text);
		else
			fprintf(stderr, "kafka-gateway acl: %s: line %d column %d: %s\n", cfg,
				je.line, je.column, je.text);
		return NULL;
	}
	json_t *acl = json_object_get(root, "acl");
	json_t *pf = json_is_object(acl) ? json_object_get(acl, "policy_file") : NULL;
	char *path = json_is_string(pf) && json_string_length(pf) > 0
			     ? strdup(json_string_value(pf))
			     : NULL;
	if (!path)
		fprintf(stderr, "kafka-gateway acl: %s: $.acl.policy_file: missing (a string "
				"is required)\n", cfg);
	json_decref(root);
	return path;
}

/* "10.1.2.3" or "::1" -> ss. */
static int parse_address(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* "topic:orders" -> type and name; "cluster" alone is the cluster. */
static int parse_resource(const char *s, enum kg_res *type, const char **name)
{
	if (strcmp(s, "cluster") == 0 || strcmp(s, "cluster:kafka-cluster") == 0) {
		*type = KG_RES_CLUSTER;
		*name = "kafka-cluster";
		return 0;
	}
	const char *colon = strchr(s, ':');
	if (!colon || colon[1] == '\0')
		return -1;
	char t[32];
	size_t n = (size_t)(colon - s);
	if (n >= sizeof(t))
		return -1;
	memcpy(t, s, n);
	t[n] = '\0';
	int r = kg_res_parse(t);
	if (r < 0 || r == KG_RES_CLUSTER)
		return -1;
	*type = (enum kg_res)r;
	*name = colon + 1;
	return 0;
}

static int explain(struct kg_policy *p, const char *principal, const char *address,
		   const char *resource, const char *operation)
{
	struct sockaddr_storage ss;
	enum kg_res type;
	const char *name;
	int op = kg_op_parse(operation);
	if (address && parse_address(address, &ss) < 0) {
		fprintf(stderr, "kafka-gateway acl explain: --address '%s' is not an IPv4 or IPv6 "
				"address\n", address);
		return 2;
	}
	if (parse_resource(resource, &type, &name) < 0) {
		fprintf(stderr, "kafka-gateway acl explain: --resource '%s' is not topic:NAME, "
				"group:NAME, transactional_id:NAME or cluster\n", resource);
		return 2;
	}
	if (op < 0 || op == KG_OP_ALL) {
		fprintf(stderr, "kafka-gateway acl explain: --operation '%s' is not an operation "
				"Kafka checks (READ, WRITE, DESCRIBE, ...)\n", operation);
		return 2;
	}
	struct kg_acl_subject *s =
		kg_acl_subject_new(p, principal, address ? (struct sockaddr *)&ss : NULL);
	if (!s) {
		fprintf(stderr, "kafka-gateway acl explain: out of memory\n");
		return 1;
	}
	struct kg_acl_why why;
	bool ok = kg_acl_decide(s, type, name, strlen(name), (enum kg_op)op, &why);
	printf("%s: %s %s %s", ok ? "ALLOWED" : "DENIED", principal, kg_op_name((enum kg_op)op),
	       kg_res_name(type));
	if (type != KG_RES_CLUSTER)
		printf(" '%s'", name);
	if (address)
		printf(" from %s\n", address);
	else
		printf(" (no --address: rules with hosts do not apply)\n");
	const struct kg_tenant *t = kg_policy_tenant_of(p, principal);
	if (t)
		printf("  %s is in tenant %s\n", principal, t->name);
	switch (why.reason) {
	case KG_ACL_SUPER_USER:
		printf("  %s is a super user\n", principal);
		break;
	case KG_ACL_DEFAULT_DENY:
		printf("  no rule matched: default deny\n");
		break;
	default:
		printf("  role %s, rule %d: %s\n", why.role, why.rule, why.rule_text);
		break;
	}
	kg_acl_subject_free(s);
	return ok ? 0 : KG_EXIT_DENIED;
}

static void check(const struct kg_policy *p, const char *path)
{
	size_t nsu = kg_policy_super_user_count(p), nr = kg_policy_role_count(p);
	size_t nrules = kg_policy_rule_count(p);
	printf("%s: policy is valid: %zu role%s, %zu rule%s, %zu super user%s\n", path, nr,
	       nr == 1 ? "" : "s", nrules, nrules == 1 ? "" : "s", nsu, nsu == 1 ? "" : "s");
	for (size_t i = 0; i < nr; i++) {
		size_t m, r;
		const char *name = kg_policy_role_info(p, i, &m, &r);
		printf("  role %s: %zu member%s, %zu rule%s\n", name, m, m == 1 ? "" : "s", r,
		       r == 1 ? "" : "s");
	}
	for (size_t i = 0; i < kg_policy_tenant_count(p); i++) {
		const struct kg_tenant *t = kg_policy_tenant(p, i);
		if (t->max_connections)
			printf("  tenant %s: max_connections %u\n", t->name, t->max_connections);
		else
			printf("  tenant %s: no connection limit\n", t->name);
	}
}

int kg_cli_acl(int argc, char **argv)
{
	const char *cmd = argc > 2 ? argv[2] : NULL;
	const char *policy = NULL, *config = NULL, *principal = NULL, *address = NULL;
	const char *resource = NULL, *operation = NULL;

	if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	int is_explain = strcmp(cmd, "explain") == 0;
	if (!is_explain && strcmp(cmd, "check") != 0) {
		fprintf(stderr, "kafka-gateway acl: unknown subcommand '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i], **slot = NULL;
		if (strcmp(a, "--policy") == 0)
			slot = &policy;
		else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
			slot = &config;
		else if (is_explain && strcmp(a, "--principal") == 0)
			slot = &principal;
		else if (is_explain && strcmp(a, "--address") == 0)
			slot = &address;
		else if (is_explain && strcmp(a, "--resource") == 0)
			slot = &resource;
		else if (is_explain && strcmp(a, "--operation") == 0)
			slot = &operation;
		if (!slot) {
			fprintf(stderr, "kafka-gateway acl %s: unexpected argument '%s'\n", cmd, a);
			usage(stderr);
			return 2;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "kafka-gateway acl %s: %s needs a value\n", cmd, a);
			return 2;
		}
		*slot = argv[++i];
	}
	if (!policy == !config) {
		fprintf(stderr, "kafka-gateway acl %s: give one of --policy FILE or -c CONFIG\n",
			cmd);
		return 2;
	}
	if (is_explain && (!principal || !resource || !operation)) {
		fprintf(stderr, "kafka-gateway acl explain: --principal, --resource and "
				"--operation are required\n");
		return 2;
	}
	if (is_explain && (!strchr(principal, ':') || principal[0] == ':')) {
		fprintf(stderr, "kafka-gateway acl explain: --principal '%s' is not Type:name "
				"(e.g. User:alice)\n", principal);
		return 2;
	}
	char *from_cfg = NULL;
	if (config && !(policy = from_cfg = policy_from_config(config)))
		return 1;
	char err[1024];
	struct kg_policy *p = kg_policy_load(policy, err, sizeof(err));
	int rc;
	if (!p) {
		fprintf(stderr, "kafka-gateway acl %s: invalid policy: %s\n", cmd, err);
		rc = 1;
	} else if (is_explain) {
		rc = explain(p, principal, address, resource, operation);
	} else {
		check(p, policy);
		rc = 0;
	}
	kg_policy_unref(p);
	free(from_cfg);
	return rc;
}
