/*
 * test_config.c - unit tests of proxy/config/config.c: loading conf/gateway.json,
 * the exact error messages of validation (file, JSON path, problem),
 * defaults, and kg_config_broker_addr().
 *
 * Configurations are written to temporary files, loaded, and removed.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>

#include "config/config.h"
#include "base/log.h"

/* A valid minimal config; tests splice their own pieces into templates. */
#define LISTEN_OK "\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100}"
#define UPSTREAM_OK "\"upstream\": {\"bootstrap_servers\": [\"broker-1.internal:9092\"]}, " ACL_OK
#define ACL_OK "\"acl\": {\"policy_file\": \"conf/policy.json\"}"

static char tmp_path[64];
static char err[1024];

/* Writes text to a fresh temp file and loads it. */
static struct kg_config *load_text(const char *text)
{
	strcpy(tmp_path, "/tmp/kg-test-config-XXXXXX");
	int fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	err[0] = '\0';
	struct kg_config *c = kg_config_load(tmp_path, err, sizeof(err));
	unlink(tmp_path);
	return c;
}

/* Loading text must fail with "<file>: <want>" in the message. */
static void expect_error(const char *text, const char *want)
{
	struct kg_config *c = load_text(text);
	if (c) {
		kg_config_free(c);
		fail_msg("config was accepted, expected error: %s", want);
	}
	char full[1100];
	snprintf(full, sizeof(full), "%s: %s", tmp_path, want);
	if (!strstr(err, full))
		fail_msg("error message\n  %s\ndoes not contain\n  %s", err, full);
}

/* ---- loading ---- */

static void test_shipped_gateway_json_loads(void **state)
{
	(void)state;
	const char *path = access("conf/gateway.json", R_OK) == 0
				   ? "conf/gateway.json" : "../../conf/gateway.json";
	struct kg_config *c = kg_config_load(path, err, sizeof(err));
	if (!c)
		fail_msg("conf/gateway.json: %s", err);
	assert_string_equal(c->path, path);
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->log_level, KG_LOG_INFO);
	assert_string_equal(c->bind_host, "0.0.0.0");
	assert_string_equal(c->advertised_host, "localhost");
	assert_int_equal(c->bootstrap_port, 9092);
	assert_int_equal(c->bootstrap_advertised_port, 9092);
	assert_int_equal(c->broker_port_base, 9100);
	assert_int_equal(c->broker_advertised_port_base, 9100);
	assert_int_equal(c->nbrokers, 0);
	assert_int_equal(c->nbootstrap, 3);
	assert_string_equal(c->bootstrap[0].host, "127.0.0.1");
	assert_int_equal(c->bootstrap[0].port, 29092);
	assert_int_equal(c->bootstrap[2].port, 29094);
	assert_int_equal(c->connect_timeout_ms, 5000);
	assert_int_equal(c->metadata_refresh_ms, 30000);
	assert_int_equal(c->max_frame_bytes, 104857600);
	assert_int_equal(c->max_response_bytes, 268435456);
	assert_int_equal(c->buffer_bytes, 262144);
	assert_int_equal(c->idle_timeout_ms, 600000);
	assert_int_equal(c->max_inflight, 1024);
	assert_int_equal(c->max_connections, 10000);
	assert_true(c->tls.enabled);
	assert_string_equal(c->tls.cert_file, "build/certs/server.pem");
	assert_int_equal(c->tls.client_auth, KG_CLIENT_AUTH_NONE);
	assert_int_equal(c->auth.mode, KG_AUTH_SASL);
	assert_string_equal(c->auth.users_file, "build/demo/users.json");
	assert_int_equal(c->auth.session_lifetime_ms, 3600000);
	/* make run fronts a local Kafka 3.6: Debian 12's kcat (librdkafka
	 * 2.0.2) must log in with SCRAM as against that broker. */
	assert_true(c->auth.scram_nonce_suffix);
	kg_config_free(c);
}

/* listen.auth.scram_nonce: exact by default, suffix on request, nothing else. */
static void test_scram_nonce_setting(void **state)
{
	(void)state;
	struct kg_config *c = load_text("{" LISTEN_OK ", " UPSTREAM_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_false(c->auth.scram_nonce_suffix);
	kg_config_free(c);
	c = load_text("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100, "
		      "\"auth\": {\"scram_nonce\": \"suffix\"}}, " UPSTREAM_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_true(c->auth.scram_nonce_suffix);
	kg_config_free(c);
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100, "
		     "\"auth\": {\"scram_nonce\": \"ends_with\"}}, " UPSTREAM_OK "}",
		     "$.listen.auth.scram_nonce: must be \"exact\" or \"suffix\"");
}

/* Login limits: per (address, user) pair, and an address cap that defaults
 * to ten times the pair limit and may not be below it. */
static void test_login_limit_settings(void **state)
{
	(void)state;
	struct kg_config *c = load_text("{" LISTEN_OK ", " UPSTREAM_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->auth.max_failures, 10);
	assert_int_equal(c->auth.max_address_failures, 100);
	kg_config_free(c);
	c = load_text("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100, "
		      "\"auth\": {\"max_failures\": 4}}, " UPSTREAM_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->auth.max_address_failures, 40);
	kg_config_free(c);
	c = load_text("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100, "
		      "\"auth\": {\"max_failures\": 4, \"max_address_failures\": 0}}, "
		      UPSTREAM_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->auth.max_address_failures, 0);
	kg_config_free(c);
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100, "
		     "\"auth\": {\"max_failures\": 5, \"max_address_failures\": 3}}, "
		     UPSTREAM_OK "}",
		     "$.listen.auth.max_address_failures: must be 0 or at least max_failures");
}

/* Connection admission and time limits: defaults, overrides by network,
 * and the errors a typo gets. */
static void test_admission_and_timeouts(void **state)
{
	(void)state;
	struct kg_config *c = load_text("{" LISTEN_OK ", " UPSTREAM_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->max_connections_per_address, 0);
	assert_int_equal(c->naddress_limits, 0);
	assert_int_equal(c->max_unauthenticated, 1000);
	assert_int_equal(c->max_unauthenticated_per_address, 100);
	assert_int_equal(c->request_timeout_ms, 30000);
	assert_int_equal(c->auth.login_timeout_ms, 10000);
	kg_config_free(c);
	c = load_text("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": [\"b:9092\"], "
		      "\"request_timeout_ms\": 2500}, \"limits\": {\"max_connections_per_address\": 50, "
		      "\"max_connections_per_address_overrides\": {\"10.1.0.0/16\": 5000, "
		      "\"192.0.2.7\": 3}, \"max_unauthenticated_connections\": 64, "
		      "\"max_unauthenticated_per_address\": 8}, " ACL_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->request_timeout_ms, 2500);
	assert_int_equal(c->max_connections_per_address, 50);
	assert_int_equal(c->max_unauthenticated, 64);
	assert_int_equal(c->max_unauthenticated_per_address, 8);
	assert_int_equal(c->naddress_limits, 2);
	uint8_t k[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [13] = 1, [14] = 200, [15] = 9 };
	assert_true(kg_net_range_contains(&c->address_limits[0].net, k));
	assert_int_equal(c->address_limits[0].max, 5000);
	assert_int_equal(c->address_limits[1].max, 3);
	kg_config_free(c);
	expect_error("{" LISTEN_OK ", " UPSTREAM_OK ", \"limits\": "
		     "{\"max_connections_per_address_overrides\": {\"10.1.0.1/16\": 5}}}",
		     "$.limits.max_connections_per_address_overrides[\"10.1.0.1/16\"]: '10.1.0.1/16' "
		     "has bits set past its prefix length (the network is 10.1.0.0/16)");
	expect_error("{" LISTEN_OK ", " UPSTREAM_OK ", \"limits\": "
		     "{\"max_connections_per_address_overrides\": {\"10.1.0.0/16\": 0}}}",
		     "$.limits.max_connections_per_address_overrides[\"10.1.0.0/16\"]: must be an "
		     "integer in 1..1000000");
	expect_error("{" LISTEN_OK ", " UPSTREAM_OK ", \"limits\": "
		     "{\"max_connections_per_address_overrides\": [\"10.0.0.0/8\"]}}",
		     "$.limits.max_connections_per_address_overrides: must be an object of "
		     "\"address or CIDR\": connections");
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100, "
		     "\"auth\": {\"login_timeout_ms\": 100, \"failure_delay_ms\": 200}}, "
		     UPSTREAM_OK "}",
		     "$.listen.auth.login_timeout_ms: must be more than failure_delay_ms");
}

/* upstream.allowed_hosts: given, or derived from the bootstrap servers;
 * the bootstrap hosts always allowed. */
static void test_allowed_hosts(void **state)
{
	(void)state;
	struct kg_config *c = load_text("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": "
		"[\"kafka-0.kafka-headless.ns.svc:9092\", \"10.1.2.3:9092\", \"kafka1:9092\"]}, "
		ACL_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_true(c->allowed_hosts_derived);
#define OK(h) assert_true(kg_config_host_allowed(c, h, strlen(h)))
#define NO(h) assert_false(kg_config_host_allowed(c, h, strlen(h)))
	OK("kafka-0.kafka-headless.ns.svc");
	OK("KAFKA-2.kafka-headless.ns.svc");        /* siblings, any case */
	OK("a.b.kafka-headless.ns.svc");
	NO("kafka-headless.ns.svc.evil.example");
	NO("evilkafka-headless.ns.svc");            /* a suffix is a whole label */
	OK("10.1.2.77");                            /* the literal's /24 */
	NO("10.1.3.1");
	OK("kafka3");                               /* compose: single labels */
	NO("2001:db8::1");
	kg_config_free(c);

	c = load_text("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": [\"lb.example.com:9092\"], "
		      "\"allowed_hosts\": [\"*.brokers.internal\", \"172.16.0.0/12\", \"b-9.other\"]}, "
		      ACL_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_false(c->allowed_hosts_derived);
	OK("lb.example.com");                       /* bootstrap: always */
	NO("other.example.com");                    /* not derived when given */
	OK("b-1.brokers.internal");
	NO("brokers.internal");
	OK("172.20.0.5");
	NO("10.0.0.1");
	OK("b-9.other");
	NO("b-8.other");
	NO("kafka3");
	struct sockaddr_in in = { .sin_family = AF_INET };
	inet_pton(AF_INET, "172.31.255.1", &in.sin_addr);
	assert_true(kg_config_addr_allowed(c, (const struct sockaddr *)&in));
	inet_pton(AF_INET, "192.168.0.1", &in.sin_addr);
	assert_false(kg_config_addr_allowed(c, (const struct sockaddr *)&in));
#undef OK
#undef NO
	kg_config_free(c);
	expect_error("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": [\"b:9092\"], "
		     "\"allowed_hosts\": [\"*.com\"]}, " ACL_OK "}",
		     "$.upstream.allowed_hosts[0]: '*.com' is not a host name, \"*.domain\" (with at "
		     "least two labels) or a network");
	expect_error("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": [\"b:9092\"], "
		     "\"allowed_hosts\": [\"10.0.0.1/8\"]}, " ACL_OK "}",
		     "$.upstream.allowed_hosts[0]: '10.0.0.1/8' has bits set past its prefix length "
		     "(the network is 10.0.0.0/8)");
	expect_error("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": [\"b:9092\"], "
		     "\"allowed_hosts\": []}, " ACL_OK "}",
		     "$.upstream.allowed_hosts: must be a non-empty array of host names, "
		     "\"*.domain\" or networks (\"10.0.0.0/8\")");
}

static void test_defaults_when_optional_keys_absent(void **state)
{
	(void)state;
	struct kg_config *c = load_text("{" LISTEN_OK ", " UPSTREAM_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->log_level, KG_LOG_INFO);
	assert_string_equal(c->bind_host, "0.0.0.0");
	assert_string_equal(c->advertised_host, "localhost");
	/* advertised ports default to the bound ones */
	assert_int_equal(c->bootstrap_advertised_port, 9092);
	assert_int_equal(c->broker_advertised_port_base, 9100);
	assert_null(c->brokers);
	assert_int_equal(c->nbrokers, 0);
	assert_int_equal(c->connect_timeout_ms, 5000);
	assert_int_equal(c->metadata_refresh_ms, 30000);
	assert_int_equal(c->max_frame_bytes, 100u << 20);
	assert_int_equal(c->max_response_bytes, 256u << 20);
	assert_int_equal(c->buffer_bytes, 256u << 10);
	assert_int_equal(c->idle_timeout_ms, 600000);
	assert_int_equal(c->max_inflight, 1024);
	assert_int_equal(c->max_connections, 10000);
	kg_config_free(c);
}

static void test_full_config_values_are_taken(void **state)
{
	(void)state;
	struct kg_config *c = load_text(
		"{\"workers\": 4, \"log_level\": \"DEBUG\","
		" \"listen\": {\"bind_host\": \"127.0.0.1\", \"advertised_host\": \"gw.example.com\","
		"  \"bootstrap_port\": 9092, \"bootstrap_advertised_port\": 19092,"
		"  \"broker_port_base\": 9100, \"broker_advertised_port_base\": 19100,"
		"  \"brokers\": {\"7\": {\"port\": 9300, \"advertised_host\": \"b7.example.com\","
		"                        \"advertised_port\": 19300},"
		"               \"8\": {\"port\": 9301}}},"
		" \"upstream\": {\"bootstrap_servers\": [\"[::1]:29092\", \"kafka:29093\"],"
		"  \"connect_timeout_ms\": 100, \"metadata_refresh_ms\": 1000},"
		" \"limits\": {\"buffer_bytes\": 4096, \"max_inflight\": 1}, " ACL_OK "}");
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->workers, 4);
	assert_int_equal(c->log_level, KG_LOG_DEBUG);
	assert_string_equal(c->bind_host, "127.0.0.1");
	assert_string_equal(c->advertised_host, "gw.example.com");
	assert_int_equal(c->bootstrap_advertised_port, 19092);
	assert_int_equal(c->broker_advertised_port_base, 19100);
	assert_int_equal(c->nbrokers, 2);
	assert_int_equal(c->brokers[0].node_id, 7);
	assert_int_equal(c->brokers[0].port, 9300);
	assert_string_equal(c->brokers[0].advertised_host, "b7.example.com");
	assert_int_equal(c->brokers[0].advertised_port, 19300);
	assert_int_equal(c->brokers[1].node_id, 8);
	assert_null(c->brokers[1].advertised_host);
	assert_int_equal(c->brokers[1].advertised_port, 9301); /* defaults to port */
	assert_int_equal(c->nbootstrap, 2);
	assert_string_equal(c->bootstrap[0].host, "::1");   /* brackets stripped */
	assert_int_equal(c->bootstrap[0].port, 29092);
	assert_string_equal(c->bootstrap[1].host, "kafka");
	assert_int_equal(c->connect_timeout_ms, 100);
	assert_int_equal(c->metadata_refresh_ms, 1000);
	assert_int_equal(c->buffer_bytes, 4096);
	assert_int_equal(c->max_inflight, 1);
	kg_config_free(c);
}

/* ---- validation errors: file, JSON path, problem ---- */

static void test_error_missing_listen(void **state)
{
	(void)state;
	expect_error("{" UPSTREAM_OK "}", "$.listen: missing (an object is required)");
}

static void test_error_missing_upstream(void **state)
{
	(void)state;
	expect_error("{" LISTEN_OK "}", "$.upstream: missing (an object is required)");
}

/* No policy, no gateway: authorization is never silently off. */
static void test_error_missing_acl(void **state)
{
	(void)state;
	expect_error("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": [\"k:9092\"]}}",
		     "$.acl: missing (an object is required)");
	expect_error("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": [\"k:9092\"]},"
		     " \"acl\": {}}", "$.acl.policy_file: missing");
	expect_error("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": [\"k:9092\"]},"
		     " \"acl\": {\"policy_file\": \"p.json\", \"cache\": 1}}",
		     "$.acl.cache: unknown key");
}

static void test_error_listen_not_object(void **state)
{
	(void)state;
	expect_error("{\"listen\": [], " UPSTREAM_OK "}", "$.listen: must be an object");
}

static void test_error_missing_bootstrap_port(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"broker_port_base\": 9100}, " UPSTREAM_OK "}",
		     "$.listen.bootstrap_port: missing (an integer in 1..65535 is required)");
}

static void test_error_missing_broker_port_base(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": 9092}, " UPSTREAM_OK "}",
		     "$.listen.broker_port_base: missing (an integer in 1..65535 is required)");
}

static void test_error_bootstrap_port_out_of_range(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": 70000, \"broker_port_base\": 9100}, "
		     UPSTREAM_OK "}",
		     "$.listen.bootstrap_port: must be an integer in 1..65535");
}

static void test_error_port_zero(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 0}, "
		     UPSTREAM_OK "}",
		     "$.listen.broker_port_base: must be an integer in 1..65535");
}

static void test_error_port_as_string(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": \"9092\", \"broker_port_base\": 9100}, "
		     UPSTREAM_OK "}",
		     "$.listen.bootstrap_port: must be an integer in 1..65535");
}

static void test_error_port_as_float(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": 9092.5, \"broker_port_base\": 9100}, "
		     UPSTREAM_OK "}",
		     "$.listen.bootstrap_port: must be an integer in 1..65535");
}

static void test_error_unknown_key_typo(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_prot\": 9092, \"bootstrap_port\": 9092,"
		     " \"broker_port_base\": 9100}, " UPSTREAM_OK "}",
		     "$.listen.bootstrap_prot: unknown key");
}

static void test_error_unknown_top_level_key(void **state)
{
	(void)state;
	expect_error("{\"worker\": 2, " LISTEN_OK ", " UPSTREAM_OK "}",
		     "$.worker: unknown key");
}

static void test_error_unknown_limits_key(void **state)
{
	(void)state;
	expect_error("{" LISTEN_OK ", " UPSTREAM_OK ", \"limits\": {\"max_frame\": 2048}}",
		     "$.limits.max_frame: unknown key");
}

static void test_error_unknown_broker_map_key(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100,"
		     " \"brokers\": {\"1\": {\"port\": 9201, \"advertised_prot\": 1}}}, "
		     UPSTREAM_OK "}",
		     "$.listen.brokers.1.advertised_prot: unknown key");
}

static void test_error_empty_bootstrap_servers(void **state)
{
	(void)state;
	expect_error("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": []}}",
		     "$.upstream.bootstrap_servers: must be a non-empty array of "
		     "\"host:port\" strings");
}

static void test_error_bootstrap_servers_missing(void **state)
{
	(void)state;
	expect_error("{" LISTEN_OK ", \"upstream\": {\"connect_timeout_ms\": 1000}}",
		     "$.upstream.bootstrap_servers: must be a non-empty array");
}

static void test_error_bootstrap_host_without_port(void **state)
{
	(void)state;
	expect_error("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\":"
		     " [\"kafka-1:9092\", \"kafka-2\"]}}",
		     "$.upstream.bootstrap_servers[1]: must be \"host:port\" with a port "
		     "in 1..65535");
}

static void test_error_bootstrap_bad_ports(void **state)
{
	(void)state;
	const char *bad[] = { "kafka:", "kafka:0", "kafka:65536", "kafka:90x", ":9092",
			      "[::1]9092", "[::1]:", "[]:9092" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 "{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": [\"%s\"]}}",
			 bad[i]);
		expect_error(text, "$.upstream.bootstrap_servers[0]: must be \"host:port\"");
	}
}

static void test_error_bootstrap_server_not_string(void **state)
{
	(void)state;
	expect_error("{" LISTEN_OK ", \"upstream\": {\"bootstrap_servers\": [9092]}}",
		     "$.upstream.bootstrap_servers[0]: must be \"host:port\"");
}

static void test_error_bad_json_syntax_reports_line_and_column(void **state)
{
	(void)state;
	/* missing comma after the listen object, on line 3 */
	struct kg_config *c = load_text(
		"{\n"
		"  \"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100}\n"
		"  \"upstream\": {}\n"
		"}\n");
	assert_null(c);
	char want[128];
	snprintf(want, sizeof(want), "%s: line 3 column ", tmp_path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("'%s' does not start with '%s'", err, want);
}

static void test_error_duplicate_keys(void **state)
{
	(void)state;
	struct kg_config *c = load_text(
		"{\"listen\": {\"bootstrap_port\": 9092, \"bootstrap_port\": 9093,"
		" \"broker_port_base\": 9100}, " UPSTREAM_OK "}");
	assert_null(c);
	char want[128];
	snprintf(want, sizeof(want), "%s: line 1 column ", tmp_path);
	if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, "duplicate object key"))
		fail_msg("unexpected message: %s", err);
}

static void test_error_missing_file(void **state)
{
	(void)state;
	assert_null(kg_config_load("/nonexistent/kg.json", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/kg.json: line -1 column -1: unable to open"));
}

static void test_error_top_level_not_object(void **state)
{
	(void)state;
	expect_error("[1, 2]", "$: the top level must be an object");
}

static void test_error_bad_log_level(void **state)
{
	(void)state;
	expect_error("{\"log_level\": \"verbose\", " LISTEN_OK ", " UPSTREAM_OK "}",
		     "$.log_level: must be one of debug, info, warn, error");
}

static void test_error_log_level_not_string(void **state)
{
	(void)state;
	expect_error("{\"log_level\": 1, " LISTEN_OK ", " UPSTREAM_OK "}",
		     "$.log_level: must be a non-empty string");
}

static void test_error_workers_out_of_range(void **state)
{
	(void)state;
	expect_error("{\"workers\": -1, " LISTEN_OK ", " UPSTREAM_OK "}",
		     "$.workers: must be an integer in 0..256");
}

static void test_error_empty_advertised_host(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"advertised_host\": \"\", \"bootstrap_port\": 9092,"
		     " \"broker_port_base\": 9100}, " UPSTREAM_OK "}",
		     "$.listen.advertised_host: must be a non-empty string of at most 253 "
		     "characters");
}

static void test_error_limits_out_of_range(void **state)
{
	(void)state;
	expect_error("{" LISTEN_OK ", " UPSTREAM_OK ", \"limits\": {\"max_frame_bytes\": 10}}",
		     "$.limits.max_frame_bytes: must be an integer in 1024..1073741824");
	expect_error("{" LISTEN_OK ", " UPSTREAM_OK ", \"limits\": {\"buffer_bytes\": 8192,"
		     " \"max_response_bytes\": 4096}}",
		     "$.limits.max_response_bytes: must be >= limits.buffer_bytes");
}

static void test_error_brokers_not_object(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100,"
		     " \"brokers\": [1]}, " UPSTREAM_OK "}",
		     "$.listen.brokers: must be an object mapping node ids to addresses");
}

static void test_error_broker_key_not_node_id(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100,"
		     " \"brokers\": {\"one\": {\"port\": 9201}}}, " UPSTREAM_OK "}",
		     "$.listen.brokers.one: key must be a node id (a non-negative integer)");
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100,"
		     " \"brokers\": {\"-1\": {\"port\": 9201}}}, " UPSTREAM_OK "}",
		     "$.listen.brokers.-1: key must be a node id");
}

static void test_error_broker_missing_port(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100,"
		     " \"brokers\": {\"1\": {\"advertised_port\": 9201}}}, " UPSTREAM_OK "}",
		     "$.listen.brokers.1.port: missing (an integer in 1..65535 is required)");
}

static void test_error_broker_ports_collide(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100,"
		     " \"brokers\": {\"1\": {\"port\": 9201}, \"2\": {\"port\": 9201}}}, "
		     UPSTREAM_OK "}",
		     "$.listen.brokers.2.port: port 9201 is already used by node 1");
}

static void test_error_broker_port_collides_with_bootstrap(void **state)
{
	(void)state;
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100,"
		     " \"brokers\": {\"4\": {\"port\": 9092}}}, " UPSTREAM_OK "}",
		     "$.listen.brokers.4.port: collides with listen.bootstrap_port 9092");
}

static void test_error_broker_node_listed_twice(void **state)
{
	(void)state;
	/* "1" and "01" are the same node: two gateway ports for one broker
	 * would make kg_config_broker_addr depend on map order. */
	expect_error("{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 9100,"
		     " \"brokers\": {\"1\": {\"port\": 9201}, \"01\": {\"port\": 9202}}}, "
		     UPSTREAM_OK "}",
		     "$.listen.brokers.01: node 1 is listed twice");
}

/* ---- kg_config_broker_addr ---- */

static struct kg_config *load_mapping_config(void)
{
	struct kg_config *c = load_text(
		"{\"listen\": {\"advertised_host\": \"gw.example.com\","
		"  \"bootstrap_port\": 9092, \"broker_port_base\": 9090,"
		"  \"broker_advertised_port_base\": 19100,"
		"  \"brokers\": {\"5\": {\"port\": 9300, \"advertised_host\": \"b5.example.com\","
		"                        \"advertised_port\": 19300},"
		"               \"6\": {\"port\": 9301}}}, "
		UPSTREAM_OK "}");
	if (!c)
		fail_msg("%s", err);
	return c;
}

static void test_broker_addr_base_plus_id(void **state)
{
	(void)state;
	struct kg_config *c = load_mapping_config();
	const char *host = NULL;
	uint16_t adv = 0, bind = 0;
	assert_int_equal(kg_config_broker_addr(c, 0, &host, &adv, &bind), 0);
	assert_string_equal(host, "gw.example.com");
	assert_int_equal(adv, 19100);
	assert_int_equal(bind, 9090);
	assert_int_equal(kg_config_broker_addr(c, 1, &host, &adv, &bind), 0);
	assert_int_equal(adv, 19101);
	assert_int_equal(bind, 9091);
	kg_config_free(c);
}

static void test_broker_addr_explicit_map_overrides(void **state)
{
	(void)state;
	struct kg_config *c = load_mapping_config();
	const char *host = NULL;
	uint16_t adv = 0, bind = 0;
	assert_int_equal(kg_config_broker_addr(c, 5, &host, &adv, &bind), 0);
	assert_string_equal(host, "b5.example.com");
	assert_int_equal(adv, 19300);
	assert_int_equal(bind, 9300);
	/* no advertised_host: the listen default; advertised_port = port */
	assert_int_equal(kg_config_broker_addr(c, 6, &host, &adv, &bind), 0);
	assert_string_equal(host, "gw.example.com");
	assert_int_equal(adv, 9301);
	assert_int_equal(bind, 9301);
	kg_config_free(c);
}

static void test_broker_addr_out_of_range(void **state)
{
	(void)state;
	struct kg_config *c = load_mapping_config();
	const char *host = NULL;
	uint16_t adv = 0, bind = 0;
	/* 9090 + 56445 = 65535 is the last bindable port, but its advertised
	 * port 19100 + 56445 is beyond 65535 */
	assert_int_equal(kg_config_broker_addr(c, 46435, &host, &adv, &bind), 0);
	assert_int_equal(adv, 65535);
	assert_int_equal(kg_config_broker_addr(c, 46436, &host, &adv, &bind), -1);
	assert_int_equal(kg_config_broker_addr(c, 56445, &host, &adv, &bind), -1);
	assert_int_equal(kg_config_broker_addr(c, 70000, &host, &adv, &bind), -1);
	assert_int_equal(kg_config_broker_addr(c, INT32_MAX, &host, &adv, &bind), -1);
	assert_int_equal(kg_config_broker_addr(c, -1, &host, &adv, &bind), -1);
	assert_int_equal(kg_config_broker_addr(c, INT32_MIN, &host, &adv, &bind), -1);
	kg_config_free(c);
}

static void test_broker_addr_bind_port_overflow(void **state)
{
	(void)state;
	struct kg_config *c = load_text(
		"{\"listen\": {\"bootstrap_port\": 9092, \"broker_port_base\": 65000,"
		" \"broker_advertised_port_base\": 1000}, " UPSTREAM_OK "}");
	if (!c)
		fail_msg("%s", err);
	const char *host = NULL;
	uint16_t adv = 0, bind = 0;
	assert_int_equal(kg_config_broker_addr(c, 535, &host, &adv, &bind), 0);
	assert_int_equal(bind, 65535);
	assert_int_equal(adv, 1535);
	assert_int_equal(kg_config_broker_addr(c, 536, &host, &adv, &bind), -1);
	kg_config_free(c);
}

static void test_broker_addr_collides_with_bootstrap_port(void **state)
{
	(void)state;
	struct kg_config *c = load_mapping_config();
	const char *host = NULL;
	uint16_t adv = 0, bind = 0;
	/* 9090 + 2 = 9092 = bootstrap_port */
	assert_int_equal(kg_config_broker_addr(c, 2, &host, &adv, &bind), -1);
	assert_int_equal(kg_config_broker_addr(c, 3, &host, &adv, &bind), 0);
	assert_int_equal(bind, 9093);
	kg_config_free(c);
}

static void test_broker_addr_collides_with_explicit_port(void **state)
{
	(void)state;
	struct kg_config *c = load_mapping_config();
	const char *host = NULL;
	uint16_t adv = 0, bind = 0;
	/* node 210 would bind 9090 + 210 = 9300, which node 5 owns: a client
	 * of node 5's port must never reach node 210 */
	assert_int_equal(kg_config_broker_addr(c, 210, &host, &adv, &bind), -1);
	assert_int_equal(kg_config_broker_addr(c, 211, &host, &adv, &bind), -1); /* 9301: node 6 */
	assert_int_equal(kg_config_broker_addr(c, 212, &host, &adv, &bind), 0);
	assert_int_equal(bind, 9302);
	kg_config_free(c);
}

int main(void)
{
	kg_log_set_level(KG_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_gateway_json_loads),
		cmocka_unit_test(test_defaults_when_optional_keys_absent),
		cmocka_unit_test(test_full_config_values_are_taken),
		cmocka_unit_test(test_error_missing_listen),
		cmocka_unit_test(test_error_missing_upstream),
		cmocka_unit_test(test_error_missing_acl),
		cmocka_unit_test(test_error_listen_not_object),
		cmocka_unit_test(test_error_missing_bootstrap_port),
		cmocka_unit_test(test_error_missing_broker_port_base),
		cmocka_unit_test(test_error_bootstrap_port_out_of_range),
		cmocka_unit_test(test_error_port_zero),
		cmocka_unit_test(test_error_port_as_string),
		cmocka_unit_test(test_error_port_as_float),
		cmocka_unit_test(test_error_unknown_key_typo),
		cmocka_unit_test(test_error_unknown_top_level_key),
		cmocka_unit_test(test_error_unknown_limits_key),
		cmocka_unit_test(test_error_unknown_broker_map_key),
		cmocka_unit_test(test_error_empty_bootstrap_servers),
		cmocka_unit_test(test_error_bootstrap_servers_missing),
		cmocka_unit_test(test_error_bootstrap_host_without_port),
		cmocka_unit_test(test_error_bootstrap_bad_ports),
		cmocka_unit_test(test_error_bootstrap_server_not_string),
		cmocka_unit_test(test_error_bad_json_syntax_reports_line_and_column),
		cmocka_unit_test(test_error_duplicate_keys),
		cmocka_unit_test(test_error_missing_file),
		cmocka_unit_test(test_error_top_level_not_object),
		cmocka_unit_test(test_error_bad_log_level),
		cmocka_unit_test(test_error_log_level_not_string),
		cmocka_unit_test(test_error_workers_out_of_range),
		cmocka_unit_test(test_error_empty_advertised_host),
		cmocka_unit_test(test_error_limits_out_of_range),
		cmocka_unit_test(test_error_brokers_not_object),
		cmocka_unit_test(test_error_broker_key_not_node_id),
		cmocka_unit_test(test_error_broker_missing_port),
		cmocka_unit_test(test_error_broker_ports_collide),
		cmocka_unit_test(test_error_broker_port_collides_with_bootstrap),
		cmocka_unit_test(test_error_broker_node_listed_twice),
		cmocka_unit_test(test_broker_addr_base_plus_id),
		cmocka_unit_test(test_broker_addr_explicit_map_overrides),
		cmocka_unit_test(test_broker_addr_out_of_range),
		cmocka_unit_test(test_broker_addr_bind_port_overflow),
		cmocka_unit_test(test_broker_addr_collides_with_bootstrap_port),
		cmocka_unit_test(test_broker_addr_collides_with_explicit_port),
		cmocka_unit_test(test_scram_nonce_setting),
		cmocka_unit_test(test_login_limit_settings),
		cmocka_unit_test(test_admission_and_timeouts),
		cmocka_unit_test(test_allowed_hosts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
