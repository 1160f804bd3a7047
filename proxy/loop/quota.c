/* quota.c - tenant quotas on one connection (see quota.h; the buckets
 * are in tenants.c).
 *
 * Charged: Produce requests by their frame size as they are forwarded
 * (a broker records the request size), Fetch responses by their frame
 * size as they arrive (the gateway has the data by then; it is delivered
 * and the wait makes up for it), one request per request for
 * request_rate. The wait is the time the tenant's debt takes to be paid
 * at its rate, at most KG_QUOTA_MAX_THROTTLE_MS per charge.
 *
 * Fetch requests of a tenant with a consumer_byte_rate ask for at most a
 * quarter second of it (MaxBytes, v3+; a broker still returns the first
 * batch whatever its size): the gateway learns a response's size only
 * once it has the data, so a smaller response is a smaller debt taken
 * before the wait, and the rate holds over short spans too (a broker
 * instead sends no data while a quota is violated).
 *
 * A policy reload that changes a quota reaches every connection of the
 * tenant at its next charge: the slot's rates carry the policy
 * generation they were read at.
 */
#include "loop/quota.h"
#include "base/metrics.h"
#include "enforce/current_policy.h"
#include "acl/policy.h"
#include "kafka/codec.h"
#include "kafka/frame.h"
#include "loop/tenants.h"
#include "loop/worker-t.h"

#include <ev.h>

/* A Fetch asks for 1/KG_QUOTA_FETCH_SLICES of a second of the rate. */
#define KG_QUOTA_FETCH_SLICES 4

/* The slot's rates, read again from the policy in force when it changed. */
static unsigned quota_kinds(struct kg_conn *c)
{
	struct kg_tenant_slot *s = c->tenant;
	if (!s)
		return 0;
	uint64_t gen = kg_current_policy_generation();
	if (kg_tenants_quota_generation(s) != gen) {
		static const uint64_t none[KG_QUOTA_KINDS];
		struct kg_policy *p = kg_current_policy();
		const struct kg_tenant *t = kg_policy_tenant_named(p, kg_tenant_slot_name(s));
		kg_tenants_quota_set(s, t ? t->quota : none, gen);
		kg_policy_unref(p);
	}
	return kg_tenants_quota_kinds(s);
}

/* Holds the client's requests for ms from now (longer waits win). */
static void pause_client(struct kg_conn *c, uint32_t ms)
{
	struct ev_loop *loop = c->w->loop;
	ev_tstamp want = ms / 1000.0;
	if (ev_is_active(&c->quota_timer) && ev_timer_remaining(loop, &c->quota_timer) >= want)
		return;
	ev_timer_stop(loop, &c->quota_timer);
	ev_timer_set(&c->quota_timer, want, 0.0);
	ev_timer_start(loop, &c->quota_timer);
}

static uint32_t charge(struct kg_conn *c, enum kg_quota_kind k, uint64_t amount)
{
	return kg_tenants_quota_charge(c->tenant, k, amount, kg_metrics_now_ns());
}

uint32_t kg_quota_request_tenant(struct kg_conn *c, int16_t api_key, size_t frame_len)
{
	unsigned kinds = quota_kinds(c);
	if (!kinds)
		return 0;
	uint32_t ms = 0, m;
	if (kinds & (1u << KG_QUOTA_REQUEST))
		ms = charge(c, KG_QUOTA_REQUEST, 1);
	if (api_key == KC_API_PRODUCE && (kinds & (1u << KG_QUOTA_PRODUCE)) &&
	    (m = charge(c, KG_QUOTA_PRODUCE, frame_len)) > ms)
		ms = m;
	if (ms)
		pause_client(c, ms);
	return ms;
}

bool kg_quota_charges_response_tenant(struct kg_conn *c, int16_t api_key)
{
	return api_key == KC_API_FETCH && (quota_kinds(c) & (1u << KG_QUOTA_FETCH));
}

uint32_t kg_quota_response_tenant(struct kg_conn *c, int16_t api_key, size_t frame_len)
{
	if (!kg_quota_charges_response_tenant(c, api_key))
		return 0;
	uint32_t ms = charge(c, KG_QUOTA_FETCH, frame_len);
	if (ms)
		pause_client(c, ms);
	return ms;
}

bool kg_quota_cap_fetch_tenant(struct kg_conn *c, int16_t api_key, struct kc_obj *req)
{
	if (!kg_quota_charges_response_tenant(c, api_key))
		return false;
	struct kc_value *max = kc_at(req, KCF_FetchRequest_MaxBytes);
	uint64_t cap = kg_tenants_quota_rate(c->tenant, KG_QUOTA_FETCH) / KG_QUOTA_FETCH_SLICES;
	if (cap < 1)
		cap = 1;
	if (!max || max->u.i <= (int64_t)cap)
		return false;
	max->u.i = (int64_t)cap;
	return true;
}

enum kg_quota_field kg_quota_field(int16_t api_key, int16_t version)
{
	const struct kc_api *api = kc_api_find(api_key);
	if (!api)
		return KG_QF_NONE;
	const struct kc_struct *st = api->response->body;
	int i = kc_find_index(st, KCN_ThrottleTimeMs);
	if (i < 0 || !kc_range_has(st->fields[i].versions, version) ||
	    kc_range_has(st->fields[i].tagged, version))
		return KG_QF_NONE;
	for (int j = 0; j < i; j++)
		if (kc_range_has(st->fields[j].versions, version) &&
		    !kc_range_has(st->fields[j].tagged, version))
			return KG_QF_INSIDE;
	return KG_QF_FIRST;
}

size_t kg_quota_patch_needs(int16_t api_key, int16_t version)
{
	/* size, correlation id, an empty tagged-field count (header v1) */
	return 4 + 4 + (kc_response_header_version(api_key, version) == 1 ? 1 : 0) + 4;
}

bool kg_quota_patch(uint8_t *frame, size_t avail, int16_t api_key, int16_t version, uint32_t ms)
{
	if (kg_quota_field(api_key, version) != KG_QF_FIRST)
		return false;
	size_t at = 8;
	if (kc_response_header_version(api_key, version) == 1) {
		/* Brokers send no header tags; a frame with some is left
		 * alone (its client is still paused). */
		if (avail < 9 || frame[8] != 0)
			return false;
		at = 9;
	}
	if (avail < at + 4)
		return false;
	uint8_t *p = frame + at;
	if (kg_be32(p) >= ms)
		return true;
	p[0] = (uint8_t)(ms >> 24); p[1] = (uint8_t)(ms >> 16);
	p[2] = (uint8_t)(ms >> 8); p[3] = (uint8_t)ms;
	return true;
}

bool kg_quota_set(struct kc_obj *resp, uint32_t ms)
{
	struct kc_value *v = kc_find(resp, KCN_ThrottleTimeMs);
	if (!v || v->u.i >= (int64_t)ms)
		return false;
	v->u.i = ms;
	return true;
}
