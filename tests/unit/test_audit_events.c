/*
 * test_audit_events.c - unit tests of the audit records the proxy's hooks
 * produce (audit/audit.c, conn_hooks.c, traffic.c, admin.c) and of the
 * "audit" configuration section (proxy/config/config_audit.c).
 *
 * A configuration is loaded from a temporary file, the audit log started
 * on a temporary directory, and a connection is played without sockets:
 * open, login, ApiVersions v3, Produce (record count from the batch
 * header), Fetch, OffsetCommit, denials (grouped within the window),
 * CreateTopics with its response, close. The file is then verified and
 * read back record by record.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <sys/stat.h>

#include "audit/audit.h"
#include "audit/verify.h"
#include "config/config.h"
#include "kafka/codec.h"

static char dir[64], path[128], cfgpath[128];
static char err[1024];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/kg-audit-ev-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(cfgpath, sizeof(cfgpath), "%s/gw.json", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (getenv("KG_AUDIT_KEEP")) {          /* to look at the records */
		printf("kept %s\n", dir);
		return 0;
	}
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[256];
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) > 0)
			unlink(p);
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

/* Loads a gateway config whose "audit" section is `audit` (JSON text). */
static struct kg_config *load_cfg(const char *audit)
{
	FILE *f = fopen(cfgpath, "w");
	assert_non_null(f);
	fprintf(f, "{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100},"
		   " \"upstream\": {\"bootstrap_servers\": [\"127.0.0.1:29092\"]},"
		   " \"acl\": {\"policy_file\": \"policy.json\"}%s%s}",
		audit ? ", \"audit\": " : "", audit ? audit : "");
	fclose(f);
	err[0] = '\0';
	return kg_config_load(cfgpath, err, sizeof(err));
}

static void expect_error(const char *audit, const char *want)
{
	struct kg_config *c = load_cfg(audit);
	if (c) {
		kg_config_free(c);
		fail_msg("accepted, expected: %s", want);
	}
	if (!strstr(err, want) || strncmp(err, cfgpath, strlen(cfgpath)) != 0)
		fail_msg("error\n  %s\ndoes not name the file and contain\n  %s", err, want);
}

static void test_config_section(void **state)
{
	(void)state;
	struct kg_config *c = load_cfg(NULL);
	assert_non_null(c);
	assert_null(c->audit);                /* no section: no audit log */
	assert_int_equal(kg_audit_check(c->audit, err, sizeof(err)), 0);
	kg_config_free(c);
	char text[512];
	snprintf(text, sizeof(text), "{\"path\": \"%s\"}", path);
	c = load_cfg(text);
	assert_non_null(c);
	const struct kg_audit_cfg *a = c->audit;
	assert_true(a->enabled);
	assert_int_equal(a->sink, KG_AUDIT_SINK_FILE);
	assert_int_equal(a->queue_size, 65536);
	assert_int_equal(a->on_full, KG_AUDIT_BLOCK);
	assert_int_equal(a->fsync, KG_AUDIT_FSYNC_INTERVAL);
	assert_int_equal(a->fsync_interval_ms, 1000);
	assert_int_equal(a->summary_interval_ms, 60000);
	assert_int_equal(a->denial_window_ms, 60000);
	assert_false(a->per_request);
	assert_non_null(strstr(a->instance_id, ":9092"));
	kg_config_free(c);
	expect_error("{\"path\": \"/x\", \"bogus\": 1}", "$.audit.bogus: unknown key");
	expect_error("{\"sink\": \"kafka\"}", "$.audit.sink: must be one of");
	expect_error("{\"sink\": \"file\"}", "$.audit.path: missing");
	expect_error("{\"sink\": \"stdout\", \"path\": \"/x\"}", "$.audit.path: only with sink");
	expect_error("{\"path\": \"/x\", \"on_full\": \"wait\"}", "$.audit.on_full: must be one of");
	expect_error("{\"path\": \"/x\", \"fsync\": 1}", "$.audit.fsync: must be a non-empty string");
	expect_error("{\"path\": \"/x\", \"rotate_bytes\": 100}", "$.audit.rotate_bytes: must be 0");
	expect_error("{\"path\": \"/x\", \"per_request\": \"yes\"}",
		     "$.audit.per_request: must be true or false");
	expect_error("{\"sink\": \"syslog\", \"syslog_facility\": \"kern\"}",
		     "$.audit.syslog_facility: must be one of");
	expect_error("{\"path\": \"/x\", \"queue_size\": 1}", "$.audit.queue_size: must be an integer");
	/* check: the HMAC key file must exist and be private */
	snprintf(text, sizeof(text), "{\"path\": \"%s\", \"hmac_key_file\": \"%s/key\"}", path, dir);
	c = load_cfg(text);
	assert_non_null(c);
	assert_int_equal(kg_audit_check(c->audit, err, sizeof(err)), -1);
	char key[160];
	snprintf(key, sizeof(key), "%s/key", dir);
	FILE *f = fopen(key, "w");
	fputs("secret-key\n", f);
	fclose(f);
	chmod(key, 0644);
	assert_int_equal(kg_audit_check(c->audit, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	chmod(key, 0600);
	assert_int_equal(kg_audit_check(c->audit, err, sizeof(err)), 0);
	kg_config_free(c);
	unlink(key);
}

/* ---- a connection played through the hooks ---- */

static struct kc_arena arena;

static struct kc_obj *new_req(int16_t key, int16_t ver)
{
	return kc_obj_new(kc_api_find(key)->request->body, ver, &arena);
}

static struct kc_obj *new_resp(int16_t key, int16_t ver)
{
	return kc_obj_new(kc_api_find(key)->response->body, ver, &arena);
}

/* Resizes array field `name` of o to n elements. */
static struct kc_value *array(struct kc_obj *o, const char *name, int16_t ver, int32_t n)
{
	struct kc_value *v = kc_get(o, name);
	int fi = kc_field_index(o->st, name);
	assert_true(v && fi >= 0);
	assert_int_equal(kc_array_resize(&arena, v, &o->st->fields[fi], ver, n), 0);
	return v;
}

static void set_str(struct kc_obj *o, const char *field, const char *s)
{
	assert_int_equal(kc_set_string(&arena, kc_get(o, field), s, strlen(s)), 0);
}

/* Produce v7 to "orders": one batch of 5 records (v2 header only). */
static struct kc_obj *produce_req(void)
{
	static uint8_t b[200];
	uint8_t batch[70] = { 0 };
	batch[11] = 58;                        /* batchLength: 70 - 12 */
	batch[16] = 2;                         /* magic */
	batch[60] = 5;                         /* records */
	size_t n = 0;
	memcpy(b + n, "\xff\xff\x00\x01\x00\x00\x03\xe8\x00\x00\x00\x01", 12);
	n += 12;                               /* no txn id, acks 1, 1000 ms, 1 topic */
	memcpy(b + n, "\x00\x06orders\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x46", 20);
	n += 20;                               /* name, 1 partition, index 0, 70 bytes */
	memcpy(b + n, batch, sizeof(batch));
	n += sizeof(batch);
	struct kc_obj *o;
	assert_int_equal(kc_decode_request(0, 7, b, n, &arena, &o), KC_OK);
	return o;
}

static json_t *records;                    /* the file, as JSON objects */

static void read_back(void)
{
	json_decref(records);
	records = json_array();
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = NULL;
	size_t cap = 0;
	while (getline(&buf, &cap, f) > 0) {
		json_t *j = json_loads(buf, 0, NULL);
		assert_non_null(j);
		json_array_append_new(records, j);
	}
	free(buf);
	fclose(f);
}

/* The i-th record (0-based) of `type` whose `key` equals `val` (NULL:
 * any), or NULL. */
static json_t *find(const char *type, const char *key, const char *val, int i)
{
	size_t k;
	json_t *j;
	json_array_foreach(records, k, j) {
		if (strcmp(json_string_value(json_object_get(j, "type")), type) != 0)
			continue;
		json_t *v = key ? json_object_get(j, key) : NULL;
		if (key && !(v && json_is_string(v) && strcmp(json_string_value(v), val) == 0))
			continue;
		if (i-- == 0)
			return j;
	}
	return NULL;
}

static json_int_t num(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);
	if (!json_is_integer(v))
		fail_msg("no integer %s in %s", key, json_dumps(j, 0));
	return json_integer_value(v);
}

static const char *str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	if (!s)
		fail_msg("no string %s in %s", key, json_dumps(j, 0));
	return s;
}

static void play_connection(bool per_request)
{
	char text[512];
	unlink(path);
	snprintf(text, sizeof(text), "{\"path\": \"%s\", \"instance_id\": \"gw-test\", "
		 "\"per_request\": %s, \"denial_window_ms\": 60000}", path,
		 per_request ? "true" : "false");
	struct kg_config *cfg = load_cfg(text);
	assert_non_null(cfg);
	assert_int_equal(kg_audit_start(cfg->audit, NULL, err, sizeof(err)), 0);
	assert_true(kg_audit_enabled());
	struct kg_audit_start_info info = { .config_path = cfg->path, .workers = 2,
					    .bootstrap_port = cfg->bootstrap_port,
					    .auth_mode = "none", .policy_file = cfg->acl_policy_file };
	kg_audit_gateway_start(&info);
	kg_audit_reload("policy", false, "policy.json: roles[0]: unknown operation 'REED'");

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(40001) };
	inet_pton(AF_INET, "10.1.2.3", &sa.sin_addr);
	struct kg_audit_conn_info ci = { .id = 7, .broker = 2,
					 .peer = (const struct sockaddr *)&sa };
	struct kg_audit_conn *c = kg_audit_conn_new(&ci);
	assert_non_null(c);
	kg_audit_conn_open(c);
	kg_audit_auth(c, &(struct kg_audit_auth){ .ok = false, .mechanism = "SCRAM-SHA-512",
						 .reason = "invalid credentials" });
	kg_audit_principal(c, "User:alice");
	kg_audit_auth(c, &(struct kg_audit_auth){ .ok = true, .mechanism = "SCRAM-SHA-512",
						 .principal = "User:alice" });

	kc_arena_init(&arena);
	struct kc_obj *av = new_req(18, 3);
	set_str(av, "ClientSoftwareName", "apache-kafka-java");
	set_str(av, "ClientSoftwareVersion", "3.6.2");
	kg_audit_request(c, 18, 3, av, 40);

	struct kg_audit_decision allow = {
		.api_key = 0, .resource_type = "topic", .name = "orders", .name_len = 6,
		.operation = "WRITE", .allowed = true, .reason = "allow_rule", .role = "writers",
		.rule = 0, .rule_text = "allow topic prefix 'ord' [WRITE]" };
	struct kg_audit_decision deny = {
		.api_key = 1, .resource_type = "topic", .name = "secret", .name_len = 6,
		.operation = "READ", .allowed = false, .reason = "no_rule", .rule = -1 };
	kg_audit_decision(c, &allow);
	kg_audit_request(c, 0, 7, produce_req(), 120);
	kg_audit_request(c, 0, 7, produce_req(), 120);
	struct kc_obj *fetch = new_req(1, 12);
	set_str(array(fetch, "Topics", 12, 1)->u.arr.v[0].u.obj, "Topic", "orders");
	kg_audit_request(c, 1, 12, fetch, 80);
	struct kc_obj *oc = new_req(8, 8);
	set_str(oc, "GroupId", "billing");
	kg_audit_request(c, 8, 8, oc, 60);
	for (int i = 0; i < 3; i++)
		kg_audit_decision(c, &deny);

	/* CreateTopics: allowed, asked with 3 partitions, the broker says
	 * the topic exists. */
	struct kg_audit_decision create = allow;
	create.api_key = 19;
	create.name = "new-topic";
	create.name_len = 9;
	create.operation = "CREATE";
	kg_audit_decision(c, &create);
	assert_true(kg_audit_wants_response(19));
	assert_false(kg_audit_wants_response(0));
	struct kc_obj *ct = new_req(19, 5);
	struct kc_obj *t0 = array(ct, "Topics", 5, 2)->u.arr.v[0].u.obj;
	struct kc_obj *t1 = ct->vals[kc_field_index(ct->st, "Topics")].u.arr.v[1].u.obj;
	set_str(t0, "Name", "new-topic");
	kc_get(t0, "NumPartitions")->u.i = 3;
	kc_get(t0, "ReplicationFactor")->u.i = 3;
	set_str(t1, "Name", "old-topic");
	kg_audit_request(c, 19, 5, ct, 100);
	struct kc_obj *cr = new_resp(19, 5);
	struct kc_value *rt = array(cr, "Topics", 5, 2);
	set_str(rt->u.arr.v[0].u.obj, "Name", "new-topic");
	set_str(rt->u.arr.v[1].u.obj, "Name", "old-topic");
	kc_get(rt->u.arr.v[1].u.obj, "ErrorCode")->u.i = 36;
	set_str(rt->u.arr.v[1].u.obj, "ErrorMessage", "Topic 'old-topic' already exists.");
	kg_audit_response(c, 19, 5, cr);
	kg_audit_responded(c);

	struct kg_audit_close how = { .reason = "client closed", .bytes_from_client = 1234,
				      .bytes_from_broker = 5678, .requests = 6 };
	kg_audit_conn_close(c, &how);
	kc_arena_free(&arena);
	kg_audit_stopping("SIGTERM");
	kg_audit_stop();
	assert_false(kg_audit_enabled());
	kg_config_free(cfg);

	const char *f[] = { path };
	struct kg_audit_verify_result r;
	if (kg_audit_verify(f, 1, NULL, 0, false, &r) != KG_AV_OK)
		fail_msg("verify: %s at line %llu: %s", kg_audit_verdict_name(r.verdict),
			 (unsigned long long)r.line, r.msg);
	read_back();
}

static void test_connection_records(void **state)
{
	(void)state;
	play_connection(false);
	json_t *j = find("gateway_start", NULL, NULL, 0);
	assert_non_null(j);
	assert_string_equal(str(j, "instance"), "gw-test");
	assert_string_equal(str(j, "previous_run"), "new");
	assert_int_equal(num(j, "workers"), 2);
	j = find("reload", "what", "policy", 0);
	assert_non_null(j);
	assert_string_equal(str(j, "result"), "failed");
	j = find("connection_open", NULL, NULL, 0);
	assert_non_null(j);
	assert_int_equal(num(j, "conn"), 7);
	assert_string_equal(str(j, "listener"), "broker-2");
	assert_string_equal(str(j, "client_address"), "10.1.2.3");
	assert_int_equal(num(j, "client_port"), 40001);
	assert_null(json_object_get(j, "principal"));
	j = find("authentication", "result", "failure", 0);
	assert_string_equal(str(j, "reason"), "invalid credentials");
	j = find("authentication", "result", "success", 0);
	assert_string_equal(str(j, "principal"), "User:alice");
	assert_string_equal(str(j, "mechanism"), "SCRAM-SHA-512");
	/* Produce summarised: 2 requests, 10 records, 140 bytes. */
	j = find("traffic_summary", "api", "Produce", 0);
	assert_non_null(j);
	assert_string_equal(str(j, "resource_type"), "topic");
	assert_string_equal(str(j, "resource_name"), "orders");
	assert_int_equal(num(j, "requests"), 2);
	assert_int_equal(num(j, "records"), 10);
	assert_int_equal(num(j, "bytes"), 140);
	assert_string_equal(str(j, "client_software_name"), "apache-kafka-java");
	assert_string_equal(str(j, "client_software_version"), "3.6.2");
	j = find("traffic_summary", "api", "Fetch", 0);
	assert_string_equal(str(j, "resource_name"), "orders");
	j = find("traffic_summary", "api", "OffsetCommit", 0);
	assert_string_equal(str(j, "resource_type"), "group");
	assert_string_equal(str(j, "resource_name"), "billing");
	/* Allowed data-plane decisions are not written one by one... */
	assert_null(find("authorization", "resource_name", "orders", 0));
	/* ...denials are: the first at once, the 2 repeats grouped. */
	j = find("authorization", "resource_name", "secret", 0);
	assert_non_null(j);
	assert_string_equal(str(j, "decision"), "deny");
	assert_string_equal(str(j, "operation"), "READ");
	assert_string_equal(str(j, "api"), "Fetch");
	assert_int_equal(num(j, "count"), 1);
	assert_string_equal(str(json_object_get(j, "rule"), "reason"), "no_rule");
	j = find("authorization", "resource_name", "secret", 1);
	assert_non_null(j);
	assert_int_equal(num(j, "count"), 2);
	assert_non_null(json_object_get(j, "repeated_since"));
	assert_null(find("authorization", "resource_name", "secret", 2));
	/* An admin API's allowed decision is written, with its rule. */
	j = find("authorization", "resource_name", "new-topic", 0);
	assert_string_equal(str(j, "decision"), "allow");
	assert_string_equal(str(json_object_get(j, "rule"), "role"), "writers");
	assert_string_equal(str(json_object_get(j, "rule"), "text"),
			    "allow topic prefix 'ord' [WRITE]");
	/* The admin outcome, one record per topic. */
	j = find("admin", "resource_name", "new-topic", 0);
	assert_non_null(j);
	assert_string_equal(str(j, "action"), "create");
	assert_string_equal(str(j, "result"), "ok");
	assert_int_equal(num(json_object_get(j, "request"), "partitions"), 3);
	j = find("admin", "resource_name", "old-topic", 0);
	assert_string_equal(str(j, "result"), "failed");
	assert_int_equal(num(j, "error_code"), 36);
	assert_string_equal(str(j, "error"), "TOPIC_ALREADY_EXISTS");
	assert_string_equal(str(j, "error_message"), "Topic 'old-topic' already exists.");
	j = find("connection_close", NULL, NULL, 0);
	assert_non_null(j);
	assert_string_equal(str(j, "reason"), "client closed");
	assert_int_equal(num(j, "bytes_from_client"), 1234);
	assert_int_equal(num(j, "bytes_from_broker"), 5678);
	assert_int_equal(num(j, "requests"), 6);
	assert_int_equal(num(j, "responses"), 1);
	assert_true(json_is_real(json_object_get(j, "duration_ms")));
	j = find("gateway_stop", NULL, NULL, 0);
	assert_string_equal(str(j, "reason"), "SIGTERM");
	/* The order: start first, the stop seal last. */
	assert_string_equal(str(json_array_get(records, 0), "type"), "gateway_start");
	json_t *last = json_array_get(records, json_array_size(records) - 1);
	assert_string_equal(str(last, "type"), "seal");
	assert_string_equal(str(last, "reason"), "stop");
}

static void test_per_request_records(void **state)
{
	(void)state;
	play_connection(true);
	assert_null(find("traffic_summary", NULL, NULL, 0));
	json_t *j = find("request", "api", "Produce", 0);
	assert_non_null(j);
	assert_int_equal(num(j, "api_version"), 7);
	assert_int_equal(num(j, "records"), 5);
	json_t *res = json_array_get(json_object_get(j, "resources"), 0);
	assert_string_equal(str(res, "type"), "topic");
	assert_string_equal(str(res, "name"), "orders");
	assert_non_null(find("request", "api", "Produce", 1));
	assert_non_null(find("request", "api", "ApiVersions", 0));
	/* Every allowed decision is written too. */
	j = find("authorization", "resource_name", "orders", 0);
	assert_non_null(j);
	assert_string_equal(str(j, "decision"), "allow");
	json_decref(records);
	records = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_section),
		cmocka_unit_test(test_connection_records),
		cmocka_unit_test(test_per_request_records),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
