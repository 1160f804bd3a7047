/* quota.h - tenant quotas on one connection (policy tenants[].quotas).
 *
 *   request  --kg_quota_request--> Produce bytes and one request charged
 *   response --kg_quota_response-> Fetch bytes charged
 *        |
 *        '--> a wait earned: the response's throttle_time_ms is raised to
 *             it (kg_quota_patch in place, or kg_quota_set in a decoded
 *             tree) and the client's requests are not read until it is
 *             over (KIP-219: the client is told and the broker mutes)
 *
 * A connection whose tenant has no quota costs one load per request. */
#ifndef KG_LOOP_QUOTA_H
#define KG_LOOP_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "kafka/codec-t.h"
#include "kafka/fields_gen.h"
#include "loop/conn-t.h"

/* The out-of-line halves of the calls below, for a connection with a
 * tenant (the inline tests keep a connection without one at a load). */
uint32_t kg_quota_request_tenant(struct kg_conn *c, int16_t api_key, size_t frame_len);
bool kg_quota_charges_response_tenant(struct kg_conn *c, int16_t api_key);
uint32_t kg_quota_response_tenant(struct kg_conn *c, int16_t api_key, size_t frame_len);
bool kg_quota_cap_fetch_tenant(struct kg_conn *c, int16_t api_key, struct kc_obj *req);

/* The wait (ms) the request earns: one request of the tenant's
 * request_rate and, for Produce, frame_len bytes of producer_byte_rate.
 * Pauses the client for it. 0: none (or no tenant, no quota). */
static inline uint32_t kg_quota_request(struct kg_conn *c, int16_t api_key, size_t frame_len)
{
	return c->tenant ? kg_quota_request_tenant(c, api_key, frame_len) : 0;
}
/* Whether a response of this api will be charged (consumer_byte_rate). */
static inline bool kg_quota_charges_response(struct kg_conn *c, int16_t api_key)
{
	return c->tenant && api_key == KC_API_FETCH && kg_quota_charges_response_tenant(c, api_key);
}
/* The wait a Fetch response of frame_len bytes earns; pauses the client
 * for it. */
static inline uint32_t kg_quota_response(struct kg_conn *c, int16_t api_key, size_t frame_len)
{
	return c->tenant && api_key == KC_API_FETCH
		? kg_quota_response_tenant(c, api_key, frame_len) : 0;
}
/* Lowers a Fetch request's MaxBytes (v3+) to a quarter second of the
 * tenant's consumer_byte_rate; true when it changed the request. */
static inline bool kg_quota_cap_fetch(struct kg_conn *c, int16_t api_key, struct kc_obj *req)
{
	return c->tenant && api_key == KC_API_FETCH && kg_quota_cap_fetch_tenant(c, api_key, req);
}
/* Whether the client's requests wait for a throttle to end (inline: asked
 * several times per frame by the loop). */
static inline bool kg_quota_paused(const struct kg_conn *c)
{
	return ev_is_active(&c->quota_timer);
}

/* Where a response's ThrottleTimeMs is in this version. */
enum kg_quota_field {
	KG_QF_NONE,                    /* no such field (the pause still holds) */
	KG_QF_FIRST,                   /* first in the body: raised in place */
	KG_QF_INSIDE                   /* after other fields: decode to raise */
};
enum kg_quota_field kg_quota_field(int16_t api_key, int16_t version);
/* Bytes of the frame (size prefix included) needed to raise its
 * throttle_time_ms in place (KG_QF_FIRST only). */
size_t kg_quota_patch_needs(int16_t api_key, int16_t version);
/* Raises the throttle_time_ms of the response frame (avail bytes of it
 * present) to ms if lower. False when it is not first in the body, the
 * header carries tagged fields, or avail is short: nothing changed. */
bool kg_quota_patch(uint8_t *frame, size_t avail, int16_t api_key, int16_t version, uint32_t ms);
/* The same in a decoded response; true when it raised it. */
bool kg_quota_set(struct kc_obj *resp, uint32_t ms);

#endif
