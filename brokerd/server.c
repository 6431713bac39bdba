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
 * The http process: the only one that talks to the network.  It is
 * configured by the parent, then chroots, drops privileges and applies
 * its sandbox before it accepts a single connection.  From then on it
 * opens no file; everything it knows comes over imsg.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <jansson.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <tls.h>
#include <unistd.h>

#include "brokerd.h"
#include "http.h"
#include "log.h"
#include "proc.h"
#include "sandbox.h"

#define SERVER_MAX_CONNS	1024
#define SERVER_READ_CHUNK	16384
#define SERVER_ACCEPT_PAUSE	1	/* seconds, when out of descriptors */

struct listener {
	TAILQ_ENTRY(listener)	 entry;
	int			 fd;
	int			 tls;
	struct cfg_listen	 cfg;
	struct event		 ev;
};
TAILQ_HEAD(, listener)		 listeners = TAILQ_HEAD_INITIALIZER(listeners);

struct http_env		 http_env;

static void	 http_dispatch_parent(int, short, void *);
static void	 http_configure(void);
static void	 http_sig(int, short, void *);
static void	 server_accept(int, short, void *);
static void	 server_accept_pause(void);
static void	 server_accept_resume(int, short, void *);
static void	 conn_ev(int, short, void *);
static void	 conn_timeout(int, short, void *);
static int	 conn_fill(struct conn *);
static int	 conn_flush(struct conn *);
static void	 conn_parse(struct conn *);
static void	 conn_update(struct conn *);
static void	 conn_arm_timer(struct conn *, int);

static struct {
	char	*cert;
	size_t	 certlen;
	char	*key;
	size_t	 keylen;
} tlsbuf;
static struct tls	*tls_ctx;
static struct event	 ev_accept_pause;
static uint32_t		 conn_nextid = 1;

/* The body limit is mcp max message; see http_configure(). */
static struct http_limits server_limits = {
	HTTP_MAX_REQUEST_LINE, HTTP_MAX_HEADER_BYTES, HTTP_MAX_HEADERS,
	HTTP_MAX_BODY
};

void
http_main(int debug, int verbose)
{
	struct event	 ev_sigint, ev_sigterm;

	log_init(debug, LOG_DAEMON);
	log_setverbose(verbose);
	log_procinit("http");
	setproctitle("http");
	proc_child_signals();
	TAILQ_INIT(&http_env.conns);

	event_init();
	signal_set(&ev_sigint, SIGINT, http_sig, NULL);
	signal_set(&ev_sigterm, SIGTERM, http_sig, NULL);
	signal_add(&ev_sigint, NULL);
	signal_add(&ev_sigterm, NULL);
	http_env.iev[PROC_PARENT] = proc_channel(PROC_PARENT_FD, "parent", 1,
	    http_dispatch_parent, NULL);
	event_dispatch();
	fatalx("event loop ended");
}

static void
http_sig(int sig, short event, void *arg)
{
	log_debug("exiting on signal %d", sig);
	exit(0);
}

static void
tlsbuf_append(char **buf, size_t *len, struct imsg *imsg)
{
	size_t	 n = imsg_get_len(imsg);
	char	*p;

	if (*len + n > 1024 * 1024)
		fatalx("tls file too large");
	if ((p = realloc(*buf, *len + n + 1)) == NULL)
		fatal("%s", __func__);
	if (imsg_get_buf(imsg, p + *len, n) == -1)
		fatal("%s: imsg_get_buf", __func__);
	*len += n;
	p[*len] = '\0';
	*buf = p;
}

static void
http_add_listener(struct imsg *imsg)
{
	struct listener	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("%s", __func__);
	if (imsg_get_data(imsg, &l->cfg, sizeof(l->cfg)) == -1)
		fatalx("%s: bad IMSG_CFG_LISTEN", __func__);
	l->cfg.addr[sizeof(l->cfg.addr) - 1] = '\0';
	if ((l->fd = imsg_get_fd(imsg)) == -1)
		fatalx("%s: IMSG_CFG_LISTEN without a socket", __func__);
	l->tls = l->cfg.tls;
	TAILQ_INSERT_TAIL(&listeners, l, entry);
}

static void
http_add_origin(struct imsg *imsg)
{
	char	 origin[PROTO_URL_MAX];

	if (http_env.norigins >= HTTP_ORIGINS_MAX ||
	    imsg_get_strbuf(imsg, origin, sizeof(origin)) == -1)
		fatalx("%s: bad IMSG_CFG_ORIGIN", __func__);
	if ((http_env.origins[http_env.norigins++] = strdup(origin)) == NULL)
		fatal("%s", __func__);
}

static void
http_dispatch_parent(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;

	if (proc_channel_io(iev, event) == -1) {
		log_debug("parent closed the channel, exiting");
		exit(0);
	}
	while (proc_imsg_next(iev, &imsg)) {
		if (http_env.configured)
			fatalx("%s: imsg %u after configuration", __func__,
			    imsg_get_type(&imsg));
		switch (imsg_get_type(&imsg)) {
		case IMSG_CTL_PROCFD:
			proc_add_peer(&imsg, http_env.iev,
			    PROC_MASK(PROC_TOKEND) | PROC_MASK(PROC_SPAWND),
			    PROC_MASK(PROC_SPAWND), http_dispatch_peer);
			break;
		case IMSG_CFG_HTTP:
			if (imsg_get_data(&imsg, &http_env.cfg,
			    sizeof(http_env.cfg)) == -1)
				fatalx("%s: bad IMSG_CFG_HTTP", __func__);
			http_env.cfg.public_url[
			    sizeof(http_env.cfg.public_url) - 1] = '\0';
			http_env.cfg.chroot[sizeof(http_env.cfg.chroot) - 1] =
			    '\0';
			break;
		case IMSG_CFG_LISTEN:
			http_add_listener(&imsg);
			break;
		case IMSG_CFG_ORIGIN:
			http_add_origin(&imsg);
			break;
		case IMSG_CFG_TLS_CERT:
			tlsbuf_append(&tlsbuf.cert, &tlsbuf.certlen, &imsg);
			break;
		case IMSG_CFG_TLS_KEY:
			tlsbuf_append(&tlsbuf.key, &tlsbuf.keylen, &imsg);
			break;
		case IMSG_CFG_DONE:
			http_configure();
			break;
		default:
			fatalx("%s: unexpected imsg %u", __func__,
			    imsg_get_type(&imsg));
		}
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

static void
http_tls_init(void)
{
	struct tls_config	*tc;

	if (tlsbuf.cert == NULL)
		return;
	if (tls_init() == -1)
		fatalx("tls_init");
	if ((tc = tls_config_new()) == NULL)
		fatalx("tls_config_new");
	if (tls_config_set_protocols(tc, TLS_PROTOCOL_TLSv1_2 |
	    TLS_PROTOCOL_TLSv1_3) == -1 ||
	    tls_config_set_keypair_mem(tc, (uint8_t *)tlsbuf.cert,
	    tlsbuf.certlen, (uint8_t *)tlsbuf.key, tlsbuf.keylen) == -1)
		fatalx("tls configuration: %s", tls_config_error(tc));
	if ((tls_ctx = tls_server()) == NULL)
		fatalx("tls_server");
	if (tls_configure(tls_ctx, tc) == -1)
		fatalx("tls_configure: %s", tls_error(tls_ctx));
	/* The key now lives in the context only. */
	tls_config_clear_keys(tc);
	tls_config_free(tc);
	freezero(tlsbuf.key, tlsbuf.keylen + 1);
	free(tlsbuf.cert);
	tlsbuf.key = tlsbuf.cert = NULL;
}

/*
 * Everything that needs a file or root happens here, before the
 * sandbox: the TLS context, jansson's hash seed, the chroot.
 */
static void
http_configure(void)
{
	struct privdrop	 pd;
	struct listener	*l;

	if (http_env.iev[PROC_TOKEND] == NULL ||
	    http_env.iev[PROC_SPAWND] == NULL)
		fatalx("configured without peers");
	http_tls_init();
	TAILQ_FOREACH(l, &listeners, entry)
		if (l->tls && tls_ctx == NULL)
			fatalx("tls listener without a certificate");
	json_object_seed(arc4random());
	oauth_init();
	server_limits.max_body = http_env.cfg.max_message;

	pd.uid = http_env.cfg.uid;
	pd.gid = http_env.cfg.gid;
	pd.chroot = http_env.cfg.chroot[0] != '\0' ? http_env.cfg.chroot :
	    NULL;
	proc_privdrop(&pd);
	sandbox_http();

	TAILQ_FOREACH(l, &listeners, entry) {
		event_set(&l->ev, l->fd, EV_READ | EV_PERSIST, server_accept,
		    l);
		event_add(&l->ev, NULL);
	}
	evtimer_set(&ev_accept_pause, server_accept_resume, NULL);
	http_env.configured = 1;
	if (imsg_compose_event(http_env.iev[PROC_PARENT], IMSG_CTL_READY, 0,
	    -1, NULL, 0) == -1)
		fatal("imsg_compose");
	log_debug("serving, uid %u", (unsigned)geteuid());
}

/*
 * A peer's channel carries the answers to requests made on behalf of a
 * connection; peerid names the connection.
 */
void
http_dispatch_peer(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	struct imsg	 imsg;
	struct conn	*c;

	if (proc_channel_io(iev, event) == -1) {
		log_warnx("%s closed its channel, exiting", iev->name);
		exit(1);
	}
	while (proc_imsg_next(iev, &imsg)) {
		c = conn_byid(imsg_get_id(&imsg));
		http_answer(iev == http_env.iev[PROC_TOKEND] ? PROC_TOKEND :
		    PROC_SPAWND, c, &imsg);
		imsg_free(&imsg);
	}
	imsg_event_add(iev);
}

struct conn *
conn_byid(uint32_t id)
{
	struct conn	*c;

	TAILQ_FOREACH(c, &http_env.conns, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static void
server_accept_pause(void)
{
	struct listener	*l;
	struct timeval	 tv = { SERVER_ACCEPT_PAUSE, 0 };

	TAILQ_FOREACH(l, &listeners, entry)
		event_del(&l->ev);
	evtimer_add(&ev_accept_pause, &tv);
}

static void
server_accept_resume(int fd, short event, void *arg)
{
	struct listener	*l;

	if (http_env.nconns >= SERVER_MAX_CONNS) {
		server_accept_pause();
		return;
	}
	TAILQ_FOREACH(l, &listeners, entry)
		event_add(&l->ev, NULL);
}

static void
server_accept(int fd, short event, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	struct conn		*c;
	int			 s;

	if ((s = accept4(fd, (struct sockaddr *)&ss, &sslen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			log_warn("accept");
			server_accept_pause();
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->in = evbuffer_new()) == NULL ||
	    (c->out = evbuffer_new()) == NULL) {
		log_warn("%s", __func__);
		if (c != NULL) {
			if (c->in != NULL)
				evbuffer_free(c->in);
			free(c);
		}
		close(s);
		return;
	}
	c->fd = s;
	c->id = conn_nextid++;
	if (conn_nextid == 0)
		conn_nextid = 1;
	if (getnameinfo((struct sockaddr *)&ss, sslen, c->peer,
	    sizeof(c->peer), NULL, 0, NI_NUMERICHOST) != 0)
		strlcpy(c->peer, "unknown", sizeof(c->peer));
	if (l->tls && tls_accept_socket(tls_ctx, &c->tls, s) == -1) {
		log_warnx("%s: tls accept: %s", c->peer,
		    tls_error(tls_ctx));
		evbuffer_free(c->in);
		evbuffer_free(c->out);
		free(c);
		close(s);
		return;
	}
	TAILQ_INSERT_TAIL(&http_env.conns, c, entry);
	if (++http_env.nconns >= SERVER_MAX_CONNS) {
		log_warnx("%d connections, not accepting more for now",
		    http_env.nconns);
		server_accept_pause();
	}
	evtimer_set(&c->ev_timer, conn_timeout, c);
	event_set(&c->ev, c->fd, 0, conn_ev, c);
	c->state = CONN_READING;
	conn_arm_timer(c, HTTP_IDLE_TIMEOUT);
	conn_update(c);
}

void
conn_close(struct conn *c)
{
	event_del(&c->ev);
	evtimer_del(&c->ev_timer);
	if (c->tls != NULL) {
		/* Best effort: a peer that does not read gets no notify. */
		(void)tls_close(c->tls);
		tls_free(c->tls);
	}
	close(c->fd);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	free(c->body);
	http_conn_cleanup(c);
	TAILQ_REMOVE(&http_env.conns, c, entry);
	http_env.nconns--;
	free(c);
}

static void
conn_arm_timer(struct conn *c, int seconds)
{
	struct timeval	 tv = { seconds, 0 };

	evtimer_del(&c->ev_timer);
	if (seconds > 0)
		evtimer_add(&c->ev_timer, &tv);
}

/*
 * A client that is slow to send its request gets 408; an idle
 * keep-alive connection is simply closed.
 */
static void
conn_timeout(int fd, short event, void *arg)
{
	struct conn	*c = arg;

	if (c->state == CONN_READING && EVBUFFER_LENGTH(c->in) > 0) {
		log_info("%s: request timeout", c->peer);
		c->keepalive = 0;
		c->req.method = HTTP_METHOD_NONE;
		c->req.path = NULL;
		conn_error(c, 408, "request timeout");
		return;
	}
	log_debug("%s: idle timeout", c->peer);
	conn_close(c);
}

/* Register interest in what the connection can do next. */
static void
conn_update(struct conn *c)
{
	short	 events = 0;

	if (c->want_write || EVBUFFER_LENGTH(c->out) > 0)
		events |= EV_WRITE;
	if (c->want_read || c->state == CONN_READING ||
	    c->state == CONN_STREAMING)
		events |= EV_READ;
	event_del(&c->ev);
	if (events == 0)
		return;
	event_set(&c->ev, c->fd, events, conn_ev, c);
	event_add(&c->ev, NULL);
}

static void
conn_ev(int fd, short event, void *arg)
{
	struct conn	*c = arg;

	c->want_read = c->want_write = 0;
	if (conn_flush(c) == -1) {
		conn_close(c);
		return;
	}
	if (c->state == CONN_WRITING && EVBUFFER_LENGTH(c->out) == 0 &&
	    !c->want_read && !c->want_write) {
		if (!c->keepalive) {
			conn_close(c);
			return;
		}
		/* The response is out: on to the next request. */
		c->state = CONN_READING;
		conn_arm_timer(c, HTTP_IDLE_TIMEOUT);
		if (EVBUFFER_LENGTH(c->in) > 0)
			conn_parse(c);
	}
	if (c->state == CONN_READING && (event & EV_READ)) {
		switch (conn_fill(c)) {
		case -1:
			conn_close(c);
			return;
		case 1:
			conn_parse(c);
			break;
		}
	} else if (c->state == CONN_STREAMING && (event & EV_READ)) {
		/* Nothing more is expected; watch for the client leaving. */
		if (conn_fill(c) == -1) {
			conn_close(c);
			return;
		}
		evbuffer_drain(c->in, EVBUFFER_LENGTH(c->in));
	}
	conn_update(c);
}

/* Returns 1 when bytes arrived, 0 when none yet, -1 when gone. */
static int
conn_fill(struct conn *c)
{
	char	 buf[SERVER_READ_CHUNK];
	ssize_t	 n;

	if (c->tls != NULL) {
		n = tls_read(c->tls, buf, sizeof(buf));
		if (n == TLS_WANT_POLLIN) {
			c->want_read = 1;
			return 0;
		}
		if (n == TLS_WANT_POLLOUT) {
			c->want_write = 1;
			return 0;
		}
		if (n == -1) {
			log_debug("%s: tls read: %s", c->peer,
			    tls_error(c->tls));
			return -1;
		}
	} else {
		n = read(c->fd, buf, sizeof(buf));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n == -1) {
			log_debug("%s: read: %s", c->peer, strerror(errno));
			return -1;
		}
	}
	if (n == 0)
		return -1;
	if (evbuffer_add(c->in, buf, (size_t)n) == -1)
		return -1;
	explicit_bzero(buf, (size_t)n);
	if (EVBUFFER_LENGTH(c->in) == (size_t)n)
		conn_arm_timer(c, HTTP_HEADER_TIMEOUT);
	return 1;
}

/* Returns 0 while the connection is usable, -1 when it is gone. */
static int
conn_flush(struct conn *c)
{
	ssize_t	 n;

	while (EVBUFFER_LENGTH(c->out) > 0) {
		if (c->tls != NULL) {
			n = tls_write(c->tls, EVBUFFER_DATA(c->out),
			    EVBUFFER_LENGTH(c->out));
			if (n == TLS_WANT_POLLIN) {
				c->want_read = 1;
				return 0;
			}
			if (n == TLS_WANT_POLLOUT) {
				c->want_write = 1;
				return 0;
			}
			if (n == -1) {
				log_debug("%s: tls write: %s", c->peer,
				    tls_error(c->tls));
				return -1;
			}
		} else {
			n = send(c->fd, EVBUFFER_DATA(c->out),
			    EVBUFFER_LENGTH(c->out), MSG_NOSIGNAL);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n == -1) {
				log_debug("%s: write: %s", c->peer,
				    strerror(errno));
				return -1;
			}
		}
		evbuffer_drain(c->out, (size_t)n);
	}
	return 0;
}

/*
 * Parse what has arrived.  A complete request is handed to the router
 * with its body copied out of the input buffer; bytes of a pipelined
 * next request stay there until this one is answered.
 */
static void
conn_parse(struct conn *c)
{
	size_t	 consumed = 0;
	int	 r;

	r = http_parse_request(&c->req, (const char *)EVBUFFER_DATA(c->in),
	    EVBUFFER_LENGTH(c->in), &server_limits, &consumed);
	switch (r) {
	case HTTP_PARSE_MORE:
		if (!c->in_body && c->req.need > 0) {
			c->in_body = 1;
			conn_arm_timer(c, HTTP_BODY_TIMEOUT);
		}
		return;
	case HTTP_PARSE_ERROR:
		log_info("%s: bad request: %s", c->peer,
		    c->req.error != NULL ? c->req.error : "unknown");
		c->keepalive = 0;
		c->req.method = HTTP_METHOD_NONE;
		c->req.path = NULL;
		conn_error(c, c->req.status, c->req.error);
		return;
	}

	free(c->body);
	c->body = NULL;
	c->bodylen = c->req.body_len;
	if (c->bodylen > 0) {
		if ((c->body = malloc(c->bodylen + 1)) == NULL) {
			c->keepalive = 0;
			conn_error(c, 500, "out of memory");
			return;
		}
		memcpy(c->body, EVBUFFER_DATA(c->in) + c->req.body_off,
		    c->bodylen);
		c->body[c->bodylen] = '\0';
	}
	evbuffer_drain(c->in, consumed);
	c->in_body = 0;
	c->keepalive = c->req.keep_alive;
	c->state = CONN_WAITING;
	evtimer_del(&c->ev_timer);
	http_route(c);
}

/*
 * Queue a complete response.  Every response says no-store: nothing
 * brokerd answers is meant for a cache.
 */
void
conn_respond(struct conn *c, int status, const char *ctype,
    const char *body, size_t len, const char *extra)
{
	evbuffer_add_printf(c->out, "HTTP/1.1 %d %s\r\n", status,
	    http_status_text(status));
	evbuffer_add_printf(c->out, "Server: brokerd\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n");
	if (ctype != NULL)
		evbuffer_add_printf(c->out, "Content-Type: %s\r\n", ctype);
	if (extra != NULL)
		evbuffer_add_printf(c->out, "%s", extra);
	evbuffer_add_printf(c->out, "Content-Length: %zu\r\n"
	    "Connection: %s\r\n\r\n", len,
	    c->keepalive ? "keep-alive" : "close");
	if (len > 0 && c->req.method != HTTP_METHOD_HEAD)
		evbuffer_add(c->out, body, len);
	log_debug("%s: %s %s %d", c->peer, http_method_name(c->req.method),
	    c->req.path != NULL ? c->req.path : "-", status);
	c->state = CONN_WRITING;
	conn_update(c);
}

/*
 * Start a response whose length is not known: an event stream.  It
 * ends with the connection, so the client knows where it ends.
 */
void
conn_stream_begin(struct conn *c, int status, const char *extra)
{
	c->keepalive = 0;
	evbuffer_add_printf(c->out, "HTTP/1.1 %d %s\r\n", status,
	    http_status_text(status));
	evbuffer_add_printf(c->out, "Server: brokerd\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Content-Type: text/event-stream\r\n");
	if (extra != NULL)
		evbuffer_add_printf(c->out, "%s", extra);
	evbuffer_add_printf(c->out, "Connection: close\r\n\r\n");
	log_debug("%s: %s %s %d stream", c->peer,
	    http_method_name(c->req.method),
	    c->req.path != NULL ? c->req.path : "-", status);
	c->state = CONN_STREAMING;
	conn_update(c);
}

void
conn_stream_write(struct conn *c, const char *data, size_t len)
{
	if (c->state != CONN_STREAMING)
		return;
	evbuffer_add(c->out, data, len);
	conn_update(c);
}

/* The last event is queued: close once it is out. */
void
conn_stream_end(struct conn *c)
{
	if (c->state != CONN_STREAMING)
		return;
	c->state = CONN_WRITING;
	conn_update(c);
}

/* An error as a small JSON document, for clients and for curl alike. */
void
conn_error(struct conn *c, int status, const char *why)
{
	json_t	*o;
	char	*s;

	o = json_pack("{s:i, s:s}", "status", status, "error",
	    why != NULL ? why : http_status_text(status));
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		conn_respond(c, status, "text/plain", "error\n", 6, NULL);
		return;
	}
	conn_respond(c, status, "application/json", s, strlen(s), NULL);
	free(s);
	json_decref(o);
}
