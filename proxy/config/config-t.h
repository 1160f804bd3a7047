/* config-t.h - the gateway configuration, as loaded from JSON. */
#ifndef KG_CONFIG_T_H
#define KG_CONFIG_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit-t.h"
#include "auth/auth-t.h"
#include "io/netrange.h"

/* A host and port, e.g. one upstream bootstrap server. */
struct kg_hostport {
	char *host;                    /* name or address literal (no brackets) */
	uint16_t port;                 /* TCP port */
};

/* Explicit external address of one broker node (listen.brokers map). */
struct kg_broker_addr {
	int32_t node_id;               /* Kafka node id */
	uint16_t port;                 /* port the gateway binds for it */
	char *advertised_host;         /* host clients are told (NULL: default) */
	uint16_t advertised_port;      /* port clients are told */
};

/* upstream.allowed_hosts (config_hosts.c). */
enum kg_host_rule_kind {
	KG_HOST_EXACT,                 /* that host name (any case) */
	KG_HOST_SUFFIX,                /* a name ending with ".domain" */
	KG_HOST_SINGLE_LABEL,          /* a name without a dot */
	KG_HOST_NET                    /* an address in the network */
};
struct kg_host_rule {
	int kind;                      /* enum kg_host_rule_kind */
	char *name;                    /* EXACT: the host; SUFFIX: ".domain" */
	struct kg_net_range net;       /* NET */
};

/* limits.max_connections_per_address_overrides: one network's own cap
 * (a NAT or a known busy client), for all and for unauthenticated
 * connections alike. */
struct kg_address_limit {
	struct kg_net_range net;       /* the network */
	uint32_t max;                  /* connections from one of its addresses */
};

/* Single-port mode: the TLS SNI name picks the broker (listen.sni). */
struct kg_sni_cfg {
	bool enabled;                  /* listen.sni present */
	uint16_t port;                 /* bound port for the whole cluster */
	uint16_t advertised_port;      /* port clients are told (e.g. 443) */
	char *bootstrap_host;          /* SNI name of the bootstrap route */
	char *broker_prefix;           /* pattern text before {id} */
	char *broker_suffix;           /* pattern text after {id} */
};

/* admin: the operations HTTP listener (ops/admin.c). */
struct kg_admin_cfg {
	bool enabled;                  /* the "admin" section is present */
	char *bind_host;               /* address it binds (127.0.0.1) */
	uint16_t port;                 /* its port */
	char *token_file;              /* bearer token for /metrics and
	                                  /status, or NULL (loopback only) */
	char *cert_file;               /* TLS (PEM), or NULL: plain HTTP */
	char *key_file;                /* its key */
};

/* shutdown: what SIGTERM does (cli/main.c, loop/worker.c). */
struct kg_shutdown_cfg {
	uint32_t unready_delay_ms;     /* /readyz says 503 this long before the
	                                  listeners close (load balancers stop
	                                  sending first) */
	uint32_t drain_timeout_ms;     /* then in-flight requests get this long
	                                  before every connection is closed */
};

struct kg_config {
	char *path;                    /* file it was loaded from */
	int workers;                   /* event-loop threads (0 in file: ncpu) */
	int log_level;                 /* enum kg_log_level */
	bool log_json;                 /* log_format "json": one object a line */
	struct kg_admin_cfg admin;     /* admin */
	struct kg_shutdown_cfg shutdown; /* shutdown */

	/* listen: where clients connect and what they are told */
	char *bind_host;               /* address the listeners bind */
	char *advertised_host;         /* host put into rewritten responses */
	uint16_t bootstrap_port;       /* bound bootstrap port */
	uint16_t bootstrap_advertised_port; /* its advertised port */
	uint16_t broker_port_base;     /* node N binds broker_port_base + N */
	uint16_t broker_advertised_port_base; /* node N is told as base + N */
	struct kg_broker_addr *brokers;/* explicit per-node overrides */
	size_t nbrokers;               /* count of brokers[] */
	struct kg_tls_cfg tls;         /* listen.tls */
	struct kg_sni_cfg sni;         /* listen.sni */
	struct kg_auth_cfg auth;       /* listen.auth */

	/* upstream: the real Kafka cluster */
	struct kg_hostport *bootstrap; /* upstream bootstrap servers */
	size_t nbootstrap;             /* count of bootstrap[] */
	uint32_t connect_timeout_ms;   /* upstream TCP connect timeout */
	uint32_t metadata_refresh_ms;  /* background broker list refresh */
	uint32_t request_timeout_ms;   /* a broker's answer is due this long
	                                  after the request's own wait */
	struct kg_host_rule *allowed_hosts; /* brokers the gateway may connect
	                                  to; the bootstrap hosts first */
	size_t nallowed_hosts;         /* count of allowed_hosts[] */
	bool allowed_hosts_derived;    /* no upstream.allowed_hosts: derived
	                                  from the bootstrap hosts */
	struct kg_upstream_tls_cfg upstream_tls; /* upstream.tls */

	/* limits */
	uint32_t max_frame_bytes;      /* largest request frame accepted */
	uint32_t max_response_bytes;   /* largest response frame accepted */
	uint32_t buffer_bytes;         /* initial per-direction buffer */
	uint32_t idle_timeout_ms;      /* close connections idle this long */
	uint32_t max_inflight;         /* pipelined requests per connection */
	uint32_t max_connections;      /* client connections per worker */
	uint32_t max_connections_per_address; /* all workers; 0 = no limit */
	struct kg_address_limit *address_limits; /* overrides by network,
	                                  first match wins */
	size_t naddress_limits;        /* count of address_limits[] */
	uint32_t max_unauthenticated;  /* connections not yet authenticated,
	                                  all workers: past it the oldest goes */
	uint32_t max_unauthenticated_per_address; /* of those, per address */

	/* acl: authorization */
	char *acl_policy_file;         /* roles and rules (acl/policy.h) */

	/* audit: the audit log (audit/audit-t.h) */
	struct kg_audit_cfg *audit;    /* NULL when the section is absent */
};

#endif
