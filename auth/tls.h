/* tls.h - building, holding and reloading TLS contexts. */
#ifndef KG_AUTH_TLS_H
#define KG_AUTH_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include "auth/tls-t.h"

/* Called from OpenSSL's SNI callback with the name the client asked for;
 * returns 0 to go on, -1 to refuse the handshake (unrecognized_name). */
typedef int (*kg_tls_sni_fn)(SSL *ssl, const char *name);

/* Builds the contexts the settings ask for. -1 with a message on error. */
int kg_tls_init(const struct kg_tls_settings *ts, kg_tls_sni_fn sni, char *err,
		size_t errlen);
/* Builds new contexts from the files again and swaps them in on success;
 * on failure keeps the old ones. 0, or -1 with a message. */
int kg_tls_reload(const struct kg_tls_settings *ts, char *err, size_t errlen);
/* The current contexts with a reference taken (NULL before init); their
 * server is NULL when the listeners are plaintext. */
struct kg_tls_contexts *kg_tls_acquire(void);
void kg_tls_release(struct kg_tls_contexts *t);   /* NULL is fine */
/* A new client session towards a broker (upstream.tls), or NULL when
 * upstream TLS is off. host is checked against the broker certificate. */
SSL *kg_tls_upstream_new(const char *host, bool verify_hostname);
void kg_tls_shutdown(void);
/* Expiry (Unix seconds) of the listeners' certificate and of the client
 * certificate shown to the brokers; 0 for one that is not configured. */
void kg_tls_cert_expiry(long long *server, long long *upstream);
/* Newest modification time of the TLS files, to notice replaced files. */
long long kg_tls_files_mtime(const struct kg_tls_settings *ts);
/* Version, cipher and client certificate of a finished handshake. */
void kg_tls_peer_describe(SSL *ssl, struct kg_tls_peer *p);

#endif
