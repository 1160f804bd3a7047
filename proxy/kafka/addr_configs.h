/* addr_configs.h - broker configuration entries whose values are broker,
 * controller or ZooKeeper addresses. The gateway hides them in
 * DescribeConfigs (clients never learn a broker's real address) and
 * refuses to change them (the brokers' advertised addresses decide where
 * the gateway connects). */
#ifndef KG_KAFKA_ADDR_CONFIGS_H
#define KG_KAFKA_ADDR_CONFIGS_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the config named name[0..len) holds addresses. */
bool kc_config_holds_addresses(const char *name, size_t len);

#endif
