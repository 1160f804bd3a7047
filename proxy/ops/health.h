/* health.h - what /healthz and /readyz answer: the process is alive; the
 * gateway can serve (listeners bound, the brokers answered the last
 * metadata refresh, the audit log is being written, not draining). */
#ifndef KG_OPS_HEALTH_H
#define KG_OPS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "route/router-t.h"

/* The listeners are bound and the workers run (cli/main.c). */
void kg_health_set_listening(bool on);
/* SIGTERM: from now on not ready, for good. */
void kg_health_set_draining(void);
bool kg_health_draining(void);
/* Ready to take clients; otherwise why (a short sentence). */
bool kg_health_ready(struct kg_router *r, char *why, size_t len);

#endif
