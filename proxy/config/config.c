/* config.c - JSON configuration: parse with jansson, validate every key.
 *
 * Unknown keys are errors (a typo must not silently become a default), and
 * every message names the file, the JSON path and what is wrong, e.g.
 *   conf/gateway.json: $.listen.bootstrap_port: must be an integer in 1..65535
 */
#define _GNU_SOURCE
#include "config/config.h"
#include "config/config_util.h"
#include "base/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses "host:port" or "[v6]:port". */
static int parse_hostport(const char *s, struct kg_hostport *hp)
{
	const char *colon;
	const char *host = s;
	size_t hlen;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -1;
		host = s + 1;
		hlen = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen > 253)
		return -1;
	char *endp;
	long port = strtol(colon + 1, &endp, 10);
	if (*endp || colon[1] == '\0' || port < 1 || port > 65535)
		return -1;
	hp->host = strndup(host, hlen);
	hp->port = (uint16_t)port;
	return 0;
}

static void load_listen(struct vctx *v, struct kg_config *c, json_t *l)
{
	static const char *const keys[] = {
		"bind_host", "advertised_host", "bootstrap_port",
		"bootstrap_advertised_port", "broker_port_base",
		"broker_advertised_port_base", "brokers", "tls", "sni", "auth", NULL
	};
	const char *jp = "$.listen";
	kg_check_keys(v, l, jp, keys);
	c->bind_host = kg_get_str(v, l, "bind_host", jp, "0.0.0.0", 0);
	c->advertised_host = kg_get_str(v, l, "advertised_host", jp, "localhost", 0);
	c->bootstrap_port = (uint16_t)kg_get_int(v, l, "bootstrap_port", jp, 1, 65535, 9092, 1);
	c->bootstrap_advertised_port = (uint16_t)kg_get_int(v, l, "bootstrap_advertised_port",
							 jp, 1, 65535, c->bootstrap_port, 0);
	c->broker_port_base = (uint16_t)kg_get_int(v, l, "broker_port_base", jp, 1, 65535, 0, 1);
	c->broker_advertised_port_base = (uint16_t)kg_get_int(
		v, l, "broker_advertised_port_base", jp, 1, 65535, c->broker_port_base, 0);

	json_t *b = json_object_get(l, "brokers");
	if (!b)
		return;
	if (!json_is_object(b)) {
		kg_verr(v, "$.listen.brokers", "must be an object mapping node ids to addresses");
		return;
	}
	c->brokers = calloc(json_object_size(b) + 1, sizeof(*c->brokers));
	const char *key;
	json_t *val;
	json_object_foreach(b, key, val) {
		char p[128];
		snprintf(p, sizeof(p), "$.listen.brokers.%s", key);
		char *endp;
		long id = strtol(key, &endp, 10);
		if (*endp || key[0] == '\0' || id < 0 || id > INT32_MAX) {
			kg_verr(v, p, "key must be a node id (a non-negative integer)");
			return;
		}
		if (!json_is_object(val)) {
			kg_verr(v, p, "must be an object with port, advertised_host, advertised_port");
			return;
		}
		/* "1", "01" and "+1" all parse as node 1 */
		for (size_t i = 0; i < c->nbrokers; i++)
			if (c->brokers[i].node_id == (int32_t)id) {
				kg_verr(v, p, "node %ld is listed twice", id);
				return;
			}
		static const char *const bkeys[] = { "port", "advertised_host",
						     "advertised_port", NULL };
		kg_check_keys(v, val, p, bkeys);
		struct kg_broker_addr *ba = &c->brokers[c->nbrokers++];
		ba->node_id = (int32_t)id;
		ba->port = (uint16_t)kg_get_int(v, val, "port", p, 1, 65535, 0, 1);
		ba->advertised_host = kg_get_str(v, val, "advertised_host", p, NULL, 0);
		ba->advertised_port = (uint16_t)kg_get_int(v, val, "advertised_port", p, 1,
							65535, ba->port, 0);
	}
}

static void load_upstream(struct vctx *v, struct kg_config *c, json_t *u)
{
	static const char *const keys[] = { "bootstrap_servers", "connect_timeout_ms",
					    "metadata_refresh_ms", "request_timeout_ms", "tls",
					    "allowed_hosts", NULL };
	const char *jp = "$.upstream";
	kg_check_keys(v, u, jp, keys);
	json_t *bs = json_object_get(u, "bootstrap_servers");
	if (!json_is_array(bs) || json_array_size(bs) == 0) {
		kg_verr(v, "$.upstream.bootstrap_servers",
		     "must be a non-empty array of \"host:port\" strings");
		return;
	}
	c->bootstrap = calloc(json_array_size(bs), sizeof(*c->bootstrap));
	size_t i;
	json_t *e;
	json_array_foreach(bs, i, e) {
		char p[128];
		snprintf(p, sizeof(p), "$.upstream.bootstrap_servers[%zu]", i);
		if (!json_is_string(e) ||
		    parse_hostport(json_string_value(e), &c->bootstrap[c->nbootstrap]) < 0) {
			kg_verr(v, p, "must be \"host:port\" with a port in 1..65535");
			return;
		}
		c->nbootstrap++;
	}
	c->connect_timeout_ms = (uint32_t)kg_get_int(v, u, "connect_timeout_ms", jp, 100,
						  600000, 5000, 0);
	c->metadata_refresh_ms = (uint32_t)kg_get_int(v, u, "metadata_refresh_ms", jp, 1000,
						   86400000, 30000, 0);
	/* How long a broker may take past the wait a request asks for (a
	 * Fetch's MaxWaitMs...) before the connection is given up: a hung
	 * broker must not hold clients until their own timeouts. */
	c->request_timeout_ms = (uint32_t)kg_get_int(v, u, "request_timeout_ms", jp, 100,
						  3600000, 30000, 0);
	kg_config_load_allowed_hosts(v, c, u);
}

/* acl: required, so that a gateway is never started without deciding who
 * may do what (an allow-everything policy has to be written on purpose). */
static void load_acl(struct vctx *v, struct kg_config *c, json_t *a)
{
	static const char *const keys[] = { "policy_file", NULL };
	if (!a)
		return;
	kg_check_keys(v, a, "$.acl", keys);
	c->acl_policy_file = kg_get_str(v, a, "policy_file", "$.acl", NULL, 1);
}

struct kg_config *kg_config_load(const char *path, char *err, size_t errlen)
{
	struct vctx v = { .file = path, .err = err, .errlen = errlen };
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s: line %d column %d: %s", path, jerr.line,
			 jerr.column, jerr.text);
		return NULL;
	}
	struct kg_config *c = calloc(1, sizeof(*c));
	c->path = strdup(path);
	if (!json_is_object(root)) {
		kg_verr(&v, "$", "the top level must be an object");
		goto out;
	}
	static const char *const keys[] = { "workers", "log_level", "log_format", "listen",
					    "upstream", "limits", "acl", "audit", "admin",
					    "shutdown", NULL };
	kg_check_keys(&v, root, "$", keys);
	c->workers = (int)kg_get_int(&v, root, "workers", "$", 0, 256, 0, 0);
	char *lvl = kg_get_str(&v, root, "log_level", "$", "info", 0);
	enum kg_log_level ll = KG_LOG_INFO;
	if (lvl && kg_log_level_parse(lvl, &ll) < 0)
		kg_verr(&v, "$.log_level", "must be one of debug, info, warn, error");
	c->log_level = (int)ll;
	free(lvl);

	json_t *l = kg_get_obj(&v, root, "listen", "$", 1);
	if (l)
		load_listen(&v, c, l);
	json_t *u = kg_get_obj(&v, root, "upstream", "$", 1);
	if (u)
		load_upstream(&v, c, u);
	kg_config_load_limits(&v, c, kg_get_obj(&v, root, "limits", "$", 0));
	load_acl(&v, c, kg_get_obj(&v, root, "acl", "$", 1));
	kg_config_load_audit(&v, c, root);
	if (l && u)
		kg_config_load_tls(&v, c, l, u);
	if (l)
		kg_config_load_auth(&v, c, l);
	kg_config_load_ops(&v, c, root);

	/* Cross-field checks: the bootstrap port must not collide with a
	 * broker port and the broker explicit ports must be distinct. */
	for (size_t i = 0; !v.failed && i < c->nbrokers; i++) {
		char p[128];
		snprintf(p, sizeof(p), "$.listen.brokers.%d.port", c->brokers[i].node_id);
		if (c->brokers[i].port == c->bootstrap_port)
			kg_verr(&v, p, "collides with listen.bootstrap_port %u", c->bootstrap_port);
		for (size_t j = 0; j < i; j++)
			if (c->brokers[j].port == c->brokers[i].port)
				kg_verr(&v, p, "port %u is already used by node %d",
				     c->brokers[i].port, c->brokers[j].node_id);
	}
	if (!v.failed && c->max_response_bytes < c->buffer_bytes)
		kg_verr(&v, "$.limits.max_response_bytes", "must be >= limits.buffer_bytes");
out:
	json_decref(root);
	if (v.failed) {
		kg_config_free(c);
		return NULL;
	}
	return c;
}

void kg_config_free(struct kg_config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->bind_host);
	free(c->advertised_host);
	for (size_t i = 0; i < c->nbrokers; i++)
		free(c->brokers[i].advertised_host);
	free(c->brokers);
	for (size_t i = 0; i < c->nbootstrap; i++)
		free(c->bootstrap[i].host);
	free(c->bootstrap);
	kg_config_free_tls(c);
	kg_config_free_auth(c);
	kg_config_free_limits(c);
	kg_config_free_allowed_hosts(c);
	free(c->acl_policy_file);
	kg_config_free_audit(c);
	kg_config_free_ops(c);
	free(c);
}

int kg_config_broker_addr(const struct kg_config *c, int32_t node_id,
			  const char **adv_host, uint16_t *adv_port,
			  uint16_t *bind_port)
{
	for (size_t i = 0; i < c->nbrokers; i++) {
		const struct kg_broker_addr *b = &c->brokers[i];
		if (b->node_id != node_id)
			continue;
		*adv_host = b->advertised_host ? b->advertised_host : c->advertised_host;
		*adv_port = b->advertised_port;
		*bind_port = b->port;
		return 0;
	}
	if (node_id < 0)
		return -1;
	int64_t bp = (int64_t)c->broker_port_base + node_id;
	int64_t ap = (int64_t)c->broker_advertised_port_base + node_id;
	/* Neither the bound nor the advertised port may be the bootstrap's:
	 * a client told "node N" must not land on the round-robin port. */
	if (bp > 65535 || ap > 65535 || bp == c->bootstrap_port ||
	    ap == c->bootstrap_advertised_port || (c->sni.enabled && bp == c->sni.port))
		return -1;
	/* The port of base + id may be one a listen.brokers entry binds for
	 * another node: never let two nodes share a gateway port. */
	for (size_t i = 0; i < c->nbrokers; i++)
		if (c->brokers[i].port == bp)
			return -1;
	*adv_host = c->advertised_host;
	*adv_port = (uint16_t)ap;
	*bind_port = (uint16_t)bp;
	return 0;
}

int kg_config_sni_route(const struct kg_sni_cfg *s, const char *name, int32_t *node)
{
	if (!s->enabled || !name)
		return -1;
	if (strcasecmp(name, s->bootstrap_host) == 0) {
		*node = -1;
		return 0;
	}
	size_t n = strlen(name), pl = strlen(s->broker_prefix), sl = strlen(s->broker_suffix);
	if (n <= pl + sl || strncasecmp(name, s->broker_prefix, pl) != 0 ||
	    strcasecmp(name + n - sl, s->broker_suffix) != 0)
		return -1;
	/* Digits only, no sign, no leading zeros, within int32. */
	const char *d = name + pl;
	size_t dl = n - pl - sl;
	if (dl > 10 || (dl > 1 && d[0] == '0'))
		return -1;
	int64_t id = 0;
	for (size_t i = 0; i < dl; i++) {
		if (d[i] < '0' || d[i] > '9')
			return -1;
		id = id * 10 + (d[i] - '0');
	}
	if (id > INT32_MAX)
		return -1;
	*node = (int32_t)id;
	return 0;
}

int kg_config_sni_host(const struct kg_sni_cfg *s, int32_t node_id, char *buf,
		       size_t len)
{
	if (node_id < 0)
		return -1;
	int n = snprintf(buf, len, "%s%d%s", s->broker_prefix, node_id, s->broker_suffix);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
