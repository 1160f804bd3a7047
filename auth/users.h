/* users.h - SASL credential store and SCRAM key derivation (see users-t.h).
 * Link with -ljansson -lcrypto -pthread. */
#ifndef KG_USERS_H
#define KG_USERS_H

#include <stddef.h>
#include <stdint.h>
#include "auth/scram.h"
#include "auth/users-t.h"

/* 1 when name (len bytes) is a valid user name: 1..KG_USER_NAME_MAX
 * bytes of UTF-8 (shortest form, no surrogates) without control
 * characters or NUL. */
int kg_user_name_valid(const char *name, size_t len);

/* An empty, unshared set (refs = 1), e.g. for the CLI's new file. */
struct kg_users *kg_users_new(void);

/*
 * Reads and validates a users file. Returns a set with one reference, or
 * NULL with a message in err that names the file, the JSON Pointer of the
 * offending value (RFC 6901, e.g. /users/alice/SCRAM-SHA-512/iterations)
 * and the problem. Refuses a file that is not a regular file or whose mode
 * gives group or other any access (it holds password verifiers, like an
 * ssh private key). errno is ENOENT on return when the file is missing,
 * so the CLI can start a new one.
 */
struct kg_users *kg_users_load(const char *path, char *err, size_t errlen);

/*
 * Writes u to path atomically: a temporary file in the same directory
 * with mode 0600, fsync, rename over path, fsync of the directory. A
 * reader never sees a partial file. Returns 0, or -1 with a message.
 */
int kg_users_save(const struct kg_users *u, const char *path, char *err, size_t errlen);

/* Gives u a decoy key when it has none (kept in the users file: made-up
 * credentials for unknown names then look the same after a restart, as
 * real ones do). 0, or -1 when no random bytes could be had. */
int kg_users_decoy_key_ensure(struct kg_users *u);

/* Takes a reference (u may be NULL). Returns u. */
struct kg_users *kg_users_acquire(struct kg_users *u);
/* Drops a reference; the last one frees the set and wipes its keys. */
void kg_users_release(struct kg_users *u);

/* ---- the current set (current_users.c) ---- */

/*
 * Makes u the process-wide current set, taking over the caller's
 * reference, and drops the current set's own reference to the previous
 * one (holders keep using it until they release). u may be NULL (SASL off).
 * Build the new set first and swap only when it loaded.
 */
void kg_users_swap(struct kg_users *u);
/* The current set with a reference taken, or NULL. */
struct kg_users *kg_users_current(void);
/* Loads path and makes it current when it loaded (the current set stays
 * otherwise). 0, or -1 with kg_users_load's message. */
int kg_users_reload(const char *path, char *err, size_t errlen);

/* The user named name, or NULL. */
const struct kg_user *kg_users_find(const struct kg_users *u, const char *name);

/*
 * The credential to run a SCRAM exchange with for (user, mech). When the
 * user is unknown or has no credential for mech, returns fake, filled with
 * a made-up credential: salt = HMAC-SHA512(per-process random key, mech,
 * SHA-512(user)) cut to the most common salt length (so the same for every
 * attempt on that name while the process lives), the most common iteration
 * count, random keys, fake = 1. The exchange then runs the same way and
 * fails at the proof, so user names cannot be probed. *fake is computed for
 * known users as well (same cost either way). NULL only for a bad mech or
 * fake == NULL.
 */
const struct kg_scram_cred *kg_users_scram(const struct kg_users *u, const char *user, int mech,
					   struct kg_scram_cred *fake);

/* The credential PLAIN checks a password of user against: SCRAM-SHA-512 if
 * the user has one, else SCRAM-SHA-256, else a fake as above. */
const struct kg_scram_cred *kg_users_plain(const struct kg_users *u, const char *user,
					   struct kg_scram_cred *fake);

/*
 * Mutation, only on a set nobody else holds yet (the CLI's copy).
 * put: adds or replaces name with the present entries of cred[] (at least
 * one). remove: 0, or -1 when there is no such user. put returns 0, or -1
 * on an invalid name, no credential, or out of memory.
 */
int kg_users_put(struct kg_users *u, const char *name,
		 const struct kg_scram_cred cred[KG_SCRAM_NMECH]);
int kg_users_remove(struct kg_users *u, const char *name);

#endif
