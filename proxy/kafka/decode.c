/* decode.c - decoding frames with the generated tables (see codec.c for
 * the rules on untrusted input): bodies, request and response headers. */
#include "kafka/codec.h"
#include "kafka/codec-int.h"

#include <stdlib.h>
#include <string.h>

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

/* Decode one value of `type` (the field's type, or its element type). */
static int decode_value(struct kc_rd *r, const struct kc_field *f,
			uint8_t type, bool nullable, bool flex, int depth,
			struct kc_value *v)
{
	bool compact = kc_field_compact(f, r->ver, flex);
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


static int decode_struct(struct kc_rd *r, const struct kc_struct *st,
			 bool flex, int depth, struct kc_obj **out)
{
	struct kc_obj *o;
	size_t i;
	int rc;

	if (depth > KC_MAX_DEPTH)
		return KC_ERR_MALFORMED;
	o = kc_obj_alloc(r->a, st);
	if (!o)
		return KC_ERR_NOMEM;
	for (i = 0; i < st->nfields; i++) {
		const struct kc_field *f = &st->fields[i];

		if (!kc_range_has(f->versions, r->ver))
			continue;
		if (kc_field_tagged(f, r->ver, flex)) {
			kc_value_default(f, r->ver, &o->vals[i]);
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
