/*
 * regex_prefix.c - the literal text every match of a regex rule must start
 * with, so that a name without it is rejected by one memcmp instead of a
 * pcre2_match call (uncached decisions ran most of their time in pcre2 on
 * names that differ from the pattern in the first bytes).
 *
 * Rules are anchored at the start, so "svc1\.logs\.[a-z]+" can only match
 * names beginning with "svc1.logs.". A wrong prefix would make a deny rule
 * silently miss, so this is deliberately conservative: anything it does
 * not fully understand yields no prefix (and pcre2 decides alone).
 */
#include <string.h>

#include "acl/policy_int.h"

static int is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ASCII that stands for itself outside a class in a non-extended pattern. */
static int plain_literal(unsigned char c)
{
	return is_alnum(c) || (c != 0 && strchr("-_:/@,=%&~!'\"<># ", c) != NULL);
}

/* Whether the pattern has a '|' outside any group (then no common prefix
 * exists), or a construct that makes the simple scan below unreliable:
 * \Q..\E quoting, comments, verbs, POSIX classes. Returns 1 in both cases. */
static int unsafe(const char *p, size_t n)
{
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '\\') {
			if (i + 1 < n && (p[i + 1] == 'Q' || p[i + 1] == 'E'))
				return 1;
			i++;
		} else if (c == '[') {
			i++;
			if (i < n && p[i] == '^')
				i++;
			if (i < n && p[i] == ']') /* a leading ']' is a member */
				i++;
			for (; i < n && p[i] != ']'; i++) {
				if (p[i] == '[' && i + 1 < n && strchr(":.=", p[i + 1]))
					return 1;
				if (p[i] == '\\')
					i++;
			}
			if (i >= n)
				return 1;
		} else if (c == '(') {
			if (i + 1 < n && (p[i + 1] == '*' || (p[i + 1] == '?' && i + 2 < n &&
							       p[i + 2] == '#')))
				return 1;
			depth++;
		} else if (c == ')') {
			depth--;
		} else if (c == '|' && depth == 0) {
			return 1;
		}
	}
	return 0;
}

size_t kg_acl_regex_prefix(const char *p, size_t n, char *out)
{
	if (unsafe(p, n))
		return 0;
	size_t len = 0, i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)p[i];
		size_t next;
		if (plain_literal(c)) {
			next = i + 1;
		} else if (c == '\\' && i + 1 < n && (unsigned char)p[i + 1] > ' ' &&
			   (unsigned char)p[i + 1] < 0x7f && !is_alnum((unsigned char)p[i + 1])) {
			/* backslash + ASCII punctuation is always that character */
			c = (unsigned char)p[i + 1];
			next = i + 2;
		} else {
			break;
		}
		/* A quantified character ("ab?", "ab*", "ab{0,2}") may be absent
		 * or repeated: the prefix ends before it. */
		if (next < n && strchr("?*+{", p[next]))
			break;
		out[len++] = (char)c;
		i = next;
	}
	return len;
}
