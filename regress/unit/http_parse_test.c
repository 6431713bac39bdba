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
 * Unit tests of brokerd/http_parse.c.  Every input is handed to the
 * parser in a heap buffer of exactly its length, so that a sanitizer
 * build catches any read past the end.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "regress.h"

static struct http_request	 req, req2;
static uint32_t			 rnd_state = 0x2545f491;

static int	 parse_lim(struct http_request *, const char *, size_t,
		    const struct http_limits *, size_t *);
static int	 parse(const char *, size_t *);
static int	 parse_error(const char *);
static char	*repeat(const char *, const char *, size_t, const char *);
static int	 in_store(const struct http_request *, const char *);
static int	 same_request(const struct http_request *,
		    const struct http_request *);
static int	 split_ok(const char *);
static uint32_t	 rnd(void);
static size_t	 mutate(char *, size_t, size_t);
static void	 test_simple(void);
static void	 test_split(void);
static void	 test_pipeline(void);
static void	 test_keep_alive(void);
static void	 test_limits(void);
static void	 test_length(void);
static void	 test_request_line(void);
static void	 test_fields(void);
static void	 test_targets(void);
static void	 test_lookup(void);
static void	 test_pct_decode(void);
static void	 test_form_get(void);
static void	 test_status_text(void);
static void	 test_random(void);

/* Parses a copy of s[0..len) that ends exactly at the buffer's end. */
static int
parse_lim(struct http_request *r, const char *s, size_t len,
    const struct http_limits *lim, size_t *consumed)
{
	char	*copy;
	size_t	 dummy;
	int	 ret;

	if ((copy = malloc(len == 0 ? 1 : len)) == NULL) {
		perror("malloc");
		exit(2);
	}
	memcpy(copy, s, len);
	ret = http_parse_request(r, copy, len, lim,
	    consumed != NULL ? consumed : &dummy);
	free(copy);
	return ret;
}

static int
parse(const char *s, size_t *consumed)
{
	return parse_lim(&req, s, strlen(s), NULL, consumed);
}

/* The status of a request that must fail, or 0 if it did not. */
static int
parse_error(const char *s)
{
	if (parse(s, NULL) != HTTP_PARSE_ERROR)
		return 0;
	if (req.error == NULL)
		return -1;
	return req.status;
}

/* head, then n copies of unit, then tail, in a new string. */
static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	char	*s, *p;
	size_t	 hl, ul, tl, i;

	hl = strlen(head);
	ul = strlen(unit);
	tl = strlen(tail);
	if ((s = malloc(hl + ul * n + tl + 1)) == NULL) {
		perror("malloc");
		exit(2);
	}
	memcpy(s, head, hl);
	p = s + hl;
	for (i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, tail, tl + 1);
	return s;
}

static int
in_store(const struct http_request *r, const char *p)
{
	return p >= r->store && p < r->store + r->store_len &&
	    p + strlen(p) < r->store + r->store_len;
}

static int
same_request(const struct http_request *a, const struct http_request *b)
{
	size_t	 i;

	if (a->method != b->method || a->version_minor != b->version_minor ||
	    strcmp(a->target, b->target) != 0 ||
	    strcmp(a->path, b->path) != 0 ||
	    (a->query == NULL) != (b->query == NULL) ||
	    (a->query != NULL && strcmp(a->query, b->query) != 0) ||
	    a->nheaders != b->nheaders ||
	    a->content_length != b->content_length ||
	    a->body_off != b->body_off || a->body_len != b->body_len ||
	    a->keep_alive != b->keep_alive)
		return 0;
	for (i = 0; i < a->nheaders; i++)
		if (strcmp(a->headers[i].name, b->headers[i].name) != 0 ||
		    strcmp(a->headers[i].value, b->headers[i].value) != 0)
			return 0;
	return 1;
}

/*
 * Every proper prefix of s is HTTP_PARSE_MORE and s itself is
 * HTTP_PARSE_DONE, consuming all of it, with the same result as in
 * one piece.
 */
static int
split_ok(const char *s)
{
	size_t	 len, k, consumed;

	len = strlen(s);
	if (parse_lim(&req2, s, len, NULL, &consumed) != HTTP_PARSE_DONE ||
	    consumed != len)
		return 0;
	for (k = 0; k < len; k++) {
		if (parse_lim(&req, s, k, NULL, &consumed) != HTTP_PARSE_MORE ||
		    consumed != 0)
			return 0;
		if (req.need != 0 && (req.need != len || k < req.body_off))
			return 0;
	}
	if (parse_lim(&req, s, len, NULL, &consumed) != HTTP_PARSE_DONE ||
	    consumed != len)
		return 0;
	return same_request(&req, &req2);
}

static void
test_simple(void)
{
	const char	*s;
	size_t		 consumed;
	int		 r;

	s = "GET /index.html?x=1&y=%20 HTTP/1.1\r\n"
	    "Host: example.org\r\n"
	    "User-Agent: regress\r\n"
	    "\r\n";
	r = parse(s, &consumed);
	CHECK(r == HTTP_PARSE_DONE, "simple GET: done");
	CHECK(consumed == strlen(s), "simple GET: consumes all");
	CHECK(req.method == HTTP_METHOD_GET && req.version_minor == 1,
	    "simple GET: method and version");
	CHECK(strcmp(req.target, "/index.html?x=1&y=%20") == 0,
	    "simple GET: raw target");
	CHECK(strcmp(req.path, "/index.html") == 0, "simple GET: path");
	CHECK(req.query != NULL && strcmp(req.query, "x=1&y=%20") == 0,
	    "simple GET: raw query");
	CHECK(req.nheaders == 2 &&
	    strcmp(req.headers[0].name, "Host") == 0 &&
	    strcmp(req.headers[0].value, "example.org") == 0 &&
	    strcmp(req.headers[1].name, "User-Agent") == 0 &&
	    strcmp(req.headers[1].value, "regress") == 0,
	    "simple GET: headers");
	CHECK(req.content_length == -1 && req.body_len == 0 &&
	    req.body_off == strlen(s), "simple GET: no body");
	CHECK(req.keep_alive == 1 && req.chunked == 0 && req.status == 0 &&
	    req.error == NULL, "simple GET: flags");
	CHECK(in_store(&req, req.target) && in_store(&req, req.path) &&
	    in_store(&req, req.query) && in_store(&req, req.headers[1].value),
	    "simple GET: strings live in the request's own storage");

	r = parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", NULL);
	CHECK(r == HTTP_PARSE_DONE && strcmp(req.path, "/") == 0 &&
	    req.query == NULL, "no query: query is NULL");
	r = parse("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n", NULL);
	CHECK(r == HTTP_PARSE_DONE && strcmp(req.path, "/a") == 0 &&
	    req.query != NULL && *req.query == '\0',
	    "empty query is an empty string");
	r = parse("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", NULL);
	CHECK(r == HTTP_PARSE_DONE && req.method == HTTP_METHOD_HEAD,
	    "HEAD");
	r = parse("PUT / HTTP/1.1\r\nHost: h\r\n\r\n", NULL);
	CHECK(r == HTTP_PARSE_DONE && req.method == HTTP_METHOD_PUT, "PUT");
	r = parse("DELETE /mcp HTTP/1.1\r\nHost: h\r\n\r\n", NULL);
	CHECK(r == HTTP_PARSE_DONE && req.method == HTTP_METHOD_DELETE,
	    "DELETE");
	CHECK(strcmp(http_method_name(req.method), "DELETE") == 0,
	    "method name for the log");

	s = "POST /token HTTP/1.1\r\n"
	    "Host: example.org\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: 11\r\n"
	    "\r\n"
	    "hello world";
	r = parse(s, &consumed);
	CHECK(r == HTTP_PARSE_DONE && req.method == HTTP_METHOD_POST,
	    "POST with body: done");
	CHECK(consumed == strlen(s) && req.content_length == 11 &&
	    req.body_len == 11 && req.body_off == strlen(s) - 11 &&
	    memcmp(s + req.body_off, "hello world", 11) == 0,
	    "POST with body: body offset and length");

	r = parse("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
	    &consumed);
	CHECK(r == HTTP_PARSE_DONE && req.content_length == 0 &&
	    req.body_len == 0, "Content-Length: 0");

	s = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
	r = parse(s, &consumed);
	CHECK(r == HTTP_PARSE_DONE && consumed == strlen(s),
	    "empty lines before the request line are skipped");

	r = parse("GET / HTTP/1.0\r\n\r\n", NULL);
	CHECK(r == HTTP_PARSE_DONE && req.version_minor == 0 &&
	    req.nheaders == 0, "HTTP/1.0 needs no Host");
}

static void
test_split(void)
{
	CHECK(split_ok("GET /a/b?c=d HTTP/1.1\r\nHost: example.org\r\n"
	    "Accept: */*\r\nX-Empty:\r\n\r\n"),
	    "GET split at every byte: MORE, then DONE with the same result");
	CHECK(split_ok("\r\nPOST /register HTTP/1.1\r\n"
	    "Host: example.org\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 27\r\n\r\n"
	    "{\"client_name\":\"regress\"}\r\n"),
	    "POST split at every byte: MORE, then DONE with the same result");
	CHECK(split_ok("OPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
	    "OPTIONS * split at every byte");
}

static void
test_pipeline(void)
{
	const char	*s;
	size_t		 c1, c2, len;

	s = "POST /mcp HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n"
	    "abcd"
	    "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /partial HT";
	len = strlen(s);
	CHECK(parse_lim(&req, s, len, NULL, &c1) == HTTP_PARSE_DONE &&
	    req.method == HTTP_METHOD_POST && req.body_len == 4 &&
	    memcmp(s + req.body_off, "abcd", 4) == 0 &&
	    strncmp(s + c1, "GET /healthz", 12) == 0,
	    "pipelined: first request consumed up to the second");
	CHECK(parse_lim(&req, s + c1, len - c1, NULL, &c2) == HTTP_PARSE_DONE &&
	    strcmp(req.path, "/healthz") == 0 &&
	    strcmp(s + c1 + c2, "GET /partial HT") == 0,
	    "pipelined: second request");
	CHECK(parse_lim(&req, s + c1 + c2, len - c1 - c2, NULL, NULL) ==
	    HTTP_PARSE_MORE, "pipelined: incomplete third request");
}

static void
test_keep_alive(void)
{
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", NULL) ==
	    HTTP_PARSE_DONE && req.keep_alive == 1,
	    "HTTP/1.1 keeps the connection by default");
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
	    NULL) == HTTP_PARSE_DONE && req.keep_alive == 0,
	    "HTTP/1.1 with Connection: close");
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nconnection: Upgrade, CLOSE"
	    "\r\n\r\n", NULL) == HTTP_PARSE_DONE && req.keep_alive == 0,
	    "HTTP/1.1 close among other options, any case");
	CHECK(parse("GET / HTTP/1.0\r\n\r\n", NULL) == HTTP_PARSE_DONE &&
	    req.keep_alive == 0, "HTTP/1.0 closes by default");
	CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	    NULL) == HTTP_PARSE_DONE && req.keep_alive == 1,
	    "HTTP/1.0 with Connection: keep-alive");
	CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
	    "Connection: close\r\n\r\n", NULL) == HTTP_PARSE_DONE &&
	    req.keep_alive == 0, "close wins over keep-alive");
	CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alived\r\n\r\n",
	    NULL) == HTTP_PARSE_DONE && req.keep_alive == 0,
	    "options are whole tokens");
}

static void
test_limits(void)
{
	struct http_limits	 lim;
	char			*s;
	size_t			 consumed;
	int			 r;

	/* GET SP target SP HTTP/1.1 is 14 bytes around the target. */
	s = repeat("GET /", "a", HTTP_MAX_REQUEST_LINE - 14,
	    " HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(parse(s, NULL) == HTTP_PARSE_DONE &&
	    strlen(req.target) == HTTP_MAX_REQUEST_LINE - 13,
	    "request line of exactly the limit");
	free(s);
	s = repeat("GET /", "a", HTTP_MAX_REQUEST_LINE - 13,
	    " HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(parse_error(s) == 414, "request line one byte over: 414");
	free(s);
	s = repeat("GET /", "a", HTTP_MAX_REQUEST_LINE, "");
	CHECK(parse_error(s) == 414,
	    "oversize request line without CRLF yet: 414, not MORE");
	free(s);
	s = repeat("", "\r\n", HTTP_MAX_REQUEST_LINE / 2 + 1, "");
	CHECK(parse_error(s) == 414, "endless empty lines: 414");
	free(s);

	/* 16384 bytes of fields: Host line (9) and X: lines of 5 bytes. */
	s = repeat("GET / HTTP/1.1\r\nHost: h\r\nX-Big: ", "v",
	    HTTP_MAX_HEADER_BYTES - 9 - 9, "\r\n\r\n");
	CHECK(parse(s, NULL) == HTTP_PARSE_DONE && req.nheaders == 2,
	    "header section of exactly the limit");
	free(s);
	s = repeat("GET / HTTP/1.1\r\nHost: h\r\nX-Big: ", "v",
	    HTTP_MAX_HEADER_BYTES - 9 - 9, "\r\nX");
	CHECK(parse_error(s) == 431,
	    "header section full, one more field begins: 431, not MORE");
	free(s);
	s = repeat("GET / HTTP/1.1\r\nHost: h\r\nX-Big: ", "v",
	    HTTP_MAX_HEADER_BYTES - 9 - 10, "\r\nX");
	CHECK(parse_error(s) == 431,
	    "header section one byte short of full, one more field: 431");
	free(s);
	s = repeat("GET / HTTP/1.1\r\nHost: h\r\nX-Big: ", "v",
	    HTTP_MAX_HEADER_BYTES - 9 - 8, "\r\n\r\n");
	CHECK(parse_error(s) == 431, "header section one byte over: 431");
	free(s);
	s = repeat("GET / HTTP/1.1\r\nHost: h\r\nX-Big: ", "v",
	    HTTP_MAX_HEADER_BYTES, "");
	CHECK(parse_error(s) == 431,
	    "oversize header section without its end yet: 431, not MORE");
	free(s);

	s = repeat("GET / HTTP/1.1\r\nHost: h\r\n", "X: 1\r\n",
	    HTTP_MAX_HEADERS - 1, "\r\n");
	CHECK(parse(s, NULL) == HTTP_PARSE_DONE &&
	    req.nheaders == HTTP_MAX_HEADERS, "64 fields accepted");
	free(s);
	s = repeat("GET / HTTP/1.1\r\nHost: h\r\n", "X: 1\r\n",
	    HTTP_MAX_HEADERS, "\r\n");
	CHECK(parse_error(s) == 431, "65 fields: 431");
	free(s);
	s = repeat("GET / HTTP/1.1\r\nHost: h\r\n", "X: 1\r\n",
	    HTTP_MAX_HEADERS - 1, "X");
	CHECK(parse_error(s) == 431,
	    "65th field decided at its first byte: 431, not MORE");
	free(s);

	r = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n"
	    "\r\n", NULL);
	CHECK(r == HTTP_PARSE_ERROR && req.status == 413,
	    "Content-Length over the limit: 413 before the body arrives");
	r = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n"
	    "\r\n", NULL);
	CHECK(r == HTTP_PARSE_MORE && req.need == req.body_off + 1048576 &&
	    req.content_length == 1048576,
	    "Content-Length of exactly the limit: MORE, need is known");
	r = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "
	    "99999999999999999999999999999999\r\n\r\n", NULL);
	CHECK(r == HTTP_PARSE_ERROR && req.status == 413,
	    "huge Content-Length does not overflow: 413");

	memset(&lim, 0, sizeof(lim));
	lim.max_headers = 2;
	s = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
	r = parse_lim(&req, s, strlen(s), &lim, NULL);
	CHECK(r == HTTP_PARSE_ERROR && req.status == 431,
	    "custom max_headers");
	memset(&lim, 0, sizeof(lim));
	lim.max_body = 4;
	s = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n12345";
	r = parse_lim(&req, s, strlen(s), &lim, NULL);
	CHECK(r == HTTP_PARSE_ERROR && req.status == 413, "custom max_body");
	s = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n1234";
	r = parse_lim(&req, s, strlen(s), &lim, &consumed);
	CHECK(r == HTTP_PARSE_DONE && consumed == strlen(s),
	    "custom max_body, at the limit");
	memset(&lim, 0, sizeof(lim));
	lim.max_request_line = 15;
	r = parse_lim(&req, "GET /ab HTTP/1.0\r\n\r\n", 20, &lim, NULL);
	CHECK(r == HTTP_PARSE_ERROR && req.status == 414,
	    "custom max_request_line");
	lim.max_request_line = (size_t)-1;
	lim.max_header_bytes = (size_t)-1;
	lim.max_headers = (size_t)-1;
	s = repeat("GET / HTTP/1.1\r\nHost: h\r\n", "X: 1\r\n",
	    HTTP_MAX_HEADERS, "\r\n");
	r = parse_lim(&req, s, strlen(s), &lim, NULL);
	CHECK(r == HTTP_PARSE_ERROR && req.status == 431,
	    "limits cannot be raised past the storage");
	free(s);
	r = parse_lim(&req, "GET / HTTP/1.0\r\n\r\n", 18, NULL, &consumed);
	CHECK(r == HTTP_PARSE_DONE && consumed == 18, "NULL limits");
}

static void
test_length(void)
{
	int	 r;

	CHECK(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\nabc") == 400,
	    "Content-Length and Transfer-Encoding: 400");
	CHECK(parse_error("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") == 400,
	    "Transfer-Encoding and Content-Length: 400");
	CHECK(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	    "Content-Length: 4\r\n\r\nabcd") == 400,
	    "conflicting Content-Length: 400");
	r = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	    "Content-Length: 003\r\n\r\nabc", NULL);
	CHECK(r == HTTP_PARSE_DONE && req.body_len == 3,
	    "repeated equal Content-Length accepted");
	CHECK(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n"
	    "\r\nabc") == 400, "Content-Length with '+': 400");
	CHECK(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n"
	    "\r\n") == 400, "negative Content-Length: 400");
	CHECK(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3"
	    "\r\n\r\nabc") == 400, "Content-Length list: 400");
	CHECK(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10"
	    "\r\n\r\n") == 400, "hex Content-Length: 400");
	CHECK(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n"
	    "\r\n") == 400, "empty Content-Length: 400");
	r = parse("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", NULL);
	CHECK(r == HTTP_PARSE_ERROR && req.status == 411 && req.chunked == 1,
	    "chunked request body: 411, flagged");
	CHECK(parse_error("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n") == 501,
	    "unsupported transfer-coding: 501");
	CHECK(parse_error("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: ,\r\n\r\n") == 400,
	    "empty Transfer-Encoding: 400");
	CHECK(parse_error("POST / HTTP/1.0\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n") == 411,
	    "chunked on HTTP/1.0: 411");
}

static void
test_request_line(void)
{
	CHECK(parse_error("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == 505,
	    "HTTP/2.0: 505");
	CHECK(parse_error("GET / HTTP/1.2\r\nHost: h\r\n\r\n") == 505,
	    "HTTP/1.2: 505");
	CHECK(parse_error("GET / HTTP/0.9\r\n\r\n") == 505, "HTTP/0.9: 505");
	CHECK(parse_error("GET / http/1.1\r\nHost: h\r\n\r\n") == 400,
	    "lowercase version: 400");
	CHECK(parse_error("GET / HTTP/1.10\r\nHost: h\r\n\r\n") == 400,
	    "long version: 400");
	CHECK(parse_error("GET /\r\n\r\n") == 400, "missing version: 400");
	CHECK(parse_error("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n") == 501,
	    "unknown method: 501");
	CHECK(req.method == HTTP_METHOD_OTHER, "unknown method is OTHER");
	CHECK(parse_error("get / HTTP/1.1\r\nHost: h\r\n\r\n") == 501,
	    "methods are case-sensitive: 501");
	CHECK(parse_error("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n") ==
	    501, "CONNECT: 501");
	CHECK(parse_error("G(T / HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "method not a token: 400");
	CHECK(parse_error("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "two spaces after method: 400");
	CHECK(parse_error("GET / HTTP/1.1 \r\nHost: h\r\n\r\n") == 400,
	    "trailing space: 400");
	CHECK(parse_error(" GET / HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "leading space: 400");
	CHECK(parse_error("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "tab in request line: 400");
	CHECK(parse_error("GET /a\001 HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "control character in request line: 400");
	CHECK(parse_error("GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "DEL in request line: 400");
	CHECK(parse_error("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "non-ASCII in request target: 400");
	CHECK(parse_error("GET / HTTP/1.1\rHost: h\r\n\r\n") == 400,
	    "bare CR in request line: 400");
	CHECK(parse_error("GET / HTTP/1.1\nHost: h\n\n") == 400,
	    "bare LF line ends: 400 (strict CRLF)");
	CHECK(parse_error("\r\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "bare CR before request line: 400");
	CHECK(parse_error("GET /") == 0, "incomplete request line: MORE");
	CHECK(parse_error("GET /\0") == 0 && parse_lim(&req, "GET /\0", 6,
	    NULL, NULL) == HTTP_PARSE_ERROR && req.status == 400,
	    "NUL in request line: 400 at once");
}

static void
test_fields(void)
{
	CHECK(parse_error("GET / HTTP/1.1\r\n\r\n") == 400,
	    "missing Host on HTTP/1.1: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") ==
	    400, "two Host fields: 400");
	CHECK(parse_error("GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n") ==
	    400, "two Host fields on HTTP/1.0: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == 400,
	    "invalid Host value: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n") == 400,
	    "userinfo in Host: 400");
	CHECK(parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", NULL) ==
	    HTTP_PARSE_DONE, "IPv6 literal and port in Host");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n"
	    " continued\r\n\r\n") == 400, "obs-fold with SP: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n"
	    "\tcontinued\r\n\r\n") == 400, "obs-fold with HTAB: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\n Host: h\r\n\r\n") == 400,
	    "whitespace before the first field: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost : h\r\n\r\n") == 400,
	    "space before colon: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n") == 400,
	    "tab before colon: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: h\r\nX(A): 1\r\n\r\n") ==
	    400, "invalid character in field name: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: h\r\n: 1\r\n\r\n") == 400,
	    "empty field name: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n") ==
	    400, "field without colon: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r2\r\n\r\n") ==
	    400, "bare CR in field value: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\rX") ==
	    400, "bare CR at end of fields: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\n\r\n") ==
	    400, "bare LF in fields: 400");
	CHECK(parse_lim(&req, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n",
	    35, NULL, NULL) == HTTP_PARSE_ERROR && req.status == 400,
	    "NUL byte in field value: 400");
	CHECK(parse_lim(&req, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0", 32,
	    NULL, NULL) == HTTP_PARSE_ERROR && req.status == 400,
	    "NUL byte decided before the line ends");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: \033[1m\r\n"
	    "\r\n") == 400, "escape character in field value: 400");
	CHECK(parse_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: \x7f\r\n\r\n") ==
	    400, "DEL in field value: 400");
	CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: caf\xc3\xa9\r\n\r\n",
	    NULL) == HTTP_PARSE_DONE, "obs-text in field value accepted");
}

static void
test_targets(void)
{
	CHECK(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", NULL) ==
	    HTTP_PARSE_DONE && strcmp(req.path, "*") == 0 &&
	    req.method == HTTP_METHOD_OPTIONS, "OPTIONS *");
	CHECK(parse_error("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "'*' with GET: 400");
	CHECK(parse("GET http://Example.org/a/b?c HTTP/1.1\r\n"
	    "Host: example.ORG\r\n\r\n", NULL) == HTTP_PARSE_DONE &&
	    strcmp(req.path, "/a/b") == 0 && strcmp(req.query, "c") == 0 &&
	    strcmp(req.target, "http://Example.org/a/b?c") == 0,
	    "absolute-form target");
	CHECK(parse("GET https://h:8443?q HTTP/1.1\r\nHost: h:8443\r\n\r\n",
	    NULL) == HTTP_PARSE_DONE && strcmp(req.path, "/") == 0 &&
	    strcmp(req.query, "q") == 0, "absolute-form with empty path");
	CHECK(parse_error("GET http://evil.example/ HTTP/1.1\r\n"
	    "Host: example.org\r\n\r\n") == 400,
	    "absolute-form authority differs from Host: 400");
	CHECK(parse_error("GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n") ==
	    400, "userinfo in absolute-form: 400");
	CHECK(parse_error("GET http:/// HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "empty authority: 400");
	CHECK(parse_error("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "other scheme: 400");
	CHECK(parse_error("GET a/b HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "relative target: 400");
	CHECK(parse_error("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n") == 400,
	    "fragment in target: 400");
	CHECK(parse("GET /a?b={\"c\"|d} HTTP/1.1\r\nHost: h\r\n\r\n", NULL) ==
	    HTTP_PARSE_DONE && strcmp(req.query, "b={\"c\"|d}") == 0,
	    "visible ASCII in the query is kept raw");
	CHECK(parse("GET /a%2Fb?x=%zz HTTP/1.1\r\nHost: h\r\n\r\n", NULL) ==
	    HTTP_PARSE_DONE && strcmp(req.path, "/a%2Fb") == 0,
	    "path is not decoded");
}

static void
test_lookup(void)
{
	int	 r;

	r = parse("POST /mcp HTTP/1.1\r\n"
	    "Host: example.org\r\n"
	    "authorization: Bearer one\r\n"
	    "X-Spaced:   spaced value \t \r\n"
	    "X-Empty:\r\n"
	    "X-Tab:\tv\r\n"
	    "AUTHORIZATION: Bearer two\r\n"
	    "\r\n", NULL);
	CHECK(r == HTTP_PARSE_DONE, "lookup request parsed");
	CHECK(http_header(&req, "HOST") != NULL &&
	    strcmp(http_header(&req, "HOST"), "example.org") == 0,
	    "lookup is case-insensitive");
	CHECK(strcmp(http_header(&req, "Authorization"), "Bearer one") == 0,
	    "lookup returns the first value");
	CHECK(http_header_count(&req, "Authorization") == 2,
	    "duplicates counted across cases");
	CHECK(http_header_count(&req, "host") == 1 &&
	    http_header_count(&req, "X-Missing") == 0, "single and absent");
	CHECK(http_header(&req, "X-Missing") == NULL, "absent field is NULL");
	CHECK(http_header(&req, "Hos") == NULL &&
	    http_header(&req, "Hostx") == NULL, "no prefix matches");
	CHECK(strcmp(http_header(&req, "x-spaced"), "spaced value") == 0,
	    "value whitespace trimmed");
	CHECK(strcmp(http_header(&req, "X-Empty"), "") == 0,
	    "empty value is an empty string");
	CHECK(strcmp(http_header(&req, "X-Tab"), "v") == 0,
	    "leading tab trimmed");
}

static void
test_pct_decode(void)
{
	char	 out[16];

	CHECK(http_pct_decode("a%20b", 5, out, sizeof(out), 0) == 3 &&
	    strcmp(out, "a b") == 0, "pct: %%20");
	CHECK(http_pct_decode("%41%6a%4A", 9, out, sizeof(out), 0) == 3 &&
	    strcmp(out, "AjJ") == 0, "pct: hex digits of either case");
	CHECK(http_pct_decode("%C3%A9", 6, out, sizeof(out), 0) == 2 &&
	    (unsigned char)out[0] == 0xc3 && (unsigned char)out[1] == 0xa9,
	    "pct: bytes above 0x7f");
	CHECK(http_pct_decode("%zz", 3, out, sizeof(out), 0) == -1 &&
	    out[0] == '\0', "pct: %%zz rejected");
	CHECK(http_pct_decode("a%4", 3, out, sizeof(out), 0) == -1,
	    "pct: truncated escape rejected");
	CHECK(http_pct_decode("a%", 2, out, sizeof(out), 0) == -1,
	    "pct: lone %% rejected");
	CHECK(http_pct_decode("%41", 2, out, sizeof(out), 0) == -1,
	    "pct: escape cut by inlen rejected");
	CHECK(http_pct_decode("a%00b", 5, out, sizeof(out), 0) == -1,
	    "pct: %%00 rejected");
	CHECK(http_pct_decode("a\0b", 3, out, sizeof(out), 0) == -1,
	    "pct: NUL in input rejected");
	CHECK(http_pct_decode("a+b", 3, out, sizeof(out), 1) == 3 &&
	    strcmp(out, "a b") == 0, "pct: + is space when asked");
	CHECK(http_pct_decode("a+b", 3, out, sizeof(out), 0) == 3 &&
	    strcmp(out, "a+b") == 0, "pct: + kept otherwise");
	CHECK(http_pct_decode("%2B", 3, out, sizeof(out), 1) == 1 &&
	    strcmp(out, "+") == 0, "pct: %%2B is + even for forms");
	CHECK(http_pct_decode("abcd", 4, out, 5, 0) == 4 &&
	    strcmp(out, "abcd") == 0, "pct: exact fit");
	CHECK(http_pct_decode("abcde", 5, out, 5, 0) == -1,
	    "pct: no room for NUL rejected");
	CHECK(http_pct_decode("", 0, out, sizeof(out), 0) == 0 &&
	    out[0] == '\0', "pct: empty");
	CHECK(http_pct_decode("a", 1, out, 0, 0) == -1, "pct: outsz 0");
	CHECK(http_pct_decode("abcdef", 3, out, sizeof(out), 0) == 3 &&
	    strcmp(out, "abc") == 0, "pct: honours inlen");
}

static void
test_form_get(void)
{
	const char	*f;
	char		 out[16];

	f = "grant_type=authorization_code&code=a%2Bb+c&redirect_uri="
	    "http%3A%2F%2F127.0.0.1%2Fcb";
	CHECK(http_form_get(f, strlen(f), "code", out, sizeof(out)) == 1 &&
	    strcmp(out, "a+b c") == 0, "form: found and decoded");
	CHECK(http_form_get(f, strlen(f), "state", out, sizeof(out)) == 0 &&
	    out[0] == '\0', "form: absent");
	CHECK(http_form_get(f, strlen(f), "redirect_uri", out, sizeof(out)) ==
	    -1, "form: value too long");
	CHECK(http_form_get(f, strlen(f), "grant", out, sizeof(out)) == 0,
	    "form: no prefix match");
	f = "a=1&b=2&a=3";
	CHECK(http_form_get(f, strlen(f), "a", out, sizeof(out)) == -2 &&
	    out[0] == '\0', "form: duplicate key");
	CHECK(http_form_get(f, strlen(f), "b", out, sizeof(out)) == 1 &&
	    strcmp(out, "2") == 0, "form: other key beside a duplicate");
	f = "a=1&%61=2";
	CHECK(http_form_get(f, strlen(f), "a", out, sizeof(out)) == -2,
	    "form: duplicate after decoding the name");
	f = "scope=&state=xyz";
	CHECK(http_form_get(f, strlen(f), "scope", out, sizeof(out)) == 1 &&
	    out[0] == '\0', "form: empty value");
	f = "flag&x=1";
	CHECK(http_form_get(f, strlen(f), "flag", out, sizeof(out)) == 1 &&
	    out[0] == '\0', "form: name without '='");
	f = "&&x=1&&y=2&";
	CHECK(http_form_get(f, strlen(f), "y", out, sizeof(out)) == 1 &&
	    strcmp(out, "2") == 0, "form: empty pairs skipped");
	f = "x=%zz&y=2";
	CHECK(http_form_get(f, strlen(f), "y", out, sizeof(out)) == -1,
	    "form: malformed elsewhere");
	f = "x=1&y=a%00";
	CHECK(http_form_get(f, strlen(f), "y", out, sizeof(out)) == -1,
	    "form: %%00 rejected");
	f = "redirect%5Furi=x&my+key=v";
	CHECK(http_form_get(f, strlen(f), "redirect_uri", out, sizeof(out)) ==
	    1 && strcmp(out, "x") == 0, "form: encoded name");
	CHECK(http_form_get(f, strlen(f), "my key", out, sizeof(out)) == 1 &&
	    strcmp(out, "v") == 0, "form: + in name");
	f = "a=1&b=2";
	CHECK(http_form_get(f, 3, "b", out, sizeof(out)) == 0,
	    "form: honours formlen");
	CHECK(http_form_get("", 0, "a", out, sizeof(out)) == 0,
	    "form: empty form");
	f = "a=b=c";
	CHECK(http_form_get(f, strlen(f), "a", out, sizeof(out)) == 1 &&
	    strcmp(out, "b=c") == 0, "form: '=' in value");
}

static void
test_status_text(void)
{
	static const int	 codes[] = { 200, 201, 202, 204, 302, 303,
	    304, 400, 401, 403, 404, 405, 406, 408, 409, 411, 413, 414, 415,
	    429, 431, 500, 501, 502, 503, 504, 505 };
	size_t			 i;
	int			 ok;

	ok = 1;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(http_status_text(codes[i]), "Unknown") == 0)
			ok = 0;
	CHECK(ok, "status text for every listed code");
	CHECK(strcmp(http_status_text(431),
	    "Request Header Fields Too Large") == 0, "status text 431");
	CHECK(strcmp(http_status_text(299), "Unknown") == 0,
	    "status text of an unlisted code");
}

/* xorshift32: the same sequence everywhere. */
static uint32_t
rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Mutates buf[0..len) in place, within cap bytes; the new length. */
static size_t
mutate(char *buf, size_t len, size_t cap)
{
	static const char	 special[] = "\r\n\0 \t:%,;=?#/*0123456789"
	    "\x7f\x80\xff";
	size_t			 i, n, pos, k;

	n = 1 + rnd() % 4;
	for (i = 0; i < n; i++) {
		pos = len == 0 ? 0 : rnd() % len;
		switch (rnd() % 6) {
		case 0:		/* replace with a random byte */
			if (len > 0)
				buf[pos] = rnd();
			break;
		case 1:		/* replace with a special byte */
			if (len > 0)
				buf[pos] = special[rnd() %
				    (sizeof(special) - 1)];
			break;
		case 2:		/* insert a special byte */
			if (len < cap) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = special[rnd() %
				    (sizeof(special) - 1)];
				len++;
			}
			break;
		case 3:		/* delete a run */
			k = rnd() % 8;
			if (k > len - pos)
				k = len - pos;
			memmove(buf + pos, buf + pos + k, len - pos - k);
			len -= k;
			break;
		case 4:		/* duplicate a run */
			k = rnd() % 32;
			if (k > len - pos)
				k = len - pos;
			if (len + k <= cap) {
				memmove(buf + pos + k, buf + pos, len - pos);
				len += k;
			}
			break;
		default:	/* truncate */
			len = pos;
			break;
		}
	}
	return len;
}

static void
test_random(void)
{
	static const char	*seeds[] = {
		"GET /a?b=c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		("POST /token HTTP/1.1\r\nHost: example.org\r\n"
		    "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
		    "GET / HTTP/1.0\r\n\r\n"),
		"\r\nOPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		("GET http://h:80/x HTTP/1.1\r\nHost: h:80\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n"),
		"PUT /x HTTP/1.1\r\nHost: [::1]\r\nX: a, b\r\n\r\n"
	};
	struct http_limits	 lim;
	char			 buf[512], *copy;
	size_t			 len, consumed, whole, k, iter;
	int			 r, ok_codes, ok_done, ok_error, ok_prefix;
	int			 status, done;

	ok_codes = ok_done = ok_error = ok_prefix = 1;
	done = 0;
	for (iter = 0; iter < 20000; iter++) {
		len = strlen(seeds[iter % (sizeof(seeds) / sizeof(seeds[0]))]);
		memcpy(buf, seeds[iter % (sizeof(seeds) / sizeof(seeds[0]))],
		    len);
		len = mutate(buf, len, sizeof(buf));
		memset(&lim, 0, sizeof(lim));
		if (iter % 3 == 0) {
			lim.max_request_line = 1 + rnd() % 64;
			lim.max_header_bytes = 1 + rnd() % 128;
			lim.max_headers = 1 + rnd() % 4;
			lim.max_body = 1 + rnd() % 8;
		}
		if ((copy = malloc(len == 0 ? 1 : len)) == NULL) {
			perror("malloc");
			exit(2);
		}
		memcpy(copy, buf, len);
		r = http_parse_request(&req, copy, len, &lim, &consumed);
		status = req.status;
		whole = consumed;
		if (r != HTTP_PARSE_DONE && r != HTTP_PARSE_MORE &&
		    r != HTTP_PARSE_ERROR)
			ok_codes = 0;
		if (r == HTTP_PARSE_DONE) {
			done++;
			if (consumed == 0 || consumed > len ||
			    req.body_off + req.body_len != consumed ||
			    !in_store(&req, req.target) ||
			    !in_store(&req, req.path) ||
			    (req.query != NULL && !in_store(&req, req.query)) ||
			    req.method == HTTP_METHOD_OTHER ||
			    req.method == HTTP_METHOD_NONE)
				ok_done = 0;
		} else if (consumed != 0)
			ok_done = 0;
		if (r == HTTP_PARSE_ERROR && (req.error == NULL ||
		    strcmp(http_status_text(status), "Unknown") == 0))
			ok_error = 0;

		/* A prefix never disagrees with the whole. */
		k = len == 0 ? 0 : rnd() % len;
		switch (http_parse_request(&req2, copy, k, &lim, &consumed)) {
		case HTTP_PARSE_DONE:
			if (r != HTTP_PARSE_DONE || consumed != whole)
				ok_prefix = 0;
			break;
		case HTTP_PARSE_ERROR:
			if (r != HTTP_PARSE_ERROR || req2.status != status)
				ok_prefix = 0;
			break;
		default:
			break;
		}
		free(copy);
	}
	CHECK(ok_codes, "random: 20000 mutations, always a known result");
	CHECK(ok_done, "random: DONE results are consistent");
	CHECK(ok_error, "random: every error has a known status and text");
	CHECK(ok_prefix, "random: prefixes never contradict the whole");
	CHECK(done > 0, "random: some mutations still parse (%d)", done);
}

int
main(void)
{
	test_simple();
	test_split();
	test_pipeline();
	test_keep_alive();
	test_limits();
	test_length();
	test_request_line();
	test_fields();
	test_targets();
	test_lookup();
	test_pct_decode();
	test_form_get();
	test_status_text();
	test_random();
	return regress_done();
}
