/* frame.h - building whole response frames the gateway sends itself. */
#ifndef KG_FRAME_H
#define KG_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "kafka/codec-t.h"

/* Big-endian int32 at p (frame sizes, correlation ids). */
static inline uint32_t kg_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Length of the frame kg_frame_response_put writes for o, or -1. */
long kg_frame_response_len(int16_t api_key, int16_t version, const struct kc_obj *o);
/* Writes size prefix + response header (the version the API uses) + body
 * of o into out, which must hold exactly len = kg_frame_response_len().
 * 0 or -1. */
int kg_frame_response_put(int16_t api_key, int16_t version, int32_t corr,
			  const struct kc_obj *o, uint8_t *out, long len);
/* The same into a malloc'd frame: returns its length and *out, or -1. */
long kg_frame_response(int16_t api_key, int16_t version, int32_t corr,
		       const struct kc_obj *o, uint8_t **out);
/* A length-prefixed raw token frame (SASL after SaslHandshake v0). */
long kg_frame_raw(const uint8_t *data, size_t len, uint8_t **out);

#endif
