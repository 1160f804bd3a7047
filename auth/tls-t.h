/* tls-t.h - TLS contexts. A context is immutable once built; a reload
 * builds a new one and swaps it in, and connections keep a reference to
 * the one they started with until they close. */
#ifndef KG_TLS_T_H
#define KG_TLS_T_H

#include <openssl/ssl.h>

struct kg_principal_rules;

/* What a client-facing TLS listener needs. */
struct kg_tls_server {
	SSL_CTX *ctx;                  /* certificate, key, CA, CRL, versions */
	struct kg_principal_rules *rules; /* certificate DN -> principal */
	int refs;                      /* holders: the current slot + conns */
};

#endif
