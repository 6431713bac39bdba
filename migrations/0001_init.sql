-- 0001_init.sql: the bookkeeping that every later migration relies on.
--
-- broker_meta keeps small named facts about the database itself, such as
-- the version of the OAuth schema it carries.
--
-- schema_migrations has one row per migration tokend has applied.  tokend
-- inserts that row inside the transaction that runs the migration, so the
-- row is present exactly when the migration's changes are.  The highest
-- version recorded here is the schema version of the database.

CREATE TABLE broker_meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);

CREATE TABLE schema_migrations (
    version     INTEGER PRIMARY KEY,    -- NNNN of migrations/NNNN_name.sql
    name        TEXT NOT NULL,          -- the name part of that file
    applied_at  INTEGER NOT NULL        -- unix epoch seconds
);
