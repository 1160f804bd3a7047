/* conn_hooks.c - audit records of a connection's life: open, TLS,
 * authentication, client software, close (or a failed TLS handshake).
 * Everything here runs on the connection's worker thread. */
#define _GNU_SOURCE
#include "audit/audit.h"
#include "kafka/codec.h"
#include "config/config-t.h"
#include "loop/conn-t.h"
#include "audit/event.h"
#include "audit/hooks.h"
#include "auth/principal.h"
#include "audit/sink.h"
#include "loop/worker-t.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOFTWARE_MAX 128               /* longest client software name kept */

json_t *kg_audit_conn_event(const struct kg_conn *c, const char *type)
{
	const struct kg_audit_conn *a = c->audit;
	json_t *e = kg_audit_ev_new(type);
	if (!e)
		return NULL;
	kg_audit_set_int(e, "conn", (int64_t)c->id);
	if (a) {
		kg_audit_set_cstr(e, "listener", a->listener);
		kg_audit_set_cstr(e, "client_address", a->addr);
		kg_audit_set_int(e, "client_port", a->port);
	}
	if (c->node_id >= 0)
		kg_audit_set_int(e, "broker", c->node_id);
	/* On a SASL listener the principal exists only once authenticated. */
	bool sasl = c->w->gw->cfg->auth.mode == KG_AUTH_SASL;
	if (c->principal[0] && (!sasl || c->auth_state == KG_AS_COMPLETE))
		kg_audit_set_str(e, "principal", c->principal,
				 strnlen(c->principal, sizeof(c->principal)));
	if (a && a->sw_name)
		kg_audit_set_cstr(e, "client_software_name", a->sw_name);
	if (a && a->sw_version)
		kg_audit_set_cstr(e, "client_software_version", a->sw_version);
	if (a && a->tls_done) {
		json_t *t = json_object();
		kg_audit_set_cstr(t, "version", a->tls_version);
		kg_audit_set_cstr(t, "cipher", a->tls_cipher);
		kg_audit_set_cstr(t, "client_cert_subject", a->cert_subject);
		if (a->cert_sha256[0])
			kg_audit_set_cstr(t, "client_cert_sha256", a->cert_sha256);
		json_object_set_new(e, "tls", t);
	}
	return e;
}

void kg_audit_conn_new(struct kg_conn *c)
{
	c->audit = NULL;
	if (!kg_audit_cfg_on)
		return;
	struct kg_audit_conn *a = calloc(1, sizeof(*a));
	if (!a)
		return;
	a->opened_us = kg_audit_now_us();
	a->started = kg_audit_mono();
	if (c->sni)
		snprintf(a->listener, sizeof(a->listener), "sni");
	else if (c->node_id < 0)
		snprintf(a->listener, sizeof(a->listener), "bootstrap");
	else
		snprintf(a->listener, sizeof(a->listener), "broker-%d", c->node_id);
	const struct sockaddr *sa = (const struct sockaddr *)&c->peer_sa;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, a->addr, sizeof(a->addr));
		a->port = ntohs(s6->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, a->addr, sizeof(a->addr));
		a->port = ntohs(s4->sin_port);
	}
	a->tls = c->w->gw->cfg->tls.enabled;
	c->audit = a;
}

void kg_audit_tls_done(struct kg_conn *c)
{
	struct kg_audit_conn *a = c->audit;
	if (!a || !c->cs.ssl)
		return;
	a->tls_done = true;
	snprintf(a->tls_version, sizeof(a->tls_version), "%s", SSL_get_version(c->cs.ssl));
	const char *cipher = SSL_get_cipher_name(c->cs.ssl);
	snprintf(a->tls_cipher, sizeof(a->tls_cipher), "%s", cipher ? cipher : "");
	X509 *cert = SSL_get0_peer_certificate(c->cs.ssl);
	if (!cert)
		return;
	char dn[1024];
	if (kg_x509_subject_dn(cert, dn, sizeof(dn)) == 0)
		a->cert_subject = strdup(dn);
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (X509_digest(cert, EVP_sha256(), md, &n) == 1) {
		/* As `openssl x509 -fingerprint -sha256` prints it. */
		for (unsigned i = 0; i < n && 3 * i + 3 <= sizeof(a->cert_sha256); i++)
			snprintf(a->cert_sha256 + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
	}
}

void kg_audit_conn_open(struct kg_conn *c)
{
	struct kg_audit_conn *a = c->audit;
	if (!a || a->open_sent)
		return;
	a->open_sent = true;
	kg_audit_ev_emit(kg_audit_conn_event(c, "connection_open"));
}

void kg_audit_responded(struct kg_conn *c)
{
	if (c->audit)
		c->audit->responses++;
}

void kg_audit_conn_close(struct kg_conn *c, const char *reason)
{
	struct kg_audit_conn *a = c->audit;
	if (!a)
		return;
	kg_audit_conn_flush(c, true);
	kg_audit_admin_free(a);
	double ms = (kg_audit_mono() - a->started) * 1000.0;
	bool handshake = a->tls && !a->tls_done && !a->open_sent;
	json_t *e = kg_audit_conn_event(c, handshake ? "tls_handshake_failed" : "connection_close");
	kg_audit_set_cstr(e, "reason", reason);
	json_object_set_new(e, "duration_ms", json_real((double)(int64_t)(ms * 1000.0) / 1000.0));
	if (!handshake) {
		kg_audit_set_int(e, "bytes_from_client", (int64_t)c->bytes_c2u);
		kg_audit_set_int(e, "bytes_from_broker", (int64_t)c->bytes_u2c);
		kg_audit_set_int(e, "requests", (int64_t)c->requests);
		kg_audit_set_int(e, "responses", (int64_t)a->responses);
	}
	kg_audit_ev_emit(e);
	free(a->cert_subject);
	free(a->sw_name);
	free(a->sw_version);
	free(a);
	c->audit = NULL;
}

void kg_audit_auth(struct kg_conn *c, bool ok, const char *mechanism, const char *reason)
{
	if (!c->audit)
		return;
	json_t *e = kg_audit_conn_event(c, "authentication");
	if (ok && c->principal[0])             /* set just now, state not yet COMPLETE */
		kg_audit_set_str(e, "principal", c->principal,
				 strnlen(c->principal, sizeof(c->principal)));
	kg_audit_set_cstr(e, "result", ok ? "success" : "failure");
	kg_audit_set_cstr(e, "mechanism", mechanism);
	if (!ok)
		kg_audit_set_cstr(e, "reason", reason ? reason : "failed");
	kg_audit_set_bool(e, "reauthentication", c->reauth);
	kg_audit_ev_emit(e);
}

static char *take_string(struct kc_obj *o, const char *field)
{
	struct kc_value *v = o ? kc_get(o, field) : NULL;
	if (!v || v->u.b.len <= 0)
		return NULL;
	size_t n = (size_t)v->u.b.len < SOFTWARE_MAX ? (size_t)v->u.b.len : SOFTWARE_MAX;
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char ch = (char)v->u.b.p[i];
		s[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	s[n] = '\0';
	return s;
}

void kg_audit_client_software(struct kg_conn *c, struct kc_obj *req)
{
	struct kg_audit_conn *a = c->audit;
	if (!a)
		return;
	char *name = take_string(req, "ClientSoftwareName");
	char *version = take_string(req, "ClientSoftwareVersion");
	if (!name && !version)
		return;
	free(a->sw_name);
	free(a->sw_version);
	a->sw_name = name;
	a->sw_version = version;
}
