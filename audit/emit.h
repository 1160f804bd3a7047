/* emit.h - handing a finished event to the writer thread. */
#ifndef KG_AUDIT_EMIT_H
#define KG_AUDIT_EMIT_H

#include <jansson.h>

/* Dumps e (event.h) and queues it for the writer (writer.h); e is
 * released. */
void kg_audit_ev_emit(json_t *e);

#endif
