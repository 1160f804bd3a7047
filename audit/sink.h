/* sink.h - where audit records go: a file (rotation, reopen), stdout or
 * syslog. Used by the writer thread only. */
#ifndef KG_AUDIT_SINK_H
#define KG_AUDIT_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include "audit/audit-t.h"

/* Opens the sink the settings name. For a file, head receives where the
 * chain stands (its last record, or that of the newest rotated file) and
 * a torn last line left by a crash is cut off. 0, or -1 with a message. */
int kg_audit_sink_open(struct kg_audit_sinkst *s, const struct kg_audit_cfg *cfg,
		       struct kg_audit_head *head, char *err, size_t errlen);
/* Writes whole lines. All or nothing for a file: a failed write is cut
 * back to the previous size, so no torn record stays. 0, or -1 with a
 * message (errno kept). */
int kg_audit_sink_write(struct kg_audit_sinkst *s, const char *p, size_t len, char *err,
			size_t errlen);
/* fdatasync for a file; 0 for the others. */
int kg_audit_sink_sync(struct kg_audit_sinkst *s);
/* Whether the file's name now points at another file or nothing
 * (logrotate moved it): the writer then seals and reopens. */
bool kg_audit_sink_moved(const struct kg_audit_sinkst *s);
/* Renames the live file to "<path>.<UTC time>" and opens a new one. */
int kg_audit_sink_rotate(struct kg_audit_sinkst *s, char *err, size_t errlen);
/* Closes the open file and opens path again (after logrotate). */
int kg_audit_sink_reopen(struct kg_audit_sinkst *s, char *err, size_t errlen);
void kg_audit_sink_close(struct kg_audit_sinkst *s);
/* Monotonic clock, seconds. */
double kg_audit_mono(void);

#endif
