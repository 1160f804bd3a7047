/* authz_resp.h - what authorization changes in the brokers' answers
 * (authz_resp.c). */
#ifndef KG_ENFORCE_AUTHZ_RESP_H
#define KG_ENFORCE_AUTHZ_RESP_H

#include <stdint.h>

#include "enforce/authz-t.h"

/* Applies the post fixes of an API's response. 1 changed, 0, -1. */
int authz_resp_fix(struct kg_authz_conn *z, struct kc_arena *a, int16_t key, int16_t ver,
		   uint8_t post,
		   struct kc_obj *resp);

#endif
