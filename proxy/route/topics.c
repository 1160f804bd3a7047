/* topics.c - topic id -> name map (see topics.h).
 *
 * Open addressing keyed by the 16-byte id; the table doubles at 50% load
 * and entries are never removed while running (a deleted topic's id is
 * never reused, so a stale entry can only name a topic that is gone).
 * A read-write lock: every worker reads, updates are rare. */
#define _GNU_SOURCE   /* pthread_rwlock_t under -std=c11 */
#include "route/topics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_NAME_MAX 249             /* Kafka's limit on a topic name */

struct topic_slot {
	uint8_t id[16];                /* topic id; all zero = empty slot */
	uint8_t len;                   /* name length */
	char name[TOPIC_NAME_MAX + 1]; /* name, NUL-terminated */
};

static pthread_rwlock_t topics_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct topic_slot *slots;       /* table, cap entries */
static size_t cap, used;               /* size and occupied slots */

static bool id_zero(const uint8_t id[16])
{
	static const uint8_t zero[16];
	return memcmp(id, zero, 16) == 0;
}

static size_t id_hash(const uint8_t id[16])
{
	uint64_t h;
	memcpy(&h, id + 8, sizeof(h));   /* ids are random already */
	return (size_t)(h ^ (h >> 29));
}

static struct topic_slot *slot_find(struct topic_slot *t, size_t n, const uint8_t id[16])
{
	for (size_t i = id_hash(id) & (n - 1);; i = (i + 1) & (n - 1))
		if (id_zero(t[i].id) || memcmp(t[i].id, id, 16) == 0)
			return &t[i];
}

static int grow(void)
{
	size_t ncap = cap ? cap * 2 : 256;
	struct topic_slot *t = calloc(ncap, sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < cap; i++)
		if (!id_zero(slots[i].id))
			*slot_find(t, ncap, slots[i].id) = slots[i];
	free(slots);
	slots = t;
	cap = ncap;
	return 0;
}

void kg_topics_learn(const uint8_t id[16], const char *name, size_t len)
{
	if (id_zero(id) || !name || len == 0 || len > TOPIC_NAME_MAX)
		return;
	pthread_rwlock_rdlock(&topics_lock);
	struct topic_slot *s = cap ? slot_find(slots, cap, id) : NULL;
	bool same = s && !id_zero(s->id) && s->len == len && memcmp(s->name, name, len) == 0;
	pthread_rwlock_unlock(&topics_lock);
	if (same)
		return;
	pthread_rwlock_wrlock(&topics_lock);
	if ((used + 1) * 2 > cap && grow() < 0) {
		pthread_rwlock_unlock(&topics_lock);
		return;
	}
	s = slot_find(slots, cap, id);
	if (id_zero(s->id))
		used++;
	memcpy(s->id, id, 16);
	memcpy(s->name, name, len);
	s->name[len] = '\0';
	s->len = (uint8_t)len;
	pthread_rwlock_unlock(&topics_lock);
}

int kg_topics_name(const uint8_t id[16], char *buf, size_t bufcap)
{
	int n = -1;
	if (id_zero(id))
		return -1;
	pthread_rwlock_rdlock(&topics_lock);
	struct topic_slot *s = cap ? slot_find(slots, cap, id) : NULL;
	if (s && !id_zero(s->id) && (size_t)s->len < bufcap) {
		memcpy(buf, s->name, (size_t)s->len + 1);
		n = s->len;
	}
	pthread_rwlock_unlock(&topics_lock);
	return n;
}

void kg_topics_clear(void)
{
	pthread_rwlock_wrlock(&topics_lock);
	free(slots);
	slots = NULL;
	cap = used = 0;
	pthread_rwlock_unlock(&topics_lock);
}

int kg_topics_next_name(const char *after, size_t alen, kg_topics_keep_fn keep, void *ctx,
			char *out, size_t outcap)
{
	int best = -1;
	pthread_rwlock_rdlock(&topics_lock);
	for (size_t i = 0; i < cap; i++) {
		const struct topic_slot *t = &slots[i];
		if (id_zero(t->id) || t->len >= outcap)
			continue;
		/* after < name, in byte order (Kafka's order for these names) */
		size_t m = alen < t->len ? alen : t->len;
		int c = memcmp(t->name, after, m);
		if (c < 0 || (c == 0 && t->len <= alen))
			continue;
		if (best >= 0) {
			size_t bm = (size_t)best < t->len ? (size_t)best : t->len;
			int bc = memcmp(t->name, out, bm);
			if (bc > 0 || (bc == 0 && t->len >= (size_t)best))
				continue;
		}
		if (!keep(ctx, t->name, t->len))
			continue;
		memcpy(out, t->name, (size_t)t->len + 1);
		best = t->len;
	}
	pthread_rwlock_unlock(&topics_lock);
	return best;
}

void kg_topics_each(kg_topics_keep_fn fn, void *ctx)
{
	pthread_rwlock_rdlock(&topics_lock);
	for (size_t i = 0; i < cap; i++)
		if (!id_zero(slots[i].id))
			fn(ctx, slots[i].name, slots[i].len);
	pthread_rwlock_unlock(&topics_lock);
}
