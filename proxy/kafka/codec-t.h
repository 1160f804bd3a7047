/*
 * codec-t.h - types of the table-driven Kafka protocol codec.
 *
 * The tables (codec_gen.c, generated from Kafka's JSON message definitions)
 * describe every request/response body as a tree of kc_struct/kc_field.
 * The runtime (codec.c) walks those tables to decode a frame into a tree of
 * kc_value held in a kc_arena, to re-encode such a tree, and to visit fields.
 *
 *   bytes --kc_decode--> kc_obj tree (strings/bytes point into the frame)
 *   kc_obj tree --kc_encoded_size/kc_encode--> bytes (exact size computed first)
 */
#ifndef KG_CODEC_T_H
#define KG_CODEC_T_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Wire types of a field (Kafka JSON "type"). */
enum kc_type {
	KC_BOOL, KC_INT8, KC_INT16, KC_UINT16, KC_INT32, KC_UINT32, KC_INT64,
	KC_FLOAT64, KC_UUID, KC_STRING, KC_BYTES, KC_RECORDS, KC_STRUCT,
	KC_ARRAY
};

/* Kafka JSON "entityType": what a field names. */
enum kc_entity {
	KC_ENT_NONE, KC_ENT_TOPIC_NAME, KC_ENT_GROUP_ID, KC_ENT_TXN_ID,
	KC_ENT_BROKER_ID, KC_ENT_PRODUCER_ID,
	KC_ENT_TOPIC_ID              /* not a JSON entityType: uuid fields named TopicId */
};

/* kc_field.flags */
#define KC_FIELD_ERROR_CODE 1        /* an int16 named ...ErrorCode */

/* Version range; max == INT16_MAX means "N+", min > max means "none". */
struct kc_range {
	int16_t min;                 /* first version (inclusive) */
	int16_t max;                 /* last version (inclusive) */
};

struct kc_struct;

/* One field of a struct, as described by the message definitions. */
struct kc_field {
	const char *name;            /* JSON name, e.g. "TopicId" */
	uint16_t name_id;            /* the same as enum kc_name (KCN_TopicId) */
	uint8_t flags;               /* KC_FIELD_* bits */
	uint8_t type;                /* enum kc_type */
	uint8_t elem_type;           /* for KC_ARRAY: enum kc_type of elements */
	uint8_t entity;              /* enum kc_entity of the field / elements */
	int32_t tag;                 /* tag number, -1 when never tagged */
	struct kc_range versions;    /* versions in which the field exists */
	struct kc_range nullable;    /* versions in which it may be null */
	struct kc_range tagged;      /* versions in which it is a tagged field */
	struct kc_range flexible;    /* field-level flexibleVersions override;
	                                min>max: never flexible ("none");
	                                equal to message's when not overridden */
	const char *def;             /* JSON "default" text or NULL
	                                (ints in decimal, bools true/false) */
	int64_t def_int;             /* def parsed, for bool/int types; 0 when
	                                no default (saves parsing at run time) */
	const struct kc_struct *sub; /* KC_STRUCT, or KC_ARRAY of structs */
};

/* A struct (message body, nested struct, or array element struct). */
struct kc_struct {
	const char *name;            /* e.g. "MetadataResponseBroker" */
	uint16_t id;                 /* its number in the tables: the upper
	                                bits of its fields' KCF_ handles */
	uint16_t nfields;            /* number of entries in fields[] */
	const struct kc_field *fields;
};

/* One message definition (a request or a response body). */
struct kc_message {
	const char *name;            /* e.g. "MetadataRequest" */
	int16_t api_key;             /* -1 for headers / data */
	struct kc_range valid;       /* validVersions */
	struct kc_range flexible;    /* flexibleVersions */
	bool latest_unstable;        /* latestVersionUnstable */
	const struct kc_struct *body;/* root struct */
};

/* One API: request and response definitions share the key. */
struct kc_api {
	int16_t api_key;             /* Kafka api key */
	const char *name;            /* e.g. "Metadata" */
	const struct kc_message *request;
	const struct kc_message *response;
	uint8_t listeners;           /* bit 0: broker, bit 1: controller,
	                                bit 2: zkBroker (JSON "listeners") */
};

/* Bump allocator for decoded trees; reset per frame, never freed piecemeal. */
struct kc_arena {
	uint8_t *base;               /* current chunk */
	size_t used;                 /* bytes used in current chunk */
	size_t cap;                  /* size of current chunk */
	struct kc_arena_chunk *old;  /* earlier chunks, freed on reset */
	size_t total;                /* bytes of all live chunks */
	size_t max_total;            /* cap on total; allocations beyond it
	                                fail (KC_ERR_NOMEM). kc_arena_init sets
	                                KC_ARENA_MAX_DEFAULT; callers may change
	                                it afterwards */
};

/* Default arena cap: bounds the memory one hostile frame can cost. */
#define KC_ARENA_MAX_DEFAULT ((size_t)64 << 20)

struct kc_obj;

/* Unknown tagged field kept verbatim so a rewrite preserves it. */
struct kc_tag_raw {
	uint32_t tag;                /* tag number */
	uint32_t len;                /* length of data */
	const uint8_t *data;         /* points into the frame or the arena */
};

/* A decoded value; which member is valid follows the field's type. */
struct kc_value {
	union {
		int64_t i;                   /* bool, ints, uints */
		double f;                    /* float64 */
		uint8_t uuid[16];            /* uuid */
		struct {
			const uint8_t *p;    /* data (frame or arena) */
			int32_t len;         /* -1 means null */
		} b;                         /* string, bytes, records */
		struct kc_obj *obj;          /* struct; NULL if null/absent */
		struct {
			struct kc_value *v;  /* elements */
			int32_t n;           /* count; -1 means null */
		} arr;                       /* array */
	} u;
	bool present;                /* false: field absent in this version,
	                                or tagged field not sent */
};

/* A decoded struct instance. */
struct kc_obj {
	const struct kc_struct *st;  /* its description */
	struct kc_value *vals;       /* st->nfields values, in field order */
	struct kc_tag_raw *unknown;  /* unknown tagged fields, in wire order */
	uint32_t nunknown;           /* count of unknown[] */
};

/* Request header (v0-v2) as decoded from a frame. */
struct kc_req_header {
	int16_t api_key;             /* RequestApiKey */
	int16_t api_version;         /* RequestApiVersion */
	int32_t correlation_id;      /* CorrelationId */
	const uint8_t *client_id;    /* points into the frame; NULL if null */
	int16_t client_id_len;       /* -1 if null */
	uint8_t header_version;      /* 0, 1 or 2 */
	struct kc_tag_raw *tags;     /* header tagged fields (v2) */
	uint32_t ntags;              /* count of tags */
	size_t header_len;           /* bytes of header; body starts there */
};

/* Result codes of the codec. */
enum kc_err {
	KC_OK = 0,
	KC_ERR_SHORT = -1,           /* frame ends inside a field */
	KC_ERR_MALFORMED = -2,       /* nonsense length, bad varint, null where
	                                not nullable, trailing bytes, ... */
	KC_ERR_UNKNOWN_API = -3,     /* api key not in the tables */
	KC_ERR_UNKNOWN_VERSION = -4, /* version outside validVersions */
	KC_ERR_NOMEM = -5            /* arena exhausted */
};

/* Visitor for kc_foreach_entity(): one call per named entity. */
typedef void (*kc_entity_fn)(void *ctx, enum kc_entity ent,
			     const struct kc_field *f, struct kc_value *v);

#endif
