/* tests/helpers/agent_harness.h - real ballast-agent processes for tests.
 *
 * Agents run from $BALLAST_BIN (default "bin") on loopback ports, with
 * their root, state and log in a private mkdtemp directory. Requests are
 * made with libcurl and signed with lib/sign.h like a controller would.
 */
#ifndef THA_AGENT_HARNESS_H
#define THA_AGENT_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define THA_SECRET "test-secret-0123456789abcdef"

struct tha_agent {
	pid_t	pid;
	int	port;
	char	name[32];
	char	dir[512];	/* the agent's own directory */
	char	root[600];
	char	state[600];
	char	log[600];
	char	url[64];	/* http://HOST:PORT */
	char	host[16];	/* listens on HOST (tha_set_host) */
	char	netns[32];	/* runs in this namespace; "" none */
	char	*args[32];	/* owns: extra args, kept for restarts */
	int	nargs;
};

enum tha_sign {
	THA_UNSIGNED,
	THA_SIGNED,
	THA_BAD_SIGNATURE,
	THA_STALE,
};

/* An object tha_seed_objects wrote. */
struct tha_obj {
	char		owner[37];
	char		id[37];
	char		md5[25];
	long long	size;
};

struct tha_resp {
	long	 status;
	char	*body;		/* owns: NUL-terminated */
	size_t	 len;
	char	*headers;	/* owns: raw header block */
};

/* With a CA file, agents started afterwards are reached over https (they
 * must be given tls_cert_file and tls_key_file) and every request trusts
 * only that CA. NULL: plain http again. The string is copied. */
void	tha_set_tls_ca(const char *ca_file);

/* Agents started afterwards listen on ip (an IPv4 address of this
 * machine, or of the namespace named by tha_set_netns) instead of
 * 127.0.0.1, and their url uses it. NULL: 127.0.0.1 again. Restarts keep
 * the agent's own. The string is copied. */
void	tha_set_host(const char *ip);
/* Agents started afterwards run in the network namespace
 * /var/run/netns/name (the child joins it with setns before exec; so do
 * its restarts). NULL: this program's own namespace again. */
void	tha_set_netns(const char *name);

/* Makes tha_tmpdir return dir, an existing directory the caller made
 * (tha_cleanup removes it), instead of a fresh one. The string is
 * copied. */
void	tha_set_tmpdir(const char *dir);
/* The directory of the binaries under test: $BALLAST_BIN, or "bin". */
const char *tha_bin_dir(void);
/* A fresh directory for this test program (removed by tha_cleanup). */
const char *tha_tmpdir(void);
void	tha_cleanup(void);
/* Starts an agent named name with extra "--flag value" pairs (NULL end).
 * Waits until /v1/status answers. 0 or -1. */
int	tha_agent_start(struct tha_agent *a, const char *name, ...);
/* The same with the extra args as an array (NULL end; NULL: none). */
int	tha_agent_startv(struct tha_agent *a, const char *name,
	    const char *const *args);
/* Starts it again with the same root, state, port and args (a running
 * agent is stopped first, with SIGTERM). */
int	tha_agent_restart(struct tha_agent *a, const char *const *more_args);
/* SIGTERM and wait; returns the exit status, or -1. */
int	tha_agent_stop(struct tha_agent *a);
void	tha_agent_kill9(struct tha_agent *a);
void	tha_agent_free(struct tha_agent *a);

/* One request. target is the raw path (sent as is). */
int	tha_request(const char *base, const char *method, const char *target,
	    const char *body, size_t body_len, int sign, const char *header,
	    struct tha_resp *r);
void	tha_resp_free(struct tha_resp *r);
/* The value of a response header (case-insensitive), copied into out. */
int	tha_resp_header(const struct tha_resp *r, const char *name, char *out,
	    size_t len);
json_t	*tha_json(const struct tha_resp *r);

void	tha_uuid(char out[37]);
void	tha_md5_b64(const void *data, size_t len, char out[25]);
/* Writes size random bytes as root/owner/id; returns the bytes (free). */
unsigned char *tha_put_object(const char *root, const char *owner,
	    const char *id, size_t size, char md5[25]);
/* Writes n objects of size random bytes into root under one new owner;
 * returns them (caller frees), NULL if a write failed. */
struct tha_obj *tha_seed_objects(const char *root, int n, size_t size);
/* HEADs each object on a (signed), so that a has recorded their MD5s.
 * 0, or -1 at the first that does not answer 200. */
int	tha_head_objects(const struct tha_agent *a, const struct tha_obj *objs,
	    int n);
/* Reads a whole file (caller frees); a NUL follows the *len bytes. NULL
 * if absent. */
unsigned char *tha_read_file(const char *path, size_t *len);
/* The file dir/name (dir NULL: the file name) as a string (caller frees);
 * NULL if absent. */
char	*tha_read_text(const char *dir, const char *name);
/* Runs a shell command line (printf format) and reads its stdout into
 * out: at most len - 1 bytes, then a NUL. Returns the exit code, or -1
 * (it could not be run, or did not exit). */
int	tha_run(char *out, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	tha_vrun(char *out, size_t len, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));
/* Counts "*.tmp.*" files under root/owner. */
int	tha_count_tmp(const char *root, const char *owner);
int	tha_exists(const char *path);
/* Sums the regular files at root/<owner>/<id> that are not tmp files. */
void	tha_tree_usage(const char *root, long long *bytes, long long *count);

/* Sets a's throttle (PUT /v1/config/throttle, signed) to bps bytes per
 * second (0: none). Returns the HTTP status, or -1. */
long	tha_throttle(const struct tha_agent *a, long long bps);
/* POSTs an assignment; returns the HTTP status. */
long	tha_post_assignment(const struct tha_agent *a, const char *body);
/* Polls GET /v1/assignments/id until state is "complete" (max 60 s). */
json_t	*tha_wait_complete(const struct tha_agent *a, const char *id);
/* Builds a task JSON object. */
json_t	*tha_task(const char *owner, const char *id, const char *md5,
	    long long size, const char *source_url);
/* The body of assignment id with tasks (a JSON array; taken). Returns the
 * JSON text (caller frees). */
char	*tha_assignment_json(const char *id, json_t *tasks);
/* POSTs assignment id with tasks (taken) to a; returns the HTTP status. */
long	tha_post_tasks(const struct tha_agent *a, const char *id,
	    json_t *tasks);
/* The body of an assignment of n tasks that move objs from source_url,
 * with a new id written to id. Returns the JSON text (caller frees). */
char	*tha_assignment_body(char id[37], const struct tha_obj *objs, int n,
	    const char *source_url);
/* Reads a numeric sample from /metrics ("name" or "name{labels}"). */
double	tha_metric(const struct tha_agent *a, const char *sample);
void	tha_sleep_ms(int ms);

#endif
