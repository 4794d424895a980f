/* test-faults.c — ward's protections against its own faults, with the
 * fault compiled in (WARD_FAULT_HOOKS, a build of libward made only for
 * this test; see init.c):
 *   - an inheritable fd left open in the program's process before its
 *     execve (here a copy of the error pipe at 42, through which the
 *     program could forge a setup error) must be closed by the launcher's
 *     own fd closing, whatever init and O_CLOEXEC do;
 *   - every step of the box's set-up that fails says which and why (here
 *     PR_SET_PDEATHSIG in init, made to fail: inside a || chain it gave an
 *     empty message). */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ward.h"

static void test_leaked_fd_is_closed(void)
{
	ward_policy *p = NULL;
	CHECK_INT(ward_policy_new(&p), 0);
	CHECK_INT(ward_policy_load_profile(p, "sh"), 0);
	ward_result *r = NULL;
	/* fd 42 (the hook's), and the program's fds all told. */
	char *argv[] = {"/bin/sh", "-c",
			"if [ -e /proc/self/fd/42 ]; then echo leaked; else echo closed; fi; ls /proc/self/fd",
			NULL};
	CHECK_INT(ward_run(p, argv, NULL, &r), 0);
	size_t len = 0;
	const char *out = r ? ward_result_stdout(r, &len) : "";
	CHECK(r && ward_result_status(r) == WARD_STATUS_EXITED);
	CHECK(!strncmp(out, "closed\n", 7));
	if (strncmp(out, "closed\n", 7))
		printf("# stdout: %s# message: %s\n", out, r ? ward_result_message(r) : "");
	ward_result_free(r);
	ward_policy_free(p);
}

/* The same as an ordinary user (uid 65534) when run as root. */
static void test_leaked_fd_is_closed_unprivileged(void)
{
	if (geteuid() != 0) {
		printf("# not root: the test above ran unprivileged\n");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* Dumpable again after the uid change, as a process started
		 * by that user is: ward writes its own /proc files. */
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0 || prctl(PR_SET_DUMPABLE, 1) < 0)
			_exit(2);
		test_leaked_fd_is_closed();
		fflush(stdout);
		_exit(check_failed ? 1 : 0);
	}
	int status = -1;
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_failed_step_says_why(void)
{
	ward_policy *p = NULL;
	CHECK_INT(ward_policy_new(&p), 0);
	CHECK_INT(ward_policy_load_profile(p, "sh"), 0);
	ward_result *r = NULL;
	CHECK(setenv("WARD_FAULT", "pdeathsig", 1) == 0);
	CHECK_INT(ward_run(p, (char *[]){"/bin/true", NULL}, NULL, &r), 0);
	unsetenv("WARD_FAULT");
	const char *msg = r ? ward_result_message(r) : NULL;
	CHECK(r && ward_result_status(r) == WARD_STATUS_SETUP_ERROR);
	CHECK(msg && strstr(msg, "cannot set the box's parent-death signal: invalid argument"));
	if (msg)
		printf("# message: '%s'\n", msg);
	ward_result_free(r);
	ward_policy_free(p);
}

int main(void)
{
	static const struct test tests[] = {
		TEST(test_leaked_fd_is_closed),
		TEST(test_leaked_fd_is_closed_unprivileged),
		TEST(test_failed_step_says_why),
	};
	return run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
