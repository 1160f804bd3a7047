/* sbuf.h - connection buffers (see sbuf-t.h). */
#ifndef KG_SBUF_H
#define KG_SBUF_H

#include <stdbool.h>
#include "io/sbuf-t.h"
#include "io/stream-t.h"

/* Sets the window; takes no storage yet (always 0). */
int kg_sbuf_init(struct kg_sbuf *b, size_t window);
void kg_sbuf_free(struct kg_sbuf *b);
/* Bytes that may still be received before reading must wait. */
static inline size_t kg_sbuf_room(const struct kg_sbuf *b)
{
	return (b->cap > b->window ? b->cap : b->window) - b->len;
}
/* Makes room for a frame of `need` bytes starting at `ready`: compacts,
 * and grows past the window only when the frame is larger than it
 * (otherwise it fits once the bytes before it are written). -1 on
 * allocation failure. */
int kg_sbuf_reserve(struct kg_sbuf *b, size_t need);
/* Reads once from s into free space, taking storage as needed. Returns
 * bytes read, 0 on EOF, -1 on error (or no memory), -2 on EAGAIN, -3 when
 * the window is full. */
long kg_sbuf_recv(struct kg_sbuf *b, struct kg_stream *s);
/* Called when everything parsed has been written: resets offsets. */
void kg_sbuf_settle(struct kg_sbuf *b);
/* Gives back all storage when the buffer is empty; called on quiet
 * connections. Returns the bytes released. */
size_t kg_sbuf_trim(struct kg_sbuf *b);

void kg_obuf_free(struct kg_obuf *o);
/* Gives back o's storage when all of it is written; returns the bytes
 * released. */
size_t kg_obuf_trim(struct kg_obuf *o);
/* Reserves n bytes at the end of o and returns a pointer to them. */
uint8_t *kg_obuf_extend(struct kg_obuf *o, size_t n);
static inline size_t kg_obuf_pending(const struct kg_obuf *o) { return o->len - o->off; }

/* Writes o's pending bytes, then src[sent, ready), with one writev.
 * Returns 1 when all is written, 0 when some remains (EAGAIN), -1 on error. */
int kg_flush(struct kg_stream *s, struct kg_obuf *o, struct kg_sbuf *src);

#endif
