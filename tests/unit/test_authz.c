/*
 * test_authz.c - unit tests of proxy/authz*.c: which resource, operation
 * and error code each API gets, how a partly denied request is split and
 * its errors merged back, and what is hidden in responses. Requests are
 * built with the codec, decided for a fake connection of User:alice from
 * 127.0.0.1, with a policy parsed from text (the real engine, acl/).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "enforce/authz.h"
#include "enforce/current_policy.h"
#include "kafka/codec.h"
#include "loop/conn-t.h"
#include "acl/policy.h"
#include "route/topics.h"

static const char *const POLICY =
	"{\"super_users\": [\"User:admin\"], \"roles\": [{\"name\": \"app\","
	" \"members\": [\"User:alice\"], \"rules\": ["
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"prefix\": \"ok-\", \"operations\": [\"ALL\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"ro\", \"operations\": [\"READ\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"w-only\", \"operations\": [\"WRITE\"]},"
	"  {\"effect\": \"deny\", \"resource\": \"topic\", \"name\": \"ok-secret\", \"operations\": [\"ALL\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"group\", \"prefix\": \"g-\", \"operations\": [\"READ\", \"DESCRIBE\"]},"
	"  {\"effect\": \"allow\", \"resource\": \"transactional_id\", \"name\": \"tx\", \"operations\": [\"WRITE\", \"DESCRIBE\"]}"
	"]}]}";

static struct kg_conn conn;
static struct kc_arena ta;     /* request trees of the test */

static char principal_buf[KG_AUTHN_PRINCIPAL_MAX + 1]; /* the connection's principal */

static int setup(void **state)
{
	(void)state;
	char err[512];
	struct kg_policy *p = kg_policy_parse(POLICY, "test", err, sizeof(err));
	if (!p)
		fail_msg("%s", err);
	kg_current_policy_swap(p);
	memset(&conn, 0, sizeof(conn));
	kc_arena_init(&conn.arena);
	kc_arena_init(&ta);
	strcpy(principal_buf, "User:alice");
	conn.authn.principal = principal_buf;
	conn.authz.principal = principal_buf;
	conn.authz.peer = (const struct sockaddr *)&conn.peer_sa;
	struct sockaddr_in *sin = (struct sockaddr_in *)&conn.peer_sa;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kg_authz_release(&conn.authz);
	kc_arena_free(&conn.arena);
	kc_arena_free(&ta);
	kg_topics_clear();
	return 0;
}

/* ---- building requests ---- */

static struct kc_obj *req_new(int16_t key, int16_t ver)
{
	struct kc_obj *o = kc_obj_new(kc_api_find(key)->request->body, ver, &ta);
	assert_non_null(o);
	return o;
}

static struct kc_value *field(struct kc_obj *o, const char *name)
{
	struct kc_value *v = kc_get(o, name);
	if (!v)
		fail_msg("no field %s in %s", name, o->st->name);
	return v;
}

static void set_str(struct kc_obj *o, const char *name, const char *s)
{
	assert_int_equal(kc_set_string(&ta, field(o, name), s, strlen(s)), 0);
}

/* Appends an element to array `name`; returns it (struct arrays) or NULL
 * after setting it to s (string arrays). */
static struct kc_obj *add(struct kc_obj *o, int16_t ver, const char *name, const char *s)
{
	int fi = kc_field_index(o->st, name);
	assert_true(fi >= 0);
	struct kc_value *v = &o->vals[fi];
	int32_t n = v->u.arr.n > 0 ? v->u.arr.n : 0;
	assert_int_equal(kc_array_resize(&ta, v, &o->st->fields[fi], ver, n + 1), 0);
	if (s) {
		assert_int_equal(kc_set_string(&ta, &v->u.arr.v[n], s, strlen(s)), 0);
		return NULL;
	}
	return v->u.arr.v[n].u.obj;
}

static int32_t count(struct kc_obj *o, const char *name)
{
	return field(o, name)->u.arr.n;
}

static struct kc_obj *item(struct kc_obj *o, const char *name, int32_t i)
{
	struct kc_value *v = field(o, name);
	assert_true(i < v->u.arr.n);
	return v->u.arr.v[i].u.obj;
}

static const char *str(struct kc_obj *o, const char *name)
{
	static char buf[256];
	struct kc_value *v = field(o, name);
	if (v->u.b.len < 0)
		return "<null>";
	if (v->u.b.len > 0)
		memcpy(buf, v->u.b.p, (size_t)v->u.b.len);
	buf[v->u.b.len] = '\0';
	return buf;
}

/* Element i of the string array `name`. */
static const char *str_at(struct kc_obj *o, const char *name, int32_t i)
{
	static char buf[256];
	struct kc_value *v = field(o, name);
	assert_true(i < v->u.arr.n);
	struct kc_value *e = &v->u.arr.v[i];
	if (e->u.b.len > 0)
		memcpy(buf, e->u.b.p, (size_t)e->u.b.len);
	buf[e->u.b.len] = '\0';
	return buf;
}

static int64_t num(struct kc_obj *o, const char *name)
{
	return field(o, name)->u.i;
}

static struct kg_authz_out decide(int16_t key, int16_t ver, struct kc_obj *req)
{
	struct kc_req_header h = { .api_key = key, .api_version = ver, .correlation_id = 7 };
	struct kg_authz_out out;
	kg_authz_request(&conn.authz, &conn.arena, &h, req, &out);
	kg_authz_commit(&conn.authz, key);
	return out;
}

/* A produce request: topics[i] with one partition holding a batch whose
 * attributes mark it transactional or not. */
static uint8_t batch_plain[61], batch_txn[61];

static struct kc_obj *produce_req(int16_t ver, int16_t acks, const char *const *topics, int n,
				  bool txn)
{
	batch_plain[16] = batch_txn[16] = 2;       /* magic */
	batch_txn[22] = 0x10;                      /* transactional */
	struct kc_obj *r = req_new(0, ver);
	field(r, "Acks")->u.i = acks;
	for (int i = 0; i < n; i++) {
		struct kc_obj *t = add(r, ver, "TopicData", NULL);
		set_str(t, "Name", topics[i]);
		struct kc_obj *p = add(t, ver, "PartitionData", NULL);
		struct kc_value *rec = field(p, "Records");
		rec->u.b.p = txn ? batch_txn : batch_plain;
		rec->u.b.len = sizeof(batch_plain);
	}
	return r;
}

/* ---- Produce ---- */

static void test_produce_split(void **state)
{
	(void)state;
	const char *t[] = { "ok-a", "other", "ok-secret", "ok-b" };
	struct kc_obj *r = produce_req(9, -1, t, 4, false);
	struct kg_authz_out o = decide(0, 9, r);
	assert_int_equal(o.verdict, KG_AUTHZ_REWRITE);
	assert_int_equal(count(r, "TopicData"), 2);
	assert_string_equal(str(item(r, "TopicData", 0), "Name"), "ok-a");
	assert_string_equal(str(item(r, "TopicData", 1), "Name"), "ok-b");
	assert_non_null(o.merge);
	assert_int_equal(count(o.merge, "Responses"), 2);
	for (int i = 0; i < 2; i++) {
		struct kc_obj *tr = item(o.merge, "Responses", i);
		assert_int_equal(num(item(tr, "PartitionResponses", 0), "ErrorCode"), 29);
	}
}

static void test_produce_all_denied_is_local(void **state)
{
	(void)state;
	const char *t[] = { "other", "ro" };
	struct kc_obj *r = produce_req(9, -1, t, 2, false);
	struct kg_authz_out o = decide(0, 9, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	assert_int_equal(count(o.local, "Responses"), 2);
	assert_int_equal(num(item(item(o.local, "Responses", 1), "PartitionResponses", 0),
			     "ErrorCode"), 29);
}

static void test_produce_acks0_denied_closes(void **state)
{
	(void)state;
	const char *t[] = { "ok-a", "other" };
	struct kg_authz_out o = decide(0, 9, produce_req(9, 0, t, 2, false));
	assert_int_equal(o.verdict, KG_AUTHZ_CLOSE);
	const char *ok[] = { "ok-a" };
	o = decide(0, 9, produce_req(9, 0, ok, 1, false));
	assert_int_equal(o.verdict, KG_AUTHZ_FORWARD);
}

static void test_produce_transactional(void **state)
{
	(void)state;
	const char *t[] = { "ok-a", "ok-b" };
	struct kc_obj *r = produce_req(9, -1, t, 2, true);
	set_str(r, "TransactionalId", "not-mine");
	struct kg_authz_out o = decide(0, 9, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	for (int i = 0; i < 2; i++)
		assert_int_equal(num(item(item(o.local, "Responses", i), "PartitionResponses", 0),
				     "ErrorCode"), 53);
	r = produce_req(9, -1, t, 2, true);
	set_str(r, "TransactionalId", "tx");
	assert_int_equal(decide(0, 9, r).verdict, KG_AUTHZ_FORWARD);
	/* transactional batches without an id at all */
	r = produce_req(9, -1, t, 2, true);
	assert_int_equal(decide(0, 9, r).verdict, KG_AUTHZ_LOCAL);
}

/* ---- Fetch ---- */

static void test_fetch_by_topic_id(void **state)
{
	(void)state;
	uint8_t known_ok[16] = { 1, 2, 3 }, known_denied[16] = { 4, 5, 6 }, unknown[16] = { 7 };
	kg_topics_learn(known_ok, "ok-a", 4);
	kg_topics_learn(known_denied, "other", 5);
	struct kc_obj *r = req_new(1, 13);
	field(r, "ReplicaId")->u.i = -1;
	field(r, "SessionEpoch")->u.i = 0;     /* asks for a session */
	const uint8_t *ids[] = { known_ok, known_denied, unknown };
	for (int i = 0; i < 3; i++) {
		struct kc_obj *t = add(r, 13, "Topics", NULL);
		memcpy(field(t, "TopicId")->u.uuid, ids[i], 16);
		add(t, 13, "Partitions", NULL);
	}
	struct kg_authz_out o = decide(1, 13, r);
	assert_int_equal(o.verdict, KG_AUTHZ_REWRITE);
	assert_int_equal(count(r, "Topics"), 1);
	assert_int_equal(num(r, "SessionEpoch"), -1);    /* no session: full fetches */
	assert_int_equal(num(r, "SessionId"), 0);
	assert_int_equal(count(o.merge, "Responses"), 2);
	int16_t codes[2];
	for (int i = 0; i < 2; i++) {
		struct kc_obj *tr = item(o.merge, "Responses", i);
		codes[i] = (int16_t)num(item(tr, "Partitions", 0), "ErrorCode");
	}
	assert_true((codes[0] == 29 && codes[1] == 100) || (codes[0] == 100 && codes[1] == 29));
	assert_int_equal(num(o.merge, "ErrorCode"), 0);
}

static void test_fetch_follower_needs_cluster_action(void **state)
{
	(void)state;
	struct kc_obj *r = req_new(1, 12);
	field(r, "ReplicaId")->u.i = 2;
	struct kc_obj *t = add(r, 12, "Topics", NULL);
	set_str(t, "Topic", "ok-a");
	add(t, 12, "Partitions", NULL);
	assert_int_equal(decide(1, 12, r).verdict, KG_AUTHZ_LOCAL);
}

/* ---- Metadata ---- */

static void test_metadata_named(void **state)
{
	(void)state;
	struct kc_obj *r = req_new(3, 12);
	field(r, "Topics")->u.arr.n = 0;
	set_str(add(r, 12, "Topics", NULL), "Name", "ok-a");
	set_str(add(r, 12, "Topics", NULL), "Name", "hidden");
	set_str(add(r, 12, "Topics", NULL), "Name", "ro");
	field(r, "AllowAutoTopicCreation")->u.i = 1;
	struct kg_authz_out o = decide(3, 12, r);
	assert_int_equal(o.verdict, KG_AUTHZ_REWRITE);
	assert_int_equal(count(r, "Topics"), 2);
	/* "ro" may be described but not created: no auto-creation at all */
	assert_int_equal(num(r, "AllowAutoTopicCreation"), 0);
	assert_true(o.post & KG_POST_AUTOCREATE);
	assert_int_equal(count(o.merge, "Topics"), 1);
	struct kc_obj *mt = item(o.merge, "Topics", 0);
	assert_string_equal(str(mt, "Name"), "hidden");
	assert_int_equal(num(mt, "ErrorCode"), 29);
}

/* Broker answer to an all-topics Metadata: what alice may not describe
 * disappears, her authorized operations are computed. */
static void test_metadata_all_topics_filtered(void **state)
{
	(void)state;
	struct kc_obj *r = req_new(3, 12);
	field(r, "Topics")->u.arr.n = -1;
	struct kg_authz_out o = decide(3, 12, r);
	assert_int_equal(o.verdict, KG_AUTHZ_FORWARD);
	assert_true(o.post & KG_POST_ALL_TOPICS);

	struct kc_obj *resp = kc_obj_new(kc_api_find(3)->response->body, 12, &ta);
	const char *names[] = { "ok-a", "secret-x", "ro", "ok-secret" };
	for (int i = 0; i < 4; i++) {
		struct kc_obj *t = add(resp, 12, "Topics", NULL);
		set_str(t, "Name", names[i]);
		field(t, "TopicAuthorizedOperations")->u.i = 0xff8;
		field(t, "TopicId")->u.uuid[0] = (uint8_t)(10 + i);
	}
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 3, 12, o.post, NULL, 0, resp), 1);
	assert_int_equal(count(resp, "Topics"), 2);
	assert_string_equal(str(item(resp, "Topics", 0), "Name"), "ok-a");
	assert_string_equal(str(item(resp, "Topics", 1), "Name"), "ro");
	/* ro: READ (bit 3) and the implied DESCRIBE (bit 8) only */
	assert_int_equal(num(item(resp, "Topics", 1), "TopicAuthorizedOperations"),
			 (1 << 3) | (1 << 8));
	/* ids were learned, even of topics hidden from alice */
	uint8_t id[16] = { 11 };
	char buf[256];
	assert_int_equal(kg_topics_name(id, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "secret-x");
}

/* A reload takes DESCRIBE on "ok-b" away while a named Metadata is in
 * flight: the broker's answer for it becomes the broker's for a denied
 * topic (29, no partitions, zero id), it is not dropped. Asked by id, the
 * name goes instead of the id. */
static void test_metadata_named_policy_changed_in_flight(void **state)
{
	(void)state;
	for (int by_id = 0; by_id < 2; by_id++) {
		char err[512];
		struct kg_policy *p = kg_policy_parse(POLICY, "test", err, sizeof(err));
		assert_non_null(p);
		kg_current_policy_swap(p);
		uint8_t id_a[16] = { 1 }, id_b[16] = { 2 };
		kg_topics_learn(id_a, "ok-a", 4);
		kg_topics_learn(id_b, "ok-b", 4);
		struct kc_obj *r = req_new(3, 12);
		field(r, "Topics")->u.arr.n = 0;
		struct kc_obj *ta_ = add(r, 12, "Topics", NULL), *tb_ = add(r, 12, "Topics", NULL);
		if (by_id) {
			memcpy(field(ta_, "TopicId")->u.uuid, id_a, 16);
			memcpy(field(tb_, "TopicId")->u.uuid, id_b, 16);
		} else {
			set_str(ta_, "Name", "ok-a");
			set_str(tb_, "Name", "ok-b");
		}
		struct kg_authz_out o = decide(3, 12, r);
		assert_int_not_equal(o.verdict, KG_AUTHZ_LOCAL);
		assert_int_equal(count(r, "Topics"), 2);

		p = kg_policy_parse("{\"roles\": [{\"name\": \"app\", \"members\": [\"User:alice\"],"
				    " \"rules\": [{\"effect\": \"allow\", \"resource\": \"topic\","
				    " \"name\": \"ok-a\", \"operations\": [\"ALL\"]}]}]}",
				    "test", err, sizeof(err));
		assert_non_null(p);
		kg_current_policy_swap(p);

		struct kc_obj *resp = kc_obj_new(kc_api_find(3)->response->body, 12, &ta);
		const char *names[] = { "ok-a", "ok-b" };
		for (int i = 0; i < 2; i++) {
			struct kc_obj *t = add(resp, 12, "Topics", NULL);
			set_str(t, "Name", names[i]);
			memcpy(field(t, "TopicId")->u.uuid, i ? id_b : id_a, 16);
			add(t, 12, "Partitions", NULL);
		}
		assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 3, 12, o.post, NULL, 0,
						   resp), 1);
		assert_int_equal(count(resp, "Topics"), 2);
		struct kc_obj *a = item(resp, "Topics", 0), *b = item(resp, "Topics", 1);
		assert_int_equal(num(a, "ErrorCode"), 0);
		assert_int_equal(count(a, "Partitions"), 1);
		assert_int_equal(num(b, "ErrorCode"), 29);
		assert_int_equal(count(b, "Partitions"), 0);
		uint8_t zero[16] = { 0 };
		if (by_id) {
			assert_int_equal(field(b, "Name")->u.b.len, -1);
			assert_memory_equal(field(b, "TopicId")->u.uuid, id_b, 16);
		} else {
			assert_string_equal(str(b, "Name"), "ok-b");
			assert_memory_equal(field(b, "TopicId")->u.uuid, zero, 16);
		}
		kg_authz_release(&conn.authz);
	}
}

static void test_metadata_autocreate_denied_becomes_29(void **state)
{
	(void)state;
	struct kc_obj *resp = kc_obj_new(kc_api_find(3)->response->body, 12, &ta);
	struct kc_obj *t = add(resp, 12, "Topics", NULL);
	set_str(t, "Name", "ro");
	field(t, "ErrorCode")->u.i = 3;
	t = add(resp, 12, "Topics", NULL);
	set_str(t, "Name", "ok-new");
	field(t, "ErrorCode")->u.i = 3;
	kg_authz_response(&conn.authz, &conn.arena, 3, 12, KG_POST_FILTER | KG_POST_AUTOCREATE, NULL, 0, resp);
	assert_int_equal(num(item(resp, "Topics", 0), "ErrorCode"), 29);
	assert_int_equal(num(item(resp, "Topics", 1), "ErrorCode"), 3);
}

/* ---- merge of a split request's errors into the broker's answer ---- */

static void test_merge_into_response(void **state)
{
	(void)state;
	const char *t[] = { "ok-a", "other" };
	struct kg_authz_out o = decide(0, 9, produce_req(9, -1, t, 2, false));
	assert_int_equal(o.verdict, KG_AUTHZ_REWRITE);
	uint8_t buf[4096];
	int64_t n = kc_encode(o.merge, 9, kc_response_flexible(0, 9), buf, sizeof(buf));
	assert_true(n > 0);
	struct kc_obj *resp = kc_obj_new(kc_api_find(0)->response->body, 9, &ta);
	struct kc_obj *tr = add(resp, 9, "Responses", NULL);
	set_str(tr, "Name", "ok-a");
	add(tr, 9, "PartitionResponses", NULL);
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 0, 9, o.post, buf, (uint32_t)n, resp), 1);
	assert_int_equal(count(resp, "Responses"), 2);
	assert_string_equal(str(item(resp, "Responses", 1), "Name"), "other");
	assert_int_equal(num(item(item(resp, "Responses", 1), "PartitionResponses", 0),
			     "ErrorCode"), 29);
}

/* ---- groups, coordinators, transactions ---- */

static void test_offset_commit_group_denied(void **state)
{
	(void)state;
	struct kc_obj *r = req_new(8, 8);
	set_str(r, "GroupId", "other-group");
	struct kc_obj *t = add(r, 8, "Topics", NULL);
	set_str(t, "Name", "ok-a");
	add(t, 8, "Partitions", NULL);
	add(t, 8, "Partitions", NULL);
	struct kg_authz_out o = decide(8, 8, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	struct kc_obj *rt = item(o.local, "Topics", 0);
	assert_int_equal(count(rt, "Partitions"), 2);
	assert_int_equal(num(item(rt, "Partitions", 1), "ErrorCode"), 30);
	/* allowed group, one denied topic */
	set_str(r, "GroupId", "g-1");
	set_str(add(r, 8, "Topics", NULL), "Name", "w-only");
	o = decide(8, 8, r);
	assert_int_equal(o.verdict, KG_AUTHZ_REWRITE);
	assert_int_equal(count(r, "Topics"), 1);
	assert_string_equal(str(item(o.merge, "Topics", 0), "Name"), "w-only");
}

static void test_find_coordinator_keys(void **state)
{
	(void)state;
	struct kc_obj *r = req_new(10, 4);
	add(r, 4, "CoordinatorKeys", "g-1");
	add(r, 4, "CoordinatorKeys", "nope");
	struct kg_authz_out o = decide(10, 4, r);
	assert_int_equal(o.verdict, KG_AUTHZ_REWRITE);
	assert_int_equal(count(r, "CoordinatorKeys"), 1);
	struct kc_obj *c = item(o.merge, "Coordinators", 0);
	assert_string_equal(str(c, "Key"), "nope");
	assert_int_equal(num(c, "ErrorCode"), 30);
	/* v3: one key, transactional, whole response */
	r = req_new(10, 3);
	set_str(r, "Key", "tx-other");
	field(r, "KeyType")->u.i = 1;
	o = decide(10, 3, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	assert_int_equal(num(o.local, "ErrorCode"), 53);
	/* share coordinators are broker business */
	r = req_new(10, 6);
	field(r, "KeyType")->u.i = 2;
	add(r, 6, "CoordinatorKeys", "g-1");
	o = decide(10, 6, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
}

static void test_init_producer_id(void **state)
{
	(void)state;
	/* idempotent: no IDEMPOTENT_WRITE, but WRITE on some topic */
	struct kc_obj *r = req_new(22, 4);
	field(r, "TransactionalId")->u.b.len = -1;
	assert_int_equal(decide(22, 4, r).verdict, KG_AUTHZ_FORWARD);
	set_str(r, "TransactionalId", "tx");
	assert_int_equal(decide(22, 4, r).verdict, KG_AUTHZ_FORWARD);
	set_str(r, "TransactionalId", "tx2");
	struct kg_authz_out o = decide(22, 4, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	assert_int_equal(num(o.local, "ErrorCode"), 53);
	/* bob has no rule at all: idempotence refused with 31 */
	kg_authz_release(&conn.authz);
	strcpy(principal_buf, "User:bob");
	field(r, "TransactionalId")->u.b.len = -1;
	o = decide(22, 4, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	assert_int_equal(num(o.local, "ErrorCode"), 31);
	kg_authz_release(&conn.authz);
	strcpy(principal_buf, "User:alice");
}

static void test_add_partitions_to_txn_v3(void **state)
{
	(void)state;
	struct kc_obj *r = req_new(24, 3);
	set_str(r, "V3AndBelowTransactionalId", "tx");
	const char *names[] = { "ok-a", "ro" };
	for (int i = 0; i < 2; i++) {
		struct kc_obj *t = add(r, 3, "V3AndBelowTopics", NULL);
		set_str(t, "Name", names[i]);
		int fi = kc_field_index(t->st, "Partitions");
		assert_int_equal(kc_array_resize(&ta, &t->vals[fi], &t->st->fields[fi], 3, 2), 0);
		t->vals[fi].u.arr.v[0].u.i = 0;
		t->vals[fi].u.arr.v[1].u.i = 1;
	}
	struct kg_authz_out o = decide(24, 3, r);
	/* one topic may not be written: nothing is added; 29 on its
	 * partitions, OPERATION_NOT_ATTEMPTED (55) on the others */
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	assert_int_equal(count(o.local, "ResultsByTopicV3AndBelow"), 2);
	for (int i = 0; i < 2; i++) {
		struct kc_obj *t = item(o.local, "ResultsByTopicV3AndBelow", i);
		assert_string_equal(str(t, "Name"), names[i]);
		assert_int_equal(count(t, "ResultsByPartition"), 2);
		for (int j = 0; j < 2; j++) {
			struct kc_obj *pr = item(t, "ResultsByPartition", j);
			assert_int_equal(num(pr, "PartitionIndex"), j);
			assert_int_equal(num(pr, "PartitionErrorCode"), i == 0 ? 55 : 29);
		}
	}
	/* transactional id denied: 53 everywhere */
	set_str(r, "V3AndBelowTransactionalId", "other");
	o = decide(24, 3, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	assert_int_equal(num(item(item(o.local, "ResultsByTopicV3AndBelow", 1),
				  "ResultsByPartition", 0), "PartitionErrorCode"), 53);
}

/* ---- admin ---- */

static void test_describe_configs_per_resource_type(void **state)
{
	(void)state;
	struct kc_obj *r = req_new(32, 4);
	struct { int type; const char *name; } res[] = {
		{ 2, "ok-a" }, { 2, "other" }, { 32, "other-group" }, { 4, "1" } };
	for (int i = 0; i < 4; i++) {
		struct kc_obj *e = add(r, 4, "Resources", NULL);
		field(e, "ResourceType")->u.i = res[i].type;
		set_str(e, "ResourceName", res[i].name);
		field(e, "ConfigurationKeys")->u.arr.n = -1;
	}
	struct kg_authz_out o = decide(32, 4, r);
	assert_int_equal(o.verdict, KG_AUTHZ_REWRITE);
	assert_int_equal(count(r, "Resources"), 1);
	assert_int_equal(count(o.merge, "Results"), 3);
	int seen = 0;
	for (int i = 0; i < 3; i++) {
		struct kc_obj *e = item(o.merge, "Results", i);
		int64_t type = num(e, "ResourceType"), code = num(e, "ErrorCode");
		if (type == 2) { assert_int_equal(code, 29); seen |= 1; }
		if (type == 32) { assert_int_equal(code, 30); seen |= 2; }
		if (type == 4) { assert_int_equal(code, 31); seen |= 4; }
	}
	assert_int_equal(seen, 7);
}

static void test_delete_topics_by_id(void **state)
{
	(void)state;
	uint8_t id[16] = { 9, 9 };
	kg_topics_learn(id, "ro", 2);
	struct kc_obj *r = req_new(20, 6);
	struct kc_obj *t = add(r, 6, "Topics", NULL);
	field(t, "Name")->u.b.len = -1;
	memcpy(field(t, "TopicId")->u.uuid, id, 16);
	t = add(r, 6, "Topics", NULL);
	set_str(t, "Name", "ok-a");
	struct kg_authz_out o = decide(20, 6, r);
	/* ro may be read, not deleted; ok-a may be deleted */
	assert_int_equal(o.verdict, KG_AUTHZ_REWRITE);
	assert_int_equal(count(r, "Topics"), 1);
	assert_int_equal(num(item(o.merge, "Responses", 0), "ErrorCode"), 29);
	/* ro may be described: the error names it; an undescribable id stays nameless */
	assert_string_equal(str(item(o.merge, "Responses", 0), "Name"), "ro");
	uint8_t hidden[16] = { 9, 8 };
	kg_topics_learn(hidden, "secret", 6);
	r = req_new(20, 6);
	t = add(r, 6, "Topics", NULL);
	field(t, "Name")->u.b.len = -1;
	memcpy(field(t, "TopicId")->u.uuid, hidden, 16);
	o = decide(20, 6, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	assert_string_equal(str(item(o.local, "Responses", 0), "Name"), "<null>");
	assert_int_equal(num(item(o.local, "Responses", 0), "ErrorCode"), 29);
}

static void test_list_groups_filtered(void **state)
{
	(void)state;
	struct kc_obj *resp = kc_obj_new(kc_api_find(16)->response->body, 4, &ta);
	set_str(add(resp, 4, "Groups", NULL), "GroupId", "g-1");
	set_str(add(resp, 4, "Groups", NULL), "GroupId", "tenant-b");
	set_str(add(resp, 4, "Groups", NULL), "GroupId", "g-2");
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 16, 4, KG_POST_FILTER, NULL, 0, resp), 1);
	assert_int_equal(count(resp, "Groups"), 2);
	assert_string_equal(str(item(resp, "Groups", 1), "GroupId"), "g-2");
}

/* OffsetFetch v10 answers name topics by id only: the id map decides. */
static void test_offset_fetch_v10_by_id(void **state)
{
	(void)state;
	uint8_t mine[16] = { 21 }, theirs[16] = { 22 }, unknown[16] = { 23 };
	kg_topics_learn(mine, "ok-a", 4);
	kg_topics_learn(theirs, "other", 5);
	struct kc_obj *resp = kc_obj_new(kc_api_find(9)->response->body, 10, &ta);
	struct kc_obj *g = add(resp, 10, "Groups", NULL);
	set_str(g, "GroupId", "g-1");
	const uint8_t *ids[] = { mine, theirs, unknown };
	for (int i = 0; i < 3; i++)
		memcpy(field(add(g, 10, "Topics", NULL), "TopicId")->u.uuid, ids[i], 16);
	/* all topics: only what alice may describe stays */
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 9, 10, KG_POST_FILTER | KG_POST_ALL_TOPICS,
					   NULL, 0, resp), 1);
	assert_int_equal(count(g, "Topics"), 1);
	assert_memory_equal(field(item(g, "Topics", 0), "TopicId")->u.uuid, mine, 16);
}

/* DescribeTopicPartitions pages: the cursor of an all-topics answer never
 * names a topic alice may not describe (issue 12: walking it listed every
 * topic of the cluster); it moves on to the next one she may, or ends. */
static struct kc_obj *dtp_answer(const char *cursor, int32_t partition)
{
	struct kc_obj *resp = kc_obj_new(kc_api_find(75)->response->body, 0, &ta);
	struct kc_value *nc = field(resp, "NextCursor");
	const struct kc_field *f = &resp->st->fields[kc_field_index(resp->st, "NextCursor")];
	nc->u.obj = kc_obj_new(f->sub, 0, &ta);
	set_str(nc->u.obj, "TopicName", cursor);
	field(nc->u.obj, "PartitionIndex")->u.i = partition;
	return resp;
}

static void test_describe_topic_partitions_cursor(void **state)
{
	(void)state;
	const char *names[] = { "a-hidden", "ok-a", "ok-b", "ok-secret", "zz-hidden" };
	for (int i = 0; i < 5; i++) {
		uint8_t id[16] = { 40, (uint8_t)i };
		kg_topics_learn(id, names[i], strlen(names[i]));
	}
	const uint8_t post = KG_POST_FILTER | KG_POST_ALL_TOPICS;
	struct kc_obj *resp = dtp_answer("a-hidden", 3);
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 75, 0, post, NULL, 0, resp), 1);
	struct kc_obj *nc = field(resp, "NextCursor")->u.obj;
	assert_non_null(nc);
	assert_string_equal(str(nc, "TopicName"), "ok-a");
	assert_int_equal(num(nc, "PartitionIndex"), 0);
	/* a describable cursor stays as the broker gave it */
	resp = dtp_answer("ok-b", 2);
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 75, 0, post, NULL, 0, resp), 0);
	assert_string_equal(str(field(resp, "NextCursor")->u.obj, "TopicName"), "ok-b");
	assert_int_equal(num(field(resp, "NextCursor")->u.obj, "PartitionIndex"), 2);
	/* a denied one (ok-secret) skips to what follows; nothing describable
	 * after the cursor: no more pages */
	resp = dtp_answer("ok-secret", 1);
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 75, 0, post, NULL, 0, resp), 1);
	assert_null(field(resp, "NextCursor")->u.obj);
	resp = dtp_answer("zz-hidden", 0);
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 75, 0, post, NULL, 0, resp), 1);
	assert_null(field(resp, "NextCursor")->u.obj);
	/* and it encodes as the null cursor */
	int64_t n = kc_encoded_size(resp, 0, true);
	uint8_t buf[256];
	assert_true(n > 0 && n < (int64_t)sizeof(buf));
	assert_int_equal(kc_encode(resp, 0, true, buf, sizeof(buf)), n);
	struct kc_obj *back;
	assert_int_equal(kc_decode_response(75, 0, buf, (size_t)n, &ta, &back), KC_OK);
	assert_null(field(back, "NextCursor")->u.obj);
}

/* ConsumerGroupHeartbeat (KIP-848) as a 4.x broker: group READ, then
 * every subscribed name DESCRIBE, else 29; a regex only from a super user
 * (the brokers would resolve it as the gateway's identity). */
static void test_consumer_group_heartbeat(void **state)
{
	(void)state;
	struct kc_obj *r = req_new(68, 0);
	set_str(r, "GroupId", "g-1");
	add(r, 0, "SubscribedTopicNames", "ok-a");
	assert_int_equal(decide(68, 0, r).verdict, KG_AUTHZ_FORWARD);
	add(r, 0, "SubscribedTopicNames", "hidden");
	struct kg_authz_out o = decide(68, 0, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	assert_int_equal(num(o.local, "ErrorCode"), 29);
	/* the group first: 30 */
	r = req_new(68, 0);
	set_str(r, "GroupId", "other");
	add(r, 0, "SubscribedTopicNames", "ok-a");
	assert_int_equal(num(decide(68, 0, r).local, "ErrorCode"), 30);
	/* a regex (v1+): resolved at the gateway for alice, to the names she
	 * may describe (full match); forwarded as it is for a super user */
	const char *known[] = { "ok-a", "ok-b", "ok-secret", "other", "xok-c" };
	for (int i = 0; i < 5; i++) {
		uint8_t id[16] = { 68, (uint8_t)i };
		kg_topics_learn(id, known[i], strlen(known[i]));
	}
	r = req_new(68, 1);
	set_str(r, "GroupId", "g-1");
	set_str(r, "MemberId", "m-1");
	set_str(r, "SubscribedTopicRegex", "ok-.*");
	o = decide(68, 1, r);
	assert_int_equal(o.verdict, KG_AUTHZ_REWRITE);
	assert_int_equal(field(r, "SubscribedTopicRegex")->u.b.len, -1);
	assert_int_equal(count(r, "SubscribedTopicNames"), 2);
	assert_string_equal(str_at(r, "SubscribedTopicNames", 0), "ok-a");
	assert_string_equal(str_at(r, "SubscribedTopicNames", 1), "ok-b");
	/* the next heartbeats (no subscription): unchanged, forwarded */
	r = req_new(68, 1);
	set_str(r, "GroupId", "g-1");
	set_str(r, "MemberId", "m-1");
	field(r, "SubscribedTopicNames")->u.arr.n = -1;
	assert_int_equal(decide(68, 1, r).verdict, KG_AUTHZ_FORWARD);
	/* a new matching topic: the next heartbeat carries the new names */
	uint8_t nid[16] = { 68, 9 };
	kg_topics_learn(nid, "ok-new", 6);
	assert_int_equal(decide(68, 1, r).verdict, KG_AUTHZ_REWRITE);
	assert_int_equal(count(r, "SubscribedTopicNames"), 3);
	assert_string_equal(str_at(r, "SubscribedTopicNames", 1), "ok-b");
	assert_string_equal(str_at(r, "SubscribedTopicNames", 2), "ok-new");
	/* a regex that does not compile: 128 */
	r = req_new(68, 1);
	set_str(r, "GroupId", "g-1");
	set_str(r, "SubscribedTopicRegex", "ok-(");
	o = decide(68, 1, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	assert_int_equal(num(o.local, "ErrorCode"), 128);
	/* a super user's regex goes as it is */
	kg_authz_release(&conn.authz);
	strcpy(principal_buf, "User:admin");
	r = req_new(68, 1);
	set_str(r, "GroupId", "g-1");
	set_str(r, "SubscribedTopicRegex", "ok-.*");
	assert_int_equal(decide(68, 1, r).verdict, KG_AUTHZ_FORWARD);
	kg_authz_release(&conn.authz);
	strcpy(principal_buf, "User:alice");
	/* a later heartbeat without a subscription (null) is only the group's */
	r = req_new(68, 0);
	set_str(r, "GroupId", "g-1");
	assert_int_equal(decide(68, 0, r).verdict, KG_AUTHZ_FORWARD);
}

/* ConsumerGroupHeartbeat answers: a topic of the assignment alice may not
 * describe (an answer to a heartbeat sent before a reload took DESCRIBE
 * away) is removed; an id not learned yet stays (see authz_resp.c); no
 * assignment (null: unchanged) is left alone. */
static void test_consumer_group_heartbeat_assignment(void **state)
{
	(void)state;
	struct kc_obj *r = req_new(68, 0);
	set_str(r, "GroupId", "g-1");
	add(r, 0, "SubscribedTopicNames", "ok-a");
	struct kg_authz_out o = decide(68, 0, r);
	assert_int_equal(o.verdict, KG_AUTHZ_FORWARD);
	assert_true(o.post & KG_POST_FILTER);
	uint8_t mine[16] = { 68, 41 }, theirs[16] = { 68, 42 }, fresh[16] = { 68, 43 };
	kg_topics_learn(mine, "ok-a", 4);
	kg_topics_learn(theirs, "other", 5);
	struct kc_obj *resp = kc_obj_new(kc_api_find(68)->response->body, 0, &ta);
	set_str(resp, "MemberId", "m-1");
	field(resp, "MemberEpoch")->u.i = 3;
	struct kc_value *as = field(resp, "Assignment");
	const struct kc_field *af = &resp->st->fields[kc_field_index(resp->st, "Assignment")];
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 68, 0, o.post, NULL, 0, resp), 0);
	as->u.obj = kc_obj_new(af->sub, 0, &ta);
	const uint8_t *ids[] = { theirs, mine, fresh };
	for (int i = 0; i < 3; i++)
		memcpy(field(add(as->u.obj, 0, "TopicPartitions", NULL), "TopicId")->u.uuid, ids[i], 16);
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 68, 0, o.post, NULL, 0, resp), 1);
	assert_int_equal(count(as->u.obj, "TopicPartitions"), 2);
	assert_memory_equal(field(item(as->u.obj, "TopicPartitions", 0), "TopicId")->u.uuid, mine, 16);
	assert_memory_equal(field(item(as->u.obj, "TopicPartitions", 1), "TopicId")->u.uuid, fresh, 16);
	/* a super user's answers are not looked at */
	kg_authz_release(&conn.authz);
	strcpy(principal_buf, "User:admin");
	o = decide(68, 0, r);
	assert_int_equal(o.verdict, KG_AUTHZ_FORWARD);
	assert_false(o.post & KG_POST_FILTER);
	kg_authz_release(&conn.authz);
	strcpy(principal_buf, "User:alice");
}

/* ConsumerGroupDescribe answers: a group whose members hold or are to get
 * a hidden topic is 29 with no members (4.x broker); others untouched. */
static void test_consumer_group_describe_hides_topics(void **state)
{
	(void)state;
	struct kc_obj *resp = kc_obj_new(kc_api_find(69)->response->body, 0, &ta);
	struct kc_obj *g1 = add(resp, 0, "Groups", NULL);
	set_str(g1, "GroupId", "g-open");
	set_str(g1, "GroupState", "Stable");
	struct kc_obj *m = add(g1, 0, "Members", NULL);
	set_str(m, "MemberId", "m1");
	struct kc_value *as = field(m, "Assignment");
	const struct kc_field *af = &m->st->fields[kc_field_index(m->st, "Assignment")];
	as->u.obj = kc_obj_new(af->sub, 0, &ta);
	set_str(add(as->u.obj, 0, "TopicPartitions", NULL), "TopicName", "ok-a");
	struct kc_obj *g2 = add(resp, 0, "Groups", NULL);
	set_str(g2, "GroupId", "g-mixed");
	set_str(g2, "GroupState", "Stable");
	field(g2, "GroupEpoch")->u.i = 5;
	m = add(g2, 0, "Members", NULL);
	set_str(m, "MemberId", "m2");
	struct kc_value *ta2 = field(m, "TargetAssignment");
	ta2->u.obj = kc_obj_new(af->sub, 0, &ta);
	set_str(add(ta2->u.obj, 0, "TopicPartitions", NULL), "TopicName", "hidden");
	assert_int_equal(kg_authz_response(&conn.authz, &conn.arena, 69, 0, KG_POST_FILTER, NULL,
					   0, resp), 1);
	struct kc_obj *a = item(resp, "Groups", 0), *b = item(resp, "Groups", 1);
	assert_int_equal(num(a, "ErrorCode"), 0);
	assert_int_equal(count(a, "Members"), 1);
	assert_string_equal(str(b, "GroupId"), "g-mixed");
	assert_int_equal(num(b, "ErrorCode"), 29);
	assert_int_equal(count(b, "Members"), 0);
	assert_int_equal(num(b, "GroupEpoch"), 0);
	assert_string_equal(str(b, "GroupState"), "");
	assert_string_equal(str(b, "ErrorMessage"), "The group has described topic(s) that the "
			    "client is not authorized to describe.");
}

static void test_cluster_apis(void **state)
{
	(void)state;
	struct kc_obj *r = req_new(43, 2);   /* ElectLeaders */
	struct kg_authz_out o = decide(43, 2, r);
	assert_int_equal(o.verdict, KG_AUTHZ_LOCAL);
	assert_int_equal(num(o.local, "ErrorCode"), 31);
	/* a super user may */
	kg_authz_release(&conn.authz);
	strcpy(principal_buf, "User:admin");
	assert_int_equal(decide(43, 2, r).verdict, KG_AUTHZ_FORWARD);
	kg_authz_release(&conn.authz);
	strcpy(principal_buf, "User:alice");
}

/* A reload applies to a connection's next request. */
static void test_reload_applies_at_once(void **state)
{
	(void)state;
	const char *t[] = { "other" };
	assert_int_equal(decide(0, 9, produce_req(9, -1, t, 1, false)).verdict, KG_AUTHZ_LOCAL);
	char err[512];
	struct kg_policy *p = kg_policy_parse(
		"{\"roles\": [{\"name\": \"all\", \"members\": [\"User:alice\"], \"rules\": ["
		"{\"effect\": \"allow\", \"resource\": \"topic\", \"name\": \"*\","
		" \"operations\": [\"WRITE\"]}]}]}", "reload", err, sizeof(err));
	assert_non_null(p);
	kg_current_policy_swap(p);
	assert_int_equal(decide(0, 9, produce_req(9, -1, t, 1, false)).verdict,
			 KG_AUTHZ_FORWARD);
	p = kg_policy_parse(POLICY, "test", err, sizeof(err));
	kg_current_policy_swap(p);
	assert_int_equal(decide(0, 9, produce_req(9, -1, t, 1, false)).verdict, KG_AUTHZ_LOCAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_produce_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_produce_all_denied_is_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_produce_acks0_denied_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_produce_transactional, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_by_topic_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_follower_needs_cluster_action, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_metadata_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_all_topics_filtered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_named_policy_changed_in_flight, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_metadata_autocreate_denied_becomes_29, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_merge_into_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offset_commit_group_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_coordinator_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_producer_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_partitions_to_txn_v3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe_configs_per_resource_type, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delete_topics_by_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_groups_filtered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offset_fetch_v10_by_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe_topic_partitions_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consumer_group_heartbeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consumer_group_heartbeat_assignment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_consumer_group_describe_hides_topics, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cluster_apis, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_applies_at_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
