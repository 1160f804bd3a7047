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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_and_leave),
		cmocka_unit_test(test_no_limit_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
