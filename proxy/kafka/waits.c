/* waits.c - broker-side waits of requests (see waits.h). */
#include "kafka/waits.h"
#include "kafka/codec.h"
#include "kafka/fields_gen.h"

#include <stddef.h>

/* The field holding the wait, per API (a switch: this runs for every
 * request). JoinGroup v0 has no rebalance timeout: the broker uses the
 * session timeout for it. */
static enum kc_field_handle wait_field(int16_t api_key, const struct kc_obj *req)
{
	switch (api_key) {
	case KC_API_PRODUCE: return KCF_ProduceRequest_TimeoutMs;
	case KC_API_FETCH: return KCF_FetchRequest_MaxWaitMs;
	case KC_API_SHARE_FETCH: return KCF_ShareFetchRequest_MaxWaitMs;
	case KC_API_JOIN_GROUP:
		return kc_at((struct kc_obj *)req, KCF_JoinGroupRequest_RebalanceTimeoutMs)
			       ? KCF_JoinGroupRequest_RebalanceTimeoutMs
			       : KCF_JoinGroupRequest_SessionTimeoutMs;
	case KC_API_LIST_OFFSETS: return KCF_ListOffsetsRequest_TimeoutMs;
	case KC_API_CREATE_TOPICS: return KCF_CreateTopicsRequest_timeoutMs;
	case KC_API_DELETE_TOPICS: return KCF_DeleteTopicsRequest_TimeoutMs;
	case KC_API_CREATE_PARTITIONS: return KCF_CreatePartitionsRequest_TimeoutMs;
	case KC_API_DELETE_RECORDS: return KCF_DeleteRecordsRequest_TimeoutMs;
	case KC_API_ELECT_LEADERS: return KCF_ElectLeadersRequest_TimeoutMs;
	case KC_API_ALTER_PARTITION_REASSIGNMENTS:
		return KCF_AlterPartitionReassignmentsRequest_TimeoutMs;
	case KC_API_LIST_PARTITION_REASSIGNMENTS:
		return KCF_ListPartitionReassignmentsRequest_TimeoutMs;
	default: return KCF_NONE;
	}
}

uint32_t kc_request_wait_ms(int16_t api_key, int16_t version, const struct kc_obj *req)
{
	(void)version;                 /* a field absent in a version is not in req */
	enum kc_field_handle f = wait_field(api_key, req);
	const struct kc_value *v = f == KCF_NONE ? NULL : kc_at((struct kc_obj *)req, f);
	if (!v || v->u.i <= 0)
		return 0;
	return v->u.i > INT32_MAX ? INT32_MAX : (uint32_t)v->u.i;
}
