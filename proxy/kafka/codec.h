/* codec.h - table-driven Kafka protocol codec (see codec-t.h for the model). */
#ifndef KG_CODEC_H
#define KG_CODEC_H

#include "kafka/codec-t.h"
#include "kafka/fields_gen.h"

/* ---- generated tables (codec_gen.c) ---- */
extern const struct kc_api kc_apis[];        /* sorted by api_key */
extern const size_t kc_napis;
const struct kc_api *kc_api_find(int16_t api_key);  /* NULL if unknown */
/* Header and "data" message definitions (RequestHeader, ResponseHeader,
 * ConsumerProtocolSubscription, ...), sorted by name. */
extern const struct kc_message *const kc_other_msgs[];
extern const size_t kc_nother_msgs;
const struct kc_message *kc_message_find(const char *name); /* NULL if none */

/* ---- version rules ---- */
bool kc_range_has(struct kc_range r, int16_t v);
bool kc_api_version_known(int16_t api_key, int16_t version);
bool kc_request_flexible(int16_t api_key, int16_t version);
bool kc_response_flexible(int16_t api_key, int16_t version);
/* Request header version: 2 if flexible, 1 otherwise, 0 for
 * ControlledShutdown v0. Response header: 1 if flexible, 0 otherwise, always
 * 0 for ApiVersions. Both follow flexibleVersions even for versions past
 * validVersions (as Kafka does), and return -1 for an unknown api key. */
int kc_request_header_version(int16_t api_key, int16_t version);
int kc_response_header_version(int16_t api_key, int16_t version);

/* ---- arena ---- */
void kc_arena_init(struct kc_arena *a);
void *kc_arena_alloc(struct kc_arena *a, size_t n);   /* zeroed, 8-aligned */
void kc_arena_reset(struct kc_arena *a);  /* keeps one chunk (<= 1 MiB) */
void kc_arena_free(struct kc_arena *a);

/* ---- headers ----
 * buf/len is a frame body WITHOUT its 4-byte size prefix. */
int kc_peek_request_key(const uint8_t *buf, size_t len, int16_t *api_key,
			int16_t *api_version, int32_t *correlation_id);
/* Returns KC_OK; KC_ERR_UNKNOWN_API with api_key, api_version and
 * correlation_id filled (the header length is not knowable); or
 * KC_ERR_UNKNOWN_VERSION with the whole header decoded (the header version
 * follows the API's flexibleVersions, as in Kafka), so that the caller can
 * answer e.g. an ApiVersions request of a newer version. */
int kc_decode_request_header(const uint8_t *buf, size_t len,
			     struct kc_arena *a, struct kc_req_header *h);
/* Response header: correlation id, plus tagged fields when hdr_ver == 1.
 * *hdr_len receives the header length. */
int kc_decode_response_header(const uint8_t *buf, size_t len, int hdr_ver,
			      int32_t *correlation_id, size_t *hdr_len);
/* Size of / writes a response header (v0: 4 bytes, v1: 5 bytes, no tags). */
size_t kc_response_header_size(int hdr_ver);
size_t kc_write_response_header(uint8_t *out, int hdr_ver, int32_t corr);

/* ---- bodies ----
 * Decode a whole body: must consume exactly len bytes. Strings, bytes and
 * records point into buf, which must outlive the tree. */
int kc_decode_request(int16_t api_key, int16_t version, const uint8_t *buf,
		      size_t len, struct kc_arena *a, struct kc_obj **out);
/* Like kc_decode_request, but bytes after the body are allowed (a broker
 * ignores them); *used receives the length of the body. */
int kc_decode_request_prefix(int16_t api_key, int16_t version,
			     const uint8_t *buf, size_t len, struct kc_arena *a,
			     struct kc_obj **out, size_t *used);
int kc_decode_response(int16_t api_key, int16_t version, const uint8_t *buf,
		       size_t len, struct kc_arena *a, struct kc_obj **out);
/* Lower level: any struct with an explicit flexible flag. */
int kc_decode_struct(const struct kc_struct *st, int16_t version, bool flexible,
		     const uint8_t *buf, size_t len, size_t *consumed,
		     struct kc_arena *a, struct kc_obj **out);

/* Encoded size of a tree, then encode it into out (exactly that size).
 * Returns bytes written, or a negative kc_err. */
int64_t kc_encoded_size(const struct kc_obj *o, int16_t version, bool flexible);
int64_t kc_encode(const struct kc_obj *o, int16_t version, bool flexible,
		  uint8_t *out, size_t cap);

/* ---- fields ----
 * By handle (fields_gen.h: KCF_<Message>_<field path>), when the caller
 * knows the message: a typo does not compile, and the lookup is an index.
 * A handle used on an object of another struct (another message, or a
 * struct of another shape) finds nothing, as an absent field does. */
static inline struct kc_value *kc_slot(struct kc_obj *o, enum kc_field_handle f)
{
	/* The value whether present in this version or not (tagged fields
	 * not sent are absent); NULL only for a wrong or NULL object. */
	if (!o || o->st->id != ((unsigned)f >> 8))
		return NULL;
	return &o->vals[(unsigned)f & 0xffu];
}

static inline struct kc_value *kc_at(struct kc_obj *o, enum kc_field_handle f)
{
	struct kc_value *v = kc_slot(o, f);
	return v && v->present ? v : NULL;
}

/* The description of field f (NULL when o is not of its struct). */
static inline const struct kc_field *kc_field_of(const struct kc_obj *o,
						 enum kc_field_handle f)
{
	if (!o || o->st->id != ((unsigned)f >> 8))
		return NULL;
	return &o->st->fields[(unsigned)f & 0xffu];
}

/* By name id (fields_gen.h: KCN_<Name>), for code that walks structs of
 * several messages (error codes, names of items): a short scan of integer
 * ids. NULL when absent, like kc_at. */
struct kc_value *kc_find(struct kc_obj *o, enum kc_name name);
int kc_find_index(const struct kc_struct *st, enum kc_name name);   /* -1 */
/* Field names, indexed by enum kc_name (codec_gen.c). */
extern const char *const kc_names[];

/* ---- building and editing trees ---- */
/* New object of a struct with every field present in `version` set to its
 * JSON default (0, "", false, empty array, null where default is null).
 * Tagged fields get their default too but stay present=false (they are
 * not sent); to send one, set kc_slot(o, KCF_...)->present. */
struct kc_obj *kc_obj_new(const struct kc_struct *st, int16_t version,
			  struct kc_arena *a);
/* By name string: a linear strcmp, for tests and tools only; the
 * request and response paths use kc_at or kc_find. */
int kc_field_index(const struct kc_struct *st, const char *name); /* -1 */
struct kc_value *kc_get(struct kc_obj *o, const char *name);   /* NULL if
					     no such field or not present */
/* Set a string field to a copy of s (len bytes) in the arena. */
int kc_set_string(struct kc_arena *a, struct kc_value *v, const char *s,
		  size_t len);
/* Resize an array value to n elements of struct st (new elements default). */
int kc_array_resize(struct kc_arena *a, struct kc_value *v,
		    const struct kc_field *f, int16_t version, int32_t n);
/* The same for array field f of o; returns the array value, or NULL (wrong
 * struct, field absent, out of memory). */
struct kc_value *kc_resize_at(struct kc_arena *a, struct kc_obj *o, enum kc_field_handle f,
			      int16_t version, int32_t n);

/* Build the response an API would give for `req` with error `err`:
 * top-level ErrorCode set when the response has one; otherwise the request's
 * items (topics, partitions, groups, resources...) mirrored into the
 * response arrays with their keys copied and ErrorCode set per item. */
int kc_build_error_response(int16_t api_key, int16_t version,
			    const struct kc_obj *req, int16_t err,
			    struct kc_arena *a, struct kc_obj **out);

/* Call fn for every field tagged with an entityType (topic names, group
 * ids, transactional ids, broker ids, producer ids) and for every uuid
 * field named TopicId, recursively, in wire order. For arrays of strings or
 * ints fn is called once per element. Only present values are visited, and
 * null strings (e.g. a non-transactional TransactionalId) are skipped. */
void kc_foreach_entity(struct kc_obj *o, kc_entity_fn fn, void *ctx);

const char *kc_err_str(int err);

#endif
