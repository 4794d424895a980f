/* serve-mem.c — memory a box never holds a copy of.
 *
 * Every box's init is a fork of ward-serve, and a fork copies the whole
 * address space: the bearer token and other requests' code, stdin and
 * output included. Memory from wipe_alloc is its own mapping marked
 * MADV_WIPEONFORK: a forked child sees it as zero pages. What jansson
 * and libmicrohttpd hold for a moment (the parsed body, the response) is
 * ordinary heap, zeroed when freed (zfree). */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "serve.h"
#include "banned.h"

/* The mapping's size, kept in front of the memory given out (16 bytes,
 * so that the memory stays aligned for any type). */
#define HEAD 16

void *wipe_alloc(size_t len)
{
	if (len > SIZE_MAX - HEAD)
		return NULL;
	size_t total = len + HEAD;
	char *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* No wiping, no memory: never fall back to a plain mapping. */
	if (madvise(p, total, MADV_WIPEONFORK) < 0) {
		munmap(p, total);
		return NULL;
	}
	/* analyzer: total is set (len + HEAD) above; gcc 12 loses it across mmap/madvise */
	memcpy(p, &total, sizeof(total));
	return p + HEAD;
}

void wipe_free(void *mem)
{
	if (!mem)
		return;
	char *p = (char *)mem - HEAD;
	size_t total;
	memcpy(&total, p, sizeof(total));
	munmap(p, total);
}

void zfree(void *mem)
{
	if (!mem)
		return;
	explicit_bzero(mem, malloc_usable_size(mem));
	free(mem);
}

char *wipe_dup(const char *data, size_t len)
{
	char *p = wipe_alloc(len + 1);
	if (p) {
		memcpy(p, data, len);
		p[len] = '\0';
	}
	return p;
}
