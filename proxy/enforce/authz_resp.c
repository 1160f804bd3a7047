/* authz_resp.c - what authorization changes in the brokers' answers.
 *
 * The brokers see one all-powerful client (the gateway), so lists come
 * back complete and authorized-operations fields say "everything". Here
 * they are cut down to what the principal may see, as a broker with ACLs
 * would answer: "list everything" requests silently omit what cannot be
 * described, named but denied items carry the authorization error, and
 * authorized-operations bitfields are computed from the policy. Topic ids
 * are learned on the way (topics.h).
 */
#include "enforce/authz.h"
#include "enforce/authz-int.h"
#include "kafka/codec.h"
#include "acl/policy.h"
#include "route/topics.h"

#include <string.h>

#define OPS_NOT_REQUESTED INT32_MIN   /* authorized-operations not asked */

enum { API_METADATA = 3, API_OFFSET_FETCH = 9, API_DESCRIBE_GROUPS = 15,
       API_LIST_GROUPS = 16, API_CREATE_TOPICS = 19, API_DESCRIBE_CLUSTER = 60,
       API_DESCRIBE_TRANSACTIONS = 65, API_LIST_TRANSACTIONS = 66,
       API_CONSUMER_GROUP_DESCRIBE = 69, API_DESCRIBE_TOPIC_PARTITIONS = 75 };

/* Keeps the elements of array field `field` of o for which keep() holds. */
typedef bool (*keep_fn)(struct kg_conn *c, struct kc_obj *item);

static int filter(struct kg_conn *c, struct kc_obj *o, const char *field, keep_fn keep)
{
	struct kc_value *arr = o ? kc_get(o, field) : NULL;
	if (!arr || arr->u.arr.n <= 0)
		return 0;
	int32_t k = 0;
	for (int32_t i = 0; i < arr->u.arr.n; i++)
		if (keep(c, arr->u.arr.v[i].u.obj))
			arr->u.arr.v[k++] = arr->u.arr.v[i];
	int changed = k != arr->u.arr.n;
	arr->u.arr.n = k;
	return changed;
}

static bool may(struct kg_conn *c, struct kc_obj *item, const char *field, enum kg_res res,
		enum kg_op op)
{
	const char *p;
	size_t n;
	return authz_field_str(item, field, &p, &n) && authz_check_quiet(c, res, p, n, op);
}

/* Topics in answers may carry only their id (OffsetFetch v10+): the
 * name comes from the id map; an id the gateway does not know is treated
 * as a topic that may not be described. */
static bool topic_describable(struct kg_conn *c, struct kc_obj *t)
{
	const char *p;
	size_t n;
	char buf[256];
	struct kc_value *id;
	if ((!authz_field_str(t, "Name", &p, &n) || n == 0) && (id = kc_get(t, "TopicId"))) {
		int len = kg_topics_name(id->u.uuid, buf, sizeof(buf));
		if (len < 0)
			return false;
		p = buf;
		n = (size_t)len;
	} else if (!authz_field_str(t, "Name", &p, &n)) {
		return false;
	}
	return authz_check_quiet(c, KG_RES_TOPIC, p, n, KG_OP_DESCRIBE);
}

static bool group_describable(struct kg_conn *c, struct kc_obj *g)
{
	return may(c, g, "GroupId", KG_RES_GROUP, KG_OP_DESCRIBE);
}

static bool txn_describable(struct kg_conn *c, struct kc_obj *t)
{
	return may(c, t, "TransactionalId", KG_RES_TXN, KG_OP_DESCRIBE);
}

static bool txn_topic_describable(struct kg_conn *c, struct kc_obj *t)
{
	return may(c, t, "Topic", KG_RES_TOPIC, KG_OP_DESCRIBE);
}

/* Replaces an authorized-operations value (when it was asked for). */
static int set_ops(struct kg_conn *c, struct kc_obj *o, const char *field, enum kg_res res,
		   const char *name_field)
{
	struct kc_value *v = kc_get(o, field);
	if (!v || v->u.i == OPS_NOT_REQUESTED)
		return 0;
	const char *p = "";
	size_t n = 0;
	if (name_field && !authz_field_str(o, name_field, &p, &n))
		return 0;
	struct kg_acl_subject *s = authz_subject(c);
	v->u.i = s ? kg_acl_authorized_ops(s, res, p, n) : 0;
	return 1;
}

static void learn_ids(struct kc_obj *resp, const char *field)
{
	struct kc_value *t = kc_get(resp, field);
	for (int32_t i = 0; t && i < t->u.arr.n; i++) {
		struct kc_obj *o = t->u.arr.v[i].u.obj;
		struct kc_value *id = kc_get(o, "TopicId"), *e = kc_get(o, "ErrorCode");
		const char *p;
		size_t n;
		if (id && (!e || e->u.i == 0) && authz_field_str(o, "Name", &p, &n))
			kg_topics_learn(id->u.uuid, p, n);
	}
}

static int metadata(struct kg_conn *c, uint8_t post, struct kc_obj *resp)
{
	learn_ids(resp, "Topics");
	int changed = filter(c, resp, "Topics", topic_describable);
	struct kc_value *t = kc_get(resp, "Topics");
	for (int32_t i = 0; t && i < t->u.arr.n; i++) {
		struct kc_obj *o = t->u.arr.v[i].u.obj;
		struct kc_value *e = kc_get(o, "ErrorCode");
		const char *p;
		size_t n;
		if ((post & KG_POST_AUTOCREATE) && e && e->u.i == ERR_UNKNOWN_TOPIC &&
		    authz_field_str(o, "Name", &p, &n) &&
		    !authz_check_quiet(c, KG_RES_TOPIC, p, n, KG_OP_CREATE)) {
			e->u.i = ERR_TOPIC_AUTHZ;
			changed = 1;
		}
		changed |= set_ops(c, o, "TopicAuthorizedOperations", KG_RES_TOPIC, "Name");
	}
	changed |= set_ops(c, resp, "ClusterAuthorizedOperations", KG_RES_CLUSTER, NULL);
	return changed;
}

/* Partitions of a topic the principal may not describe: 29, no offset. */
static void mask_partitions(struct kc_obj *topic)
{
	struct kc_value *parts = kc_get(topic, "Partitions");
	for (int32_t j = 0; parts && j < parts->u.arr.n; j++) {
		struct kc_obj *p = parts->u.arr.v[j].u.obj;
		struct kc_value *v;
		if ((v = kc_get(p, "ErrorCode")))
			v->u.i = ERR_TOPIC_AUTHZ;
		if ((v = kc_get(p, "CommittedOffset")))
			v->u.i = -1;
		if ((v = kc_get(p, "CommittedLeaderEpoch")))
			v->u.i = -1;
		if ((v = kc_get(p, "Metadata")) && v->u.b.len > 0)
			v->u.b.len = 0;
	}
}

/* OffsetFetch: topics of "all topics" answers that cannot be described
 * are dropped; named ones get 29 per partition. */
static int offset_topics(struct kg_conn *c, struct kc_obj *o, bool all)
{
	if (all)
		return filter(c, o, "Topics", topic_describable);
	struct kc_value *t = kc_get(o, "Topics");
	int changed = 0;
	for (int32_t i = 0; t && i < t->u.arr.n; i++)
		if (!topic_describable(c, t->u.arr.v[i].u.obj)) {
			mask_partitions(t->u.arr.v[i].u.obj);
			changed = 1;
		}
	return changed;
}

static int offset_fetch(struct kg_conn *c, uint8_t post, struct kc_obj *resp)
{
	bool all = post & KG_POST_ALL_TOPICS;
	struct kc_value *g = kc_get(resp, "Groups");
	if (!g)
		return offset_topics(c, resp, all);
	int changed = 0;
	for (int32_t i = 0; i < g->u.arr.n; i++)
		changed |= offset_topics(c, g->u.arr.v[i].u.obj, all);
	return changed;
}

/* CreateTopics v5+: without DESCRIBE_CONFIGS the topic is created but its
 * configuration is not shown (TopicConfigErrorCode 29). */
static int create_topics(struct kg_conn *c, struct kc_obj *resp)
{
	learn_ids(resp, "Topics");
	struct kc_value *t = kc_get(resp, "Topics");
	int changed = 0;
	for (int32_t i = 0; t && i < t->u.arr.n; i++) {
		struct kc_obj *o = t->u.arr.v[i].u.obj;
		struct kc_value *ce = kc_get(o, "TopicConfigErrorCode"), *e = kc_get(o, "ErrorCode");
		if (!ce || !e || e->u.i != 0 ||
		    may(c, o, "Name", KG_RES_TOPIC, KG_OP_DESCRIBE_CONFIGS))
			continue;
		ce->u.i = ERR_TOPIC_AUTHZ;
		struct kc_value *v;
		if ((v = kc_get(o, "NumPartitions")))
			v->u.i = -1;
		if ((v = kc_get(o, "ReplicationFactor")))
			v->u.i = -1;
		if ((v = kc_get(o, "Configs")) && v->u.arr.n > 0)
			v->u.arr.n = 0;
		changed = 1;
	}
	return changed;
}

static int groups_ops(struct kg_conn *c, struct kc_obj *resp)
{
	struct kc_value *g = kc_get(resp, "Groups");
	int changed = 0;
	for (int32_t i = 0; g && i < g->u.arr.n; i++)
		changed |= set_ops(c, g->u.arr.v[i].u.obj, "AuthorizedOperations", KG_RES_GROUP,
				   "GroupId");
	return changed;
}

static int describe_transactions(struct kg_conn *c, struct kc_obj *resp)
{
	struct kc_value *s = kc_get(resp, "TransactionStates");
	int changed = 0;
	for (int32_t i = 0; s && i < s->u.arr.n; i++)
		changed |= filter(c, s->u.arr.v[i].u.obj, "Topics", txn_topic_describable);
	return changed;
}

static int describe_topic_partitions(struct kg_conn *c, uint8_t post, struct kc_obj *resp)
{
	learn_ids(resp, "Topics");
	int changed = (post & KG_POST_ALL_TOPICS) ? filter(c, resp, "Topics", topic_describable)
						  : 0;
	struct kc_value *t = kc_get(resp, "Topics");
	for (int32_t i = 0; t && i < t->u.arr.n; i++)
		changed |= set_ops(c, t->u.arr.v[i].u.obj, "TopicAuthorizedOperations",
				   KG_RES_TOPIC, "Name");
	return changed;
}

int authz_resp_fix(struct kg_conn *c, int16_t key, uint8_t post, struct kc_obj *resp)
{
	switch (key) {
	case API_METADATA:
		return metadata(c, post, resp);
	case API_OFFSET_FETCH:
		return (post & KG_POST_FILTER) ? offset_fetch(c, post, resp) : 0;
	case API_CREATE_TOPICS:
		return create_topics(c, resp);
	case API_DESCRIBE_GROUPS:
	case API_CONSUMER_GROUP_DESCRIBE:
		return groups_ops(c, resp);
	case API_LIST_GROUPS:
		if (authz_check_quiet(c, KG_RES_CLUSTER, NULL, 0, KG_OP_DESCRIBE))
			return 0;
		return filter(c, resp, "Groups", group_describable);
	case API_LIST_TRANSACTIONS:
		return filter(c, resp, "TransactionStates", txn_describable);
	case API_DESCRIBE_TRANSACTIONS:
		return describe_transactions(c, resp);
	case API_DESCRIBE_CLUSTER:
		return set_ops(c, resp, "ClusterAuthorizedOperations", KG_RES_CLUSTER, NULL);
	case API_DESCRIBE_TOPIC_PARTITIONS:
		return describe_topic_partitions(c, post, resp);
	default:
		return 0;
	}
}
