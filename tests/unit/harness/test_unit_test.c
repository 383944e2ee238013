// SPDX-License-Identifier: BSD-2-Clause
/*
 * test_unit_test.c: self-test of tests/harness/unit_test.h. Passing checks
 * are exercised directly; failing checks, skips, the TAP output and the
 * exit status are exercised by running small inner test tables in a forked
 * child whose stdout is captured through a pipe.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_test.h"

/* --- inner tables, run only inside a child process --- */

static void inner_pass(void)
{
	CHECK(2, ==, 2);
}

static void inner_check_fail(void)
{
	int three = 3;

	CHECK(three, ==, 4);
	printf("REACHED after failing CHECK\n");
}

static void inner_mem_fail(void)
{
	const unsigned char a[] = { 1, 2, 3, 4, 5 };
	const unsigned char b[] = { 1, 2, 9, 4, 5 };

	CHECK_MEM(a, b, sizeof(a));
	printf("REACHED after failing CHECK_MEM\n");
}

static void inner_skip(void)
{
	UNIT_SKIP("because of reasons");
	printf("REACHED after UNIT_SKIP\n");
}

static void inner_skip2(void)
{
	UNIT_SKIP("second reason");
}

static const struct unit_test inner_mixed[] = {
	UNIT_TEST(inner_check_fail),
	UNIT_TEST(inner_mem_fail),
	UNIT_TEST(inner_pass),
	UNIT_TEST(inner_skip),
};

static const struct unit_test inner_all_skip[] = {
	UNIT_TEST(inner_skip),
	UNIT_TEST(inner_skip2),
};

/* run_child: run a table in a child with stdout captured into out; return
 * the child's exit status, or -1 if it did not exit normally. */
static int run_child(const struct unit_test *t, size_t n, int argc,
		     char **argv, char *out, size_t outlen)
{
	int fds[2], status;
	size_t used = 0;
	ssize_t got;
	pid_t pid;

	CHECK(pipe(fds), ==, 0);
	fflush(stdout);
	pid = fork();
	CHECK(pid, >=, 0);
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(99);
		int rc = unit__run(t, n, argc, argv);
		fflush(stdout);
		_exit(rc);
	}
	close(fds[1]);
	while (used + 1 < outlen &&
	       (got = read(fds[0], out + used, outlen - 1 - used)) > 0)
		used += (size_t)got;
	out[used] = '\0';
	close(fds[0]);
	CHECK(waitpid(pid, &status, 0), ==, pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *last_line(char *out)
{
	size_t len = strlen(out);
	char *p;

	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	p = strrchr(out, '\n');
	return p ? p + 1 : out;
}

/* --- the self-tests --- */

enum colour { RED, GREEN };

static void test_unit_test_check_pass(void)
{
	unsigned u = 7;
	size_t len = 28;
	int neg = -1;
	enum colour c = GREEN;
	bool yes = true;
	char ch = 'a';

	CHECK(1, ==, 1);
	CHECK(u, ==, 7);
	CHECK(len, ==, 28);
	CHECK(len, >, 27u);
	CHECK(len, <=, 28);
	CHECK(neg, <, u);		/* by value, not C's -1 -> UINT_MAX */
	CHECK(neg, !=, UINT64_MAX);
	CHECK(UINT64_MAX, >, INT64_MAX);
	CHECK(INT64_MIN, <, 0);
	CHECK(c, ==, GREEN);
	CHECK(yes, ==, 1);
	CHECK(ch, ==, 97);
	CHECK(1.5, <, 2);
	CHECK(0.25f, ==, 0.25);
}

static void test_unit_test_cmp(void)
{
	CHECK(unit__cmp(UNIT__VAL(-1), UNIT__VAL(0u)), <, 0);
	CHECK(unit__cmp(UNIT__VAL(0u), UNIT__VAL(-1)), >, 0);
	CHECK(unit__cmp(UNIT__VAL(5ull), UNIT__VAL(5)), ==, 0);
	CHECK(unit__cmp(UNIT__VAL(UINT64_MAX), UNIT__VAL(-1LL)), >, 0);
	CHECK(unit__cmp(UNIT__VAL(2.5), UNIT__VAL(2)), >, 0);
	CHECK(unit__cmp(UNIT__VAL(-2.5), UNIT__VAL(0u)), <, 0);
}

static void test_unit_test_check_ptr(void)
{
	int x = 0, arr[2] = { 0, 0 };
	int *p = &x;

	CHECK_PTR(p, ==, &x);
	CHECK_PTR(p, !=, NULL);
	CHECK_PTR(&arr[1], >, &arr[0]);
	CHECK(p, !=, NULL);
}

static void test_unit_test_check_mem_equal(void)
{
	const char a[] = "anyload", b[] = "anyload";

	CHECK_MEM(a, b, sizeof(a));
	CHECK_MEM(a, "xyz", 0);		/* zero length is always equal */
	CHECK_STR(a, ==, b);
	CHECK_STR("abc", <, "abd");
}

static void test_unit_test_failures_reported(void)
{
	char out[4096];
	int rc = run_child(inner_mixed, 4, 0, NULL, out, sizeof(out));

	CHECK(rc, ==, 1);
	CHECK_PTR(strstr(out, "1..4\n"), ==, out);
	CHECK_PTR(strstr(out, "not ok 1 - inner_check_fail\n"), !=, NULL);
	CHECK_PTR(strstr(out, "CHECK(three == 4) failed"), !=, NULL);
	CHECK_PTR(strstr(out, "left:  3\n"), !=, NULL);
	CHECK_PTR(strstr(out, "right: 4\n"), !=, NULL);
	CHECK_PTR(strstr(out, "test_unit_test.c:"), !=, NULL);
	CHECK_PTR(strstr(out, "not ok 2 - inner_mem_fail\n"), !=, NULL);
	CHECK_PTR(strstr(out, "first difference at offset 2 "), !=, NULL);
	CHECK_PTR(strstr(out, "left  @2: 03 04 05\n"), !=, NULL);
	CHECK_PTR(strstr(out, "right @2: 09 04 05\n"), !=, NULL);
	CHECK_PTR(strstr(out, "ok 3 - inner_pass\n"), !=, NULL);
	CHECK_PTR(strstr(out, "ok 4 - inner_skip # SKIP because of reasons\n"),
		  !=, NULL);
	CHECK_PTR(strstr(out, "REACHED"), ==, NULL);
	CHECK_STR(last_line(out), ==, "# 1 passed, 2 failed, 1 skipped");
}

static void test_unit_test_all_skipped(void)
{
	char out[4096];
	int rc = run_child(inner_all_skip, 2, 0, NULL, out, sizeof(out));

	CHECK(rc, ==, UNIT_EXIT_SKIP);
	CHECK_PTR(strstr(out, "ok 2 - inner_skip2 # SKIP second reason\n"),
		  !=, NULL);
	CHECK_STR(last_line(out), ==, "all tests skipped: second reason");
}

static void test_unit_test_filter(void)
{
	char out[4096];
	char *argv[] = { "self", "inner_pass", NULL };
	int rc = run_child(inner_mixed, 4, 2, argv, out, sizeof(out));

	CHECK(rc, ==, 0);
	CHECK_PTR(strstr(out, "1..1\nok 1 - inner_pass\n"), ==, out);
	CHECK_STR(last_line(out), ==, "# 1 passed, 0 failed, 0 skipped");
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_unit_test_check_pass),
	UNIT_TEST(test_unit_test_cmp),
	UNIT_TEST(test_unit_test_check_ptr),
	UNIT_TEST(test_unit_test_check_mem_equal),
	UNIT_TEST(test_unit_test_failures_reported),
	UNIT_TEST(test_unit_test_all_skipped),
	UNIT_TEST(test_unit_test_filter),
};

UNIT_TEST_MAIN(tests)
