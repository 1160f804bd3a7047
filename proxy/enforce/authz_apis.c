/* authz_apis.c - the resource, operation and error code of every API the
 * gateway lets through, after ../shared/reference/kafka-authz.md section 2
 * (Kafka's KafkaApis / ControllerApis checks).
 *
 * "Whole" checks refuse the request with one code (the broker's
 * getErrorResponse); "item" checks split it (authz_core.c). An API without
 * a case here is refused by apis.c before it gets this far, and one that
 * does get here without a case is refused too: fail closed. Fields are
 * named by their generated handles (kafka/fields_gen.h).
 */
#include "enforce/authz_apis.h"
#include "acl/policy.h"
#include "enforce/authz_core.h"
#include "enforce/group_regex.h"
#include "kafka/addr_configs.h"
#include "kafka/codec.h"
#include "kafka/constants.h"
#include "kafka/errors.h"

#include <string.h>

#define TOPIC_AUTHZ KERR_TOPIC_AUTHORIZATION_FAILED
#define GROUP_AUTHZ KERR_GROUP_AUTHORIZATION_FAILED
#define CLUSTER_AUTHZ KERR_CLUSTER_AUTHORIZATION_FAILED
#define TXN_AUTHZ KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED


/* ---- building blocks ---- */

/* The item check configured in x->it. */
static int16_t item_check(struct authz_ctx *x, struct kc_value *v)
{
	const char *p;
	size_t n;
	if (x->it.field == KCF_NONE) {
		if (!authz_str(v, &p, &n))
			return KERR_INVALID_REQUEST;
	} else {
		int16_t e = x->it.res == KG_RES_TOPIC
			? authz_topic_name(x, v->u.obj, x->it.field, &p, &n)
			: (authz_field_str(v->u.obj, x->it.field, &p, &n) ? 0 : KERR_INVALID_REQUEST);
		if (e)
			return e;
	}
	return authz_check(x, x->it.res, p, n, x->it.op) ? 0 : x->it.err;
}

/* Splits array `field` with one resource/operation/error for all items. */
static int split(struct authz_ctx *x, enum kc_field_handle field, enum kc_field_handle name_field,
		 enum kg_res res, enum kg_op op, int16_t err)
{
	x->it.res = res;
	x->it.op = op;
	x->it.field = name_field;
	x->it.err = err;
	return authz_split(x, field, item_check);
}

/* Per-item API: split, and answer locally when nothing is left. */
static void items(struct authz_ctx *x, enum kc_field_handle field,
		  enum kc_field_handle name_field, enum kg_res res, enum kg_op op, int16_t err)
{
	int kept = split(x, field, name_field, res, op, err);
	if (kept < 0) {
		x->out->verdict = KG_AUTHZ_CLOSE;
		x->out->reason = "cannot build an authorization error response";
		return;
	}
	authz_local_if_empty(x, kept);
}

/* Whole-request check on the resource named by a top-level field. A null
 * name (e.g. no transactional id) is checked as the empty name. */
static bool whole(struct authz_ctx *x, enum kc_field_handle field, enum kg_res res,
		  enum kg_op op, int16_t err)
{
	const char *p = NULL;
	size_t n = 0;
	if (field != KCF_NONE)
		authz_field_str(x->req, field, &p, &n);
	if (authz_check(x, res, p, n, op))
		return true;
	authz_deny_all(x, err);
	return false;
}

static bool cluster(struct authz_ctx *x, enum kg_op op)
{
	return whole(x, KCF_NONE, KG_RES_CLUSTER, op, CLUSTER_AUTHZ);
}

static bool cluster_allows(struct authz_ctx *x, enum kg_op op)
{
	return authz_check(x, KG_RES_CLUSTER, NULL, 0, op);
}

/* ---- APIs with their own rules ---- */

/* Attributes of the first record batch: bit 4 = transactional. */
static bool batch_transactional(struct kc_value *records)
{
	if (!records || !records->present || records->u.b.len < 23)
		return false;
	const uint8_t *b = records->u.b.p;
	return b[16] == 2 && (b[22] & 0x10);
}

static void produce(struct authz_ctx *x)
{
	struct kc_value *topics = kc_at(x->req, KCF_ProduceRequest_TopicData);
	struct kc_value *acks = kc_at(x->req, KCF_ProduceRequest_Acks);
	bool txn = false;
	for (int32_t i = 0; topics && i < topics->u.arr.n && !txn; i++) {
		struct kc_value *parts = kc_at(topics->u.arr.v[i].u.obj,
					       KCF_ProduceRequest_TopicData_PartitionData);
		for (int32_t j = 0; parts && j < parts->u.arr.n && !txn; j++)
			txn = batch_transactional(kc_at(parts->u.arr.v[j].u.obj,
						KCF_ProduceRequest_TopicData_PartitionData_Records));
	}
	const char *tid;
	size_t tn;
	if (txn && (!authz_field_str(x->req, KCF_ProduceRequest_TransactionalId, &tid, &tn) ||
		    !authz_check(x, KG_RES_TXN, tid, tn, KG_OP_WRITE)))
		authz_deny_all(x, TXN_AUTHZ);
	else
		items(x, KCF_ProduceRequest_TopicData, KCF_ProduceRequest_TopicData_Name,
		      KG_RES_TOPIC, KG_OP_WRITE, TOPIC_AUTHZ);
	/* A broker answers a failed acks=0 produce by closing. */
	if (acks && acks->u.i == 0 && (x->out->verdict != KG_AUTHZ_FORWARD || x->out->merge)) {
		x->out->verdict = KG_AUTHZ_CLOSE;
		x->out->reason = "acks=0 produce refused by authorization";
	}
}

static void fetch(struct authz_ctx *x)
{
	struct kc_value *rid = kc_at(x->req, KCF_FetchRequest_ReplicaId);
	struct kc_value *rs = kc_at(x->req, KCF_FetchRequest_ReplicaState);
	if (rs && rs->u.obj)
		rid = kc_at(rs->u.obj, KCF_FetchRequest_ReplicaState_ReplicaId);
	if (rid && rid->u.i >= 0 && !cluster_allows(x, KG_OP_CLUSTER_ACTION)) {
		authz_deny_all(x, TOPIC_AUTHZ);
		return;
	}
	/* Fetch sessions are never created through the gateway: a broker
	 * re-authorizes a session's cached partitions on every request, and
	 * the gateway can only do that if every request names them all. */
	struct kc_value *sid = kc_at(x->req, KCF_FetchRequest_SessionId);
	struct kc_value *sep = kc_at(x->req, KCF_FetchRequest_SessionEpoch);
	if (sid && sep && (sid->u.i != 0 || sep->u.i != -1)) {
		sid->u.i = 0;
		sep->u.i = -1;
		x->modified = true;
	}
	struct kc_value *forgotten = kc_at(x->req, KCF_FetchRequest_ForgottenTopicsData);
	if (forgotten && forgotten->u.arr.n > 0) {
		forgotten->u.arr.n = 0;   /* meaningless without a session */
		x->modified = true;
	}
	items(x, KCF_FetchRequest_Topics, KCF_FetchRequest_Topics_Topic, KG_RES_TOPIC, KG_OP_READ,
	      TOPIC_AUTHZ);
}

/* Metadata: named topics need DESCRIBE (else 29); auto-creation needs
 * CREATE on the topic or the cluster; an all-topics request is filtered
 * in the response. */
static bool id_zero(const uint8_t id[16])
{
	for (int i = 0; i < 16; i++)
		if (id[i])
			return false;
	return true;
}

/* A broker answers a Metadata request naming any topic by id for the ids
 * only (names beside them are ignored): so does the gateway, before it
 * splits, so that a hidden id is answered 29 alone, as a broker would. */
static void metadata_ids_only(struct authz_ctx *x, struct kc_value *topics)
{
	bool any_id = false;
	for (int32_t i = 0; i < topics->u.arr.n && !any_id; i++) {
		struct kc_value *id = kc_at(topics->u.arr.v[i].u.obj, KCF_MetadataRequest_Topics_TopicId);
		any_id = id && !id_zero(id->u.uuid);
	}
	if (!any_id)
		return;
	x->out->post |= KG_POST_BY_ID;
	int32_t k = 0;
	for (int32_t i = 0; i < topics->u.arr.n; i++) {
		struct kc_value *id = kc_at(topics->u.arr.v[i].u.obj, KCF_MetadataRequest_Topics_TopicId);
		if (id && !id_zero(id->u.uuid))
			topics->u.arr.v[k++] = topics->u.arr.v[i];
	}
	if (k != topics->u.arr.n) {
		topics->u.arr.n = k;
		x->modified = true;
	}
}

static void metadata(struct authz_ctx *x)
{
	struct kc_value *topics = kc_at(x->req, KCF_MetadataRequest_Topics);
	if (!topics || topics->u.arr.n < 0 || (x->ver == 0 && topics->u.arr.n == 0)) {
		x->out->post |= KG_POST_FILTER | KG_POST_ALL_TOPICS;
		return;
	}
	x->out->post |= KG_POST_FILTER;
	metadata_ids_only(x, topics);
	if (split(x, KCF_MetadataRequest_Topics, KCF_MetadataRequest_Topics_Name, KG_RES_TOPIC,
		  KG_OP_DESCRIBE, TOPIC_AUTHZ) < 0) {
		x->out->verdict = KG_AUTHZ_CLOSE;
		x->out->reason = "cannot build an authorization error response";
		return;
	}
	struct kc_value *autoc = kc_at(x->req, KCF_MetadataRequest_AllowAutoTopicCreation);
	if (!autoc || !autoc->u.i || cluster_allows(x, KG_OP_CREATE))
		return;
	topics = kc_at(x->req, KCF_MetadataRequest_Topics);
	for (int32_t i = 0; i < topics->u.arr.n; i++) {
		const char *p;
		size_t n;
		if (authz_field_str(topics->u.arr.v[i].u.obj, KCF_MetadataRequest_Topics_Name, &p, &n) &&
		    !authz_check(x, KG_RES_TOPIC, p, n, KG_OP_CREATE)) {
			/* One topic may not be created: none is, and its
			 * UNKNOWN_TOPIC_OR_PARTITION is reported as 29. */
			autoc->u.i = 0;
			x->modified = true;
			x->out->post |= KG_POST_AUTOCREATE;
			return;
		}
	}
}

static void offset_fetch(struct authz_ctx *x)
{
	x->out->post |= KG_POST_FILTER;
	struct kc_value *t = kc_at(x->req, KCF_OffsetFetchRequest_Topics);
	struct kc_value *g = kc_at(x->req, KCF_OffsetFetchRequest_Groups);
	if (t && t->u.arr.n < 0)
		x->out->post |= KG_POST_ALL_TOPICS;
	for (int32_t i = 0; g && i < g->u.arr.n; i++) {
		struct kc_value *gt = kc_at(g->u.arr.v[i].u.obj, KCF_OffsetFetchRequest_Groups_Topics);
		if (gt && gt->u.arr.n < 0)
			x->out->post |= KG_POST_ALL_TOPICS;
	}
	if (x->ver >= 8) {
		int kept = split(x, KCF_OffsetFetchRequest_Groups, KCF_OffsetFetchRequest_Groups_GroupId,
				 KG_RES_GROUP, KG_OP_DESCRIBE, GROUP_AUTHZ);
		if (kept < 0) {
			x->out->verdict = KG_AUTHZ_CLOSE;
			x->out->reason = "cannot build an authorization error response";
			return;
		}
		authz_local_if_empty(x, kept);
		return;   /* topics of allowed groups: masked in the response */
	}
	whole(x, KCF_OffsetFetchRequest_GroupId, KG_RES_GROUP, KG_OP_DESCRIBE, GROUP_AUTHZ);
}

static void find_coordinator(struct authz_ctx *x)
{
	struct kc_value *kt = kc_at(x->req, KCF_FindCoordinatorRequest_KeyType);
	int64_t type = kt ? kt->u.i : 0;
	if (type == KC_COORDINATOR_SHARE) {   /* broker-internal */
		cluster(x, KG_OP_CLUSTER_ACTION);
		return;
	}
	enum kg_res res = type == KC_COORDINATOR_TRANSACTION ? KG_RES_TXN : KG_RES_GROUP;
	int16_t err = type == KC_COORDINATOR_TRANSACTION ? TXN_AUTHZ : GROUP_AUTHZ;
	if (type != KC_COORDINATOR_GROUP && type != KC_COORDINATOR_TRANSACTION) {
		authz_deny_all(x, KERR_INVALID_REQUEST);
		return;
	}
	if (x->ver >= 4)
		items(x, KCF_FindCoordinatorRequest_CoordinatorKeys, KCF_NONE, res, KG_OP_DESCRIBE,
		      err);
	else
		whole(x, KCF_FindCoordinatorRequest_Key, res, KG_OP_DESCRIBE, err);
}

static void init_producer_id(struct authz_ctx *x)
{
	const char *tid;
	size_t tn;
	if (authz_field_str(x->req, KCF_InitProducerIdRequest_TransactionalId, &tid, &tn)) {
		whole(x, KCF_InitProducerIdRequest_TransactionalId, KG_RES_TXN, KG_OP_WRITE, TXN_AUTHZ);
		return;
	}
	/* Idempotence: IDEMPOTENT_WRITE on the cluster, or WRITE on at
	 * least one topic (Kafka's authorizeByResourceType). */
	if (cluster_allows(x, KG_OP_IDEMPOTENT_WRITE))
		return;
	struct kg_acl_subject *s = authz_subject(x->z);
	if (s && kg_acl_any_allowed(s, KG_RES_TOPIC, KG_OP_WRITE))
		return;
	authz_deny_all(x, CLUSTER_AUTHZ);
}

/* AddPartitionsToTxn v0-3: any refused topic fails the whole call. */
static void add_partitions_to_txn(struct authz_ctx *x)
{
	if (!whole(x, KCF_AddPartitionsToTxnRequest_V3AndBelowTransactionalId, KG_RES_TXN,
		   KG_OP_WRITE, TXN_AUTHZ))
		return;
	struct kc_value *topics = kc_at(x->req, KCF_AddPartitionsToTxnRequest_V3AndBelowTopics);
	int32_t n = topics ? topics->u.arr.n : 0;
	bool *bad = n > 0 ? kc_arena_alloc(x->a, (size_t)n) : NULL;
	bool any = false;
	for (int32_t i = 0; i < n && bad; i++) {
		const char *p;
		size_t len;
		bad[i] = !authz_field_str(topics->u.arr.v[i].u.obj,
					  KCF_AddPartitionsToTxnRequest_V3AndBelowTopics_Name, &p, &len) ||
			 !authz_check(x, KG_RES_TOPIC, p, len, KG_OP_WRITE);
		any |= bad[i];
	}
	if (!any)
		return;
	authz_deny_all(x, KERR_OPERATION_NOT_ATTEMPTED);
	struct kc_value *res = kc_at(x->out->local,
				     KCF_AddPartitionsToTxnResponse_ResultsByTopicV3AndBelow);
	for (int32_t i = 0; res && i < res->u.arr.n && i < n; i++)
		if (bad[i])
			authz_set_errors(res->u.arr.v[i].u.obj, TOPIC_AUTHZ);
}

/* Whether an Alter/IncrementalAlterConfigs resource sets a config that
 * holds broker addresses (kafka/addr_configs.h). */
static bool alters_addresses(struct kc_obj *resource)
{
	struct kc_value *cs = kc_find(resource, KCN_Configs);
	for (int32_t i = 0; cs && i < cs->u.arr.n; i++) {
		struct kc_value *n = kc_find(cs->u.arr.v[i].u.obj, KCN_Name);
		if (n && n->u.b.len > 0 &&
		    kc_config_holds_addresses((const char *)n->u.b.p, (size_t)n->u.b.len))
			return true;
	}
	return false;
}

static bool super_user(struct authz_ctx *x)
{
	struct kg_acl_subject *s = authz_subject(x->z);
	struct kg_acl_why why;
	return s && kg_acl_decide(s, KG_RES_TOPIC, "", 0, KG_OP_DESCRIBE, &why) &&
	       why.reason == KG_ACL_SUPER_USER;
}

/* ConsumerGroupHeartbeat (KIP-848), as a 4.x broker: group READ, then
 * every subscribed topic name DESCRIBE, else 29 and nothing more. The
 * answer's assignment is checked again (authz_resp.c). A regex
 * would be resolved by the brokers' group coordinator as the gateway's
 * own upstream identity, which may see every topic: the gateway resolves
 * it for the principal instead and sends the names (group_regex.c); a
 * super user's regex, which may see everything anyway, goes as it is. */
static void consumer_group_heartbeat(struct authz_ctx *x)
{
	if (!whole(x, KCF_ConsumerGroupHeartbeatRequest_GroupId, KG_RES_GROUP, KG_OP_READ,
		   GROUP_AUTHZ))
		return;
	struct kc_value *names = kc_at(x->req, KCF_ConsumerGroupHeartbeatRequest_SubscribedTopicNames);
	for (int32_t i = 0; names && i < names->u.arr.n; i++) {
		const char *p;
		size_t n;
		if (!authz_str(&names->u.arr.v[i], &p, &n) ||
		    !authz_check(x, KG_RES_TOPIC, p, n, KG_OP_DESCRIBE)) {
			authz_deny_all(x, TOPIC_AUTHZ);
			return;
		}
	}
	if (super_user(x))
		return;
	int16_t err = kg_group_regex_heartbeat(x);
	if (err) {
		authz_deny_all(x, err);
		return;
	}
	x->out->post |= KG_POST_FILTER;   /* the assignment (authz_resp.c) */
}

/* Describe/Alter/IncrementalAlterConfigs: the resource type decides;
 * x->it.op is the operation. */
static int16_t config_item(struct authz_ctx *x, struct kc_value *v)
{
	/* The same item in Describe/Alter/IncrementalAlterConfigs. */
	struct kc_value *type = kc_find(v->u.obj, KCN_ResourceType);
	const char *p;
	size_t n;
	if (!type || !authz_str(kc_find(v->u.obj, KCN_ResourceName), &p, &n))
		return KERR_INVALID_REQUEST;
	switch (type->u.i) {
	case KC_CONFIG_TOPIC:
		return authz_check(x, KG_RES_TOPIC, p, n, x->it.op) ? 0 : TOPIC_AUTHZ;
	case KC_CONFIG_GROUP:
		return authz_check(x, KG_RES_GROUP, p, n, x->it.op) ? 0 : GROUP_AUTHZ;
	case KC_CONFIG_BROKER:
		if (!authz_check(x, KG_RES_CLUSTER, NULL, 0, x->it.op))
			return CLUSTER_AUTHZ;
		/* The brokers' listeners decide where the gateway connects and
		 * what it tells clients: not to be changed through it. */
		return x->it.op == KG_OP_ALTER_CONFIGS && alters_addresses(v->u.obj)
			       ? KERR_POLICY_VIOLATION : 0;
	default:   /* broker logger, client metrics, unknown */
		return authz_check(x, KG_RES_CLUSTER, NULL, 0, x->it.op) ? 0
								: CLUSTER_AUTHZ;
	}
}

static void configs(struct authz_ctx *x, enum kg_op op, enum kc_field_handle field)
{
	x->it.op = op;
	int kept = authz_split(x, field, config_item);
	if (kept < 0) {
		x->out->verdict = KG_AUTHZ_CLOSE;
		x->out->reason = "cannot build an authorization error response";
		return;
	}
	authz_local_if_empty(x, kept);
}

/* DeleteTopics in KRaft: CLUSTER:DELETE, else DESCRIBE then DELETE. */
static int16_t delete_topic_item(struct authz_ctx *x, struct kc_value *v)
{
	const char *p;
	size_t n;
	int16_t e;
	if (x->ver >= 6 && !v->u.obj)
		return KERR_INVALID_REQUEST;
	if (x->ver >= 6) {
		/* A name and an id in one item: refused here, as the broker
		 * does, never forwarded on the strength of the name alone. */
		struct kc_value *nm = kc_at(v->u.obj, KCF_DeleteTopicsRequest_Topics_Name);
		struct kc_value *id = kc_at(v->u.obj, KCF_DeleteTopicsRequest_Topics_TopicId);
		if (nm && nm->u.b.len > 0 && id && !id_zero(id->u.uuid))
			return KERR_INVALID_REQUEST;
	}
	if (x->ver >= 6)
		e = authz_topic_name(x, v->u.obj, KCF_DeleteTopicsRequest_Topics_Name, &p, &n);
	else
		e = authz_str(v, &p, &n) ? 0 : KERR_INVALID_REQUEST;
	if (e)
		return e;
	if (!authz_check(x, KG_RES_TOPIC, p, n, KG_OP_DESCRIBE))
		return TOPIC_AUTHZ;   /* by id: the name stays null */
	if (!authz_check(x, KG_RES_TOPIC, p, n, KG_OP_DELETE)) {
		/* Describable: its error echoes the name, as a broker's does. */
		struct kc_value *nm = x->ver >= 6 ? kc_at(v->u.obj, KCF_DeleteTopicsRequest_Topics_Name)
						  : NULL;
		if (nm && nm->u.b.len < 0)
			kc_set_string(x->a, nm, p, n);
		return TOPIC_AUTHZ;
	}
	return 0;
}

static void delete_topics(struct authz_ctx *x)
{
	if (cluster_allows(x, KG_OP_DELETE))
		return;
	int kept = authz_split(x, x->ver >= 6 ? KCF_DeleteTopicsRequest_Topics
					      : KCF_DeleteTopicsRequest_TopicNames, delete_topic_item);
	if (kept < 0) {
		x->out->verdict = KG_AUTHZ_CLOSE;
		x->out->reason = "cannot build an authorization error response";
		return;
	}
	authz_local_if_empty(x, kept);
}

static void create_topics(struct authz_ctx *x)
{
	x->out->post |= KG_POST_FILTER;   /* configs need DESCRIBE_CONFIGS */
	if (cluster_allows(x, KG_OP_CREATE))
		return;
	items(x, KCF_CreateTopicsRequest_Topics, KCF_CreateTopicsRequest_Topics_Name, KG_RES_TOPIC,
	      KG_OP_CREATE, TOPIC_AUTHZ);
}

static void describe_log_dirs(struct authz_ctx *x)
{
	if (cluster_allows(x, KG_OP_DESCRIBE))
		return;
	authz_deny_all(x, CLUSTER_AUTHZ);
	/* v0-2 have no top-level error: an empty answer, as a broker gives. */
	if (x->out->local && x->ver < 3)
		authz_set_errors(x->out->local, 0);
}

/* ---- dispatch ---- */

void authz_apis_decide(struct authz_ctx *x)
{
	switch (x->key) {
	case KC_API_API_VERSIONS:
	case KC_API_GET_TELEMETRY_SUBSCRIPTIONS:
	case KC_API_PUSH_TELEMETRY:
		return;                       /* no check, as in a broker */
	case KC_API_PRODUCE:
		produce(x);
		return;
	case KC_API_FETCH:
		fetch(x);
		return;
	case KC_API_LIST_OFFSETS:
		items(x, KCF_ListOffsetsRequest_Topics, KCF_ListOffsetsRequest_Topics_Name,
		      KG_RES_TOPIC, KG_OP_DESCRIBE, TOPIC_AUTHZ);
		return;
	case KC_API_METADATA:
		metadata(x);
		return;
	case KC_API_OFFSET_COMMIT:
		if (whole(x, KCF_OffsetCommitRequest_GroupId, KG_RES_GROUP, KG_OP_READ, GROUP_AUTHZ))
			items(x, KCF_OffsetCommitRequest_Topics, KCF_OffsetCommitRequest_Topics_Name,
			      KG_RES_TOPIC, KG_OP_READ, TOPIC_AUTHZ);
		return;
	case KC_API_OFFSET_FETCH:
		offset_fetch(x);
		return;
	case KC_API_FIND_COORDINATOR:
		find_coordinator(x);
		return;
	case KC_API_JOIN_GROUP:
		whole(x, KCF_JoinGroupRequest_GroupId, KG_RES_GROUP, KG_OP_READ, GROUP_AUTHZ);
		return;
	case KC_API_HEARTBEAT:
		whole(x, KCF_HeartbeatRequest_GroupId, KG_RES_GROUP, KG_OP_READ, GROUP_AUTHZ);
		return;
	case KC_API_LEAVE_GROUP:
		whole(x, KCF_LeaveGroupRequest_GroupId, KG_RES_GROUP, KG_OP_READ, GROUP_AUTHZ);
		return;
	case KC_API_SYNC_GROUP:
		whole(x, KCF_SyncGroupRequest_GroupId, KG_RES_GROUP, KG_OP_READ, GROUP_AUTHZ);
		return;
	case KC_API_CONSUMER_GROUP_HEARTBEAT:
		consumer_group_heartbeat(x);
		return;
	case KC_API_DESCRIBE_GROUPS:
		x->out->post |= KG_POST_FILTER;
		items(x, KCF_DescribeGroupsRequest_Groups, KCF_NONE, KG_RES_GROUP, KG_OP_DESCRIBE,
		      GROUP_AUTHZ);
		return;
	case KC_API_CONSUMER_GROUP_DESCRIBE:
		x->out->post |= KG_POST_FILTER;
		items(x, KCF_ConsumerGroupDescribeRequest_GroupIds, KCF_NONE, KG_RES_GROUP,
		      KG_OP_DESCRIBE, GROUP_AUTHZ);
		return;
	case KC_API_LIST_GROUPS:
	case KC_API_LIST_TRANSACTIONS:
	case KC_API_DESCRIBE_CLUSTER:
		x->out->post |= KG_POST_FILTER;   /* filtered / recomputed */
		return;
	case KC_API_CREATE_TOPICS:
		create_topics(x);
		return;
	case KC_API_DELETE_TOPICS:
		delete_topics(x);
		return;
	case KC_API_DELETE_RECORDS:
		items(x, KCF_DeleteRecordsRequest_Topics, KCF_DeleteRecordsRequest_Topics_Name,
		      KG_RES_TOPIC, KG_OP_DELETE, TOPIC_AUTHZ);
		return;
	case KC_API_INIT_PRODUCER_ID:
		init_producer_id(x);
		return;
	case KC_API_OFFSET_FOR_LEADER_EPOCH:
		if (!cluster_allows(x, KG_OP_CLUSTER_ACTION))
			items(x, KCF_OffsetForLeaderEpochRequest_Topics,
			      KCF_OffsetForLeaderEpochRequest_Topics_Topic, KG_RES_TOPIC,
			      KG_OP_DESCRIBE, TOPIC_AUTHZ);
		return;
	case KC_API_ADD_PARTITIONS_TO_TXN:
		if (x->ver >= 4) {            /* broker-to-broker (KIP-890) */
			cluster(x, KG_OP_CLUSTER_ACTION);
			return;
		}
		add_partitions_to_txn(x);
		return;
	case KC_API_ADD_OFFSETS_TO_TXN:
		if (whole(x, KCF_AddOffsetsToTxnRequest_TransactionalId, KG_RES_TXN, KG_OP_WRITE,
			  TXN_AUTHZ))
			whole(x, KCF_AddOffsetsToTxnRequest_GroupId, KG_RES_GROUP, KG_OP_READ,
			      GROUP_AUTHZ);
		return;
	case KC_API_END_TXN:
		whole(x, KCF_EndTxnRequest_TransactionalId, KG_RES_TXN, KG_OP_WRITE, TXN_AUTHZ);
		return;
	case KC_API_TXN_OFFSET_COMMIT:
		if (whole(x, KCF_TxnOffsetCommitRequest_TransactionalId, KG_RES_TXN, KG_OP_WRITE,
			  TXN_AUTHZ) &&
		    whole(x, KCF_TxnOffsetCommitRequest_GroupId, KG_RES_GROUP, KG_OP_READ,
			  GROUP_AUTHZ))
			items(x, KCF_TxnOffsetCommitRequest_Topics, KCF_TxnOffsetCommitRequest_Topics_Name,
			      KG_RES_TOPIC, KG_OP_READ, TOPIC_AUTHZ);
		return;
	case KC_API_DESCRIBE_CONFIGS:
		configs(x, KG_OP_DESCRIBE_CONFIGS, KCF_DescribeConfigsRequest_Resources);
		return;
	case KC_API_ALTER_CONFIGS:
		configs(x, KG_OP_ALTER_CONFIGS, KCF_AlterConfigsRequest_Resources);
		return;
	case KC_API_INCREMENTAL_ALTER_CONFIGS:
		configs(x, KG_OP_ALTER_CONFIGS, KCF_IncrementalAlterConfigsRequest_Resources);
		return;
	case KC_API_CREATE_PARTITIONS:
		items(x, KCF_CreatePartitionsRequest_Topics, KCF_CreatePartitionsRequest_Topics_Name,
		      KG_RES_TOPIC, KG_OP_ALTER, TOPIC_AUTHZ);
		return;
	case KC_API_DELETE_GROUPS:
		items(x, KCF_DeleteGroupsRequest_GroupsNames, KCF_NONE, KG_RES_GROUP, KG_OP_DELETE,
		      GROUP_AUTHZ);
		return;
	case KC_API_OFFSET_DELETE:
		if (whole(x, KCF_OffsetDeleteRequest_GroupId, KG_RES_GROUP, KG_OP_DELETE, GROUP_AUTHZ))
			items(x, KCF_OffsetDeleteRequest_Topics, KCF_OffsetDeleteRequest_Topics_Name,
			      KG_RES_TOPIC, KG_OP_READ, TOPIC_AUTHZ);
		return;
	case KC_API_DESCRIBE_PRODUCERS:
		items(x, KCF_DescribeProducersRequest_Topics, KCF_DescribeProducersRequest_Topics_Name,
		      KG_RES_TOPIC, KG_OP_READ, TOPIC_AUTHZ);
		return;
	case KC_API_DESCRIBE_TRANSACTIONS:
		x->out->post |= KG_POST_FILTER;   /* topics of the answer */
		items(x, KCF_DescribeTransactionsRequest_TransactionalIds, KCF_NONE, KG_RES_TXN,
		      KG_OP_DESCRIBE, TXN_AUTHZ);
		return;
	case KC_API_DESCRIBE_TOPIC_PARTITIONS: {
		struct kc_value *t = kc_at(x->req, KCF_DescribeTopicPartitionsRequest_Topics);
		x->out->post |= KG_POST_FILTER;
		if (!t || t->u.arr.n <= 0)
			x->out->post |= KG_POST_ALL_TOPICS;
		else
			items(x, KCF_DescribeTopicPartitionsRequest_Topics,
			      KCF_DescribeTopicPartitionsRequest_Topics_Name, KG_RES_TOPIC,
			      KG_OP_DESCRIBE, TOPIC_AUTHZ);
		return;
	}
	case KC_API_ALTER_REPLICA_LOG_DIRS:
	case KC_API_ELECT_LEADERS:
	case KC_API_ALTER_PARTITION_REASSIGNMENTS:
	case KC_API_UPDATE_FEATURES:
		cluster(x, KG_OP_ALTER);
		return;
	case KC_API_LIST_PARTITION_REASSIGNMENTS:
		cluster(x, KG_OP_DESCRIBE);
		return;
	case KC_API_DESCRIBE_LOG_DIRS:
		describe_log_dirs(x);
		return;
	case KC_API_DESCRIBE_CLIENT_QUOTAS:
	case KC_API_LIST_CONFIG_RESOURCES:
		cluster(x, KG_OP_DESCRIBE_CONFIGS);
		return;
	case KC_API_ALTER_CLIENT_QUOTAS:
		cluster(x, KG_OP_ALTER_CONFIGS);
		return;
	default:
		x->out->verdict = KG_AUTHZ_CLOSE;
		x->out->reason = "api has no authorization rule";
		return;
	}
}

bool kg_authz_api_has_rule(int16_t api_key)
{
	switch (api_key) {
	case KC_API_PRODUCE: case KC_API_FETCH: case KC_API_LIST_OFFSETS: case KC_API_METADATA:
	case KC_API_OFFSET_COMMIT: case KC_API_OFFSET_FETCH: case KC_API_FIND_COORDINATOR:
	case KC_API_JOIN_GROUP: case KC_API_HEARTBEAT: case KC_API_LEAVE_GROUP: case KC_API_SYNC_GROUP:
	case KC_API_DESCRIBE_GROUPS: case KC_API_LIST_GROUPS: case KC_API_API_VERSIONS:
	case KC_API_CREATE_TOPICS: case KC_API_DELETE_TOPICS: case KC_API_DELETE_RECORDS:
	case KC_API_INIT_PRODUCER_ID: case KC_API_OFFSET_FOR_LEADER_EPOCH:
	case KC_API_ADD_PARTITIONS_TO_TXN: case KC_API_ADD_OFFSETS_TO_TXN: case KC_API_END_TXN:
	case KC_API_TXN_OFFSET_COMMIT: case KC_API_DESCRIBE_CONFIGS: case KC_API_ALTER_CONFIGS:
	case KC_API_ALTER_REPLICA_LOG_DIRS: case KC_API_DESCRIBE_LOG_DIRS:
	case KC_API_CREATE_PARTITIONS: case KC_API_DELETE_GROUPS: case KC_API_ELECT_LEADERS:
	case KC_API_INCREMENTAL_ALTER_CONFIGS: case KC_API_ALTER_PARTITION_REASSIGNMENTS:
	case KC_API_LIST_PARTITION_REASSIGNMENTS: case KC_API_OFFSET_DELETE:
	case KC_API_DESCRIBE_CLIENT_QUOTAS: case KC_API_ALTER_CLIENT_QUOTAS:
	case KC_API_UPDATE_FEATURES: case KC_API_DESCRIBE_CLUSTER: case KC_API_DESCRIBE_PRODUCERS:
	case KC_API_DESCRIBE_TRANSACTIONS: case KC_API_LIST_TRANSACTIONS:
	case KC_API_CONSUMER_GROUP_HEARTBEAT: case KC_API_CONSUMER_GROUP_DESCRIBE:
	case KC_API_GET_TELEMETRY_SUBSCRIPTIONS: case KC_API_PUSH_TELEMETRY:
	case KC_API_LIST_CONFIG_RESOURCES: case KC_API_DESCRIBE_TOPIC_PARTITIONS:
		return true;
	default:
		return false;
	}
}
