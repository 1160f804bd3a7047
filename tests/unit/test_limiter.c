/*
 * test_limiter.c - unit tests of auth/limiter.c: failed logins counted per
 * (address, user) pair, so one user's guesser does not lock out the other
 * users behind the same NAT; a higher cap per address against one address
 * trying many names; retries of a refused pair not counted; blocks that
 * survive a flood of new addresses; no limits with max_failures 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "tests/unit/addr_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "auth/limiter.h"

#define FAIL(ss, u) kg_limiter_fail(SA(ss), (u), strlen(u))
#define USER_BLOCKED(ss, u) kg_limiter_user_blocked(SA(ss), (u), strlen(u))

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void test_pair_blocked_others_not(void **state)
{
	(void)state;
	assert_true(kg_limiter_configure(3, 60000, 60000, 30));
	struct sockaddr_storage nat = test_addr("192.0.2.10"), other = test_addr("192.0.2.11");
	assert_int_equal(FAIL(nat, "alice"), KG_LIMIT_NONE);
	assert_int_equal(FAIL(nat, "alice"), KG_LIMIT_NONE);
	assert_false(USER_BLOCKED(nat, "alice"));
	assert_int_equal(FAIL(nat, "alice"), KG_LIMIT_USER);
	assert_true(USER_BLOCKED(nat, "alice"));
	/* bob behind the same NAT, alice from elsewhere: untouched */
	assert_false(USER_BLOCKED(nat, "bob"));
	assert_false(USER_BLOCKED(other, "alice"));
	assert_false(kg_limiter_address_blocked(SA(nat)));
	/* names differ by case or a byte: distinct users */
	assert_false(USER_BLOCKED(nat, "Alice"));
	assert_false(kg_limiter_user_blocked(SA(nat), "alice\0x", 7));
}

static void test_address_cap_on_many_names(void **state)
{
	(void)state;
	assert_true(kg_limiter_configure(3, 60000, 60000, 10));
	struct sockaddr_storage sprayer = test_addr("198.51.100.7");
	enum kg_limit last = KG_LIMIT_NONE;
	int tries = 0;
	char name[32];
	while (last != KG_LIMIT_ADDRESS && tries < 20) {
		snprintf(name, sizeof(name), "user%d", tries++);
		last = FAIL(sprayer, name);
	}
	assert_int_equal(last, KG_LIMIT_ADDRESS);
	assert_int_equal(tries, 10);
	assert_true(kg_limiter_address_blocked(SA(sprayer)));
	/* no single pair reached its own limit */
	assert_false(USER_BLOCKED(sprayer, "user0"));
	struct sockaddr_storage neighbour = test_addr("198.51.100.8");
	assert_false(kg_limiter_address_blocked(SA(neighbour)));
}

static void test_refused_pair_retries_not_counted(void **state)
{
	(void)state;
	assert_true(kg_limiter_configure(2, 60000, 60000, 5));
	struct sockaddr_storage pod = test_addr("10.1.2.3");
	assert_int_equal(FAIL(pod, "stale"), KG_LIMIT_NONE);
	assert_int_equal(FAIL(pod, "stale"), KG_LIMIT_USER);
	/* a client with a stale password retries forever */
	for (int i = 0; i < 100; i++)
		assert_int_equal(FAIL(pod, "stale"), KG_LIMIT_NONE);
	assert_false(kg_limiter_address_blocked(SA(pod)));
	assert_false(USER_BLOCKED(pod, "fresh"));
}

static void test_ipv6_and_mapped(void **state)
{
	(void)state;
	assert_true(kg_limiter_configure(2, 60000, 60000, 0));
	struct sockaddr_storage v6 = test_addr("2001:db8::1"), v4 = test_addr("203.0.113.5");
	struct sockaddr_storage mapped = test_addr("::ffff:203.0.113.5");
	FAIL(v6, "carol");
	assert_int_equal(FAIL(v6, "carol"), KG_LIMIT_USER);
	assert_true(USER_BLOCKED(v6, "carol"));
	struct sockaddr_storage v6b = test_addr("2001:db8::2");
	assert_false(USER_BLOCKED(v6b, "carol"));
	/* an IPv4 client seen on a dual-stack socket is the same client */
	FAIL(v4, "dave");
	assert_int_equal(FAIL(mapped, "dave"), KG_LIMIT_USER);
	assert_true(USER_BLOCKED(v4, "dave"));
	/* no address cap configured */
	for (int i = 0; i < 50; i++) {
		char n[16];
		snprintf(n, sizeof(n), "n%d", i);
		FAIL(v6, n);
	}
	assert_false(kg_limiter_address_blocked(SA(v6)));
}

static void test_block_ends_and_window_resets(void **state)
{
	(void)state;
	assert_true(kg_limiter_configure(2, 200, 300, 0));
	struct sockaddr_storage a = test_addr("192.0.2.77");
	assert_int_equal(FAIL(a, "erin"), KG_LIMIT_NONE);
	sleep_ms(260);                 /* the window passed: the count restarts */
	assert_int_equal(FAIL(a, "erin"), KG_LIMIT_NONE);
	assert_int_equal(FAIL(a, "erin"), KG_LIMIT_USER);
	assert_true(USER_BLOCKED(a, "erin"));
	sleep_ms(400);
	assert_false(USER_BLOCKED(a, "erin"));
}

static void test_block_survives_flood(void **state)
{
	(void)state;
	assert_true(kg_limiter_configure(2, 60000, 60000, 100));
	struct sockaddr_storage victim = test_addr("192.0.2.200");
	FAIL(victim, "frank");
	assert_int_equal(FAIL(victim, "frank"), KG_LIMIT_USER);
	for (uint32_t i = 0; i < 50000; i++) {
		struct sockaddr_storage ss = test_addr_nth(i);
		FAIL(ss, "x");
	}
	assert_true(USER_BLOCKED(victim, "frank"));
}

static void test_disabled(void **state)
{
	(void)state;
	assert_true(kg_limiter_configure(0, 60000, 60000, 10));
	struct sockaddr_storage a = test_addr("192.0.2.99");
	for (int i = 0; i < 100; i++)
		assert_int_equal(FAIL(a, "gina"), KG_LIMIT_NONE);
	assert_false(USER_BLOCKED(a, "gina"));
	assert_false(kg_limiter_address_blocked(SA(a)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pair_blocked_others_not),
		cmocka_unit_test(test_address_cap_on_many_names),
		cmocka_unit_test(test_refused_pair_retries_not_counted),
		cmocka_unit_test(test_ipv6_and_mapped),
		cmocka_unit_test(test_block_ends_and_window_resets),
		cmocka_unit_test(test_block_survives_flood),
		cmocka_unit_test(test_disabled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
