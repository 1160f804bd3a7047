/* conn_tls.c - the TLS side of a client connection: routing by SNI, the
 * principal a certificate maps to, and what a failed handshake is called
 * (log line, metrics). */
#define _GNU_SOURCE
#include "loop/conn_tls.h"
#include "loop/conn.h"
#include "loop/worker-t.h"
#include "auth/authn.h"
#include "auth/principal.h"
#include "auth/tls.h"
#include "base/log.h"
#include "base/metrics.h"
#include "config/config.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

/* Principal of a TLS client: the certificate DN through the mapping
 * rules, or User:ANONYMOUS without a certificate. -1 when no rule maps
 * the DN (the connection is refused). */
int kg_conn_tls_principal(struct kg_conn *c)
{
	X509 *cert = SSL_get0_peer_certificate(c->cs.ssl);
	if (!cert)
		return kg_authn_set_principal(&c->authn, "ANONYMOUS");
	static const int san_type[] = { 0, GEN_DNS, GEN_EMAIL, GEN_URI };
	int from = c->w->gw->cfg->tls.principal_from;
	char dn[1024], name[240];
	int rc = from == KG_FROM_SUBJECT ? kg_x509_subject_dn(cert, dn, sizeof(dn))
					 : kg_x509_san_first(cert, san_type[from], dn, sizeof(dn));
	if (rc < 0) {
		log_warn("conn %llu %s: client certificate has no usable %s",
			 (unsigned long long)c->id, c->peer,
			 from == KG_FROM_SUBJECT ? "subject name" : "subjectAltName of that type");
		return -1;
	}
	if (kg_principal_map(c->tls->rules, dn, name, sizeof(name)) < 0) {
		char clean[256];
		log_warn("conn %llu %s: no principal mapping rule matches certificate name '%s'",
			 (unsigned long long)c->id, c->peer,
			 kg_log_clean(dn, strnlen(dn, sizeof(dn)), clean, sizeof(clean)));
		return -1;
	}
	if (kg_authn_set_principal(&c->authn, name) < 0) {
		log_warn("conn %llu %s: certificate name maps to a principal longer than %d bytes",
			 (unsigned long long)c->id, c->peer, KG_AUTHN_PRINCIPAL_MAX);
		return -1;
	}
	return 0;
}

int kg_conn_sni(SSL *ssl, const char *name)
{
	struct kg_conn *c = SSL_get_app_data(ssl);
	if (!c || !c->sni)
		return 0;
	char clean[256];
	int32_t node;
	if (!name || kg_config_sni_route(&c->w->gw->cfg->sni, name, &node) < 0) {
		log_warn("conn %llu %s: refused: unknown SNI name '%s'", (unsigned long long)c->id,
			 c->peer, name ? kg_log_clean(name, strlen(name), clean, sizeof(clean))
				       : "(none)");
		c->sni_unknown = true;
		return -1;
	}
	c->node_id = node;
	return 0;
}

enum kg_metrics_tls_result kg_conn_tls_failed(struct kg_conn *c, const char *stream_error,
				      char *why, size_t len)
{
	long vr = SSL_get_verify_result(c->cs.ssl);
	snprintf(why, len, "TLS handshake failed: %s%s%s", stream_error,
		 vr != X509_V_OK ? ": " : "", vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
	log_warn("conn %llu %s: %s", (unsigned long long)c->id, c->peer, why);
	enum kg_metrics_tls_result r = KG_MT_PROTOCOL;
	if (c->sni_unknown)
		r = KG_MT_UNRECOGNIZED_NAME;
	else if (vr != X509_V_OK)
		r = KG_MT_CERTIFICATE;
	else if (strstr(stream_error, "http request") || strstr(stream_error, "wrong version number") ||
		 strstr(stream_error, "packet length too long") || strstr(stream_error, "plaintext"))
		r = KG_MT_PLAINTEXT;
	KG_METRIC_INC(tls[r]);
	return r;
}
