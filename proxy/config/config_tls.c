/* config_tls.c - the TLS parts of the configuration: listen.tls (server
 * side, mTLS, principal mapping), listen.sni (single-port routing) and
 * upstream.tls (TLS to the brokers). Files are read
 * when the TLS context is built (tls.c), which `check` also does. */
#define _GNU_SOURCE
#include "config/config_util.h"
#include "config/config.h"

#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Default TLS 1.2 ciphers: forward secret AEAD suites only. */
#define KG_DEFAULT_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define KG_DEFAULT_CIPHERSUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* A file path. Whether it can be read and holds what it should is
 * checked when the TLS contexts are built (tls.c), which `check` runs too,
 * so the message names the file and what is wrong with it. */
static char *get_file(struct vctx *v, json_t *o, const char *key, const char *jp,
		      int required)
{
	json_t *j = json_object_get(o, key);
	if (j && json_is_null(j) && !required)
		return NULL;
	return kg_get_str(v, o, key, jp, NULL, required);
}

static void load_listen_tls(struct vctx *v, struct kg_tls_cfg *t, json_t *o)
{
	static const char *const keys[] = {
		"cert_file", "key_file", "key_password_file", "ca_file", "crl_file",
		"min_version", "ciphers", "ciphersuites", "client_auth",
		"handshake_timeout_ms", "principal_mapping_rules", "principal_from", NULL
	};
	const char *jp = "$.listen.tls";
	kg_check_keys(v, o, jp, keys);
	t->enabled = true;
	t->cert_file = get_file(v, o, "cert_file", jp, 1);
	t->key_file = get_file(v, o, "key_file", jp, 1);
	t->key_password_file = get_file(v, o, "key_password_file", jp, 0);
	t->ca_file = get_file(v, o, "ca_file", jp, 0);
	t->crl_file = get_file(v, o, "crl_file", jp, 0);
	t->ciphers = kg_get_str(v, o, "ciphers", jp, KG_DEFAULT_CIPHERS, 0);
	t->ciphersuites = kg_get_str(v, o, "ciphersuites", jp, KG_DEFAULT_CIPHERSUITES, 0);
	t->handshake_timeout_ms = (uint32_t)kg_get_int(v, o, "handshake_timeout_ms", jp,
						       100, 600000, 10000, 0);
	char *mv = kg_get_str(v, o, "min_version", jp, "TLSv1.2", 0);
	if (mv && strcmp(mv, "TLSv1.2") == 0)
		t->min_version = TLS1_2_VERSION;
	else if (mv && strcmp(mv, "TLSv1.3") == 0)
		t->min_version = TLS1_3_VERSION;
	else
		kg_verr(v, "$.listen.tls.min_version", "must be \"TLSv1.2\" or \"TLSv1.3\"");
	free(mv);
	char *ca = kg_get_str(v, o, "client_auth", jp, "none", 0);
	if (ca && strcmp(ca, "none") == 0)
		t->client_auth = KG_CLIENT_AUTH_NONE;
	else if (ca && strcmp(ca, "requested") == 0)
		t->client_auth = KG_CLIENT_AUTH_REQUESTED;
	else if (ca && strcmp(ca, "required") == 0)
		t->client_auth = KG_CLIENT_AUTH_REQUIRED;
	else
		kg_verr(v, "$.listen.tls.client_auth",
			"must be \"none\", \"requested\" or \"required\"");
	free(ca);
	if (t->client_auth != KG_CLIENT_AUTH_NONE && !t->ca_file)
		kg_verr(v, "$.listen.tls.ca_file",
			"is required when client_auth is requested or required");
	static const char *const froms[] = { "subject", "san:dns", "san:email", "san:uri" };
	char *from = kg_get_str(v, o, "principal_from", jp, "subject", 0);
	t->principal_from = -1;
	for (int i = 0; from && i < 4; i++)
		if (strcmp(from, froms[i]) == 0)
			t->principal_from = i;
	if (t->principal_from < 0)
		kg_verr(v, "$.listen.tls.principal_from",
			"must be \"subject\", \"san:dns\", \"san:email\" or \"san:uri\"");
	free(from);
	json_t *rules = json_object_get(o, "principal_mapping_rules");
	if (!rules) {
		t->mapping_rules = calloc(1, sizeof(char *));
		t->mapping_rules[0] = strdup("DEFAULT");
		t->nmapping_rules = 1;
		return;
	}
	if (!json_is_array(rules) || json_array_size(rules) == 0) {
		kg_verr(v, "$.listen.tls.principal_mapping_rules",
			"must be a non-empty array of rule strings");
		return;
	}
	t->mapping_rules = calloc(json_array_size(rules), sizeof(char *));
	size_t i;
	json_t *r;
	json_array_foreach(rules, i, r) {
		if (!json_is_string(r)) {
			char p[96];
			snprintf(p, sizeof(p), "$.listen.tls.principal_mapping_rules[%zu]", i);
			kg_verr(v, p, "must be a string (\"RULE:...\" or \"DEFAULT\")");
			return;
		}
		t->mapping_rules[t->nmapping_rules++] = strdup(json_string_value(r));
	}
}

static void load_sni(struct vctx *v, struct kg_config *c, json_t *o)
{
	static const char *const keys[] = { "port", "advertised_port", "bootstrap_host",
					    "broker_host_pattern", NULL };
	const char *jp = "$.listen.sni";
	struct kg_sni_cfg *s = &c->sni;
	kg_check_keys(v, o, jp, keys);
	s->enabled = true;
	s->port = (uint16_t)kg_get_int(v, o, "port", jp, 1, 65535, 0, 1);
	s->advertised_port = (uint16_t)kg_get_int(v, o, "advertised_port", jp, 1, 65535,
						  s->port, 0);
	s->bootstrap_host = kg_get_str(v, o, "bootstrap_host", jp, NULL, 1);
	char *pat = kg_get_str(v, o, "broker_host_pattern", jp, NULL, 1);
	const char *id = pat ? strstr(pat, "{id}") : NULL;
	if (pat && (!id || strstr(id + 4, "{id}"))) {
		kg_verr(v, "$.listen.sni.broker_host_pattern",
			"must contain {id} exactly once, e.g. \"broker-{id}.kafka.example.com\"");
	} else if (pat) {
		s->broker_prefix = strndup(pat, (size_t)(id - pat));
		s->broker_suffix = strdup(id + 4);
	}
	free(pat);
	if (!c->tls.enabled)
		kg_verr(v, "$.listen.sni", "needs listen.tls: the SNI name travels in the TLS handshake");
	if (s->port == c->bootstrap_port)
		kg_verr(v, "$.listen.sni.port", "collides with listen.bootstrap_port %u",
			c->bootstrap_port);
}

static void load_upstream_tls(struct vctx *v, struct kg_upstream_tls_cfg *t, json_t *o)
{
	static const char *const keys[] = { "ca_file", "verify_hostname", "cert_file",
					    "key_file", NULL };
	const char *jp = "$.upstream.tls";
	kg_check_keys(v, o, jp, keys);
	t->enabled = true;
	t->ca_file = get_file(v, o, "ca_file", jp, 1);
	t->cert_file = get_file(v, o, "cert_file", jp, 0);
	t->key_file = get_file(v, o, "key_file", jp, 0);
	json_t *vh = json_object_get(o, "verify_hostname");
	if (vh && !json_is_boolean(vh))
		kg_verr(v, "$.upstream.tls.verify_hostname", "must be true or false");
	t->verify_hostname = vh ? json_is_true(vh) : true;
	if (!t->cert_file != !t->key_file)
		kg_verr(v, "$.upstream.tls", "cert_file and key_file go together");
}

void kg_config_load_tls(struct vctx *v, struct kg_config *c, json_t *listen,
			json_t *upstream)
{
	json_t *t = kg_get_obj(v, listen, "tls", "$.listen", 0);
	if (t)
		load_listen_tls(v, &c->tls, t);
	json_t *s = kg_get_obj(v, listen, "sni", "$.listen", 0);
	if (s)
		load_sni(v, c, s);
	json_t *u = kg_get_obj(v, upstream, "tls", "$.upstream", 0);
	if (u)
		load_upstream_tls(v, &c->upstream_tls, u);
}

void kg_config_free_tls(struct kg_config *c)
{
	struct kg_tls_cfg *t = &c->tls;
	free(t->cert_file);
	free(t->key_file);
	free(t->key_password_file);
	free(t->ca_file);
	free(t->crl_file);
	free(t->ciphers);
	free(t->ciphersuites);
	for (size_t i = 0; i < t->nmapping_rules; i++)
		free(t->mapping_rules[i]);
	free(t->mapping_rules);
	free(c->sni.bootstrap_host);
	free(c->sni.broker_prefix);
	free(c->sni.broker_suffix);
	free(c->upstream_tls.ca_file);
	free(c->upstream_tls.cert_file);
	free(c->upstream_tls.key_file);
}
