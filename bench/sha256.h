// SPDX-License-Identifier: BSD-2-Clause
/*
 * sha256.h: SHA-256 (FIPS 180-4 §6.2), written from the standard, for the
 * TCP data-integrity tests and benchmarks: a transfer is checked by
 * comparing the digest of what one end sent with the digest of what the
 * other end received, each computed by a different implementation (this
 * one on anyload's side, Python's hashlib on the kernel's).
 *
 * Header-only (static functions) so that bench programs, which are single
 * files, can include it. Portable C (~250 MB/s at -O2), and on x86-64
 * CPUs with the SHA extensions the same compression function through
 * them (~1.5 GB/s), chosen at run time; SHA256_PORTABLE=1 in the
 * environment forces the portable code (the tests check both against
 * sha256sum).
 *
 *   sha256_init(&c); sha256_update(&c, p, n)...; sha256_final(&c, out);
 *   sha256_hex(out, hex): the 64 lowercase hex digits and a NUL.
 */
#ifndef ANYLOAD_BENCH_SHA256_H
#define ANYLOAD_BENCH_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_BLOCK	64
#define SHA256_DIGEST	32

struct sha256_ctx {
	uint32_t h[8];			/* H(i), the intermediate hash */
	uint64_t len;			/* message bytes so far */
	unsigned char blk[SHA256_BLOCK];	/* a partial block */
	size_t blk_len;
};

/* FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes. */
static const uint32_t sha256__k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
	0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
	0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t sha256__rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

/* §4.1.2: Ch, Maj and the four sigma functions. */
#define SHA256__CH(x, y, z)	(((x) & (y)) ^ (~(x) & (z)))
#define SHA256__MAJ(x, y, z)	(((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define SHA256__BSIG0(x)	(sha256__rotr(x, 2) ^ sha256__rotr(x, 13) ^ \
				 sha256__rotr(x, 22))
#define SHA256__BSIG1(x)	(sha256__rotr(x, 6) ^ sha256__rotr(x, 11) ^ \
				 sha256__rotr(x, 25))
#define SHA256__SSIG0(x)	(sha256__rotr(x, 7) ^ sha256__rotr(x, 18) ^ \
				 ((x) >> 3))
#define SHA256__SSIG1(x)	(sha256__rotr(x, 17) ^ sha256__rotr(x, 19) ^ \
				 ((x) >> 10))

static void sha256_init(struct sha256_ctx *c)
{
	/* §5.3.3: the first 32 bits of the fractional parts of the square
	 * roots of the first 8 primes. */
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(c->h, h0, sizeof(h0));
	c->len = 0;
	c->blk_len = 0;
}

/* sha256__block: §6.2.2, one 512-bit block M(i) at p. */
static void sha256__block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, cc, d, e, f, g, hh, t1, t2;
	unsigned t;

	for (t = 0; t < 16; t++)
		w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
		       (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
	for (t = 16; t < 64; t++)
		w[t] = SHA256__SSIG1(w[t - 2]) + w[t - 7] +
		       SHA256__SSIG0(w[t - 15]) + w[t - 16];
	a = h[0];
	b = h[1];
	cc = h[2];
	d = h[3];
	e = h[4];
	f = h[5];
	g = h[6];
	hh = h[7];
	for (t = 0; t < 64; t++) {
		t1 = hh + SHA256__BSIG1(e) + SHA256__CH(e, f, g) +
		     sha256__k[t] + w[t];
		t2 = SHA256__BSIG0(a) + SHA256__MAJ(a, b, cc);
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = cc;
		cc = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += cc;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* sha256__blocks_ni: §6.2.2 on n blocks with the x86 SHA extensions
 * (Intel SDM: SHA256RNDS2 does two rounds on the state held as {A,B,E,F}
 * and {C,D,G,H} with W+K in the low half of its third operand;
 * SHA256MSG1 and SHA256MSG2 compute the σ0 and σ1 parts of the message
 * schedule, four words at a time). */
__attribute__((target("sha,sse4.1,ssse3")))
static void sha256__blocks_ni(uint32_t h[8], const unsigned char *p,
			      size_t n)
{
	/* Byte lane i of a word takes byte 3 - i: big-endian words. */
	const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11,
					   4, 5, 6, 7, 0, 1, 2, 3);
	__m128i abef = _mm_set_epi32((int)h[0], (int)h[1], (int)h[4],
				     (int)h[5]);
	__m128i cdgh = _mm_set_epi32((int)h[2], (int)h[3], (int)h[6],
				     (int)h[7]);
	__m128i m[4], wk, abef0, cdgh0;
	unsigned g;

	for (; n; n--, p += SHA256_BLOCK) {
		abef0 = abef;
		cdgh0 = cdgh;
		for (g = 0; g < 16; g++) {
			if (g < 4) {
				m[g] = _mm_shuffle_epi8(_mm_loadu_si128(
					(const __m128i *)(p + 16 * g)), bswap);
			} else {
				/* W[t..t+3] from W[t-16..t-1], in m[] as a
				 * ring of four vectors: W[t-7..t-4] is
				 * W[t-8..t-1] shifted by one word. */
				__m128i w7 = _mm_alignr_epi8(m[(g - 1) & 3],
							     m[(g - 2) & 3], 4);

				m[g & 3] = _mm_sha256msg2_epu32(
					_mm_add_epi32(_mm_sha256msg1_epu32(
						m[g & 3], m[(g - 3) & 3]), w7),
					m[(g - 1) & 3]);
			}
			wk = _mm_add_epi32(m[g & 3], _mm_loadu_si128(
				(const __m128i *)&sha256__k[4 * g]));
			/* Two rounds make the old {A,B,E,F} the new
			 * {C,D,G,H}: the two variables swap roles. */
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
			wk = _mm_shuffle_epi32(wk, 0x0e);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	h[0] = (uint32_t)_mm_extract_epi32(abef, 3);
	h[1] = (uint32_t)_mm_extract_epi32(abef, 2);
	h[4] = (uint32_t)_mm_extract_epi32(abef, 1);
	h[5] = (uint32_t)_mm_extract_epi32(abef, 0);
	h[2] = (uint32_t)_mm_extract_epi32(cdgh, 3);
	h[3] = (uint32_t)_mm_extract_epi32(cdgh, 2);
	h[6] = (uint32_t)_mm_extract_epi32(cdgh, 1);
	h[7] = (uint32_t)_mm_extract_epi32(cdgh, 0);
}

/* sha256__have_ni: the CPU has the SHA extensions, SSSE3 and SSE4.1
 * (CPUID leaf 7 EBX bit 29; leaf 1 ECX bits 9 and 19). */
static int sha256__have_ni(void)
{
	static int have = -1;
	const char *env = getenv("SHA256_PORTABLE");
	unsigned a, b, c, d;

	if (have < 0) {
		have = __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
		       (b & (1u << 29)) && __get_cpuid(1, &a, &b, &c, &d) &&
		       (c & (1u << 9)) && (c & (1u << 19));
		if (env && *env && strcmp(env, "0") != 0)
			have = 0;
	}
	return have;
}
#endif

/* sha256__blocks: n whole blocks, with the SHA extensions when the CPU
 * has them (SHA256_PORTABLE in the environment turns them off). */
static void sha256__blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
#if defined(__x86_64__)
	if (sha256__have_ni()) {
		sha256__blocks_ni(h, p, n);
		return;
	}
#endif
	for (; n; n--, p += SHA256_BLOCK)
		sha256__block(h, p);
}

static void sha256_update(struct sha256_ctx *c, const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t take;

	c->len += n;
	if (c->blk_len) {
		take = SHA256_BLOCK - c->blk_len;
		if (take > n)
			take = n;
		memcpy(c->blk + c->blk_len, p, take);
		c->blk_len += take;
		p += take;
		n -= take;
		if (c->blk_len < SHA256_BLOCK)
			return;
		sha256__block(c->h, c->blk);
		c->blk_len = 0;
	}
	take = n / SHA256_BLOCK;
	sha256__blocks(c->h, p, take);
	p += take * SHA256_BLOCK;
	n -= take * SHA256_BLOCK;
	memcpy(c->blk, p, n);
	c->blk_len = n;
}

/* sha256_final: §5.1.1 padding (a 1 bit, zeros, the length in bits as a
 * 64-bit big-endian number), then the digest H(N) as big-endian words. */
static void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_DIGEST])
{
	uint64_t bits = c->len * 8;
	unsigned i;

	c->blk[c->blk_len++] = 0x80;
	if (c->blk_len > SHA256_BLOCK - 8) {
		memset(c->blk + c->blk_len, 0, SHA256_BLOCK - c->blk_len);
		sha256__block(c->h, c->blk);
		c->blk_len = 0;
	}
	memset(c->blk + c->blk_len, 0, SHA256_BLOCK - 8 - c->blk_len);
	for (i = 0; i < 8; i++)
		c->blk[SHA256_BLOCK - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha256__block(c->h, c->blk);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(c->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)c->h[i];
	}
}

static void sha256_hex(const unsigned char d[SHA256_DIGEST],
		       char hex[2 * SHA256_DIGEST + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < SHA256_DIGEST; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[2 * SHA256_DIGEST] = '\0';
}

#endif /* ANYLOAD_BENCH_SHA256_H */
