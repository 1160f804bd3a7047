/* group_regex.h - KIP-848 regex subscriptions resolved at the gateway.
 *
 * A 4.x broker resolves a member's SubscribedTopicRegex itself, against
 * the topics its authorizer lets the member's principal describe. Behind
 * the gateway the brokers see only the gateway's own identity, so the
 * gateway resolves the regex (full match, as the brokers' RE2/J does)
 * against the topics it knows that the principal may describe, and sends
 * the names instead:
 *
 *   heartbeat{regex R}      --> heartbeat{names [what R matches, allowed]}
 *   heartbeat{names null}   --> unchanged, or the new names when topics or
 *                               the policy changed since
 *   heartbeat{names [..]}   --> the member left regex: forgotten
 *
 * Per connection (a consumer heartbeats on one connection). */
#ifndef KG_ENFORCE_GROUP_REGEX_H
#define KG_ENFORCE_GROUP_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "enforce/authz_core.h"

/* Handles the subscription fields of a ConsumerGroupHeartbeat (v1+) of a
 * principal that is not a super user: rewrites x->req as above. Returns
 * 0, or a Kafka error code (128 for a regex that does not compile, or no
 * memory: 42) for the whole request. */
int16_t kg_group_regex_heartbeat(struct authz_ctx *x);
/* Frees a connection's state (close, or the tests' principal switch). */
void kg_group_regex_free(struct kg_authz_conn *z);

#endif
