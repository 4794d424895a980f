/* broker/record.c — what the broker tells: the calls it refused (the
 * denial records broker_denials hands on, capped) and the accesses it
 * allowed (the caller's on_access, `--learn`). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* "O_RDONLY|O_CREAT" for the records. */
void broker_open_flags_str(int fl, char *buf, size_t len)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {{O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_TRUNC, "O_TRUNC"},
		     {O_APPEND, "O_APPEND"}, {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"},
		     {O_PATH, "O_PATH"}};
	const char *acc = (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
			  : (fl & O_ACCMODE) == O_RDWR ? "O_RDWR" : "O_RDONLY";
	size_t off = (size_t)snprintf(buf, len, "%s", acc);
	for (size_t i = 0; i < ELEMENTSOF(names) && off < len; i++)
		if ((fl & names[i].bit) == names[i].bit)
			off += (size_t)snprintf(buf + off, len - off, "|%s", names[i].name);
}

/* "R_OK|W_OK" for the records. */
void broker_access_mode_str(int mode, char *buf, size_t len)
{
	if (!(mode & 7)) {
		snprintf(buf, len, "F_OK");
		return;
	}
	snprintf(buf, len, "%s%s%s%s%s", mode & R_OK ? "R_OK" : "",
		 (mode & R_OK) && (mode & (W_OK | X_OK)) ? "|" : "", mode & W_OK ? "W_OK" : "",
		 (mode & W_OK) && (mode & X_OK) ? "|" : "", mode & X_OK ? "X_OK" : "");
}

/* Is the box path under something the mount plan put there? */
static bool granted(const struct broker *b, const char *norm)
{
	for (size_t i = 0; i < b->granted.n; i++)
		if (path_is_under(norm, b->granted.v[i]))
			return true;
	return false;
}

/* Records a refusal worth reporting: a permission refused, or a path
 * outside everything the box was given. A missing file inside a grant
 * (a module search probing for foo.so) is ordinary and not recorded. */
void broker_record(struct req *q, const char *norm, int error)
{
	struct broker *b = q->b;
	const char *reason = q->reason; /* an ask rule's; else by errno */
	switch (reason ? 0 : error) {
	case 0: break;
	case EACCES: reason = "permission denied"; break;
	case EPERM: reason = "not permitted"; break;
	case EROFS: reason = "read-only"; break;
	case EBUSY: reason = "a mount point"; break;
	case ELOOP: reason = "symbolic link loop or magic link"; break;
	case ENOENT:
	case ENOTDIR:
		/* Every glibc program probes /etc/ld.so.preload. */
		if (!norm || !norm[0] || granted(b, norm) || q->is_vfile ||
		    !strcmp(norm, "/etc/ld.so.preload"))
			return;
		reason = "not granted";
		break;
	default: return;
	}
	if (b->n_denials >= RUN_MAX_DENIALS) {
		b->dropped++;
		return;
	}
	struct denial *d = &b->denials[b->n_denials++];
	snprintf(d->call, sizeof(d->call), "%s", q->call);
	snprintf(d->path, sizeof(d->path), "%s", q->path);
	snprintf(d->flags, sizeof(d->flags), "%s", q->flagstr);
	d->error = error;
	d->reason = reason;
}

/* Tells the caller (--learn) about an access the broker allowed: the
 * file fd names, or name `last` in directory fd. The path is the one the
 * broker resolved (what the kernel names fd), never the one the box
 * spelled: "other/lnk/../a.c" (lnk a symlink into src/) is src/a.c, and a
 * learned grant of other/ would be one of a directory the program never
 * wrote in. The box's own /proc and /dev are ward's, never a grant: not
 * reported; nor is a file already removed (its name is gone). */
void broker_allowed(struct req *q, int fd, const char *last, unsigned how)
{
	struct broker *b = q->b;
	char path[PATH_MAX];
	struct stat st;
	if (!b->on_access || q->is_vfile || fd < 0 || !broker_fd_box_path(fd, path, sizeof(path)))
		return;
	if (last) {
		size_t n = strlen(last);
		while (n > 1 && last[n - 1] == '/')
			n--;
		size_t k = strlen(path);
		if ((size_t)snprintf(path + k, sizeof(path) - k, "%s%.*s", k > 1 ? "/" : "", (int)n, last) >=
		    sizeof(path) - k)
			return;
	} else if (fstat(fd, &st) < 0 || (st.st_nlink == 0 && !(how & ACCESS_CREATE))) {
		return;
	}
	if (path_is_under(path, "/proc") || path_is_under(path, "/dev"))
		return;
	b->on_access(b->access_ctx, path, how);
}
