/* verify.c - `kafka-gateway audit verify`: the first place where the
 * chain of records is broken, and what kind of break it is.
 *
 * Every record is checked on its own (its hash over its bytes, its HMAC
 * when a key is given), then against the one before it: "prev" must be
 * that record's hash and "seq" one more. A break is classified with what
 * the records say about themselves:
 *   edited     a record's bytes no longer match its hash or HMAC, or the
 *              next record links to another hash with the right seq;
 *   inserted   a record that is not in the chain: a later record links
 *              past it to an earlier one, or its seq was already used;
 *   reordered  seq jumps ahead and the missing record comes later;
 *   deleted    seq jumps ahead and the missing records never come, or a
 *              new chain starts (seq 1, prev zero);
 *   truncated  a file ends inside a record, or a file other than the live
 *              one does not end with a seal record.
 * The live file is the last one given when a running gateway holds its
 * flock (or with --live): it may end without a seal.
 */
#define _GNU_SOURCE
#include "audit/verify.h"
#include "audit/anchor.h"
#include "audit/chain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RING 256                       /* recent records kept for insertions */
#define UNCLEAN "\"previous_run\":\"unclean\""  /* in a gateway_start record */

struct seen {
	uint64_t seq;                  /* its seq */
	uint8_t hash[KG_AUDIT_HASH_LEN]; /* its hash */
	size_t file;                   /* index of its file */
	uint64_t line;                 /* its line */
};

struct vs {
	const char *const *files;      /* the chain's files, in order */
	size_t n;                      /* count */
	struct kg_audit_verify_result *r; /* result being filled */
	struct seen ring[RING];        /* last records, ring */
	uint64_t nseen;                /* records pushed */
	bool last_seal;                /* the last record is a seal */
	const struct kg_audit_anchor *anchors; /* sorted by seq */
	size_t nanchors;               /* count */
	size_t next_anchor;            /* first not yet matched */
	const char *anchors_path;      /* for messages */
};

const char *kg_audit_verdict_name(int v)
{
	static const char *const names[] = { "ok", "edited", "deleted", "inserted",
					     "reordered", "truncated", "unreadable" };
	return v >= 0 && v <= KG_AV_IO ? names[v] : "?";
}

int kg_audit_key_load(const char *path, bool check_mode, uint8_t key[KG_AUDIT_KEY_MAX],
		      size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "HMAC key file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (check_mode && (st.st_mode & 077)) {
		snprintf(err, errlen, "HMAC key file %s: mode %03o lets others read it "
			 "(chmod 600 %s)", path, (unsigned)(st.st_mode & 0777), path);
		close(fd);
		return -1;
	}
	uint8_t buf[KG_AUDIT_KEY_MAX + 2];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n <= 0 || n > KG_AUDIT_KEY_MAX) {
		snprintf(err, errlen, "HMAC key file %s: %s", path,
			 n <= 0 ? "empty or unreadable" : "longer than 1024 bytes");
		return -1;
	}
	memcpy(key, buf, (size_t)n);
	memset(buf, 0, sizeof(buf));
	*len = (size_t)n;
	return 0;
}

static int fail(struct vs *v, int verdict, size_t file, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(struct vs *v, int verdict, size_t file, uint64_t line, const char *fmt, ...)
{
	struct kg_audit_verify_result *r = v->r;
	r->verdict = verdict;
	r->file = v->files[file];
	r->line = line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return verdict;
}

static bool zero(const uint8_t *h)
{
	for (int i = 0; i < KG_AUDIT_HASH_LEN; i++)
		if (h[i])
			return false;
	return true;
}

/* A running gateway holds an exclusive flock on its live file. */
static bool locked(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool busy = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

/* Calls fn on each record after (file, line) until it returns true.
 * Returns whether one did. */
static bool scan_after(struct vs *v, size_t file, uint64_t line,
		       bool (*fn)(const struct kg_audit_rec *r, void *ctx), void *ctx,
		       size_t *ffile, uint64_t *fline)
{
	char *buf = NULL;
	size_t cap = 0;
	bool found = false;
	for (size_t i = file; i < v->n && !found; i++) {
		FILE *f = fopen(v->files[i], "r");
		if (!f)
			continue;
		ssize_t len;
		uint64_t ln = 0;
		struct kg_audit_rec rec;
		while (!found && (len = getline(&buf, &cap, f)) > 0) {
			ln++;
			if ((i == file && ln <= line) || buf[len - 1] != '\n')
				continue;
			if (kg_audit_chain_parse(buf, (size_t)len - 1, &rec) == 0 && fn(&rec, ctx)) {
				*ffile = i;
				*fline = ln;
				found = true;
			}
		}
		fclose(f);
	}
	free(buf);
	return found;
}

static bool has_seq(const struct kg_audit_rec *r, void *ctx)
{
	return r->seq == *(uint64_t *)ctx;
}

struct next_ctx {
	bool links;                    /* it links to hash */
	const uint8_t *hash;           /* the record it should link to */
};

static bool next_links(const struct kg_audit_rec *r, void *ctx)
{
	struct next_ctx *x = ctx;
	x->links = memcmp(r->prev, x->hash, KG_AUDIT_HASH_LEN) == 0;
	return true;                   /* only the first record matters */
}

/* rec (at file/line) does not continue the last record: what happened? */
static int classify(struct vs *v, const struct kg_audit_rec *rec, size_t file, uint64_t line)
{
	const struct seen *last = &v->ring[(v->nseen - 1) % RING];
	uint64_t want = last->seq + 1;
	uint64_t back = v->nseen < RING ? v->nseen : RING;
	size_t ff;
	uint64_t fl;
	if (zero(rec->prev) && rec->seq == 1)
		return fail(v, KG_AV_DELETED, file, line, "a new chain starts here (seq 1): the "
			    "records before it were removed, or the gateway could not read them "
			    "when it started");
	if (rec->seq <= last->seq) {
		/* A second record with a seq already seen. If it links into the
		 * chain like the first one did, the record after it decides
		 * which of the two branches is the chain. */
		for (uint64_t k = 2; k <= back; k++) {
			const struct seen *s = &v->ring[(v->nseen - k) % RING];
			if (s->seq + 1 != rec->seq || memcmp(s->hash, rec->prev, KG_AUDIT_HASH_LEN))
				continue;
			struct next_ctx nx = { .hash = rec->hash };
			if (scan_after(v, file, line, next_links, &nx, &ff, &fl) && nx.links) {
				const struct seen *x = &v->ring[(v->nseen - k + 1) % RING];
				return fail(v, KG_AV_INSERTED, x->file, x->line,
					    "this record (seq %llu) is not part of the chain: "
					    "%s:%llu holds seq %llu too, and the chain goes on "
					    "from there", (unsigned long long)x->seq,
					    v->files[file], (unsigned long long)line,
					    (unsigned long long)rec->seq);
			}
			break;
		}
		for (uint64_t k = 1; k <= back; k++) {
			const struct seen *s = &v->ring[(v->nseen - k) % RING];
			if (s->seq == rec->seq)
				return fail(v, KG_AV_INSERTED, file, line, "seq %llu appears a second "
					    "time (first at %s:%llu)%s", (unsigned long long)rec->seq,
					    v->files[s->file], (unsigned long long)s->line,
					    memcmp(s->hash, rec->hash, KG_AUDIT_HASH_LEN) == 0
						    ? ": a copy" : "");
		}
		return fail(v, KG_AV_INSERTED, file, line, "seq %llu does not continue the chain "
			    "(expected seq %llu)", (unsigned long long)rec->seq,
			    (unsigned long long)want);
	}
	if (rec->seq == want)
		return fail(v, KG_AV_EDITED, last->file, last->line,
			    "record seq %llu was changed: the next record (%s:%llu) links to "
			    "another hash", (unsigned long long)last->seq, v->files[file],
			    (unsigned long long)line);
	if (scan_after(v, file, line, has_seq, &want, &ff, &fl))
		return fail(v, KG_AV_REORDERED, file, line,
			    "seq %llu comes after seq %llu; seq %llu is later, at %s:%llu",
			    (unsigned long long)rec->seq, (unsigned long long)last->seq,
			    (unsigned long long)want, v->files[ff], (unsigned long long)fl);
	if (rec->seq - 1 == want)
		return fail(v, KG_AV_DELETED, file, line, "record seq %llu is missing before this "
			    "one", (unsigned long long)want);
	return fail(v, KG_AV_DELETED, file, line, "records seq %llu..%llu (%llu) are missing "
		    "before this one", (unsigned long long)want, (unsigned long long)(rec->seq - 1),
		    (unsigned long long)(rec->seq - want));
}

/* One record line (without its newline). */
static int check(struct vs *v, const char *line, size_t len, size_t file, uint64_t ln,
		 const uint8_t *key, size_t keylen)
{
	struct kg_audit_verify_result *r = v->r;
	struct kg_audit_rec rec;
	uint8_t h[KG_AUDIT_HASH_LEN];
	if (kg_audit_chain_parse(line, len, &rec) < 0)
		return fail(v, KG_AV_EDITED, file, ln, "not an audit record (its chain fields "
			    "are damaged or missing)");
	kg_audit_chain_hash(rec.prev, line, rec.text_len, h);
	if (memcmp(h, rec.hash, KG_AUDIT_HASH_LEN) != 0)
		return fail(v, KG_AV_EDITED, file, ln, "record seq %llu does not match its hash",
			    (unsigned long long)rec.seq);
	if (key) {
		uint8_t m[KG_AUDIT_HASH_LEN];
		if (!rec.has_hmac)
			return fail(v, KG_AV_EDITED, file, ln, "record seq %llu has no hmac",
				    (unsigned long long)rec.seq);
		kg_audit_chain_hmac(key, keylen, rec.hash, m);
		if (memcmp(m, rec.hmac, KG_AUDIT_HASH_LEN) != 0)
			return fail(v, KG_AV_EDITED, file, ln, "record seq %llu: hmac does not "
				    "match (rewritten without the key, or another key)",
				    (unsigned long long)rec.seq);
	} else if (rec.has_hmac && !r->note[0]) {
		snprintf(r->note, sizeof(r->note), "records carry an HMAC that was not checked "
			 "(no --hmac-key-file)");
	}
	if (v->nseen == 0) {
		r->first_seq = rec.seq;
		if (!zero(rec.prev) || rec.seq != 1)
			snprintf(r->note, sizeof(r->note), "the chain is checked from seq %llu on "
				 "(earlier records are in files not given)",
				 (unsigned long long)rec.seq);
	} else {
		const struct seen *last = &v->ring[(v->nseen - 1) % RING];
		if (rec.seq != last->seq + 1 ||
		    memcmp(rec.prev, last->hash, KG_AUDIT_HASH_LEN) != 0)
			return classify(v, &rec, file, ln);
	}
	/* Anchors up to this seq: older than the files given, or this very
	 * record, which must be the one anchored. */
	while (v->next_anchor < v->nanchors && v->anchors[v->next_anchor].seq <= rec.seq) {
		const struct kg_audit_anchor *a = &v->anchors[v->next_anchor++];
		if (a->seq < r->first_seq) {
			r->anchors_before++;
			continue;
		}
		if (a->seq == rec.seq && memcmp(a->hash, rec.hash, KG_AUDIT_HASH_LEN) != 0)
			return fail(v, KG_AV_EDITED, file, ln, "record seq %llu is not the one "
				    "anchored at %s:%llu: the log was cut and rewritten from here "
				    "(or this record was replaced)", (unsigned long long)rec.seq,
				    v->anchors_path, (unsigned long long)a->line);
		r->anchors_matched += a->seq == rec.seq;
	}
	if (rec.type && rec.type_len == 13 && memcmp(rec.type, "gateway_start", 13) == 0 &&
	    memmem(line, rec.text_len, UNCLEAN, sizeof(UNCLEAN) - 1)) {
		if (!r->unclean++) {
			r->unclean_file = v->files[file];
			r->unclean_line = ln;
		}
	}
	struct seen *s = &v->ring[v->nseen % RING];
	s->seq = rec.seq;
	memcpy(s->hash, rec.hash, KG_AUDIT_HASH_LEN);
	s->file = file;
	s->line = ln;
	v->nseen++;
	v->last_seal = rec.type && rec.type_len == 4 && memcmp(rec.type, "seal", 4) == 0;
	r->seals += v->last_seal;
	r->records++;
	r->last_seq = rec.seq;
	return KG_AV_OK;
}

int kg_audit_verify(const char *const *files, size_t n, const uint8_t *key, size_t keylen,
		    bool live, struct kg_audit_verify_result *r)
{
	return kg_audit_verify_anchored(files, n, key, keylen, live, NULL, 0, NULL, r);
}

int kg_audit_verify_anchored(const char *const *files, size_t n, const uint8_t *key,
			     size_t keylen, bool live, const struct kg_audit_anchor *anchors,
			     size_t nanchors, const char *anchors_path,
			     struct kg_audit_verify_result *r)
{
	memset(r, 0, sizeof(*r));
	struct vs *v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(r->msg, sizeof(r->msg), "out of memory");
		return r->verdict = KG_AV_IO;
	}
	v->files = files;
	v->n = n;
	v->r = r;
	v->anchors = anchors;
	v->nanchors = anchors ? nanchors : 0;
	v->anchors_path = anchors_path ? anchors_path : "anchors";
	char *buf = NULL;
	size_t cap = 0;
	int rc = KG_AV_OK;
	for (size_t i = 0; i < n && rc == KG_AV_OK; i++) {
		bool is_last = i + 1 == n;
		bool open_ok = is_last && (live || locked(files[i]));
		FILE *f = fopen(files[i], "r");
		if (!f) {
			rc = fail(v, KG_AV_IO, i, 0, "cannot read: %s", strerror(errno));
			break;
		}
		ssize_t len;
		uint64_t ln = 0, in_file = 0;
		while (rc == KG_AV_OK && (len = getline(&buf, &cap, f)) > 0) {
			ln++;
			if (buf[len - 1] != '\n') {
				if (open_ok) {
					snprintf(r->note, sizeof(r->note), "the last line of %s is "
						 "incomplete (being written)", files[i]);
					break;
				}
				rc = fail(v, KG_AV_TRUNCATED, i, ln, "the file ends inside a record "
					  "(no newline): it was cut");
				break;
			}
			rc = check(v, buf, (size_t)len - 1, i, ln, key, keylen);
			in_file += rc == KG_AV_OK;
		}
		if (rc == KG_AV_OK && ferror(f))
			rc = fail(v, KG_AV_IO, i, ln, "read error: %s", strerror(errno));
		fclose(f);
		if (rc != KG_AV_OK)
			break;
		if (in_file == 0 && !(is_last && (open_ok || v->last_seal)))
			rc = fail(v, KG_AV_TRUNCATED, i, 0, "the file holds no records (every file "
				  "but the live one ends with a seal record)");
		else if (in_file > 0 && !v->last_seal && open_ok)
			r->open_tail = true;
		else if (in_file > 0 && !v->last_seal)
			rc = fail(v, KG_AV_TRUNCATED, i, ln, "the file does not end with a seal "
				  "record: it was cut after this line, or the gateway did not stop "
				  "cleanly (a running gateway's live file: verify it while it runs, "
				  "or pass --live)");
	}
	if (rc == KG_AV_OK && v->next_anchor < v->nanchors && v->nseen > 0) {
		const struct kg_audit_anchor *a = &v->anchors[v->nanchors - 1];
		const struct seen *last = &v->ring[(v->nseen - 1) % RING];
		rc = fail(v, KG_AV_TRUNCATED, last->file, last->line, "the chain ends at seq %llu, "
			  "but %s:%llu anchors seq %llu: records were cut off the end of the log",
			  (unsigned long long)last->seq, v->anchors_path, (unsigned long long)a->line,
			  (unsigned long long)a->seq);
	}
	free(buf);
	free(v);
	return r->verdict = rc;
}
