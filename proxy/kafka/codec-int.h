/* codec-int.h - what the codec's own files share (codec.c, decode.c,
 * encode.c, tree.c, error_response.c); not for other modules. */
#ifndef KG_KAFKA_CODEC_INT_H
#define KG_KAFKA_CODEC_INT_H

#include <stdbool.h>
#include "kafka/codec.h"

/* Deeper than any message definition nests; guards against bad tables. */
#define KC_MAX_DEPTH 32

/* Strings, bytes, records and arrays are compact in flexible versions,
 * unless the field overrides flexibleVersions (RequestHeader ClientId). */
static inline bool kc_field_compact(const struct kc_field *f, int16_t ver, bool flex)
{
	return flex && kc_range_has(f->flexible, ver);
}

static inline bool kc_field_tagged(const struct kc_field *f, int16_t ver, bool flex)
{
	return flex && f->tag >= 0 && kc_range_has(f->tagged, ver);
}

/* tree.c: the JSON default of a scalar (or empty/null container) field;
 * an object with st's value slots after it, uninitialised. */
void kc_value_default(const struct kc_field *f, int16_t ver, struct kc_value *v);
struct kc_obj *kc_obj_alloc(struct kc_arena *a, const struct kc_struct *st);

#endif
