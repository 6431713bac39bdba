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

#ifndef TOKEND_H
#define TOKEND_H

#include <stddef.h>
#include <stdint.h>

/*
 * The number of migrations this tokend knows, migrations/0001 up to this
 * one.  Adding a migration means adding its file and bumping this number;
 * the generated migrations.c refuses to compile until both agree.
 */
#define TOKEND_MIGRATIONS	2

/* One migrations/NNNN_name.sql, embedded by tokend/mkmigrations.sh. */
struct migration {
	int		 version;	/* NNNN */
	const char	*name;		/* name */
	const char	*sql;		/* the whole file */
};

/* migrations.c, generated */
extern const struct migration	migrations[];
extern const size_t		nmigrations;

#include "proto.h"

struct imsgev;

struct tokend_env {
	struct cfg_tokend	 cfg;
	struct imsgev		*iev[PROC_MAX];
	int			 configured;
};

/* tokend.c */
extern struct tokend_env	 tokend_env;

/* db.c */
struct sqlite3;

int		 db_open(const char *);
void		 db_close(void);
int		 db_schema_version(int64_t *);
struct sqlite3	*db_handle(void);

#endif /* TOKEND_H */
