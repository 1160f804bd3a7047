/*
 * test_audit.c - unit tests of the audit log's writer and chain
 * (audit/writer.c, sink.c, chain.c, verify.c):
 *
 *   - a record's hash and HMAC, the line shape the verifier reads;
 *   - `audit verify` finds each kind of tampering at the right line:
 *     edited (bytes, rehashed record, rehashed chain with HMAC), deleted,
 *     inserted (a copy, a forged linked record), reordered, truncated
 *     (cut record, missing seal, missing file), and a live file;
 *   - rotation by size and by time: seals link the files, a missing or
 *     misplaced file is found; a restart continues the chain (also after a
 *     crash that tore the last line); logrotate + reopen;
 *   - 1,000,000 events from 4 threads: none lost, chain intact;
 *   - a failing disk (RLIMIT_FSIZE, in a child process): block holds and
 *     loses nothing, drop counts and reports what it lost;
 *   - stopping writes everything queued and a final seal.
 *
 * Files live in a fresh directory under /tmp, removed at the end.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit/chain.h"
#include "audit/emit.h"
#include "audit/event.h"
#include "audit/verify.h"
#include "audit/writer.h"

static char dir[64];
static char path[128];
static const uint8_t KEY[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN (sizeof(KEY) - 1)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void rm_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[256];
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) > 0)
			unlink(p);
	if (d)
		closedir(d);
	rmdir(dir);
}

static int fresh_dir(void)
{
	strcpy(dir, "/tmp/kg-audit-test-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	kg_audit_ev_instance("unit-test");
	return fresh_dir();
}

static int teardown(void **state)
{
	(void)state;
	rm_dir();
	return 0;
}

static struct kg_audit_cfg cfg_for(int on_full, uint32_t queue)
{
	return (struct kg_audit_cfg){ .enabled = true, .sink = KG_AUDIT_SINK_FILE, .path = path,
				      .queue_size = queue, .on_full = on_full,
				      .fsync = KG_AUDIT_FSYNC_NEVER, .fsync_interval_ms = 1000,
				      .stop_timeout_ms = 5000 };
}

static void emit_test(int thread, int i)
{
	json_t *e = kg_audit_ev_new("test");
	kg_audit_set_int(e, "t", thread);
	kg_audit_set_int(e, "i", i);
	kg_audit_set_cstr(e, "pad", "some payload so that a record is about 200 bytes long");
	kg_audit_ev_emit(e);
}

/* Writes n test records (plus the stop seal) to path. */
static void make_log(const struct kg_audit_cfg *cfg, int n, bool hmac)
{
	char err[256];
	if (kg_audit_writer_start(cfg, hmac ? KEY : NULL, hmac ? KEYLEN : 0, err, sizeof(err)) < 0)
		fail_msg("writer start: %s", err);
	for (int i = 0; i < n; i++)
		emit_test(0, i);
	kg_audit_writer_stop();
}

static int verify_files(const char *const *files, size_t n, bool key, bool live,
			struct kg_audit_verify_result *r)
{
	return kg_audit_verify(files, n, key ? KEY : NULL, key ? KEYLEN : 0, live, r);
}

static int verify1(bool key, struct kg_audit_verify_result *r)
{
	const char *f[] = { path };
	return verify_files(f, 1, key, false, r);
}

/* ---- lines of a file, for tampering ---- */

struct lines {
	char **v;                      /* lines with their newline */
	size_t n;                      /* count */
};

static struct lines read_lines(const char *p)
{
	struct lines l = { 0 };
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&buf, &cap, f)) > 0) {
		l.v = realloc(l.v, (l.n + 1) * sizeof(*l.v));
		l.v[l.n++] = strndup(buf, (size_t)len);
	}
	free(buf);
	fclose(f);
	return l;
}

static void write_lines(const char *p, const struct lines *l)
{
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i])
			fputs(l->v[i], f);
	fclose(f);
}

static void free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Rebuilds line i (0-based) with a new body, chained after prev_line,
 * as an attacker without the HMAC key could. Returns the new line. */
static char *forge(const char *prev_line, uint64_t seq, const char *body, bool hmac)
{
	struct kg_audit_rec r;
	uint8_t prev[KG_AUDIT_HASH_LEN] = { 0 };
	if (prev_line) {
		assert_int_equal(kg_audit_chain_parse(prev_line, strlen(prev_line) - 1, &r), 0);
		memcpy(prev, r.hash, sizeof(prev));
	}
	struct kg_audit_buf b = { 0 };
	static const uint8_t wrong[] = "not-the-key";
	assert_int_equal(kg_audit_chain_append(&b, seq, body, strlen(body), prev,
					       hmac ? wrong : NULL, hmac ? 11 : 0), 0);
	char *s = strndup(b.p, b.len);
	kg_audit_buf_free(&b);
	return s;
}

static void expect(int verdict, uint64_t line, const struct kg_audit_verify_result *r,
		   const char *what)
{
	if (r->verdict != verdict || r->line != line)
		fail_msg("%s: expected %s at line %llu, got %s at line %llu: %s", what,
			 kg_audit_verdict_name(verdict), (unsigned long long)line,
			 kg_audit_verdict_name(r->verdict), (unsigned long long)r->line, r->msg);
}

/* ---- the chain ---- */

static void test_record_hash_and_hmac(void **state)
{
	(void)state;
	uint8_t prev[KG_AUDIT_HASH_LEN] = { 0 }, start[KG_AUDIT_HASH_LEN] = { 0 };
	struct kg_audit_buf b = { 0 };
	const char *body = "{\"time\":\"2024-01-01T00:00:00.000000Z\",\"type\":\"x\",\"k\":\"a\\\"b\"}";
	assert_int_equal(kg_audit_chain_append(&b, 1, body, strlen(body), prev, KEY, KEYLEN), 0);
	assert_true(b.len > 0 && b.p[b.len - 1] == '\n');
	assert_memory_equal(b.p, "{\"v\":1,\"seq\":1,\"time\":", 22);
	struct kg_audit_rec r;
	assert_int_equal(kg_audit_chain_parse(b.p, b.len - 1, &r), 0);
	assert_int_equal(r.seq, 1);
	assert_true(r.has_hmac);
	assert_int_equal(r.type_len, 1);
	assert_memory_equal(r.type, "x", 1);
	assert_memory_equal(r.prev, start, KG_AUDIT_HASH_LEN);
	/* hash = SHA-256(prev || text), and it became the new prev */
	uint8_t h[KG_AUDIT_HASH_LEN], m[KG_AUDIT_HASH_LEN];
	kg_audit_chain_hash(start, b.p, r.text_len, h);
	assert_memory_equal(h, r.hash, KG_AUDIT_HASH_LEN);
	assert_memory_equal(prev, r.hash, KG_AUDIT_HASH_LEN);
	assert_memory_equal(b.p + r.text_len, ",\"hash\":\"", 9);
	kg_audit_chain_hmac(KEY, KEYLEN, h, m);
	assert_memory_equal(m, r.hmac, KG_AUDIT_HASH_LEN);
	/* The same as OpenSSL's HMAC, for short and long (hashed) keys. */
	uint8_t ref[EVP_MAX_MD_SIZE], longkey[100];
	unsigned int rn = 0;
	HMAC(EVP_sha256(), KEY, (int)KEYLEN, h, sizeof(h), ref, &rn);
	assert_memory_equal(m, ref, KG_AUDIT_HASH_LEN);
	memset(longkey, 'k', sizeof(longkey));
	kg_audit_chain_hmac(longkey, sizeof(longkey), h, m);
	HMAC(EVP_sha256(), longkey, (int)sizeof(longkey), h, sizeof(h), ref, &rn);
	assert_memory_equal(m, ref, KG_AUDIT_HASH_LEN);
	/* The line is valid JSON with the event's fields. */
	json_error_t je;
	json_t *j = json_loadb(b.p, b.len, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "k")), "a\"b");
	assert_int_equal(json_integer_value(json_object_get(j, "v")), KG_AUDIT_SCHEMA);
	json_decref(j);
	kg_audit_buf_free(&b);
	assert_int_equal(kg_audit_chain_parse("{\"v\":1}", 7, &r), -1);
}

static void test_written_log_verifies(void **state)
{
	(void)state;
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_BLOCK, 1024);
	make_log(&cfg, 50, true);
	struct kg_audit_verify_result r;
	assert_int_equal(verify1(true, &r), KG_AV_OK);
	assert_int_equal(r.records, 51);
	assert_int_equal(r.first_seq, 1);
	assert_int_equal(r.last_seq, 51);
	assert_int_equal(r.seals, 1);
	assert_false(r.open_tail);
	/* Every line is a JSON object with the common fields. */
	struct lines l = read_lines(path);
	for (size_t i = 0; i < l.n; i++) {
		json_t *j = json_loads(l.v[i], 0, NULL);
		assert_non_null(j);
		assert_int_equal(json_integer_value(json_object_get(j, "seq")), (json_int_t)i + 1);
		assert_string_equal(json_string_value(json_object_get(j, "instance")), "unit-test");
		const char *t = json_string_value(json_object_get(j, "time"));
		assert_true(t && strlen(t) == 27 && t[10] == 'T' && t[26] == 'Z');
		json_decref(j);
	}
	assert_non_null(strstr(l.v[50], "\"type\":\"seal\",\"instance\":\"unit-test\",\"reason\":\"stop\""));
	free_lines(&l);
	/* The wrong key is noticed. */
	static const uint8_t other[] = "another key";
	const char *f[] = { path };
	assert_int_equal(kg_audit_verify(f, 1, other, 11, false, &r), KG_AV_EDITED);
	assert_int_equal(r.line, 1);
}

/* ---- tampering ---- */

static void tamper_case(void (*edit)(struct lines *), int verdict, uint64_t line, bool key,
			const char *what)
{
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_BLOCK, 1024);
	unlink(path);
	make_log(&cfg, 20, true);
	struct lines l = read_lines(path);
	edit(&l);
	write_lines(path, &l);
	free_lines(&l);
	struct kg_audit_verify_result r;
	verify1(key, &r);
	expect(verdict, line, &r, what);
}

static void edit_byte(struct lines *l)
{
	char *p = strstr(l->v[4], "\"i\":4");
	p[4] = '7';                            /* record 5 now says i=7 */
}

static void edit_rehash(struct lines *l)
{
	/* Record 5 rewritten with a correct hash of its own. */
	char *p = strstr(l->v[4], ",\"time\"");
	char body[512];
	snprintf(body, sizeof(body), "{%.*s}", (int)(strstr(p, ",\"prev\"") - p - 1), p + 1);
	char *i = strstr(body, "\"i\":4");
	i[4] = '9';
	free(l->v[4]);
	l->v[4] = forge(l->v[3], 5, body, false);
}

static void edit_rechain(struct lines *l)
{
	/* Record 5 and everything after it rewritten into a valid SHA-256
	 * chain: only the HMAC tells. */
	for (size_t k = 4; k < l->n; k++) {
		char *p = strstr(l->v[k], ",\"time\"");
		char body[512];
		snprintf(body, sizeof(body), "{%.*s}", (int)(strstr(p, ",\"prev\"") - p - 1), p + 1);
		if (k == 4)
			strstr(body, "\"i\":4")[4] = '8';
		char *n = forge(l->v[k - 1], k + 1, body, true);
		free(l->v[k]);
		l->v[k] = n;
	}
}

static void edit_delete(struct lines *l)
{
	free(l->v[6]);
	l->v[6] = NULL;                        /* seq 7 gone */
}

static void edit_delete_many(struct lines *l)
{
	for (int k = 6; k < 10; k++) {
		free(l->v[k]);
		l->v[k] = NULL;
	}
}

static void edit_insert_copy(struct lines *l)
{
	/* a copy of line 3 between lines 6 and 7 */
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	memmove(&l->v[7], &l->v[6], (l->n - 6) * sizeof(*l->v));
	l->v[6] = strdup(l->v[2]);
	l->n++;
}

static void edit_insert_forged(struct lines *l)
{
	/* a well-formed record linked to line 6, seq 7, before the real seq 7 */
	char *n = forge(l->v[5], 7, "{\"time\":\"2024-01-01T00:00:00.000000Z\",\"type\":\"test\","
			"\"i\":999}", false);
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	memmove(&l->v[7], &l->v[6], (l->n - 6) * sizeof(*l->v));
	l->v[6] = n;
	l->n++;
}

static void edit_swap(struct lines *l)
{
	char *t = l->v[3];
	l->v[3] = l->v[4];
	l->v[4] = t;                           /* seq 5 before seq 4 */
}

static void edit_cut_seal(struct lines *l)
{
	free(l->v[l->n - 1]);
	l->v[l->n - 1] = NULL;                 /* the stop seal */
}

static void edit_cut_tail(struct lines *l)
{
	for (size_t k = 12; k < l->n; k++) {
		free(l->v[k]);
		l->v[k] = NULL;
	}
}

static void edit_cut_mid(struct lines *l)
{
	edit_cut_tail(l);
	l->v[11][40] = '\0';                   /* line 12 cut in the middle */
}

static void test_tamper_edited(void **state)
{
	(void)state;
	tamper_case(edit_byte, KG_AV_EDITED, 5, false, "byte changed");
	tamper_case(edit_rehash, KG_AV_EDITED, 5, false, "record rehashed");
	tamper_case(edit_rechain, KG_AV_OK, 0, false, "chain rewritten, no key");
	tamper_case(edit_rechain, KG_AV_EDITED, 5, true, "chain rewritten, HMAC checked");
}

static void test_tamper_deleted(void **state)
{
	(void)state;
	tamper_case(edit_delete, KG_AV_DELETED, 7, false, "one record deleted");
	tamper_case(edit_delete_many, KG_AV_DELETED, 7, false, "four records deleted");
}

static void test_tamper_inserted(void **state)
{
	(void)state;
	tamper_case(edit_insert_copy, KG_AV_INSERTED, 7, false, "copy of a record inserted");
	tamper_case(edit_insert_forged, KG_AV_INSERTED, 7, false, "forged record inserted");
}

static void test_tamper_reordered(void **state)
{
	(void)state;
	tamper_case(edit_swap, KG_AV_REORDERED, 4, false, "two records swapped");
}

static void test_tamper_truncated(void **state)
{
	(void)state;
	tamper_case(edit_cut_seal, KG_AV_TRUNCATED, 20, false, "seal cut off");
	tamper_case(edit_cut_tail, KG_AV_TRUNCATED, 12, false, "tail cut off");
	tamper_case(edit_cut_mid, KG_AV_TRUNCATED, 12, false, "cut inside a record");
	/* --live accepts a missing seal (a copy of a live file) */
	struct kg_audit_verify_result r;
	const char *f[] = { path };
	tamper_case(edit_cut_tail, KG_AV_TRUNCATED, 12, false, "tail cut off");
	assert_int_equal(verify_files(f, 1, false, true, &r), KG_AV_OK);
	assert_true(r.open_tail);
}

/* The live file of a running writer may end without a seal: its flock
 * says so. */
static void test_live_file_is_not_truncated(void **state)
{
	(void)state;
	unlink(path);
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_BLOCK, 1024);
	char err[256];
	assert_int_equal(kg_audit_writer_start(&cfg, NULL, 0, err, sizeof(err)), 0);
	for (int i = 0; i < 10; i++)
		emit_test(0, i);
	struct kg_audit_stats st;
	for (int k = 0; k < 200; k++) {
		kg_audit_writer_stats(&st);
		if (st.written == 10)
			break;
		usleep(10000);
	}
	struct kg_audit_verify_result r;
	assert_int_equal(verify1(false, &r), KG_AV_OK);
	assert_true(r.open_tail);
	assert_int_equal(r.records, 10);
	kg_audit_writer_stop();
	assert_int_equal(verify1(false, &r), KG_AV_OK);
	assert_false(r.open_tail);
	assert_int_equal(r.records, 11);
}

/* ---- rotation, restart, reopen ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The rotated files (sorted: their names sort by time), then the live one. */
static size_t list_files(char **out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	while ((de = readdir(d)) && n + 1 < cap)
		if (strncmp(de->d_name, "audit.log.", 10) == 0)
			assert_true(asprintf(&out[n++], "%s/%s", dir, de->d_name) > 0);
	closedir(d);
	qsort(out, n, sizeof(*out), cmp_str);
	out[n++] = strdup(path);
	return n;
}

static void test_rotation_seals_link_files(void **state)
{
	(void)state;
	rm_dir();
	assert_int_equal(fresh_dir(), 0);
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_BLOCK, 64);
	cfg.rotate_bytes = 16384;
	char err[256];
	assert_int_equal(kg_audit_writer_start(&cfg, KEY, KEYLEN, err, sizeof(err)), 0);
	for (int i = 0; i < 2000; i++)
		emit_test(0, i);
	kg_audit_writer_stop();
	struct kg_audit_stats st;
	kg_audit_writer_stats(&st);
	char *files[512];
	size_t n = list_files(files, 512);
	assert_true(n >= 10);
	assert_int_equal(st.rotations, n - 1);
	struct kg_audit_verify_result r;
	assert_int_equal(verify_files((const char *const *)files, n, true, false, &r), KG_AV_OK);
	assert_int_equal(r.records, 2000 + n);               /* + one seal per file */
	assert_int_equal(r.seals, n);
	/* Each rotated file ends with a "rotate" seal. */
	struct lines l = read_lines(files[0]);
	assert_non_null(strstr(l.v[l.n - 1], "\"type\":\"seal\""));
	assert_non_null(strstr(l.v[l.n - 1], "\"reason\":\"rotate\""));
	free_lines(&l);
	/* A file left out: deleted, at the first line of the next file. */
	char *gap[512];
	memcpy(gap, files, n * sizeof(*files));
	memmove(&gap[3], &gap[4], (n - 4) * sizeof(*gap));
	verify_files((const char *const *)gap, n - 1, true, false, &r);
	expect(KG_AV_DELETED, 1, &r, "a rotated file left out");
	assert_string_equal(r.file, files[4]);
	/* Two files swapped: reordered. */
	char *t = gap[3];
	memcpy(gap, files, n * sizeof(*files));
	gap[3] = files[4];
	gap[4] = files[3];
	(void)t;
	verify_files((const char *const *)gap, n, true, false, &r);
	expect(KG_AV_REORDERED, 1, &r, "two rotated files swapped");
	/* The last file alone: the chain is checked from its first seq on. */
	assert_int_equal(verify_files((const char *const *)&files[n - 1], 1, true, false, &r),
			 KG_AV_OK);
	assert_non_null(strstr(r.note, "checked from seq"));
	for (size_t i = 0; i < n; i++)
		free(files[i]);
}

static void test_rotation_by_time(void **state)
{
	(void)state;
	rm_dir();
	assert_int_equal(fresh_dir(), 0);
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_BLOCK, 64);
	cfg.rotate_interval_s = 1;
	char err[256];
	assert_int_equal(kg_audit_writer_start(&cfg, NULL, 0, err, sizeof(err)), 0);
	for (int i = 0; i < 10; i++)
		emit_test(0, i);
	usleep(1300000);                       /* the writer wakes up for it */
	for (int i = 10; i < 20; i++)
		emit_test(0, i);
	kg_audit_writer_stop();
	char *files[16];
	size_t n = list_files(files, 16);
	assert_int_equal(n, 2);
	struct kg_audit_verify_result r;
	assert_int_equal(verify_files((const char *const *)files, n, false, false, &r), KG_AV_OK);
	assert_int_equal(r.records, 22);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
}

static void test_restart_continues_chain(void **state)
{
	(void)state;
	rm_dir();                              /* no rotated files to go on from */
	assert_int_equal(fresh_dir(), 0);
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_BLOCK, 64);
	make_log(&cfg, 10, false);
	assert_string_equal(kg_audit_writer_previous_run(), "new");
	make_log(&cfg, 10, false);
	assert_string_equal(kg_audit_writer_previous_run(), "clean");
	/* A crash: a torn last line and no seal. */
	FILE *f = fopen(path, "a");
	fputs("{\"v\":1,\"seq\":23,\"time\":\"20", f);
	fclose(f);
	make_log(&cfg, 10, false);
	assert_string_equal(kg_audit_writer_previous_run(), "unclean");
	struct kg_audit_verify_result r;
	assert_int_equal(verify1(false, &r), KG_AV_OK);
	assert_int_equal(r.records, 33);
	assert_int_equal(r.seals, 3);
}

static void test_reopen_after_logrotate(void **state)
{
	(void)state;
	unlink(path);
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_BLOCK, 64);
	char err[256], moved[160];
	assert_int_equal(kg_audit_writer_start(&cfg, NULL, 0, err, sizeof(err)), 0);
	for (int i = 0; i < 100; i++)
		emit_test(0, i);
	/* logrotate "create": rename, then SIGHUP; records written in
	 * between still go to the renamed file. */
	snprintf(moved, sizeof(moved), "%s.1", path);
	assert_int_equal(rename(path, moved), 0);
	for (int i = 100; i < 150; i++)
		emit_test(0, i);
	kg_audit_writer_reopen();
	struct kg_audit_stats st;
	for (int k = 0; k < 300 && access(path, F_OK) != 0; k++)
		usleep(10000);
	for (int i = 150; i < 200; i++)
		emit_test(0, i);
	kg_audit_writer_stop();
	kg_audit_writer_stats(&st);
	assert_int_equal(st.dropped, 0);
	const char *f[] = { moved, path };
	struct kg_audit_verify_result r;
	assert_int_equal(verify_files(f, 2, false, false, &r), KG_AV_OK);
	assert_int_equal(r.records, 202);
	struct lines l = read_lines(moved);
	assert_non_null(strstr(l.v[l.n - 1], "\"reason\":\"reopen\""));
	free_lines(&l);
	unlink(moved);
}

/* ---- volume ---- */

#define THREADS 4
#ifdef __SANITIZE_ADDRESS__
#define PER_THREAD 50000               /* ASan/UBSan: the plain build does the million */
#else
#define PER_THREAD 250000
#endif

static void *producer(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (int i = 0; i < PER_THREAD; i++)
		emit_test(t, i);
	return NULL;
}

static void test_million_events_four_threads(void **state)
{
	(void)state;
	unlink(path);
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_BLOCK, 65536);
	char err[256];
	double t0 = now_s();
	assert_int_equal(kg_audit_writer_start(&cfg, KEY, KEYLEN, err, sizeof(err)), 0);
	pthread_t th[THREADS];
	for (int t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, producer, (void *)(intptr_t)t);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	kg_audit_writer_stop();
	double t1 = now_s();
	struct kg_audit_stats st;
	kg_audit_writer_stats(&st);
	assert_int_equal(st.submitted, THREADS * PER_THREAD);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.written, THREADS * PER_THREAD + 1);
	struct kg_audit_verify_result r;
	assert_int_equal(verify1(true, &r), KG_AV_OK);
	double t2 = now_s();
	assert_int_equal(r.records, THREADS * PER_THREAD + 1);
	/* Every event exactly once. */
	uint8_t *seen = calloc(THREADS * PER_THREAD, 1);
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	long n = 0;
	while (getline(&buf, &cap, f) > 0) {
		char *p = strstr(buf, ",\"t\":");
		int t, i;
		if (!p || sscanf(p, ",\"t\":%d,\"i\":%d", &t, &i) != 2)
			continue;
		assert_true(t >= 0 && t < THREADS && i >= 0 && i < PER_THREAD);
		assert_int_equal(seen[t * PER_THREAD + i], 0);
		seen[t * PER_THREAD + i] = 1;
		n++;
	}
	free(buf);
	fclose(f);
	free(seen);
	assert_int_equal(n, THREADS * PER_THREAD);
	printf("    %d events from %d threads: written in %.2f s (%.0f events/s), "
	       "verified in %.2f s, producers blocked %llu times\n", THREADS * PER_THREAD, THREADS,
	       t1 - t0,
	       THREADS * PER_THREAD / (t1 - t0), t2 - t1, (unsigned long long)st.blocked);
}

static void test_stop_writes_everything_queued(void **state)
{
	(void)state;
	unlink(path);
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_BLOCK, 100000);
	char err[256];
	assert_int_equal(kg_audit_writer_start(&cfg, NULL, 0, err, sizeof(err)), 0);
	for (int i = 0; i < 50000; i++)
		emit_test(0, i);
	kg_audit_writer_stop();                /* at once: the queue is still full */
	struct kg_audit_verify_result r;
	assert_int_equal(verify1(false, &r), KG_AV_OK);
	assert_int_equal(r.records, 50001);
	assert_false(kg_audit_writer_running());
}

/* ---- a failing disk (child processes: RLIMIT_FSIZE is per process) ---- */

static atomic_int produced;

static void *slow_producer(void *arg)
{
	int n = (int)(intptr_t)arg;
	for (int i = 0; i < n; i++) {
		emit_test(1, i);
		atomic_fetch_add(&produced, 1);
	}
	return NULL;
}

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "child: %s:%d: %s failed\n", \
	__FILE__, __LINE__, #c); _exit(1); } } while (0)

static void wait_written(uint64_t n)
{
	struct kg_audit_stats st;
	for (int k = 0; k < 500; k++) {
		kg_audit_writer_stats(&st);
		if (st.written >= n)
			return;
		usleep(10000);
	}
	CHECK(!"records written in time");
}

static void limit_file(off_t extra)
{
	struct stat sb;
	CHECK(stat(path, &sb) == 0);
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = (rlim_t)sb.st_size + (rlim_t)extra;
	CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

static void unlimit_file(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = rl.rlim_max;
	CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

/* Counts records by type, and sums "count" of audit_dropped records. */
static void census(long *tests, long *dropped_reported, long *write_errors)
{
	struct lines l = read_lines(path);
	*tests = *dropped_reported = *write_errors = 0;
	for (size_t i = 0; i < l.n; i++) {
		json_t *j = json_loads(l.v[i], 0, NULL);
		CHECK(j);
		const char *t = json_string_value(json_object_get(j, "type"));
		*tests += strcmp(t, "test") == 0;
		if (strcmp(t, "audit_dropped") == 0)
			*dropped_reported += json_integer_value(json_object_get(j, "count"));
		*write_errors += strcmp(t, "audit_write_error") == 0;
		json_decref(j);
	}
	free_lines(&l);
}

static void block_child(void)
{
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_BLOCK, 64);
	char err[256];
	CHECK(kg_audit_writer_start(&cfg, NULL, 0, err, sizeof(err)) == 0);
	for (int i = 0; i < 10; i++)
		emit_test(0, i);
	wait_written(10);
	limit_file(1500);                      /* the disk is (nearly) full */
	pthread_t th;
	pthread_create(&th, NULL, slow_producer, (void *)(intptr_t)1000);
	usleep(600000);
	struct kg_audit_stats st;
	kg_audit_writer_stats(&st);
	int stuck = atomic_load(&produced);
	fprintf(stderr, "    block: disk full: %d of 1000 queued, producer waits %llu, "
		"write errors %llu\n", stuck, (unsigned long long)st.blocked,
		(unsigned long long)st.write_errors);
	CHECK(stuck < 1000);                   /* the producer waits... */
	CHECK(st.blocked > 0 && st.write_errors > 0 && st.dropped == 0);
	unlimit_file();                        /* ...until the disk has room */
	pthread_join(th, NULL);
	kg_audit_writer_stop();
	kg_audit_writer_stats(&st);
	CHECK(st.dropped == 0);
	struct kg_audit_verify_result r;
	const char *f[] = { path };
	CHECK(kg_audit_verify(f, 1, NULL, 0, false, &r) == KG_AV_OK);
	long tests, dropped, errors;
	census(&tests, &dropped, &errors);
	CHECK(tests == 1010 && dropped == 0 && errors == 1);
}

static void drop_child(void)
{
	struct kg_audit_cfg cfg = cfg_for(KG_AUDIT_DROP, 64);
	char err[256];
	CHECK(kg_audit_writer_start(&cfg, NULL, 0, err, sizeof(err)) == 0);
	for (int i = 0; i < 10; i++)
		emit_test(0, i);
	wait_written(10);
	limit_file(1500);
	double t0 = now_s();
	slow_producer((void *)(intptr_t)1000);
	double t1 = now_s();
	CHECK(t1 - t0 < 2.0);                  /* never waits */
	usleep(300000);
	struct kg_audit_stats st;
	kg_audit_writer_stats(&st);
	CHECK(st.dropped > 0 && st.write_errors > 0);
	unlimit_file();
	for (int i = 0; i < 5; i++)
		emit_test(2, i);
	kg_audit_writer_stop();
	kg_audit_writer_stats(&st);
	struct kg_audit_verify_result r;
	const char *f[] = { path };
	CHECK(kg_audit_verify(f, 1, NULL, 0, false, &r) == KG_AV_OK);
	long tests, dropped, errors;
	census(&tests, &dropped, &errors);
	fprintf(stderr, "    drop: disk full: %ld of 1015 written, %ld dropped and reported\n",
		tests, dropped);
	CHECK(dropped > 0 && (uint64_t)dropped == st.dropped);
	CHECK(tests + dropped == 1015);        /* every record written or counted */
}

static void run_child(void (*fn)(void), const char *what)
{
	unlink(path);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: child failed (status %d)", what, status);
}

static void test_disk_full_block_loses_nothing(void **state)
{
	(void)state;
	run_child(block_child, "block policy");
}

static void test_disk_full_drop_counts_and_reports(void **state)
{
	(void)state;
	run_child(drop_child, "drop policy");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_hash_and_hmac),
		cmocka_unit_test(test_written_log_verifies),
		cmocka_unit_test(test_tamper_edited),
		cmocka_unit_test(test_tamper_deleted),
		cmocka_unit_test(test_tamper_inserted),
		cmocka_unit_test(test_tamper_reordered),
		cmocka_unit_test(test_tamper_truncated),
		cmocka_unit_test(test_live_file_is_not_truncated),
		cmocka_unit_test(test_rotation_seals_link_files),
		cmocka_unit_test(test_rotation_by_time),
		cmocka_unit_test(test_restart_continues_chain),
		cmocka_unit_test(test_reopen_after_logrotate),
		cmocka_unit_test(test_million_events_four_threads),
		cmocka_unit_test(test_stop_writes_everything_queued),
		cmocka_unit_test(test_disk_full_block_loses_nothing),
		cmocka_unit_test(test_disk_full_drop_counts_and_reports),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
