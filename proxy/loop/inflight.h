/* inflight.h - the in-flight queue of a connection: requests waiting for
 * their responses and gateway-made responses waiting for their turn, in
 * the order the client sent the requests (Kafka clients rely on it). */
#ifndef KG_LOOP_INFLIGHT_H
#define KG_LOOP_INFLIGHT_H

#include <stdint.h>

#include "loop/conn-t.h"

/* Appends an entry (copied). 0, or -1 when out of memory. */
int kg_inflight_push(struct kg_conn *c, const struct kg_inflight *e);
/* Drops the oldest entry and what it owns. */
void kg_inflight_pop(struct kg_conn *c);
void kg_inflight_clear(struct kg_conn *c);
/* Queues a gateway-made response frame (owned, malloc'd) behind the
 * responses still pending, so the client sees them in order. 0 or -1
 * (the frame is freed). Matches struct kg_answer's queue (base/). */
int kg_inflight_queue_local(void *conn, int32_t corr, int16_t key, int16_t ver,
			    uint8_t *frame, long len);
/* Moves local responses at the head of the queue to to_c. Returns 0, or
 * 1 when blocked behind unsent pass-through bytes. */
int kg_inflight_emit_local(struct kg_conn *c);

#endif
