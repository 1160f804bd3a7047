/* test_quota.c - where a response's throttle_time_ms is, and raising it
 * in place (loop/quota.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kafka/codec.h"
#include "kafka/frame.h"
#include "loop/quota.h"

static void test_field_position(void **state)
{
	(void)state;
	/* Fetch v0 has none; v1+ leads with it */
	assert_int_equal(kg_quota_field(KC_API_FETCH, 0), KG_QF_NONE);
	assert_int_equal(kg_quota_field(KC_API_FETCH, 4), KG_QF_FIRST);
	assert_int_equal(kg_quota_field(KC_API_FETCH, 12), KG_QF_FIRST);
	/* Produce puts it after the responses */
	assert_int_equal(kg_quota_field(KC_API_PRODUCE, 0), KG_QF_NONE);
	assert_int_equal(kg_quota_field(KC_API_PRODUCE, 9), KG_QF_INSIDE);
	assert_int_equal(kg_quota_field(KC_API_METADATA, 2), KG_QF_NONE);
	assert_int_equal(kg_quota_field(KC_API_METADATA, 12), KG_QF_FIRST);
	assert_int_equal(kg_quota_field(KC_API_OFFSET_DELETE, 0), KG_QF_INSIDE);
	assert_int_equal(kg_quota_field(KC_API_SASL_AUTHENTICATE, 2), KG_QF_NONE);
	assert_int_equal(kg_quota_field(9999, 0), KG_QF_NONE);
	assert_int_equal(kg_quota_patch_needs(KC_API_FETCH, 4), 12);
	assert_int_equal(kg_quota_patch_needs(KC_API_FETCH, 12), 13);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void test_patch_in_place(void **state)
{
	(void)state;
	/* Fetch v4: size, correlation id, throttle_time_ms, ... */
	uint8_t f[32] = { 0 };
	put32(f, 28);
	put32(f + 4, 77);
	put32(f + 8, 5);
	assert_true(kg_quota_patch(f, sizeof(f), KC_API_FETCH, 4, 250));
	assert_int_equal(kg_be32(f + 8), 250);
	assert_int_equal(kg_be32(f + 4), 77);
	/* never lowered */
	assert_true(kg_quota_patch(f, sizeof(f), KC_API_FETCH, 4, 100));
	assert_int_equal(kg_be32(f + 8), 250);
	/* too little of the frame here: nothing touched */
	assert_false(kg_quota_patch(f, 11, KC_API_FETCH, 4, 900));
	assert_int_equal(kg_be32(f + 8), 250);
	/* Fetch v12: header v1 (an empty tag count) before the field */
	uint8_t g[32] = { 0 };
	put32(g, 28);
	put32(g + 4, 78);
	g[8] = 0;
	put32(g + 9, 0);
	assert_true(kg_quota_patch(g, sizeof(g), KC_API_FETCH, 12, 1234));
	assert_int_equal(kg_be32(g + 9), 1234);
	assert_int_equal(g[8], 0);
	/* header tags: left alone */
	g[8] = 1;
	assert_false(kg_quota_patch(g, sizeof(g), KC_API_FETCH, 12, 5000));
	assert_int_equal(kg_be32(g + 9), 1234);
	/* Produce: not in place; Fetch v0: no field */
	assert_false(kg_quota_patch(f, sizeof(f), KC_API_PRODUCE, 9, 10));
	assert_false(kg_quota_patch(f, sizeof(f), KC_API_FETCH, 0, 10));
}

static void test_set_in_tree(void **state)
{
	(void)state;
	struct kc_arena a;
	kc_arena_init(&a);
	const struct kc_api *api = kc_api_find(KC_API_PRODUCE);
	struct kc_obj *resp = kc_obj_new(api->response->body, 9, &a);
	assert_non_null(resp);
	kc_at(resp, KCF_ProduceResponse_ThrottleTimeMs)->u.i = 40;
	assert_true(kg_quota_set(resp, 300));
	assert_int_equal(kc_at(resp, KCF_ProduceResponse_ThrottleTimeMs)->u.i, 300);
	assert_false(kg_quota_set(resp, 200));
	assert_int_equal(kc_at(resp, KCF_ProduceResponse_ThrottleTimeMs)->u.i, 300);
	/* v0 has no field: nothing to raise */
	struct kc_obj *old = kc_obj_new(api->response->body, 0, &a);
	assert_false(kg_quota_set(old, 300));
	kc_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_position),
		cmocka_unit_test(test_patch_in_place),
		cmocka_unit_test(test_set_in_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
