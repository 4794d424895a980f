/* mount.c — placeholder while the core is written */
#include "run.h"
