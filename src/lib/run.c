#include "run.h"
#include <string.h>
const char *run_status_name(enum run_status s) { return "setup-error"; }
int box_run(const struct policy *p, char *const argv[], const struct run_options *o, struct run_result *ret)
{ memset(ret, 0, sizeof *ret); ret->status = STATUS_SETUP_ERROR; err_set(&ret->error, ENOSYS, "box not implemented yet"); return 0; }
int run_exit_code(const struct run_result *r) { return EXIT_SETUP; }
