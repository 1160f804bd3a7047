/* text.c - a growing text buffer (text.h). */
#include "ops/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void kg_text_printf(struct kg_text *t, const char *fmt, ...)
{
	if (t->oom)
		return;
	for (;;) {
		size_t room = t->cap - t->len;
		va_list ap;
		va_start(ap, fmt);
		int n = t->p ? vsnprintf(t->p + t->len, room, fmt, ap) : -2;
		va_end(ap);
		if (n == -1) {
			t->oom = true;
			return;
		}
		if (n >= 0 && (size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap * 2 : 16384;
		while (n >= 0 && cap - t->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(t->p, cap);
		if (!p) {
			t->oom = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
}

void kg_text_free(struct kg_text *t)
{
	free(t->p);
	*t = (struct kg_text){ 0 };
}
