/*
 * test_audit_anchor.c - unit tests of audit/anchor.c with the writer and
 * verify: anchors written at seals (and at most once an interval), a tail
 * cut off the log while the gateway is stopped - seal included, then a
 * restart - is found by the next start (audit_tail "missing") and by
 * verify with the anchors (truncated, or edited when the reused seq
 * numbers went past the anchor), while verify without them sees an intact
 * chain; anchors are read from syslog-style lines too.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit/anchor.h"
#include "audit/chain.h"
#include "audit/emit.h"
#include "audit/event.h"
#include "audit/verify.h"
#include "audit/writer.h"

static char dir[64], path[128], anchors[128];

static int setup(void **state)
{
	(void)state;
	kg_audit_ev_instance("unit-test");
	strcpy(dir, "/tmp/kg-anchor-test-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(anchors, sizeof(anchors), "%s/audit.anchors", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(anchors);
	rmdir(dir);
	return 0;
}

static struct kg_audit_cfg cfg_for(uint32_t interval_ms)
{
	return (struct kg_audit_cfg){ .enabled = true, .sink = KG_AUDIT_SINK_FILE, .path = path,
				      .queue_size = 256, .on_full = KG_AUDIT_BLOCK,
				      .fsync = KG_AUDIT_FSYNC_NEVER, .fsync_interval_ms = 1000,
				      .stop_timeout_ms = 5000, .anchor_file = anchors,
				      .anchor_interval_ms = interval_ms };
}

static void emit(int i)
{
	json_t *e = kg_audit_ev_new("test");
	kg_audit_set_int(e, "i", i);
	kg_audit_ev_emit(e);
}

static void run(const struct kg_audit_cfg *cfg, int n, const char **tail)
{
	char err[256];
	if (kg_audit_writer_start(cfg, NULL, 0, err, sizeof(err)) < 0)
		fail_msg("writer start: %s", err);
	const char *detail = NULL;
	*tail = kg_audit_writer_tail_check(&detail);
	for (int i = 0; i < n; i++)
		emit(i);
	kg_audit_writer_stop();
}

static size_t count_lines(const char *p)
{
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = 0;
	int c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Keeps the first `keep` lines of the log: a tail cut at a record edge. */
static void cut_log(size_t keep)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = NULL, *all = NULL;
	size_t cap = 0, len = 0, k = 0;
	ssize_t n;
	while (k < keep && (n = getline(&buf, &cap, f)) > 0) {
		all = realloc(all, len + (size_t)n);
		memcpy(all + len, buf, (size_t)n);
		len += (size_t)n;
		k++;
	}
	fclose(f);
	f = fopen(path, "w");
	fwrite(all, 1, len, f);
	fclose(f);
	free(buf);
	free(all);
}

static int verify(bool with_anchors, struct kg_audit_verify_result *r)
{
	const char *f[] = { path };
	struct kg_audit_anchor *a = NULL;
	char err[256];
	long n = 0;
	if (with_anchors)
		assert_true((n = kg_audit_anchors_read(anchors, &a, err, sizeof(err))) > 0);
	int v = kg_audit_verify_anchored(f, 1, NULL, 0, false, a, (size_t)n, anchors, r);
	free(a);
	return v;
}

static void test_seal_anchor_matches_last_record(void **state)
{
	(void)state;
	struct kg_audit_cfg cfg = cfg_for(3600000);
	const char *tail;
	run(&cfg, 20, &tail);
	assert_null(tail);
	struct kg_audit_anchor *a = NULL;
	char err[256];
	/* one anchor at the first batch, one at the stop seal (interval long) */
	long n = kg_audit_anchors_read(anchors, &a, err, sizeof(err));
	assert_true(n >= 1 && n <= 2);
	assert_int_equal(a[n - 1].seq, 21);     /* 20 records and the seal */
	struct kg_audit_verify_result r;
	assert_int_equal(verify(true, &r), KG_AV_OK);
	assert_int_equal(r.anchors_matched, (uint64_t)n);
	free(a);
}

static void test_cut_tail_and_restart_is_found(void **state)
{
	(void)state;
	struct kg_audit_cfg cfg = cfg_for(3600000);
	const char *tail;
	run(&cfg, 20, &tail);                   /* seq 1..21, the seal anchored */
	cut_log(15);                            /* records 16..21 gone, seal too */
	run(&cfg, 2, &tail);                    /* restart: seq 16..18 */
	assert_non_null(tail);
	assert_string_equal(tail, "missing");
	assert_string_equal(kg_audit_writer_previous_run(), "unclean");
	assert_int_equal(count_lines(path), 18);
	struct kg_audit_verify_result r;
	/* the chain alone looks intact: that is the hole anchors close */
	assert_int_equal(verify(false, &r), KG_AV_OK);
	assert_int_equal(verify(true, &r), KG_AV_TRUNCATED);
	assert_non_null(strstr(r.msg, "anchors seq 21"));
	/* more records after the restart reuse seq 19..21: now the anchored
	 * seq 21 exists with another hash */
	run(&cfg, 10, &tail);
	assert_int_equal(verify(false, &r), KG_AV_OK);
	assert_int_equal(verify(true, &r), KG_AV_EDITED);
	assert_non_null(strstr(r.msg, "is not the one anchored"));
}

static void test_interval_anchors_and_syslog_lines(void **state)
{
	(void)state;
	struct kg_audit_cfg cfg = cfg_for(100);
	char err[256];
	if (kg_audit_writer_start(&cfg, NULL, 0, err, sizeof(err)) < 0)
		fail_msg("writer start: %s", err);
	for (int i = 0; i < 8; i++) {
		emit(i);
		struct timespec ts = { 0, 60 * 1000000L };
		nanosleep(&ts, NULL);
	}
	kg_audit_writer_stop();
	struct kg_audit_anchor *a = NULL;
	long n = kg_audit_anchors_read(anchors, &a, err, sizeof(err));
	assert_true(n >= 3);                    /* ~480 ms of records, 100 ms apart at most */
	free(a);
	/* anchors as syslog or the journal show them */
	FILE *f = fopen(anchors, "r");
	char line[512];
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	f = fopen(anchors, "w");
	fprintf(f, "Dec  2 02:00:00 host kafka-gateway-audit[12]: %s", line);
	fprintf(f, "something else entirely\n{\"type\":\"audit_anchor\",\"seq\":\"x\"}\n");
	fclose(f);
	n = kg_audit_anchors_read(anchors, &a, err, sizeof(err));
	assert_int_equal(n, 1);
	struct kg_audit_verify_result r;
	assert_int_equal(verify(true, &r), KG_AV_OK);
	assert_int_equal(r.anchors_matched, 1);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seal_anchor_matches_last_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_tail_and_restart_is_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interval_anchors_and_syslog_lines, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
