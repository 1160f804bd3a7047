/* login.h - the connections of a worker that have not authenticated yet,
 * oldest first, and their admission counts (admit.c).
 *
 *   accept --kg_login_admit--> refused (address over its limits): closed
 *      |
 *      +--kg_login_begin--> on the list; at the worker's share of
 *      |                    limits.max_unauthenticated_connections the
 *      |                    oldest is handed back to be closed
 *      +--kg_login_end----> authenticated: off the list
 *      +--kg_login_leave--> closed (either way): uncounted
 */
#ifndef KG_LOOP_LOGIN_H
#define KG_LOOP_LOGIN_H

#include <stdbool.h>
#include <sys/socket.h>

#include "loop/conn-t.h"
#include "loop/worker-t.h"

/* Counts a new connection from peer; false when it is refused (logged, at
 * most once a second per worker). */
bool kg_login_admit(struct kg_worker *w, const struct sockaddr *peer);
/* Puts c (admitted) on its worker's list. Returns the oldest connection
 * still logging in when the worker is over its share, for the caller to
 * close, else NULL. */
struct kg_conn *kg_login_begin(struct kg_conn *c);
/* c has authenticated. */
void kg_login_end(struct kg_conn *c);
/* c is closing. */
void kg_login_leave(struct kg_conn *c);

#endif
