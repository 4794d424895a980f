/* zygote.c — interpreter zygotes (zygote.h). */
#include "zygote.h"

int zygote_new(const ward_policy *p, const char *interpreter, const char *const *preload,
	       struct zygote **ret)
{
	(void)p, (void)interpreter, (void)preload, (void)ret;
	return -EOPNOTSUPP;
}

int zygote_prepare(struct zygote *z, const struct run_options *o, struct run_result *ret,
		   struct box_run **ret_run)
{
	(void)z, (void)o, (void)ret, (void)ret_run;
	return -EOPNOTSUPP;
}

void zygote_free(struct zygote *z)
{
	(void)z;
}
