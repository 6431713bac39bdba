/*
 * mcpload: a small load generator for MCP tool calls, straight over a
 * child's stdio or through an MCP Streamable HTTP endpoint.
 *
 *	mcpload stdio [-n N] [-c C] [-w W] [-m MESSAGE] [-v] -- COMMAND [ARG ...]
 *	mcpload http  [-n N] [-c C] [-w W] [-m MESSAGE] [-v] [-s SESSION]
 *	    -t TOKEN URL
 *
 * Both modes send the same JSON-RPC: initialize, then
 * notifications/initialized, then W warm-up calls and N measured calls of
 *
 *	{"jsonrpc":"2.0","id":ID,"method":"tools/call",
 *	 "params":{"name":"echo","arguments":{"message":MESSAGE}}}
 *
 * with C calls in flight at any time (C = 1: strictly sequential).
 *
 * stdio: COMMAND is started with pipes on its stdin and stdout (stderr is
 * inherited) and spoken to in newline-delimited JSON-RPC; C is the window
 * of requests written and not yet answered on the one pipe; answers are
 * matched by id.
 *
 * http: URL is http://HOST:PORT/PATH (plain HTTP, IPv4).  One MCP session
 * is opened (initialize answers its Mcp-Session-Id) and every call is a
 * POST carrying "Authorization: Bearer TOKEN" and that session id.  C
 * HTTP/1.1 keep-alive connections each carry one request at a time (no
 * pipelining), so C is again the number of calls in flight, all on the
 * same session and so the same child.  The session is deleted at the end.
 * With -s, the calls go to that existing session instead: no initialize,
 * no DELETE.
 *
 * Latency is from the first byte of a request written to the last byte
 * of its answer read.  A call counts as failed unless its answer (HTTP
 * 200 in http mode) is a JSON-RPC result.  One line is printed:
 *
 *	mode=stdio c=16 n=3000 errors=0 p50_us=812 p90_us=... p99_us=...
 *	    max_us=... rps=...
 *
 * (in stdio mode followed by child_cpu_us_per_call=..., the processor time
 * the child used per measured call, from /proc), and the exit status is 1
 * if a call failed or nothing could be measured.
 * Plain POSIX sockets and poll(2); no library but libc.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAXCONC		1024
#define BUFSZ		65536
#define PROTOCOL	"2025-06-18"

static int	 verbose;
static const char *message = "hello";

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mcpload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
call_body(char *buf, size_t sz, long id)
{
	return snprintf(buf, sz, "{\"jsonrpc\":\"2.0\",\"id\":%ld,"
	    "\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
	    "\"arguments\":{\"message\":\"%s\"}}}", id, message);
}

static int
init_body(char *buf, size_t sz)
{
	return snprintf(buf, sz, "{\"jsonrpc\":\"2.0\",\"id\":0,"
	    "\"method\":\"initialize\",\"params\":{\"protocolVersion\":\""
	    PROTOCOL "\",\"capabilities\":{},\"clientInfo\":{\"name\":"
	    "\"mcpload\",\"version\":\"1\"}}}");
}

static const char initialized[] =
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

/* A JSON-RPC answer that is a result (not an error). */
static int
is_result(const char *p, size_t n)
{
	return memmem(p, n, "\"result\"", 8) != NULL &&
	    memmem(p, n, "\"error\"", 7) == NULL;
}

/* The value of the first "id" member, or -1. */
static long
find_id(const char *p, size_t n)
{
	const char *q = memmem(p, n, "\"id\"", 4), *end = p + n;

	if (q == NULL)
		return -1;
	for (q += 4; q < end && (*q == ' ' || *q == ':'); q++)
		;
	if (q >= end || *q < '0' || *q > '9')
		return -1;
	return strtol(q, NULL, 10);
}

/*
 * The processor time (user and system) a process has used so far, in
 * microseconds, from /proc/PID/stat; -1 where there is no such file.
 */
static double
proc_cpu_us(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command name: state is field 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lu %lu", &ut, &st) != 2)
		return -1;
	return (ut + st) * 1e6 / sysconf(_SC_CLK_TCK);
}

/* --- statistics --------------------------------------------------------- */

struct stats {
	double	*lat;
	long	 n;
	long	 errors;
	double	 t0, t1;
	double	 cpu;		/* the child's, in the phase; -1: unknown */
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const struct stats *s, double p)
{
	long i;

	if (s->n == 0)
		return 0;
	i = (long)(p / 100.0 * s->n + 0.5) - 1;
	if (i < 0)
		i = 0;
	if (i >= s->n)
		i = s->n - 1;
	return s->lat[i];
}

static int
report(const char *mode, int conc, struct stats *s)
{
	double secs = (s->t1 - s->t0) / 1e6;

	qsort(s->lat, s->n, sizeof(double), cmp_double);
	printf("mode=%s c=%d n=%ld errors=%ld p50_us=%.0f p90_us=%.0f "
	    "p99_us=%.0f max_us=%.0f rps=%.0f", mode, conc, s->n,
	    s->errors, pct(s, 50), pct(s, 90), pct(s, 99),
	    s->n ? s->lat[s->n - 1] : 0, secs > 0 ? s->n / secs : 0);
	if (s->cpu >= 0 && s->n > 0)
		printf(" child_cpu_us_per_call=%.1f", s->cpu / s->n);
	printf("\n");
	fflush(stdout);
	return s->errors > 0 || s->n == 0;
}

/* --- stdio ---------------------------------------------------------------- */

struct child {
	pid_t	 pid;
	int	 in;		/* its stdin */
	int	 out;		/* its stdout */
	char	 buf[BUFSZ];
	size_t	 len;
};

static void
child_start(struct child *c, char **argv)
{
	int in[2], out[2];

	if (pipe(in) == -1 || pipe(out) == -1)
		die("pipe: %s", strerror(errno));
	switch ((c->pid = fork())) {
	case -1:
		die("fork: %s", strerror(errno));
	case 0:
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "mcpload: exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	c->len = 0;
}

static void
child_write(struct child *c, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(c->in, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			die("write to the child: %s", strerror(errno));
		}
		p += w;
		n -= w;
	}
}

static void
child_send(struct child *c, const char *json)
{
	char line[4096];
	int n = snprintf(line, sizeof(line), "%s\n", json);

	child_write(c, line, n);
}

/*
 * Read what the child wrote and hand every complete line to fn.  Blocks
 * until at least one byte arrives.
 */
static void
child_read(struct child *c, void (*fn)(void *, const char *, size_t),
    void *arg)
{
	ssize_t r;
	char *nl, *p;

	if (c->len == sizeof(c->buf))
		die("a line of more than %d bytes from the child", BUFSZ);
	r = read(c->out, c->buf + c->len, sizeof(c->buf) - c->len);
	if (r == -1 && errno == EINTR)
		return;
	if (r == -1)
		die("read from the child: %s", strerror(errno));
	if (r == 0)
		die("the child closed its stdout");
	c->len += r;
	p = c->buf;
	while ((nl = memchr(p, '\n', c->len - (p - c->buf))) != NULL) {
		fn(arg, p, nl - p);
		p = nl + 1;
	}
	c->len -= p - c->buf;
	memmove(c->buf, p, c->len);
}

struct stdio_run {
	struct child	*c;
	double		*sent;		/* by id */
	long		 base;		/* first id of this phase */
	long		 total;
	long		 done;
	struct stats	*st;
	int		 got_init;
};

static void
stdio_line(void *arg, const char *p, size_t n)
{
	struct stdio_run *r = arg;
	double t = now_us();
	long id = find_id(p, n);

	if (verbose > 1)
		fprintf(stderr, "< %.*s\n", (int)n, p);
	if (id == 0) {
		if (!is_result(p, n))
			die("initialize failed: %.*s", (int)n, p);
		r->got_init = 1;
		return;
	}
	if (id < r->base || id >= r->base + r->total)
		return;		/* a notification, or not ours */
	if (r->st != NULL) {
		r->st->lat[r->st->n++] = t - r->sent[id - r->base];
		if (!is_result(p, n))
			r->st->errors++;
	}
	r->done++;
}

static void
stdio_phase(struct child *c, long *nextid, long total, int conc,
    struct stats *st)
{
	struct stdio_run r = { 0 };
	char body[1024];
	long sent = 0;

	r.c = c;
	r.base = *nextid;
	r.total = total;
	r.st = st;
	if ((r.sent = calloc(total, sizeof(double))) == NULL)
		die("out of memory");
	if (st != NULL)
		st->t0 = now_us();
	while (r.done < total) {
		while (sent < total && sent - r.done < conc) {
			int n = call_body(body, sizeof(body), r.base + sent);

			body[n++] = '\n';
			r.sent[sent] = now_us();
			child_write(c, body, n);
			sent++;
		}
		child_read(c, stdio_line, &r);
	}
	if (st != NULL)
		st->t1 = now_us();
	*nextid += total;
	free(r.sent);
}

static int
run_stdio(char **argv, long n, int conc, long warm)
{
	struct child c;
	struct stdio_run r = { 0 };
	struct stats st = { 0 };
	char body[1024];
	long nextid = 1;
	int status;

	signal(SIGPIPE, SIG_IGN);
	child_start(&c, argv);
	init_body(body, sizeof(body));
	child_send(&c, body);
	r.c = &c;
	r.base = 1;
	while (!r.got_init)
		child_read(&c, stdio_line, &r);
	child_send(&c, initialized);

	stdio_phase(&c, &nextid, warm, conc, NULL);
	if ((st.lat = calloc(n, sizeof(double))) == NULL)
		die("out of memory");
	st.cpu = proc_cpu_us(c.pid);
	stdio_phase(&c, &nextid, n, conc, &st);
	if (st.cpu >= 0)
		st.cpu = proc_cpu_us(c.pid) - st.cpu;

	close(c.in);		/* EOF: the child finishes and exits */
	while (waitpid(c.pid, &status, 0) == -1 && errno == EINTR)
		;
	return report("stdio", conc, &st);
}

/* --- http ------------------------------------------------------------------- */

static struct sockaddr_in server;
static char	 host[256], path[1024];
static const char *token;
static char	 session[256];
static int	 keep;		/* -s: an existing session, left open */

static void
parse_url(const char *url)
{
	const char *p, *slash, *colon;
	int port = 80;

	if (strncmp(url, "http://", 7) != 0)
		die("only http:// URLs: %s", url);
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	snprintf(host, sizeof(host), "%.*s", (int)(slash - p), p);
	snprintf(path, sizeof(path), "%s", *slash ? slash : "/");
	memset(&server, 0, sizeof(server));
	server.sin_family = AF_INET;
	if ((colon = strchr(host, ':')) != NULL)
		port = atoi(colon + 1);
	{
		char addr[256];

		snprintf(addr, sizeof(addr), "%.*s",
		    (int)(colon ? colon - host : (long)strlen(host)), host);
		if (strcmp(addr, "localhost") == 0)
			strcpy(addr, "127.0.0.1");
		if (inet_pton(AF_INET, addr, &server.sin_addr) != 1)
			die("not an IPv4 address: %s", addr);
	}
	server.sin_port = htons(port);
}

static int
connect_to(void)
{
	int s, one = 1;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&server, sizeof(server)) == -1)
		die("connect %s: %s", host, strerror(errno));
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

static int
http_request(char *buf, size_t sz, const char *method, const char *body)
{
	int n;

	n = snprintf(buf, sz, "%s %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Authorization: Bearer %s\r\n"
	    "Accept: application/json, text/event-stream\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n", method, path, host, token,
	    body ? strlen(body) : 0);
	if (*session)
		n += snprintf(buf + n, sz - n, "Mcp-Session-Id: %s\r\n"
		    "MCP-Protocol-Version: " PROTOCOL "\r\n", session);
	n += snprintf(buf + n, sz - n, "\r\n%s", body ? body : "");
	if ((size_t)n >= sz)
		die("request too long");
	return n;
}

struct response {
	int	 status;
	size_t	 hlen;		/* header bytes, with the blank line */
	size_t	 total;		/* header and body, once known */
	int	 close;		/* Connection: close */
};

/* The value of header NAME in the header block, or NULL. */
static const char *
header(const char *h, size_t hlen, const char *name, size_t *vlen)
{
	const char *p = h, *end = h + hlen, *eol;
	size_t nl = strlen(name);

	while (p < end && (eol = memmem(p, end - p, "\r\n", 2)) != NULL) {
		if ((size_t)(eol - p) > nl && p[nl] == ':' &&
		    strncasecmp(p, name, nl) == 0) {
			p += nl + 1;
			while (p < eol && (*p == ' ' || *p == '\t'))
				p++;
			*vlen = eol - p;
			return p;
		}
		p = eol + 2;
	}
	return NULL;
}

/*
 * 1 if buf holds a complete answer (described in r), 0 if more is
 * needed; dies on what it cannot parse.
 */
static int
response_complete(const char *buf, size_t len, struct response *r)
{
	const char *eoh, *v, *p, *end;
	size_t vlen;

	if ((eoh = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		return 0;
	r->hlen = eoh + 4 - buf;
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
		die("not an HTTP answer: %.40s", buf);
	r->status = atoi(buf + 9);
	r->close = (v = header(buf, r->hlen, "Connection", &vlen)) != NULL &&
	    vlen == 5 && strncasecmp(v, "close", 5) == 0;
	if ((v = header(buf, r->hlen, "Content-Length", &vlen)) != NULL) {
		r->total = r->hlen + strtoul(v, NULL, 10);
		return len >= r->total;
	}
	if ((v = header(buf, r->hlen, "Transfer-Encoding", &vlen)) != NULL &&
	    vlen >= 7 && strncasecmp(v + vlen - 7, "chunked", 7) == 0) {
		p = buf + r->hlen;
		end = buf + len;
		for (;;) {
			const char *eol = memmem(p, end - p, "\r\n", 2);
			unsigned long sz;

			if (eol == NULL)
				return 0;
			sz = strtoul(p, NULL, 16);
			if (sz == 0) {
				if (end - eol < 4)
					return 0;
				r->total = eol + 4 - buf;
				return 1;
			}
			if ((size_t)(end - (eol + 2)) < sz + 2)
				return 0;
			p = eol + 2 + sz + 2;
		}
	}
	if (r->status == 204 || r->status == 304 || r->status / 100 == 1) {
		r->total = r->hlen;
		return 1;
	}
	die("an answer without Content-Length or chunked body (status %d)",
	    r->status);
	return 0;
}

/* One request on a fresh connection, answer in buf; for set-up. */
static size_t
http_once(const char *method, const char *body, char *buf, size_t sz,
    struct response *r)
{
	char req[8192];
	int s = connect_to(), n = http_request(req, sizeof(req), method, body);
	size_t len = 0;
	ssize_t got;

	if (write(s, req, n) != n)
		die("write: %s", strerror(errno));
	memset(r, 0, sizeof(*r));
	while (!response_complete(buf, len, r)) {
		if (len == sz - 1)
			die("answer too large");
		if ((got = read(s, buf + len, sz - 1 - len)) <= 0)
			die("%s %s: connection closed after %zu bytes",
			    method, path, len);
		len += got;
		buf[len] = '\0';
	}
	close(s);
	if (verbose)
		fprintf(stderr, "%s -> %.*s\n", method, (int)r->total, buf);
	return len;
}

struct conn {
	int	 fd;
	char	 out[2048];
	size_t	 outlen, outoff;
	char	 in[BUFSZ];
	size_t	 inlen;
	double	 t;		/* request start */
	int	 busy;
};

static void
conn_start(struct conn *c, long id)
{
	char body[1024];
	ssize_t got;

	call_body(body, sizeof(body), id);
	c->outlen = http_request(c->out, sizeof(c->out), "POST", body);
	c->outoff = 0;
	c->inlen = 0;
	c->busy = 1;
	c->t = now_us();
	/* Most often the whole request goes at once; poll does the rest. */
	if ((got = write(c->fd, c->out, c->outlen)) > 0)
		c->outoff = got;
	else if (got == -1 && errno != EAGAIN)
		die("write: %s", strerror(errno));
}

static long	 reconnects;

static void
http_phase(struct conn *conns, int conc, long *nextid, long total,
    struct stats *st)
{
	struct pollfd pfd[MAXCONC];
	long started = 0, done = 0;
	int i;

	for (i = 0; i < conc && started < total; i++, started++)
		conn_start(&conns[i], (*nextid)++);
	if (st != NULL)
		st->t0 = now_us();
	while (done < total) {
		for (i = 0; i < conc; i++) {
			pfd[i].fd = conns[i].busy ? conns[i].fd : -1;
			pfd[i].events = conns[i].outoff < conns[i].outlen ?
			    POLLOUT : POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, conc, 30000) <= 0)
			die("poll: %s", errno ? strerror(errno) :
			    "no answer for 30 s");
		for (i = 0; i < conc; i++) {
			struct conn *c = &conns[i];
			struct response r = { 0 };
			ssize_t got;

			if (!c->busy || pfd[i].revents == 0)
				continue;
			if (c->outoff < c->outlen) {
				got = write(c->fd, c->out + c->outoff,
				    c->outlen - c->outoff);
				if (got == -1 && errno != EAGAIN)
					die("write: %s", strerror(errno));
				if (got > 0)
					c->outoff += got;
				continue;
			}
			if (c->inlen == sizeof(c->in) - 1)
				die("an answer of more than %d bytes", BUFSZ);
			got = read(c->fd, c->in + c->inlen,
			    sizeof(c->in) - 1 - c->inlen);
			if (got == -1 && errno == EAGAIN)
				continue;
			if (got <= 0)
				die("the server closed a connection (%zu bytes"
				    " of an answer read)", c->inlen);
			c->inlen += got;
			c->in[c->inlen] = '\0';
			if (!response_complete(c->in, c->inlen, &r))
				continue;
			if (verbose > 1)
				fprintf(stderr, "< %.*s\n", (int)r.total,
				    c->in);
			if (st != NULL) {
				st->lat[st->n++] = now_us() - c->t;
				if (r.status != 200 || !is_result(c->in +
				    r.hlen, r.total - r.hlen)) {
					if (st->errors++ == 0)
						fprintf(stderr, "mcpload: a "
						    "failed call: %.*s\n",
						    (int)r.total, c->in);
				}
			}
			done++;
			c->busy = 0;
			if (r.close || r.total != c->inlen) {
				close(c->fd);
				c->fd = connect_to();
				fcntl(c->fd, F_SETFL, O_NONBLOCK);
				reconnects++;
			}
			if (started < total) {
				conn_start(c, (*nextid)++);
				started++;
			}
		}
	}
	if (st != NULL)
		st->t1 = now_us();
}

static int
run_http(const char *url, long n, int conc, long warm)
{
	static struct conn conns[MAXCONC];
	static char buf[BUFSZ];
	struct response r;
	struct stats st = { .cpu = -1 };
	char body[1024];
	const char *v;
	size_t vlen;
	long nextid = 1;
	int i, rc;

	signal(SIGPIPE, SIG_IGN);
	parse_url(url);
	if (*session)
		goto ready;
	init_body(body, sizeof(body));
	http_once("POST", body, buf, sizeof(buf), &r);
	if (r.status != 200 || !is_result(buf + r.hlen, r.total - r.hlen))
		die("initialize: status %d: %.300s", r.status, buf + r.hlen);
	if ((v = header(buf, r.hlen, "Mcp-Session-Id", &vlen)) == NULL ||
	    vlen >= sizeof(session))
		die("initialize: no Mcp-Session-Id");
	snprintf(session, sizeof(session), "%.*s", (int)vlen, v);
	http_once("POST", initialized, buf, sizeof(buf), &r);
	if (r.status != 202 && r.status != 200)
		die("notifications/initialized: status %d", r.status);

 ready:
	for (i = 0; i < conc; i++) {
		conns[i].fd = connect_to();
		fcntl(conns[i].fd, F_SETFL, O_NONBLOCK);
	}
	http_phase(conns, conc, &nextid, warm, NULL);
	if ((st.lat = calloc(n, sizeof(double))) == NULL)
		die("out of memory");
	http_phase(conns, conc, &nextid, n, &st);
	for (i = 0; i < conc; i++)
		close(conns[i].fd);
	rc = report("http", conc, &st);
	if (reconnects)
		fprintf(stderr, "mcpload: %ld reconnections\n", reconnects);
	if (keep)
		return rc;

	http_once("DELETE", NULL, buf, sizeof(buf), &r);
	if (r.status / 100 != 2)
		fprintf(stderr, "mcpload: DELETE: status %d\n", r.status);
	return rc;
}

/* ----------------------------------------------------------------------------- */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: mcpload stdio [-n N] [-c C] [-w W] [-m MSG] [-v] -- COMMAND [ARG ...]\n"
	    "       mcpload http  [-n N] [-c C] [-w W] [-m MSG] [-v] [-s SESSION] -t TOKEN URL\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *mode;
	long n = 2000, warm = 200;
	int conc = 1, ch;

	if (argc < 2)
		usage();
	mode = argv[1];
	argc--;
	argv++;
	while ((ch = getopt(argc, argv, "+c:m:n:s:t:vw:")) != -1) {
		switch (ch) {
		case 'c':
			conc = atoi(optarg);
			break;
		case 'm':
			if (strpbrk(optarg, "\"\\") != NULL ||
			    strlen(optarg) > 512)
				die("-m: a short message without \" or \\");
			message = optarg;
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 's':
			if (strlen(optarg) >= sizeof(session) ||
			    strpbrk(optarg, "\r\n") != NULL)
				die("-s: a bad session id");
			strcpy(session, optarg);
			keep = 1;
			break;
		case 't':
			token = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'w':
			warm = atol(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (conc < 1 || conc > MAXCONC || n < 1 || warm < 0)
		usage();
	if (strcmp(mode, "stdio") == 0) {
		if (argc < 1)
			usage();
		return run_stdio(argv, n, conc, warm);
	}
	if (strcmp(mode, "http") == 0) {
		if (argc != 1 || token == NULL)
			usage();
		return run_http(argv[0], n, conc, warm);
	}
	usage();
	return 2;
}
