/* frame.c - response frames made by the gateway (local answers, errors,
 * SASL exchanges): exact size first, then one encode. */
#include "kafka/frame.h"
#include "kafka/codec.h"

#include <stdlib.h>
#include <string.h>

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

long kg_frame_response_len(int16_t api_key, int16_t version, const struct kc_obj *o)
{
	int hv = kc_response_header_version(api_key, version);
	int64_t body = hv < 0 ? -1
		: kc_encoded_size(o, version, kc_response_flexible(api_key, version));
	if (body < 0 || body > INT32_MAX - 64)
		return -1;
	return (long)(4 + kc_response_header_size(hv) + (size_t)body);
}

int kg_frame_response_put(int16_t api_key, int16_t version, int32_t corr,
			  const struct kc_obj *o, uint8_t *out, long len)
{
	int hv = kc_response_header_version(api_key, version);
	size_t hlen = kc_response_header_size(hv);
	int64_t body = len - 4 - (long)hlen;
	put_be32(out, (uint32_t)(len - 4));
	kc_write_response_header(out + 4, hv, corr);
	return kc_encode(o, version, kc_response_flexible(api_key, version), out + 4 + hlen,
			 (size_t)body) == body ? 0 : -1;
}

long kg_frame_response(int16_t api_key, int16_t version, int32_t corr,
		       const struct kc_obj *o, uint8_t **out)
{
	long len = kg_frame_response_len(api_key, version, o);
	uint8_t *p = len < 0 ? NULL : malloc((size_t)len);
	if (!p)
		return -1;
	if (kg_frame_response_put(api_key, version, corr, o, p, len) < 0) {
		free(p);
		return -1;
	}
	*out = p;
	return len;
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
