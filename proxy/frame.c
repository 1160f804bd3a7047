/* frame.c - response frames made by the gateway (local answers, errors,
 * SASL exchanges): exact size first, then one encode. */
#include "frame.h"
#include "codec.h"

#include <stdlib.h>
#include <string.h>

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

long kg_frame_response(int16_t api_key, int16_t version, int32_t corr,
		       const struct kc_obj *o, uint8_t **out)
{
	int hv = kc_response_header_version(api_key, version);
	bool flex = kc_response_flexible(api_key, version);
	int64_t body = hv < 0 ? -1 : kc_encoded_size(o, version, flex);
	if (body < 0 || body > INT32_MAX - 64)
		return -1;
	size_t hlen = kc_response_header_size(hv);
	size_t len = 4 + hlen + (size_t)body;
	uint8_t *p = malloc(len);
	if (!p)
		return -1;
	put_be32(p, (uint32_t)(len - 4));
	kc_write_response_header(p + 4, hv, corr);
	if (kc_encode(o, version, flex, p + 4 + hlen, (size_t)body) != body) {
		free(p);
		return -1;
	}
	*out = p;
	return (long)len;
}

long kg_frame_raw(const uint8_t *data, size_t len, uint8_t **out)
{
	if (len > INT32_MAX - 4)
		return -1;
	uint8_t *p = malloc(4 + len);
	if (!p)
		return -1;
	put_be32(p, (uint32_t)len);
	if (len)
		memcpy(p + 4, data, len);
	*out = p;
	return (long)(4 + len);
}
