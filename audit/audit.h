/* audit.h - the audit log: hooks the proxy calls at each event worth
 * recording. Every hook is cheap (one branch) when auditing is off.
 * (Types: audit-t.h; records: conn_hooks.c, traffic.c, admin.c; writer
 * thread and sinks: writer.c, sink.c; hash chain: chain.c; `audit verify`:
 * verify.c; the schema: README "Audit log".) */
#ifndef KG_AUDIT_H
#define KG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kafka/codec-t.h"
#include "acl/policy-t.h"

struct kg_conn;
struct kg_config;

/* Authorization decision on one resource of one request (exchange.c).
 * Denials are written on their own (identical ones grouped within a
 * window); allowed data-plane decisions are summarised. */
void kg_audit_decision(struct kg_conn *c, int16_t api_key, enum kg_res type,
		       const char *name, size_t name_len, enum kg_op op,
		       bool allowed, const struct kg_acl_why *why);
/* A request that passed authorization, as forwarded (req is what the
 * broker gets, frame_len its size): feeds per-topic data-plane summaries
 * (Produce records and bytes, Fetch, offsets, heartbeats...). */
void kg_audit_request(struct kg_conn *c, int16_t api_key, int16_t version,
		      struct kc_obj *req, size_t frame_len);
/* Whether responses of this API must be decoded and passed to
 * kg_audit_response (administrative operations: their outcome). */
bool kg_audit_wants_response(int16_t api_key);
/* The broker's (merged) response to an administrative request. */
void kg_audit_response(struct kg_conn *c, int16_t api_key, int16_t version,
		       struct kc_obj *resp);

/* ---- process (main.c) ---- */
/* Validates what `check` can: the HMAC key file, the log's directory.
 * 0, or -1 with a message. Nothing to do when auditing is off. */
int kg_audit_check(const struct kg_config *cfg, char *err, size_t errlen);
/* Opens the sink and starts the writer thread. 0, or -1 with a message. */
int kg_audit_start(const struct kg_config *cfg, char *err, size_t errlen);
/* The gateway_start record (after the workers are up). */
void kg_audit_gateway_start(const struct kg_config *cfg, int workers);
/* A stop begins (reason for the gateway_stop record, e.g. "SIGTERM"):
 * waits on a failing sink get a deadline from now on. */
void kg_audit_stopping(const char *reason);
/* gateway_stop record, final seal, writer joined. */
void kg_audit_stop(void);
/* SIGHUP: reopen the file if logrotate moved it. */
void kg_audit_reopen(void);
/* A reload and its result: what = "tls", "users", "policy"... */
void kg_audit_reload(const char *what, bool ok, const char *detail);
/* Whether auditing is on (cheap). */
bool kg_audit_enabled(void);

/* ---- connections (conn.c) ---- */
/* Accepted: allocates c->audit (NULL when auditing is off). */
void kg_audit_conn_new(struct kg_conn *c);
/* The client's TLS handshake completed: version, cipher, certificate. */
void kg_audit_tls_done(struct kg_conn *c);
/* The client side is ready (after TLS): connection_open. */
void kg_audit_conn_open(struct kg_conn *c);
/* Closing: flushes summaries and denial groups, writes connection_close
 * (or tls_handshake_failed), frees c->audit. */
void kg_audit_conn_close(struct kg_conn *c, const char *reason);
/* A response from the broker was passed to the client. */
void kg_audit_responded(struct kg_conn *c);

/* ---- authentication (authn.c, conn.c) ---- */
/* Success or failure; mechanism "SCRAM-SHA-512", "PLAIN", "TLS" (client
 * certificate) or NULL; reason for failures. */
void kg_audit_auth(struct kg_conn *c, bool ok, const char *mechanism, const char *reason);
/* ApiVersions v3+: ClientSoftwareName and ClientSoftwareVersion. */
void kg_audit_client_software(struct kg_conn *c, struct kc_obj *api_versions_req);

/* ---- workers (worker.c) ---- */
struct kg_worker;
/* Starts / stops the worker's periodic flush of data-plane summaries. */
void kg_audit_worker_begin(struct kg_worker *w);
void kg_audit_worker_end(struct kg_worker *w);

#endif
