// SPDX-License-Identifier: BSD-2-Clause
/*
 * parse_size.h: a size argument, a decimal number with an optional K, M
 * or G (powers of 1024), for the bench programs' options and the tests'
 * size settings. Header-only (a static function), as sha256.h.
 */
#ifndef ANYLOAD_BENCH_PARSE_SIZE_H
#define ANYLOAD_BENCH_PARSE_SIZE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* parse_size: s into *out, at most max. Returns 0 or -EINVAL. */
static int parse_size(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	switch (*end) {
	case 'K': v <<= 10; end++; break;
	case 'M': v <<= 20; end++; break;
	case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

#endif
