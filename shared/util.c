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


#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <sha2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * Encode without padding (RFC 4648 §5).  Returns the length written, or
 * 0 if the output does not fit with its NUL.
 */
size_t
base64url_encode(const uint8_t *in, size_t inlen, char *out, size_t outsz)
{
	size_t		 i, o = 0, need;
	uint32_t	 v;

	need = (inlen / 3) * 4 + ((inlen % 3) ? (inlen % 3) + 1 : 0);
	if (need >= outsz)
		return 0;
	for (i = 0; i + 2 < inlen; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	if (inlen - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
	} else if (inlen - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

/* An opaque token of nbytes random bytes, base64url encoded. */
int
random_token(char *out, size_t outsz, size_t nbytes)
{
	uint8_t	 raw[64];

	if (nbytes > sizeof(raw))
		return -1;
	arc4random_buf(raw, nbytes);
	if (base64url_encode(raw, nbytes, out, outsz) == 0) {
		explicit_bzero(raw, sizeof(raw));
		return -1;
	}
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

void
sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
	SHA256Data(data, len, out);
}

/*
 * Read a whole file of at most max bytes into a NUL-terminated buffer.
 * The caller owns *buf and clears it with freezero() if it is secret.
 */
int
read_file(const char *path, char **buf, size_t *len, size_t max)
{
	struct stat	 st;
	char		*p;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (size_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)st.st_size) {
		n = read(fd, p + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			freezero(p, (size_t)st.st_size + 1);
			if (n == 0)
				errno = EIO;
			goto fail;
		}
		off += (size_t)n;
	}
	p[off] = '\0';
	close(fd);
	*buf = p;
	*len = off;
	return 0;
fail:
	n = errno;
	close(fd);
	errno = (int)n;
	return -1;
}

/* Compare two secrets in time that depends on their lengths only. */
int
timingsafe_streq(const char *a, const char *b)
{
	size_t		 la = strlen(a), lb = strlen(b), i;
	unsigned char	 diff = 0;

	if (la != lb)
		return 0;
	for (i = 0; i < la; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

/*
 * HMAC-SHA256 of RFC 2104: H((K ^ opad) || H((K ^ ipad) || msg)).  A key
 * longer than the hash's block is replaced by its hash, as the RFC says.
 */
void
hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
    uint8_t out[HMAC_SHA256_LEN])
{
	SHA2_CTX	 ctx;
	uint8_t		 k[SHA256_BLOCK_LENGTH], pad[SHA256_BLOCK_LENGTH];
	uint8_t		 inner[SHA256_DIGEST_LENGTH];
	size_t		 i;

	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k)) {
		SHA256Init(&ctx);
		SHA256Update(&ctx, key, keylen);
		SHA256Final(k, &ctx);
	} else if (keylen > 0)
		memcpy(k, key, keylen);

	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	SHA256Init(&ctx);
	SHA256Update(&ctx, pad, sizeof(pad));
	SHA256Update(&ctx, msg, msglen);
	SHA256Final(inner, &ctx);

	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256Init(&ctx);
	SHA256Update(&ctx, pad, sizeof(pad));
	SHA256Update(&ctx, inner, sizeof(inner));
	SHA256Final(out, &ctx);

	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
	explicit_bzero(inner, sizeof(inner));
	explicit_bzero(&ctx, sizeof(ctx));
}
