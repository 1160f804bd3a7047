/* authz-t.h - authorization of one connection's requests: its state, and
 * what was decided for one request. */
#ifndef KG_ENFORCE_AUTHZ_T_H
#define KG_ENFORCE_AUTHZ_T_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "kafka/codec-t.h"

struct kg_acl_subject;
struct kg_group_regex;
struct kg_audit_conn;

/* What authorization keeps per connection. The connection fills the
 * first three fields when it opens; the rest belongs to enforce/. */
struct kg_authz_conn {
	const char *principal;         /* "User:..." (the connection's
	                                  identity, owned by its authn) */
	const struct sockaddr *peer;   /* client address, for host rules */
	struct kg_audit_conn *audit;   /* where decisions are recorded, or
	                                  NULL (auditing off) */
	struct kg_acl_subject *subject;/* the principal's view of the policy */
	uint64_t gen;                  /* policy generation subject was built from */
	void *recs;                    /* decisions awaiting kg_authz_commit
	                                  (in the frame's arena) */
	struct kg_group_regex *regex;  /* a KIP-848 regex subscription the
	                                  gateway resolves (group_regex.c), or
	                                  NULL */
};

enum kg_authz_verdict {
	KG_AUTHZ_FORWARD,              /* forward the frame as it came */
	KG_AUTHZ_REWRITE,              /* forward the edited request tree */
	KG_AUTHZ_LOCAL,                /* answer with `local`, broker not asked */
	KG_AUTHZ_CLOSE                 /* close the connection (acks=0 denied) */
};

/* Response fixes an in-flight request needs (kg_inflight.post bits). */
enum kg_authz_post {
	KG_POST_FILTER = 1,            /* hide / mask / re-compute per API
	                                  (authz_resp.c) */
	KG_POST_AUTOCREATE = 2,        /* Metadata: auto-creation was turned
	                                  off for topics without CREATE: their
	                                  UNKNOWN_TOPIC_OR_PARTITION becomes 29 */
	KG_POST_ALL_TOPICS = 4,        /* the request asked for all topics */
	KG_POST_BY_ID = 8              /* Metadata: the topics were asked for
	                                  by id */
};

struct kg_authz_out {
	enum kg_authz_verdict verdict; /* see above */
	struct kc_obj *local;          /* KG_AUTHZ_LOCAL: the whole response */
	struct kc_obj *merge;          /* errors for the denied items, merged
	                                  into the broker's response, or NULL */
	uint8_t post;                  /* enum kg_authz_post bits */
	const char *reason;            /* KG_AUTHZ_CLOSE: why */
};

#endif
