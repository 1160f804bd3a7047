/* exchange.c - per-frame decisions.
 *
 *   request --not authenticated--> auth/authn.c (answers everything itself)
 *           --allowed key/version (enforce/apis.c), decodes whole-->
 *           enforce/authz.c: forward / forward edited / answer / close
 *   response --matched with the in-flight queue--> decoded when it carries
 *           addresses (route/rewrite.c), ApiVersions ranges
 *           (enforce/versions.c), denied items or things to hide
 *           (enforce/authz.c) or an outcome the audit log records;
 *           else forwarded untouched
 *
 * Nothing the gateway cannot parse is ever forwarded: an unknown key or
 * version, or a frame that does not decode, closes the connection.
 * ApiVersions of an unknown (newer) version is answered locally, as a
 * broker does.
 */
#include "loop/exchange.h"
#include "base/metrics.h"
#include "audit/audit.h"
#include "auth/authn.h"
#include "base/log.h"
#include "enforce/apis.h"
#include "enforce/authz.h"
#include "enforce/versions.h"
#include "io/sbuf.h"
#include "kafka/waits.h"
#include "kafka/codec.h"
#include "kafka/frame.h"
#include "loop/inflight.h"
#include "loop/quota.h"
#include "loop/worker-t.h"
#include "route/rewrite.h"

#include <stdlib.h>
#include <string.h>

/* Removes `trailing` bytes from the end of the frame at c_in.ready, in
 * place: the size prefix and the parsed part move forward over them and
 * the gap left at the front is marked as already sent. Requires that
 * nothing before the frame is waiting (sent == ready). */
static void strip_trailing(struct kg_conn *c, size_t len, size_t trailing)
{
	uint8_t *f = c->c_in.data + c->c_in.ready;
	size_t keep = len - trailing;
	uint32_t sz = (uint32_t)(keep - 4);
	memmove(f + trailing, f, keep);
	f += trailing;
	f[0] = (uint8_t)(sz >> 24); f[1] = (uint8_t)(sz >> 16);
	f[2] = (uint8_t)(sz >> 8); f[3] = (uint8_t)sz;
	c->c_in.ready += trailing;
	c->c_in.sent = c->c_in.ready;
}

/* A request refused as a whole: the gateway's answer takes its turn. */
static enum kg_verdict answer_local(struct kg_conn *c, int32_t corr, int16_t key,
				    int16_t ver, struct kc_obj *resp, const char **reason)
{
	uint8_t *f;
	long n = kg_frame_response(key, ver, corr, resp, &f);
	if (n < 0 || kg_inflight_queue_local(c, corr, key, ver, f, n) < 0) {
		*reason = "cannot encode an authorization error response";
		return KG_CLOSE;
	}
	return KG_CONSUMED;
}

/* A response body (no header) in a malloc'd buffer. */
static int encode_body(const struct kc_obj *o, int16_t key, int16_t ver, uint8_t **out,
		       uint32_t *len)
{
	bool flex = kc_response_flexible(key, ver);
	int64_t n = kc_encoded_size(o, ver, flex);
	*out = n > 0 && n < INT32_MAX ? malloc((size_t)n) : NULL;
	if (!*out || kc_encode(o, ver, flex, *out, (size_t)n) != n) {
		free(*out);
		*out = NULL;
		return -1;
	}
	*len = (uint32_t)n;
	return 0;
}

/* Sends the edited request: its original header bytes, then the body
 * re-encoded, into to_u (nothing of c_in is waiting, see the caller). */
static int forward_rewritten(struct kg_conn *c, const uint8_t *body,
			     const struct kc_req_header *h, const struct kc_obj *req)
{
	bool flex = kc_request_flexible(h->api_key, h->api_version);
	int64_t n = kc_encoded_size(req, h->api_version, flex);
	if (n < 0 || (uint64_t)n + h->header_len > INT32_MAX)
		return -1;
	size_t total = 4 + h->header_len + (size_t)n;
	uint8_t *p = kg_obuf_extend(&c->to_u, total);
	if (!p)
		return -1;
	uint32_t sz = (uint32_t)(total - 4);
	p[0] = (uint8_t)(sz >> 24); p[1] = (uint8_t)(sz >> 16);
	p[2] = (uint8_t)(sz >> 8); p[3] = (uint8_t)sz;
	memcpy(p + 4, body, h->header_len);
	if (kc_encode(req, h->api_version, flex, p + 4 + h->header_len, (size_t)n) != n) {
		c->to_u.len -= total;
		return -1;
	}
	return 0;
}

/* A frame for the SASL state machine. Every frame authn takes is answered
 * locally: nothing before it may still be waiting to go upstream. */
static enum kg_verdict to_authn(struct kg_conn *c, const uint8_t *frame, size_t len,
				const char **reason)
{
	if (c->c_in.ready != c->c_in.sent)
		return KG_WAIT;
	return kg_authn_request(&c->authn, ev_now(c->w->loop), frame, len, reason);
}

enum kg_verdict kg_exchange_request(struct kg_conn *c, const uint8_t *frame,
				    size_t len, size_t *forward_len,
				    const char **reason)
{
	*forward_len = len;
	if (!kg_authn_done(&c->authn))
		return to_authn(c, frame, len, reason);
	uint64_t t0 = kg_metrics_now_ns();
	const uint8_t *body = frame + 4;
	size_t blen = len - 4;
	int16_t key, ver;
	int32_t corr;
	if (kc_peek_request_key(body, blen, &key, &ver, &corr) != KC_OK) {
		*reason = "malformed request header";
		return KG_CLOSE;
	}
	if (c->authn.state == KG_AS_COMPLETE) {
		if (key == KC_API_SASL_HANDSHAKE || key == KC_API_SASL_AUTHENTICATE)
			return to_authn(c, frame, len, reason);
		/* KIP-368: past its lifetime a session may only re-authenticate;
		 * anything else closes it without an answer, as a broker does. */
		if (c->authn.session_expiry > 0 &&
		    ev_now(c->w->loop) > c->authn.session_expiry) {
			*reason = "session expired without re-authentication";
			return KG_CLOSE;
		}
	}
	struct kg_router *router = &c->w->gw->router;
	if (key == KC_API_API_VERSIONS && kg_versions_unknown(router, ver)) {
		/* Cutting the frame out needs nothing before it unsent. */
		if (c->c_in.ready != c->c_in.sent)
			return KG_WAIT;
		c->requests++;
		kg_metrics_request(key, c->listener, len, KG_MD_ALLOWED);
		uint8_t *resp;
		long rlen = kg_versions_unsupported(router, corr, &resp);
		if (rlen < 0 || kg_inflight_queue_local(c, corr, key, ver, resp, rlen) < 0) {
			*reason = "out of memory";
			return KG_CLOSE;
		}
		return KG_CONSUMED;
	}
	if (!kg_api_allowed(key, ver)) {
		log_warn("conn %llu %s: refused request api %d (%s) v%d",
			 (unsigned long long)c->id, c->peer, key, kg_api_name(key), ver);
		*reason = kc_api_find(key) ? "api or version not allowed through the gateway"
					   : "unknown api key";
		return KG_CLOSE;
	}
	if (!kg_versions_upstream_has(router, key, ver)) {
		/* Clients are told the brokers' ranges; a version past them is
		 * not forwarded (a broker would close on it too). */
		log_warn("conn %llu %s: refused request api %d (%s) v%d: not offered by the brokers",
			 (unsigned long long)c->id, c->peer, key, kg_api_name(key), ver);
		*reason = "api version not offered by the brokers";
		return KG_CLOSE;
	}
	struct kc_req_header h;
	struct kc_obj *req;
	size_t used;
	kc_arena_reset(&c->arena);
	if (kc_decode_request_header(body, blen, &c->arena, &h) != KC_OK ||
	    kc_decode_request_prefix(key, ver, body + h.header_len, blen - h.header_len,
				     &c->arena, &req, &used) != KC_OK) {
		log_warn("conn %llu %s: malformed %s v%d request", (unsigned long long)c->id,
			 c->peer, kg_api_name(key), ver);
		*reason = "malformed request";
		return KG_CLOSE;
	}
	/* A broker ignores bytes after the body (librdkafka sends some with
	 * Metadata v12+); the gateway never forwards what it did not parse, so
	 * they are cut off, once nothing before the frame is waiting. */
	size_t trailing = blen - h.header_len - used;
	if (trailing > 0 && c->c_in.ready != c->c_in.sent)
		return KG_WAIT;
	struct kg_authz_out ao;
	kg_authz_request(&c->authz, &c->arena, &h, req, &ao);
	if ((ao.verdict == KG_AUTHZ_FORWARD || ao.verdict == KG_AUTHZ_REWRITE) &&
	    kg_quota_cap_fetch(c, key, req))
		ao.verdict = KG_AUTHZ_REWRITE;
	if (ao.verdict == KG_AUTHZ_CLOSE) {
		kg_authz_commit(&c->authz, key);
		kg_metrics_decision(key, KG_MD_DENIED);
		log_warn("conn %llu %s %s: %s v%d: %s", (unsigned long long)c->id, c->peer,
			 c->authn.principal, kg_api_name(key), ver, ao.reason);
		*reason = ao.reason;
		return KG_CLOSE;
	}
	/* A replaced frame must not overtake bytes still waiting; decided
	 * again after the wait, so nothing is recorded yet. */
	if (ao.verdict != KG_AUTHZ_FORWARD && c->c_in.ready != c->c_in.sent)
		return KG_WAIT;
	kg_authz_commit(&c->authz, key);
	c->requests++;
	kg_metrics_request(key, c->listener, len, ao.verdict == KG_AUTHZ_LOCAL ? KG_MD_DENIED
				 : ao.merge ? KG_MD_PARTIAL : KG_MD_ALLOWED);
	/* Charged whether forwarded or answered here, as a broker charges
	 * every request; the client's next requests wait out what it earns. */
	uint32_t throttle_ms = kg_quota_request(c, key, len);
	if (ao.verdict == KG_AUTHZ_LOCAL) {
		enum kg_verdict v = answer_local(c, corr, key, ver, ao.local, reason);
		kg_metrics_unanswered(key, kg_metrics_now_ns() - t0);
		return v;
	}
	bool expects_response = true;
	if (key == KC_API_PRODUCE) {
		/* Produce with acks=0 gets no response from the broker. */
		struct kc_value *acks = kc_at(req, KCF_ProduceRequest_Acks);
		expects_response = !(acks && acks->u.i == 0);
	}
	uint32_t due_ms = c->w->gw->cfg->request_timeout_ms + kc_request_wait_ms(key, ver, req);
	struct kg_inflight e = { .corr = corr, .api_key = key, .version = ver,
				 .post = ao.post, .deadline = ev_now(c->w->loop) + due_ms / 1000.0,
				 .throttle_ms = throttle_ms };
	e.sent_ns = kg_metrics_now_ns();
	e.gateway_ns = (uint32_t)(e.sent_ns - t0);
	if (expects_response && ao.merge &&
	    encode_body(ao.merge, key, ver, &e.merge, &e.merge_len) < 0) {
		*reason = "out of memory";
		return KG_CLOSE;
	}
	if (expects_response && kg_inflight_push(c, &e) < 0) {
		free(e.merge);
		*reason = "out of memory";
		return KG_CLOSE;
	}
	if (!expects_response)
		kg_metrics_unanswered(key, e.gateway_ns);
	kg_audit_request(c->audit, key, ver, req, len - trailing);
	if (ao.verdict == KG_AUTHZ_REWRITE) {
		if (forward_rewritten(c, body, &h, req) < 0) {
			*reason = "cannot encode the authorized request";
			return KG_CLOSE;
		}
		return KG_CONSUMED;
	}
	/* Last: the tree points into the frame, which this moves. */
	if (trailing > 0) {
		log_debug("conn %llu: %zu bytes after a %s v%d request dropped",
			  (unsigned long long)c->id, trailing, kg_api_name(key), ver);
		strip_trailing(c, len, trailing);
		*forward_len = len - trailing;
	}
	return KG_FORWARD;
}

/* Encodes a rewritten response (size, header, body) straight into to_c. */
static int encode_response(struct kg_conn *c, int32_t corr, const struct kc_obj *resp,
			   int16_t key, int16_t ver)
{
	long len = kg_frame_response_len(key, ver, resp);
	uint8_t *p = len < 0 ? NULL : kg_obuf_extend(&c->to_c, (size_t)len);
	if (!p)
		return -1;
	if (kg_frame_response_put(key, ver, corr, resp, p, len) < 0) {
		c->to_c.len -= (size_t)len;
		return -1;
	}
	return 0;
}

/* The response to e is in (at `in`, ns) and on its way to the client
 * after `spent` ns of the gateway's work. */
static void responded(const struct kg_inflight *e, uint64_t bytes, uint64_t in, uint64_t spent)
{
	kg_metrics_response(e->api_key, bytes, in - e->sent_ns, e->gateway_ns + spent);
}

/* Whether a response must be decoded: addresses to rewrite, denied items
 * to merge, things to hide, an outcome the audit log records, or a quota
 * wait to report where throttle_time_ms is not first. */
static bool response_decoded(const struct kg_inflight *e)
{
	return e->merge || e->post || kg_rewrite_needed(e->api_key, e->version) ||
	       kg_audit_wants_response(e->api_key) ||
	       (e->throttle_ms && kg_quota_field(e->api_key, e->version) == KG_QF_INSIDE);
}

int kg_exchange_response_streamable(struct kg_conn *c, uint8_t *frame, size_t avail)
{
	if (c->qlen == 0)
		return 0;
	struct kg_inflight *e = &c->q[c->qhead];
	if (e->local || (int32_t)kg_be32(frame + 4) != e->corr || response_decoded(e))
		return 0;   /* the whole frame decides (or refuses) it */
	bool charged = kg_quota_charges_response(c, e->api_key);
	if ((charged || e->throttle_ms) && avail < kg_quota_patch_needs(e->api_key, e->version))
		return 0;   /* too little of it here to raise its throttle */
	uint64_t len = (uint64_t)kg_be32(frame) + 4;
	uint32_t ms = charged ? kg_quota_response(c, e->api_key, len) : 0;
	if (ms < e->throttle_ms)
		ms = e->throttle_ms;
	if (ms)
		kg_quota_patch(frame, avail, e->api_key, e->version, ms);
	responded(e, len, kg_metrics_now_ns(), 0);
	kg_inflight_pop(c);
	return 1;
}

enum kg_verdict kg_exchange_response(struct kg_conn *c, uint8_t *frame,
				     size_t len, const char **reason)
{
	if (len < 8 || c->qlen == 0) {
		*reason = "unexpected response from broker";
		return KG_CLOSE;
	}
	struct kg_inflight *e = &c->q[c->qhead];
	int32_t corr = (int32_t)kg_be32(frame + 4);
	if (e->local || corr != e->corr) {
		*reason = "response out of order from broker";
		return KG_CLOSE;
	}
	uint64_t t_in = kg_metrics_now_ns();
	bool decoded = response_decoded(e);
	/* A replaced frame must not overtake bytes still waiting (and is
	 * charged once, after the wait). */
	if (decoded && c->u_in.ready != c->u_in.sent)
		return KG_WAIT;
	uint32_t ms = kg_quota_response(c, e->api_key, len);
	if (ms < e->throttle_ms)
		ms = e->throttle_ms;
	if (!decoded) {
		if (ms)
			kg_quota_patch(frame, len, e->api_key, e->version, ms);
		responded(e, len, t_in, 0);
		kg_inflight_pop(c);
		return KG_FORWARD;
	}

	int hv = kc_response_header_version(e->api_key, e->version);
	int32_t corr2;
	size_t hlen;
	struct kc_obj *resp;
	kc_arena_reset(&c->arena);
	if (kc_decode_response_header(frame + 4, len - 4, hv, &corr2, &hlen) != KC_OK) {
		*reason = "malformed response from broker";
		return KG_CLOSE;
	}
	const uint8_t *body = frame + 4 + hlen;
	size_t blen = len - 4 - hlen;
	/* The body's version: the request's, but for a broker's
	 * UNSUPPORTED_VERSION answer to ApiVersions, which is v0. */
	int16_t ver = e->api_key == KC_API_API_VERSIONS
		? kg_versions_response_version(e->version, body, blen) : e->version;
	if (kc_decode_response(e->api_key, ver, body, blen, &c->arena, &resp) != KC_OK) {
		*reason = "malformed response from broker";
		return KG_CLOSE;
	}
	int rc = e->api_key == KC_API_API_VERSIONS
		? kg_versions_cap(resp)
		: kg_rewrite_response(&c->w->gw->router, e->api_key, ver, resp, &c->arena, c->sni);
	int rz = rc < 0 ? 0 : kg_authz_response(&c->authz, &c->arena, e->api_key, ver, e->post,
						e->merge, e->merge_len, resp);
	if (rc < 0 || rz < 0) {
		*reason = "response cannot be rewritten";
		return KG_CLOSE;
	}
	if (kg_audit_wants_response(e->api_key))
		kg_audit_response(c->audit, e->api_key, ver, resp);
	/* A raised throttle is written in place when it is first in the
	 * body, else the body is encoded again. */
	bool raised = ms && kg_quota_set(resp, ms);
	if (rc == 0 && rz == 0 &&
	    (!raised || kg_quota_patch(frame, len, e->api_key, ver, ms))) {
		responded(e, len, t_in, kg_metrics_now_ns() - t_in);
		kg_inflight_pop(c);
		return KG_FORWARD;
	}
	size_t before = c->to_c.len;
	if (encode_response(c, corr, resp, e->api_key, ver) < 0) {
		*reason = "cannot encode rewritten response";
		return KG_CLOSE;
	}
	responded(e, c->to_c.len - before, t_in, kg_metrics_now_ns() - t_in);
	kg_inflight_pop(c);
	return KG_CONSUMED;
}

long kg_exchange_api_versions(void *ctx, int16_t version, int32_t corr, struct kc_obj *req,
			      struct kc_arena *a, bool *full, uint8_t **frame,
			      const char **reason)
{
	struct kg_conn *c = ctx;
	return kg_versions_preauth(&c->w->gw->router, c->audit, version, corr, req, a, full,
				   frame, reason);
}
