/* audit-t.h - types of the audit log: its settings, the per-connection
 * state, writer statistics and verification results.
 *
 *   hooks (workers, main thread)         writer thread
 *   build event (jansson) -> text --queue--> seq, prev, hash[, hmac]
 *                                            -> file | stdout | syslog
 *
 * A record is one line: {"v":1,"seq":N,<event fields>,"prev":H0,"hash":H1}
 * with H1 = SHA-256(H0 bytes || the line up to ',"hash":'), so each record
 * vouches for all before it (README "Audit log").
 */
#ifndef KG_AUDIT_T_H
#define KG_AUDIT_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Schema version written as "v" in every record. */
#define KG_AUDIT_SCHEMA 1

enum kg_audit_sink {
	KG_AUDIT_SINK_FILE,            /* append to path; rotation, reopen */
	KG_AUDIT_SINK_STDOUT,          /* one line per record on fd 1 */
	KG_AUDIT_SINK_SYSLOG           /* one syslog message per record */
};

/* What a producer does when the queue is full or the sink fails. */
enum kg_audit_on_full {
	KG_AUDIT_BLOCK,                /* wait: never lose a record */
	KG_AUDIT_DROP                  /* drop, count, report as an event */
};

enum kg_audit_fsync {
	KG_AUDIT_FSYNC_INTERVAL,       /* at most every fsync_interval_ms */
	KG_AUDIT_FSYNC_ALWAYS,         /* after every write (each batch) */
	KG_AUDIT_FSYNC_NEVER           /* left to the kernel */
};

/* The "audit" section of the configuration (proxy/config/config_audit.c). */
struct kg_audit_cfg {
	bool enabled;                  /* false: every hook is a no-op */
	int sink;                      /* enum kg_audit_sink */
	char *path;                    /* file sink: the live file */
	uint32_t queue_size;           /* records the queue holds */
	int on_full;                   /* enum kg_audit_on_full */
	int fsync;                     /* enum kg_audit_fsync */
	uint32_t fsync_interval_ms;    /* for KG_AUDIT_FSYNC_INTERVAL */
	uint64_t rotate_bytes;         /* rotate past this size, 0 = never */
	uint32_t rotate_interval_s;    /* rotate after this long, 0 = never */
	uint32_t summary_interval_ms;  /* data-plane summaries flushed this often */
	bool per_request;              /* one event per request, no summaries */
	uint32_t denial_window_ms;     /* identical denials grouped within it */
	char *hmac_key_file;           /* key for the per-record HMAC, or NULL */
	char *instance_id;             /* "instance" of every record */
	int syslog_facility;           /* LOG_LOCAL0... (syslog sink) */
	char *syslog_ident;            /* syslog tag (syslog sink) */
	uint32_t stop_timeout_ms;      /* block policy: how long a stop waits
	                                  for a failing sink before giving up */
	char *anchor_file;             /* chain anchors appended here, or NULL */
	bool anchor_syslog;            /* chain anchors sent to syslog too */
	uint32_t anchor_interval_ms;   /* an anchor at most this often (and at
	                                  every seal) */
};

/* Writer counters, for tests and the gateway_stop event. */
struct kg_audit_stats {
	uint64_t submitted;            /* records handed to the queue */
	uint64_t written;              /* records written (incl. writer's own) */
	uint64_t dropped;              /* records lost (drop policy, or a stop
	                                  that timed out with a failing sink) */
	uint64_t write_errors;         /* failed write attempts */
	uint64_t blocked;              /* producer waits on a full queue */
	uint64_t rotations;            /* files sealed and replaced */
	uint64_t queued;               /* records waiting in the queue now */
	uint64_t capacity;             /* the queue's size */
	bool failing;                  /* the sink is failing right now */
};

struct kg_audit_sum;               /* data-plane summary slot (traffic.c) */
struct kg_audit_deny;              /* group of identical denials (traffic.c) */
struct kg_audit_pending;           /* admin request awaiting its response */

/* Audit state of one connection, the narrow interface's context: filled
 * once when the connection opens (kg_audit_conn_new) and by the hooks
 * after, never read from the connection itself. Used by the connection's
 * worker thread only. */
struct kg_audit_conn {
	struct kg_audit_conn *prev, *next; /* the worker's list (flush timer) */
	uint64_t id;                   /* connection id */
	int32_t broker;                /* node id its port stands for, -1 */
	int64_t opened_us;             /* wall clock at accept, for records */
	double started;                /* monotonic seconds at accept */
	char listener[24];             /* "bootstrap", "broker-N" or "sni" */
	char addr[48];                 /* client address without port */
	uint16_t port;                 /* client port */
	bool tls;                      /* accepted on a TLS listener */
	bool tls_done;                 /* handshake completed */
	bool open_sent;                /* connection_open written */
	char tls_version[16];          /* "TLSv1.3" */
	char tls_cipher[64];           /* OpenSSL cipher name */
	char *cert_subject;            /* client certificate DN (RFC 2253) */
	char cert_sha256[96];          /* its SHA-256 fingerprint, AB:CD:... */
	char *principal;               /* "User:...", once authenticated */
	const char *tenant;            /* its tenant, or NULL (not owned) */
	char *sw_name;                 /* ApiVersions v3+ ClientSoftwareName */
	char *sw_version;              /* ... ClientSoftwareVersion */
	uint64_t responses;            /* responses the brokers sent */

	struct kg_audit_sum *sums;     /* open-addressing table of summaries */
	uint32_t sums_cap;             /* its size (power of two, or 0) */
	uint32_t sums_used;            /* slots in use */
	struct kg_audit_deny *denials; /* denial groups within the window */
	uint32_t ndenials;             /* count of denials[] */
	struct kg_audit_pending *pend; /* admin requests, oldest first */
	struct kg_audit_pending *pend_tail; /* newest */
	uint32_t npend;                /* count of pend list */
};

/* What a connection is, for kg_audit_conn_new. */
struct kg_audit_conn_info {
	uint64_t id;                   /* connection id */
	int32_t broker;                /* node id its port stands for, -1 */
	bool sni;                      /* accepted on the SNI port */
	bool tls;                      /* on a TLS listener */
	const struct sockaddr *peer;   /* client address */
};

/* The client's TLS session, for kg_audit_tls_done. */
struct kg_audit_tls {
	const char *version;           /* "TLSv1.3" */
	const char *cipher;            /* OpenSSL cipher name */
	const char *cert_subject;      /* client certificate DN, or NULL */
	const char *cert_sha256;       /* its fingerprint AB:CD:..., or NULL */
};

/* An authentication, for kg_audit_auth. */
struct kg_audit_auth {
	bool ok;                       /* succeeded */
	const char *mechanism;         /* "SCRAM-SHA-512", "PLAIN", "TLS", NULL */
	const char *reason;            /* why it failed, or NULL */
	const char *principal;         /* who it established (success), or NULL */
	bool reauth;                   /* a KIP-368 re-authentication */
	const char *compatibility;     /* a weakened check it needed (e.g.
	                                  "scram_nonce_suffix"), or NULL */
};

/* One authorization decision, names resolved (kg_audit_decision). */
struct kg_audit_decision {
	int16_t api_key;               /* the request's api */
	const char *resource_type;     /* "topic", "group", "cluster", ... */
	const char *name;              /* resource name; NULL: none (cluster) */
	size_t name_len;               /* its length */
	const char *operation;         /* "READ", ... */
	bool allowed;                  /* the outcome */
	const char *reason;            /* "allow_rule", "deny_rule",
	                                  "super_user", "no_rule" */
	const char *role;              /* deciding rule's role, or NULL */
	int rule;                      /* its index in the role, or -1 */
	const char *rule_text;         /* the rule, readable, or NULL */
};

/* How a connection ended, for kg_audit_conn_close. */
struct kg_audit_close {
	const char *reason;            /* why */
	uint64_t bytes_from_client;    /* bytes read from the client */
	uint64_t bytes_from_broker;    /* bytes read from the broker */
	uint64_t requests;             /* requests the client sent */
};

/* The gateway's settings worth a gateway_start record. */
struct kg_audit_start_info {
	const char *config_path;       /* configuration file */
	int workers;                   /* worker threads */
	uint16_t bootstrap_port;       /* bound bootstrap port */
	bool tls;                      /* client listeners speak TLS */
	const char *auth_mode;         /* "sasl", "mtls", "none" */
	const char *policy_file;       /* the ACL policy */
};

/* Resolves a topic id to its name (route/topics.h's kg_topics_name), for
 * records of requests naming topics by id. Length, or -1 if unknown. */
typedef int (*kg_audit_topic_name_fn)(const uint8_t id[16], char *buf, size_t cap);


/* A growable byte buffer (the writer's batch of lines). */
struct kg_audit_buf {
	char *p;                       /* bytes */
	size_t len;                    /* used */
	size_t cap;                    /* allocated */
};

#define KG_AUDIT_HASH_LEN 32       /* SHA-256 */

/* Where records go (sink.c); owned by the writer thread. */
struct kg_audit_sinkst {
	int kind;                      /* enum kg_audit_sink */
	int fd;                        /* file or stdout; -1 when closed */
	const char *path;              /* file sink: the live file's name */
	uint64_t size;                 /* bytes in the open file */
	uint64_t dev, ino;             /* identity of the open file */
	double opened;                 /* monotonic seconds it was opened */
};

/* Where the chain stood when the writer started (sink.c). */
struct kg_audit_head {
	uint64_t seq;                  /* last record's seq, 0: none */
	uint8_t hash[KG_AUDIT_HASH_LEN]; /* its hash (zero: new chain) */
	const char *previous_run;      /* "new", "clean" (ended with a stop
	                                  seal), "unclean" (no seal: crash or
	                                  kill), "unreadable" (new chain) */
};

/* The chain fields of one record line, as parsed by the verifier. */
struct kg_audit_rec {
	uint64_t seq;                  /* "seq" */
	uint8_t prev[KG_AUDIT_HASH_LEN]; /* "prev" */
	uint8_t hash[KG_AUDIT_HASH_LEN]; /* "hash" */
	uint8_t hmac[KG_AUDIT_HASH_LEN]; /* "hmac" when has_hmac */
	bool has_hmac;                 /* the record carries an HMAC */
	size_t text_len;               /* hashed part: bytes before ',"hash":' */
	const char *type;              /* "type" value (points into the line) */
	size_t type_len;               /* its length */
};

/* What `audit verify` found (verify.c). */
enum kg_audit_verdict {
	KG_AV_OK,                      /* chain intact */
	KG_AV_EDITED,                  /* a record's content changed */
	KG_AV_DELETED,                 /* records are missing */
	KG_AV_INSERTED,                /* a record not of the chain */
	KG_AV_REORDERED,               /* records out of order */
	KG_AV_TRUNCATED,               /* a file lost its end */
	KG_AV_IO                       /* a file could not be read */
};

struct kg_audit_verify_result {
	int verdict;                   /* enum kg_audit_verdict */
	const char *file;              /* file of the problem (argument) */
	uint64_t line;                 /* its line, 1-based (0: whole file) */
	char msg[512];                 /* what is wrong, for people */
	uint64_t records;              /* records checked */
	uint64_t first_seq, last_seq;  /* seq range seen */
	uint64_t seals;                /* seal records seen */
	bool open_tail;                /* last file unsealed but live */
	char note[256];                /* remarks that are not failures */
	uint64_t unclean;              /* gateway_start records saying the run
	                                  before left no seal */
	const char *unclean_file;      /* the first of them: file, */
	uint64_t unclean_line;         /* line */
	uint64_t anchors_matched;      /* anchors found in the chain */
	uint64_t anchors_before;       /* anchors older than the files given */
};

#endif
