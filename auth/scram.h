/* scram.h - SCRAM mechanisms and key derivation, and the base64 of the
 * users file (scram.c). Link with -lcrypto. */
#ifndef KG_AUTH_SCRAM_H
#define KG_AUTH_SCRAM_H

#include <stddef.h>
#include <stdint.h>
#include "auth/users-t.h"

/* "SCRAM-SHA-256" / "SCRAM-SHA-512", or NULL for another value. */
const char *kg_scram_mech_name(int mech);
/* The enum kg_scram_mech for an exact (case-sensitive) name, or -1. */
int kg_scram_mech_parse(const char *name);
/* Hash output size: 32 or 64; 0 for an unknown mech. */
size_t kg_scram_keylen(int mech);

/*
 * Derives a credential from a password: SaltedPassword = PBKDF2-HMAC-H(
 * password, salt, iterations) (no SASLprep: the bytes as given, like
 * Kafka), StoredKey = H(HMAC(SP,"Client Key")), ServerKey = HMAC(SP,
 * "Server Key"). Fills out (present = 1, fake = 0). Returns 0, or -1 on a
 * bad argument (iterations outside 4096..16384, salt empty or longer than
 * KG_SCRAM_SALT_MAX) or an OpenSSL failure. Intermediate secrets are
 * wiped.
 */
int kg_scram_derive(int mech, const char *password, size_t pwlen, const uint8_t *salt,
		    size_t saltlen, uint32_t iterations, struct kg_scram_cred *out);

/*
 * For PLAIN: 1 when password derives to c's StoredKey (compared with
 * CRYPTO_memcmp), else 0. Always does the full PBKDF2, also for a fake
 * credential (which then returns 0), so an unknown user costs the same
 * time as a wrong password.
 */
int kg_scram_check_password(const struct kg_scram_cred *c, const char *password, size_t pwlen);

/*
 * The server side of SCRAM's last step (RFC 5802): 1 when proof is the
 * client's proof for auth_msg (client-first-bare "," server-first ","
 * client-final-without-proof) under c (H(proof XOR HMAC(StoredKey,
 * auth_msg)) == StoredKey, compared in constant time; never for a fake),
 * and then server_sig (keylen bytes) holds HMAC(ServerKey, auth_msg) for
 * the server-final "v=". 0 otherwise.
 */
int kg_scram_verify_proof(const struct kg_scram_cred *c, const char *auth_msg, size_t len,
			  const uint8_t *proof, size_t prooflen, uint8_t *server_sig);

/* Fills buf with n random bytes (OpenSSL RAND). Returns 0 or -1. */
int kg_scram_random_salt(uint8_t *buf, size_t n);

/* Standard base64 with padding. encode: writes a NUL-terminated string,
 * returns its length or -1 when out is too small. decode: strict (no
 * whitespace, canonical padding), returns the byte count or -1. */
long kg_b64_encode(const uint8_t *in, size_t inlen, char *out, size_t outlen);
long kg_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen);

#endif
