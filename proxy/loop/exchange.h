/* exchange.h - what happens to each whole frame: a request from the
 * client, or a response from the broker. conn.c does the I/O; the verdict
 * type is base/exchange-t.h's. */
#ifndef KG_LOOP_EXCHANGE_H
#define KG_LOOP_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>
#include "base/exchange-t.h"
#include "loop/conn-t.h"

/* frame points at the 4-byte size prefix; len includes it. For
 * KG_FORWARD, *forward_len is the length to forward from c_in.ready, which
 * is shorter than len when bytes after the body were cut off. */
enum kg_verdict kg_exchange_request(struct kg_conn *c, const uint8_t *frame,
				    size_t len, size_t *forward_len,
				    const char **reason);
enum kg_verdict kg_exchange_response(struct kg_conn *c, uint8_t *frame,
				     size_t len, const char **reason);
/* A response of which only the first avail (>= 8) bytes are here: when it
 * needs no rewriting, it is matched now and 1 is returned, so its bytes
 * can be passed on as they arrive instead of buffering the whole frame.
 * 0 when the whole frame is needed. */
int kg_exchange_response_streamable(struct kg_conn *c, uint8_t *frame, size_t avail);
/* The ApiVersions answer before authentication (auth/authn-t.h's
 * kg_api_versions_fn; ctx is the connection). */
long kg_exchange_api_versions(void *ctx, int16_t version, int32_t corr, struct kc_obj *req,
			      struct kc_arena *a, bool *full, uint8_t **frame,
			      const char **reason);

#endif
