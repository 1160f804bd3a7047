/* conn_tls.h - the TLS side of a client connection (conn_tls.c). */
#ifndef KG_LOOP_CONN_TLS_H
#define KG_LOOP_CONN_TLS_H

#include <stddef.h>

#include "base/metrics-t.h"
#include "loop/conn-t.h"

/* Principal of a TLS client: the certificate DN through the mapping
 * rules, or User:ANONYMOUS without a certificate. -1 when no rule maps
 * the DN (the connection is refused). */
int kg_conn_tls_principal(struct kg_conn *c);
/* A failed handshake: writes why (for the close reason), logs it, counts
 * it by kind and returns the kind. */
enum kg_metrics_tls_result kg_conn_tls_failed(struct kg_conn *c, const char *stream_error,
				      char *why, size_t len);

#endif
