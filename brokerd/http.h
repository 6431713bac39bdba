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
 * The HTTP/1.1 request parser of the http process (RFC 9112, RFC 9110).
 *
 * Everything declared here is pure: no I/O, no globals, no allocation,
 * and only libc.  The caller keeps the bytes received so far on a
 * connection and hands all of them to http_parse_request() whenever
 * more arrive; the parser starts from the beginning every time.
 *
 * Choices, and where they differ from what RFC 9112 allows:
 *
 * - Lines end in CRLF only.  A bare LF anywhere in the request line or
 *   the header section is answered with 400, like a bare CR (the
 *   tolerance of RFC 9112 section 2.2 is not taken; OpenBSD httpd is
 *   strict in the same way).  Empty lines (CRLF) before the request
 *   line are skipped; they count against max_request_line.
 * - Requests carry a body only by Content-Length.  Transfer-Encoding
 *   is not supported: "chunked" is answered with 411 Length Required
 *   (req->chunked is set, for the log), any other transfer-coding with
 *   501, and Transfer-Encoding together with Content-Length with 400.
 *   Repeated Content-Length fields must all carry the same value;
 *   a list ("5, 5") is rejected.
 * - Only HTTP/1.0 and HTTP/1.1 are accepted; any other well-formed
 *   version is answered with 505, a malformed one with 400.
 * - Methods are matched case-sensitively; a well-formed token that is
 *   not GET, HEAD, POST, PUT, DELETE or OPTIONS is answered with 501.
 * - The request-target is origin-form ("/path?query"), asterisk-form
 *   ("*", OPTIONS only) or absolute-form ("http://host/path", "https:"
 *   too).  In absolute-form the authority must not carry userinfo, and
 *   a Host field, if present, must equal the authority (case-
 *   insensitively); so the caller may always trust Host alone.
 * - Exactly one Host field is required on HTTP/1.1, at most one on
 *   HTTP/1.0; its value must consist of URI host and port characters.
 * - Field names are tokens, with nothing between the name and the
 *   colon.  Values lose their leading and trailing SP and HTAB; control
 *   characters other than HTAB, and DEL, are rejected.  A line that
 *   starts with SP or HTAB (obs-fold, or whitespace after the request
 *   line) is rejected with 400.
 *
 * After HTTP_PARSE_ERROR the caller answers req->status and closes the
 * connection: the end of the faulty request is not known.
 */

#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

/* Limits; a struct http_limits may lower but never raise the first three. */
#define HTTP_MAX_REQUEST_LINE	8192	/* bytes, without CRLF */
#define HTTP_MAX_HEADER_BYTES	16384	/* every field line with its CRLF */
#define HTTP_MAX_HEADERS	64	/* field lines */
#define HTTP_MAX_BODY		(1024 * 1024)

/* Timeouts, in seconds, for the server to apply to a connection. */
#define HTTP_HEADER_TIMEOUT	10	/* to receive the whole header block */
#define HTTP_IDLE_TIMEOUT	60	/* keep-alive, between requests */
#define HTTP_BODY_TIMEOUT	30	/* to receive the body */

/*
 * Room for copies of the request-target and of the path (each at most
 * the request line) and of every field name and value (at most the
 * header section: a line "name: value\r\n" needs at most its own
 * length with two NULs in place of colon and CRLF).
 */
#define HTTP_REQUEST_STORE	(2 * HTTP_MAX_REQUEST_LINE + \
				    HTTP_MAX_HEADER_BYTES)

/* http_parse_request() results */
#define HTTP_PARSE_ERROR	(-1)
#define HTTP_PARSE_MORE		0
#define HTTP_PARSE_DONE		1

/*
 * Limits for one call.  A field left 0 takes the default above; the
 * first three are capped at their defaults, which size the storage in
 * struct http_request.  max_body may be anything.
 */
struct http_limits {
	size_t		 max_request_line;
	size_t		 max_header_bytes;
	size_t		 max_headers;
	size_t		 max_body;
};

enum http_method {
	HTTP_METHOD_NONE = 0,
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_POST,
	HTTP_METHOD_PUT,
	HTTP_METHOD_DELETE,
	HTTP_METHOD_OPTIONS,
	HTTP_METHOD_OTHER	/* recognised as a token, answered with 501 */
};

struct http_header {
	const char	*name;		/* as received */
	const char	*value;		/* without surrounding whitespace */
};

/*
 * A parsed request.  Every string points into store[], inside the
 * struct itself: the struct is about 33 KiB, must not be copied by
 * value (the pointers would still refer to the original), and stays
 * valid however the caller reuses its input buffer.  Only the body is
 * not copied: it is buf[body_off] to buf[body_off + body_len - 1] of
 * the buffer given to http_parse_request(), and the caller copies it
 * before it discards or moves those bytes.
 *
 * After HTTP_PARSE_DONE every member below is set.  After
 * HTTP_PARSE_MORE, need is the total number of bytes this request
 * will take if that is known already (the header section is complete
 * and only body bytes are missing), 0 otherwise.  After
 * HTTP_PARSE_ERROR only status and error are meaningful.
 */
struct http_request {
	enum http_method	 method;
	int			 version_minor;	/* HTTP/1.0 or HTTP/1.1 */
	const char		*target;	/* request-target, raw */
	const char		*path;		/* raw, not percent-decoded */
	const char		*query;		/* raw, after '?'; or NULL */
	struct http_header	 headers[HTTP_MAX_HEADERS];
	size_t			 nheaders;
	long long		 content_length;	/* -1 if absent */
	size_t			 body_off;
	size_t			 body_len;
	size_t			 need;
	int			 keep_alive;
	int			 chunked;	/* rejected; set for the log */
	int			 status;	/* HTTP status for an error */
	const char		*error;		/* static text for the log */
	size_t			 store_len;
	char			 store[HTTP_REQUEST_STORE];
};

/*
 * Parses the request at the start of buf[0..len).  Returns
 * HTTP_PARSE_DONE when the header section and the whole body are in
 * buf; *consumed is then the length of this request, and any bytes
 * after it belong to the next one (pipelining).  Returns
 * HTTP_PARSE_MORE when the request may still turn out well once more
 * bytes arrive; it never does so once a limit is exceeded.  Returns
 * HTTP_PARSE_ERROR with req->status and req->error set otherwise:
 *
 *	400	malformed request line or field, bare CR or LF, control
 *		character, obs-fold, missing or repeated Host, invalid
 *		or conflicting Content-Length, Content-Length together
 *		with Transfer-Encoding
 *	411	Transfer-Encoding: chunked
 *	413	Content-Length larger than max_body (decided as soon as
 *		the header section is complete)
 *	414	request line longer than max_request_line
 *	431	header section longer than max_header_bytes, or more than
 *		max_headers fields
 *	501	unknown method, or a transfer-coding other than chunked
 *	505	an HTTP version other than 1.0 and 1.1
 *
 * *consumed is 0 unless the result is HTTP_PARSE_DONE.  lim may be
 * NULL for the defaults.
 */
int		 http_parse_request(struct http_request *, const char *, size_t,
		    const struct http_limits *, size_t *);

/* First value of the named field (case-insensitive), or NULL. */
const char	*http_header(const struct http_request *, const char *);

/* Number of fields with that name, so callers can refuse repeats. */
int		 http_header_count(const struct http_request *, const char *);

/*
 * Percent-decodes in[0..inlen) into out, NUL-terminated.  With
 * plus_is_space, '+' decodes to a space (forms and query strings).
 * Returns the decoded length, or -1 on a malformed or truncated
 * escape, %00, a NUL in the input, or when out is too small.
 */
int		 http_pct_decode(const char *, size_t, char *, size_t, int);

/*
 * Looks up key in application/x-www-form-urlencoded data (a request
 * body or a query string), names and values decoded with '+' as
 * space.  The whole of form must be well-formed.  Returns 1 and the
 * decoded value (possibly empty) in out when key occurs once, 0 when
 * it does not occur, -2 when it occurs more than once (OAuth forbids
 * repeated parameters), and -1 when form is malformed or the value
 * does not fit in out.  Empty pairs ("a=1&&b=2") are skipped.  out
 * is an empty string unless 1 is returned.
 */
int		 http_form_get(const char *, size_t, const char *, char *,
		    size_t);

/* Reason phrase of a status code; "Unknown" for codes not listed. */
const char	*http_status_text(int);

/* Name of a method for the log; "OTHER" or "NONE" for the others. */
const char	*http_method_name(enum http_method);

#endif /* HTTP_H */
