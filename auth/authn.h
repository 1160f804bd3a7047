/* authn.h - the broker's SASL state machine, played by the gateway. */
#ifndef KG_AUTH_AUTHN_H
#define KG_AUTH_AUTHN_H

#include <stddef.h>
#include <stdint.h>
#include "auth/authn-t.h"

/* Highest versions the gateway speaks for the SASL APIs it serves itself
 * (capped by the codec's own range). */
#define KG_SASL_HANDSHAKE_MAX 1
#define KG_SASL_AUTHENTICATE_MAX 2
/* The highest version of SaslHandshake or SaslAuthenticate the gateway
 * serves (the smaller of the above and the codec's), -1 for another key. */
int16_t kg_sasl_api_max(int16_t key);

/* A frame from a client that has not authenticated yet, or a SASL request
 * (SaslHandshake, SaslAuthenticate) from one that has; now is the loop's
 * clock. Every frame is answered through a->answer or closes. */
enum kg_verdict kg_authn_request(struct kg_authn *a, double now, const uint8_t *frame,
				 size_t len, const char **reason);
/* Whether the connection is authenticated (or needs no SASL). */
static inline bool kg_authn_done(const struct kg_authn *a)
{
	return a->state == KG_AS_NONE || a->state == KG_AS_COMPLETE;
}
/* A new connection's state: no principal yet (principal is ""). */
void kg_authn_init(struct kg_authn *a);
/* Sets the principal to "User:<name>", exactly as long as it is. -1 when
 * it would be longer than KG_AUTHN_PRINCIPAL_MAX (refused, never cut) or
 * out of memory; the principal is unchanged then. */
int kg_authn_set_principal(struct kg_authn *a, const char *name);
/* Frees the SASL session and the principal (close). */
void kg_authn_release(struct kg_authn *a);

#endif
