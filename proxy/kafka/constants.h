/* constants.h - Kafka protocol values that are not error codes or API
 * keys (those are kafka/errors.h and kafka/fields_gen.h). */
#ifndef KG_KAFKA_CONSTANTS_H
#define KG_KAFKA_CONSTANTS_H

/* ConfigResource.Type of Describe/Alter/IncrementalAlterConfigs. */
enum kc_config_resource {
	KC_CONFIG_TOPIC = 2,
	KC_CONFIG_BROKER = 4,
	KC_CONFIG_BROKER_LOGGER = 8,
	KC_CONFIG_CLIENT_METRICS = 16,
	KC_CONFIG_GROUP = 32
};

/* FindCoordinator KeyType. */
enum kc_coordinator_type {
	KC_COORDINATOR_GROUP = 0,
	KC_COORDINATOR_TRANSACTION = 1,
	KC_COORDINATOR_SHARE = 2
};

#endif
