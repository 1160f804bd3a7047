/* sasl-int.h - what sasl.c uses of sasl_nonce.c; not for other files. */
#ifndef KG_AUTH_SASL_INT_H
#define KG_AUTH_SASL_INT_H

#include <stddef.h>
#include "auth/sasl-t.h"

/* SCRAM client-final (in, len; c= already checked) whose nonce is not the
 * server's but ends with it, as librdkafka before 2.6.1 sends: the proof is
 * checked here against the credential the exchange started with. Returns
 * KG_SASL_DONE (server-final in s->server_final), KG_SASL_FAIL (why for
 * the logs), or KG_SASL_CONTINUE when the nonce is exact (or no suffix at
 * all): then cyrus decides, as without the compatibility setting. */
int kg_sasl_final_by_suffix(struct kg_sasl_sess *s, const char *in, size_t len,
			    const char **why);

#endif
