/* topics.h - topic id -> name map, learned from the brokers' answers
 * (Metadata, CreateTopics, DescribeTopicPartitions) and the background
 * refresh, so that requests naming topics by id are authorized by name. */
#ifndef KG_TOPICS_H
#define KG_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Records (or updates) id -> name. Thread safe. */
void kg_topics_learn(const uint8_t id[16], const char *name, size_t len);
/* Copies the name of id into buf (NUL-terminated, cap >= 250) and returns
 * its length, or -1 when the id is unknown. Thread safe. */
int kg_topics_name(const uint8_t id[16], char *buf, size_t cap);
/* The smallest known topic name after `after` (byte order, as the brokers
 * order topics) that keep() accepts, copied into out (cap >= 250): its
 * length, or -1 when there is none. For paging a listing through the
 * topics a principal may see. Thread safe; keep runs under the map's read
 * lock and must not call back into it. */
typedef bool (*kg_topics_keep_fn)(void *ctx, const char *name, size_t len);
int kg_topics_next_name(const char *after, size_t alen, kg_topics_keep_fn keep, void *ctx,
			char *out, size_t outcap);
/* Calls fn for every known topic name (under the map's read lock: fn must
 * not call back into it). Thread safe. */
void kg_topics_each(kg_topics_keep_fn fn, void *ctx);
/* Forgets everything (tests, shutdown). */
void kg_topics_clear(void);

#endif
