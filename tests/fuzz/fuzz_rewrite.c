/*
 * fuzz_rewrite.c - libFuzzer target for broker address rewriting
 * (proxy/route/rewrite.c) on top of the codec.
 *
 * Input: selector (1 byte: which rewritten API), version (1 byte, mapped
 * into the versions of that API that are rewritten), then a response body.
 * A body that decodes is rewritten with a router whose resolver is a fake,
 * re-encoded, decoded again, and then:
 *   - every Host in the result is "" or the gateway's advertised host of
 *     the node named next to it, with that node's advertised port;
 *   - every node that kept an address was learned by the router;
 *   - an ApiVersions answer lists only allowed APIs within the gateway's
 *     range.
 * Any violation aborts, so libFuzzer keeps the input.
 *
 *   make build/fuzz/fuzz_rewrite
 *   build/fuzz/fuzz_rewrite -max_total_time=120 CORPUS_DIR
 *
 * Seed corpus: valid responses of every rewritten API/version with broker
 * endpoints. Written automatically into the first corpus directory when it
 * is empty (as with `make fuzz` from a clean tree), or by hand without
 * libFuzzer:
 *
 *   cc -std=c11 -DKG_FUZZ_MAKE_SEEDS -Iproxy tests/fuzz/fuzz_rewrite.c \
 *       $(find proxy -name '*.c' ! -name main.c) -lev -ljansson -pthread -o make_seeds
 *   ./make_seeds CORPUS_DIR
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enforce/apis.h"
#include "kafka/codec.h"
#include "config/config.h"
#include "base/log.h"
#include "enforce/versions.h"
#include "route/rewrite.h"
#include "route/router.h"

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "check failed: %s (%s:%d)\n", #cond,  \
				__FILE__, __LINE__);                          \
			abort();                                              \
		}                                                             \
	} while (0)

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

/* The APIs whose responses kg_rewrite_response changes. */
static const int16_t apis[] = { 0, 1, 3, 10, 18, 60, 78, 79 };
#define NAPIS (sizeof(apis) / sizeof(apis[0]))

static struct kg_config *cfg;
static struct kc_arena arena;

static int fake_resolve(const char *host, uint16_t port, struct kg_addr *out,
			char *err, size_t errlen)
{
	(void)err; (void)errlen;
	CHECK(host[0] != '\0');
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	out->len = sizeof(*sin);
	return 0;
}

static void load_config(void)
{
	char path[] = "/tmp/kg-fuzz-rewrite-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, CONFIG, sizeof(CONFIG) - 1) == (ssize_t)sizeof(CONFIG) - 1);
	close(fd);
	char err[512];
	cfg = kg_config_load(path, err, sizeof(err));
	unlink(path);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
}

/* Versions of api that are rewritten: [lo, hi]; false if none. */
static bool rewritten_versions(int16_t api, int16_t *lo, int16_t *hi)
{
	const struct kc_api *a = kc_api_find(api);
	if (!a || !a->response)
		return false;
	*lo = a->response->valid.min;
	*hi = a->response->valid.max;
	while (*lo <= *hi && !kg_rewrite_needed(api, *lo))
		(*lo)++;
	return *lo <= *hi;
}

/* ---- checking the rewritten tree ---- */

static bool str_is(const struct kc_value *v, const char *s)
{
	size_t n = strlen(s);
	return v->u.b.len == (int32_t)n && (n == 0 || memcmp(v->u.b.p, s, n) == 0);
}

static void check_endpoint(struct kg_router *r, struct kc_obj *o)
{
	struct kc_value *host = kc_get(o, "Host");
	if (!host)
		return;
	CHECK(host->u.b.len >= 0);
	if (host->u.b.len == 0)
		return;   /* no address (e.g. COORDINATOR_NOT_AVAILABLE) */
	struct kc_value *id = kc_get(o, "NodeId");
	if (!id)
		id = kc_get(o, "BrokerId");
	CHECK(id != NULL);
	struct kc_value *port = kc_get(o, "Port");
	CHECK(port != NULL);
	if (id->u.i == 3) {
		CHECK(str_is(host, ADV_HOST3));
		CHECK(port->u.i == 19300);
	} else {
		CHECK(str_is(host, ADV_HOST));
		CHECK(id->u.i >= 0 && 19100 + id->u.i <= 65535);
		CHECK(port->u.i == 19100 + id->u.i);
	}
	/* Every node a client is told of is known; resolved, or refused
	 * (its address outside upstream.allowed_hosts: never connected to). */
	struct kg_addr a;
	CHECK(kg_router_upstream(r, (int32_t)id->u.i, &a, NULL) != -2);
}

/* Visits every struct of the tree. */
static void walk(struct kg_router *r, struct kc_obj *o, int depth)
{
	if (!o)
		return;
	CHECK(depth < 64);
	check_endpoint(r, o);
	for (size_t i = 0; i < o->st->nfields; i++) {
		const struct kc_field *f = &o->st->fields[i];
		struct kc_value *v = &o->vals[i];
		if (!v->present)
			continue;
		if (f->type == KC_STRUCT)
			walk(r, v->u.obj, depth + 1);
		else if (f->type == KC_ARRAY && f->elem_type == KC_STRUCT)
			for (int32_t j = 0; j < v->u.arr.n; j++)
				walk(r, v->u.arr.v[j].u.obj, depth + 1);
	}
}

static void check_apiversions(struct kc_obj *o)
{
	struct kc_value *keys = kc_get(o, "ApiKeys");
	CHECK(keys != NULL);
	for (int32_t i = 0; i < keys->u.arr.n; i++) {
		struct kc_obj *e = keys->u.arr.v[i].u.obj;
		int16_t k = (int16_t)kc_get(e, "ApiKey")->u.i;
		int64_t mn = kc_get(e, "MinVersion")->u.i;
		int64_t mx = kc_get(e, "MaxVersion")->u.i;
		CHECK(kg_api_max_version(k) >= 0);
		CHECK(mn <= mx);
		CHECK(mn >= kg_api_min_version(k));
		CHECK(mx <= kg_api_max_version(k));
	}
}

/* ---- seed corpus ---- */

/* Seeds: one valid response with broker endpoints per rewritten API version. */
static void set_endpoint(struct kc_obj *e, int32_t id)
{
	char host[64];
	struct kc_value *v = kc_get(e, "NodeId");
	if (!v)
		v = kc_get(e, "BrokerId");
	if (!v)
		return;
	v->u.i = id;
	int n = snprintf(host, sizeof(host), "broker-%d.internal", id);
	if ((v = kc_get(e, "Host")))
		kc_set_string(&arena, v, host, (size_t)n);
	if ((v = kc_get(e, "Port")))
		v->u.i = 29090 + id;
}

static void fill_array(struct kc_obj *o, const char *name, int16_t ver, int32_t n)
{
	int i = kc_field_index(o->st, name);
	if (i < 0 || !kc_range_has(o->st->fields[i].versions, ver))
		return;
	CHECK(kc_array_resize(&arena, &o->vals[i], &o->st->fields[i], ver, n) == KC_OK);
	for (int32_t j = 0; j < n; j++) {
		struct kc_obj *e = o->vals[i].u.arr.v[j].u.obj;
		if (strcmp(name, "ApiKeys") == 0) {
			static const int16_t keys[] = { 0, 3, 4, 17, 18, 24, 55, 9999 };
			kc_get(e, "ApiKey")->u.i = keys[j % 8];
			kc_get(e, "MaxVersion")->u.i = 20;
		} else if (strcmp(name, "Coordinators") == 0) {
			kc_set_string(&arena, kc_get(e, "Key"), "group", 5);
			set_endpoint(e, j == 3 ? 70000 : j + 1);
		} else {
			set_endpoint(e, j == 3 ? 70000 : j + 1);
		}
	}
}

/* Writes the seeds into dir; returns how many, or -1. */
static int write_seeds(const char *dir)
{
	int count = 0;
	for (size_t k = 0; k < NAPIS; k++) {
		int16_t api = apis[k], lo, hi;
		if (!rewritten_versions(api, &lo, &hi))
			continue;
		for (int16_t ver = lo; ver <= hi; ver++) {
			kc_arena_reset(&arena);
			struct kc_obj *o = kc_obj_new(kc_api_find(api)->response->body, ver,
						      &arena);
			CHECK(o != NULL);
			fill_array(o, "Brokers", ver, 4);
			fill_array(o, "NodeEndpoints", ver, 4);
			fill_array(o, "Coordinators", ver, 4);
			fill_array(o, "ApiKeys", ver, 8);
			if (api == 10 && ver < 4)
				set_endpoint(o, 2);
			bool flex = kc_response_flexible(api, ver);
			int64_t n = kc_encoded_size(o, ver, flex);
			CHECK(n >= 0);
			uint8_t *buf = malloc((size_t)n + 2);
			CHECK(buf != NULL);
			buf[0] = (uint8_t)k;
			buf[1] = (uint8_t)(ver - lo);
			CHECK(kc_encode(o, ver, flex, buf + 2, (size_t)n) == n);
			char path[4096];
			snprintf(path, sizeof(path), "%s/seed-%d-v%d", dir, api, ver);
			FILE *f = fopen(path, "wb");
			if (!f) {
				free(buf);
				return -1;
			}
			CHECK(fwrite(buf, 1, (size_t)n + 2, f) == (size_t)n + 2);
			fclose(f);
			free(buf);
			count++;
		}
	}
	kc_arena_reset(&arena);
	return count;
}

/* The first corpus directory on the command line, if it has no entries:
 * libFuzzer reads the corpus after LLVMFuzzerInitialize, so seeds written
 * there are picked up by a fresh run (e.g. `make fuzz` from a clean tree). */
static const char *empty_corpus_dir(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		DIR *d = opendir(argv[i]);
		if (!d)
			return NULL;
		struct dirent *e;
		bool empty = true;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				empty = false;
		closedir(d);
		return empty ? argv[i] : NULL;
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	kg_log_set_level((enum kg_log_level)(KG_LOG_ERROR + 1));
	load_config();
	kc_arena_init(&arena);
	const char *dir = empty_corpus_dir(*argc, *argv);
	if (dir && write_seeds(dir) > 0)
		fprintf(stderr, "fuzz_rewrite: seeded %s\n", dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int16_t api = apis[data[0] % NAPIS];
	int16_t lo, hi;
	if (!rewritten_versions(api, &lo, &hi))
		return 0;
	int16_t ver = (int16_t)(lo + data[1] % (hi - lo + 1));
	const uint8_t *body = data + 2;
	size_t len = size - 2;
	bool flex = kc_response_flexible(api, ver);

	kc_arena_reset(&arena);
	struct kc_obj *o = NULL;
	if (kc_decode_response(api, ver, body, len, &arena, &o) != KC_OK)
		return 0;

	struct kg_router router;
	kg_router_init(&router, cfg);
	router.resolve = fake_resolve;
	int rc = api == 18 ? kg_versions_cap(o) : kg_rewrite_response(&router, api, ver, o, &arena, false);
	CHECK(rc >= -1 && rc <= 1);
	if (rc < 0)
		goto out;   /* the gateway drops such a response */
	/* What the refresh thread does for the nodes the response taught. */
	kg_router_resolve_pending(&router);

	if (rc == 0) {
		/* forwarded as received: the broker's own bytes must hold
		 * no address either */
		struct kc_obj *orig = NULL;
		CHECK(kc_decode_response(api, ver, body, len, &arena, &orig) == KC_OK);
		walk(&router, orig, 0);
		goto out;
	}
	int64_t n = kc_encoded_size(o, ver, flex);
	CHECK(n >= 0);
	uint8_t *out = malloc((size_t)n + 1);
	CHECK(out != NULL);
	CHECK(kc_encode(o, ver, flex, out, (size_t)n) == n);
	struct kc_obj *o2 = NULL;
	CHECK(kc_decode_response(api, ver, out, (size_t)n, &arena, &o2) == KC_OK);
	walk(&router, o2, 0);
	if (api == 18)
		check_apiversions(o2);
	free(out);
out:
	kg_router_destroy(&router);
	return 0;
}

#ifdef KG_FUZZ_MAKE_SEEDS
int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	int count = write_seeds(argv[1]);
	if (count < 0) {
		perror(argv[1]);
		return 1;
	}
	printf("%d seeds written to %s\n", count, argv[1]);
	return 0;
}
#endif
