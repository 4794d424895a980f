/* features.c — placeholder while the core is written */
#include "run.h"
int features_probe(struct features *f) { *f = (struct features){0}; return 0; }
