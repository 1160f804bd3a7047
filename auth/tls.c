/* tls.c - OpenSSL contexts for the client-facing listeners and for the
 * upstream brokers.
 *
 * Reload (SIGHUP, or a changed file) builds complete new contexts first and
 * swaps them in only when everything loaded (base/reload.h); a broken
 * certificate leaves the old one serving. Connections hold a reference to
 * the contexts they were accepted with, so a swap never disturbs an
 * established session.
 */
#define _GNU_SOURCE
#include "auth/tls.h"
#include "auth/principal.h"
#include "base/reload.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

static void contexts_ref(void *p);
static void contexts_unref(void *p);
static struct kg_slot slot = KG_SLOT_INIT(contexts_ref, contexts_unref);
static kg_tls_sni_fn tls_sni_fn;

static void ssl_errstr(const char *what, const char *file, char *err, size_t errlen)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	snprintf(err, errlen, "%s %s: %s", what, file ? file : "", r ? r : "failed");
	ERR_clear_error();
}

/* The key password comes from a file, never from the config itself. */
static int password_cb(char *buf, int size, int rwflag, void *userdata)
{
	(void)rwflag;
	const char *path = userdata;
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f)
		return 0;
	int n = 0;
	if (fgets(buf, size, f)) {
		n = (int)strcspn(buf, "\r\n");
		buf[n] = '\0';
	}
	fclose(f);
	return n;
}

static int servername_cb(SSL *ssl, int *alert, void *arg)
{
	(void)arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (tls_sni_fn && tls_sni_fn(ssl, name) < 0) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* I/O settings shared by both sides. Read-ahead with a large buffer: a
 * produce request arrives as several 16 KiB records, and without it every
 * record costs two read(2) calls (header, then body) - measured as the
 * main cost of TLS produce. Buffers are kept while the connection is busy
 * (no RELEASE_BUFFERS: freeing and reallocating them per record costs more
 * than the memory saves) and given back once it is quiet (loop/worker.c's
 * sweep, SSL_free_buffers). */
static void tune_io(SSL_CTX *ctx)
{
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 128 * 1024);
}

static SSL_CTX *server_ctx_build(const struct kg_tls_cfg *t, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		ssl_errstr("SSL_CTX_new", NULL, err, errlen);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, t->min_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_COMPRESSION);
	tune_io(ctx);
	if (SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1) {
		ssl_errstr("ciphers", t->ciphers, err, errlen);
		goto fail;
	}
	if (SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1) {
		ssl_errstr("ciphersuites", t->ciphersuites, err, errlen);
		goto fail;
	}
	SSL_CTX_set_default_passwd_cb(ctx, password_cb);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, t->key_password_file);
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
		ssl_errstr("cannot load certificate chain", t->cert_file, err, errlen);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1) {
		ssl_errstr("cannot load private key", t->key_file, err, errlen);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_errstr("private key does not match certificate", t->key_file, err, errlen);
		goto fail;
	}
	/* Resumption: the server cache and tickets are on by default; with
	 * client certificates a session id context is required. */
	static const unsigned char sid_ctx[] = "kafka-gateway";
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (t->ca_file) {
		if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
			ssl_errstr("cannot load CA file", t->ca_file, err, errlen);
			goto fail;
		}
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->ca_file);
		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
	}
	if (t->crl_file) {
		X509_STORE *st = SSL_CTX_get_cert_store(ctx);
		X509_LOOKUP *lk = X509_STORE_add_lookup(st, X509_LOOKUP_file());
		if (!lk || X509_load_crl_file(lk, t->crl_file, X509_FILETYPE_PEM) < 1) {
			ssl_errstr("cannot load CRL", t->crl_file, err, errlen);
			goto fail;
		}
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	}
	/* "requested" still refuses an untrusted certificate: with
	 * VERIFY_PEER a failed verification ends the handshake. */
	if (t->client_auth == KG_CLIENT_AUTH_REQUIRED)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else if (t->client_auth == KG_CLIENT_AUTH_REQUESTED)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static SSL_CTX *upstream_ctx_build(const struct kg_upstream_tls_cfg *t, char *err,
				   size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		ssl_errstr("SSL_CTX_new", NULL, err, errlen);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	tune_io(ctx);
	if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
		ssl_errstr("cannot load upstream CA file", t->ca_file, err, errlen);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (t->cert_file &&
	    (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(ctx) != 1)) {
		ssl_errstr("cannot load upstream client certificate", t->cert_file, err, errlen);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static void contexts_ref(void *p)
{
	atomic_fetch_add(&((struct kg_tls_contexts *)p)->refs, 1);
}

static void contexts_unref(void *p)
{
	struct kg_tls_contexts *t = p;
	if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	SSL_CTX_free(t->server);
	kg_principal_rules_free(t->rules);
	SSL_CTX_free(t->upstream);
	free(t);
}

/* Builds every context the settings ask for; NULL with a message when
 * any part fails (a kg_slot_build_fn). */
static void *contexts_build(const void *arg, char *err, size_t errlen)
{
	const struct kg_tls_settings *ts = arg;
	struct kg_tls_contexts *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&t->refs, 1);
	if (ts->server->enabled) {
		t->server = server_ctx_build(ts->server, err, errlen);
		if (t->server)
			t->rules = kg_principal_rules_compile(
				(const char *const *)ts->server->mapping_rules,
				ts->server->nmapping_rules, err, errlen);
		if (!t->server || !t->rules)
			goto fail;
	}
	if (ts->upstream->enabled && !(t->upstream = upstream_ctx_build(ts->upstream, err, errlen)))
		goto fail;
	return t;
fail:
	contexts_unref(t);
	return NULL;
}

int kg_tls_init(const struct kg_tls_settings *ts, kg_tls_sni_fn sni, char *err, size_t errlen)
{
	tls_sni_fn = sni;
	return kg_slot_reload(&slot, contexts_build, ts, err, errlen);
}

int kg_tls_reload(const struct kg_tls_settings *ts, char *err, size_t errlen)
{
	return kg_slot_reload(&slot, contexts_build, ts, err, errlen);
}

struct kg_tls_contexts *kg_tls_acquire(void)
{
	return kg_slot_acquire(&slot, NULL);
}

void kg_tls_release(struct kg_tls_contexts *t)
{
	contexts_unref(t);
}

SSL *kg_tls_upstream_new(const char *host, bool verify_hostname)
{
	struct kg_tls_contexts *t = kg_tls_acquire();
	/* The SSL keeps its own reference to the context. */
	SSL *ssl = t && t->upstream ? SSL_new(t->upstream) : NULL;
	kg_tls_release(t);
	if (!ssl)
		return NULL;
	SSL_set_connect_state(ssl);
	SSL_set_tlsext_host_name(ssl, host);
	if (verify_hostname)
		SSL_set1_host(ssl, host);
	return ssl;
}

static long long not_after(SSL_CTX *ctx)
{
	X509 *x = ctx ? SSL_CTX_get0_certificate(ctx) : NULL;
	struct tm tm;
	if (!x || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return (long long)timegm(&tm);
}

void kg_tls_cert_expiry(long long *server, long long *upstream)
{
	struct kg_tls_contexts *t = kg_tls_acquire();
	*server = t ? not_after(t->server) : 0;
	*upstream = t ? not_after(t->upstream) : 0;
	kg_tls_release(t);
}

void kg_tls_shutdown(void)
{
	kg_slot_swap(&slot, NULL);
}

void kg_tls_peer_describe(SSL *ssl, struct kg_tls_peer *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->version, sizeof(p->version), "%s", SSL_get_version(ssl));
	const char *cipher = SSL_get_cipher_name(ssl);
	snprintf(p->cipher, sizeof(p->cipher), "%s", cipher ? cipher : "");
	X509 *cert = SSL_get0_peer_certificate(ssl);
	if (!cert)
		return;
	p->has_cert = kg_x509_subject_dn(cert, p->subject, sizeof(p->subject)) == 0;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (X509_digest(cert, EVP_sha256(), md, &n) == 1) {
		/* As `openssl x509 -fingerprint -sha256` prints it. */
		for (unsigned i = 0; i < n && 3 * i + 3 <= sizeof(p->sha256); i++)
			snprintf(p->sha256 + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
	}
}

static long long file_mtime(const char *path)
{
	struct stat st;
	if (!path || stat(path, &st) != 0)
		return 0;
	return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

long long kg_tls_files_mtime(const struct kg_tls_settings *ts)
{
	const struct kg_tls_cfg *t = ts->server;
	const struct kg_upstream_tls_cfg *u = ts->upstream;
	const char *files[] = { t->cert_file, t->key_file, t->ca_file, t->crl_file,
				t->key_password_file, u->ca_file, u->cert_file, u->key_file };
	long long m = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		long long t = file_mtime(files[i]);
		if (t > m)
			m = t;
	}
	return m;
}
