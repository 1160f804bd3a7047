/* conn_hooks.c - audit records of a connection's life: open, TLS,
 * authentication, client software, close (or a failed TLS handshake),
 * and the worker's timer that flushes its connections' summaries.
 * Everything here runs on the connection's worker thread. */
#define _GNU_SOURCE
#include "audit/audit.h"
#include "audit/admin.h"
#include "audit/emit.h"
#include "audit/event.h"
#include "audit/record.h"
#include "audit/sink.h"
#include "audit/traffic.h"
#include "kafka/codec.h"

#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The calling worker's contexts, for its flush timer. */
static __thread struct kg_audit_conn *worker_conns;

struct kg_audit_conn *kg_audit_conn_new(const struct kg_audit_conn_info *info)
{
	if (!kg_audit_cfg_on)
		return NULL;
	struct kg_audit_conn *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->id = info->id;
	a->broker = info->broker;
	a->opened_us = kg_audit_now_us();
	a->started = kg_audit_mono();
	if (info->sni)
		snprintf(a->listener, sizeof(a->listener), "sni");
	else if (info->broker < 0)
		snprintf(a->listener, sizeof(a->listener), "bootstrap");
	else
		snprintf(a->listener, sizeof(a->listener), "broker-%d", info->broker);
	const struct sockaddr *sa = info->peer;
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, a->addr, sizeof(a->addr));
		a->port = ntohs(s6->sin6_port);
	} else if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, a->addr, sizeof(a->addr));
		a->port = ntohs(s4->sin_port);
	}
	a->tls = info->tls;
	a->next = worker_conns;
	if (worker_conns)
		worker_conns->prev = a;
	worker_conns = a;
	return a;
}

void kg_audit_tls_done(struct kg_audit_conn *a, const struct kg_audit_tls *t)
{
	if (!a)
		return;
	a->tls_done = true;
	snprintf(a->tls_version, sizeof(a->tls_version), "%s", t->version ? t->version : "");
	snprintf(a->tls_cipher, sizeof(a->tls_cipher), "%s", t->cipher ? t->cipher : "");
	free(a->cert_subject);
	a->cert_subject = t->cert_subject ? strdup(t->cert_subject) : NULL;
	snprintf(a->cert_sha256, sizeof(a->cert_sha256), "%s",
		 t->cert_sha256 ? t->cert_sha256 : "");
}

void kg_audit_principal(struct kg_audit_conn *a, const char *principal)
{
	if (!a)
		return;
	free(a->principal);
	a->principal = principal ? strdup(principal) : NULL;
}

void kg_audit_tenant(struct kg_audit_conn *a, const char *tenant)
{
	if (a)
		a->tenant = tenant;
}

void kg_audit_conn_open(struct kg_audit_conn *a)
{
	if (!a || a->open_sent)
		return;
	a->open_sent = true;
	kg_audit_ev_emit(kg_audit_conn_event(a, "connection_open"));
}

void kg_audit_responded(struct kg_audit_conn *a)
{
	if (a)
		a->responses++;
}

void kg_audit_conn_close(struct kg_audit_conn *a, const struct kg_audit_close *how)
{
	if (!a)
		return;
	kg_audit_conn_flush(a, true);
	kg_audit_admin_free(a);
	double ms = (kg_audit_mono() - a->started) * 1000.0;
	bool handshake = a->tls && !a->tls_done && !a->open_sent;
	json_t *e = kg_audit_conn_event(a, handshake ? "tls_handshake_failed" : "connection_close");
	kg_audit_set_cstr(e, "reason", how->reason);
	json_object_set_new(e, "duration_ms", json_real((double)(int64_t)(ms * 1000.0) / 1000.0));
	if (!handshake) {
		kg_audit_set_int(e, "bytes_from_client", (int64_t)how->bytes_from_client);
		kg_audit_set_int(e, "bytes_from_broker", (int64_t)how->bytes_from_broker);
		kg_audit_set_int(e, "requests", (int64_t)how->requests);
		kg_audit_set_int(e, "responses", (int64_t)a->responses);
	}
	kg_audit_ev_emit(e);
	if (a->prev)
		a->prev->next = a->next;
	else
		worker_conns = a->next;
	if (a->next)
		a->next->prev = a->prev;
	free(a->cert_subject);
	free(a->principal);
	free(a->sw_name);
	free(a->sw_version);
	free(a);
}

void kg_audit_auth(struct kg_audit_conn *a, const struct kg_audit_auth *x)
{
	if (!a)
		return;
	json_t *e = kg_audit_conn_event(a, "authentication");
	if (x->ok && x->principal)
		kg_audit_set_cstr(e, "principal", x->principal);
	kg_audit_set_cstr(e, "result", x->ok ? "success" : "failure");
	kg_audit_set_cstr(e, "mechanism", x->mechanism);
	if (!x->ok)
		kg_audit_set_cstr(e, "reason", x->reason ? x->reason : "failed");
	kg_audit_set_bool(e, "reauthentication", x->reauth);
	kg_audit_set_cstr(e, "compatibility", x->compatibility);
	kg_audit_ev_emit(e);
}

/* ---- the workers' flush timer ---- */

static __thread ev_timer *worker_timer;

static void on_flush(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop; (void)t; (void)revents;
	for (struct kg_audit_conn *a = worker_conns; a; a = a->next)
		kg_audit_conn_flush(a, false);
}

void kg_audit_worker_begin(struct ev_loop *loop)
{
	if (!kg_audit_cfg_on || worker_timer)
		return;
	worker_timer = calloc(1, sizeof(*worker_timer));
	if (!worker_timer)
		return;
	double every = kg_audit_cfg_on->summary_interval_ms / 1000.0;
	ev_timer_init(worker_timer, on_flush, every, every);
	ev_timer_start(loop, worker_timer);
}

void kg_audit_worker_end(struct ev_loop *loop)
{
	if (!worker_timer)
		return;
	ev_timer_stop(loop, worker_timer);
	free(worker_timer);
	worker_timer = NULL;
}
