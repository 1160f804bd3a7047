/*
 * test_sbuf.c - unit tests of proxy/io/sbuf.c: the receive buffer's
 * compaction and growth, settling, reading, and kg_flush() over a real
 * socketpair with partial writes and a closed peer.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/sbuf.h"

/* Distinct byte patterns, so misplaced bytes are caught. */
/* A plaintext stream over fd; one at a time is enough for these tests. */
static struct kg_stream *plain(int fd)
{
	static struct kg_stream st;
	st = (struct kg_stream){ .fd = fd };
	return &st;
}

static uint8_t pat_a(size_t i) { return (uint8_t)(i * 7 + 1); }
static uint8_t pat_b(size_t i) { return (uint8_t)(i * 13 + 5 + (i >> 8)); }

static void fill_b(struct kg_sbuf *b, size_t n)
{
	assert_true(n <= b->cap);
	for (size_t i = 0; i < n; i++)
		b->data[i] = pat_b(i);
	b->len = n;
}

static void nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	assert_true(fl >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

static void make_pair(int sv[2], int sndbuf)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblock(sv[0]);
	nonblock(sv[1]);
	if (sndbuf > 0) {
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
					    sizeof(sndbuf)), 0);
		assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf,
					    sizeof(sndbuf)), 0);
	}
}

/* Reads everything currently available on fd (non-blocking) into out. */
static size_t drain(int fd, uint8_t *out, size_t cap)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, out + got, cap - got);
		if (n > 0) {
			got += (size_t)n;
			assert_true(got <= cap);
			continue;
		}
		assert_true(n < 0);
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return got;
	}
}

/* ---- kg_sbuf_init / reserve ---- */

/* A buffer with window bytes of storage taken, as after a first read. */
static void init_with_storage(struct kg_sbuf *b, size_t window)
{
	assert_int_equal(kg_sbuf_init(b, window), 0);
	assert_int_equal(kg_sbuf_reserve(b, window), 0);
	assert_int_equal(b->cap, window);
}

static void test_init_takes_no_storage(void **state)
{
	(void)state;
	struct kg_sbuf b;
	assert_int_equal(kg_sbuf_init(&b, 1024), 0);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.window, 1024);
	assert_int_equal(b.sent, 0);
	assert_int_equal(b.ready, 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(kg_sbuf_room(&b), 1024);
	kg_sbuf_free(&b);
	assert_null(b.data);
}

static void test_reserve_takes_small_start_within_window(void **state)
{
	(void)state;
	struct kg_sbuf b;
	assert_int_equal(kg_sbuf_init(&b, 256 << 10), 0);
	assert_int_equal(kg_sbuf_reserve(&b, 4), 0);        /* a size prefix */
	assert_int_equal(b.cap, KG_SBUF_START);
	assert_int_equal(kg_sbuf_reserve(&b, 40000), 0);    /* a 40 KB frame */
	assert_int_equal(b.cap, 4 * KG_SBUF_START);         /* doubled twice */
	assert_int_equal(kg_sbuf_reserve(&b, 200000), 0);
	assert_int_equal(b.cap, 256 << 10);                 /* clipped to the window */
	kg_sbuf_free(&b);
}

static void test_reserve_noop_when_frame_fits(void **state)
{
	(void)state;
	struct kg_sbuf b;
	init_with_storage(&b, 1024);
	fill_b(&b, 500);
	b.sent = 100;
	b.ready = 300;
	uint8_t *data = b.data;
	assert_int_equal(kg_sbuf_reserve(&b, 724), 0); /* 300 + 724 == cap */
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.sent, 100);
	assert_int_equal(b.ready, 300);
	assert_int_equal(b.len, 500);
	assert_int_equal(b.data[100], pat_b(100));
	kg_sbuf_free(&b);
}

static void test_reserve_compacts_keeping_unsent_bytes(void **state)
{
	(void)state;
	struct kg_sbuf b;
	init_with_storage(&b, 1024);
	fill_b(&b, 500);
	b.sent = 100;
	b.ready = 300;
	assert_int_equal(kg_sbuf_reserve(&b, 900), 0); /* 300 + 900 > 1024 */
	assert_int_equal(b.cap, 1024);                 /* 900 fits: no growth */
	assert_int_equal(b.sent, 0);
	assert_int_equal(b.ready, 200);
	assert_int_equal(b.len, 400);
	for (size_t i = 0; i < 400; i++)
		assert_int_equal(b.data[i], pat_b(i + 100));
	kg_sbuf_free(&b);
}

static void test_reserve_does_not_grow_for_frame_that_fits_once_flushed(void **state)
{
	(void)state;
	struct kg_sbuf b;
	init_with_storage(&b, 1024);
	fill_b(&b, 900);
	b.sent = 0;
	b.ready = 800;   /* 800 parsed bytes still waiting to be written */
	assert_int_equal(kg_sbuf_reserve(&b, 500), 0);
	assert_int_equal(b.cap, 1024);  /* back-pressure: wait, do not grow */
	assert_int_equal(b.ready, 800);
	assert_int_equal(b.len, 900);
	for (size_t i = 0; i < 900; i++)
		assert_int_equal(b.data[i], pat_b(i));
	/* once written, the same reserve compacts the partial frame to the front */
	b.sent = 800;
	assert_int_equal(kg_sbuf_reserve(&b, 500), 0);
	assert_int_equal(b.cap, 1024);
	assert_int_equal(b.sent, 0);
	assert_int_equal(b.ready, 0);
	assert_int_equal(b.len, 100);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(b.data[i], pat_b(800 + i));
	kg_sbuf_free(&b);
}

static void test_reserve_grows_for_frame_larger_than_buffer(void **state)
{
	(void)state;
	struct kg_sbuf b;
	init_with_storage(&b, 1024);
	fill_b(&b, 1000);
	b.sent = 0;
	b.ready = 0;   /* 1000 bytes of a 5000-byte frame received */
	assert_int_equal(kg_sbuf_reserve(&b, 5000), 0);
	assert_true(b.cap >= 5000);
	assert_int_equal(b.cap, 8192);  /* doubled from 1024 */
	assert_int_equal(b.window, 1024);
	assert_int_equal(b.len, 1000);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(b.data[i], pat_b(i));
	/* the whole frame can now be received */
	assert_true(b.ready + 5000 <= b.cap);
	assert_int_equal(kg_sbuf_room(&b), 8192 - 1000);
	kg_sbuf_free(&b);
}

static void test_reserve_compacts_then_grows(void **state)
{
	(void)state;
	struct kg_sbuf b;
	init_with_storage(&b, 1024);
	fill_b(&b, 1024);
	b.sent = 300;
	b.ready = 600;
	assert_int_equal(kg_sbuf_reserve(&b, 3000), 0);
	assert_int_equal(b.cap, 4096);
	assert_int_equal(b.sent, 0);
	assert_int_equal(b.ready, 300);
	assert_int_equal(b.len, 724);
	for (size_t i = 0; i < 724; i++)
		assert_int_equal(b.data[i], pat_b(300 + i));
	kg_sbuf_free(&b);
}

/* ---- settle ---- */

static void test_settle_noop_while_bytes_unsent(void **state)
{
	(void)state;
	struct kg_sbuf b;
	init_with_storage(&b, 1024);
	fill_b(&b, 600);
	b.sent = 400;
	b.ready = 400;  /* a partial frame follows */
	kg_sbuf_settle(&b);
	assert_int_equal(b.sent, 400);
	assert_int_equal(b.ready, 400);
	assert_int_equal(b.len, 600);
	assert_int_equal(b.data[599], pat_b(599));
	kg_sbuf_free(&b);
}

static void test_settle_resets_offsets(void **state)
{
	(void)state;
	struct kg_sbuf b;
	init_with_storage(&b, 1024);
	fill_b(&b, 600);
	b.sent = b.ready = 600;
	kg_sbuf_settle(&b);
	assert_int_equal(b.sent, 0);
	assert_int_equal(b.ready, 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 1024);
	kg_sbuf_free(&b);
}

static void test_settle_keeps_storage_grown_for_a_large_frame(void **state)
{
	(void)state;
	struct kg_sbuf b;
	init_with_storage(&b, 1024);
	assert_int_equal(kg_sbuf_reserve(&b, 6000), 0);
	assert_int_equal(b.cap, 8192);
	fill_b(&b, 6000);
	b.sent = b.ready = 6000;
	kg_sbuf_settle(&b);
	assert_int_equal(b.cap, 8192);
	assert_int_equal(b.len, 0);
	kg_sbuf_free(&b);
}

static void test_trim_frees_only_an_empty_buffer(void **state)
{
	(void)state;
	struct kg_sbuf b;
	init_with_storage(&b, 1024);
	assert_int_equal(kg_sbuf_reserve(&b, 6000), 0);
	fill_b(&b, 6000);
	b.sent = b.ready = 3000;
	assert_int_equal(kg_sbuf_trim(&b), 0);     /* bytes still unsent: kept */
	assert_int_equal(b.cap, 8192);
	assert_int_equal(b.len, 6000);
	b.sent = b.ready = 6000;
	assert_int_equal(kg_sbuf_trim(&b), 8192);  /* all of it given back */
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(kg_sbuf_trim(&b), 0);     /* nothing held: nothing to do */
	assert_int_equal(kg_sbuf_room(&b), 1024);  /* the window is intact */
	kg_sbuf_free(&b);
}

static void test_obuf_trim(void **state)
{
	(void)state;
	struct kg_obuf o = { 0 };
	assert_non_null(kg_obuf_extend(&o, 100));
	assert_int_equal(kg_obuf_trim(&o), 0);     /* 100 bytes unwritten */
	o.off = o.len;
	assert_int_equal(kg_obuf_trim(&o), 4096);
	assert_null(o.data);
	assert_non_null(kg_obuf_extend(&o, 10));   /* usable again */
	kg_obuf_free(&o);
}

/* ---- recv ---- */

static void test_recv_reads_eagain_full_and_eof(void **state)
{
	(void)state;
	int sv[2];
	make_pair(sv, 0);
	struct kg_sbuf b;
	assert_int_equal(kg_sbuf_init(&b, 8), 0);
	assert_int_equal(kg_sbuf_recv(&b, plain(sv[1])), -2);           /* nothing yet */
	assert_int_equal(b.cap, 8);                                     /* storage taken */
	assert_int_equal(write(sv[0], "abcdefghij", 10), 10);
	assert_int_equal(kg_sbuf_recv(&b, plain(sv[1])), 8);
	assert_memory_equal(b.data, "abcdefgh", 8);
	assert_int_equal(kg_sbuf_recv(&b, plain(sv[1])), -3);           /* buffer full */
	b.sent = b.ready = 8;
	kg_sbuf_settle(&b);
	assert_int_equal(kg_sbuf_recv(&b, plain(sv[1])), 2);
	assert_memory_equal(b.data, "ij", 2);
	close(sv[0]);
	assert_int_equal(kg_sbuf_recv(&b, plain(sv[1])), 0);            /* EOF */
	close(sv[1]);
	assert_int_equal(kg_sbuf_recv(&b, plain(sv[1])), -1);           /* EBADF */
	kg_sbuf_free(&b);
}

/* ---- obuf ---- */

static void test_obuf_extend_appends_and_reuses(void **state)
{
	(void)state;
	struct kg_obuf o = { 0 };
	uint8_t *p = kg_obuf_extend(&o, 10);
	assert_non_null(p);
	memcpy(p, "0123456789", 10);
	p = kg_obuf_extend(&o, 5000);   /* grows, keeps the first bytes */
	assert_non_null(p);
	assert_ptr_equal(p, o.data + 10);
	assert_int_equal(kg_obuf_pending(&o), 5010);
	assert_memory_equal(o.data, "0123456789", 10);
	o.off = o.len;                  /* all written: the next extend restarts */
	p = kg_obuf_extend(&o, 3);
	assert_ptr_equal(p, o.data);
	assert_int_equal(o.off, 0);
	assert_int_equal(o.len, 3);
	kg_obuf_free(&o);
	assert_null(o.data);
	assert_int_equal(o.cap, 0);
}

/* ---- flush ---- */

static void test_flush_writes_obuf_then_parsed_region(void **state)
{
	(void)state;
	int sv[2];
	make_pair(sv, 0);
	struct kg_obuf o = { 0 };
	memcpy(kg_obuf_extend(&o, 6), "LOCAL|", 6);
	struct kg_sbuf b;
	init_with_storage(&b, 64);
	memcpy(b.data, "sentPASS-THROUGHpartial", 23);
	b.sent = 4;       /* "sent" already written */
	b.ready = 16;     /* "PASS-THROUGH" parsed */
	b.len = 23;       /* "partial" not parsed: must not be written */
	assert_int_equal(kg_flush(plain(sv[0]), &o, &b), 1);
	assert_int_equal(kg_obuf_pending(&o), 0);
	assert_int_equal(b.sent, 16);
	assert_int_equal(b.ready, 16);
	assert_int_equal(b.len, 23);
	uint8_t got[64];
	size_t n = drain(sv[1], got, sizeof(got));
	assert_int_equal(n, 18);
	assert_memory_equal(got, "LOCAL|PASS-THROUGH", 18);
	/* nothing pending: returns 1 without writing */
	assert_int_equal(kg_flush(plain(sv[0]), &o, &b), 1);
	assert_int_equal(drain(sv[1], got, sizeof(got)), 0);
	/* a NULL source writes only the obuf */
	memcpy(kg_obuf_extend(&o, 3), "xyz", 3);
	assert_int_equal(kg_flush(plain(sv[0]), &o, NULL), 1);
	assert_int_equal(drain(sv[1], got, sizeof(got)), 3);
	assert_memory_equal(got, "xyz", 3);
	kg_obuf_free(&o);
	kg_sbuf_free(&b);
	close(sv[0]);
	close(sv[1]);
}

/* Writes olen local bytes and slen pass-through bytes into a socket whose
 * buffer is far smaller, reading the peer in steps of `step` bytes. */
static void flush_partial(size_t olen, size_t slen, size_t step)
{
	int sv[2];
	make_pair(sv, 4096);
	struct kg_obuf o = { 0 };
	if (olen) {
		uint8_t *p = kg_obuf_extend(&o, olen);
		assert_non_null(p);
		for (size_t i = 0; i < olen; i++)
			p[i] = pat_a(i);
	}
	struct kg_sbuf b;
	init_with_storage(&b, slen + 100);
	fill_b(&b, slen + 100);
	b.sent = 0;
	b.ready = slen;   /* 100 unparsed bytes at the end must stay */

	size_t total = olen + slen;
	uint8_t *got = malloc(total + 1);
	assert_non_null(got);
	size_t have = 0;
	int partial = 0;
	int rc;
	while ((rc = kg_flush(plain(sv[0]), &o, &b)) == 0) {
		partial++;
		/* the offsets account for exactly what left so far: what
		 * the peer read plus what is queued in the socket */
		size_t out = (olen - kg_obuf_pending(&o)) + b.sent;
		int inq = 0;
		assert_int_equal(ioctl(sv[1], FIONREAD, &inq), 0);
		assert_int_equal(out, have + (size_t)inq);
		assert_true(b.sent <= b.ready);
		if (kg_obuf_pending(&o) > 0)
			assert_int_equal(b.sent, 0);  /* obuf strictly first */
		size_t want = total - have < step ? total - have : step;
		ssize_t n = read(sv[1], got + have, want);
		assert_true(n > 0);
		have += (size_t)n;
		assert_true(partial < 1000000);
	}
	assert_int_equal(rc, 1);
	assert_true(partial > 0);  /* the socket buffer really was too small */
	assert_int_equal(kg_obuf_pending(&o), 0);
	assert_int_equal(b.sent, slen);
	assert_int_equal(b.ready, slen);
	assert_int_equal(b.len, slen + 100);
	have += drain(sv[1], got + have, total + 1 - have);
	assert_int_equal(have, total);
	for (size_t i = 0; i < olen; i++)
		if (got[i] != pat_a(i))
			fail_msg("local byte %zu: got %u want %u", i, got[i], pat_a(i));
	for (size_t i = 0; i < slen; i++)
		if (got[olen + i] != pat_b(i))
			fail_msg("pass-through byte %zu: got %u want %u", i,
				 got[olen + i], pat_b(i));
	free(got);
	kg_obuf_free(&o);
	kg_sbuf_free(&b);
	close(sv[0]);
	close(sv[1]);
}

static void test_flush_partial_writes_keep_order_and_bytes(void **state)
{
	(void)state;
	flush_partial(100000, 300000, 7000);
}

static void test_flush_partial_small_reads(void **state)
{
	(void)state;
	/* odd read sizes split writes inside the obuf and inside the sbuf */
	flush_partial(20011, 50021, 977);
}

static void test_flush_partial_sbuf_only(void **state)
{
	(void)state;
	flush_partial(0, 200000, 4093);
}

static void test_flush_partial_obuf_only(void **state)
{
	(void)state;
	flush_partial(150000, 0, 3001);
}

static void test_flush_closed_peer_fails(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	int sv[2];
	make_pair(sv, 0);
	close(sv[1]);
	struct kg_obuf o = { 0 };
	memcpy(kg_obuf_extend(&o, 4), "data", 4);
	struct kg_sbuf b;
	init_with_storage(&b, 64);
	fill_b(&b, 10);
	b.ready = 10;
	assert_int_equal(kg_flush(plain(sv[0]), &o, &b), -1);
	/* nothing counted as written */
	assert_int_equal(kg_obuf_pending(&o), 4);
	assert_int_equal(b.sent, 0);
	/* the sbuf region alone fails the same way */
	o.off = o.len;
	assert_int_equal(kg_flush(plain(sv[0]), &o, &b), -1);
	kg_obuf_free(&o);
	kg_sbuf_free(&b);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_takes_no_storage),
		cmocka_unit_test(test_reserve_takes_small_start_within_window),
		cmocka_unit_test(test_reserve_noop_when_frame_fits),
		cmocka_unit_test(test_reserve_compacts_keeping_unsent_bytes),
		cmocka_unit_test(test_reserve_does_not_grow_for_frame_that_fits_once_flushed),
		cmocka_unit_test(test_reserve_grows_for_frame_larger_than_buffer),
		cmocka_unit_test(test_reserve_compacts_then_grows),
		cmocka_unit_test(test_settle_noop_while_bytes_unsent),
		cmocka_unit_test(test_settle_resets_offsets),
		cmocka_unit_test(test_settle_keeps_storage_grown_for_a_large_frame),
		cmocka_unit_test(test_trim_frees_only_an_empty_buffer),
		cmocka_unit_test(test_obuf_trim),
		cmocka_unit_test(test_recv_reads_eagain_full_and_eof),
		cmocka_unit_test(test_obuf_extend_appends_and_reuses),
		cmocka_unit_test(test_flush_writes_obuf_then_parsed_region),
		cmocka_unit_test(test_flush_partial_writes_keep_order_and_bytes),
		cmocka_unit_test(test_flush_partial_small_reads),
		cmocka_unit_test(test_flush_partial_sbuf_only),
		cmocka_unit_test(test_flush_partial_obuf_only),
		cmocka_unit_test(test_flush_closed_peer_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
