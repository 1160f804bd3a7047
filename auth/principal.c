/*
 * principal.c - client certificate -> Kafka principal name (see principal-t.h).
 *
 * Everything here is meant to give the same answer Kafka would for the same
 * certificate and ssl.principal.mapping.rules, because operators write the
 * rules (and the ACLs on their results) against Kafka's documentation. Where
 * we cannot be byte-exact cheaply we refuse (-1) instead of guessing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/principal.h"

/* Backtracking budget per pcre2_match: far above what any sane rule needs on
 * a DN of KG_PRINCIPAL_MAX bytes, low enough that a pathological pattern
 * cannot stall a worker thread on a crafted certificate. */
#define KG_MATCH_LIMIT 1000000u

/* ---- bounded output ---- */

/* A string being built into a caller's buffer; overflow is sticky. */
struct kg_out {
	char *p;
	size_t cap;
	size_t len;
	int over;
};

static void out_put(struct kg_out *o, const void *s, size_t n)
{
	if (o->over || n >= o->cap - o->len) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void out_ch(struct kg_out *o, char c)
{
	out_put(o, &c, 1);
}

/* NUL-terminates; on overflow leaves "" so a caller that ignores the return
 * value still cannot use a silently truncated identity. */
static int out_end(struct kg_out *o)
{
	if (o->cap == 0)
		return -1;
	if (o->over) {
		o->p[0] = '\0';
		return -1;
	}
	o->p[o->len] = '\0';
	return 0;
}

/* ---- DN in Java's RFC 2253 form ---- */

/* The attribute types Java prints by keyword in RFC 2253 form; anything else
 * is printed as a dotted OID (and then its value in hex). */
static const char *java_keyword(int nid)
{
	switch (nid) {
	case NID_commonName: return "CN";
	case NID_countryName: return "C";
	case NID_localityName: return "L";
	case NID_stateOrProvinceName: return "ST";
	case NID_organizationName: return "O";
	case NID_organizationalUnitName: return "OU";
	case NID_streetAddress: return "STREET";
	case NID_domainComponent: return "DC";
	case NID_userId: return "UID";
	default: return NULL;
	}
}

static void put_utf8(struct kg_out *o, unsigned long cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	out_put(o, b, n);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs,
 * surrogates or code points above U+10FFFF), 0 when malformed. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len;
	unsigned long cp, min;
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2; cp = s[0] & 0x1F; min = 0x80;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3; cp = s[0] & 0x0F; min = 0x800;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4; cp = s[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/*
 * Decodes a directory string value to UTF-8 the way a current JDK reads it
 * (T61 as Latin-1, BMP as UCS-2, the ASCII types as ASCII), into dst.
 * Returns the length, or -1 for bytes Java would replace with U+FFFD, which
 * we refuse rather than imitate.
 */
static long decode_value(const ASN1_STRING *v, char *dst, size_t cap)
{
	const unsigned char *d = ASN1_STRING_get0_data(v);
	size_t n = (size_t)ASN1_STRING_length(v);
	struct kg_out o = { dst, cap, 0, 0 };

	switch (ASN1_STRING_type(v)) {
	case V_ASN1_UTF8STRING:
		for (size_t i = 0; i < n;) {
			size_t l = utf8_len(d + i, n - i);
			if (l == 0)
				return -1;
			out_put(&o, d + i, l);
			i += l;
		}
		break;
	case V_ASN1_T61STRING:
		for (size_t i = 0; i < n; i++)
			put_utf8(&o, d[i]);
		break;
	case V_ASN1_BMPSTRING:
		/* UCS-2; OpenSSL already rejects surrogates when it parses a name
		 * (it cannot canonicalise them), so refusing them loses nothing. */
		if (n % 2)
			return -1;
		for (size_t i = 0; i < n; i += 2) {
			unsigned long u = (unsigned long)d[i] << 8 | d[i + 1];
			if (u >= 0xD800 && u <= 0xDFFF)
				return -1;
			put_utf8(&o, u);
		}
		break;
	default: /* PrintableString, IA5String, GeneralString: ASCII */
		for (size_t i = 0; i < n; i++) {
			if (d[i] >= 0x80)
				return -1;
		}
		out_put(&o, d, n);
		break;
	}
	return o.over ? -1 : (long)o.len;
}

/* Java's AVA: string values only for these tags; other tags go out as hex. */
static int java_string_type(int type)
{
	return type == V_ASN1_PRINTABLESTRING || type == V_ASN1_T61STRING ||
	       type == V_ASN1_IA5STRING || type == V_ASN1_GENERALSTRING ||
	       type == V_ASN1_BMPSTRING || type == V_ASN1_UTF8STRING;
}

/* '#' + lowercase hex of the value's DER (tag, length, contents). */
static int put_hex_der(struct kg_out *o, const ASN1_STRING *v)
{
	static const char hex[] = "0123456789abcdef";
	ASN1_TYPE *t = ASN1_TYPE_new();
	unsigned char *der = NULL;
	int n = -1;
	if (t && ASN1_TYPE_set1(t, ASN1_STRING_type(v), v))
		n = i2d_ASN1_TYPE(t, &der);
	ASN1_TYPE_free(t);
	if (n <= 0)
		return -1;
	out_ch(o, '#');
	for (int i = 0; i < n; i++) {
		out_ch(o, hex[der[i] >> 4]);
		out_ch(o, hex[der[i] & 15]);
	}
	OPENSSL_free(der);
	return 0;
}

static int put_ava(struct kg_out *o, const X509_NAME_ENTRY *e)
{
	const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
	const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
	const char *kw = java_keyword(OBJ_obj2nid(obj));
	char oid[128];

	if (kw == NULL) {
		int l = OBJ_obj2txt(oid, sizeof(oid), obj, 1);
		if (l <= 0 || (size_t)l >= sizeof(oid))
			return -1;
		kw = oid;
	}
	out_put(o, kw, strlen(kw));
	out_ch(o, '=');
	if (kw == oid || !java_string_type(ASN1_STRING_type(v)))
		return put_hex_der(o, v);

	char val[KG_PRINCIPAL_MAX];
	long n = decode_value(v, val, sizeof(val));
	if (n < 0)
		return -1;
	/* As Java: ,=+<>#;"\ get a backslash, NUL becomes \00, everything else
	 * (controls, UTF-8) passes unchanged; then every leading and trailing
	 * space or CR is escaped, not just the first and last as RFC 2253 asks. */
	long lead = 0, trail = n - 1;
	while (lead < n && (val[lead] == ' ' || val[lead] == '\r'))
		lead++;
	while (trail >= 0 && (val[trail] == ' ' || val[trail] == '\r'))
		trail--;
	for (long i = 0; i < n; i++) {
		unsigned char c = (unsigned char)val[i];
		if (i < lead || i > trail || (c && strchr(",=+<>#;\"\\", c)))
			out_ch(o, '\\');
		if (c == 0)
			out_put(o, "\\00", 3);
		else
			out_ch(o, (char)c);
	}
	return 0;
}

int kg_x509_name_rfc2253(const X509_NAME *name, char *out, size_t outlen)
{
	struct kg_out o = { out, outlen, 0, 0 };
	if (name == NULL) {
		o.over = 1;
		return out_end(&o);
	}
	int n = X509_NAME_entry_count(name);
	/* RDNs last to first (most specific first); the AVAs of one RDN share a
	 * set number and keep their order, unlike XN_FLAG_DN_REV which reverses
	 * them too. */
	for (int hi = n - 1; hi >= 0;) {
		int set = X509_NAME_ENTRY_set(X509_NAME_get_entry(name, hi));
		int lo = hi;
		while (lo > 0 && X509_NAME_ENTRY_set(X509_NAME_get_entry(name, lo - 1)) == set)
			lo--;
		if (hi != n - 1)
			out_ch(&o, ',');
		for (int i = lo; i <= hi; i++) {
			if (i != lo)
				out_ch(&o, '+');
			if (put_ava(&o, X509_NAME_get_entry(name, i)) < 0)
				o.over = 1;
		}
		hi = lo - 1;
	}
	return out_end(&o);
}

int kg_x509_subject_dn(X509 *cert, char *out, size_t outlen)
{
	return kg_x509_name_rfc2253(cert ? X509_get_subject_name(cert) : NULL, out, outlen);
}

int kg_x509_san_first(X509 *cert, int type, char *out, size_t outlen)
{
	struct kg_out o = { out, outlen, 0, 1 };
	if (cert == NULL || (type != GEN_DNS && type != GEN_EMAIL && type != GEN_URI))
		return out_end(&o);
	/* NULL also when the extension appears twice: ambiguous, refuse. */
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return out_end(&o);
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != type)
			continue;
		const ASN1_IA5STRING *s = g->d.ia5;
		const unsigned char *d = ASN1_STRING_get0_data(s);
		int n = ASN1_STRING_length(s);
		o.over = 0;
		for (int j = 0; j < n; j++) {
			if (d[j] < 0x20 || d[j] >= 0x7F)
				o.over = 1;
		}
		if (n == 0)
			o.over = 1;
		out_put(&o, d, (size_t)n);
		break;
	}
	GENERAL_NAMES_free(gens);
	return out_end(&o);
}

/* ---- mapping rules ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* End of a '/'-terminated field starting at s: backslash escapes the next
 * character (kept for the later stage), '/' ends it. Returns the index of
 * the '/', or -1 when the field is unterminated. */
static long field_end(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			if (++i == n)
				return -1;
		} else if (s[i] == '/') {
			return (long)i;
		}
	}
	return -1;
}

static pcre2_code *compile_re(const char *pat, size_t len, uint32_t extra, size_t idx,
			      char *err, size_t errlen)
{
	int ec;
	PCRE2_SIZE eoff;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | extra, &ec, &eoff, NULL);
	if (re == NULL) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		set_err(err, errlen, "rule %zu: bad pattern at offset %zu: %s", idx, (size_t)eoff,
			(const char *)msg);
		return NULL;
	}
	/* Without JIT support pcre2_match interprets: slower, same result. */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

/* Parses a replacement into r->parts / r->lit. ngroups bounds "$N". */
static int parse_replacement(struct kg_principal_rule *r, const char *s, size_t n,
			     uint32_t ngroups, size_t idx, char *err, size_t errlen)
{
	r->lit = malloc(n + 1);
	r->parts = calloc(n + 1, sizeof(*r->parts));
	if (r->lit == NULL || r->parts == NULL) {
		set_err(err, errlen, "rule %zu: out of memory", idx);
		return -1;
	}
	size_t nl = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] == '$') {
			if (++i == n || s[i] < '0' || s[i] > '9') {
				set_err(err, errlen,
					"rule %zu: '$' in the replacement must be followed by a group "
					"number (write \\$ for a literal '$')", idx);
				return -1;
			}
			uint32_t g = (uint32_t)(s[i++] - '0');
			if (g > ngroups) {
				set_err(err, errlen,
					"rule %zu: replacement refers to $%u but the pattern has %u "
					"capturing group%s", idx, g, ngroups, ngroups == 1 ? "" : "s");
				return -1;
			}
			/* Java: further digits belong to the number while it stays a group. */
			while (i < n && s[i] >= '0' && s[i] <= '9' &&
			       (uint64_t)g * 10 + (uint32_t)(s[i] - '0') <= ngroups)
				g = g * 10 + (uint32_t)(s[i++] - '0');
			r->parts[r->nparts++] = (struct kg_repl_part){ (int32_t)g, 0, 0 };
			continue;
		}
		if (s[i] == '\\')
			i++; /* field_end() guaranteed a character follows */
		struct kg_repl_part *last = r->nparts ? &r->parts[r->nparts - 1] : NULL;
		if (last == NULL || last->group != -1)
			r->parts[r->nparts++] = (struct kg_repl_part){ -1, (uint32_t)nl, 0 };
		r->lit[nl++] = s[i++];
		r->parts[r->nparts - 1].len++;
	}
	return 0;
}

static int parse_rule(struct kg_principal_rule *r, const char *text, size_t idx, char *err,
		      size_t errlen)
{
	if (text == NULL) {
		set_err(err, errlen, "rule %zu: missing (NULL)", idx);
		return -1;
	}
	size_t b = 0, e = strlen(text);
	while (b < e && is_space(text[b]))
		b++;
	while (e > b && is_space(text[e - 1]))
		e--;
	const char *s = text + b;
	size_t n = e - b;

	if (n == 0) {
		set_err(err, errlen, "rule %zu: empty", idx);
		return -1;
	}
	if (n == 7 && memcmp(s, "DEFAULT", 7) == 0) {
		r->kind = KG_RULE_DEFAULT;
		return 0;
	}
	if (n < 5 || memcmp(s, "RULE:", 5) != 0) {
		set_err(err, errlen, "rule %zu: expected DEFAULT or RULE:pattern/replacement/[L|U]",
			idx);
		return -1;
	}
	const char *pat = s + 5;
	long pl = field_end(pat, n - 5);
	if (pl < 0) {
		set_err(err, errlen, "rule %zu: pattern is not terminated by '/'", idx);
		return -1;
	}
	const char *rep = pat + pl + 1;
	size_t rest = n - 5 - (size_t)pl - 1;
	long rl = field_end(rep, rest);
	if (rl < 0) {
		set_err(err, errlen, "rule %zu: replacement is not terminated by '/'", idx);
		return -1;
	}
	const char *tail = rep + rl + 1;
	size_t tl = rest - (size_t)rl - 1;
	r->kind = KG_RULE_REGEX;
	r->fold = KG_CASE_KEEP;
	if (tl == 1 && (*tail == 'L' || *tail == 'U')) {
		r->fold = *tail == 'L' ? KG_CASE_LOWER : KG_CASE_UPPER;
	} else if (tl != 0) {
		set_err(err, errlen, "rule %zu: unexpected \"%.*s\" after the replacement "
			"(only L or U may follow)", idx, (int)(tl > 64 ? 64 : tl), tail);
		return -1;
	}

	r->whole = compile_re(pat, (size_t)pl, PCRE2_ANCHORED | PCRE2_ENDANCHORED, idx, err,
			      errlen);
	if (r->whole == NULL)
		return -1;
	r->find = compile_re(pat, (size_t)pl, 0, idx, err, errlen);
	if (r->find == NULL)
		return -1;
	uint32_t ng = 0;
	pcre2_pattern_info(r->whole, PCRE2_INFO_CAPTURECOUNT, &ng);
	return parse_replacement(r, rep, (size_t)rl, ng, idx, err, errlen);
}

struct kg_principal_rules *kg_principal_rules_compile(const char *const *rules, size_t n,
						      char *err, size_t errlen)
{
	if (rules == NULL || n == 0) {
		set_err(err, errlen, "no rules: list at least one (DEFAULT maps to the whole DN)");
		return NULL;
	}
	struct kg_principal_rules *r = calloc(1, sizeof(*r));
	if (r == NULL || (r->rule = calloc(n, sizeof(*r->rule))) == NULL ||
	    (r->mctx = pcre2_match_context_create(NULL)) == NULL) {
		set_err(err, errlen, "out of memory");
		kg_principal_rules_free(r);
		return NULL;
	}
	pcre2_set_match_limit(r->mctx, KG_MATCH_LIMIT);
	r->ovec_pairs = 1;
	for (size_t i = 0; i < n; i++) {
		r->n = i + 1; /* so free() sees the partly built rule */
		if (parse_rule(&r->rule[i], rules[i], i + 1, err, errlen) < 0) {
			kg_principal_rules_free(r);
			return NULL;
		}
		uint32_t ng = 0;
		if (r->rule[i].whole)
			pcre2_pattern_info(r->rule[i].whole, PCRE2_INFO_CAPTURECOUNT, &ng);
		if (ng + 1 > r->ovec_pairs)
			r->ovec_pairs = ng + 1;
	}
	return r;
}

void kg_principal_rules_free(struct kg_principal_rules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; r->rule && i < r->n; i++) {
		pcre2_code_free(r->rule[i].whole);
		pcre2_code_free(r->rule[i].find);
		free(r->rule[i].parts);
		free(r->rule[i].lit);
	}
	free(r->rule);
	pcre2_match_context_free(r->mctx);
	free(r);
}

static void put_replacement(struct kg_out *o, const struct kg_principal_rule *r,
			    const char *dn, const PCRE2_SIZE *ov)
{
	for (size_t k = 0; k < r->nparts; k++) {
		const struct kg_repl_part *p = &r->parts[k];
		if (p->group < 0)
			out_put(o, r->lit + p->off, p->len);
		else if (ov[2 * p->group] != PCRE2_UNSET)
			out_put(o, dn + ov[2 * p->group], ov[2 * p->group + 1] - ov[2 * p->group]);
	}
}

/*
 * Kafka builds the result with dn.replaceAll(pattern, replacement), i.e. it
 * replaces every match found left to right, not just the whole-DN match.
 * For ^...$ patterns that is the same thing; for others (e.g. "(.*)" whose
 * second, empty match at the end gets replaced too) we reproduce Java's
 * find() walk: after an empty match the next search starts one character on.
 * Returns 0, or -1 on a match error.
 */
static int replace_all(struct kg_out *o, const struct kg_principal_rule *r, const char *dn,
		       size_t len, pcre2_match_data *md, pcre2_match_context *mctx)
{
	size_t start = 0, copied = 0;
	while (start <= len) {
		int rc = pcre2_match(r->find, (PCRE2_SPTR)dn, len, start, PCRE2_NO_UTF_CHECK, md,
				     mctx);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc <= 0)
			return -1;
		const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		if (ov[0] > ov[1] || ov[0] < copied)
			return -1; /* \K tricks: refuse rather than guess */
		out_put(o, dn + copied, ov[0] - copied);
		put_replacement(o, r, dn, ov);
		copied = ov[1];
		start = ov[1];
		if (ov[0] == ov[1]) {
			if (start == len)
				break;
			start += utf8_len((const unsigned char *)dn + start, len - start);
		}
	}
	out_put(o, dn + copied, len - copied);
	return 0;
}

int kg_principal_map(const struct kg_principal_rules *r, const char *dn, char *out, size_t outlen)
{
	struct kg_out o = { out, outlen, 0, 0 };
	if (r == NULL || dn == NULL) {
		o.over = 1;
		return out_end(&o);
	}
	size_t len = strlen(dn);
	/* Match data is per call: pcre2 writes into it, so it cannot be shared
	 * between threads, and one malloc is cheap next to a TLS handshake. */
	pcre2_match_data *md = NULL;
	int ok = 0, checked = 0;

	for (size_t i = 0; i < r->n && !ok; i++) {
		const struct kg_principal_rule *rule = &r->rule[i];
		if (rule->kind == KG_RULE_DEFAULT) {
			out_put(&o, dn, len);
			ok = 1;
			break;
		}
		if (md == NULL && (md = pcre2_match_data_create(r->ovec_pairs, NULL)) == NULL)
			break;
		/* The first regex match validates the UTF-8; later ones skip it. */
		int rc = pcre2_match(rule->whole, (PCRE2_SPTR)dn, len, 0,
				     checked ? PCRE2_NO_UTF_CHECK : 0, md, r->mctx);
		if (rc == PCRE2_ERROR_NOMATCH) {
			checked = 1;
			continue;
		}
		if (rc <= 0)
			break; /* bad UTF-8, match limit: fail closed, try no later rule */
		checked = 1;
		if (replace_all(&o, rule, dn, len, md, r->mctx) < 0)
			break;
		if (!o.over && rule->fold != KG_CASE_KEEP) {
			for (size_t k = 0; k < o.len; k++) {
				char c = o.p[k];
				/* Java folds all of Unicode (Locale.ENGLISH), with
				 * length changes like "ß" -> "SS"; ASCII-only folding
				 * would give another name, so refuse instead. */
				if ((unsigned char)c >= 0x80) {
					o.over = 1;
					break;
				}
				if (rule->fold == KG_CASE_LOWER && c >= 'A' && c <= 'Z')
					o.p[k] = (char)(c - 'A' + 'a');
				else if (rule->fold == KG_CASE_UPPER && c >= 'a' && c <= 'z')
					o.p[k] = (char)(c - 'a' + 'A');
			}
		}
		ok = 1;
	}
	pcre2_match_data_free(md);
	if (!ok || o.len == 0)
		o.over = 1;
	return out_end(&o);
}
