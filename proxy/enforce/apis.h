/* apis.h - which Kafka APIs clients may use through the gateway, and up to
 * which version. Anything not listed is refused and hidden from
 * ApiVersions (fail closed). */
#ifndef KG_APIS_H
#define KG_APIS_H

#include <stdbool.h>
#include <stdint.h>

/* Known to the codec, allowed for clients, and version within the codec's
 * range and the gateway's own cap. */
bool kg_api_allowed(int16_t api_key, int16_t version);
/* Highest version the gateway lets clients use (codec max, capped). -1 if
 * the api is not allowed at all. */
int16_t kg_api_max_version(int16_t api_key);
int16_t kg_api_min_version(int16_t api_key);
const char *kg_api_name(int16_t api_key);

#endif
