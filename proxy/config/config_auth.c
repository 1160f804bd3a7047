/* config_auth.c - listen.auth: how clients authenticate. */
#define _GNU_SOURCE
#include "config/config_util.h"
#include "config/config.h"
#include "auth/sasl.h"

#include <stdlib.h>
#include <string.h>

static void load_mechanisms(struct vctx *v, struct kg_auth_cfg *a, json_t *o)
{
	json_t *m = json_object_get(o, "mechanisms");
	static const char *const dflt[] = { "SCRAM-SHA-512", "SCRAM-SHA-256" };
	size_t n = m ? json_array_size(m) : 2;
	if (m && (!json_is_array(m) || n == 0)) {
		kg_verr(v, "$.listen.auth.mechanisms",
			"must be a non-empty array of SCRAM-SHA-256, SCRAM-SHA-512, PLAIN");
		return;
	}
	a->mech_list = calloc(n, sizeof(char *));
	a->mechanism_names = calloc(1, n * 16);
	for (size_t i = 0; i < n; i++) {
		json_t *e = m ? json_array_get(m, i) : NULL;
		const char *name = m ? json_string_value(e) : dflt[i];
		int mech = name ? kg_sasl_mech_parse(name) : -1;
		if (mech < 0) {
			char p[64];
			snprintf(p, sizeof(p), "$.listen.auth.mechanisms[%zu]", i);
			kg_verr(v, p, "must be one of SCRAM-SHA-256, SCRAM-SHA-512, PLAIN");
			return;
		}
		if (a->mechanisms & KG_SASL_MECH_BIT(mech))
			continue;
		a->mechanisms |= KG_SASL_MECH_BIT(mech);
		a->mech_list[a->nmech++] = strdup(name);
		if (a->mechanism_names[0])
			strcat(a->mechanism_names, " ");
		strcat(a->mechanism_names, name);
	}
}

void kg_config_load_auth(struct vctx *v, struct kg_config *c, json_t *listen)
{
	struct kg_auth_cfg *a = &c->auth;
	a->failure_delay_ms = 100;
	a->max_preauth_frame_bytes = 512 * 1024;
	a->max_failures = 10;
	a->failure_window_ms = 60000;
	a->block_ms = 60000;
	a->max_address_failures = 100;
	a->login_timeout_ms = 10000;
	json_t *o = kg_get_obj(v, listen, "auth", "$.listen", 0);
	if (!o) {
		a->mode = c->tls.enabled && c->tls.client_auth == KG_CLIENT_AUTH_REQUIRED
				  ? KG_AUTH_MTLS : KG_AUTH_NONE;
		return;
	}
	static const char *const keys[] = {
		"mode", "mechanisms", "users_file", "allow_plain_without_tls",
		"session_lifetime_ms", "failure_delay_ms", "max_preauth_frame_bytes",
		"max_failures", "failure_window_ms", "block_ms", "max_address_failures",
		"scram_nonce", "login_timeout_ms", NULL
	};
	const char *jp = "$.listen.auth";
	kg_check_keys(v, o, jp, keys);
	char *mode = kg_get_str(v, o, "mode", jp, "none", 0);
	if (mode && strcmp(mode, "none") == 0)
		a->mode = KG_AUTH_NONE;
	else if (mode && strcmp(mode, "sasl") == 0)
		a->mode = KG_AUTH_SASL;
	else if (mode && strcmp(mode, "mtls") == 0)
		a->mode = KG_AUTH_MTLS;
	else
		kg_verr(v, "$.listen.auth.mode", "must be \"none\", \"sasl\" or \"mtls\"");
	free(mode);
	if (a->mode == KG_AUTH_MTLS &&
	    !(c->tls.enabled && c->tls.client_auth == KG_CLIENT_AUTH_REQUIRED))
		kg_verr(v, "$.listen.auth.mode",
			"\"mtls\" needs listen.tls with client_auth \"required\"");
	json_t *apwt = json_object_get(o, "allow_plain_without_tls");
	if (apwt && !json_is_boolean(apwt))
		kg_verr(v, "$.listen.auth.allow_plain_without_tls", "must be true or false");
	a->allow_plain_without_tls = apwt && json_is_true(apwt);
	a->session_lifetime_ms = (uint32_t)kg_get_int(v, o, "session_lifetime_ms", jp, 0,
						      INT32_MAX, 0, 0);
	a->failure_delay_ms = (uint32_t)kg_get_int(v, o, "failure_delay_ms", jp, 0, 60000,
						   100, 0);
	/* From accept (TLS handshake included) to authenticated: a slow login
	 * must not hold a connection slot (the idle timer restarts on every
	 * byte, this does not). */
	a->login_timeout_ms = (uint32_t)kg_get_int(v, o, "login_timeout_ms", jp, 100, 3600000,
						   10000, 0);
	if (a->login_timeout_ms <= a->failure_delay_ms)
		kg_verr(v, "$.listen.auth.login_timeout_ms", "must be more than failure_delay_ms");
	a->max_preauth_frame_bytes = (uint32_t)kg_get_int(v, o, "max_preauth_frame_bytes", jp,
							  1024, 16 << 20, 512 * 1024, 0);
	a->max_failures = (uint32_t)kg_get_int(v, o, "max_failures", jp, 0, 1000000, 10, 0);
	a->failure_window_ms = (uint32_t)kg_get_int(v, o, "failure_window_ms", jp, 1000,
						    86400000, 60000, 0);
	a->block_ms = (uint32_t)kg_get_int(v, o, "block_ms", jp, 1000, 86400000, 60000, 0);
	/* One address trying many names (spraying) is capped too, higher:
	 * many honest users share an address behind a NAT or a pod network. */
	uint64_t addr_default = (uint64_t)a->max_failures * 10;
	a->max_address_failures = (uint32_t)kg_get_int(v, o, "max_address_failures", jp, 0,
						       10000000, addr_default > 10000000
						       ? 10000000 : (int64_t)addr_default, 0);
	if (a->max_address_failures && a->max_address_failures < a->max_failures)
		kg_verr(v, "$.listen.auth.max_address_failures",
			"must be 0 or at least max_failures");
	/* What a SCRAM client-final's nonce must be: "exact" (RFC 5802, as Kafka
	 * 4.x checks) or "suffix" (ends with the server's nonce, as Kafka
	 * 3.8.1-3.9 accepted: librdkafka before 2.6.1 needs it). */
	char *nonce = kg_get_str(v, o, "scram_nonce", jp, "exact", 0);
	if (nonce && strcmp(nonce, "suffix") == 0)
		a->scram_nonce_suffix = true;
	else if (!nonce || strcmp(nonce, "exact") != 0)
		kg_verr(v, "$.listen.auth.scram_nonce", "must be \"exact\" or \"suffix\"");
	free(nonce);
	if (a->mode != KG_AUTH_SASL)
		return;
	load_mechanisms(v, a, o);
	/* Read (and its mode checked) by kg_users_load at start and by check. */
	a->users_file = kg_get_str(v, o, "users_file", jp, NULL, 1);
	if ((a->mechanisms & KG_SASL_MECH_BIT(KG_SASL_PLAIN)) && !c->tls.enabled &&
	    !a->allow_plain_without_tls)
		kg_verr(v, "$.listen.auth.mechanisms",
			"PLAIN sends the password in clear without listen.tls; "
			"set allow_plain_without_tls to allow it anyway");
}

void kg_config_free_auth(struct kg_config *c)
{
	struct kg_auth_cfg *a = &c->auth;
	for (size_t i = 0; i < a->nmech; i++)
		free(a->mech_list[i]);
	free(a->mech_list);
	free(a->mechanism_names);
	free(a->users_file);
}
