/* audit.h — `ward run --audit` and `--learn` (audit.c). */
#pragma once

#include "common.h"

/* --audit: prints "ward: denied open("/x", O_RDONLY): not granted" for
 * each denial of the run, and how many were not recorded. */
void print_denials(const ward_result *r);

/* --learn: the paths the broker allowed during a run. learn_access is
 * the ward_options.on_access observer (ctx = the learner). */
struct learner;
struct learner *learner_new(void);
void learn_access(const char *box_path, unsigned how, void *ctx);
/* Writes the learned policy to out (see out_file_write) and frees the
 * learner. p: the run's policy; profile: its profile's grants alone
 * (kept by the profile, not narrowed); program: for the header comment;
 * r: the run's result (what it exposed of the current directory).
 * Returns false after a message when the file could not be written. */
bool learn_finish(const struct out_file *out, const ward_policy *p, const ward_policy *profile,
		  struct learner *l, char **program, const char *const *passed, const ward_result *r);
