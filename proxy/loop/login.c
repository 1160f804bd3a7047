/* login.c - connections before authentication (see login.h).
 *
 * Capacity that logging-in connections cannot take from logged-in ones:
 * each worker holds at most its share of max_unauthenticated_connections
 * of them, and a new one pushes out the oldest - a slow or silent login
 * (one byte every few seconds, or nothing) is old by the time the next
 * client arrives, while a real login takes a few round trips. One address
 * can hold only max_unauthenticated_per_address of them (admit.c), so
 * pushing out never reaches far past one flooder. listen.auth.
 * login_timeout_ms ends each of them anyway (conn.c).
 */
#include "loop/login.h"
#include "base/metrics.h"
#include "base/log.h"
#include "io/net.h"
#include "acl/policy.h"
#include "audit/audit.h"
#include "enforce/current_policy.h"
#include "loop/admit.h"
#include "loop/tenants.h"

#include <stdio.h>
#include <string.h>

/* Refusals are counted and logged once a second: a flood must not become
 * a flood of log lines. */
static void refused(struct kg_worker *w, const struct sockaddr *peer, enum kg_admit why)
{
	ev_tstamp now = ev_now(w->loop);
	w->refused++;
	if (now - w->refused_logged_at < 1.0)
		return;
	char addr[64];
	kg_net_host_str(peer, addr, sizeof(addr));
	log_warn("refused %llu connection(s) in %.0f s, the last from %s: %s",
		 (unsigned long long)w->refused,
		 w->refused_logged_at > 0 ? now - w->refused_logged_at : 0.0, addr,
		 kg_admit_reason(why));
	w->refused = 0;
	w->refused_logged_at = now;
}

bool kg_login_admit(struct kg_worker *w, const struct sockaddr *peer)
{
	enum kg_admit a = kg_admit_enter(peer);
	if (a == KG_ADMIT_OK)
		return true;
	KG_METRIC_INC(refused[a == KG_ADMIT_ADDRESS_FULL ? KG_MR_PER_ADDRESS
			      : a == KG_ADMIT_ADDRESS_LOGINS_FULL ? KG_MR_UNAUTHENTICATED_ADDRESS
			      : KG_MR_NO_MEMORY]);
	refused(w, peer, a);
	return false;
}

static size_t worker_share(const struct kg_worker *w)
{
	size_t n = (size_t)w->gw->nworkers;
	return ((size_t)w->gw->cfg->max_unauthenticated + n - 1) / n;
}

struct kg_conn *kg_login_begin(struct kg_conn *c)
{
	struct kg_worker *w = c->w;
	c->logging_in = true;
	c->counted = true;
	c->login_prev = w->login_tail;
	c->login_next = NULL;
	if (w->login_tail)
		w->login_tail->login_next = c;
	else
		w->login_head = c;
	w->login_tail = c;
	w->nlogin++;
	return w->nlogin > worker_share(w) ? w->login_head : NULL;
}

static void unlink_login(struct kg_conn *c)
{
	struct kg_worker *w = c->w;
	if (c->login_prev)
		c->login_prev->login_next = c->login_next;
	else
		w->login_head = c->login_next;
	if (c->login_next)
		c->login_next->login_prev = c->login_prev;
	else
		w->login_tail = c->login_prev;
	c->login_prev = c->login_next = NULL;
	c->logging_in = false;
	w->nlogin--;
}

void kg_login_principal(void *arg, const char *principal)
{
	struct kg_conn *c = arg;
	struct kg_policy *p = kg_current_policy();
	const struct kg_tenant *t = kg_policy_tenant_of(p, principal);
	if (t) {
		int rc = kg_tenants_enter(t, &c->tenant);
		c->tenant_counted = rc == 0;
		if (rc == -1)
			c->tenant_full = t->max_connections;
		/* Out of memory (-2) counts nothing and refuses nothing: the
		 * limit is a budget, not a permission. */
		if (c->tenant)
			kg_audit_tenant(c->audit, kg_tenant_slot_name(c->tenant));
	}
	kg_policy_unref(p);
}

void kg_login_tenant_report(struct kg_conn *c)
{
	if (!c->tenant)
		return;
	uint64_t now[3] = { c->bytes_c2u, c->bytes_u2c, c->requests };
	uint64_t *was = c->tenant_reported;
	if (now[0] == was[0] && now[1] == was[1] && now[2] == was[2])
		return;
	kg_tenants_traffic(c->tenant, now[0] - was[0], now[1] - was[1], now[2] - was[2]);
	memcpy(was, now, sizeof(now));
}

bool kg_login_tenant_full(struct kg_conn *c, char *why, size_t len)
{
	if (!c->tenant_full)
		return false;
	snprintf(why, len, "tenant '%s' has its %u connections (tenants[].limits.max_connections)",
		 kg_tenant_slot_name(c->tenant), c->tenant_full);
	log_warn("conn %llu %s: %s", (unsigned long long)c->id, c->peer, why);
	KG_METRIC_INC(refused[KG_MR_TENANT_CONNECTIONS]);
	return true;
}

void kg_login_end(struct kg_conn *c)
{
	if (!c->logging_in)
		return;
	unlink_login(c);
	kg_admit_authenticated((const struct sockaddr *)&c->peer_sa);
}

void kg_login_leave(struct kg_conn *c)
{
	kg_login_tenant_report(c);
	if (c->tenant_counted) {
		kg_tenants_leave(c->tenant);
		c->tenant_counted = false;
	}
	if (!c->counted)
		return;
	bool authenticated = !c->logging_in;
	if (c->logging_in)
		unlink_login(c);
	kg_admit_leave((const struct sockaddr *)&c->peer_sa, authenticated);
	c->counted = false;
}

/* Acts on what authn raised while it handled a frame. */
void kg_login_settle_raised(struct kg_conn *c)
{
	struct kg_authn *a = &c->authn;
	if (a->request_seen) {
		a->request_seen = false;
		c->requests++;
	}
	if (a->close_after_flush) {
		a->close_after_flush = false;
		c->close_after_flush = true;
	}
	if (a->failure_delay) {
		/* The answer waits the failure delay, then goes, then the
		 * connection closes, as a broker does. */
		a->failure_delay = false;
		c->hold_output = true;
		ev_timer_stop(c->w->loop, &c->timer);
		ev_timer_set(&c->timer, a->cfg->failure_delay_ms / 1000.0, 0.0);
		ev_timer_start(c->w->loop, &c->timer);
	}
}
