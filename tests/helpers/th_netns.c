/* tests/helpers/th_netns.c - a private network namespace for fault tests.
 *
 * Why the black hole is a route inside the namespace: a blackhole route on
 * the host to the namespace's address would make the host's own connect()
 * fail at once (EINVAL), which is a refusal, not a black hole. Inside the
 * namespace the same route drops only what the namespace sends to the
 * host. Tried by hand with an HTTP server in the namespace: with the route
 * raised, "curl --connect-timeout 3" from the host to it waits the whole
 * 3 s and reports "Timeout was reached" (the SYN arrives, the SYN-ACK
 * never leaves); with it removed, the same request answers 200 at once.
 * The fault suite checks the same thing on every run (the engine's
 * timeouts fire, tests/fault/test_fault.c).
 *
 * "ip" runs through posix_spawn with an argument vector: no shell, no
 * quoting. */
#include "tests/helpers/th_netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define NETNS_DIR	"/var/run/netns"
#define SYS_NET_DIR	"/sys/class/net"
#define NS_PREFIX	"bltest-"
#define IF_HOST		"blth"
#define IF_NS		"bltn"
#define NET_BASE	((10u << 24) | (201u << 16))	/* 10.201.0.0/16 */
#define NET_COUNT	16384u				/* /30s in it */

extern char **environ;

/* What the atexit hook destroys. A hook takes no argument, so this one
 * pointer is global; it borrows the caller's struct (see thn_create). */
static struct thn *live;

static int	set_why(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
set_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const char *
ip_path(void)
{
	static const char *const cand[] = { "/usr/sbin/ip", "/sbin/ip",
	    "/usr/bin/ip", "/bin/ip" };

	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return NULL;
}

/* Runs ip with the arguments given (NULL ends them). 0 if it exits 0;
 * else -1, and why (may be NULL) gets the command and what ip said. */
static int
run_ip(char *why, size_t len, ...)
{
	posix_spawn_file_actions_t fa;
	const char *argv[16];
	char out[256], cmd[256], scratch[256];
	size_t got = 0, cl = 0;
	ssize_t r;
	pid_t pid;
	va_list ap;
	int pfd[2], st, rc, n = 0;

	if ((argv[n++] = ip_path()) == NULL)
		return set_why(why, len, "no ip command (install iproute2)");
	va_start(ap, len);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	cmd[0] = '\0';
	for (int i = 0; i < n && cl < sizeof(cmd); i++)
		cl += (size_t)snprintf(cmd + cl, sizeof(cmd) - cl, "%s%s",
		    i ? " " : "", i ? argv[i] : "ip");
	if (pipe2(pfd, O_CLOEXEC) == -1)
		return set_why(why, len, "%s: pipe: %s", cmd, strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv,
	    environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return set_why(why, len, "%s: spawn: %s", cmd, strerror(rc));
	}
	/* Read to the end (the rest into scratch) so ip never blocks. */
	for (;;) {
		if (got < sizeof(out) - 1)
			r = read(pfd[0], out + got, sizeof(out) - 1 - got);
		else
			r = read(pfd[0], scratch, sizeof(scratch));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (got < sizeof(out) - 1)
			got += (size_t)r;
	}
	close(pfd[0]);
	while ((rc = waitpid(pid, &st, 0)) == -1 && errno == EINTR)
		;
	if (rc == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	out[got] = '\0';
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == ' '))
		out[--got] = '\0';
	return set_why(why, len, "%s: %s", cmd, got ? out : "failed");
}

/* A name "PREFIXPID" left by a program that is gone: its pid is dead, or
 * it is ours (we have not created ours yet when we sweep). */
static int
stale(const char *name, const char *prefix)
{
	size_t pl = strlen(prefix);
	char *end;
	long pid;

	if (strncmp(name, prefix, pl) != 0 || name[pl] < '0' ||
	    name[pl] > '9')
		return 0;
	errno = 0;
	pid = strtol(name + pl, &end, 10);
	if (errno != 0 || *end != '\0' || pid <= 0)
		return 0;
	if ((pid_t)pid == getpid())
		return 1;
	return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

/* Deleting the host end of a veth deletes its peer too. A namespace whose
 * processes are still running stays alive after "netns delete", with its
 * end of the veth: hence the links are swept on their own. */
static void
sweep(void)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(NETNS_DIR)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (stale(de->d_name, NS_PREFIX)) {
				fprintf(stderr, "thn: removing stale namespace "
				    "%s\n", de->d_name);
				run_ip(NULL, 0, "netns", "delete", de->d_name,
				    NULL);
			}
		closedir(d);
	}
	if ((d = opendir(SYS_NET_DIR)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (stale(de->d_name, IF_HOST)) {
				fprintf(stderr, "thn: removing stale link %s\n",
				    de->d_name);
				run_ip(NULL, 0, "link", "delete", de->d_name,
				    NULL);
			}
		closedir(d);
	}
}

/* Whether an interface here already holds an address in the /30 at net. */
static int
net_in_use(uint32_t net)
{
	struct ifaddrs *ifa, *i;
	int used = 0;

	if (getifaddrs(&ifa) == -1)
		return 0;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		uint32_t a;

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		a = ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->
		    sin_addr.s_addr);
		if ((a & ~3u) == net)
			used = 1;
	}
	freeifaddrs(ifa);
	return used;
}

static void
ip4_str(char *out, size_t len, uint32_t a)
{
	snprintf(out, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
	    (a >> 8) & 0xff, a & 0xff);
}

static void
at_exit(void)
{
	if (live != NULL)
		thn_destroy(live);
}

int
thn_create(struct thn *n, char *why, size_t len)
{
	static int hooked;
	char host_cidr[24], ns_cidr[24];
	uint32_t pid = (uint32_t)getpid(), net = 0;

	memset(n, 0, sizeof(*n));
	if (geteuid() != 0)
		return set_why(why, len, "not root");
	if (ip_path() == NULL)
		return set_why(why, len, "no ip command (install iproute2)");
	sweep();
	for (uint32_t i = 0; i < 64 && net == 0; i++) {
		uint32_t c = NET_BASE + ((pid + i) % NET_COUNT) * 4;

		if (!net_in_use(c))
			net = c;
	}
	if (net == 0)
		return set_why(why, len, "no free /30 in 10.201.0.0/16");
	snprintf(n->name, sizeof(n->name), NS_PREFIX "%u", (unsigned)pid);
	snprintf(n->host_if, sizeof(n->host_if), IF_HOST "%u", (unsigned)pid);
	snprintf(n->ns_if, sizeof(n->ns_if), IF_NS "%u", (unsigned)pid);
	ip4_str(n->host_ip, sizeof(n->host_ip), net + 1);
	ip4_str(n->ns_ip, sizeof(n->ns_ip), net + 2);
	snprintf(host_cidr, sizeof(host_cidr), "%s/30", n->host_ip);
	snprintf(ns_cidr, sizeof(ns_cidr), "%s/30", n->ns_ip);
	if (!hooked && atexit(at_exit) == 0)
		hooked = 1;
	if (run_ip(why, len, "netns", "add", n->name, NULL) == -1)
		return -1;
	n->up = 1;
	live = n;
	if (run_ip(why, len, "link", "add", n->host_if, "type", "veth", "peer",
	    "name", n->ns_if, NULL) == -1 ||
	    run_ip(why, len, "link", "set", n->ns_if, "netns", n->name,
	    NULL) == -1 ||
	    run_ip(why, len, "addr", "add", host_cidr, "dev", n->host_if,
	    NULL) == -1 ||
	    run_ip(why, len, "link", "set", n->host_if, "up", NULL) == -1 ||
	    run_ip(why, len, "-n", n->name, "addr", "add", ns_cidr, "dev",
	    n->ns_if, NULL) == -1 ||
	    run_ip(why, len, "-n", n->name, "link", "set", n->ns_if, "up",
	    NULL) == -1 ||
	    run_ip(why, len, "-n", n->name, "link", "set", "lo", "up",
	    NULL) == -1) {
		thn_destroy(n);
		return -1;
	}
	return 0;
}

int
thn_blackhole(struct thn *n, int on)
{
	char cidr[24], why[512];

	if (!n->up)
		return -1;
	snprintf(cidr, sizeof(cidr), "%s/32", n->host_ip);
	if (run_ip(why, sizeof(why), "-n", n->name, "route", on ? "add" :
	    "delete", "blackhole", cidr, NULL) == -1) {
		fprintf(stderr, "thn: %s\n", why);
		return -1;
	}
	n->blackholed = on;
	return 0;
}

void
thn_destroy(struct thn *n)
{
	if (live == n)
		live = NULL;
	if (!n->up)
		return;
	if (n->blackholed)
		thn_blackhole(n, 0);
	/* Either may already be gone when creation failed half way. */
	run_ip(NULL, 0, "link", "delete", n->host_if, NULL);
	run_ip(NULL, 0, "netns", "delete", n->name, NULL);
	n->up = 0;
}
