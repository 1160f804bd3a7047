/* authn.c - SASL at the gateway, as a Kafka broker runs it (reference
 * section 1), so that unmodified clients configured for SASL_SSL or
 * SASL_PLAINTEXT work. Nothing reaches a broker before this succeeds.
 *
 *   INITIAL --ApiVersions (answered here)--> AFTER_VERSIONS
 *      |                                          |
 *      +------------- SaslHandshake v0/v1 --------+
 *                            |
 *                       AUTHENTICATE  (v1: SaslAuthenticate requests,
 *                            |         v0: raw length-prefixed tokens)
 *                  success   |   failure
 *                 COMPLETE <-+-> FAILED (error held for failure_delay_ms,
 *                    |                   then sent, then close)
 *                    +-- SaslHandshake again (KIP-368 re-authentication)
 *
 * Errors follow the broker: UNSUPPORTED_SASL_MECHANISM(33),
 * ILLEGAL_SASL_STATE(34), SASL_AUTHENTICATION_FAILED(58) with one generic
 * message whatever went wrong (unknown user or wrong password alike).
 */
#define _GNU_SOURCE
#include "auth/authn.h"
#include "enforce/apis.h"
#include "audit/audit.h"
#include "kafka/codec.h"
#include "config/config.h"
#include "kafka/frame.h"
#include "auth/limiter.h"
#include "base/log.h"
#include "route/rewrite.h"
#include "route/router.h"
#include "auth/sasl.h"
#include "loop/worker-t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { API_SASL_HANDSHAKE = 17, API_API_VERSIONS = 18, API_SASL_AUTHENTICATE = 36 };
enum { ERR_UNSUPPORTED_SASL_MECHANISM = 33, ERR_ILLEGAL_SASL_STATE = 34,
       ERR_INVALID_REQUEST = 42, ERR_SASL_AUTHENTICATION_FAILED = 58 };

/* Highest versions the gateway speaks for the SASL APIs themselves. */
#define SASL_HANDSHAKE_MAX 1
#define SASL_AUTHENTICATE_MAX 2

static const struct kg_auth_cfg *auth_cfg(struct kg_conn *c)
{
	return &c->w->gw->cfg->auth;
}

static int16_t sasl_api_max(int16_t key)
{
	const struct kc_api *a = kc_api_find(key);
	int16_t mine = key == API_SASL_HANDSHAKE ? SASL_HANDSHAKE_MAX : SASL_AUTHENTICATE_MAX;
	if (!a || !a->request)
		return -1;
	return a->request->valid.max < mine ? a->request->valid.max : mine;
}

/* Ends the exchange: the (optional) reply is held for the failure delay,
 * then sent, then the connection is closed, as a broker does. */
static enum kg_verdict fail(struct kg_conn *c, const char *why, bool count)
{
	const struct kg_auth_cfg *a = auth_cfg(c);
	log_warn("conn %llu %s: authentication failed: %s", (unsigned long long)c->id,
		 c->peer, why);
	kg_audit_auth(c, false, c->sasl || c->reauth ? kg_sasl_mech_name(c->sasl_mech) : NULL,
		      why);
	if (count && kg_limiter_fail((struct sockaddr *)&c->peer_sa))
		log_warn("client address of conn %llu (%s) blocked for %u ms after repeated "
			 "authentication failures", (unsigned long long)c->id, c->peer,
			 a->block_ms);
	c->auth_state = KG_AS_FAILED;
	c->hold_output = true;
	kg_sasl_free(c->sasl);
	c->sasl = NULL;
	ev_timer_stop(c->w->loop, &c->timer);
	ev_timer_set(&c->timer, a->failure_delay_ms / 1000.0, 0.0);
	ev_timer_start(c->w->loop, &c->timer);
	return KG_CONSUMED;
}

void kg_authn_delay_over(struct kg_conn *c)
{
	c->hold_output = false;
	c->close_after_flush = true;
}

static enum kg_verdict reply(struct kg_conn *c, int16_t key, int16_t ver, int32_t corr,
			     const struct kc_obj *o, const char **reason)
{
	uint8_t *frame;
	long len = kg_frame_response(key, ver, corr, o, &frame);
	if (len < 0 || kg_exchange_queue_local(c, corr, key, ver, frame, len) < 0) {
		*reason = "cannot build a response";
		return KG_CLOSE;
	}
	return KG_CONSUMED;
}

static bool software_token_ok(const struct kc_value *v)
{
	/* [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? as the broker checks */
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

/* ApiVersions before authentication: answered by the gateway from the
 * ranges the metadata refresh learned from the brokers, intersected with
 * what the gateway allows, plus the SASL APIs it serves itself. */
static enum kg_verdict api_versions(struct kg_conn *c, int16_t ver, int32_t corr,
				    struct kc_obj *req, const char **reason)
{
	const struct kc_api *api = kc_api_find(API_API_VERSIONS);
	struct kg_api_range up[KG_MAX_API_KEY + 1];
	if (!kg_router_api_ranges(&c->w->gw->router, up)) {
		*reason = "upstream API versions not known yet";
		return KG_CLOSE;
	}
	struct kc_obj *o = kc_obj_new(api->response->body, ver, &c->arena);
	struct kc_value *err = o ? kc_get(o, "ErrorCode") : NULL;
	struct kc_value *keys = o ? kc_get(o, "ApiKeys") : NULL;
	int fi = kc_field_index(api->response->body, "ApiKeys");
	if (!err || !keys || fi < 0) {
		*reason = "cannot build ApiVersions";
		return KG_CLOSE;
	}
	if (ver >= 3 && (!software_token_ok(kc_get(req, "ClientSoftwareName")) ||
			 !software_token_ok(kc_get(req, "ClientSoftwareVersion")))) {
		err->u.i = ERR_INVALID_REQUEST;
		return reply(c, API_API_VERSIONS, ver, corr, o, reason);
	}
	if (ver >= 3)
		kg_audit_client_software(c, req);
	int16_t lo[KG_MAX_API_KEY + 1], hi[KG_MAX_API_KEY + 1];
	int32_t n = 0;
	for (int k = 0; k <= KG_MAX_API_KEY; k++) {
		int16_t gmin, gmax;
		if (k == API_SASL_HANDSHAKE || k == API_SASL_AUTHENTICATE) {
			gmin = 0;
			gmax = sasl_api_max((int16_t)k);
			lo[k] = gmin;
			hi[k] = gmax;
			n += gmax >= 0;
			continue;
		}
		gmax = kg_api_max_version((int16_t)k);
		gmin = kg_api_min_version((int16_t)k);
		lo[k] = up[k].min > gmin ? up[k].min : gmin;
		hi[k] = up[k].max < gmax ? up[k].max : gmax;
		if (gmax < 0 || up[k].min < 0 || lo[k] > hi[k])
			hi[k] = -1;
		n += hi[k] >= 0;
	}
	if (kc_array_resize(&c->arena, keys, &api->response->body->fields[fi], ver, n) < 0) {
		*reason = "out of memory";
		return KG_CLOSE;
	}
	int32_t i = 0;
	for (int k = 0; k <= KG_MAX_API_KEY; k++) {
		if (hi[k] < 0)
			continue;
		struct kc_obj *e = keys->u.arr.v[i++].u.obj;
		kc_get(e, "ApiKey")->u.i = k;
		kc_get(e, "MinVersion")->u.i = lo[k];
		kc_get(e, "MaxVersion")->u.i = hi[k];
	}
	return reply(c, API_API_VERSIONS, ver, corr, o, reason);
}

static enum kg_verdict handshake(struct kg_conn *c, int16_t ver, int32_t corr,
				 struct kc_obj *req, const char **reason)
{
	const struct kg_auth_cfg *a = auth_cfg(c);
	const struct kc_api *api = kc_api_find(API_SASL_HANDSHAKE);
	struct kc_value *m = kc_get(req, "Mechanism");
	struct kc_obj *o = kc_obj_new(api->response->body, ver, &c->arena);
	struct kc_value *err = o ? kc_get(o, "ErrorCode") : NULL;
	struct kc_value *list = o ? kc_get(o, "Mechanisms") : NULL;
	int fi = kc_field_index(api->response->body, "Mechanisms");
	if (!m || !err || !list || fi < 0 ||
	    kc_array_resize(&c->arena, list, &api->response->body->fields[fi], ver,
			    (int32_t)a->nmech) < 0) {
		*reason = "cannot build SaslHandshake response";
		return KG_CLOSE;
	}
	for (size_t i = 0; i < a->nmech; i++)
		kc_set_string(&c->arena, &list->u.arr.v[i], a->mech_list[i],
			      strlen(a->mech_list[i]));
	char mech[32] = "";
	if (m->u.b.len > 0 && m->u.b.len < (int32_t)sizeof(mech))
		memcpy(mech, m->u.b.p, (size_t)m->u.b.len);
	int mi = kg_sasl_mech_parse(mech);
	bool enabled = mi >= 0 && (a->mechanisms & KG_SASL_MECH_BIT(mi));

	if (c->auth_state == KG_AS_COMPLETE) {
		/* KIP-368: only with a session lifetime, at most once a second. */
		ev_tstamp now = ev_now(c->w->loop);
		if (c->session_expiry == 0 || now - c->reauth_started < 1.0 || !enabled) {
			err->u.i = ERR_ILLEGAL_SASL_STATE;
			return reply(c, API_SASL_HANDSHAKE, ver, corr, o, reason);
		}
		c->reauth = true;
		c->reauth_started = now;
		/* Another mechanism is accepted here and fails at the token,
		 * as the broker does. */
		c->reauth_bad_mech = mi != c->sasl_mech;
	} else if (!enabled) {
		err->u.i = ERR_UNSUPPORTED_SASL_MECHANISM;
		char clean[40];
		log_warn("conn %llu %s: unsupported SASL mechanism '%s'", (unsigned long long)c->id,
			 c->peer, kg_log_clean(mech, strlen(mech), clean, sizeof(clean)));
		kg_audit_auth(c, false, clean, "unsupported SASL mechanism");
		enum kg_verdict v = reply(c, API_SASL_HANDSHAKE, ver, corr, o, reason);
		c->auth_state = KG_AS_FAILED;
		c->close_after_flush = true;
		return v;
	}
	char why[128];
	kg_sasl_free(c->sasl);
	c->sasl = kg_sasl_new(mech, a->mechanisms, why, sizeof(why));
	if (!c->sasl) {
		*reason = "cannot start SASL";
		log_error("conn %llu: %s", (unsigned long long)c->id, why);
		return KG_CLOSE;
	}
	if (c->auth_state != KG_AS_COMPLETE) {
		c->sasl_mech = mi;
		c->auth_state = KG_AS_AUTHENTICATE;
	}
	c->sasl_raw = ver == 0;
	return reply(c, API_SASL_HANDSHAKE, ver, corr, o, reason);
}

/* Success: the principal is set, the session lifetime starts, and (the
 * first time) the upstream connection is made. */
static void authenticated(struct kg_conn *c, const char *user)
{
	const struct kg_auth_cfg *a = auth_cfg(c);
	char clean[256];
	kg_log_clean(user, strlen(user), clean, sizeof(clean));
	if (!c->reauth) {
		snprintf(c->principal, sizeof(c->principal), "User:%s", user);
		c->connect_pending = true;
		c->reauth_started = ev_now(c->w->loop);
	}
	log_info("conn %llu %s: %sauthenticated as User:%s with %s", (unsigned long long)c->id,
		 c->peer, c->reauth ? "re-" : "", clean, kg_sasl_mech_name(c->sasl_mech));
	kg_audit_auth(c, true, kg_sasl_mech_name(c->sasl_mech), NULL);
	c->session_expiry = a->session_lifetime_ms
				    ? ev_now(c->w->loop) + a->session_lifetime_ms / 1000.0 : 0;
	c->auth_state = KG_AS_COMPLETE;
	c->reauth = false;
	kg_sasl_free(c->sasl);
	c->sasl = NULL;
}

/* One token through the SASL session. Returns the kg_sasl rc; on success
 * *principal_ok tells whether a re-authentication kept the principal. */
static int step(struct kg_conn *c, const uint8_t *in, size_t inlen, const uint8_t **out,
		size_t *outlen, bool *principal_ok)
{
	*principal_ok = true;
	if (!c->sasl || c->reauth_bad_mech)
		return KG_SASL_FAIL;
	int rc = kg_sasl_step(c->sasl, in, inlen, out, outlen);
	if (rc == KG_SASL_DONE && c->reauth) {
		char now[256];
		snprintf(now, sizeof(now), "User:%s", kg_sasl_user(c->sasl));
		*principal_ok = strcmp(now, c->principal) == 0;
	}
	return rc;
}

static const char *fail_text(struct kg_conn *c)
{
	return kg_sasl_fail_reason(c->sasl) && kg_sasl_fail_reason(c->sasl)[0]
		       ? kg_sasl_fail_reason(c->sasl) : "invalid credentials";
}

static enum kg_verdict authenticate(struct kg_conn *c, int16_t ver, int32_t corr,
				    struct kc_obj *req, const char **reason)
{
	const struct kc_api *api = kc_api_find(API_SASL_AUTHENTICATE);
	struct kc_obj *o = kc_obj_new(api->response->body, ver, &c->arena);
	struct kc_value *err = o ? kc_get(o, "ErrorCode") : NULL;
	struct kc_value *msg = o ? kc_get(o, "ErrorMessage") : NULL;
	struct kc_value *bytes = o ? kc_get(o, "AuthBytes") : NULL;
	struct kc_value *life = o ? kc_get(o, "SessionLifetimeMs") : NULL;
	struct kc_value *in = kc_get(req, "AuthBytes");
	if (!err || !msg || !bytes || !in) {
		*reason = "cannot build SaslAuthenticate response";
		return KG_CLOSE;
	}
	if (c->auth_state == KG_AS_COMPLETE && !c->reauth) {
		static const char text[] = "SaslAuthenticate request received after successful "
					   "authentication";
		err->u.i = ERR_ILLEGAL_SASL_STATE;
		kc_set_string(&c->arena, msg, text, sizeof(text) - 1);
		return reply(c, API_SASL_AUTHENTICATE, ver, corr, o, reason);
	}
	const uint8_t *out = NULL;
	size_t outlen = 0;
	bool same_principal;
	int rc = step(c, in->u.b.p, in->u.b.len > 0 ? (size_t)in->u.b.len : 0, &out, &outlen,
		      &same_principal);
	if (rc == KG_SASL_FAIL || !same_principal) {
		char text[384];
		if (!same_principal)
			snprintf(text, sizeof(text), "Cannot change principals during "
				 "re-authentication from %s", c->principal);
		else
			snprintf(text, sizeof(text), "Authentication failed during %s due to "
				 "invalid credentials with SASL mechanism %s",
				 c->reauth ? "re-authentication" : "authentication",
				 kg_sasl_mech_name(c->sasl_mech));
		err->u.i = ERR_SASL_AUTHENTICATION_FAILED;
		kc_set_string(&c->arena, msg, text, strlen(text));
		enum kg_verdict v = reply(c, API_SASL_AUTHENTICATE, ver, corr, o, reason);
		if (v == KG_CLOSE)
			return v;
		return fail(c, same_principal ? fail_text(c) : "principal changed on re-authentication",
			    true);
	}
	kc_set_string(&c->arena, bytes, (const char *)out, outlen);
	msg->u.b.len = -1;
	if (rc == KG_SASL_DONE) {
		authenticated(c, kg_sasl_user(c->sasl));
		if (life)
			life->u.i = auth_cfg(c)->session_lifetime_ms;
	}
	return reply(c, API_SASL_AUTHENTICATE, ver, corr, o, reason);
}

/* After SaslHandshake v0: tokens are bare length-prefixed frames. A
 * challenge is sent only when there is one (PLAIN success: an empty
 * frame); a failure closes without a word. */
static enum kg_verdict raw_token(struct kg_conn *c, const uint8_t *frame, size_t len,
				 const char **reason)
{
	const uint8_t *out = NULL;
	size_t outlen = 0;
	bool same_principal;
	int rc = step(c, frame + 4, len - 4, &out, &outlen, &same_principal);
	if (rc == KG_SASL_FAIL || !same_principal)
		return fail(c, rc == KG_SASL_FAIL ? fail_text(c) : "principal changed", true);
	uint8_t *f;
	long flen = kg_frame_raw(out, outlen, &f);
	if (flen < 0 || kg_exchange_queue_local(c, -1, -1, 0, f, flen) < 0) {
		*reason = "out of memory";
		return KG_CLOSE;
	}
	if (rc == KG_SASL_DONE) {
		authenticated(c, kg_sasl_user(c->sasl));
		c->sasl_raw = false;
	}
	return KG_CONSUMED;
}

enum kg_verdict kg_authn_request(struct kg_conn *c, const uint8_t *frame, size_t len,
				 const char **reason)
{
	/* Every frame here is cut out and answered locally: nothing before
	 * it may still be waiting to go upstream. */
	if (c->c_in.ready != c->c_in.sent)
		return KG_WAIT;
	if (c->auth_state == KG_AS_FAILED)
		return KG_CONSUMED;
	if (c->sasl_raw && c->auth_state == KG_AS_AUTHENTICATE)
		return raw_token(c, frame, len, reason);

	const uint8_t *body = frame + 4;
	size_t blen = len - 4;
	int16_t key, ver;
	int32_t corr;
	struct kc_req_header h;
	struct kc_obj *req;
	size_t used;
	kc_arena_reset(&c->arena);
	bool known = kc_peek_request_key(body, blen, &key, &ver, &corr) == KC_OK &&
		     kc_api_version_known(key, ver);
	if (known && key == API_API_VERSIONS && ver > kg_api_max_version(API_API_VERSIONS) &&
	    c->auth_state == KG_AS_INITIAL) {
		uint8_t *resp;
		long rlen = kg_apiversions_unsupported(corr, &resp);
		if (rlen < 0 || kg_exchange_queue_local(c, corr, key, ver, resp, rlen) < 0) {
			*reason = "out of memory";
			return KG_CLOSE;
		}
		return KG_CONSUMED;
	}
	bool parsed = known &&
		kc_decode_request_header(body, blen, &c->arena, &h) == KC_OK &&
		kc_decode_request_prefix(key, ver, body + h.header_len, blen - h.header_len,
					 &c->arena, &req, &used) == KC_OK;
	if (!parsed) {
		/* Not a request the gateway can read: a broker closes after the
		 * delay (in AUTHENTICATE v1, at once). */
		if (c->auth_state == KG_AS_AUTHENTICATE || c->auth_state == KG_AS_COMPLETE) {
			*reason = "unparseable request during authentication";
			return KG_CLOSE;
		}
		return fail(c, "not a Kafka request before authentication", false);
	}
	c->requests++;
	switch (c->auth_state) {
	case KG_AS_INITIAL:
		if (key == API_API_VERSIONS) {
			c->auth_state = KG_AS_AFTER_VERSIONS;
			return api_versions(c, ver, corr, req, reason);
		}
		/* fall through */
	case KG_AS_AFTER_VERSIONS:
		if (key == API_SASL_HANDSHAKE && ver <= sasl_api_max(API_SASL_HANDSHAKE))
			return handshake(c, ver, corr, req, reason);
		if (key == API_API_VERSIONS) {
			*reason = "second ApiVersions before authentication";
			return KG_CLOSE;
		}
		return fail(c, "request before authentication", false);
	case KG_AS_AUTHENTICATE:
		if (key == API_SASL_AUTHENTICATE && ver <= sasl_api_max(API_SASL_AUTHENTICATE))
			return authenticate(c, ver, corr, req, reason);
		if (key == API_SASL_AUTHENTICATE) {
			*reason = "unsupported SaslAuthenticate version";
			return KG_CLOSE;
		}
		{
			/* That API's own error shape with ILLEGAL_SASL_STATE,
			 * then close. */
			struct kc_obj *resp;
			if (kc_build_error_response(key, ver, req, ERR_ILLEGAL_SASL_STATE,
						    &c->arena, &resp) != KC_OK) {
				*reason = "request during authentication";
				return KG_CLOSE;
			}
			enum kg_verdict v = reply(c, key, ver, corr, resp, reason);
			c->auth_state = KG_AS_FAILED;
			c->close_after_flush = true;
			return v;
		}
	case KG_AS_COMPLETE:
		if (key == API_SASL_HANDSHAKE && ver <= sasl_api_max(API_SASL_HANDSHAKE))
			return handshake(c, ver, corr, req, reason);
		if (key == API_SASL_AUTHENTICATE && ver <= sasl_api_max(API_SASL_AUTHENTICATE))
			return authenticate(c, ver, corr, req, reason);
		*reason = "unsupported SASL request version";
		return KG_CLOSE;
	default:
		*reason = "authentication state";
		return KG_CLOSE;
	}
}
