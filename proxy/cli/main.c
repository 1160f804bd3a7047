/* main.c - command line: run, check, --help, --version. */
#define _GNU_SOURCE
#include "acl/policy.h"
#include "audit/audit.h"
#include "auth/limiter.h"
#include "loop/admit.h"
#include "auth/sasl.h"
#include "auth/tls.h"
#include "auth/users.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/version.h"
#include "cli/cli_acl.h"
#include "cli/cli_audit.h"
#include "cli/cli_user.h"
#include "config/config.h"
#include "enforce/current_policy.h"
#include "kafka/codec.h"
#include "loop/conn.h"
#include "loop/worker.h"
#include "ops/admin.h"
#include "ops/health.h"
#include "route/refresh.h"
#include "route/router.h"
#include "route/topics.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KG_VERSION KG_VERSION_STRING

static void usage(FILE *f)
{
	fprintf(f,
		"kafka-gateway %s - a security gateway for Apache Kafka\n"
		"\n"
		"Usage:\n"
		"  kafka-gateway run -c FILE     run the gateway with config FILE\n"
		"  kafka-gateway check -c FILE   validate config FILE and exit\n"
		"  kafka-gateway user add|set-password|remove|list --users FILE [NAME]\n"
		"                                manage SASL/SCRAM users (see README)\n"
		"  kafka-gateway acl explain|check --policy FILE | -c FILE ...\n"
		"                                check a policy, explain a decision (see README)\n"
		"  kafka-gateway audit verify [--hmac-key-file F] [--live] FILE...\n"
		"                                check audit log files (exit 1: tampered)\n"
		"  kafka-gateway --help          this text\n"
		"  kafka-gateway --version       print the version\n"
		"\n"
		"Exit status: 0 on success, 1 on a bad config or start failure, 2 on bad usage.\n",
		KG_VERSION);
}

/* The TLS sections of the configuration, for building contexts. */
static struct kg_tls_settings tls_settings;

static struct kg_config *load(int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 2; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc)
			path = argv[++i];
		else {
			fprintf(stderr, "kafka-gateway: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			exit(2);
		}
	}
	if (!path) {
		fprintf(stderr, "kafka-gateway: %s needs -c FILE\n", argv[1]);
		exit(2);
	}
	char err[1024];
	struct kg_config *c = kg_config_load(path, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "kafka-gateway: invalid configuration: %s\n", err);
		exit(1);
	}
	/* Certificates, keys and the users file are part of the
	 * configuration: load them now so that `check` and a bad start fail
	 * the same way. */
	tls_settings = (struct kg_tls_settings){ &c->tls, &c->upstream_tls };
	if (kg_tls_init(&tls_settings, kg_conn_sni, err, sizeof(err)) < 0) {
		fprintf(stderr, "kafka-gateway: invalid configuration: %s: %s\n", path, err);
		exit(1);
	}
	if (kg_current_policy_reload(c->acl_policy_file, err, sizeof(err)) < 0) {
		fprintf(stderr, "kafka-gateway: invalid policy: %s\n", err);
		exit(1);
	}
	if (c->auth.mode == KG_AUTH_SASL &&
	    (kg_users_reload(c->auth.users_file, err, sizeof(err)) < 0 ||
	     kg_sasl_init(err, sizeof(err)) < 0)) {
		fprintf(stderr, "kafka-gateway: invalid configuration: %s: %s\n", path, err);
		exit(1);
	}
	if (kg_audit_check(c->audit, err, sizeof(err)) < 0) {
		fprintf(stderr, "kafka-gateway: invalid configuration: %s: %s\n", path, err);
		exit(1);
	}
	return c;
}

static long long file_mtime_ns(const char *path)
{
	struct stat st;
	if (!path || stat(path, &st) != 0)
		return 0;
	return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/* Newest change among the files the gateway reloads. */
static long long watched_mtime(const struct kg_config *cfg)
{
	long long a = kg_tls_files_mtime(&tls_settings), b = file_mtime_ns(cfg->auth.users_file);
	long long p = file_mtime_ns(cfg->acl_policy_file);
	a = a > b ? a : b;
	return a > p ? a : p;
}

/* Every reload (base/reload.h: built and validated before it is swapped
 * in; a failure keeps the current one) is logged and audited the same way.
 * what names it in the audit record, label and kept in the log. */
struct reload_kind {
	const char *what;              /* "policy", "tls", "users" */
	const char *label;             /* "policy", "TLS", "users" */
	const char *kept;              /* "policy", "certificates", "users" */
	enum kg_metrics_reload metric; /* its reloads_total kind */
};

static void reloaded(const struct reload_kind *k, int rc, const char *err, const char *detail)
{
	kg_metrics_reload(k->metric, rc == 0);
	if (rc < 0) {
		log_error("%s reload failed, keeping the current %s: %s", k->label, k->kept, err);
		kg_audit_reload(k->what, false, err);
		return;
	}
	log_info("%s reloaded%s%s", k->label, detail[0] ? " from " : "", detail);
	kg_audit_reload(k->what, true, detail[0] ? detail : "certificates reloaded");
}

static const struct reload_kind policy_kind = { "policy", "policy", "policy", KG_MRL_POLICY };
static const struct reload_kind tls_kind = { "tls", "TLS certificates", "certificates",
					     KG_MRL_TLS };
static const struct reload_kind users_kind = { "users", "users", "users", KG_MRL_USERS };

static long long policy_mtime;         /* of the policy file last loaded */

static void reload(const struct kg_config *cfg, bool force)
{
	char err[1024], detail[512];
	/* Only a policy file that changed is reloaded on a file poll: a
	 * renewed certificate must not be recorded as a policy reload.
	 * Existing connections follow a new policy from their next request. */
	long long m = file_mtime_ns(cfg->acl_policy_file);
	if (force || m != policy_mtime) {
		policy_mtime = m;
		int rc = kg_current_policy_reload(cfg->acl_policy_file, err, sizeof(err));
		struct kg_policy *p = rc == 0 ? kg_current_policy() : NULL;
		snprintf(detail, sizeof(detail), "%s: %zu roles, %zu rules", cfg->acl_policy_file,
			 kg_policy_role_count(p), kg_policy_rule_count(p));
		kg_policy_unref(p);
		reloaded(&policy_kind, rc, err, detail);
	}
	if (cfg->tls.enabled || cfg->upstream_tls.enabled)
		reloaded(&tls_kind, kg_tls_reload(&tls_settings, err, sizeof(err)), err, "");
	if (cfg->auth.mode == KG_AUTH_SASL)
		reloaded(&users_kind, kg_users_reload(cfg->auth.users_file, err, sizeof(err)), err,
			 cfg->auth.users_file);
}

static int topic_name(const uint8_t id[16], char *buf, size_t cap)
{
	return kg_topics_name(id, buf, cap);
}

/* Waits up to ms for one of the signals of set: true if one came. */
static bool signal_within(const sigset_t *set, uint32_t ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	return sigtimedwait(set, NULL, &t) > 0;
}

static int64_t clients_open(void)
{
	static struct kg_metrics m;
	kg_metrics_sum(&m);
	int64_t n = 0;
	for (int l = 0; l < KG_ML_N; l++)
		n += m.open[l];
	return n;
}

/* SIGTERM: /readyz turns 503 first, so load balancers stop sending; the
 * listeners close after shutdown.unready_delay_ms; connections close as
 * their requests are answered, the rest after drain_timeout_ms. Another
 * signal ends the wait. */
static void drain(struct kg_gateway *gw, const sigset_t *set)
{
	const struct kg_shutdown_cfg *sc = &gw->cfg->shutdown;
	kg_health_set_draining();
	log_info("draining: not ready; listeners close in %u ms, connections then get %u ms",
		 sc->unready_delay_ms, sc->drain_timeout_ms);
	if (sc->unready_delay_ms && signal_within(set, sc->unready_delay_ms)) {
		log_info("second signal: stopping now");
		return;
	}
	kg_workers_drain(gw);
	uint64_t end = kg_metrics_now_ns() + (uint64_t)sc->drain_timeout_ms * 1000000u;
	int64_t left;
	while ((left = clients_open()) > 0 && kg_metrics_now_ns() < end) {
		if (signal_within(set, 50)) {
			log_info("second signal: stopping now");
			return;
		}
	}
	if (left > 0)
		log_warn("drain: %lld connections still busy after %u ms: closing them",
			 (long long)left, sc->drain_timeout_ms);
	else
		log_info("drained: every connection closed after its last answer");
}

static int cmd_run(struct kg_config *cfg)
{
	kg_log_set_level((enum kg_log_level)cfg->log_level);
	kg_log_set_json(cfg->log_json);
	if (!kg_limiter_configure(cfg->auth.max_failures, cfg->auth.failure_window_ms,
				  cfg->auth.block_ms, cfg->auth.max_address_failures)) {
		log_error("cannot seed the login limiter: no random bytes");
		return 1;
	}
	kg_admit_configure(cfg);
	struct kg_gateway gw = { .cfg = cfg };
	kg_router_init(&gw.router, cfg);
	gw.router.on_new_node = kg_workers_wake;
	gw.router.on_new_node_ctx = &gw;
	/* Before any worker runs: later the refresh thread re-resolves. */
	kg_router_resolve_bootstrap(&gw.router);

	/* Signals are taken by sigwait in this thread only. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	int n = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (kg_workers_init(&gw, n) < 0) {
		log_error("cannot start: listeners could not be opened");
		return 1;
	}
	char aerr[512];
	if (kg_audit_start(cfg->audit, topic_name, aerr, sizeof(aerr)) < 0) {
		log_error("cannot start: audit log: %s", aerr);
		return 1;
	}
	if (kg_workers_start(&gw) < 0 || kg_refresh_start(&gw.router) < 0) {
		log_error("cannot start threads");
		return 1;
	}
	if (kg_admin_start(&gw, aerr, sizeof(aerr)) < 0) {
		log_error("cannot start: admin listener: %s", aerr);
		return 1;
	}
	kg_health_set_listening(true);
	log_info("kafka-gateway %s started: %d workers, bootstrap %s:%u (advertised %s:%u), "
		 "%zu upstream bootstrap servers", KG_VERSION, n, cfg->bind_host,
		 cfg->bootstrap_port, cfg->advertised_host, cfg->bootstrap_advertised_port,
		 cfg->nbootstrap);
	struct kg_audit_start_info info = {
		.config_path = cfg->path, .workers = n, .bootstrap_port = cfg->bootstrap_port,
		.tls = cfg->tls.enabled, .policy_file = cfg->acl_policy_file,
		.auth_mode = cfg->auth.mode == KG_AUTH_SASL ? "sasl"
			     : cfg->auth.mode == KG_AUTH_MTLS ? "mtls" : "none",
	};
	kg_audit_gateway_start(&info);
	if (cfg->auth.mode == KG_AUTH_SASL && cfg->auth.scram_nonce_suffix)
		log_warn("listen.auth.scram_nonce is \"suffix\": a SCRAM client-final nonce that only "
			 "ends with the server's is accepted (Kafka 3.8.1-3.9 behaviour, for librdkafka "
			 "before 2.6.1); each login that needs it is logged and audited");
	/* Signals, and a look at the TLS files every few seconds so that a
	 * renewed certificate (cert-manager, a mounted Secret) is picked up
	 * without a SIGHUP. */
	long long tls_loaded = watched_mtime(cfg), tls_seen = tls_loaded;
	policy_mtime = file_mtime_ns(cfg->acl_policy_file);
	for (;;) {
		struct timespec poll = { .tv_sec = 5 };
		int sig = sigtimedwait(&set, NULL, &poll);
		if (sig < 0) {
			/* Reload once a change has stood still for one period,
			 * so a file caught half-written is not taken. */
			long long m = watched_mtime(cfg);
			if (m != tls_loaded && m == tls_seen) {
				log_info("TLS or users files changed on disk: reloading");
				tls_loaded = m;
				reload(cfg, false);
			}
			tls_seen = m;
			continue;
		}
		if (sig == SIGHUP) {
			log_info("SIGHUP: reloading TLS certificates and users");
			tls_loaded = tls_seen = watched_mtime(cfg);
			reload(cfg, true);
			kg_admin_reload(cfg);
			kg_audit_reopen();
			continue;
		}
		log_info("signal %d: stopping", sig);
		if (sig == SIGTERM)
			drain(&gw, &set);
		kg_audit_stopping(sig == SIGINT ? "SIGINT" : "SIGTERM");
		break;
	}
	kg_health_set_listening(false);
	kg_refresh_stop();
	kg_admin_stop();
	kg_workers_stop(&gw);
	kg_audit_stop();
	kg_router_destroy(&gw.router);
	kg_tls_shutdown();
	log_info("kafka-gateway stopped");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("kafka-gateway %s (Kafka protocol: %zu APIs)\n", KG_VERSION, kc_napis);
		return 0;
	}
	if (strcmp(argv[1], "user") == 0)
		return kg_cli_user(argc, argv);
	if (strcmp(argv[1], "acl") == 0)
		return kg_cli_acl(argc, argv);
	if (strcmp(argv[1], "audit") == 0)
		return kg_cli_audit(argc, argv);
	if (strcmp(argv[1], "check") == 0) {
		struct kg_config *c = load(argc, argv);
		printf("%s: configuration is valid\n", c->path);
		kg_tls_shutdown();
		kg_config_free(c);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0) {
		struct kg_config *c = load(argc, argv);
		int rc = cmd_run(c);
		kg_config_free(c);
		return rc;
	}
	fprintf(stderr, "kafka-gateway: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
