/* config_ops.c - what operators run the gateway with: "log_format", the
 * "admin" HTTP listener (metrics, health, status) and "shutdown" (the
 * drain on SIGTERM). */
#define _GNU_SOURCE
#include "config/config.h"
#include "config/config_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A bind address only this host can reach: no token needed there. */
static bool loopback_host(const char *h)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (strcmp(h, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static void load_admin(struct vctx *v, struct kg_config *c, json_t *a)
{
	static const char *const keys[] = { "bind_host", "port", "token_file", "tls", NULL };
	struct kg_admin_cfg *ad = &c->admin;
	if (!a)
		return;
	kg_check_keys(v, a, "$.admin", keys);
	ad->enabled = true;
	ad->bind_host = kg_get_str(v, a, "bind_host", "$.admin", "127.0.0.1", 0);
	ad->port = (uint16_t)kg_get_int(v, a, "port", "$.admin", 1, 65535, 0, 1);
	ad->token_file = kg_get_str(v, a, "token_file", "$.admin", NULL, 0);
	json_t *t = kg_get_obj(v, a, "tls", "$.admin", 0);
	if (t) {
		static const char *const tkeys[] = { "cert_file", "key_file", NULL };
		kg_check_keys(v, t, "$.admin.tls", tkeys);
		ad->cert_file = kg_get_str(v, t, "cert_file", "$.admin.tls", NULL, 1);
		ad->key_file = kg_get_str(v, t, "key_file", "$.admin.tls", NULL, 1);
		if (ad->cert_file && access(ad->cert_file, R_OK) != 0)
			kg_verr(v, "$.admin.tls.cert_file", "cannot read %s", ad->cert_file);
		if (ad->key_file && access(ad->key_file, R_OK) != 0)
			kg_verr(v, "$.admin.tls.key_file", "cannot read %s", ad->key_file);
	}
	if (v->failed)
		return;
	/* Fail closed: metrics and status name brokers, principals' counts
	 * and the configuration; off this host they need a token. */
	if (!ad->token_file && !loopback_host(ad->bind_host))
		kg_verr(v, "$.admin.token_file", "required when admin.bind_host (%s) is not a "
			"loopback address", ad->bind_host);
	if (ad->token_file && access(ad->token_file, R_OK) != 0)
		kg_verr(v, "$.admin.token_file", "cannot read %s", ad->token_file);
	if (ad->port == c->bootstrap_port || (c->sni.enabled && ad->port == c->sni.port))
		kg_verr(v, "$.admin.port", "port %u is already a Kafka listener port", ad->port);
}

void kg_config_load_ops(struct vctx *v, struct kg_config *c, json_t *root)
{
	char *fmt = kg_get_str(v, root, "log_format", "$", "text", 0);
	if (fmt && strcmp(fmt, "json") == 0)
		c->log_json = true;
	else if (fmt && strcmp(fmt, "text") != 0)
		kg_verr(v, "$.log_format", "must be \"text\" or \"json\"");
	free(fmt);
	load_admin(v, c, kg_get_obj(v, root, "admin", "$", 0));
	json_t *s = kg_get_obj(v, root, "shutdown", "$", 0);
	static const char *const skeys[] = { "unready_delay_ms", "drain_timeout_ms", NULL };
	if (s)
		kg_check_keys(v, s, "$.shutdown", skeys);
	c->shutdown.unready_delay_ms =
		(uint32_t)kg_get_int(v, s, "unready_delay_ms", "$.shutdown", 0, 600000, 0, 0);
	c->shutdown.drain_timeout_ms =
		(uint32_t)kg_get_int(v, s, "drain_timeout_ms", "$.shutdown", 0, 3600000, 10000, 0);
}

void kg_config_free_ops(struct kg_config *c)
{
	free(c->admin.bind_host);
	free(c->admin.token_file);
	free(c->admin.cert_file);
	free(c->admin.key_file);
}
