/*
 * test_rewrite.c - unit tests of proxy/route/rewrite.c: broker addresses in
 * Metadata, FindCoordinator, DescribeCluster, Produce/Fetch NodeEndpoints,
 * ShareFetch/ShareAcknowledge are replaced by the gateway's advertised
 * address of each node; ApiVersions is capped to the allowlist.
 *
 * Each response is built with the codec API, encoded, decoded (as the
 * gateway sees it), rewritten with a router whose resolver is a fake,
 * re-encoded (what the client would get) and decoded again for checking.
 *
 * Gateway config used throughout (see CONFIG):
 *   node N   -> gw.example.com : 19100 + N     (bound on 9100 + N)
 *   node 3   -> gw3.example.com: 19300         (explicit listen.brokers)
 *   node 70000 has no port (9100 + 70000 > 65535): it must be hidden.
 * Upstream broker N is broker-N.internal : 29090 + N.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "enforce/apis.h"
#include "kafka/codec.h"
#include "config/config.h"
#include "base/log.h"
#include "enforce/versions.h"
#include "route/rewrite.h"
#include "route/router.h"

enum { API_PRODUCE = 0, API_FETCH = 1, API_LIST_OFFSETS = 2, API_METADATA = 3,
       API_LEADER_AND_ISR = 4, API_FIND_COORDINATOR = 10, API_JOIN_GROUP = 11,
       API_SASL_HANDSHAKE = 17, API_API_VERSIONS = 18,
       API_ADD_PARTITIONS_TO_TXN = 24, API_SASL_AUTHENTICATE = 36,
       API_DESCRIBE_QUORUM = 55, API_DESCRIBE_CLUSTER = 60,
       API_SHARE_FETCH = 78, API_SHARE_ACKNOWLEDGE = 79 };

enum { ERR_NONE = 0, ERR_COORDINATOR_NOT_AVAILABLE = 15,
       ERR_GROUP_AUTHORIZATION_FAILED = 30, ERR_UNSUPPORTED_VERSION = 35 };

#define UNMAPPABLE 70000
#define ADV_HOST "gw.example.com"
#define ADV_HOST3 "gw3.example.com"

static const char CONFIG[] =
	"{\"listen\": {\"advertised_host\": \"" ADV_HOST "\","
	"  \"bootstrap_port\": 9092, \"broker_port_base\": 9100,"
	"  \"broker_advertised_port_base\": 19100,"
	"  \"brokers\": {\"3\": {\"port\": 9300, \"advertised_host\": \"" ADV_HOST3 "\","
	"                        \"advertised_port\": 19300}}},"
	" \"upstream\": {\"bootstrap_servers\": [\"broker-1.internal:29091\"]},"
	" \"acl\": {\"policy_file\": \"conf/policy-allow-all.json\"}}";

/* ---- fixture: config, router with a fake resolver, arena ---- */

struct resolve_call {
	char host[256];
	uint16_t port;
};

static struct resolve_call calls[256];
static int ncalls;
static struct kg_config *cfg;
static struct kg_router router;
static struct kc_arena arena;
static uint8_t *bufs[64];   /* encoded frames the decoded trees point into */
static int nbufs;

static int fake_resolve(const char *host, uint16_t port, struct kg_addr *out,
			char *err, size_t errlen)
{
	if (ncalls < (int)(sizeof(calls) / sizeof(calls[0]))) {
		snprintf(calls[ncalls].host, sizeof(calls[ncalls].host), "%s", host);
		calls[ncalls].port = port;
	}
	ncalls++;
	if (strcmp(host, "unresolvable.internal") == 0) {
		snprintf(err, errlen, "cannot resolve %s", host);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	out->len = sizeof(*sin);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	char path[] = "/tmp/kg-test-rewrite-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, CONFIG, sizeof(CONFIG) - 1), (ssize_t)sizeof(CONFIG) - 1);
	close(fd);
	char err[512];
	cfg = kg_config_load(path, err, sizeof(err));
	unlink(path);
	if (!cfg)
		fail_msg("%s", err);
	kg_router_init(&router, cfg);
	router.resolve = fake_resolve;
	ncalls = 0;
	nbufs = 0;
	kc_arena_init(&arena);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < nbufs; i++)
		free(bufs[i]);
	nbufs = 0;
	kc_arena_free(&arena);
	kg_router_destroy(&router);
	kg_config_free(cfg);
	cfg = NULL;
	return 0;
}

/* ---- expectations, written independently of kg_config_broker_addr ---- */

static void upstream_host(int32_t id, char *buf, size_t len)
{
	snprintf(buf, len, "broker-%d.internal", id);
}

static int32_t upstream_port(int32_t id)
{
	return 29090 + id;
}

static const char *expected_host(int32_t id)
{
	return id == 3 ? ADV_HOST3 : ADV_HOST;
}

static int32_t expected_port(int32_t id)
{
	return id == 3 ? 19300 : 19100 + id;
}

/* ---- building trees ---- */

static struct kc_obj *resp_new(int16_t api, int16_t ver)
{
	const struct kc_api *a = kc_api_find(api);
	assert_non_null(a);
	assert_true(kc_range_has(a->response->valid, ver));
	struct kc_obj *o = kc_obj_new(a->response->body, ver, &arena);
	assert_non_null(o);
	return o;
}

static struct kc_value *field(struct kc_obj *o, const char *name)
{
	struct kc_value *v = kc_get(o, name);
	if (!v)
		fail_msg("field %s not present in %s", name, o->st->name);
	return v;
}

static void set_int(struct kc_obj *o, const char *name, int64_t val)
{
	field(o, name)->u.i = val;
}

static int64_t get_int(struct kc_obj *o, const char *name)
{
	return field(o, name)->u.i;
}

static void set_str(struct kc_obj *o, const char *name, const char *s)
{
	assert_int_equal(kc_set_string(&arena, field(o, name), s, strlen(s)), KC_OK);
}

static void assert_str(struct kc_obj *o, const char *name, const char *want)
{
	struct kc_value *v = field(o, name);
	size_t n = strlen(want);
	if (v->u.b.len != (int32_t)n || (n && memcmp(v->u.b.p, want, n) != 0))
		fail_msg("%s.%s is '%.*s', want '%s'", o->st->name, name,
			 v->u.b.len < 0 ? 0 : v->u.b.len, (const char *)v->u.b.p, want);
}

/* Resizes array field `name` (present or a not-yet-sent tagged field). */
static struct kc_value *resize(struct kc_obj *o, const char *name, int16_t ver,
			       int32_t n)
{
	int i = kc_field_index(o->st, name);
	assert_true(i >= 0);
	assert_int_equal(kc_array_resize(&arena, &o->vals[i], &o->st->fields[i], ver, n),
			 KC_OK);
	return &o->vals[i];
}

static struct kc_obj *elem(struct kc_value *arr, int32_t i)
{
	assert_true(i < arr->u.arr.n);
	assert_non_null(arr->u.arr.v[i].u.obj);
	return arr->u.arr.v[i].u.obj;
}

/* Fills one endpoint struct as broker `id` advertises itself upstream. */
static void set_endpoint(struct kc_obj *e, const char *id_name, int32_t id)
{
	char host[64];
	upstream_host(id, host, sizeof(host));
	set_int(e, id_name, id);
	set_str(e, "Host", host);
	set_int(e, "Port", upstream_port(id));
}

/* Fills an endpoint array with the given ids. */
static struct kc_value *endpoints(struct kc_obj *o, const char *arr_name,
				  const char *id_name, int16_t ver,
				  const int32_t *ids, int32_t n)
{
	struct kc_value *arr = resize(o, arr_name, ver, n);
	for (int32_t i = 0; i < n; i++)
		set_endpoint(elem(arr, i), id_name, ids[i]);
	return arr;
}

/* ---- encode / decode ---- */

static uint8_t *encode(struct kc_obj *o, int16_t api, int16_t ver, size_t *len)
{
	bool flex = kc_response_flexible(api, ver);
	int64_t size = kc_encoded_size(o, ver, flex);
	if (size < 0)
		fail_msg("kc_encoded_size: %s", kc_err_str((int)size));
	uint8_t *out = malloc((size_t)size + 1);
	assert_non_null(out);
	int64_t w = kc_encode(o, ver, flex, out, (size_t)size);
	if (w != size)
		fail_msg("kc_encode returned %lld, size %lld", (long long)w, (long long)size);
	assert_true(nbufs < (int)(sizeof(bufs) / sizeof(bufs[0])));
	bufs[nbufs++] = out;
	*len = (size_t)size;
	return out;
}

static struct kc_obj *decode(int16_t api, int16_t ver, const uint8_t *buf, size_t len)
{
	struct kc_obj *o = NULL;
	int rc = kc_decode_response(api, ver, buf, len, &arena, &o);
	if (rc != KC_OK)
		fail_msg("kc_decode_response(%d, v%d): %s", api, ver, kc_err_str(rc));
	return o;
}

/* What one rewrite produced. */
struct rewritten {
	int rc;                        /* kg_rewrite_response's result */
	const uint8_t *in;             /* frame body from the "broker" */
	size_t in_len;
	const uint8_t *out;            /* re-encoded body for the client */
	size_t out_len;
	struct kc_obj *o;              /* out decoded again */
};

static struct rewritten rewrite(int16_t api, int16_t ver, struct kc_obj *built)
{
	struct rewritten r;
	r.in = encode(built, api, ver, &r.in_len);
	struct kc_obj *seen = decode(api, ver, r.in, r.in_len);
	assert_true(kg_rewrite_needed(api, ver));
	/* ApiVersions answers are capped by enforce/versions.c, the rest
	 * rewritten by route/rewrite.c (as loop/exchange.c dispatches). */
	r.rc = api == 18 ? kg_versions_cap(seen)
			 : kg_rewrite_response(&router, api, ver, seen, &arena, false);
	assert_true(r.rc == 0 || r.rc == 1);
	/* What the refresh thread does for nodes a response taught: resolve
	 * them, off the loop (learning never resolves). */
	kg_router_resolve_pending(&router);
	r.out = encode(seen, api, ver, &r.out_len);
	r.o = decode(api, ver, r.out, r.out_len);
	return r;
}

static bool contains(const uint8_t *buf, size_t len, const char *s)
{
	return memmem(buf, len, s, strlen(s)) != NULL;
}

/* No upstream host name is left anywhere in the client's bytes. */
static void assert_no_upstream_hosts(const struct rewritten *r)
{
	if (contains(r->out, r->out_len, ".internal"))
		fail_msg("an upstream host name reached the client");
}

/* The endpoint carries the gateway's address of its node, and the router
 * learned where that node really is. */
static void assert_endpoint(struct kc_obj *e, const char *id_name, int32_t id)
{
	assert_int_equal(get_int(e, id_name), id);
	assert_str(e, "Host", expected_host(id));
	assert_int_equal(get_int(e, "Port"), expected_port(id));

	struct kg_addr a;
	assert_int_equal(kg_router_upstream(&router, id, &a, NULL), 0);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), upstream_port(id));
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);

	char host[64];
	upstream_host(id, host, sizeof(host));
	bool found = false;
	for (int i = 0; i < ncalls && i < 256; i++)
		if (strcmp(calls[i].host, host) == 0 && calls[i].port == upstream_port(id))
			found = true;
	if (!found)
		fail_msg("%s:%d was never resolved", host, upstream_port(id));
}

static void assert_endpoints(struct kc_value *arr, const char *id_name,
			     const int32_t *ids, int32_t n)
{
	assert_int_equal(arr->u.arr.n, n);
	for (int32_t i = 0; i < n; i++)
		assert_endpoint(elem(arr, i), id_name, ids[i]);
}

static void assert_not_learned(int32_t id)
{
	struct kg_addr a;
	assert_int_equal(kg_router_upstream(&router, id, &a, NULL), -1);
	char host[64];
	upstream_host(id, host, sizeof(host));
	for (int i = 0; i < ncalls && i < 256; i++)
		if (strcmp(calls[i].host, host) == 0)
			fail_msg("%s was resolved although node %d is hidden", host, id);
}

/* ---- Metadata ---- */

static void metadata_version(int16_t ver)
{
	struct kc_obj *o = resp_new(API_METADATA, ver);
	const int32_t ids[] = { 1, UNMAPPABLE, 2, 3 };
	struct kc_value *b = endpoints(o, "Brokers", "NodeId", ver, ids, 4);
	if (ver >= 1) {
		set_str(elem(b, 0), "Rack", "rack-a");
		set_int(o, "ControllerId", 2);
	}
	struct kc_value *t = resize(o, "Topics", ver, 1);
	set_str(elem(t, 0), "Name", "orders");

	struct rewritten r = rewrite(API_METADATA, ver, o);
	assert_true(contains(r.in, r.in_len, "broker-1.internal"));
	assert_int_equal(r.rc, 1);
	assert_no_upstream_hosts(&r);
	const int32_t want[] = { 1, 2, 3 };
	assert_endpoints(field(r.o, "Brokers"), "NodeId", want, 3);
	assert_not_learned(UNMAPPABLE);
	/* everything else is kept */
	if (ver >= 1) {
		assert_str(elem(field(r.o, "Brokers"), 0), "Rack", "rack-a");
		assert_int_equal(get_int(r.o, "ControllerId"), 2);
	}
	assert_int_equal(field(r.o, "Topics")->u.arr.n, 1);
	assert_str(elem(field(r.o, "Topics"), 0), "Name", "orders");
}

static void test_metadata_v0(void **state) { (void)state; metadata_version(0); }
static void test_metadata_v1(void **state) { (void)state; metadata_version(1); }
static void test_metadata_v9(void **state) { (void)state; metadata_version(9); }
static void test_metadata_v12(void **state) { (void)state; metadata_version(12); }
static void test_metadata_v13(void **state) { (void)state; metadata_version(13); }

static void test_metadata_learns_once_and_follows_a_moved_broker(void **state)
{
	(void)state;
	const int32_t ids[] = { 1, 2, 3 };
	struct kc_obj *o = resp_new(API_METADATA, 12);
	endpoints(o, "Brokers", "NodeId", 12, ids, 3);
	rewrite(API_METADATA, 12, o);
	assert_int_equal(ncalls, 3);
	/* the same brokers again: nothing to resolve */
	o = resp_new(API_METADATA, 12);
	endpoints(o, "Brokers", "NodeId", 12, ids, 3);
	rewrite(API_METADATA, 12, o);
	assert_int_equal(ncalls, 3);
	/* broker 2 moved: resolved once more, the router follows */
	o = resp_new(API_METADATA, 12);
	struct kc_value *b = endpoints(o, "Brokers", "NodeId", 12, ids, 3);
	set_str(elem(b, 1), "Host", "broker-2-new.internal");
	set_int(elem(b, 1), "Port", 31000);
	struct rewritten r = rewrite(API_METADATA, 12, o);
	assert_int_equal(ncalls, 4);
	assert_string_equal(calls[3].host, "broker-2-new.internal");
	assert_no_upstream_hosts(&r);
	struct kc_obj *e = elem(field(r.o, "Brokers"), 1);
	assert_str(e, "Host", ADV_HOST);
	assert_int_equal(get_int(e, "Port"), 19102);
	struct kg_addr a;
	assert_int_equal(kg_router_upstream(&router, 2, &a, NULL), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 31000);
}

static void test_metadata_hides_brokers_with_unusable_addresses(void **state)
{
	(void)state;
	const int32_t ids[] = { 1, 2, 4, 5, 6 };
	struct kc_obj *o = resp_new(API_METADATA, 12);
	struct kc_value *b = endpoints(o, "Brokers", "NodeId", 12, ids, 5);
	set_int(elem(b, 1), "NodeId", -1);              /* negative id */
	set_int(elem(b, 2), "Port", 0);                 /* no port */
	set_int(elem(b, 3), "Port", 70000);             /* port out of range */
	char longhost[300];
	memset(longhost, 'h', sizeof(longhost) - 10);
	strcpy(longhost + sizeof(longhost) - 10, ".internal");
	set_str(elem(b, 4), "Host", longhost);          /* 299 characters */
	struct rewritten r = rewrite(API_METADATA, 12, o);
	assert_int_equal(r.rc, 1);
	assert_no_upstream_hosts(&r);
	const int32_t want[] = { 1 };
	assert_endpoints(field(r.o, "Brokers"), "NodeId", want, 1);
	assert_not_learned(4);
	assert_not_learned(5);
	assert_not_learned(6);
}

static void test_metadata_hides_host_with_embedded_nul(void **state)
{
	(void)state;
	/* "\0\0\0\x12er-3.internal" reached the resolver as "" (found by
	 * fuzz_rewrite); "broker-2\0.evil" would have resolved "broker-2" */
	const int32_t ids[] = { 1, 2, 4 };
	struct kc_obj *o = resp_new(API_METADATA, 12);
	struct kc_value *b = endpoints(o, "Brokers", "NodeId", 12, ids, 3);
	static const char evil2[] = "broker-2\0.evil.internal";
	static const char evil4[] = "\0\0\0\x12" "er-4.internal";
	assert_int_equal(kc_set_string(&arena, field(elem(b, 1), "Host"), evil2,
				       sizeof(evil2) - 1), KC_OK);
	assert_int_equal(kc_set_string(&arena, field(elem(b, 2), "Host"), evil4,
				       sizeof(evil4) - 1), KC_OK);
	struct rewritten r = rewrite(API_METADATA, 12, o);
	assert_no_upstream_hosts(&r);
	const int32_t want[] = { 1 };
	assert_endpoints(field(r.o, "Brokers"), "NodeId", want, 1);
	assert_int_equal(ncalls, 1);
	assert_not_learned(2);
	assert_not_learned(4);
	/* and again: still not resolved (no DNS per response) */
	o = resp_new(API_METADATA, 12);
	b = endpoints(o, "Brokers", "NodeId", 12, ids, 2);
	assert_int_equal(kc_set_string(&arena, field(elem(b, 1), "Host"), evil2,
				       sizeof(evil2) - 1), KC_OK);
	rewrite(API_METADATA, 12, o);
	assert_int_equal(ncalls, 1);
}

static void test_metadata_unresolvable_broker_is_still_rewritten(void **state)
{
	(void)state;
	const int32_t ids[] = { 1 };
	struct kc_obj *o = resp_new(API_METADATA, 9);
	struct kc_value *b = endpoints(o, "Brokers", "NodeId", 9, ids, 1);
	set_str(elem(b, 0), "Host", "unresolvable.internal");
	struct rewritten r = rewrite(API_METADATA, 9, o);
	assert_no_upstream_hosts(&r);
	struct kc_obj *e = elem(field(r.o, "Brokers"), 0);
	assert_str(e, "Host", ADV_HOST);
	assert_int_equal(get_int(e, "Port"), 19101);
	struct kg_addr a;
	/* not resolvable (yet): connections ask again until their connect
	 * timeout, and the refresh thread tries again */
	assert_int_equal(kg_router_upstream(&router, 1, &a, NULL), -2);
	assert_int_equal(ncalls, 1);
	kg_router_resolve_pending(&router);
	assert_int_equal(ncalls, 2);
	assert_int_equal(kg_router_upstream(&router, 1, &a, NULL), -2);
}

/* A worker that learns a broker never waits on DNS: the name is resolved
 * later, by whoever calls kg_router_resolve_pending (the refresh thread). */
static void test_learning_never_resolves(void **state)
{
	(void)state;
	assert_int_equal(kg_router_learn(&router, 7, "broker-7.internal", 17, 29097), 1);
	assert_int_equal(ncalls, 0);
	struct kg_addr a;
	assert_int_equal(kg_router_upstream(&router, 7, &a, NULL), -2);
	assert_int_equal(ncalls, 0);
	assert_int_equal(kg_router_resolve_pending(&router), 1);
	assert_int_equal(ncalls, 1);
	assert_int_equal(kg_router_upstream(&router, 7, &a, NULL), 0);
	/* the same address again: nothing to do */
	assert_int_equal(kg_router_learn(&router, 7, "broker-7.internal", 17, 29097), 0);
	assert_int_equal(kg_router_resolve_pending(&router), 0);
	assert_int_equal(ncalls, 1);
}

/* Brokers advertise where the gateway connects: only within
 * upstream.allowed_hosts (here derived from the bootstrap server
 * broker-1.internal: *.internal). Another host is hidden and never
 * resolved or connected to. */
static void test_broker_outside_allowed_hosts_is_hidden(void **state)
{
	(void)state;
	const int32_t ids[] = { 1, 2 };
	static const char evil[] = "kafka.attacker.example";
	struct kc_obj *o = resp_new(API_METADATA, 12);
	struct kc_value *b = endpoints(o, "Brokers", "NodeId", 12, ids, 2);
	assert_int_equal(kc_set_string(&arena, field(elem(b, 1), "Host"), evil,
				       sizeof(evil) - 1), KC_OK);
	struct rewritten r = rewrite(API_METADATA, 12, o);
	assert_false(contains(r.out, r.out_len, "attacker"));
	const int32_t want[] = { 1 };
	assert_endpoints(field(r.o, "Brokers"), "NodeId", want, 1);
	struct kg_addr a;
	assert_int_equal(kg_router_upstream(&router, 2, &a, NULL), -1);
	for (int i = 0; i < ncalls && i < 256; i++)
		if (strstr(calls[i].host, "attacker"))
			fail_msg("the refused host was resolved");
}

static void test_metadata_no_brokers(void **state)
{
	(void)state;
	struct kc_obj *o = resp_new(API_METADATA, 12);
	struct rewritten r = rewrite(API_METADATA, 12, o);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.out_len, r.in_len);
	assert_memory_equal(r.out, r.in, r.in_len);
	assert_int_equal(ncalls, 0);
}

/* ---- FindCoordinator ---- */

static void find_coordinator_single(int16_t ver)
{
	struct kc_obj *o = resp_new(API_FIND_COORDINATOR, ver);
	set_endpoint(o, "NodeId", 2);
	struct rewritten r = rewrite(API_FIND_COORDINATOR, ver, o);
	assert_int_equal(r.rc, 1);
	assert_no_upstream_hosts(&r);
	assert_int_equal(get_int(r.o, "ErrorCode"), ERR_NONE);
	assert_endpoint(r.o, "NodeId", 2);
}

static void test_find_coordinator_v0(void **state) { (void)state; find_coordinator_single(0); }
static void test_find_coordinator_v3(void **state) { (void)state; find_coordinator_single(3); }

static void test_find_coordinator_v3_explicit_node(void **state)
{
	(void)state;
	struct kc_obj *o = resp_new(API_FIND_COORDINATOR, 3);
	set_endpoint(o, "NodeId", 3);
	struct rewritten r = rewrite(API_FIND_COORDINATOR, 3, o);
	assert_no_upstream_hosts(&r);
	assert_endpoint(r.o, "NodeId", 3);
	assert_str(r.o, "Host", ADV_HOST3);
	assert_int_equal(get_int(r.o, "Port"), 19300);
}

static void assert_coordinator_unavailable(struct kc_obj *o, int16_t err)
{
	assert_int_equal(get_int(o, "ErrorCode"), err);
	assert_int_equal(get_int(o, "NodeId"), -1);
	assert_str(o, "Host", "");
	assert_int_equal(get_int(o, "Port"), -1);
}

static void test_find_coordinator_v3_unmappable_node(void **state)
{
	(void)state;
	struct kc_obj *o = resp_new(API_FIND_COORDINATOR, 3);
	set_endpoint(o, "NodeId", UNMAPPABLE);
	struct rewritten r = rewrite(API_FIND_COORDINATOR, 3, o);
	assert_int_equal(r.rc, 1);
	assert_no_upstream_hosts(&r);
	assert_coordinator_unavailable(r.o, ERR_COORDINATOR_NOT_AVAILABLE);
	assert_not_learned(UNMAPPABLE);
}

static void test_find_coordinator_v2_error_keeps_code_drops_host(void **state)
{
	(void)state;
	/* an error answer that still names a host: the host goes, the
	 * broker's error stays (an authorization failure must not become a
	 * retriable error) */
	struct kc_obj *o = resp_new(API_FIND_COORDINATOR, 2);
	set_endpoint(o, "NodeId", 1);
	set_int(o, "ErrorCode", ERR_GROUP_AUTHORIZATION_FAILED);
	struct rewritten r = rewrite(API_FIND_COORDINATOR, 2, o);
	assert_no_upstream_hosts(&r);
	assert_coordinator_unavailable(r.o, ERR_GROUP_AUTHORIZATION_FAILED);
	assert_not_learned(1);
}

static void test_find_coordinator_v1_error_without_host_unchanged(void **state)
{
	(void)state;
	struct kc_obj *o = resp_new(API_FIND_COORDINATOR, 1);
	set_int(o, "ErrorCode", ERR_COORDINATOR_NOT_AVAILABLE);
	set_int(o, "NodeId", -1);
	set_str(o, "Host", "");
	set_int(o, "Port", -1);
	struct rewritten r = rewrite(API_FIND_COORDINATOR, 1, o);
	assert_int_equal(r.out_len, r.in_len);
	assert_memory_equal(r.out, r.in, r.in_len);
	assert_coordinator_unavailable(r.o, ERR_COORDINATOR_NOT_AVAILABLE);
	assert_int_equal(ncalls, 0);
}

static void find_coordinator_batched(int16_t ver)
{
	struct kc_obj *o = resp_new(API_FIND_COORDINATOR, ver);
	struct kc_value *cs = resize(o, "Coordinators", ver, 4);
	set_str(elem(cs, 0), "Key", "group-a");
	set_endpoint(elem(cs, 0), "NodeId", 1);
	set_str(elem(cs, 1), "Key", "group-b");
	set_int(elem(cs, 1), "ErrorCode", ERR_COORDINATOR_NOT_AVAILABLE);
	set_int(elem(cs, 1), "NodeId", -1);
	set_str(elem(cs, 1), "Host", "");
	set_int(elem(cs, 1), "Port", -1);
	set_str(elem(cs, 1), "ErrorMessage", "not yet");
	set_str(elem(cs, 2), "Key", "group-c");
	set_endpoint(elem(cs, 2), "NodeId", 3);
	set_str(elem(cs, 3), "Key", "group-d");
	set_endpoint(elem(cs, 3), "NodeId", UNMAPPABLE);

	struct rewritten r = rewrite(API_FIND_COORDINATOR, ver, o);
	assert_int_equal(r.rc, 1);
	assert_no_upstream_hosts(&r);
	struct kc_value *out = field(r.o, "Coordinators");
	assert_int_equal(out->u.arr.n, 4);   /* every key keeps its answer */
	assert_str(elem(out, 0), "Key", "group-a");
	assert_int_equal(get_int(elem(out, 0), "ErrorCode"), ERR_NONE);
	assert_endpoint(elem(out, 0), "NodeId", 1);
	assert_str(elem(out, 1), "Key", "group-b");
	assert_coordinator_unavailable(elem(out, 1), ERR_COORDINATOR_NOT_AVAILABLE);
	assert_str(elem(out, 1), "ErrorMessage", "not yet");
	assert_str(elem(out, 2), "Key", "group-c");
	assert_endpoint(elem(out, 2), "NodeId", 3);
	assert_str(elem(out, 3), "Key", "group-d");
	assert_coordinator_unavailable(elem(out, 3), ERR_COORDINATOR_NOT_AVAILABLE);
	assert_not_learned(UNMAPPABLE);
}

static void test_find_coordinator_v4(void **state) { (void)state; find_coordinator_batched(4); }
static void test_find_coordinator_v6(void **state) { (void)state; find_coordinator_batched(6); }

/* ---- DescribeCluster ---- */

static void describe_cluster_brokers(int16_t ver)
{
	struct kc_obj *o = resp_new(API_DESCRIBE_CLUSTER, ver);
	const int32_t ids[] = { 1, 2, UNMAPPABLE, 3 };
	endpoints(o, "Brokers", "BrokerId", ver, ids, 4);
	set_str(o, "ClusterId", "cluster-xyz");
	if (ver >= 1)
		set_int(o, "EndpointType", 1);
	struct rewritten r = rewrite(API_DESCRIBE_CLUSTER, ver, o);
	assert_int_equal(r.rc, 1);
	assert_no_upstream_hosts(&r);
	const int32_t want[] = { 1, 2, 3 };
	assert_endpoints(field(r.o, "Brokers"), "BrokerId", want, 3);
	assert_not_learned(UNMAPPABLE);
	assert_str(r.o, "ClusterId", "cluster-xyz");
}

static void test_describe_cluster_v0(void **state) { (void)state; describe_cluster_brokers(0); }
static void test_describe_cluster_v1(void **state) { (void)state; describe_cluster_brokers(1); }
static void test_describe_cluster_v2(void **state) { (void)state; describe_cluster_brokers(2); }

static void test_describe_cluster_controllers_are_not_listed(void **state)
{
	(void)state;
	for (int16_t ver = 1; ver <= 2; ver++) {
		struct kc_obj *o = resp_new(API_DESCRIBE_CLUSTER, ver);
		const int32_t ids[] = { 1, 2 };
		endpoints(o, "Brokers", "BrokerId", ver, ids, 2);
		set_int(o, "EndpointType", 2);
		struct rewritten r = rewrite(API_DESCRIBE_CLUSTER, ver, o);
		assert_int_equal(r.rc, 1);
		assert_no_upstream_hosts(&r);
		assert_int_equal(get_int(r.o, "EndpointType"), 2);
		assert_int_equal(field(r.o, "Brokers")->u.arr.n, 0);
		assert_not_learned(1);
		assert_not_learned(2);
	}
}

/* ---- Produce / Fetch NodeEndpoints (tagged, KIP-951) ---- */

static void node_endpoints_present(int16_t api, int16_t ver)
{
	struct kc_obj *o = resp_new(api, ver);
	assert_null(kc_get(o, "NodeEndpoints"));   /* tagged: not sent by default */
	const int32_t ids[] = { UNMAPPABLE, 2, 3 };
	struct kc_value *ne = endpoints(o, "NodeEndpoints", "NodeId", ver, ids, 3);
	set_str(elem(ne, 1), "Rack", "rack-b");
	struct rewritten r = rewrite(api, ver, o);
	assert_true(contains(r.in, r.in_len, "broker-2.internal"));
	assert_int_equal(r.rc, 1);
	assert_no_upstream_hosts(&r);
	const int32_t want[] = { 2, 3 };
	assert_endpoints(field(r.o, "NodeEndpoints"), "NodeId", want, 2);
	assert_str(elem(field(r.o, "NodeEndpoints"), 0), "Rack", "rack-b");
	assert_not_learned(UNMAPPABLE);
}

static void node_endpoints_absent(int16_t api, int16_t ver)
{
	struct kc_obj *o = resp_new(api, ver);
	struct rewritten r = rewrite(api, ver, o);
	assert_int_equal(r.rc, 0);     /* forwarded as received */
	assert_null(kc_get(r.o, "NodeEndpoints"));
	assert_int_equal(r.out_len, r.in_len);
	assert_memory_equal(r.out, r.in, r.in_len);
	assert_int_equal(ncalls, 0);
}

static void test_produce_v10_node_endpoints(void **state) { (void)state; node_endpoints_present(API_PRODUCE, 10); }
static void test_produce_v13_node_endpoints(void **state) { (void)state; node_endpoints_present(API_PRODUCE, 13); }
static void test_produce_v10_without_node_endpoints(void **state) { (void)state; node_endpoints_absent(API_PRODUCE, 10); }
static void test_fetch_v16_node_endpoints(void **state) { (void)state; node_endpoints_present(API_FETCH, 16); }
static void test_fetch_v18_node_endpoints(void **state) { (void)state; node_endpoints_present(API_FETCH, 18); }
static void test_fetch_v16_without_node_endpoints(void **state) { (void)state; node_endpoints_absent(API_FETCH, 16); }

/* ---- ShareFetch / ShareAcknowledge (NodeEndpoints not tagged) ---- */

static void share_node_endpoints(int16_t api)
{
	const struct kc_api *a = kc_api_find(api);
	if (!a)
		skip();
	int16_t ver = a->response->valid.min;
	struct kc_obj *o = resp_new(api, ver);
	const int32_t ids[] = { 1, UNMAPPABLE, 3 };
	endpoints(o, "NodeEndpoints", "NodeId", ver, ids, 3);
	struct rewritten r = rewrite(api, ver, o);
	assert_int_equal(r.rc, 1);
	assert_no_upstream_hosts(&r);
	const int32_t want[] = { 1, 3 };
	assert_endpoints(field(r.o, "NodeEndpoints"), "NodeId", want, 2);
	assert_not_learned(UNMAPPABLE);
}

static void test_share_fetch_node_endpoints(void **state) { (void)state; share_node_endpoints(API_SHARE_FETCH); }
static void test_share_acknowledge_node_endpoints(void **state) { (void)state; share_node_endpoints(API_SHARE_ACKNOWLEDGE); }

/* ---- ApiVersions ---- */

struct api_range {
	int16_t key, min, max;
};

static void apiversions_cap(int16_t ver)
{
	const struct api_range in[] = {
		{ API_PRODUCE, 0, 99 },          /* above the codec: capped */
		{ API_FETCH, 0, 2 },             /* entirely below the codec: dropped */
		{ API_METADATA, 0, 12 },         /* v0-3 cut (no auto-creation switch) */
		{ API_LEADER_AND_ISR, 0, 7 },    /* inter-broker: dropped */
		{ API_SASL_HANDSHAKE, 0, 1 },    /* the gateway's own: dropped */
		{ API_API_VERSIONS, 0, 4 },
		{ API_ADD_PARTITIONS_TO_TXN, 0, 5 }, /* v4+ broker-to-broker: capped at 3 */
		{ API_SASL_AUTHENTICATE, 0, 2 }, /* dropped */
		{ API_DESCRIBE_QUORUM, 0, 2 },   /* controller endpoints: dropped */
		{ 9999, 0, 3 },                  /* unknown: dropped */
		{ API_DESCRIBE_CLUSTER, 0, 1 },
	};
	const size_t n = sizeof(in) / sizeof(in[0]);
	struct kc_obj *o = resp_new(API_API_VERSIONS, ver);
	struct kc_value *keys = resize(o, "ApiKeys", ver, (int32_t)n);
	for (size_t i = 0; i < n; i++) {
		set_int(elem(keys, (int32_t)i), "ApiKey", in[i].key);
		set_int(elem(keys, (int32_t)i), "MinVersion", in[i].min);
		set_int(elem(keys, (int32_t)i), "MaxVersion", in[i].max);
	}
	if (ver >= 1)
		set_int(o, "ThrottleTimeMs", 7);

	const struct kc_api *produce = kc_api_find(API_PRODUCE);
	int16_t produce_min = produce->response->valid.min;
	int16_t produce_max = produce->response->valid.max;
	if (produce->request->valid.max < produce_max)
		produce_max = produce->request->valid.max;
	assert_true(produce_max < 99);
	assert_true(produce_min > 0);

	const struct api_range want[] = {
		{ API_PRODUCE, produce_min, produce_max },
		{ API_METADATA, 4, 12 },
		{ API_API_VERSIONS, 0, 4 },
		{ API_ADD_PARTITIONS_TO_TXN, 0, 3 },
		{ API_DESCRIBE_CLUSTER, 0, 1 },
	};
	const size_t nwant = sizeof(want) / sizeof(want[0]);

	struct rewritten r = rewrite(API_API_VERSIONS, ver, o);
	assert_int_equal(r.rc, 1);
	struct kc_value *out = field(r.o, "ApiKeys");
	assert_int_equal(out->u.arr.n, (int32_t)nwant);
	for (size_t i = 0; i < nwant; i++) {
		struct kc_obj *e = elem(out, (int32_t)i);
		assert_int_equal(get_int(e, "ApiKey"), want[i].key);
		assert_int_equal(get_int(e, "MinVersion"), want[i].min);
		assert_int_equal(get_int(e, "MaxVersion"), want[i].max);
		assert_true(kg_api_allowed(want[i].key, want[i].min));
		assert_true(kg_api_allowed(want[i].key, want[i].max));
	}
	assert_int_equal(get_int(r.o, "ErrorCode"), ERR_NONE);
	if (ver >= 1)
		assert_int_equal(get_int(r.o, "ThrottleTimeMs"), 7);
	assert_int_equal(ncalls, 0);
}

static void test_apiversions_v0_capped(void **state) { (void)state; apiversions_cap(0); }
static void test_apiversions_v3_capped(void **state) { (void)state; apiversions_cap(3); }
static void test_apiversions_v4_capped(void **state) { (void)state; apiversions_cap(4); }

static void test_apiversions_unsupported_frame(void **state)
{
	(void)state;
	uint8_t *frame = NULL;
	long len = kg_versions_unsupported(&router, 0x01020304, &frame);
	assert_true(len > 4);
	assert_non_null(frame);
	uint32_t size = (uint32_t)frame[0] << 24 | (uint32_t)frame[1] << 16 |
			(uint32_t)frame[2] << 8 | frame[3];
	assert_int_equal(size, (uint32_t)len - 4);
	int32_t corr = 0;
	size_t hlen = 0;
	assert_int_equal(kc_decode_response_header(frame + 4, (size_t)len - 4, 0, &corr,
						   &hlen), KC_OK);
	assert_int_equal(corr, 0x01020304);
	assert_int_equal(hlen, 4);
	struct kc_obj *o = decode(API_API_VERSIONS, 0, frame + 4 + hlen,
				  (size_t)len - 4 - hlen);
	assert_int_equal(get_int(o, "ErrorCode"), ERR_UNSUPPORTED_VERSION);
	struct kc_value *keys = field(o, "ApiKeys");
	assert_int_equal(keys->u.arr.n, 1);
	assert_int_equal(get_int(elem(keys, 0), "ApiKey"), API_API_VERSIONS);
	assert_int_equal(get_int(elem(keys, 0), "MinVersion"),
			 kg_api_min_version(API_API_VERSIONS));
	assert_int_equal(get_int(elem(keys, 0), "MaxVersion"),
			 kg_api_max_version(API_API_VERSIONS));
	assert_true(kg_api_max_version(API_API_VERSIONS) >= 3);
	/* a v0 body: ErrorCode (2) + array length (4) + one entry (6) */
	assert_int_equal(len, 4 + 4 + 2 + 4 + 6);
	free(frame);
}

/* ---- kg_rewrite_needed ---- */

static void test_rewrite_needed_truth_table(void **state)
{
	(void)state;
	assert_false(kg_rewrite_needed(API_PRODUCE, 3));
	assert_false(kg_rewrite_needed(API_PRODUCE, 9));
	assert_true(kg_rewrite_needed(API_PRODUCE, 10));
	assert_true(kg_rewrite_needed(API_PRODUCE, 13));
	assert_false(kg_rewrite_needed(API_FETCH, 4));
	assert_false(kg_rewrite_needed(API_FETCH, 15));
	assert_true(kg_rewrite_needed(API_FETCH, 16));
	assert_true(kg_rewrite_needed(API_FETCH, 18));
	for (int16_t v = 0; v <= 13; v++)
		assert_true(kg_rewrite_needed(API_METADATA, v));
	assert_true(kg_rewrite_needed(API_FIND_COORDINATOR, 0));
	assert_true(kg_rewrite_needed(API_FIND_COORDINATOR, 6));
	assert_true(kg_rewrite_needed(API_API_VERSIONS, 0));
	assert_true(kg_rewrite_needed(API_API_VERSIONS, 4));
	assert_true(kg_rewrite_needed(API_DESCRIBE_CLUSTER, 0));
	assert_true(kg_rewrite_needed(API_SHARE_FETCH, 1));
	assert_true(kg_rewrite_needed(API_SHARE_ACKNOWLEDGE, 1));
	assert_false(kg_rewrite_needed(API_LIST_OFFSETS, 8));
	assert_false(kg_rewrite_needed(API_JOIN_GROUP, 9));
	assert_false(kg_rewrite_needed(9999, 0));
}

/* Every allowed API whose response can carry a broker Host in some
 * version must be rewritten in that version. StreamsGroupHeartbeat and
 * StreamsGroupDescribe carry Kafka Streams application endpoints
 * (UserEndpoint), which are not brokers. */
static bool has_host(const struct kc_struct *st, int16_t ver, int depth)
{
	if (depth > 16)
		return false;
	for (size_t i = 0; i < st->nfields; i++) {
		const struct kc_field *f = &st->fields[i];
		if (!kc_range_has(f->versions, ver))
			continue;
		if (strcmp(f->name, "Host") == 0)
			return true;
		if (f->sub && has_host(f->sub, ver, depth + 1))
			return true;
	}
	return false;
}

static void test_every_allowed_response_with_host_is_rewritten(void **state)
{
	(void)state;
	int checked = 0;
	for (size_t i = 0; i < kc_napis; i++) {
		const struct kc_api *a = &kc_apis[i];
		if (a->api_key == 88 || a->api_key == 89 || kg_api_max_version(a->api_key) < 0)
			continue;
		for (int16_t v = kg_api_min_version(a->api_key);
		     v <= kg_api_max_version(a->api_key); v++) {
			if (!has_host(a->response->body, v, 0))
				continue;
			checked++;
			if (!kg_rewrite_needed(a->api_key, v))
				fail_msg("%s v%d has a Host field but is not rewritten",
					 a->name, v);
		}
	}
	assert_true(checked > 20);
}

int main(void)
{
	/* hidden nodes are logged as errors; keep the test output readable */
	kg_log_set_level((enum kg_log_level)(KG_LOG_ERROR + 1));
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_metadata_v0),
		T(test_metadata_v1),
		T(test_metadata_v9),
		T(test_metadata_v12),
		T(test_metadata_v13),
		T(test_metadata_learns_once_and_follows_a_moved_broker),
		T(test_metadata_hides_brokers_with_unusable_addresses),
		T(test_metadata_hides_host_with_embedded_nul),
		T(test_metadata_unresolvable_broker_is_still_rewritten),
		T(test_learning_never_resolves),
		T(test_broker_outside_allowed_hosts_is_hidden),
		T(test_metadata_no_brokers),
		T(test_find_coordinator_v0),
		T(test_find_coordinator_v3),
		T(test_find_coordinator_v3_explicit_node),
		T(test_find_coordinator_v3_unmappable_node),
		T(test_find_coordinator_v2_error_keeps_code_drops_host),
		T(test_find_coordinator_v1_error_without_host_unchanged),
		T(test_find_coordinator_v4),
		T(test_find_coordinator_v6),
		T(test_describe_cluster_v0),
		T(test_describe_cluster_v1),
		T(test_describe_cluster_v2),
		T(test_describe_cluster_controllers_are_not_listed),
		T(test_produce_v10_node_endpoints),
		T(test_produce_v13_node_endpoints),
		T(test_produce_v10_without_node_endpoints),
		T(test_fetch_v16_node_endpoints),
		T(test_fetch_v18_node_endpoints),
		T(test_fetch_v16_without_node_endpoints),
		T(test_share_fetch_node_endpoints),
		T(test_share_acknowledge_node_endpoints),
		T(test_apiversions_v0_capped),
		T(test_apiversions_v3_capped),
		T(test_apiversions_v4_capped),
		T(test_apiversions_unsupported_frame),
		T(test_rewrite_needed_truth_table),
		T(test_every_allowed_response_with_host_is_rewritten),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
