/* SPDX-License-Identifier: Apache-2.0 */
#include "dhcp-packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t cookie[4] = {99, 130, 83, 99};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int put_opt(uint8_t *buf, size_t size, size_t *pos, uint8_t code, const uint8_t *d,
		   size_t len)
{
	do {
		size_t chunk = len > 255 ? 255 : len;
		if (*pos + 2 + chunk > size)
			return -ENOSPC;
		buf[(*pos)++] = code;
		buf[(*pos)++] = (uint8_t)chunk;
		if (chunk)
			memcpy(buf + *pos, d, chunk);
		*pos += chunk;
		d += chunk;
		len -= chunk;
	} while (len > 0);
	return 0;
}

int dhcp_encode(uint8_t *buf, size_t size, const struct dhcp_out *m)
{
	size_t pos = DHCP_MIN_LEN;
	int r;

	if (size < DHCP_MIN_LEN + 4 || m->type < DHCP_DISCOVER || m->type > DHCP_INFORM)
		return -EINVAL;
	memset(buf, 0, DHCP_MIN_LEN);
	buf[0] = 1; /* BOOTREQUEST */
	buf[1] = 1; /* Ethernet */
	buf[2] = 6;
	put32(buf + 4, m->xid);
	put16(buf + 8, m->secs);
	put16(buf + 10, m->flags);
	memcpy(buf + 12, &m->ciaddr, 4);
	memcpy(buf + 28, m->chaddr, 6);
	memcpy(buf + DHCP_FIXED_LEN, cookie, 4);
	r = put_opt(buf, size, &pos, DHCP_OPT_MSG_TYPE, &m->type, 1);
	for (size_t i = 0; r == 0 && i < m->n_opts; i++) {
		const struct dhcp_opt *o = &m->opts[i];
		if (o->code == DHCP_OPT_PAD || o->code == DHCP_OPT_END ||
		    o->code == DHCP_OPT_MSG_TYPE || (o->len && !o->data))
			return -EINVAL;
		r = put_opt(buf, size, &pos, o->code, o->data, o->len);
	}
	if (r < 0)
		return r;
	if (pos + 1 > size)
		return -ENOSPC;
	buf[pos++] = DHCP_OPT_END;
	/* some servers and relays drop BOOTP messages shorter than 300 bytes */
	while (pos < 300 && pos < size)
		buf[pos++] = DHCP_OPT_PAD;
	return (int)pos;
}

/* Walks one option area. pass 0 adds each option's length to m->opt_len (and reads the
 * overload option); pass 1 copies data to the offsets set between the passes. */
static int walk(struct dhcp_msg *m, const uint8_t *p, size_t len, int pass, int *overload,
		size_t *fill)
{
	size_t i = 0;

	while (i < len) {
		uint8_t code = p[i++], l;
		if (code == DHCP_OPT_PAD)
			continue;
		if (code == DHCP_OPT_END)
			return 0;
		if (i >= len)
			return -EBADMSG;
		l = p[i++];
		if (l > len - i)
			return -EBADMSG;
		if (pass == 0) {
			if (m->opt_len[code] < 0)
				m->opt_len[code] = 0;
			m->opt_len[code] += l;
			if (code == DHCP_OPT_OVERLOAD && overload && l == 1)
				*overload = p[i];
		} else {
			memcpy(m->data + m->opt_off[code] + fill[code], p + i, l);
			fill[code] += l;
		}
		i += l;
	}
	return 0; /* a missing END is tolerated, as most clients do */
}

int dhcp_decode(struct dhcp_msg *m, const uint8_t *buf, size_t len)
{
	const uint8_t *areas[3];
	size_t lens[3], n = 0, total = 0, fill[256] = {0};
	int overload = 0, r;

	if (!buf || len < DHCP_MIN_LEN || len > DHCP_MAX_LEN ||
	    memcmp(buf + DHCP_FIXED_LEN, cookie, 4) != 0)
		return -EBADMSG;
	if (buf[0] != 1 && buf[0] != 2)
		return -EBADMSG;
	memset(m, 0, offsetof(struct dhcp_msg, data));
	m->op = buf[0];
	m->htype = buf[1];
	m->hlen = buf[2];
	m->hops = buf[3];
	m->xid = get32(buf + 4);
	m->secs = (uint16_t)(buf[8] << 8 | buf[9]);
	m->flags = (uint16_t)(buf[10] << 8 | buf[11]);
	memcpy(&m->ciaddr, buf + 12, 4);
	memcpy(&m->yiaddr, buf + 16, 4);
	memcpy(&m->siaddr, buf + 20, 4);
	memcpy(&m->giaddr, buf + 24, 4);
	memcpy(m->chaddr, buf + 28, 16);
	for (int c = 0; c < 256; c++)
		m->opt_len[c] = -1;

	areas[n] = buf + DHCP_MIN_LEN;
	lens[n++] = len - DHCP_MIN_LEN;
	r = walk(m, areas[0], lens[0], 0, &overload, NULL);
	if (r < 0)
		return r;
	if (overload & 1) {
		areas[n] = buf + 108;
		lens[n++] = 128;
	}
	if (overload & 2) {
		areas[n] = buf + 44;
		lens[n++] = 64;
	}
	for (size_t a = 1; a < n; a++) {
		r = walk(m, areas[a], lens[a], 0, NULL, NULL);
		if (r < 0)
			return r;
	}
	for (int c = 0; c < 256; c++) {
		if (m->opt_len[c] < 0)
			continue;
		m->opt_off[c] = (uint16_t)total;
		total += (size_t)m->opt_len[c];
	}
	if (total > sizeof(m->data))
		return -EBADMSG;
	for (size_t a = 0; a < n; a++)
		walk(m, areas[a], lens[a], 1, NULL, fill);
	m->data_used = total;
	return 0;
}

const uint8_t *dhcp_msg_opt(const struct dhcp_msg *m, uint8_t code, size_t *len)
{
	if (m->opt_len[code] < 0)
		return NULL;
	*len = (size_t)m->opt_len[code];
	return m->data + m->opt_off[code];
}

int dhcp_msg_type(const struct dhcp_msg *m)
{
	size_t len;
	const uint8_t *d = dhcp_msg_opt(m, DHCP_OPT_MSG_TYPE, &len);

	return d && len == 1 ? d[0] : 0;
}

bool dhcp_msg_u32(const struct dhcp_msg *m, uint8_t code, uint32_t *out)
{
	size_t len;
	const uint8_t *d = dhcp_msg_opt(m, code, &len);

	if (!d || len != 4)
		return false;
	*out = get32(d);
	return true;
}

int dhcp_parse_classless(const uint8_t *d, size_t len, struct dhcp_route *out, size_t max)
{
	size_t i = 0, n = 0;

	while (i < len) {
		uint8_t prefix = d[i++];
		size_t sig = (prefix + 7u) / 8u;
		uint8_t dst[4] = {0};

		if (prefix > 32 || len - i < sig + 4)
			return -EBADMSG;
		memcpy(dst, d + i, sig);
		i += sig;
		if (n < max) {
			uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;
			memcpy(&out[n].dst, dst, 4);
			out[n].dst &= mask;
			out[n].prefix = prefix;
			memcpy(&out[n].gw, d + i, 4);
			n++;
		}
		i += 4;
	}
	return (int)n;
}

int dhcp_parse_static(const uint8_t *d, size_t len, struct dhcp_route *out, size_t max)
{
	size_t n = 0;

	if (len % 8)
		return -EBADMSG;
	for (size_t i = 0; i < len; i += 8) {
		uint8_t first = d[i];
		/* RFC 2132 5.8: the destination's class gives the mask; 0.0.0.0 is not allowed */
		uint8_t prefix = first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : 32;
		if (get32(d + i) == 0)
			continue;
		if (n >= max)
			break;
		memcpy(&out[n].dst, d + i, 4);
		out[n].dst &= htonl(~0u << (32 - prefix));
		out[n].prefix = prefix;
		memcpy(&out[n].gw, d + i + 4, 4);
		n++;
	}
	return (int)n;
}

int dhcp_option_code(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} names[] = {
	    {"subnet-mask", DHCP_OPT_SUBNET_MASK},
	    {"routers", DHCP_OPT_ROUTER},
	    {"domain-name-servers", DHCP_OPT_DNS},
	    {"host-name", DHCP_OPT_HOSTNAME},
	    {"domain-name", DHCP_OPT_DOMAIN},
	    {"static-routes", DHCP_OPT_STATIC_ROUTES},
	    {"vendor-class-identifier", DHCP_OPT_VENDOR_CLASS},
	    {"dhcp-client-identifier", DHCP_OPT_CLIENT_ID},
	    {"user-class", DHCP_OPT_USER_CLASS},
	    {"classless-static-routes", DHCP_OPT_CLASSLESS_ROUTES},
	};
	char *end;
	unsigned long v;

	if (!name || !*name)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, name) == 0)
			return names[i].code;
	if (name[0] < '0' || name[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (errno || *end || v < 1 || v > 254)
		return -EINVAL;
	return (int)v;
}
