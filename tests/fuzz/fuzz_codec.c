/*
 * fuzz_codec.c - libFuzzer target for the Kafka protocol codec.
 *
 * Input: api key (2 bytes BE), version (2 bytes BE), selector (1 byte:
 * bit 0 = response), then the body. Checks that decoding never misbehaves
 * and that whatever decodes re-encodes to the very same bytes; builds and
 * round-trips an error response for decoded requests; and feeds the body
 * to the request-header decoder too.
 *
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -Iproxy \
 *       tests/fuzz/fuzz_codec.c proxy/kafka/codec.c proxy/kafka/codec_gen.c -o fuzz_codec
 *   ./fuzz_codec -max_total_time=60 CORPUS_DIR
 *
 * Seed corpus (valid default requests and error responses of every API
 * version), built without libFuzzer:
 *
 *   cc -DKC_FUZZ_MAKE_SEEDS -Iproxy tests/fuzz/fuzz_codec.c proxy/kafka/codec.c \
 *       proxy/kafka/codec_gen.c -o make_seeds && ./make_seeds CORPUS_DIR
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/codec.h"

/* A failed check: crash so libFuzzer records the input. */
#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "check failed: %s (%s:%d)\n", #cond,  \
				__FILE__, __LINE__);                          \
			abort();                                              \
		}                                                             \
	} while (0)

static void visit_entity(void *ctx, enum kc_entity ent,
			 const struct kc_field *f, struct kc_value *v)
{
	size_t *n = ctx;

	(void)ent;
	(void)f;
	/* Touch the value so ASan sees any dangling pointer. */
	if ((f->type == KC_STRING || f->elem_type == KC_STRING) &&
	    v->u.b.len > 0)
		*n += v->u.b.p[v->u.b.len - 1];
	(*n)++;
}

/* Encode o, which must give exactly `want` when want != NULL; returns a
 * malloc'd copy (or NULL on an encode error when allow_err). */
static uint8_t *encode_check(const struct kc_obj *o, int16_t ver, bool flex,
			     const uint8_t *want, size_t want_len,
			     size_t *out_len)
{
	int64_t size = kc_encoded_size(o, ver, flex);
	uint8_t *out;

	CHECK(size >= 0);
	if (want)
		CHECK((size_t)size == want_len);
	out = malloc((size_t)size + 1);
	CHECK(out);
	CHECK(kc_encode(o, ver, flex, out, (size_t)size) == size);
	if (size > 0)
		CHECK(kc_encode(o, ver, flex, out, (size_t)size - 1) < 0);
	if (want)
		CHECK(memcmp(out, want, want_len) == 0);
	*out_len = (size_t)size;
	return out;
}

static void roundtrip_body(int16_t api, int16_t ver, bool response,
			   const uint8_t *body, size_t len,
			   struct kc_arena *a)
{
	const struct kc_api *ap = kc_api_find(api);
	struct kc_obj *o = NULL, *again = NULL, *err = NULL, *err2 = NULL;
	uint8_t *out, *eout, *eout2;
	size_t olen, elen, elen2, n = 0;
	bool flex;
	int rc;

	rc = response ? kc_decode_response(api, ver, body, len, a, &o)
		      : kc_decode_request(api, ver, body, len, a, &o);
	CHECK(rc <= 0 && rc >= KC_ERR_NOMEM);
	if (rc != KC_OK) {
		CHECK(o == NULL);
		return;
	}
	CHECK(ap);
	flex = response ? kc_response_flexible(api, ver)
			: kc_request_flexible(api, ver);
	out = encode_check(o, ver, flex, body, len, &olen);
	rc = response ? kc_decode_response(api, ver, out, olen, a, &again)
		      : kc_decode_request(api, ver, out, olen, a, &again);
	CHECK(rc == KC_OK);
	free(encode_check(again, ver, flex, body, len, &olen));
	kc_foreach_entity(o, visit_entity, &n);

	if (!response) {
		rc = kc_build_error_response(api, ver, o, 29, a, &err);
		CHECK(rc == KC_OK || rc == KC_ERR_NOMEM);
		if (rc == KC_OK) {
			bool rflex = kc_response_flexible(api, ver);

			eout = encode_check(err, ver, rflex, NULL, 0, &elen);
			rc = kc_decode_response(api, ver, eout, elen, a, &err2);
			CHECK(rc == KC_OK || rc == KC_ERR_NOMEM);
			if (rc == KC_OK) {
				eout2 = encode_check(err2, ver, rflex, eout,
						     elen, &elen2);
				free(eout2);
			}
			free(eout);
		}
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kc_arena arena;
	static bool ready;
	struct kc_req_header h;
	int16_t api, ver;

	if (!ready) {
		kc_arena_init(&arena);
		arena.max_total = (size_t)16 << 20;
		ready = true;
	}
	if (size < 5)
		return 0;
	api = (int16_t)(data[0] << 8 | data[1]);
	ver = (int16_t)(data[2] << 8 | data[3]);
	roundtrip_body(api, ver, data[4] & 1, data + 5, size - 5, &arena);
	kc_arena_reset(&arena);

	/* The whole input as a request frame (header + body). */
	if (kc_decode_request_header(data, size, &arena, &h) == KC_OK) {
		CHECK(h.header_len <= size);
		roundtrip_body(h.api_key, h.api_version, false,
			       data + h.header_len, size - h.header_len,
			       &arena);
	}
	kc_arena_reset(&arena);
	return 0;
}

#ifdef KC_FUZZ_MAKE_SEEDS
/* Give every array one element, every string a value and send every
 * tagged field, so the seeds reach deep into each message. */
static void seed_fill(struct kc_arena *a, struct kc_obj *o, int16_t ver,
		      int depth)
{
	size_t i;

	if (depth > 8)
		return;
	for (i = 0; i < o->st->nfields; i++) {
		const struct kc_field *f = &o->st->fields[i];
		struct kc_value *v = &o->vals[i];

		if (!kc_range_has(f->versions, ver))
			continue;
		v->present = true;
		switch (f->type) {
		case KC_STRING:
			CHECK(kc_set_string(a, v, f->name, strlen(f->name)) ==
			      KC_OK);
			break;
		case KC_BYTES: case KC_RECORDS:
			CHECK(kc_set_string(a, v, "\x01\x02", 2) == KC_OK);
			break;
		case KC_STRUCT:
			if (!v->u.obj)
				v->u.obj = kc_obj_new(f->sub, ver, a);
			CHECK(v->u.obj);
			seed_fill(a, v->u.obj, ver, depth + 1);
			break;
		case KC_ARRAY:
			CHECK(kc_array_resize(a, v, f, ver, 1) == KC_OK);
			if (f->elem_type == KC_STRUCT)
				seed_fill(a, v->u.arr.v[0].u.obj, ver,
					  depth + 1);
			else if (f->elem_type == KC_STRING)
				CHECK(kc_set_string(a, &v->u.arr.v[0], "e",
						    1) == KC_OK);
			else
				v->u.arr.v[0].u.i = 1;
			break;
		case KC_BOOL:
			v->u.i = 1;
			break;
		case KC_UUID: case KC_FLOAT64:
			break;
		default:
			v->u.i = 3;
			break;
		}
	}
}

static void write_seed(const char *dir, int16_t api, int16_t ver, int resp,
		       const char *kind, const struct kc_obj *o, bool flex)
{
	int64_t size = kc_encoded_size(o, ver, flex);
	uint8_t *buf;
	char path[4096];
	FILE *fp;

	CHECK(size >= 0);
	buf = malloc((size_t)size + 5);
	CHECK(buf);
	buf[0] = (uint8_t)(api >> 8);
	buf[1] = (uint8_t)api;
	buf[2] = (uint8_t)(ver >> 8);
	buf[3] = (uint8_t)ver;
	buf[4] = (uint8_t)resp;
	CHECK(kc_encode(o, ver, flex, buf + 5, (size_t)size) == size);
	snprintf(path, sizeof(path), "%s/seed-%d-%d-%s-%s", dir, api, ver,
		 resp ? "resp" : "req", kind);
	fp = fopen(path, "wb");
	CHECK(fp);
	CHECK(fwrite(buf, 1, (size_t)size + 5, fp) == (size_t)size + 5);
	fclose(fp);
	free(buf);
}

int main(int argc, char **argv)
{
	struct kc_arena a;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	kc_arena_init(&a);
	for (i = 0; i < kc_napis; i++) {
		const struct kc_api *api = &kc_apis[i];
		int v;

		for (v = api->request->valid.min; v <= api->request->valid.max;
		     v++) {
			struct kc_obj *req, *resp;

			bool qflex = kc_request_flexible(api->api_key,
							 (int16_t)v);
			bool sflex = kc_response_flexible(api->api_key,
							  (int16_t)v);

			req = kc_obj_new(api->request->body, (int16_t)v, &a);
			CHECK(req);
			write_seed(argv[1], api->api_key, (int16_t)v, 0,
				   "default", req, qflex);
			CHECK(kc_build_error_response(api->api_key,
						      (int16_t)v, req, 31, &a,
						      &resp) == KC_OK);
			write_seed(argv[1], api->api_key, (int16_t)v, 1,
				   "error", resp, sflex);
			seed_fill(&a, req, (int16_t)v, 0);
			write_seed(argv[1], api->api_key, (int16_t)v, 0,
				   "full", req, qflex);
			resp = kc_obj_new(api->response->body, (int16_t)v, &a);
			CHECK(resp);
			seed_fill(&a, resp, (int16_t)v, 0);
			write_seed(argv[1], api->api_key, (int16_t)v, 1,
				   "full", resp, sflex);
			kc_arena_reset(&a);
		}
	}
	kc_arena_free(&a);
	return 0;
}
#endif
