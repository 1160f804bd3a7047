/* authz.c - the entry points of authorization (authz.h): decide a request
 * (authz_apis.c says what each API needs), record the decisions, fix the
 * broker's response (authz_resp.c) and merge the denied items back in. */
#include "enforce/group_regex.h"
#include "enforce/authz.h"
#include "acl/policy.h"
#include "enforce/authz_apis.h"
#include "enforce/authz_core.h"
#include "enforce/authz_resp.h"
#include "kafka/codec.h"

#include <string.h>

void kg_authz_release(struct kg_authz_conn *z)
{
	kg_group_regex_free(z);
	kg_acl_subject_free(z->subject);
	z->subject = NULL;
	z->gen = 0;
}

void kg_authz_request(struct kg_authz_conn *z, struct kc_arena *a,
		      const struct kc_req_header *h, struct kc_obj *req,
		      struct kg_authz_out *out)
{
	memset(out, 0, sizeof(*out));
	/* Decisions are kept for kg_authz_commit only when there is an
	 * audit log to write them to. */
	z->recs = NULL;
	bool recording = z->audit && authz_recs_begin(z, a);
	struct authz_ctx x = { .z = z, .a = a, .key = h->api_key, .ver = h->api_version,
			       .h = h, .req = req, .out = out };
	authz_apis_decide(&x);
	if (out->verdict == KG_AUTHZ_FORWARD && x.modified)
		out->verdict = KG_AUTHZ_REWRITE;
	if (z->audit && !recording) {
		/* Out of memory for the audit trail: refuse rather than
		 * forward something unrecorded. */
		out->verdict = KG_AUTHZ_CLOSE;
		out->reason = "out of memory";
	}
}

void kg_authz_commit(struct kg_authz_conn *z, int16_t api_key)
{
	authz_recs_commit(z, api_key);
}

int kg_authz_response(struct kg_authz_conn *z, struct kc_arena *a, int16_t api_key,
		      int16_t version, uint8_t post, const uint8_t *merge, uint32_t merge_len,
		      struct kc_obj *resp)
{
	/* Fixes first: they must not hide the merged denial entries. */
	int rc = authz_resp_fix(z, a, api_key, version, post, resp);
	if (rc < 0)
		return -1;
	if (merge) {
		struct kc_obj *m;
		if (kc_decode_response(api_key, version, merge, merge_len, a, &m) != KC_OK ||
		    authz_merge(a, resp, m) < 0)
			return -1;
		rc = 1;
	}
	return rc;
}
