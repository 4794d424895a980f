/* replay.c — feeds every file of the seed corpus to the fuzzer's entry
 * point, so that ordinary CI (`meson test`) replays the corpus without
 * libFuzzer (SQLite's fuzzcheck, wireguard-tools' src/fuzz).
 *
 * usage: fuzz-policy-replay DIR|FILE...   (fails if it found no input) */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT_SIZE (4 * 1024 * 1024)

static int replay_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int r = read_file(path, MAX_INPUT_SIZE, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "fuzz-policy-replay: cannot read '%s': %s\n", path, strerror(-r));
		return -1;
	}
	/* A copy of exactly len bytes, so ASan catches a read past the end. */
	uint8_t *data = malloc(len ? len : 1);
	if (!data) {
		free(buf);
		return -1;
	}
	memcpy(data, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	size_t n = 0;
	int failed = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "fuzz-policy-replay: '%s': %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed |= replay_file(argv[i]) < 0;
			n++;
			continue;
		}
		struct dirent **ents = NULL;
		int m = scandir(argv[i], &ents, NULL, by_name);
		if (m < 0) {
			fprintf(stderr, "fuzz-policy-replay: '%s': %s\n", argv[i], strerror(errno));
			return 1;
		}
		for (int j = 0; j < m; j++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], ents[j]->d_name);
			if (ents[j]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				printf("%s\n", path);
				fflush(stdout);
				failed |= replay_file(path) < 0;
				n++;
			}
			free(ents[j]);
		}
		free(ents);
	}
	if (n == 0) {
		fprintf(stderr, "fuzz-policy-replay: no input found\n");
		return 1;
	}
	printf("replayed %zu inputs\n", n);
	return failed;
}
