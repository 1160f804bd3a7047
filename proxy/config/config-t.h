/* config-t.h - the gateway configuration, as loaded from JSON. */
#ifndef KG_CONFIG_T_H
#define KG_CONFIG_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kg_audit_cfg;

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

/* TLS settings of the client-facing listeners (listen.tls). */
struct kg_tls_cfg {
	bool enabled;                  /* listen.tls present */
	char *cert_file;               /* PEM chain, leaf first */
	char *key_file;                /* PEM private key */
	char *key_password_file;       /* file holding the key password, or NULL */
	char *ca_file;                 /* CAs trusted for client certificates */
	char *crl_file;                /* PEM CRL checked for client certs, or NULL */
	int min_version;               /* TLS1_2_VERSION or TLS1_3_VERSION */
	char *ciphers;                 /* TLS 1.2 cipher list (OpenSSL syntax) */
	char *ciphersuites;            /* TLS 1.3 suites (OpenSSL syntax) */
	int client_auth;               /* enum kg_client_auth */
	uint32_t handshake_timeout_ms; /* a handshake slower than this is cut */
	int principal_from;            /* enum kg_principal_from: what is mapped */
	char **mapping_rules;          /* ssl.principal.mapping.rules, in order */
	size_t nmapping_rules;         /* count of mapping_rules */
};

/* Which part of a client certificate the mapping rules see. */
enum kg_principal_from { KG_FROM_SUBJECT, KG_FROM_SAN_DNS, KG_FROM_SAN_EMAIL,
			 KG_FROM_SAN_URI };

enum kg_client_auth { KG_CLIENT_AUTH_NONE, KG_CLIENT_AUTH_REQUESTED,
		      KG_CLIENT_AUTH_REQUIRED };

/* Single-port mode: the TLS SNI name picks the broker (listen.sni). */
struct kg_sni_cfg {
	bool enabled;                  /* listen.sni present */
	uint16_t port;                 /* bound port for the whole cluster */
	uint16_t advertised_port;      /* port clients are told (e.g. 443) */
	char *bootstrap_host;          /* SNI name of the bootstrap route */
	char *broker_prefix;           /* pattern text before {id} */
	char *broker_suffix;           /* pattern text after {id} */
};

/* TLS from the gateway to the brokers (upstream.tls). */
struct kg_upstream_tls_cfg {
	bool enabled;                  /* upstream.tls present */
	char *ca_file;                 /* CAs trusted for broker certificates */
	bool verify_hostname;          /* check the broker name against its cert */
	char *cert_file;               /* optional client certificate */
	char *key_file;                /* its key */
};

/* How clients prove who they are (listen.auth). */
enum kg_auth_mode {
	KG_AUTH_NONE,                  /* User:ANONYMOUS, or the certificate's
	                                  principal when one was presented */
	KG_AUTH_SASL,                  /* SaslHandshake + SaslAuthenticate */
	KG_AUTH_MTLS                   /* the client certificate (required) */
};

struct kg_auth_cfg {
	int mode;                      /* enum kg_auth_mode */
	unsigned mechanisms;           /* KG_SASL_MECH_BIT mask */
	char *mechanism_names;         /* "SCRAM-SHA-512 SCRAM-SHA-256", for logs */
	char **mech_list;              /* enabled names, in config order */
	size_t nmech;                  /* count of mech_list */
	char *users_file;              /* credential store (users.h) */
	bool allow_plain_without_tls;  /* PLAIN on a plaintext listener */
	uint32_t session_lifetime_ms;  /* KIP-368 lifetime, 0 = no expiry */
	uint32_t failure_delay_ms;     /* pause before closing after a failure */
	uint32_t max_preauth_frame_bytes; /* frame cap before authentication */
	uint32_t max_failures;         /* failed logins per address per window */
	uint32_t failure_window_ms;    /* the window */
	uint32_t block_ms;             /* how long an address is then refused */
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
	struct kg_tls_cfg tls;         /* listen.tls */
	struct kg_sni_cfg sni;         /* listen.sni */
	struct kg_auth_cfg auth;       /* listen.auth */

	/* upstream: the real Kafka cluster */
	struct kg_hostport *bootstrap; /* upstream bootstrap servers */
	size_t nbootstrap;             /* count of bootstrap[] */
	uint32_t connect_timeout_ms;   /* upstream TCP connect timeout */
	uint32_t metadata_refresh_ms;  /* background broker list refresh */
	struct kg_upstream_tls_cfg upstream_tls; /* upstream.tls */

	/* limits */
	uint32_t max_frame_bytes;      /* largest request frame accepted */
	uint32_t max_response_bytes;   /* largest response frame accepted */
	uint32_t buffer_bytes;         /* initial per-direction buffer */
	uint32_t idle_timeout_ms;      /* close connections idle this long */
	uint32_t max_inflight;         /* pipelined requests per connection */
	uint32_t max_connections;      /* client connections per worker */

	/* acl: authorization */
	char *acl_policy_file;         /* roles and rules (acl/policy.h) */

	/* audit: the audit log (audit/audit-t.h) */
	struct kg_audit_cfg *audit;    /* NULL when the section is absent */
};

#endif
