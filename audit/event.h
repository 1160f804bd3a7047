/* event.h - building audit events (jansson objects) and handing them to
 * the writer. Every event starts with "time", "type" and "instance". */
#ifndef KG_AUDIT_EVENT_H
#define KG_AUDIT_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Wall clock in microseconds since the epoch. */
int64_t kg_audit_now_us(void);
/* RFC 3339, UTC, microseconds: "2024-11-21T07:15:00.123456Z". */
void kg_audit_time_str(int64_t us, char out[32]);
/* The "instance" of every event (copied); NULL frees it. */
void kg_audit_ev_instance(const char *id);
/* {"time": now, "type": type, "instance": id}; NULL when out of memory. */
json_t *kg_audit_ev_new(const char *type);
/* Sets a string member from bytes that may be anything: invalid UTF-8
 * and control characters become '?' (names come from clients). */
void kg_audit_set_str(json_t *o, const char *key, const char *s, size_t len);
void kg_audit_set_cstr(json_t *o, const char *key, const char *s); /* NULL: not set */
void kg_audit_set_int(json_t *o, const char *key, int64_t v);
void kg_audit_set_bool(json_t *o, const char *key, int v);
/* Compact ASCII JSON of e, malloc'd; e is released. NULL on failure. */
char *kg_audit_ev_dump(json_t *e, size_t *len);

#endif
