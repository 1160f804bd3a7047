/* limiter.c - brute-force limiting per client address.
 *
 * A fixed table of slots (open addressing on a hash of the address), so a
 * flood of addresses cannot make it grow: when the table is full the
 * oldest quiet slot is reused. Entries hold the failure count of the
 * current window and, once over the limit, the end of the block.
 */
#define _GNU_SOURCE
#include "auth/limiter.h"

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define SLOTS 4096
#define PROBES 16

struct slot {
	uint8_t addr[16];              /* IPv6, or IPv4-mapped */
	bool used;                     /* slot holds an address */
	uint32_t failures;             /* failures in the current window */
	int64_t window_start;          /* ms, monotonic */
	int64_t blocked_until;         /* ms, monotonic; 0 = not blocked */
};

static pthread_mutex_t lim_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[SLOTS];
static uint32_t lim_max, lim_window, lim_block;

void kg_limiter_configure(uint32_t max_failures, uint32_t window_ms, uint32_t block_ms)
{
	pthread_mutex_lock(&lim_lock);
	lim_max = max_failures;
	lim_window = window_ms;
	lim_block = block_ms;
	pthread_mutex_unlock(&lim_lock);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool addr_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

static uint32_t hash(const uint8_t key[16])
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

/* The slot of key, or a free/stale one for it; NULL if none (with lock). */
static struct slot *slot_find(const uint8_t key[16], bool create, int64_t now)
{
	uint32_t h = hash(key);
	struct slot *victim = NULL;
	for (int i = 0; i < PROBES; i++) {
		struct slot *s = &slots[(h + (uint32_t)i) % SLOTS];
		if (s->used && memcmp(s->addr, key, 16) == 0)
			return s;
		bool stale = !s->used || (s->blocked_until < now &&
					  now - s->window_start > (int64_t)lim_window);
		if (stale && !victim)
			victim = s;
	}
	if (!create || !victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, key, 16);
	victim->used = true;
	victim->window_start = now;
	return victim;
}

bool kg_limiter_blocked(const struct sockaddr *sa)
{
	uint8_t key[16];
	if (!addr_key(sa, key))
		return false;
	pthread_mutex_lock(&lim_lock);
	int64_t now = now_ms();
	struct slot *s = lim_max ? slot_find(key, false, now) : NULL;
	bool blocked = s && s->blocked_until > now;
	pthread_mutex_unlock(&lim_lock);
	return blocked;
}

bool kg_limiter_fail(const struct sockaddr *sa)
{
	uint8_t key[16];
	if (!addr_key(sa, key))
		return false;
	pthread_mutex_lock(&lim_lock);
	bool just_blocked = false;
	int64_t now = now_ms();
	struct slot *s = lim_max ? slot_find(key, true, now) : NULL;
	if (s) {
		if (now - s->window_start > (int64_t)lim_window) {
			s->window_start = now;
			s->failures = 0;
		}
		if (++s->failures >= lim_max && s->blocked_until <= now) {
			s->blocked_until = now + lim_block;
			s->failures = 0;
			s->window_start = now;
			just_blocked = true;
		}
	}
	pthread_mutex_unlock(&lim_lock);
	return just_blocked;
}
