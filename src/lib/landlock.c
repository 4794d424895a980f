/* landlock.c — the second wall behind the mount namespace: file access
 * limited to the granted trees with the granted rights, execution limited
 * to the --exec list when there is one, TCP per --net, and abstract unix
 * sockets and signals scoped to the box (best ABI available). */
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "box.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* struct landlock_ruleset_attr grew over the ABIs; declare the newest
 * layout locally and pass the size the running kernel understands. */
struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_FILE_ONLY                                                           \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |          \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |          \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define FS_WRITE                                                               \
	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |       \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |        \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |          \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM |          \
	 LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)

int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? -errno : (int)abi;
}

static uint64_t fs_rights_for_abi(int abi)
{
	uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1 */
	if (abi >= 2)
		all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return all;
}

/* A rule for path. dir: the plan says it is a directory (else only the
 * rights that apply to a file are asked for). The kernel refuses
 * directory rights on a file (EINVAL): then the file's share of them is
 * asked for, so a plan that is wrong only ever narrows. No stat needed. */
static int add_path(int ruleset, const char *path, uint64_t rights, uint64_t handled,
		    bool optional, bool dir, struct err *e)
{
	rights &= handled & (dir ? ~(uint64_t)0 : FS_FILE_ONLY);
	if (!rights)
		return 0;
	_cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (optional && errno == ENOENT)
			return 0;
		return err_errno(e, errno, "landlock: cannot open '%s'", path);
	}
	struct landlock_path_beneath_attr pb = {
		.allowed_access = rights,
		.parent_fd = fd,
	};
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == 0)
		return 0;
	if (errno == EINVAL && (rights & ~FS_FILE_ONLY)) {
		pb.allowed_access = rights & FS_FILE_ONLY;
		if (!pb.allowed_access ||
		    syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == 0)
			return 0;
	}
	return err_errno(e, errno, "landlock: cannot add a rule for '%s'", path);
}

int landlock_apply(const struct mnt_plan *mp, char *const *exec_paths,
		   enum net_mode net, int abi, struct err *e)
{
	if (abi < 1)
		return err_set(e, EOPNOTSUPP, "landlock is not available");
	bool exec_list = exec_paths && exec_paths[0];
	uint64_t handled = fs_rights_for_abi(abi);
	/* Without an --exec list, execution is left to the mount namespace:
	 * only what is mounted exists, and the box already runs native code. */
	if (!exec_list)
		handled &= ~(uint64_t)LANDLOCK_ACCESS_FS_EXECUTE;
	uint64_t exec_right = exec_list ? 0 : LANDLOCK_ACCESS_FS_EXECUTE;

	struct ruleset_attr attr = {.handled_access_fs = handled};
	size_t attr_size = sizeof(uint64_t);
	if (abi >= 4 && net == NET_NONE) {
		/* No TCP at all; with --net loopback the private network
		 * namespace is the boundary, and every port is allowed. */
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
					  LANDLOCK_ACCESS_NET_CONNECT_TCP;
	}
	if (abi >= 4)
		attr_size = 2 * sizeof(uint64_t);
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}
	_cleanup_close_ int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (rs < 0)
		return err_errno(e, errno, "landlock: cannot create a ruleset (abi %d)", abi);

	int r;
	/* The skeleton: listing directories anywhere is harmless (only granted
	 * trees exist); ward's own /etc files are readable. */
	if ((r = add_path(rs, "/", LANDLOCK_ACCESS_FS_READ_DIR, handled, false, true, e)) < 0 ||
	    (r = add_path(rs, "/etc", FS_READ, handled, true, true, e)) < 0 ||
	    (r = add_path(rs, "/proc", FS_READ, handled, true, true, e)) < 0)
		return r;

	for (size_t i = 0; i < mp->n; i++) {
		const struct mnt_entry *m = &mp->e[i];
		uint64_t rights;
		bool dir = m->kind == MNT_TMPFS || (m->src_is_dir && !m->device);
		switch (m->kind) {
		case MNT_BIND:
			if (m->skipped)
				continue;
			if (m->device)
				rights = LANDLOCK_ACCESS_FS_READ_FILE |
					 LANDLOCK_ACCESS_FS_WRITE_FILE |
					 LANDLOCK_ACCESS_FS_TRUNCATE |
					 LANDLOCK_ACCESS_FS_IOCTL_DEV;
			else if (m->rdonly)
				rights = FS_READ | (m->exec_rule ? exec_right : 0);
			else
				rights = FS_READ | FS_WRITE | (m->exec_rule ? exec_right : 0);
			break;
		case MNT_TMPFS:
			rights = FS_READ | FS_WRITE | exec_right;
			break;
		default:
			continue;
		}
		r = add_path(rs, m->dst, rights, handled, false, dir, e);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; exec_list && exec_paths[i]; i++) {
		r = add_path(rs, exec_paths[i],
			     LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE,
			     handled, false, false, e);
		if (r < 0)
			return r;
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return err_errno(e, errno, "landlock: cannot restrict the box");
	return 0;
}
