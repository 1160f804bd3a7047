/* router-t.h - the broker registry: which gateway port stands for which
 * broker, and where that broker really is. Shared by all worker threads. */
#ifndef KG_ROUTER_T_H
#define KG_ROUTER_T_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config-t.h"
#include "io/net.h"

/* One broker as learned from upstream Metadata. */
struct kg_node {
	int32_t node_id;               /* Kafka node id */
	char host[256];                /* upstream host as the broker advertises */
	uint16_t port;                 /* upstream port */
	struct kg_addr addr;           /* resolved upstream address */
	bool resolved;                 /* addr is valid */
	bool pending;                  /* to be resolved (off the loop, by the
	                                  refresh thread) */
	bool refused;                  /* outside upstream.allowed_hosts:
	                                  never connected to, hidden */
	bool name_allowed;             /* allowed by its name (else only if it
	                                  resolves into an allowed network) */
	uint16_t bind_port;            /* gateway port standing for this node */
};

#define KG_MAX_API_KEY 127

/* Versions of one API the upstream broker offers; -1/-1 when it does not. */
struct kg_api_range {
	int16_t min;                   /* lowest version */
	int16_t max;                   /* highest version */
};

struct kg_router {
	pthread_mutex_t lock;          /* guards everything below */
	const struct kg_config *cfg;   /* listen/upstream settings */
	struct kg_node *nodes;         /* known brokers, unsorted */
	size_t nnodes;                 /* count of nodes[] */
	size_t cap;                    /* allocated nodes[] */
	uint64_t generation;           /* bumped when a node is added */
	unsigned next_bootstrap;       /* round-robin cursor over bootstrap */
	_Atomic uint32_t apis[KG_MAX_API_KEY + 1]; /* upstream ApiVersions,
	                                  (uint16 min << 16 | uint16 max) each,
	                                  read without the lock on every
	                                  request; 0xffffffff: not offered */
	_Atomic bool apis_known;       /* apis[] was filled by a refresh */
	_Atomic uint64_t refreshed_ns; /* last metadata refresh that worked
	                                  (monotonic ns), 0: none yet */
	_Atomic int refresh_brokers;   /* brokers it found; -1: the latest
	                                  refresh reached no bootstrap server */
	struct kg_addr *boot;          /* bootstrap servers' addresses, as
	                                  last resolved (off the loop) */
	bool *boot_ok;                 /* boot[i] holds an address */
	bool boot_resolved;            /* a resolution of them has run */
	int (*resolve)(const char *host, uint16_t port, struct kg_addr *out,
		       char *err, size_t errlen); /* kg_net_resolve; tests swap it;
	                                  called off the workers' loops only */
	void (*on_unresolved)(void *ctx); /* a worker learned a node that needs
	                                  resolving: wakes the refresh thread */
	void *on_unresolved_ctx;       /* argument of on_unresolved */
	void (*on_new_node)(void *ctx);/* tells workers to open listeners */
	void *on_new_node_ctx;         /* argument of on_new_node */
};

#endif
