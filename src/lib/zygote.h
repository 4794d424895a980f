/* zygote.h — interpreter zygotes for warm pools (zygote.c). Not part of
 * any API. */
#pragma once

#include "ward_internal.h"

struct zygote;

/* Starts the zygote for interpreter (e.g. "python3") with the modules of
 * preload (NULL-terminated, may be NULL) imported. */
int zygote_new(const ward_policy *p, const char *interpreter, const char *const *preload,
	       struct zygote **ret, struct err *e);
/* As box_prepare, with the box cloned by the zygote. */
int zygote_prepare(struct zygote *z, const ward_policy *p, const struct run_options *o,
		   struct run_result *ret, struct box_run **ret_run);
void zygote_free(struct zygote *z);
