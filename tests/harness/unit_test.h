/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unit_test.h: anyload's header-only unit-test harness, in the style of
 * Onload's unit_test.h and libuv's task.h. Zero dependencies beyond libc.
 *
 * A test file defines test functions `static void test_mod_case(void)`,
 * lists them in a table and lets the harness provide main():
 *
 *   static const struct unit_test tests[] = {
 *           UNIT_TEST(test_mod_case),
 *   };
 *   UNIT_TEST_MAIN(tests)
 *
 * Checks:
 *   CHECK(a, op, b)      compares two scalars (any integer type, floating
 *                        point or pointer) with op in == != < <= > >=; the
 *                        comparison is by mathematical value, so a negative
 *                        int is less than any unsigned value (no C usual
 *                        arithmetic conversion surprises, no -Wsign-compare).
 *                        On failure both expressions and values are printed.
 *   CHECK_PTR(a, op, b)  the same for two pointers, printed with %p.
 *   CHECK_MEM(a, b, len) memcmp, printing the first differing offset and
 *                        the bytes from there on in both buffers.
 *   CHECK_STR(a, op, b)  strcmp(a, b) op 0, printing both strings.
 *   UNIT_FAIL(fmt, ...)  fails the test with a message.
 *   UNIT_SKIP(reason)    ends the test as skipped.
 * A failing check ends the current test at once (longjmp back to the
 * runner); later tests still run.
 *
 * Output is TAP: a "1..N" plan, then "ok N - name", "not ok N - name" or
 * "ok N - name # SKIP reason" per test, diagnostics on lines starting with
 * '#'. The last line is a summary. Exit status: 0 if every test passed or
 * was skipped, 1 if any failed, 77 (the automake/xdp-tools "skipped" code)
 * if none ran because all were skipped.
 *
 * Command-line arguments, if any, are test names: only those run.
 * Not thread-safe: checks must be made on the thread that runs the test.
 */
#ifndef ANYLOAD_UNIT_TEST_H
#define ANYLOAD_UNIT_TEST_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_TEST(fn_) { #fn_, fn_ }

/* Exit status that test runners take for "skipped". */
#define UNIT_EXIT_SKIP 77

enum unit__outcome {
	UNIT__PASS = 0,
	UNIT__FAIL = 1,
	UNIT__SKIP = 2,
};

struct unit__state {
	jmp_buf jmp;
	char skip_reason[256];
};

/* unit__st: the harness state; one per process. A function-local static
 * avoids an unused-variable warning in files that include the header
 * without running tests. */
static inline struct unit__state *unit__st(void)
{
	static struct unit__state st;
	return &st;
}

/* A scalar operand of CHECK, widened without loss of its value. */
enum unit__kind { UNIT__K_S, UNIT__K_U, UNIT__K_F, UNIT__K_P };

struct unit__val {
	enum unit__kind kind;
	long long s;
	unsigned long long u;
	long double f;
	const volatile void *p;
};

static inline struct unit__val unit__v_s(long long v)
{
	struct unit__val r = { .kind = UNIT__K_S, .s = v };
	return r;
}

static inline struct unit__val unit__v_u(unsigned long long v)
{
	struct unit__val r = { .kind = UNIT__K_U, .u = v };
	return r;
}

static inline struct unit__val unit__v_f(long double v)
{
	struct unit__val r = { .kind = UNIT__K_F, .f = v };
	return r;
}

static inline struct unit__val unit__v_p(const volatile void *v)
{
	struct unit__val r = { .kind = UNIT__K_P, .p = v };
	return r;
}

/* UNIT__VAL: pick the widening function by the operand's type. _Generic
 * selects a function designator (not a call), so only the selected
 * function ever sees the operand, and the operand is evaluated once.
 * Enums match the integer type they are compatible with; anything else
 * (pointers, arrays decayed to pointers) is taken as a pointer. */
#define UNIT__VAL(x) _Generic((x),					\
	_Bool: unit__v_u,						\
	char: unit__v_s,						\
	signed char: unit__v_s,						\
	short: unit__v_s,						\
	int: unit__v_s,							\
	long: unit__v_s,						\
	long long: unit__v_s,						\
	unsigned char: unit__v_u,					\
	unsigned short: unit__v_u,					\
	unsigned int: unit__v_u,					\
	unsigned long: unit__v_u,					\
	unsigned long long: unit__v_u,					\
	float: unit__v_f,						\
	double: unit__v_f,						\
	long double: unit__v_f,						\
	default: unit__v_p)(x)

/* unit__cmp: three-way comparison of two widened values by mathematical
 * value; returns <0, 0 or >0. */
static inline int unit__cmp(struct unit__val a, struct unit__val b)
{
	if (a.kind == UNIT__K_F || b.kind == UNIT__K_F) {
		long double x = a.kind == UNIT__K_F ? a.f :
				a.kind == UNIT__K_S ? (long double)a.s :
				(long double)a.u;
		long double y = b.kind == UNIT__K_F ? b.f :
				b.kind == UNIT__K_S ? (long double)b.s :
				(long double)b.u;
		return (x > y) - (x < y);
	}
	if (a.kind == UNIT__K_P)
		a = unit__v_u((uintptr_t)a.p);
	if (b.kind == UNIT__K_P)
		b = unit__v_u((uintptr_t)b.p);
	if (a.kind == UNIT__K_S && b.kind == UNIT__K_S)
		return (a.s > b.s) - (a.s < b.s);
	/* At least one side is unsigned: a negative value is below it. */
	if (a.kind == UNIT__K_S && a.s < 0)
		return -1;
	if (b.kind == UNIT__K_S && b.s < 0)
		return 1;
	unsigned long long x = a.kind == UNIT__K_S ? (unsigned long long)a.s : a.u;
	unsigned long long y = b.kind == UNIT__K_S ? (unsigned long long)b.s : b.u;
	return (x > y) - (x < y);
}

static inline void unit__fmt(char *buf, size_t n, struct unit__val v)
{
	switch (v.kind) {
	case UNIT__K_S:
		if (v.s < -9 || v.s > 9)
			snprintf(buf, n, "%lld (0x%llx)", v.s,
				 (unsigned long long)v.s);
		else
			snprintf(buf, n, "%lld", v.s);
		break;
	case UNIT__K_U:
		if (v.u > 9)
			snprintf(buf, n, "%llu (0x%llx)", v.u, v.u);
		else
			snprintf(buf, n, "%llu", v.u);
		break;
	case UNIT__K_F:
		snprintf(buf, n, "%.17Lg", v.f);
		break;
	case UNIT__K_P:
		snprintf(buf, n, "%p", (const void *)v.p);
		break;
	}
}

/* unit__end_fail: leave the running test as failed. */
static inline void unit__end_fail(void)
{
	fflush(stdout);
	longjmp(unit__st()->jmp, UNIT__FAIL);
}

static inline void unit__diag(const char *file, int line, const char *fmt,
			      ...) __attribute__((format(printf, 3, 4)));
static inline void unit__diag(const char *file, int line, const char *fmt,
			      ...)
{
	va_list ap;

	printf("#   %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline void unit__check_fail(const char *file, int line,
				    const char *what, const char *as,
				    const char *op,
				    const char *bs, struct unit__val a,
				    struct unit__val b)
{
	char abuf[64], bbuf[64];

	unit__fmt(abuf, sizeof(abuf), a);
	unit__fmt(bbuf, sizeof(bbuf), b);
	unit__diag(file, line, "%s(%s %s %s) failed", what, as, op, bs);
	printf("#     left:  %s\n#     right: %s\n", abuf, bbuf);
	unit__end_fail();
}

#define CHECK(a, op, b) do {						\
	struct unit__val unit__a = UNIT__VAL(a);			\
	struct unit__val unit__b = UNIT__VAL(b);			\
	if (!(unit__cmp(unit__a, unit__b) op 0))			\
		unit__check_fail(__FILE__, __LINE__, "CHECK", #a, #op,	\
				 #b, unit__a, unit__b);			\
} while (0)

#define CHECK_PTR(a, op, b) do {					\
	struct unit__val unit__a =					\
		unit__v_p((const volatile void *)(a));			\
	struct unit__val unit__b =					\
		unit__v_p((const volatile void *)(b));			\
	if (!(unit__cmp(unit__a, unit__b) op 0))			\
		unit__check_fail(__FILE__, __LINE__, "CHECK_PTR", #a,	\
				 #op, #b, unit__a, unit__b);		\
} while (0)

static inline void unit__check_mem(const char *file, int line,
				   const char *as, const char *bs,
				   const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	size_t i, off;

	if (len == 0 || memcmp(a, b, len) == 0)
		return;
	for (off = 0; off < len && x[off] == y[off]; off++)
		;
	unit__diag(file, line,
		   "CHECK_MEM(%s, %s, %zu) failed: first difference at "
		   "offset %zu (0x%zx)", as, bs, len, off, off);
	printf("#     left  @%zu:", off);
	for (i = off; i < len && i < off + 16; i++)
		printf(" %02x", x[i]);
	printf("\n#     right @%zu:", off);
	for (i = off; i < len && i < off + 16; i++)
		printf(" %02x", y[i]);
	printf("\n");
	unit__end_fail();
}

#define CHECK_MEM(a, b, len)						\
	unit__check_mem(__FILE__, __LINE__, #a, #b, (a), (b), (len))

#define CHECK_STR(a, op, b) do {					\
	const char *unit__sa = (a), *unit__sb = (b);			\
	if (!unit__sa || !unit__sb ||					\
	    !(strcmp(unit__sa, unit__sb) op 0)) {			\
		unit__diag(__FILE__, __LINE__,				\
			   "CHECK_STR(%s %s %s) failed", #a, #op, #b);	\
		printf("#     left:  \"%s\"\n#     right: \"%s\"\n",	\
		       unit__sa ? unit__sa : "(null)",			\
		       unit__sb ? unit__sb : "(null)");			\
		unit__end_fail();					\
	}								\
} while (0)

#define UNIT_FAIL(...) do {						\
	unit__diag(__FILE__, __LINE__, __VA_ARGS__);			\
	unit__end_fail();						\
} while (0)

#define UNIT_SKIP(reason) do {						\
	snprintf(unit__st()->skip_reason,				\
		 sizeof(unit__st()->skip_reason), "%s", (reason));	\
	fflush(stdout);							\
	longjmp(unit__st()->jmp, UNIT__SKIP);				\
} while (0)

static inline int unit__selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc <= 1)
		return 1;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

/* unit__run_one: run one test function and return its unit__outcome. It
 * is a function of its own so that no local of the caller is live across
 * setjmp/longjmp (C11 7.13.2.1 leaves such locals indeterminate). */
static inline int unit__run_one(void (*fn)(void))
{
	switch (setjmp(unit__st()->jmp)) {
	case 0:
		fn();
		return UNIT__PASS;
	case UNIT__SKIP:
		return UNIT__SKIP;
	default:
		return UNIT__FAIL;
	}
}

/* unit__run: run the tests of a table (those named in argv[1..], or all)
 * and return the exit status described at the top of this file. */
static inline int unit__run(const struct unit_test *tests, size_t n,
			    int argc, char **argv)
{
	struct unit__state *st = unit__st();
	unsigned passed = 0, failed = 0, skipped = 0, num = 0;
	static char last_skip[256];
	size_t i, planned = 0;

	for (i = 0; i < n; i++)
		planned += unit__selected(tests[i].name, argc, argv);
	printf("1..%zu\n", planned);
	fflush(stdout);
	last_skip[0] = '\0';

	for (i = 0; i < n; i++) {
		if (!unit__selected(tests[i].name, argc, argv))
			continue;
		num++;
		st->skip_reason[0] = '\0';
		switch (unit__run_one(tests[i].fn)) {
		case UNIT__PASS:
			printf("ok %u - %s\n", num, tests[i].name);
			passed++;
			break;
		case UNIT__SKIP:
			printf("ok %u - %s # SKIP %s\n", num, tests[i].name,
			       st->skip_reason);
			snprintf(last_skip, sizeof(last_skip), "%s",
				 st->skip_reason);
			skipped++;
			break;
		default:
			printf("not ok %u - %s\n", num, tests[i].name);
			failed++;
			break;
		}
		fflush(stdout);
	}

	if (failed == 0 && passed == 0) {
		/* The last line is the reason a runner shows for a skip. */
		printf("# %u passed, %u failed, %u skipped\n", passed, failed,
		       skipped);
		printf("all tests skipped: %s\n",
		       last_skip[0] ? last_skip : "no tests selected");
		fflush(stdout);
		return UNIT_EXIT_SKIP;
	}
	printf("# %u passed, %u failed, %u skipped\n", passed, failed,
	       skipped);
	fflush(stdout);
	return failed ? 1 : 0;
}

#define UNIT_TEST_MAIN(table)						\
int main(int argc, char **argv)						\
{									\
	return unit__run((table), sizeof(table) / sizeof((table)[0]),	\
			 argc, argv);					\
}

#endif /* ANYLOAD_UNIT_TEST_H */
