/* apis.c - the client-facing API allowlist.
 *
 * Only APIs a Kafka client sends to a broker listener are forwarded.
 * Inter-broker and controller APIs, the SASL APIs (the gateway's own
 * business), and the broker's ACL, SCRAM-credential and delegation-token
 * admin APIs (security state the gateway must own) are refused, as is
 * DescribeQuorum, whose answer lists controller endpoints. Share-group and
 * streams-group APIs (KIP-932, KIP-1071) are not offered yet: they have no
 * authorization rule in authz_apis.c.
 */
#include "enforce/apis.h"
#include "enforce/authz_apis.h"
#include "kafka/codec.h"

#include <stddef.h>

/* One allowed API and the versions the gateway lets through. */
struct api_rule {
	int16_t key;                   /* api key */
	int16_t max;                   /* gateway cap; -1: the codec's max */
	int16_t min;                   /* gateway floor; 0: the codec's min */
};

static const struct api_rule rules[] = {
	{ 0, -1, 0 },   /* Produce */
	{ 1, -1, 0 },   /* Fetch */
	{ 2, -1, 0 },   /* ListOffsets */
	{ 3, -1, 4 },   /* Metadata: v0-3 cannot turn auto-creation off, which
	                   the gateway needs for principals without CREATE */
	{ 8, -1, 0 },   /* OffsetCommit */
	{ 9, -1, 0 },   /* OffsetFetch */
	{ 10, -1, 0 },  /* FindCoordinator */
	{ 11, -1, 0 },  /* JoinGroup */
	{ 12, -1, 0 },  /* Heartbeat */
	{ 13, -1, 0 },  /* LeaveGroup */
	{ 14, -1, 0 },  /* SyncGroup */
	{ 15, -1, 0 },  /* DescribeGroups */
	{ 16, -1, 0 },  /* ListGroups */
	{ 18, -1, 0 },  /* ApiVersions */
	{ 19, -1, 0 },  /* CreateTopics */
	{ 20, -1, 0 },  /* DeleteTopics */
	{ 21, -1, 0 },  /* DeleteRecords */
	{ 22, -1, 0 },  /* InitProducerId */
	{ 23, -1, 0 },  /* OffsetForLeaderEpoch */
	{ 24, 3, 0 },   /* AddPartitionsToTxn: v4+ is broker-to-broker (KIP-890) */
	{ 25, -1, 0 },  /* AddOffsetsToTxn */
	{ 26, -1, 0 },  /* EndTxn */
	{ 28, -1, 0 },  /* TxnOffsetCommit */
	{ 32, -1, 0 },  /* DescribeConfigs */
	{ 33, -1, 0 },  /* AlterConfigs */
	{ 34, -1, 0 },  /* AlterReplicaLogDirs */
	{ 35, -1, 0 },  /* DescribeLogDirs */
	{ 37, -1, 0 },  /* CreatePartitions */
	{ 42, -1, 0 },  /* DeleteGroups */
	{ 43, -1, 0 },  /* ElectLeaders */
	{ 44, -1, 0 },  /* IncrementalAlterConfigs */
	{ 45, -1, 0 },  /* AlterPartitionReassignments */
	{ 46, -1, 0 },  /* ListPartitionReassignments */
	{ 47, -1, 0 },  /* OffsetDelete */
	{ 48, -1, 0 },  /* DescribeClientQuotas */
	{ 49, -1, 0 },  /* AlterClientQuotas */
	{ 57, -1, 0 },  /* UpdateFeatures */
	{ 60, -1, 0 },  /* DescribeCluster */
	{ 61, -1, 0 },  /* DescribeProducers */
	{ 65, -1, 0 },  /* DescribeTransactions */
	{ 66, -1, 0 },  /* ListTransactions */
	{ 68, -1, 0 },  /* ConsumerGroupHeartbeat */
	{ 69, -1, 0 },  /* ConsumerGroupDescribe */
	{ 71, -1, 0 },  /* GetTelemetrySubscriptions */
	{ 72, -1, 0 },  /* PushTelemetry */
	{ 74, -1, 0 },  /* ListConfigResources (ListClientMetricsResources) */
	{ 75, -1, 0 },  /* DescribeTopicPartitions */
};

static const struct api_rule *rule_find(int16_t key)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i].key == key)
			return &rules[i];
	return NULL;
}

int16_t kg_api_max_version(int16_t api_key)
{
	const struct api_rule *r = rule_find(api_key);
	const struct kc_api *a = kc_api_find(api_key);
	/* Fail closed: an API nobody wrote an authorization rule for is not
	 * offered, whatever the list above says. */
	if (!r || !a || !a->request || !a->response || !kg_authz_api_has_rule(api_key))
		return -1;
	int16_t max = a->request->valid.max;
	if (a->response->valid.max < max)
		max = a->response->valid.max;
	if (r->max >= 0 && r->max < max)
		max = r->max;
	return max;
}

int16_t kg_api_min_version(int16_t api_key)
{
	const struct kc_api *a = kc_api_find(api_key);
	const struct api_rule *r = rule_find(api_key);
	if (!a || !a->request || !a->response)
		return -1;
	int16_t min = a->request->valid.min > a->response->valid.min ? a->request->valid.min
								     : a->response->valid.min;
	return r && r->min > min ? r->min : min;
}

bool kg_api_allowed(int16_t api_key, int16_t version)
{
	int16_t max = kg_api_max_version(api_key);
	return max >= 0 && version >= kg_api_min_version(api_key) && version <= max;
}

const char *kg_api_name(int16_t api_key)
{
	const struct kc_api *a = kc_api_find(api_key);
	return a ? a->name : "unknown";
}
