/* sbuf.h - connection buffers (see sbuf-t.h). */
#ifndef KG_SBUF_H
#define KG_SBUF_H

#include <stdbool.h>
#include "io/sbuf-t.h"
#include "io/stream-t.h"

int kg_sbuf_init(struct kg_sbuf *b, size_t cap);
void kg_sbuf_free(struct kg_sbuf *b);
/* Makes room for a frame of `need` bytes starting at `ready`: compacts,
 * and grows only when the frame is larger than the whole buffer (otherwise
 * it fits once the bytes before it are written). -1 on allocation failure. */
int kg_sbuf_reserve(struct kg_sbuf *b, size_t need);
/* Reads once from s into free space. Returns bytes read, 0 on EOF,
 * -1 on error, -2 on EAGAIN, -3 when the buffer has no free space. */
long kg_sbuf_recv(struct kg_sbuf *b, struct kg_stream *s);
/* Called when everything parsed has been written: resets offsets. */
void kg_sbuf_settle(struct kg_sbuf *b);
/* Gives back storage that grew for a large frame, when the buffer is
 * empty; called on quiet connections. */
void kg_sbuf_trim(struct kg_sbuf *b);

void kg_obuf_free(struct kg_obuf *o);
/* Reserves n bytes at the end of o and returns a pointer to them. */
uint8_t *kg_obuf_extend(struct kg_obuf *o, size_t n);
static inline size_t kg_obuf_pending(const struct kg_obuf *o) { return o->len - o->off; }

/* Writes o's pending bytes, then src[sent, ready), with one writev.
 * Returns 1 when all is written, 0 when some remains (EAGAIN), -1 on error. */
int kg_flush(struct kg_stream *s, struct kg_obuf *o, struct kg_sbuf *src);

#endif
