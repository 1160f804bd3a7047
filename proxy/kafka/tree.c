/* tree.c - building, looking into and editing decoded trees: new objects
 * with defaults, fields by handle or name, strings, arrays, the entity
 * visitor. */
#include "kafka/codec.h"
#include "kafka/codec-int.h"

#include <stdlib.h>
#include <string.h>

void kc_value_default(const struct kc_field *f, int16_t ver,
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

struct kc_obj *kc_obj_alloc(struct kc_arena *a, const struct kc_struct *st)
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
	o = kc_obj_alloc(a, st);
	if (!o)
		return NULL;
	for (i = 0; i < st->nfields; i++) {
		const struct kc_field *f = &st->fields[i];
		struct kc_value *v = &o->vals[i];

		if (!kc_range_has(f->versions, version))
			continue;
		kc_value_default(f, version, v);
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

int kc_find_index(const struct kc_struct *st, enum kc_name name)
{
	for (uint16_t i = 0; st && i < st->nfields; i++)
		if (st->fields[i].name_id == name)
			return (int)i;
	return -1;
}

struct kc_value *kc_find(struct kc_obj *o, enum kc_name name)
{
	int i = o ? kc_find_index(o->st, name) : -1;
	if (i < 0 || !o->vals[i].present)
		return NULL;
	return &o->vals[i];
}

struct kc_value *kc_resize_at(struct kc_arena *a, struct kc_obj *o, enum kc_field_handle f,
			      int16_t version, int32_t n)
{
	struct kc_value *v = kc_at(o, f);
	if (!v || kc_array_resize(a, v, kc_field_of(o, f), version, n) != KC_OK)
		return NULL;
	return v;
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
