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
 * tokend's client of Forgejo: the token endpoint and /api/v1/user, on
 * tokend's event loop.  One request is one connection: HTTP/1.0 with
 * "Connection: close", the answer read until the server closes or its
 * Content-Length is in.  https:// goes through libtls with the system
 * CA bundle, read into memory before the sandbox; http:// is plain TCP,
 * meant for tests on loopback.
 *
 * The client secret, codes, verifiers and tokens live in the request
 * and answer buffers and in the results handed to the callbacks: all
 * are cleared before they are freed, and none is ever logged.  The
 * callback of a request runs exactly once, from the event loop, never
 * from within the forgejo_*() call that started the request.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <event.h>
#include <jansson.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tls.h>
#include <unistd.h>

#include "log.h"
#include "tokend.h"

#define FJ_HOST_MAX		256
#define FJ_BUF_INIT		8192
#define FJ_ERROR_MAX		64	/* an OAuth error code */
#define FJ_EXPIRES_DEFAULT	3600	/* when expires_in is absent */
#define FJ_EXPIRES_MAX		(10 * 365 * 86400)
#define FJ_HOST_CHARS		"abcdefghijklmnopqrstuvwxyz" \
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."

enum fj_state { FJ_CONNECT, FJ_WRITE, FJ_READ, FJ_DONE };

struct fj_req {
	enum fj_state		 state;
	const char		*method;
	char			 path[PROTO_URL_MAX + 64]; /* logs */
	forgejo_tokens_cb	 tokens_cb;	/* one of the two is set */
	forgejo_user_cb		 user_cb;
	void			*arg;

	struct addrinfo		*res;
	struct addrinfo		*ai;		/* being tried */
	char			 addr[NI_MAXHOST];
	int			 fd;
	struct tls		*tls;
	struct event		 ev;
	int			 ev_added;
	struct event		 timer;

	char			*out;		/* the request */
	size_t			 outlen, outoff, outcap;
	char			*in;		/* the answer */
	size_t			 inlen, incap;
	size_t			 hdrlen;	/* 0 until they are in */
	int			 status;
	long long		 clen;		/* or -1 */
	const char		*bad;		/* or NULL */

	enum forgejo_result	 result;
	char			 error[FJ_ERROR_MAX];
	struct forgejo_tokens	*tokens;
	struct forgejo_user	 user;
};

/* Text being built: only what fits is written, len counts it all. */
struct fj_buf {
	char		*p;
	size_t		 size;
	size_t		 len;
};

static struct {
	int		 ready;
	int		 tls;
	char		 host[FJ_HOST_MAX];	/* DNS, SNI */
	char		 port[6];
	char		 authority[FJ_HOST_MAX + 8];	/* Host: */
	char		 path[PROTO_URL_MAX];	/* "" or "/base" */
	char		 base[PROTO_URL_MAX + 16]; /* url, no final / */
	char		 client_id[PROTO_NAME_MAX];
	char		 scope[PROTO_SCOPE_MAX];
	char		 redirect_uri[PROTO_URL_MAX + 16];
	struct tls_config *tls_config;
} fj;

static char	 fj_secret[PROTO_SECRET_MAX];
static int	 fj_timeout = FORGEJO_TIMEOUT;

static const char *fj_parse_url(const char *);
static void	 fj_copy(char *, size_t, const char *, size_t, const char *);
static void	 fj_put(struct fj_buf *, const char *, size_t);
static void	 fj_str(struct fj_buf *, const char *);
static void	 fj_enc(struct fj_buf *, const char *);
static void	 fj_form(struct fj_buf *, const char *const *);
static int	 fj_visible(const char *, size_t, size_t);
static const char *fj_lower(const char *, char *, size_t);
static struct fj_req *fj_new(const char *, const char *);
static void	 fj_tokens(const char *const *, forgejo_tokens_cb, void *);
static void	 fj_start(struct fj_req *, const char *,
		    const char *const *);
static void	 fj_connect(struct fj_req *);
static void	 fj_connect_failed(struct fj_req *, int);
static void	 fj_connected(struct fj_req *);
static void	 fj_wait(struct fj_req *, short);
static void	 fj_io(int, short, void *);
static ssize_t	 fj_xfer(struct fj_req *, int, char *, size_t);
static void	 fj_write(struct fj_req *);
static void	 fj_read(struct fj_req *);
static const char *fj_header(const char *, const char *);
static int	 fj_headers(struct fj_req *);
static void	 fj_answer(struct fj_req *);
static void	 fj_tokens_answer(struct fj_req *, json_t *);
static void	 fj_user_answer(struct fj_req *, json_t *);
static void	 fj_json_wipe(json_t *);
static void	 fj_bad(struct fj_req *, const char *);
static void	 fj_close(struct fj_req *);
static void	 fj_finish(struct fj_req *, enum forgejo_result);
static void	 fj_timer(int, short, void *);

void
forgejo_init(const struct cfg_tokend *cfg)
{
	char		 url[PROTO_URL_MAX];
	const char	*why, *cafile;
	uint8_t		*ca;
	size_t		 calen;

	if (fj.tls_config != NULL)
		tls_config_free(fj.tls_config);
	memset(&fj, 0, sizeof(fj));
	fj_copy(url, sizeof(url), cfg->forgejo_url, sizeof(cfg->forgejo_url),
	    "url");
	if ((why = fj_parse_url(url)) != NULL)
		fatalx("forgejo url \"%s\": %s", url, why);
	fj_copy(fj.client_id, sizeof(fj.client_id), cfg->forgejo_client_id,
	    sizeof(cfg->forgejo_client_id), "client id");
	if (fj.client_id[0] == '\0')
		fatalx("forgejo: no client id");
	explicit_bzero(fj_secret, sizeof(fj_secret));
	fj_copy(fj_secret, sizeof(fj_secret), cfg->forgejo_client_secret,
	    sizeof(cfg->forgejo_client_secret), "client secret");
	fj_copy(fj.scope, sizeof(fj.scope), cfg->forgejo_scope,
	    sizeof(cfg->forgejo_scope), "scope");

	/* The redirect URI registered at Forgejo: {public url}/callback. */
	fj_copy(fj.redirect_uri, sizeof(fj.redirect_uri) - 9,
	    cfg->public_url, sizeof(cfg->public_url), "public url");
	calen = strlen(fj.redirect_uri);
	while (calen > 0 && fj.redirect_uri[calen - 1] == '/')
		fj.redirect_uri[--calen] = '\0';
	if (calen == 0)
		fatalx("forgejo: no public url");
	(void)strlcat(fj.redirect_uri, "/callback", sizeof(fj.redirect_uri));

	if (fj.tls) {
		/* Now: the sandbox forbids reading the bundle later. */
		cafile = tls_default_ca_cert_file();
		if ((ca = tls_load_file(cafile, &calen, NULL)) == NULL)
			fatal("forgejo: %s", cafile);
		if ((fj.tls_config = tls_config_new()) == NULL)
			fatal("forgejo: tls_config_new");
		if (tls_config_set_ca_mem(fj.tls_config, ca, calen) == -1)
			fatalx("forgejo: %s: %s", cafile,
			    tls_config_error(fj.tls_config));
		tls_unload_file(ca, calen);
	} else if (strcmp(fj.host, "localhost") != 0 &&
	    strncmp(fj.host, "127.", 4) != 0 && strcmp(fj.host, "::1") != 0)
		log_warnx("forgejo: %s is not https: tokens would cross the "
		    "network in clear", fj.base);
	fj.ready = 1;
	log_debug("forgejo: %s, redirect uri %s", fj.base, fj.redirect_uri);
}

/* regress only: a bound shorter than FORGEJO_TIMEOUT; 0 restores it. */
void
forgejo_set_timeout(int seconds)
{
	fj_timeout = seconds > 0 ? seconds : FORGEJO_TIMEOUT;
}

/* A string of the configuration: terminated, and it must fit. */
static void
fj_copy(char *dst, size_t dstsz, const char *src, size_t srcsz,
    const char *what)
{
	if (strnlen(src, srcsz) == srcsz || strlcpy(dst, src, dstsz) >= dstsz)
		fatalx("forgejo: %s too long", what);
}

/*
 * scheme://host[:port][/base/path], no user info, query nor fragment;
 * host is a name, an IPv4 address or an IPv6 address in brackets.
 */
static const char *
fj_parse_url(const char *url)
{
	const char	*p, *end, *h, *he, *q, *errstr;
	char		 a6[sizeof(struct in6_addr)];
	size_t		 n;
	int		 ret;

	if (strncasecmp(url, "https://", 8) == 0) {
		fj.tls = 1;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else
		return "scheme is not http or https";
	(void)strlcpy(fj.port, fj.tls ? "443" : "80", sizeof(fj.port));
	for (q = url; *q != '\0'; q++)
		if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f ||
		    strchr("?#@\\\"<>`{}|^", *q) != NULL)
			return "forbidden character";

	end = p + strcspn(p, "/");
	if (*p == '[') {
		h = p + 1;
		if ((he = memchr(h, ']', end - h)) == NULL)
			return "unterminated ipv6 address";
		q = he + 1;
	} else {
		h = p;
		q = he = p + strcspn(p, ":/");
		if (strspn(h, FJ_HOST_CHARS) < (size_t)(he - h))
			return "bad host name";
	}
	if ((n = he - h) == 0 || n >= sizeof(fj.host))
		return "bad host";
	memcpy(fj.host, h, n);
	fj.host[n] = '\0';
	if (*p == '[' && inet_pton(AF_INET6, fj.host, a6) != 1)
		return "bad ipv6 address";
	if (q < end) {
		if (*q++ != ':' || (n = end - q) == 0 ||
		    n >= sizeof(fj.port) || strspn(q, "0123456789") < n)
			return "bad port";
		memcpy(fj.port, q, n);
		fj.port[n] = '\0';
		(void)strtonum(fj.port, 1, 65535, &errstr);
		if (errstr != NULL)
			return "bad port";
	}
	if ((n = end - p) >= sizeof(fj.authority))
		return "host too long";
	memcpy(fj.authority, p, n);
	fj.authority[n] = '\0';

	/* The base path, without trailing slashes. */
	n = strlen(end);
	while (n > 0 && end[n - 1] == '/')
		n--;
	memcpy(fj.path, end, n);	/* shorter than url */
	fj.path[n] = '\0';
	ret = snprintf(fj.base, sizeof(fj.base), "%s://%s%s",
	    fj.tls ? "https" : "http", fj.authority, fj.path);
	if (ret < 0 || (size_t)ret >= sizeof(fj.base))
		return "too long";
	return NULL;
}

/* Append n bytes, NUL-terminated; with b->p == NULL, only measure. */
static void
fj_put(struct fj_buf *b, const char *s, size_t n)
{
	size_t	 room;

	if (b->p != NULL && b->len + 1 < b->size) {
		room = b->size - b->len - 1;
		memcpy(b->p + b->len, s, n < room ? n : room);
	}
	b->len += n;
	if (b->p != NULL && b->size > 0)
		b->p[b->len < b->size ? b->len : b->size - 1] = '\0';
}

static void
fj_str(struct fj_buf *b, const char *s)
{
	fj_put(b, s, strlen(s));
}

/* Percent-encode all but RFC 3986's unreserved characters. */
static void
fj_enc(struct fj_buf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 e[3];

	for (; *s != '\0'; s++) {
		if (strchr(FJ_HOST_CHARS "_~", *s) != NULL) {
			fj_put(b, s, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[(unsigned char)*s >> 4];
		e[2] = hex[(unsigned char)*s & 0xf];
		fj_put(b, e, 3);
	}
}

/* kv: name, value, name, value, ..., NULL */
static void
fj_form(struct fj_buf *b, const char *const *kv)
{
	const char *const	*first = kv;

	for (; kv[0] != NULL; kv += 2) {
		if (kv != first)
			fj_str(b, "&");
		fj_enc(b, kv[0]);
		fj_str(b, "=");
		fj_enc(b, kv[1]);
	}
}

/* Tokens go into headers: 1 to max - 1 bytes of visible ASCII. */
static int
fj_visible(const char *s, size_t len, size_t max)
{
	size_t	 i;

	if (s == NULL || len == 0 || len >= max)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Our log messages are lowercase; so are the system's, through here. */
static const char *
fj_lower(const char *s, char *buf, size_t len)
{
	(void)strlcpy(buf, s, len);
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] += 'a' - 'A';
	return buf;
}

int
forgejo_authorize_url(char *buf, size_t len, const char *state,
    const char *challenge)
{
	struct fj_buf	 b = { buf, len, 0 };

	if (!fj.ready)
		fatalx("%s: forgejo_init was not called", __func__);
	fj_str(&b, fj.base);
	fj_str(&b, "/login/oauth/authorize?client_id=");
	fj_enc(&b, fj.client_id);
	fj_str(&b, "&redirect_uri=");
	fj_enc(&b, fj.redirect_uri);
	fj_str(&b, "&response_type=code&state=");
	fj_enc(&b, state);
	fj_str(&b, "&code_challenge=");
	fj_enc(&b, challenge);
	fj_str(&b, "&code_challenge_method=S256");
	if (fj.scope[0] != '\0') {
		fj_str(&b, "&scope=");
		fj_enc(&b, fj.scope);
	}
	if (b.len < len)
		return 0;
	if (len > 0)
		buf[0] = '\0';
	return -1;
}

/* client_secret_post, as Forgejo documents it. */
void
forgejo_exchange_code(const char *code, const char *verifier,
    forgejo_tokens_cb cb, void *arg)
{
	const char	*form[] = { "grant_type", "authorization_code",
	    "code", code, "redirect_uri", fj.redirect_uri,
	    "code_verifier", verifier, "client_id", fj.client_id,
	    "client_secret", fj_secret, NULL };

	fj_tokens(form, cb, arg);
}

void
forgejo_refresh(const char *refresh_token, forgejo_tokens_cb cb, void *arg)
{
	const char	*form[] = { "grant_type", "refresh_token",
	    "refresh_token", refresh_token, "client_id", fj.client_id,
	    "client_secret", fj_secret, NULL };

	fj_tokens(form, cb, arg);
}

static void
fj_tokens(const char *const *form, forgejo_tokens_cb cb, void *arg)
{
	struct fj_req	*r;

	r = fj_new("POST", "/login/oauth/access_token");
	r->tokens_cb = cb;
	r->arg = arg;
	fj_start(r, NULL, form);
}

void
forgejo_get_user(const char *access_token, forgejo_user_cb cb, void *arg)
{
	struct fj_req	*r;

	r = fj_new("GET", "/api/v1/user");
	r->user_cb = cb;
	r->arg = arg;
	if (!fj_visible(access_token, strlen(access_token),
	    FORGEJO_TOKEN_MAX)) {
		log_warnx("forgejo: %s %s: malformed token not sent",
		    r->method, r->path);
		fj_finish(r, FORGEJO_REFUSED);
		return;
	}
	fj_start(r, access_token, NULL);
}

const char *
forgejo_result_str(enum forgejo_result result)
{
	static const char *const names[] = {
		"ok", "refused", "unavailable", "bad answer"
	};

	if ((size_t)result >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[result];
}

static struct fj_req *
fj_new(const char *method, const char *endpoint)
{
	struct fj_req	*r;

	if (!fj.ready)
		fatalx("%s: forgejo_init was not called", __func__);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("%s", __func__);
	r->method = method;
	(void)snprintf(r->path, sizeof(r->path), "%s%s", fj.path, endpoint);
	r->fd = -1;
	r->clen = -1;
	evtimer_set(&r->timer, fj_timer, r);
	return r;
}

/* Build the request, arm the timer, resolve and connect. */
static void
fj_start(struct fj_req *r, const char *token, const char *const *form)
{
	struct fj_buf	 b = { NULL, 0, 0 };
	struct addrinfo	 hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct timeval	 tv = { fj_timeout, 0 };
	char		 clen[32], msg[128];
	int		 pass, error;

	if (form != NULL)
		fj_form(&b, form);
	(void)snprintf(clen, sizeof(clen), "%zu", b.len);
	/* Measure, then write in place: no copy of a secret is made. */
	for (pass = 0; pass < 2; pass++) {
		b.p = r->out;
		b.size = r->outcap;
		b.len = 0;
		fj_str(&b, r->method);
		fj_str(&b, " ");
		fj_str(&b, r->path);
		fj_str(&b, " HTTP/1.0\r\nHost: ");
		fj_str(&b, fj.authority);
		fj_str(&b, "\r\nConnection: close\r\n"
		    "Accept: application/json\r\nUser-Agent: brokerd\r\n");
		if (token != NULL) {
			fj_str(&b, "Authorization: token ");
			fj_str(&b, token);
			fj_str(&b, "\r\n");
		}
		if (form != NULL) {
			fj_str(&b, "Content-Type: application/"
			    "x-www-form-urlencoded\r\nContent-Length: ");
			fj_str(&b, clen);
			fj_str(&b, "\r\n\r\n");
			fj_form(&b, form);
		} else
			fj_str(&b, "\r\n");
		if (pass == 0) {
			r->outcap = b.len + 1;
			if ((r->out = malloc(r->outcap)) == NULL)
				fatal("%s", __func__);
		}
	}
	r->outlen = b.len;
	evtimer_add(&r->timer, &tv);

	/*
	 * This blocks the event loop: there is no asynchronous resolver
	 * we may use in the sandbox.  It is one name, a few lookups an
	 * hour, bounded by the resolver's own timeouts.
	 */
	if ((error = getaddrinfo(fj.host, fj.port, &hints, &r->res)) != 0) {
		log_warnx("forgejo: %s: %s", fj.host, fj_lower(error ==
		    EAI_SYSTEM ? strerror(errno) : gai_strerror(error), msg,
		    sizeof(msg)));
		fj_finish(r, FORGEJO_UNAVAILABLE);
		return;
	}
	r->ai = r->res;
	fj_connect(r);
}

/* Try each address in turn until one accepts the connection. */
static void
fj_connect(struct fj_req *r)
{
	for (; r->ai != NULL; r->ai = r->ai->ai_next) {
		if (getnameinfo(r->ai->ai_addr, r->ai->ai_addrlen, r->addr,
		    sizeof(r->addr), NULL, 0, NI_NUMERICHOST) != 0)
			(void)strlcpy(r->addr, fj.host, sizeof(r->addr));
		if ((r->fd = socket(r->ai->ai_family, SOCK_STREAM |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, r->ai->ai_protocol)) == -1) {
			fj_connect_failed(r, errno);
			continue;
		}
		if (connect(r->fd, r->ai->ai_addr, r->ai->ai_addrlen) == 0) {
			fj_connected(r);
			return;
		}
		if (errno == EINPROGRESS || errno == EINTR) {
			r->state = FJ_CONNECT;
			fj_wait(r, EV_WRITE);
			return;
		}
		fj_connect_failed(r, errno);
	}
	fj_finish(r, FORGEJO_UNAVAILABLE);
}

static void
fj_connect_failed(struct fj_req *r, int error)
{
	char	 msg[128];

	log_warnx("forgejo: connect to %s port %s: %s", r->addr, fj.port,
	    fj_lower(strerror(error), msg, sizeof(msg)));
	if (r->ev_added)
		event_del(&r->ev);
	r->ev_added = 0;
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
}

static void
fj_connected(struct fj_req *r)
{
	freeaddrinfo(r->res);
	r->res = r->ai = NULL;
	r->state = FJ_WRITE;
	if (!fj.tls) {
		fj_write(r);
		return;
	}
	/* The handshake happens in the first tls_write(). */
	if ((r->tls = tls_client()) == NULL)
		fatal("%s: tls_client", __func__);
	if (tls_configure(r->tls, fj.tls_config) == -1 ||
	    tls_connect_socket(r->tls, r->fd, fj.host) == -1) {
		log_warnx("forgejo: tls to %s: %s", fj.host,
		    tls_error(r->tls));
		fj_finish(r, FORGEJO_UNAVAILABLE);
		return;
	}
	fj_write(r);
}

static void
fj_wait(struct fj_req *r, short what)
{
	if (r->ev_added)
		event_del(&r->ev);
	event_set(&r->ev, r->fd, what, fj_io, r);
	event_add(&r->ev, NULL);	/* r->timer bounds every wait */
	r->ev_added = 1;
}

static void
fj_io(int fd, short event, void *arg)
{
	struct fj_req	*r = arg;
	socklen_t	 len = sizeof(int);
	int		 error;

	r->ev_added = 0;
	if (r->state == FJ_CONNECT) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
			error = errno;
		if (error == 0) {
			fj_connected(r);
			return;
		}
		fj_connect_failed(r, error);
		r->ai = r->ai->ai_next;
		fj_connect(r);
	} else if (r->state == FJ_WRITE)
		fj_write(r);
	else if (r->state == FJ_READ)
		fj_read(r);
}

/*
 * Move bytes over TLS or TCP.  Returns their number, 0 at the end of
 * the answer, or -1 when the request waits for the socket or failed.
 */
static ssize_t
fj_xfer(struct fj_req *r, int out, char *buf, size_t len)
{
	char		 msg[128];
	const char	*why;
	ssize_t		 n;

	if (r->tls != NULL) {
		n = out ? tls_write(r->tls, buf, len) :
		    tls_read(r->tls, buf, len);
		if (n == TLS_WANT_POLLIN || n == TLS_WANT_POLLOUT) {
			fj_wait(r, n == TLS_WANT_POLLIN ? EV_READ : EV_WRITE);
			return -1;
		}
		why = tls_error(r->tls);
	} else {
		while ((n = out ? write(r->fd, buf, len) :
		    read(r->fd, buf, len)) == -1 && errno == EINTR)
			;
		if (n == -1 && errno == EAGAIN) {
			fj_wait(r, out ? EV_WRITE : EV_READ);
			return -1;
		}
		why = fj_lower(strerror(errno), msg, sizeof(msg));
	}
	if (n >= 0)
		return n;
	log_warnx("forgejo: %s %s: %s %s port %s: %s", r->method, r->path,
	    out ? "sending to" : "reading from", r->addr, fj.port,
	    why != NULL ? why : "tls failure");
	fj_finish(r, FORGEJO_UNAVAILABLE);
	return -1;
}

static void
fj_write(struct fj_req *r)
{
	ssize_t	 n;

	while (r->outoff < r->outlen) {
		if ((n = fj_xfer(r, 1, r->out + r->outoff,
		    r->outlen - r->outoff)) == -1)
			return;
		r->outoff += n;
	}
	/* Sent: the secrets of the request are no longer needed. */
	freezero(r->out, r->outcap);
	r->out = NULL;
	r->state = FJ_READ;
	fj_read(r);
}

static void
fj_read(struct fj_req *r)
{
	ssize_t	 n;
	size_t	 cap;
	char	*p;

	for (;;) {
		/* Room for one byte more than allowed, and a NUL. */
		if (r->incap - r->inlen < 2) {
			cap = r->incap == 0 ? FJ_BUF_INIT : r->incap * 2;
			if (cap > FORGEJO_ANSWER_MAX + 2)
				cap = FORGEJO_ANSWER_MAX + 2;
			if ((p = recallocarray(r->in, r->incap, cap, 1)) ==
			    NULL)
				fatal("%s", __func__);
			r->in = p;
			r->incap = cap;
		}
		n = fj_xfer(r, 0, r->in + r->inlen, r->incap - r->inlen - 1);
		if (n == -1)
			return;
		if (n == 0) {
			fj_answer(r);
			return;
		}
		if ((r->inlen += n) > FORGEJO_ANSWER_MAX) {
			r->bad = "answer too large";
			fj_answer(r);
			return;
		}
		if (fj_headers(r)) {
			fj_answer(r);
			return;
		}
	}
}

/* The value of a header, or NULL; hdrs is the NUL-terminated block. */
static const char *
fj_header(const char *hdrs, const char *name)
{
	size_t	 n = strlen(name);

	while ((hdrs = strstr(hdrs, "\r\n")) != NULL) {
		hdrs += 2;
		if (strncasecmp(hdrs, name, n) == 0 && hdrs[n] == ':')
			return hdrs + n + 1 + strspn(hdrs + n + 1, " \t");
	}
	return NULL;
}

/*
 * Parse the status line and the headers we need once they are in.
 * Returns 1 when there is no need to read on: the headers are bad, or
 * the Content-Length bytes of the body are in.
 */
static int
fj_headers(struct fj_req *r)
{
	const char	*h = r->in, *v;
	char		*end;
	size_t		 n;

	if (r->hdrlen == 0) {
		if ((end = memmem(r->in, r->inlen, "\r\n\r\n", 4)) == NULL)
			return 0;
		r->hdrlen = end + 4 - r->in;
		end[2] = '\0';		/* the last line keeps its CRLF */
		if (memchr(h, '\0', r->hdrlen - 2) != NULL ||
		    strncmp(h, "HTTP/1.", 7) != 0 ||
		    (h[7] != '0' && h[7] != '1') || h[8] != ' ' ||
		    strspn(h + 9, "0123456789") != 3 ||
		    (h[12] != ' ' && h[12] != '\r'))
			r->bad = "malformed status line";
		else if (fj_header(h, "Transfer-Encoding") != NULL)
			r->bad = "transfer-encoding in an answer to http/1.0";
		else if ((v = fj_header(h, "Content-Length")) != NULL) {
			n = strspn(v, "0123456789");
			if (n == 0 || n > 7 || v[n + strspn(v + n, " \t")] !=
			    '\r' || (r->clen = strtoll(v, NULL, 10)) >
			    FORGEJO_ANSWER_MAX)
				r->bad = "bad content-length";
		}
		if (r->bad != NULL)
			return 1;
		r->status = (int)strtol(h + 9, NULL, 10);
	}
	return r->clen != -1 &&
	    r->inlen - r->hdrlen >= (unsigned long long)r->clen;
}

/* The whole answer is in, or the server closed the connection. */
static void
fj_answer(struct fj_req *r)
{
	json_error_t	 error;
	json_t		*o;
	size_t		 len;

	if (r->inlen == 0) {
		log_warnx("forgejo: %s %s: connection closed without an "
		    "answer", r->method, r->path);
		fj_finish(r, FORGEJO_UNAVAILABLE);
		return;
	}
	if (r->bad == NULL && r->hdrlen == 0)
		r->bad = "truncated headers";
	else if (r->bad == NULL && r->clen != -1 &&
	    r->inlen - r->hdrlen < (unsigned long long)r->clen)
		r->bad = "truncated body";
	if (r->bad != NULL) {
		fj_bad(r, r->bad);
		return;
	}
	log_debug("forgejo: %s %s: %d", r->method, r->path, r->status);
	if (r->status >= 500 || r->status == 408 || r->status == 429) {
		log_warnx("forgejo: %s %s: status %d", r->method, r->path,
		    r->status);
		fj_finish(r, FORGEJO_UNAVAILABLE);
		return;
	}
	/* jansson's messages may quote the answer: they are not logged. */
	len = r->clen != -1 ? (size_t)r->clen : r->inlen - r->hdrlen;
	o = json_loadb(r->in + r->hdrlen, len, JSON_REJECT_DUPLICATES,
	    &error);
	if (r->status == 200 && !json_is_object(o))
		fj_bad(r, "not a json object");
	else if (r->tokens_cb != NULL)
		fj_tokens_answer(r, json_is_object(o) ? o : NULL);
	else
		fj_user_answer(r, json_is_object(o) ? o : NULL);
	if (o != NULL) {
		fj_json_wipe(o);
		json_decref(o);
	}
}

static void
fj_tokens_answer(struct fj_req *r, json_t *o)
{
	json_t		*at, *rt, *ex, *e;
	json_int_t	 expires = FJ_EXPIRES_DEFAULT;

	if (r->status >= 400 && r->status < 500) {
		/* RFC 6749 5.2; Forgejo answers 400 to all of them. */
		e = json_object_get(o, "error");
		if (!fj_visible(json_string_value(e), json_string_length(e),
		    sizeof(r->error))) {
			fj_bad(r, "no oauth error");
			return;
		}
		(void)strlcpy(r->error, json_string_value(e),
		    sizeof(r->error));
		log_debug("forgejo: %s %s: refused: %s", r->method, r->path,
		    r->error);
		fj_finish(r, FORGEJO_REFUSED);
		return;
	}
	if (r->status != 200) {
		fj_bad(r, "unexpected status");
		return;
	}
	at = json_object_get(o, "access_token");
	rt = json_object_get(o, "refresh_token");
	ex = json_object_get(o, "expires_in");
	if (!fj_visible(json_string_value(at), json_string_length(at),
	    FORGEJO_TOKEN_MAX) || !fj_visible(json_string_value(rt),
	    json_string_length(rt), FORGEJO_TOKEN_MAX)) {
		fj_bad(r, "no valid access_token and refresh_token");
		return;
	}
	if (ex != NULL && (!json_is_integer(ex) ||
	    (expires = json_integer_value(ex)) <= 0 ||
	    expires > FJ_EXPIRES_MAX)) {
		fj_bad(r, "bad expires_in");
		return;
	}
	if ((r->tokens = calloc(1, sizeof(*r->tokens))) == NULL)
		fatal("%s", __func__);
	(void)strlcpy(r->tokens->access_token, json_string_value(at),
	    sizeof(r->tokens->access_token));
	(void)strlcpy(r->tokens->refresh_token, json_string_value(rt),
	    sizeof(r->tokens->refresh_token));
	r->tokens->expires_at = (int64_t)time(NULL) + expires;
	fj_finish(r, FORGEJO_OK);
}

static void
fj_user_answer(struct fj_req *r, json_t *o)
{
	json_t		*id, *login;

	if (r->status == 401 || r->status == 403) {
		log_debug("forgejo: %s %s: refused", r->method, r->path);
		fj_finish(r, FORGEJO_REFUSED);
		return;
	}
	if (r->status != 200) {
		fj_bad(r, "unexpected status");
		return;
	}
	id = json_object_get(o, "id");
	login = json_object_get(o, "login");
	if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
	    !fj_visible(json_string_value(login), json_string_length(login),
	    sizeof(r->user.login))) {
		fj_bad(r, "no valid id and login");
		return;
	}
	r->user.id = json_integer_value(id);
	(void)strlcpy(r->user.login, json_string_value(login),
	    sizeof(r->user.login));
	fj_finish(r, FORGEJO_OK);
}

/* Clear every string of a parsed answer before jansson frees it. */
static void
fj_json_wipe(json_t *j)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	if (json_is_string(j))
		explicit_bzero((char *)(uintptr_t)json_string_value(j),
		    json_string_length(j));
	else if (json_is_object(j)) {
		json_object_foreach(j, key, v)
			fj_json_wipe(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			fj_json_wipe(v);
	}
}

static void
fj_bad(struct fj_req *r, const char *why)
{
	if (r->hdrlen != 0 && r->status != 0)
		log_warnx("forgejo: %s %s: status %d: %s", r->method,
		    r->path, r->status, why);
	else
		log_warnx("forgejo: %s %s: %s", r->method, r->path, why);
	fj_finish(r, FORGEJO_BAD_ANSWER);
}

/* Release the connection and every buffer but the result. */
static void
fj_close(struct fj_req *r)
{
	if (r->ev_added)
		event_del(&r->ev);
	r->ev_added = 0;
	if (r->tls != NULL) {
		(void)tls_close(r->tls);
		tls_free(r->tls);
		r->tls = NULL;
	}
	if (r->fd != -1)
		close(r->fd);
	r->fd = -1;
	if (r->res != NULL)
		freeaddrinfo(r->res);
	r->res = r->ai = NULL;
	freezero(r->out, r->outcap);
	freezero(r->in, r->incap);
	r->out = r->in = NULL;
	r->inlen = r->incap = 0;
}

/* Done: the callback runs from the timer, on the next loop turn. */
static void
fj_finish(struct fj_req *r, enum forgejo_result result)
{
	struct timeval	 tv = { 0, 0 };

	fj_close(r);
	r->result = result;
	r->state = FJ_DONE;
	evtimer_del(&r->timer);
	evtimer_add(&r->timer, &tv);
}

static void
fj_timer(int fd, short event, void *arg)
{
	struct fj_req	*r = arg;

	if (r->state != FJ_DONE) {
		log_warnx("forgejo: %s %s: timed out after %ds", r->method,
		    r->path, fj_timeout);
		fj_close(r);
		r->result = FORGEJO_UNAVAILABLE;
	}
	if (r->tokens_cb != NULL)
		r->tokens_cb(r->result, r->error,
		    r->result == FORGEJO_OK ? r->tokens : NULL, r->arg);
	else
		r->user_cb(r->result,
		    r->result == FORGEJO_OK ? &r->user : NULL, r->arg);
	if (r->tokens != NULL)
		freezero(r->tokens, sizeof(*r->tokens));
	freezero(r, sizeof(*r));
}
