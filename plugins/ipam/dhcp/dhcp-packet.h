/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DHCPv4 messages (RFC 2131/2132): encode and decode, no I/O. Decoding takes bytes
 * from the network and never trusts them: every length is checked against the buffer.
 */
#ifndef CNI_DHCP_PACKET_H
#define CNI_DHCP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_FIXED_LEN 236 /* op .. file, before the magic cookie */
#define DHCP_MIN_LEN 240   /* fixed part + cookie */
#define DHCP_MAX_LEN 1500
#define DHCP_FLAG_BROADCAST 0x8000

enum {
	DHCP_DISCOVER = 1,
	DHCP_OFFER = 2,
	DHCP_REQUEST = 3,
	DHCP_DECLINE = 4,
	DHCP_ACK = 5,
	DHCP_NAK = 6,
	DHCP_RELEASE = 7,
	DHCP_INFORM = 8,
};

enum {
	DHCP_OPT_PAD = 0,
	DHCP_OPT_SUBNET_MASK = 1,
	DHCP_OPT_ROUTER = 3,
	DHCP_OPT_DNS = 6,
	DHCP_OPT_HOSTNAME = 12,
	DHCP_OPT_DOMAIN = 15,
	DHCP_OPT_STATIC_ROUTES = 33,
	DHCP_OPT_REQUESTED_IP = 50,
	DHCP_OPT_LEASE_TIME = 51,
	DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MSG_TYPE = 53,
	DHCP_OPT_SERVER_ID = 54,
	DHCP_OPT_PARAM_LIST = 55,
	DHCP_OPT_MAX_SIZE = 57,
	DHCP_OPT_T1 = 58,
	DHCP_OPT_T2 = 59,
	DHCP_OPT_VENDOR_CLASS = 60,
	DHCP_OPT_CLIENT_ID = 61,
	DHCP_OPT_USER_CLASS = 77,
	DHCP_OPT_DOMAIN_SEARCH = 119,
	DHCP_OPT_CLASSLESS_ROUTES = 121,
	DHCP_OPT_END = 255,
};

/* A decoded message. Addresses are in network byte order, as on the wire. Options that
 * appear more than once are concatenated (RFC 3396); opt_len[c] < 0 means absent. */
struct dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	int opt_len[256];
	uint16_t opt_off[256];
	uint8_t data[DHCP_MAX_LEN * 2];
	size_t data_used;
};

/* One option to encode; len may exceed 255 (it is split, RFC 3396). */
struct dhcp_opt {
	uint8_t code;
	size_t len;
	const void *data;
};

/* Fields of an outgoing client message (op is always BOOTREQUEST). */
struct dhcp_out {
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr;
	uint8_t chaddr[6];
	uint8_t type; /* DHCP_DISCOVER, ... */
	const struct dhcp_opt *opts;
	size_t n_opts;
};

struct dhcp_route {
	uint32_t dst; /* network order */
	uint8_t prefix;
	uint32_t gw; /* network order; 0: on link */
};

/* Encodes into buf; returns the length or -ENOSPC / -EINVAL. */
int dhcp_encode(uint8_t *buf, size_t size, const struct dhcp_out *m);

/* Decodes a BOOTREPLY or BOOTREQUEST; returns 0 or -EBADMSG. */
int dhcp_decode(struct dhcp_msg *m, const uint8_t *buf, size_t len);

/* Option data or NULL; *len gets its length. */
const uint8_t *dhcp_msg_opt(const struct dhcp_msg *m, uint8_t code, size_t *len);
/* Option 53, or 0 when absent or malformed. */
int dhcp_msg_type(const struct dhcp_msg *m);
/* A 4-byte option as a host-order number; false when absent or malformed. */
bool dhcp_msg_u32(const struct dhcp_msg *m, uint8_t code, uint32_t *out);

/* Option 121 (RFC 3442): fills up to max routes; returns their count or -EBADMSG. */
int dhcp_parse_classless(const uint8_t *d, size_t len, struct dhcp_route *out, size_t max);
/* Option 33: pairs of destination and router, the mask from the destination's class;
 * returns the count or -EBADMSG. */
int dhcp_parse_static(const uint8_t *d, size_t len, struct dhcp_route *out, size_t max);

/* Parses an option name the reference knows ("routers", "subnet-mask", ...) or a
 * number 1..254; returns the code or -EINVAL. */
int dhcp_option_code(const char *name);

#endif
