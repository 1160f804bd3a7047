/*
 * cli_user.c - `kafka-gateway user add|set-password|remove|list`.
 *
 * The gateway only ever reads the users file; this is the writer. It works
 * on a private copy (load, change, save atomically), so a running gateway
 * sees either the old or the new file on its next reload. Two concurrent
 * runs of this command can still lose one of their changes: run them one
 * at a time.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cli_user.h"
#include "auth/users.h"

/* Longest password accepted, in bytes. */
#define KG_PASSWORD_MAX 1024

static void usage(FILE *f)
{
	fprintf(f,
		"Usage:\n"
		"  kafka-gateway user add --users FILE [--mechanisms LIST] [--iterations N]\n"
		"                         [--password-stdin] NAME\n"
		"  kafka-gateway user set-password --users FILE [--mechanisms LIST]\n"
		"                         [--iterations N] [--password-stdin] NAME\n"
		"  kafka-gateway user remove --users FILE NAME\n"
		"  kafka-gateway user list --users FILE\n"
		"\n"
		"  --mechanisms     comma-separated, of SCRAM-SHA-256 and SCRAM-SHA-512\n"
		"                   (default: both); PLAIN logins use these credentials too\n"
		"  --iterations     PBKDF2 rounds, %d..%d (default %d)\n"
		"  --password-stdin read the password from the first line of stdin instead\n"
		"                   of asking on the terminal\n"
		"\n"
		"The file holds salted verifiers only, is created with mode 0600 and is\n"
		"replaced atomically; a running gateway picks changes up on reload.\n",
		KG_SCRAM_ITER_MIN, KG_SCRAM_ITER_MAX, KG_SCRAM_ITER_DEFAULT);
}

/* Reads one line from fd into buf (at most KG_PASSWORD_MAX bytes, without
 * the "\n" or "\r\n"). Byte at a time, so nothing past the line is
 * consumed and no stdio buffer keeps a copy of the password. Returns the
 * length, or -1 (too long, read error, or EOF before any byte). */
static long read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	int got = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got = 1;
		if (c == '\n')
			break;
		if (n + 1 >= cap)
			return -1;
		buf[n++] = c;
	}
	if (!got)
		return -1;
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = 0;
	return (long)n;
}

/* Asks on the terminal with echo off. Returns the length or -1. */
static long ask_tty(int tty, const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	int echo_off = tcgetattr(tty, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		echo_off = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
	}
	if (write(tty, prompt, strlen(prompt)) < 0) {
		/* best effort: the read below still works */
	}
	long n = read_line(tty, buf, cap);
	if (echo_off)
		tcsetattr(tty, TCSAFLUSH, &old);
	if (write(tty, "\n", 1) < 0) {
		/* nothing to do */
	}
	return n;
}

/* Gets the password into pw (cap bytes). Returns its length, or -1 with a
 * message printed. */
static long get_password(int from_stdin, const char *name, char *pw, size_t cap)
{
	long n;
	if (from_stdin) {
		n = read_line(STDIN_FILENO, pw, cap);
		if (n < 0) {
			fprintf(stderr, "kafka-gateway user: no password on stdin (or longer than %d bytes)\n",
				KG_PASSWORD_MAX);
			return -1;
		}
	} else {
		int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (tty < 0) {
			fprintf(stderr, "kafka-gateway user: no terminal to ask for the password on; "
					"use --password-stdin\n");
			return -1;
		}
		char prompt[KG_USER_NAME_MAX + 40], again[KG_PASSWORD_MAX + 1];
		snprintf(prompt, sizeof(prompt), "Password for %s: ", name);
		n = ask_tty(tty, prompt, pw, cap);
		long n2 = n < 0 ? -1 : ask_tty(tty, "Retype password: ", again, sizeof(again));
		close(tty);
		int same = n >= 0 && n2 == n && memcmp(pw, again, (size_t)n) == 0;
		OPENSSL_cleanse(again, sizeof(again));
		if (n < 0 || n2 < 0) {
			fprintf(stderr, "kafka-gateway user: could not read the password (longer than %d bytes?)\n",
				KG_PASSWORD_MAX);
			return -1;
		}
		if (!same) {
			fprintf(stderr, "kafka-gateway user: the passwords do not match\n");
			return -1;
		}
	}
	if (n == 0) {
		fprintf(stderr, "kafka-gateway user: empty password refused (Kafka refuses it too)\n");
		return -1;
	}
	if (memchr(pw, 0, (size_t)n)) {
		fprintf(stderr, "kafka-gateway user: NUL byte in the password refused\n");
		return -1;
	}
	return n;
}

/* Parses "SCRAM-SHA-256,SCRAM-SHA-512" into a mask. -1 on an unknown name. */
static int parse_mechs(const char *s, unsigned *mask)
{
	*mask = 0;
	while (*s) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		char name[32];
		if (n == 0 || n >= sizeof(name))
			return -1;
		memcpy(name, s, n);
		name[n] = 0;
		int m = kg_scram_mech_parse(name);
		if (m < 0)
			return -1;
		*mask |= 1u << m;
		s += n + (c ? 1 : 0);
		if (c && !*s)
			return -1;
	}
	return *mask ? 0 : -1;
}

static void print_list(const struct kg_users *u)
{
	for (size_t i = 0; i < u->n; i++) {
		printf("%s\t", u->user[i].name);
		const char *sep = "";
		for (int m = 0; m < KG_SCRAM_NMECH; m++) {
			const struct kg_scram_cred *c = &u->user[i].cred[m];
			if (c->present) {
				printf("%s%s:%u", sep, kg_scram_mech_name(m), (unsigned)c->iterations);
				sep = " ";
			}
		}
		printf("\n");
	}
}

int kg_cli_user(int argc, char **argv)
{
	const char *cmd = argc > 2 ? argv[2] : NULL, *path = NULL, *name = NULL;
	const char *mechs = NULL, *iters = NULL;
	int pw_stdin = 0;
	enum { ADD, SETPW, REMOVE, LIST } op;

	if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	if (strcmp(cmd, "add") == 0)
		op = ADD;
	else if (strcmp(cmd, "set-password") == 0)
		op = SETPW;
	else if (strcmp(cmd, "remove") == 0)
		op = REMOVE;
	else if (strcmp(cmd, "list") == 0)
		op = LIST;
	else {
		fprintf(stderr, "kafka-gateway user: unknown subcommand '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strcmp(a, "--users") == 0)
			slot = &path;
		else if (strcmp(a, "--mechanisms") == 0 && (op == ADD || op == SETPW))
			slot = &mechs;
		else if (strcmp(a, "--iterations") == 0 && (op == ADD || op == SETPW))
			slot = &iters;
		else if (strcmp(a, "--password-stdin") == 0 && (op == ADD || op == SETPW)) {
			pw_stdin = 1;
			continue;
		} else if (a[0] == '-' && a[1] == '-' && a[2] == 0 && i + 1 < argc && !name &&
			   op != LIST) {
			name = argv[++i]; /* "--" NAME: a name starting with '-' */
			continue;
		} else if (a[0] != '-' && !name && op != LIST) {
			name = a;
			continue;
		} else {
			fprintf(stderr, "kafka-gateway user %s: unexpected argument '%s'\n", cmd, a);
			usage(stderr);
			return 2;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "kafka-gateway user %s: %s needs a value\n", cmd, a);
			return 2;
		}
		*slot = argv[++i];
	}
	if (!path) {
		fprintf(stderr, "kafka-gateway user %s: --users FILE is required\n", cmd);
		return 2;
	}
	if (op != LIST && !name) {
		fprintf(stderr, "kafka-gateway user %s: the user NAME is missing\n", cmd);
		return 2;
	}
	if (name && !kg_user_name_valid(name, strlen(name))) {
		fprintf(stderr, "kafka-gateway user %s: invalid user name (1..%d bytes of UTF-8 "
				"without control characters)\n",
			cmd, KG_USER_NAME_MAX);
		return 2;
	}
	unsigned mask = (1u << KG_SCRAM_SHA_256) | (1u << KG_SCRAM_SHA_512);
	if (mechs && parse_mechs(mechs, &mask) < 0) {
		fprintf(stderr, "kafka-gateway user %s: --mechanisms takes SCRAM-SHA-256 and/or "
				"SCRAM-SHA-512, comma-separated\n",
			cmd);
		return 2;
	}
	unsigned long iterations = KG_SCRAM_ITER_DEFAULT;
	if (iters) {
		char *e;
		errno = 0;
		iterations = strtoul(iters, &e, 10);
		if (errno || e == iters || *e || iters[0] == '-' || iterations < KG_SCRAM_ITER_MIN ||
		    iterations > KG_SCRAM_ITER_MAX) {
			fprintf(stderr, "kafka-gateway user %s: --iterations must be %d..%d\n", cmd,
				KG_SCRAM_ITER_MIN, KG_SCRAM_ITER_MAX);
			return 2;
		}
	}

	char err[1024];
	struct kg_users *u = kg_users_load(path, err, sizeof(err));
	if (!u && errno == ENOENT && op == ADD)
		u = kg_users_new();
	if (!u) {
		fprintf(stderr, "kafka-gateway user %s: %s\n", cmd, err);
		return 1;
	}
	int rc = 1;
	const struct kg_user *e = name ? kg_users_find(u, name) : NULL;
	if (op == LIST) {
		print_list(u);
		rc = 0;
		goto out;
	}
	if (op == ADD && e) {
		fprintf(stderr, "kafka-gateway user add: user '%s' already exists (use set-password)\n",
			name);
		goto out;
	}
	if (op != ADD && !e) {
		fprintf(stderr, "kafka-gateway user %s: no user '%s' in %s\n", cmd, name, path);
		goto out;
	}
	if (op == REMOVE) {
		if (kg_users_remove(u, name) < 0) {
			fprintf(stderr, "kafka-gateway user remove: out of memory\n");
			goto out;
		}
	} else {
		char pw[KG_PASSWORD_MAX + 1];
		struct kg_scram_cred cred[KG_SCRAM_NMECH];
		memset(cred, 0, sizeof(cred));
		long pwlen = get_password(pw_stdin, name, pw, sizeof(pw));
		if (pwlen < 0) {
			OPENSSL_cleanse(pw, sizeof(pw));
			goto out;
		}
		int bad = 0;
		for (int m = 0; m < KG_SCRAM_NMECH && !bad; m++) {
			uint8_t salt[KG_SCRAM_SALT_DEFAULT];
			if (!(mask & (1u << m)))
				continue;
			/* One salt per credential, as Kafka does. */
			bad = kg_scram_random_salt(salt, sizeof(salt)) < 0 ||
			      kg_scram_derive(m, pw, (size_t)pwlen, salt, sizeof(salt),
					      (uint32_t)iterations, &cred[m]) < 0;
		}
		OPENSSL_cleanse(pw, sizeof(pw));
		if (bad || kg_users_put(u, name, cred) < 0) {
			OPENSSL_cleanse(cred, sizeof(cred));
			fprintf(stderr, "kafka-gateway user %s: could not derive the credentials\n", cmd);
			goto out;
		}
		OPENSSL_cleanse(cred, sizeof(cred));
	}
	if (kg_users_decoy_key_ensure(u) < 0) {
		fprintf(stderr, "kafka-gateway user %s: no random bytes for the decoy key\n", cmd);
		goto out;
	}
	if (kg_users_save(u, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "kafka-gateway user %s: %s\n", cmd, err);
		goto out;
	}
	if (op == REMOVE)
		fprintf(stderr, "removed user '%s' from %s\n", name, path);
	else
		fprintf(stderr, "%s user '%s' in %s (%s%s%s, %lu iterations)\n",
			op == ADD ? "added" : "changed the password of", name, path,
			mask & 1u ? "SCRAM-SHA-256" : "", mask == 3u ? ", " : "",
			mask & 2u ? "SCRAM-SHA-512" : "", iterations);
	rc = 0;
out:
	kg_users_release(u);
	return rc;
}
