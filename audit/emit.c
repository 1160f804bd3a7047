/* emit.c - events to the writer (see emit.h). Apart from event.c so that
 * the writer can build its own records without depending on itself. */
#include "audit/emit.h"
#include "audit/event.h"
#include "audit/writer.h"

void kg_audit_ev_emit(json_t *e)
{
	size_t len = 0;
	char *s = kg_audit_ev_dump(e, &len);
	if (s)
		kg_audit_writer_submit(s, len);
}
