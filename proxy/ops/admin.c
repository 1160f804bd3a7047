/* admin.c - the admin HTTP listener (admin.h) on libmicrohttpd.
 *
 *   GET /healthz   200 "ok": the process runs and answers
 *   GET /readyz    200 "ready", or 503 and why (draining, no broker ...)
 *   GET /metrics   Prometheus text (metrics_text.c)          token
 *   GET /status    JSON (status.c)                           token
 *
 * One internal thread serves every request in turn, so a scrape never
 * competes with another for the summing buffers. */
#define _GNU_SOURCE
#include "ops/admin.h"
#include "base/log.h"
#include "ops/health.h"
#include "ops/metrics_text.h"
#include "ops/status.h"

#include <microhttpd.h>
#include <pthread.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static pthread_mutex_t token_lock = PTHREAD_MUTEX_INITIALIZER; /* token_hash */

static struct {
	struct MHD_Daemon *d;          /* the server, NULL when off */
	struct kg_gateway *gw;         /* what it reports on */
	unsigned char token_hash[32];  /* SHA-256 of the bearer token */
	bool token;                    /* a token is required */
	char *cert, *key;              /* TLS material (PEM), or NULL */
} A;

static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open %s", path);
		return NULL;
	}
	char *buf = malloc(65537);
	size_t n = buf ? fread(buf, 1, 65536, f) : 0;
	bool more = buf && fgetc(f) != EOF;
	fclose(f);
	if (!buf || more) {
		snprintf(err, errlen, "%s: %s", path, buf ? "larger than 64 KiB" : "out of memory");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 32;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* Compares digests, so the time taken says nothing of the token, its
 * length included. */
static bool token_ok(struct MHD_Connection *conn)
{
	if (!A.token)
		return true;
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	unsigned char got[32];
	sha256(h + 7, strlen(h + 7), got);
	pthread_mutex_lock(&token_lock);
	bool ok = CRYPTO_memcmp(got, A.token_hash, sizeof(got)) == 0;
	pthread_mutex_unlock(&token_lock);
	return ok;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len, bool owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"kafka-gateway\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status, const char *s)
{
	return reply(conn, status, "text/plain; charset=utf-8", (char *)s, strlen(s), false);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **state)
{
	(void)cls; (void)version; (void)upload_data;
	if (!*state) {          /* first call: headers only */
		*state = conn;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;   /* bodies are not wanted, and dropped */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (strcmp(url, "/healthz") == 0)
		return text(conn, MHD_HTTP_OK, "ok\n");
	if (strcmp(url, "/readyz") == 0) {
		char why[160], body[200];
		if (kg_health_ready(&A.gw->router, why, sizeof(why)))
			return text(conn, MHD_HTTP_OK, "ready\n");
		snprintf(body, sizeof(body), "not ready: %s\n", why);
		return text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, body);
	}
	if (strcmp(url, "/metrics") != 0 && strcmp(url, "/status") != 0)
		return text(conn, MHD_HTTP_NOT_FOUND, "not found: /healthz /readyz /metrics /status\n");
	if (!token_ok(conn))
		return text(conn, MHD_HTTP_UNAUTHORIZED, "a bearer token is required\n");
	if (strcmp(url, "/status") == 0) {
		char *s = kg_status_json(A.gw);
		if (!s)
			return text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return reply(conn, MHD_HTTP_OK, "application/json", s, strlen(s), true);
	}
	struct kg_text t = { 0 };
	kg_metrics_text(A.gw, &t);
	if (t.oom || !t.p) {
		kg_text_free(&t);
		return text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", t.p, t.len,
		     true);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warn("admin listener: %s", line);
}

static int load_token(const char *path, char *err, size_t errlen)
{
	size_t n;
	char *tok = read_file(path, &n, err, errlen);
	if (!tok)
		return -1;
	while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
		n--;
	if (n < 16) {
		snprintf(err, errlen, "%s: the token must have at least 16 characters", path);
		OPENSSL_cleanse(tok, n);
		free(tok);
		return -1;
	}
	unsigned char h[32];
	sha256(tok, n, h);
	OPENSSL_cleanse(tok, n);
	free(tok);
	pthread_mutex_lock(&token_lock);
	memcpy(A.token_hash, h, sizeof(h));
	pthread_mutex_unlock(&token_lock);
	A.token = true;
	return 0;
}

int kg_admin_start(struct kg_gateway *gw, char *err, size_t errlen)
{
	const struct kg_admin_cfg *c = &gw->cfg->admin;
	if (!c->enabled)
		return 0;
	A.gw = gw;
	if (c->token_file && load_token(c->token_file, err, errlen) < 0)
		return -1;
	size_t n;
	if (c->cert_file && (!(A.cert = read_file(c->cert_file, &n, err, errlen)) ||
			     !(A.key = read_file(c->key_file, &n, err, errlen))))
		return -1;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
	char port[8];
	snprintf(port, sizeof(port), "%u", c->port);
	int gai = getaddrinfo(c->bind_host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(err, errlen, "admin.bind_host %s: %s", c->bind_host, gai_strerror(gai));
		return -1;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (A.cert)
		flags |= MHD_USE_TLS;
	A.d = MHD_start_daemon(flags, c->port, NULL, NULL, on_request, NULL,
			       MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			       MHD_OPTION_SOCK_ADDR, ai->ai_addr,
			       MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
			       MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)16,
			       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
			       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
			       A.cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, A.cert,
			       MHD_OPTION_HTTPS_MEM_KEY, A.key, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!A.d) {
		snprintf(err, errlen, "cannot listen on %s:%u (in use, or TLS material refused)",
			 c->bind_host, c->port);
		return -1;
	}
	log_info("admin listener on %s://%s:%u (/healthz /readyz /metrics /status)%s",
		 A.cert ? "https" : "http", c->bind_host, c->port,
		 A.token ? ", bearer token required for /metrics and /status" : "");
	return 0;
}

void kg_admin_reload(const struct kg_config *cfg)
{
	char err[256];
	if (!A.d || !cfg->admin.token_file)
		return;
	if (load_token(cfg->admin.token_file, err, sizeof(err)) < 0)
		log_error("admin token reload failed, keeping the current token: %s", err);
	else
		log_info("admin token reloaded from %s", cfg->admin.token_file);
}

void kg_admin_stop(void)
{
	if (A.d)
		MHD_stop_daemon(A.d);
	A.d = NULL;
	free(A.cert);
	if (A.key) {
		OPENSSL_cleanse(A.key, strlen(A.key));
		free(A.key);
	}
	A.cert = A.key = NULL;
}
