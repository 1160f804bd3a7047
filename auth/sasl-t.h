/*
 * sasl-t.h - types of the SASL server core: one kg_sasl_sess per
 * authentication exchange, run by cyrus-sasl's own SCRAM and PLAIN server
 * plugins with our credential store behind them.
 *
 *   client token --kg_sasl_step--> Kafka-rule checks (gs2 header, authzid,
 *   tokenauth, PLAIN fields) --> cyrus sasl_server_start/step --> SCRAM
 *   plugin asks our auxprop plugin for "*authPassword" (salted verifier,
 *   fake for unknown users) / PLAIN plugin calls our checkpass callback
 *   (PBKDF2 + constant-time compare) --> server token
 *
 * No plaintext password is stored anywhere, no sasldb and no /etc/sasl2
 * configuration are read: every option cyrus asks for is answered by us.
 */
#ifndef KG_SASL_T_H
#define KG_SASL_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sasl/sasl.h>

#include "auth/users-t.h"

/* Mechanisms the gateway offers; the SCRAM values equal enum kg_scram_mech. */
enum kg_sasl_mech {
	KG_SASL_SCRAM_SHA_256 = 0,   /* "SCRAM-SHA-256" */
	KG_SASL_SCRAM_SHA_512 = 1,   /* "SCRAM-SHA-512" */
	KG_SASL_PLAIN = 2,           /* "PLAIN" (only sensible over TLS) */
	KG_SASL_NMECH = 3
};

/* Bit of a mechanism in the `allowed` mask given to kg_sasl_new. */
#define KG_SASL_MECH_BIT(m) (1u << (m))

/* Results of kg_sasl_step. */
enum kg_sasl_rc {
	KG_SASL_FAIL = -1,           /* authentication failed; end the exchange */
	KG_SASL_CONTINUE = 0,        /* send the server token, wait for more */
	KG_SASL_DONE = 1             /* authenticated; send the (possibly empty)
	                                final server token */
};

/* Where a session is in its exchange. */
enum kg_sasl_state {
	KG_SASL_ST_FIRST,            /* waiting for the client's first token */
	KG_SASL_ST_SCRAM_FINAL,      /* SCRAM: server-first sent, waiting for
	                                client-final */
	KG_SASL_ST_DONE,             /* authenticated */
	KG_SASL_ST_FAILED            /* failed; every further step fails */
};

/* One SASL exchange (one connection, or one re-authentication). Used by one
 * thread at a time; different sessions run concurrently. */
struct kg_sasl_sess {
	sasl_conn_t *conn;           /* cyrus server connection */
	struct kg_users *users;      /* credential set held for the whole
	                                exchange (a reload does not change it
	                                mid-way); may be NULL: nobody can log in */
	sasl_callback_t cb[3];       /* per-connection callbacks: getopt and
	                                checkpass with this session as context;
	                                the auxprop plugin finds the session
	                                through them */
	uint8_t mech;                /* enum kg_sasl_mech */
	uint8_t state;               /* enum kg_sasl_state */
	uint8_t served;              /* 1: our auxprop/checkpass supplied the
	                                credential cyrus checked against */
	uint8_t fake;                /* 1: that credential was made up (unknown
	                                user): success is impossible, and is
	                                refused again here should cyrus report it */
	char *gs2;                   /* SCRAM: the client's gs2 header ("n,," or
	                                "n,a=...,"), which client-final's c= must
	                                encode exactly */
	size_t gs2len;               /* bytes in gs2 */
	char *expect_user;           /* user name the client claimed (SCRAM
	                                decoded from =2C/=3D), checked against
	                                what cyrus authenticated */
	bool nonce_suffix;           /* compatibility: a client-final nonce
	                                that only ends with the server's nonce
	                                is accepted (kg_sasl_allow_nonce_suffix) */
	bool nonce_suffix_used;      /* this exchange needed it */
	char *first_bare;            /* SCRAM: client-first without the gs2
	                                header, for our own proof check */
	size_t first_bare_len;       /* bytes in first_bare */
	char *server_first;          /* SCRAM: the server-first cyrus sent */
	size_t server_first_len;     /* bytes in server_first */
	char server_final[160];      /* "v=..." when we checked the proof */
	char user[KG_USER_NAME_MAX + 1]; /* authenticated user once DONE, else "" */
	char reason[200];            /* why it failed, for logs only: printable
	                                ASCII, never a secret */
};

#endif
