/* record.h - what every connection record shares (record.c): the
 * settings while auditing is on, the common fields of a connection's
 * events, names for records. Used by conn_hooks.c, traffic.c, admin.c. */
#ifndef KG_AUDIT_RECORD_H
#define KG_AUDIT_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit-t.h"

/* The settings while auditing is on, else NULL (set by kg_audit_start
 * before the workers start, cleared after they stopped). */
extern const struct kg_audit_cfg *kg_audit_cfg_on;

/* The topic-id resolver given to kg_audit_start (NULL: none). */
void kg_audit_set_topic_names(kg_audit_topic_name_fn fn);
/* The name of topic id, or -1 (unknown, or no resolver). */
int kg_audit_topic_name(const uint8_t id[16], char *buf, size_t cap);

/* A new event about connection a: its common fields (conn, listener,
 * client address and port, broker, principal once known, client
 * software, TLS). NULL when out of memory. */
json_t *kg_audit_conn_event(const struct kg_audit_conn *a, const char *type);

/* "Produce", or "api-99" for a key the codec does not know. */
const char *kg_audit_api_name(int16_t api_key);

#endif
