/* refresh.h - background broker discovery. */
#ifndef KG_REFRESH_H
#define KG_REFRESH_H

#include "route/router-t.h"

/* Starts a thread that asks the upstream cluster for its brokers now and
 * every metadata_refresh_ms, and feeds them to the router, so every
 * broker's gateway port is open before any client asks for it. */
int kg_refresh_start(struct kg_router *r);
void kg_refresh_stop(void);
/* Asks for a round soon (an unknown topic id was seen); cheap, any thread. */
void kg_refresh_kick(void);
/* One synchronous round; returns the number of brokers seen or -1. */
int kg_refresh_once(struct kg_router *r);

#endif
