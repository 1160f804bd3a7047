/* versions.h - ApiVersions, in one place: which versions of which APIs
 * the gateway offers (the allowlist, apis.h, met with what the brokers
 * offer), the answer before authentication, the answer to a version the
 * gateway does not know, and the capping of the brokers' answers. */
#ifndef KG_ENFORCE_VERSIONS_H
#define KG_ENFORCE_VERSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "audit/audit-t.h"
#include "kafka/codec-t.h"
#include "route/router-t.h"

/* Whether an ApiVersions request of this version is answered by the
 * gateway with UNSUPPORTED_VERSION: past the highest the gateway speaks,
 * or the brokers do. */
bool kg_versions_unknown(struct kg_router *r, int16_t version);
/* That answer: a v0 body, UNSUPPORTED_VERSION, and ApiVersions' own range
 * met with the brokers' (KIP-511). Returns the frame length (with size
 * prefix) written into a malloc'd *out, or -1. */
long kg_versions_unsupported(struct kg_router *r, int32_t corr, uint8_t **out);
/* Whether the brokers offer this version of this API (true until the
 * first metadata refresh has told). */
bool kg_versions_upstream_has(struct kg_router *r, int16_t key, int16_t version);
/* The version a broker's ApiVersions answer body is written in: the
 * request's, or 0 for the UNSUPPORTED_VERSION answer (always v0-shaped). */
int16_t kg_versions_response_version(int16_t version, const uint8_t *body, size_t len);
/* The answer before authentication (auth/authn-t.h's kg_api_versions_fn
 * with the router and audit context spelled out): the brokers' ranges
 * (from the metadata refresh) met with the allowlist, plus the SASL APIs
 * the gateway serves itself. */
long kg_versions_preauth(struct kg_router *r, struct kg_audit_conn *audit, int16_t version,
			 int32_t corr, struct kc_obj *req, struct kc_arena *a, bool *full,
			 uint8_t **frame, const char **reason);
/* Caps a broker's ApiVersions answer to the allowlist, in place. Returns
 * 1 (changed: re-encode) or 0. */
int kg_versions_cap(struct kc_obj *resp);

#endif
