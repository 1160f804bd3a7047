/* tls-t.h - TLS contexts. Contexts are immutable once built; a reload
 * builds new ones and swaps them in (base/reload.h), and a connection
 * keeps a reference to the ones it started with until its handshake is
 * done. */
#ifndef KG_AUTH_TLS_T_H
#define KG_AUTH_TLS_T_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "auth/auth-t.h"

struct kg_principal_rules;

/* Everything one generation of TLS settings built. */
struct kg_tls_contexts {
	_Atomic int refs;              /* holders: the slot + connections */
	SSL_CTX *server;               /* listeners: certificate, key, CA,
	                                  CRL, versions; NULL: plaintext */
	struct kg_principal_rules *rules; /* certificate DN -> principal */
	SSL_CTX *upstream;             /* towards the brokers, or NULL */
};

/* The settings the contexts are built from (both sections of the
 * configuration, owned by it). */
struct kg_tls_settings {
	const struct kg_tls_cfg *server;        /* listen.tls */
	const struct kg_upstream_tls_cfg *upstream; /* upstream.tls */
};

/* What a client's completed handshake shows (logs, audit records). */
struct kg_tls_peer {
	char version[16];              /* "TLSv1.3" */
	char cipher[64];               /* OpenSSL cipher name */
	bool has_cert;                 /* a certificate with a usable subject */
	char subject[1024];            /* its subject DN (RFC 2253 form) */
	char sha256[96];               /* its SHA-256 fingerprint AB:CD:..., "" */
};

#endif
