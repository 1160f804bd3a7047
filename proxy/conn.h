/* conn.h - client/upstream connection pairs (see conn-t.h). */
#ifndef KG_CONN_H
#define KG_CONN_H

#include "conn-t.h"
#include "worker-t.h"

/* Takes an accepted client socket for the listener of node_id (-1 for the
 * bootstrap port) and starts the upstream connect. */
void kg_conn_accept(struct kg_worker *w, int fd, int32_t node_id,
		    const struct sockaddr *peer);
/* Closes both sides and frees the pair. */
void kg_conn_close(struct kg_conn *c, const char *reason);

#endif
