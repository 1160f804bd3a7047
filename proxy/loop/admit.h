/* admit.h - which new client connections the gateway takes: counts per
 * client address across all workers, for all connections and for those
 * not yet authenticated (limits.max_connections_per_address, its
 * overrides, limits.max_unauthenticated_per_address). The total of
 * unauthenticated connections is each worker's own (worker.c: the oldest
 * one goes when a new one arrives at the cap). Thread safe. */
#ifndef KG_LOOP_ADMIT_H
#define KG_LOOP_ADMIT_H

#include <stdbool.h>
#include <sys/socket.h>

#include "config/config-t.h"

enum kg_admit {
	KG_ADMIT_OK,                   /* taken (and counted) */
	KG_ADMIT_ADDRESS_FULL,         /* the address has its connections */
	KG_ADMIT_ADDRESS_LOGINS_FULL,  /* the address has its unauthenticated
	                                  connections */
	KG_ADMIT_NO_MEMORY             /* could not count it: refused */
};

/* Takes the limits of cfg (kept by reference: it outlives the gateway's
 * connections). Call before the workers start. */
void kg_admit_configure(const struct kg_config *cfg);
/* A new connection from sa, not authenticated yet. Addresses that are not
 * IP (unix sockets) are always taken and not counted. */
enum kg_admit kg_admit_enter(const struct sockaddr *sa);
/* The connection from sa has authenticated. */
void kg_admit_authenticated(const struct sockaddr *sa);
/* The connection from sa is gone. */
void kg_admit_leave(const struct sockaddr *sa, bool authenticated);
/* What a refusal is called in logs. */
const char *kg_admit_reason(enum kg_admit a);

#endif
