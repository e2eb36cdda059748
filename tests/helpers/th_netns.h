/* tests/helpers/th_netns.h - a private network namespace for fault tests,
 * joined to this machine by a veth pair, and a black hole that can be
 * raised inside it.
 *
 * Needs root and iproute2 ("ip"). Names carry the test program's pid:
 * namespace "bltest-PID", veth "blthPID" (host side) and "bltnPID" (in
 * the namespace). The pair gets a /30 in 10.201.0.0/16 chosen from the
 * pid (the next free one if an interface already holds it): the host side
 * is .1, the namespace side .2. Only this machine's own test hosts use it.
 */
#ifndef TH_NETNS_H
#define TH_NETNS_H

#include <stddef.h>

struct thn {
	char	name[32];	/* the namespace (/var/run/netns/NAME) */
	char	host_if[16];
	char	ns_if[16];
	char	host_ip[16];	/* the host's end, x.x.x.1 */
	char	ns_ip[16];	/* the namespace's end, x.x.x.2 */
	int	up;		/* created, not yet destroyed */
	int	blackholed;
};

/* Removes the namespaces and veth pairs of earlier runs whose program is
 * gone, then creates n (lo and the veth up on both sides). Registers an
 * atexit hook that destroys n if the program ends without thn_destroy.
 * 0, or -1 with the reason in why (not root, no "ip", ...); then nothing
 * is left behind. */
int	thn_create(struct thn *n, char *why, size_t len);
/* on: inside the namespace, a blackhole route to the host's end. Packets
 * from the host still arrive, but nothing the namespace sends back leaves
 * it: no SYN-ACK, no data, no RST, no ICMP. A connect from the host hangs
 * until its own timeout. off: removes the route. 0 or -1. */
int	thn_blackhole(struct thn *n, int on);
/* Deletes the veth pair and the namespace (the black hole with it).
 * Processes still inside keep an unreachable namespace until they exit;
 * stop them first. Safe to call twice, and on a thn that never came up. */
void	thn_destroy(struct thn *n);

#endif
