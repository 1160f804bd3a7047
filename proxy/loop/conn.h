/* conn.h - client/upstream connection pairs (see conn-t.h). */
#ifndef KG_CONN_H
#define KG_CONN_H

#include "loop/conn-t.h"
#include "loop/worker-t.h"

/* Takes an accepted client socket for the listener of node_id (-1 for the
 * bootstrap port, or the SNI port when sni is set), runs the TLS handshake
 * when the listeners speak TLS, then connects upstream. */
void kg_conn_accept(struct kg_worker *w, int fd, int32_t node_id, bool sni,
		    const struct sockaddr *peer);
/* The SNI callback for tls.c: routes a connection of the SNI port. */
int kg_conn_sni(SSL *ssl, const char *name);
/* Closes both sides and frees the pair. */
void kg_conn_close(struct kg_conn *c, const char *reason);

#endif
