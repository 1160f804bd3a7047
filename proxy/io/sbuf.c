/* sbuf.c - receive and output buffers; see sbuf-t.h for the layout. */
#define _GNU_SOURCE
#include "io/sbuf.h"
#include "io/stream.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int kg_sbuf_init(struct kg_sbuf *b, size_t window)
{
	memset(b, 0, sizeof(*b));
	b->window = window;
	return 0;
}

void kg_sbuf_free(struct kg_sbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->cap = 0;
}

static int resize(struct kg_sbuf *b, size_t cap)
{
	uint8_t *d = realloc(b->data, cap);
	if (!d)
		return -1;
	b->data = d;
	b->cap = cap;
	return 0;
}

/* The next storage size on the way to at least `need` bytes: the start,
 * then doubling, clipped to `limit` when need is within it. */
static size_t next_cap(size_t cap, size_t need, size_t limit)
{
	size_t c = cap ? cap : (KG_SBUF_START < limit ? KG_SBUF_START : limit);
	while (c < need)
		c *= 2;
	return need <= limit && c > limit ? limit : c;
}

int kg_sbuf_reserve(struct kg_sbuf *b, size_t need)
{
	if (b->ready + need <= b->cap)
		return 0;
	/* Drop what was written, so the frame being received starts nearer
	 * the front. Only unsent bytes are moved. */
	if (b->sent > 0) {
		memmove(b->data, b->data + b->sent, b->len - b->sent);
		b->ready -= b->sent;
		b->len -= b->sent;
		b->sent = 0;
	}
	if (b->ready + need <= b->cap)
		return 0;
	size_t room = b->cap > b->window ? b->cap : b->window;
	/* Within the window: take the storage now. */
	if (b->ready + need <= room)
		return resize(b, next_cap(b->cap, b->ready + need, room));
	/* A frame that fits the window waits for the bytes before it to be
	 * written: growing here would defeat back-pressure. Only a frame
	 * larger than the whole window makes it grow past. */
	if (need <= room)
		return 0;
	size_t cap = room;
	while (cap < need)
		cap *= 2;
	return resize(b, cap);
}

long kg_sbuf_recv(struct kg_sbuf *b, struct kg_stream *s)
{
	if (kg_sbuf_room(b) == 0)
		return -3;
	if (b->len == b->cap && resize(b, next_cap(b->cap, b->len + 1, b->window)) < 0)
		return -1;
	size_t space = b->cap - b->len;
	long n = kg_stream_read(s, b->data + b->len, space);
	if (n > 0)
		b->len += (size_t)n;
	/* The read took all there was room for: the peer sends faster than
	 * the storage holds, so it doubles now (up to the window) rather than
	 * costing a read per 16 KiB of a streamed fetch. */
	if (n > 0 && (size_t)n == space && b->cap < b->window &&
	    resize(b, next_cap(b->cap, b->cap + 1, b->window)) < 0)
		return -1;
	return n;
}

void kg_sbuf_settle(struct kg_sbuf *b)
{
	if (b->sent != b->len)
		return;
	/* Storage is kept while the connection is busy: a consumer gets one
	 * large fetch after another, and giving the memory back each time
	 * costs a fresh mapping and a page fault per page (measured: half the
	 * CPU of a consume). kg_sbuf_trim() returns it when the connection
	 * idles. */
	b->sent = b->ready = b->len = 0;
}

size_t kg_sbuf_trim(struct kg_sbuf *b)
{
	if (b->sent != b->len || !b->data)
		return 0;
	size_t n = b->cap;
	b->sent = b->ready = b->len = 0;
	kg_sbuf_free(b);
	return n;
}

size_t kg_obuf_trim(struct kg_obuf *o)
{
	if (o->off != o->len || !o->data)
		return 0;
	size_t n = o->cap;
	kg_obuf_free(o);
	return n;
}

void kg_obuf_free(struct kg_obuf *o)
{
	free(o->data);
	memset(o, 0, sizeof(*o));
}

uint8_t *kg_obuf_extend(struct kg_obuf *o, size_t n)
{
	if (o->off == o->len)
		o->off = o->len = 0;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (cap < o->len + n)
			cap *= 2;
		uint8_t *d = realloc(o->data, cap);
		if (!d)
			return NULL;
		o->data = d;
		o->cap = cap;
	}
	uint8_t *p = o->data + o->len;
	o->len += n;
	return p;
}

int kg_flush(struct kg_stream *s, struct kg_obuf *o, struct kg_sbuf *src)
{
	for (;;) {
		struct iovec iov[2];
		int n = 0;
		if (o->len > o->off)
			iov[n++] = (struct iovec){ o->data + o->off, o->len - o->off };
		if (src && src->ready > src->sent)
			iov[n++] = (struct iovec){ src->data + src->sent, src->ready - src->sent };
		if (n == 0)
			return 1;
		long w = kg_stream_writev(s, iov, n);
		if (w == -2)
			return 0;
		if (w < 0)
			return -1;
		size_t left = (size_t)w;
		size_t take = o->len - o->off < left ? o->len - o->off : left;
		o->off += take;
		left -= take;
		if (src)
			src->sent += left;
		if (o->off == o->len)
			o->off = o->len = 0;
	}
}
