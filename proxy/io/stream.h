/* stream.h - reads and writes over plaintext or TLS with the same calls.
 * With TLS a read may need the socket writable and a write may need it
 * readable (renegotiation, key updates, the handshake itself); the flags in
 * struct kg_stream tell the event loop which readiness to wait for. */
#ifndef KG_STREAM_H
#define KG_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "io/stream-t.h"

/* Reads up to len bytes. Returns bytes read, 0 on orderly EOF, -1 on
 * error, -2 when it would block. */
long kg_stream_read(struct kg_stream *s, uint8_t *buf, size_t len);
/* Writes the iovecs in order. Returns bytes written (possibly fewer than
 * asked), -1 on error, -2 when nothing could be written yet. */
long kg_stream_writev(struct kg_stream *s, const struct iovec *iov, int n);
/* Non-zero when OpenSSL holds input (decrypted or read ahead): the socket
 * will not signal it. */
int kg_stream_pending(const struct kg_stream *s);
/* Runs the TLS handshake on. 1 done, 0 in progress (see the flags), -1
 * failed. */
int kg_stream_handshake(struct kg_stream *s);
/* Short text for the last TLS error (e.g. "certificate verify failed"). */
const char *kg_stream_error(const struct kg_stream *s);
/* A quiet TLS stream gives back OpenSSL's record buffers (taken again on
 * the next record); nothing happens while they hold data. */
void kg_stream_release_buffers(struct kg_stream *s);
/* Closes without losing what was last written (see stream.c). */
void kg_stream_close(struct kg_stream *s);

#endif
