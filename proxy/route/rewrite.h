/* rewrite.h - hide the brokers: rewrite every broker address in responses
 * to the gateway's advertised address of that broker. */
#ifndef KG_REWRITE_H
#define KG_REWRITE_H

#include <stdbool.h>
#include "kafka/codec-t.h"
#include "route/router-t.h"

/* Whether a response of this api/version must be decoded and rewritten:
 * the address-carrying ones (kg_rewrite_response) and ApiVersions, whose
 * ranges enforce/versions.c caps. */
bool kg_rewrite_needed(int16_t api_key, int16_t version);
/* Rewrites resp in place; with sni, brokers are advertised by their SNI
 * names on the SNI port (listen.sni), else by their own ports. Returns 1 when it changed (re-encode it), 0 when
 * it may be forwarded as received, -1 when it cannot be made safe. */
int kg_rewrite_response(struct kg_router *r, int16_t api_key, int16_t version,
			struct kc_obj *resp, struct kc_arena *a, bool sni);

#endif
