/* router.h - broker registry (see router-t.h). */
#ifndef KG_ROUTER_H
#define KG_ROUTER_H

#include <stddef.h>
#include "route/router-t.h"

void kg_router_init(struct kg_router *r, const struct kg_config *cfg);
void kg_router_destroy(struct kg_router *r);

/* Records that node_id is at host:port upstream. Returns 1 when the node is
 * new (listeners must be opened), 0 when known, -1 when the node cannot be
 * given a gateway port or is outside upstream.allowed_hosts (logged; it is
 * hidden). Never resolves: a new or moved node is resolved by
 * kg_router_resolve_pending (the refresh thread, woken by on_unresolved). */
int kg_router_learn(struct kg_router *r, int32_t node_id, const char *host,
		    size_t hostlen, int32_t port);
/* Resolves the nodes waiting for it (blocking: off the workers' loops);
 * one whose address is outside the allowed networks is refused. Returns
 * how many got an address. */
int kg_router_resolve_pending(struct kg_router *r);
/* Resolves the bootstrap servers (blocking: at start, then by the refresh
 * thread each round); a failure keeps the last address. */
void kg_router_resolve_bootstrap(struct kg_router *r);
/* Whether s[0..len) names an upstream host (a broker's or a bootstrap
 * server's), anywhere in it. */
bool kg_router_mentions_upstream(struct kg_router *r, const char *s, size_t len);
/* Upstream address of node_id, and its host name when host is not NULL
 * (256 bytes; for TLS verification). 0; -2 while it is being resolved
 * (ask again shortly); -1 if unknown, unresolvable or refused. */
int kg_router_upstream(struct kg_router *r, int32_t node_id, struct kg_addr *out,
		       char *host);
/* Upstream address for a bootstrap connection, round robin over the
 * addresses last resolved; attempt counts the tries of one connection. -1
 * when attempt >= number of servers, -2 before the first resolution. */
int kg_router_bootstrap(struct kg_router *r, unsigned attempt, struct kg_addr *out,
			char *host);
/* Copies (node id, bind port) pairs of known nodes; returns the count. */
size_t kg_router_ports(struct kg_router *r, int32_t *ids, uint16_t *ports,
		       size_t max, uint64_t *generation);

/* The upstream ApiVersions ranges (from the metadata refresh). */
void kg_router_set_api_ranges(struct kg_router *r,
			      const struct kg_api_range ranges[KG_MAX_API_KEY + 1]);
/* Copies them; false when no refresh has succeeded yet. */
bool kg_router_api_ranges(struct kg_router *r, struct kg_api_range out[KG_MAX_API_KEY + 1]);
/* The brokers' range of one API ({-1, -1}: not offered); false when no
 * refresh has succeeded yet. Lock-free: cheap enough for every request. */
bool kg_router_api_range(struct kg_router *r, int16_t key, struct kg_api_range *out);

#endif
