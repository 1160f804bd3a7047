/* config-t.h - the gateway configuration, as loaded from JSON. */
#ifndef KG_CONFIG_T_H
#define KG_CONFIG_T_H

#include <stddef.h>
#include <stdint.h>

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

struct kg_config {
	char *path;                    /* file it was loaded from */
	int workers;                   /* event-loop threads (0 in file: ncpu) */
	int log_level;                 /* enum kg_log_level */

	/* listen: where clients connect and what they are told */
	char *bind_host;               /* address the listeners bind */
	char *advertised_host;         /* host put into rewritten responses */
	uint16_t bootstrap_port;       /* bound bootstrap port */
	uint16_t bootstrap_advertised_port; /* its advertised port */
	uint16_t broker_port_base;     /* node N binds broker_port_base + N */
	uint16_t broker_advertised_port_base; /* node N is told as base + N */
	struct kg_broker_addr *brokers;/* explicit per-node overrides */
	size_t nbrokers;               /* count of brokers[] */

	/* upstream: the real Kafka cluster */
	struct kg_hostport *bootstrap; /* upstream bootstrap servers */
	size_t nbootstrap;             /* count of bootstrap[] */
	uint32_t connect_timeout_ms;   /* upstream TCP connect timeout */
	uint32_t metadata_refresh_ms;  /* background broker list refresh */

	/* limits */
	uint32_t max_frame_bytes;      /* largest request frame accepted */
	uint32_t max_response_bytes;   /* largest response frame accepted */
	uint32_t buffer_bytes;         /* initial per-direction buffer */
	uint32_t idle_timeout_ms;      /* close connections idle this long */
	uint32_t max_inflight;         /* pipelined requests per connection */
	uint32_t max_connections;      /* client connections per worker */
};

#endif
