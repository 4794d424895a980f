/* hello.c — the smallest real program, to measure what a C library's
 * start-up costs before main (bench/libc-start.sh builds it three ways). */
#include <stdio.h>

int main(void)
{
	puts("hello");
	return 0;
}
