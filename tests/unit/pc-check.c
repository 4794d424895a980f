/* pc-check.c — an application built with `pkg-config --cflags --libs
 * ward` alone (by the 'pkg-config' test): runs /bin/true in a box. */
#include <stdio.h>

#include <ward.h>

int main(void)
{
	ward_policy *p;
	ward_result *r;
	if (ward_policy_new(&p) < 0 || ward_run(p, (char *[]){"/bin/true", NULL}, NULL, &r) < 0)
		return 1;
	int ok = ward_result_status(r) == WARD_STATUS_EXITED && ward_result_exit_code(r) == 0;
	printf("%s\n", ward_status_name(ward_result_status(r)));
	ward_result_free(r);
	ward_policy_free(p);
	return ok ? 0 : 1;
}
