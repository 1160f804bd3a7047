/*
 * test_admit.c - unit tests of proxy/loop/admit.c: connections counted per
 * client address, a cap on all of one address's connections and a smaller
 * one on those still logging in, overrides by network (first match), no
 * counting for non-IP sockets, and counts that go back to zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/addr_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "config/config-t.h"
#include "loop/admit.h"


static struct kg_config cfg;
static struct kg_address_limit overrides[2];

static void configure(uint32_t per_address, uint32_t unauth_per_address)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_connections_per_address = per_address;
	cfg.max_unauthenticated_per_address = unauth_per_address;
	kg_admit_configure(&cfg);
}

static void test_unauthenticated_cap_per_address(void **state)
{
	(void)state;
	configure(0, 3);
	struct sockaddr_storage a = test_addr("192.0.2.1"), b = test_addr("192.0.2.2");
	for (int i = 0; i < 3; i++)
		assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_OK);
	assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_ADDRESS_LOGINS_FULL);
	assert_int_equal(kg_admit_enter(SA(b)), KG_ADMIT_OK);   /* another address */
	/* one logs in: room for another login from a, total is not capped */
	kg_admit_authenticated(SA(a));
	assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_OK);
	assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_ADDRESS_LOGINS_FULL);
	/* one still logging in goes away: room again */
	kg_admit_leave(SA(a), false);
	assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_OK);
	/* clean up: 1 authenticated + 3 logging in, b 1 logging in */
	kg_admit_leave(SA(a), true);
	for (int i = 0; i < 3; i++)
		kg_admit_leave(SA(a), false);
	kg_admit_leave(SA(b), false);
	for (int i = 0; i < 3; i++)
		assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_OK);
	for (int i = 0; i < 3; i++)
		kg_admit_leave(SA(a), false);
}

static void test_total_cap_per_address(void **state)
{
	(void)state;
	configure(4, 2);
	struct sockaddr_storage a = test_addr("198.51.100.9");
	for (int i = 0; i < 4; i++) {
		assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_OK);
		kg_admit_authenticated(SA(a));
	}
	assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_ADDRESS_FULL);
	kg_admit_leave(SA(a), true);
	assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_OK);
	kg_admit_leave(SA(a), false);
	for (int i = 0; i < 3; i++)
		kg_admit_leave(SA(a), true);
}

static void test_overrides_first_match(void **state)
{
	(void)state;
	configure(2, 2);
	char err[128];
	assert_int_equal(kg_net_range_parse("10.9.0.0/16", &overrides[0].net, err, sizeof(err)), 0);
	overrides[0].max = 5;
	assert_int_equal(kg_net_range_parse("10.0.0.0/8", &overrides[1].net, err, sizeof(err)), 0);
	overrides[1].max = 1;
	cfg.address_limits = overrides;
	cfg.naddress_limits = 2;
	struct sockaddr_storage nat = test_addr("10.9.3.4"), other = test_addr("10.1.1.1"), plain = test_addr("203.0.113.1");
	for (int i = 0; i < 5; i++)
		assert_int_equal(kg_admit_enter(SA(nat)), KG_ADMIT_OK);
	assert_int_equal(kg_admit_enter(SA(nat)), KG_ADMIT_ADDRESS_FULL);
	assert_int_equal(kg_admit_enter(SA(other)), KG_ADMIT_OK);
	assert_int_equal(kg_admit_enter(SA(other)), KG_ADMIT_ADDRESS_FULL);
	assert_int_equal(kg_admit_enter(SA(plain)), KG_ADMIT_OK);
	assert_int_equal(kg_admit_enter(SA(plain)), KG_ADMIT_OK);
	assert_int_equal(kg_admit_enter(SA(plain)), KG_ADMIT_ADDRESS_FULL);
	for (int i = 0; i < 5; i++)
		kg_admit_leave(SA(nat), false);
	kg_admit_leave(SA(other), false);
	kg_admit_leave(SA(plain), false);
	kg_admit_leave(SA(plain), false);
	cfg.naddress_limits = 0;
}

static void test_unix_sockets_not_counted(void **state)
{
	(void)state;
	configure(1, 1);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	for (int i = 0; i < 10; i++)
		assert_int_equal(kg_admit_enter((const struct sockaddr *)&un), KG_ADMIT_OK);
	kg_admit_leave((const struct sockaddr *)&un, false);   /* harmless */
}

static void test_leave_of_unknown_address_is_harmless(void **state)
{
	(void)state;
	configure(1, 1);
	struct sockaddr_storage a = test_addr("192.0.2.50");
	kg_admit_leave(SA(a), true);
	kg_admit_authenticated(SA(a));
	assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_OK);
	assert_int_equal(kg_admit_enter(SA(a)), KG_ADMIT_ADDRESS_FULL);
	kg_admit_leave(SA(a), false);
}

static void test_many_addresses(void **state)
{
	(void)state;
	configure(1, 1);
	for (uint32_t i = 0; i < 20000; i++) {
		struct sockaddr_storage ss = test_addr_nth(i);
		assert_int_equal(kg_admit_enter(SA(ss)), KG_ADMIT_OK);
	}
	for (uint32_t i = 0; i < 20000; i++) {
		struct sockaddr_storage ss = test_addr_nth(i);
		assert_int_equal(kg_admit_enter(SA(ss)), KG_ADMIT_ADDRESS_FULL);
		kg_admit_leave(SA(ss), false);
		assert_int_equal(kg_admit_enter(SA(ss)), KG_ADMIT_OK);  /* count was 1, now 1 again */
		kg_admit_leave(SA(ss), false);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unauthenticated_cap_per_address),
		cmocka_unit_test(test_total_cap_per_address),
		cmocka_unit_test(test_overrides_first_match),
		cmocka_unit_test(test_unix_sockets_not_counted),
		cmocka_unit_test(test_leave_of_unknown_address_is_harmless),
		cmocka_unit_test(test_many_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
