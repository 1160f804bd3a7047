/* encode.c - encoding trees back to bytes: one walker computes the exact
 * size and writes, so the two never disagree. */
#include "kafka/codec.h"
#include "kafka/codec-int.h"

#include <stdlib.h>
#include <string.h>

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
	bool compact = kc_field_compact(f, w->ver, flex);
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
		    kc_field_tagged(f, w->ver, flex))
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
