/*
 * fuzz_authz.c - libFuzzer target for request authorization
 * (proxy/authz*.c) on top of the codec and the policy engine.
 *
 * Input: api selector (1 byte, among the APIs the gateway lets through),
 * version (1 byte, mapped into the allowed versions), then a request body.
 * A body that decodes is authorized for User:alice under a fixed policy,
 * and then:
 *   - a REWRITE encodes, decodes again, and authorizing that again
 *     changes nothing (no denied item is ever left in what is forwarded);
 *   - denied items' errors (merge) and LOCAL answers encode and decode as
 *     responses of that API and version, and merge into a response;
 *   - the response fixes run on the merged answer without failing.
 * Any violation aborts, so libFuzzer keeps the input.
 *
 *   make build/fuzz/fuzz_authz && build/fuzz/fuzz_authz -max_total_time=60 DIR
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enforce/apis.h"
#include "enforce/authz.h"
#include "enforce/current_policy.h"
#include "kafka/codec.h"
#include "loop/conn-t.h"
#include "base/log.h"
#include "acl/policy.h"
#include "route/topics.h"

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "check failed: %s (%s:%d)\n", #cond,  \
				__FILE__, __LINE__);                          \
			abort();                                              \
		}                                                             \
	} while (0)

static const char POLICY[] =
	"{\"roles\": [{\"name\": \"app\", \"members\": [\"User:alice\"], \"rules\": ["
	" {\"effect\": \"allow\", \"resource\": \"topic\", \"prefix\": \"a\", \"operations\": [\"ALL\"]},"
	" {\"effect\": \"deny\", \"resource\": \"topic\", \"name\": \"ab\", \"operations\": [\"WRITE\"]},"
	" {\"effect\": \"allow\", \"resource\": \"group\", \"prefix\": \"g\", \"operations\": [\"READ\"]},"
	" {\"effect\": \"allow\", \"resource\": \"transactional_id\", \"name\": \"t\", \"operations\": [\"WRITE\"]}"
	"]}]}";

static int16_t apis[128];
static size_t napis;
static struct kg_conn conn;
static uint8_t out[1 << 20];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	kg_log_set_level(KG_LOG_ERROR);
	char err[256];
	struct kg_policy *p = kg_policy_parse(POLICY, "fuzz", err, sizeof(err));
	CHECK(p);
	kg_current_policy_swap(p);
	for (size_t i = 0; i < kc_napis && napis < 128; i++)
		if (kg_api_max_version(kc_apis[i].api_key) >= 0)
			apis[napis++] = kc_apis[i].api_key;
	uint8_t id[16] = { 1 };
	kg_topics_learn(id, "abc", 3);
	id[0] = 2;
	kg_topics_learn(id, "zzz", 3);
	kc_arena_init(&conn.arena);
	static char principal[] = "User:alice";
	conn.authn.principal = principal;
	conn.authz.principal = principal;
	conn.authz.peer = (const struct sockaddr *)&conn.peer_sa;
	struct sockaddr_in *sin = (struct sockaddr_in *)&conn.peer_sa;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

/* A response of (key, ver) must encode and decode back. */
static void check_response(int16_t key, int16_t ver, struct kc_obj *o)
{
	bool flex = kc_response_flexible(key, ver);
	int64_t n = kc_encoded_size(o, ver, flex);
	CHECK(n >= 0 && (size_t)n <= sizeof(out));
	CHECK(kc_encode(o, ver, flex, out, sizeof(out)) == n);
	struct kc_obj *back;
	CHECK(kc_decode_response(key, ver, out, (size_t)n, &conn.arena, &back) == KC_OK);
	/* merged into an (empty) broker answer, then fixed */
	struct kc_obj *resp = kc_obj_new(kc_api_find(key)->response->body, ver, &conn.arena);
	CHECK(resp);
	CHECK(kg_authz_response(&conn.authz, &conn.arena, key, ver, KG_POST_FILTER, out, (uint32_t)n, resp) >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int16_t key = apis[data[0] % napis];
	int16_t lo = kg_api_min_version(key), hi = kg_api_max_version(key);
	int16_t ver = (int16_t)(lo + data[1] % (hi - lo + 1));
	kc_arena_reset(&conn.arena);
	struct kc_obj *req;
	if (kc_decode_request(key, ver, data + 2, size - 2, &conn.arena, &req) != KC_OK)
		return 0;
	struct kc_req_header h = { .api_key = key, .api_version = ver };
	struct kg_authz_out o;
	kg_authz_request(&conn.authz, &conn.arena, &h, req, &o);
	kg_authz_commit(&conn.authz, key);
	if (o.merge)
		check_response(key, ver, o.merge);
	if (o.verdict == KG_AUTHZ_LOCAL)
		check_response(key, ver, o.local);
	if (o.verdict == KG_AUTHZ_REWRITE) {
		bool flex = kc_request_flexible(key, ver);
		int64_t n = kc_encoded_size(req, ver, flex);
		CHECK(n >= 0 && (size_t)n <= sizeof(out));
		CHECK(kc_encode(req, ver, flex, out, sizeof(out)) == n);
		struct kc_obj *again;
		uint8_t *copy = malloc((size_t)n + 1);
		CHECK(copy);
		memcpy(copy, out, (size_t)n);
		CHECK(kc_decode_request(key, ver, copy, (size_t)n, &conn.arena, &again) == KC_OK);
		struct kg_authz_out o2;
		kg_authz_request(&conn.authz, &conn.arena, &h, again, &o2);
		kg_authz_commit(&conn.authz, key);
		/* What is forwarded holds nothing more to refuse. */
		CHECK(o2.verdict == KG_AUTHZ_FORWARD && !o2.merge);
		free(copy);
	}
	return 0;
}
