/*
 * users.c - the SASL credential store (see users-t.h for the file format).
 *
 * Only salted verifiers are kept: a stolen users file still costs an
 * attacker a PBKDF2 per guess, and it is refused at load when other
 * accounts could read it. Unknown users get a made-up credential that is
 * stable for the life of the process, so the SCRAM exchange for "nobody"
 * looks like the one for a real user until the proof fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth/users.h"
#include "auth/users-int.h"

/* ---- user names ---- */

/* Length of the UTF-8 sequence at s (at most n bytes) and its code point,
 * or 0 when it is not valid shortest-form UTF-8. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len;
	uint32_t min, c;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, min = 0x80, c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, min = 0x800, c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, min = 0x10000, c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* 0 valid; 1 empty; 2 too long; 3 not UTF-8; 4 control character. */
int kg_users_name_check(const char *name, size_t len)
{
	if (len == 0)
		return 1;
	if (len > KG_USER_NAME_MAX)
		return 2;
	const unsigned char *s = (const unsigned char *)name;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = utf8_next(s + i, len - i, &cp);
		if (!k)
			return 3;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return 4;
		i += k;
	}
	return 0;
}

int kg_user_name_valid(const char *name, size_t len)
{
	return name && kg_users_name_check(name, len) == 0;
}

/* ---- sets ---- */

struct kg_users *kg_users_new(void)
{
	struct kg_users *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	atomic_init(&u->refs, 1);
	u->plain_mech = KG_SCRAM_SHA_512;
	return u;
}

static void users_free(struct kg_users *u)
{
	for (int m = 0; m < KG_SCRAM_NMECH; m++)
		free(u->shapes[m]);
	OPENSSL_cleanse(u->decoy_key, sizeof(u->decoy_key));
	for (size_t i = 0; i < u->n; i++) {
		OPENSSL_cleanse(u->user[i].cred, sizeof(u->user[i].cred));
		free(u->user[i].name);
	}
	free(u->user);
	free(u);
}

struct kg_users *kg_users_acquire(struct kg_users *u)
{
	if (u)
		atomic_fetch_add(&u->refs, 1);
	return u;
}

void kg_users_release(struct kg_users *u)
{
	if (u && atomic_fetch_sub(&u->refs, 1) == 1)
		users_free(u);
}


/* Recomputes what made-up credentials copy: each real user's shape per
 * mechanism, so an unknown name gets a shape drawn from the same
 * distribution as a known one (a user with a rare iteration count is no
 * easier to tell from a fake than one with the common count). */
int kg_users_stats(struct kg_users *u)
{
	for (int m = 0; m < KG_SCRAM_NMECH; m++) {
		struct kg_scram_shape *sh = malloc((u->n + 1) * sizeof(*sh));
		if (!sh)
			return -1;
		size_t k = 0;
		for (size_t i = 0; i < u->n; i++) {
			const struct kg_scram_cred *c = &u->user[i].cred[m];
			if (c->present)
				sh[k++] = (struct kg_scram_shape){ c->iterations, c->saltlen };
		}
		free(u->shapes[m]);
		u->shapes[m] = sh;
		u->nshapes[m] = k;
	}
	/* PLAIN uses SHA-512 when a user has it, so an unknown user is best
	 * disguised as the mechanism most users end up checked with. */
	size_t plain512 = 0, plain256 = 0;
	for (size_t i = 0; i < u->n; i++) {
		if (u->user[i].cred[KG_SCRAM_SHA_512].present)
			plain512++;
		else if (u->user[i].cred[KG_SCRAM_SHA_256].present)
			plain256++;
	}
	u->plain_mech = plain256 > plain512 ? KG_SCRAM_SHA_256 : KG_SCRAM_SHA_512;
	return 0;
}

int kg_users_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kg_user *)a)->name, ((const struct kg_user *)b)->name);
}

/* Index of name, or -(insertion point) - 1. */
static long users_index(const struct kg_users *u, const char *name)
{
	size_t lo = 0, hi = u->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(u->user[mid].name, name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

const struct kg_user *kg_users_find(const struct kg_users *u, const char *name)
{
	if (!u || !name)
		return NULL;
	long i = users_index(u, name);
	return i >= 0 ? &u->user[i] : NULL;
}

int kg_users_put(struct kg_users *u, const char *name,
		 const struct kg_scram_cred cred[KG_SCRAM_NMECH])
{
	int any = 0;
	if (!u || !name || !kg_user_name_valid(name, strlen(name)))
		return -1;
	for (int m = 0; m < KG_SCRAM_NMECH; m++) {
		if (cred[m].present && (cred[m].mech != m || cred[m].fake))
			return -1;
		any |= cred[m].present;
	}
	if (!any)
		return -1;
	long i = users_index(u, name);
	if (i < 0) {
		size_t at = (size_t)(-i - 1);
		if (u->n == u->cap) {
			size_t nc = u->cap ? u->cap * 2 : 8;
			struct kg_user *nu = realloc(u->user, nc * sizeof(*nu));
			if (!nu)
				return -1;
			u->user = nu;
			u->cap = nc;
		}
		char *dup = strdup(name);
		if (!dup)
			return -1;
		memmove(&u->user[at + 1], &u->user[at], (u->n - at) * sizeof(*u->user));
		memset(&u->user[at], 0, sizeof(*u->user));
		u->user[at].name = dup;
		u->n++;
		i = (long)at;
	}
	memcpy(u->user[i].cred, cred, sizeof(u->user[i].cred));
	return kg_users_stats(u);
}

int kg_users_remove(struct kg_users *u, const char *name)
{
	long i = u && name ? users_index(u, name) : -1;
	if (i < 0)
		return -1;
	OPENSSL_cleanse(u->user[i].cred, sizeof(u->user[i].cred));
	free(u->user[i].name);
	memmove(&u->user[i], &u->user[i + 1], (u->n - (size_t)i - 1) * sizeof(*u->user));
	u->n--;
	return kg_users_stats(u);
}

/* ---- fake credentials ---- */

static pthread_once_t fake_once = PTHREAD_ONCE_INIT;
static uint8_t fake_key[32];
static int fake_key_ok;

static void fake_key_init(void)
{
	fake_key_ok = RAND_bytes(fake_key, sizeof(fake_key)) == 1;
}

int kg_users_decoy_key_ensure(struct kg_users *u)
{
	if (u->has_decoy_key)
		return 0;
	if (RAND_bytes(u->decoy_key, sizeof(u->decoy_key)) != 1)
		return -1;
	u->has_decoy_key = 1;
	return 0;
}

/* 64 bytes of HMAC-SHA512(key, mech | counter | SHA-512(user)):
 * deterministic per user, unpredictable to anyone without the key. */
static void fake_block(const uint8_t *key, size_t keylen, int mech, uint8_t ctr,
		       const uint8_t uh[64], uint8_t out[64])
{
	uint8_t msg[2 + 64];
	unsigned int hl = 0;
	msg[0] = (uint8_t)mech;
	msg[1] = ctr;
	memcpy(msg + 2, uh, 64);
	if (!HMAC(EVP_sha512(), key, keylen, msg, sizeof(msg), out, &hl))
		RAND_bytes(out, 64); /* only the salt's stability is lost, on an
		                        OpenSSL failure */
}

/* The made-up credential for (user, mech). Its keys are random: they are
 * never shown to anyone and no proof can match them (kg_scram_check_password
 * and the SASL layer also refuse fake = 1 outright). */
static void fake_cred(const struct kg_users *u, const char *user, int mech,
		      struct kg_scram_cred *f)
{
	uint8_t uh[64], blk[64];
	unsigned int hl = 0;
	pthread_once(&fake_once, fake_key_init);
	memset(f, 0, sizeof(*f));
	f->present = 1;
	f->fake = 1;
	f->mech = (uint8_t)mech;
	f->keylen = (uint8_t)kg_scram_keylen(mech);
	if (!fake_key_ok) /* no key: still never verifies, salt not stable */
		RAND_bytes(fake_key, sizeof(fake_key));
	const uint8_t *key = u && u->has_decoy_key ? u->decoy_key : fake_key;
	size_t keylen = u && u->has_decoy_key ? sizeof(u->decoy_key) : sizeof(fake_key);
	if (!EVP_Digest(user, strlen(user), uh, &hl, EVP_sha512(), NULL))
		RAND_bytes(uh, sizeof(uh));
	/* The shape: one real user's, picked by the name (counter 0xff). */
	f->iterations = KG_SCRAM_ITER_MIN;
	f->saltlen = KG_SCRAM_SALT_DEFAULT;
	if (u && u->nshapes[mech]) {
		fake_block(key, keylen, mech, 0xff, uh, blk);
		uint64_t pick = 0;
		for (int i = 0; i < 8; i++)
			pick = pick << 8 | blk[i];
		const struct kg_scram_shape *sh = &u->shapes[mech][pick % u->nshapes[mech]];
		f->iterations = sh->iterations;
		f->saltlen = sh->saltlen;
	}
	for (uint32_t off = 0, ctr = 0; off < f->saltlen; off += 64, ctr++) {
		fake_block(key, keylen, mech, (uint8_t)ctr, uh, blk);
		uint32_t n = f->saltlen - off < 64 ? f->saltlen - off : 64;
		memcpy(f->salt + off, blk, n);
	}
	if (RAND_bytes(f->stored_key, KG_SCRAM_KEY_MAX) != 1 ||
	    RAND_bytes(f->server_key, KG_SCRAM_KEY_MAX) != 1) {
		memset(f->stored_key, 0xa5, sizeof(f->stored_key));
		memset(f->server_key, 0x5a, sizeof(f->server_key));
	}
	OPENSSL_cleanse(blk, sizeof(blk));
}

/* The fake is computed for known users too and thrown away: the lookup
 * then costs the same whether or not the user exists, so its timing tells
 * nothing either. */
const struct kg_scram_cred *kg_users_scram(const struct kg_users *u, const char *user, int mech,
					   struct kg_scram_cred *fake)
{
	if (!kg_scram_keylen(mech) || !fake)
		return NULL;
	const char *name = user ? user : "";
	fake_cred(u, name, mech, fake);
	const struct kg_user *e = kg_users_find(u, name);
	if (e && e->cred[mech].present)
		return &e->cred[mech];
	return fake;
}

const struct kg_scram_cred *kg_users_plain(const struct kg_users *u, const char *user,
					   struct kg_scram_cred *fake)
{
	const char *name = user ? user : "";
	if (!fake)
		return NULL;
	fake_cred(u, name, u ? u->plain_mech : KG_SCRAM_SHA_512, fake);
	const struct kg_user *e = kg_users_find(u, name);
	if (e && e->cred[KG_SCRAM_SHA_512].present)
		return &e->cred[KG_SCRAM_SHA_512];
	if (e && e->cred[KG_SCRAM_SHA_256].present)
		return &e->cred[KG_SCRAM_SHA_256];
	return fake;
}
