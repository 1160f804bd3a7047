/* rewrite.c - broker address rewriting on decoded response trees
 * (kafka/codec.h). The places that carry broker endpoints are
 * listed in the reference, section 4:
 *   Metadata           Brokers[]{NodeId,Host,Port}
 *   DescribeCluster    Brokers[]{BrokerId,Host,Port}
 *   FindCoordinator    v0-3 top-level NodeId/Host/Port, v4+ Coordinators[]
 *   Produce v10+, Fetch v16+   tagged NodeEndpoints[]   (KIP-951)
 *   ShareFetch, ShareAcknowledge  NodeEndpoints[]
 * and DescribeConfigs of BROKER resources, whose listener, controller and
 * ZooKeeper settings (or any value naming an upstream host) are answered
 * as sensitive: value null, as a broker answers for a password.
 * A node the gateway cannot give an address is removed (or its coordinator
 * answer turned into COORDINATOR_NOT_AVAILABLE): a real broker address
 * must never reach a client.
 */
#include "route/rewrite.h"
#include "kafka/addr_configs.h"
#include "kafka/codec.h"
#include "kafka/constants.h"
#include "kafka/errors.h"
#include "config/config.h"
#include "base/log.h"
#include "route/router.h"

#include <stdlib.h>
#include <string.h>

/* Where one response keeps the id, host and port of its endpoints. */
struct endpoint_fields {
	enum kc_field_handle id, host, port;
};

#define ENDPOINTS(msg, arr, id) \
	{ KCF_##msg##_##arr##_##id, KCF_##msg##_##arr##_Host, KCF_##msg##_##arr##_Port }
static const struct endpoint_fields metadata_brokers = ENDPOINTS(MetadataResponse, Brokers, NodeId);
static const struct endpoint_fields cluster_brokers =
	ENDPOINTS(DescribeClusterResponse, Brokers, BrokerId);
static const struct endpoint_fields produce_nodes = ENDPOINTS(ProduceResponse, NodeEndpoints, NodeId);
static const struct endpoint_fields fetch_nodes = ENDPOINTS(FetchResponse, NodeEndpoints, NodeId);
static const struct endpoint_fields share_fetch_nodes =
	ENDPOINTS(ShareFetchResponse, NodeEndpoints, NodeId);
static const struct endpoint_fields share_ack_nodes =
	ENDPOINTS(ShareAcknowledgeResponse, NodeEndpoints, NodeId);

/* FindCoordinator: v0-3 answer at the top level, v4+ per key. */
struct coordinator_fields {
	enum kc_field_handle err, id, host, port;
};
static const struct coordinator_fields coord_top = {
	KCF_FindCoordinatorResponse_ErrorCode, KCF_FindCoordinatorResponse_NodeId,
	KCF_FindCoordinatorResponse_Host, KCF_FindCoordinatorResponse_Port };
static const struct coordinator_fields coord_key = {
	KCF_FindCoordinatorResponse_Coordinators_ErrorCode,
	KCF_FindCoordinatorResponse_Coordinators_NodeId,
	KCF_FindCoordinatorResponse_Coordinators_Host,
	KCF_FindCoordinatorResponse_Coordinators_Port };

bool kg_rewrite_needed(int16_t api_key, int16_t version)
{
	switch (api_key) {
	case KC_API_METADATA:
	case KC_API_FIND_COORDINATOR:
	case KC_API_API_VERSIONS:      /* ranges capped by enforce/versions.c */
	case KC_API_DESCRIBE_CLUSTER:
	case KC_API_SHARE_FETCH:
	case KC_API_SHARE_ACKNOWLEDGE:
	case KC_API_DESCRIBE_CONFIGS:
		return true;
	case KC_API_PRODUCE:
		return version >= 10;
	case KC_API_FETCH:
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
			     struct kc_value *arr, const struct endpoint_fields *ef, bool learn,
			     bool sni)
{
	if (!arr || arr->u.arr.n <= 0)
		return 0;
	int32_t keep = 0;
	for (int32_t i = 0; i < arr->u.arr.n; i++) {
		struct kc_obj *e = arr->u.arr.v[i].u.obj;
		if (!e)
			continue;
		if (endpoint_rewrite(r, a, kc_at(e, ef->id), kc_at(e, ef->host),
				     kc_at(e, ef->port), learn, sni) < 0)
			continue;
		arr->u.arr.v[keep++] = arr->u.arr.v[i];
	}
	arr->u.arr.n = keep;
	return 1;
}

/* Blanks the coordinator address. A broker's own error (e.g.
 * GROUP_AUTHORIZATION_FAILED) is kept: only an answer that claimed success
 * becomes COORDINATOR_NOT_AVAILABLE. */
static void coordinator_unavailable(struct kc_arena *a, struct kc_obj *o,
				    const struct coordinator_fields *cf)
{
	struct kc_value *v;
	if ((v = kc_at(o, cf->err)) && v->u.i == 0)
		v->u.i = KERR_COORDINATOR_NOT_AVAILABLE;
	if ((v = kc_at(o, cf->id)))
		v->u.i = -1;
	if ((v = kc_at(o, cf->host)))
		kc_set_string(a, v, "", 0);
	if ((v = kc_at(o, cf->port)))
		v->u.i = -1;
}

/* FindCoordinator: one coordinator (v0-3, top level) or an array (v4+). */
static void coordinator_rewrite(struct kg_router *r, struct kc_arena *a,
				struct kc_obj *o, const struct coordinator_fields *cf, bool sni)
{
	struct kc_value *err = kc_at(o, cf->err);
	struct kc_value *id = kc_at(o, cf->id);
	if (!err || !id || err->u.i != 0 || id->u.i < 0) {
		/* No coordinator in this answer; still never pass a host on. */
		struct kc_value *h = kc_at(o, cf->host);
		if (h && h->u.b.len > 0)
			coordinator_unavailable(a, o, cf);
		return;
	}
	if (endpoint_rewrite(r, a, id, kc_at(o, cf->host), kc_at(o, cf->port), true, sni) < 0)
		coordinator_unavailable(a, o, cf);
}

/* A broker config entry whose value holds addresses: null and sensitive,
 * its synonyms' values null too. Returns 1 when something was hidden. */
static int config_hide(struct kg_router *r, struct kc_obj *cfg)
{
	struct kc_value *name = kc_at(cfg, KCF_DescribeConfigsResponse_Results_Configs_Name);
	struct kc_value *val = kc_at(cfg, KCF_DescribeConfigsResponse_Results_Configs_Value);
	if (!name || !val)
		return 0;
	bool by_name = name->u.b.len > 0 &&
		       kc_config_holds_addresses((const char *)name->u.b.p, (size_t)name->u.b.len);
	bool by_value = val->u.b.len > 0 &&
			kg_router_mentions_upstream(r, (const char *)val->u.b.p, (size_t)val->u.b.len);
	struct kc_value *syn = kc_at(cfg, KCF_DescribeConfigsResponse_Results_Configs_Synonyms);
	for (int32_t i = 0; syn && !by_name && !by_value && i < syn->u.arr.n; i++) {
		struct kc_value *sv = kc_at(syn->u.arr.v[i].u.obj,
					    KCF_DescribeConfigsResponse_Results_Configs_Synonyms_Value);
		by_value = sv && sv->u.b.len > 0 &&
			   kg_router_mentions_upstream(r, (const char *)sv->u.b.p, (size_t)sv->u.b.len);
	}
	if (!by_name && !by_value)
		return 0;
	val->u.b.len = -1;
	struct kc_value *sens = kc_at(cfg, KCF_DescribeConfigsResponse_Results_Configs_IsSensitive);
	if (sens)
		sens->u.i = 1;
	for (int32_t i = 0; syn && i < syn->u.arr.n; i++) {
		struct kc_value *sv = kc_at(syn->u.arr.v[i].u.obj,
					    KCF_DescribeConfigsResponse_Results_Configs_Synonyms_Value);
		if (sv)
			sv->u.b.len = -1;
	}
	return 1;
}

static int configs_hide(struct kg_router *r, struct kc_obj *resp)
{
	struct kc_value *res = kc_at(resp, KCF_DescribeConfigsResponse_Results);
	int changed = 0;
	for (int32_t i = 0; res && i < res->u.arr.n; i++) {
		struct kc_obj *o = res->u.arr.v[i].u.obj;
		struct kc_value *type = kc_at(o, KCF_DescribeConfigsResponse_Results_ResourceType);
		struct kc_value *cs = kc_at(o, KCF_DescribeConfigsResponse_Results_Configs);
		if (!type || type->u.i != KC_CONFIG_BROKER || !cs)
			continue;
		for (int32_t k = 0; k < cs->u.arr.n; k++)
			changed |= config_hide(r, cs->u.arr.v[k].u.obj);
	}
	return changed;
}

int kg_rewrite_response(struct kg_router *r, int16_t api_key, int16_t version,
			struct kc_obj *resp, struct kc_arena *a, bool sni)
{
	(void)version; /* the field lookups below already follow the version */
	switch (api_key) {
	case KC_API_METADATA:
		return endpoints_rewrite(r, a, kc_at(resp, KCF_MetadataResponse_Brokers),
					 &metadata_brokers, true, sni);
	case KC_API_DESCRIBE_CLUSTER: {
		/* EndpointType 2 lists controllers, which clients cannot reach
		 * through the gateway: answer with no endpoints at all. */
		struct kc_value *et = kc_at(resp, KCF_DescribeClusterResponse_EndpointType);
		struct kc_value *b = kc_at(resp, KCF_DescribeClusterResponse_Brokers);
		if (et && et->u.i == 2) {
			if (b && b->u.arr.n > 0)
				b->u.arr.n = 0;
			return 1;
		}
		return endpoints_rewrite(r, a, b, &cluster_brokers, true, sni);
	}
	case KC_API_FIND_COORDINATOR: {
		struct kc_value *cs = kc_at(resp, KCF_FindCoordinatorResponse_Coordinators);
		if (cs) {
			for (int32_t i = 0; i < cs->u.arr.n; i++)
				coordinator_rewrite(r, a, cs->u.arr.v[i].u.obj, &coord_key, sni);
		} else {
			coordinator_rewrite(r, a, resp, &coord_top, sni);
		}
		return 1;
	}
	case KC_API_PRODUCE:
		return endpoints_rewrite(r, a, kc_at(resp, KCF_ProduceResponse_NodeEndpoints),
					 &produce_nodes, true, sni);
	case KC_API_FETCH:
		return endpoints_rewrite(r, a, kc_at(resp, KCF_FetchResponse_NodeEndpoints),
					 &fetch_nodes, true, sni);
	case KC_API_SHARE_FETCH:
		return endpoints_rewrite(r, a, kc_at(resp, KCF_ShareFetchResponse_NodeEndpoints),
					 &share_fetch_nodes, true, sni);
	case KC_API_SHARE_ACKNOWLEDGE:
		return endpoints_rewrite(r, a,
					 kc_at(resp, KCF_ShareAcknowledgeResponse_NodeEndpoints),
					 &share_ack_nodes, true, sni);
	case KC_API_DESCRIBE_CONFIGS:
		return configs_hide(r, resp);
	default:
		return 0;
	}
}
