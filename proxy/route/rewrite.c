/* rewrite.c - broker address rewriting and ApiVersions capping on decoded
 * response trees (codec.h). The places that carry broker endpoints are
 * listed in the reference, section 4:
 *   Metadata           Brokers[]{NodeId,Host,Port}
 *   DescribeCluster    Brokers[]{BrokerId,Host,Port}
 *   FindCoordinator    v0-3 top-level NodeId/Host/Port, v4+ Coordinators[]
 *   Produce v10+, Fetch v16+   tagged NodeEndpoints[]   (KIP-951)
 *   ShareFetch, ShareAcknowledge  NodeEndpoints[]
 * A node the gateway cannot give an address is removed (or its coordinator
 * answer turned into COORDINATOR_NOT_AVAILABLE): a real broker address
 * must never reach a client.
 */
#include "route/rewrite.h"
#include "enforce/apis.h"
#include "kafka/codec.h"
#include "config/config.h"
#include "kafka/frame.h"
#include "base/log.h"
#include "route/router.h"

#include <stdlib.h>
#include <string.h>

#define ERR_COORDINATOR_NOT_AVAILABLE 15
#define ERR_UNSUPPORTED_VERSION 35

enum { API_PRODUCE = 0, API_FETCH = 1, API_METADATA = 3, API_FIND_COORDINATOR = 10,
       API_API_VERSIONS = 18, API_DESCRIBE_CLUSTER = 60, API_SHARE_FETCH = 78,
       API_SHARE_ACKNOWLEDGE = 79 };

bool kg_rewrite_needed(int16_t api_key, int16_t version)
{
	switch (api_key) {
	case API_METADATA:
	case API_FIND_COORDINATOR:
	case API_API_VERSIONS:
	case API_DESCRIBE_CLUSTER:
	case API_SHARE_FETCH:
	case API_SHARE_ACKNOWLEDGE:
		return true;
	case API_PRODUCE:
		return version >= 10;
	case API_FETCH:
		return version >= 16;
	default:
		return false;
	}
}

/* Points host/port of one endpoint at the gateway. Learns the upstream
 * address first, so the gateway port for the node is open before any
 * client is told about it. Returns 0, or -1 if the node must be hidden. */
static int endpoint_rewrite(struct kg_router *r, struct kc_arena *a,
			    struct kc_value *id, struct kc_value *host,
			    struct kc_value *port, bool learn, bool sni)
{
	if (!id || !host || !port || host->u.b.len < 0)
		return -1;
	int32_t node = (int32_t)id->u.i;
	if (learn && kg_router_learn(r, node, (const char *)host->u.b.p,
				     (size_t)host->u.b.len, (int32_t)port->u.i) < 0)
		return -1;
	const char *adv_host;
	uint16_t adv_port, bind_port;
	char sni_host[256];
	if (kg_config_broker_addr(r->cfg, node, &adv_host, &adv_port, &bind_port) < 0)
		return -1;
	if (sni) {
		if (kg_config_sni_host(&r->cfg->sni, node, sni_host, sizeof(sni_host)) < 0)
			return -1;
		adv_host = sni_host;
		adv_port = r->cfg->sni.advertised_port;
	}
	if (kc_set_string(a, host, adv_host, strlen(adv_host)) < 0)
		return -1;
	port->u.i = adv_port;
	return 0;
}

/* Rewrites every element of an endpoint array; drops those that cannot be
 * rewritten. Returns 1 if the array was non-empty (changed). */
static int endpoints_rewrite(struct kg_router *r, struct kc_arena *a,
			     struct kc_value *arr, const char *id_name, bool learn,
			     bool sni)
{
	if (!arr || arr->u.arr.n <= 0)
		return 0;
	int32_t keep = 0;
	for (int32_t i = 0; i < arr->u.arr.n; i++) {
		struct kc_obj *e = arr->u.arr.v[i].u.obj;
		if (!e)
			continue;
		if (endpoint_rewrite(r, a, kc_get(e, id_name), kc_get(e, "Host"),
				     kc_get(e, "Port"), learn, sni) < 0)
			continue;
		arr->u.arr.v[keep++] = arr->u.arr.v[i];
	}
	arr->u.arr.n = keep;
	return 1;
}

/* Blanks the coordinator address. A broker's own error (e.g.
 * GROUP_AUTHORIZATION_FAILED) is kept: only an answer that claimed success
 * becomes COORDINATOR_NOT_AVAILABLE. */
static void coordinator_unavailable(struct kc_arena *a, struct kc_obj *o)
{
	struct kc_value *v;
	if ((v = kc_get(o, "ErrorCode")) && v->u.i == 0)
		v->u.i = ERR_COORDINATOR_NOT_AVAILABLE;
	if ((v = kc_get(o, "NodeId")))
		v->u.i = -1;
	if ((v = kc_get(o, "Host")))
		kc_set_string(a, v, "", 0);
	if ((v = kc_get(o, "Port")))
		v->u.i = -1;
}

/* FindCoordinator: one coordinator (v0-3, top level) or an array (v4+). */
static void coordinator_rewrite(struct kg_router *r, struct kc_arena *a,
				struct kc_obj *o, bool sni)
{
	struct kc_value *err = kc_get(o, "ErrorCode");
	struct kc_value *id = kc_get(o, "NodeId");
	if (!err || !id || err->u.i != 0 || id->u.i < 0) {
		/* No coordinator in this answer; still never pass a host on. */
		struct kc_value *h = kc_get(o, "Host");
		if (h && h->u.b.len > 0)
			coordinator_unavailable(a, o);
		return;
	}
	if (endpoint_rewrite(r, a, id, kc_get(o, "Host"), kc_get(o, "Port"), true, sni) < 0)
		coordinator_unavailable(a, o);
}

static int apiversions_cap(struct kc_obj *resp)
{
	struct kc_value *keys = kc_get(resp, "ApiKeys");
	if (!keys || keys->u.arr.n <= 0)
		return 0;
	int32_t keep = 0;
	for (int32_t i = 0; i < keys->u.arr.n; i++) {
		struct kc_obj *e = keys->u.arr.v[i].u.obj;
		struct kc_value *k = kc_get(e, "ApiKey");
		struct kc_value *mn = kc_get(e, "MinVersion");
		struct kc_value *mx = kc_get(e, "MaxVersion");
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

int kg_rewrite_response(struct kg_router *r, int16_t api_key, int16_t version,
			struct kc_obj *resp, struct kc_arena *a, bool sni)
{
	(void)version; /* the field lookups below already follow the version */
	switch (api_key) {
	case API_API_VERSIONS:
		return apiversions_cap(resp);
	case API_METADATA:
		return endpoints_rewrite(r, a, kc_get(resp, "Brokers"), "NodeId", true, sni);
	case API_DESCRIBE_CLUSTER: {
		/* EndpointType 2 lists controllers, which clients cannot reach
		 * through the gateway: answer with no endpoints at all. */
		struct kc_value *et = kc_get(resp, "EndpointType");
		struct kc_value *b = kc_get(resp, "Brokers");
		if (et && et->u.i == 2) {
			if (b && b->u.arr.n > 0)
				b->u.arr.n = 0;
			return 1;
		}
		return endpoints_rewrite(r, a, b, "BrokerId", true, sni);
	}
	case API_FIND_COORDINATOR: {
		struct kc_value *cs = kc_get(resp, "Coordinators");
		if (cs) {
			for (int32_t i = 0; i < cs->u.arr.n; i++)
				coordinator_rewrite(r, a, cs->u.arr.v[i].u.obj, sni);
		} else {
			coordinator_rewrite(r, a, resp, sni);
		}
		return 1;
	}
	case API_PRODUCE:
	case API_FETCH:
	case API_SHARE_FETCH:
	case API_SHARE_ACKNOWLEDGE:
		return endpoints_rewrite(r, a, kc_get(resp, "NodeEndpoints"), "NodeId", true, sni);
	default:
		return 0;
	}
}

long kg_apiversions_unsupported(int32_t corr, uint8_t **out)
{
	const struct kc_api *api = kc_api_find(API_API_VERSIONS);
	struct kc_arena a;
	kc_arena_init(&a);
	long total = -1;
	struct kc_obj *o = kc_obj_new(api->response->body, 0, &a);
	struct kc_value *err = o ? kc_get(o, "ErrorCode") : NULL;
	struct kc_value *keys = o ? kc_get(o, "ApiKeys") : NULL;
	int fi = kc_field_index(api->response->body, "ApiKeys");
	if (!err || !keys || fi < 0 ||
	    kc_array_resize(&a, keys, &api->response->body->fields[fi], 0, 1) < 0)
		goto out;
	err->u.i = ERR_UNSUPPORTED_VERSION;
	struct kc_obj *e = keys->u.arr.v[0].u.obj;
	kc_get(e, "ApiKey")->u.i = API_API_VERSIONS;
	kc_get(e, "MinVersion")->u.i = kg_api_min_version(API_API_VERSIONS);
	kc_get(e, "MaxVersion")->u.i = kg_api_max_version(API_API_VERSIONS);
	total = kg_frame_response(API_API_VERSIONS, 0, corr, o, out);
out:
	kc_arena_free(&a);
	return total;
}
