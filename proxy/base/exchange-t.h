/* exchange-t.h - the contract between the event loop (loop/) and the
 * modules it hands whole frames to (auth/authn.c, enforce/, the ApiVersions
 * answers): what they decide, and how they give the loop a response they
 * made. It lives here, below every folder, so that no module has to
 * include the loop to talk back to it.
 *
 *   loop --frame--> module --verdict--> loop
 *                     \--kg_answer.queue(frame)--> loop queues it behind
 *                        the responses still pending, in order */
#ifndef KG_BASE_EXCHANGE_T_H
#define KG_BASE_EXCHANGE_T_H

#include <stdint.h>

enum kg_verdict {
	KG_FORWARD,                    /* pass the frame on unchanged */
	KG_CONSUMED,                   /* frame handled; do not forward it */
	KG_WAIT,                       /* cannot decide until output drains */
	KG_CLOSE                       /* close the connection (reason set) */
};

/* Where a module puts a response it made. queue takes ownership of the
 * malloc'd frame (size prefix included) and returns 0, or -1 when out of
 * memory (the frame is freed either way on failure). */
struct kg_answer {
	int (*queue)(void *ctx, int32_t corr, int16_t api_key, int16_t version,
		     uint8_t *frame, long len);
	void *ctx;                     /* the loop's connection */
};

#endif
