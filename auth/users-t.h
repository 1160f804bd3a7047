/*
 * users-t.h - types of the SASL credential store: salted SCRAM verifiers
 * per user and mechanism, never a plaintext password.
 *
 * Users file (JSON, version 1). Mode must be 0600 or stricter (the loader
 * refuses a file any group/other bit is set on), it is replaced atomically
 * by `kafka-gateway user ...`:
 *
 *   {
 *     "version": 1,
 *     "users": {
 *       "alice": {
 *         "SCRAM-SHA-512": {"salt": "<base64>", "stored_key": "<base64>",
 *                           "server_key": "<base64>", "iterations": 8192},
 *         "SCRAM-SHA-256": {...}
 *       }
 *     }
 *   }
 *
 *   - user names: non-empty UTF-8, no control characters (U+0000-U+001F,
 *     U+007F-U+009F), at most KG_USER_NAME_MAX bytes; taken as is (Kafka
 *     applies no SASLprep), so "Alice" and "alice" are different users.
 *   - each user has one or both of "SCRAM-SHA-256" and "SCRAM-SHA-512";
 *     unknown keys anywhere are an error (a typo must not silently drop a
 *     credential).
 *   - salt: 1..KG_SCRAM_SALT_MAX bytes; stored_key / server_key: exactly
 *     32 (SHA-256) or 64 (SHA-512) bytes; standard base64 with padding.
 *   - iterations: 4096..16384, Kafka's bounds for SCRAM.
 *   - StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey =
 *     HMAC(SaltedPassword, "Server Key"), SaltedPassword = PBKDF2-HMAC-H(
 *     UTF-8 password, salt, iterations): the same values Kafka keeps in its
 *     UserScramCredentialRecord, so credentials can be carried over.
 *   - PLAIN logins are checked against the SCRAM-SHA-512 verifier when the
 *     user has one, else SCRAM-SHA-256 (PBKDF2 at login time).
 *
 * A loaded struct kg_users is immutable and refcounted; readers hold a
 * reference for as long as they use it (one SASL exchange), and a reload
 * swaps the process-wide current pointer.
 */
#ifndef KG_USERS_T_H
#define KG_USERS_T_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define KG_SCRAM_ITER_MIN 4096       /* Kafka ScramMechanism minimum */
#define KG_SCRAM_ITER_MAX 16384      /* Kafka ScramMechanism maximum */
#define KG_SCRAM_ITER_DEFAULT 8192   /* what the CLI uses unless told */
#define KG_SCRAM_KEY_MAX 64          /* SHA-512 output */
#define KG_SCRAM_SALT_MAX 128        /* longest salt accepted from a file */
#define KG_SCRAM_SALT_DEFAULT 24     /* bytes of a fresh random salt */
#define KG_USER_NAME_MAX 512         /* longest user name, in bytes */

/* SCRAM mechanisms a credential can be for. */
enum kg_scram_mech {
	KG_SCRAM_SHA_256 = 0,        /* "SCRAM-SHA-256", 32-byte keys */
	KG_SCRAM_SHA_512 = 1,        /* "SCRAM-SHA-512", 64-byte keys */
	KG_SCRAM_NMECH = 2
};

/* What a client sees of a credential before it proves anything: the
 * iteration count and the salt length. */
struct kg_scram_shape {
	uint32_t iterations;         /* PBKDF2 rounds */
	uint32_t saltlen;            /* salt bytes */
};

#define KG_USERS_DECOY_KEY_LEN 32

/* One salted verifier (Kafka's ScramCredential). */
struct kg_scram_cred {
	uint8_t present;             /* 1: this slot holds a credential */
	uint8_t fake;                /* 1: made up for an unknown user; never
	                                verifies, whatever the client sends */
	uint8_t mech;                /* enum kg_scram_mech */
	uint8_t keylen;              /* 32 or 64, from mech */
	uint32_t iterations;         /* PBKDF2 rounds, 4096..16384 */
	uint32_t saltlen;            /* bytes used in salt[] */
	uint8_t salt[KG_SCRAM_SALT_MAX];      /* PBKDF2 salt */
	uint8_t stored_key[KG_SCRAM_KEY_MAX]; /* H(ClientKey), keylen bytes */
	uint8_t server_key[KG_SCRAM_KEY_MAX]; /* HMAC(SP,"Server Key") */
};

/* One user and its credentials, indexed by enum kg_scram_mech. */
struct kg_user {
	char *name;                  /* NUL-terminated, validated UTF-8 */
	struct kg_scram_cred cred[KG_SCRAM_NMECH]; /* absent: present == 0 */
};

/* A set of users; immutable once shared (refs > 1 or made current). */
struct kg_users {
	atomic_int refs;             /* holders; freed when it drops to 0 */
	struct kg_user *user;        /* sorted by strcmp(name), no duplicates */
	size_t n;                    /* users in user[] */
	size_t cap;                  /* allocated slots in user[] */
	struct kg_scram_shape *shapes[KG_SCRAM_NMECH]; /* the real users'
	                                shapes per mechanism, one per user: a
	                                made-up credential takes one, picked by
	                                a keyed hash of the name, so fakes have
	                                each shape as often as real users do */
	size_t nshapes[KG_SCRAM_NMECH]; /* count of shapes[m]; 0: defaults */
	uint8_t decoy_key[KG_USERS_DECOY_KEY_LEN]; /* keys the made-up salts
	                                and shapes; kept in the file, so they
	                                stay the same across restarts as real
	                                salts do */
	uint8_t has_decoy_key;       /* 0: the file has none (a per-process
	                                key is used) */
	uint8_t plain_mech;          /* mechanism whose fake credential PLAIN
	                                uses for an unknown user: the one most
	                                users would be checked with */
};

#endif
