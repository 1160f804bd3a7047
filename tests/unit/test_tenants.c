/* test_tenants.c - per-tenant connections and traffic (loop/tenants.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "loop/tenants.h"

static uint32_t open_of(const char *name)
{
	size_t n;
	struct kg_tenant_counts *o = kg_tenants_snapshot(&n);
	uint32_t open = UINT32_MAX;
	for (size_t i = 0; i < n; i++)
		if (strcmp(o[i].name, name) == 0)
			open = o[i].open;
	free(o);
	return open;
}

static void test_limit_and_leave(void **state)
{
	(void)state;
	struct kg_tenant acme = { .name = "acme", .max_connections = 2 };
	struct kg_tenant_slot *a, *b, *c;
	assert_int_equal(kg_tenants_enter(&acme, &a), 0);
	assert_int_equal(kg_tenants_enter(&acme, &b), 0);
	assert_ptr_equal(a, b);
	assert_string_equal(kg_tenant_slot_name(a), "acme");
	/* at its limit: refused, nothing counted */
	assert_int_equal(kg_tenants_enter(&acme, &c), -1);
	assert_ptr_equal(c, a);
	assert_int_equal(open_of("acme"), 2);
	kg_tenants_leave(b);
	assert_int_equal(open_of("acme"), 1);
	assert_int_equal(kg_tenants_enter(&acme, &c), 0);
	/* a reload lowers the limit: the connections in stay, new ones wait */
	struct kg_tenant lower = { .name = "acme", .max_connections = 1 };
	assert_int_equal(kg_tenants_enter(&lower, &b), -1);
	assert_int_equal(open_of("acme"), 2);
	kg_tenants_leave(a);
	kg_tenants_leave(c);
	kg_tenants_leave(NULL);
	assert_int_equal(open_of("acme"), 0);
	assert_int_equal(kg_tenants_enter(&lower, &b), 0);
	kg_tenants_leave(b);
}

static void test_no_limit_and_names(void **state)
{
	(void)state;
	struct kg_tenant free_t = { .name = "unlimited", .max_connections = 0 };
	struct kg_tenant_slot *s[100];
	for (int i = 0; i < 100; i++)
		assert_int_equal(kg_tenants_enter(&free_t, &s[i]), 0);
	assert_int_equal(open_of("unlimited"), 100);
	for (int i = 0; i < 100; i++)
		kg_tenants_leave(s[i]);
	assert_int_equal(open_of("unlimited"), 0);
	/* tenants are counted apart; list reports the total count past cap */
	struct kg_tenant other = { .name = "other", .max_connections = 1 };
	struct kg_tenant_slot *o;
	assert_int_equal(kg_tenants_enter(&other, &o), 0);
	assert_int_equal(open_of("other"), 1);
	assert_int_equal(open_of("unlimited"), 0);
	assert_int_equal(open_of("nobody"), UINT32_MAX);
	size_t count;
	free(kg_tenants_snapshot(&count));
	assert_true(count >= 2);
	/* traffic adds up per tenant */
	kg_tenants_traffic(o, 100, 2000, 3);
	kg_tenants_traffic(o, 1, 2, 1);
	size_t n;
	struct kg_tenant_counts *all = kg_tenants_snapshot(&n);
	bool seen = false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, "other") == 0) {
			seen = true;
			assert_int_equal(all[i].bytes_from_client, 101);
			assert_int_equal(all[i].bytes_from_broker, 2002);
			assert_int_equal(all[i].requests, 4);
		} else
			assert_int_equal(all[i].requests, 0);
	assert_true(seen);
	free(all);
	kg_tenants_leave(o);
}

#define MS 1000000ull                /* ns per ms */

/* The bucket: one second of credit, then waits that pay a debt back at
 * the rate; the wait is capped, the debt is not. */
static void test_quota_bucket(void **state)
{
	(void)state;
	struct kg_tenant q = { .name = "quota-a" };
	struct kg_tenant_slot *s;
	assert_int_equal(kg_tenants_enter(&q, &s), 0);
	assert_int_equal(kg_tenants_quota_kinds(s), 0);
	assert_int_equal(kg_tenants_quota_generation(s), 0);
	/* no quota: nothing is ever owed */
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_PRODUCE, 1u << 30, 1000 * MS), 0);
	uint64_t rate[KG_QUOTA_KINDS] = { [KG_QUOTA_PRODUCE] = 1000 };
	kg_tenants_quota_set(s, rate, 7);
	assert_int_equal(kg_tenants_quota_generation(s), 7);
	assert_int_equal(kg_tenants_quota_kinds(s), 1u << KG_QUOTA_PRODUCE);
	/* the first second's worth goes through */
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_PRODUCE, 1000, 1000 * MS), 0);
	/* 500 more at once: 500 ms of debt (rounded up) */
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_PRODUCE, 500, 1000 * MS), 501);
	/* other kinds have no quota */
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_FETCH, 5000, 1000 * MS), 0);
	/* 500 ms later the debt is paid: 100 bytes owe 100 ms */
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_PRODUCE, 100, 1500 * MS), 101);
	/* a long pause refills at most one second's worth */
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_PRODUCE, 1000, 60000 * MS), 0);
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_PRODUCE, 1, 60000 * MS), 2);
	/* a huge charge: the wait is capped, the debt stays */
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_PRODUCE, 100000, 60000 * MS),
			 KG_QUOTA_MAX_THROTTLE_MS);
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_PRODUCE, 1, 70000 * MS),
			 KG_QUOTA_MAX_THROTTLE_MS);
	/* a steady sender over 30 s gets the rate plus one second of burst */
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_PRODUCE, 0, 200000 * MS), 0);
	uint64_t t = 200000 * MS, sent = 0, end = t + 30000 * MS;
	while (t < end) {
		uint32_t wait = kg_tenants_quota_charge(s, KG_QUOTA_PRODUCE, 100, t);
		sent += 100;
		t += (wait ? wait : 1) * MS;
	}
	assert_true(sent >= 30000 && sent <= 31000 + 200);
	/* counted for /metrics */
	size_t n;
	struct kg_tenant_counts *all = kg_tenants_snapshot(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, "quota-a") == 0) {
			assert_int_equal(all[i].rate[KG_QUOTA_PRODUCE], 1000);
			assert_true(all[i].throttled[KG_QUOTA_PRODUCE] > 5);
			assert_true(all[i].throttle_ms[KG_QUOTA_PRODUCE] > 20000);
			assert_int_equal(all[i].throttled[KG_QUOTA_FETCH], 0);
		}
	free(all);
	kg_tenants_leave(s);
}

/* A reload that lowers a rate caps saved credit; removing it forgets the
 * bucket, so setting it again starts full. */
static void test_quota_reload(void **state)
{
	(void)state;
	struct kg_tenant q = { .name = "quota-b" };
	struct kg_tenant_slot *s;
	assert_int_equal(kg_tenants_enter(&q, &s), 0);
	uint64_t high[KG_QUOTA_KINDS] = { [KG_QUOTA_REQUEST] = 100 };
	kg_tenants_quota_set(s, high, 1);
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_REQUEST, 1, 1000 * MS), 0);
	uint64_t low[KG_QUOTA_KINDS] = { [KG_QUOTA_REQUEST] = 10 };
	kg_tenants_quota_set(s, low, 2);
	/* 99 saved requests are cut to 10 */
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_REQUEST, 10, 1000 * MS), 0);
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_REQUEST, 1, 1000 * MS), 101);
	uint64_t none[KG_QUOTA_KINDS] = { 0 };
	kg_tenants_quota_set(s, none, 3);
	assert_int_equal(kg_tenants_quota_kinds(s), 0);
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_REQUEST, 1000, 1000 * MS), 0);
	kg_tenants_quota_set(s, low, 4);
	assert_int_equal(kg_tenants_quota_charge(s, KG_QUOTA_REQUEST, 10, 1000 * MS), 0);
	kg_tenants_leave(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_and_leave),
		cmocka_unit_test(test_no_limit_and_names),
		cmocka_unit_test(test_quota_bucket),
		cmocka_unit_test(test_quota_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
