/* event.c - audit events as jansson objects, dumped compact and ASCII-only
 * (one record = one line, safe for syslog), in insertion order: "time",
 * "type", "instance", then the event's own fields (README "Audit log"). */
#define _GNU_SOURCE
#include "audit/event.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *instance;             /* set before the writer starts */

int64_t kg_audit_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void kg_audit_time_str(int64_t us, char out[32])
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	/* Years past 9999 do not fit: clamp rather than truncate oddly. */
	int year = tm.tm_year + 1900 > 9999 ? 9999 : tm.tm_year + 1900;
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", year & 0x3fff,
		 (tm.tm_mon + 1) & 0x1f, tm.tm_mday & 0x1f, tm.tm_hour & 0x1f, tm.tm_min & 0x3f,
		 tm.tm_sec & 0x3f, (int)((us % 1000000 + 1000000) % 1000000));
}

void kg_audit_ev_instance(const char *id)
{
	free(instance);
	instance = id ? strdup(id) : NULL;
}

json_t *kg_audit_ev_new(const char *type)
{
	json_t *e = json_object();
	if (!e)
		return NULL;
	char t[32];
	kg_audit_time_str(kg_audit_now_us(), t);
	json_object_set_new(e, "time", json_string(t));
	json_object_set_new(e, "type", json_string(type));
	if (instance)
		kg_audit_set_cstr(e, "instance", instance);
	return e;
}

void kg_audit_set_str(json_t *o, const char *key, const char *s, size_t len)
{
	if (!o || !s)
		return;
	bool clean = true;
	for (size_t i = 0; i < len && clean; i++)
		clean = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
	json_t *v = clean ? json_stringn(s, len) : NULL;    /* NULL: bad UTF-8 */
	if (!v) {
		/* Not clean text: keep printable ASCII only. */
		char *c = malloc(len + 1);
		if (!c)
			return;
		for (size_t i = 0; i < len; i++)
			c[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
		v = json_stringn(c, len);
		free(c);
	}
	json_object_set_new(o, key, v);
}

void kg_audit_set_cstr(json_t *o, const char *key, const char *s)
{
	if (s)
		kg_audit_set_str(o, key, s, strlen(s));
}

void kg_audit_set_int(json_t *o, const char *key, int64_t v)
{
	if (o)
		json_object_set_new(o, key, json_integer((json_int_t)v));
}

void kg_audit_set_bool(json_t *o, const char *key, int v)
{
	if (o)
		json_object_set_new(o, key, json_boolean(v));
}

char *kg_audit_ev_dump(json_t *e, size_t *len)
{
	if (!e)
		return NULL;
	/* 12 significant digits: 0.404, not 0.40400000000000003 */
	char *s = json_dumps(e, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
	json_decref(e);
	if (s)
		*len = strlen(s);
	return s;
}

