/* anchor.h - the chain head written outside the audit log, so that a cut
 * tail shows: every audit.anchor_interval_ms (and at every seal) the writer
 * appends {"type":"audit_anchor","seq":N,"hash":H,...} to audit.anchor_file
 * and/or sends it to syslog. Whoever cuts records off the end of the log
 * (seal included, while the gateway is stopped) leaves anchors naming
 * records that no longer exist: the gateway says so when it starts, and
 * `audit verify --anchors` reports it.
 *
 *   writer: batch written --note(seq, hash)--> due? --> anchor file, syslog
 *   start:  anchor file's last anchor  vs  the log's last record --> check
 *
 * Writer thread only (start and note), after kg_audit_anchor_open. */
#ifndef KG_AUDIT_ANCHOR_H
#define KG_AUDIT_ANCHOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit-t.h"

/* Opens cfg's anchor file (created 0600 if missing) and reads its last
 * anchor. 0 (also when anchors are off), or -1 with a message. */
int kg_audit_anchor_open(const struct kg_audit_cfg *cfg, char *err, size_t errlen);
/* Compares the last anchor with the log's head. NULL when they agree (or
 * there is nothing to compare); else "missing" (the anchored record is
 * past the log's end) or "replaced" (the log's record with that seq has
 * another hash), with what was found in detail. */
const char *kg_audit_anchor_check(const struct kg_audit_head *head, char *detail, size_t len);
/* The chain now ends at (seq, hash): anchors it when due, or now with
 * force (seals). */
void kg_audit_anchor_note(uint64_t seq, const uint8_t hash[KG_AUDIT_HASH_LEN], bool force);
void kg_audit_anchor_close(void);

/* One anchor as read back (verify.c). */
struct kg_audit_anchor {
	uint64_t seq;                  /* anchored record */
	uint8_t hash[KG_AUDIT_HASH_LEN]; /* its hash */
	uint64_t line;                 /* where it was read */
};
/* Reads the anchors of a file: lines holding an "audit_anchor" object,
 * anywhere on the line (syslog or journal prefixes are skipped). Other
 * lines are ignored. Returns the count (malloc'd *out, sorted by seq), or
 * -1 with a message. */
long kg_audit_anchors_read(const char *path, struct kg_audit_anchor **out, char *err,
			   size_t errlen);

#endif
