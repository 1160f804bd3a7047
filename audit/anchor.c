/* anchor.c - chain anchors outside the log (see anchor.h).
 *
 * An anchor line is small and fixed in shape:
 *   {"time":"...","type":"audit_anchor","instance":"gw-1","seq":42,"hash":"<64 hex>"}
 * It needs no chain of its own: its (seq, hash) is checked against the
 * log's records, whose hashes (and HMACs) are what the key protects.
 */
#define _GNU_SOURCE
#include "audit/anchor.h"
#include "audit/chain.h"
#include "audit/event.h"
#include "audit/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static struct {
	const struct kg_audit_cfg *cfg; /* settings; NULL: anchors off */
	int fd;                        /* anchor file, -1: none */
	bool have_last;                /* the file held an anchor at start */
	struct kg_audit_anchor last;   /* the last one, read at start */
	uint64_t noted_seq;            /* seq anchored last (this run) */
	double noted_at;               /* when (mono) */
} A = { .fd = -1 };

/* Parses an anchor object found at p: seq and hash. */
static bool parse_anchor(const char *p, struct kg_audit_anchor *a)
{
	if (!strstr(p, "\"type\":\"audit_anchor\""))
		return false;
	const char *s = strstr(p, "\"seq\":"), *h = strstr(p, "\"hash\":\"");
	if (!s || !h)
		return false;
	char *end;
	errno = 0;
	unsigned long long seq = strtoull(s + 6, &end, 10);
	if (errno || end == s + 6)
		return false;
	h += 8;
	if (strlen(h) < 2 * KG_AUDIT_HASH_LEN || h[2 * KG_AUDIT_HASH_LEN] != '"' ||
	    kg_audit_unhex(h, KG_AUDIT_HASH_LEN, a->hash) < 0)
		return false;
	a->seq = seq;
	return true;
}

static int by_seq(const void *x, const void *y)
{
	const struct kg_audit_anchor *a = x, *b = y;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

long kg_audit_anchors_read(const char *path, struct kg_audit_anchor **out, char *err,
			   size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "anchors %s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = NULL;
	size_t cap = 0, n = 0, acap = 0;
	uint64_t ln = 0;
	struct kg_audit_anchor *v = NULL;
	while (getline(&buf, &cap, f) > 0) {
		ln++;
		const char *brace = strchr(buf, '{');
		struct kg_audit_anchor a = { .line = ln };
		if (!brace || !parse_anchor(brace, &a))
			continue;
		if (n == acap) {
			acap = acap ? acap * 2 : 64;
			struct kg_audit_anchor *nv = realloc(v, acap * sizeof(*v));
			if (!nv) {
				free(v);
				free(buf);
				fclose(f);
				snprintf(err, errlen, "anchors %s: out of memory", path);
				return -1;
			}
			v = nv;
		}
		v[n++] = a;
	}
	free(buf);
	fclose(f);
	if (n)
		qsort(v, n, sizeof(*v), by_seq);
	*out = v;
	return (long)n;
}

int kg_audit_anchor_open(const struct kg_audit_cfg *cfg, char *err, size_t errlen)
{
	A.cfg = cfg->anchor_file || cfg->anchor_syslog ? cfg : NULL;
	if (cfg->anchor_syslog && cfg->sink != KG_AUDIT_SINK_SYSLOG)
		openlog(cfg->syslog_ident, LOG_PID | LOG_NDELAY, cfg->syslog_facility);
	A.fd = -1;
	A.have_last = false;
	A.noted_seq = 0;
	A.noted_at = 0;
	if (!cfg->anchor_file)
		return 0;
	struct kg_audit_anchor *v = NULL;
	char rerr[320];
	long n = access(cfg->anchor_file, F_OK) == 0
		 ? kg_audit_anchors_read(cfg->anchor_file, &v, rerr, sizeof(rerr)) : 0;
	if (n < 0) {
		snprintf(err, errlen, "audit: %s", rerr);
		return -1;
	}
	if (n > 0) {
		A.last = v[n - 1];
		A.have_last = true;
	}
	free(v);
	A.fd = open(cfg->anchor_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (A.fd < 0) {
		snprintf(err, errlen, "audit: anchor file %s: %s", cfg->anchor_file, strerror(errno));
		return -1;
	}
	return 0;
}

const char *kg_audit_anchor_check(const struct kg_audit_head *head, char *detail, size_t len)
{
	if (!A.have_last)
		return NULL;
	char want[2 * KG_AUDIT_HASH_LEN + 1];
	kg_audit_hex(A.last.hash, KG_AUDIT_HASH_LEN, want);
	if (A.last.seq > head->seq) {
		snprintf(detail, len, "the anchor file names seq %llu (hash %.16s...), the log ends at "
			 "seq %llu: records were cut off its end", (unsigned long long)A.last.seq, want,
			 (unsigned long long)head->seq);
		return "missing";
	}
	if (A.last.seq == head->seq && memcmp(A.last.hash, head->hash, KG_AUDIT_HASH_LEN)) {
		snprintf(detail, len, "the log's record seq %llu is not the anchored one (hash "
			 "%.16s...): the end of the log was replaced", (unsigned long long)head->seq,
			 want);
		return "replaced";
	}
	return NULL;
}

void kg_audit_anchor_note(uint64_t seq, const uint8_t hash[KG_AUDIT_HASH_LEN], bool force)
{
	if (!A.cfg || seq == 0 || seq == A.noted_seq)
		return;
	double now = kg_audit_mono();
	if (!force && A.noted_seq && now - A.noted_at < A.cfg->anchor_interval_ms / 1000.0)
		return;
	char hex[2 * KG_AUDIT_HASH_LEN + 1];
	kg_audit_hex(hash, KG_AUDIT_HASH_LEN, hex);
	json_t *e = kg_audit_ev_new("audit_anchor");
	kg_audit_set_int(e, "seq", (int64_t)seq);
	kg_audit_set_cstr(e, "hash", hex);
	size_t len = 0;
	char *body = kg_audit_ev_dump(e, &len);
	char *line = body ? realloc(body, len + 1) : NULL;
	if (!line) {
		free(body);
		return;
	}
	line[len] = '\n';
	int n = (int)len + 1;
	if (A.fd >= 0) {
		/* Small appends: a short write only on a full disk, which the
		 * next anchor retries. */
		ssize_t w = write(A.fd, line, (size_t)n);
		if (w == n)
			fdatasync(A.fd);
	}
	if (A.cfg->anchor_syslog)
		syslog(A.cfg->syslog_facility | LOG_NOTICE, "%.*s", n - 1, line);
	free(line);
	A.noted_seq = seq;
	A.noted_at = now;
}

void kg_audit_anchor_close(void)
{
	if (A.fd >= 0)
		close(A.fd);
	A.fd = -1;
	A.cfg = NULL;
}
