/* admin.h - the admin HTTP listener (config "admin"): GET /healthz,
 * /readyz (no token: probes), /metrics and /status (bearer token when
 * admin.token_file is set). libmicrohttpd serves it from its own thread,
 * away from the workers' loops. */
#ifndef KG_OPS_ADMIN_H
#define KG_OPS_ADMIN_H

#include <stddef.h>

#include "loop/worker-t.h"

/* Starts it when gw->cfg->admin is enabled. 0, or -1 with a message. */
int kg_admin_start(struct kg_gateway *gw, char *err, size_t errlen);
/* SIGHUP: reads admin.token_file again (a rotated Secret); on an error
 * the current token stays. */
void kg_admin_reload(const struct kg_config *cfg);
/* Stops it (waits for its thread). */
void kg_admin_stop(void);

#endif
