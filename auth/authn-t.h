/* authn-t.h - where a connection is in the broker's SASL state machine
 * (authn.c), and who it is. Embedded in the loop's connection; the loop
 * fills the settings part when the connection opens and reads the flags
 * authn raises. */
#ifndef KG_AUTH_AUTHN_T_H
#define KG_AUTH_AUTHN_T_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth/auth-t.h"
#include "auth/users-t.h"
#include "base/exchange-t.h"
#include "kafka/codec-t.h"

enum kg_auth_state {
	KG_AS_NONE,                    /* listener without SASL */
	KG_AS_INITIAL,                 /* ApiVersions or SaslHandshake expected */
	KG_AS_AFTER_VERSIONS,          /* ApiVersions answered; SaslHandshake next */
	KG_AS_AUTHENTICATE,            /* tokens (SaslAuthenticate or raw v0) */
	KG_AS_COMPLETE,                /* authenticated */
	KG_AS_FAILED                   /* failed; closing after the delay */
};

/* Builds the answer to an ApiVersions request before authentication
 * (the loop's, from the brokers' ranges): the frame in *frame, its length
 * returned (-1 on failure); *full is false when it was the
 * unsupported-version answer, which leaves the state where it was. req
 * is NULL when the body did not decode: -2 then says it had to be read.
 * -1 (with *reason) when no answer can be made. */
typedef long (*kg_api_versions_fn)(void *ctx, int16_t version, int32_t corr,
				   struct kc_obj *req, struct kc_arena *a, bool *full,
				   uint8_t **frame, const char **reason);

struct kg_sasl_sess;
struct kg_audit_conn;

/* "User:" and the longest user name (or mapped certificate name): a
 * principal always fits whole; nothing is ever cut to fit (a name that
 * would not fit is refused). */
#define KG_AUTHN_PRINCIPAL_MAX (5 + KG_USER_NAME_MAX)

/* Told the principal the moment a login establishes it, before the login
 * is audited (the gateway finds the principal's tenant). */
struct kg_principal_hook {
	void (*fn)(void *arg, const char *principal); /* NULL: nobody */
	void *arg;                     /* handed back to fn */
};

struct kg_authn {
	/* set by the connection when it opens */
	const struct kg_auth_cfg *cfg; /* listen.auth */
	const struct sockaddr *peer;   /* client address, for the limiter */
	uint64_t conn_id;              /* for logs */
	const char *peer_text;         /* client address text, for logs */
	struct kg_audit_conn *audit;   /* audit context, or NULL */
	struct kg_answer answer;       /* where responses go, in order */
	kg_api_versions_fn api_versions; /* ApiVersions before authentication */
	struct kg_principal_hook on_principal; /* see above */
	struct kc_arena *arena;        /* the connection's frame arena */

	/* state */
	int state;                     /* enum kg_auth_state */
	char *principal;               /* "User:..." once known (certificate
	                                  or SASL), never cut; malloc'd, "" (not
	                                  owned) before: kg_authn_set_principal */
	struct kg_sasl_sess *sasl;     /* SASL exchange in progress */
	int sasl_mech;                 /* mechanism of the (last) exchange */
	bool sasl_raw;                 /* SaslHandshake v0: raw token frames */
	bool reauth;                   /* KIP-368 re-authentication running */
	bool reauth_bad_mech;          /* it asked for another mechanism */
	bool limited;                  /* failed: the login limiter refuses
	                                  this (address, user) pair */
	double session_expiry;         /* KIP-368 session end (loop clock), 0 = none */
	double reauth_started;         /* when the last re-authentication began */

	/* raised for the loop, which clears them when it acted */
	bool connect_pending;          /* authenticated: connect upstream now */
	bool failure_delay;            /* failed: hold output for
	                                  cfg->failure_delay_ms, then close */
	bool close_after_flush;        /* answered; close once it is sent */
	bool request_seen;             /* the frame was a request (the loop
	                                  counts it) */
};

#endif
