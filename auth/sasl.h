/*
 * sasl.h - SASL server for Kafka clients: SCRAM-SHA-256, SCRAM-SHA-512 and
 * PLAIN through cyrus-sasl, against the credential store of users.h.
 * Link with -lsasl2 -lcrypto -ljansson -pthread.
 *
 * Threads: call kg_sasl_init once from the main thread before any worker
 * starts (cyrus's global state - plugin lists, mutex hooks - is set up
 * there and read-only afterwards; cyrus itself documents sasl_server_init
 * as not thread safe). After that, sessions may be created, stepped and
 * freed from any number of threads concurrently, one thread per session at
 * a time. The credential set is swapped with kg_users_swap at any time: a
 * session keeps the set that was current when it was created.
 */
#ifndef KG_SASL_H
#define KG_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "auth/sasl-t.h"

/*
 * Initialises cyrus-sasl as a server: pthread mutexes for its internals,
 * plugins loaded only from libsasl2's own plugin directory and only
 * libscram and libplain (no sasldb, no other auxprop), no configuration
 * file, our auxprop plugin serving stored SCRAM verifiers, our user-name
 * canonicalisation (names as sent, no trimming or realm). Fails when one of
 * SCRAM-SHA-256, SCRAM-SHA-512, PLAIN is not available. Idempotent.
 * Returns 0, or -1 with a message.
 */
int kg_sasl_init(char *err, size_t errlen);

/* enum kg_sasl_mech for a mechanism name as a client sends it in
 * SaslHandshake (exact, case-sensitive, as Kafka compares), or -1. */
int kg_sasl_mech_parse(const char *name);
/* The name of a mechanism, or NULL. */
const char *kg_sasl_mech_name(int mech);

/*
 * Starts an exchange for mechanism name `mech`, which must be in `allowed`
 * (KG_SASL_MECH_BIT mask, from the listener's configuration). Takes a
 * reference to the current credential set. Returns NULL with a message in
 * err when the mechanism is unknown or not allowed (the caller answers
 * UNSUPPORTED_SASL_MECHANISM), kg_sasl_init was not called, or cyrus fails.
 */
struct kg_sasl_sess *kg_sasl_new(const char *mech, unsigned allowed, char *err, size_t errlen);

/*
 * Feeds one client token (the AuthBytes of a SaslAuthenticate, or a raw
 * v0 token). On KG_SASL_CONTINUE and KG_SASL_DONE, *out / *outlen is the
 * server token to send (SCRAM: server-first, then server-final "v=...";
 * PLAIN: empty), valid until the next call on s. On KG_SASL_FAIL, *out is
 * NULL: the caller sends Kafka's generic error, never kg_sasl_fail_reason.
 * Kafka's rules are applied before cyrus sees a token:
 *   SCRAM client-first: gs2 header "n,," or "n,a=<authzid>," (no channel
 *   binding), authzid equal to the user name, no reserved "m=" extension,
 *   no "tokenauth" extension (delegation tokens are not supported), user
 *   and nonce well formed, =2C / =3D decoded, no SASLprep;
 *   SCRAM client-final: c= is exactly base64(gs2 header);
 *   PLAIN: exactly "authzid NUL user NUL password", user and password
 *   non-empty, authzid empty or equal to the user.
 * An unknown user runs the SCRAM exchange to the end with a made-up salt
 * and fails at the proof, like a wrong password.
 */
int kg_sasl_step(struct kg_sasl_sess *s, const uint8_t *in, size_t inlen, const uint8_t **out,
		 size_t *outlen);

/* The authenticated user name (Kafka principal "User:<name>") once a step
 * returned KG_SASL_DONE, else "". */
const char *kg_sasl_user(const struct kg_sasl_sess *s);
/* The user name the client claimed so far (SCRAM client-first, PLAIN
 * token), NULL before one was read. For the login limiter: not a proof. */
const char *kg_sasl_claimed_user(const struct kg_sasl_sess *s);
/* Why the exchange failed, for the gateway's log only. "" if it did not. */
const char *kg_sasl_fail_reason(const struct kg_sasl_sess *s);
/* 1 when the failure was for a user name with no credential (log only). */
int kg_sasl_unknown_user(const struct kg_sasl_sess *s);

void kg_sasl_free(struct kg_sasl_sess *s);
/* Compatibility (listen.auth.scram_nonce "suffix"): accept a SCRAM
 * client-final nonce that ends with the server's nonce, as Kafka 3.8.1-3.9
 * did for librdkafka before 2.6.1 (sasl_nonce.c). Before the first step. */
void kg_sasl_allow_nonce_suffix(struct kg_sasl_sess *s);
/* Whether a finished exchange was accepted only thanks to it. */
bool kg_sasl_nonce_suffix_used(const struct kg_sasl_sess *s);

#endif
