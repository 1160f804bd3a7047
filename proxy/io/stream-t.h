/* stream-t.h - one side of a connection: a socket, with or without TLS. */
#ifndef KG_STREAM_T_H
#define KG_STREAM_T_H

#include <openssl/ssl.h>
#include <stdbool.h>

struct kg_stream {
	int fd;                        /* the socket */
	SSL *ssl;                      /* TLS session, NULL for plaintext */
	bool read_wants_write;         /* TLS read can go on only when writable */
	bool write_wants_read;         /* TLS write can go on only when readable */
	unsigned long ssl_err;         /* last OpenSSL error, for the close reason */
};

#endif
