/* status.h - GET /status: a read-only view of the running gateway in JSON
 * (PgBouncer's SHOW habit): configuration, policy generation, readiness,
 * connections per listener, the brokers and how they are reached. */
#ifndef KG_OPS_STATUS_H
#define KG_OPS_STATUS_H

#include "loop/worker-t.h"

/* The document, malloc'd (NUL-terminated), or NULL when out of memory. */
char *kg_status_json(struct kg_gateway *gw);

#endif
