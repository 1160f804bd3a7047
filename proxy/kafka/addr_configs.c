/* addr_configs.c - broker configs that hold addresses (see addr_configs.h). */
#include "kafka/addr_configs.h"

#include <string.h>

bool kc_config_holds_addresses(const char *name, size_t len)
{
	static const char *const names[] = {
		"listeners",                           /* host:port each listener binds */
		"advertised.listeners",                /* what clients are told */
		"controller.quorum.voters",            /* id@host:port of controllers */
		"controller.quorum.bootstrap.servers", /* KIP-853 */
		"zookeeper.connect",                   /* ZooKeeper mode */
		NULL
	};
	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return true;
	return false;
}
