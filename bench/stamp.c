/* stamp.c — prints CLOCK_MONOTONIC as its main() starts (tailbench:
 * where a run's time goes before and after the program's own code). */
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	printf("%lld.%09ld\n", (long long)t.tv_sec, t.tv_nsec);
	return 0;
}
