/*
 * codec.c - run time of the table-driven Kafka protocol codec.
 *
 * Walks the kc_struct/kc_field tables of codec_gen.c to decode frames into
 * kc_obj trees held in a kc_arena, to encode such trees back, to build
 * error responses and to visit entity fields.
 *
 * The input is untrusted: every length is checked against the bytes left
 * before anything is allocated, varints are bounded and must be minimal,
 * nesting is bounded, and decoding must consume the whole body. Strings,
 * bytes and records are never copied: they point into the frame.
 */
#include "kafka/codec.h"
#include "kafka/codec-int.h"

#include <stdlib.h>
#include <string.h>

/* First arena chunk; later chunks double. */
#define KC_ARENA_CHUNK_MIN ((size_t)16 << 10)
/* Largest chunk kc_arena_reset keeps. */
#define KC_ARENA_KEEP_MAX ((size_t)1 << 20)

/* ------------------------------------------------------------------ */
/* tables and version rules                                            */
/* ------------------------------------------------------------------ */

const struct kc_api *kc_api_find(int16_t api_key)
{
	size_t lo = 0, hi = kc_napis;

	/* kc_apis is sorted and nearly dense: try the direct slot first. */
	if (api_key >= 0 && (size_t)api_key < kc_napis &&
	    kc_apis[api_key].api_key == api_key)
		return &kc_apis[api_key];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (kc_apis[mid].api_key == api_key)
			return &kc_apis[mid];
		if (kc_apis[mid].api_key < api_key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct kc_message *kc_message_find(const char *name)
{
	size_t lo = 0, hi = kc_nother_msgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(kc_other_msgs[mid]->name, name);

		if (c == 0)
			return kc_other_msgs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool kc_range_has(struct kc_range r, int16_t v)
{
	return v >= r.min && v <= r.max;
}

bool kc_api_version_known(int16_t api_key, int16_t version)
{
	const struct kc_api *api = kc_api_find(api_key);

	return api && kc_range_has(api->request->valid, version) &&
	       kc_range_has(api->response->valid, version);
}

bool kc_request_flexible(int16_t api_key, int16_t version)
{
	const struct kc_api *api = kc_api_find(api_key);

	return api && kc_range_has(api->request->flexible, version);
}

bool kc_response_flexible(int16_t api_key, int16_t version)
{
	const struct kc_api *api = kc_api_find(api_key);

	return api && kc_range_has(api->response->flexible, version);
}

/* ControlledShutdown v0 predates the ClientId header field. */
#define KC_API_CONTROLLED_SHUTDOWN 7
/* ApiVersions responses always use header v0 (KIP-511). */
#define KC_API_API_VERSIONS 18

int kc_request_header_version(int16_t api_key, int16_t version)
{
	if (api_key == KC_API_CONTROLLED_SHUTDOWN && version == 0)
		return 0;
	if (!kc_api_find(api_key))
		return -1;
	return kc_request_flexible(api_key, version) ? 2 : 1;
}

int kc_response_header_version(int16_t api_key, int16_t version)
{
	if (api_key == KC_API_API_VERSIONS)
		return 0;
	if (!kc_api_find(api_key))
		return -1;
	return kc_response_flexible(api_key, version) ? 1 : 0;
}

const char *kc_err_str(int err)
{
	switch (err) {
	case KC_OK: return "ok";
	case KC_ERR_SHORT: return "frame ends inside a field";
	case KC_ERR_MALFORMED: return "malformed frame";
	case KC_ERR_UNKNOWN_API: return "unknown api key";
	case KC_ERR_UNKNOWN_VERSION: return "unsupported api version";
	case KC_ERR_NOMEM: return "out of memory (arena cap)";
	default: return "unknown codec error";
	}
}

/* ------------------------------------------------------------------ */
/* arena                                                               */
/* ------------------------------------------------------------------ */

/* Header of every chunk; the chunk's data follows it. */
struct kc_arena_chunk {
	struct kc_arena_chunk *next; /* older chunk */
	size_t size;                 /* bytes of data after the header */
};

static struct kc_arena_chunk *arena_chunk_of(uint8_t *base)
{
	return (struct kc_arena_chunk *)(void *)(base -
						 sizeof(struct kc_arena_chunk));
}

void kc_arena_init(struct kc_arena *a)
{
	memset(a, 0, sizeof(*a));
	a->max_total = KC_ARENA_MAX_DEFAULT;
}

void *kc_arena_alloc(struct kc_arena *a, size_t n)
{
	void *p;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + 7) & ~(size_t)7;
	if (n == 0)
		n = 8;
	if (!a->base || a->cap - a->used < n) {
		size_t size = a->cap ? a->cap * 2 : KC_ARENA_CHUNK_MIN;
		size_t need = n + sizeof(struct kc_arena_chunk);
		struct kc_arena_chunk *c;

		if (size < n)
			size = n;
		if (size > KC_ARENA_KEEP_MAX && n <= KC_ARENA_KEEP_MAX)
			size = KC_ARENA_KEEP_MAX;    /* stop doubling at 1 MiB */
		/* Past the cap, fall back to exactly what is needed. */
		if (a->total > a->max_total ||
		    size + sizeof(struct kc_arena_chunk) >
			    a->max_total - a->total)
			size = n;
		if (a->total > a->max_total || need > a->max_total - a->total)
			return NULL;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->next = NULL;
		if (a->base) {
			struct kc_arena_chunk *cur = arena_chunk_of(a->base);

			cur->next = a->old;
			a->old = cur;
		}
		a->base = (uint8_t *)(c + 1);
		a->cap = size;
		a->used = 0;
		a->total += sizeof(*c) + size;
	}
	p = a->base + a->used;
	a->used += n;
	memset(p, 0, n);
	return p;
}

void kc_arena_reset(struct kc_arena *a)
{
	struct kc_arena_chunk *c = a->old, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->old = NULL;
	a->used = 0;
	/* Keep the current chunk for the next frame, unless one huge frame
	 * made it big: idle connections should not pin megabytes. */
	if (a->base && a->cap > KC_ARENA_KEEP_MAX) {
		free(arena_chunk_of(a->base));
		a->base = NULL;
		a->cap = 0;
	}
	a->total = a->base ? a->cap + sizeof(struct kc_arena_chunk) : 0;
}

void kc_arena_free(struct kc_arena *a)
{
	size_t max = a->max_total;

	kc_arena_reset(a);
	if (a->base)
		free(arena_chunk_of(a->base));
	memset(a, 0, sizeof(*a));
	a->max_total = max;
}
