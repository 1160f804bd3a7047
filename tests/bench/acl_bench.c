/*
 * acl_bench.c - `make bench-acl`: speed of the authorization engine.
 *
 * Generates a 1,000-rule policy (50 roles x 20 rules: literal names,
 * prefixes, regexes, denies, hosts) in which the benchmark principal is a
 * member of 5 roles plus a "User:*" role, and measures on one core:
 *   (a) decisions/s over a hot set of ~100 topic and group names (what a
 *       connection asks again and again: answered from the subject cache);
 *   (b) decisions/s on a name never asked before, every time (cache miss:
 *       the index is searched, regexes run where they can matter);
 *   (b') the hot set with the cache turned off (the index search alone);
 *   (c) the cost of building a subject (once per connection) and of
 *       loading the policy (once per reload).
 * The requirement is (a) >= 5,000,000 decisions/s; the exit status is 1
 * when it is not met. This is a benchmark, not a test: `make test` does
 * not run it.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "acl/policy.h"

#define NROLES 50
#define RULES_PER_ROLE 20
#define REQUIRED_PER_SEC 5e6

/* Roles the benchmark principal User:bench is a member of. */
static int bench_role(int r)
{
	return r % 7 == 0 && r < 35;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends printf output to the growing policy text. */
static void put(char **t, size_t *n, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char **t, size_t *n, size_t *cap, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int w = vsnprintf(*t + *n, *cap - *n, fmt, ap);
		va_end(ap);
		if (w >= 0 && (size_t)w < *cap - *n) {
			*n += (size_t)w;
			return;
		}
		*cap *= 2;
		if (!(*t = realloc(*t, *cap))) {
			perror("realloc");
			exit(1);
		}
	}
}

static char *gen_policy(void)
{
	size_t n = 0, cap = 1 << 16;
	char *t = malloc(cap);
	if (!t)
		exit(1);
	put(&t, &n, &cap, "{\"version\": 1, \"super_users\": [\"User:admin\"], \"roles\": [\n");
	for (int r = 0; r < NROLES; r++) {
		put(&t, &n, &cap, "%s{\"name\": \"role-%d\", \"members\": [%s], \"rules\": [\n",
		    r ? ",\n" : "", r,
		    r == NROLES - 1 ? "\"User:*\""
		    : bench_role(r) ? "\"User:app\", \"User:bench\""
				    : "\"User:app\"");
		const char *rule[RULES_PER_ROLE];
		char buf[RULES_PER_ROLE][256];
		int k = 0;
#define R(...) (snprintf(buf[k], sizeof(buf[k]), __VA_ARGS__), rule[k] = buf[k], k++)
		R("\"effect\": \"allow\", \"resource\": \"topic\", \"prefix\": \"svc%d.\", \"operations\": [\"ALL\"]", r);
		R("\"effect\": \"allow\", \"resource\": \"group\", \"prefix\": \"svc%d.\", \"operations\": [\"READ\"]", r);
		R("\"effect\": \"allow\", \"resource\": \"transactional_id\", \"prefix\": \"svc%d.\", \"operations\": [\"WRITE\"]", r);
		R("\"effect\": \"allow\", \"resource\": \"cluster\", \"operations\": [\"IDEMPOTENT_WRITE\"]");
		R("\"effect\": \"deny\", \"resource\": \"topic\", \"prefix\": \"svc%d.secret.\", \"operations\": [\"READ\"]", r);
		R("\"effect\": \"deny\", \"resource\": \"topic\", \"regex\": \"svc%d\\\\.tmp\\\\.[0-9]+\", \"operations\": [\"WRITE\"], \"hosts\": [\"10.0.0.0/8\"]", r);
		for (int j = 0; j < 6; j++)
			R("\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"shared.t%d\", \"operations\": [\"READ\", \"DESCRIBE\"]", r * 6 + j);
		R("\"effect\": \"allow\", \"resource\": \"topic\", \"regex\": \"svc%d\\\\.logs\\\\.[a-z]+-[0-9]{1,4}\", \"operations\": [\"READ\"]", r);
		R("\"effect\": \"allow\", \"resource\": \"topic\", \"regex\": \"audit\\\\.svc%d\\\\..*\", \"operations\": [\"DESCRIBE\"]", r);
		R("\"effect\": \"allow\", \"resource\": \"group\", \"name\": \"grp%d\", \"operations\": [\"READ\"]", r);
		R("\"effect\": \"allow\", \"resource\": \"topic\", \"prefix\": \"team%d-\", \"operations\": [\"WRITE\"]", r);
		R("\"effect\": \"deny\", \"resource\": \"group\", \"name\": \"svc%d.blocked\", \"operations\": [\"ALL\"]", r);
		R("\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"*\", \"operations\": [\"DESCRIBE\"], \"hosts\": [\"192.168.0.0/16\"]");
		R("\"effect\": \"deny\", \"resource\": \"topic\", \"name\": \"shared.t%d\", \"operations\": [\"WRITE\"]", (r * 6 + 6) % 300);
		R("\"effect\": \"allow\", \"resource\": \"topic\", \"regex\": \"metrics\\\\.(cpu|mem|disk)\\\\.svc%d\", \"operations\": [\"READ\"]", r);
#undef R
		for (int j = 0; j < k; j++)
			put(&t, &n, &cap, "%s  {%s}", j ? ",\n" : "", rule[j]);
		put(&t, &n, &cap, "\n]}");
	}
	put(&t, &n, &cap, "\n]}\n");
	return t;
}

/* One question of the hot set. */
struct q {
	enum kg_res type;              /* topic or group */
	char name[48];                 /* resource name */
	size_t len;                    /* strlen(name) */
	enum kg_op op;                 /* operation asked */
};

static size_t hot_set(struct q *qs, size_t cap, size_t *nnames)
{
	size_t n = 0, names = 0;
	static const enum kg_op topic_ops[] = { KG_OP_READ, KG_OP_WRITE, KG_OP_DESCRIBE };
	static const enum kg_op group_ops[] = { KG_OP_READ, KG_OP_DESCRIBE };
	char nm[48];
	for (int i = 0; i < 100; i++) {
		int r = (i % 5) * 7; /* one of the bench roles */
		enum kg_res type = KG_RES_TOPIC;
		switch (i / 5 % 20) {
		case 0: snprintf(nm, sizeof(nm), "svc%d.orders", r); break;
		case 1: snprintf(nm, sizeof(nm), "svc%d.payments", r); break;
		case 2: snprintf(nm, sizeof(nm), "svc%d.secret.keys", r); break;
		case 3: snprintf(nm, sizeof(nm), "svc%d.tmp.17", r); break;
		case 4: snprintf(nm, sizeof(nm), "svc%d.logs.app-12", r); break;
		case 5: snprintf(nm, sizeof(nm), "team%d-events", r); break;
		case 6: snprintf(nm, sizeof(nm), "metrics.cpu.svc%d", r); break;
		case 7: snprintf(nm, sizeof(nm), "shared.t%d", r * 6 + 6); break;
		case 8: snprintf(nm, sizeof(nm), "shared.t%d", r * 6 + 2); break;
		case 9: snprintf(nm, sizeof(nm), "audit.svc%d.logins", r); break;
		case 10: snprintf(nm, sizeof(nm), "other%d.topic", i); break;
		case 11: snprintf(nm, sizeof(nm), "svc%d.clicks.v2", r + 1); break;
		case 12: type = KG_RES_GROUP; snprintf(nm, sizeof(nm), "svc%d.consumers", r); break;
		case 13: type = KG_RES_GROUP; snprintf(nm, sizeof(nm), "grp%d", r); break;
		case 14: type = KG_RES_GROUP; snprintf(nm, sizeof(nm), "svc%d.blocked", r); break;
		case 15: type = KG_RES_GROUP; snprintf(nm, sizeof(nm), "other-group%d", i); break;
		case 16: type = KG_RES_GROUP; snprintf(nm, sizeof(nm), "svc%d.etl", r); break;
		case 17: snprintf(nm, sizeof(nm), "svc%d.events.%d", r, i); break;
		case 18: snprintf(nm, sizeof(nm), "team%d-audit", r); break;
		default: snprintf(nm, sizeof(nm), "legacy.topic.%d", i); break;
		}
		names++;
		const enum kg_op *ops = type == KG_RES_TOPIC ? topic_ops : group_ops;
		size_t nops = type == KG_RES_TOPIC ? 3 : 2;
		for (size_t k = 0; k < nops && n < cap; k++) {
			qs[n].type = type;
			strcpy(qs[n].name, nm);
			qs[n].len = strlen(nm);
			qs[n].op = ops[k];
			n++;
		}
	}
	*nnames = names;
	return n;
}

/* Decisions per second over the hot set, iters decisions. */
static double run_hot(struct kg_acl_subject *s, const struct q *qs, size_t nq, long iters,
		      long *allowed)
{
	struct kg_acl_why why;
	double t0 = now();
	size_t j = 0;
	for (long i = 0; i < iters; i++) {
		*allowed += kg_acl_decide(s, qs[j].type, qs[j].name, qs[j].len, qs[j].op, &why);
		if (++j == nq)
			j = 0;
	}
	return (double)iters / (now() - t0);
}

/* Decisions per second on a fresh name every time: a counter written into
 * one of a few name shapes (prefix match, regex candidates, no match). */
static double run_unique(struct kg_acl_subject *s, long iters, long *allowed)
{
	static const char *const shapes[] = { "svc7.orders-", "svc14.logs.app-", "other.topic.",
					      "team21-x-", "svc0.secret.k" };
	char name[64];
	struct kg_acl_why why;
	double t0 = now();
	for (long i = 0; i < iters; i++) {
		const char *sh = shapes[i % 5];
		size_t l = strlen(sh);
		memcpy(name, sh, l);
		for (unsigned long v = (unsigned long)i; v; v >>= 4)
			name[l++] = "0123456789abcdef"[v & 15];
		enum kg_op op = (i & 1) ? KG_OP_READ : KG_OP_WRITE;
		*allowed += kg_acl_decide(s, KG_RES_TOPIC, name, l, op, &why);
	}
	return (double)iters / (now() - t0);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 20000000L;
	char *text = gen_policy();
	char err[1024];
	double t0 = now();
	struct kg_policy *p = kg_policy_parse(text, "generated", err, sizeof(err));
	double load_ms = (now() - t0) * 1e3;
	free(text);
	if (!p) {
		fprintf(stderr, "acl_bench: %s\n", err);
		return 1;
	}
	struct sockaddr_in sin = { .sin_family = AF_INET };
	inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
	const struct sockaddr *sa = (const struct sockaddr *)&sin;

	/* (c) subject build */
	int builds = 20000;
	t0 = now();
	for (int i = 0; i < builds; i++)
		kg_acl_subject_free(kg_acl_subject_new(p, "User:bench", sa));
	double build_us = (now() - t0) * 1e6 / builds;

	struct q qs[400];
	size_t nnames, nq = hot_set(qs, 400, &nnames);
	long allowed = 0;

	struct kg_acl_subject *s = kg_acl_subject_new(p, "User:bench", sa);
	run_hot(s, qs, nq, 100000, &allowed); /* warm up */
	double hot = run_hot(s, qs, nq, iters, &allowed);
	uint64_t hits, misses;
	kg_acl_subject_cache_stats(s, &hits, &misses);
	kg_acl_subject_free(s);

	s = kg_acl_subject_new(p, "User:bench", sa);
	double uniq = run_unique(s, iters / 4, &allowed);
	kg_acl_subject_free(s);

	s = kg_acl_subject_new(p, "User:bench", sa);
	kg_acl_subject_set_cache(s, false);
	double nocache = run_hot(s, qs, nq, iters / 4, &allowed);
	kg_acl_subject_free(s);

	printf("acl bench: %zu rules in %zu roles; User:bench is in 6 roles (%d applying rules "
	       "incl. User:*), from 10.1.2.3\n",
	       kg_policy_rule_count(p), kg_policy_role_count(p), 6 * RULES_PER_ROLE);
	printf("\n  %-52s %14s\n", "measure", "result");
	printf("  %-52s %11.2f M/s\n", "(a) hot set, cached (decisions/s)", hot / 1e6);
	printf("      %zu names, %zu (type, name, op) questions; cache hits %llu, misses %llu\n",
	       nnames, nq, (unsigned long long)hits, (unsigned long long)misses);
	printf("  %-52s %11.2f M/s\n", "(b) unique names, every one a cache miss", uniq / 1e6);
	printf("  %-52s %11.2f M/s\n", "(b') hot set, cache off (index search only)", nocache / 1e6);
	printf("  %-52s %11.2f us\n", "(c) subject build (per connection)", build_us);
	printf("  %-52s %11.2f ms\n", "    policy load + validation + regex JIT", load_ms);
	printf("  (allowed %ld)\n\n", allowed);
	int ok = hot >= REQUIRED_PER_SEC;
	printf("requirement: >= %.0f M decisions/s on one core (a): %s (%.2f M/s)\n",
	       REQUIRED_PER_SEC / 1e6, ok ? "PASS" : "FAIL", hot / 1e6);
	kg_policy_unref(p);
	return ok ? 0 : 1;
}
