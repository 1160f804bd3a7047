/* traffic.h - a connection's decisions and data-plane summaries
 * (traffic.c). */
#ifndef KG_AUDIT_TRAFFIC_H
#define KG_AUDIT_TRAFFIC_H

#include <stdbool.h>

#include "audit/audit-t.h"

/* Writes a's summaries and due denial groups (all of them when closing)
 * and, when closing, frees them. */
void kg_audit_conn_flush(struct kg_audit_conn *a, bool closing);

#endif
