/* report.c — a run's result told: its status's name, the exit status
 * ward(1) gives for it, and the report as one JSON object (jansson). */
#include <jansson.h>
#include <signal.h>
#include <string.h>

#include "result.h"

static const char *const status_names[_STATUS_MAX] = {
	[STATUS_EXITED] = "exited",
	[STATUS_SIGNALED] = "signaled",
	[STATUS_TIME_LIMIT] = "time-limit",
	[STATUS_CPU_LIMIT] = "cpu-limit",
	[STATUS_MEMORY_LIMIT] = "memory-limit",
	[STATUS_OUTPUT_LIMIT] = "output-limit",
	[STATUS_PROCS_LIMIT] = "procs-limit",
	[STATUS_FILE_SIZE_LIMIT] = "file-size-limit",
	[STATUS_SETUP_ERROR] = "setup-error",
	[STATUS_VIOLATION] = "violation",
	[STATUS_IO_ERROR] = "io-error",
};

const char *run_status_name(enum run_status s)
{
	return (unsigned)s < _STATUS_MAX ? status_names[s] : "unknown";
}

int run_exit_code(const struct run_result *r)
{
	switch (r->status) {
	case STATUS_EXITED: return r->exit_code;
	case STATUS_SIGNALED: return 128 + r->signal;
	case STATUS_TIME_LIMIT: return EXIT_TIME_LIMIT;
	case STATUS_CPU_LIMIT: return EXIT_CPU_LIMIT;
	case STATUS_MEMORY_LIMIT: return EXIT_MEMORY_LIMIT;
	case STATUS_OUTPUT_LIMIT: return EXIT_OUTPUT_LIMIT;
	case STATUS_PROCS_LIMIT: return EXIT_PROCS_LIMIT;
	case STATUS_FILE_SIZE_LIMIT: return EXIT_FILE_SIZE_LIMIT;
	case STATUS_VIOLATION: return EXIT_VIOLATION;
	case STATUS_IO_ERROR: return EXIT_IO_ERROR;
	case STATUS_SETUP_ERROR:
	default:
		if (r->not_found)
			return EXIT_NOT_FOUND;
		if (r->not_executable)
			return EXIT_NOT_EXECUTABLE;
		return EXIT_SETUP;
	}
}

static const struct {
	unsigned bit;
	const char *name;
} layer_names[] = {
	{LAYER_USERNS, "user-ns"},	   {LAYER_MNTNS, "mount-ns"},
	{LAYER_PIDNS, "pid-ns"},	   {LAYER_NETNS, "net-ns"},
	{LAYER_IPCNS, "ipc-ns"},	   {LAYER_UTSNS, "uts-ns"},
	{LAYER_CGROUPNS, "cgroup-ns"},	   {LAYER_PIVOT_ROOT, "pivot-root"},
	{LAYER_SETSID, "setsid"},	   {LAYER_NO_NEW_PRIVS, "no-new-privs"},
	{LAYER_CAPS_DROPPED, "caps-dropped"}, {LAYER_SECCOMP, "seccomp"},
	{LAYER_LANDLOCK, "landlock"},	   {LAYER_CGROUP_V2, "cgroup-v2"},
	{LAYER_CGROUP_V1, "cgroup-v1"},	   {LAYER_RLIMITS, "rlimits"},
	{LAYER_BROKER, "broker"},
};

/* Escapes control characters, '"' and '\\' (and, with high, every byte
 * above 0x7e: for text that is not UTF-8) as \\xNN. */
static void escape_path(const char *in, bool high, char *out, size_t len)
{
	size_t o = 0;
	for (const unsigned char *s = (const unsigned char *)in; *s && o + 5 < len; s++) {
		if (*s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\' || (high && *s > 0x7e))
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", *s);
		else
			out[o++] = (char)*s;
	}
	out[o] = 0;
}

void denial_format(const struct denial *d, char *buf, size_t len)
{
	char path[4 * sizeof(d->path)];
	escape_path(d->path, false, path, sizeof(path));
	snprintf(buf, len, "%s(\"%s\"%s%s): %s", d->call, path, d->flags[0] ? ", " : "", d->flags,
		 d->reason);
}

static json_t *limit_value(const struct run_result *r, int i)
{
	if (!r->limits[i])
		return json_null();
	if (limit_info[i].type == LIMIT_TYPE_DURATION)
		return json_real((double)r->limits[i] / 1000.0);
	return json_integer((json_int_t)r->limits[i]);
}

char *report_json(const struct run_result *r)
{
	json_t *o = json_object();
	json_t *limits = json_object(), *sources = json_object(), *layers = json_array();
	if (!o || !limits || !sources || !layers) {
		json_decref(o);
		json_decref(limits);
		json_decref(sources);
		json_decref(layers);
		return NULL;
	}
	for (int i = 0; i < _LIMIT_MAX; i++) {
		json_object_set_new(limits, limit_info[i].name, limit_value(r, i));
		if (r->limits[i] && r->limit_source[i])
			json_object_set_new(sources, limit_info[i].name, json_string(r->limit_source[i]));
	}
	for (size_t i = 0; i < ELEMENTSOF(layer_names); i++)
		if (r->layers & layer_names[i].bit)
			json_array_append_new(layers, json_string(layer_names[i].name));
	const char *sig = r->signal > 0 ? signal_abbrev(r->signal) : NULL;
	char signame[32] = "";
	if (sig)
		snprintf(signame, sizeof(signame), "SIG%s", sig);

	json_object_set_new(o, "status", json_string(run_status_name(r->status)));
	json_object_set_new(o, "exit_code", r->exit_code >= 0 ? json_integer(r->exit_code) : json_null());
	json_object_set_new(o, "signal", signame[0] ? json_string(signame) : json_null());
	json_object_set_new(o, "wall_time_s", json_real(r->wall_time_s));
	json_object_set_new(o, "cpu_time_s", json_real(r->cpu_time_s));
	json_object_set_new(o, "peak_memory_bytes", json_integer((json_int_t)r->peak_memory_bytes));
	json_object_set_new(o, "output_bytes", json_integer((json_int_t)r->output_bytes));
	json_object_set_new(o, "limits", limits);
	json_object_set_new(o, "limit_source", sources);
	json_object_set_new(o, "layers", layers);
	json_object_set_new(o, "landlock_abi", json_integer(r->landlock_abi));
	json_object_set_new(o, "error", (r->status == STATUS_SETUP_ERROR || r->status == STATUS_IO_ERROR) &&
						r->error.msg[0]
						? json_string(r->error.msg) : json_null());
	json_object_set_new(o, "evidence", r->evidence ? json_string(r->evidence) : json_null());
	json_object_set_new(o, "disk_error", r->disk_error[0] ? json_string(r->disk_error) : json_null());
	if (r->layers & LAYER_BROKER) {
		json_t *d = json_array();
		for (unsigned i = 0; d && i < r->n_denials; i++) {
			const struct denial *x = &r->denials[i];
			json_t *rec = json_object();
			json_object_set_new(rec, "syscall", json_string(x->call));
			json_t *path = json_string(x->path);
			if (!path) { /* not UTF-8 */
				char esc[4 * sizeof(x->path)];
				escape_path(x->path, true, esc, sizeof(esc));
				path = json_string(esc);
			}
			json_object_set_new(rec, "path", path);
			json_object_set_new(rec, "flags", json_string(x->flags));
			json_object_set_new(rec, "decision", json_string("denied"));
			json_object_set_new(rec, "errno", json_string(errno_name(x->error) ? errno_name(x->error) : "?"));
			json_object_set_new(rec, "reason", json_string(x->reason));
			json_array_append_new(d, rec);
		}
		json_object_set_new(o, "denials", d);
		json_object_set_new(o, "denials_dropped", json_integer((json_int_t)r->denials_dropped));
	}
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(o);
	return s;
}
