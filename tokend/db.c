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
 * tokend's SQLite database.  db_open() opens it the one way tokend uses
 * it (write-ahead log, foreign keys enforced, a busy timeout, a new file
 * created mode 0600) and brings its schema up to date with the migrations
 * compiled into this binary.
 *
 * Migration 1 creates schema_migrations, which has one row per applied
 * migration.  Each migration runs in one transaction together with the
 * insertion of its row, so an error or a crash leaves the database at the
 * previous version and never in between.  A database that records a version
 * this tokend does not know is refused: an older binary must not write to
 * a schema it does not understand.
 *
 * Nothing here logs the value of an SQL parameter: elsewhere in tokend
 * they are tokens.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "tokend.h"

#define DB_BUSY_TIMEOUT		5000	/* milliseconds */

static sqlite3	*db;

static int	db_exec(const char *);
static int	db_query_int(const char *, int64_t *);
static int	db_query_text(const char *, char *, size_t);
static sqlite3_stmt *db_vprepare(const char *, const char *, va_list);
static int	db_migrate(void);
static int	db_state(int64_t *);
static int	db_apply(const struct migration *);
static int	db_migration_auth(void *, int, const char *, const char *,
		    const char *, const char *);

int
db_open(const char *path)
{
	struct stat	 sb;
	char		 mode[16];
	int64_t		 on;
	size_t		 i;
	mode_t		 omask;
	int		 rc;

	if (db != NULL) {
		log_warnx("%s: database already open", __func__);
		return -1;
	}

	if (nmigrations != TOKEND_MIGRATIONS) {
		log_warnx("this tokend embeds %zu migrations but was built for "
		    "%d; rebuild it", nmigrations, TOKEND_MIGRATIONS);
		return -1;
	}
	for (i = 0; i < nmigrations; i++) {
		if (migrations[i].version != (int)i + 1) {
			log_warnx("embedded migration %zu claims version %d; "
			    "rebuild tokend", i + 1, migrations[i].version);
			return -1;
		}
	}

	/*
	 * The database holds users' Forgejo tokens: nobody else may read it.
	 * SQLite gives the -wal and -shm files the mode of the database, and
	 * the umask stays in force until the migrations have written them.
	 */
	omask = umask(S_IRWXG | S_IRWXO);

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("open database %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		goto fail;
	}
	if (stat(path, &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		log_warnx("database %s is accessible to group or others "
		    "(mode %04o)", path, (unsigned int)(sb.st_mode & 07777));

	(void)sqlite3_extended_result_codes(db, 1);
#ifdef SQLITE_DBCONFIG_DEFENSIVE
	/* No writable_schema and the like: SQL cannot corrupt the file. */
	(void)sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
#endif
	if ((rc = sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT)) != SQLITE_OK) {
		log_warnx("database %s: busy timeout: %s", path,
		    sqlite3_errstr(rc));
		goto fail;
	}

	if (db_query_text("PRAGMA journal_mode=WAL", mode, sizeof(mode)) == -1)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		log_warnx("database %s: journal mode is %s, not wal", path,
		    mode);
		goto fail;
	}

	/* Without it, revoking a client would not cascade to its tokens. */
	if (db_exec("PRAGMA foreign_keys=ON") == -1 ||
	    db_query_int("PRAGMA foreign_keys", &on) == -1)
		goto fail;
	if (on != 1) {
		log_warnx("database %s: foreign keys cannot be enforced", path);
		goto fail;
	}

	/*
	 * The sandbox confines tokend to the database's directory; SQLite's
	 * temporary files would go elsewhere, so keep them in memory.
	 */
	if (db_exec("PRAGMA temp_store=MEMORY") == -1)
		goto fail;
	/*
	 * NORMAL would be safe for the file in WAL mode, but could lose the
	 * last commits to a power failure, and one of those may have been
	 * the revocation of a token.  tokend writes seldom: sync every one.
	 */
	if (db_exec("PRAGMA synchronous=FULL") == -1)
		goto fail;

	if (db_migrate() == -1)
		goto fail;

	(void)umask(omask);
	return 0;

 fail:
	(void)umask(omask);
	(void)sqlite3_close(db);
	db = NULL;
	return -1;
}

void
db_close(void)
{
	if (db == NULL)
		return;

	/* Fold the log into the database, so that the file stands alone. */
	if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
	    NULL) != SQLITE_OK)
		log_warnx("checkpoint database: %s", sqlite3_errmsg(db));

	if (sqlite3_close(db) != SQLITE_OK) {
		/* Statements left unfinalized: close once they are. */
		log_warnx("close database: %s", sqlite3_errmsg(db));
		(void)sqlite3_close_v2(db);
	}
	db = NULL;
}

/*
 * The schema version of the open database: the highest migration applied.
 * A real query, so that a health check proves the database answers.
 */
int
db_schema_version(int64_t *version)
{
	if (db == NULL) {
		log_warnx("%s: database not open", __func__);
		return -1;
	}
	return db_query_int("SELECT coalesce(max(version), 0) "
	    "FROM schema_migrations", version);
}

struct sqlite3 *
db_handle(void)
{
	return db;
}

/*
 * Apply the missing migrations, one transaction each.  The schema version
 * is read under the write lock that the next migration then runs under,
 * so that two processes opening one database cannot both apply it.
 */
static int
db_migrate(void)
{
	int64_t	 version;
	int	 applied = 0;

	for (;;) {
		if (db_exec("BEGIN IMMEDIATE") == -1)
			return -1;
		if (db_state(&version) == -1) {
			db_rollback();
			return -1;
		}
		if (version == TOKEND_MIGRATIONS)
			break;
		if (db_apply(&migrations[version]) == -1) {
			db_rollback();
			return -1;
		}
		log_info("applied migration %d (%s)",
		    migrations[version].version, migrations[version].name);
		applied++;
	}

	/* Up to date: end the transaction that found it so. */
	if (db_exec("COMMIT") == -1) {
		db_rollback();
		return -1;
	}
	if (applied == 0)
		log_debug("database schema is up to date (version %d)",
		    TOKEND_MIGRATIONS);
	else
		log_info("database schema is now version %d",
		    TOKEND_MIGRATIONS);
	return 0;
}

/*
 * Read the schema version of the database, which must be one this tokend
 * can bring up to date: 0 for an empty file, or migrations 1 to n recorded
 * with no gap and n not beyond TOKEND_MIGRATIONS.
 */
static int
db_state(int64_t *version)
{
	sqlite3_stmt	*stmt;
	int64_t		 n, lo, hi;
	int		 rc;

	if (db_query_int("SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name = 'schema_migrations'", &n) == -1)
		return -1;
	if (n == 0) {
		if (db_query_int("SELECT count(*) FROM sqlite_master",
		    &n) == -1)
			return -1;
		if (n != 0) {
			log_warnx("database has tables but no "
			    "schema_migrations; tokend did not create it, "
			    "refusing to open");
			return -1;
		}
		*version = 0;
		return 0;
	}

	rc = sqlite3_prepare_v2(db, "SELECT count(*), "
	    "coalesce(min(version), 0), coalesce(max(version), 0) "
	    "FROM schema_migrations", -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("read schema_migrations: %s", sqlite3_errmsg(db));
		return -1;
	}
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		log_warnx("read schema_migrations: %s", sqlite3_errmsg(db));
		sqlite3_finalize(stmt);
		return -1;
	}
	n = sqlite3_column_int64(stmt, 0);
	lo = sqlite3_column_int64(stmt, 1);
	hi = sqlite3_column_int64(stmt, 2);
	sqlite3_finalize(stmt);

	if (hi > TOKEND_MIGRATIONS) {
		log_warnx("database schema version %lld is newer than this "
		    "tokend knows (%d); refusing to open", (long long)hi,
		    TOKEND_MIGRATIONS);
		return -1;
	}
	if (n != hi || (n > 0 && lo != 1)) {
		log_warnx("schema_migrations records versions %lld to %lld "
		    "in %lld row(s), not 1 to %lld without a gap; refusing "
		    "to open", (long long)lo, (long long)hi, (long long)n,
		    (long long)hi);
		return -1;
	}
	*version = hi;
	return 0;
}

/*
 * Run one migration and record it, then commit, inside the transaction the
 * caller began.  On error the caller rolls back.
 */
static int
db_apply(const struct migration *m)
{
	sqlite3_stmt	*stmt;
	char		*errmsg = NULL;
	int		 rc;

	log_debug("applying migration %d (%s)", m->version, m->name);

	(void)sqlite3_set_authorizer(db, db_migration_auth, NULL);
	rc = sqlite3_exec(db, m->sql, NULL, NULL, &errmsg);
	(void)sqlite3_set_authorizer(db, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("migration %d (%s) failed: %s", m->version, m->name,
		    errmsg != NULL ? errmsg : sqlite3_errstr(rc));
		sqlite3_free(errmsg);
		return -1;
	}

	rc = sqlite3_prepare_v2(db, "INSERT INTO schema_migrations "
	    "(version, name, applied_at) VALUES (?, ?, ?)", -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("migration %d (%s) failed: record it: %s",
		    m->version, m->name, sqlite3_errmsg(db));
		return -1;
	}
	if (sqlite3_bind_int(stmt, 1, m->version) != SQLITE_OK ||
	    sqlite3_bind_text(stmt, 2, m->name, -1, SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)time(NULL)) !=
	    SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_DONE) {
		log_warnx("migration %d (%s) failed: record it: %s",
		    m->version, m->name, sqlite3_errmsg(db));
		sqlite3_finalize(stmt);
		return -1;
	}
	sqlite3_finalize(stmt);

	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("migration %d (%s) failed: commit: %s",
		    m->version, m->name, sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/*
 * While a migration runs, refuse BEGIN, COMMIT, END and ROLLBACK: one in a
 * migration file would commit part of it without the row recording it.
 */
static int
db_migration_auth(void *arg, int action, const char *a1, const char *a2,
    const char *dbname, const char *trigger)
{
	if (action == SQLITE_TRANSACTION)
		return SQLITE_DENY;
	return SQLITE_OK;
}

/*
 * The transactions of oauth.c and lifecycle.c (the migrations here share
 * the rollback): the database not yet open is an error, not a crash.
 */
int
db_begin(void)
{
	if (db == NULL || sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL) != SQLITE_OK) {
		log_warnx("begin: %s", db != NULL ? sqlite3_errmsg(db) :
		    "no database");
		return -1;
	}
	return 0;
}

int
db_commit(void)
{
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("commit: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

void
db_rollback(void)
{
	/* Some errors, SQLITE_FULL or SQLITE_IOERR, have rolled back already. */
	if (db == NULL || sqlite3_get_autocommit(db))
		return;
	if (sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		log_warnx("rollback: %s", sqlite3_errmsg(db));
}

/* Statements without parameters only: the text is logged on error. */
static int
db_exec(const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("sql \"%s\": %s", sql, sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

static int
db_query_int(const char *sql, int64_t *val)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		log_warnx("sql \"%s\": %s", sql, sqlite3_errmsg(db));
		return -1;
	}
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		log_warnx("sql \"%s\": %s", sql, rc == SQLITE_DONE ?
		    "no result" : sqlite3_errmsg(db));
		sqlite3_finalize(stmt);
		return -1;
	}
	*val = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return 0;
}

static int
db_query_text(const char *sql, char *buf, size_t len)
{
	sqlite3_stmt		*stmt;
	const unsigned char	*text;
	int			 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		log_warnx("sql \"%s\": %s", sql, sqlite3_errmsg(db));
		return -1;
	}
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		log_warnx("sql \"%s\": %s", sql, rc == SQLITE_DONE ?
		    "no result" : sqlite3_errmsg(db));
		sqlite3_finalize(stmt);
		return -1;
	}
	text = sqlite3_column_text(stmt, 0);
	(void)strlcpy(buf, text != NULL ? (const char *)text : "", len);
	sqlite3_finalize(stmt);
	return 0;
}

/*
 * The statements of oauth.c and lifecycle.c.  Prepare sql and bind its
 * parameters as fmt says, a character each: 't' a string (NULL binds
 * NULL), 'i' an int64_t.  Strings are bound without a copy and must
 * outlive the statement.  Only the SQL text is ever logged, never a
 * value: they are tokens.
 */
static sqlite3_stmt *
db_vprepare(const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt	*st;
	const char	*s;
	int		 i, rc = SQLITE_OK;

	if (db == NULL) {
		log_warnx("%s: database not open", __func__);
		return NULL;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("sql \"%s\": %s", sql, sqlite3_errmsg(db));
		return NULL;
	}
	for (i = 0; fmt[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 't':
			s = va_arg(ap, const char *);
			if (s == NULL)
				rc = sqlite3_bind_null(st, i + 1);
			else
				rc = sqlite3_bind_text(st, i + 1, s, -1,
				    SQLITE_STATIC);
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1,
			    va_arg(ap, int64_t));
			break;
		default:
			fatalx("%s: bad parameter type %c", __func__, fmt[i]);
		}
	}
	if (rc != SQLITE_OK) {
		log_warnx("sql \"%s\": bind: %s", sql, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *
db_prepare(const char *sql, const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;

	va_start(ap, fmt);
	st = db_vprepare(sql, fmt, ap);
	va_end(ap);
	return st;
}

/* Run a statement without result rows; the number of rows changed. */
int
db_run(const char *sql, const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 rc;

	va_start(ap, fmt);
	st = db_vprepare(sql, fmt, ap);
	va_end(ap);
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		log_warnx("sql \"%s\": %s", sql, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return sqlite3_changes(db);
}

/* 1 for a row, 0 for none, -1 on error. */
int
db_step(sqlite3_stmt *st)
{
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		return 1;
	case SQLITE_DONE:
		return 0;
	default:
		log_warnx("sql \"%s\": %s", sqlite3_sql(st),
		    sqlite3_errmsg(db));
		return -1;
	}
}

/*
 * Revoke every token of a grant, inside the caller's transaction: a
 * replayed code, a reused refresh token, a revocation request and an
 * upstream token that cannot be renewed all end a grant this one way.
 */
int
db_grant_revoke(const char *grant_id, int64_t now)
{
	if (db_run("UPDATE access_tokens SET revoked_at = ? "
	    "WHERE grant_id = ? AND revoked_at IS NULL", "it", now,
	    grant_id) == -1 ||
	    db_run("UPDATE refresh_tokens SET revoked_at = ? "
	    "WHERE grant_id = ? AND revoked_at IS NULL", "it", now,
	    grant_id) == -1)
		return -1;
	return 0;
}
