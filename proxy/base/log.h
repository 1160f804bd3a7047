/* log.h - leveled logging to stderr, one line per call, thread safe. */
#ifndef KG_LOG_H
#define KG_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum kg_log_level { KG_LOG_DEBUG, KG_LOG_INFO, KG_LOG_WARN, KG_LOG_ERROR };

void kg_log_set_level(enum kg_log_level lvl);
/* One JSON object per line ({"ts", "level", "msg"}) instead of text. */
void kg_log_set_json(bool on);
int kg_log_level_parse(const char *s, enum kg_log_level *out);
void kg_log(enum kg_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
extern enum kg_log_level kg_log_min;
/* Copies untrusted bytes (e.g. a host name from a broker) for a log line,
 * with anything but printable ASCII replaced by '?'. Returns out. */
const char *kg_log_clean(const char *s, size_t len, char *out, size_t outlen);

#define log_debug(...) do { if (kg_log_min <= KG_LOG_DEBUG) kg_log(KG_LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  kg_log(KG_LOG_INFO, __VA_ARGS__)
#define log_warn(...)  kg_log(KG_LOG_WARN, __VA_ARGS__)
#define log_error(...) kg_log(KG_LOG_ERROR, __VA_ARGS__)

#endif
