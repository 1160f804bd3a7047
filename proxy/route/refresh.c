/* refresh.c - a plain blocking client of the upstream cluster, in its own
 * thread: connect to a bootstrap server, send Metadata v12 for all topics,
 * learn the brokers and the topic ids (topics.h: requests naming topics by
 * id are authorized by name). A request with an unknown topic id kicks an
 * early round. Blocking I/O with timeouts keeps it simple; it never
 * touches the workers' loops except through the router. */
#define _GNU_SOURCE
#include "route/refresh.h"
#include "base/metrics.h"
#include "kafka/codec.h"
#include "base/log.h"
#include "io/net.h"
#include "route/router.h"
#include "io/stream.h"
#include "auth/tls.h"
#include "route/topics.h"
#include "base/version.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define METADATA_VERSION 12
#define API_VERSIONS_VERSION 3

static pthread_t refresh_thread;
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t refresh_cond = PTHREAD_COND_INITIALIZER;
static bool refresh_stopping;
static bool refresh_running;
static bool refresh_kicked;            /* a round is wanted now */
static bool resolve_wanted;            /* a node waits for its address */

/* The router's on_unresolved: wakes the thread to resolve (any thread). */
static void resolve_kick(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&refresh_lock);
	if (!resolve_wanted) {
		resolve_wanted = true;
		pthread_cond_signal(&refresh_cond);
	}
	pthread_mutex_unlock(&refresh_lock);
}

/* Waits for fd to be ready for events within deadline_ms; 0 ok, -1 not. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc;
	do {
		rc = poll(&p, 1, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	return rc == 1 ? 0 : -1;
}

/* Reads or writes len bytes over s, waiting with poll for the readiness
 * TLS asks for. 0 ok, -1 on error or timeout. */
static int io_all(struct kg_stream *s, uint8_t *buf, size_t len, bool wr, int timeout_ms)
{
	size_t off = 0;
	while (off < len) {
		long n;
		if (wr) {
			struct iovec iov = { buf + off, len - off };
			n = kg_stream_writev(s, &iov, 1);
		} else {
			n = kg_stream_read(s, buf + off, len - off);
		}
		if (n == -2) {
			bool want_in = wr ? s->write_wants_read : !s->read_wants_write;
			if (wait_fd(s->fd, want_in ? POLLIN : POLLOUT, timeout_ms) < 0)
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Encodes a request frame (size, header v1/v2 with our client id, body);
 * returns its length or -1. */
static long build_frame(struct kc_arena *a, int16_t key, int16_t ver, int32_t corr,
			const struct kc_obj *req, uint8_t **out)
{
	bool flex = kc_request_flexible(key, ver);
	int64_t body = kc_encoded_size(req, ver, flex);
	static const char client_id[] = "kafka-gateway";
	size_t hlen = 2 + 2 + 4 + 2 + (sizeof(client_id) - 1) + (flex ? 1 : 0);
	size_t total = 4 + hlen + (size_t)body;
	uint8_t *p = body < 0 ? NULL : kc_arena_alloc(a, total);
	if (!p)
		return -1;
	uint32_t sz = (uint32_t)(total - 4);
	uint8_t *q = p;
	*q++ = (uint8_t)(sz >> 24); *q++ = (uint8_t)(sz >> 16);
	*q++ = (uint8_t)(sz >> 8); *q++ = (uint8_t)sz;
	*q++ = (uint8_t)(key >> 8); *q++ = (uint8_t)key;
	*q++ = (uint8_t)(ver >> 8); *q++ = (uint8_t)ver;
	*q++ = (uint8_t)(corr >> 24); *q++ = (uint8_t)(corr >> 16);
	*q++ = (uint8_t)(corr >> 8); *q++ = (uint8_t)corr;
	*q++ = 0; *q++ = (uint8_t)(sizeof(client_id) - 1);
	memcpy(q, client_id, sizeof(client_id) - 1);
	q += sizeof(client_id) - 1;
	if (flex)
		*q++ = 0; /* no header tagged fields */
	if (kc_encode(req, ver, flex, q, (size_t)body) != body)
		return -1;
	*out = p;
	return (long)total;
}

/* Sends one request and decodes its response. NULL on any failure. */
static struct kc_obj *round_trip(struct kg_router *r, struct kg_stream *s,
				 struct kc_arena *a, int16_t key, int16_t ver,
				 int32_t corr, const struct kc_obj *req)
{
	int timeout = (int)r->cfg->connect_timeout_ms;
	uint8_t *frame, hdr[4];
	long flen = build_frame(a, key, ver, corr, req, &frame);
	if (flen < 0 || io_all(s, frame, (size_t)flen, true, timeout) < 0 ||
	    io_all(s, hdr, 4, false, timeout) < 0)
		return NULL;
	uint32_t size = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
			(uint32_t)hdr[2] << 8 | hdr[3];
	if (size < 5 || size > r->cfg->max_response_bytes)
		return NULL;
	uint8_t *resp = kc_arena_alloc(a, size);
	int32_t rcorr;
	size_t hl;
	struct kc_obj *o;
	if (!resp || io_all(s, resp, size, false, timeout) < 0 ||
	    kc_decode_response_header(resp, size, kc_response_header_version(key, ver),
				      &rcorr, &hl) != KC_OK || rcorr != corr ||
	    kc_decode_response(key, ver, resp + hl, size - hl, a, &o) != KC_OK)
		return NULL;
	return o;
}

/* ApiVersions: the broker's ranges, kept so the gateway can answer
 * ApiVersions itself before a client has authenticated. */
static int learn_api_versions(struct kg_router *r, struct kg_stream *s,
			      struct kc_arena *a)
{
	const struct kc_api *api = kc_api_find(KC_API_API_VERSIONS);
	struct kc_obj *req = kc_obj_new(api->request->body, API_VERSIONS_VERSION, a);
	struct kc_value *n = req ? kc_at(req, KCF_ApiVersionsRequest_ClientSoftwareName) : NULL;
	struct kc_value *v = req ? kc_at(req, KCF_ApiVersionsRequest_ClientSoftwareVersion) : NULL;
	if (!n || !v || kc_set_string(a, n, "kafka-gateway", 13) < 0 ||
	    kc_set_string(a, v, KG_VERSION_STRING, strlen(KG_VERSION_STRING)) < 0)
		return -1;
	struct kc_obj *resp = round_trip(r, s, a, KC_API_API_VERSIONS, API_VERSIONS_VERSION, 1, req);
	struct kc_value *err = resp ? kc_at(resp, KCF_ApiVersionsResponse_ErrorCode) : NULL;
	struct kc_value *keys = resp ? kc_at(resp, KCF_ApiVersionsResponse_ApiKeys) : NULL;
	if (!err || err->u.i != 0 || !keys)
		return -1;
	struct kg_api_range ranges[KG_MAX_API_KEY + 1];
	for (int i = 0; i <= KG_MAX_API_KEY; i++)
		ranges[i] = (struct kg_api_range){ -1, -1 };
	for (int32_t i = 0; i < keys->u.arr.n; i++) {
		struct kc_obj *e = keys->u.arr.v[i].u.obj;
		int64_t k = kc_at(e, KCF_ApiVersionsResponse_ApiKeys_ApiKey)->u.i;
		if (k >= 0 && k <= KG_MAX_API_KEY)
			ranges[k] = (struct kg_api_range){ (int16_t)kc_at(e, KCF_ApiVersionsResponse_ApiKeys_MinVersion)->u.i,
							   (int16_t)kc_at(e, KCF_ApiVersionsResponse_ApiKeys_MaxVersion)->u.i };
	}
	kg_router_set_api_ranges(r, ranges);
	return 0;
}

static int refresh_from(struct kg_router *r, const struct kg_addr *addr,
			const char *host)
{
	int timeout = (int)r->cfg->connect_timeout_ms;
	int fd = kg_net_connect(addr);
	if (fd < 0 || wait_fd(fd, POLLOUT, timeout) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int err = 0;
	socklen_t el = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
	struct kg_stream s = { .fd = fd };
	if (!err && r->cfg->upstream_tls.enabled) {
		s.ssl = kg_tls_upstream_new(host, r->cfg->upstream_tls.verify_hostname);
		if (!s.ssl || SSL_set_fd(s.ssl, fd) != 1)
			err = 1;
	}
	struct kc_arena a;
	kc_arena_init(&a);
	int seen = -1;
	const struct kc_api *mapi = kc_api_find(KC_API_METADATA);
	struct kc_obj *req = err ? NULL : kc_obj_new(mapi->request->body, METADATA_VERSION, &a);
	struct kc_value *topics = req ? kc_at(req, KCF_MetadataRequest_Topics) : NULL;
	if (topics)
		topics->u.arr.n = -1;
	struct kc_obj *o;
	/* Topics = null asks for every topic (with its id). */
	if (!topics ||
	    learn_api_versions(r, &s, &a) < 0 ||
	    !(o = round_trip(r, &s, &a, KC_API_METADATA, METADATA_VERSION, 2, req)))
		goto out;
	struct kc_value *brokers = kc_at(o, KCF_MetadataResponse_Brokers);
	struct kc_value *tl = kc_at(o, KCF_MetadataResponse_Topics);
	for (int32_t i = 0; tl && i < tl->u.arr.n; i++) {
		struct kc_obj *t = tl->u.arr.v[i].u.obj;
		struct kc_value *id = kc_at(t, KCF_MetadataResponse_Topics_TopicId), *nm = kc_at(t, KCF_MetadataResponse_Topics_Name);
		if (id && nm && nm->u.b.len > 0)
			kg_topics_learn(id->u.uuid, (const char *)nm->u.b.p, (size_t)nm->u.b.len);
	}
	seen = 0;
	for (int32_t i = 0; brokers && i < brokers->u.arr.n; i++) {
		struct kc_obj *b = brokers->u.arr.v[i].u.obj;
		struct kc_value *id = kc_at(b, KCF_MetadataResponse_Brokers_NodeId), *h = kc_at(b, KCF_MetadataResponse_Brokers_Host),
				*port = kc_at(b, KCF_MetadataResponse_Brokers_Port);
		if (!id || !h || !port || h->u.b.len < 0)
			continue;
		/* Counted when usable: not hidden (allowed hosts, ports). */
		if (kg_router_learn(r, (int32_t)id->u.i, (const char *)h->u.b.p,
				    (size_t)h->u.b.len, (int32_t)port->u.i) >= 0)
			seen++;
	}
out:
	if (seen < 0 && s.ssl)
		log_warn("metadata refresh over TLS to %s failed: %s", host, kg_stream_error(&s));
	kc_arena_free(&a);
	kg_stream_close(&s);
	return seen;
}

int kg_refresh_once(struct kg_router *r)
{
	struct kg_addr addr;
	char host[256];
	int n = -1;
	/* DNS is looked at here, in this thread, never on a worker's loop:
	 * the bootstrap names each round, the brokers when they appear. */
	kg_router_resolve_bootstrap(r);
	for (unsigned attempt = 0; n < 0 && kg_router_bootstrap(r, attempt, &addr, host) == 0;
	     attempt++)
		n = refresh_from(r, &addr, host);
	kg_router_resolve_pending(r);
	return n;
}

static void *refresh_main(void *arg)
{
	struct kg_router *r = arg;
	int last = -2;
	pthread_mutex_lock(&refresh_lock);
	while (!refresh_stopping) {
		pthread_mutex_unlock(&refresh_lock);
		int n = kg_refresh_once(r);
		if (n >= 0)
			atomic_store(&r->refreshed_ns, kg_metrics_now_ns());
		atomic_store(&r->refresh_brokers, n < 0 ? -1 : n);
		if (n < 0 && last != -1)
			log_warn("metadata refresh: no upstream bootstrap server answered; "
				 "will retry");
		else if (n >= 0 && n != last)
			log_info("metadata refresh: %d brokers upstream", n);
		last = n;
		pthread_mutex_lock(&refresh_lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		/* Retry soon while the cluster is unreachable. */
		uint32_t ms = n < 0 ? 2000 : r->cfg->metadata_refresh_ms;
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		for (;;) {
			while (!refresh_stopping && !refresh_kicked && !resolve_wanted &&
			       pthread_cond_timedwait(&refresh_cond, &refresh_lock, &ts) == 0)
				;
			if (!resolve_wanted || refresh_stopping)
				break;
			/* A worker met a broker that needs an address: resolve
			 * now, then go on waiting for the next round. */
			resolve_wanted = false;
			pthread_mutex_unlock(&refresh_lock);
			kg_router_resolve_pending(r);
			pthread_mutex_lock(&refresh_lock);
		}
		if (refresh_kicked && !refresh_stopping) {
			/* At most one early round per second. */
			refresh_kicked = false;
			pthread_mutex_unlock(&refresh_lock);
			usleep(1000 * 1000);
			pthread_mutex_lock(&refresh_lock);
		}
	}
	pthread_mutex_unlock(&refresh_lock);
	return NULL;
}

int kg_refresh_start(struct kg_router *r)
{
	refresh_stopping = false;
	r->on_unresolved = resolve_kick;
	r->on_unresolved_ctx = NULL;
	if (pthread_create(&refresh_thread, NULL, refresh_main, r) != 0)
		return -1;
	refresh_running = true;
	return 0;
}

void kg_refresh_stop(void)
{
	if (!refresh_running)
		return;
	pthread_mutex_lock(&refresh_lock);
	refresh_stopping = true;
	pthread_cond_signal(&refresh_cond);
	pthread_mutex_unlock(&refresh_lock);
	pthread_join(refresh_thread, NULL);
	refresh_running = false;
}

void kg_refresh_kick(void)
{
	pthread_mutex_lock(&refresh_lock);
	if (!refresh_kicked) {
		refresh_kicked = true;
		pthread_cond_signal(&refresh_cond);
	}
	pthread_mutex_unlock(&refresh_lock);
}
