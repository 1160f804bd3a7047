/* authn.h - the broker's SASL state machine, played by the gateway. */
#ifndef KG_AUTHN_H
#define KG_AUTHN_H

#include <stddef.h>
#include <stdint.h>
#include "loop/conn-t.h"
#include "loop/exchange.h"

/* A frame from a client that has not authenticated yet, or a SASL request
 * (SaslHandshake, SaslAuthenticate) from one that has. */
enum kg_verdict kg_authn_request(struct kg_conn *c, const uint8_t *frame, size_t len,
				 const char **reason);
/* The failure delay is over: send what was held and close. */
void kg_authn_delay_over(struct kg_conn *c);

#endif
