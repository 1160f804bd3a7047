/* sink.c - the audit log's destinations.
 *
 * File: opened O_APPEND with mode 0600 and an exclusive flock(2) held for
 * as long as it is the live file, so a second gateway cannot interleave
 * records and `audit verify` can tell the live file (locked, may end
 * without a seal) from a truncated one. Rotation renames the live file to
 * "<path>.<UTC time>" (names sort in time order) and opens a new one; a
 * reopen after logrotate opens the name again. A write is all or nothing:
 * when the disk fails halfway the file is cut back, so the chain never
 * holds a torn record.
 *
 * stdout: lines on fd 1 (logs go to stderr). syslog: one message per
 * record, the line without its newline.
 */
#define _GNU_SOURCE
#include "audit/sink.h"
#include "audit/chain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* How far back the last record is looked for (records are far shorter). */
#define TAIL_MAX ((size_t)16 << 20)

double kg_audit_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_file(struct kg_audit_sinkst *s, char *err, size_t errlen)
{
	int fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", s->path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s is locked by another process (another gateway writing it?)",
			 s->path);
		close(fd);
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", s->path);
		close(fd);
		return -1;
	}
	s->fd = fd;
	s->size = (uint64_t)st.st_size;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->opened = kg_audit_mono();
	return 0;
}

/* The last complete line of fd (size bytes): at *off, *len bytes, in
 * *buf and *torn = offset where an unfinished line begins (size when
 * none). 1 found, 0 no complete line, -1 read error. */
static int last_line(int fd, uint64_t size, char **buf, size_t *off, size_t *len,
		     uint64_t *torn)
{
	size_t want = size < 65536 ? (size_t)size : 65536;
	*buf = NULL;
	*torn = size;
	for (;;) {
		char *b = realloc(*buf, want + 1);
		if (!b)
			return -1;
		*buf = b;
		uint64_t base = size - want;
		if (pread(fd, b, want, (off_t)base) != (ssize_t)want)
			return -1;
		/* end of the last complete line */
		size_t e = want;
		while (e > 0 && b[e - 1] != '\n')
			e--;
		if (e == 0 && base == 0) {
			*torn = 0;                 /* no newline at all */
			return 0;
		}
		if (e > 0) {
			*torn = base + e;
			size_t s = e - 1;
			while (s > 0 && b[s - 1] != '\n')
				s--;
			if (s > 0 || base == 0) {
				*off = s;
				*len = e - 1 - s;
				return 1;
			}
		}
		if (want >= TAIL_MAX || want == size)
			return base == 0 ? 0 : -1;
		want = want * 4 > TAIL_MAX ? TAIL_MAX : want * 4;
		if (want > size)
			want = (size_t)size;
	}
}

/* Where the chain stands in the file at path (fd open on it, or -1).
 * Returns 1 when a record was found, 0 when the file holds none. A torn
 * last line is cut off when cut is set. */
static int read_head(const char *path, int wfd, bool cut, struct kg_audit_head *h)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	char *buf;
	size_t off = 0, len = 0;
	uint64_t torn;
	int rc = last_line(fd, (uint64_t)st.st_size, &buf, &off, &len, &torn);
	close(fd);
	bool was_torn = torn < (uint64_t)st.st_size;
	/* A line without its newline is a write a crash cut short: never a
	 * record, and the next one must start on a line of its own. */
	if (was_torn && cut && wfd >= 0) {
		int trc = ftruncate(wfd, (off_t)torn);
		(void)trc;   /* if it fails, verify shows the torn line */
	}
	struct kg_audit_rec r;
	if (rc == 0) {
		free(buf);
		return 0;
	}
	if (rc < 0 || kg_audit_chain_parse(buf + off, len, &r) < 0) {
		free(buf);
		h->seq = 0;
		memset(h->hash, 0, sizeof(h->hash));
		h->previous_run = "unreadable";
		return 1;
	}
	h->seq = r.seq;
	memcpy(h->hash, r.hash, sizeof(h->hash));
	bool seal = r.type && r.type_len == 4 && memcmp(r.type, "seal", 4) == 0;
	h->previous_run = seal && !was_torn ? "clean" : "unclean";
	free(buf);
	return 1;
}

static bool compressed(const char *name)
{
	static const char *const ext[] = { ".gz", ".xz", ".bz2", ".zst", ".lz4", ".Z", NULL };
	size_t n = strlen(name);
	for (const char *const *e = ext; *e; e++) {
		size_t m = strlen(*e);
		if (n > m && strcmp(name + n - m, *e) == 0)
			return true;
	}
	return false;
}

/* The live file is empty or new: the chain goes on from the newest
 * rotated file ("<path>.*", ours or logrotate's), if any. */
static void head_from_rotated(const char *path, struct kg_audit_head *h)
{
	char *dcopy = strdup(path), *bcopy = strdup(path);
	if (!dcopy || !bcopy)
		goto out;
	const char *dir = dirname(dcopy), *base = basename(bcopy);
	size_t blen = strlen(base);
	DIR *d = opendir(dir);
	if (!d)
		goto out;
	char best[4096] = "";
	struct timespec best_t = { 0, 0 };
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] != '.' ||
		    compressed(de->d_name))
			continue;
		char full[4096];
		struct stat st;
		if (snprintf(full, sizeof(full), "%s/%s", dir, de->d_name) >= (int)sizeof(full) ||
		    stat(full, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (!best[0] || st.st_mtim.tv_sec > best_t.tv_sec ||
		    (st.st_mtim.tv_sec == best_t.tv_sec && st.st_mtim.tv_nsec > best_t.tv_nsec)) {
			snprintf(best, sizeof(best), "%s", full);
			best_t = st.st_mtim;
		}
	}
	closedir(d);
	if (best[0])
		read_head(best, -1, false, h);
out:
	free(dcopy);
	free(bcopy);
}

int kg_audit_sink_open(struct kg_audit_sinkst *s, const struct kg_audit_cfg *cfg,
		       struct kg_audit_head *head, char *err, size_t errlen)
{
	*s = (struct kg_audit_sinkst){ .kind = cfg->sink, .fd = -1, .path = cfg->path };
	*head = (struct kg_audit_head){ .previous_run = "new" };
	s->opened = kg_audit_mono();
	switch (cfg->sink) {
	case KG_AUDIT_SINK_STDOUT:
		s->fd = STDOUT_FILENO;
		return 0;
	case KG_AUDIT_SINK_SYSLOG:
		openlog(cfg->syslog_ident ? cfg->syslog_ident : "kafka-gateway-audit",
			LOG_NDELAY | LOG_PID, cfg->syslog_facility);
		return 0;
	default:
		break;
	}
	if (open_file(s, err, errlen) < 0)
		return -1;
	if (read_head(s->path, s->fd, true, head) == 0)
		head_from_rotated(s->path, head);
	struct stat st;
	if (fstat(s->fd, &st) == 0)
		s->size = (uint64_t)st.st_size;
	return 0;
}

int kg_audit_sink_write(struct kg_audit_sinkst *s, const char *p, size_t len, char *err,
			size_t errlen)
{
	if (s->kind == KG_AUDIT_SINK_SYSLOG) {
		for (size_t i = 0; i < len;) {
			const char *nl = memchr(p + i, '\n', len - i);
			size_t n = nl ? (size_t)(nl - (p + i)) : len - i;
			syslog(LOG_INFO, "%.*s", (int)n, p + i);
			i += n + 1;
		}
		return 0;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(s->fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : ENOSPC;
			snprintf(err, errlen, "write to %s failed: %s",
				 s->kind == KG_AUDIT_SINK_FILE ? s->path : "stdout", strerror(e));
			/* No torn record may stay in the file. */
			if (done > 0 && s->kind == KG_AUDIT_SINK_FILE &&
			    ftruncate(s->fd, (off_t)s->size) < 0)
				snprintf(err, errlen, "write to %s failed: %s, and cutting the torn "
					 "record failed too", s->path, strerror(e));
			errno = e;
			return -1;
		}
		done += (size_t)n;
	}
	s->size += len;
	return 0;
}

int kg_audit_sink_sync(struct kg_audit_sinkst *s)
{
	if (s->kind != KG_AUDIT_SINK_FILE || s->fd < 0)
		return 0;
	return fdatasync(s->fd);
}

bool kg_audit_sink_moved(const struct kg_audit_sinkst *s)
{
	struct stat st;
	if (s->kind != KG_AUDIT_SINK_FILE)
		return false;
	if (stat(s->path, &st) < 0)
		return true;
	return (uint64_t)st.st_dev != s->dev || (uint64_t)st.st_ino != s->ino;
}

void kg_audit_sink_close(struct kg_audit_sinkst *s)
{
	if (s->kind == KG_AUDIT_SINK_FILE && s->fd >= 0)
		close(s->fd);               /* releases the flock */
	if (s->kind == KG_AUDIT_SINK_SYSLOG)
		closelog();
	s->fd = -1;
}

int kg_audit_sink_reopen(struct kg_audit_sinkst *s, char *err, size_t errlen)
{
	if (s->kind != KG_AUDIT_SINK_FILE)
		return 0;
	int old = s->fd;
	s->fd = -1;
	if (open_file(s, err, errlen) < 0) {
		s->fd = old;                   /* keep writing where we were */
		return -1;
	}
	close(old);
	return 0;
}

int kg_audit_sink_rotate(struct kg_audit_sinkst *s, char *err, size_t errlen)
{
	if (s->kind != KG_AUDIT_SINK_FILE)
		return 0;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char name[4200];
	struct stat st;
	for (int i = 0;; i++) {
		int n = snprintf(name, sizeof(name), "%s.%04d%02d%02dT%02d%02d%02d.%06ldZ", s->path,
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000);
		if (i > 0)
			snprintf(name + n, sizeof(name) - (size_t)n, "-%d", i);
		if (lstat(name, &st) < 0)
			break;
		if (i > 100) {
			snprintf(err, errlen, "no free name to rotate %s to", s->path);
			return -1;
		}
	}
	if (rename(s->path, name) < 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", s->path, name, strerror(errno));
		return -1;
	}
	return kg_audit_sink_reopen(s, err, errlen);
}
