/* router.c - broker registry. Nodes are few (a cluster has tens of
 * brokers), so a linear array under one mutex is simpler and as fast as any
 * map; it is touched on connect and on address-bearing responses only. */
#define _GNU_SOURCE
#include "route/router.h"
#include "config/config.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kg_router_init(struct kg_router *r, const struct kg_config *cfg)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->cfg = cfg;
	r->resolve = kg_net_resolve;
	size_t n = cfg->nbootstrap ? cfg->nbootstrap : 1;
	r->boot = calloc(n, sizeof(*r->boot));
	r->boot_ok = calloc(n, sizeof(*r->boot_ok));
}

void kg_router_destroy(struct kg_router *r)
{
	free(r->nodes);
	free(r->boot);
	free(r->boot_ok);
	pthread_mutex_destroy(&r->lock);
}

static struct kg_node *find_node(struct kg_router *r, int32_t id)
{
	for (size_t i = 0; i < r->nnodes; i++)
		if (r->nodes[i].node_id == id)
			return &r->nodes[i];
	return NULL;
}

static bool has_networks(const struct kg_config *c)
{
	for (size_t i = 0; i < c->nallowed_hosts; i++)
		if (c->allowed_hosts[i].kind == KG_HOST_NET)
			return true;
	return false;
}

int kg_router_learn(struct kg_router *r, int32_t node_id, const char *host,
		    size_t hostlen, int32_t port)
{
	const char *adv_host;
	uint16_t adv_port, bind_port;
	char clean[64];
	/* A NUL inside the name would make the resolver see another (or an
	 * empty) host, and the node would never compare equal, so it would be
	 * resolved again on every response. */
	if (hostlen == 0 || hostlen >= sizeof(((struct kg_node *)0)->host) ||
	    memchr(host, '\0', hostlen) != NULL || port <= 0 || port > 65535 ||
	    kg_config_broker_addr(r->cfg, node_id, &adv_host, &adv_port, &bind_port) < 0) {
		log_error("broker node %d (%s:%d): no usable host, port or gateway "
			  "port; it is hidden from clients", node_id,
			  kg_log_clean(host, hostlen, clean, sizeof(clean)), port);
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	struct kg_node *n = find_node(r, node_id);
	if (n && n->port == port && strlen(n->host) == hostlen &&
	    memcmp(n->host, host, hostlen) == 0) {
		int rc = n->refused ? -1 : 0;
		pthread_mutex_unlock(&r->lock);
		return rc;
	}
	pthread_mutex_unlock(&r->lock);

	/* Where the gateway connects is the brokers' choice (their advertised
	 * listeners): only within upstream.allowed_hosts. A name no rule
	 * allows may still resolve into an allowed network. */
	bool by_name = kg_config_host_allowed(r->cfg, host, hostlen);
	if (!by_name && !has_networks(r->cfg)) {
		log_error("broker node %d advertises %s:%d, outside upstream.allowed_hosts: "
			  "the gateway does not connect there and hides the node",
			  node_id, kg_log_clean(host, hostlen, clean, sizeof(clean)), port);
		return -1;
	}
	/* Resolved by the refresh thread, never here: a worker's loop must
	 * not wait on DNS. */
	struct kg_node fresh = { .node_id = node_id, .port = (uint16_t)port,
				 .bind_port = bind_port, .pending = true,
				 .name_allowed = by_name };
	memcpy(fresh.host, host, hostlen);

	int added = 0;
	pthread_mutex_lock(&r->lock);
	n = find_node(r, node_id);
	if (!n) {
		if (r->nnodes == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 16;
			struct kg_node *nn = realloc(r->nodes, cap * sizeof(*nn));
			if (!nn) {
				pthread_mutex_unlock(&r->lock);
				return -1;
			}
			r->nodes = nn;
			r->cap = cap;
		}
		n = &r->nodes[r->nnodes++];
		added = 1;
		r->generation++;
	}
	*n = fresh;
	pthread_mutex_unlock(&r->lock);
	log_info("broker node %d is %s:%u upstream, %s:%u for clients (bound on port %u)",
		 node_id, kg_log_clean(fresh.host, hostlen, clean, sizeof(clean)), fresh.port,
		 adv_host, adv_port, bind_port);
	if (r->on_unresolved)
		r->on_unresolved(r->on_unresolved_ctx);
	if (added && r->on_new_node)
		r->on_new_node(r->on_new_node_ctx);
	return added;
}

int kg_router_resolve_pending(struct kg_router *r)
{
	int done = 0;
	for (;;) {
		struct kg_node want;
		bool found = false;
		pthread_mutex_lock(&r->lock);
		for (size_t i = 0; i < r->nnodes && !found; i++)
			if (r->nodes[i].pending) {
				want = r->nodes[i];
				r->nodes[i].pending = false;   /* one try per round */
				found = true;
			}
		pthread_mutex_unlock(&r->lock);
		if (!found)
			return done;
		char err[256], clean[64];
		struct kg_addr addr;
		bool ok = r->resolve(want.host, want.port, &addr, err, sizeof(err)) == 0;
		bool refused = ok && !want.name_allowed &&
			       !kg_config_addr_allowed(r->cfg, (const struct sockaddr *)&addr.ss);
		if (!ok)
			log_warn("broker node %d: %s", want.node_id, err);
		if (refused)
			log_error("broker node %d (%s) resolves outside upstream.allowed_hosts: the "
				  "gateway does not connect there", want.node_id,
				  kg_log_clean(want.host, strlen(want.host), clean, sizeof(clean)));
		pthread_mutex_lock(&r->lock);
		struct kg_node *n = find_node(r, want.node_id);
		if (n && n->port == want.port && strcmp(n->host, want.host) == 0) {
			n->addr = addr;
			n->resolved = ok && !refused;
			n->refused = refused;
		}
		pthread_mutex_unlock(&r->lock);
		done += ok && !refused;
	}
}

void kg_router_resolve_bootstrap(struct kg_router *r)
{
	const struct kg_config *c = r->cfg;
	for (size_t i = 0; i < c->nbootstrap; i++) {
		char err[256];
		struct kg_addr a;
		bool ok = r->resolve(c->bootstrap[i].host, c->bootstrap[i].port, &a, err,
				     sizeof(err)) == 0;
		if (!ok)
			log_warn("upstream bootstrap: %s", err);
		pthread_mutex_lock(&r->lock);
		if (ok)
			r->boot[i] = a;
		r->boot_ok[i] = ok || r->boot_ok[i];   /* a failure keeps the last address */
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_lock(&r->lock);
	r->boot_resolved = true;
	pthread_mutex_unlock(&r->lock);
}

bool kg_router_mentions_upstream(struct kg_router *r, const char *s, size_t len)
{
	bool found = false;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->nnodes && !found; i++)
		found = r->nodes[i].host[0] && memmem(s, len, r->nodes[i].host,
						      strlen(r->nodes[i].host)) != NULL;
	pthread_mutex_unlock(&r->lock);
	for (size_t i = 0; i < r->cfg->nbootstrap && !found; i++)
		found = memmem(s, len, r->cfg->bootstrap[i].host,
			       strlen(r->cfg->bootstrap[i].host)) != NULL;
	return found;
}

int kg_router_upstream(struct kg_router *r, int32_t node_id, struct kg_addr *out,
		       char *host)
{
	int rc = -1;
	pthread_mutex_lock(&r->lock);
	struct kg_node *n = find_node(r, node_id);
	if (n && n->resolved) {
		*out = n->addr;
		if (host)
			memcpy(host, n->host, sizeof(n->host));
		rc = 0;
	} else if (n && !n->refused) {
		rc = -2;               /* being resolved: ask again shortly */
		n->pending = true;
	}
	pthread_mutex_unlock(&r->lock);
	if (rc == -2 && r->on_unresolved)
		r->on_unresolved(r->on_unresolved_ctx);
	return rc;
}

int kg_router_bootstrap(struct kg_router *r, unsigned attempt, struct kg_addr *out,
			char *host)
{
	const struct kg_config *c = r->cfg;
	if (attempt >= c->nbootstrap)
		return -1;
	pthread_mutex_lock(&r->lock);
	if (!r->boot_resolved) {
		pthread_mutex_unlock(&r->lock);
		return -2;
	}
	unsigned i = (attempt == 0 ? r->next_bootstrap++ : r->next_bootstrap + attempt) %
		     (unsigned)c->nbootstrap;
	bool ok = r->boot_ok[i];
	if (ok)
		*out = r->boot[i];
	pthread_mutex_unlock(&r->lock);
	if (!ok)
		return kg_router_bootstrap(r, attempt + 1, out, host);
	if (host)
		snprintf(host, 256, "%s", c->bootstrap[i].host);
	return 0;
}

size_t kg_router_ports(struct kg_router *r, int32_t *ids, uint16_t *ports,
		       size_t max, uint64_t *generation)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->nnodes < max ? r->nnodes : max;
	for (size_t i = 0; i < n; i++) {
		ids[i] = r->nodes[i].node_id;
		ports[i] = r->nodes[i].bind_port;
	}
	*generation = r->generation;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static uint32_t range_pack(struct kg_api_range x)
{
	return (uint32_t)(uint16_t)x.min << 16 | (uint16_t)x.max;
}

static struct kg_api_range range_unpack(uint32_t v)
{
	return (struct kg_api_range){ (int16_t)(v >> 16), (int16_t)(v & 0xffff) };
}

void kg_router_set_api_ranges(struct kg_router *r,
			      const struct kg_api_range ranges[KG_MAX_API_KEY + 1])
{
	/* Each entry is one atomic word: a reader never sees half of one,
	 * and entries of two refreshes mixed are both true of the cluster. */
	for (int k = 0; k <= KG_MAX_API_KEY; k++)
		atomic_store_explicit(&r->apis[k], range_pack(ranges[k]), memory_order_relaxed);
	atomic_store_explicit(&r->apis_known, true, memory_order_release);
}

bool kg_router_api_ranges(struct kg_router *r, struct kg_api_range out[KG_MAX_API_KEY + 1])
{
	bool known = atomic_load_explicit(&r->apis_known, memory_order_acquire);
	for (int k = 0; k <= KG_MAX_API_KEY; k++)
		out[k] = range_unpack(atomic_load_explicit(&r->apis[k], memory_order_relaxed));
	return known;
}

bool kg_router_api_range(struct kg_router *r, int16_t key, struct kg_api_range *out)
{
	if (!atomic_load_explicit(&r->apis_known, memory_order_acquire))
		return false;
	*out = key >= 0 && key <= KG_MAX_API_KEY
		? range_unpack(atomic_load_explicit(&r->apis[key], memory_order_relaxed))
		: (struct kg_api_range){ -1, -1 };
	return true;
}
