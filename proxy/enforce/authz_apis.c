/* authz_apis.c - the resource, operation and error code of every API the
 * gateway lets through, after ../shared/reference/kafka-authz.md section 2
 * (Kafka's KafkaApis / ControllerApis checks).
 *
 * "Whole" checks refuse the request with one code (the broker's
 * getErrorResponse); "item" checks split it (authz.c). An API without a
 * case here is refused by apis.c before it gets this far, and one that
 * does get here without a case is refused too: fail closed.
 */
#include "enforce/authz.h"
#include "enforce/authz-int.h"
#include "kafka/codec.h"
#include "acl/policy.h"

#include <string.h>

enum {
	API_PRODUCE = 0, API_FETCH = 1, API_LIST_OFFSETS = 2, API_METADATA = 3,
	API_OFFSET_COMMIT = 8, API_OFFSET_FETCH = 9, API_FIND_COORDINATOR = 10,
	API_JOIN_GROUP = 11, API_HEARTBEAT = 12, API_LEAVE_GROUP = 13, API_SYNC_GROUP = 14,
	API_DESCRIBE_GROUPS = 15, API_LIST_GROUPS = 16, API_API_VERSIONS = 18,
	API_CREATE_TOPICS = 19, API_DELETE_TOPICS = 20, API_DELETE_RECORDS = 21,
	API_INIT_PRODUCER_ID = 22, API_OFFSET_FOR_LEADER_EPOCH = 23,
	API_ADD_PARTITIONS_TO_TXN = 24, API_ADD_OFFSETS_TO_TXN = 25, API_END_TXN = 26,
	API_TXN_OFFSET_COMMIT = 28, API_DESCRIBE_CONFIGS = 32, API_ALTER_CONFIGS = 33,
	API_ALTER_REPLICA_LOG_DIRS = 34, API_DESCRIBE_LOG_DIRS = 35,
	API_CREATE_PARTITIONS = 37, API_DELETE_GROUPS = 42, API_ELECT_LEADERS = 43,
	API_INCREMENTAL_ALTER_CONFIGS = 44, API_ALTER_PARTITION_REASSIGNMENTS = 45,
	API_LIST_PARTITION_REASSIGNMENTS = 46, API_OFFSET_DELETE = 47,
	API_DESCRIBE_CLIENT_QUOTAS = 48, API_ALTER_CLIENT_QUOTAS = 49,
	API_UPDATE_FEATURES = 57, API_DESCRIBE_CLUSTER = 60, API_DESCRIBE_PRODUCERS = 61,
	API_DESCRIBE_TRANSACTIONS = 65, API_LIST_TRANSACTIONS = 66,
	API_CONSUMER_GROUP_HEARTBEAT = 68, API_CONSUMER_GROUP_DESCRIBE = 69,
	API_GET_TELEMETRY_SUBSCRIPTIONS = 71, API_PUSH_TELEMETRY = 72,
	API_LIST_CONFIG_RESOURCES = 74, API_DESCRIBE_TOPIC_PARTITIONS = 75
};

/* ConfigResource types of Describe/Alter/IncrementalAlterConfigs. */
enum { CFG_TOPIC = 2, CFG_BROKER = 4, CFG_BROKER_LOGGER = 8, CFG_CLIENT_METRICS = 16,
       CFG_GROUP = 32 };

/* ---- building blocks ---- */

/* The item check configured in x->it. */
static int16_t item_check(struct authz_ctx *x, struct kc_value *v)
{
	const char *p;
	size_t n;
	if (!x->it.field) {
		if (!authz_str(v, &p, &n))
			return ERR_INVALID_REQUEST;
	} else {
		int16_t e = x->it.res == KG_RES_TOPIC
			? authz_topic_name(x, v->u.obj, x->it.field, &p, &n)
			: (authz_field_str(v->u.obj, x->it.field, &p, &n) ? 0 : ERR_INVALID_REQUEST);
		if (e)
			return e;
	}
	return authz_check(x, x->it.res, p, n, x->it.op) ? 0 : x->it.err;
}

/* Splits array `field` with one resource/operation/error for all items. */
static int split(struct authz_ctx *x, const char *field, const char *name_field,
		 enum kg_res res, enum kg_op op, int16_t err)
{
	x->it.res = res;
	x->it.op = op;
	x->it.field = name_field;
	x->it.err = err;
	return authz_split(x, field, item_check);
}

/* Per-item API: split, and answer locally when nothing is left. */
static void items(struct authz_ctx *x, const char *field, const char *name_field,
		  enum kg_res res, enum kg_op op, int16_t err)
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
static bool whole(struct authz_ctx *x, const char *field, enum kg_res res, enum kg_op op,
		  int16_t err)
{
	const char *p = NULL;
	size_t n = 0;
	if (field)
		authz_field_str(x->req, field, &p, &n);
	if (authz_check(x, res, p, n, op))
		return true;
	authz_deny_all(x, err);
	return false;
}

static bool cluster(struct authz_ctx *x, enum kg_op op)
{
	return whole(x, NULL, KG_RES_CLUSTER, op, ERR_CLUSTER_AUTHZ);
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
	struct kc_value *topics = kc_get(x->req, "TopicData");
	struct kc_value *acks = kc_get(x->req, "Acks");
	bool txn = false;
	for (int32_t i = 0; topics && i < topics->u.arr.n && !txn; i++) {
		struct kc_value *parts = kc_get(topics->u.arr.v[i].u.obj, "PartitionData");
		for (int32_t j = 0; parts && j < parts->u.arr.n && !txn; j++)
			txn = batch_transactional(kc_get(parts->u.arr.v[j].u.obj, "Records"));
	}
	const char *tid;
	size_t tn;
	if (txn && (!authz_field_str(x->req, "TransactionalId", &tid, &tn) ||
		    !authz_check(x, KG_RES_TXN, tid, tn, KG_OP_WRITE)))
		authz_deny_all(x, ERR_TXN_AUTHZ);
	else
		items(x, "TopicData", "Name", KG_RES_TOPIC, KG_OP_WRITE, ERR_TOPIC_AUTHZ);
	/* A broker answers a failed acks=0 produce by closing. */
	if (acks && acks->u.i == 0 && (x->out->verdict != KG_AUTHZ_FORWARD || x->out->merge)) {
		x->out->verdict = KG_AUTHZ_CLOSE;
		x->out->reason = "acks=0 produce refused by authorization";
	}
}

static void fetch(struct authz_ctx *x)
{
	struct kc_value *rid = kc_get(x->req, "ReplicaId");
	struct kc_value *rs = kc_get(x->req, "ReplicaState");
	if (rs && rs->u.obj)
		rid = kc_get(rs->u.obj, "ReplicaId");
	if (rid && rid->u.i >= 0 && !cluster_allows(x, KG_OP_CLUSTER_ACTION)) {
		authz_deny_all(x, ERR_TOPIC_AUTHZ);
		return;
	}
	/* Fetch sessions are never created through the gateway: a broker
	 * re-authorizes a session's cached partitions on every request, and
	 * the gateway can only do that if every request names them all. */
	struct kc_value *sid = kc_get(x->req, "SessionId");
	struct kc_value *sep = kc_get(x->req, "SessionEpoch");
	if (sid && sep && (sid->u.i != 0 || sep->u.i != -1)) {
		sid->u.i = 0;
		sep->u.i = -1;
		x->modified = true;
	}
	struct kc_value *forgotten = kc_get(x->req, "ForgottenTopicsData");
	if (forgotten && forgotten->u.arr.n > 0) {
		forgotten->u.arr.n = 0;   /* meaningless without a session */
		x->modified = true;
	}
	items(x, "Topics", "Topic", KG_RES_TOPIC, KG_OP_READ, ERR_TOPIC_AUTHZ);
}

/* Metadata: named topics need DESCRIBE (else 29); auto-creation needs
 * CREATE on the topic or the cluster; an all-topics request is filtered
 * in the response. */
static void metadata(struct authz_ctx *x)
{
	struct kc_value *topics = kc_get(x->req, "Topics");
	if (!topics || topics->u.arr.n < 0 || (x->ver == 0 && topics->u.arr.n == 0)) {
		x->out->post |= KG_POST_FILTER | KG_POST_ALL_TOPICS;
		return;
	}
	x->out->post |= KG_POST_FILTER;
	if (split(x, "Topics", "Name", KG_RES_TOPIC, KG_OP_DESCRIBE, ERR_TOPIC_AUTHZ) < 0) {
		x->out->verdict = KG_AUTHZ_CLOSE;
		x->out->reason = "cannot build an authorization error response";
		return;
	}
	struct kc_value *autoc = kc_get(x->req, "AllowAutoTopicCreation");
	if (!autoc || !autoc->u.i || cluster_allows(x, KG_OP_CREATE))
		return;
	topics = kc_get(x->req, "Topics");
	for (int32_t i = 0; i < topics->u.arr.n; i++) {
		const char *p;
		size_t n;
		if (authz_field_str(topics->u.arr.v[i].u.obj, "Name", &p, &n) &&
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
	struct kc_value *t = kc_get(x->req, "Topics"), *g = kc_get(x->req, "Groups");
	if (t && t->u.arr.n < 0)
		x->out->post |= KG_POST_ALL_TOPICS;
	for (int32_t i = 0; g && i < g->u.arr.n; i++) {
		struct kc_value *gt = kc_get(g->u.arr.v[i].u.obj, "Topics");
		if (gt && gt->u.arr.n < 0)
			x->out->post |= KG_POST_ALL_TOPICS;
	}
	if (x->ver >= 8) {
		int kept = split(x, "Groups", "GroupId", KG_RES_GROUP, KG_OP_DESCRIBE,
				 ERR_GROUP_AUTHZ);
		if (kept < 0) {
			x->out->verdict = KG_AUTHZ_CLOSE;
			x->out->reason = "cannot build an authorization error response";
			return;
		}
		authz_local_if_empty(x, kept);
		return;   /* topics of allowed groups: masked in the response */
	}
	whole(x, "GroupId", KG_RES_GROUP, KG_OP_DESCRIBE, ERR_GROUP_AUTHZ);
}

static void find_coordinator(struct authz_ctx *x)
{
	struct kc_value *kt = kc_get(x->req, "KeyType");
	int64_t type = kt ? kt->u.i : 0;
	if (type == 2) {   /* share group coordinator: broker-internal */
		cluster(x, KG_OP_CLUSTER_ACTION);
		return;
	}
	enum kg_res res = type == 1 ? KG_RES_TXN : KG_RES_GROUP;
	int16_t err = type == 1 ? ERR_TXN_AUTHZ : ERR_GROUP_AUTHZ;
	if (type != 0 && type != 1) {
		authz_deny_all(x, ERR_INVALID_REQUEST);
		return;
	}
	if (x->ver >= 4)
		items(x, "CoordinatorKeys", NULL, res, KG_OP_DESCRIBE, err);
	else
		whole(x, "Key", res, KG_OP_DESCRIBE, err);
}

static void init_producer_id(struct authz_ctx *x)
{
	const char *tid;
	size_t tn;
	if (authz_field_str(x->req, "TransactionalId", &tid, &tn)) {
		whole(x, "TransactionalId", KG_RES_TXN, KG_OP_WRITE, ERR_TXN_AUTHZ);
		return;
	}
	/* Idempotence: IDEMPOTENT_WRITE on the cluster, or WRITE on at
	 * least one topic (Kafka's authorizeByResourceType). */
	if (cluster_allows(x, KG_OP_IDEMPOTENT_WRITE))
		return;
	struct kg_acl_subject *s = authz_subject(x->c);
	if (s && kg_acl_any_allowed(s, KG_RES_TOPIC, KG_OP_WRITE))
		return;
	authz_deny_all(x, ERR_CLUSTER_AUTHZ);
}

/* AddPartitionsToTxn v0-3: any refused topic fails the whole call. */
static void add_partitions_to_txn(struct authz_ctx *x)
{
	if (!whole(x, "V3AndBelowTransactionalId", KG_RES_TXN, KG_OP_WRITE, ERR_TXN_AUTHZ))
		return;
	struct kc_value *topics = kc_get(x->req, "V3AndBelowTopics");
	int32_t n = topics ? topics->u.arr.n : 0;
	bool *bad = n > 0 ? kc_arena_alloc(x->a, (size_t)n) : NULL;
	bool any = false;
	for (int32_t i = 0; i < n && bad; i++) {
		const char *p;
		size_t len;
		bad[i] = !authz_field_str(topics->u.arr.v[i].u.obj, "Name", &p, &len) ||
			 !authz_check(x, KG_RES_TOPIC, p, len, KG_OP_WRITE);
		any |= bad[i];
	}
	if (!any)
		return;
	authz_deny_all(x, ERR_NOT_ATTEMPTED);
	struct kc_value *res = x->out->local ? kc_get(x->out->local, "ResultsByTopicV3AndBelow")
					     : NULL;
	for (int32_t i = 0; res && i < res->u.arr.n && i < n; i++)
		if (bad[i])
			authz_set_errors(res->u.arr.v[i].u.obj, ERR_TOPIC_AUTHZ);
}

/* Describe/Alter/IncrementalAlterConfigs: the resource type decides;
 * x->it.op is the operation. */
static int16_t config_item(struct authz_ctx *x, struct kc_value *v)
{
	struct kc_value *type = kc_get(v->u.obj, "ResourceType");
	const char *p;
	size_t n;
	if (!type || !authz_field_str(v->u.obj, "ResourceName", &p, &n))
		return ERR_INVALID_REQUEST;
	switch (type->u.i) {
	case CFG_TOPIC:
		return authz_check(x, KG_RES_TOPIC, p, n, x->it.op) ? 0 : ERR_TOPIC_AUTHZ;
	case CFG_GROUP:
		return authz_check(x, KG_RES_GROUP, p, n, x->it.op) ? 0 : ERR_GROUP_AUTHZ;
	default:   /* broker, broker logger, client metrics, unknown */
		return authz_check(x, KG_RES_CLUSTER, NULL, 0, x->it.op) ? 0
								: ERR_CLUSTER_AUTHZ;
	}
}

static void configs(struct authz_ctx *x, enum kg_op op, const char *field)
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
		return ERR_INVALID_REQUEST;
	if (x->ver >= 6)
		e = authz_topic_name(x, v->u.obj, "Name", &p, &n);
	else
		e = authz_str(v, &p, &n) ? 0 : ERR_INVALID_REQUEST;
	if (e)
		return e;
	if (!authz_check(x, KG_RES_TOPIC, p, n, KG_OP_DESCRIBE))
		return ERR_TOPIC_AUTHZ;   /* by id: the name stays null */
	if (!authz_check(x, KG_RES_TOPIC, p, n, KG_OP_DELETE)) {
		/* Describable: its error echoes the name, as a broker's does. */
		struct kc_value *nm = x->ver >= 6 ? kc_get(v->u.obj, "Name") : NULL;
		if (nm && nm->u.b.len < 0)
			kc_set_string(x->a, nm, p, n);
		return ERR_TOPIC_AUTHZ;
	}
	return 0;
}

static void delete_topics(struct authz_ctx *x)
{
	if (cluster_allows(x, KG_OP_DELETE))
		return;
	int kept = authz_split(x, x->ver >= 6 ? "Topics" : "TopicNames", delete_topic_item);
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
	items(x, "Topics", "Name", KG_RES_TOPIC, KG_OP_CREATE, ERR_TOPIC_AUTHZ);
}

static void describe_log_dirs(struct authz_ctx *x)
{
	if (cluster_allows(x, KG_OP_DESCRIBE))
		return;
	authz_deny_all(x, ERR_CLUSTER_AUTHZ);
	/* v0-2 have no top-level error: an empty answer, as a broker gives. */
	if (x->out->local && x->ver < 3)
		authz_set_errors(x->out->local, 0);
}

/* ---- dispatch ---- */

void authz_apis_decide(struct authz_ctx *x)
{
	switch (x->key) {
	case API_API_VERSIONS:
	case API_GET_TELEMETRY_SUBSCRIPTIONS:
	case API_PUSH_TELEMETRY:
		return;                       /* no check, as in a broker */
	case API_PRODUCE:
		produce(x);
		return;
	case API_FETCH:
		fetch(x);
		return;
	case API_LIST_OFFSETS:
		items(x, "Topics", "Name", KG_RES_TOPIC, KG_OP_DESCRIBE, ERR_TOPIC_AUTHZ);
		return;
	case API_METADATA:
		metadata(x);
		return;
	case API_OFFSET_COMMIT:
		if (whole(x, "GroupId", KG_RES_GROUP, KG_OP_READ, ERR_GROUP_AUTHZ))
			items(x, "Topics", "Name", KG_RES_TOPIC, KG_OP_READ, ERR_TOPIC_AUTHZ);
		return;
	case API_OFFSET_FETCH:
		offset_fetch(x);
		return;
	case API_FIND_COORDINATOR:
		find_coordinator(x);
		return;
	case API_JOIN_GROUP:
	case API_HEARTBEAT:
	case API_LEAVE_GROUP:
	case API_SYNC_GROUP:
	case API_CONSUMER_GROUP_HEARTBEAT:
		whole(x, "GroupId", KG_RES_GROUP, KG_OP_READ, ERR_GROUP_AUTHZ);
		return;
	case API_DESCRIBE_GROUPS:
		x->out->post |= KG_POST_FILTER;
		items(x, "Groups", NULL, KG_RES_GROUP, KG_OP_DESCRIBE, ERR_GROUP_AUTHZ);
		return;
	case API_CONSUMER_GROUP_DESCRIBE:
		x->out->post |= KG_POST_FILTER;
		items(x, "GroupIds", NULL, KG_RES_GROUP, KG_OP_DESCRIBE, ERR_GROUP_AUTHZ);
		return;
	case API_LIST_GROUPS:
	case API_LIST_TRANSACTIONS:
	case API_DESCRIBE_CLUSTER:
		x->out->post |= KG_POST_FILTER;   /* filtered / recomputed */
		return;
	case API_CREATE_TOPICS:
		create_topics(x);
		return;
	case API_DELETE_TOPICS:
		delete_topics(x);
		return;
	case API_DELETE_RECORDS:
		items(x, "Topics", "Name", KG_RES_TOPIC, KG_OP_DELETE, ERR_TOPIC_AUTHZ);
		return;
	case API_INIT_PRODUCER_ID:
		init_producer_id(x);
		return;
	case API_OFFSET_FOR_LEADER_EPOCH:
		if (!cluster_allows(x, KG_OP_CLUSTER_ACTION))
			items(x, "Topics", "Topic", KG_RES_TOPIC, KG_OP_DESCRIBE, ERR_TOPIC_AUTHZ);
		return;
	case API_ADD_PARTITIONS_TO_TXN:
		if (x->ver >= 4) {            /* broker-to-broker (KIP-890) */
			cluster(x, KG_OP_CLUSTER_ACTION);
			return;
		}
		add_partitions_to_txn(x);
		return;
	case API_ADD_OFFSETS_TO_TXN:
		if (whole(x, "TransactionalId", KG_RES_TXN, KG_OP_WRITE, ERR_TXN_AUTHZ))
			whole(x, "GroupId", KG_RES_GROUP, KG_OP_READ, ERR_GROUP_AUTHZ);
		return;
	case API_END_TXN:
		whole(x, "TransactionalId", KG_RES_TXN, KG_OP_WRITE, ERR_TXN_AUTHZ);
		return;
	case API_TXN_OFFSET_COMMIT:
		if (whole(x, "TransactionalId", KG_RES_TXN, KG_OP_WRITE, ERR_TXN_AUTHZ) &&
		    whole(x, "GroupId", KG_RES_GROUP, KG_OP_READ, ERR_GROUP_AUTHZ))
			items(x, "Topics", "Name", KG_RES_TOPIC, KG_OP_READ, ERR_TOPIC_AUTHZ);
		return;
	case API_DESCRIBE_CONFIGS:
		configs(x, KG_OP_DESCRIBE_CONFIGS, "Resources");
		return;
	case API_ALTER_CONFIGS:
	case API_INCREMENTAL_ALTER_CONFIGS:
		configs(x, KG_OP_ALTER_CONFIGS, "Resources");
		return;
	case API_CREATE_PARTITIONS:
		items(x, "Topics", "Name", KG_RES_TOPIC, KG_OP_ALTER, ERR_TOPIC_AUTHZ);
		return;
	case API_DELETE_GROUPS:
		items(x, "GroupsNames", NULL, KG_RES_GROUP, KG_OP_DELETE, ERR_GROUP_AUTHZ);
		return;
	case API_OFFSET_DELETE:
		if (whole(x, "GroupId", KG_RES_GROUP, KG_OP_DELETE, ERR_GROUP_AUTHZ))
			items(x, "Topics", "Name", KG_RES_TOPIC, KG_OP_READ, ERR_TOPIC_AUTHZ);
		return;
	case API_DESCRIBE_PRODUCERS:
		items(x, "Topics", "Name", KG_RES_TOPIC, KG_OP_READ, ERR_TOPIC_AUTHZ);
		return;
	case API_DESCRIBE_TRANSACTIONS:
		x->out->post |= KG_POST_FILTER;   /* topics of the answer */
		items(x, "TransactionalIds", NULL, KG_RES_TXN, KG_OP_DESCRIBE, ERR_TXN_AUTHZ);
		return;
	case API_DESCRIBE_TOPIC_PARTITIONS: {
		struct kc_value *t = kc_get(x->req, "Topics");
		x->out->post |= KG_POST_FILTER;
		if (!t || t->u.arr.n <= 0)
			x->out->post |= KG_POST_ALL_TOPICS;
		else
			items(x, "Topics", "Name", KG_RES_TOPIC, KG_OP_DESCRIBE, ERR_TOPIC_AUTHZ);
		return;
	}
	case API_ALTER_REPLICA_LOG_DIRS:
	case API_ELECT_LEADERS:
	case API_ALTER_PARTITION_REASSIGNMENTS:
	case API_UPDATE_FEATURES:
		cluster(x, KG_OP_ALTER);
		return;
	case API_LIST_PARTITION_REASSIGNMENTS:
		cluster(x, KG_OP_DESCRIBE);
		return;
	case API_DESCRIBE_LOG_DIRS:
		describe_log_dirs(x);
		return;
	case API_DESCRIBE_CLIENT_QUOTAS:
	case API_LIST_CONFIG_RESOURCES:
		cluster(x, KG_OP_DESCRIBE_CONFIGS);
		return;
	case API_ALTER_CLIENT_QUOTAS:
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
	case API_PRODUCE: case API_FETCH: case API_LIST_OFFSETS: case API_METADATA:
	case API_OFFSET_COMMIT: case API_OFFSET_FETCH: case API_FIND_COORDINATOR:
	case API_JOIN_GROUP: case API_HEARTBEAT: case API_LEAVE_GROUP: case API_SYNC_GROUP:
	case API_DESCRIBE_GROUPS: case API_LIST_GROUPS: case API_API_VERSIONS:
	case API_CREATE_TOPICS: case API_DELETE_TOPICS: case API_DELETE_RECORDS:
	case API_INIT_PRODUCER_ID: case API_OFFSET_FOR_LEADER_EPOCH:
	case API_ADD_PARTITIONS_TO_TXN: case API_ADD_OFFSETS_TO_TXN: case API_END_TXN:
	case API_TXN_OFFSET_COMMIT: case API_DESCRIBE_CONFIGS: case API_ALTER_CONFIGS:
	case API_ALTER_REPLICA_LOG_DIRS: case API_DESCRIBE_LOG_DIRS:
	case API_CREATE_PARTITIONS: case API_DELETE_GROUPS: case API_ELECT_LEADERS:
	case API_INCREMENTAL_ALTER_CONFIGS: case API_ALTER_PARTITION_REASSIGNMENTS:
	case API_LIST_PARTITION_REASSIGNMENTS: case API_OFFSET_DELETE:
	case API_DESCRIBE_CLIENT_QUOTAS: case API_ALTER_CLIENT_QUOTAS:
	case API_UPDATE_FEATURES: case API_DESCRIBE_CLUSTER: case API_DESCRIBE_PRODUCERS:
	case API_DESCRIBE_TRANSACTIONS: case API_LIST_TRANSACTIONS:
	case API_CONSUMER_GROUP_HEARTBEAT: case API_CONSUMER_GROUP_DESCRIBE:
	case API_GET_TELEMETRY_SUBSCRIPTIONS: case API_PUSH_TELEMETRY:
	case API_LIST_CONFIG_RESOURCES: case API_DESCRIBE_TOPIC_PARTITIONS:
		return true;
	default:
		return false;
	}
}
