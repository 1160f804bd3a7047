/*
 * test_versions.c - unit tests of proxy/enforce/versions.c: ApiVersions
 * negotiated against the gateway's and the brokers' ranges (a 4.x client
 * sends ApiVersions v4, a 3.6 broker knows v0-3), the v0-shaped
 * UNSUPPORTED_VERSION answer read and written, and no request forwarded
 * in a version the brokers do not offer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "enforce/apis.h"
#include "enforce/versions.h"
#include "kafka/codec.h"
#include "kafka/errors.h"
#include "route/router.h"

static struct kg_config cfg;
static struct kg_router router;

static int setup(void **state)
{
	(void)state;
	kg_router_init(&router, &cfg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kg_router_destroy(&router);
	return 0;
}

/* Upstream ranges as a Kafka 3.6 broker offers some of them. */
static void brokers_like_3_6(void)
{
	struct kg_api_range r[KG_MAX_API_KEY + 1];
	for (int k = 0; k <= KG_MAX_API_KEY; k++)
		r[k] = (struct kg_api_range){ -1, -1 };
	r[KC_API_PRODUCE] = (struct kg_api_range){ 0, 9 };
	r[KC_API_FETCH] = (struct kg_api_range){ 0, 15 };
	r[KC_API_METADATA] = (struct kg_api_range){ 0, 12 };
	r[KC_API_API_VERSIONS] = (struct kg_api_range){ 0, 3 };
	kg_router_set_api_ranges(&router, r);
}

/* Decodes a whole response frame (size, header v0, body) as version ver. */
static struct kc_obj *decode_frame(const uint8_t *f, long len, int16_t ver, struct kc_arena *a,
				   int32_t *corr)
{
	assert_true(len > 8);
	*corr = (int32_t)((uint32_t)f[4] << 24 | (uint32_t)f[5] << 16 | (uint32_t)f[6] << 8 | f[7]);
	struct kc_obj *o = NULL;
	assert_int_equal(kc_decode_response(KC_API_API_VERSIONS, ver, f + 8, (size_t)len - 8, a,
					    &o), KC_OK);
	return o;
}

static void test_unknown_follows_the_brokers(void **state)
{
	(void)state;
	int16_t gmax = kg_api_max_version(KC_API_API_VERSIONS);
	assert_true(gmax >= 4);
	/* Before the first refresh only the gateway's own range counts. */
	assert_false(kg_versions_unknown(&router, gmax));
	assert_true(kg_versions_unknown(&router, (int16_t)(gmax + 1)));
	brokers_like_3_6();
	assert_false(kg_versions_unknown(&router, 3));
	assert_true(kg_versions_unknown(&router, 4));
}

static void test_unsupported_answer_carries_the_met_range(void **state)
{
	(void)state;
	brokers_like_3_6();
	uint8_t *f = NULL;
	long len = kg_versions_unsupported(&router, 77, &f);
	assert_true(len > 0);
	struct kc_arena a;
	kc_arena_init(&a);
	int32_t corr;
	struct kc_obj *o = decode_frame(f, len, 0, &a, &corr);
	assert_int_equal(corr, 77);
	assert_int_equal(kc_get(o, "ErrorCode")->u.i, KERR_UNSUPPORTED_VERSION);
	struct kc_value *keys = kc_get(o, "ApiKeys");
	assert_int_equal(keys->u.arr.n, 1);
	struct kc_obj *e = keys->u.arr.v[0].u.obj;
	assert_int_equal(kc_get(e, "ApiKey")->u.i, KC_API_API_VERSIONS);
	assert_int_equal(kc_get(e, "MinVersion")->u.i, 0);
	assert_int_equal(kc_get(e, "MaxVersion")->u.i, 3);
	kc_arena_free(&a);
	free(f);
}

static void test_preauth_answer_of_a_newer_version(void **state)
{
	(void)state;
	brokers_like_3_6();
	struct kc_arena a;
	kc_arena_init(&a);
	bool full = true;
	uint8_t *f = NULL;
	const char *why = NULL;
	/* v4 from a 4.x client: the unsupported answer, the state stays. */
	long len = kg_versions_preauth(&router, NULL, 4, 5, NULL, &a, &full, &f, &why);
	assert_true(len > 0);
	assert_false(full);
	int32_t corr;
	struct kc_obj *o = decode_frame(f, len, 0, &a, &corr);
	assert_int_equal(kc_get(o, "ErrorCode")->u.i, KERR_UNSUPPORTED_VERSION);
	free(f);
	/* v3 gets the full answer, with ApiVersions itself at 0-3. */
	struct kc_obj *req = kc_obj_new(kc_api_find(KC_API_API_VERSIONS)->request->body, 3, &a);
	kc_set_string(&a, kc_get(req, "ClientSoftwareName"), "apache-kafka-java", 17);
	kc_set_string(&a, kc_get(req, "ClientSoftwareVersion"), "4.3.1", 5);
	len = kg_versions_preauth(&router, NULL, 3, 6, req, &a, &full, &f, &why);
	assert_true(len > 0);
	assert_true(full);
	o = decode_frame(f, len, 3, &a, &corr);
	assert_int_equal(kc_get(o, "ErrorCode")->u.i, 0);
	struct kc_value *keys = kc_get(o, "ApiKeys");
	bool seen = false;
	for (int32_t i = 0; i < keys->u.arr.n; i++) {
		struct kc_obj *e = keys->u.arr.v[i].u.obj;
		if (kc_get(e, "ApiKey")->u.i == KC_API_API_VERSIONS) {
			assert_int_equal(kc_get(e, "MaxVersion")->u.i, 3);
			seen = true;
		}
		/* Nothing the brokers do not offer. */
		assert_true(kc_get(e, "ApiKey")->u.i != KC_API_DESCRIBE_TOPIC_PARTITIONS);
	}
	assert_true(seen);
	free(f);
	kc_arena_free(&a);
}

static void test_broker_unsupported_answer_is_read_as_v0(void **state)
{
	(void)state;
	/* A v0 body: ErrorCode 35, [ApiVersions 0-3], as a 3.6 broker sends
	 * for an ApiVersions v4 request. */
	const uint8_t v0[] = { 0x00, 0x23, 0, 0, 0, 1, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03 };
	assert_int_equal(kg_versions_response_version(4, v0, sizeof(v0)), 0);
	struct kc_arena a;
	kc_arena_init(&a);
	struct kc_obj *o = NULL;
	assert_int_equal(kc_decode_response(KC_API_API_VERSIONS, 0, v0, sizeof(v0), &a, &o), KC_OK);
	/* Read as v4 it does not decode: the malformed-response close that
	 * clients of 4.x saw against 3.6 brokers. */
	struct kc_obj *bad = NULL;
	assert_int_not_equal(kc_decode_response(KC_API_API_VERSIONS, 4, v0, sizeof(v0), &a, &bad),
			     KC_OK);
	/* Any other answer keeps the request's version. */
	const uint8_t ok[] = { 0x00, 0x00 };
	assert_int_equal(kg_versions_response_version(4, ok, sizeof(ok)), 4);
	assert_int_equal(kg_versions_response_version(4, v0, 1), 4);
	kc_arena_free(&a);
}

static void test_no_version_the_brokers_do_not_offer(void **state)
{
	(void)state;
	/* Unknown ranges: the broker judges. */
	assert_true(kg_versions_upstream_has(&router, KC_API_PRODUCE, 11));
	brokers_like_3_6();
	assert_true(kg_versions_upstream_has(&router, KC_API_PRODUCE, 9));
	assert_true(kg_versions_upstream_has(&router, KC_API_PRODUCE, 3));
	assert_false(kg_versions_upstream_has(&router, KC_API_PRODUCE, 10));
	assert_false(kg_versions_upstream_has(&router, KC_API_FETCH, 16));
	/* An API the brokers do not offer at all. */
	assert_false(kg_versions_upstream_has(&router, KC_API_DESCRIBE_TOPIC_PARTITIONS, 0));
	assert_false(kg_versions_upstream_has(&router, 9999, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unknown_follows_the_brokers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_answer_carries_the_met_range, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_preauth_answer_of_a_newer_version, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_broker_unsupported_answer_is_read_as_v0, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_version_the_brokers_do_not_offer, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
