/* limiter.c - brute-force limiting per (address, user) and per address
 * (see limiter.h).
 *
 * Two fixed tables of slots (open addressing on a hash of the key), so a
 * flood of addresses or names cannot make them grow: a new key takes the
 * first free or quiet slot of its probe run (quiet: window over, not
 * blocked). A blocked key is never evicted; when a run holds only live
 * keys the new one is not counted - an attacker needs that many addresses
 * failing at once, and each of them is still capped on its own. A pair's key is the address and a
 * keyed hash of the user name (HMAC-SHA-256 with a per-process key, so
 * nobody can pick a name that lands on someone else's). Entries hold the
 * failure count of the current window and, once over the limit, the end of
 * the block.
 */
#define _GNU_SOURCE
#include "auth/limiter.h"
#include "io/netrange.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define SLOTS 4096
#define PROBES 16
#define KEY_LEN 24                     /* address (16) + user hash (8) */

struct slot {
	uint8_t key[KEY_LEN];          /* address, then user hash (pairs) */
	bool used;                     /* slot holds a key */
	uint32_t failures;             /* failures in the current window */
	int64_t window_start;          /* ms, monotonic */
	int64_t blocked_until;         /* ms, monotonic; 0 = not blocked */
};

struct table {
	struct slot s[SLOTS];
	uint32_t max;                  /* failures that block, 0 = never */
};

static pthread_mutex_t lim_lock = PTHREAD_MUTEX_INITIALIZER;
static struct table pairs, addrs;
static uint32_t lim_window, lim_block;
static uint8_t name_key[32];           /* for the user-name hash */

bool kg_limiter_configure(uint32_t max_failures, uint32_t window_ms, uint32_t block_ms,
			  uint32_t max_address_failures)
{
	static bool keyed;             /* the name key lives as long as the tables */
	pthread_mutex_lock(&lim_lock);
	if (!keyed)
		keyed = RAND_bytes(name_key, sizeof(name_key)) == 1;
	pairs.max = max_failures;
	addrs.max = max_failures ? max_address_failures : 0;
	lim_window = window_ms;
	lim_block = block_ms;
	bool ok = keyed;
	pthread_mutex_unlock(&lim_lock);
	return ok;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* key = address (IPv6, or IPv4-mapped) and, with a user, its hash. */
static bool make_key(const struct sockaddr *sa, const char *user, size_t len, bool pair,
		     uint8_t key[KEY_LEN])
{
	memset(key, 0, KEY_LEN);
	if (!kg_net_addr_key(sa, key))
		return false;
	if (pair) {
		uint8_t md[EVP_MAX_MD_SIZE];
		unsigned n = 0;
		if (!HMAC(EVP_sha256(), name_key, sizeof(name_key), (const uint8_t *)(user ? user : ""),
			  user ? len : 0, md, &n) || n < 8)
			return false;
		memcpy(key + 16, md, 8);
	}
	return true;
}

static uint32_t hash(const uint8_t key[KEY_LEN])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < KEY_LEN; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

/* The slot of key, or a free/stale one for it; NULL if none (with lock). */
static struct slot *slot_find(struct table *t, const uint8_t key[KEY_LEN], bool create, int64_t now)
{
	uint32_t h = hash(key);
	struct slot *victim = NULL;
	for (int i = 0; i < PROBES; i++) {
		struct slot *s = &t->s[(h + (uint32_t)i) % SLOTS];
		if (s->used && memcmp(s->key, key, KEY_LEN) == 0)
			return s;
		bool stale = !s->used || (s->blocked_until < now &&
					  now - s->window_start > (int64_t)lim_window);
		if (stale && !victim)
			victim = s;
	}
	if (!create || !victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, KEY_LEN);
	victim->used = true;
	victim->window_start = now;
	return victim;
}

static bool blocked(struct table *t, const uint8_t key[KEY_LEN])
{
	int64_t now = now_ms();
	struct slot *s = t->max ? slot_find(t, key, false, now) : NULL;
	return s && s->blocked_until > now;
}

/* Counts one failure in t; true when key got blocked just now. */
static bool count(struct table *t, const uint8_t key[KEY_LEN], int64_t now)
{
	struct slot *s = t->max ? slot_find(t, key, true, now) : NULL;
	if (!s)
		return false;
	if (now - s->window_start > (int64_t)lim_window) {
		s->window_start = now;
		s->failures = 0;
	}
	if (++s->failures < t->max || s->blocked_until > now)
		return false;
	s->blocked_until = now + lim_block;
	s->failures = 0;
	s->window_start = now;
	return true;
}

bool kg_limiter_address_blocked(const struct sockaddr *sa)
{
	uint8_t key[KEY_LEN];
	if (!make_key(sa, NULL, 0, false, key))
		return false;
	pthread_mutex_lock(&lim_lock);
	bool b = blocked(&addrs, key);
	pthread_mutex_unlock(&lim_lock);
	return b;
}

bool kg_limiter_user_blocked(const struct sockaddr *sa, const char *user, size_t len)
{
	uint8_t key[KEY_LEN];
	pthread_mutex_lock(&lim_lock);
	bool b = pairs.max && make_key(sa, user, len, true, key) && blocked(&pairs, key);
	pthread_mutex_unlock(&lim_lock);
	return b;
}

enum kg_limit kg_limiter_fail(const struct sockaddr *sa, const char *user, size_t len)
{
	uint8_t pk[KEY_LEN], ak[KEY_LEN];
	enum kg_limit r = KG_LIMIT_NONE;
	pthread_mutex_lock(&lim_lock);
	if (pairs.max && make_key(sa, user, len, true, pk) && make_key(sa, NULL, 0, false, ak)) {
		int64_t now = now_ms();
		/* A pair already refused is not counted again: its retries (a
		 * client with a stale password, 8 a second) must not take the
		 * whole address down with them. */
		if (!blocked(&pairs, pk)) {
			if (count(&pairs, pk, now))
				r = KG_LIMIT_USER;
			if (count(&addrs, ak, now))
				r = KG_LIMIT_ADDRESS;
		}
	}
	pthread_mutex_unlock(&lim_lock);
	return r;
}
