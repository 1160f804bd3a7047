/* verify.h - checking audit log files: the chain, the HMACs, the seals. */
#ifndef KG_AUDIT_VERIFY_H
#define KG_AUDIT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit-t.h"

#define KG_AUDIT_KEY_MAX 1024          /* longest HMAC key, bytes */

/* Reads an HMAC key: the file's bytes without one trailing newline.
 * check_mode refuses a file that group or others may read. 0, or -1 with
 * a message. */
int kg_audit_key_load(const char *path, bool check_mode, uint8_t key[KG_AUDIT_KEY_MAX],
		      size_t *len, char *err, size_t errlen);

/* Checks files, given in rotation order (oldest first), as one chain.
 * key NULL: HMACs are not checked. live: the last file may end without a
 * seal (it is also taken as live when a running gateway holds its lock).
 * Stops at the first problem. Returns r->verdict (KG_AV_OK when intact). */
int kg_audit_verify(const char *const *files, size_t n, const uint8_t *key, size_t keylen,
		    bool live, struct kg_audit_verify_result *r);

/* The same, and every anchor (anchor.h; sorted by seq, read from
 * anchors_path) within or past the files' seq range must name a record of
 * the chain: one past its end means records were cut off the end, one
 * whose record has another hash means the log was rewritten from there. */
struct kg_audit_anchor;
int kg_audit_verify_anchored(const char *const *files, size_t n, const uint8_t *key,
			     size_t keylen, bool live, const struct kg_audit_anchor *anchors,
			     size_t nanchors, const char *anchors_path,
			     struct kg_audit_verify_result *r);

/* "edited", "deleted", ... for messages. */
const char *kg_audit_verdict_name(int verdict);

#endif
