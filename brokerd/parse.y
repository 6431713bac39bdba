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
 * brokerd.conf(5): one statement per line, '#' comments, '\' line
 * continuation, macros (name = "value", $name) and include "file".
 *
 * The lexer reads through a stack of files, each with its own unget
 * buffer.  A macro is expanded by pushing its value back onto that
 * buffer between two markers; while the lexer reads between them, '$'
 * is not expanded again, so a macro never expands recursively.
 * Line numbers advance when the first character after a newline is
 * read, so an error found while reducing a statement, which ends at its
 * newline, names the line the statement is on.
 *
 * Every string the lexer returns is kept in a list that is zeroed and
 * freed when the parse ends: the grammar copies what it keeps, and
 * nothing leaks when error recovery drops tokens.
 */

%{
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "brokerd.h"
#include "log.h"

#define LEX_BUFSIZE	8192		/* longest word or quoted string */
#define UNGET_MAX	(LEX_BUFSIZE + 16)
#define INCLUDE_DEPTH	16
#define EXPAND_START	0x100		/* markers around a macro value */
#define EXPAND_DONE	0x101

static TAILQ_HEAD(files, file)	 files = TAILQ_HEAD_INITIALIZER(files);
struct file {
	TAILQ_ENTRY(file)	 entry;
	FILE			*stream;
	char			*name;
	int			 lineno;
	int			 nl;		/* last char read was '\n' */
	int			 lastc;
	int			 eof;
	int			 expanding;	/* reading a macro value */
	int			*unget;
	size_t			 nunget;
};
static struct file		*file, *topfile;

static TAILQ_HEAD(symhead, sym) symhead = TAILQ_HEAD_INITIALIZER(symhead);
struct sym {
	TAILQ_ENTRY(sym)	 entry;
	int			 used;
	int			 persist;	/* from -D: beats the file */
	char			*name;
	char			*value;
};

struct lexstr {
	SLIST_ENTRY(lexstr)	 entry;
	size_t			 len;
	char			 str[];
};
static SLIST_HEAD(, lexstr)	 lexstrs = SLIST_HEAD_INITIALIZER(lexstrs);

/* Statements that may appear only once, for duplicates and messages. */
enum stmt {
	ST_TLS_CERT,
	ST_TLS_KEY,
	ST_PUBLIC_URL,
	ST_DATABASE,
	ST_USER,
	ST_CHROOT,
	ST_FORGEJO_URL,
	ST_CLIENT_ID,
	ST_CLIENT_SECRET,
	ST_SCOPE,
	ST_REFRESH_MARGIN,
	ST_MCP_COMMAND,
	ST_MAX_SESSIONS,
	ST_MAX_PER_USER,
	ST_IDLE_TIMEOUT,
	ST_ACCESS_LIFETIME,
	ST_REFRESH_LIFETIME,
	ST_REFRESH_GRACE,
	ST_CLIENT_PRUNE,
	ST_REGISTER_RATE,
	ST_MCP_HOME,
	ST_LIMIT_DATA,
	ST_LIMIT_FILES,
	ST_LIMIT_PROCS,
	ST_LIMIT_CPU,
	ST_MAX_MESSAGE,
	ST_MAX
};

static const char *stmt_names[ST_MAX] = {
	"tls certificate",
	"tls key",
	"public url",
	"database",
	"user",
	"chroot",
	"forgejo url",
	"forgejo client id",
	"forgejo client secret",
	"forgejo scope",
	"forgejo refresh margin",
	"mcp command",
	"mcp max sessions",
	"mcp max sessions per user",
	"mcp idle timeout",
	"token access lifetime",
	"token refresh lifetime",
	"token refresh grace",
	"client prune after",
	"register rate limit",
	"mcp home",
	"mcp limit data",
	"mcp limit files",
	"mcp limit processes",
	"mcp limit cpu",
	"mcp max message",
};

static struct brokerd_conf	*new_conf;
static const char		*conffile;
static char			*seen[ST_MAX];	/* "file:line" of each */
static int			 errors;

static char			 lexbuf[LEX_BUFSIZE];
static int			 lex_word;	/* STRING was not quoted */
static int			 lex_failed;	/* lex() reported an error */
static int			 stmt_start = 1;
static int			 stmt_ntok;
static char			 stmt_word[64];	/* first word, if unknown */

static char			*mcpargs[MCP_ARGS_MAX];
static int			 nmcpargs;

typedef struct {
	union {
		long long	 number;
		char		*string;
	} v;
} YYSTYPE;
#define YYSTYPE_IS_DECLARED	1

/* byacc declares yyerror from this; OpenBSD yacc ignores it. */
#define YYERROR_DECL()	yyerror(const char *fmt, ...)

int		 yyparse(void);
int		 yylex(void);
int		 yyerror(const char *, ...)
		    __attribute__((__format__ (printf, 1, 2)));

static void	 conferr(const char *, const char *, va_list)
		    __attribute__((__format__ (printf, 2, 0)));
static void	 conferr_at(const char *, const char *, ...)
		    __attribute__((__format__ (printf, 2, 3)));
static int	 kw_cmp(const void *, const void *);
static int	 lookup(const char *);
static int	 rawgetc(void);
static int	 lgetc(int);
static int	 lungetc(int);
static int	 findeol(void);
static int	 lex(void);
static int	 allowed_in_word(int);
static int	 is_number(const char *);
static char	*savestr(const char *);
static struct file *pushfile(const char *);
static int	 popfile(void);
static void	 include_file(const char *);
static int	 symset(const char *, const char *, int);
static char	*symget(const char *);
static void	 symfree(struct sym *);
static int	 valid_macro_name(const char *);
static int	 expand(const char *);

static int	 once(enum stmt);
static int	 setstr(char *, size_t, const char *, const char *, int);
static int	 setpath(char *, size_t, const char *, const char *);
static int	 setnum(uint32_t *, long long, long long, long long,
		    const char *, enum stmt);
static int	 has_ctrl(const char *, int);
static int	 add_listen(const char *, long long, int);
static int	 is_loopback(const char *);
static int	 check_url(const char *, char *, size_t, const char *, int);
static int	 set_secret(const char *, const char *);
static void	 warn_secret_in_conf(void);
static int	 check_file_secrecy(int, const char *);
static int	 read_secret_file(const char *);
static void	 set_command(const char *);
static void	 add_string(const char *, char **, int *, int, const char *,
		    int);
static void	 check_config(void);
static void	 printq(const char *);
static void	 printword(const char *);
%}

%token	ACCESS AFTER CERTIFICATE CHROOT CLIENT COMMAND DATABASE FILENAME FORGEJO
%token	GRACE LIMIT MARGIN PRUNE RATE REGISTER
%token	ALLOW CPU DATA FILES HOME MESSAGE ORIGIN PATH PROCESSES
%token	ID IDLE INCLUDE KEY LIFETIME LISTEN MAXIMUM MCP ON PER PORT PUBLIC
%token	REFRESH SCOPE SECRET SESSIONS TIMEOUT TLS TOKEN URL USER
%token	ERROR
%token	<v.string>	STRING
%token	<v.number>	NUMBER
%type	<v.string>	string
%type	<v.number>	port number opttls

%%

grammar		: /* empty */
		| grammar '\n'
		| grammar include
		| grammar varset '\n'
		| grammar main '\n'
		| grammar error '\n'		{ yyerrok; }
		;

/*
 * The newline is part of the rule, so the new file is pushed after it
 * has been read and the next token comes from the included file.
 */
include		: INCLUDE STRING '\n'		{ include_file($2); }
		;

string		: STRING
		| NUMBER {
			char	buf[32];

			(void)snprintf(buf, sizeof(buf), "%lld", $1);
			$$ = savestr(buf);
		}
		;

number		: NUMBER
		| STRING {
			yyerror("\"%s\" is not a number", $1);
			YYERROR;
		}
		;

port		: NUMBER {
			if ($1 < 1 || $1 > 65535) {
				yyerror("port %lld out of range", $1);
				YYERROR;
			}
			$$ = $1;
		}
		| STRING {
			yyerror("invalid port \"%s\"", $1);
			YYERROR;
		}
		;

opttls		: /* empty */			{ $$ = 0; }
		| TLS				{ $$ = 1; }
		;

varset		: STRING '=' string {
			if (!valid_macro_name($1))
				yyerror("invalid macro name \"%s\"", $1);
			else if (symset($1, $3, 0) == -1)
				fatal("%s", __func__);
		}
		;

mcpargs		: /* empty */			{ nmcpargs = 0; }
		| mcpargs string {
			if (nmcpargs < MCP_ARGS_MAX)
				mcpargs[nmcpargs] = $2;
			nmcpargs++;
		}
		;

main		: LISTEN ON string PORT port opttls {
			(void)add_listen($3, $5, $6);
		}
		| TLS CERTIFICATE STRING {
			if (once(ST_TLS_CERT) == 0)
				(void)setstr(new_conf->tls_cert,
				    sizeof(new_conf->tls_cert), $3,
				    "tls certificate", 0);
		}
		| TLS KEY STRING {
			if (once(ST_TLS_KEY) == 0)
				(void)setstr(new_conf->tls_key,
				    sizeof(new_conf->tls_key), $3,
				    "tls key", 0);
		}
		| PUBLIC URL STRING {
			if (once(ST_PUBLIC_URL) == 0)
				(void)check_url($3, new_conf->public_url,
				    sizeof(new_conf->public_url),
				    "public url", 1);
		}
		| DATABASE STRING {
			if (once(ST_DATABASE) == 0)
				(void)setpath(new_conf->database,
				    sizeof(new_conf->database), $2,
				    "database");
		}
		| USER STRING {
			if (once(ST_USER) == 0)
				(void)setstr(new_conf->user,
				    sizeof(new_conf->user), $2, "user", 1);
		}
		| CHROOT STRING {
			if (once(ST_CHROOT) == 0)
				(void)setpath(new_conf->chroot,
				    sizeof(new_conf->chroot), $2, "chroot");
		}
		| FORGEJO URL STRING {
			if (once(ST_FORGEJO_URL) == 0)
				(void)check_url($3, new_conf->forgejo_url,
				    sizeof(new_conf->forgejo_url),
				    "forgejo url", 0);
		}
		| FORGEJO CLIENT ID string {
			if (once(ST_CLIENT_ID) == 0)
				(void)setstr(new_conf->forgejo_client_id,
				    sizeof(new_conf->forgejo_client_id), $4,
				    "forgejo client id", 1);
		}
		| FORGEJO CLIENT SECRET string {
			if (once(ST_CLIENT_SECRET) == 0 &&
			    set_secret($4, "forgejo client secret") == 0)
				warn_secret_in_conf();
		}
		| FORGEJO CLIENT SECRET FILENAME STRING {
			if (once(ST_CLIENT_SECRET) == 0 &&
			    setstr(new_conf->forgejo_client_secret_file,
			    sizeof(new_conf->forgejo_client_secret_file), $5,
			    "forgejo client secret file", 0) == 0)
				(void)read_secret_file($5);
		}
		| FORGEJO SCOPE STRING {
			if (once(ST_SCOPE) == 0) {
				if (has_ctrl($3, 0))
					yyerror("forgejo scope: invalid "
					    "character");
				else if (strlcpy(new_conf->forgejo_scope, $3,
				    sizeof(new_conf->forgejo_scope)) >=
				    sizeof(new_conf->forgejo_scope))
					yyerror("forgejo scope too long");
			}
		}
		| FORGEJO REFRESH MARGIN number {
			(void)setnum(&new_conf->forgejo_refresh_margin, $4, 1,
			    CONF_MARGIN_MAX, "forgejo refresh margin",
			    ST_REFRESH_MARGIN);
		}
		| MCP COMMAND STRING mcpargs {
			if (once(ST_MCP_COMMAND) == 0)
				set_command($3);
		}
		| MCP PATH STRING {
			add_string($3, new_conf->mcp_paths,
			    &new_conf->mcp_npaths, MCP_PATHS_MAX, "mcp path", 1);
		}
		| MCP HOME STRING {
			if (once(ST_MCP_HOME) == 0) {
				if ($3[0] != '/')
					yyerror("mcp home \"%s\": not an absolute "
					    "path", $3);
				else if (strlcpy(new_conf->mcp_home, $3,
				    sizeof(new_conf->mcp_home)) >=
				    sizeof(new_conf->mcp_home))
					yyerror("mcp home too long");
			}
		}
		| MCP ALLOW ORIGIN STRING {
			add_string($4, new_conf->mcp_origins,
			    &new_conf->mcp_norigins, MCP_ORIGINS_MAX,
			    "mcp allow origin", 0);
		}
		| MCP LIMIT DATA number {
			(void)setnum(&new_conf->mcp_limit_data, $4, 16,
			    1024 * 1024, "mcp limit data", ST_LIMIT_DATA);
		}
		| MCP LIMIT FILES number {
			(void)setnum(&new_conf->mcp_limit_files, $4, 16,
			    65536, "mcp limit files", ST_LIMIT_FILES);
		}
		| MCP LIMIT PROCESSES number {
			(void)setnum(&new_conf->mcp_limit_procs, $4, 1,
			    CONF_SESSIONS_MAX, "mcp limit processes",
			    ST_LIMIT_PROCS);
		}
		| MCP LIMIT CPU number {
			(void)setnum(&new_conf->mcp_limit_cpu, $4, 1,
			    CONF_SECONDS_MAX, "mcp limit cpu", ST_LIMIT_CPU);
		}
		| MCP MAXIMUM MESSAGE number {
			(void)setnum(&new_conf->mcp_max_message, $4, 1024,
			    64 * 1024 * 1024, "mcp max message",
			    ST_MAX_MESSAGE);
		}
		| MCP MAXIMUM SESSIONS number {
			(void)setnum(&new_conf->mcp_max_sessions, $4, 1,
			    CONF_SESSIONS_MAX, "mcp max sessions",
			    ST_MAX_SESSIONS);
		}
		| MCP MAXIMUM SESSIONS PER USER number {
			(void)setnum(&new_conf->mcp_max_sessions_per_user,
			    $6, 1, CONF_SESSIONS_MAX,
			    "mcp max sessions per user", ST_MAX_PER_USER);
		}
		| MCP IDLE TIMEOUT number {
			(void)setnum(&new_conf->mcp_idle_timeout, $4, 1,
			    CONF_SECONDS_MAX, "mcp idle timeout",
			    ST_IDLE_TIMEOUT);
		}
		| TOKEN ACCESS LIFETIME number {
			(void)setnum(&new_conf->token_access_lifetime, $4, 1,
			    CONF_SECONDS_MAX, "token access lifetime",
			    ST_ACCESS_LIFETIME);
		}
		| TOKEN REFRESH LIFETIME number {
			(void)setnum(&new_conf->token_refresh_lifetime, $4, 1,
			    CONF_SECONDS_MAX, "token refresh lifetime",
			    ST_REFRESH_LIFETIME);
		}
		| TOKEN REFRESH GRACE number {
			(void)setnum(&new_conf->token_refresh_grace, $4, 0,
			    CONF_GRACE_MAX, "token refresh grace",
			    ST_REFRESH_GRACE);
		}
		| CLIENT PRUNE AFTER number {
			(void)setnum(&new_conf->client_prune_after, $4, 60,
			    CONF_SECONDS_MAX, "client prune after",
			    ST_CLIENT_PRUNE);
		}
		| REGISTER RATE LIMIT number {
			(void)setnum(&new_conf->register_rate_limit, $4, 1,
			    CONF_SESSIONS_MAX, "register rate limit",
			    ST_REGISTER_RATE);
		}
		;

%%

struct keywords {
	const char	*k_name;
	int		 k_val;
};

static void
conferr(const char *where, const char *fmt, va_list ap)
{
	char	*msg;

	errors++;
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("%s", __func__);
	log_warnx("%s: %s", where, msg);
	free(msg);
}

static void
conferr_at(const char *where, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conferr(where, fmt, ap);
	va_end(ap);
}

/*
 * Report an error at the current line, or naming only the main file
 * once it has been read.  A syntax error right after an unknown first
 * word is reported as such, and one caused by a token the lexer has
 * already complained about is not reported twice.
 */
int
yyerror(const char *fmt, ...)
{
	va_list	 ap;
	char	 where[PATH_MAX + 16];

	if (file != NULL)
		(void)snprintf(where, sizeof(where), "%s:%d", file->name,
		    file->lineno);
	else
		(void)strlcpy(where, conffile, sizeof(where));

	if (strcmp(fmt, "syntax error") == 0) {
		if (lex_failed)
			return 0;
		if (stmt_ntok == 2 && stmt_word[0] != '\0') {
			conferr_at(where, "unknown keyword \"%s\"", stmt_word);
			return 0;
		}
	}
	va_start(ap, fmt);
	conferr(where, fmt, ap);
	va_end(ap);
	return 0;
}

static int
kw_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct keywords *)e)->k_name);
}

static int
lookup(const char *s)
{
	/* This table must be sorted. */
	static const struct keywords keywords[] = {
		{ "access",		ACCESS },
		{ "after",		AFTER },
		{ "allow",		ALLOW },
		{ "certificate",	CERTIFICATE },
		{ "chroot",		CHROOT },
		{ "client",		CLIENT },
		{ "command",		COMMAND },
		{ "cpu",		CPU },
		{ "data",		DATA },
		{ "database",		DATABASE },
		{ "file",		FILENAME },
		{ "files",		FILES },
		{ "forgejo",		FORGEJO },
		{ "grace",		GRACE },
		{ "home",		HOME },
		{ "id",			ID },
		{ "idle",		IDLE },
		{ "include",		INCLUDE },
		{ "key",		KEY },
		{ "lifetime",		LIFETIME },
		{ "limit",		LIMIT },
		{ "listen",		LISTEN },
		{ "margin",		MARGIN },
		{ "max",		MAXIMUM },
		{ "mcp",		MCP },
		{ "message",		MESSAGE },
		{ "on",			ON },
		{ "origin",		ORIGIN },
		{ "path",		PATH },
		{ "per",		PER },
		{ "port",		PORT },
		{ "processes",		PROCESSES },
		{ "prune",		PRUNE },
		{ "public",		PUBLIC },
		{ "rate",		RATE },
		{ "refresh",		REFRESH },
		{ "register",		REGISTER },
		{ "scope",		SCOPE },
		{ "secret",		SECRET },
		{ "sessions",		SESSIONS },
		{ "timeout",		TIMEOUT },
		{ "tls",		TLS },
		{ "token",		TOKEN },
		{ "url",		URL },
		{ "user",		USER }
	};
	const struct keywords	*p;

	p = bsearch(s, keywords, sizeof(keywords) / sizeof(keywords[0]),
	    sizeof(keywords[0]), kw_cmp);
	return p != NULL ? p->k_val : STRING;
}

/*
 * One character of the current file.  A file that does not end in a
 * newline gets one, so that its last statement is complete.
 */
static int
rawgetc(void)
{
	int	 c;

	if (file->eof)
		return EOF;
	if ((c = getc(file->stream)) == EOF) {
		if (ferror(file->stream))
			yyerror("read error: %s", strerror(errno));
		file->eof = 1;
		if (file->lastc != '\n') {
			file->lastc = '\n';
			return '\n';
		}
		return EOF;
	}
	if (file->nl) {
		file->lineno++;
		file->nl = 0;
	}
	if (c == '\n')
		file->nl = 1;
	file->lastc = c;
	return c;
}

/*
 * The next character: pushed back ones first, then the file.  Outside
 * quotes, a backslash before a newline joins the two lines.
 */
static int
lgetc(int quotec)
{
	int	 c, next;

	for (;;) {
		if (file->nunget > 0) {
			c = file->unget[--file->nunget];
			if (c == EXPAND_START) {
				file->expanding = 1;
				continue;
			}
			if (c == EXPAND_DONE) {
				file->expanding = 0;
				continue;
			}
			return c;
		}
		c = rawgetc();
		if (quotec == 0 && c == '\\') {
			if ((next = rawgetc()) == '\n')
				continue;
			(void)lungetc(next);
		}
		return c;
	}
}

static int
lungetc(int c)
{
	if (c == EOF)
		return c;
	if (file->nunget >= UNGET_MAX)
		return EOF;
	file->unget[file->nunget++] = c;
	return c;
}

/* Skip what is left of the line, but leave its newline for the parser. */
static int
findeol(void)
{
	int	 c;

	while ((c = lgetc(0)) != EOF && c != '\n')
		;
	(void)lungetc(c);
	return ERROR;
}

static int
allowed_in_word(int c)
{
	return c > ' ' && c < 0x7f && strchr("\"'#=(){}<>!,", c) == NULL;
}

static int
is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static char *
savestr(const char *s)
{
	struct lexstr	*ls;
	size_t		 len;

	len = strlen(s) + 1;
	if ((ls = malloc(sizeof(*ls) + len)) == NULL)
		fatal("%s", __func__);
	ls->len = len;
	memcpy(ls->str, s, len);
	SLIST_INSERT_HEAD(&lexstrs, ls, entry);
	return ls->str;
}

static int
lex(void)
{
	const char	*errstr;
	char		*p, *val;
	int		 c, next, quotec, tok;

top:
	p = lexbuf;
	while ((c = lgetc(0)) == ' ' || c == '\t')
		;
	if (c == '#')
		while ((c = lgetc(0)) != '\n' && c != EOF)
			;
	if (c == '$' && !file->expanding) {
		while ((c = lgetc(0)) != EOF &&
		    (isalnum((unsigned char)c) || c == '_')) {
			if (p + 1 >= lexbuf + sizeof(lexbuf)) {
				yyerror("macro name too long");
				return findeol();
			}
			*p++ = c;
		}
		*p = '\0';
		(void)lungetc(c);
		if (p == lexbuf) {
			yyerror("missing macro name after \"$\"");
			return findeol();
		}
		if ((val = symget(lexbuf)) == NULL) {
			yyerror("macro \"%s\" not defined", lexbuf);
			return findeol();
		}
		if (expand(val) == -1) {
			yyerror("macro \"%s\" too long", lexbuf);
			return findeol();
		}
		goto top;
	}

	switch (c) {
	case EOF:
		if (file == topfile)
			return 0;
		(void)popfile();
		goto top;
	case '\n':
	case '=':
		return c;
	case '\'':
	case '"':
		quotec = c;
		for (;;) {
			if ((c = lgetc(quotec)) == EOF || c == '\n') {
				yyerror("unterminated quoted string");
				(void)lungetc(c);
				return ERROR;
			}
			if (c == '\\') {
				next = lgetc(quotec);
				if (next == '\n')
					continue;
				if (next == quotec || next == '\\' ||
				    next == ' ' || next == '\t')
					c = next;
				else
					(void)lungetc(next);
			} else if (c == quotec)
				break;
			else if (c == '\0') {
				yyerror("nul byte in quoted string");
				return findeol();
			}
			if (p + 1 >= lexbuf + sizeof(lexbuf)) {
				yyerror("string too long");
				return findeol();
			}
			*p++ = c;
		}
		*p = '\0';
		yylval.v.string = savestr(lexbuf);
		return STRING;
	}

	if (!allowed_in_word(c)) {
		if (c > ' ' && c < 0x7f)
			return c;	/* a syntax error in the grammar */
		yyerror("invalid character 0x%02x", c);
		return findeol();
	}
	do {
		if (p + 1 >= lexbuf + sizeof(lexbuf)) {
			yyerror("string too long");
			return findeol();
		}
		*p++ = c;
	} while ((c = lgetc(0)) != EOF && allowed_in_word(c));
	(void)lungetc(c);
	*p = '\0';

	if (is_number(lexbuf)) {
		yylval.v.number = strtonum(lexbuf, LLONG_MIN, LLONG_MAX,
		    &errstr);
		if (errstr != NULL) {
			yyerror("number %s is %s", lexbuf, errstr);
			return findeol();
		}
		return NUMBER;
	}
	if ((tok = lookup(lexbuf)) != STRING)
		return tok;
	yylval.v.string = savestr(lexbuf);
	lex_word = 1;
	return STRING;
}

/* Keep track of the statement, for yyerror(). */
int
yylex(void)
{
	int	 tok;

	if (stmt_start) {
		stmt_start = 0;
		stmt_ntok = 0;
		stmt_word[0] = '\0';
	}
	lex_word = lex_failed = 0;
	tok = lex();
	if (tok == ERROR)
		lex_failed = 1;
	if (++stmt_ntok == 1 && tok == STRING && lex_word)
		(void)strlcpy(stmt_word, yylval.v.string, sizeof(stmt_word));
	if (tok == '\n' || tok == 0)
		stmt_start = 1;
	return tok;
}

static struct file *
pushfile(const char *name)
{
	struct file	*nfile;
	struct stat	 st;
	int		 saved_errno;

	if ((nfile = calloc(1, sizeof(*nfile))) == NULL)
		return NULL;
	if ((nfile->name = strdup(name)) == NULL ||
	    (nfile->unget = calloc(UNGET_MAX, sizeof(int))) == NULL)
		goto fail;
	if ((nfile->stream = fopen(name, "re")) == NULL)
		goto fail;
	if (fstat(fileno(nfile->stream), &st) == -1)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	nfile->lineno = 1;
	nfile->lastc = '\n';
	TAILQ_INSERT_TAIL(&files, nfile, entry);
	return nfile;
fail:
	saved_errno = errno;
	if (nfile->stream != NULL)
		fclose(nfile->stream);
	free(nfile->unget);
	free(nfile->name);
	free(nfile);
	errno = saved_errno;
	return NULL;
}

static int
popfile(void)
{
	struct file	*prev;

	prev = TAILQ_PREV(file, files, entry);
	TAILQ_REMOVE(&files, file, entry);
	fclose(file->stream);
	explicit_bzero(file->unget, UNGET_MAX * sizeof(int));
	free(file->unget);
	free(file->name);
	free(file);
	file = prev;
	return file != NULL ? 0 : -1;
}

/* A relative include is relative to the directory of the including file. */
static void
include_file(const char *name)
{
	struct file	*f, *nfile;
	const char	*slash;
	char		*path;
	int		 depth = 0;

	TAILQ_FOREACH(f, &files, entry)
		depth++;
	if (depth >= INCLUDE_DEPTH) {
		yyerror("include \"%s\": nested too deeply", name);
		return;
	}
	if (name[0] != '/' && (slash = strrchr(file->name, '/')) != NULL) {
		if (asprintf(&path, "%.*s/%s", (int)(slash - file->name),
		    file->name, name) == -1)
			fatal("%s", __func__);
	} else if ((path = strdup(name)) == NULL)
		fatal("%s", __func__);

	if ((nfile = pushfile(path)) == NULL)
		yyerror("%s: %s", path, strerror(errno));
	else
		file = nfile;
	free(path);
}

static int
valid_macro_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static void
symfree(struct sym *sym)
{
	free(sym->name);
	if (sym->value != NULL) {
		explicit_bzero(sym->value, strlen(sym->value));
		free(sym->value);
	}
	free(sym);
}

/* A macro of the command line (persist) wins over one of a file. */
static int
symset(const char *name, const char *value, int persist)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry)
		if (strcmp(name, sym->name) == 0)
			break;
	if (sym != NULL) {
		if (sym->persist && !persist)
			return 0;
		TAILQ_REMOVE(&symhead, sym, entry);
		symfree(sym);
	}
	if ((sym = calloc(1, sizeof(*sym))) == NULL)
		return -1;
	if ((sym->name = strdup(name)) == NULL ||
	    (sym->value = strdup(value)) == NULL) {
		symfree(sym);
		return -1;
	}
	sym->persist = persist;
	TAILQ_INSERT_TAIL(&symhead, sym, entry);
	return 0;
}

static char *
symget(const char *name)
{
	struct sym	*sym;

	TAILQ_FOREACH(sym, &symhead, entry)
		if (strcmp(name, sym->name) == 0) {
			sym->used = 1;
			return sym->value;
		}
	return NULL;
}

int
cmdline_symset(char *s)
{
	char	*name, *eq;
	int	 ret;

	if ((eq = strchr(s, '=')) == NULL)
		return -1;
	if ((name = strndup(s, eq - s)) == NULL)
		return -1;
	if (valid_macro_name(name))
		ret = symset(name, eq + 1, 1);
	else
		ret = -1;
	free(name);
	return ret;
}

/* Push a macro's value back, last character first, between markers. */
static int
expand(const char *val)
{
	size_t	 len;

	len = strlen(val);
	if (file->nunget + len + 2 > UNGET_MAX)
		return -1;
	(void)lungetc(EXPAND_DONE);
	while (len > 0)
		(void)lungetc((unsigned char)val[--len]);
	(void)lungetc(EXPAND_START);
	return 0;
}

/* Record where a single statement is, or report that it is repeated. */
static int
once(enum stmt st)
{
	char	*where;

	if (seen[st] != NULL) {
		yyerror("duplicate \"%s\" statement, first at %s",
		    stmt_names[st], seen[st]);
		return -1;
	}
	if (asprintf(&where, "%s:%d", file->name, file->lineno) == -1)
		fatal("%s", __func__);
	seen[st] = where;
	return 0;
}

/* Control characters, and with nospace also blanks. */
static int
has_ctrl(const char *s, int nospace)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return 1;
		if (nospace && *s == ' ')
			return 1;
	}
	return 0;
}

static int
setstr(char *dst, size_t dstsz, const char *val, const char *what,
    int nospace)
{
	if (*val == '\0') {
		yyerror("%s: empty value", what);
		return -1;
	}
	if (has_ctrl(val, nospace)) {
		yyerror("%s \"%s\": invalid character", what, val);
		return -1;
	}
	if (strlcpy(dst, val, dstsz) >= dstsz) {
		yyerror("%s too long", what);
		return -1;
	}
	return 0;
}

static int
setpath(char *dst, size_t dstsz, const char *val, const char *what)
{
	if (val[0] != '/') {
		yyerror("%s \"%s\": not an absolute path", what, val);
		return -1;
	}
	return setstr(dst, dstsz, val, what, 0);
}

static int
setnum(uint32_t *dst, long long n, long long min, long long max,
    const char *what, enum stmt st)
{
	if (once(st) == -1)
		return -1;
	if (n < min || n > max) {
		yyerror("%s %lld out of range", what, n);
		return -1;
	}
	*dst = (uint32_t)n;
	return 0;
}

/*
 * Resolve one listen statement.  An address that an earlier statement
 * already listens on is an error; one that the resolver returns twice
 * for the same statement is used once.
 */
static int
add_listen(const char *host, long long port, int tls)
{
	struct addrinfo		 hints, *res, *ai, *ai2;
	struct listen_addr	*la;
	char			 portstr[16];
	int			 error;

	if (*host == '\0' || strlen(host) >= sizeof(la->name)) {
		yyerror("listen on \"%s\": invalid address", host);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	(void)snprintf(portstr, sizeof(portstr), "%lld", port);
	if ((error = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		yyerror("listen on %s: %s", host, gai_strerror(error));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		TAILQ_FOREACH(la, &new_conf->listen, entry) {
			if (la->sslen == ai->ai_addrlen &&
			    memcmp(&la->ss, ai->ai_addr, la->sslen) == 0) {
				yyerror("listen on %s port %lld: address "
				    "already in use by an earlier listen "
				    "statement", host, port);
				freeaddrinfo(res);
				return -1;
			}
		}
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(la->ss))
			continue;
		for (ai2 = res; ai2 != ai; ai2 = ai2->ai_next)
			if (ai2->ai_addrlen == ai->ai_addrlen &&
			    memcmp(ai2->ai_addr, ai->ai_addr,
			    ai->ai_addrlen) == 0)
				break;
		if (ai2 != ai)
			continue;
		if ((la = calloc(1, sizeof(*la))) == NULL)
			fatal("%s", __func__);
		(void)strlcpy(la->name, host, sizeof(la->name));
		la->port = (uint16_t)port;
		la->tls = tls;
		memcpy(&la->ss, ai->ai_addr, ai->ai_addrlen);
		la->sslen = ai->ai_addrlen;
		la->fd = -1;
		TAILQ_INSERT_TAIL(&new_conf->listen, la, entry);
	}
	freeaddrinfo(res);
	return 0;
}

/* localhost, 127.0.0.0/8 or ::1 */
static int
is_loopback(const char *host)
{
	struct in_addr	 in;
	struct in6_addr	 in6;

	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &in) == 1)
		return (ntohl(in.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &in6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&in6);
	return 0;
}

/*
 * An absolute http or https URL without user information, query or
 * fragment, stored without trailing slashes.  The public url must be
 * https unless its host is a loopback address.
 */
static int
check_url(const char *url, char *dst, size_t dstsz, const char *what,
    int public)
{
	struct in6_addr	 in6;
	const char	*host, *end, *hend, *portp, *p;
	char		 hostbuf[PROTO_NAME_MAX];
	size_t		 len;
	long long	 port;
	int		 bracket = 0, https;

	if (strncmp(url, "https://", 8) == 0) {
		https = 1;
		host = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		https = 0;
		host = url + 7;
	} else {
		yyerror("%s \"%s\": not an http or https url", what, url);
		return -1;
	}
	for (p = url; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) &&
		    strchr("-._~:/?#[]@!$&'()*+,;=%", *p) == NULL) {
			yyerror("%s \"%s\": invalid character", what, url);
			return -1;
		}
	}
	if (strpbrk(url, "?#") != NULL) {
		yyerror("%s \"%s\": query or fragment not allowed", what, url);
		return -1;
	}
	end = host + strcspn(host, "/");
	if (memchr(host, '@', end - host) != NULL) {
		yyerror("%s \"%s\": user information not allowed", what, url);
		return -1;
	}

	/* Split the authority into host and port. */
	if (*host == '[') {
		bracket = 1;
		host++;
		if ((hend = memchr(host, ']', end - host)) == NULL) {
			yyerror("%s \"%s\": invalid host", what, url);
			return -1;
		}
		portp = hend + 1;
		if (portp != end && *portp != ':') {
			yyerror("%s \"%s\": invalid host", what, url);
			return -1;
		}
	} else {
		if ((hend = memchr(host, ':', end - host)) == NULL)
			hend = end;
		portp = hend;
	}
	if (hend == host || (size_t)(hend - host) >= sizeof(hostbuf) ||
	    memchr(host, '[', hend - host) != NULL ||
	    memchr(host, ']', hend - host) != NULL) {
		yyerror("%s \"%s\": invalid host", what, url);
		return -1;
	}
	memcpy(hostbuf, host, hend - host);
	hostbuf[hend - host] = '\0';
	if (bracket && inet_pton(AF_INET6, hostbuf, &in6) != 1) {
		yyerror("%s \"%s\": invalid host", what, url);
		return -1;
	}
	if (portp != end) {
		port = 0;
		for (p = portp + 1; p < end; p++) {
			if (!isdigit((unsigned char)*p) || port > 65535)
				break;
			port = port * 10 + (*p - '0');
		}
		if (p != end || p == portp + 1 || port < 1 || port > 65535) {
			yyerror("%s \"%s\": invalid port", what, url);
			return -1;
		}
	}
	if (public && !https && !is_loopback(hostbuf)) {
		yyerror("%s \"%s\": http is allowed only on a loopback host, "
		    "use https", what, url);
		return -1;
	}

	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	if (len >= dstsz) {
		yyerror("%s too long", what);
		return -1;
	}
	memcpy(dst, url, len);
	dst[len] = '\0';
	return 0;
}

static int
set_secret(const char *secret, const char *what)
{
	if (*secret == '\0') {
		yyerror("%s is empty", what);
		return -1;
	}
	if (has_ctrl(secret, 0)) {
		yyerror("%s contains control characters", what);
		return -1;
	}
	if (strlcpy(new_conf->forgejo_client_secret, secret,
	    sizeof(new_conf->forgejo_client_secret)) >=
	    sizeof(new_conf->forgejo_client_secret)) {
		explicit_bzero(new_conf->forgejo_client_secret,
		    sizeof(new_conf->forgejo_client_secret));
		yyerror("%s too long", what);
		return -1;
	}
	return 0;
}

/* A secret written into the configuration is allowed, but said aloud. */
static void
warn_secret_in_conf(void)
{
	struct stat	 st;

	if (fstat(fileno(file->stream), &st) == 0 &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		log_warnx("%s:%d: warning: the forgejo client secret is in a "
		    "file readable by group or others", file->name,
		    file->lineno);
}

/* The file must belong to root or to us, and be private to its owner. */
static int
check_file_secrecy(int fd, const char *fname)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1) {
		yyerror("%s: %s", fname, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		yyerror("%s: secret file is not a regular file", fname);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		yyerror("%s: secret file is owned by uid %lu, not by root "
		    "or uid %lu", fname, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		yyerror("%s: secret file is readable by group or others",
		    fname);
		return -1;
	}
	return 0;
}

/* The secret is the first line of the file, without its newline. */
static int
read_secret_file(const char *path)
{
	char		 buf[PROTO_SECRET_MAX + 2];
	char		*nl;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, ret = -1;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		yyerror("%s: %s", path, strerror(errno));
		return -1;
	}
	if (check_file_secrecy(fd, path) == -1)
		goto done;
	while (len < sizeof(buf) - 1) {
		if ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) == -1) {
			if (errno == EINTR)
				continue;
			yyerror("%s: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += n;
		if (memchr(buf, '\n', len) != NULL)
			break;
	}
	buf[len] = '\0';
	if ((nl = memchr(buf, '\n', len)) != NULL) {
		*nl = '\0';
		len = nl - buf;
	}
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (strlen(buf) != len) {
		yyerror("%s: secret file contains a nul byte", path);
		goto done;
	}
	if (len == 0) {
		yyerror("%s: secret file is empty", path);
		goto done;
	}
	if (len >= sizeof(new_conf->forgejo_client_secret)) {
		yyerror("%s: secret too long", path);
		goto done;
	}
	if (set_secret(buf, path) == -1)
		goto done;
	ret = 0;
done:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return ret;
}

static void
set_command(const char *path)
{
	int	 i;

	if (path[0] != '/') {
		yyerror("mcp command \"%s\": not an absolute path", path);
		return;
	}
	if (strlen(path) >= PROTO_PATH_MAX) {
		yyerror("mcp command too long");
		return;
	}
	if (nmcpargs + 1 > MCP_ARGS_MAX) {
		yyerror("mcp command: too many arguments (at most %d)",
		    MCP_ARGS_MAX - 1);
		return;
	}
	for (i = 0; i < nmcpargs; i++) {
		if (strlen(mcpargs[i]) >= PROTO_ARG_MAX) {
			yyerror("mcp command: argument %d too long", i + 1);
			return;
		}
	}
	if ((new_conf->mcp_argv[0] = strdup(path)) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < nmcpargs; i++)
		if ((new_conf->mcp_argv[i + 1] = strdup(mcpargs[i])) == NULL)
			fatal("%s", __func__);
	new_conf->mcp_argc = nmcpargs + 1;
	new_conf->mcp_argv[new_conf->mcp_argc] = NULL;
}

/* A repeatable statement's value; paths must be absolute. */
static void
add_string(const char *value, char **list, int *n, int max,
    const char *what, int is_path)
{
	if (*n >= max) {
		yyerror("%s: at most %d", what, max);
		return;
	}
	if (is_path && value[0] != '/') {
		yyerror("%s \"%s\": not an absolute path", what, value);
		return;
	}
	if (strlen(value) >= PROTO_PATH_MAX) {
		yyerror("%s too long", what);
		return;
	}
	if ((list[(*n)++] = strdup(value)) == NULL)
		fatal("%s", __func__);
}

/* Required statements, defaults that depend on others, and relations. */
static void
check_config(void)
{
	struct brokerd_conf	*c = new_conf;
	struct listen_addr	*la;
	int			 tls = 0;

	if (c->public_url[0] == '\0')
		yyerror("no \"public url\" statement");
	if (c->forgejo_url[0] == '\0')
		yyerror("no \"forgejo url\" statement");
	if (c->forgejo_client_id[0] == '\0')
		yyerror("no \"forgejo client id\" statement");
	if (seen[ST_CLIENT_SECRET] == NULL)
		yyerror("no \"forgejo client secret\" statement");
	if (seen[ST_MCP_COMMAND] == NULL)
		yyerror("no \"mcp command\" statement");

	/* Without a listen statement, a certificate means localhost:443. */
	if (TAILQ_EMPTY(&c->listen)) {
		if (c->tls_cert[0] != '\0')
			(void)add_listen("localhost", DEFAULT_PORT, 1);
		else
			yyerror("no \"listen\" statement");
	}
	TAILQ_FOREACH(la, &c->listen, entry)
		tls |= la->tls;
	if ((tls || c->tls_key[0] != '\0') && c->tls_cert[0] == '\0')
		yyerror("no \"tls certificate\" statement%s",
		    tls ? ", but a listen statement uses tls" : "");
	if ((tls || c->tls_cert[0] != '\0') && c->tls_key[0] == '\0')
		yyerror("no \"tls key\" statement%s",
		    tls ? ", but a listen statement uses tls" : "");

	if (c->mcp_max_sessions_per_user > c->mcp_max_sessions) {
		if (seen[ST_MAX_PER_USER] != NULL)
			conferr_at(seen[ST_MAX_PER_USER], "mcp max sessions "
			    "per user %u exceeds mcp max sessions %u",
			    c->mcp_max_sessions_per_user,
			    c->mcp_max_sessions);
		else
			c->mcp_max_sessions_per_user = c->mcp_max_sessions;
	}
	if (c->token_refresh_lifetime < c->token_access_lifetime)
		conferr_at(seen[ST_REFRESH_LIFETIME] != NULL ?
		    seen[ST_REFRESH_LIFETIME] : seen[ST_ACCESS_LIFETIME],
		    "token refresh lifetime %u is shorter than token access "
		    "lifetime %u", c->token_refresh_lifetime,
		    c->token_access_lifetime);
}

struct brokerd_conf *
parse_config(const char *filename)
{
	struct brokerd_conf	*conf;
	struct lexstr		*ls;
	struct sym		*sym, *next;
	int			 i;

	if ((conf = calloc(1, sizeof(*conf))) == NULL) {
		log_warn("%s", __func__);
		return NULL;
	}
	TAILQ_INIT(&conf->listen);
	(void)strlcpy(conf->database, BROKERD_DATABASE,
	    sizeof(conf->database));
	(void)strlcpy(conf->user, BROKERD_USER, sizeof(conf->user));
	(void)strlcpy(conf->chroot, BROKERD_CHROOT, sizeof(conf->chroot));
	conf->mcp_max_sessions = DEFAULT_MAX_SESSIONS;
	conf->mcp_max_sessions_per_user = DEFAULT_MAX_SESSIONS_PER_USER;
	conf->mcp_idle_timeout = DEFAULT_IDLE_TIMEOUT;
	conf->token_access_lifetime = DEFAULT_ACCESS_LIFETIME;
	conf->token_refresh_lifetime = DEFAULT_REFRESH_LIFETIME;
	conf->token_refresh_grace = DEFAULT_REFRESH_GRACE;
	conf->forgejo_refresh_margin = DEFAULT_REFRESH_MARGIN;
	conf->client_prune_after = DEFAULT_CLIENT_PRUNE;
	conf->register_rate_limit = DEFAULT_REGISTER_RATE;
	(void)strlcpy(conf->mcp_home, BROKERD_CHROOT, sizeof(conf->mcp_home));
	conf->mcp_limit_data = DEFAULT_LIMIT_DATA;
	conf->mcp_limit_files = DEFAULT_LIMIT_FILES;
	conf->mcp_limit_procs = DEFAULT_LIMIT_PROCS;
	conf->mcp_limit_cpu = DEFAULT_LIMIT_CPU;
	conf->mcp_max_message = DEFAULT_MAX_MESSAGE;

	if ((file = pushfile(filename)) == NULL) {
		log_warn("%s", filename);
		free(conf);
		return NULL;
	}
	topfile = file;
	new_conf = conf;
	conffile = filename;
	errors = 0;
	stmt_start = 1;
	nmcpargs = 0;

	if (yyparse() != 0 && errors == 0)
		yyerror("cannot parse the file");
	while (file != NULL)
		(void)popfile();
	topfile = NULL;

	/* Forget the macros of the file; keep those of the command line. */
	for (sym = TAILQ_FIRST(&symhead); sym != NULL; sym = next) {
		next = TAILQ_NEXT(sym, entry);
		if (!sym->used)
			log_debug("%s: macro \"%s\" not used", filename,
			    sym->name);
		if (!sym->persist) {
			TAILQ_REMOVE(&symhead, sym, entry);
			symfree(sym);
		} else
			sym->used = 0;
	}

	if (errors == 0)
		check_config();

	while ((ls = SLIST_FIRST(&lexstrs)) != NULL) {
		SLIST_REMOVE_HEAD(&lexstrs, entry);
		explicit_bzero(ls->str, ls->len);
		free(ls);
	}
	explicit_bzero(lexbuf, sizeof(lexbuf));
	explicit_bzero(mcpargs, sizeof(mcpargs));
	for (i = 0; i < ST_MAX; i++) {
		free(seen[i]);
		seen[i] = NULL;
	}
	new_conf = NULL;
	conffile = NULL;

	if (errors) {
		free_config(conf);
		return NULL;
	}
	return conf;
}

void
free_config(struct brokerd_conf *conf)
{
	struct listen_addr	*la;
	int			 i;

	if (conf == NULL)
		return;
	while ((la = TAILQ_FIRST(&conf->listen)) != NULL) {
		TAILQ_REMOVE(&conf->listen, la, entry);
		if (la->fd != -1)
			close(la->fd);
		free(la);
	}
	for (i = 0; i < conf->mcp_argc; i++)
		free(conf->mcp_argv[i]);
	for (i = 0; i < conf->mcp_npaths; i++)
		free(conf->mcp_paths[i]);
	for (i = 0; i < conf->mcp_norigins; i++)
		free(conf->mcp_origins[i]);
	explicit_bzero(conf->forgejo_client_secret,
	    sizeof(conf->forgejo_client_secret));
	free(conf);
}

/* Quote a string so that the lexer reads it back unchanged. */
static void
printq(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

/* A word, quoted only when it would not read back as a plain string. */
static void
printword(const char *s)
{
	const char	*p;

	for (p = s; *p != '\0'; p++)
		if (!allowed_in_word((unsigned char)*p) || *p == '\\')
			break;
	if (*s == '\0' || *p != '\0' || *s == '$' || is_number(s) ||
	    lookup(s) != STRING)
		printq(s);
	else
		fputs(s, stdout);
}

void
print_config(struct brokerd_conf *conf)
{
	struct listen_addr	*la;
	char			 host[NI_MAXHOST];
	int			 i;

	TAILQ_FOREACH(la, &conf->listen, entry) {
		if (getnameinfo((struct sockaddr *)&la->ss, la->sslen, host,
		    sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			(void)strlcpy(host, la->name, sizeof(host));
		printf("listen on ");
		printword(host);
		printf(" port %u%s\n", la->port, la->tls ? " tls" : "");
	}
	if (conf->tls_cert[0] != '\0') {
		printf("tls certificate ");
		printq(conf->tls_cert);
		putchar('\n');
	}
	if (conf->tls_key[0] != '\0') {
		printf("tls key ");
		printq(conf->tls_key);
		putchar('\n');
	}
	printf("public url ");
	printq(conf->public_url);
	printf("\ndatabase ");
	printq(conf->database);
	printf("\nuser ");
	printq(conf->user);
	printf("\nchroot ");
	printq(conf->chroot);
	printf("\n\nforgejo url ");
	printq(conf->forgejo_url);
	printf("\nforgejo client id ");
	printq(conf->forgejo_client_id);
	if (conf->forgejo_client_secret_file[0] != '\0') {
		printf("\nforgejo client secret file ");
		printq(conf->forgejo_client_secret_file);
	} else
		printf("\nforgejo client secret \"********\"");
	printf("\nforgejo scope ");
	printq(conf->forgejo_scope);
	printf("\nforgejo refresh margin %u", conf->forgejo_refresh_margin);

	printf("\n\nmcp command");
	for (i = 0; i < conf->mcp_argc; i++) {
		putchar(' ');
		printq(conf->mcp_argv[i]);
	}
	printf("\nmcp max sessions %u\n", conf->mcp_max_sessions);
	printf("mcp max sessions per user %u\n",
	    conf->mcp_max_sessions_per_user);
	printf("mcp idle timeout %u\n", conf->mcp_idle_timeout);
	printf("mcp max message %u\n", conf->mcp_max_message);
	printf("mcp home ");
	printq(conf->mcp_home);
	putchar('\n');
	for (i = 0; i < conf->mcp_npaths; i++) {
		printf("mcp path ");
		printq(conf->mcp_paths[i]);
		putchar('\n');
	}
	for (i = 0; i < conf->mcp_norigins; i++) {
		printf("mcp allow origin ");
		printq(conf->mcp_origins[i]);
		putchar('\n');
	}
	printf("mcp limit data %u\n", conf->mcp_limit_data);
	printf("mcp limit files %u\n", conf->mcp_limit_files);
	printf("mcp limit processes %u\n", conf->mcp_limit_procs);
	printf("mcp limit cpu %u\n", conf->mcp_limit_cpu);
	printf("\ntoken access lifetime %u\n", conf->token_access_lifetime);
	printf("token refresh lifetime %u\n", conf->token_refresh_lifetime);
	printf("token refresh grace %u\n", conf->token_refresh_grace);
	printf("\nclient prune after %u\n", conf->client_prune_after);
	printf("register rate limit %u\n", conf->register_rate_limit);
}
