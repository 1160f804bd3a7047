/*
 * test_codec.c - unit tests of the Kafka protocol codec (proxy/kafka/codec.c and
 * the generated tables). Byte vectors are written by hand from the Kafka
 * wire format, not produced by the codec under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kafka/codec.h"

enum { API_PRODUCE = 0, API_FETCH = 1, API_METADATA = 3,
       API_CONTROLLED_SHUTDOWN = 7, API_OFFSET_COMMIT = 8,
       API_FIND_COORDINATOR = 10, API_JOIN_GROUP = 11,
       API_API_VERSIONS = 18, API_CREATE_TOPICS = 19,
       API_INIT_PRODUCER_ID = 22, API_DESCRIBE_CONFIGS = 32,
       API_DELETE_GROUPS = 42 };

/* Kafka error codes used in the tests. */
enum { ERR_TOPIC_AUTHZ = 29, ERR_GROUP_AUTHZ = 30, ERR_CLUSTER_AUTHZ = 31,
       ERR_TXN_AUTHZ = 53 };

static struct kc_arena arena;

static int setup_arena(void **state)
{
	(void)state;
	kc_arena_init(&arena);
	return 0;
}

static int teardown_arena(void **state)
{
	(void)state;
	kc_arena_free(&arena);
	return 0;
}

/* ---- helpers ---- */

static const struct kc_message *msg_of(int16_t api, bool response)
{
	const struct kc_api *a = kc_api_find(api);

	assert_non_null(a);
	return response ? a->response : a->request;
}

static bool msg_flexible(int16_t api, int16_t ver, bool response)
{
	return kc_range_has(msg_of(api, response)->flexible, ver);
}

static int decode(int16_t api, int16_t ver, bool response, const uint8_t *b,
		  size_t len, struct kc_obj **o)
{
	return response ? kc_decode_response(api, ver, b, len, &arena, o)
			: kc_decode_request(api, ver, b, len, &arena, o);
}

/* Encode o and return a malloc'd buffer; *len gets its size. */
static uint8_t *encode_alloc(const struct kc_obj *o, int16_t api, int16_t ver,
			     bool response, size_t *len)
{
	bool flex = msg_flexible(api, ver, response);
	int64_t size = kc_encoded_size(o, ver, flex);
	uint8_t *out;

	assert_true(size >= 0);
	out = malloc((size_t)size + 1);
	assert_non_null(out);
	assert_int_equal(kc_encode(o, ver, flex, out, (size_t)size), size);
	*len = (size_t)size;
	return out;
}

/* Decode b, re-encode it and require the very same bytes. */
static struct kc_obj *decode_reencode_same(int16_t api, int16_t ver,
					   bool response, const uint8_t *b,
					   size_t len)
{
	struct kc_obj *o = NULL;
	uint8_t *out;
	size_t olen;

	assert_int_equal(decode(api, ver, response, b, len, &o), KC_OK);
	assert_non_null(o);
	out = encode_alloc(o, api, ver, response, &olen);
	assert_int_equal(olen, len);
	assert_memory_equal(out, b, len);
	free(out);
	return o;
}

static void assert_str(const struct kc_value *v, const char *s)
{
	assert_non_null(v);
	assert_int_equal(v->u.b.len, (int32_t)strlen(s));
	assert_memory_equal(v->u.b.p, s, strlen(s));
}

static struct kc_obj *elem(struct kc_obj *o, const char *arr, int32_t i)
{
	struct kc_value *v = kc_get(o, arr);

	assert_non_null(v);
	assert_true(i < v->u.arr.n);
	return v->u.arr.v[i].u.obj;
}

/* Every strict prefix of a valid body must fail cleanly. */
static void assert_prefixes_fail(int16_t api, int16_t ver, bool response,
				 const uint8_t *b, size_t len)
{
	size_t cut;

	for (cut = 0; cut < len; cut++) {
		struct kc_obj *o = (struct kc_obj *)1;
		uint8_t *copy = malloc(cut ? cut : 1);  /* exact-size: ASan */
		int rc;

		memcpy(copy, b, cut);
		rc = decode(api, ver, response, copy, cut, &o);
		assert_true(rc == KC_ERR_SHORT || rc == KC_ERR_MALFORMED);
		assert_null(o);
		free(copy);
		kc_arena_reset(&arena);
	}
}

/* ---- request and response headers ---- */

static void test_request_header_v1_decodes_client_id(void **state)
{
	static const uint8_t b[] = {
		0x00, 0x03, 0x00, 0x01,             /* Metadata v1 */
		0x00, 0x00, 0x00, 0x07,             /* correlation id 7 */
		0x00, 0x03, 'a', 'b', 'c',          /* client id "abc" */
		0xff, 0xff, 0xff, 0xff,             /* body: Topics null */
	};
	struct kc_req_header h;
	int16_t k, v;
	int32_t c;

	(void)state;
	assert_int_equal(kc_peek_request_key(b, sizeof(b), &k, &v, &c), KC_OK);
	assert_int_equal(k, API_METADATA);
	assert_int_equal(v, 1);
	assert_int_equal(c, 7);
	assert_int_equal(kc_decode_request_header(b, sizeof(b), &arena, &h),
			 KC_OK);
	assert_int_equal(h.header_version, 1);
	assert_int_equal(h.correlation_id, 7);
	assert_int_equal(h.client_id_len, 3);
	assert_ptr_equal(h.client_id, b + 10);
	assert_int_equal(h.header_len, 13);
	assert_int_equal(h.ntags, 0);
}

static void test_request_header_v2_keeps_tagged_fields(void **state)
{
	static const uint8_t b[] = {
		0x00, 0x03, 0x00, 0x0c,             /* Metadata v12 */
		0x00, 0x00, 0x00, 0x2a,             /* correlation id 42 */
		0x00, 0x03, 'c', 'l', 'i',          /* ClientId: int16 length */
		0x02,                               /* 2 tagged fields */
		0x01, 0x01, 0x55,                   /* tag 1, 1 byte */
		0x05, 0x02, 'x', 'y',               /* tag 5, 2 bytes */
	};
	struct kc_req_header h;

	(void)state;
	assert_int_equal(kc_request_header_version(API_METADATA, 12), 2);
	assert_int_equal(kc_decode_request_header(b, sizeof(b), &arena, &h),
			 KC_OK);
	assert_int_equal(h.header_version, 2);
	assert_int_equal(h.client_id_len, 3);
	assert_memory_equal(h.client_id, "cli", 3);
	assert_int_equal(h.ntags, 2);
	assert_int_equal(h.tags[0].tag, 1);
	assert_int_equal(h.tags[0].len, 1);
	assert_int_equal(h.tags[0].data[0], 0x55);
	assert_int_equal(h.tags[1].tag, 5);
	assert_memory_equal(h.tags[1].data, "xy", 2);
	assert_int_equal(h.header_len, sizeof(b));
}

static void test_request_header_v2_null_client_id_and_bad_tags(void **state)
{
	static const uint8_t ok[] = {
		0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
		0xff, 0xff,                         /* ClientId null */
		0x00,                               /* no tags */
	};
	static const uint8_t descending[] = {
		0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff,
		0x02, 0x05, 0x00, 0x01, 0x00,       /* tag 5 then tag 1 */
	};
	static const uint8_t bad_len[] = {
		0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
		0xff, 0xfe,                         /* ClientId length -2 */
		0x00,
	};
	struct kc_req_header h;

	(void)state;
	assert_int_equal(kc_decode_request_header(ok, sizeof(ok), &arena, &h),
			 KC_OK);
	assert_null(h.client_id);
	assert_int_equal(h.client_id_len, -1);
	assert_int_equal(h.header_len, sizeof(ok));
	assert_int_equal(kc_decode_request_header(descending,
						  sizeof(descending), &arena,
						  &h),
			 KC_ERR_MALFORMED);
	assert_int_equal(kc_decode_request_header(bad_len, sizeof(bad_len),
						  &arena, &h),
			 KC_ERR_MALFORMED);
}

static void test_request_header_v0_has_no_client_id(void **state)
{
	static const uint8_t b[] = {
		0x00, 0x07, 0x00, 0x00,             /* ControlledShutdown v0 */
		0x00, 0x00, 0x00, 0x09,
	};
	struct kc_req_header h;
	int rc;

	(void)state;
	assert_int_equal(kc_request_header_version(API_CONTROLLED_SHUTDOWN, 0),
			 0);
	rc = kc_decode_request_header(b, sizeof(b), &arena, &h);
	/* The API is gone from Kafka 4; the header still parses. */
	assert_true(rc == KC_OK || rc == KC_ERR_UNKNOWN_VERSION);
	assert_int_equal(h.header_version, 0);
	assert_int_equal(h.header_len, 8);
	assert_int_equal(h.client_id_len, -1);
	assert_int_equal(h.correlation_id, 9);
}

static void test_request_header_unknown_api_and_version(void **state)
{
	static const uint8_t unknown_api[] = {
		0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00,
	};
	static const uint8_t new_api_versions[] = {
		0x00, 0x12, 0x00, 0x63,             /* ApiVersions v99 */
		0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 'x', 0x00,
	};
	struct kc_req_header h;

	(void)state;
	assert_int_equal(kc_decode_request_header(unknown_api,
						  sizeof(unknown_api), &arena,
						  &h),
			 KC_ERR_UNKNOWN_API);
	assert_int_equal(h.api_key, 0x7f00);
	assert_int_equal(h.correlation_id, 5);
	/* A too-new ApiVersions request must still yield its header so the
	 * proxy can answer with UNSUPPORTED_VERSION. */
	assert_int_equal(kc_decode_request_header(new_api_versions,
						  sizeof(new_api_versions),
						  &arena, &h),
			 KC_ERR_UNKNOWN_VERSION);
	assert_int_equal(h.header_version, 2);
	assert_int_equal(h.header_len, sizeof(new_api_versions));
	assert_int_equal(kc_decode_request_header(unknown_api, 7, &arena, &h),
			 KC_ERR_SHORT);
}

static void test_response_header_v0_and_v1(void **state)
{
	static const uint8_t v0[] = { 0x00, 0x00, 0x01, 0x02, 0xaa };
	static const uint8_t v1[] = {
		0x00, 0x00, 0x01, 0x02, 0x01, 0x00, 0x01, 0xff, 0xaa,
	};
	uint8_t out[8];
	int32_t corr;
	size_t hl;

	(void)state;
	assert_int_equal(kc_decode_response_header(v0, sizeof(v0), 0, &corr,
						   &hl), KC_OK);
	assert_int_equal(corr, 0x102);
	assert_int_equal(hl, 4);
	assert_int_equal(kc_decode_response_header(v1, sizeof(v1), 1, &corr,
						   &hl), KC_OK);
	assert_int_equal(hl, 8);                    /* one tag skipped */
	assert_int_equal(kc_decode_response_header(v1, 6, 1, &corr, &hl),
			 KC_ERR_SHORT);
	assert_int_equal(kc_response_header_size(0), 4);
	assert_int_equal(kc_response_header_size(1), 5);
	assert_int_equal(kc_write_response_header(out, 1, 0x01020304), 5);
	assert_memory_equal(out, "\x01\x02\x03\x04\x00", 5);
	assert_int_equal(kc_write_response_header(out, 0, -1), 4);
	assert_memory_equal(out, "\xff\xff\xff\xff", 4);
}

static void test_header_versions_follow_flexible_versions(void **state)
{
	(void)state;
	assert_int_equal(kc_request_header_version(API_METADATA, 8), 1);
	assert_int_equal(kc_request_header_version(API_METADATA, 9), 2);
	assert_int_equal(kc_response_header_version(API_METADATA, 8), 0);
	assert_int_equal(kc_response_header_version(API_METADATA, 9), 1);
	/* KIP-511: ApiVersions responses always use header v0. */
	assert_int_equal(kc_request_header_version(API_API_VERSIONS, 3), 2);
	assert_int_equal(kc_response_header_version(API_API_VERSIONS, 3), 0);
	assert_true(kc_request_flexible(API_PRODUCE, 9));
	assert_false(kc_request_flexible(API_PRODUCE, 8));
	assert_true(kc_response_flexible(API_FETCH, 12));
}

/* ---- ApiVersions ---- */

static void test_api_versions_v0_request_and_response(void **state)
{
	static const uint8_t resp[] = {
		0x00, 0x00,                         /* ErrorCode */
		0x00, 0x00, 0x00, 0x02,             /* ApiKeys: 2 */
		0x00, 0x00, 0x00, 0x03, 0x00, 0x0b, /* Produce 3-11 */
		0x00, 0x12, 0x00, 0x00, 0x00, 0x03, /* ApiVersions 0-3 */
	};
	struct kc_obj *o;
	struct kc_obj *k1;

	(void)state;
	assert_int_equal(kc_decode_request(API_API_VERSIONS, 0, NULL, 0,
					   &arena, &o), KC_OK);
	assert_int_equal(kc_encoded_size(o, 0, false), 0);
	o = decode_reencode_same(API_API_VERSIONS, 0, true, resp,
				 sizeof(resp));
	assert_int_equal(kc_get(o, "ErrorCode")->u.i, 0);
	assert_int_equal(kc_get(o, "ApiKeys")->u.arr.n, 2);
	k1 = elem(o, "ApiKeys", 1);
	assert_int_equal(kc_get(k1, "ApiKey")->u.i, 18);
	assert_int_equal(kc_get(k1, "MaxVersion")->u.i, 3);
	assert_null(kc_get(o, "ThrottleTimeMs"));   /* v1+ */
	assert_prefixes_fail(API_API_VERSIONS, 0, true, resp, sizeof(resp));
}

static void test_api_versions_v3_request_and_response(void **state)
{
	static const uint8_t req[] = {
		0x04, 'k', 'g', 'w',                /* ClientSoftwareName */
		0x06, '1', '.', '2', '.', '3',      /* ClientSoftwareVersion */
		0x00,                               /* no tags */
	};
	static const uint8_t resp[] = {
		0x00, 0x23,                         /* UNSUPPORTED_VERSION */
		0x02,                               /* ApiKeys: 1 */
		0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x00,             /* ThrottleTimeMs */
		0x02,                               /* 2 tagged fields */
		0x01, 0x08,                         /* FinalizedFeaturesEpoch */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,
		0x03, 0x01, 0x01,                   /* ZkMigrationReady true */
	};
	struct kc_obj *o;
	struct kc_value *v;
	int i;

	(void)state;
	o = decode_reencode_same(API_API_VERSIONS, 3, false, req, sizeof(req));
	assert_str(kc_get(o, "ClientSoftwareName"), "kgw");
	assert_str(kc_get(o, "ClientSoftwareVersion"), "1.2.3");
	o = decode_reencode_same(API_API_VERSIONS, 3, true, resp,
				 sizeof(resp));
	assert_int_equal(kc_get(o, "ErrorCode")->u.i, 35);
	assert_int_equal(kc_get(o, "FinalizedFeaturesEpoch")->u.i, 7);
	assert_int_equal(kc_get(o, "ZkMigrationReady")->u.i, 1);
	/* Tagged fields that were not sent are absent with their default. */
	assert_null(kc_get(o, "SupportedFeatures"));
	i = kc_field_index(o->st, "SupportedFeatures");
	assert_true(i >= 0);
	assert_false(o->vals[i].present);
	v = &o->vals[kc_field_index(o->st, "ZkMigrationReady")];
	assert_true(v->present);
	assert_int_equal(o->nunknown, 0);
	assert_prefixes_fail(API_API_VERSIONS, 3, false, req, sizeof(req));
	assert_prefixes_fail(API_API_VERSIONS, 3, true, resp, sizeof(resp));
}

/* ---- Metadata: broker address rewrite ---- */

static void test_metadata_v1_response_broker_rewrite(void **state)
{
	static const uint8_t resp[] = {
		0x00, 0x00, 0x00, 0x02,             /* Brokers: 2 */
		0x00, 0x00, 0x00, 0x01,             /* NodeId 1 */
		0x00, 0x05, 'h', 'o', 's', 't', '1',
		0x00, 0x00, 0x23, 0x84,             /* Port 9092 */
		0xff, 0xff,                         /* Rack null */
		0x00, 0x00, 0x00, 0x02,
		0x00, 0x05, 'h', 'o', 's', 't', '2',
		0x00, 0x00, 0x23, 0x85,
		0x00, 0x02, 'r', '1',               /* Rack "r1" */
		0x00, 0x00, 0x00, 0x01,             /* ControllerId */
		0x00, 0x00, 0x00, 0x01,             /* Topics: 1 */
		0x00, 0x00,                         /* ErrorCode */
		0x00, 0x03, 'f', 'o', 'o',
		0x00,                               /* IsInternal */
		0x00, 0x00, 0x00, 0x01,             /* Partitions: 1 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ErrorCode, Index 0 */
		0x00, 0x00, 0x00, 0x01,             /* LeaderId */
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* Replicas */
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* Isr */
	};
	/* Broker 1 rewritten to "proxy.example":19092; the rest unchanged. */
	static const uint8_t rewritten_head[] = {
		0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x0d, 'p', 'r', 'o', 'x', 'y', '.', 'e', 'x', 'a', 'm',
		'p', 'l', 'e',
		0x00, 0x00, 0x4a, 0x94,             /* Port 19092 */
		0xff, 0xff,
	};
	const size_t tail = sizeof(resp) - 21;      /* from broker 2 on */
	struct kc_obj *o, *b0;
	uint8_t *out;
	size_t olen;

	(void)state;
	o = decode_reencode_same(API_METADATA, 1, true, resp, sizeof(resp));
	b0 = elem(o, "Brokers", 0);
	assert_int_equal(kc_get(b0, "NodeId")->u.i, 1);
	assert_str(kc_get(b0, "Host"), "host1");
	assert_int_equal(kc_get(b0, "Port")->u.i, 9092);
	assert_int_equal(kc_get(b0, "Rack")->u.b.len, -1);
	assert_str(kc_get(elem(o, "Brokers", 1), "Rack"), "r1");
	/* Zero copy: the host points into the frame. */
	assert_ptr_equal(kc_get(b0, "Host")->u.b.p, resp + 10);

	assert_int_equal(kc_set_string(&arena, kc_get(b0, "Host"),
				       "proxy.example", 13), KC_OK);
	kc_get(b0, "Port")->u.i = 19092;
	out = encode_alloc(o, API_METADATA, 1, true, &olen);
	assert_int_equal(olen, sizeof(resp) + 8);
	assert_memory_equal(out, rewritten_head, sizeof(rewritten_head));
	assert_memory_equal(out + sizeof(rewritten_head), resp + 21, tail);
	free(out);
	assert_prefixes_fail(API_METADATA, 1, true, resp, sizeof(resp));
}

static void test_metadata_v12_response_broker_rewrite(void **state)
{
	static const uint8_t resp[] = {
		0x00, 0x00, 0x00, 0x00,             /* ThrottleTimeMs */
		0x02,                               /* Brokers: 1 */
		0x00, 0x00, 0x00, 0x01,
		0x06, 'h', 'o', 's', 't', '1',
		0x00, 0x00, 0x23, 0x84,
		0x00,                               /* Rack null */
		0x00,                               /* broker tags */
		0x04, 'a', 'b', 'c',                /* ClusterId */
		0x00, 0x00, 0x00, 0x01,             /* ControllerId */
		0x02,                               /* Topics: 1 */
		0x00, 0x00,
		0x04, 'f', 'o', 'o',
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
		0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, /* TopicId */
		0x00,                               /* IsInternal */
		0x02,                               /* Partitions: 1 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x01,             /* LeaderId */
		0x00, 0x00, 0x00, 0x05,             /* LeaderEpoch */
		0x02, 0x00, 0x00, 0x00, 0x01,       /* ReplicaNodes */
		0x02, 0x00, 0x00, 0x00, 0x01,       /* IsrNodes */
		0x01,                               /* OfflineReplicas: 0 */
		0x00,                               /* partition tags */
		0x80, 0x00, 0x00, 0x00,             /* TopicAuthorizedOps */
		0x00,                               /* topic tags */
		0x00,                               /* top-level tags */
	};
	static const uint8_t rewritten_broker[] = {
		0x02, 0x00, 0x00, 0x00, 0x01,
		0x08, 'g', 'w', '.', 'l', 'a', 'n', '1',
		0x00, 0x00, 0x4a, 0x94, 0x00, 0x00,
	};
	struct kc_obj *o, *b0, *t0;
	uint8_t *out;
	size_t olen;

	(void)state;
	o = decode_reencode_same(API_METADATA, 12, true, resp, sizeof(resp));
	b0 = elem(o, "Brokers", 0);
	assert_str(kc_get(b0, "Host"), "host1");
	assert_str(kc_get(o, "ClusterId"), "abc");
	t0 = elem(o, "Topics", 0);
	assert_int_equal(kc_get(t0, "TopicId")->u.uuid[0], 0x11);
	assert_int_equal(kc_get(t0, "TopicAuthorizedOperations")->u.i,
			 INT32_MIN);
	assert_int_equal(kc_get(elem(t0, "Partitions", 0),
				"LeaderEpoch")->u.i, 5);

	assert_int_equal(kc_set_string(&arena, kc_get(b0, "Host"), "gw.lan1",
				       7), KC_OK);
	kc_get(b0, "Port")->u.i = 19092;
	out = encode_alloc(o, API_METADATA, 12, true, &olen);
	assert_int_equal(olen, sizeof(resp) + 2);
	assert_memory_equal(out, resp, 4);
	assert_memory_equal(out + 4, rewritten_broker,
			    sizeof(rewritten_broker));
	assert_memory_equal(out + 4 + sizeof(rewritten_broker), resp + 21,
			    sizeof(resp) - 21);
	free(out);
	assert_prefixes_fail(API_METADATA, 12, true, resp, sizeof(resp));
}

/* ---- FindCoordinator ---- */

static void test_find_coordinator_v3_response(void **state)
{
	static const uint8_t resp[] = {
		0x00, 0x00, 0x00, 0x00,             /* ThrottleTimeMs */
		0x00, 0x00,                         /* ErrorCode */
		0x00,                               /* ErrorMessage null */
		0x00, 0x00, 0x00, 0x03,             /* NodeId */
		0x06, 'h', 'o', 's', 't', '3',
		0x00, 0x00, 0x23, 0x84,
		0x00,
	};
	struct kc_obj *o;

	(void)state;
	o = decode_reencode_same(API_FIND_COORDINATOR, 3, true, resp,
				 sizeof(resp));
	assert_int_equal(kc_get(o, "NodeId")->u.i, 3);
	assert_str(kc_get(o, "Host"), "host3");
	assert_int_equal(kc_get(o, "ErrorMessage")->u.b.len, -1);
	assert_null(kc_get(o, "Coordinators"));
	assert_prefixes_fail(API_FIND_COORDINATOR, 3, true, resp,
			     sizeof(resp));
}

static void test_find_coordinator_v4_response(void **state)
{
	static const uint8_t resp[] = {
		0x00, 0x00, 0x00, 0x00,
		0x03,                               /* Coordinators: 2 */
		0x03, 'g', '1',                     /* Key */
		0x00, 0x00, 0x00, 0x01,
		0x06, 'h', 'o', 's', 't', '1',
		0x00, 0x00, 0x23, 0x84,
		0x00, 0x00, 0x00, 0x00,             /* ErrorCode, msg null */
		0x03, 'g', '2',
		0xff, 0xff, 0xff, 0xff,             /* NodeId -1 */
		0x01,                               /* Host "" */
		0xff, 0xff, 0xff, 0xff,
		0x00, 0x0f,                         /* COORDINATOR_NOT_AVAIL. */
		0x03, 'n', 'o', 0x00,
		0x00,
	};
	struct kc_obj *o, *c1;

	(void)state;
	o = decode_reencode_same(API_FIND_COORDINATOR, 4, true, resp,
				 sizeof(resp));
	assert_null(kc_get(o, "NodeId"));
	assert_int_equal(kc_get(o, "Coordinators")->u.arr.n, 2);
	c1 = elem(o, "Coordinators", 1);
	assert_str(kc_get(c1, "Key"), "g2");
	assert_int_equal(kc_get(c1, "Host")->u.b.len, 0);
	assert_int_equal(kc_get(c1, "ErrorCode")->u.i, 15);
	assert_str(kc_get(c1, "ErrorMessage"), "no");
	assert_prefixes_fail(API_FIND_COORDINATOR, 4, true, resp,
			     sizeof(resp));
}

/* ---- Produce and Fetch ---- */

static const uint8_t produce_v9[] = {
	0x00,                                       /* TransactionalId null */
	0xff, 0xff,                                 /* Acks -1 */
	0x00, 0x00, 0x75, 0x30,                     /* TimeoutMs 30000 */
	0x02,                                       /* TopicData: 1 */
	0x04, 'f', 'o', 'o',
	0x02,                                       /* PartitionData: 1 */
	0x00, 0x00, 0x00, 0x02,                     /* Index 2 */
	0x0c,                                       /* Records: 11 bytes */
	'r', 'e', 'c', 'o', 'r', 'd', '-', 'b', 'y', 't', 'e',
	0x00,                                       /* partition tags */
	0x00,                                       /* topic tags */
	0x00,                                       /* tags */
};

static void test_produce_v9_request_records_zero_copy(void **state)
{
	struct kc_obj *o, *p;
	struct kc_value *rec;

	(void)state;
	o = decode_reencode_same(API_PRODUCE, 9, false, produce_v9,
				 sizeof(produce_v9));
	assert_int_equal(kc_get(o, "TransactionalId")->u.b.len, -1);
	assert_int_equal(kc_get(o, "Acks")->u.i, -1);
	assert_int_equal(kc_get(o, "TimeoutMs")->u.i, 30000);
	assert_str(kc_get(elem(o, "TopicData", 0), "Name"), "foo");
	p = elem(elem(o, "TopicData", 0), "PartitionData", 0);
	assert_int_equal(kc_get(p, "Index")->u.i, 2);
	rec = kc_get(p, "Records");
	assert_int_equal(rec->u.b.len, 11);
	assert_ptr_equal(rec->u.b.p, produce_v9 + 18);   /* not copied */
	assert_prefixes_fail(API_PRODUCE, 9, false, produce_v9,
			     sizeof(produce_v9));
}

static const uint8_t fetch_v16_resp[] = {
	0x00, 0x00, 0x00, 0x00,                     /* ThrottleTimeMs */
	0x00, 0x00,                                 /* ErrorCode */
	0x00, 0x00, 0x00, 0x01,                     /* SessionId */
	0x02,                                       /* Responses: 1 */
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, /* TopicId */
	0x02,                                       /* Partitions: 1 */
	0x00, 0x00, 0x00, 0x00,                     /* PartitionIndex */
	0x00, 0x06,                                 /* NOT_LEADER */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* HighWatermark */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* LastStable */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* LogStart */
	0x00,                                       /* Aborted: null */
	0xff, 0xff, 0xff, 0xff,                     /* PreferredReadReplica */
	0x01,                                       /* Records: empty */
	0x01,                                       /* partition tags: 1 */
	0x01, 0x09,                                 /* CurrentLeader (tag 1) */
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x09, 0x00,
	0x00,                                       /* topic tags */
	0x02,                                       /* 2 top-level tags */
	0x00, 0x11,                                 /* NodeEndpoints, 17 B */
	0x02,
	0x00, 0x00, 0x00, 0x02,
	0x06, 'h', 'o', 's', 't', '2',
	0x00, 0x00, 0x23, 0x85,
	0x00, 0x00,
	0x07, 0x03, 0xaa, 0xbb, 0xcc,               /* unknown tag 7 */
};

static void test_fetch_v16_response_node_endpoints_and_unknown_tag(
	void **state)
{
	struct kc_obj *o, *p, *ne, *o2;
	uint8_t *out;
	size_t olen;

	(void)state;
	o = decode_reencode_same(API_FETCH, 16, true, fetch_v16_resp,
				 sizeof(fetch_v16_resp));
	p = elem(elem(o, "Responses", 0), "Partitions", 0);
	assert_int_equal(kc_get(p, "ErrorCode")->u.i, 6);
	assert_int_equal(kc_get(p, "AbortedTransactions")->u.arr.n, -1);
	assert_int_equal(kc_get(kc_get(p, "CurrentLeader")->u.obj,
				"LeaderEpoch")->u.i, 9);
	assert_null(kc_get(p, "DivergingEpoch"));
	assert_int_equal(o->nunknown, 1);
	assert_int_equal(o->unknown[0].tag, 7);
	assert_int_equal(o->unknown[0].len, 3);
	ne = elem(o, "NodeEndpoints", 0);
	assert_str(kc_get(ne, "Host"), "host2");

	/* Rewrite the endpoint: the tag's size prefix follows. */
	assert_int_equal(kc_set_string(&arena, kc_get(ne, "Host"),
				       "proxy-gw-2", 10), KC_OK);
	out = encode_alloc(o, API_FETCH, 16, true, &olen);
	assert_int_equal(olen, sizeof(fetch_v16_resp) + 5);
	assert_int_equal(out[sizeof(fetch_v16_resp) - 23], 0x16); /* 22 B */
	assert_int_equal(kc_decode_response(API_FETCH, 16, out, olen, &arena,
					    &o2), KC_OK);
	assert_str(kc_get(elem(o2, "NodeEndpoints", 0), "Host"),
		   "proxy-gw-2");
	assert_int_equal(o2->nunknown, 1);
	assert_memory_equal(o2->unknown[0].data, "\xaa\xbb\xcc", 3);
	assert_memory_equal(out + olen - 5, "\x07\x03\xaa\xbb\xcc", 5);
	free(out);
	assert_prefixes_fail(API_FETCH, 16, true, fetch_v16_resp,
			     sizeof(fetch_v16_resp));
}

/* Unknown tags merge with known ones in tag order on encode. */
static void test_known_and_unknown_tags_merge_in_order(void **state)
{
	static const uint8_t resp[] = {
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x01,                               /* Responses: 0 */
		0x02,
		0x00, 0x01, 0x01,                   /* NodeEndpoints: empty */
		0x02, 0x01, 0x42,                   /* unknown tag 2 */
	};
	struct kc_obj *o;

	(void)state;
	o = decode_reencode_same(API_FETCH, 16, true, resp, sizeof(resp));
	assert_int_equal(o->nunknown, 1);
	assert_int_equal(kc_get(o, "NodeEndpoints")->u.arr.n, 0);
	/* Dropping the known tag leaves only the unknown one. */
	o->vals[kc_field_index(o->st, "NodeEndpoints")].present = false;
	{
		uint8_t out[32];
		int64_t n = kc_encode(o, 16, true, out, sizeof(out));

		assert_int_equal(n, sizeof(resp) - 3);
		assert_memory_equal(out + n - 4, "\x01\x02\x01\x42", 4);
	}
}

/* ---- malformed input ---- */

static void test_huge_array_count_rejected_without_allocation(void **state)
{
	static const uint8_t fixed[] = {
		0x7f, 0xff, 0xff, 0xff,             /* Brokers: 2^31-1 */
		0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'h', 0x00, 0x00, 0x00,
	};
	static const uint8_t compact[] = {
		0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0x07,       /* Brokers: 2^31-2 */
		0x00, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t strings[] = {           /* DeleteGroups v2 */
		0xf0, 0xff, 0xff, 0xff, 0x07, 0x01, 0x01, 0x01, 0x00,
	};
	struct kc_obj *o;

	(void)state;
	assert_int_equal(kc_decode_response(API_METADATA, 1, fixed,
					    sizeof(fixed), &arena, &o),
			 KC_ERR_SHORT);
	assert_int_equal(kc_decode_response(API_METADATA, 12, compact,
					    sizeof(compact), &arena, &o),
			 KC_ERR_SHORT);
	assert_int_equal(kc_decode_request(API_DELETE_GROUPS, 2, strings,
					   sizeof(strings), &arena, &o),
			 KC_ERR_SHORT);
	assert_true(arena.total < (1u << 20));
}

static void test_trailing_bytes_rejected(void **state)
{
	uint8_t b[sizeof(produce_v9) + 1];
	struct kc_obj *o;

	(void)state;
	memcpy(b, produce_v9, sizeof(produce_v9));
	b[sizeof(produce_v9)] = 0;
	assert_int_equal(kc_decode_request(API_PRODUCE, 9, b, sizeof(b),
					   &arena, &o), KC_ERR_MALFORMED);
	assert_null(o);
	assert_int_equal(kc_decode_request(API_API_VERSIONS, 0, b, 1, &arena,
					   &o), KC_ERR_MALFORMED);
}

static void test_null_in_non_nullable_rejected(void **state)
{
	static const uint8_t null_host[] = {
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
		0xff, 0xff,                         /* Host null */
		0x00, 0x00, 0x23, 0x84, 0xff, 0xff,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t null_brokers[] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t null_compact_name[] = {  /* ApiVersions v3 */
		0x00, 0x01, 0x00,
	};
	struct kc_obj *o;

	(void)state;
	assert_int_equal(kc_decode_response(API_METADATA, 1, null_host,
					    sizeof(null_host), &arena, &o),
			 KC_ERR_MALFORMED);
	assert_int_equal(kc_decode_response(API_METADATA, 1, null_brokers,
					    sizeof(null_brokers), &arena, &o),
			 KC_ERR_MALFORMED);
	assert_int_equal(kc_decode_request(API_API_VERSIONS, 3,
					   null_compact_name,
					   sizeof(null_compact_name), &arena,
					   &o), KC_ERR_MALFORMED);
}

static void test_bad_varints_bools_and_tag_order_rejected(void **state)
{
	/* ApiVersions v3 request bodies. */
	static const uint8_t non_minimal[] = { 0x81, 0x00, 0x01, 0x00 };
	static const uint8_t too_long[] = {
		0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x01, 0x00,
	};
	static const uint8_t over_u32[] = {
		0x01, 0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00,
	};
	static const uint8_t tags_desc[] = {
		0x01, 0x01, 0x02, 0x05, 0x00, 0x04, 0x00,
	};
	static const uint8_t tags_dup[] = {
		0x01, 0x01, 0x02, 0x05, 0x00, 0x05, 0x00,
	};
	static const uint8_t tag_overruns[] = {
		0x01, 0x01, 0x01, 0x05, 0x09, 0x00,
	};
	/* ApiVersions v3 response: ZkMigrationReady = 2. */
	static const uint8_t bad_bool[] = {
		0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x03, 0x01, 0x02,
	};
	/* Known tag whose body is longer than its value. */
	static const uint8_t tag_slack[] = {
		0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x03, 0x02, 0x01, 0x00,
	};
	struct kc_obj *o;

	(void)state;
#define BAD(api, resp, b)                                                     \
	assert_int_not_equal(decode(api, 3, resp, b, sizeof(b), &o), KC_OK)
	BAD(API_API_VERSIONS, false, non_minimal);
	BAD(API_API_VERSIONS, false, too_long);
	BAD(API_API_VERSIONS, false, over_u32);
	BAD(API_API_VERSIONS, false, tags_desc);
	BAD(API_API_VERSIONS, false, tags_dup);
	BAD(API_API_VERSIONS, false, tag_overruns);
	BAD(API_API_VERSIONS, true, bad_bool);
	BAD(API_API_VERSIONS, true, tag_slack);
#undef BAD
}

static void test_unknown_api_key_and_version_codes(void **state)
{
	struct kc_obj *o;

	(void)state;
	assert_null(kc_api_find(-1));
	assert_null(kc_api_find(9999));
	assert_non_null(kc_api_find(API_FETCH));
	assert_int_equal(kc_decode_request(9999, 0, NULL, 0, &arena, &o),
			 KC_ERR_UNKNOWN_API);
	assert_int_equal(kc_decode_response(-3, 0, NULL, 0, &arena, &o),
			 KC_ERR_UNKNOWN_API);
	assert_int_equal(kc_decode_request(API_METADATA, 999, NULL, 0, &arena,
					   &o), KC_ERR_UNKNOWN_VERSION);
	assert_int_equal(kc_decode_request(API_METADATA, -1, NULL, 0, &arena,
					   &o), KC_ERR_UNKNOWN_VERSION);
	assert_false(kc_api_version_known(API_METADATA, 999));
	assert_true(kc_api_version_known(API_METADATA, 12));
	assert_false(kc_api_version_known(9999, 0));
	assert_int_equal(kc_build_error_response(9999, 0, NULL, 1, &arena,
						 &o), KC_ERR_UNKNOWN_API);
	assert_string_equal(kc_err_str(KC_ERR_UNKNOWN_API), "unknown api key");
}

static void test_tables_are_sorted_and_complete(void **state)
{
	size_t i;

	(void)state;
	assert_true(kc_napis > 80);
	for (i = 1; i < kc_napis; i++)
		assert_true(kc_apis[i - 1].api_key < kc_apis[i].api_key);
	for (i = 0; i < kc_napis; i++) {
		assert_ptr_equal(kc_api_find(kc_apis[i].api_key), &kc_apis[i]);
		assert_int_equal(kc_apis[i].request->api_key,
				 kc_apis[i].api_key);
	}
	assert_string_equal(kc_api_find(74)->name, "ListConfigResources");
	assert_non_null(kc_message_find("RequestHeader"));
	assert_non_null(kc_message_find("ConsumerProtocolSubscription"));
	assert_null(kc_message_find("NoSuchMessage"));
	/* RequestHeader ClientId is never compact. */
	{
		const struct kc_struct *st =
			kc_message_find("RequestHeader")->body;
		int i2 = kc_field_index(st, "ClientId");

		assert_true(i2 >= 0);
		assert_false(kc_range_has(st->fields[i2].flexible, 2));
	}
}

/* The header struct from the tables decodes like kc_decode_request_header:
 * ClientId keeps its int16 length in flexible v2. */
static void test_request_header_struct_field_flexible_override(void **state)
{
	static const uint8_t b[] = {
		0x00, 0x03, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x2a,
		0x00, 0x02, 'i', 'd', 0x00,
	};
	const struct kc_message *m = kc_message_find("RequestHeader");
	struct kc_obj *o;
	size_t used;

	(void)state;
	assert_int_equal(kc_decode_struct(m->body, 2, true, b, sizeof(b),
					  &used, &arena, &o), KC_OK);
	assert_int_equal(used, sizeof(b));
	assert_str(kc_get(o, "ClientId"), "id");
	assert_int_equal(kc_encoded_size(o, 2, true), sizeof(b));
}

static void test_arena_cap_returns_nomem(void **state)
{
	struct kc_arena small;
	struct kc_obj *o;
	void *p;

	(void)state;
	kc_arena_init(&small);
	assert_int_equal(small.max_total, KC_ARENA_MAX_DEFAULT);
	small.max_total = 4096;
	p = kc_arena_alloc(&small, 100);
	assert_non_null(p);
	assert_int_equal(((uintptr_t)p) % 8, 0);
	assert_null(kc_arena_alloc(&small, 8192));
	assert_int_equal(kc_decode_response(API_METADATA, 12,
					    fetch_v16_resp, 0, &small, &o),
			 KC_ERR_SHORT);
	assert_int_equal(kc_decode_response(API_FETCH, 16, fetch_v16_resp,
					    sizeof(fetch_v16_resp), &small,
					    &o), KC_OK);
	small.max_total = 0;
	kc_arena_reset(&small);
	small.used = small.cap;              /* force a new chunk */
	assert_int_equal(kc_decode_response(API_FETCH, 16, fetch_v16_resp,
					    sizeof(fetch_v16_resp), &small,
					    &o), KC_ERR_NOMEM);
	kc_arena_free(&small);
}

static void test_encode_rejects_bad_trees_and_small_buffers(void **state)
{
	struct kc_obj *o;
	uint8_t out[8];
	struct kc_obj *b0;

	(void)state;
	assert_int_equal(kc_decode_request(API_PRODUCE, 9, produce_v9,
					   sizeof(produce_v9), &arena, &o),
			 KC_OK);
	assert_int_equal(kc_encode(o, 9, true, out, sizeof(out)),
			 KC_ERR_SHORT);
	/* Null name where the version does not allow it. */
	b0 = elem(o, "TopicData", 0);
	kc_get(b0, "Name")->u.b.len = -1;
	assert_int_equal(kc_encoded_size(o, 9, true), KC_ERR_MALFORMED);
}

/* ---- entities ---- */

struct seen {
	int topics, txn, broker;
	char last_topic[16];
};

static void count_entity(void *ctx, enum kc_entity ent,
			 const struct kc_field *f, struct kc_value *v)
{
	struct seen *s = ctx;

	(void)f;
	if (ent == KC_ENT_TOPIC_NAME) {
		s->topics++;
		memcpy(s->last_topic, v->u.b.p, (size_t)v->u.b.len);
		s->last_topic[v->u.b.len] = 0;
	} else if (ent == KC_ENT_TXN_ID) {
		s->txn++;
	} else if (ent == KC_ENT_BROKER_ID) {
		s->broker++;
	}
}

static void test_foreach_entity_visits_names_and_ids(void **state)
{
	struct seen s = { 0 };
	struct kc_obj *o;

	(void)state;
	assert_int_equal(kc_decode_request(API_PRODUCE, 9, produce_v9,
					   sizeof(produce_v9), &arena, &o),
			 KC_OK);
	kc_foreach_entity(o, count_entity, &s);
	assert_int_equal(s.topics, 1);
	assert_string_equal(s.last_topic, "foo");
	assert_int_equal(s.txn, 0);                 /* null: nothing named */
	memset(&s, 0, sizeof(s));
	assert_int_equal(kc_decode_response(API_FETCH, 16, fetch_v16_resp,
					    sizeof(fetch_v16_resp), &arena,
					    &o), KC_OK);
	kc_foreach_entity(o, count_entity, &s);
	/* PreferredReadReplica, CurrentLeader.LeaderId, NodeEndpoints. */
	assert_int_equal(s.broker, 3);
}

struct topic_ids { int n; };

static void count_topic_ids(void *ctx, enum kc_entity ent,
			    const struct kc_field *f, struct kc_value *v)
{
	(void)f;
	(void)v;
	if (ent == KC_ENT_TOPIC_ID)
		((struct topic_ids *)ctx)->n++;
}

static void test_foreach_entity_reports_topic_ids(void **state)
{
	struct topic_ids t = { 0 };
	struct kc_obj *o;

	(void)state;
	assert_int_equal(kc_decode_response(API_FETCH, 16, fetch_v16_resp,
					    sizeof(fetch_v16_resp), &arena,
					    &o), KC_OK);
	kc_foreach_entity(o, count_topic_ids, &t);
	assert_int_equal(t.n, 1);
}

/* ---- error responses ---- */

/* Encode, decode, encode again: the bytes must match. */
static struct kc_obj *roundtrip_response(int16_t api, int16_t ver,
					 const struct kc_obj *resp)
{
	struct kc_obj *back;
	uint8_t *a, *b;
	size_t alen, blen;
	int rc;

	a = encode_alloc(resp, api, ver, true, &alen);
	rc = kc_decode_response(api, ver, a, alen, &arena, &back);
	if (rc)
		fail_msg("api %d v%d: decode of own error response: %s", api,
			 ver, kc_err_str(rc));
	b = encode_alloc(back, api, ver, true, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(b);
	/* a must outlive back: keep it until the arena is reset. */
	free(a);
	return back;
}

static void test_error_response_roundtrip_every_api_version(void **state)
{
	size_t i;
	int count = 0;

	(void)state;
	for (i = 0; i < kc_napis; i++) {
		const struct kc_api *api = &kc_apis[i];
		int v;

		for (v = api->request->valid.min; v <= api->request->valid.max;
		     v++) {
			struct kc_obj *req, *resp, *back;
			uint8_t *buf;
			size_t len;

			req = kc_obj_new(api->request->body, (int16_t)v,
					 &arena);
			assert_non_null(req);
			/* Default requests encode and decode too. */
			buf = encode_alloc(req, api->api_key, (int16_t)v,
					   false, &len);
			assert_int_equal(kc_decode_request(api->api_key,
							   (int16_t)v, buf,
							   len, &arena, &back),
					 KC_OK);
			free(buf);
			assert_int_equal(kc_build_error_response(
						 api->api_key, (int16_t)v, req,
						 ERR_CLUSTER_AUTHZ, &arena,
						 &resp),
					 KC_OK);
			roundtrip_response(api->api_key, (int16_t)v, resp);
			kc_arena_reset(&arena);
			count++;
		}
	}
	assert_true(count > 300);
}

/* Build a request from bytes and the error response for it. */
static struct kc_obj *error_response_for(int16_t api, int16_t ver,
					 const uint8_t *req_bytes, size_t len,
					 int16_t err)
{
	struct kc_obj *req, *resp;

	assert_int_equal(kc_decode_request(api, ver, req_bytes, len, &arena,
					   &req), KC_OK);
	assert_int_equal(kc_build_error_response(api, ver, req, err, &arena,
						 &resp), KC_OK);
	return resp;
}

static void test_error_response_produce_mirrors_partitions(void **state)
{
	struct kc_obj *resp, *t, *p;

	(void)state;
	resp = error_response_for(API_PRODUCE, 9, produce_v9,
				  sizeof(produce_v9), ERR_TOPIC_AUTHZ);
	assert_int_equal(kc_get(resp, "Responses")->u.arr.n, 1);
	t = elem(resp, "Responses", 0);
	assert_str(kc_get(t, "Name"), "foo");
	p = elem(t, "PartitionResponses", 0);
	assert_int_equal(kc_get(p, "Index")->u.i, 2);
	assert_int_equal(kc_get(p, "ErrorCode")->u.i, ERR_TOPIC_AUTHZ);
	assert_int_equal(kc_get(p, "BaseOffset")->u.i, -1);
	resp = roundtrip_response(API_PRODUCE, 9, resp);
	assert_int_equal(kc_get(elem(elem(resp, "Responses", 0),
				     "PartitionResponses", 0),
				"ErrorCode")->u.i, ERR_TOPIC_AUTHZ);
}

static void test_error_response_fetch_mirrors_topic_ids(void **state)
{
	static const uint8_t fetch_v16_req[] = {
		0xff, 0xff, 0xff, 0xff,             /* MaxWaitMs */
		0x00, 0x00, 0x00, 0x01,             /* MinBytes */
		0x00, 0x10, 0x00, 0x00,             /* MaxBytes */
		0x00,                               /* IsolationLevel */
		0x00, 0x00, 0x00, 0x00,             /* SessionId */
		0xff, 0xff, 0xff, 0xff,             /* SessionEpoch */
		0x02,                               /* Topics: 1 */
		0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
		0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0,
		0x03,                               /* Partitions: 2 */
		0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,
		0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x10, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x07, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,
		0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x10, 0x00, 0x00, 0x00,
		0x00,                               /* topic tags */
		0x01,                               /* ForgottenTopics: 0 */
		0x01,                               /* RackId "" */
		0x00,                               /* tags */
	};
	struct kc_obj *resp, *t;

	(void)state;
	resp = error_response_for(API_FETCH, 16, fetch_v16_req,
				  sizeof(fetch_v16_req), ERR_TOPIC_AUTHZ);
	assert_int_equal(kc_get(resp, "ErrorCode")->u.i, ERR_TOPIC_AUTHZ);
	t = elem(resp, "Responses", 0);
	assert_int_equal(kc_get(t, "TopicId")->u.uuid[15], 0xb0);
	assert_int_equal(kc_get(t, "Partitions")->u.arr.n, 2);
	assert_int_equal(kc_get(elem(t, "Partitions", 1),
				"PartitionIndex")->u.i, 7);
	assert_int_equal(kc_get(elem(t, "Partitions", 1), "ErrorCode")->u.i,
			 ERR_TOPIC_AUTHZ);
	/* NodeEndpoints is tagged and stays unsent. */
	assert_null(kc_get(resp, "NodeEndpoints"));
	roundtrip_response(API_FETCH, 16, resp);
}

static void test_error_response_metadata_mirrors_topics(void **state)
{
	static const uint8_t req[] = {               /* Metadata v12 */
		0x03,                               /* Topics: 2 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 'a', 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x03, 'b', 'c', 0x00,
		0x01, 0x00, 0x00,
	};
	static const uint8_t all_topics[] = { 0x00, 0x01, 0x00, 0x00 };
	struct kc_obj *resp;

	(void)state;
	resp = error_response_for(API_METADATA, 12, req, sizeof(req),
				  ERR_TOPIC_AUTHZ);
	assert_int_equal(kc_get(resp, "Brokers")->u.arr.n, 0);
	assert_int_equal(kc_get(resp, "ControllerId")->u.i, -1);
	assert_int_equal(kc_get(resp, "Topics")->u.arr.n, 2);
	assert_str(kc_get(elem(resp, "Topics", 1), "Name"), "bc");
	assert_int_equal(kc_get(elem(resp, "Topics", 1), "ErrorCode")->u.i,
			 ERR_TOPIC_AUTHZ);
	roundtrip_response(API_METADATA, 12, resp);
	/* Topics null (all topics): nothing to mirror. */
	resp = error_response_for(API_METADATA, 12, all_topics,
				  sizeof(all_topics), ERR_TOPIC_AUTHZ);
	assert_int_equal(kc_get(resp, "Topics")->u.arr.n, 0);
}

static void test_error_response_offset_commit(void **state)
{
	static const uint8_t req[] = {               /* OffsetCommit v9 */
		0x03, 'g', 'r',                     /* GroupId */
		0x00, 0x00, 0x00, 0x01,
		0x02, 'm',                          /* MemberId */
		0x00,                               /* GroupInstanceId null */
		0x02,                               /* Topics: 1 */
		0x02, 't',
		0x02,                               /* Partitions: 1 */
		0x00, 0x00, 0x00, 0x03,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a,
		0xff, 0xff, 0xff, 0xff,
		0x00,                               /* metadata null */
		0x00, 0x00, 0x00,
	};
	struct kc_obj *resp, *p;

	(void)state;
	resp = error_response_for(API_OFFSET_COMMIT, 9, req, sizeof(req),
				  ERR_GROUP_AUTHZ);
	assert_str(kc_get(elem(resp, "Topics", 0), "Name"), "t");
	p = elem(elem(resp, "Topics", 0), "Partitions", 0);
	assert_int_equal(kc_get(p, "PartitionIndex")->u.i, 3);
	assert_int_equal(kc_get(p, "ErrorCode")->u.i, ERR_GROUP_AUTHZ);
	roundtrip_response(API_OFFSET_COMMIT, 9, resp);
}

static void test_error_response_create_topics(void **state)
{
	static const uint8_t req[] = {               /* CreateTopics v7 */
		0x02,
		0x04, 'n', 'e', 'w',
		0x00, 0x00, 0x00, 0x03, 0x00, 0x02,
		0x01,                               /* Assignments: 0 */
		0x02, 0x04, 'k', 'e', 'y', 0x02, 'v', 0x00, /* 1 config */
		0x00,
		0x00, 0x00, 0x75, 0x30, 0x00, 0x00,
	};
	struct kc_obj *resp, *t;

	(void)state;
	resp = error_response_for(API_CREATE_TOPICS, 7, req, sizeof(req),
				  ERR_TOPIC_AUTHZ);
	t = elem(resp, "Topics", 0);
	assert_str(kc_get(t, "Name"), "new");
	assert_int_equal(kc_get(t, "ErrorCode")->u.i, ERR_TOPIC_AUTHZ);
	assert_int_equal(kc_get(t, "NumPartitions")->u.i, -1);
	assert_int_equal(kc_get(t, "ReplicationFactor")->u.i, -1);
	/* Configs carry no error: not mirrored. */
	assert_true(kc_get(t, "Configs")->u.arr.n <= 0);
	roundtrip_response(API_CREATE_TOPICS, 7, resp);
}

static void test_error_response_describe_configs(void **state)
{
	static const uint8_t req[] = {               /* DescribeConfigs v4 */
		0x02,
		0x02,                               /* TOPIC */
		0x02, 'x',
		0x00,                               /* keys null */
		0x00,
		0x00, 0x00, 0x00,
	};
	struct kc_obj *resp, *r;

	(void)state;
	resp = error_response_for(API_DESCRIBE_CONFIGS, 4, req, sizeof(req),
				  ERR_TOPIC_AUTHZ);
	r = elem(resp, "Results", 0);
	assert_int_equal(kc_get(r, "ResourceType")->u.i, 2);
	assert_str(kc_get(r, "ResourceName"), "x");
	assert_int_equal(kc_get(r, "ErrorCode")->u.i, ERR_TOPIC_AUTHZ);
	assert_int_equal(kc_get(r, "Configs")->u.arr.n, 0);
	roundtrip_response(API_DESCRIBE_CONFIGS, 4, resp);
}

static void test_error_response_find_coordinator(void **state)
{
	static const uint8_t v4[] = {
		0x00,                               /* KeyType group */
		0x03, 0x03, 'g', '1', 0x03, 'g', '2', 0x00,
	};
	static const uint8_t v3[] = { 0x03, 'g', '1', 0x00, 0x00 };
	struct kc_obj *resp, *c;

	(void)state;
	resp = error_response_for(API_FIND_COORDINATOR, 4, v4, sizeof(v4),
				  ERR_GROUP_AUTHZ);
	assert_int_equal(kc_get(resp, "Coordinators")->u.arr.n, 2);
	c = elem(resp, "Coordinators", 1);
	assert_str(kc_get(c, "Key"), "g2");
	assert_int_equal(kc_get(c, "ErrorCode")->u.i, ERR_GROUP_AUTHZ);
	assert_int_equal(kc_get(c, "NodeId")->u.i, -1);
	assert_int_equal(kc_get(c, "Port")->u.i, -1);
	assert_int_equal(kc_get(c, "Host")->u.b.len, 0);
	roundtrip_response(API_FIND_COORDINATOR, 4, resp);
	resp = error_response_for(API_FIND_COORDINATOR, 3, v3, sizeof(v3),
				  ERR_GROUP_AUTHZ);
	assert_int_equal(kc_get(resp, "ErrorCode")->u.i, ERR_GROUP_AUTHZ);
	assert_int_equal(kc_get(resp, "NodeId")->u.i, -1);
	roundtrip_response(API_FIND_COORDINATOR, 3, resp);
}

static void test_error_response_join_group_top_level(void **state)
{
	struct kc_obj *req, *resp;

	(void)state;
	req = kc_obj_new(msg_of(API_JOIN_GROUP, false)->body, 9, &arena);
	assert_int_equal(kc_build_error_response(API_JOIN_GROUP, 9, req,
						 ERR_GROUP_AUTHZ, &arena,
						 &resp), KC_OK);
	assert_int_equal(kc_get(resp, "ErrorCode")->u.i, ERR_GROUP_AUTHZ);
	assert_int_equal(kc_get(resp, "GenerationId")->u.i, -1);
	assert_int_equal(kc_get(resp, "Members")->u.arr.n, 0);
	roundtrip_response(API_JOIN_GROUP, 9, resp);
}

static void test_error_response_init_producer_id(void **state)
{
	static const uint8_t req[] = {               /* InitProducerId v5 */
		0x04, 't', 'x', '1',
		0x00, 0x00, 0xea, 0x60,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0x00,
	};
	struct kc_obj *resp;
	uint8_t out[64];
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x00, 0x00, 0x35,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0x00,
	};

	(void)state;
	resp = error_response_for(API_INIT_PRODUCER_ID, 5, req, sizeof(req),
				  ERR_TXN_AUTHZ);
	assert_int_equal(kc_get(resp, "ErrorCode")->u.i, ERR_TXN_AUTHZ);
	assert_int_equal(kc_get(resp, "ProducerId")->u.i, -1);
	assert_int_equal(kc_encode(resp, 5, true, out, sizeof(out)),
			 sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void test_error_response_delete_groups(void **state)
{
	static const uint8_t req[] = {               /* DeleteGroups v2 */
		0x03, 0x02, 'a', 0x03, 'b', 'b', 0x00,
	};
	struct kc_obj *resp, *r;

	(void)state;
	resp = error_response_for(API_DELETE_GROUPS, 2, req, sizeof(req),
				  ERR_GROUP_AUTHZ);
	assert_int_equal(kc_get(resp, "Results")->u.arr.n, 2);
	r = elem(resp, "Results", 1);
	assert_str(kc_get(r, "GroupId"), "bb");
	assert_int_equal(kc_get(r, "ErrorCode")->u.i, ERR_GROUP_AUTHZ);
	roundtrip_response(API_DELETE_GROUPS, 2, resp);
}

/* Populate every field of a tree: one element per array, a value per
 * string, every tagged field sent. */
static void fill_everything(struct kc_obj *o, int16_t ver, int depth)
{
	size_t i;

	assert_true(depth < 16);
	for (i = 0; i < o->st->nfields; i++) {
		const struct kc_field *f = &o->st->fields[i];
		struct kc_value *v = &o->vals[i];

		if (!kc_range_has(f->versions, ver))
			continue;
		v->present = true;
		switch (f->type) {
		case KC_STRING: case KC_BYTES: case KC_RECORDS:
			assert_int_equal(kc_set_string(&arena, v, f->name,
						       strlen(f->name)), KC_OK);
			break;
		case KC_STRUCT:
			if (!v->u.obj)
				v->u.obj = kc_obj_new(f->sub, ver, &arena);
			fill_everything(v->u.obj, ver, depth + 1);
			break;
		case KC_ARRAY:
			assert_int_equal(kc_array_resize(&arena, v, f, ver, 2),
					 KC_OK);
			if (f->elem_type == KC_STRUCT) {
				fill_everything(v->u.arr.v[0].u.obj, ver,
						depth + 1);
			} else if (f->elem_type == KC_STRING) {
				kc_set_string(&arena, &v->u.arr.v[0], "e", 1);
				kc_set_string(&arena, &v->u.arr.v[1], "", 0);
			} else if (f->elem_type == KC_UUID) {
				memset(v->u.arr.v[0].u.uuid, 0x5a, 16);
			} else {
				v->u.arr.v[0].u.i = 1;
			}
			break;
		case KC_BOOL:
			v->u.i = 1;
			break;
		case KC_FLOAT64:
			v->u.f = 0.5;
			break;
		case KC_UUID:
			memset(v->u.uuid, 0xa5, 16);
			break;
		default:
			v->u.i = 0x41;
			break;
		}
	}
}

static void roundtrip_full(int16_t api, int16_t ver, bool response)
{
	struct kc_obj *o = kc_obj_new(msg_of(api, response)->body, ver,
				      &arena);
	struct kc_obj *back;
	uint8_t *a, *b;
	size_t alen, blen;

	assert_non_null(o);
	fill_everything(o, ver, 0);
	a = encode_alloc(o, api, ver, response, &alen);
	assert_int_equal(decode(api, ver, response, a, alen, &back), KC_OK);
	b = encode_alloc(back, api, ver, response, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
}

static void test_full_messages_roundtrip_every_api_version(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < kc_napis; i++) {
		const struct kc_api *api = &kc_apis[i];
		int v;

		for (v = api->request->valid.min; v <= api->request->valid.max;
		     v++) {
			roundtrip_full(api->api_key, (int16_t)v, false);
			roundtrip_full(api->api_key, (int16_t)v, true);
			kc_arena_reset(&arena);
		}
	}
}

/* ---- building trees ---- */

static void test_obj_new_defaults_and_array_resize(void **state)
{
	const struct kc_struct *st = msg_of(API_METADATA, true)->body;
	struct kc_obj *o = kc_obj_new(st, 12, &arena);
	int bi = kc_field_index(st, "Brokers");
	struct kc_obj *b;

	(void)state;
	assert_non_null(o);
	assert_int_equal(kc_get(o, "ControllerId")->u.i, -1);
	assert_int_equal(kc_get(o, "ClusterId")->u.b.len, -1);
	assert_null(kc_get(o, "ClusterAuthorizedOperations")); /* v8-10 */
	assert_int_equal(kc_array_resize(&arena, &o->vals[bi],
					 &st->fields[bi], 12, 3), KC_OK);
	b = elem(o, "Brokers", 2);
	assert_int_equal(kc_get(b, "Rack")->u.b.len, -1);
	assert_int_equal(kc_set_string(&arena, kc_get(b, "Host"), "h", 1),
			 KC_OK);
	assert_int_equal(kc_array_resize(&arena, &o->vals[bi],
					 &st->fields[bi], 12, 1), KC_OK);
	assert_int_equal(kc_get(o, "Brokers")->u.arr.n, 1);
	assert_int_equal(kc_field_index(st, "NoSuchField"), -1);
	assert_null(kc_get(o, "NoSuchField"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_arena, teardown_arena)
		T(test_request_header_v1_decodes_client_id),
		T(test_request_header_v2_keeps_tagged_fields),
		T(test_request_header_v2_null_client_id_and_bad_tags),
		T(test_request_header_v0_has_no_client_id),
		T(test_request_header_unknown_api_and_version),
		T(test_response_header_v0_and_v1),
		T(test_header_versions_follow_flexible_versions),
		T(test_api_versions_v0_request_and_response),
		T(test_api_versions_v3_request_and_response),
		T(test_metadata_v1_response_broker_rewrite),
		T(test_metadata_v12_response_broker_rewrite),
		T(test_find_coordinator_v3_response),
		T(test_find_coordinator_v4_response),
		T(test_produce_v9_request_records_zero_copy),
		T(test_fetch_v16_response_node_endpoints_and_unknown_tag),
		T(test_known_and_unknown_tags_merge_in_order),
		T(test_huge_array_count_rejected_without_allocation),
		T(test_trailing_bytes_rejected),
		T(test_null_in_non_nullable_rejected),
		T(test_bad_varints_bools_and_tag_order_rejected),
		T(test_unknown_api_key_and_version_codes),
		T(test_tables_are_sorted_and_complete),
		T(test_request_header_struct_field_flexible_override),
		T(test_arena_cap_returns_nomem),
		T(test_encode_rejects_bad_trees_and_small_buffers),
		T(test_foreach_entity_visits_names_and_ids),
		T(test_foreach_entity_reports_topic_ids),
		T(test_error_response_roundtrip_every_api_version),
		T(test_error_response_produce_mirrors_partitions),
		T(test_error_response_fetch_mirrors_topic_ids),
		T(test_error_response_metadata_mirrors_topics),
		T(test_error_response_offset_commit),
		T(test_error_response_create_topics),
		T(test_error_response_describe_configs),
		T(test_error_response_find_coordinator),
		T(test_error_response_join_group_top_level),
		T(test_error_response_init_producer_id),
		T(test_error_response_delete_groups),
		T(test_obj_new_defaults_and_array_resize),
		T(test_full_messages_roundtrip_every_api_version),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
