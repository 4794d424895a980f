/* attack-disk — fill a read-write grant without bound, each write under
 * the file-size limit: many small files, empty directories, fallocate
 * (plain, FALLOC_FL_KEEP_SIZE past the end, FALLOC_FL_INSERT_RANGE then
 * plain), and sparse files. The driver measures the host directory after
 * the run and the host's free space during it.
 *
 * usage: attack-disk DIR */
#include "attack.h"

#include <sys/stat.h>

static char path[4352];

static const char *at(const char *dir, const char *what, long i)
{
	snprintf(path, sizeof(path), "%s/%s%ld", dir, what, i);
	return path;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: attack-disk DIR\n");
		return 2;
	}
	const char *dir = argv[1];
	char buf[4096];
	memset(buf, 'x', sizeof(buf));
	long n;
	/* Many small files, each one page. */
	for (n = 0; n < 10000000; n++) {
		int fd = open(at(dir, "small", n), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			break;
		ssize_t w = write(fd, buf, 1000);
		close(fd);
		if (w != 1000)
			break;
	}
	say("small files: %ld, then %s\n", n, errno_name(errno));
	/* Free a few, then empty directories. */
	for (long i = 0; i < 64; i++)
		unlink(at(dir, "small", i));
	for (n = 0; n < 10000000; n++)
		if (mkdir(at(dir, "dir", n), 0755) < 0)
			break;
	say("directories: %ld, then %s\n", n, errno_name(errno));
	for (long i = 0; i < 4096; i++) {
		unlink(at(dir, "small", 64 + i));
		rmdir(at(dir, "dir", i));
	}
	/* fallocate, each file under the file-size limit. */
	for (n = 0; n < 4096; n++) {
		int fd = open(at(dir, "falloc", n), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			break;
		long a = syscall(SYS_fallocate, fd, 0, 0L, 32L << 20);
		long b = syscall(SYS_fallocate, fd, 0x01 /* KEEP_SIZE */, 0L, 1L << 30);
		long c = syscall(SYS_fallocate, fd, 0x20 /* INSERT_RANGE */, 0L, 1L << 30);
		if (n < 2) {
			show("fallocate 32M", a);
			show("fallocate KEEP_SIZE 1G", b);
			show("fallocate INSERT_RANGE 1G", c);
		}
		close(fd);
		if (a < 0 && b < 0 && c < 0)
			break;
	}
	say("fallocate files: %ld, then %s\n", n, errno_name(errno));
	/* Sparse files: a hole up to the file-size limit, then one byte. */
	for (n = 0; n < 4096; n++) {
		int fd = open(at(dir, "sparse", n), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			break;
		long r = pwrite(fd, "y", 1, (32L << 20) - 1);
		close(fd);
		if (r != 1)
			break;
	}
	say("sparse files: %ld, then %s\n", n, errno_name(errno));
	say("forbidden operations: done\n");
	return 0;
}
