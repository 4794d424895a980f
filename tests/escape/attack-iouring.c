/* attack-iouring — try io_uring, and through it read the canary.
 *
 * usage: attack-iouring CANARY
 * io_uring requests run in kernel workers and were long outside seccomp's
 * reach: io_uring_setup must fail in the box. Should it work anyway, the
 * attack submits IORING_OP_OPENAT + IORING_OP_READ of the canary and
 * prints what came back (the driver looks for the secret). */
#include <linux/io_uring.h>
#include <stdint.h>
#include <sys/mman.h>

#include "attack.h"

struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_setup(struct ring *r)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	r->fd = (int)deny("io_uring_setup(8)", syscall(SYS_io_uring_setup, 8, &p));
	if (r->fd < 0)
		return -1;
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			r->fd, IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			r->fd, IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED) {
		show("mmap(io_uring rings)", -1);
		return -1;
	}
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submits one sqe and waits for its completion; returns cqe->res. */
static int ring_do(struct ring *r, const struct io_uring_sqe *sqe)
{
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;
	r->sqes[idx] = *sqe;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	long n = syscall(SYS_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0);
	if (show("io_uring_enter", n) < 0)
		return -errno;
	unsigned head = __atomic_load_n(r->cq_head, __ATOMIC_ACQUIRE);
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	int res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: attack-iouring CANARY\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct ring r;
	/* EBADF would mean the filter let the call through. */
	show("io_uring_register(-1) probe", syscall(SYS_io_uring_register, -1, 0, NULL, 0));
	if (ring_setup(&r) < 0)
		return attack_exit();

	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = IORING_OP_OPENAT;
	sqe.fd = AT_FDCWD;
	sqe.addr = (uint64_t)(uintptr_t)argv[1];
	sqe.open_flags = O_RDONLY;
	int fd = ring_do(&r, &sqe);
	say("IORING_OP_OPENAT(%s) -> %d", argv[1], fd);
	if (fd >= 0) {
		static char buf[4097];
		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = IORING_OP_READ;
		sqe.fd = fd;
		sqe.addr = (uint64_t)(uintptr_t)buf;
		sqe.len = sizeof(buf) - 1;
		int n = ring_do(&r, &sqe);
		say("IORING_OP_READ -> %d", n);
		if (n > 0)
			say("  read: %.*s", n, buf);
	}
	return attack_exit();
}
