/* auth-t.h - the settings auth/ works from: client TLS (listen.tls),
 * TLS towards the brokers (upstream.tls) and how clients prove who they
 * are (listen.auth). Parsed and validated by proxy/config/; auth/ never
 * reads the rest of the configuration. */
#ifndef KG_AUTH_AUTH_T_H
#define KG_AUTH_AUTH_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	uint32_t login_timeout_ms;     /* accept to authenticated, at most */
	uint32_t max_failures;         /* failed logins per (address, user)
	                                  per window */
	uint32_t failure_window_ms;    /* the window */
	uint32_t block_ms;             /* how long the pair (or address) is
	                                  then refused */
	uint32_t max_address_failures; /* failed logins per address per window,
	                                  all users; 0 = no address cap */
	bool scram_nonce_suffix;       /* compatibility, weakens RFC 5802: a
	                                  SCRAM client-final nonce that only
	                                  ends with the server's is accepted
	                                  (Kafka 3.8.1-3.9; librdkafka < 2.6.1) */
};

#endif
