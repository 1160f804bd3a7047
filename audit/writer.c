/* writer.c - one thread writes the audit log; everyone else only queues.
 *
 *   producers --submit--> ring (queue_size) --take all--> chain + one write(2)
 *
 * The chain (seq, prev, hash, hmac) is applied here, in queue order, so
 * producers never contend on it and the hot path costs a JSON dump and a
 * mutex. Records are written in batches with one system call.
 *
 * Failure policies (cfg->on_full), for a full queue as for a failing sink:
 *   block  the producer waits for room; the writer keeps its batch and
 *          retries (50 ms .. 1 s), so nothing is lost and the workers stop
 *          (no request is served without its record). When the write
 *          succeeds again, an "audit_write_error" record tells how long
 *          the log was stuck and why.
 *   drop   the producer goes on and the record is counted; a failed write
 *          loses its batch. The next successful write starts with an
 *          "audit_dropped" record giving the count.
 * Either way the chain only ever covers records that reached the sink: a
 * failed write is cut back (sink.c) and seq/prev are rolled back.
 *
 * Seals: a "seal" record ends a file at rotation, at reopen (logrotate) and
 * at a clean stop, so a file cut short is told from a complete one.
 */
#define _GNU_SOURCE
#include "audit/writer.h"
#include "audit/anchor.h"
#include "audit/chain.h"
#include "audit/event.h"
#include "base/log.h"
#include "audit/sink.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX 8192u                /* records per write(2) at most */
#define LINGER_RECORDS 64u             /* fewer queued: wait LINGER_S for more */
#define LINGER_S 0.002

struct item {
	char *p;                       /* event body "{...}", malloc'd */
	size_t len;                    /* its length */
};

static struct {
	/* shared with producers, under lock */
	pthread_mutex_t lock;          /* guards the ring and the flags */
	pthread_cond_t more;           /* writer: records or a request came */
	pthread_cond_t room;           /* producers: the ring has room */
	struct item *ring;             /* the queue */
	uint32_t cap, head, n;         /* size, first, count */
	bool running;                  /* producers may queue */
	bool stop, reopen;             /* requests to the writer */
	bool writer_idle;              /* writer is waiting on `more` */
	double deadline;               /* stopping: waits give up then (mono) */
	pthread_t thread;              /* the writer */
	atomic_uint_least64_t submitted, written, dropped, write_errors, blocked, rotations;
	atomic_uint_least64_t full_drops; /* queue-full drops not yet reported */

	/* writer thread only */
	const struct kg_audit_cfg *cfg;/* settings */
	uint8_t *key;                  /* HMAC key, or NULL */
	size_t keylen;                 /* its length */
	struct kg_audit_sinkst sink;   /* destination */
	struct kg_audit_head start;    /* chain head found at start */
	const char *tail_check;        /* the log's end against the anchor
	                                  file: NULL (agrees), "missing",
	                                  "replaced" (anchor.h) */
	char tail_detail[300];         /* what was found */
	uint64_t seq;                  /* seq of the last record written */
	uint8_t prev[KG_AUDIT_HASH_LEN]; /* its hash */
	uint64_t file_records;         /* records written to the open file */
	uint64_t file_first_seq;       /* first of them */
	struct kg_audit_buf out;       /* lines of the batch being written */
	struct item *batch;            /* records taken from the ring */
	double last_sync;              /* last fdatasync (mono) */
	bool dirty;                    /* written since last_sync */
	bool reopen_pending;           /* a reopen waits for a working disk */
	double retry_at;               /* no rotation/reopen attempt before */
	bool failing;                  /* the sink is failing (episode open) */
	char fail_err[320];            /* its first error */
	int64_t fail_since;            /* when it began (wall, us) */
	uint64_t fail_errors;          /* failed attempts in the episode */
	uint64_t write_drops;          /* records lost to failed writes, unreported */
	int64_t drops_since;           /* first unreported drop (wall, us) */
} W = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void wait_until(pthread_cond_t *cv, double when)
{
	struct timespec ts;
	if (when < 0)
		when = 0;
	ts.tv_sec = (time_t)when;
	ts.tv_nsec = (long)((when - (double)ts.tv_sec) * 1e9);
	pthread_cond_timedwait(cv, &W.lock, &ts);
}

int kg_audit_writer_submit(char *body, size_t len)
{
	bool waited = false;
	pthread_mutex_lock(&W.lock);
	while (W.running && W.n == W.cap && W.cfg->on_full == KG_AUDIT_BLOCK &&
	       !(W.deadline > 0 && kg_audit_mono() >= W.deadline)) {
		if (!waited)
			atomic_fetch_add(&W.blocked, 1);
		waited = true;
		wait_until(&W.room, kg_audit_mono() + 0.1);
	}
	if (!W.running || W.n == W.cap) {
		bool counted = W.running;
		pthread_mutex_unlock(&W.lock);
		free(body);
		if (counted) {
			atomic_fetch_add(&W.dropped, 1);
			atomic_fetch_add(&W.full_drops, 1);
		}
		return -1;
	}
	W.ring[(W.head + W.n) % W.cap] = (struct item){ body, len };
	W.n++;
	atomic_fetch_add(&W.submitted, 1);
	if (W.writer_idle)
		pthread_cond_signal(&W.more);
	pthread_mutex_unlock(&W.lock);
	return 0;
}

/* Appends one record; OOM loses it (counted), never the chain. */
static bool append(const char *body, size_t len)
{
	if (kg_audit_chain_append(&W.out, W.seq + 1, body, len, W.prev, W.key, W.keylen) < 0) {
		atomic_fetch_add(&W.dropped, 1);
		return false;
	}
	W.seq++;
	return true;
}

/* The writer's own report at the head of a write: records dropped, or a
 * failure episode that blocked the log. Returns 1 when one was added. */
static int append_report(uint64_t full)
{
	json_t *e;
	char t[32];
	if (full + W.write_drops > 0) {
		e = kg_audit_ev_new("audit_dropped");
		kg_audit_set_int(e, "count", (int64_t)(full + W.write_drops));
		kg_audit_set_int(e, "queue_full", (int64_t)full);
		kg_audit_set_int(e, "write_failed", (int64_t)W.write_drops);
		if (W.write_drops)
			kg_audit_set_cstr(e, "error", W.fail_err);
		if (W.drops_since) {
			kg_audit_time_str(W.drops_since, t);
			kg_audit_set_cstr(e, "since", t);
		}
	} else if (W.failing) {
		e = kg_audit_ev_new("audit_write_error");
		kg_audit_set_cstr(e, "error", W.fail_err);
		kg_audit_time_str(W.fail_since, t);
		kg_audit_set_cstr(e, "since", t);
		kg_audit_set_int(e, "failed_attempts", (int64_t)W.fail_errors);
		kg_audit_set_cstr(e, "policy", W.cfg->on_full == KG_AUDIT_BLOCK ? "block" : "drop");
	} else {
		return 0;
	}
	size_t len = 0;
	char *s = kg_audit_ev_dump(e, &len);
	bool ok = s && append(s, len);
	free(s);
	return ok;
}

static void sync_now(void)
{
	if (W.dirty && kg_audit_sink_sync(&W.sink) < 0)
		log_error("audit: fdatasync of %s failed: %s", W.sink.path, strerror(errno));
	W.dirty = false;
	W.last_sync = kg_audit_mono();
}

/* Writes W.out. On failure the chain is rolled back to (seq0, prev0). */
static int flush_out(uint64_t seq0, const uint8_t *prev0, uint64_t nrec)
{
	char err[300];
	if (W.out.len == 0)
		return 0;
	if (kg_audit_sink_write(&W.sink, W.out.p, W.out.len, err, sizeof(err)) == 0) {
		atomic_fetch_add(&W.written, nrec);
		W.file_records += nrec;
		W.dirty = true;
		if (W.cfg->fsync == KG_AUDIT_FSYNC_ALWAYS)
			sync_now();
		kg_audit_anchor_note(W.seq, W.prev, false);
		return 0;
	}
	W.seq = seq0;
	memcpy(W.prev, prev0, KG_AUDIT_HASH_LEN);
	atomic_fetch_add(&W.write_errors, 1);
	W.fail_errors++;
	if (!W.failing) {
		__atomic_store_n(&W.failing, true, __ATOMIC_RELAXED);
		W.fail_since = kg_audit_now_us();
		snprintf(W.fail_err, sizeof(W.fail_err), "%s", err);
		log_error("audit: %s; %s until a write succeeds", err,
			  W.cfg->on_full == KG_AUDIT_BLOCK ? "holding records and blocking"
							    : "dropping records");
	}
	return -1;
}

static bool past_deadline(void)
{
	pthread_mutex_lock(&W.lock);
	bool past = W.deadline > 0 && kg_audit_mono() >= W.deadline;
	pthread_mutex_unlock(&W.lock);
	return past;
}

static void backoff(double *delay)
{
	pthread_mutex_lock(&W.lock);
	if (!(W.stop && W.deadline > 0 && kg_audit_mono() >= W.deadline))
		wait_until(&W.more, kg_audit_mono() + *delay);
	pthread_mutex_unlock(&W.lock);
	*delay = *delay * 2 > 1.0 ? 1.0 : *delay * 2;
}

static void free_batch(uint32_t k)
{
	for (uint32_t i = 0; i < k; i++)
		free(W.batch[i].p);
}

/* Writes k taken records (and any pending report) following the policy. */
static void write_batch(uint32_t k)
{
	double delay = 0.05;
	for (;;) {
		uint64_t seq0 = W.seq;
		uint8_t prev0[KG_AUDIT_HASH_LEN];
		memcpy(prev0, W.prev, sizeof(prev0));
		W.out.len = 0;
		uint64_t full = atomic_load(&W.full_drops);
		int reported = append_report(full);
		if (k == 0 && !reported)
			return;
		uint64_t nrec = (uint64_t)reported;
		for (uint32_t i = 0; i < k; i++)
			nrec += append(W.batch[i].p, W.batch[i].len);
		if (flush_out(seq0, prev0, nrec) == 0) {
			if (reported) {
				atomic_fetch_sub(&W.full_drops, full);
				W.write_drops = 0;
				W.drops_since = 0;
				__atomic_store_n(&W.failing, false, __ATOMIC_RELAXED);
				W.fail_errors = 0;
			}
			free_batch(k);
			return;
		}
		if (W.cfg->on_full == KG_AUDIT_DROP || past_deadline()) {
			if (W.cfg->on_full == KG_AUDIT_BLOCK)
				log_error("audit: stop timed out with the sink failing: %u records lost", k);
			atomic_fetch_add(&W.dropped, k);
			W.write_drops += k;
			if (!W.drops_since)
				W.drops_since = W.fail_since;
			free_batch(k);
			return;
		}
		backoff(&delay);
	}
}

/* A seal ends the open file's part of the chain. 0 or -1 (not written). */
static int write_seal(const char *reason)
{
	json_t *e = kg_audit_ev_new("seal");
	kg_audit_set_cstr(e, "reason", reason);
	kg_audit_set_int(e, "file_records", (int64_t)W.file_records);
	if (W.file_records)
		kg_audit_set_int(e, "file_first_seq", (int64_t)W.file_first_seq);
	kg_audit_set_int(e, "dropped", (int64_t)atomic_load(&W.dropped));
	size_t len = 0;
	char *s = kg_audit_ev_dump(e, &len);
	if (!s)
		return -1;
	uint64_t seq0 = W.seq;
	uint8_t prev0[KG_AUDIT_HASH_LEN];
	memcpy(prev0, W.prev, sizeof(prev0));
	W.out.len = 0;
	bool ok = append(s, len);
	free(s);
	if (!ok || flush_out(seq0, prev0, 1) < 0)
		return -1;
	sync_now();
	/* Anchored after the sync: an anchor never names a record that a
	 * power failure could still take. */
	kg_audit_anchor_note(W.seq, W.prev, true);
	return 0;
}

static void new_file(void)
{
	W.file_records = 0;
	W.file_first_seq = W.seq + 1;
}

/* Rotation by size or age, reopen after logrotate, periodic fsync. */
static void maintain(bool reopen)
{
	double now = kg_audit_mono();
	const struct kg_audit_cfg *c = W.cfg;
	char err[300];
	if (reopen && c->sink == KG_AUDIT_SINK_FILE)
		W.reopen_pending = kg_audit_sink_moved(&W.sink);
	bool rotate = c->sink == KG_AUDIT_SINK_FILE && W.file_records > 0 &&
		      ((c->rotate_bytes && W.sink.size >= c->rotate_bytes) ||
		       (c->rotate_interval_s && now - W.sink.opened >= c->rotate_interval_s));
	if ((rotate || W.reopen_pending) && now >= W.retry_at) {
		if (write_seal(rotate && !W.reopen_pending ? "rotate" : "reopen") < 0) {
			W.retry_at = now + 1.0;    /* the disk fails: later */
		} else {
			int rc = W.reopen_pending ? kg_audit_sink_reopen(&W.sink, err, sizeof(err))
						  : kg_audit_sink_rotate(&W.sink, err, sizeof(err));
			if (rc < 0) {
				/* Go on in the old file; try again in a minute. */
				log_error("audit: %s", err);
				W.retry_at = now + 60.0;
				W.sink.opened = now;
			} else if (!W.reopen_pending) {
				atomic_fetch_add(&W.rotations, 1);
			}
			W.reopen_pending = false;
			new_file();
		}
	}
	if (c->fsync == KG_AUDIT_FSYNC_INTERVAL && W.dirty &&
	    now - W.last_sync >= c->fsync_interval_ms / 1000.0)
		sync_now();
}

/* When the writer must wake up even without records. */
static double next_due(void)
{
	const struct kg_audit_cfg *c = W.cfg;
	double due = kg_audit_mono() + 1.0;
	if (c->fsync == KG_AUDIT_FSYNC_INTERVAL && W.dirty) {
		double t = W.last_sync + c->fsync_interval_ms / 1000.0;
		due = t < due ? t : due;
	}
	if (c->rotate_interval_s && W.file_records > 0) {
		double t = W.sink.opened + c->rotate_interval_s;
		due = t < due ? t : due;
	}
	return due;
}

static void *writer_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&W.lock);
		while (W.n == 0 && !W.stop && !W.reopen) {
			double due = next_due();
			if (kg_audit_mono() >= due)
				break;
			W.writer_idle = true;
			wait_until(&W.more, due);
			W.writer_idle = false;
			if (atomic_load(&W.full_drops) > 0)
				break;
		}
		/* A few records only: linger a moment so that they share a
		 * write(2) with the next ones, instead of one wake-up and one
		 * system call per record. */
		if (W.n > 0 && W.n < LINGER_RECORDS && !W.stop && !W.reopen)
			wait_until(&W.more, kg_audit_mono() + LINGER_S);
		uint32_t k = W.n < BATCH_MAX ? W.n : BATCH_MAX;
		for (uint32_t i = 0; i < k; i++)
			W.batch[i] = W.ring[(W.head + i) % W.cap];
		W.head = (W.head + k) % W.cap;
		W.n -= k;
		bool stopping = W.stop && W.n == 0;
		bool reopen = W.reopen;
		W.reopen = false;
		if (stopping)
			W.running = false;     /* later submits are refused */
		if (k)
			pthread_cond_broadcast(&W.room);
		pthread_mutex_unlock(&W.lock);

		write_batch(k);
		if (stopping)
			break;
		maintain(reopen);
	}
	/* Final seal; with the block policy retried until the deadline. */
	double delay = 0.05;
	while (write_seal("stop") < 0 && W.cfg->on_full == KG_AUDIT_BLOCK && !past_deadline())
		backoff(&delay);
	sync_now();
	kg_audit_sink_close(&W.sink);
	kg_audit_anchor_close();
	return NULL;
}

int kg_audit_writer_start(const struct kg_audit_cfg *cfg, const uint8_t *key, size_t keylen,
			  char *err, size_t errlen)
{
	if (W.running) {
		snprintf(err, errlen, "audit writer already running");
		return -1;
	}
	/* A file size limit must show up as EFBIG, not kill the process. */
	signal(SIGXFSZ, SIG_IGN);
	W.cfg = cfg;
	atomic_store(&W.submitted, 0);
	atomic_store(&W.written, 0);
	atomic_store(&W.dropped, 0);
	atomic_store(&W.write_errors, 0);
	atomic_store(&W.blocked, 0);
	atomic_store(&W.rotations, 0);
	atomic_store(&W.full_drops, 0);
	W.cap = cfg->queue_size ? cfg->queue_size : 1;
	W.ring = calloc(W.cap, sizeof(*W.ring));
	W.batch = calloc(W.cap < BATCH_MAX ? W.cap : BATCH_MAX, sizeof(*W.batch));
	W.key = key && keylen ? malloc(keylen) : NULL;
	if (!W.ring || !W.batch || (key && keylen && !W.key)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (W.key)
		memcpy(W.key, key, keylen);
	W.keylen = W.key ? keylen : 0;
	if (kg_audit_sink_open(&W.sink, cfg, &W.start, err, errlen) < 0)
		goto fail;
	if (kg_audit_anchor_open(cfg, err, errlen) < 0) {
		kg_audit_sink_close(&W.sink);
		goto fail;
	}
	W.tail_check = kg_audit_anchor_check(&W.start, W.tail_detail, sizeof(W.tail_detail));
	if (W.tail_check)
		log_error("audit: %s %s: %s", cfg->path ? cfg->path : "log",
			  W.tail_check, W.tail_detail);
	W.seq = W.start.seq;
	memcpy(W.prev, W.start.hash, KG_AUDIT_HASH_LEN);
	new_file();
	W.last_sync = kg_audit_mono();
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&W.more, &ca);
	pthread_cond_init(&W.room, &ca);
	pthread_condattr_destroy(&ca);
	W.stop = W.reopen = false;
	W.deadline = 0;
	W.running = true;
	if (pthread_create(&W.thread, NULL, writer_main, NULL) != 0) {
		W.running = false;
		kg_audit_sink_close(&W.sink);
		kg_audit_anchor_close();
		snprintf(err, errlen, "cannot start the audit writer thread");
		goto fail;
	}
	return 0;
fail:
	free(W.ring);
	free(W.batch);
	free(W.key);
	W.ring = NULL;
	W.batch = NULL;
	W.key = NULL;
	return -1;
}

void kg_audit_writer_reopen(void)
{
	pthread_mutex_lock(&W.lock);
	if (W.running) {
		W.reopen = true;
		pthread_cond_signal(&W.more);
	}
	pthread_mutex_unlock(&W.lock);
}

void kg_audit_writer_stopping(void)
{
	pthread_mutex_lock(&W.lock);
	if (W.running && W.deadline == 0)
		W.deadline = kg_audit_mono() + W.cfg->stop_timeout_ms / 1000.0;
	pthread_cond_broadcast(&W.room);
	pthread_mutex_unlock(&W.lock);
}

void kg_audit_writer_stop(void)
{
	pthread_mutex_lock(&W.lock);
	bool was = W.running;
	if (was) {
		if (W.deadline == 0)
			W.deadline = kg_audit_mono() + W.cfg->stop_timeout_ms / 1000.0;
		W.stop = true;
		pthread_cond_signal(&W.more);
		pthread_cond_broadcast(&W.room);
	}
	pthread_mutex_unlock(&W.lock);
	if (!was)
		return;
	pthread_join(W.thread, NULL);
	pthread_mutex_lock(&W.lock);
	W.running = false;
	for (uint32_t i = 0; i < W.n; i++) {      /* none, unless refused */
		free(W.ring[(W.head + i) % W.cap].p);
		atomic_fetch_add(&W.dropped, 1);
	}
	W.n = W.head = 0;
	free(W.ring);
	W.ring = NULL;
	pthread_mutex_unlock(&W.lock);
	free(W.batch);
	W.batch = NULL;
	free(W.key);
	W.key = NULL;
	kg_audit_buf_free(&W.out);
	pthread_cond_destroy(&W.more);
	pthread_cond_destroy(&W.room);
	__atomic_store_n(&W.failing, false, __ATOMIC_RELAXED);
	W.write_drops = 0;
	W.drops_since = 0;
	W.reopen_pending = false;
	W.retry_at = 0;
}

bool kg_audit_writer_running(void)
{
	pthread_mutex_lock(&W.lock);
	bool r = W.running;
	pthread_mutex_unlock(&W.lock);
	return r;
}

void kg_audit_writer_stats(struct kg_audit_stats *s)
{
	s->submitted = atomic_load(&W.submitted);
	s->written = atomic_load(&W.written);
	s->dropped = atomic_load(&W.dropped);
	s->write_errors = atomic_load(&W.write_errors);
	s->blocked = atomic_load(&W.blocked);
	s->rotations = atomic_load(&W.rotations);
	/* The failing flag belongs to the writer; a stale read only delays
	 * what /readyz says by one batch. */
	s->failing = __atomic_load_n(&W.failing, __ATOMIC_RELAXED);
	pthread_mutex_lock(&W.lock);
	s->queued = W.n;
	s->capacity = W.cap;
	pthread_mutex_unlock(&W.lock);
}

const char *kg_audit_writer_previous_run(void)
{
	return W.start.previous_run ? W.start.previous_run : "new";
}

const char *kg_audit_writer_tail_check(const char **detail)
{
	if (detail)
		*detail = W.tail_detail;
	return W.tail_check;
}
