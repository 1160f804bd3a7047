/* authz.h - authorization of every request, as a Kafka broker with
 * StandardAuthorizer would do it (acl/policy.h decides; enforce/ knows
 * which resource and operation each API needs and where errors go). */
#ifndef KG_ENFORCE_AUTHZ_H
#define KG_ENFORCE_AUTHZ_H

#include "enforce/authz-t.h"

/* Decides one decoded request. req may be edited in place (denied items
 * removed) when the verdict is KG_AUTHZ_REWRITE; trees live in a (the
 * frame's arena). Audit records of the decisions are written only by
 * kg_authz_commit, once the caller knows the request will not be retried
 * (KG_WAIT). */
void kg_authz_request(struct kg_authz_conn *z, struct kc_arena *a,
		      const struct kc_req_header *h, struct kc_obj *req,
		      struct kg_authz_out *out);
void kg_authz_commit(struct kg_authz_conn *z, int16_t api_key);
/* Fixes the broker's response of a request decided earlier: merges the
 * denied items' errors (merge: their encoded response body, may be NULL)
 * and applies the post fixes. Returns 1 when resp changed, 0, or -1. */
int kg_authz_response(struct kg_authz_conn *z, struct kc_arena *a, int16_t api_key,
		      int16_t version, uint8_t post, const uint8_t *merge, uint32_t merge_len,
		      struct kc_obj *resp);
/* Drops the connection's policy view (close, or principal change). */
void kg_authz_release(struct kg_authz_conn *z);

#endif
