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
 * tokend's database layer: the schema the migrations create, the pragmas
 * db_open() sets, the cascades, and the migration runner's promises (a
 * no-op when up to date, a refusal of newer or foreign databases, and no
 * half-applied migration).  Everything happens in a scratch directory.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "tokend.h"
#include "regress.h"

#define NOINT		INT64_MIN	/* what qint() returns on error */

struct column {
	const char	*name;
	const char	*type;
	int		 notnull;
	int		 pk;
};

struct fkey {
	const char	*from;
	const char	*table;
	const char	*to;
};

struct index {
	const char	*name;
	const char	*table;
	const char	*column;
};

static const struct column broker_meta_cols[] = {
	{ "key",			"TEXT",		0, 1 },
	{ "value",			"TEXT",		1, 0 },
	{ NULL }
};

static const struct column schema_migrations_cols[] = {
	{ "version",			"INTEGER",	0, 1 },
	{ "name",			"TEXT",		1, 0 },
	{ "applied_at",			"INTEGER",	1, 0 },
	{ NULL }
};

static const struct column clients_cols[] = {
	{ "client_id",			"TEXT",		0, 1 },
	{ "client_secret",		"TEXT",		0, 0 },
	{ "redirect_uris",		"TEXT",		1, 0 },
	{ "metadata_json",		"TEXT",		0, 0 },
	{ "created_at",			"INTEGER",	1, 0 },
	{ "last_used",			"INTEGER",	0, 0 },
	{ "token_endpoint_auth_method",	"TEXT",		1, 0 },
	{ NULL }
};

static const struct column auth_codes_cols[] = {
	{ "code",			"TEXT",		0, 1 },
	{ "client_id",			"TEXT",		1, 0 },
	{ "redirect_uri",		"TEXT",		1, 0 },
	{ "code_challenge",		"TEXT",		1, 0 },
	{ "code_challenge_method",	"TEXT",		1, 0 },
	{ "scopes",			"TEXT",		1, 0 },
	{ "forgejo_access_token",	"TEXT",		1, 0 },
	{ "forgejo_refresh_token",	"TEXT",		0, 0 },
	{ "forgejo_token_expires_at",	"INTEGER",	1, 0 },
	{ "forgejo_user_id",		"INTEGER",	1, 0 },
	{ "forgejo_username",		"TEXT",		1, 0 },
	{ "expires_at",			"INTEGER",	1, 0 },
	{ "used_at",			"INTEGER",	0, 0 },
	{ "resource",			"TEXT",		1, 0 },
	{ "grant_id",			"TEXT",		0, 0 },
	{ NULL }
};

static const struct column access_tokens_cols[] = {
	{ "token_hash",			"TEXT",		0, 1 },
	{ "client_id",			"TEXT",		1, 0 },
	{ "forgejo_user_id",		"INTEGER",	1, 0 },
	{ "forgejo_username",		"TEXT",		1, 0 },
	{ "scopes",			"TEXT",		1, 0 },
	{ "forgejo_access_token",	"TEXT",		1, 0 },
	{ "forgejo_refresh_token",	"TEXT",		0, 0 },
	{ "forgejo_token_expires_at",	"INTEGER",	1, 0 },
	{ "expires_at",			"INTEGER",	1, 0 },
	{ "created_at",			"INTEGER",	1, 0 },
	{ "revoked_at",			"INTEGER",	0, 0 },
	{ "resource",			"TEXT",		1, 0 },
	{ "grant_id",			"TEXT",		0, 0 },
	{ NULL }
};

static const struct column refresh_tokens_cols[] = {
	{ "token_hash",			"TEXT",		0, 1 },
	{ "access_token_hash",		"TEXT",		1, 0 },
	{ "client_id",			"TEXT",		1, 0 },
	{ "expires_at",			"INTEGER",	1, 0 },
	{ "created_at",			"INTEGER",	1, 0 },
	{ "revoked_at",			"INTEGER",	0, 0 },
	{ "grant_id",			"TEXT",		0, 0 },
	{ "rotated_at",			"INTEGER",	0, 0 },
	{ NULL }
};

static const struct {
	const char		*name;
	const struct column	*cols;
} tables[] = {
	/* In the order of their names, as the schema test lists them. */
	{ "access_tokens",	access_tokens_cols },
	{ "auth_codes",		auth_codes_cols },
	{ "broker_meta",	broker_meta_cols },
	{ "clients",		clients_cols },
	{ "refresh_tokens",	refresh_tokens_cols },
	{ "schema_migrations",	schema_migrations_cols },
};

/* Every foreign key, each ON DELETE CASCADE; in the order of "from". */
static const struct fkey no_fkeys[] = {
	{ NULL }
};
static const struct fkey auth_codes_fkeys[] = {
	{ "client_id",		"clients",	 "client_id" },
	{ NULL }
};
static const struct fkey access_tokens_fkeys[] = {
	{ "client_id",		"clients",	 "client_id" },
	{ NULL }
};
static const struct fkey refresh_tokens_fkeys[] = {
	{ "access_token_hash",	"access_tokens", "token_hash" },
	{ "client_id",		"clients",	 "client_id" },
	{ NULL }
};

static const struct {
	const char		*table;
	const struct fkey	*fkeys;
} fkeys[] = {
	{ "clients",		no_fkeys },
	{ "auth_codes",		auth_codes_fkeys },
	{ "access_tokens",	access_tokens_fkeys },
	{ "refresh_tokens",	refresh_tokens_fkeys },
};

static const struct index indexes[] = {
	{ "idx_clients_last_used",	  "clients",	    "last_used" },
	{ "idx_auth_codes_expires_at",	  "auth_codes",	    "expires_at" },
	{ "idx_access_tokens_expires_at", "access_tokens",  "expires_at" },
	{ "idx_access_tokens_forgejo_uid", "access_tokens", "forgejo_user_id" },
	{ "idx_refresh_tokens_expires_at", "refresh_tokens", "expires_at" },
	{ "idx_access_tokens_grant_id",	  "access_tokens",  "grant_id" },
	{ "idx_refresh_tokens_grant_id",  "refresh_tokens", "grant_id" },
	{ "idx_refresh_tokens_access",	  "refresh_tokens",
	    "access_token_hash" },
};

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

static char	 dir[PATH_MAX];
static char	 captured[8192];
static int	 saved_stderr = -1;

static const char *
path(const char *name)
{
	static char	buf[4][PATH_MAX];
	static int	i;

	i = (i + 1) % nitems(buf);
	if ((size_t)snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name) >=
	    sizeof(buf[i])) {
		fprintf(stderr, "path too long: %s/%s\n", dir, name);
		exit(1);
	}
	return buf[i];
}

/* Send stderr, and with it the log, to a file until capture_end(). */
static void
capture_start(void)
{
	int	fd;

	fflush(stderr);
	if ((saved_stderr = dup(STDERR_FILENO)) == -1 ||
	    (fd = open(path("stderr"), O_RDWR | O_CREAT | O_TRUNC,
	    0600)) == -1 ||
	    dup2(fd, STDERR_FILENO) == -1) {
		perror("capture_start");
		exit(1);
	}
	close(fd);
}

/* Restore stderr and return what was written to it, repeated there. */
static const char *
capture_end(void)
{
	FILE	*f;
	size_t	 n;

	fflush(stderr);
	if (dup2(saved_stderr, STDERR_FILENO) == -1) {
		perror("capture_end");
		exit(1);
	}
	close(saved_stderr);
	saved_stderr = -1;
	if ((f = fopen(path("stderr"), "r")) == NULL) {
		perror("capture_end");
		exit(1);
	}
	n = fread(captured, 1, sizeof(captured) - 1, f);
	captured[n] = '\0';
	fclose(f);
	fprintf(stderr, "%s", captured);
	return captured;
}

/* A connection of our own, beside tokend's, to set up or inspect a file. */
static sqlite3 *
raw_open(const char *file)
{
	sqlite3	*h = NULL;

	if (sqlite3_open_v2(file, &h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		fprintf(stderr, "raw_open %s: %s\n", file, sqlite3_errmsg(h));
		exit(1);
	}
	return h;
}

static int
exec(sqlite3 *h, const char *sql)
{
	char	*errmsg = NULL;
	int	 rc;

	if ((rc = sqlite3_exec(h, sql, NULL, NULL, &errmsg)) != SQLITE_OK)
		printf("# %s: %s\n", sql, errmsg != NULL ? errmsg : "?");
	sqlite3_free(errmsg);
	return rc;
}

static int64_t
qint(sqlite3 *h, const char *sql)
{
	sqlite3_stmt	*stmt;
	int64_t		 v = NOINT;

	if (h == NULL)
		return NOINT;
	if (sqlite3_prepare_v2(h, sql, -1, &stmt, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(h));
		return NOINT;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	else
		printf("# %s: %s\n", sql, sqlite3_errmsg(h));
	sqlite3_finalize(stmt);
	return v;
}

/* The first column of the first row as a string, "" if none. */
static const char *
qtext(sqlite3 *h, const char *sql)
{
	static char		 buf[4096];
	sqlite3_stmt		*stmt;
	const unsigned char	*t;

	buf[0] = '\0';
	if (h == NULL)
		return buf;
	if (sqlite3_prepare_v2(h, sql, -1, &stmt, NULL) != SQLITE_OK) {
		printf("# %s: %s\n", sql, sqlite3_errmsg(h));
		return buf;
	}
	if (sqlite3_step(stmt) == SQLITE_ROW &&
	    (t = sqlite3_column_text(stmt, 0)) != NULL)
		(void)snprintf(buf, sizeof(buf), "%s", (const char *)t);
	sqlite3_finalize(stmt);
	return buf;
}

/* Does table_info of table list exactly these columns, in this order? */
static int
columns_match(sqlite3 *h, const char *table, const struct column *want)
{
	sqlite3_stmt	*stmt;
	const char	*name, *type;
	int		 i = 0, ok = 1;

	if (sqlite3_prepare_v2(h, "SELECT name, type, \"notnull\", pk "
	    "FROM pragma_table_info(?) ORDER BY cid", -1, &stmt,
	    NULL) != SQLITE_OK) {
		printf("# table_info: %s\n", sqlite3_errmsg(h));
		return 0;
	}
	sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(stmt, 0);
		type = (const char *)sqlite3_column_text(stmt, 1);
		if (want[i].name == NULL) {
			printf("# %s: unexpected column %s\n", table, name);
			ok = 0;
			continue;
		}
		if (strcmp(name, want[i].name) != 0 ||
		    strcmp(type, want[i].type) != 0 ||
		    sqlite3_column_int(stmt, 2) != want[i].notnull ||
		    sqlite3_column_int(stmt, 3) != want[i].pk) {
			printf("# %s: column %d is %s %s notnull %d pk %d, "
			    "want %s %s notnull %d pk %d\n", table, i, name,
			    type, sqlite3_column_int(stmt, 2),
			    sqlite3_column_int(stmt, 3), want[i].name,
			    want[i].type, want[i].notnull, want[i].pk);
			ok = 0;
		}
		i++;
	}
	sqlite3_finalize(stmt);
	if (want[i].name != NULL) {
		printf("# %s: column %s missing\n", table, want[i].name);
		ok = 0;
	}
	return ok;
}

/* Are these exactly the foreign keys of table, each cascading deletes? */
static int
fkeys_match(sqlite3 *h, const char *table, const struct fkey *want)
{
	sqlite3_stmt	*stmt;
	const char	*from, *to, *parent, *del;
	int		 i = 0, ok = 1;

	if (sqlite3_prepare_v2(h, "SELECT \"from\", \"table\", \"to\", "
	    "on_delete FROM pragma_foreign_key_list(?) ORDER BY \"from\"",
	    -1, &stmt, NULL) != SQLITE_OK) {
		printf("# foreign_key_list: %s\n", sqlite3_errmsg(h));
		return 0;
	}
	sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		from = (const char *)sqlite3_column_text(stmt, 0);
		parent = (const char *)sqlite3_column_text(stmt, 1);
		to = (const char *)sqlite3_column_text(stmt, 2);
		del = (const char *)sqlite3_column_text(stmt, 3);
		if (want[i].from == NULL ||
		    strcmp(from, want[i].from) != 0 ||
		    strcmp(parent, want[i].table) != 0 ||
		    to == NULL || strcmp(to, want[i].to) != 0 ||
		    strcmp(del, "CASCADE") != 0) {
			printf("# %s: foreign key %s -> %s(%s) on delete %s "
			    "not expected\n", table, from, parent,
			    to != NULL ? to : "?", del);
			ok = 0;
		}
		if (want[i].from != NULL)
			i++;
	}
	sqlite3_finalize(stmt);
	if (want[i].from != NULL) {
		printf("# %s: foreign key on %s missing\n", table,
		    want[i].from);
		ok = 0;
	}
	return ok;
}

/* Is index name on exactly table(column)? */
static int
index_match(sqlite3 *h, const struct index *want)
{
	sqlite3_stmt	*stmt;
	char		 sql[256];
	int		 ok;

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'index' AND name = '%s' AND tbl_name = '%s'",
	    want->name, want->table);
	if (qint(h, sql) != 1)
		return 0;
	if (sqlite3_prepare_v2(h, "SELECT name FROM pragma_index_info(?)",
	    -1, &stmt, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(stmt, 1, want->name, -1, SQLITE_STATIC);
	ok = sqlite3_step(stmt) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(stmt, 0),
	    want->column) == 0 &&
	    sqlite3_step(stmt) == SQLITE_DONE;
	sqlite3_finalize(stmt);
	return ok;
}

static mode_t
file_mode(const char *file)
{
	struct stat	sb;

	if (stat(file, &sb) == -1)
		return (mode_t)-1;
	return sb.st_mode & 07777;
}

static void
test_embedded(void)
{
	size_t	i;

	CHECK(nmigrations == TOKEND_MIGRATIONS,
	    "binary embeds TOKEND_MIGRATIONS (%d) migrations",
	    TOKEND_MIGRATIONS);
	for (i = 0; i < nmigrations; i++)
		CHECK(migrations[i].version == (int)i + 1 &&
		    migrations[i].name != NULL &&
		    migrations[i].sql != NULL && migrations[i].sql[0] != '\0',
		    "embedded migration %zu is version %zu with its sql",
		    i + 1, i + 1);
	CHECK(strcmp(migrations[0].name, "init") == 0 &&
	    strcmp(migrations[1].name, "oauth_tables") == 0 &&
	    strcmp(migrations[2].name, "grants") == 0,
	    "embedded migrations are init, oauth_tables and grants");
}

static void
test_open(void)
{
	sqlite3		*h;
	int64_t		 v;
	mode_t		 m;

	capture_start();
	CHECK(db_schema_version(&v) == -1 && db_handle() == NULL,
	    "db_schema_version fails while no database is open");
	capture_end();

	/* A permissive umask, to see that db_open() overrides it. */
	(void)umask(022);
	CHECK(db_open(path("main.db")) == 0, "db_open creates a database");
	m = umask(022);
	CHECK(m == 022, "db_open restores the umask (%03o)", (unsigned int)m);
	CHECK((h = db_handle()) != NULL, "db_handle returns the handle");

	CHECK(file_mode(path("main.db")) == 0600, "database file is mode 0600");
	CHECK(file_mode(path("main.db-wal")) == 0600, "wal file is mode 0600");
	CHECK(file_mode(path("main.db-shm")) == 0600, "shm file is mode 0600");

	CHECK(strcmp(qtext(h, "PRAGMA journal_mode"), "wal") == 0,
	    "journal_mode is wal");
	CHECK(qint(h, "PRAGMA foreign_keys") == 1, "foreign_keys is on");
	CHECK(qint(h, "PRAGMA synchronous") == 2, "synchronous is full");
	CHECK(qint(h, "PRAGMA busy_timeout") > 0, "busy_timeout is set");

	CHECK(db_schema_version(&v) == 0 && v == TOKEND_MIGRATIONS,
	    "db_schema_version is %d", TOKEND_MIGRATIONS);
	CHECK(qint(h, "SELECT count(*) FROM schema_migrations") ==
	    TOKEND_MIGRATIONS, "one schema_migrations row per migration");
	CHECK(strcmp(qtext(h, "SELECT group_concat(version || ' ' || name, "
	    "', ') FROM (SELECT * FROM schema_migrations ORDER BY version)"),
	    "1 init, 2 oauth_tables, 3 grants") == 0,
	    "schema_migrations records 1 init, 2 oauth_tables and 3 grants");
	CHECK(qint(h, "SELECT count(*) FROM schema_migrations WHERE "
	    "applied_at > 1700000000") == TOKEND_MIGRATIONS,
	    "applied_at holds the time of application");
	CHECK(strcmp(qtext(h, "SELECT value FROM broker_meta "
	    "WHERE key = 'oauth_schema_version'"), "2") == 0,
	    "broker_meta oauth_schema_version is 2");

	capture_start();
	CHECK(db_open(path("other.db")) == -1 && db_handle() == h,
	    "db_open refuses a second database");
	capture_end();
}

static void
test_schema(void)
{
	sqlite3		*h = db_handle();
	sqlite3_stmt	*stmt;
	char		 names[512] = "", want[512] = "";
	size_t		 i;

	if (sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master "
	    "WHERE type = 'table' ORDER BY name", -1, &stmt,
	    NULL) == SQLITE_OK) {
		while (sqlite3_step(stmt) == SQLITE_ROW) {
			if (names[0] != '\0')
				strlcat(names, " ", sizeof(names));
			strlcat(names, (const char *)sqlite3_column_text(stmt,
			    0), sizeof(names));
		}
		sqlite3_finalize(stmt);
	}
	for (i = 0; i < nitems(tables); i++) {
		if (want[0] != '\0')
			strlcat(want, " ", sizeof(want));
		strlcat(want, tables[i].name, sizeof(want));
	}
	CHECK(strcmp(names, want) == 0, "tables are exactly: %s", want);

	for (i = 0; i < nitems(tables); i++)
		CHECK(columns_match(h, tables[i].name, tables[i].cols),
		    "%s has the expected columns, types, not null and "
		    "primary key", tables[i].name);

	for (i = 0; i < nitems(fkeys); i++)
		CHECK(fkeys_match(h, fkeys[i].table, fkeys[i].fkeys),
		    "%s has the expected cascading foreign keys",
		    fkeys[i].table);

	for (i = 0; i < nitems(indexes); i++)
		CHECK(index_match(h, &indexes[i]), "index %s on %s(%s)",
		    indexes[i].name, indexes[i].table, indexes[i].column);
	CHECK(qint(h, "SELECT count(*) FROM sqlite_master WHERE type = "
	    "'index' AND name NOT LIKE 'sqlite_autoindex_%'") ==
	    (int64_t)nitems(indexes), "no other index");
}

static void
test_cascade(void)
{
	sqlite3	*h = db_handle();
	int	 rc;

	CHECK(exec(h,
	    "INSERT INTO clients (client_id, redirect_uris, created_at) "
	    "VALUES ('c1', '[\"http://127.0.0.1/cb\"]', 1), "
	    "('c2', '[\"http://127.0.0.1/cb\"]', 1);"
	    "INSERT INTO auth_codes VALUES "
	    "('k1', 'c1', 'u', 'ch', 'S256', 's', 'ft', NULL, 9, 7, 'u7', 9, "
	    "NULL, '', 'g1'), "
	    "('k2', 'c2', 'u', 'ch', 'S256', 's', 'ft', NULL, 9, 8, 'u8', 9, "
	    "NULL, '', 'g2');"
	    "INSERT INTO access_tokens VALUES "
	    "('a1', 'c1', 7, 'u7', 's', 'ft', 'fr', 9, 9, 1, NULL, '', 'g1'), "
	    "('a2', 'c1', 7, 'u7', 's', 'ft', 'fr', 9, 9, 1, NULL, '', 'g1'), "
	    "('a3', 'c2', 8, 'u8', 's', 'ft', 'fr', 9, 9, 1, NULL, '', 'g2');"
	    "INSERT INTO refresh_tokens VALUES "
	    "('r1', 'a1', 'c1', 9, 1, NULL, 'g1', NULL), "
	    "('r2', 'a2', 'c1', 9, 1, NULL, 'g1', NULL), "
	    "('r3', 'a3', 'c2', 9, 1, NULL, 'g2', NULL);") == SQLITE_OK,
	    "insert two clients, their codes and tokens");

	rc = sqlite3_exec(h, "INSERT INTO refresh_tokens VALUES "
	    "('r9', 'nosuch', 'c1', 9, 1, NULL, NULL, NULL)", NULL, NULL,
	    NULL);
	CHECK((rc & 0xff) == SQLITE_CONSTRAINT,
	    "a refresh token of an unknown access token is refused");
	rc = sqlite3_exec(h, "INSERT INTO access_tokens VALUES "
	    "('a9', 'nosuch', 7, 'u7', 's', 'ft', NULL, 9, 9, 1, NULL, '', "
	    "NULL)", NULL, NULL, NULL);
	CHECK((rc & 0xff) == SQLITE_CONSTRAINT,
	    "an access token of an unknown client is refused");
	rc = sqlite3_exec(h, "INSERT INTO clients (client_id, redirect_uris) "
	    "VALUES ('c9', '[]')", NULL, NULL, NULL);
	CHECK((rc & 0xff) == SQLITE_CONSTRAINT,
	    "a client without created_at is refused");

	CHECK(exec(h, "DELETE FROM access_tokens WHERE token_hash = 'a1'") ==
	    SQLITE_OK, "delete access token a1");
	CHECK(qint(h, "SELECT count(*) FROM refresh_tokens "
	    "WHERE token_hash = 'r1'") == 0,
	    "its refresh token went with it");
	CHECK(strcmp(qtext(h, "SELECT group_concat(token_hash, ' ') FROM "
	    "(SELECT token_hash FROM refresh_tokens ORDER BY 1)"),
	    "r2 r3") == 0 &&
	    strcmp(qtext(h, "SELECT group_concat(token_hash, ' ') FROM "
	    "(SELECT token_hash FROM access_tokens ORDER BY 1)"),
	    "a2 a3") == 0 &&
	    qint(h, "SELECT count(*) FROM auth_codes") == 2 &&
	    qint(h, "SELECT count(*) FROM clients") == 2,
	    "no other row went");

	CHECK(exec(h, "DELETE FROM clients WHERE client_id = 'c1'") ==
	    SQLITE_OK, "delete client c1");
	CHECK(qint(h, "SELECT count(*) FROM auth_codes "
	    "WHERE client_id = 'c1'") == 0,
	    "its authorization codes went with it");
	CHECK(qint(h, "SELECT count(*) FROM access_tokens "
	    "WHERE client_id = 'c1'") == 0,
	    "its access tokens went with it");
	CHECK(qint(h, "SELECT count(*) FROM refresh_tokens "
	    "WHERE client_id = 'c1'") == 0,
	    "its refresh tokens went with it");
	CHECK(strcmp(qtext(h, "SELECT group_concat(x, ' ') FROM ("
	    "SELECT client_id AS x FROM clients UNION ALL "
	    "SELECT code FROM auth_codes UNION ALL "
	    "SELECT token_hash FROM access_tokens UNION ALL "
	    "SELECT token_hash FROM refresh_tokens)"), "c2 k2 a3 r3") == 0,
	    "client c2 and its rows are untouched");
}

static void
test_reopen(void)
{
	sqlite3	*h = db_handle();
	int64_t	 v;

	/* A mark that a migration run again would overwrite or duplicate. */
	CHECK(exec(h, "UPDATE schema_migrations SET applied_at = 12345") ==
	    SQLITE_OK, "mark the recorded migrations");
	db_close();
	CHECK(db_handle() == NULL, "db_close forgets the handle");
	CHECK(access(path("main.db-wal"), F_OK) == -1,
	    "db_close leaves no wal file behind");

	CHECK(db_open(path("main.db")) == 0, "db_open reopens the database");
	h = db_handle();
	CHECK(db_schema_version(&v) == 0 && v == TOKEND_MIGRATIONS,
	    "schema version is still %d", TOKEND_MIGRATIONS);
	CHECK(qint(h, "SELECT count(*) FROM schema_migrations WHERE "
	    "applied_at = 12345") == TOKEND_MIGRATIONS &&
	    qint(h, "SELECT count(*) FROM schema_migrations") ==
	    TOKEND_MIGRATIONS, "no migration ran again");
	CHECK(qint(h, "SELECT count(*) FROM broker_meta") == 1,
	    "broker_meta holds one row");
	CHECK(strcmp(qtext(h, "SELECT token_hash FROM refresh_tokens"),
	    "r3") == 0 && qint(h, "SELECT count(*) FROM clients") == 1,
	    "the data is kept");
	CHECK(qint(h, "PRAGMA foreign_keys") == 1 &&
	    strcmp(qtext(h, "PRAGMA journal_mode"), "wal") == 0,
	    "reopened handle has wal and foreign keys");
	db_close();
}

static void
test_newer(void)
{
	sqlite3		*h;
	const char	*log;
	char		 want[256];

	CHECK(db_open(path("newer.db")) == 0 &&
	    exec(db_handle(), "INSERT INTO schema_migrations "
	    "VALUES (99, 'future', 1)") == SQLITE_OK,
	    "record a migration 99 from the future");
	db_close();

	capture_start();
	CHECK(db_open(path("newer.db")) == -1,
	    "db_open refuses a database of schema version 99");
	log = capture_end();
	CHECK(db_handle() == NULL, "and leaves no handle open");
	db_close();
	(void)snprintf(want, sizeof(want), "database schema version 99 is "
	    "newer than this tokend knows (%d); refusing to open",
	    TOKEND_MIGRATIONS);
	CHECK(strstr(log, want) != NULL, "log says: %s", want);

	h = raw_open(path("newer.db"));
	CHECK(qint(h, "SELECT count(*) FROM schema_migrations") ==
	    TOKEND_MIGRATIONS + 1 &&
	    qint(h, "SELECT max(version) FROM schema_migrations") == 99,
	    "the refused database is unchanged");
	sqlite3_close(h);
}

static void
test_gap(void)
{
	const char	*log;

	CHECK(db_open(path("gap.db")) == 0 &&
	    exec(db_handle(), "DELETE FROM schema_migrations "
	    "WHERE version = 1") == SQLITE_OK,
	    "lose the record of migration 1");
	db_close();

	capture_start();
	CHECK(db_open(path("gap.db")) == -1,
	    "db_open refuses a record with a gap");
	log = capture_end();
	db_close();
	CHECK(strstr(log, "schema_migrations records versions 2 to 3 in 2 "
	    "row(s), not 1 to 3 without a gap; refusing to open") != NULL,
	    "log names the inconsistency");
}

static void
test_foreign(void)
{
	sqlite3		*h;
	const char	*log;
	FILE		*f;
	struct stat	 sb;
	int		 i;

	h = raw_open(path("foreign.db"));
	CHECK(exec(h, "CREATE TABLE foo (x)") == SQLITE_OK,
	    "create a database tokend did not make");
	sqlite3_close(h);

	capture_start();
	CHECK(db_open(path("foreign.db")) == -1,
	    "db_open refuses a database without schema_migrations");
	log = capture_end();
	db_close();
	CHECK(strstr(log, "tokend did not create it") != NULL,
	    "log says why");
	CHECK(strstr(log, "foreign.db is accessible to group or others "
	    "(mode 0644)") != NULL, "log warns of a readable database file");
	h = raw_open(path("foreign.db"));
	CHECK(strcmp(qtext(h, "SELECT group_concat(name) FROM sqlite_master"),
	    "foo") == 0, "and does not touch it");
	sqlite3_close(h);

	if ((f = fopen(path("garbage.db"), "w")) == NULL) {
		perror("garbage.db");
		exit(1);
	}
	for (i = 0; i < 100; i++)
		fprintf(f, "not an sqlite database\n");
	fclose(f);
	capture_start();
	CHECK(db_open(path("garbage.db")) == -1,
	    "db_open refuses a file that is no database");
	log = capture_end();
	db_close();
	CHECK(strstr(log, "not a database") != NULL, "log says why");
	CHECK(stat(path("garbage.db"), &sb) == 0 && sb.st_size == 2300,
	    "and does not touch it");
}

/*
 * A database at version 1 with an index named as the last index of
 * migration 2 already there: migration 2 runs its CREATE TABLE and CREATE
 * INDEX statements and fails near its end.  None of it may remain.
 */
static void
test_atomic(void)
{
	sqlite3		*h;
	const char	*log, *sql = migrations[1].sql;
	char		 ins[256];

	CHECK(strstr(sql, "CREATE TABLE refresh_tokens") != NULL &&
	    strstr(sql, "CREATE INDEX idx_refresh_tokens_expires_at") >
	    strstr(sql, "CREATE TABLE refresh_tokens"),
	    "migration 2 creates idx_refresh_tokens_expires_at after all "
	    "its tables");

	h = raw_open(path("atomic.db"));
	(void)snprintf(ins, sizeof(ins), "INSERT INTO schema_migrations "
	    "VALUES (1, '%s', 1)", migrations[0].name);
	CHECK(exec(h, migrations[0].sql) == SQLITE_OK &&
	    exec(h, ins) == SQLITE_OK &&
	    exec(h, "CREATE TABLE decoy (x); CREATE INDEX "
	    "idx_refresh_tokens_expires_at ON decoy (x)") == SQLITE_OK,
	    "prepare a database at version 1 with a conflicting index");
	sqlite3_close(h);

	capture_start();
	CHECK(db_open(path("atomic.db")) == -1,
	    "db_open fails when migration 2 fails");
	log = capture_end();
	db_close();
	CHECK(strstr(log, "migration 2 (oauth_tables) failed: ") != NULL &&
	    strstr(log, "idx_refresh_tokens_expires_at already exists") !=
	    NULL, "log names the migration and the sqlite error");

	h = raw_open(path("atomic.db"));
	CHECK(qint(h, "SELECT count(*) FROM sqlite_master WHERE name IN "
	    "('clients', 'auth_codes', 'access_tokens', 'refresh_tokens', "
	    "'idx_clients_last_used', 'idx_auth_codes_expires_at', "
	    "'idx_access_tokens_expires_at', "
	    "'idx_access_tokens_forgejo_uid')") == 0,
	    "none of the tables or indexes of migration 2 remain");
	CHECK(qint(h, "SELECT count(*) FROM broker_meta") == 0,
	    "broker_meta has no oauth_schema_version");
	CHECK(strcmp(qtext(h, "SELECT group_concat(version) FROM "
	    "schema_migrations"), "1") == 0,
	    "schema_migrations still records only version 1");

	CHECK(exec(h, "DROP TABLE decoy") == SQLITE_OK, "remove the conflict");
	sqlite3_close(h);
	CHECK(db_open(path("atomic.db")) == 0,
	    "db_open then applies migration 2");
	CHECK(strcmp(qtext(db_handle(), "SELECT value FROM broker_meta "
	    "WHERE key = 'oauth_schema_version'"), "2") == 0 &&
	    qint(db_handle(), "SELECT max(version) FROM schema_migrations") ==
	    TOKEND_MIGRATIONS, "and the database is at the current version");
	db_close();
}

static void
cleanup(void)
{
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)unlink(path(de->d_name));
	}
	closedir(d);
	(void)rmdir(dir);
}

int
main(void)
{
	const char	*tmp;

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	(void)snprintf(dir, sizeof(dir), "%s/db_test.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}

	log_init(1, LOG_DAEMON);
	log_procinit("tokend");

	test_embedded();
	test_open();
	test_schema();
	test_cascade();
	test_reopen();
	test_newer();
	test_gap();
	test_foreign();
	test_atomic();

	cleanup();
	return regress_done();
}
