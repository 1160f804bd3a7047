/* inflight.c - a connection's in-flight ring (see inflight.h). */
#include "loop/inflight.h"
#include "base/metrics.h"
#include "io/sbuf.h"
#include "loop/worker-t.h"

#include <stdlib.h>
#include <string.h>

int kg_inflight_push(struct kg_conn *c, const struct kg_inflight *e)
{
	if (c->qlen == c->qcap) {
		uint32_t cap = c->qcap ? c->qcap * 2 : 16;
		struct kg_inflight *q = malloc(cap * sizeof(*q));
		if (!q)
			return -1;
		for (uint32_t i = 0; i < c->qlen; i++)
			q[i] = c->q[(c->qhead + i) % c->qcap];
		free(c->q);
		c->q = q;
		c->qcap = cap;
		c->qhead = 0;
	}
	struct kg_inflight *slot = &c->q[(c->qhead + c->qlen) % c->qcap];
	*slot = *e;
	c->qlen++;
	if (!slot->local)
		kg_metric_gauge(&kg_metrics_mine()->inflight, 1);
	if (slot->deadline > 0) {
		/* Brokers answer in order: a request is not late before the
		 * one ahead of it is. The timer is armed lazily (conn.c moves
		 * it on when it fires early), so a busy connection costs no
		 * timer operation per request. */
		if (slot->deadline < c->last_deadline)
			slot->deadline = c->last_deadline;
		c->last_deadline = slot->deadline;
		if (!ev_is_active(&c->answer_timer)) {
			struct ev_loop *loop = c->w->loop;
			ev_timer_set(&c->answer_timer, slot->deadline - ev_now(loop), 0.0);
			ev_timer_start(loop, &c->answer_timer);
		}
	}
	return 0;
}

void kg_inflight_pop(struct kg_conn *c)
{
	if (!c->q[c->qhead].local)
		kg_metric_gauge(&kg_metrics_mine()->inflight, -1);
	free(c->q[c->qhead].local);
	free(c->q[c->qhead].merge);
	c->qhead = (c->qhead + 1) % c->qcap;
	c->qlen--;
}

void kg_inflight_clear(struct kg_conn *c)
{
	while (c->qlen > 0)
		kg_inflight_pop(c);
}

int kg_inflight_emit_local(struct kg_conn *c)
{
	/* Never in the middle of a response being passed through. */
	if (c->u_stream_left > 0)
		return c->qlen > 0 && c->q[c->qhead].local;
	while (c->qlen > 0 && c->q[c->qhead].local) {
		/* Everything before it must already be in to_c or written. */
		if (c->u_in.ready != c->u_in.sent)
			return 1;
		struct kg_inflight *e = &c->q[c->qhead];
		uint8_t *p = kg_obuf_extend(&c->to_c, e->local_len);
		if (!p)
			return 1;
		memcpy(p, e->local, e->local_len);
		kg_inflight_pop(c);
	}
	return 0;
}

int kg_inflight_queue_local(void *conn, int32_t corr, int16_t key, int16_t ver,
			    uint8_t *frame, long len)
{
	struct kg_conn *c = conn;
	struct kg_inflight e = { .corr = corr, .api_key = key, .version = ver,
				 .local = frame, .local_len = (uint32_t)len };
	if (kg_inflight_push(c, &e) < 0) {
		free(frame);
		return -1;
	}
	kg_inflight_emit_local(c);
	return 0;
}
