/*
 * test_metrics.c - unit tests of proxy/base/metrics.c (per-thread blocks,
 * their sum, the latency buckets, what a login is counted as) and of the
 * JSON log lines of proxy/base/log.c.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/log.h"
#include "base/metrics.h"

static struct kg_metrics total;

static uint64_t hist_count(const struct kg_metrics *m, int api, int part, int b)
{
	return m->hist[api][part][b];
}

static void *recorder(void *arg)
{
	int n = *(int *)arg;
	for (int i = 0; i < n; i++) {
		kg_metrics_request(0, KG_ML_BROKER, 100, KG_MD_ALLOWED);
		kg_metrics_response(0, 1000, 5000, 2000);
	}
	kg_metric_gauge(&kg_metrics_mine()->open[KG_ML_BROKER], 3);
	return NULL;
}

/* Two threads record into blocks of their own; the sum sees every count,
 * also after the threads ended. */
static void test_blocks_sum_over_threads(void **state)
{
	(void)state;
	kg_metrics_sum(&total);
	uint64_t req0 = total.requests[0][KG_ML_BROKER], out0 = total.bytes[0][KG_MDIR_OUT];
	int64_t open0 = total.open[KG_ML_BROKER];
	pthread_t t[2];
	int n[2] = { 1000, 2500 };
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, recorder, &n[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	kg_metrics_sum(&total);
	assert_int_equal(total.requests[0][KG_ML_BROKER] - req0, 3500);
	assert_int_equal(total.bytes[0][KG_MDIR_OUT] - out0, 3500 * 1000);
	assert_int_equal(total.open[KG_ML_BROKER] - open0, 6);
	assert_int_equal(total.decisions[0][KG_MD_ALLOWED] >= 3500, 1);
}

/* A latency of ns lands in the bucket whose bound is the first power of
 * two >= ns (from 2^10 ns), past 2^34 ns in +Inf; the sum keeps the ns. */
static void test_latency_buckets(void **state)
{
	(void)state;
	static const struct { uint64_t ns; int bucket; } cases[] = {
		{ 1, 0 }, { 1024, 0 }, { 1025, 1 }, { 2048, 1 }, { 2049, 2 },
		{ 1000000, 10 },            /* 1 ms <= 2^20 ns */
		{ 1u << 30, 20 }, { (1ull << 34), 24 }, { (1ull << 34) + 1, KG_METRICS_BUCKETS },
		{ 3600ull * 1000000000u, KG_METRICS_BUCKETS },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kg_metrics_sum(&total);
		struct kg_metrics before = total;
		kg_metrics_unanswered(3, cases[i].ns);
		kg_metrics_sum(&total);
		for (int b = 0; b <= KG_METRICS_BUCKETS; b++)
			assert_int_equal(hist_count(&total, 3, KG_MP_GATEWAY, b) -
						 hist_count(&before, 3, KG_MP_GATEWAY, b),
					 b == cases[i].bucket ? 1 : 0);
		assert_int_equal(total.hist_ns[3][KG_MP_GATEWAY] - before.hist_ns[3][KG_MP_GATEWAY],
				 cases[i].ns);
		/* no broker part given: none counted */
		for (int b = 0; b <= KG_METRICS_BUCKETS; b++)
			assert_int_equal(hist_count(&total, 3, KG_MP_BROKER, b),
					 hist_count(&before, 3, KG_MP_BROKER, b));
	}
	assert_true(kg_metrics_bucket_bound_s(0) > 1.023e-6 && kg_metrics_bucket_bound_s(0) < 1.025e-6);
	assert_true(kg_metrics_bucket_bound_s(KG_METRICS_BUCKETS - 1) > 17.1);
	/* API keys outside the table are not counted anywhere (no overflow) */
	kg_metrics_sum(&total);
	struct kg_metrics before = total;
	kg_metrics_request(KG_METRICS_APIS, KG_ML_BOOTSTRAP, 1, KG_MD_DENIED);
	kg_metrics_request(-1, KG_ML_BOOTSTRAP, 1, KG_MD_DENIED);
	kg_metrics_sum(&total);
	assert_memory_equal(&before, &total, offsetof(struct kg_metrics, next));
}

static void test_login_mechanisms(void **state)
{
	(void)state;
	kg_metrics_sum(&total);
	struct kg_metrics before = total;
	kg_metrics_login("SCRAM-SHA-512", true);
	kg_metrics_login("scram-sha-256", false);
	kg_metrics_login("PLAIN", false);
	kg_metrics_login("TLS", true);
	kg_metrics_login("GSSAPI", false);
	kg_metrics_login(NULL, false);
	kg_metrics_sum(&total);
	assert_int_equal(total.logins[KG_MM_SCRAM_SHA_512][1] - before.logins[KG_MM_SCRAM_SHA_512][1], 1);
	assert_int_equal(total.logins[KG_MM_SCRAM_SHA_256][0] - before.logins[KG_MM_SCRAM_SHA_256][0], 1);
	assert_int_equal(total.logins[KG_MM_PLAIN][0] - before.logins[KG_MM_PLAIN][0], 1);
	assert_int_equal(total.logins[KG_MM_TLS][1] - before.logins[KG_MM_TLS][1], 1);
	assert_int_equal(total.logins[KG_MM_OTHER][0] - before.logins[KG_MM_OTHER][0], 2);
}

/* Captures what one kg_log call writes to stderr. */
static void log_capture(char *out, size_t cap, enum kg_log_level lvl, const char *fmt, const char *arg)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	int saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	kg_log(lvl, fmt, arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	ssize_t n = read(p[0], out, cap - 1);
	close(p[0]);
	out[n > 0 ? n : 0] = '\0';
}

static void test_json_log_line(void **state)
{
	(void)state;
	char line[4096];
	kg_log_set_json(true);
	log_capture(line, sizeof(line), KG_LOG_WARN, "user %s: \"quoted\"\\", "a\tb\n\x01\xc3\xa9");
	kg_log_set_json(false);
	/* {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ","level":"warn","msg":"..."}\n */
	assert_int_equal(strncmp(line, "{\"ts\":\"", 7), 0);
	assert_int_equal(line[7 + 24], '"');
	assert_non_null(strstr(line, "\",\"level\":\"warn\",\"msg\":\"user a\\u0009b\\u000a\\u0001??: "
				   "\\\"quoted\\\"\\\\\"}\n"));
	assert_int_equal(strchr(line, '\n') - line, (long)strlen(line) - 1);
	log_capture(line, sizeof(line), KG_LOG_INFO, "plain %s", "text");
	assert_non_null(strstr(line, " info  plain text\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_sum_over_threads),
		cmocka_unit_test(test_latency_buckets),
		cmocka_unit_test(test_login_mechanisms),
		cmocka_unit_test(test_json_log_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
