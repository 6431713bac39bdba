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
 * The smallest possible test harness: CHECK() prints one TAP line per
 * assertion, and regress_done() turns any failure into exit status 1.
 * regress/run counts the lines.
 */

#ifndef REGRESS_H
#define REGRESS_H

#include <stdio.h>
#include <stdlib.h>

static int	regress_n;
static int	regress_failed;

#define CHECK(cond, ...) do {						\
	int regress_ok_ = (cond) ? 1 : 0;				\
									\
	regress_n++;							\
	if (!regress_ok_)						\
		regress_failed++;					\
	printf("%sok %d - ", regress_ok_ ? "" : "not ", regress_n);	\
	printf(__VA_ARGS__);						\
	if (!regress_ok_)						\
		printf(" (%s) at %s:%d", #cond, __FILE__, __LINE__);	\
	printf("\n");							\
	fflush(stdout);							\
} while (0)

static inline int
regress_done(void)
{
	return regress_failed ? 1 : 0;
}

#endif /* REGRESS_H */
