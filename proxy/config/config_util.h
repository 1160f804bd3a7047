/* config_util.h - helpers for validating JSON configuration. */
#ifndef KG_CONFIG_UTIL_H
#define KG_CONFIG_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Validation context: where we are and where errors go. */
struct vctx {
	const char *file;              /* config file path */
	char *err;                     /* caller's error buffer */
	size_t errlen;                 /* its size */
	int failed;                    /* set once the first error is written */
};

/* Records the first error as "<file>: <jpath>: <message>". */
void kg_verr(struct vctx *v, const char *jpath, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Rejects keys of obj that are not in allowed (NULL-terminated). */
void kg_check_keys(struct vctx *v, json_t *obj, const char *jpath,
		   const char *const *allowed);
json_t *kg_get_obj(struct vctx *v, json_t *parent, const char *key,
		   const char *jpath, int required);
int64_t kg_get_int(struct vctx *v, json_t *obj, const char *key,
		   const char *jpath, int64_t min, int64_t max, int64_t dflt,
		   int required);
/* A malloc'd copy of a non-empty string (dflt copied when absent). */
char *kg_get_str(struct vctx *v, json_t *obj, const char *key,
		 const char *jpath, const char *dflt, int required);

struct kg_config;
/* listen.tls, listen.sni and upstream.tls (config_tls.c). */
void kg_config_load_tls(struct vctx *v, struct kg_config *c, json_t *listen,
			json_t *upstream);
void kg_config_free_tls(struct kg_config *c);
/* listen.auth (config_auth.c). */
void kg_config_load_auth(struct vctx *v, struct kg_config *c, json_t *listen);
void kg_config_free_auth(struct kg_config *c);
/* upstream.allowed_hosts (config_hosts.c); after the bootstrap servers. */
void kg_config_load_allowed_hosts(struct vctx *v, struct kg_config *c, json_t *upstream);
void kg_config_free_allowed_hosts(struct kg_config *c);
/* limits (config_limits.c). */
void kg_config_load_limits(struct vctx *v, struct kg_config *c, json_t *limits);
void kg_config_free_limits(struct kg_config *c);
/* audit (config_audit.c). */
void kg_config_load_audit(struct vctx *v, struct kg_config *c, json_t *root);
void kg_config_free_audit(struct kg_config *c);
/* log_format, admin and shutdown (config_ops.c). */
void kg_config_load_ops(struct vctx *v, struct kg_config *c, json_t *root);
void kg_config_free_ops(struct kg_config *c);

#endif
