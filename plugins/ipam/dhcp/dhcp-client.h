/* SPDX-License-Identifier: Apache-2.0 */
/* The DHCP client of one attachment: message exchanges over a UDP socket opened in the
 * attachment's network namespace and bound to its interface. */
#ifndef CNI_DHCP_CLIENT_H
#define CNI_DHCP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "dhcp-packet.h"

#define DHCP_MAX_PROVIDE 32
#define DHCP_MAX_REQUEST 64

struct dhcp_provide {
	uint8_t code;
	uint8_t len;
	uint8_t data[255];
};

/* What a client asks for; fixed for the attachment's life. */
struct dhcp_params {
	char netns[4096];
	char ifname[16];
	char client_id[256]; /* <containerID>/<network>/<ifname> */
	uint8_t request[DHCP_MAX_REQUEST];
	size_t n_request;
	struct dhcp_provide provide[DHCP_MAX_PROVIDE];
	size_t n_provide;
	bool broadcast;
	unsigned timeout_ms;   /* the whole of an acquisition */
	unsigned resendmax_ms; /* cap of the retransmission back-off */
};

/* A lease: the ACK that granted it and when (CLOCK_REALTIME seconds). */
struct dhcp_lease {
	struct dhcp_msg ack;
	uint8_t raw[DHCP_MAX_LEN];
	size_t raw_len;
	int64_t acquired;
	uint32_t server; /* network order */
	uint32_t lease_time, t1, t2;
};

/* A descriptor of the calling thread's (an eventfd or a pipe's read end; -1, the default,
 * for none): once it is readable, exchanges in progress on this thread give up with
 * -ECANCELED. It is polled, never read, so it stays set. */
extern _Thread_local int dhcp_cancel_fd;

/* Opens the client socket in params->netns; fd or -errno, *mac gets the hardware address. */
int dhcp_client_socket(const struct dhcp_params *p, uint8_t mac[6]);

/* DISCOVER/OFFER/REQUEST/ACK. 0, -ETIMEDOUT, -ECONNREFUSED (NAK) or -errno. */
int dhcp_acquire(const struct dhcp_params *p, struct dhcp_lease *out);

/* Renew (unicast to the server) or rebind (broadcast) the lease; 0 with *l updated,
 * -ECONNREFUSED on NAK, -ETIMEDOUT without answer within timeout_ms. */
int dhcp_extend(const struct dhcp_params *p, struct dhcp_lease *l, bool rebind,
		unsigned timeout_ms);

/* Sends DHCPRELEASE (no answer is expected). */
int dhcp_release(const struct dhcp_params *p, const struct dhcp_lease *l);

/* Fills the lease's times from its ACK (defaults: T1 = lease/2, T2 = lease*7/8). */
int dhcp_lease_from_ack(struct dhcp_lease *l, const uint8_t *raw, size_t len, int64_t acquired);

/* Whether the interface still exists in its namespace (false also when the namespace
 * is gone). */
bool dhcp_link_present(const struct dhcp_params *p);

#endif
