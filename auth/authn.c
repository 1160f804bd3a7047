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
 *
 * It works on its own state (struct kg_authn) and talks back to the loop
 * only through a->answer (responses, in order), a->api_versions (the
 * ApiVersions answer, which needs the brokers' ranges) and the flags it
 * raises (connect upstream, failure delay, close after the answer).
 */
#define _GNU_SOURCE
#include "auth/authn.h"
#include "audit/audit.h"
#include "auth/limiter.h"
#include "auth/sasl.h"
#include "base/log.h"
#include "base/metrics.h"
#include "io/net.h"
#include "kafka/codec.h"
#include "kafka/errors.h"
#include "kafka/frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Highest versions the gateway speaks for the SASL APIs themselves. */
#define SASL_HANDSHAKE_MAX 1
#define SASL_AUTHENTICATE_MAX 2

int16_t kg_sasl_api_max(int16_t key)
{
	const struct kc_api *api = kc_api_find(key);
	int16_t mine = key == KC_API_SASL_HANDSHAKE ? KG_SASL_HANDSHAKE_MAX
		     : key == KC_API_SASL_AUTHENTICATE ? KG_SASL_AUTHENTICATE_MAX : -1;
	if (mine < 0 || !api || !api->request)
		return -1;
	return api->request->valid.max < mine ? api->request->valid.max : mine;
}

static void audit_auth(struct kg_authn *a, bool ok, const char *mechanism, const char *reason)
{
	struct kg_audit_auth e = { .ok = ok, .mechanism = mechanism, .reason = reason,
				   .principal = ok ? a->principal : NULL, .reauth = a->reauth,
				   .compatibility = ok && kg_sasl_nonce_suffix_used(a->sasl)
							    ? "scram_nonce_suffix" : NULL };
	kg_audit_auth(a->audit, &e);
	kg_metrics_login(mechanism, ok);
}

/* Ends the exchange: the (optional) reply is held for the failure delay,
 * then sent, then the connection is closed, as a broker does. */
static enum kg_verdict fail(struct kg_authn *a, const char *why, bool count)
{
	log_warn("conn %llu %s: authentication failed: %s", (unsigned long long)a->conn_id,
		 a->peer_text, why);
	audit_auth(a, false, a->sasl || a->reauth ? kg_sasl_mech_name(a->sasl_mech) : NULL, why);
	if (count) {
		const char *claimed = kg_sasl_claimed_user(a->sasl);
		const char *user = claimed ? claimed : "";
		enum kg_limit l = kg_limiter_fail(a->peer, user, strlen(user));
		char clean[64], host[64];
		kg_net_host_str(a->peer, host, sizeof(host));
		if (l == KG_LIMIT_USER)
			log_warn("logins of user '%s' from %s blocked for %u ms after repeated "
				 "authentication failures (conn %llu)",
				 kg_log_clean(user, strlen(user), clean, sizeof(clean)),
				 host, a->cfg->block_ms, (unsigned long long)a->conn_id);
		else if (l == KG_LIMIT_ADDRESS)
			log_warn("client address %s blocked for %u ms after repeated authentication "
				 "failures for many users (conn %llu)", host, a->cfg->block_ms,
				 (unsigned long long)a->conn_id);
	}
	a->state = KG_AS_FAILED;
	a->failure_delay = true;
	kg_sasl_free(a->sasl);
	a->sasl = NULL;
	return KG_CONSUMED;
}

static enum kg_verdict queue(struct kg_authn *a, int32_t corr, int16_t key, int16_t ver,
			     uint8_t *frame, long len, const char **reason)
{
	if (len < 0 || a->answer.queue(a->answer.ctx, corr, key, ver, frame, len) < 0) {
		*reason = "cannot build a response";
		return KG_CLOSE;
	}
	return KG_CONSUMED;
}

static enum kg_verdict reply(struct kg_authn *a, int16_t key, int16_t ver, int32_t corr,
			     const struct kc_obj *o, const char **reason)
{
	uint8_t *frame = NULL;
	long len = kg_frame_response(key, ver, corr, o, &frame);
	return queue(a, corr, key, ver, frame, len, reason);
}

static enum kg_verdict handshake(struct kg_authn *a, double now, int16_t ver, int32_t corr,
				 struct kc_obj *req, const char **reason)
{
	const struct kg_auth_cfg *cfg = a->cfg;
	const struct kc_api *api = kc_api_find(KC_API_SASL_HANDSHAKE);
	struct kc_value *m = kc_at(req, KCF_SaslHandshakeRequest_Mechanism);
	struct kc_obj *o = kc_obj_new(api->response->body, ver, a->arena);
	struct kc_value *err = kc_at(o, KCF_SaslHandshakeResponse_ErrorCode);
	struct kc_value *list = kc_resize_at(a->arena, o, KCF_SaslHandshakeResponse_Mechanisms,
					     ver, (int32_t)cfg->nmech);
	if (!m || !err || !list) {
		*reason = "cannot build SaslHandshake response";
		return KG_CLOSE;
	}
	for (size_t i = 0; i < cfg->nmech; i++)
		kc_set_string(a->arena, &list->u.arr.v[i], cfg->mech_list[i],
			      strlen(cfg->mech_list[i]));
	char mech[32] = "";
	if (m->u.b.len > 0 && m->u.b.len < (int32_t)sizeof(mech))
		memcpy(mech, m->u.b.p, (size_t)m->u.b.len);
	int mi = kg_sasl_mech_parse(mech);
	bool enabled = mi >= 0 && (cfg->mechanisms & KG_SASL_MECH_BIT(mi));

	if (a->state == KG_AS_COMPLETE) {
		/* KIP-368: only with a session lifetime, at most once a second. */
		if (a->session_expiry == 0 || now - a->reauth_started < 1.0 || !enabled) {
			err->u.i = KERR_ILLEGAL_SASL_STATE;
			return reply(a, KC_API_SASL_HANDSHAKE, ver, corr, o, reason);
		}
		a->reauth = true;
		a->reauth_started = now;
		/* Another mechanism is accepted here and fails at the token,
		 * as the broker does. */
		a->reauth_bad_mech = mi != a->sasl_mech;
	} else if (!enabled) {
		err->u.i = KERR_UNSUPPORTED_SASL_MECHANISM;
		char clean[40];
		log_warn("conn %llu %s: unsupported SASL mechanism '%s'",
			 (unsigned long long)a->conn_id, a->peer_text,
			 kg_log_clean(mech, strlen(mech), clean, sizeof(clean)));
		audit_auth(a, false, clean, "unsupported SASL mechanism");
		enum kg_verdict v = reply(a, KC_API_SASL_HANDSHAKE, ver, corr, o, reason);
		a->state = KG_AS_FAILED;
		a->close_after_flush = true;
		return v;
	}
	char why[128];
	kg_sasl_free(a->sasl);
	a->sasl = kg_sasl_new(mech, cfg->mechanisms, why, sizeof(why));
	if (!a->sasl) {
		*reason = "cannot start SASL";
		log_error("conn %llu: %s", (unsigned long long)a->conn_id, why);
		return KG_CLOSE;
	}
	if (cfg->scram_nonce_suffix)
		kg_sasl_allow_nonce_suffix(a->sasl);
	if (a->state != KG_AS_COMPLETE) {
		a->sasl_mech = mi;
		a->state = KG_AS_AUTHENTICATE;
	}
	a->sasl_raw = ver == 0;
	return reply(a, KC_API_SASL_HANDSHAKE, ver, corr, o, reason);
}

/* "User:<user>" into out (KG_AUTHN_PRINCIPAL_MAX + 1 bytes); false when it
 * would not fit whole: the login is then refused, never the name cut. */
static bool principal_of(const char *user, char *out)
{
	int n = snprintf(out, KG_AUTHN_PRINCIPAL_MAX + 1, "User:%s", user);
	return n > 5 && n <= KG_AUTHN_PRINCIPAL_MAX;
}

static char no_principal[] = "";

int kg_authn_set_principal(struct kg_authn *a, const char *name)
{
	char buf[KG_AUTHN_PRINCIPAL_MAX + 1];
	if (!principal_of(name, buf))
		return -1;
	char *p = strdup(buf);
	if (!p)
		return -1;
	if (a->principal && a->principal != no_principal)
		free(a->principal);
	a->principal = p;
	return 0;
}

void kg_authn_init(struct kg_authn *a)
{
	a->principal = no_principal;
}

/* Success: the principal is set, the session lifetime starts, and (the
 * first time) the upstream connection is made. The caller checked that
 * the principal fits (step). */
static bool authenticated(struct kg_authn *a, double now, const char *user)
{
	const struct kg_auth_cfg *cfg = a->cfg;
	char clean[256];
	kg_log_clean(user, strlen(user), clean, sizeof(clean));
	if (!a->reauth) {
		if (kg_authn_set_principal(a, user) < 0)
			return false;
		a->connect_pending = true;
		a->reauth_started = now;
		kg_audit_principal(a->audit, a->principal);
		if (a->on_principal.fn)
			a->on_principal.fn(a->on_principal.arg, a->principal);
	}
	log_info("conn %llu %s: %sauthenticated as User:%s with %s",
		 (unsigned long long)a->conn_id, a->peer_text, a->reauth ? "re-" : "", clean,
		 kg_sasl_mech_name(a->sasl_mech));
	if (kg_sasl_nonce_suffix_used(a->sasl))
		log_warn("conn %llu %s: SCRAM client nonce accepted because it ends with the "
			 "server's (listen.auth.scram_nonce \"suffix\"; librdkafka before 2.6.1)",
			 (unsigned long long)a->conn_id, a->peer_text);
	audit_auth(a, true, kg_sasl_mech_name(a->sasl_mech), NULL);
	a->session_expiry = cfg->session_lifetime_ms ? now + cfg->session_lifetime_ms / 1000.0 : 0;
	a->state = KG_AS_COMPLETE;
	a->reauth = false;
	kg_sasl_free(a->sasl);
	a->sasl = NULL;
	return true;
}

/* One token through the SASL session. Returns the kg_sasl rc; on success
 * *principal_ok tells whether the principal is whole and, for a
 * re-authentication, the same as before. */
static int step(struct kg_authn *a, const uint8_t *in, size_t inlen, const uint8_t **out,
		size_t *outlen, bool *principal_ok)
{
	*principal_ok = true;
	if (!a->sasl || a->reauth_bad_mech)
		return KG_SASL_FAIL;
	int rc = kg_sasl_step(a->sasl, in, inlen, out, outlen);
	const char *user = kg_sasl_claimed_user(a->sasl);
	/* A refused (address, user) pair runs the exchange to the end and
	 * fails even with the right password: no answer tells a guesser
	 * whether the last try was right. */
	if (rc == KG_SASL_DONE && user && kg_limiter_user_blocked(a->peer, user, strlen(user))) {
		a->limited = true;
		return KG_SASL_FAIL;
	}
	if (rc == KG_SASL_DONE) {
		char now[KG_AUTHN_PRINCIPAL_MAX + 1];
		*principal_ok = principal_of(kg_sasl_user(a->sasl), now) &&
				(!a->reauth || strcmp(now, a->principal) == 0);
	}
	return rc;
}

static const char *principal_problem(const struct kg_authn *a)
{
	return a->reauth ? "principal changed on re-authentication"
			 : "user name too long for a principal";
}

static const char *fail_text(struct kg_authn *a)
{
	if (a->limited)
		return "too many failed logins for this user from this address";
	return kg_sasl_fail_reason(a->sasl) && kg_sasl_fail_reason(a->sasl)[0]
		       ? kg_sasl_fail_reason(a->sasl) : "invalid credentials";
}

static enum kg_verdict authenticate(struct kg_authn *a, double now, int16_t ver, int32_t corr,
				    struct kc_obj *req, const char **reason)
{
	const struct kc_api *api = kc_api_find(KC_API_SASL_AUTHENTICATE);
	struct kc_obj *o = kc_obj_new(api->response->body, ver, a->arena);
	struct kc_value *err = kc_at(o, KCF_SaslAuthenticateResponse_ErrorCode);
	struct kc_value *msg = kc_at(o, KCF_SaslAuthenticateResponse_ErrorMessage);
	struct kc_value *bytes = kc_at(o, KCF_SaslAuthenticateResponse_AuthBytes);
	struct kc_value *life = kc_at(o, KCF_SaslAuthenticateResponse_SessionLifetimeMs);
	struct kc_value *in = kc_at(req, KCF_SaslAuthenticateRequest_AuthBytes);
	if (!err || !msg || !bytes || !in) {
		*reason = "cannot build SaslAuthenticate response";
		return KG_CLOSE;
	}
	if (a->state == KG_AS_COMPLETE && !a->reauth) {
		static const char text[] = "SaslAuthenticate request received after successful "
					   "authentication";
		err->u.i = KERR_ILLEGAL_SASL_STATE;
		kc_set_string(a->arena, msg, text, sizeof(text) - 1);
		return reply(a, KC_API_SASL_AUTHENTICATE, ver, corr, o, reason);
	}
	const uint8_t *out = NULL;
	size_t outlen = 0;
	bool same_principal;
	int rc = step(a, in->u.b.p, in->u.b.len > 0 ? (size_t)in->u.b.len : 0, &out, &outlen,
		      &same_principal);
	if (rc == KG_SASL_FAIL || !same_principal) {
		char text[KG_AUTHN_PRINCIPAL_MAX + 128];
		if (!same_principal && a->reauth)
			snprintf(text, sizeof(text), "Cannot change principals during "
				 "re-authentication from %s", a->principal);
		else
			snprintf(text, sizeof(text), "Authentication failed during %s due to "
				 "invalid credentials with SASL mechanism %s",
				 a->reauth ? "re-authentication" : "authentication",
				 kg_sasl_mech_name(a->sasl_mech));
		err->u.i = KERR_SASL_AUTHENTICATION_FAILED;
		kc_set_string(a->arena, msg, text, strlen(text));
		enum kg_verdict v = reply(a, KC_API_SASL_AUTHENTICATE, ver, corr, o, reason);
		if (v == KG_CLOSE)
			return v;
		return fail(a, same_principal ? fail_text(a) : principal_problem(a), !a->limited);
	}
	kc_set_string(a->arena, bytes, (const char *)out, outlen);
	msg->u.b.len = -1;
	if (rc == KG_SASL_DONE) {
		if (!authenticated(a, now, kg_sasl_user(a->sasl))) {
			*reason = "out of memory";
			return KG_CLOSE;
		}
		if (life)
			life->u.i = a->cfg->session_lifetime_ms;
	}
	return reply(a, KC_API_SASL_AUTHENTICATE, ver, corr, o, reason);
}

/* After SaslHandshake v0: tokens are bare length-prefixed frames. A
 * challenge is sent only when there is one (PLAIN success: an empty
 * frame); a failure closes without a word. */
static enum kg_verdict raw_token(struct kg_authn *a, double now, const uint8_t *frame,
				 size_t len, const char **reason)
{
	const uint8_t *out = NULL;
	size_t outlen = 0;
	bool same_principal;
	int rc = step(a, frame + 4, len - 4, &out, &outlen, &same_principal);
	if (rc == KG_SASL_FAIL || !same_principal)
		return fail(a, rc == KG_SASL_FAIL ? fail_text(a) : principal_problem(a),
			    !a->limited);
	uint8_t *f = NULL;
	long flen = kg_frame_raw(out, outlen, &f);
	if (queue(a, -1, -1, 0, f, flen, reason) == KG_CLOSE) {
		*reason = "out of memory";
		return KG_CLOSE;
	}
	if (rc == KG_SASL_DONE) {
		if (!authenticated(a, now, kg_sasl_user(a->sasl))) {
			*reason = "out of memory";
			return KG_CLOSE;
		}
		a->sasl_raw = false;
	}
	return KG_CONSUMED;
}

/* ApiVersions before authentication, answered from the loop's callback;
 * the unsupported-version answer leaves the state where it was. req is
 * NULL when the body could not be decoded. */
static enum kg_verdict api_versions(struct kg_authn *a, int16_t ver, int32_t corr,
				    struct kc_obj *req, const char **reason)
{
	bool full = false;
	uint8_t *frame = NULL;
	long n = a->api_versions(a->answer.ctx, ver, corr, req, a->arena, &full, &frame, reason);
	if (n == -2)
		return fail(a, "not a Kafka request before authentication", false);
	if (n < 0)
		return KG_CLOSE;
	if (full)
		a->state = KG_AS_AFTER_VERSIONS;
	return queue(a, corr, KC_API_API_VERSIONS, ver, frame, n, reason);
}

enum kg_verdict kg_authn_request(struct kg_authn *a, double now, const uint8_t *frame,
				 size_t len, const char **reason)
{
	if (a->state == KG_AS_FAILED)
		return KG_CONSUMED;
	if (a->sasl_raw && a->state == KG_AS_AUTHENTICATE)
		return raw_token(a, now, frame, len, reason);

	const uint8_t *body = frame + 4;
	size_t blen = len - 4;
	int16_t key, ver;
	int32_t corr;
	struct kc_req_header h;
	struct kc_obj *req = NULL;
	size_t used;
	kc_arena_reset(a->arena);
	bool known = kc_peek_request_key(body, blen, &key, &ver, &corr) == KC_OK &&
		     kc_api_version_known(key, ver);
	bool parsed = known &&
		kc_decode_request_header(body, blen, a->arena, &h) == KC_OK &&
		kc_decode_request_prefix(key, ver, body + h.header_len, blen - h.header_len,
					 a->arena, &req, &used) == KC_OK;
	if (known && key == KC_API_API_VERSIONS && a->state == KG_AS_INITIAL) {
		a->request_seen = parsed;
		return api_versions(a, ver, corr, parsed ? req : NULL, reason);
	}
	if (!parsed) {
		/* Not a request the gateway can read: a broker closes after the
		 * delay (in AUTHENTICATE v1, at once). */
		if (a->state == KG_AS_AUTHENTICATE || a->state == KG_AS_COMPLETE) {
			*reason = "unparseable request during authentication";
			return KG_CLOSE;
		}
		return fail(a, "not a Kafka request before authentication", false);
	}
	a->request_seen = true;
	switch (a->state) {
	case KG_AS_INITIAL:
		/* fall through: not ApiVersions */
	case KG_AS_AFTER_VERSIONS:
		if (key == KC_API_SASL_HANDSHAKE && ver <= kg_sasl_api_max(KC_API_SASL_HANDSHAKE))
			return handshake(a, now, ver, corr, req, reason);
		if (key == KC_API_API_VERSIONS) {
			*reason = "second ApiVersions before authentication";
			return KG_CLOSE;
		}
		return fail(a, "request before authentication", false);
	case KG_AS_AUTHENTICATE:
		if (key == KC_API_SASL_AUTHENTICATE && ver <= kg_sasl_api_max(KC_API_SASL_AUTHENTICATE))
			return authenticate(a, now, ver, corr, req, reason);
		if (key == KC_API_SASL_AUTHENTICATE) {
			*reason = "unsupported SaslAuthenticate version";
			return KG_CLOSE;
		}
		{
			/* That API's own error shape with ILLEGAL_SASL_STATE,
			 * then close. */
			struct kc_obj *resp;
			if (kc_build_error_response(key, ver, req, KERR_ILLEGAL_SASL_STATE, a->arena,
						    &resp) != KC_OK) {
				*reason = "request during authentication";
				return KG_CLOSE;
			}
			enum kg_verdict v = reply(a, key, ver, corr, resp, reason);
			a->state = KG_AS_FAILED;
			a->close_after_flush = true;
			return v;
		}
	case KG_AS_COMPLETE:
		if (key == KC_API_SASL_HANDSHAKE && ver <= kg_sasl_api_max(KC_API_SASL_HANDSHAKE))
			return handshake(a, now, ver, corr, req, reason);
		if (key == KC_API_SASL_AUTHENTICATE && ver <= kg_sasl_api_max(KC_API_SASL_AUTHENTICATE))
			return authenticate(a, now, ver, corr, req, reason);
		*reason = "unsupported SASL request version";
		return KG_CLOSE;
	default:
		*reason = "authentication state";
		return KG_CLOSE;
	}
}

void kg_authn_release(struct kg_authn *a)
{
	kg_sasl_free(a->sasl);
	a->sasl = NULL;
	if (a->principal && a->principal != no_principal)
		free(a->principal);
	a->principal = no_principal;
}
