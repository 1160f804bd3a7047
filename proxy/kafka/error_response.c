/* error_response.c - the response an API gives when a request fails as a
 * whole or per item: error codes set, request items mirrored with their
 * keys (kc_build_error_response). */
#include "kafka/codec.h"
#include "kafka/codec-int.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* error responses                                                     */
/* ------------------------------------------------------------------ */

/*
 * Response arrays that mirror request arrays under another name. Arrays
 * with the same name on both sides need no entry. Several entries for one
 * response array concatenate their sources. key_dst/key_src rename one
 * key field (struct sources) or name the response key field that receives
 * each element of a primitive source array (key_src NULL).
 */
struct kc_err_map {
	int16_t api;                 /* api key */
	uint16_t resp;               /* response array field (enum kc_name) */
	uint16_t req;                /* request array field it mirrors */
	uint16_t key_dst;            /* response key field, or KCN_NONE */
	uint16_t key_src;            /* request key field, or KCN_NONE */
};

static const struct kc_err_map kc_err_maps[] = {
	{ 0, KCN_Responses, KCN_TopicData, KCN_NONE, KCN_NONE },                  /* Produce */
	{ 0, KCN_PartitionResponses, KCN_PartitionData, KCN_NONE, KCN_NONE },
	{ 1, KCN_Responses, KCN_Topics, KCN_NONE, KCN_NONE },                     /* Fetch */
	{ 1, KCN_Partitions, KCN_Partitions, KCN_PartitionIndex, KCN_Partition },
	{ 9, KCN_Partitions, KCN_PartitionIndexes, KCN_PartitionIndex, KCN_NONE }, /* OffsetFetch */
	{ 10, KCN_Coordinators, KCN_CoordinatorKeys, KCN_Key, KCN_NONE },       /* FindCoordinator */
	{ 20, KCN_Responses, KCN_Topics, KCN_NONE, KCN_NONE },                    /* DeleteTopics */
	{ 20, KCN_Responses, KCN_TopicNames, KCN_Name, KCN_NONE },
	{ 24, KCN_ResultsByTransaction, KCN_Transactions, KCN_NONE, KCN_NONE },   /* AddPartitionsToTxn */
	{ 24, KCN_TopicResults, KCN_Topics, KCN_NONE, KCN_NONE },
	{ 24, KCN_ResultsByPartition, KCN_Partitions, KCN_PartitionIndex, KCN_NONE },
	{ 24, KCN_ResultsByTopicV3AndBelow, KCN_V3AndBelowTopics, KCN_NONE, KCN_NONE },
	{ 27, KCN_Partitions, KCN_PartitionIndexes, KCN_PartitionIndex, KCN_NONE }, /* WriteTxnMarkers */
	{ 30, KCN_Results, KCN_Creations, KCN_NONE, KCN_NONE },                   /* CreateAcls */
	{ 31, KCN_FilterResults, KCN_Filters, KCN_NONE, KCN_NONE },               /* DeleteAcls */
	{ 32, KCN_Results, KCN_Resources, KCN_NONE, KCN_NONE },                   /* DescribeConfigs */
	{ 33, KCN_Responses, KCN_Resources, KCN_NONE, KCN_NONE },                 /* AlterConfigs */
	{ 37, KCN_Results, KCN_Topics, KCN_NONE, KCN_NONE },                      /* CreatePartitions */
	{ 42, KCN_Results, KCN_GroupsNames, KCN_GroupId, KCN_NONE },            /* DeleteGroups */
	{ 43, KCN_ReplicaElectionResults, KCN_TopicPartitions, KCN_NONE, KCN_NONE }, /* ElectLeaders */
	{ 43, KCN_PartitionResult, KCN_Partitions, KCN_PartitionId, KCN_NONE },
	{ 44, KCN_Responses, KCN_Resources, KCN_NONE, KCN_NONE },                 /* IncrementalAlterConfigs */
	{ 45, KCN_Responses, KCN_Topics, KCN_NONE, KCN_NONE },                    /* AlterPartitionReassignments */
	{ 51, KCN_Results, KCN_Deletions, KCN_User, KCN_Name },               /* AlterUserScramCredentials */
	{ 51, KCN_Results, KCN_Upsertions, KCN_User, KCN_Name },
	{ 57, KCN_Results, KCN_FeatureUpdates, KCN_NONE, KCN_NONE },              /* UpdateFeatures */
	{ 59, KCN_Partitions, KCN_Partitions, KCN_Index, KCN_Partition },     /* FetchSnapshot */
	{ 61, KCN_Partitions, KCN_PartitionIndexes, KCN_PartitionIndex, KCN_NONE }, /* DescribeProducers */
	{ 65, KCN_TransactionStates, KCN_TransactionalIds, KCN_TransactionalId, KCN_NONE },
	{ 69, KCN_Groups, KCN_GroupIds, KCN_GroupId, KCN_NONE },                /* ConsumerGroupDescribe */
	{ 77, KCN_Groups, KCN_GroupIds, KCN_GroupId, KCN_NONE },                /* ShareGroupDescribe */
	{ 78, KCN_Responses, KCN_Topics, KCN_NONE, KCN_NONE },                    /* ShareFetch */
	{ 79, KCN_Responses, KCN_Topics, KCN_NONE, KCN_NONE },                    /* ShareAcknowledge */
	{ 83, KCN_Results, KCN_Topics, KCN_NONE, KCN_NONE },                      /* share group state */
	{ 84, KCN_Results, KCN_Topics, KCN_NONE, KCN_NONE },
	{ 85, KCN_Results, KCN_Topics, KCN_NONE, KCN_NONE },
	{ 86, KCN_Results, KCN_Topics, KCN_NONE, KCN_NONE },
	{ 87, KCN_Results, KCN_Topics, KCN_NONE, KCN_NONE },
	{ 89, KCN_Groups, KCN_GroupIds, KCN_GroupId, KCN_NONE },                /* StreamsGroupDescribe */
	{ 90, KCN_Partitions, KCN_Partitions, KCN_PartitionIndex, KCN_NONE },   /* DescribeShareGroupOffsets */
	{ 91, KCN_Responses, KCN_Topics, KCN_NONE, KCN_NONE },                    /* AlterShareGroupOffsets */
	{ 92, KCN_Responses, KCN_Topics, KCN_NONE, KCN_NONE },                    /* DeleteShareGroupOffsets */
};

/* Fields that identify an item and are copied from request to response
 * items when both sides have them; other same-named fields (timestamps,
 * offsets...) keep the response defaults. */
static const uint16_t kc_err_keys[] = {
	KCN_Name, KCN_Topic, KCN_TopicName, KCN_TopicId, KCN_PartitionIndex, KCN_Partition,
	KCN_PartitionId, KCN_Index, KCN_GroupId, KCN_ResourceName, KCN_ResourceType,
	KCN_PatternType, KCN_TransactionalId, KCN_Key, KCN_MemberId, KCN_GroupInstanceId,
	KCN_Feature, KCN_ProducerId, KCN_Id, KCN_User, KCN_Mechanism,
};

static bool err_is_key(uint16_t name)
{
	size_t i;

	for (i = 0; i < sizeof(kc_err_keys) / sizeof(kc_err_keys[0]); i++)
		if (kc_err_keys[i] == name)
			return true;
	return false;
}

static bool name_ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static bool is_error_code(const struct kc_field *f)
{
	return f->flags & KC_FIELD_ERROR_CODE;
}

/* Is there an error code anywhere below st? Only such arrays are worth
 * mirroring (a topic's config list is not, its error code is). */
static bool struct_has_error(const struct kc_struct *st, int depth)
{
	size_t i;

	if (!st || depth > KC_MAX_DEPTH)
		return false;
	for (i = 0; i < st->nfields; i++) {
		const struct kc_field *f = &st->fields[i];

		if (is_error_code(f) ||
		    (f->sub && struct_has_error(f->sub, depth + 1)))
			return true;
	}
	return false;
}

static bool is_scalar(uint8_t t)
{
	return t != KC_ARRAY && t != KC_STRUCT;
}

/* Copy a request key into a response field. A null the response version
 * cannot carry (Metadata v10-11 request names are nullable, response names
 * are not) becomes the field's default. */
static void err_set_key(const struct kc_field *g, int16_t version,
			struct kc_value *dst, const struct kc_value *src)
{
	if ((g->type == KC_STRING || g->type == KC_BYTES) &&
	    src->u.b.len < 0 && !kc_range_has(g->nullable, version))
		return;
	dst->u = src->u;
}

/* Copy the key fields of a request item into a response item. */
static void err_copy_keys(struct kc_obj *dst, const struct kc_obj *src,
			  const struct kc_err_map *m, int16_t version)
{
	size_t i;

	for (i = 0; i < dst->st->nfields; i++) {
		const struct kc_field *g = &dst->st->fields[i];
		uint16_t sname = g->name_id;
		bool renamed = false;
		int j;

		if (!dst->vals[i].present || !is_scalar(g->type))
			continue;
		if (m && m->key_dst && m->key_src && g->name_id == m->key_dst) {
			sname = m->key_src;
			renamed = true;
		}
		if (!renamed && !err_is_key(g->name_id))
			continue;
		j = kc_find_index(src->st, sname);
		if (j < 0 || !src->vals[j].present ||
		    src->st->fields[j].type != g->type)
			continue;
		/* Strings still point into the request frame: same lifetime
		 * rule as any decoded tree. */
		err_set_key(g, version, &dst->vals[i], &src->vals[j]);
	}
}

/* Response key field receiving elements of a primitive request array. */
static int err_prim_key(const struct kc_struct *st, const struct kc_field *rf,
			const struct kc_err_map *m)
{
	size_t i;

	if (m && m->key_dst)
		return kc_find_index(st, m->key_dst);
	for (i = 0; i < st->nfields; i++)
		if (st->fields[i].type == rf->elem_type &&
		    rf->entity != KC_ENT_NONE &&
		    st->fields[i].entity == rf->entity)
			return (int)i;
	for (i = 0; i < st->nfields; i++)
		if (st->fields[i].type == rf->elem_type &&
		    err_is_key(st->fields[i].name_id))
			return (int)i;
	return -1;
}

/* Request fields a response array mirrors: table entries first, else a
 * same-named array. Returns the count, filling idx[] and maps[]. */
static int err_sources(int16_t api, const struct kc_field *f,
		       const struct kc_obj *req, int idx[4],
		       const struct kc_err_map *maps[4])
{
	size_t k;
	int n = 0, j;

	for (k = 0; k < sizeof(kc_err_maps) / sizeof(kc_err_maps[0]); k++) {
		const struct kc_err_map *m = &kc_err_maps[k];

		if (m->api != api || m->resp != f->name_id || n >= 4)
			continue;
		j = kc_find_index(req->st, m->req);
		if (j < 0 || req->st->fields[j].type != KC_ARRAY)
			continue;
		idx[n] = j;
		maps[n++] = m;
	}
	if (n)
		return n;
	j = kc_find_index(req->st, f->name_id);
	if (j >= 0 && req->st->fields[j].type == KC_ARRAY) {
		idx[0] = j;
		maps[0] = NULL;
		return 1;
	}
	return 0;
}

static int err_fill(int16_t api, int16_t version, struct kc_obj *resp,
		    const struct kc_obj *req, int16_t err, struct kc_arena *a,
		    int depth);

/* Mirror the request items behind response array field `fi`. */
static int err_mirror(int16_t api, int16_t version, struct kc_obj *resp,
		      size_t fi, const struct kc_obj *req, int16_t err,
		      struct kc_arena *a, int depth)
{
	const struct kc_field *f = &resp->st->fields[fi];
	const struct kc_err_map *maps[4];
	int idx[4], ns, s, rc;
	int64_t total = 0;
	int32_t out = 0, j;

	ns = err_sources(api, f, req, idx, maps);
	for (s = 0; s < ns; s++) {
		const struct kc_value *rv = &req->vals[idx[s]];

		if (rv->present && rv->u.arr.n > 0)
			total += rv->u.arr.n;
	}
	if (total == 0 || total > INT32_MAX)
		return KC_OK;
	rc = kc_array_resize(a, &resp->vals[fi], f, version, (int32_t)total);
	if (rc)
		return rc;
	for (s = 0; s < ns; s++) {
		const struct kc_field *rf = &req->st->fields[idx[s]];
		const struct kc_value *rv = &req->vals[idx[s]];

		if (!rv->present || rv->u.arr.n <= 0)
			continue;
		for (j = 0; j < rv->u.arr.n; j++, out++) {
			struct kc_obj *d = resp->vals[fi].u.arr.v[out].u.obj;
			const struct kc_obj *src = NULL;

			if (rf->elem_type == KC_STRUCT) {
				src = rv->u.arr.v[j].u.obj;
				if (src)
					err_copy_keys(d, src, maps[s],
						      version);
			} else {
				int k = err_prim_key(d->st, rf, maps[s]);

				if (k >= 0 && d->vals[k].present &&
				    d->st->fields[k].type == rf->elem_type)
					err_set_key(&d->st->fields[k], version,
						    &d->vals[k],
						    &rv->u.arr.v[j]);
			}
			rc = err_fill(api, version, d, src, err, a, depth + 1);
			if (rc)
				return rc;
		}
	}
	return KC_OK;
}

/* Fields without a JSON default that Kafka's own error responses set to
 * -1 ("unknown"): broker ids, ports, offsets, watermarks, producer epochs. */
static bool err_unknown_value(const struct kc_field *f)
{
	if (f->def)
		return false;
	switch (f->type) {
	case KC_INT16:
		return f->name_id == KCN_ProducerEpoch;
	case KC_INT32:
		return f->entity == KC_ENT_BROKER_ID || f->name_id == KCN_Port;
	case KC_INT64:
		return name_ends_with(f->name, "Offset") ||
		       name_ends_with(f->name, "Watermark");
	default:
		return false;
	}
}

/* Set error codes (and the "unknown" -1 of err_unknown_value) in resp, mirroring req's items into resp's arrays. */
static int err_fill(int16_t api, int16_t version, struct kc_obj *resp,
		    const struct kc_obj *req, int16_t err, struct kc_arena *a,
		    int depth)
{
	size_t i;
	int rc;

	if (depth > KC_MAX_DEPTH)
		return KC_ERR_MALFORMED;
	for (i = 0; i < resp->st->nfields; i++) {
		const struct kc_field *f = &resp->st->fields[i];
		struct kc_value *v = &resp->vals[i];

		if (!v->present)
			continue;
		if (is_error_code(f)) {
			v->u.i = err;
		} else if (err_unknown_value(f)) {
			v->u.i = -1;
		} else if (f->type == KC_STRUCT && v->u.obj) {
			rc = err_fill(api, version, v->u.obj, NULL, err, a,
				      depth + 1);
			if (rc)
				return rc;
		} else if (f->type == KC_ARRAY && f->elem_type == KC_STRUCT &&
			   req && struct_has_error(f->sub, 0)) {
			rc = err_mirror(api, version, resp, i, req, err, a,
					depth);
			if (rc)
				return rc;
		}
	}
	return KC_OK;
}

int kc_build_error_response(int16_t api_key, int16_t version,
			    const struct kc_obj *req, int16_t err,
			    struct kc_arena *a, struct kc_obj **out)
{
	const struct kc_api *api = kc_api_find(api_key);
	struct kc_obj *resp;
	int rc;

	*out = NULL;
	if (!api)
		return KC_ERR_UNKNOWN_API;
	if (!kc_range_has(api->response->valid, version))
		return KC_ERR_UNKNOWN_VERSION;
	if (req && req->st != api->request->body)
		return KC_ERR_MALFORMED;
	resp = kc_obj_new(api->response->body, version, a);
	if (!resp)
		return KC_ERR_NOMEM;
	rc = err_fill(api_key, version, resp, req, err, a, 0);
	if (rc)
		return rc;
	*out = resp;
	return KC_OK;
}
