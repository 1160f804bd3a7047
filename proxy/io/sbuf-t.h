/* sbuf-t.h - the receive buffer of one direction of a connection.
 *
 *   0        sent          ready                 len          cap
 *   |--------|=============|#####################|............|
 *    written  parsed, to be  received, not yet     free
 *    out      forwarded as   parsed (partial or
 *             is (no copy)   whole frames)
 *
 * Frames are forwarded straight from this buffer. A frame that must be
 * replaced (a rewritten response) or dropped is cut out only when nothing
 * before it is waiting (sent == ready), so order is always kept.
 *
 * Storage is taken on demand: none until the first byte arrives, then a
 * small start doubled while the peer sends faster than the other side
 * takes, up to the window; only a single frame larger than the window
 * grows it past. A quiet connection gives all of it back (kg_sbuf_trim),
 * so an idle connection holds no buffer at all.
 */
#ifndef KG_SBUF_T_H
#define KG_SBUF_T_H

#include <stddef.h>
#include <stdint.h>

/* First storage of a buffer (one TLS record's worth). */
#define KG_SBUF_START ((size_t)16 << 10)

struct kg_sbuf {
	uint8_t *data;                 /* storage, NULL while none is held */
	size_t cap;                    /* allocated size (0 with no storage) */
	size_t window;                 /* received bytes held at most before
	                                  reading stops (back-pressure); a larger
	                                  single frame may grow cap past it */
	size_t sent;                   /* bytes already written to the peer */
	size_t ready;                  /* end of parsed bytes */
	size_t len;                    /* end of received bytes */
};

/* Bytes the gateway produced itself (rewritten or local frames), written
 * before the pass-through region of the paired sbuf. */
struct kg_obuf {
	uint8_t *data;                 /* storage */
	size_t cap;                    /* allocated size */
	size_t off;                    /* bytes already written */
	size_t len;                    /* bytes queued */
};

#endif
