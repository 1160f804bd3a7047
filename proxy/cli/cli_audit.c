/* cli_audit.c - `kafka-gateway audit verify`: checks audit log files (see
 * audit/verify.c for what each kind of break means). */
#define _GNU_SOURCE
#include "cli/cli_audit.h"
#include "audit/anchor.h"
#include "audit/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage:\n"
		"  kafka-gateway audit verify [--hmac-key-file FILE] [--live] [--anchors FILE] FILE...\n"
		"\n"
		"Checks the hash chain of audit log files given in rotation order (oldest\n"
		"first, the live file last): every record's hash (and HMAC with\n"
		"--hmac-key-file), the links between records and files, and that every\n"
		"file but the live one ends with a seal record. The last file counts as\n"
		"live when a running gateway holds its lock, or with --live (a copy).\n"
		"--anchors FILE also checks the chain against anchors (audit.anchor_file,\n"
		"or the audit_anchor lines of syslog): an anchored record must be in the\n"
		"chain, so records cut off the end show even after a restart.\n"
		"\n"
		"Exit status: 0 intact, 1 tampered (edited, deleted, inserted, reordered\n"
		"or truncated records; the first one is reported), 2 bad usage or an\n"
		"unreadable file.\n");
}

static int verify(int argc, char **argv)
{
	const char *keyfile = NULL, *anchors_path = NULL;
	bool live = false;
	int i = 3;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--hmac-key-file") == 0 && i + 1 < argc) {
			keyfile = argv[++i];
		} else if (strcmp(argv[i], "--live") == 0) {
			live = true;
		} else if (strcmp(argv[i], "--anchors") == 0 && i + 1 < argc) {
			anchors_path = argv[++i];
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			fprintf(stderr, "kafka-gateway audit verify: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "kafka-gateway audit verify: no files given\n");
		usage(stderr);
		return 2;
	}
	uint8_t key[KG_AUDIT_KEY_MAX];
	size_t keylen = 0;
	char err[512];
	if (keyfile && kg_audit_key_load(keyfile, false, key, &keylen, err, sizeof(err)) < 0) {
		fprintf(stderr, "kafka-gateway audit verify: %s\n", err);
		return 2;
	}
	struct kg_audit_anchor *anchors = NULL;
	long nanchors = 0;
	if (anchors_path &&
	    (nanchors = kg_audit_anchors_read(anchors_path, &anchors, err, sizeof(err))) < 0) {
		fprintf(stderr, "kafka-gateway audit verify: %s\n", err);
		return 2;
	}
	if (anchors_path && nanchors == 0) {
		fprintf(stderr, "kafka-gateway audit verify: %s holds no audit_anchor lines\n",
			anchors_path);
		return 2;
	}
	struct kg_audit_verify_result r;
	int v = kg_audit_verify_anchored((const char *const *)argv + i, (size_t)(argc - i),
					 keyfile ? key : NULL, keylen, live, anchors,
					 (size_t)nanchors, anchors_path, &r);
	free(anchors);
	memset(key, 0, sizeof(key));
	if (v == KG_AV_IO) {
		fprintf(stderr, "kafka-gateway audit verify: %s: %s\n", r.file, r.msg);
		return 2;
	}
	if (v != KG_AV_OK) {
		if (r.line)
			printf("%s:%llu: %s: %s\n", r.file, (unsigned long long)r.line,
			       kg_audit_verdict_name(v), r.msg);
		else
			printf("%s: %s: %s\n", r.file, kg_audit_verdict_name(v), r.msg);
		printf("TAMPERED: the chain is broken (%llu records checked before the break)\n",
		       (unsigned long long)r.records);
		return 1;
	}
	printf("ok: %llu records in %d file%s (seq %llu..%llu), %llu seal%s, chain intact%s%s%s\n",
	       (unsigned long long)r.records, argc - i, argc - i == 1 ? "" : "s",
	       (unsigned long long)r.first_seq, (unsigned long long)r.last_seq,
	       (unsigned long long)r.seals, r.seals == 1 ? "" : "s",
	       r.open_tail ? "; the last file is live (no seal yet)" : "",
	       keyfile ? "; HMACs verified" : "", "");
	if (anchors_path)
		printf("anchors: %llu of %ld matched in the chain (%llu older than the files given)\n",
		       (unsigned long long)r.anchors_matched, nanchors,
		       (unsigned long long)r.anchors_before);
	if (r.note[0])
		printf("note: %s\n", r.note);
	if (r.unclean)
		printf("note: %llu unclean restart%s, first at %s:%llu: the run before left no seal "
		       "(a crash, a kill, or records cut off the end while stopped: check with "
		       "--anchors)\n", (unsigned long long)r.unclean, r.unclean == 1 ? "" : "s",
		       r.unclean_file, (unsigned long long)r.unclean_line);
	return 0;
}

int kg_cli_audit(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) {
		usage(argc < 3 ? stderr : stdout);
		return argc < 3 ? 2 : 0;
	}
	if (strcmp(argv[2], "verify") == 0)
		return verify(argc, argv);
	fprintf(stderr, "kafka-gateway audit: unknown subcommand '%s'\n", argv[2]);
	usage(stderr);
	return 2;
}
