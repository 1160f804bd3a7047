/* config_util.c - JSON validation helpers shared by the config loaders:
 * typed getters that report the file, the JSON path and the problem. */
#define _GNU_SOURCE
#include "config/config_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kg_verr(struct vctx *v, const char *jpath, const char *fmt, ...)
{
	if (v->failed)
		return;
	v->failed = 1;
	int n = snprintf(v->err, v->errlen, "%s: %s: ", v->file, jpath);
	if (n < 0 || (size_t)n >= v->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->err + n, v->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Rejects keys of obj that are not in allowed (NULL-terminated). */
void kg_check_keys(struct vctx *v, json_t *obj, const char *jpath,
		       const char *const *allowed)
{
	const char *key;
	json_t *val;
	json_object_foreach(obj, key, val) {
		int ok = 0;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				ok = 1;
		if (!ok) {
			char p[256];
			snprintf(p, sizeof(p), "%s.%s", jpath, key);
			kg_verr(v, p, "unknown key");
		}
	}
}

json_t *kg_get_obj(struct vctx *v, json_t *parent, const char *key,
		       const char *jpath, int required)
{
	json_t *o = json_object_get(parent, key);
	char p[256];
	snprintf(p, sizeof(p), "%s.%s", jpath, key);
	if (!o) {
		if (required)
			kg_verr(v, p, "missing (an object is required)");
		return NULL;
	}
	if (!json_is_object(o)) {
		kg_verr(v, p, "must be an object");
		return NULL;
	}
	return o;
}

int64_t kg_get_int(struct vctx *v, json_t *obj, const char *key,
		       const char *jpath, int64_t min, int64_t max, int64_t dflt,
		       int required)
{
	json_t *j = obj ? json_object_get(obj, key) : NULL;
	char p[256];
	snprintf(p, sizeof(p), "%s.%s", jpath, key);
	if (!j) {
		if (required)
			kg_verr(v, p, "missing (an integer in %lld..%lld is required)",
			     (long long)min, (long long)max);
		return dflt;
	}
	if (!json_is_integer(j) || json_integer_value(j) < min ||
	    json_integer_value(j) > max) {
		kg_verr(v, p, "must be an integer in %lld..%lld", (long long)min,
		     (long long)max);
		return dflt;
	}
	return json_integer_value(j);
}

char *kg_get_str(struct vctx *v, json_t *obj, const char *key,
		     const char *jpath, const char *dflt, int required)
{
	json_t *j = obj ? json_object_get(obj, key) : NULL;
	char p[256];
	snprintf(p, sizeof(p), "%s.%s", jpath, key);
	if (!j) {
		if (required)
			kg_verr(v, p, "missing (a string is required)");
		return dflt ? strdup(dflt) : NULL;
	}
	if (!json_is_string(j) || json_string_length(j) == 0 ||
	    json_string_length(j) > 253) {
		kg_verr(v, p, "must be a non-empty string of at most 253 characters");
		return dflt ? strdup(dflt) : NULL;
	}
	return strdup(json_string_value(j));
}

