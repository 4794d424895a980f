/* broker.h — the controller as broker: seccomp user notification for the
 * box's path-taking system calls (docs/ARCHITECTURE.md, "The broker").
 *
 * Only runs whose policy asks for it (audit, virtual files, ask rules) get a broker;
 * every other run installs nothing and pays nothing. */
#pragma once

#include <sys/types.h>

#include "run.h"

struct broker;
struct mnt_plan;

/* Does this run need the broker? */
bool broker_needed(const struct policy *p, const struct run_options *o);

/* In the controller, before the box is cloned: the socket the box sends
 * its listener over, the virtual files as sealed memfds, the list of box
 * paths the mount plan grants. fsuid/fsgid are the box's host ids: the
 * broker opens files with them, never with the controller's own. Returns
 * 0 or -errno with a message in e. */
int broker_new(struct broker **ret, const struct policy *p, const struct run_options *o,
	       const struct mnt_plan *mp, uid_t fsuid, gid_t fsgid, struct err *e);
/* The box's end of the socket (inherited across clone). */
int broker_box_fd(const struct broker *b);

/* In the box (box_exec), after the allowlist and right before execve:
 * stacks the notification filter and sends its listener to the
 * controller over sock, then closes both. Allocates nothing. */
int broker_install(int sock, struct err *e);

/* In the controller, after clone: closes the box's end and starts the
 * broker thread, which answers every notification until the box is gone. */
int broker_start(struct broker *b, struct err *e);
/* Stops the thread (the box is gone by then) and copies the denial
 * records into ret. */
void broker_stop(struct broker *b, struct run_result *ret);
void broker_free(struct broker *b);
