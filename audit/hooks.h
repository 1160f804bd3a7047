/* hooks.h - what the audit hook files share (not for the proxy: it uses
 * audit.h). */
#ifndef KG_AUDIT_HOOKS_H
#define KG_AUDIT_HOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit/audit-t.h"
#include "kafka/codec-t.h"

struct kg_conn;

/* The settings while auditing is on, else NULL (set before the workers
 * start, cleared after they stopped). */
extern const struct kg_audit_cfg *kg_audit_cfg_on;

/* A new event about connection c: its common fields (conn, listener,
 * client address and port, principal, client software, TLS). */
json_t *kg_audit_conn_event(const struct kg_conn *c, const char *type);

/* traffic.c: writes c's summaries and due denial groups (all of them
 * when closing) and, when closing, frees them. */
void kg_audit_conn_flush(struct kg_conn *c, bool closing);
/* admin.c: remembers an administrative request until its response. */
void kg_audit_admin_request(struct kg_conn *c, int16_t api_key, int16_t version,
			    struct kc_obj *req);
void kg_audit_admin_free(struct kg_audit_conn *a);

/* Names for records. */
const char *kg_audit_api_name(int16_t api_key);      /* "Produce", "api-99" */

#endif
