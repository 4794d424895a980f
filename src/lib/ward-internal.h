/* ward-internal.h — what ward(1) takes from libward outside the public
 * API, linked from its static archive (not exported by libward.so).
 *
 * Not yet on the API: `ward run --learn` narrows the grants the run was
 * given to the paths the program used, which needs the grants themselves
 * (kind, host and box path, implicit or not). Until the API can list a
 * policy's grants, the CLI reads them here. */
#pragma once

#include "policy.h"
#include "ward.h"

const struct policy *ward_policy_core(const ward_policy *p);
