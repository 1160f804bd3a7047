/* config_hosts.c - upstream.allowed_hosts: where the gateway may connect.
 *
 * Brokers choose the addresses the gateway connects to (their advertised
 * listeners, in every Metadata answer). A broker whose advertised.listeners
 * was pointed elsewhere, or a forged answer, must not make the gateway
 * connect anywhere: a broker host is used only when it matches a rule.
 *
 *   "kafka-0.kafka.ns.svc"  that host exactly (any case)
 *   "*.kafka.ns.svc"        any host under that domain
 *   "10.20.0.0/16", "::1"   an address literal in that network, or a name
 *                           that resolves into it
 *
 * The bootstrap servers are always allowed. Without the setting, rules are
 * derived from them: a bootstrap name's siblings (kafka-0.x.y -> *.x.y),
 * single-label names when a bootstrap name has a single label (docker
 * compose service names), an address literal's /24 (IPv4) or /64 (IPv6),
 * and loopback for localhost.
 */
#define _GNU_SOURCE
#include "config/config.h"
#include "config/config_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_literal(const char *h)
{
	uint8_t b[16];
	return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return false;
	return true;
}

static int add(struct kg_config *c, int kind, const char *name, const struct kg_net_range *net)
{
	struct kg_host_rule *r = realloc(c->allowed_hosts,
					 (c->nallowed_hosts + 1) * sizeof(*r));
	if (!r)
		return -1;
	c->allowed_hosts = r;
	r = &r[c->nallowed_hosts];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	if (net)
		r->net = *net;
	if (name && !(r->name = strdup(name)))
		return -1;
	for (char *p = r->name; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	c->nallowed_hosts++;
	return 0;
}

static int add_net(struct kg_config *c, const char *text)
{
	struct kg_net_range net;
	char err[160];
	if (kg_net_range_parse(text, &net, err, sizeof(err)) < 0)
		return -1;
	return add(c, KG_HOST_NET, NULL, &net);
}

/* The rules a bootstrap host implies when nothing is configured. */
static int derive(struct kg_config *c, const char *h)
{
	char buf[80];
	if (strcasecmp(h, "localhost") == 0)
		return add_net(c, "127.0.0.0/8") | add_net(c, "::1");
	if (is_literal(h)) {
		uint8_t b[16];
		if (inet_pton(AF_INET, h, b) == 1) {
			snprintf(buf, sizeof(buf), "%u.%u.%u.0/24", b[0], b[1], b[2]);
		} else {
			inet_pton(AF_INET6, h, b);
			memset(b + 8, 0, 8);
			char a[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, b, a, sizeof(a));
			snprintf(buf, sizeof(buf), "%s/64", a);
		}
		return add_net(c, buf);
	}
	const char *dot = strchr(h, '.');
	if (!dot)
		return add(c, KG_HOST_SINGLE_LABEL, NULL, NULL);
	return add(c, KG_HOST_SUFFIX, dot, NULL);   /* ".x.y": siblings and below */
}

void kg_config_load_allowed_hosts(struct vctx *v, struct kg_config *c, json_t *u)
{
	const char *jp = "$.upstream.allowed_hosts";
	json_t *a = u ? json_object_get(u, "allowed_hosts") : NULL;
	for (size_t i = 0; i < c->nbootstrap; i++)
		if (add(c, KG_HOST_EXACT, c->bootstrap[i].host, NULL) < 0)
			goto nomem;
	if (!a) {
		c->allowed_hosts_derived = true;
		for (size_t i = 0; i < c->nbootstrap; i++)
			if (derive(c, c->bootstrap[i].host) < 0)
				goto nomem;
		return;
	}
	if (!json_is_array(a) || json_array_size(a) == 0) {
		kg_verr(v, jp, "must be a non-empty array of host names, \"*.domain\" or "
			"networks (\"10.0.0.0/8\")");
		return;
	}
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		char p[96];
		snprintf(p, sizeof(p), "%s[%zu]", jp, i);
		const char *s = json_is_string(e) ? json_string_value(e) : NULL;
		struct kg_net_range net;
		char err[160];
		if (!s) {
			kg_verr(v, p, "must be a string");
			return;
		}
		if (kg_net_range_parse(s, &net, err, sizeof(err)) == 0) {
			if (add(c, KG_HOST_NET, NULL, &net) < 0)
				goto nomem;
		} else if (strchr(s, '/') || (strchr(s, ':') && !strchr(s, '*'))) {
			kg_verr(v, p, "%s", err);
			return;
		} else if (s[0] == '*' && s[1] == '.' && name_ok(s + 2) && strchr(s + 2, '.')) {
			if (add(c, KG_HOST_SUFFIX, s + 1, NULL) < 0)
				goto nomem;
		} else if (name_ok(s) && !strchr(s, '*')) {
			if (add(c, KG_HOST_EXACT, s, NULL) < 0)
				goto nomem;
		} else {
			kg_verr(v, p, "'%.100s' is not a host name, \"*.domain\" (with at least two "
				"labels) or a network", s);
			return;
		}
	}
	return;
nomem:
	kg_verr(v, jp, "out of memory");
}

void kg_config_free_allowed_hosts(struct kg_config *c)
{
	for (size_t i = 0; i < c->nallowed_hosts; i++)
		free(c->allowed_hosts[i].name);
	free(c->allowed_hosts);
	c->allowed_hosts = NULL;
	c->nallowed_hosts = 0;
}

bool kg_config_host_allowed(const struct kg_config *c, const char *host, size_t len)
{
	char h[256];
	if (len == 0 || len >= sizeof(h))
		return false;
	memcpy(h, host, len);
	h[len] = '\0';
	uint8_t key[16];
	struct sockaddr_storage ss = { 0 };
	bool literal = false;
	if (inet_pton(AF_INET, h, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		literal = true;
	} else if (inet_pton(AF_INET6, h, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		literal = true;
	}
	if (literal && !kg_net_addr_key((const struct sockaddr *)&ss, key))
		return false;
	for (size_t i = 0; i < c->nallowed_hosts; i++) {
		const struct kg_host_rule *r = &c->allowed_hosts[i];
		size_t sl = r->name ? strlen(r->name) : 0;
		switch (r->kind) {
		case KG_HOST_EXACT:
			if (strcasecmp(h, r->name) == 0)
				return true;
			break;
		case KG_HOST_SUFFIX:
			if (!literal && len > sl && strcasecmp(h + len - sl, r->name) == 0)
				return true;
			break;
		case KG_HOST_SINGLE_LABEL:
			if (!literal && !strchr(h, '.'))
				return true;
			break;
		case KG_HOST_NET:
			if (literal && kg_net_range_contains(&r->net, key))
				return true;
			break;
		}
	}
	return false;
}

bool kg_config_addr_allowed(const struct kg_config *c, const struct sockaddr *sa)
{
	uint8_t key[16];
	if (!kg_net_addr_key(sa, key))
		return false;
	for (size_t i = 0; i < c->nallowed_hosts; i++)
		if (c->allowed_hosts[i].kind == KG_HOST_NET &&
		    kg_net_range_contains(&c->allowed_hosts[i].net, key))
			return true;
	return false;
}
