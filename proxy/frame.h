/* frame.h - building whole response frames the gateway sends itself. */
#ifndef KG_FRAME_H
#define KG_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "codec-t.h"

/* Size prefix + response header (the version the API uses) + body of o.
 * Returns the frame length and a malloc'd frame in *out, or -1. */
long kg_frame_response(int16_t api_key, int16_t version, int32_t corr,
		       const struct kc_obj *o, uint8_t **out);
/* A length-prefixed raw token frame (SASL after SaslHandshake v0). */
long kg_frame_raw(const uint8_t *data, size_t len, uint8_t **out);

#endif
