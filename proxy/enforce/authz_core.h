/* authz_core.h - the authorization machinery shared by authz_apis.c (what
 * each API needs), authz_resp.c (response fixes) and authz.c (the entry
 * points): one check, splitting a request into allowed and denied items,
 * merging denied items' errors. Not for other folders. */
#ifndef KG_ENFORCE_AUTHZ_CORE_H
#define KG_ENFORCE_AUTHZ_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl/policy-t.h"
#include "enforce/authz-t.h"
#include "kafka/codec-t.h"
#include "kafka/fields_gen.h"

/* Everything one request's decision needs. */
struct authz_ctx {
	struct kg_authz_conn *z;       /* connection (its subject decides) */
	struct kc_arena *a;            /* the frame's arena: trees, scratch */
	int16_t key, ver;              /* api key and version */
	const struct kc_req_header *h; /* request header */
	struct kc_obj *req;            /* request tree (edited in place) */
	struct kg_authz_out *out;      /* result */
	bool modified;                 /* req edited: re-encode */
	struct {                       /* what item_check (authz_apis.c) asks */
		enum kg_res res;       /* resource type of each item */
		enum kg_op op;         /* operation */
		enum kc_field_handle field; /* name field of a struct item;
		                          KCF_NONE: the items are strings */
		int16_t err;           /* error code of a denied item */
	} it;
};

/* Per-item decision: 0 to allow the item, else its error code. */
typedef int16_t (*authz_item_fn)(struct authz_ctx *x, struct kc_value *item);

/* The connection's view of the current policy, rebuilt after a swap;
 * NULL when there is none (out of memory): callers fail closed. */
struct kg_acl_subject *authz_subject(struct kg_authz_conn *z);
/* One decision, kept for the audit log when auditing is on. */
bool authz_check(struct authz_ctx *x, enum kg_res type, const char *name, size_t len,
		 enum kg_op op);
/* One decision not recorded (response filtering). */
bool authz_check_quiet(struct kg_authz_conn *z, enum kg_res type, const char *name,
		       size_t len, enum kg_op op);
/* Starts / ends the record of one request's decisions (audit on). */
bool authz_recs_begin(struct kg_authz_conn *z, struct kc_arena *a);
void authz_recs_commit(struct kg_authz_conn *z, int16_t api_key);

/* A string value's bytes (false when absent or null). */
bool authz_str(struct kc_value *v, const char **p, size_t *n);
bool authz_field_str(struct kc_obj *o, enum kc_field_handle f, const char **p, size_t *n);
/* Name of a topic item: its name field, or its TopicId looked up.
 * Returns 0 with p/n set, or an error code (100 for an unknown id). */
int16_t authz_topic_name(struct authz_ctx *x, struct kc_obj *item, enum kc_field_handle name,
			 const char **p, size_t *n);
/* Splits the top-level array `field`: allowed items stay in req, denied
 * ones become error items in out->merge. Returns the items kept, or -1. */
int authz_split(struct authz_ctx *x, enum kc_field_handle field, authz_item_fn fn);
/* The whole request is refused with err (Kafka's getErrorResponse). */
void authz_deny_all(struct authz_ctx *x, int16_t err);
/* A response built from out->merge when nothing is left to forward. */
void authz_local_if_empty(struct authz_ctx *x, int kept);
/* Appends src's top-level item arrays to dst's (same struct). */
int authz_merge(struct kc_arena *a, struct kc_obj *dst, const struct kc_obj *src);
/* Sets every error code field in o (recursively) to err. */
void authz_set_errors(struct kc_obj *o, int16_t err);

#endif
