/* versions.c - ApiVersions in one place (see versions.h).
 *
 *   before authentication ... the gateway answers: brokers' ranges met
 *                             with the allowlist, + SaslHandshake and
 *                             SaslAuthenticate (served by auth/authn.c)
 *   after ................... forwarded; the broker's answer is capped to
 *                             the allowlist (kg_versions_cap)
 *   a version past the gateway's or the brokers' highest: UNSUPPORTED_VERSION
 *                             in the v0 shape with ApiVersions' own range
 *                             (KIP-511), so the client retries lower; a
 *                             broker's own such answer is read as v0
 *   any other API ........... a version the brokers do not offer is never
 *                             forwarded (kg_versions_upstream_has)
 */
#include "enforce/versions.h"
#include "audit/audit.h"
#include "auth/authn.h"
#include "enforce/apis.h"
#include "kafka/codec.h"
#include "kafka/errors.h"
#include "kafka/frame.h"
#include "route/router.h"

#include <stdlib.h>

/* The highest ApiVersions version that gets a real answer: the gateway's,
 * and the brokers' once known, since a broker answers a higher one with
 * UNSUPPORTED_VERSION (a 3.6 broker knows v0-3, a 4.x client sends v4). */
static int16_t api_versions_max(struct kg_router *r)
{
	int16_t max = kg_api_max_version(KC_API_API_VERSIONS);
	struct kg_api_range up;
	if (kg_router_api_range(r, KC_API_API_VERSIONS, &up) && up.max >= 0 && up.max < max)
		max = up.max;
	return max;
}

bool kg_versions_unknown(struct kg_router *r, int16_t version)
{
	return version > api_versions_max(r);
}

bool kg_versions_upstream_has(struct kg_router *r, int16_t key, int16_t version)
{
	struct kg_api_range up;
	/* Before the first refresh nothing is known: the broker judges (it
	 * closes on a version it does not know, as the gateway would). */
	if (!kg_router_api_range(r, key, &up))
		return true;
	return up.max >= 0 && version >= up.min && version <= up.max;
}

int16_t kg_versions_response_version(int16_t version, const uint8_t *body, size_t len)
{
	/* KIP-511: a broker that does not know the request's version answers
	 * in the v0 shape with UNSUPPORTED_VERSION and its own range. The
	 * error code leads the body in every version. */
	if (len >= 2 && (int16_t)(body[0] << 8 | body[1]) == KERR_UNSUPPORTED_VERSION)
		return 0;
	return version;
}

/* Sets one ApiKeys entry of an ApiVersions response. */
static void entry_set(struct kc_obj *e, int64_t key, int64_t min, int64_t max)
{
	kc_at(e, KCF_ApiVersionsResponse_ApiKeys_ApiKey)->u.i = key;
	kc_at(e, KCF_ApiVersionsResponse_ApiKeys_MinVersion)->u.i = min;
	kc_at(e, KCF_ApiVersionsResponse_ApiKeys_MaxVersion)->u.i = max;
}

long kg_versions_unsupported(struct kg_router *r, int32_t corr, uint8_t **out)
{
	const struct kc_api *api = kc_api_find(KC_API_API_VERSIONS);
	struct kc_arena a;
	kc_arena_init(&a);
	long total = -1;
	struct kc_obj *o = kc_obj_new(api->response->body, 0, &a);
	struct kc_value *err = kc_at(o, KCF_ApiVersionsResponse_ErrorCode);
	struct kc_value *keys = kc_resize_at(&a, o, KCF_ApiVersionsResponse_ApiKeys, 0, 1);
	if (!err || !keys)
		goto out;
	err->u.i = KERR_UNSUPPORTED_VERSION;
	entry_set(keys->u.arr.v[0].u.obj, KC_API_API_VERSIONS,
		  kg_api_min_version(KC_API_API_VERSIONS), api_versions_max(r));
	total = kg_frame_response(KC_API_API_VERSIONS, 0, corr, o, out);
out:
	kc_arena_free(&a);
	return total;
}

/* [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? as the broker checks. */
static bool software_token_ok(const struct kc_value *v)
{
	if (!v)
		return true;
	if (v->u.b.len <= 0)
		return false;
	const uint8_t *p = v->u.b.p;
	int32_t n = v->u.b.len;
	for (int32_t i = 0; i < n; i++) {
		bool alnum = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
			     (p[i] >= '0' && p[i] <= '9');
		bool inner = p[i] == '-' || p[i] == '.';
		if (!alnum && !(inner && i > 0 && i < n - 1))
			return false;
	}
	return true;
}

long kg_versions_preauth(struct kg_router *r, struct kg_audit_conn *audit, int16_t ver,
			 int32_t corr, struct kc_obj *req, struct kc_arena *arena, bool *full,
			 uint8_t **frame, const char **reason)
{
	*full = false;
	if (kg_versions_unknown(r, ver))
		return kg_versions_unsupported(r, corr, frame);
	if (!req)
		return -2;
	const struct kc_api *api = kc_api_find(KC_API_API_VERSIONS);
	struct kg_api_range up[KG_MAX_API_KEY + 1];
	if (!kg_router_api_ranges(r, up)) {
		*reason = "upstream API versions not known yet";
		return -1;
	}
	*full = true;
	struct kc_obj *o = kc_obj_new(api->response->body, ver, arena);
	struct kc_value *err = kc_at(o, KCF_ApiVersionsResponse_ErrorCode);
	if (!err) {
		*reason = "cannot build ApiVersions";
		return -1;
	}
	if (ver >= 3 &&
	    (!software_token_ok(kc_at(req, KCF_ApiVersionsRequest_ClientSoftwareName)) ||
	     !software_token_ok(kc_at(req, KCF_ApiVersionsRequest_ClientSoftwareVersion)))) {
		err->u.i = KERR_INVALID_REQUEST;
		return kg_frame_response(KC_API_API_VERSIONS, ver, corr, o, frame);
	}
	if (ver >= 3)
		kg_audit_client_software(audit, req);
	int16_t lo[KG_MAX_API_KEY + 1], hi[KG_MAX_API_KEY + 1];
	int32_t n = 0;
	for (int k = 0; k <= KG_MAX_API_KEY; k++) {
		if (k == KC_API_SASL_HANDSHAKE || k == KC_API_SASL_AUTHENTICATE) {
			lo[k] = 0;
			hi[k] = kg_sasl_api_max((int16_t)k);
			n += hi[k] >= 0;
			continue;
		}
		int16_t gmax = kg_api_max_version((int16_t)k);
		int16_t gmin = kg_api_min_version((int16_t)k);
		lo[k] = up[k].min > gmin ? up[k].min : gmin;
		hi[k] = up[k].max < gmax ? up[k].max : gmax;
		if (gmax < 0 || up[k].min < 0 || lo[k] > hi[k])
			hi[k] = -1;
		n += hi[k] >= 0;
	}
	struct kc_value *keys = kc_resize_at(arena, o, KCF_ApiVersionsResponse_ApiKeys, ver, n);
	if (!keys) {
		*reason = "out of memory";
		return -1;
	}
	int32_t i = 0;
	for (int k = 0; k <= KG_MAX_API_KEY; k++)
		if (hi[k] >= 0)
			entry_set(keys->u.arr.v[i++].u.obj, k, lo[k], hi[k]);
	return kg_frame_response(KC_API_API_VERSIONS, ver, corr, o, frame);
}

int kg_versions_cap(struct kc_obj *resp)
{
	struct kc_value *keys = kc_at(resp, KCF_ApiVersionsResponse_ApiKeys);
	if (!keys || keys->u.arr.n <= 0)
		return 0;
	int32_t keep = 0;
	for (int32_t i = 0; i < keys->u.arr.n; i++) {
		struct kc_obj *e = keys->u.arr.v[i].u.obj;
		struct kc_value *k = kc_at(e, KCF_ApiVersionsResponse_ApiKeys_ApiKey);
		struct kc_value *mn = kc_at(e, KCF_ApiVersionsResponse_ApiKeys_MinVersion);
		struct kc_value *mx = kc_at(e, KCF_ApiVersionsResponse_ApiKeys_MaxVersion);
		if (!k || !mn || !mx)
			continue;
		int16_t gmax = kg_api_max_version((int16_t)k->u.i);
		int16_t gmin = kg_api_min_version((int16_t)k->u.i);
		if (gmax < 0)
			continue;
		int64_t lo = mn->u.i > gmin ? mn->u.i : gmin;
		int64_t hi = mx->u.i < gmax ? mx->u.i : gmax;
		if (lo > hi)
			continue;
		mn->u.i = lo;
		mx->u.i = hi;
		keys->u.arr.v[keep++] = keys->u.arr.v[i];
	}
	keys->u.arr.n = keep;
	return 1;
}
