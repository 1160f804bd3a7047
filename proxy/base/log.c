/* log.c - timestamped log lines on stderr. A line is formatted into a local
 * buffer and written with one write(2), so lines from workers never mix. */
#define _GNU_SOURCE
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum kg_log_level kg_log_min = KG_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static bool log_json;   /* set before the threads start */

void kg_log_set_level(enum kg_log_level lvl)
{
	kg_log_min = lvl;
}

void kg_log_set_json(bool on)
{
	log_json = on;
}

/* The message as a JSON string body: quotes, backslashes and control
 * bytes escaped; bytes >= 0x80 are replaced ('?'), since a message may
 * quote untrusted input and a log shipper needs valid UTF-8. */
static size_t json_escape(const char *s, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	for (size_t i = 0; i < n && k + 7 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			out[k++] = '\\';
			out[k++] = (char)ch;
		} else if (ch < 0x20) {
			memcpy(out + k, "\\u00", 4);
			out[k + 4] = hex[ch >> 4];
			out[k + 5] = hex[ch & 15];
			k += 6;
		} else {
			out[k++] = ch < 0x80 ? (char)ch : '?';
		}
	}
	return k;
}

int kg_log_level_parse(const char *s, enum kg_log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum kg_log_level)i;
			return 0;
		}
	}
	return -1;
}

void kg_log(enum kg_log_level lvl, const char *fmt, ...)
{
	if (lvl < kg_log_min)
		return;
	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char ts_text[96];
	snprintf(ts_text, sizeof(ts_text), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
	va_list ap;
	va_start(ap, fmt);
	if (log_json) {
		char msg[2048];
		int mn = vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		size_t ml = mn < 0 ? 0 : (size_t)mn < sizeof(msg) ? (size_t)mn : sizeof(msg) - 1;
		int n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"",
				 ts_text, level_names[lvl]);
		size_t len = (size_t)n + json_escape(msg, ml, line + n, sizeof(line) - (size_t)n - 3);
		memcpy(line + len, "\"}\n", 3);
		ssize_t w = write(STDERR_FILENO, line, len + 3);
		(void)w;
		return;
	}
	int n = snprintf(line, sizeof(line), "%s %-5s ", ts_text, level_names[lvl]);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

const char *kg_log_clean(const char *s, size_t len, char *out, size_t outlen)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < outlen; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[n] = '\0';
	return out;
}
