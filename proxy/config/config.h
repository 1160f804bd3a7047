/* config.h - load and validate the JSON configuration. */
#ifndef KG_CONFIG_H
#define KG_CONFIG_H

#include <stdbool.h>
#include <sys/socket.h>

#include "config/config-t.h"

/* Loads and validates path. On error returns NULL and writes one message
 * naming the file, the JSON path and the problem into err. */
struct kg_config *kg_config_load(const char *path, char *err, size_t errlen);
void kg_config_free(struct kg_config *c);

/* Whether a broker host (name or address literal, len bytes) is within
 * upstream.allowed_hosts by name (config_hosts.c). */
bool kg_config_host_allowed(const struct kg_config *c, const char *host, size_t len);
/* Whether a resolved address is within one of its networks. */
bool kg_config_addr_allowed(const struct kg_config *c, const struct sockaddr *sa);
/* External (advertised) and bound address of broker node_id.
 * Returns -1 when the node has no valid port (out of range). */
int kg_config_broker_addr(const struct kg_config *c, int32_t node_id,
			  const char **adv_host, uint16_t *adv_port,
			  uint16_t *bind_port);

/* SNI port: which route a TLS server name asks for. Sets *node to -1 for
 * the bootstrap name or to the broker id; -1 when the name is unknown. */
int kg_config_sni_route(const struct kg_sni_cfg *s, const char *name, int32_t *node);
/* SNI name advertised for a broker: prefix + id + suffix into buf. */
int kg_config_sni_host(const struct kg_sni_cfg *s, int32_t node_id, char *buf,
		       size_t len);

#endif
