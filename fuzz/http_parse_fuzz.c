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
 * libFuzzer target for brokerd/http_parse.c.  Build and run from the
 * top of the tree:
 *   clang -fsanitize=fuzzer,address,undefined -Ibrokerd fuzz/http_parse_fuzz.c brokerd/http_parse.c -o /tmp/hpfuzz && /tmp/hpfuzz -max_total_time=60
 *
 * The first byte chooses the limits and a split point; the rest is the
 * input.  Besides crashes, any broken invariant aborts: a result other
 * than the three codes, a DONE that consumes nothing or more than it
 * was given, a string outside the request's storage, or a prefix of the
 * input that gets a different verdict than the whole.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	 check(int);
static void	 check_string(const struct http_request *, const char *);
static void	 check_request(const struct http_request *, int, size_t,
		    size_t);
static void	 fuzz_helpers(const char *, size_t, int);

static struct http_request	 req, preq;

static void
check(int ok)
{
	if (!ok)
		abort();
}

static void
check_string(const struct http_request *r, const char *s)
{
	check(s >= r->store && s < r->store + r->store_len);
	check(memchr(s, '\0', r->store + r->store_len - s) != NULL);
}

static void
check_request(const struct http_request *r, int ret, size_t len,
    size_t consumed)
{
	size_t	 i;

	check(ret == HTTP_PARSE_DONE || ret == HTTP_PARSE_MORE ||
	    ret == HTTP_PARSE_ERROR);
	check(r->store_len <= sizeof(r->store));
	if (ret == HTTP_PARSE_ERROR) {
		check(r->error != NULL && r->status >= 400 && r->status < 600);
		check(strcmp(http_status_text(r->status), "Unknown") != 0);
		check(consumed == 0);
		return;
	}
	if (ret == HTTP_PARSE_MORE) {
		check(consumed == 0);
		check(r->need == 0 || r->need > len);
		return;
	}
	check(consumed > 0 && consumed <= len);
	check(r->body_off + r->body_len == consumed);
	check(r->method != HTTP_METHOD_NONE && r->method != HTTP_METHOD_OTHER);
	check(r->version_minor == 0 || r->version_minor == 1);
	check(r->keep_alive == 0 || r->keep_alive == 1);
	check(r->nheaders <= HTTP_MAX_HEADERS);
	check(r->content_length == -1 ?
	    r->body_len == 0 : (size_t)r->content_length == r->body_len);
	check_string(r, r->target);
	check_string(r, r->path);
	if (r->query != NULL)
		check_string(r, r->query);
	for (i = 0; i < r->nheaders; i++) {
		check_string(r, r->headers[i].name);
		check_string(r, r->headers[i].value);
		check(http_header(r, r->headers[i].name) != NULL);
		check(http_header_count(r, r->headers[i].name) >= 1);
	}
	if (r->version_minor == 1)
		check(http_header_count(r, "host") == 1);
}

static void
fuzz_helpers(const char *s, size_t len, int plus)
{
	char	 out[64];
	int	 n;

	n = http_pct_decode(s, len, out, sizeof(out), plus);
	check(n >= -1 && n < (int)sizeof(out));
	if (n >= 0)
		check(out[n] == '\0' && memchr(out, '\0', n) == NULL);
	else
		check(out[0] == '\0');

	n = http_form_get(s, len, "code", out, sizeof(out));
	check(n >= -2 && n <= 1);
	check(memchr(out, '\0', sizeof(out)) != NULL);
	if (n != 1)
		check(out[0] == '\0');
	n = http_form_get(s, len, "", out, sizeof(out));
	check(n >= -2 && n <= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits	 lim;
	const char		*buf;
	size_t			 len, consumed, pconsumed, off, k;
	int			 mode, ret, pret, status;

	if (size == 0)
		return 0;
	mode = data[0];
	buf = (const char *)data + 1;
	len = size - 1;

	memset(&lim, 0, sizeof(lim));
	if (mode & 1) {
		lim.max_request_line = 1 + (mode >> 1) % 64;
		lim.max_header_bytes = 1 + (mode >> 2) % 128;
		lim.max_headers = 1 + (mode >> 3) % 8;
		lim.max_body = 1 + (mode >> 4) % 16;
	}

	ret = http_parse_request(&req, buf, len, &lim, &consumed);
	check_request(&req, ret, len, consumed);
	status = req.status;

	/* A prefix is MORE, or agrees with the whole. */
	k = len == 0 ? 0 : ((size_t)mode * 2654435761U) % len;
	pret = http_parse_request(&preq, buf, k, &lim, &pconsumed);
	check_request(&preq, pret, k, pconsumed);
	if (pret == HTTP_PARSE_DONE)
		check(ret == HTTP_PARSE_DONE && pconsumed == consumed);
	if (pret == HTTP_PARSE_ERROR)
		check(ret == HTTP_PARSE_ERROR && preq.status == status);
	if (ret == HTTP_PARSE_DONE && k >= consumed)
		check(pret == HTTP_PARSE_DONE);
	if (ret == HTTP_PARSE_DONE && k < consumed)
		check(pret == HTTP_PARSE_MORE);

	/* Pipelined requests after the first. */
	for (off = 0; ret == HTTP_PARSE_DONE && off + consumed < len;) {
		off += consumed;
		ret = http_parse_request(&req, buf + off, len - off, &lim,
		    &consumed);
		check_request(&req, ret, len - off, consumed);
	}

	fuzz_helpers(buf, len, mode & 2);
	return 0;
}
