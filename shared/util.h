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


#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

/* A token of 32 random bytes is 43 characters of base64url. */
#define TOKEN_BYTES		32
#define TOKEN_STRLEN		64
#define SHA256_HEX_LEN		65
#define HMAC_SHA256_LEN		32	/* bytes of an HMAC-SHA256 */

int	 random_token(char *, size_t, size_t);
size_t	 base64url_encode(const uint8_t *, size_t, char *, size_t);
void	 sha256_hex(const void *, size_t, char [SHA256_HEX_LEN]);
int	 read_file(const char *, char **, size_t *, size_t);
int	 timingsafe_streq(const char *, const char *);
void	 hmac_sha256(const void *, size_t, const void *, size_t,
	    uint8_t [HMAC_SHA256_LEN]);

#endif /* UTIL_H */
