/* admin.h - administrative operations and their outcome (admin.c). */
#ifndef KG_AUDIT_ADMIN_H
#define KG_AUDIT_ADMIN_H

#include <stdint.h>

#include "audit/audit-t.h"
#include "kafka/codec-t.h"

/* Remembers an administrative request until its response. */
void kg_audit_admin_request(struct kg_audit_conn *a, int16_t api_key, int16_t version,
			    struct kc_obj *req);
/* Forgets what is pending (close). */
void kg_audit_admin_free(struct kg_audit_conn *a);

#endif
