/* writer.h - the audit writer thread behind a bounded queue. */
#ifndef KG_AUDIT_WRITER_H
#define KG_AUDIT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit-t.h"

/* Opens the sink and starts the thread. cfg must outlive the writer; key
 * (copied) may be NULL. 0, or -1 with a message. */
int kg_audit_writer_start(const struct kg_audit_cfg *cfg, const uint8_t *key, size_t keylen,
			  char *err, size_t errlen);
/* Queues one event body (compact JSON "{...}", malloc'd; ownership
 * passes). With a full queue: waits (block policy) or drops and counts
 * (drop policy). Returns 0 when queued, -1 when dropped. Thread safe. */
int kg_audit_writer_submit(char *body, size_t len);
/* logrotate moved the file: seal the old one and open the name again. */
void kg_audit_writer_reopen(void);
/* A stop is coming: from now on a producer or the writer waiting for a
 * failing sink gives up after cfg->stop_timeout_ms. */
void kg_audit_writer_stopping(void);
/* Writes what is queued, a final seal, syncs and joins the thread. */
void kg_audit_writer_stop(void);
bool kg_audit_writer_running(void);
void kg_audit_writer_stats(struct kg_audit_stats *s);
/* previous_run of the chain head found at start ("new", "clean", ...). */
const char *kg_audit_writer_previous_run(void);
/* The log's end against audit.anchor_file at start: NULL when they agree
 * (or no anchors), "missing" or "replaced" with *detail saying what. */
const char *kg_audit_writer_tail_check(const char **detail);

#endif
