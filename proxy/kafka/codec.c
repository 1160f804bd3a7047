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

#include <stdlib.h>
#include <string.h>

/* Deeper than any message definition nests; guards against bad tables. */
#define KC_MAX_DEPTH 32
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

/* ------------------------------------------------------------------ */
/* reading primitives                                                  */
/* ------------------------------------------------------------------ */

/* A bounded cursor over untrusted bytes. */
struct kc_rd {
	const uint8_t *p;            /* next byte */
	const uint8_t *end;          /* one past the last byte */
	struct kc_arena *a;          /* where the tree goes */
	int16_t ver;                 /* message version being decoded */
};

static size_t rd_left(const struct kc_rd *r)
{
	return (size_t)(r->end - r->p);
}

static int rd_bytes(struct kc_rd *r, size_t n, const uint8_t **out)
{
	if (rd_left(r) < n)
		return KC_ERR_SHORT;
	*out = r->p;
	r->p += n;
	return KC_OK;
}

static int rd_be(struct kc_rd *r, size_t n, uint64_t *out)
{
	const uint8_t *b;
	uint64_t v = 0;
	size_t i;

	if (rd_bytes(r, n, &b))
		return KC_ERR_SHORT;
	for (i = 0; i < n; i++)
		v = v << 8 | b[i];
	*out = v;
	return KC_OK;
}

/* Unsigned varint of at most 5 bytes holding a uint32, minimally encoded
 * (a non-minimal form would not survive a re-encode byte for byte). */
static int rd_uvarint(struct kc_rd *r, uint32_t *out)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 5; i++) {
		uint8_t b;

		if (r->p >= r->end)
			return KC_ERR_SHORT;
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (i > 0 && b == 0)
				return KC_ERR_MALFORMED;
			if (v > UINT32_MAX)
				return KC_ERR_MALFORMED;
			*out = (uint32_t)v;
			return KC_OK;
		}
	}
	return KC_ERR_MALFORMED;
}

/* Length of a string/bytes/array: compact (uvarint len+1, 0 = null) or
 * fixed (int16/int32, -1 = null). *len is -1 for null. */
static int rd_len(struct kc_rd *r, bool compact, size_t fixed_width,
		  int32_t *len)
{
	uint64_t u;
	int rc;

	if (compact) {
		uint32_t n;

		rc = rd_uvarint(r, &n);
		if (rc)
			return rc;
		if (n > (uint32_t)INT32_MAX + 1)
			return KC_ERR_MALFORMED;
		*len = n == 0 ? -1 : (int32_t)(n - 1);
		return KC_OK;
	}
	rc = rd_be(r, fixed_width, &u);
	if (rc)
		return rc;
	*len = fixed_width == 2 ? (int16_t)u : (int32_t)u;
	if (*len < -1)
		return KC_ERR_MALFORMED;
	return KC_OK;
}

/* ------------------------------------------------------------------ */
/* decoding                                                            */
/* ------------------------------------------------------------------ */

/* Strings, bytes, records and arrays are compact in flexible versions,
 * unless the field overrides flexibleVersions (RequestHeader ClientId). */
static bool field_compact(const struct kc_field *f, int16_t ver, bool flex)
{
	return flex && kc_range_has(f->flexible, ver);
}

static bool field_tagged(const struct kc_field *f, int16_t ver, bool flex)
{
	return flex && f->tag >= 0 && kc_range_has(f->tagged, ver);
}

/* Fewest wire bytes an array element of this type takes; bounds array
 * counts before allocating. Structs count as 1 byte: a flexible struct has
 * at least its tag count, and no message has an array of structs that
 * encode to nothing, so an array longer than the bytes left is refused. */
static size_t elem_min_size(uint8_t type, bool compact)
{
	switch (type) {
	case KC_INT16: case KC_UINT16: return 2;
	case KC_INT32: case KC_UINT32: return 4;
	case KC_INT64: case KC_FLOAT64: return 8;
	case KC_UUID: return 16;
	case KC_STRING: return compact ? 1 : 2;
	case KC_BYTES: case KC_RECORDS: return compact ? 1 : 4;
	default: return 1;
	}
}

static int decode_struct(struct kc_rd *r, const struct kc_struct *st,
			 bool flex, int depth, struct kc_obj **out);

/* Set the scalar default of a field the wire did not carry. */
static void value_set_scalar_default(const struct kc_field *f, int16_t ver,
				     struct kc_value *v)
{
	bool null_def = f->def && strcmp(f->def, "null") == 0;

	switch (f->type) {
	case KC_FLOAT64:
		v->u.f = f->def ? strtod(f->def, NULL) : 0.0;
		break;
	case KC_UUID:
		memset(v->u.uuid, 0, sizeof(v->u.uuid));
		break;
	case KC_STRING:
		if (null_def && kc_range_has(f->nullable, ver)) {
			v->u.b.p = NULL;
			v->u.b.len = -1;
		} else if (f->def && !null_def) {
			v->u.b.p = (const uint8_t *)f->def;
			v->u.b.len = (int32_t)strlen(f->def);
		} else {
			v->u.b.p = NULL;
			v->u.b.len = 0;
		}
		break;
	case KC_BYTES: case KC_RECORDS:
		v->u.b.p = NULL;
		v->u.b.len = null_def && kc_range_has(f->nullable, ver) ? -1 : 0;
		break;
	case KC_ARRAY:
		v->u.arr.v = NULL;
		v->u.arr.n = null_def && kc_range_has(f->nullable, ver) ? -1 : 0;
		break;
	case KC_STRUCT:
		v->u.obj = NULL;
		break;
	default:
		v->u.i = f->def_int;
		break;
	}
}

/* Decode one value of `type` (the field's type, or its element type). */
static int decode_value(struct kc_rd *r, const struct kc_field *f,
			uint8_t type, bool nullable, bool flex, int depth,
			struct kc_value *v)
{
	bool compact = field_compact(f, r->ver, flex);
	const uint8_t *b;
	uint64_t u;
	int32_t len;
	int rc;

	v->present = true;
	switch (type) {
	case KC_BOOL:
		if ((rc = rd_be(r, 1, &u)))
			return rc;
		if (u > 1)
			return KC_ERR_MALFORMED;
		v->u.i = (int64_t)u;
		return KC_OK;
	case KC_INT8:
		if ((rc = rd_be(r, 1, &u)))
			return rc;
		v->u.i = (int8_t)u;
		return KC_OK;
	case KC_INT16:
		if ((rc = rd_be(r, 2, &u)))
			return rc;
		v->u.i = (int16_t)u;
		return KC_OK;
	case KC_UINT16:
		if ((rc = rd_be(r, 2, &u)))
			return rc;
		v->u.i = (int64_t)u;
		return KC_OK;
	case KC_INT32:
		if ((rc = rd_be(r, 4, &u)))
			return rc;
		v->u.i = (int32_t)u;
		return KC_OK;
	case KC_UINT32:
		if ((rc = rd_be(r, 4, &u)))
			return rc;
		v->u.i = (int64_t)u;
		return KC_OK;
	case KC_INT64:
		if ((rc = rd_be(r, 8, &u)))
			return rc;
		v->u.i = (int64_t)u;
		return KC_OK;
	case KC_FLOAT64:
		if ((rc = rd_be(r, 8, &u)))
			return rc;
		memcpy(&v->u.f, &u, sizeof(u));  /* bits kept as is, NaNs too */
		return KC_OK;
	case KC_UUID:
		if ((rc = rd_bytes(r, 16, &b)))
			return rc;
		memcpy(v->u.uuid, b, 16);
		return KC_OK;
	case KC_STRING: case KC_BYTES: case KC_RECORDS:
		rc = rd_len(r, compact, type == KC_STRING ? 2 : 4, &len);
		if (rc)
			return rc;
		if (len < 0) {
			if (!nullable)
				return KC_ERR_MALFORMED;
			v->u.b.p = NULL;
			v->u.b.len = -1;
			return KC_OK;
		}
		if ((rc = rd_bytes(r, (size_t)len, &b)))
			return rc;
		v->u.b.p = b;
		v->u.b.len = len;
		return KC_OK;
	case KC_STRUCT:
		if (!f->sub)
			return KC_ERR_MALFORMED;
		if (nullable) {
			if ((rc = rd_be(r, 1, &u)))
				return rc;
			if (u == 0xff) {
				v->u.obj = NULL;
				return KC_OK;
			}
			if (u != 1)
				return KC_ERR_MALFORMED;
		}
		return decode_struct(r, f->sub, flex, depth + 1, &v->u.obj);
	case KC_ARRAY: {
		struct kc_value *el;
		int32_t i;

		if (f->elem_type == KC_ARRAY ||
		    (f->elem_type == KC_STRUCT && !f->sub))
			return KC_ERR_MALFORMED;
		if ((rc = rd_len(r, compact, 4, &len)))
			return rc;
		if (len < 0) {
			if (!nullable)
				return KC_ERR_MALFORMED;
			v->u.arr.v = NULL;
			v->u.arr.n = -1;
			return KC_OK;
		}
		/* Fail fast on counts the remaining bytes cannot hold. */
		if ((uint64_t)len * elem_min_size(f->elem_type, compact) >
		    rd_left(r))
			return KC_ERR_SHORT;
		el = NULL;
		if (len > 0) {
			el = kc_arena_alloc(r->a, (size_t)len * sizeof(*el));
			if (!el)
				return KC_ERR_NOMEM;
		}
		for (i = 0; i < len; i++) {
			rc = decode_value(r, f, f->elem_type, false, flex,
					  depth, &el[i]);
			if (rc)
				return rc;
		}
		v->u.arr.v = el;
		v->u.arr.n = len;
		return KC_OK;
	}
	default:
		return KC_ERR_MALFORMED;
	}
}

/* Find the field carrying `tag` in this version, or NULL. */
static const struct kc_field *find_tagged(const struct kc_struct *st,
					  uint32_t tag, int16_t ver,
					  size_t *idx)
{
	size_t i;

	for (i = 0; i < st->nfields; i++) {
		const struct kc_field *f = &st->fields[i];

		if (f->tag >= 0 && (uint32_t)f->tag == tag &&
		    kc_range_has(f->versions, ver) &&
		    kc_range_has(f->tagged, ver)) {
			*idx = i;
			return f;
		}
	}
	return NULL;
}

/* Tagged-field section at the end of a flexible struct. */
static int decode_tags(struct kc_rd *r, struct kc_obj *o, int depth)
{
	const struct kc_struct *st = o->st;
	uint32_t n, i;
	int64_t prev = -1;
	int rc;

	if ((rc = rd_uvarint(r, &n)))
		return rc;
	if (n == 0)
		return KC_OK;
	if ((uint64_t)n * 2 > rd_left(r))    /* tag + size, at least */
		return KC_ERR_SHORT;
	for (i = 0; i < n; i++) {
		const struct kc_field *f;
		uint32_t tag, size;
		size_t idx;

		if ((rc = rd_uvarint(r, &tag)) || (rc = rd_uvarint(r, &size)))
			return rc;
		if ((int64_t)tag <= prev)
			return KC_ERR_MALFORMED;     /* must be ascending */
		prev = tag;
		if (size > rd_left(r))
			return KC_ERR_SHORT;
		f = find_tagged(st, tag, r->ver, &idx);
		if (f) {
			struct kc_rd sub = *r;

			sub.end = r->p + size;
			rc = decode_value(&sub, f, f->type,
					  kc_range_has(f->nullable, r->ver),
					  true, depth, &o->vals[idx]);
			if (rc)
				return rc == KC_ERR_SHORT ? KC_ERR_MALFORMED
							  : rc;
			if (sub.p != sub.end)
				return KC_ERR_MALFORMED;
		} else {
			struct kc_tag_raw *t;

			if (!o->unknown) {
				o->unknown = kc_arena_alloc(
					r->a, (size_t)(n - i) * sizeof(*t));
				if (!o->unknown)
					return KC_ERR_NOMEM;
			}
			t = &o->unknown[o->nunknown++];
			t->tag = tag;
			t->len = size;
			t->data = r->p;
		}
		r->p += size;
	}
	return KC_OK;
}

static struct kc_obj *obj_alloc(struct kc_arena *a, const struct kc_struct *st)
{
	struct kc_obj *o;
	size_t sz = sizeof(*o) + (size_t)st->nfields * sizeof(struct kc_value);

	/* One allocation: the values follow the object. */
	o = kc_arena_alloc(a, sz);
	if (!o)
		return NULL;
	o->st = st;
	o->vals = (struct kc_value *)(void *)(o + 1);
	return o;
}

static int decode_struct(struct kc_rd *r, const struct kc_struct *st,
			 bool flex, int depth, struct kc_obj **out)
{
	struct kc_obj *o;
	size_t i;
	int rc;

	if (depth > KC_MAX_DEPTH)
		return KC_ERR_MALFORMED;
	o = obj_alloc(r->a, st);
	if (!o)
		return KC_ERR_NOMEM;
	for (i = 0; i < st->nfields; i++) {
		const struct kc_field *f = &st->fields[i];

		if (!kc_range_has(f->versions, r->ver))
			continue;
		if (field_tagged(f, r->ver, flex)) {
			value_set_scalar_default(f, r->ver, &o->vals[i]);
			continue;
		}
		rc = decode_value(r, f, f->type,
				  kc_range_has(f->nullable, r->ver), flex,
				  depth, &o->vals[i]);
		if (rc)
			return rc;
	}
	if (flex && (rc = decode_tags(r, o, depth)))
		return rc;
	*out = o;
	return KC_OK;
}

int kc_decode_struct(const struct kc_struct *st, int16_t version, bool flexible,
		     const uint8_t *buf, size_t len, size_t *consumed,
		     struct kc_arena *a, struct kc_obj **out)
{
	struct kc_rd r = { buf, buf + len, a, version };
	int rc;

	*out = NULL;
	rc = decode_struct(&r, st, flexible, 0, out);
	if (rc) {
		*out = NULL;
		return rc;
	}
	if (consumed)
		*consumed = (size_t)(r.p - buf);
	return KC_OK;
}

static int decode_body(int16_t api_key, int16_t version, bool response,
		       const uint8_t *buf, size_t len, struct kc_arena *a,
		       struct kc_obj **out, size_t *used_out)
{
	const struct kc_api *api = kc_api_find(api_key);
	const struct kc_message *m;
	size_t used;
	int rc;

	*out = NULL;
	if (!api)
		return KC_ERR_UNKNOWN_API;
	m = response ? api->response : api->request;
	if (!kc_range_has(m->valid, version))
		return KC_ERR_UNKNOWN_VERSION;
	rc = kc_decode_struct(m->body, version,
			      kc_range_has(m->flexible, version), buf, len,
			      &used, a, out);
	if (rc)
		return rc;
	if (used_out) {
		*used_out = used;
		return KC_OK;
	}
	if (used != len) {
		*out = NULL;
		return KC_ERR_MALFORMED;             /* trailing bytes */
	}
	return KC_OK;
}

int kc_decode_request(int16_t api_key, int16_t version, const uint8_t *buf,
		      size_t len, struct kc_arena *a, struct kc_obj **out)
{
	return decode_body(api_key, version, false, buf, len, a, out, NULL);
}

int kc_decode_request_prefix(int16_t api_key, int16_t version,
			     const uint8_t *buf, size_t len, struct kc_arena *a,
			     struct kc_obj **out, size_t *used)
{
	return decode_body(api_key, version, false, buf, len, a, out, used);
}

int kc_decode_response(int16_t api_key, int16_t version, const uint8_t *buf,
		       size_t len, struct kc_arena *a, struct kc_obj **out)
{
	return decode_body(api_key, version, true, buf, len, a, out, NULL);
}

/* ------------------------------------------------------------------ */
/* headers                                                             */
/* ------------------------------------------------------------------ */

int kc_peek_request_key(const uint8_t *buf, size_t len, int16_t *api_key,
			int16_t *api_version, int32_t *correlation_id)
{
	if (len < 8)
		return KC_ERR_SHORT;
	*api_key = (int16_t)(buf[0] << 8 | buf[1]);
	*api_version = (int16_t)(buf[2] << 8 | buf[3]);
	*correlation_id = (int32_t)((uint32_t)buf[4] << 24 |
				    (uint32_t)buf[5] << 16 |
				    (uint32_t)buf[6] << 8 | buf[7]);
	return KC_OK;
}

/* Skip (tags == NULL) or collect a tagged-field section of a header. */
static int read_raw_tags(struct kc_rd *r, struct kc_tag_raw **tags,
			 uint32_t *ntags)
{
	uint32_t n, i;
	int64_t prev = -1;
	int rc;

	if ((rc = rd_uvarint(r, &n)))
		return rc;
	if ((uint64_t)n * 2 > rd_left(r))
		return KC_ERR_SHORT;
	if (tags && n) {
		*tags = kc_arena_alloc(r->a, (size_t)n * sizeof(**tags));
		if (!*tags)
			return KC_ERR_NOMEM;
	}
	for (i = 0; i < n; i++) {
		uint32_t tag, size;
		const uint8_t *d;

		if ((rc = rd_uvarint(r, &tag)) || (rc = rd_uvarint(r, &size)))
			return rc;
		if ((int64_t)tag <= prev)
			return KC_ERR_MALFORMED;
		prev = tag;
		if ((rc = rd_bytes(r, size, &d)))
			return rc;
		if (tags) {
			(*tags)[i].tag = tag;
			(*tags)[i].len = size;
			(*tags)[i].data = d;
		}
	}
	if (ntags)
		*ntags = n;
	return KC_OK;
}

int kc_decode_request_header(const uint8_t *buf, size_t len,
			     struct kc_arena *a, struct kc_req_header *h)
{
	struct kc_rd r = { buf, buf + len, a, 0 };
	int hv, rc;

	memset(h, 0, sizeof(*h));
	h->client_id_len = -1;
	rc = kc_peek_request_key(buf, len, &h->api_key, &h->api_version,
				 &h->correlation_id);
	if (rc)
		return rc;
	r.p += 8;
	hv = kc_request_header_version(h->api_key, h->api_version);
	if (hv < 0)
		return KC_ERR_UNKNOWN_API;
	h->header_version = (uint8_t)hv;
	if (hv >= 1) {
		int32_t l;
		const uint8_t *d;

		/* ClientId: int16 length even in v2 (flexibleVersions none). */
		if ((rc = rd_len(&r, false, 2, &l)))
			return rc;
		if (l >= 0) {
			if ((rc = rd_bytes(&r, (size_t)l, &d)))
				return rc;
			h->client_id = d;
		}
		h->client_id_len = (int16_t)l;
	}
	if (hv == 2 && (rc = read_raw_tags(&r, &h->tags, &h->ntags)))
		return rc;
	h->header_len = (size_t)(r.p - buf);
	if (!kc_api_version_known(h->api_key, h->api_version))
		return KC_ERR_UNKNOWN_VERSION;
	return KC_OK;
}

int kc_decode_response_header(const uint8_t *buf, size_t len, int hdr_ver,
			      int32_t *correlation_id, size_t *hdr_len)
{
	struct kc_rd r = { buf, buf + len, NULL, 0 };
	uint64_t u;
	int rc;

	if ((rc = rd_be(&r, 4, &u)))
		return rc;
	*correlation_id = (int32_t)(uint32_t)u;
	if (hdr_ver == 1 && (rc = read_raw_tags(&r, NULL, NULL)))
		return rc;
	*hdr_len = (size_t)(r.p - buf);
	return KC_OK;
}

size_t kc_response_header_size(int hdr_ver)
{
	return hdr_ver == 1 ? 5 : 4;
}

size_t kc_write_response_header(uint8_t *out, int hdr_ver, int32_t corr)
{
	uint32_t c = (uint32_t)corr;

	out[0] = (uint8_t)(c >> 24);
	out[1] = (uint8_t)(c >> 16);
	out[2] = (uint8_t)(c >> 8);
	out[3] = (uint8_t)c;
	if (hdr_ver == 1) {
		out[4] = 0;                  /* no tagged fields */
		return 5;
	}
	return 4;
}

/* ------------------------------------------------------------------ */
/* encoding                                                            */
/* ------------------------------------------------------------------ */

/* One walker serves both kc_encoded_size (out == NULL: count only) and
 * kc_encode, so the two can never disagree. */
struct kc_wr {
	uint8_t *out;                /* NULL: only count */
	uint64_t pos;                /* bytes written or counted */
	uint64_t cap;                /* capacity of out */
	int16_t ver;                 /* message version being encoded */
	int err;                     /* first error, sticky */
};

/* Far above any frame; keeps the position sums from overflowing. */
#define KC_ENC_LIMIT ((uint64_t)1 << 40)

static void wr_bytes(struct kc_wr *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (n > KC_ENC_LIMIT || w->pos + n > KC_ENC_LIMIT) {
		w->err = KC_ERR_MALFORMED;
		return;
	}
	if (w->out) {
		if (w->pos + n > w->cap) {
			w->err = KC_ERR_SHORT;
			return;
		}
		if (n)
			memcpy(w->out + w->pos, p, n);
	}
	w->pos += n;
}

static void wr_be(struct kc_wr *w, uint64_t v, size_t n)
{
	uint8_t b[8];
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	wr_bytes(w, b, n);
}

static void wr_uvarint(struct kc_wr *w, uint32_t v)
{
	uint8_t b[5];
	size_t n = 0;

	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	wr_bytes(w, b, n);
}

static void wr_fail(struct kc_wr *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* Length prefix: compact uvarint len+1, or fixed int16/int32; -1 = null. */
static void wr_len(struct kc_wr *w, bool compact, size_t fixed_width,
		   int32_t len)
{
	if (compact)
		wr_uvarint(w, (uint32_t)len + 1);   /* -1 (null) -> 0 */
	else if (fixed_width == 2 && len > INT16_MAX)
		wr_fail(w, KC_ERR_MALFORMED);
	else
		wr_be(w, (uint64_t)(int64_t)len, fixed_width);
}

static void encode_struct(struct kc_wr *w, const struct kc_struct *st,
			  const struct kc_obj *o, bool flex, int depth);

static void encode_value(struct kc_wr *w, const struct kc_field *f,
			 uint8_t type, bool nullable, bool flex, int depth,
			 const struct kc_value *v)
{
	bool compact = field_compact(f, w->ver, flex);
	uint64_t bits;
	int32_t i;

	switch (type) {
	case KC_BOOL:
		wr_be(w, v->u.i != 0, 1);
		return;
	case KC_INT8:
		wr_be(w, (uint64_t)v->u.i, 1);
		return;
	case KC_INT16: case KC_UINT16:
		wr_be(w, (uint64_t)v->u.i, 2);
		return;
	case KC_INT32: case KC_UINT32:
		wr_be(w, (uint64_t)v->u.i, 4);
		return;
	case KC_INT64:
		wr_be(w, (uint64_t)v->u.i, 8);
		return;
	case KC_FLOAT64:
		memcpy(&bits, &v->u.f, sizeof(bits));
		wr_be(w, bits, 8);
		return;
	case KC_UUID:
		wr_bytes(w, v->u.uuid, 16);
		return;
	case KC_STRING: case KC_BYTES: case KC_RECORDS:
		if (v->u.b.len < 0) {
			if (!nullable || v->u.b.len != -1)
				wr_fail(w, KC_ERR_MALFORMED);
			wr_len(w, compact, type == KC_STRING ? 2 : 4, -1);
			return;
		}
		if (v->u.b.len > 0 && !v->u.b.p) {
			wr_fail(w, KC_ERR_MALFORMED);
			return;
		}
		wr_len(w, compact, type == KC_STRING ? 2 : 4, v->u.b.len);
		wr_bytes(w, v->u.b.p, (size_t)v->u.b.len);
		return;
	case KC_STRUCT:
		if (!v->u.obj) {
			if (!nullable)
				wr_fail(w, KC_ERR_MALFORMED);
			wr_be(w, 0xff, 1);
			return;
		}
		if (nullable)
			wr_be(w, 1, 1);
		encode_struct(w, f->sub, v->u.obj, flex, depth + 1);
		return;
	case KC_ARRAY:
		if (v->u.arr.n < 0) {
			if (!nullable || v->u.arr.n != -1)
				wr_fail(w, KC_ERR_MALFORMED);
			wr_len(w, compact, 4, -1);
			return;
		}
		if (v->u.arr.n > 0 && !v->u.arr.v) {
			wr_fail(w, KC_ERR_MALFORMED);
			return;
		}
		wr_len(w, compact, 4, v->u.arr.n);
		for (i = 0; i < v->u.arr.n && !w->err; i++)
			encode_value(w, f, f->elem_type, false, flex, depth,
				     &v->u.arr.v[i]);
		return;
	default:
		wr_fail(w, KC_ERR_MALFORMED);
	}
}

/* Next known tagged field to send: lowest tag above `after`. */
static int next_known_tag(const struct kc_struct *st, const struct kc_obj *o,
			  int16_t ver, int64_t after)
{
	int best = -1;
	size_t i;

	for (i = 0; i < st->nfields; i++) {
		const struct kc_field *f = &st->fields[i];

		if (f->tag > after && o->vals[i].present &&
		    kc_range_has(f->versions, ver) &&
		    kc_range_has(f->tagged, ver) &&
		    (best < 0 || f->tag < st->fields[best].tag))
			best = (int)i;
	}
	return best;
}

static void encode_tags(struct kc_wr *w, const struct kc_struct *st,
			const struct kc_obj *o, int depth)
{
	uint32_t count = o->nunknown, ui = 0;
	int64_t after = -1;
	int k;

	for (k = next_known_tag(st, o, w->ver, after); k >= 0;
	     k = next_known_tag(st, o, w->ver, st->fields[k].tag))
		count++;
	wr_uvarint(w, count);
	/* Merge known and unknown tags in ascending order. */
	k = next_known_tag(st, o, w->ver, after);
	while ((k >= 0 || ui < o->nunknown) && !w->err) {
		if (k >= 0 && (ui >= o->nunknown ||
			       (uint32_t)st->fields[k].tag < o->unknown[ui].tag)) {
			const struct kc_field *f = &st->fields[k];
			bool nullable = kc_range_has(f->nullable, w->ver);
			struct kc_wr sz = { NULL, 0, 0, w->ver, 0 };

			encode_value(&sz, f, f->type, nullable, true, depth,
				     &o->vals[k]);
			if (sz.err || sz.pos > UINT32_MAX) {
				wr_fail(w, sz.err ? sz.err : KC_ERR_MALFORMED);
				return;
			}
			wr_uvarint(w, (uint32_t)f->tag);
			wr_uvarint(w, (uint32_t)sz.pos);
			encode_value(w, f, f->type, nullable, true, depth,
				     &o->vals[k]);
			k = next_known_tag(st, o, w->ver, f->tag);
		} else {
			const struct kc_tag_raw *t = &o->unknown[ui++];

			wr_uvarint(w, t->tag);
			wr_uvarint(w, t->len);
			wr_bytes(w, t->data, t->len);
		}
	}
}

static void encode_struct(struct kc_wr *w, const struct kc_struct *st,
			  const struct kc_obj *o, bool flex, int depth)
{
	size_t i;

	if (depth > KC_MAX_DEPTH || !st || o->st != st) {
		wr_fail(w, KC_ERR_MALFORMED);
		return;
	}
	for (i = 0; i < st->nfields && !w->err; i++) {
		const struct kc_field *f = &st->fields[i];

		if (!kc_range_has(f->versions, w->ver) ||
		    field_tagged(f, w->ver, flex))
			continue;
		encode_value(w, f, f->type, kc_range_has(f->nullable, w->ver),
			     flex, depth, &o->vals[i]);
	}
	if (flex)
		encode_tags(w, st, o, depth);
}

int64_t kc_encoded_size(const struct kc_obj *o, int16_t version, bool flexible)
{
	struct kc_wr w = { NULL, 0, 0, version, 0 };

	if (!o)
		return KC_ERR_MALFORMED;
	encode_struct(&w, o->st, o, flexible, 0);
	return w.err ? w.err : (int64_t)w.pos;
}

int64_t kc_encode(const struct kc_obj *o, int16_t version, bool flexible,
		  uint8_t *out, size_t cap)
{
	struct kc_wr w = { out, 0, cap, version, 0 };

	if (!o || !out)
		return KC_ERR_MALFORMED;
	encode_struct(&w, o->st, o, flexible, 0);
	return w.err ? w.err : (int64_t)w.pos;
}

/* ------------------------------------------------------------------ */
/* building and editing                                                */
/* ------------------------------------------------------------------ */

static struct kc_obj *obj_new(const struct kc_struct *st, int16_t version,
			      struct kc_arena *a, int depth)
{
	struct kc_obj *o;
	size_t i;

	if (depth > KC_MAX_DEPTH)
		return NULL;
	o = obj_alloc(a, st);
	if (!o)
		return NULL;
	for (i = 0; i < st->nfields; i++) {
		const struct kc_field *f = &st->fields[i];
		struct kc_value *v = &o->vals[i];

		if (!kc_range_has(f->versions, version))
			continue;
		value_set_scalar_default(f, version, v);
		if (f->type == KC_STRUCT && f->sub &&
		    !(f->def && strcmp(f->def, "null") == 0 &&
		      kc_range_has(f->nullable, version))) {
			v->u.obj = obj_new(f->sub, version, a, depth + 1);
			if (!v->u.obj)
				return NULL;
		}
		v->present = !(f->tag >= 0 && kc_range_has(f->tagged, version));
	}
	return o;
}

struct kc_obj *kc_obj_new(const struct kc_struct *st, int16_t version,
			  struct kc_arena *a)
{
	return st ? obj_new(st, version, a, 0) : NULL;
}

int kc_field_index(const struct kc_struct *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->nfields; i++)
		if (strcmp(st->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

struct kc_value *kc_get(struct kc_obj *o, const char *name)
{
	int i;

	if (!o)
		return NULL;
	i = kc_field_index(o->st, name);
	if (i < 0 || !o->vals[i].present)
		return NULL;
	return &o->vals[i];
}

int kc_set_string(struct kc_arena *a, struct kc_value *v, const char *s,
		  size_t len)
{
	uint8_t *p = NULL;

	if (len > INT32_MAX)
		return KC_ERR_MALFORMED;
	if (len) {
		p = kc_arena_alloc(a, len);
		if (!p)
			return KC_ERR_NOMEM;
		memcpy(p, s, len);
	}
	v->u.b.p = p;
	v->u.b.len = (int32_t)len;
	v->present = true;
	return KC_OK;
}

int kc_array_resize(struct kc_arena *a, struct kc_value *v,
		    const struct kc_field *f, int16_t version, int32_t n)
{
	struct kc_value *el = NULL;
	int32_t old = v->u.arr.n > 0 ? v->u.arr.n : 0, i;

	if (f->type != KC_ARRAY || n < -1)
		return KC_ERR_MALFORMED;
	v->present = true;
	if (n == -1) {
		v->u.arr.v = NULL;
		v->u.arr.n = -1;
		return KC_OK;
	}
	if (n > 0) {
		el = kc_arena_alloc(a, (size_t)n * sizeof(*el));
		if (!el)
			return KC_ERR_NOMEM;
		if (old && v->u.arr.v)
			memcpy(el, v->u.arr.v,
			       (size_t)(old < n ? old : n) * sizeof(*el));
	}
	for (i = old; i < n; i++) {
		el[i].present = true;
		if (f->elem_type == KC_STRUCT) {
			el[i].u.obj = kc_obj_new(f->sub, version, a);
			if (!el[i].u.obj)
				return KC_ERR_NOMEM;
		}
	}
	v->u.arr.v = el;
	v->u.arr.n = n;
	return KC_OK;
}

/* ------------------------------------------------------------------ */
/* entities                                                            */
/* ------------------------------------------------------------------ */

static void foreach_entity(struct kc_obj *o, kc_entity_fn fn, void *ctx,
			   int depth)
{
	size_t i;
	int32_t j;

	if (!o || depth > KC_MAX_DEPTH)
		return;
	for (i = 0; i < o->st->nfields; i++) {
		const struct kc_field *f = &o->st->fields[i];
		struct kc_value *v = &o->vals[i];
		uint8_t t = f->type == KC_ARRAY ? f->elem_type : f->type;

		if (!v->present)
			continue;
		if (f->type == KC_STRUCT) {
			foreach_entity(v->u.obj, fn, ctx, depth + 1);
			continue;
		}
		if (f->type == KC_ARRAY) {
			for (j = 0; j < v->u.arr.n; j++) {
				if (t == KC_STRUCT)
					foreach_entity(v->u.arr.v[j].u.obj, fn,
						       ctx, depth + 1);
				else if (f->entity != KC_ENT_NONE &&
					 !(t == KC_STRING &&
					   v->u.arr.v[j].u.b.len < 0))
					fn(ctx, (enum kc_entity)f->entity, f,
					   &v->u.arr.v[j]);
			}
			continue;
		}
		/* Null names (e.g. no TransactionalId) name nothing. */
		if (f->entity != KC_ENT_NONE &&
		    !(t == KC_STRING && v->u.b.len < 0))
			fn(ctx, (enum kc_entity)f->entity, f, v);
	}
}

void kc_foreach_entity(struct kc_obj *o, kc_entity_fn fn, void *ctx)
{
	foreach_entity(o, fn, ctx, 0);
}

/* ------------------------------------------------------------------ */
/* error responses                                                     */
/* ------------------------------------------------------------------ */

/*
 * Response arrays that mirror request arrays under another name. Arrays
 * with the same name on both sides need no entry. Several entries for one
 * response array concatenate their sources. key_dst/key_src rename one
 * key field (struct sources) or name the response key field that receives
 * each element of a primitive source array (key_src NULL).
 */
struct kc_err_map {
	int16_t api;                 /* api key */
	const char *resp;            /* response array field */
	const char *req;             /* request array field it mirrors */
	const char *key_dst;         /* response key field, or NULL */
	const char *key_src;         /* request key field, or NULL */
};

static const struct kc_err_map kc_err_maps[] = {
	{ 0, "Responses", "TopicData", NULL, NULL },                  /* Produce */
	{ 0, "PartitionResponses", "PartitionData", NULL, NULL },
	{ 1, "Responses", "Topics", NULL, NULL },                     /* Fetch */
	{ 1, "Partitions", "Partitions", "PartitionIndex", "Partition" },
	{ 9, "Partitions", "PartitionIndexes", "PartitionIndex", NULL }, /* OffsetFetch */
	{ 10, "Coordinators", "CoordinatorKeys", "Key", NULL },       /* FindCoordinator */
	{ 20, "Responses", "Topics", NULL, NULL },                    /* DeleteTopics */
	{ 20, "Responses", "TopicNames", "Name", NULL },
	{ 24, "ResultsByTransaction", "Transactions", NULL, NULL },   /* AddPartitionsToTxn */
	{ 24, "TopicResults", "Topics", NULL, NULL },
	{ 24, "ResultsByPartition", "Partitions", "PartitionIndex", NULL },
	{ 24, "ResultsByTopicV3AndBelow", "V3AndBelowTopics", NULL, NULL },
	{ 27, "Partitions", "PartitionIndexes", "PartitionIndex", NULL }, /* WriteTxnMarkers */
	{ 30, "Results", "Creations", NULL, NULL },                   /* CreateAcls */
	{ 31, "FilterResults", "Filters", NULL, NULL },               /* DeleteAcls */
	{ 32, "Results", "Resources", NULL, NULL },                   /* DescribeConfigs */
	{ 33, "Responses", "Resources", NULL, NULL },                 /* AlterConfigs */
	{ 37, "Results", "Topics", NULL, NULL },                      /* CreatePartitions */
	{ 42, "Results", "GroupsNames", "GroupId", NULL },            /* DeleteGroups */
	{ 43, "ReplicaElectionResults", "TopicPartitions", NULL, NULL }, /* ElectLeaders */
	{ 43, "PartitionResult", "Partitions", "PartitionId", NULL },
	{ 44, "Responses", "Resources", NULL, NULL },                 /* IncrementalAlterConfigs */
	{ 45, "Responses", "Topics", NULL, NULL },                    /* AlterPartitionReassignments */
	{ 51, "Results", "Deletions", "User", "Name" },               /* AlterUserScramCredentials */
	{ 51, "Results", "Upsertions", "User", "Name" },
	{ 57, "Results", "FeatureUpdates", NULL, NULL },              /* UpdateFeatures */
	{ 59, "Partitions", "Partitions", "Index", "Partition" },     /* FetchSnapshot */
	{ 61, "Partitions", "PartitionIndexes", "PartitionIndex", NULL }, /* DescribeProducers */
	{ 65, "TransactionStates", "TransactionalIds", "TransactionalId", NULL },
	{ 69, "Groups", "GroupIds", "GroupId", NULL },                /* ConsumerGroupDescribe */
	{ 77, "Groups", "GroupIds", "GroupId", NULL },                /* ShareGroupDescribe */
	{ 78, "Responses", "Topics", NULL, NULL },                    /* ShareFetch */
	{ 79, "Responses", "Topics", NULL, NULL },                    /* ShareAcknowledge */
	{ 83, "Results", "Topics", NULL, NULL },                      /* share group state */
	{ 84, "Results", "Topics", NULL, NULL },
	{ 85, "Results", "Topics", NULL, NULL },
	{ 86, "Results", "Topics", NULL, NULL },
	{ 87, "Results", "Topics", NULL, NULL },
	{ 89, "Groups", "GroupIds", "GroupId", NULL },                /* StreamsGroupDescribe */
	{ 90, "Partitions", "Partitions", "PartitionIndex", NULL },   /* DescribeShareGroupOffsets */
	{ 91, "Responses", "Topics", NULL, NULL },                    /* AlterShareGroupOffsets */
	{ 92, "Responses", "Topics", NULL, NULL },                    /* DeleteShareGroupOffsets */
};

/* Fields that identify an item and are copied from request to response
 * items when both sides have them; other same-named fields (timestamps,
 * offsets...) keep the response defaults. */
static const char *const kc_err_keys[] = {
	"Name", "Topic", "TopicName", "TopicId", "PartitionIndex", "Partition",
	"PartitionId", "Index", "GroupId", "ResourceName", "ResourceType",
	"PatternType", "TransactionalId", "Key", "MemberId", "GroupInstanceId",
	"Feature", "ProducerId", "Id", "User", "Mechanism",
};

static bool err_is_key(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(kc_err_keys) / sizeof(kc_err_keys[0]); i++)
		if (strcmp(kc_err_keys[i], name) == 0)
			return true;
	return false;
}

static bool name_ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static bool is_error_code(const struct kc_field *f)
{
	return f->type == KC_INT16 && name_ends_with(f->name, "ErrorCode");
}

/* Is there an error code anywhere below st? Only such arrays are worth
 * mirroring (a topic's config list is not, its error code is). */
static bool struct_has_error(const struct kc_struct *st, int depth)
{
	size_t i;

	if (!st || depth > KC_MAX_DEPTH)
		return false;
	for (i = 0; i < st->nfields; i++) {
		const struct kc_field *f = &st->fields[i];

		if (is_error_code(f) ||
		    (f->sub && struct_has_error(f->sub, depth + 1)))
			return true;
	}
	return false;
}

static bool is_scalar(uint8_t t)
{
	return t != KC_ARRAY && t != KC_STRUCT;
}

/* Copy a request key into a response field. A null the response version
 * cannot carry (Metadata v10-11 request names are nullable, response names
 * are not) becomes the field's default. */
static void err_set_key(const struct kc_field *g, int16_t version,
			struct kc_value *dst, const struct kc_value *src)
{
	if ((g->type == KC_STRING || g->type == KC_BYTES) &&
	    src->u.b.len < 0 && !kc_range_has(g->nullable, version))
		return;
	dst->u = src->u;
}

/* Copy the key fields of a request item into a response item. */
static void err_copy_keys(struct kc_obj *dst, const struct kc_obj *src,
			  const struct kc_err_map *m, int16_t version)
{
	size_t i;

	for (i = 0; i < dst->st->nfields; i++) {
		const struct kc_field *g = &dst->st->fields[i];
		const char *sname = g->name;
		bool renamed = false;
		int j;

		if (!dst->vals[i].present || !is_scalar(g->type))
			continue;
		if (m && m->key_dst && m->key_src &&
		    strcmp(g->name, m->key_dst) == 0) {
			sname = m->key_src;
			renamed = true;
		}
		if (!renamed && !err_is_key(g->name))
			continue;
		j = kc_field_index(src->st, sname);
		if (j < 0 || !src->vals[j].present ||
		    src->st->fields[j].type != g->type)
			continue;
		/* Strings still point into the request frame: same lifetime
		 * rule as any decoded tree. */
		err_set_key(g, version, &dst->vals[i], &src->vals[j]);
	}
}

/* Response key field receiving elements of a primitive request array. */
static int err_prim_key(const struct kc_struct *st, const struct kc_field *rf,
			const struct kc_err_map *m)
{
	size_t i;

	if (m && m->key_dst)
		return kc_field_index(st, m->key_dst);
	for (i = 0; i < st->nfields; i++)
		if (st->fields[i].type == rf->elem_type &&
		    rf->entity != KC_ENT_NONE &&
		    st->fields[i].entity == rf->entity)
			return (int)i;
	for (i = 0; i < st->nfields; i++)
		if (st->fields[i].type == rf->elem_type &&
		    err_is_key(st->fields[i].name))
			return (int)i;
	return -1;
}

/* Request fields a response array mirrors: table entries first, else a
 * same-named array. Returns the count, filling idx[] and maps[]. */
static int err_sources(int16_t api, const struct kc_field *f,
		       const struct kc_obj *req, int idx[4],
		       const struct kc_err_map *maps[4])
{
	size_t k;
	int n = 0, j;

	for (k = 0; k < sizeof(kc_err_maps) / sizeof(kc_err_maps[0]); k++) {
		const struct kc_err_map *m = &kc_err_maps[k];

		if (m->api != api || strcmp(m->resp, f->name) != 0 || n >= 4)
			continue;
		j = kc_field_index(req->st, m->req);
		if (j < 0 || req->st->fields[j].type != KC_ARRAY)
			continue;
		idx[n] = j;
		maps[n++] = m;
	}
	if (n)
		return n;
	j = kc_field_index(req->st, f->name);
	if (j >= 0 && req->st->fields[j].type == KC_ARRAY) {
		idx[0] = j;
		maps[0] = NULL;
		return 1;
	}
	return 0;
}

static int err_fill(int16_t api, int16_t version, struct kc_obj *resp,
		    const struct kc_obj *req, int16_t err, struct kc_arena *a,
		    int depth);

/* Mirror the request items behind response array field `fi`. */
static int err_mirror(int16_t api, int16_t version, struct kc_obj *resp,
		      size_t fi, const struct kc_obj *req, int16_t err,
		      struct kc_arena *a, int depth)
{
	const struct kc_field *f = &resp->st->fields[fi];
	const struct kc_err_map *maps[4];
	int idx[4], ns, s, rc;
	int64_t total = 0;
	int32_t out = 0, j;

	ns = err_sources(api, f, req, idx, maps);
	for (s = 0; s < ns; s++) {
		const struct kc_value *rv = &req->vals[idx[s]];

		if (rv->present && rv->u.arr.n > 0)
			total += rv->u.arr.n;
	}
	if (total == 0 || total > INT32_MAX)
		return KC_OK;
	rc = kc_array_resize(a, &resp->vals[fi], f, version, (int32_t)total);
	if (rc)
		return rc;
	for (s = 0; s < ns; s++) {
		const struct kc_field *rf = &req->st->fields[idx[s]];
		const struct kc_value *rv = &req->vals[idx[s]];

		if (!rv->present || rv->u.arr.n <= 0)
			continue;
		for (j = 0; j < rv->u.arr.n; j++, out++) {
			struct kc_obj *d = resp->vals[fi].u.arr.v[out].u.obj;
			const struct kc_obj *src = NULL;

			if (rf->elem_type == KC_STRUCT) {
				src = rv->u.arr.v[j].u.obj;
				if (src)
					err_copy_keys(d, src, maps[s],
						      version);
			} else {
				int k = err_prim_key(d->st, rf, maps[s]);

				if (k >= 0 && d->vals[k].present &&
				    d->st->fields[k].type == rf->elem_type)
					err_set_key(&d->st->fields[k], version,
						    &d->vals[k],
						    &rv->u.arr.v[j]);
			}
			rc = err_fill(api, version, d, src, err, a, depth + 1);
			if (rc)
				return rc;
		}
	}
	return KC_OK;
}

/* Fields without a JSON default that Kafka's own error responses set to
 * -1 ("unknown"): broker ids, ports, offsets, watermarks, producer epochs. */
static bool err_unknown_value(const struct kc_field *f)
{
	if (f->def)
		return false;
	switch (f->type) {
	case KC_INT16:
		return strcmp(f->name, "ProducerEpoch") == 0;
	case KC_INT32:
		return f->entity == KC_ENT_BROKER_ID ||
		       strcmp(f->name, "Port") == 0;
	case KC_INT64:
		return name_ends_with(f->name, "Offset") ||
		       name_ends_with(f->name, "Watermark");
	default:
		return false;
	}
}

/* Set error codes (and the "unknown" -1 of err_unknown_value) in resp, mirroring req's items into resp's arrays. */
static int err_fill(int16_t api, int16_t version, struct kc_obj *resp,
		    const struct kc_obj *req, int16_t err, struct kc_arena *a,
		    int depth)
{
	size_t i;
	int rc;

	if (depth > KC_MAX_DEPTH)
		return KC_ERR_MALFORMED;
	for (i = 0; i < resp->st->nfields; i++) {
		const struct kc_field *f = &resp->st->fields[i];
		struct kc_value *v = &resp->vals[i];

		if (!v->present)
			continue;
		if (is_error_code(f)) {
			v->u.i = err;
		} else if (err_unknown_value(f)) {
			v->u.i = -1;
		} else if (f->type == KC_STRUCT && v->u.obj) {
			rc = err_fill(api, version, v->u.obj, NULL, err, a,
				      depth + 1);
			if (rc)
				return rc;
		} else if (f->type == KC_ARRAY && f->elem_type == KC_STRUCT &&
			   req && struct_has_error(f->sub, 0)) {
			rc = err_mirror(api, version, resp, i, req, err, a,
					depth);
			if (rc)
				return rc;
		}
	}
	return KC_OK;
}

int kc_build_error_response(int16_t api_key, int16_t version,
			    const struct kc_obj *req, int16_t err,
			    struct kc_arena *a, struct kc_obj **out)
{
	const struct kc_api *api = kc_api_find(api_key);
	struct kc_obj *resp;
	int rc;

	*out = NULL;
	if (!api)
		return KC_ERR_UNKNOWN_API;
	if (!kc_range_has(api->response->valid, version))
		return KC_ERR_UNKNOWN_VERSION;
	if (req && req->st != api->request->body)
		return KC_ERR_MALFORMED;
	resp = kc_obj_new(api->response->body, version, a);
	if (!resp)
		return KC_ERR_NOMEM;
	rc = err_fill(api_key, version, resp, req, err, a, 0);
	if (rc)
		return rc;
	*out = resp;
	return KC_OK;
}
