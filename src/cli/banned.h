/* banned.h — functions that are too easy to misuse, made compile errors
 * (git's banned.h). Include it last, after every system header: a header
 * that mentions a poisoned name after this point is an error too.
 *
 * strcpy/strcat/sprintf/vsprintf: no bound on the destination; use
 * snprintf or strdup. strtok: hidden static state; use strtok_r or strchr.
 * atoi/atol/atoll: no error reporting; use parse_count() or strtol with a
 * check. gets: unbounded by design. */
#pragma once

#pragma GCC poison strcpy strcat sprintf vsprintf strtok atoi atol atoll gets
