/* config_limits.c - the "limits" section: frame and buffer sizes, time
 * limits, and how many connections the gateway admits (in total, per client
 * address, and before authentication; see loop/admit.c). */
#define _GNU_SOURCE
#include "config/config.h"
#include "config/config_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {"10.1.0.0/16": 5000, "192.0.2.7": 200} */
static void load_overrides(struct vctx *v, struct kg_config *c, json_t *o)
{
	const char *jp = "$.limits.max_connections_per_address_overrides";
	if (!o)
		return;
	if (!json_is_object(o)) {
		kg_verr(v, jp, "must be an object of \"address or CIDR\": connections");
		return;
	}
	c->address_limits = calloc(json_object_size(o) + 1, sizeof(*c->address_limits));
	if (!c->address_limits) {
		kg_verr(v, jp, "out of memory");
		return;
	}
	const char *key;
	json_t *val;
	json_object_foreach(o, key, val) {
		char path[512], err[160];
		snprintf(path, sizeof(path), "%s[\"%.200s\"]", jp, key);
		struct kg_address_limit *l = &c->address_limits[c->naddress_limits];
		if (kg_net_range_parse(key, &l->net, err, sizeof(err)) < 0) {
			kg_verr(v, path, "%s", err);
			return;
		}
		if (!json_is_integer(val) || json_integer_value(val) < 1 ||
		    json_integer_value(val) > 1000000) {
			kg_verr(v, path, "must be an integer in 1..1000000");
			return;
		}
		l->max = (uint32_t)json_integer_value(val);
		c->naddress_limits++;
	}
}

void kg_config_load_limits(struct vctx *v, struct kg_config *c, json_t *l)
{
	static const char *const keys[] = {
		"max_frame_bytes", "max_response_bytes", "buffer_bytes", "idle_timeout_ms",
		"max_inflight", "max_connections", "max_connections_per_address",
		"max_connections_per_address_overrides", "max_unauthenticated_connections",
		"max_unauthenticated_per_address", NULL
	};
	const char *jp = "$.limits";
	if (l)
		kg_check_keys(v, l, jp, keys);
	c->max_frame_bytes = (uint32_t)kg_get_int(v, l, "max_frame_bytes", jp, 1024,
					       1 << 30, 100 << 20, 0);
	c->max_response_bytes = (uint32_t)kg_get_int(v, l, "max_response_bytes", jp, 1024,
						  1 << 30, 256 << 20, 0);
	c->buffer_bytes = (uint32_t)kg_get_int(v, l, "buffer_bytes", jp, 4096, 64 << 20,
					    256 << 10, 0);
	c->idle_timeout_ms = (uint32_t)kg_get_int(v, l, "idle_timeout_ms", jp, 1000,
					       86400000, 600000, 0);
	c->max_inflight = (uint32_t)kg_get_int(v, l, "max_inflight", jp, 1, 65536, 1024, 0);
	c->max_connections = (uint32_t)kg_get_int(v, l, "max_connections", jp, 1, 1000000,
					       10000, 0);
	/* As a broker's max.connections.per.ip: no limit unless asked. */
	c->max_connections_per_address = (uint32_t)kg_get_int(
		v, l, "max_connections_per_address", jp, 0, 1000000, 0, 0);
	load_overrides(v, c, l ? json_object_get(l, "max_connections_per_address_overrides")
			      : NULL);
	/* Connections still logging in cannot take the capacity of those that
	 * did: they have their own, smaller share, and one address only a
	 * part of that. */
	c->max_unauthenticated = (uint32_t)kg_get_int(v, l, "max_unauthenticated_connections",
						      jp, 1, 1000000, 1000, 0);
	c->max_unauthenticated_per_address = (uint32_t)kg_get_int(
		v, l, "max_unauthenticated_per_address", jp, 1, 1000000, 100, 0);
}

void kg_config_free_limits(struct kg_config *c)
{
	free(c->address_limits);
	c->address_limits = NULL;
	c->naddress_limits = 0;
}
