/* text.h - a growing text buffer for the admin listener's answers. */
#ifndef KG_OPS_TEXT_H
#define KG_OPS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct kg_text {
	char *p;                       /* the text (malloc'd), NUL-terminated */
	size_t len;                    /* bytes used, without the NUL */
	size_t cap;                    /* bytes allocated */
	bool oom;                      /* an append failed: the text is cut */
};

void kg_text_printf(struct kg_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kg_text_free(struct kg_text *t);

#endif
