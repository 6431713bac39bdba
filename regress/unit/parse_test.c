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
 * parse_config() on files written into a temporary directory.  What the
 * parser logs goes to stderr (log_init in the foreground), which each
 * test captures in a file to check that errors name file and line.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "brokerd.h"
#include "log.h"
#include "regress.h"

static char	 tmpdir[] = "/tmp/parse_test.XXXXXX";
static char	 captured[65536];
static char	 printed[65536];

static const char *path(const char *);
static void	 writefile(const char *, mode_t, const char *, ...)
		    __attribute__((__format__ (printf, 3, 4)));
static void	 readfile(const char *, char *, size_t);
static struct brokerd_conf *parse(const char *);
static int	 logged(const char *);
static int	 rejected(const char *, const char *);
static const char *required_but(const char *);
static void	 secret_conf(const char *, const char *);
static void	 print_to(struct brokerd_conf *, const char *);
static int	 listen_is(struct listen_addr *, int, const char *,
		    uint16_t, int);
static void	 test_full(void);
static void	 test_defaults(void);
static void	 test_macros(void);
static void	 test_include(void);
static void	 test_lexical(void);
static void	 test_print(void);
static void	 test_args(void);
static void	 test_errors(void);
static void	 test_required(void);
static void	 test_urls(void);
static void	 test_secrets(void);
static void	 test_numbers(void);
static void	 test_example(void);

/* A path in the test directory; four can be in use at a time. */
static const char *
path(const char *name)
{
	static char	 buf[4][PATH_MAX];
	static int	 n;

	n = (n + 1) % 4;
	(void)snprintf(buf[n], sizeof(buf[n]), "%s/%s", tmpdir, name);
	return buf[n];
}

static void
writefile(const char *name, mode_t mode, const char *fmt, ...)
{
	va_list	 ap;
	FILE	*fp;
	int	 fd;

	(void)unlink(path(name));
	fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd == -1 || fchmod(fd, mode) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		perror(name);
		exit(1);
	}
	va_start(ap, fmt);
	(void)vfprintf(fp, fmt, ap);
	va_end(ap);
	if (fclose(fp) == EOF) {
		perror(name);
		exit(1);
	}
}

static void
readfile(const char *name, char *buf, size_t bufsz)
{
	ssize_t	 n;
	int	 fd;

	buf[0] = '\0';
	if ((fd = open(name, O_RDONLY)) == -1)
		return;
	if ((n = read(fd, buf, bufsz - 1)) < 0)
		n = 0;
	buf[n] = '\0';
	close(fd);
}

/* parse_config() with stderr captured in "stderr.out". */
static struct brokerd_conf *
parse(const char *name)
{
	struct brokerd_conf	*conf;
	int			 fd, saved;

	fflush(stderr);
	if ((saved = dup(STDERR_FILENO)) == -1 ||
	    (fd = open(path("stderr.out"), O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) == -1 || dup2(fd, STDERR_FILENO) == -1) {
		perror("capture stderr");
		exit(1);
	}
	close(fd);
	conf = parse_config(path(name));
	fflush(stderr);
	(void)dup2(saved, STDERR_FILENO);
	close(saved);
	readfile(path("stderr.out"), captured, sizeof(captured));
	return conf;
}

static int
logged(const char *s)
{
	return strstr(captured, s) != NULL;
}

/* The file is refused, with a message containing what. */
static int
rejected(const char *name, const char *what)
{
	struct brokerd_conf	*conf;

	if ((conf = parse(name)) != NULL) {
		free_config(conf);
		return 0;
	}
	if (!logged(what)) {
		printf("# expected \"%s\" in:\n# %s", what, captured);
		return 0;
	}
	return 1;
}

static void
print_to(struct brokerd_conf *conf, const char *name)
{
	int	 fd, saved;

	fflush(stdout);
	if ((saved = dup(STDOUT_FILENO)) == -1 ||
	    (fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
	    -1 || dup2(fd, STDOUT_FILENO) == -1) {
		perror("capture stdout");
		exit(1);
	}
	close(fd);
	print_config(conf);
	fflush(stdout);
	(void)dup2(saved, STDOUT_FILENO);
	close(saved);
	readfile(path(name), printed, sizeof(printed));
}

static int
listen_is(struct listen_addr *la, int af, const char *addr, uint16_t port,
    int tls)
{
	char	 buf[INET6_ADDRSTRLEN];
	void	*a;

	if (la == NULL || la->ss.ss_family != af || la->port != port ||
	    la->tls != tls || la->fd != -1)
		return 0;
	if (af == AF_INET) {
		if (la->sslen != sizeof(struct sockaddr_in))
			return 0;
		a = &((struct sockaddr_in *)&la->ss)->sin_addr;
		if (ntohs(((struct sockaddr_in *)&la->ss)->sin_port) != port)
			return 0;
	} else {
		if (la->sslen != sizeof(struct sockaddr_in6))
			return 0;
		a = &((struct sockaddr_in6 *)&la->ss)->sin6_addr;
		if (ntohs(((struct sockaddr_in6 *)&la->ss)->sin6_port) != port)
			return 0;
	}
	if (inet_ntop(af, a, buf, sizeof(buf)) == NULL)
		return 0;
	return strcmp(buf, addr) == 0;
}

/*
 * A complete configuration without the statement that starts with
 * skip, so that each required statement can be left out in turn.
 */
static const char *
required_but(const char *skip)
{
	static char	 buf[4096];
	const char	*lines[6];
	size_t		 i;

	lines[0] = "listen on 127.0.0.1 port 8080\n";
	lines[1] = "public url \"https://mcp.example.org\"\n";
	lines[2] = "forgejo url \"https://forgejo.example.org\"\n";
	lines[3] = "forgejo client id \"client\"\n";
	lines[4] = NULL;
	lines[5] = "mcp command \"/usr/local/bin/forgejo-mcp\"\n";
	buf[0] = '\0';
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (lines[i] == NULL) {
			if (skip != NULL &&
			    strcmp(skip, "forgejo client secret") == 0)
				continue;
			(void)strlcat(buf, "forgejo client secret file \"",
			    sizeof(buf));
			(void)strlcat(buf, path("secret"), sizeof(buf));
			(void)strlcat(buf, "\"\n", sizeof(buf));
			continue;
		}
		if (skip != NULL && strncmp(lines[i], skip, strlen(skip)) == 0)
			continue;
		(void)strlcat(buf, lines[i], sizeof(buf));
	}
	return buf;
}

/* A complete configuration reading the secret from the file secret. */
static void
secret_conf(const char *name, const char *secret)
{
	writefile(name, 0600, "%sforgejo client secret file \"%s\"\n",
	    required_but("forgejo client secret"), path(secret));
}

static void
test_full(void)
{
	struct brokerd_conf	*conf;
	struct listen_addr	*la;
	int			 n = 0;

	writefile("full.conf", 0600,
	    "# every statement\n"
	    "listen on 127.0.0.1 port 8443 tls\n"
	    "listen on ::1 port 8080\n"
	    "tls certificate \"/etc/ssl/mcp.example.org.crt\"\n"
	    "tls key \"/etc/ssl/private/mcp.example.org.key\"\n"
	    "public url \"https://mcp.example.org/\"\n"
	    "database \"/var/db/brokerd/test.db\"\n"
	    "user \"_brokertest\"\n"
	    "chroot \"/var/empty/brokerd\"\n"
	    "forgejo url \"https://forgejo.example.org/\"\n"
	    "forgejo client id \"0d9c7f1e-4f7b-4f7e-9c1a-2b6d3e4f5a6b\"\n"
	    "forgejo client secret file \"%s\"\n"
	    "forgejo scope \"read:user write:repository\"\n"
	    "mcp command \"/usr/local/bin/forgejo-mcp\" \"--transport\" "
	    "\"stdio\"\n"
	    "mcp max sessions 100\n"
	    "mcp max sessions per user 4\n"
	    "mcp idle timeout 600\n"
	    "token access lifetime 1800\n"
	    "token refresh lifetime 86400\n", path("secret"));

	conf = parse("full.conf");
	CHECK(conf != NULL, "full: parses");
	if (conf == NULL) {
		printf("# %s", captured);
		return;
	}
	CHECK(captured[0] == '\0', "full: nothing logged");
	TAILQ_FOREACH(la, &conf->listen, entry)
		n++;
	CHECK(n == 2, "full: two listen addresses");
	la = TAILQ_FIRST(&conf->listen);
	CHECK(listen_is(la, AF_INET, "127.0.0.1", 8443, 1),
	    "full: listen on 127.0.0.1 port 8443 tls");
	CHECK(la != NULL && strcmp(la->name, "127.0.0.1") == 0,
	    "full: listen name as configured");
	la = la != NULL ? TAILQ_NEXT(la, entry) : NULL;
	CHECK(listen_is(la, AF_INET6, "::1", 8080, 0),
	    "full: listen on ::1 port 8080");
	CHECK(strcmp(conf->tls_cert, "/etc/ssl/mcp.example.org.crt") == 0,
	    "full: tls certificate");
	CHECK(strcmp(conf->tls_key,
	    "/etc/ssl/private/mcp.example.org.key") == 0, "full: tls key");
	CHECK(strcmp(conf->public_url, "https://mcp.example.org") == 0,
	    "full: public url without trailing slash");
	CHECK(strcmp(conf->database, "/var/db/brokerd/test.db") == 0,
	    "full: database");
	CHECK(strcmp(conf->user, "_brokertest") == 0, "full: user");
	CHECK(strcmp(conf->chroot, "/var/empty/brokerd") == 0, "full: chroot");
	CHECK(strcmp(conf->forgejo_url, "https://forgejo.example.org") == 0,
	    "full: forgejo url without trailing slash");
	CHECK(strcmp(conf->forgejo_client_id,
	    "0d9c7f1e-4f7b-4f7e-9c1a-2b6d3e4f5a6b") == 0,
	    "full: forgejo client id");
	CHECK(strcmp(conf->forgejo_client_secret, "s3cret-Value_1") == 0,
	    "full: secret is the first line of the secret file");
	CHECK(strcmp(conf->forgejo_client_secret_file, path("secret")) == 0,
	    "full: secret file path kept");
	CHECK(strcmp(conf->forgejo_scope, "read:user write:repository") == 0,
	    "full: forgejo scope");
	CHECK(conf->mcp_argc == 3 &&
	    strcmp(conf->mcp_argv[0], "/usr/local/bin/forgejo-mcp") == 0 &&
	    strcmp(conf->mcp_argv[1], "--transport") == 0 &&
	    strcmp(conf->mcp_argv[2], "stdio") == 0 &&
	    conf->mcp_argv[3] == NULL, "full: mcp command and arguments");
	CHECK(conf->mcp_max_sessions == 100, "full: mcp max sessions");
	CHECK(conf->mcp_max_sessions_per_user == 4,
	    "full: mcp max sessions per user");
	CHECK(conf->mcp_idle_timeout == 600, "full: mcp idle timeout");
	CHECK(conf->token_access_lifetime == 1800,
	    "full: token access lifetime");
	CHECK(conf->token_refresh_lifetime == 86400,
	    "full: token refresh lifetime");
	free_config(conf);
}

static void
test_defaults(void)
{
	struct brokerd_conf	*conf;
	struct listen_addr	*la;

	writefile("defaults.conf", 0600, "%s", required_but(NULL));
	conf = parse("defaults.conf");
	CHECK(conf != NULL, "defaults: minimal configuration parses");
	if (conf == NULL) {
		printf("# %s", captured);
		return;
	}
	la = TAILQ_FIRST(&conf->listen);
	CHECK(listen_is(la, AF_INET, "127.0.0.1", 8080, 0) &&
	    TAILQ_NEXT(la, entry) == NULL, "defaults: the one listen");
	CHECK(strcmp(conf->database, BROKERD_DATABASE) == 0,
	    "defaults: database");
	CHECK(strcmp(conf->user, BROKERD_USER) == 0, "defaults: user");
	CHECK(strcmp(conf->chroot, BROKERD_CHROOT) == 0, "defaults: chroot");
	CHECK(conf->forgejo_scope[0] == '\0', "defaults: empty scope");
	CHECK(conf->tls_cert[0] == '\0' && conf->tls_key[0] == '\0',
	    "defaults: no tls files");
	CHECK(conf->mcp_argc == 1 && conf->mcp_argv[1] == NULL,
	    "defaults: mcp command without arguments");
	CHECK(conf->mcp_max_sessions == DEFAULT_MAX_SESSIONS &&
	    conf->mcp_max_sessions_per_user == DEFAULT_MAX_SESSIONS_PER_USER &&
	    conf->mcp_idle_timeout == DEFAULT_IDLE_TIMEOUT,
	    "defaults: mcp limits");
	CHECK(conf->token_access_lifetime == DEFAULT_ACCESS_LIFETIME &&
	    conf->token_refresh_lifetime == DEFAULT_REFRESH_LIFETIME,
	    "defaults: token lifetimes");
	free_config(conf);

	/* Without listen, a certificate means localhost port 443 tls. */
	writefile("deflisten.conf", 0600, "%s"
	    "tls certificate \"/etc/ssl/a.crt\"\n"
	    "tls key \"/etc/ssl/private/a.key\"\n",
	    required_but("listen"));
	conf = parse("deflisten.conf");
	CHECK(conf != NULL, "defaults: no listen but a certificate parses");
	if (conf != NULL) {
		la = TAILQ_FIRST(&conf->listen);
		CHECK(la != NULL && la->port == DEFAULT_PORT && la->tls &&
		    strcmp(la->name, "localhost") == 0,
		    "defaults: listen on localhost port 443 tls");
		free_config(conf);
	}

	/* A per user limit above a smaller total follows the total. */
	writefile("clamp.conf", 0600, "%smcp max sessions 3\n",
	    required_but(NULL));
	conf = parse("clamp.conf");
	CHECK(conf != NULL && conf->mcp_max_sessions_per_user == 3,
	    "defaults: per user limit lowered to mcp max sessions");
	free_config(conf);
}

static void
test_macros(void)
{
	struct brokerd_conf	*conf;
	struct listen_addr	*la;
	char			 def[] = "mport=7000";
	char			 bad1[] = "noequals";
	char			 bad2[] = "1abc=x";
	char			 bad3[] = "a-b=x";

	CHECK(cmdline_symset(bad1) == -1, "macros: -D without = refused");
	CHECK(cmdline_symset(bad2) == -1,
	    "macros: -D name starting with a digit refused");
	CHECK(cmdline_symset(bad3) == -1, "macros: -D name with - refused");
	CHECK(cmdline_symset(def) == 0, "macros: -D mport=7000");

	writefile("macros.conf", 0600,
	    "addr = \"127.0.0.1\"\n"
	    "mport = \"7001\"\n"
	    "fport = 9000\n"
	    "cmd = \"/usr/bin/mcp-server\"\n"
	    "cid = \"from-macro\"\n"
	    "stmt = \"public url \\\"https://mcp.example.org\\\"\"\n"
	    "listen on $addr port $mport\n"
	    "listen on $addr port $fport tls\n"
	    "$stmt\n"
	    "forgejo url \"https://forgejo.example.org\"\n"
	    "forgejo client id \"$cid\"\n"
	    "forgejo client secret file \"%s\"\n"
	    "tls certificate \"/c\"\n"
	    "tls key \"/k\"\n"
	    "mcp command $cmd \"--x\" $cid $fport\n", path("secret"));
	conf = parse("macros.conf");
	CHECK(conf != NULL, "macros: parses");
	if (conf == NULL) {
		printf("# %s", captured);
		return;
	}
	la = TAILQ_FIRST(&conf->listen);
	CHECK(listen_is(la, AF_INET, "127.0.0.1", 7000, 0),
	    "macros: -D macro wins over the file's definition");
	la = la != NULL ? TAILQ_NEXT(la, entry) : NULL;
	CHECK(listen_is(la, AF_INET, "127.0.0.1", 9000, 1),
	    "macros: number macro");
	CHECK(strcmp(conf->public_url, "https://mcp.example.org") == 0,
	    "macros: a macro expands to several tokens");
	CHECK(strcmp(conf->forgejo_client_id, "$cid") == 0,
	    "macros: not expanded inside quotes");
	CHECK(conf->mcp_argc == 4 &&
	    strcmp(conf->mcp_argv[0], "/usr/bin/mcp-server") == 0 &&
	    strcmp(conf->mcp_argv[1], "--x") == 0 &&
	    strcmp(conf->mcp_argv[2], "from-macro") == 0 &&
	    strcmp(conf->mcp_argv[3], "9000") == 0,
	    "macros: in mcp command arguments");
	free_config(conf);

	/* The -D macro persists; the file's macros do not. */
	writefile("macros2.conf", 0600, "%slisten on ::1 port $mport\n",
	    required_but("listen"));
	conf = parse("macros2.conf");
	la = conf != NULL ? TAILQ_FIRST(&conf->listen) : NULL;
	CHECK(listen_is(la, AF_INET6, "::1", 7000, 0),
	    "macros: -D macro persists across parses");
	free_config(conf);
	writefile("macros3.conf", 0600, "%slisten on $addr port 80\n",
	    required_but("listen"));
	CHECK(rejected("macros3.conf",
	    "macros3.conf:6: macro \"addr\" not defined"),
	    "macros: a file's macro does not outlive its parse");

	writefile("macros4.conf", 0600, "a = \"$a\"\n%s"
	    "forgejo scope $a\n", required_but(NULL));
	conf = parse("macros4.conf");
	CHECK(conf != NULL && strcmp(conf->forgejo_scope, "$a") == 0,
	    "macros: a value is not expanded again");
	free_config(conf);
}

static void
test_include(void)
{
	struct brokerd_conf	*conf;

	writefile("inc-forgejo.conf", 0600,
	    "# included\n"
	    "forgejo url \"https://forgejo.example.org\"\n"
	    "forgejo client id \"included-id\"\n");
	writefile("inc-mcp.conf", 0600,
	    "mcp command \"/usr/local/bin/forgejo-mcp\" \"stdio\"");
	writefile("inc.conf", 0600,
	    "listen on 127.0.0.1 port 8080\n"
	    "include \"inc-forgejo.conf\"\n"
	    "public url \"https://mcp.example.org\"\n"
	    "include \"%s\"\n"
	    "forgejo client secret file \"%s\"\n",
	    path("inc-mcp.conf"), path("secret"));
	conf = parse("inc.conf");
	CHECK(conf != NULL, "include: relative and absolute includes parse");
	if (conf == NULL) {
		printf("# %s", captured);
		return;
	}
	CHECK(strcmp(conf->forgejo_client_id, "included-id") == 0,
	    "include: statements of the included file");
	CHECK(strcmp(conf->public_url, "https://mcp.example.org") == 0,
	    "include: statements after an include");
	CHECK(conf->mcp_argc == 2 && strcmp(conf->mcp_argv[1], "stdio") == 0,
	    "include: file without a final newline");
	free_config(conf);

	writefile("inc-missing.conf", 0600, "%sinclude \"nonexistent.conf\"\n",
	    required_but(NULL));
	CHECK(rejected("inc-missing.conf", "inc-missing.conf:7: "),
	    "include: unreadable include names file:line");
	CHECK(logged("nonexistent.conf: No such file or directory"),
	    "include: unreadable include names the path and the error");

	writefile("inc-bad.conf", 0600, "\n\nlisten on 127.0.0.1 port 0\n");
	writefile("inc-outer.conf", 0600, "include \"inc-bad.conf\"\n%s",
	    required_but("listen"));
	CHECK(rejected("inc-outer.conf",
	    "inc-bad.conf:3: port 0 out of range"),
	    "include: errors name the included file and its line");

	writefile("inc-loop.conf", 0600, "include \"inc-loop.conf\"\n");
	CHECK(rejected("inc-loop.conf", "nested too deeply"),
	    "include: recursion is stopped");

	writefile("inc-line.conf", 0600, "include \"inc-forgejo.conf\"\n"
	    "lisen on 127.0.0.1 port 80\n");
	CHECK(rejected("inc-line.conf", "inc-line.conf:2: unknown keyword"),
	    "include: line numbers continue after an include");
}

static void
test_lexical(void)
{
	struct brokerd_conf	*conf;

	writefile("lex.conf", 0600,
	    "# comment line\n"
	    "   # indented comment\n"
	    "\n"
	    "listen on 127.0.0.1 \\\n"
	    "    port 8080	# trailing comment\n"
	    "public url 'https://mcp.example.org'\n"
	    "forgejo url \"https://forgejo.example.org\"\n"
	    "forgejo client id 12345\n"
	    "forgejo client secret file \"%s\"\n"
	    "forgejo scope \"a \\\"quoted\\\" \\\\ scope\"\n"
	    "mcp command /usr/local/bin/forgejo-mcp \\\n"
	    "\t--transport \\\n"
	    "\tstdio\n"
	    "\n", path("secret"));
	conf = parse("lex.conf");
	CHECK(conf != NULL, "lexical: comments, continuations, quoting");
	if (conf == NULL) {
		printf("# %s", captured);
		return;
	}
	CHECK(listen_is(TAILQ_FIRST(&conf->listen), AF_INET, "127.0.0.1",
	    8080, 0), "lexical: continued listen statement");
	CHECK(strcmp(conf->public_url, "https://mcp.example.org") == 0,
	    "lexical: single quotes");
	CHECK(strcmp(conf->forgejo_client_id, "12345") == 0,
	    "lexical: a number where a string is expected");
	CHECK(strcmp(conf->forgejo_scope, "a \"quoted\" \\ scope") == 0,
	    "lexical: escapes in quoted strings");
	CHECK(conf->mcp_argc == 3 && strcmp(conf->mcp_argv[1], "--transport")
	    == 0 && strcmp(conf->mcp_argv[2], "stdio") == 0,
	    "lexical: unquoted words across continued lines");
	free_config(conf);

	writefile("lex-quote.conf", 0600, "%sforgejo scope \"open\n",
	    required_but(NULL));
	CHECK(rejected("lex-quote.conf",
	    "lex-quote.conf:7: unterminated quoted string"),
	    "lexical: unterminated quoted string");
	CHECK(!logged("syntax error"), "lexical: reported once");
}

/* print_config shows every default, hides the secret, and reads back. */
static void
test_print(void)
{
	struct brokerd_conf	*conf, *conf2;

	writefile("print.conf", 0600, "%s"
	    "forgejo scope \"we\\\"ird\"\n"
	    "listen on \"::1\" port 8443 tls\n"
	    "tls certificate \"/etc/ssl/a b.crt\"\n"
	    "tls key \"/etc/ssl/private/a.key\"\n",
	    required_but("forgejo client secret"));
	/* Append the secret inline; the file is private, so no warning. */
	{
		FILE	*fp;

		if ((fp = fopen(path("print.conf"), "a")) == NULL) {
			perror("print.conf");
			exit(1);
		}
		fprintf(fp, "forgejo client secret \"inline-Secret\"\n");
		fclose(fp);
	}
	conf = parse("print.conf");
	CHECK(conf != NULL && !logged("warning"),
	    "print: inline secret in a private file, no warning");
	if (conf == NULL) {
		printf("# %s", captured);
		return;
	}
	print_to(conf, "printed.conf");
	CHECK(strstr(printed, "inline-Secret") == NULL &&
	    strstr(printed, "forgejo client secret \"********\"\n") != NULL,
	    "print: secret replaced by ********");
	CHECK(strstr(printed, "database \"" BROKERD_DATABASE "\"\n") != NULL &&
	    strstr(printed, "user \"" BROKERD_USER "\"\n") != NULL &&
	    strstr(printed, "chroot \"" BROKERD_CHROOT "\"\n") != NULL &&
	    strstr(printed, "mcp max sessions 256\n") != NULL &&
	    strstr(printed, "mcp max sessions per user 8\n") != NULL &&
	    strstr(printed, "mcp idle timeout 900\n") != NULL &&
	    strstr(printed, "token access lifetime 3600\n") != NULL &&
	    strstr(printed, "token refresh lifetime 2592000\n") != NULL,
	    "print: defaults made explicit");
	CHECK(strstr(printed, "listen on 127.0.0.1 port 8080\n") != NULL &&
	    strstr(printed, "listen on ::1 port 8443 tls\n") != NULL,
	    "print: listen statements");
	(void)chmod(path("printed.conf"), 0600);
	conf2 = parse("printed.conf");
	CHECK(conf2 != NULL, "print: the output parses");
	if (conf2 != NULL) {
		CHECK(strcmp(conf2->forgejo_scope, "we\"ird") == 0 &&
		    strcmp(conf2->tls_cert, "/etc/ssl/a b.crt") == 0 &&
		    strcmp(conf2->public_url, conf->public_url) == 0 &&
		    conf2->mcp_argc == conf->mcp_argc &&
		    conf2->token_refresh_lifetime ==
		    conf->token_refresh_lifetime,
		    "print: the output reads back the same");
		free_config(conf2);
	}
	free_config(conf);

	writefile("print2.conf", 0600, "%s", required_but(NULL));
	conf = parse("print2.conf");
	if (conf != NULL) {
		print_to(conf, "printed2.conf");
		free_config(conf);
	}
	CHECK(strstr(printed, "forgejo client secret file \"") != NULL &&
	    strstr(printed, "s3cret") == NULL &&
	    strstr(printed, "forgejo scope \"\"\n") != NULL,
	    "print: secret file kept as a file, empty scope shown");
	conf = parse("printed2.conf");
	CHECK(conf != NULL && strcmp(conf->forgejo_client_secret,
	    "s3cret-Value_1") == 0, "print: secret file output reads back");
	free_config(conf);
}

/* The mcp command and its arguments: MCP_ARGS_MAX words, and no more. */
static void
test_args(void)
{
	struct brokerd_conf	*conf;
	char			 args[MCP_ARGS_MAX * 8], last[16];
	int			 i;

	args[0] = '\0';
	for (i = 1; i < MCP_ARGS_MAX; i++) {
		(void)snprintf(args + strlen(args), sizeof(args) - strlen(args),
		    " %d", i);
	}
	writefile("maxargs.conf", 0600, "%smcp command \"/bin/x\"%s\n",
	    required_but("mcp command"), args);
	conf = parse("maxargs.conf");
	(void)snprintf(last, sizeof(last), "%d", MCP_ARGS_MAX - 1);
	CHECK(conf != NULL && conf->mcp_argc == MCP_ARGS_MAX &&
	    strcmp(conf->mcp_argv[MCP_ARGS_MAX - 1], last) == 0 &&
	    conf->mcp_argv[MCP_ARGS_MAX] == NULL,
	    "args: %d words of mcp command accepted", MCP_ARGS_MAX);
	free_config(conf);

	writefile("manyargs.conf", 0600, "%smcp command \"/bin/x\"%s x\n",
	    required_but("mcp command"), args);
	CHECK(rejected("manyargs.conf", "manyargs.conf:6: mcp command: too "
	    "many arguments"), "args: too many mcp arguments");
}

static void
test_errors(void)
{
	writefile("unknown.conf", 0600, "%slisen on 127.0.0.1 port 80\n",
	    required_but(NULL));
	CHECK(rejected("unknown.conf", "unknown.conf:7: unknown keyword "
	    "\"lisen\""), "errors: unknown keyword");
	writefile("unknown2.conf", 0600, "lisen\n%s", required_but(NULL));
	CHECK(rejected("unknown2.conf", "unknown2.conf:1: unknown keyword "
	    "\"lisen\""), "errors: unknown keyword alone on its line");

	writefile("syntax.conf", 0600, "%slisten at 127.0.0.1 port 80\n",
	    required_but(NULL));
	CHECK(rejected("syntax.conf", "syntax.conf:7: syntax error"),
	    "errors: syntax error");

	writefile("port0.conf", 0600, "%slisten on 127.0.0.1 port 0\n",
	    required_but("listen"));
	CHECK(rejected("port0.conf", "port0.conf:6: port 0 out of range"),
	    "errors: port 0");
	writefile("port70000.conf", 0600, "listen on 127.0.0.1 port 70000\n%s",
	    required_but("listen"));
	CHECK(rejected("port70000.conf",
	    "port70000.conf:1: port 70000 out of range"),
	    "errors: port 70000");
	writefile("portabc.conf", 0600, "\nlisten on 127.0.0.1 port abc\n%s",
	    required_but("listen"));
	CHECK(rejected("portabc.conf", "portabc.conf:2: invalid port \"abc\""),
	    "errors: port abc");
	writefile("porthuge.conf", 0600,
	    "listen on 127.0.0.1 port 99999999999999999999999\n%s",
	    required_but("listen"));
	CHECK(rejected("porthuge.conf", "porthuge.conf:1: number "),
	    "errors: port beyond long long");

	writefile("twoerrors.conf", 0600, "%slisen 1\nlisten on 127.0.0.1 "
	    "port 0\n", required_but(NULL));
	CHECK(rejected("twoerrors.conf",
	    "twoerrors.conf:7: unknown keyword") &&
	    logged("twoerrors.conf:8: port 0 out of range"),
	    "errors: every error is reported");

	writefile("dup.conf", 0600, "%spublic url \"https://other.example\"\n",
	    required_but(NULL));
	CHECK(rejected("dup.conf", "dup.conf:7: duplicate \"public url\" "
	    "statement, first at "), "errors: duplicate statement");
	writefile("duplisten.conf", 0600, "%slisten on 127.0.0.1 port 8080\n",
	    required_but(NULL));
	CHECK(rejected("duplisten.conf", "duplisten.conf:7: listen on "
	    "127.0.0.1 port 8080"), "errors: duplicate listen address");
	writefile("badhost.conf", 0600, "%slisten on no.such.host.invalid "
	    "port 80\n", required_but(NULL));
	CHECK(rejected("badhost.conf", "badhost.conf:7: listen on "
	    "no.such.host.invalid"), "errors: unresolvable listen address");

	writefile("reldb.conf", 0600, "%sdatabase \"brokerd.db\"\n",
	    required_but(NULL));
	CHECK(rejected("reldb.conf", "reldb.conf:7: database \"brokerd.db\": "
	    "not an absolute path"), "errors: relative database");
	writefile("relchroot.conf", 0600, "%schroot \"var/empty\"\n",
	    required_but(NULL));
	CHECK(rejected("relchroot.conf", "relchroot.conf:7: chroot"),
	    "errors: relative chroot");
	writefile("relcmd.conf", 0600, "%s", required_but("mcp command"));
	{
		FILE	*fp;

		if ((fp = fopen(path("relcmd.conf"), "a")) != NULL) {
			fprintf(fp, "mcp command \"forgejo-mcp\"\n");
			fclose(fp);
		}
	}
	CHECK(rejected("relcmd.conf", "relcmd.conf:6: mcp command "
	    "\"forgejo-mcp\": not an absolute path"),
	    "errors: relative mcp command");

	writefile("emptyuser.conf", 0600, "%suser \"\"\n", required_but(NULL));
	CHECK(rejected("emptyuser.conf",
	    "emptyuser.conf:7: user: empty value"),
	    "errors: empty user");
	writefile("macroname.conf", 0600, "%sa.b = \"x\"\n",
	    required_but(NULL));
	CHECK(rejected("macroname.conf",
	    "macroname.conf:7: invalid macro name"),
	    "errors: invalid macro name");
	writefile("undef.conf", 0600, "%sforgejo scope $nope\n",
	    required_but(NULL));
	CHECK(rejected("undef.conf",
	    "undef.conf:7: macro \"nope\" not defined"),
	    "errors: undefined macro");
	CHECK(!logged("syntax error"),
	    "errors: undefined macro reported once");

	CHECK(rejected("does-not-exist.conf",
	    "does-not-exist.conf: No such file or directory"),
	    "errors: missing configuration file");
}

static void
test_required(void)
{
	const char	*req[] = {
		"public url", "forgejo url", "forgejo client id",
		"forgejo client secret", "mcp command", "listen"
	};
	char		 msg[128];
	size_t		 i;

	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		writefile("missing.conf", 0600, "%s", required_but(req[i]));
		(void)snprintf(msg, sizeof(msg),
		    "missing.conf: no \"%s\" statement", req[i]);
		CHECK(rejected("missing.conf", msg), "required: %s", msg);
	}

	writefile("tlsnocert.conf", 0600, "%s", required_but("listen"));
	{
		FILE	*fp;

		if ((fp = fopen(path("tlsnocert.conf"), "a")) != NULL) {
			fprintf(fp, "listen on 127.0.0.1 port 8443 tls\n");
			fclose(fp);
		}
	}
	CHECK(rejected("tlsnocert.conf",
	    "tlsnocert.conf: no \"tls certificate\" statement"),
	    "required: tls certificate for a tls listener");
	CHECK(logged("tlsnocert.conf: no \"tls key\" statement"),
	    "required: tls key for a tls listener");
	writefile("tlsnokey.conf", 0600, "%stls certificate \"/c\"\n",
	    required_but(NULL));
	CHECK(rejected("tlsnokey.conf", "tlsnokey.conf: no \"tls key\""),
	    "required: tls key with a certificate");
}

static void
test_urls(void)
{
	struct brokerd_conf	*conf;
	const char		*good[] = {
		"http://127.0.0.1:8080", "http://127.1.2.3",
		"http://localhost:8080/", "http://[::1]:8080",
		"https://mcp.example.org:8443/broker/"
	};
	const char		*stored[] = {
		"http://127.0.0.1:8080", "http://127.1.2.3",
		"http://localhost:8080", "http://[::1]:8080",
		"https://mcp.example.org:8443/broker"
	};
	const char		*bad[] = {
		"http://mcp.example.org", "http://128.0.0.1",
		"ftp://mcp.example.org", "https://mcp.example.org/?a=b",
		"https://mcp.example.org/#top", "https://user@mcp.example.org",
		"https://", "https://mcp.example.org:0",
		"https://mcp.example.org:99999", "https://mcp.example.org:x",
		"https://[::1", "https://[zz]", "https://mcp example.org",
		"mcp.example.org"
	};
	size_t			 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		writefile("url.conf", 0600, "%spublic url \"%s\"\n",
		    required_but("public url"), good[i]);
		conf = parse("url.conf");
		CHECK(conf != NULL && strcmp(conf->public_url, stored[i]) == 0,
		    "urls: public url %s accepted", good[i]);
		free_config(conf);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		writefile("url.conf", 0600, "%spublic url \"%s\"\n",
		    required_but("public url"), bad[i]);
		CHECK(rejected("url.conf", "url.conf:6: public url"),
		    "urls: public url %s refused", bad[i]);
	}
	CHECK(logged("url.conf:6: public url \"mcp.example.org\": not an "
	    "http or https url"), "urls: message says what is wrong");

	writefile("url.conf", 0600, "%s"
	    "public url \"http://mcp.example.org\"\n",
	    required_but("public url"));
	CHECK(rejected("url.conf", "http is allowed only on a loopback host"),
	    "urls: http public url on a non-loopback host");

	writefile("furl.conf", 0600, "%s"
	    "forgejo url \"http://forgejo:3000/\"\n",
	    required_but("forgejo url"));
	conf = parse("furl.conf");
	CHECK(conf != NULL && strcmp(conf->forgejo_url,
	    "http://forgejo:3000") == 0, "urls: http forgejo url allowed");
	free_config(conf);
	writefile("furl.conf", 0600, "%sforgejo url \"forgejo.example.org\"\n",
	    required_but("forgejo url"));
	CHECK(rejected("furl.conf", "furl.conf:6: forgejo url"),
	    "urls: forgejo url without scheme refused");
}

static void
test_secrets(void)
{
	struct brokerd_conf	*conf;

	writefile("secret644", 0644, "s3cret\n");
	secret_conf("sec644.conf", "secret644");
	CHECK(rejected("sec644.conf", "sec644.conf:6: "),
	    "secrets: world-readable secret file names file:line");
	CHECK(logged("secret644: secret file is readable by group or others"),
	    "secrets: world-readable secret file message");

	writefile("secret640", 0640, "s3cret\n");
	secret_conf("sec640.conf", "secret640");
	CHECK(rejected("sec640.conf", "readable by group or others"),
	    "secrets: group-readable secret file refused");

	secret_conf("secnone.conf", "no-secret");
	CHECK(rejected("secnone.conf", "secnone.conf:6: "),
	    "secrets: missing secret file");
	CHECK(logged("no-secret: No such file or directory"),
	    "secrets: missing secret file message");

	writefile("secret-empty", 0600, "\n");
	secret_conf("secempty.conf", "secret-empty");
	CHECK(rejected("secempty.conf", "secret file is empty"),
	    "secrets: empty secret file");

	writefile("secret-crlf", 0600, "crlf-secret\r\nmore\n");
	secret_conf("seccrlf.conf", "secret-crlf");
	conf = parse("seccrlf.conf");
	CHECK(conf != NULL && strcmp(conf->forgejo_client_secret,
	    "crlf-secret") == 0, "secrets: CRLF stripped");
	free_config(conf);

	writefile("secret-nonl", 0600, "no-newline");
	secret_conf("secnonl.conf", "secret-nonl");
	conf = parse("secnonl.conf");
	CHECK(conf != NULL && strcmp(conf->forgejo_client_secret,
	    "no-newline") == 0, "secrets: file without a newline");
	free_config(conf);

	writefile("secinline.conf", 0644, "%sforgejo client secret \"abc\"\n",
	    required_but("forgejo client secret"));
	conf = parse("secinline.conf");
	CHECK(conf != NULL && strcmp(conf->forgejo_client_secret, "abc") == 0,
	    "secrets: inline secret in a readable file accepted");
	CHECK(logged("secinline.conf:6: warning: "),
	    "secrets: inline secret in a readable file warned about");
	free_config(conf);

	writefile("secboth.conf", 0600, "%sforgejo client secret \"abc\"\n",
	    required_but(NULL));
	CHECK(rejected("secboth.conf", "secboth.conf:7: duplicate "
	    "\"forgejo client secret\""), "secrets: secret given twice");
}

static void
test_numbers(void)
{
	struct {
		const char	*stmt;
		const char	*value;
		int		 ok;
	} t[] = {
		{ "mcp max sessions", "1", 1 },
		{ "mcp max sessions", "100000", 1 },
		{ "mcp max sessions", "0", 0 },
		{ "mcp max sessions", "100001", 0 },
		{ "mcp max sessions", "many", 0 },
		{ "mcp max sessions per user", "0", 0 },
		{ "mcp idle timeout", "315360000", 1 },
		{ "mcp idle timeout", "315360001", 0 },
		{ "mcp idle timeout", "-1", 0 },
		{ "token access lifetime", "0", 0 },
		{ "token refresh lifetime", "315360001", 0 },
	};
	struct brokerd_conf	*conf;
	char			 msg[128];
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		writefile("num.conf", 0600, "%s%s %s\n", required_but(NULL),
		    t[i].stmt, t[i].value);
		if (t[i].ok) {
			conf = parse("num.conf");
			CHECK(conf != NULL, "numbers: %s %s", t[i].stmt,
			    t[i].value);
			free_config(conf);
			continue;
		}
		if (strcmp(t[i].value, "many") == 0)
			(void)snprintf(msg, sizeof(msg),
			    "num.conf:7: \"many\" is not a number");
		else
			(void)snprintf(msg, sizeof(msg),
			    "num.conf:7: %s %s out of range", t[i].stmt,
			    t[i].value);
		CHECK(rejected("num.conf", msg), "numbers: %s %s refused",
		    t[i].stmt, t[i].value);
	}

	writefile("life.conf", 0600, "%stoken refresh lifetime 600\n"
	    "token access lifetime 3600\n", required_but(NULL));
	CHECK(rejected("life.conf", "life.conf:7: token refresh lifetime 600 "
	    "is shorter than token access lifetime 3600"),
	    "numbers: refresh lifetime shorter than access lifetime");
	writefile("life2.conf", 0600, "%stoken access lifetime 3000000\n",
	    required_but(NULL));
	CHECK(rejected("life2.conf", "life2.conf:7: token refresh lifetime "),
	    "numbers: access lifetime above the default refresh lifetime");
	writefile("peruser.conf", 0600, "%smcp max sessions 4\n"
	    "mcp max sessions per user 5\n", required_but(NULL));
	CHECK(rejected("peruser.conf", "peruser.conf:8: mcp max sessions per "
	    "user 5 exceeds mcp max sessions 4"),
	    "numbers: per user limit above the total");
}

/*
 * etc/brokerd.conf parses once its secret file exists; run from the top
 * of the source tree, as make does.  The macro persists, so this runs
 * last.
 */
static void
test_example(void)
{
	struct brokerd_conf	*conf;
	char			 def[PATH_MAX + 16];

	if (access("etc/brokerd.conf", R_OK) == -1) {
		CHECK(1, "example: etc/brokerd.conf # SKIP not in the source "
		    "tree");
		return;
	}
	(void)snprintf(def, sizeof(def), "secret_file=%s", path("secret"));
	CHECK(cmdline_symset(def) == 0, "example: -D secret_file");
	conf = parse_config("etc/brokerd.conf");
	CHECK(conf != NULL, "example: etc/brokerd.conf parses");
	if (conf != NULL) {
		CHECK(strcmp(conf->public_url,
		    "https://mcp.example.org") == 0 &&
		    strcmp(conf->forgejo_client_secret,
		    "s3cret-Value_1") == 0 &&
		    conf->mcp_argc == 3 && TAILQ_FIRST(&conf->listen)->tls,
		    "example: etc/brokerd.conf values");
		free_config(conf);
	}
}

int
main(void)
{
	log_init(1, LOG_DAEMON);
	log_procinit("parse_test");

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	writefile("secret", 0600, "s3cret-Value_1\nsecond line\n");

	test_full();
	test_defaults();
	test_macros();
	test_include();
	test_lexical();
	test_print();
	test_errors();
	test_args();
	test_required();
	test_urls();
	test_secrets();
	test_numbers();
	test_example();

	if (!regress_failed) {
		char	 cmd[PATH_MAX + 16];

		(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		(void)system(cmd);
	} else
		printf("# files left in %s\n", tmpdir);
	return regress_done();
}
