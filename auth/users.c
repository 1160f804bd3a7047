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

/* A users file bigger than this is not a users file (and would be slow to
 * parse on every reload). */
#define KG_USERS_FILE_MAX (64L * 1024 * 1024)

/* ---- mechanisms ---- */

const char *kg_scram_mech_name(int mech)
{
	switch (mech) {
	case KG_SCRAM_SHA_256: return "SCRAM-SHA-256";
	case KG_SCRAM_SHA_512: return "SCRAM-SHA-512";
	default: return NULL;
	}
}

int kg_scram_mech_parse(const char *name)
{
	if (!name)
		return -1;
	if (strcmp(name, "SCRAM-SHA-256") == 0)
		return KG_SCRAM_SHA_256;
	if (strcmp(name, "SCRAM-SHA-512") == 0)
		return KG_SCRAM_SHA_512;
	return -1;
}

size_t kg_scram_keylen(int mech)
{
	switch (mech) {
	case KG_SCRAM_SHA_256: return 32;
	case KG_SCRAM_SHA_512: return 64;
	default: return 0;
	}
}

static const EVP_MD *mech_md(int mech)
{
	return mech == KG_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
}

/* ---- key derivation ---- */

int kg_scram_derive(int mech, const char *password, size_t pwlen, const uint8_t *salt,
		    size_t saltlen, uint32_t iterations, struct kg_scram_cred *out)
{
	size_t kl = kg_scram_keylen(mech);
	uint8_t sp[KG_SCRAM_KEY_MAX], ck[KG_SCRAM_KEY_MAX];
	unsigned int hl = 0;
	int rc = -1;

	if (!kl || !out || (!password && pwlen) || pwlen > INT_MAX || !salt || saltlen == 0 ||
	    saltlen > KG_SCRAM_SALT_MAX || iterations < KG_SCRAM_ITER_MIN ||
	    iterations > KG_SCRAM_ITER_MAX)
		return -1;
	const EVP_MD *md = mech_md(mech);
	memset(out, 0, sizeof(*out));
	if (!PKCS5_PBKDF2_HMAC(pwlen ? password : "", (int)pwlen, salt, (int)saltlen,
			       (int)iterations, md, (int)kl, sp))
		goto done;
	if (!HMAC(md, sp, (int)kl, (const uint8_t *)"Client Key", 10, ck, &hl) || hl != kl)
		goto done;
	if (!EVP_Digest(ck, kl, out->stored_key, &hl, md, NULL) || hl != kl)
		goto done;
	if (!HMAC(md, sp, (int)kl, (const uint8_t *)"Server Key", 10, out->server_key, &hl) ||
	    hl != kl)
		goto done;
	out->present = 1;
	out->mech = (uint8_t)mech;
	out->keylen = (uint8_t)kl;
	out->iterations = iterations;
	out->saltlen = (uint32_t)saltlen;
	memcpy(out->salt, salt, saltlen);
	rc = 0;
done:
	OPENSSL_cleanse(sp, sizeof(sp));
	OPENSSL_cleanse(ck, sizeof(ck));
	if (rc < 0)
		OPENSSL_cleanse(out, sizeof(*out));
	return rc;
}

int kg_scram_check_password(const struct kg_scram_cred *c, const char *password, size_t pwlen)
{
	struct kg_scram_cred t;
	if (!c || !c->present)
		return 0;
	if (kg_scram_derive(c->mech, password, pwlen, c->salt, c->saltlen, c->iterations, &t) < 0)
		return 0;
	int same = CRYPTO_memcmp(t.stored_key, c->stored_key, c->keylen) == 0;
	OPENSSL_cleanse(&t, sizeof(t));
	/* A fake's keys are unrelated to any password, but say no explicitly
	 * rather than rely on that. */
	return same && !c->fake;
}

int kg_scram_random_salt(uint8_t *buf, size_t n)
{
	return n <= INT_MAX && RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

/* ---- base64 ---- */

long kg_b64_encode(const uint8_t *in, size_t inlen, char *out, size_t outlen)
{
	size_t need = (inlen + 2) / 3 * 4;
	if (inlen > INT_MAX / 2 || outlen < need + 1)
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, in, (int)inlen);
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict, unlike EVP_DecodeBlock (which skips whitespace and counts padding
 * as data): a verifier must round-trip exactly. */
long kg_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen)
{
	size_t o = 0;
	if (inlen % 4)
		return -1;
	for (size_t i = 0; i < inlen; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];
			if (c == '=' && i + 4 == inlen && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)
				return -1; /* data after '=' */
			v[k] = b64_val(c);
			if (v[k] < 0)
				return -1;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		/* Canonical: bits beyond the data must be zero. */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return -1;
		size_t n = 3 - (size_t)pad;
		if (o + n > outlen)
			return -1;
		out[o++] = (uint8_t)(w >> 16);
		if (n > 1)
			out[o++] = (uint8_t)(w >> 8);
		if (n > 2)
			out[o++] = (uint8_t)w;
	}
	return (long)o;
}

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
static int name_check(const char *name, size_t len)
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
	return name && name_check(name, len) == 0;
}

/* ---- error messages ---- */

/* A JSON Pointer being built for an error message; names are escaped per
 * RFC 6901 (~0 ~1) and anything unprintable as \xNN so a hostile key cannot
 * forge log lines. Truncation is harmless here. */
struct jptr {
	char s[300];
	size_t len;
};

static void jp_raw(struct jptr *p, const char *t)
{
	int n = snprintf(p->s + p->len, sizeof(p->s) - p->len, "%s", t);
	if (n > 0)
		p->len = p->len + (size_t)n < sizeof(p->s) ? p->len + (size_t)n : sizeof(p->s) - 1;
}

static void jp_push(struct jptr *p, const char *key)
{
	jp_raw(p, "/");
	for (const unsigned char *k = (const unsigned char *)key; *k && p->len < 200; k++) {
		char t[12];
		if (*k == '~')
			jp_raw(p, "~0");
		else if (*k == '/')
			jp_raw(p, "~1");
		else if (*k == 0xc2 && k[1] >= 0x80 && k[1] <= 0x9f) { /* C1 control */
			snprintf(t, sizeof(t), "\\xc2\\x%02x", k[1]);
			jp_raw(p, t);
			k++;
		} else if (*k < 0x20 || *k == 0x7f) {
			snprintf(t, sizeof(t), "\\x%02x", *k);
			jp_raw(p, t);
		} else {
			t[0] = (char)*k, t[1] = 0;
			jp_raw(p, t);
		}
	}
}

static void jp_pop(struct jptr *p, size_t len)
{
	p->len = len;
	p->s[len] = 0;
}

#define FAIL_AT(jp, ...)                                                    \
	do {                                                                \
		char m_[256];                                               \
		snprintf(m_, sizeof(m_), __VA_ARGS__);                      \
		snprintf(err, errlen, "users file %s: %s: %s", path,        \
			 (jp)->len ? (jp)->s : "top level", m_);            \
		goto fail;                                                  \
	} while (0)

/* ---- sets ---- */

struct kg_users *kg_users_new(void)
{
	struct kg_users *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	atomic_init(&u->refs, 1);
	for (int m = 0; m < KG_SCRAM_NMECH; m++) {
		u->fake_iter[m] = KG_SCRAM_ITER_MIN;
		u->fake_saltlen[m] = KG_SCRAM_SALT_DEFAULT;
	}
	u->plain_mech = KG_SCRAM_SHA_512;
	return u;
}

static void users_free(struct kg_users *u)
{
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

static pthread_mutex_t cur_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kg_users *cur_users;

void kg_users_swap(struct kg_users *u)
{
	pthread_mutex_lock(&cur_lock);
	struct kg_users *old = cur_users;
	cur_users = u;
	pthread_mutex_unlock(&cur_lock);
	kg_users_release(old);
}

struct kg_users *kg_users_current(void)
{
	pthread_mutex_lock(&cur_lock);
	struct kg_users *u = kg_users_acquire(cur_users);
	pthread_mutex_unlock(&cur_lock);
	return u;
}

/* The most common value among vals[0..n), ties to the smaller; dflt when
 * n == 0. O(n^2) is fine: it runs at load time over small sets, and only
 * distinct values are counted. */
static uint32_t most_common(const uint32_t *vals, size_t n, uint32_t dflt)
{
	uint32_t best = dflt;
	size_t bestc = 0;
	for (size_t i = 0; i < n; i++) {
		size_t c = 0;
		int seen = 0;
		for (size_t j = 0; j < n; j++) {
			if (vals[j] == vals[i]) {
				if (j < i) {
					seen = 1;
					break;
				}
				c++;
			}
		}
		if (seen)
			continue;
		if (c > bestc || (c == bestc && vals[i] < best)) {
			best = vals[i];
			bestc = c;
		}
	}
	return best;
}

/* Recomputes the parameters fake credentials copy, so they look like the
 * bulk of the real ones. */
static int users_stats(struct kg_users *u)
{
	uint32_t *it = malloc((u->n + 1) * sizeof(*it)), *sl = malloc((u->n + 1) * sizeof(*sl));
	if (!it || !sl) {
		free(it);
		free(sl);
		return -1;
	}
	for (int m = 0; m < KG_SCRAM_NMECH; m++) {
		size_t k = 0;
		for (size_t i = 0; i < u->n; i++) {
			const struct kg_scram_cred *c = &u->user[i].cred[m];
			if (c->present) {
				it[k] = c->iterations;
				sl[k++] = c->saltlen;
			}
		}
		u->fake_iter[m] = most_common(it, k, KG_SCRAM_ITER_MIN);
		u->fake_saltlen[m] = most_common(sl, k, KG_SCRAM_SALT_DEFAULT);
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
	free(it);
	free(sl);
	return 0;
}

static int user_cmp(const void *a, const void *b)
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
	return users_stats(u);
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
	return users_stats(u);
}

/* ---- fake credentials ---- */

static pthread_once_t fake_once = PTHREAD_ONCE_INIT;
static uint8_t fake_key[32];
static int fake_key_ok;

static void fake_key_init(void)
{
	fake_key_ok = RAND_bytes(fake_key, sizeof(fake_key)) == 1;
}

/* 64 bytes of HMAC-SHA512(per-process key, mech | counter | SHA-512(user)):
 * deterministic per user for the life of the process, unpredictable to
 * anyone else. */
static void fake_block(int mech, uint8_t ctr, const uint8_t uh[64], uint8_t out[64])
{
	uint8_t msg[2 + 64];
	unsigned int hl = 0;
	msg[0] = (uint8_t)mech;
	msg[1] = ctr;
	memcpy(msg + 2, uh, 64);
	if (!HMAC(EVP_sha512(), fake_key, sizeof(fake_key), msg, sizeof(msg), out, &hl))
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
	f->iterations = u ? u->fake_iter[mech] : KG_SCRAM_ITER_MIN;
	f->saltlen = u ? u->fake_saltlen[mech] : KG_SCRAM_SALT_DEFAULT;
	if (!fake_key_ok) /* no key: still never verifies, salt not stable */
		RAND_bytes(fake_key, sizeof(fake_key));
	if (!EVP_Digest(user, strlen(user), uh, &hl, EVP_sha512(), NULL))
		RAND_bytes(uh, sizeof(uh));
	for (uint32_t off = 0, ctr = 0; off < f->saltlen; off += 64, ctr++) {
		fake_block(mech, (uint8_t)ctr, uh, blk);
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

/* ---- loading ---- */

/* Decodes the base64 string member key of obj into out. Returns the byte
 * count or -1 with err set. */
static long load_b64(json_t *obj, const char *key, uint8_t *out, size_t outmax, struct jptr *jp,
		     const char *path, char *err, size_t errlen)
{
	size_t mark = jp->len;
	json_t *v = json_object_get(obj, key);
	jp_push(jp, key);
	if (!v)
		FAIL_AT(jp, "missing");
	if (!json_is_string(v))
		FAIL_AT(jp, "must be a base64 string");
	/* Room for one byte too many so "too long" is told apart from "not
	 * base64" below. */
	uint8_t tmp[KG_SCRAM_SALT_MAX + 4];
	size_t sl = json_string_length(v);
	if (sl > (sizeof(tmp) + 2) / 3 * 4)
		FAIL_AT(jp, "too long (at most %zu bytes)", outmax);
	long n = kg_b64_decode(json_string_value(v), sl, tmp, sizeof(tmp));
	if (n < 0)
		FAIL_AT(jp, "not valid base64");
	if ((size_t)n > outmax)
		FAIL_AT(jp, "too long (at most %zu bytes)", outmax);
	memcpy(out, tmp, (size_t)n);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	jp_pop(jp, mark);
	return n;
fail:
	return -1;
}

static int load_cred(json_t *v, int mech, struct kg_scram_cred *c, struct jptr *jp,
		     const char *path, char *err, size_t errlen)
{
	const char *key;
	json_t *x;
	size_t kl = kg_scram_keylen(mech), mark = jp->len;
	long n;

	if (!json_is_object(v))
		FAIL_AT(jp, "must be an object");
	json_object_foreach(v, key, x) {
		if (strcmp(key, "salt") && strcmp(key, "stored_key") && strcmp(key, "server_key") &&
		    strcmp(key, "iterations")) {
			jp_push(jp, key);
			FAIL_AT(jp, "unknown key (expected salt, stored_key, server_key, iterations)");
		}
	}
	memset(c, 0, sizeof(*c));
	c->mech = (uint8_t)mech;
	c->keylen = (uint8_t)kl;
	n = load_b64(v, "salt", c->salt, sizeof(c->salt), jp, path, err, errlen);
	if (n < 0)
		return -1;
	if (n == 0) {
		jp_push(jp, "salt");
		FAIL_AT(jp, "empty");
	}
	c->saltlen = (uint32_t)n;
	n = load_b64(v, "stored_key", c->stored_key, sizeof(c->stored_key), jp, path, err, errlen);
	if (n < 0)
		return -1;
	if ((size_t)n != kl) {
		jp_push(jp, "stored_key");
		FAIL_AT(jp, "must be %zu bytes for %s, got %ld", kl, kg_scram_mech_name(mech), n);
	}
	n = load_b64(v, "server_key", c->server_key, sizeof(c->server_key), jp, path, err, errlen);
	if (n < 0)
		return -1;
	if ((size_t)n != kl) {
		jp_push(jp, "server_key");
		FAIL_AT(jp, "must be %zu bytes for %s, got %ld", kl, kg_scram_mech_name(mech), n);
	}
	x = json_object_get(v, "iterations");
	jp_push(jp, "iterations");
	if (!x)
		FAIL_AT(jp, "missing");
	if (!json_is_integer(x))
		FAIL_AT(jp, "must be an integer");
	json_int_t it = json_integer_value(x);
	if (it < KG_SCRAM_ITER_MIN || it > KG_SCRAM_ITER_MAX)
		FAIL_AT(jp, "%lld is outside %d..%d", (long long)it, KG_SCRAM_ITER_MIN,
			KG_SCRAM_ITER_MAX);
	c->iterations = (uint32_t)it;
	c->present = 1;
	jp_pop(jp, mark);
	return 0;
fail:
	OPENSSL_cleanse(c, sizeof(*c));
	return -1;
}

static const char *const name_problem[] = {
	"", "empty user name", "user name longer than 512 bytes", "user name is not valid UTF-8",
	"user name contains a control character",
};

/* Fills u from the parsed document. */
static int load_doc(struct kg_users *u, json_t *root, const char *path, char *err, size_t errlen)
{
	struct jptr jp = {.len = 0};
	const char *key;
	json_t *v;

	jp.s[0] = 0;
	if (!json_is_object(root))
		FAIL_AT(&jp, "must be an object");
	json_object_foreach(root, key, v) {
		if (strcmp(key, "version") && strcmp(key, "users")) {
			jp_push(&jp, key);
			FAIL_AT(&jp, "unknown key (expected version, users)");
		}
	}
	v = json_object_get(root, "version");
	jp_push(&jp, "version");
	if (!v)
		FAIL_AT(&jp, "missing");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		FAIL_AT(&jp, "must be 1");
	jp_pop(&jp, 0);
	json_t *users = json_object_get(root, "users");
	jp_push(&jp, "users");
	if (!users)
		FAIL_AT(&jp, "missing");
	if (!json_is_object(users))
		FAIL_AT(&jp, "must be an object");
	size_t n = json_object_size(users);
	u->user = calloc(n ? n : 1, sizeof(*u->user));
	if (!u->user)
		FAIL_AT(&jp, "out of memory");
	u->cap = n ? n : 1;
	const char *name;
	json_t *uv;
	json_object_foreach(users, name, uv) {
		size_t m1 = jp.len;
		/* jansson keys are NUL-terminated: a key with an embedded NUL is
		 * refused by the parser, so strlen is the real length. */
		int bad = name_check(name, strlen(name));
		jp_push(&jp, name);
		if (bad)
			FAIL_AT(&jp, "%s", name_problem[bad]);
		if (!json_is_object(uv))
			FAIL_AT(&jp, "must be an object");
		struct kg_user *e = &u->user[u->n];
		e->name = strdup(name);
		if (!e->name)
			FAIL_AT(&jp, "out of memory");
		u->n++;
		const char *mk;
		json_t *mv;
		json_object_foreach(uv, mk, mv) {
			size_t m2 = jp.len;
			int mech = kg_scram_mech_parse(mk);
			jp_push(&jp, mk);
			if (mech < 0)
				FAIL_AT(&jp, "unknown mechanism (expected SCRAM-SHA-256 or SCRAM-SHA-512)");
			if (load_cred(mv, mech, &e->cred[mech], &jp, path, err, errlen) < 0)
				return -1;
			jp_pop(&jp, m2);
		}
		if (!e->cred[0].present && !e->cred[1].present)
			FAIL_AT(&jp, "no credentials (expected SCRAM-SHA-256 and/or SCRAM-SHA-512)");
		jp_pop(&jp, m1);
	}
	/* Keys are unique (JSON_REJECT_DUPLICATES) so sorting gives a strict
	 * order for the binary search. */
	qsort(u->user, u->n, sizeof(*u->user), user_cmp);
	if (users_stats(u) < 0) {
		snprintf(err, errlen, "users file %s: out of memory", path);
		return -1;
	}
	return 0;
fail:
	return -1;
}

struct kg_users *kg_users_load(const char *path, char *err, size_t errlen)
{
	struct kg_users *u = NULL;
	char *buf = NULL;
	size_t len = 0;
	json_t *root = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "users file %s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	/* Checked on the open descriptor: what we read is what we checked. */
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "users file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "users file %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "users file %s: mode %04o gives group/other access; it holds password "
			 "verifiers: chmod 600 %s",
			 path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > KG_USERS_FILE_MAX) {
		snprintf(err, errlen, "users file %s: larger than %ld bytes", path,
			 KG_USERS_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "users file %s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size + 1) { /* +1 notices a file that grew */
		ssize_t r = read(fd, buf + len, (size_t)st.st_size + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "users file %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > (size_t)st.st_size) {
		snprintf(err, errlen, "users file %s: changed while being read", path);
		goto out;
	}
	json_error_t je;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "users file %s: line %d column %d: %s", path, je.line,
			 je.column, je.text);
		goto out;
	}
	u = kg_users_new();
	if (!u) {
		snprintf(err, errlen, "users file %s: out of memory", path);
		goto out;
	}
	if (load_doc(u, root, path, err, errlen) < 0) {
		users_free(u);
		u = NULL;
	}
out:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	json_decref(root);
	close(fd);
	if (!u)
		errno = EINVAL;
	return u;
}

/* ---- saving ---- */

static json_t *b64_json(const uint8_t *p, size_t n)
{
	char s[(KG_SCRAM_SALT_MAX + 2) / 3 * 4 + 1];
	if (kg_b64_encode(p, n, s, sizeof(s)) < 0)
		return NULL;
	return json_string(s);
}

static json_t *users_json(const struct kg_users *u)
{
	json_t *root = json_object(), *users = json_object();
	if (!root || !users || json_object_set_new(root, "version", json_integer(1)) < 0 ||
	    json_object_set(root, "users", users) < 0)
		goto fail;
	for (size_t i = 0; i < u->n; i++) {
		json_t *uo = json_object();
		if (!uo || json_object_set_new(users, u->user[i].name, uo) < 0)
			goto fail;
		for (int m = 0; m < KG_SCRAM_NMECH; m++) {
			const struct kg_scram_cred *c = &u->user[i].cred[m];
			if (!c->present)
				continue;
			json_t *co = json_object();
			if (!co || json_object_set_new(uo, kg_scram_mech_name(m), co) < 0 ||
			    json_object_set_new(co, "salt", b64_json(c->salt, c->saltlen)) < 0 ||
			    json_object_set_new(co, "stored_key", b64_json(c->stored_key, c->keylen)) < 0 ||
			    json_object_set_new(co, "server_key", b64_json(c->server_key, c->keylen)) < 0 ||
			    json_object_set_new(co, "iterations", json_integer(c->iterations)) < 0)
				goto fail;
		}
	}
	json_decref(users);
	return root;
fail:
	json_decref(users);
	json_decref(root);
	return NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int kg_users_save(const struct kg_users *u, const char *path, char *err, size_t errlen)
{
	json_t *root = users_json(u);
	char *text = NULL, *tmp = NULL, *dir = NULL;
	int fd = -1, rc = -1;

	if (!root || !(text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS))) {
		snprintf(err, errlen, "users file %s: out of memory", path);
		goto out;
	}
	size_t plen = strlen(path);
	tmp = malloc(plen + 16);
	dir = strdup(path);
	if (!tmp || !dir) {
		snprintf(err, errlen, "users file %s: out of memory", path);
		goto out;
	}
	/* Same directory, so rename() is atomic and never crosses devices. */
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		snprintf(err, errlen, "users file %s: cannot create a temporary file: %s", path,
			 strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 ||
	    write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "users file %s: writing %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "users file %s: writing %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "users file %s: rename: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* Make the rename itself durable. */
	char *slash = strrchr(dir, '/');
	const char *d = ".";
	if (slash == dir)
		d = "/";
	else if (slash) {
		*slash = 0;
		d = dir;
	}
	int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	free(dir);
	json_decref(root);
	return rc;
}
