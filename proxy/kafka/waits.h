/* waits.h - how long a broker may hold a request before answering, by the
 * request's own fields: a Fetch waits up to MaxWaitMs for data, a Produce
 * with acks=all up to TimeoutMs for replication, a JoinGroup up to the
 * rebalance timeout for the other members. The gateway's request timeout
 * (loop/inflight.c) starts counting after that. */
#ifndef KG_KAFKA_WAITS_H
#define KG_KAFKA_WAITS_H

#include <stdint.h>

#include "kafka/codec-t.h"

/* Milliseconds the broker may legitimately hold req (0: answers at once). */
uint32_t kc_request_wait_ms(int16_t api_key, int16_t version, const struct kc_obj *req);

#endif
