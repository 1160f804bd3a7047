/*
 * test_apis.c - unit tests of proxy/enforce/apis.c: the client-facing allowlist
 * (fail closed) and its version bounds against the codec tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "enforce/apis.h"
#include "enforce/authz_apis.h"
#include "kafka/codec.h"

static int16_t codec_max(int16_t key)
{
	const struct kc_api *a = kc_api_find(key);
	assert_non_null(a);
	return a->request->valid.max < a->response->valid.max ? a->request->valid.max
							      : a->response->valid.max;
}

static int16_t codec_min(int16_t key)
{
	const struct kc_api *a = kc_api_find(key);
	assert_non_null(a);
	return a->request->valid.min > a->response->valid.min ? a->request->valid.min
							      : a->response->valid.min;
}

static void test_client_apis_allowed_over_codec_range(void **state)
{
	(void)state;
	const int16_t keys[] = { 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19,
				 20, 22, 26, 32, 60 };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int16_t k = keys[i];
		/* Metadata starts at v4 (test_metadata_needs_v4) */
		int16_t min = k == 3 ? 4 : codec_min(k);
		assert_int_equal(kg_api_max_version(k), codec_max(k));
		assert_int_equal(kg_api_min_version(k), min);
		assert_true(kg_api_allowed(k, min));
		assert_true(kg_api_allowed(k, codec_max(k)));
		assert_false(kg_api_allowed(k, (int16_t)(codec_max(k) + 1)));
		if (min > 0)
			assert_false(kg_api_allowed(k, (int16_t)(min - 1)));
		assert_false(kg_api_allowed(k, -1));
	}
}

static void test_produce_versions(void **state)
{
	(void)state;
	/* the codec dropped Produce v0-2 (KIP-896): so does the gateway */
	assert_int_equal(kg_api_min_version(0), codec_min(0));
	assert_false(kg_api_allowed(0, 2));
	assert_true(kg_api_allowed(0, 3));
	assert_true(kg_api_allowed(0, 10));
}

static void test_add_partitions_to_txn_capped_at_v3(void **state)
{
	(void)state;
	assert_true(codec_max(24) > 3);   /* the cap is below the codec's */
	assert_int_equal(kg_api_max_version(24), 3);
	assert_true(kg_api_allowed(24, 3));
	assert_false(kg_api_allowed(24, 4));
}

static void test_broker_internal_and_security_apis_refused(void **state)
{
	(void)state;
	const int16_t refused[] = {
		4, 5, 6, 7,          /* LeaderAndIsr, StopReplica, UpdateMetadata, ControlledShutdown */
		17, 36,              /* SaslHandshake, SaslAuthenticate: the gateway's own */
		27,                  /* WriteTxnMarkers */
		29, 30, 31,          /* DescribeAcls, CreateAcls, DeleteAcls */
		38, 39, 40, 41,      /* delegation tokens */
		50, 51,              /* SCRAM credentials */
		52, 53, 54, 55,      /* Vote, Begin/EndQuorumEpoch, DescribeQuorum */
		56, 58, 59,          /* AlterPartition, Envelope, FetchSnapshot */
		62, 63, 64, 67,      /* broker registration/heartbeat, AllocateProducerIds */
		76, 77, 78, 79,      /* share groups: no authorization rule yet */
		88, 89, 90, 91, 92,  /* streams groups, share-group offsets: likewise */
		-1, 9999, INT16_MAX, INT16_MIN,
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int16_t k = refused[i];
		if (kg_api_max_version(k) != -1)
			fail_msg("api %d (%s) must not be allowed", k, kg_api_name(k));
		for (int16_t v = 0; v < 20; v++)
			assert_false(kg_api_allowed(k, v));
	}
}

static void test_every_allowed_api_is_a_broker_api(void **state)
{
	(void)state;
	int allowed = 0;
	for (size_t i = 0; i < kc_napis; i++) {
		const struct kc_api *a = &kc_apis[i];
		if (kg_api_max_version(a->api_key) < 0)
			continue;
		allowed++;
		if (!(a->listeners & 1))
			fail_msg("%s is allowed but not served by broker listeners", a->name);
		assert_true(kg_api_min_version(a->api_key) <= kg_api_max_version(a->api_key));
		assert_true(kg_api_max_version(a->api_key) <= codec_max(a->api_key));
		/* fail closed: nothing is offered without an authorization rule */
		if (!kg_authz_api_has_rule(a->api_key))
			fail_msg("%s is allowed but has no authorization rule", a->name);
	}
	assert_true(allowed >= 40);
}

/* Metadata v0-3 cannot turn off automatic topic creation. */
static void test_metadata_needs_v4(void **state)
{
	(void)state;
	assert_int_equal(kg_api_min_version(3), 4);
	assert_false(kg_api_allowed(3, 3));
	assert_true(kg_api_allowed(3, 4));
}

static void test_api_names(void **state)
{
	(void)state;
	assert_string_equal(kg_api_name(3), "Metadata");
	assert_string_equal(kg_api_name(18), "ApiVersions");
	assert_string_equal(kg_api_name(9999), "unknown");
	assert_int_equal(kg_api_min_version(9999), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_apis_allowed_over_codec_range),
		cmocka_unit_test(test_produce_versions),
		cmocka_unit_test(test_add_partitions_to_txn_capped_at_v3),
		cmocka_unit_test(test_broker_internal_and_security_apis_refused),
		cmocka_unit_test(test_every_allowed_api_is_a_broker_api),
		cmocka_unit_test(test_metadata_needs_v4),
		cmocka_unit_test(test_api_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
