/* users-int.h - what users.c (the sets) and users_file.c (reading and
 * writing them) share; not for other files. */
#ifndef KG_AUTH_USERS_INT_H
#define KG_AUTH_USERS_INT_H

#include <stddef.h>
#include "auth/users-t.h"

/* 0 valid; 1 empty; 2 too long; 3 not UTF-8; 4 control character. */
int kg_users_name_check(const char *name, size_t len);
/* Order of users[] (by name), for qsort and the binary search. */
int kg_users_cmp(const void *a, const void *b);
/* Recomputes what fake credentials copy (most common iteration count and
 * salt length) after a change. 0, or -1 when out of memory. */
int kg_users_stats(struct kg_users *u);

#endif
