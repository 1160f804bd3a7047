/* stream.c - plaintext and TLS I/O behind one interface.
 *
 * TLS writes go through SSL_write_ex with SSL_MODE_ENABLE_PARTIAL_WRITE and
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER (set on the context in tls.c): a
 * retried write may then come from a buffer that moved (compaction), as
 * long as it starts with the same bytes, which the buffers guarantee.
 */
#define _GNU_SOURCE
#include "io/stream.h"

#include <errno.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

/* Maps an SSL result to our codes and records which readiness it needs. */
static long ssl_result(struct kg_stream *s, int rc, bool reading)
{
	int e = SSL_get_error(s->ssl, rc);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		if (!reading)
			s->write_wants_read = true;
		return -2;
	case SSL_ERROR_WANT_WRITE:
		if (reading)
			s->read_wants_write = true;
		return -2;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		s->ssl_err = ERR_peek_last_error();
		ERR_clear_error();
		/* An EOF without close_notify: treat as a close. */
		return (errno == 0 || errno == ECONNRESET) && reading ? 0 : -1;
	default:
		s->ssl_err = ERR_peek_last_error();
		ERR_clear_error();
		return -1;
	}
}

long kg_stream_read(struct kg_stream *s, uint8_t *buf, size_t len)
{
	if (!s->ssl) {
		ssize_t n = read(s->fd, buf, len);
		if (n >= 0)
			return n;
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -2 : -1;
	}
	s->read_wants_write = false;
	size_t got = 0;
	errno = 0;
	int rc = SSL_read_ex(s->ssl, buf, len, &got);
	if (rc == 1)
		return (long)got;
	return ssl_result(s, rc, true);
}

long kg_stream_writev(struct kg_stream *s, const struct iovec *iov, int n)
{
	if (!s->ssl) {
		for (;;) {
			ssize_t w = writev(s->fd, iov, n);
			if (w >= 0)
				return w;
			if (errno == EINTR)
				continue;
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? -2 : -1;
		}
	}
	s->write_wants_read = false;
	long total = 0;
	for (int i = 0; i < n; i++) {
		size_t done = 0;
		errno = 0;
		int rc = SSL_write_ex(s->ssl, iov[i].iov_base, iov[i].iov_len, &done);
		if (rc != 1) {
			long r = ssl_result(s, rc, false);
			if (r == -2 && total > 0)
				return total;
			return r == 0 ? -1 : r;
		}
		total += (long)done;
		if (done < iov[i].iov_len)
			return total;
	}
	return total;
}

int kg_stream_pending(const struct kg_stream *s)
{
	/* With read-ahead, OpenSSL may hold whole records not yet decrypted:
	 * SSL_has_pending sees those too, SSL_pending only decrypted bytes. */
	return s->ssl ? (SSL_pending(s->ssl) > 0 || SSL_has_pending(s->ssl)) : 0;
}

int kg_stream_handshake(struct kg_stream *s)
{
	s->read_wants_write = s->write_wants_read = false;
	errno = 0;
	int rc = SSL_do_handshake(s->ssl);
	if (rc == 1)
		return 1;
	int e = SSL_get_error(s->ssl, rc);
	if (e == SSL_ERROR_WANT_READ) {
		s->write_wants_read = true;
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		s->read_wants_write = true;
		return 0;
	}
	s->ssl_err = ERR_peek_last_error();
	ERR_clear_error();
	return -1;
}

const char *kg_stream_error(const struct kg_stream *s)
{
	if (!s->ssl_err)
		return "connection closed during the handshake";
	const char *r = ERR_reason_error_string(s->ssl_err);
	return r ? r : "TLS error";
}

void kg_stream_close(struct kg_stream *s)
{
	if (s->fd >= 0) {
		/* Unread input makes close() send a reset, which can overtake
		 * what was just written (a TLS alert, an error response): end
		 * the write side and swallow what is already there first. */
		char junk[4096];
		shutdown(s->fd, SHUT_WR);
		for (int i = 0; i < 16 && read(s->fd, junk, sizeof(junk)) > 0; i++)
			;
	}
	if (s->ssl) {
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void kg_stream_release_buffers(struct kg_stream *s)
{
	if (s->ssl && !SSL_has_pending(s->ssl) && !s->read_wants_write && !s->write_wants_read)
		SSL_free_buffers(s->ssl);
}
