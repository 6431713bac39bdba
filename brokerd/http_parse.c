/*
 * Copyright (c) 2026 The forgejo-mcp-broker developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * HTTP/1.1 request parsing; see http.h for the interface and the
 * choices made.  Pure functions over the caller's bytes: no I/O, no
 * allocation, no globals, no recursion, and never a read at or past
 * len.  The request is parsed in one pass from the first byte; a line
 * is judged once its CRLF is in, the fields as a whole once the empty
 * line is, but a limit is enforced at the first byte past it and a
 * control character as soon as it is seen.  So a prefix of the input
 * never gets a different verdict than the whole.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

enum line_result {
	LINE_OK,
	LINE_MORE,
	LINE_LONG,
	LINE_BARE_CR,
	LINE_BARE_LF,
	LINE_CTL
};

static const struct {
	const char		*name;
	enum http_method	 method;
} http_methods[] = {
	{ "GET",	HTTP_METHOD_GET },
	{ "HEAD",	HTTP_METHOD_HEAD },
	{ "POST",	HTTP_METHOD_POST },
	{ "PUT",	HTTP_METHOD_PUT },
	{ "DELETE",	HTTP_METHOD_DELETE },
	{ "OPTIONS",	HTTP_METHOD_OPTIONS }
};

static int	 http_fail(struct http_request *, int, const char *);
static int	 is_digit(unsigned char);
static int	 is_tchar(unsigned char);
static int	 is_host_char(unsigned char);
static int	 is_ows(unsigned char);
static int	 ci_eqn(const char *, size_t, const char *);
static int	 ci_eq(const char *, const char *);
static size_t	 scheme_len(const char *, size_t);
static size_t	 target_authority(const char *, size_t, const char **);
static const char *list_next(const char *, const char **, size_t *);
static void	 limits_resolve(const struct http_limits *,
		    struct http_limits *);
static void	 req_reset(struct http_request *);
static const char *req_store(struct http_request *, const char *, size_t);
static int	 line_end(const char *, size_t, size_t, size_t, size_t *);
static int	 line_fail(struct http_request *, int, int, const char *);
static int	 parse_request_line(struct http_request *, const char *,
		    size_t);
static int	 parse_version(struct http_request *, const char *, size_t);
static int	 parse_method(struct http_request *, const char *, size_t);
static int	 parse_target(struct http_request *, const char *, size_t);
static int	 parse_field(struct http_request *, const char *, size_t);
static int	 check_host(struct http_request *);
static int	 parse_length(const char *, size_t, size_t *, int *);
static int	 same_number(const char *, const char *);
static int	 check_transfer_encoding(struct http_request *);
static int	 check_length(struct http_request *, size_t, size_t *);
static void	 set_keep_alive(struct http_request *);
static int	 hexval(unsigned char);
static int	 pct_next(const char *, size_t, size_t *, int);
static int	 pct_valid(const char *, size_t);
static int	 form_name_is(const char *, size_t, const char *);

static int
http_fail(struct http_request *req, int status, const char *why)
{
	req->status = status;
	req->error = why;
	return HTTP_PARSE_ERROR;
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 9110 5.6.2 */
static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 3986 host and port: reg-name, IP literal, ':' port. */
static int
is_host_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
		return 1;
	return c != '\0' && strchr("-._~!$&'()*+,;=%:[]", c) != NULL;
}

static int
is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* a[0..n) equals the string b, ignoring ASCII case. */
static int
ci_eqn(const char *a, size_t n, const char *b)
{
	size_t		 i;
	unsigned char	 x, y;

	for (i = 0; i < n; i++) {
		x = a[i];
		y = b[i];
		if (y == '\0')
			return 0;
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return b[n] == '\0';
}

static int
ci_eq(const char *a, const char *b)
{
	return ci_eqn(a, strlen(a), b);
}

/* Length of a leading "http://" or "https://" in t[0..n), or 0. */
static size_t
scheme_len(const char *t, size_t n)
{
	if (n >= 7 && ci_eqn(t, 7, "http://"))
		return 7;
	if (n >= 8 && ci_eqn(t, 8, "https://"))
		return 8;
	return 0;
}

/*
 * The authority of an absolute-form target t[0..n): its start in
 * *auth and its length, which is 0 for the other forms.
 */
static size_t
target_authority(const char *t, size_t n, const char **auth)
{
	size_t	 s, e;

	*auth = NULL;
	if ((s = scheme_len(t, n)) == 0)
		return 0;
	for (e = s; e < n && t[e] != '/' && t[e] != '?'; e++)
		;
	*auth = t + s;
	return e - s;
}

/*
 * Steps through a comma-separated field value: the next element,
 * without surrounding whitespace and possibly empty, goes to *elem
 * and *elen.  Returns where to continue, or NULL at the end.
 */
static const char *
list_next(const char *p, const char **elem, size_t *elen)
{
	const char	*e;
	size_t		 n;

	if (*p == '\0')
		return NULL;
	while (is_ows(*p))
		p++;
	for (e = p; *e != '\0' && *e != ','; e++)
		;
	for (n = e - p; n > 0 && is_ows(p[n - 1]); n--)
		;
	*elem = p;
	*elen = n;
	return *e == ',' ? e + 1 : e;
}

static void
limits_resolve(const struct http_limits *lim, struct http_limits *l)
{
	l->max_request_line = HTTP_MAX_REQUEST_LINE;
	l->max_header_bytes = HTTP_MAX_HEADER_BYTES;
	l->max_headers = HTTP_MAX_HEADERS;
	l->max_body = HTTP_MAX_BODY;
	if (lim == NULL)
		return;
	if (lim->max_request_line != 0 &&
	    lim->max_request_line < l->max_request_line)
		l->max_request_line = lim->max_request_line;
	if (lim->max_header_bytes != 0 &&
	    lim->max_header_bytes < l->max_header_bytes)
		l->max_header_bytes = lim->max_header_bytes;
	if (lim->max_headers != 0 && lim->max_headers < l->max_headers)
		l->max_headers = lim->max_headers;
	if (lim->max_body != 0)
		l->max_body = lim->max_body;
	/* So that it always fits content_length. */
	if ((unsigned long long)l->max_body > LLONG_MAX)
		l->max_body = (size_t)LLONG_MAX;
}

static void
req_reset(struct http_request *req)
{
	req->method = HTTP_METHOD_NONE;
	req->version_minor = 0;
	req->target = NULL;
	req->path = NULL;
	req->query = NULL;
	req->nheaders = 0;
	req->content_length = -1;
	req->body_off = 0;
	req->body_len = 0;
	req->need = 0;
	req->keep_alive = 0;
	req->chunked = 0;
	req->status = 0;
	req->error = NULL;
	req->store_len = 0;
}

/* Copies s[0..n) and a NUL into req->store; NULL if it is full. */
static const char *
req_store(struct http_request *req, const char *s, size_t n)
{
	char	*p;

	if (n >= sizeof(req->store) - req->store_len)
		return NULL;
	p = req->store + req->store_len;
	memcpy(p, s, n);
	p[n] = '\0';
	req->store_len += n + 1;
	return p;
}

/*
 * Finds the CRLF ending the line at buf[pos], which may hold at most
 * max bytes before it.  On LINE_OK, *eol is the index of the CR.  A
 * control character other than HTAB is refused as soon as it is seen.
 */
static int
line_end(const char *buf, size_t len, size_t pos, size_t max, size_t *eol)
{
	size_t		 i;
	unsigned char	 c;

	for (i = pos; i < len; i++) {
		c = buf[i];
		if (c == '\r') {
			if (i + 1 == len)
				return LINE_MORE;
			if (buf[i + 1] != '\n')
				return LINE_BARE_CR;
			*eol = i;
			return LINE_OK;
		}
		if (c == '\n')
			return LINE_BARE_LF;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return LINE_CTL;
		if (i - pos >= max)
			return LINE_LONG;
	}
	return LINE_MORE;
}

static int
line_fail(struct http_request *req, int r, int long_status,
    const char *long_why)
{
	switch (r) {
	case LINE_LONG:
		return http_fail(req, long_status, long_why);
	case LINE_BARE_CR:
		return http_fail(req, 400, "bare CR");
	case LINE_BARE_LF:
		return http_fail(req, 400, "bare LF");
	default:
		return http_fail(req, 400, "control character");
	}
}

/* method SP request-target SP HTTP-version, single spaces only */
static int
parse_request_line(struct http_request *req, const char *line, size_t n)
{
	const char	*target, *version;
	size_t		 mlen, tlen, rest;

	for (mlen = 0; mlen < n && line[mlen] != ' '; mlen++)
		;
	if (mlen == 0 || mlen == n)
		return http_fail(req, 400, "malformed request line");
	target = line + mlen + 1;
	rest = n - mlen - 1;
	for (tlen = 0; tlen < rest && target[tlen] != ' '; tlen++)
		;
	if (tlen == 0 || tlen == rest)
		return http_fail(req, 400, "malformed request line");
	version = target + tlen + 1;

	if (parse_version(req, version, rest - tlen - 1) == -1 ||
	    parse_method(req, line, mlen) == -1 ||
	    parse_target(req, target, tlen) == -1)
		return -1;
	return 0;
}

static int
parse_version(struct http_request *req, const char *v, size_t n)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) ||
	    v[6] != '.' || !is_digit(v[7]))
		return http_fail(req, 400, "malformed HTTP version");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return http_fail(req, 505, "unsupported HTTP version");
	req->version_minor = v[7] - '0';
	return 0;
}

static int
parse_method(struct http_request *req, const char *m, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!is_tchar(m[i]))
			return http_fail(req, 400, "invalid method");
	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		if (strlen(http_methods[i].name) == n &&
		    memcmp(http_methods[i].name, m, n) == 0) {
			req->method = http_methods[i].method;
			return 0;
		}
	}
	req->method = HTTP_METHOD_OTHER;
	return http_fail(req, 501, "unknown method");
}

/*
 * Origin-form, asterisk-form or absolute-form (RFC 9112 3.2).  Any
 * visible ASCII but '#' is taken: browsers send some characters
 * RFC 3986 would have encoded, and the path and query stay raw anyway.
 */
static int
parse_target(struct http_request *req, const char *t, size_t n)
{
	const char	*auth, *path;
	size_t		 i, alen, ps, pe;

	for (i = 0; i < n; i++) {
		if ((unsigned char)t[i] <= 0x20 ||
		    (unsigned char)t[i] >= 0x7f || t[i] == '#')
			return http_fail(req, 400,
			    "invalid character in request target");
	}

	if (t[0] == '/')
		ps = 0;
	else if (n == 1 && t[0] == '*') {
		if (req->method != HTTP_METHOD_OPTIONS)
			return http_fail(req, 400,
			    "'*' target without OPTIONS");
		ps = 0;
	} else if ((alen = target_authority(t, n, &auth)) > 0) {
		for (i = 0; i < alen; i++)
			if (!is_host_char(auth[i]))
				return http_fail(req, 400,
				    "invalid authority in request target");
		ps = (auth - t) + alen;
	} else
		return http_fail(req, 400, "unsupported request target form");

	for (pe = ps; pe < n && t[pe] != '?'; pe++)
		;
	if ((req->target = req_store(req, t, n)) == NULL)
		return http_fail(req, 414, "request target too long");
	if (pe > ps)
		path = req_store(req, t + ps, pe - ps);
	else
		path = req_store(req, "/", 1);
	if ((req->path = path) == NULL)
		return http_fail(req, 414, "request target too long");
	if (pe < n)
		req->query = req->target + pe + 1;
	return 0;
}

/* field-name ":" OWS field-value OWS */
static int
parse_field(struct http_request *req, const char *line, size_t n)
{
	struct http_header	*h;
	size_t			 i, vs, ve;

	for (i = 0; i < n && line[i] != ':'; i++) {
		if (is_ows(line[i]))
			return http_fail(req, 400,
			    "whitespace in or after field name");
		if (!is_tchar(line[i]))
			return http_fail(req, 400,
			    "invalid character in field name");
	}
	if (i == n)
		return http_fail(req, 400, "field line without colon");
	if (i == 0)
		return http_fail(req, 400, "empty field name");

	/* line_end() has refused every control character but HTAB. */
	for (vs = i + 1; vs < n && is_ows(line[vs]); vs++)
		;
	for (ve = n; ve > vs && is_ows(line[ve - 1]); ve--)
		;

	h = &req->headers[req->nheaders];
	if ((h->name = req_store(req, line, i)) == NULL ||
	    (h->value = req_store(req, line + vs, ve - vs)) == NULL)
		return http_fail(req, 431, "header storage exhausted");
	req->nheaders++;
	return 0;
}

/* RFC 9112 3.2: exactly one Host on HTTP/1.1, and a valid one. */
static int
check_host(struct http_request *req)
{
	const char	*host, *auth, *p;
	size_t		 i, alen;

	host = NULL;
	for (i = 0; i < req->nheaders; i++) {
		if (!ci_eq(req->headers[i].name, "host"))
			continue;
		if (host != NULL)
			return http_fail(req, 400, "more than one Host");
		host = req->headers[i].value;
	}
	if (host == NULL) {
		if (req->version_minor == 1)
			return http_fail(req, 400, "missing Host");
		return 0;
	}
	for (p = host; *p != '\0'; p++)
		if (!is_host_char(*p))
			return http_fail(req, 400, "invalid Host");
	alen = target_authority(req->target, strlen(req->target), &auth);
	if (alen > 0 && (strlen(host) != alen || !ci_eqn(auth, alen, host)))
		return http_fail(req, 400,
		    "Host differs from target authority");
	return 0;
}

/*
 * 1*DIGIT into *n; *big is set, and *n left alone, once the value
 * exceeds max.  -1 if v is not 1*DIGIT.
 */
static int
parse_length(const char *v, size_t max, size_t *n, int *big)
{
	size_t	 d;

	*n = 0;
	*big = 0;
	if (*v == '\0')
		return -1;
	for (; *v != '\0'; v++) {
		if (!is_digit(*v))
			return -1;
		if (*big)
			continue;
		d = *v - '0';
		if (max < d || *n > (max - d) / 10)
			*big = 1;
		else
			*n = *n * 10 + d;
	}
	return 0;
}

/* Two strings of digits denote the same number. */
static int
same_number(const char *a, const char *b)
{
	while (*a == '0')
		a++;
	while (*b == '0')
		b++;
	return strcmp(a, b) == 0;
}

/* Called when a Transfer-Encoding is present: always an error. */
static int
check_transfer_encoding(struct http_request *req)
{
	const char	*p, *elem;
	size_t		 i, n, k, codings;
	int		 unsupported;

	codings = 0;
	unsupported = 0;
	for (i = 0; i < req->nheaders; i++) {
		if (!ci_eq(req->headers[i].name, "transfer-encoding"))
			continue;
		p = req->headers[i].value;
		while ((p = list_next(p, &elem, &n)) != NULL) {
			if (n == 0)
				continue;
			for (k = 0; k < n && is_tchar(elem[k]); k++)
				;
			if (k == 0 || (k < n && elem[k] != ';' &&
			    !is_ows(elem[k])))
				return http_fail(req, 400,
				    "malformed Transfer-Encoding");
			codings++;
			if (ci_eqn(elem, k, "chunked"))
				req->chunked = 1;
			else
				unsupported = 1;
		}
	}
	if (codings == 0)
		return http_fail(req, 400, "empty Transfer-Encoding");
	if (unsupported)
		return http_fail(req, 501, "unsupported transfer-coding");
	return http_fail(req, 411, "chunked request body not supported");
}

/* RFC 9112 6.3: the body length, into *clp. */
static int
check_length(struct http_request *req, size_t max_body, size_t *clp)
{
	const char	*first, *name, *value;
	size_t		 i, n, cl;
	int		 big, nbig, te;

	first = NULL;
	cl = 0;
	big = 0;
	te = 0;
	for (i = 0; i < req->nheaders; i++) {
		name = req->headers[i].name;
		value = req->headers[i].value;
		if (ci_eq(name, "transfer-encoding"))
			te = 1;
		else if (ci_eq(name, "content-length")) {
			if (parse_length(value, max_body, &n, &nbig) == -1)
				return http_fail(req, 400,
				    "invalid Content-Length");
			if (first == NULL) {
				first = value;
				cl = n;
				big = nbig;
			} else if (!same_number(first, value))
				return http_fail(req, 400,
				    "conflicting Content-Length");
		}
	}
	if (te && first != NULL)
		return http_fail(req, 400,
		    "Content-Length with Transfer-Encoding");
	if (te)
		return check_transfer_encoding(req);
	*clp = 0;
	if (first == NULL)
		return 0;
	if (big)
		return http_fail(req, 413, "Content-Length exceeds limit");
	req->content_length = cl;
	*clp = cl;
	return 0;
}

/* RFC 9112 9.3: persistence by version and Connection options. */
static void
set_keep_alive(struct http_request *req)
{
	const char	*p, *elem;
	size_t		 i, n;
	int		 closing, keep;

	closing = 0;
	keep = 0;
	for (i = 0; i < req->nheaders; i++) {
		if (!ci_eq(req->headers[i].name, "connection"))
			continue;
		p = req->headers[i].value;
		while ((p = list_next(p, &elem, &n)) != NULL) {
			if (ci_eqn(elem, n, "close"))
				closing = 1;
			else if (ci_eqn(elem, n, "keep-alive"))
				keep = 1;
		}
	}
	if (closing)
		req->keep_alive = 0;
	else if (req->version_minor == 1)
		req->keep_alive = 1;
	else
		req->keep_alive = keep;
}

int
http_parse_request(struct http_request *req, const char *buf, size_t len,
    const struct http_limits *lim, size_t *consumed)
{
	struct http_limits	 l;
	size_t			 pos, eol, start, used, cl;
	int			 r;

	*consumed = 0;
	req_reset(req);
	limits_resolve(lim, &l);

	/* RFC 9112 2.2: skip empty lines, within the request line limit. */
	for (pos = 0; pos < len && buf[pos] == '\r'; pos += 2) {
		if (pos + 1 == len)
			return HTTP_PARSE_MORE;
		if (buf[pos + 1] != '\n')
			return http_fail(req, 400, "bare CR");
		if (pos + 2 > l.max_request_line)
			return http_fail(req, 414, "request line too long");
	}

	r = line_end(buf, len, pos, l.max_request_line - pos, &eol);
	if (r == LINE_MORE)
		return HTTP_PARSE_MORE;
	if (r != LINE_OK)
		return line_fail(req, r, 414, "request line too long");
	if (parse_request_line(req, buf + pos, eol - pos) == -1)
		return HTTP_PARSE_ERROR;
	pos = eol + 2;

	/* Field lines up to the empty line. */
	for (start = pos;;) {
		if (pos == len)
			return HTTP_PARSE_MORE;
		if (buf[pos] == '\r') {
			if (pos + 1 == len)
				return HTTP_PARSE_MORE;
			if (buf[pos + 1] != '\n')
				return http_fail(req, 400, "bare CR");
			pos += 2;
			break;
		}
		if (buf[pos] == '\n')
			return http_fail(req, 400, "bare LF");
		if (is_ows(buf[pos]))
			return http_fail(req, 400,
			    "line folding or whitespace before field");
		if (req->nheaders >= l.max_headers)
			return http_fail(req, 431, "too many header fields");
		used = pos - start;
		if (l.max_header_bytes - used < 2)
			return http_fail(req, 431, "header section too large");
		r = line_end(buf, len, pos, l.max_header_bytes - used - 2,
		    &eol);
		if (r == LINE_MORE)
			return HTTP_PARSE_MORE;
		if (r != LINE_OK)
			return line_fail(req, r, 431,
			    "header section too large");
		if (parse_field(req, buf + pos, eol - pos) == -1)
			return HTTP_PARSE_ERROR;
		pos = eol + 2;
	}

	if (check_host(req) == -1 || check_length(req, l.max_body, &cl) == -1)
		return HTTP_PARSE_ERROR;
	if (cl > SIZE_MAX - pos)
		return http_fail(req, 413, "Content-Length exceeds limit");
	set_keep_alive(req);
	req->body_off = pos;
	req->body_len = cl;
	if (len - pos < cl) {
		req->need = pos + cl;
		return HTTP_PARSE_MORE;
	}
	*consumed = pos + cl;
	return HTTP_PARSE_DONE;
}

const char *
http_header(const struct http_request *req, const char *name)
{
	size_t	 i;

	for (i = 0; i < req->nheaders; i++)
		if (ci_eq(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}

int
http_header_count(const struct http_request *req, const char *name)
{
	size_t	 i;
	int	 n;

	n = 0;
	for (i = 0; i < req->nheaders; i++)
		if (ci_eq(req->headers[i].name, name))
			n++;
	return n;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes one byte from in[*ip], *ip < inlen, and moves *ip past it.
 * Returns the byte, or -1 for a bad or truncated escape, %00 or NUL.
 */
static int
pct_next(const char *in, size_t inlen, size_t *ip, int plus)
{
	size_t		 i;
	unsigned char	 c;
	int		 hi, lo;

	i = *ip;
	c = in[i];
	if (c == '\0')
		return -1;
	if (c != '%') {
		*ip = i + 1;
		return plus && c == '+' ? ' ' : c;
	}
	if (inlen - i < 3 || (hi = hexval(in[i + 1])) == -1 ||
	    (lo = hexval(in[i + 2])) == -1 || (hi == 0 && lo == 0))
		return -1;
	*ip = i + 3;
	return hi << 4 | lo;
}

int
http_pct_decode(const char *in, size_t inlen, char *out, size_t outsz,
    int plus_is_space)
{
	size_t	 i, n;
	int	 c;

	if (outsz == 0)
		return -1;
	for (i = 0, n = 0; i < inlen; n++) {
		if ((c = pct_next(in, inlen, &i, plus_is_space)) == -1 ||
		    n + 1 >= outsz || n >= INT_MAX) {
			out[0] = '\0';
			return -1;
		}
		out[n] = c;
	}
	out[n] = '\0';
	return n;
}

static int
pct_valid(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n;)
		if (pct_next(s, n, &i, 1) == -1)
			return -1;
	return 0;
}

/* The encoded name s[0..n) decodes to key: 1, 0, or -1 if malformed. */
static int
form_name_is(const char *s, size_t n, const char *key)
{
	size_t	 i, k;
	int	 c, match;

	match = 1;
	for (i = 0, k = 0; i < n;) {
		if ((c = pct_next(s, n, &i, 1)) == -1)
			return -1;
		if (match && key[k] != '\0' && (unsigned char)key[k] == c)
			k++;
		else
			match = 0;
	}
	return match && key[k] == '\0';
}

int
http_form_get(const char *form, size_t formlen, const char *key, char *out,
    size_t outsz)
{
	const char	*value;
	size_t		 i, end, eq, vs, vlen;
	int		 found, r;

	if (outsz > 0)
		out[0] = '\0';
	value = NULL;
	vlen = 0;
	found = 0;
	for (i = 0; i < formlen; i = end + 1) {
		for (end = i; end < formlen && form[end] != '&'; end++)
			;
		if (end == i)
			continue;
		for (eq = i; eq < end && form[eq] != '='; eq++)
			;
		vs = eq < end ? eq + 1 : end;
		if ((r = form_name_is(form + i, eq - i, key)) == -1 ||
		    pct_valid(form + vs, end - vs) == -1)
			return -1;
		if (r == 1) {
			found++;
			value = form + vs;
			vlen = end - vs;
		}
	}
	if (found > 1)
		return -2;
	if (found == 0)
		return 0;
	if (http_pct_decode(value, vlen, out, outsz, 1) == -1)
		return -1;
	return 1;
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

const char *
http_method_name(enum http_method m)
{
	switch (m) {
	case HTTP_METHOD_GET:
		return "GET";
	case HTTP_METHOD_HEAD:
		return "HEAD";
	case HTTP_METHOD_POST:
		return "POST";
	case HTTP_METHOD_PUT:
		return "PUT";
	case HTTP_METHOD_DELETE:
		return "DELETE";
	case HTTP_METHOD_OPTIONS:
		return "OPTIONS";
	case HTTP_METHOD_OTHER:
		return "OTHER";
	default:
		return "NONE";
	}
}
