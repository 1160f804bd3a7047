/* authz_apis.h - the resource, operation and error code of every API the
 * gateway lets through (authz_apis.c). */
#ifndef KG_ENFORCE_AUTHZ_APIS_H
#define KG_ENFORCE_AUTHZ_APIS_H

#include <stdbool.h>
#include <stdint.h>

struct authz_ctx;

/* Decides x->req into x->out (authz_core.h). */
void authz_apis_decide(struct authz_ctx *x);
/* Whether the gateway knows how to authorize this API (apis.c lets no
 * other API through). */
bool kg_authz_api_has_rule(int16_t api_key);

#endif
