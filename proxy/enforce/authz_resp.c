/* authz_resp.c - what authorization changes in the brokers' answers.
 *
 * The brokers see one all-powerful client (the gateway), so lists come
 * back complete and authorized-operations fields say "everything". Here
 * they are cut down to what the principal may see, as a broker with ACLs
 * would answer: "list everything" requests silently omit what cannot be
 * described, named but denied items carry the authorization error, and
 * authorized-operations bitfields are computed from the policy. Topic ids
 * are learned on the way (route/topics.h).
 */
#include "enforce/authz_resp.h"
#include "acl/policy.h"
#include "enforce/authz_core.h"
#include "kafka/codec.h"
#include "kafka/errors.h"
#include "route/topics.h"

#include <string.h>

#define OPS_NOT_REQUESTED INT32_MIN   /* authorized-operations not asked */

/* Keeps the elements of array field `field` of o for which keep() holds. */
typedef bool (*keep_fn)(struct kg_authz_conn *z, struct kc_obj *item);

static int filter(struct kg_authz_conn *z, struct kc_obj *o, enum kc_field_handle field,
		  keep_fn keep)
{
	struct kc_value *arr = kc_at(o, field);
	if (!arr || arr->u.arr.n <= 0)
		return 0;
	int32_t k = 0;
	for (int32_t i = 0; i < arr->u.arr.n; i++)
		if (keep(z, arr->u.arr.v[i].u.obj))
			arr->u.arr.v[k++] = arr->u.arr.v[i];
	int changed = k != arr->u.arr.n;
	arr->u.arr.n = k;
	return changed;
}

static bool may(struct kg_authz_conn *z, struct kc_obj *item, enum kc_field_handle field,
		enum kg_res res, enum kg_op op)
{
	const char *p;
	size_t n;
	return authz_field_str(item, field, &p, &n) && authz_check_quiet(z, res, p, n, op);
}

/* Topics of Metadata, OffsetFetch and DescribeTopicPartitions answers;
 * they may carry only their id (OffsetFetch v10+): the name then comes
 * from the id map, and an id the gateway does not know is treated as a
 * topic that may not be described. */
static bool topic_describable(struct kg_authz_conn *z, struct kc_obj *t)
{
	const char *p;
	size_t n;
	char buf[256];
	struct kc_value *name = kc_find(t, KCN_Name), *id;
	if ((!authz_str(name, &p, &n) || n == 0) && (id = kc_find(t, KCN_TopicId))) {
		int len = kg_topics_name(id->u.uuid, buf, sizeof(buf));
		if (len < 0)
			return false;
		p = buf;
		n = (size_t)len;
	} else if (!authz_str(name, &p, &n)) {
		return false;
	}
	return authz_check_quiet(z, KG_RES_TOPIC, p, n, KG_OP_DESCRIBE);
}

static bool group_describable(struct kg_authz_conn *z, struct kc_obj *g)
{
	return may(z, g, KCF_ListGroupsResponse_Groups_GroupId, KG_RES_GROUP, KG_OP_DESCRIBE);
}

static bool txn_describable(struct kg_authz_conn *z, struct kc_obj *t)
{
	return may(z, t, KCF_ListTransactionsResponse_TransactionStates_TransactionalId, KG_RES_TXN,
		   KG_OP_DESCRIBE);
}

static bool txn_topic_describable(struct kg_authz_conn *z, struct kc_obj *t)
{
	return may(z, t, KCF_DescribeTransactionsResponse_TransactionStates_Topics_Topic,
		   KG_RES_TOPIC, KG_OP_DESCRIBE);
}

/* Replaces an authorized-operations value (when it was asked for). */
static int set_ops(struct kg_authz_conn *z, struct kc_obj *o, enum kc_field_handle field,
		   enum kg_res res, enum kc_field_handle name_field)
{
	struct kc_value *v = kc_at(o, field);
	if (!v || v->u.i == OPS_NOT_REQUESTED)
		return 0;
	const char *p = "";
	size_t n = 0;
	if (name_field != KCF_NONE && !authz_field_str(o, name_field, &p, &n))
		return 0;
	struct kg_acl_subject *s = authz_subject(z);
	v->u.i = s ? kg_acl_authorized_ops(s, res, p, n) : 0;
	return 1;
}

/* Topic ids of the topics of answers that carry both name and id. */
static void learn_ids(struct kc_obj *resp, enum kc_field_handle topics)
{
	struct kc_value *t = kc_at(resp, topics);
	for (int32_t i = 0; t && i < t->u.arr.n; i++) {
		struct kc_obj *o = t->u.arr.v[i].u.obj;
		struct kc_value *id = kc_find(o, KCN_TopicId), *e = kc_find(o, KCN_ErrorCode);
		const char *p;
		size_t n;
		if (id && (!e || e->u.i == 0) && authz_str(kc_find(o, KCN_Name), &p, &n))
			kg_topics_learn(id->u.uuid, p, n);
	}
}

/* A topic asked for by name or id that the principal may not describe:
 * the request side answers it with 29 itself, so the broker only sees it
 * when a reload took DESCRIBE away while the request was in flight. The
 * answer is then the broker's for a denied topic: 29, no partitions, and
 * the zero id (asked by name) or no name (asked by id, v10+). Topics of
 * an all-topics answer are dropped instead. */
static void metadata_mask(struct kc_obj *o, bool by_id)
{
	struct kc_value *v;
	if ((v = kc_at(o, KCF_MetadataResponse_Topics_ErrorCode)))
		v->u.i = KERR_TOPIC_AUTHORIZATION_FAILED;
	if ((v = kc_at(o, KCF_MetadataResponse_Topics_Partitions)) && v->u.arr.n > 0)
		v->u.arr.n = 0;
	if ((v = kc_at(o, KCF_MetadataResponse_Topics_IsInternal)))
		v->u.i = 0;
	if ((v = kc_at(o, KCF_MetadataResponse_Topics_TopicAuthorizedOperations)))
		v->u.i = OPS_NOT_REQUESTED;   /* a denied topic's, as the broker's */
	if (by_id) {
		if ((v = kc_at(o, KCF_MetadataResponse_Topics_Name)) && v->present)
			v->u.b.len = -1;
	} else if ((v = kc_at(o, KCF_MetadataResponse_Topics_TopicId))) {
		memset(v->u.uuid, 0, sizeof v->u.uuid);
	}
}

static int metadata(struct kg_authz_conn *z, uint8_t post, struct kc_obj *resp)
{
	learn_ids(resp, KCF_MetadataResponse_Topics);
	int changed = 0;
	struct kc_value *t = kc_at(resp, KCF_MetadataResponse_Topics);
	if (post & KG_POST_ALL_TOPICS) {
		changed = filter(z, resp, KCF_MetadataResponse_Topics, topic_describable);
	} else {
		for (int32_t i = 0; t && i < t->u.arr.n; i++)
			if (!topic_describable(z, t->u.arr.v[i].u.obj)) {
				metadata_mask(t->u.arr.v[i].u.obj, post & KG_POST_BY_ID);
				changed = 1;
			}
	}
	for (int32_t i = 0; t && i < t->u.arr.n; i++) {
		struct kc_obj *o = t->u.arr.v[i].u.obj;
		struct kc_value *e = kc_at(o, KCF_MetadataResponse_Topics_ErrorCode);
		const char *p;
		size_t n;
		if ((post & KG_POST_AUTOCREATE) && e && e->u.i == KERR_UNKNOWN_TOPIC_OR_PARTITION &&
		    authz_field_str(o, KCF_MetadataResponse_Topics_Name, &p, &n) &&
		    !authz_check_quiet(z, KG_RES_TOPIC, p, n, KG_OP_CREATE)) {
			e->u.i = KERR_TOPIC_AUTHORIZATION_FAILED;
			changed = 1;
		}
		changed |= set_ops(z, o, KCF_MetadataResponse_Topics_TopicAuthorizedOperations,
				   KG_RES_TOPIC, KCF_MetadataResponse_Topics_Name);
	}
	changed |= set_ops(z, resp, KCF_MetadataResponse_ClusterAuthorizedOperations,
			   KG_RES_CLUSTER, KCF_NONE);
	return changed;
}

/* Partitions of a topic the principal may not describe: 29, no offset.
 * (The partitions of OffsetFetch v0-7 topics and of v8+ groups' topics
 * are structs of two shapes with the same field names.) */
static void mask_partitions(struct kc_obj *topic)
{
	struct kc_value *parts = kc_find(topic, KCN_Partitions);
	for (int32_t j = 0; parts && j < parts->u.arr.n; j++) {
		struct kc_obj *p = parts->u.arr.v[j].u.obj;
		struct kc_value *v;
		if ((v = kc_find(p, KCN_ErrorCode)))
			v->u.i = KERR_TOPIC_AUTHORIZATION_FAILED;
		if ((v = kc_find(p, KCN_CommittedOffset)))
			v->u.i = -1;
		if ((v = kc_find(p, KCN_CommittedLeaderEpoch)))
			v->u.i = -1;
		if ((v = kc_find(p, KCN_Metadata)) && v->u.b.len > 0)
			v->u.b.len = 0;
	}
}

/* OffsetFetch: topics of "all topics" answers that cannot be described
 * are dropped; named ones get 29 per partition. */
static int offset_topics(struct kg_authz_conn *z, struct kc_obj *o, enum kc_field_handle topics,
			 bool all)
{
	if (all)
		return filter(z, o, topics, topic_describable);
	struct kc_value *t = kc_at(o, topics);
	int changed = 0;
	for (int32_t i = 0; t && i < t->u.arr.n; i++)
		if (!topic_describable(z, t->u.arr.v[i].u.obj)) {
			mask_partitions(t->u.arr.v[i].u.obj);
			changed = 1;
		}
	return changed;
}

static int offset_fetch(struct kg_authz_conn *z, uint8_t post, struct kc_obj *resp)
{
	bool all = post & KG_POST_ALL_TOPICS;
	struct kc_value *g = kc_at(resp, KCF_OffsetFetchResponse_Groups);
	if (!g)
		return offset_topics(z, resp, KCF_OffsetFetchResponse_Topics, all);
	int changed = 0;
	for (int32_t i = 0; i < g->u.arr.n; i++)
		changed |= offset_topics(z, g->u.arr.v[i].u.obj,
					 KCF_OffsetFetchResponse_Groups_Topics, all);
	return changed;
}

/* CreateTopics v5+: without DESCRIBE_CONFIGS the topic is created but its
 * configuration is not shown (TopicConfigErrorCode 29). */
static int create_topics(struct kg_authz_conn *z, struct kc_obj *resp)
{
	learn_ids(resp, KCF_CreateTopicsResponse_Topics);
	struct kc_value *t = kc_at(resp, KCF_CreateTopicsResponse_Topics);
	int changed = 0;
	for (int32_t i = 0; t && i < t->u.arr.n; i++) {
		struct kc_obj *o = t->u.arr.v[i].u.obj;
		struct kc_value *ce = kc_at(o, KCF_CreateTopicsResponse_Topics_TopicConfigErrorCode);
		struct kc_value *e = kc_at(o, KCF_CreateTopicsResponse_Topics_ErrorCode);
		if (!ce || !e || e->u.i != 0 ||
		    may(z, o, KCF_CreateTopicsResponse_Topics_Name, KG_RES_TOPIC,
			KG_OP_DESCRIBE_CONFIGS))
			continue;
		ce->u.i = KERR_TOPIC_AUTHORIZATION_FAILED;
		struct kc_value *v;
		if ((v = kc_at(o, KCF_CreateTopicsResponse_Topics_NumPartitions)))
			v->u.i = -1;
		if ((v = kc_at(o, KCF_CreateTopicsResponse_Topics_ReplicationFactor)))
			v->u.i = -1;
		if ((v = kc_at(o, KCF_CreateTopicsResponse_Topics_Configs)) && v->u.arr.n > 0)
			v->u.arr.n = 0;
		changed = 1;
	}
	return changed;
}

static int groups_ops(struct kg_authz_conn *z, struct kc_obj *resp, enum kc_field_handle groups,
		      enum kc_field_handle ops, enum kc_field_handle id)
{
	struct kc_value *g = kc_at(resp, groups);
	int changed = 0;
	for (int32_t i = 0; g && i < g->u.arr.n; i++)
		changed |= set_ops(z, g->u.arr.v[i].u.obj, ops, KG_RES_GROUP, id);
	return changed;
}

static int describe_transactions(struct kg_authz_conn *z, struct kc_obj *resp)
{
	struct kc_value *s = kc_at(resp, KCF_DescribeTransactionsResponse_TransactionStates);
	int changed = 0;
	for (int32_t i = 0; s && i < s->u.arr.n; i++)
		changed |= filter(z, s->u.arr.v[i].u.obj,
				  KCF_DescribeTransactionsResponse_TransactionStates_Topics,
				  txn_topic_describable);
	return changed;
}

static bool name_describable(void *z, const char *name, size_t len)
{
	return authz_check_quiet(z, KG_RES_TOPIC, name, len, KG_OP_DESCRIBE);
}

/* The cursor of a paged all-topics answer must not name a topic the
 * principal may not describe (walking it would list them all): it moves to
 * the next topic it may describe, or goes (no more pages), as a 4.x broker
 * with an authorizer pages through the authorized topics only. */
static int cursor_fix(struct kg_authz_conn *z, struct kc_arena *a, struct kc_obj *resp)
{
	struct kc_value *cur = kc_at(resp, KCF_DescribeTopicPartitionsResponse_NextCursor);
	struct kc_obj *c = cur ? cur->u.obj : NULL;
	struct kc_value *name = kc_at(c, KCF_DescribeTopicPartitionsResponse_NextCursor_TopicName);
	struct kc_value *part = kc_at(c, KCF_DescribeTopicPartitionsResponse_NextCursor_PartitionIndex);
	const char *p;
	size_t n;
	if (!c || !part || !authz_str(name, &p, &n) ||
	    authz_check_quiet(z, KG_RES_TOPIC, p, n, KG_OP_DESCRIBE))
		return 0;
	char next[256];
	int len = kg_topics_next_name(p, n, name_describable, z, next, sizeof(next));
	if (len < 0 || kc_set_string(a, name, next, (size_t)len) < 0) {
		cur->u.obj = NULL;     /* no describable topic after it: the end */
		return 1;
	}
	part->u.i = 0;
	return 1;
}

static int describe_topic_partitions(struct kg_authz_conn *z, struct kc_arena *a, uint8_t post,
				     struct kc_obj *resp)
{
	learn_ids(resp, KCF_DescribeTopicPartitionsResponse_Topics);
	int changed = (post & KG_POST_ALL_TOPICS)
		? filter(z, resp, KCF_DescribeTopicPartitionsResponse_Topics, topic_describable) |
		  cursor_fix(z, a, resp)
		: 0;
	struct kc_value *t = kc_at(resp, KCF_DescribeTopicPartitionsResponse_Topics);
	for (int32_t i = 0; t && i < t->u.arr.n; i++)
		changed |= set_ops(z, t->u.arr.v[i].u.obj,
				   KCF_DescribeTopicPartitionsResponse_Topics_TopicAuthorizedOperations,
				   KG_RES_TOPIC, KCF_DescribeTopicPartitionsResponse_Topics_Name);
	return changed;
}

/* Whether every topic of a member's assignment is describable. */
static bool assignment_describable(struct kg_authz_conn *z, struct kc_value *assignment,
				   enum kc_field_handle tps, enum kc_field_handle name)
{
	struct kc_value *t = assignment ? kc_at(assignment->u.obj, tps) : NULL;
	for (int32_t i = 0; t && i < t->u.arr.n; i++) {
		const char *p;
		size_t n;
		if (!authz_field_str(t->u.arr.v[i].u.obj, name, &p, &n) ||
		    !authz_check_quiet(z, KG_RES_TOPIC, p, n, KG_OP_DESCRIBE))
			return false;
	}
	return true;
}

/* ConsumerGroupDescribe, as a 4.x broker: a group whose members hold (or
 * are to get) a topic the principal may not describe is answered 29 with
 * no members, so no hidden topic name or id is shown. */
static int consumer_group_describe(struct kg_authz_conn *z, struct kc_arena *a, int16_t ver,
				   struct kc_obj *resp)
{
	static const char msg[] = "The group has described topic(s) that the client is not "
				  "authorized to describe.";
	struct kc_value *gs = kc_at(resp, KCF_ConsumerGroupDescribeResponse_Groups);
	int changed = 0;
	for (int32_t i = 0; gs && i < gs->u.arr.n; i++) {
		struct kc_obj *g = gs->u.arr.v[i].u.obj;
		struct kc_value *ms = kc_at(g, KCF_ConsumerGroupDescribeResponse_Groups_Members);
		bool ok = true;
		for (int32_t j = 0; ms && ok && j < ms->u.arr.n; j++) {
			struct kc_obj *m = ms->u.arr.v[j].u.obj;
			ok = assignment_describable(z,
				kc_at(m, KCF_ConsumerGroupDescribeResponse_Groups_Members_Assignment),
				KCF_ConsumerGroupDescribeResponse_Groups_Members_Assignment_TopicPartitions,
				KCF_ConsumerGroupDescribeResponse_Groups_Members_Assignment_TopicPartitions_TopicName) &&
			     assignment_describable(z,
				kc_at(m, KCF_ConsumerGroupDescribeResponse_Groups_Members_TargetAssignment),
				KCF_ConsumerGroupDescribeResponse_Groups_Members_TargetAssignment_TopicPartitions,
				KCF_ConsumerGroupDescribeResponse_Groups_Members_TargetAssignment_TopicPartitions_TopicName);
		}
		if (ok)
			continue;
		/* A fresh entry: the group's id, the error, nothing else. */
		struct kc_value *id = kc_at(g, KCF_ConsumerGroupDescribeResponse_Groups_GroupId);
		struct kc_obj *e = kc_obj_new(g->st, ver, a);
		struct kc_value *eid = kc_at(e, KCF_ConsumerGroupDescribeResponse_Groups_GroupId);
		struct kc_value *err = kc_at(e, KCF_ConsumerGroupDescribeResponse_Groups_ErrorCode);
		struct kc_value *em = kc_at(e, KCF_ConsumerGroupDescribeResponse_Groups_ErrorMessage);
		if (!e || !id || !eid || !err || !em ||
		    kc_set_string(a, eid, (const char *)id->u.b.p, (size_t)id->u.b.len) < 0 ||
		    kc_set_string(a, em, msg, sizeof(msg) - 1) < 0)
			return -1;
		err->u.i = KERR_TOPIC_AUTHORIZATION_FAILED;
		gs->u.arr.v[i].u.obj = e;
		changed = 1;
	}
	return changed;
}

/* A topic of a ConsumerGroupHeartbeat assignment (by id only). The broker
 * assigns a member only topics of its own subscription, which the request
 * side checked (names) or resolved (regex) for this principal; what can
 * still arrive is an answer to a heartbeat sent before a reload took
 * DESCRIBE away: such a topic is removed, as if revoked. An id the
 * gateway has not learned yet (a topic created since the last refresh,
 * through another replica or directly) is one the member subscribed to by
 * a checked name, and is kept: the broker sends an assignment only when
 * it changes, so a removed partition would stay unconsumed until the
 * next change. */
static bool assigned_topic_visible(struct kg_authz_conn *z, struct kc_obj *t)
{
	char buf[256];
	struct kc_value *id = kc_at(t, KCF_ConsumerGroupHeartbeatResponse_Assignment_TopicPartitions_TopicId);
	if (!id)
		return false;
	int len = kg_topics_name(id->u.uuid, buf, sizeof(buf));
	return len < 0 || authz_check_quiet(z, KG_RES_TOPIC, buf, (size_t)len, KG_OP_DESCRIBE);
}

static int consumer_group_heartbeat(struct kg_authz_conn *z, struct kc_obj *resp)
{
	struct kc_value *as = kc_at(resp, KCF_ConsumerGroupHeartbeatResponse_Assignment);
	if (!as || !as->u.obj)
		return 0;               /* no assignment: unchanged since the last one */
	return filter(z, as->u.obj, KCF_ConsumerGroupHeartbeatResponse_Assignment_TopicPartitions,
		      assigned_topic_visible);
}

int authz_resp_fix(struct kg_authz_conn *z, struct kc_arena *a, int16_t key, int16_t ver,
		   uint8_t post,
		   struct kc_obj *resp)
{
	switch (key) {
	case KC_API_METADATA:
		return metadata(z, post, resp);
	case KC_API_OFFSET_FETCH:
		return (post & KG_POST_FILTER) ? offset_fetch(z, post, resp) : 0;
	case KC_API_CREATE_TOPICS:
		return create_topics(z, resp);
	case KC_API_DESCRIBE_GROUPS:
		return groups_ops(z, resp, KCF_DescribeGroupsResponse_Groups,
				  KCF_DescribeGroupsResponse_Groups_AuthorizedOperations,
				  KCF_DescribeGroupsResponse_Groups_GroupId);
	case KC_API_CONSUMER_GROUP_HEARTBEAT:
		return consumer_group_heartbeat(z, resp);
	case KC_API_CONSUMER_GROUP_DESCRIBE:
		return consumer_group_describe(z, a, ver, resp) |
		       groups_ops(z, resp, KCF_ConsumerGroupDescribeResponse_Groups,
				  KCF_ConsumerGroupDescribeResponse_Groups_AuthorizedOperations,
				  KCF_ConsumerGroupDescribeResponse_Groups_GroupId);
	case KC_API_LIST_GROUPS:
		if (authz_check_quiet(z, KG_RES_CLUSTER, NULL, 0, KG_OP_DESCRIBE))
			return 0;
		return filter(z, resp, KCF_ListGroupsResponse_Groups, group_describable);
	case KC_API_LIST_TRANSACTIONS:
		return filter(z, resp, KCF_ListTransactionsResponse_TransactionStates,
			      txn_describable);
	case KC_API_DESCRIBE_TRANSACTIONS:
		return describe_transactions(z, resp);
	case KC_API_DESCRIBE_CLUSTER:
		return set_ops(z, resp, KCF_DescribeClusterResponse_ClusterAuthorizedOperations,
			       KG_RES_CLUSTER, KCF_NONE);
	case KC_API_DESCRIBE_TOPIC_PARTITIONS:
		return describe_topic_partitions(z, a, post, resp);
	default:
		return 0;
	}
}
