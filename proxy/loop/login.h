/* login.h - the connections of a worker that have not authenticated yet,
 * oldest first, and their admission counts (admit.c).
 *
 *   accept --kg_login_admit--> refused (address over its limits): closed
 *      |
 *      +--kg_login_begin--> on the list; at the worker's share of
 *      |                    limits.max_unauthenticated_connections the
 *      |                    oldest is handed back to be closed
 *      +--kg_login_principal--> its tenant (policy tenants[]) counted in,
 *      |                    or marked full: the caller closes it
 *      +--kg_login_end----> authenticated: off the list
 *      +--kg_login_leave--> closed (either way): uncounted
 */
#ifndef KG_LOOP_LOGIN_H
#define KG_LOOP_LOGIN_H

#include <stdbool.h>
#include <stddef.h>
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
/* The login of c (a struct kg_conn) established principal: its tenant in
 * the policy in force is looked up and the connection counted in, or
 * marked (tenant_full) when the tenant is at its max_connections. A
 * struct kg_principal_hook function. */
void kg_login_principal(void *c, const char *principal);
/* Whether kg_login_principal found c's tenant full; if so why (for the
 * close) is written, logged and counted. The connection is closed as a
 * broker closes one over its quota: clients reconnect after a backoff. */
bool kg_login_tenant_full(struct kg_conn *c, char *why, size_t len);
/* Reports c's traffic since the last report to its tenant's counts (no
 * tenant: nothing). From the worker's sweep, about once a second, and at
 * the close. */
void kg_login_tenant_report(struct kg_conn *c);
/* Acts on what authn raised while it handled one of c's frames: a
 * request to count, a close after the answer, the failure delay. Inline
 * test: the loop asks after every request frame, and only SASL frames
 * raise anything. */
void kg_login_settle_raised(struct kg_conn *c);
static inline void kg_login_settle(struct kg_conn *c)
{
	if (c->authn.request_seen || c->authn.close_after_flush || c->authn.failure_delay)
		kg_login_settle_raised(c);
}
/* c has authenticated. */
void kg_login_end(struct kg_conn *c);
/* c is closing. */
void kg_login_leave(struct kg_conn *c);

#endif
