/* audit.h - the audit log: hooks the gateway calls at each event worth
 * recording. The hooks see a small per-connection context (struct
 * kg_audit_conn) filled once when the connection opens, and names that
 * are already resolved; never the connection, the policy or the router.
 * Every hook is one branch when auditing is off (its context is NULL).
 * (Types: audit-t.h; records: conn_hooks.c, traffic.c, admin.c; writer
 * thread and sinks: writer.c, sink.c; hash chain: chain.c; `audit verify`:
 * verify.c; the schema: README "Audit log".) */
#ifndef KG_AUDIT_H
#define KG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit-t.h"
#include "kafka/codec-t.h"

struct ev_loop;

/* ---- process (cli/main.c) ---- */
/* Validates what `check` can: the HMAC key file, the log's directory.
 * 0, or -1 with a message. Nothing to do when a is NULL or disabled. */
int kg_audit_check(const struct kg_audit_cfg *a, char *err, size_t errlen);
/* Opens the sink and starts the writer thread; names resolves topic ids
 * in records (may be NULL). 0, or -1 with a message. */
int kg_audit_start(const struct kg_audit_cfg *a, kg_audit_topic_name_fn names, char *err,
		   size_t errlen);
/* The gateway_start record (after the workers are up). */
void kg_audit_gateway_start(const struct kg_audit_start_info *info);
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
/* The writer's counters and state; false (nothing written) when off. */
bool kg_audit_stats(struct kg_audit_stats *out);

/* ---- connections (loop/, auth/authn.c) ---- */
/* Accepted: the context, or NULL when auditing is off. On the calling
 * worker's thread only. */
struct kg_audit_conn *kg_audit_conn_new(const struct kg_audit_conn_info *info);
/* The client's TLS handshake completed. */
void kg_audit_tls_done(struct kg_audit_conn *a, const struct kg_audit_tls *t);
/* Who the connection is from now on (after TLS without SASL, or SASL). */
void kg_audit_principal(struct kg_audit_conn *a, const char *principal);
/* The principal's tenant (policy tenants[]); the string must outlive a. */
void kg_audit_tenant(struct kg_audit_conn *a, const char *tenant);
/* The client side is ready (after TLS): connection_open. */
void kg_audit_conn_open(struct kg_audit_conn *a);
/* Closing: flushes summaries and denial groups, writes connection_close
 * (or tls_handshake_failed), frees a. */
void kg_audit_conn_close(struct kg_audit_conn *a, const struct kg_audit_close *how);
/* A response from the broker was passed to the client. */
void kg_audit_responded(struct kg_audit_conn *a);
/* An authentication succeeded or failed. */
void kg_audit_auth(struct kg_audit_conn *a, const struct kg_audit_auth *e);
/* ApiVersions v3+: ClientSoftwareName and ClientSoftwareVersion. */
void kg_audit_client_software(struct kg_audit_conn *a, struct kc_obj *api_versions_req);

/* ---- requests (loop/exchange.c, enforce/) ---- */
/* Authorization decision on one resource of one request. Denials are
 * written on their own (identical ones grouped within a window); allowed
 * data-plane decisions are summarised. */
void kg_audit_decision(struct kg_audit_conn *a, const struct kg_audit_decision *d);
/* A request that passed authorization, as forwarded (req is what the
 * broker gets, frame_len its size): feeds per-topic data-plane summaries
 * (Produce records and bytes, Fetch, offsets, heartbeats...). */
void kg_audit_request(struct kg_audit_conn *a, int16_t api_key, int16_t version,
		      struct kc_obj *req, size_t frame_len);
/* Whether responses of this API must be decoded and passed to
 * kg_audit_response (administrative operations: their outcome). */
bool kg_audit_wants_response(int16_t api_key);
/* The broker's (merged) response to an administrative request. */
void kg_audit_response(struct kg_audit_conn *a, int16_t api_key, int16_t version,
		       struct kc_obj *resp);

/* ---- workers (loop/worker.c) ---- */
/* Starts / stops the calling worker's periodic flush of its connections'
 * data-plane summaries. */
void kg_audit_worker_begin(struct ev_loop *loop);
void kg_audit_worker_end(struct ev_loop *loop);

#endif
