/* authz_impl.h - shared by authz.c (machinery), authz_apis.c (what each
 * API needs) and authz_resp.c (response fixes). Not for other modules. */
#ifndef KG_AUTHZ_IMPL_H
#define KG_AUTHZ_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enforce/authz-t.h"
#include "kafka/codec-t.h"
#include "loop/conn-t.h"
#include "acl/policy-t.h"

/* Kafka error codes used by authorization. */
#define ERR_NONE 0
#define ERR_UNKNOWN_TOPIC 3
#define ERR_TOPIC_AUTHZ 29
#define ERR_GROUP_AUTHZ 30
#define ERR_CLUSTER_AUTHZ 31
#define ERR_INVALID_REQUEST 42
#define ERR_TXN_AUTHZ 53
#define ERR_NOT_ATTEMPTED 55
#define ERR_UNKNOWN_TOPIC_ID 100

/* One decision kept for the audit log until the request is committed. */
struct authz_rec {
	enum kg_res type;              /* resource type */
	enum kg_op op;                 /* operation */
	bool allowed;                  /* outcome */
	const char *name;              /* resource name (frame or arena) */
	size_t len;                    /* its length */
	struct kg_acl_why why;         /* deciding rule */
};

/* Everything one request's decision needs. */
struct authz_ctx {
	struct kg_conn *c;             /* connection (its subject decides) */
	struct kc_arena *a;            /* c->arena: trees and scratch */
	int16_t key, ver;              /* api key and version */
	const struct kc_req_header *h; /* request header */
	struct kc_obj *req;            /* request tree (edited in place) */
	struct kg_authz_out *out;      /* result */
	bool modified;                 /* req edited: re-encode */
	struct {                       /* what item_check (authz_apis.c) asks */
		enum kg_res res;       /* resource type of each item */
		enum kg_op op;         /* operation */
		const char *field;     /* name field of a struct item; NULL:
		                          the items are strings */
		int16_t err;           /* error code of a denied item */
	} it;
};

/* Per-item decision: 0 to allow the item, else its error code. */
typedef int16_t (*authz_item_fn)(struct authz_ctx *x, struct kc_value *item);

/* authz.c */
struct kg_acl_subject *authz_subject(struct kg_conn *c);   /* NULL: none */
bool authz_check(struct authz_ctx *x, enum kg_res type, const char *name, size_t len,
		 enum kg_op op);
bool authz_check_quiet(struct kg_conn *c, enum kg_res type, const char *name,
		       size_t len, enum kg_op op);
bool authz_str(struct kc_value *v, const char **p, size_t *n);
bool authz_field_str(struct kc_obj *o, const char *field, const char **p, size_t *n);
/* Splits the top-level array `field`: allowed items stay in req, denied
 * ones become error items in out->merge. Returns the items kept, or -1. */
int authz_split(struct authz_ctx *x, const char *field, authz_item_fn fn);
/* The whole request is refused with err (Kafka's getErrorResponse). */
void authz_deny_all(struct authz_ctx *x, int16_t err);
/* A response built from out->merge when nothing is left to forward. */
void authz_local_if_empty(struct authz_ctx *x, int kept);
/* Appends src's top-level item arrays to dst's (same struct). */
int authz_merge(struct kc_arena *a, struct kc_obj *dst, const struct kc_obj *src);
/* Sets every error code field in o (recursively) to err. */
void authz_set_errors(struct kc_obj *o, int16_t err);
/* Name of a topic item: its name field, or its TopicId looked up.
 * Returns 0 with p/n set, or an error code (100 for an unknown id). */
int16_t authz_topic_name(struct authz_ctx *x, struct kc_obj *item, const char *name_field,
			 const char **p, size_t *n);

/* authz_apis.c */
void authz_apis_decide(struct authz_ctx *x);

/* authz_resp.c */
int authz_resp_fix(struct kg_conn *c, int16_t key, uint8_t post, struct kc_obj *resp);

#endif
