/* exchange.h - what happens to each whole frame: a request from the
 * client, or a response from the broker. conn.c does the I/O. */
#ifndef KG_EXCHANGE_H
#define KG_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>
#include "loop/conn-t.h"

enum kg_verdict {
	KG_FORWARD,                    /* pass the frame on unchanged */
	KG_CONSUMED,                   /* frame handled; do not forward it */
	KG_WAIT,                       /* cannot decide until output drains */
	KG_CLOSE                       /* close the connection (reason set) */
};

/* frame points at the 4-byte size prefix; len includes it. For
 * KG_FORWARD, *forward_len is the length to forward from c_in.ready, which
 * is shorter than len when bytes after the body were cut off. */
enum kg_verdict kg_exchange_request(struct kg_conn *c, const uint8_t *frame,
				    size_t len, size_t *forward_len,
				    const char **reason);
enum kg_verdict kg_exchange_response(struct kg_conn *c, const uint8_t *frame,
				     size_t len, const char **reason);
/* A response of which only the first avail (>= 8) bytes are here: when it
 * needs no rewriting, it is matched now and 1 is returned, so its bytes
 * can be passed on as they arrive instead of buffering the whole frame.
 * 0 when the whole frame is needed. */
int kg_exchange_response_streamable(struct kg_conn *c, const uint8_t *frame);
/* Moves local responses at the head of the in-flight queue to to_c.
 * Returns 0, or 1 when blocked behind unsent pass-through bytes. */
int kg_exchange_emit_local(struct kg_conn *c);

/* Queues a gateway-made response frame (owned, malloc'd) behind the
 * responses still pending, so the client sees them in order. */
int kg_exchange_queue_local(struct kg_conn *c, int32_t corr, int16_t key,
			    int16_t ver, uint8_t *frame, long len);

/* In-flight ring. */
int kg_inflight_push(struct kg_conn *c, const struct kg_inflight *e);
void kg_inflight_clear(struct kg_conn *c);

#endif
