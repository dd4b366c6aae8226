/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tuning: a chained plugin that writes network sysctls in the container's namespace and
 * changes attributes of CNI_IFNAME (MAC, MTU, promiscuous and all-multicast mode, transmit
 * queue length). What it changes on the link is backed up to <dataDir>/<cid>_<ifname>.json
 * in the reference's format, so DEL (ours or the reference's) can put it back.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <net/if.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cni/cni.h>

#include "plugin-json.h"
#include "plugin-netns.h"
#include "plugin-util.h"

#ifndef TUNING_ALLOWLIST_FILE
#define TUNING_ALLOWLIST_FILE "/etc/cni/tuning/allowlist.conf"
#endif
#define DEFAULT_DATA_DIR "/run/cni/tuning"
#define PROC_SYS	 "/proc/sys"

struct sysctl_kv {
	char *key;
	char *value;
};

struct tuning_conf {
	json_t *root;
	const char *data_dir;
	struct sysctl_kv *sysctls;
	size_t n_sysctls;
	const char *mac; /* as configured (the result carries this text) */
	bool promisc;
	int mtu;
	bool has_allmulti, allmulti;
	bool has_txqlen;
	int txqlen;
};

static void conf_free(struct tuning_conf *c)
{
	for (size_t i = 0; i < c->n_sysctls; i++) {
		free(c->sysctls[i].key);
		free(c->sysctls[i].value);
	}
	free(c->sysctls);
	json_decref(c->root);
	memset(c, 0, sizeof(*c));
}

/* ---- JSON decoding with encoding/json's rules (case-insensitive member names) ---- */

static const pj_go GO = {.what = "failed to load netconf", .type = "TuningConf."};

/* Set key to value in the ordered sysctl list (a later setting replaces an earlier one). */
static int sysctl_put(struct tuning_conf *c, const char *key, const char *value, cni_error **err)
{
	for (size_t i = 0; i < c->n_sysctls; i++) {
		if (strcmp(c->sysctls[i].key, key) == 0) {
			char *v = strdup(value);
			if (!v)
				return cni_error_oom(err);
			free(c->sysctls[i].value);
			c->sysctls[i].value = v;
			return 0;
		}
	}
	struct sysctl_kv *n = realloc(c->sysctls, (c->n_sysctls + 1) * sizeof(*n));
	if (!n)
		return cni_error_oom(err);
	c->sysctls = n;
	n[c->n_sysctls].key = strdup(key);
	n[c->n_sysctls].value = strdup(value);
	if (!n[c->n_sysctls].key || !n[c->n_sysctls].value) {
		free(n[c->n_sysctls].key);
		free(n[c->n_sysctls].value);
		return cni_error_oom(err);
	}
	c->n_sysctls++;
	return 0;
}

static int get_sysctls(struct tuning_conf *c, json_t *o, const char *field, cni_error **err)
{
	json_t *m = pj_get(o, "sysctl"), *v;
	const char *k;
	if (!m)
		return 0;
	if (!json_is_object(m))
		return pj_go_type_error(err, &GO, m, field, "map[string]string");
	json_object_foreach(m, k, v)
	{
		if (!json_is_string(v))
			return pj_go_type_error(err, &GO, v, field, "string");
		int r = sysctl_put(c, k, json_string_value(v), err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- duplicate sysctl keys: jansson keeps the last one silently, so scan the text ---- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at the opening quote; returns just past the closing one. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return end;
}

static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;
	p = skip_ws(p, end);
	do {
		if (p >= end)
			return end;
		if (*p == '"') {
			p = skip_string(p, end);
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		else if (depth == 0) {
			/* a scalar: runs to the next delimiter */
			while (p < end && !strchr(",}] \t\r\n", *p))
				p++;
			return p;
		}
		p++;
	} while (depth > 0);
	return p;
}

/* Decoded text of the JSON string token [p, q). */
static char *decode_key(const char *p, const char *q)
{
	json_t *s = json_loadb(p, (size_t)(q - p), JSON_DECODE_ANY, NULL);
	char *out = json_is_string(s) ? strdup(json_string_value(s)) : NULL;
	json_decref(s);
	return out;
}

/*
 * The reference rejects a "sysctl" object naming one key twice (also across two "sysctl"
 * members, which Go decodes into the same map). The text was already parsed, so this scan
 * only has to find its way.
 */
static int check_duplicate_sysctls(const char *data, size_t len, cni_error **err)
{
	const char *p = data, *end = data + len;
	json_t *seen = json_object();
	int r = 0;
	if (!seen)
		return cni_error_oom(err);
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		goto out;
	p++;
	for (;;) {
		p = skip_ws(p, end);
		if (p >= end || *p != '"')
			break;
		const char *kq = skip_string(p, end);
		char *key = decode_key(p, kq);
		p = skip_ws(kq, end);
		if (p < end && *p == ':')
			p = skip_ws(p + 1, end);
		bool is_sysctl = key && strcasecmp(key, "sysctl") == 0;
		free(key);
		if (is_sysctl && p < end && *p == '{') {
			const char *s = p + 1;
			for (;;) {
				s = skip_ws(s, end);
				if (s >= end || *s != '"')
					break;
				const char *sq = skip_string(s, end);
				char *k = decode_key(s, sq);
				if (k && json_object_get(seen, k)) {
					free(k);
					r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
							  "duplicated sysctl keys are not allowed");
					goto out;
				}
				if (k)
					json_object_set_new(seen, k, json_true());
				free(k);
				s = skip_ws(sq, end);
				if (s < end && *s == ':')
					s++;
				s = skip_ws(skip_value(s, end), end);
				if (s < end && *s == ',')
					s++;
			}
		}
		p = skip_ws(skip_value(p, end), end);
		if (p < end && *p == ',')
			p++;
		else
			break;
	}
out:
	json_decref(seen);
	return r;
}

/* ---- configuration ---- */

static int conf_load(struct tuning_conf *c, const cni_cmd_args *args, cni_error **err)
{
	json_t *o, *a;
	bool present;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = pj_go_load(&GO, args->stdin_data, args->stdin_len, "main.TuningConf", &c->root,
			    err)) < 0)
		return r;
	o = c->root;
	if ((r = pj_go_string(&GO, o, "dataDir", "dataDir", &c->data_dir, NULL, err)) < 0 ||
	    (r = get_sysctls(c, o, "sysctl", err)) < 0 ||
	    (r = pj_go_string(&GO, o, "mac", "mac", &c->mac, NULL, err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "promisc", "promisc", &c->promisc, NULL, err)) < 0 ||
	    (r = pj_go_int(&GO, o, "mtu", "mtu", &c->mtu, NULL, err)) < 0 ||
	    (r = pj_go_bool(&GO, o, "allmulti", "allmulti", &c->allmulti, &c->has_allmulti, err)) <
		0 ||
	    (r = pj_go_int(&GO, o, "txQLen", "txQLen", &c->txqlen, &c->has_txqlen, err)) < 0)
		return r;
	if (!c->data_dir || !*c->data_dir)
		c->data_dir = DEFAULT_DATA_DIR;

	/* MAC precedence, lowest first: config, CNI_ARGS MAC, runtimeConfig.mac, args.cni.mac */
	cni_args *ea = NULL;
	static const char *const known[] = {"MAC", NULL};
	if ((r = cni_args_parse(&ea, args->args, err)) < 0)
		return r;
	if ((r = cni_args_check_known(ea, known, err)) < 0) {
		cni_args_free(ea);
		return r;
	}
	const char *emac = cni_args_get(ea, "MAC");
	if (emac && *emac) {
		/* borrowed from ea: keep a copy inside root so it lives as long as the conf */
		json_object_set_new(c->root, " cni_args_mac", json_string(emac));
		c->mac = json_string_value(json_object_get(c->root, " cni_args_mac"));
	}
	cni_args_free(ea);

	json_t *rc = pj_get(o, "runtimeConfig");
	if (rc && !json_is_object(rc))
		return pj_go_type_error(err, &GO, rc, "runtimeConfig", "struct { Mac string }");
	const char *rmac = NULL;
	if ((r = pj_go_string(&GO, rc, "mac", "runtimeConfig.mac", &rmac, NULL, err)) < 0)
		return r;
	if (rmac && *rmac)
		c->mac = rmac;

	a = pj_get(o, "args");
	if (a && !json_is_object(a))
		return pj_go_type_error(err, &GO, a, "args", "struct");
	a = pj_get(a, "cni");
	if (a && !json_is_object(a))
		return pj_go_type_error(err, &GO, a, "args.cni", "main.IPAMArgs");
	if (a) {
		const char *amac = NULL;
		int v = 0;
		bool b = false;
		if ((r = get_sysctls(c, a, "args.cni.sysctl", err)) < 0 ||
		    (r = pj_go_string(&GO, a, "mac", "args.cni.mac", &amac, &present, err)) < 0)
			return r;
		if (present)
			c->mac = amac;
		if ((r = pj_go_bool(&GO, a, "promisc", "args.cni.promisc", &b, &present, err)) < 0)
			return r;
		if (present)
			c->promisc = b;
		if ((r = pj_go_int(&GO, a, "mtu", "args.cni.mtu", &v, &present, err)) < 0)
			return r;
		if (present)
			c->mtu = v;
		if ((r = pj_go_bool(&GO, a, "allmulti", "args.cni.allmulti", &b, &present, err)) <
		    0)
			return r;
		if (present) {
			c->has_allmulti = true;
			c->allmulti = b;
		}
		if ((r = pj_go_int(&GO, a, "txQLen", "args.cni.txQLen", &v, &present, err)) < 0)
			return r;
		if (present) {
			c->has_txqlen = true;
			c->txqlen = v;
		}
	}
	if (c->mtu < 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, "invalid mtu %d",
				     c->mtu);
	if (c->has_txqlen && c->txqlen < 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, "invalid txQLen %d",
				     c->txqlen);
	return 0;
}

/* net.ParseMAC's forms (xx:xx:.., xx-xx-.., xxxx.xxxx.xxxx); 6-byte (Ethernet) addresses only. */
static int parse_mac(const char *s, char out[18], cni_error **err)
{
	unsigned char b[6];
	size_t len = strlen(s), n = 0;
	if (len == 17 && (s[2] == ':' || s[2] == '-')) {
		char sep = s[2];
		for (size_t i = 0; i < 6; i++) {
			const char *p = s + i * 3;
			if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
			    (i < 5 && p[2] != sep))
				goto bad;
			char h[3] = {p[0], p[1], 0};
			b[n++] = (unsigned char)strtoul(h, NULL, 16);
		}
	} else if (len == 14 && s[4] == '.' && s[9] == '.') {
		for (size_t i = 0; i < 3; i++) {
			const char *p = s + i * 5;
			for (size_t j = 0; j < 4; j++)
				if (!isxdigit((unsigned char)p[j]))
					goto bad;
			char h[3] = {p[0], p[1], 0}, l[3] = {p[2], p[3], 0};
			b[n++] = (unsigned char)strtoul(h, NULL, 16);
			b[n++] = (unsigned char)strtoul(l, NULL, 16);
		}
	} else {
		goto bad;
	}
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
	return 0;
bad:
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			     "invalid args %s for MAC addr: address %s: invalid MAC address", s, s);
}

/*
 * The sysctl file for a key as the reference computes it: every '.' becomes '/', the first
 * "IFNAME" becomes the interface name, and the cleaned path must stay under /proc/sys/net/.
 */
static int sysctl_file(const char *key, const char *ifname, char **out, cni_error **err)
{
	cni_error *e = NULL;
	size_t klen = strlen(key), ilen = strlen(ifname);
	char *k = malloc(klen + ilen + 1), *path = NULL;
	if (!k)
		return cni_error_oom(err);
	for (size_t i = 0; i <= klen; i++)
		k[i] = key[i] == '.' ? '/' : key[i];
	char *tok = strstr(k, "IFNAME");
	if (tok) {
		memmove(tok + ilen, tok + 6, strlen(tok + 6) + 1);
		memcpy(tok, ifname, ilen);
	}
	/* "/proc/sys/" + k cleaned lexically (empty and "." elements go, ".." resolves) */
	size_t cap = strlen(PROC_SYS) + strlen(k) + 2;
	char *full = malloc(cap);
	if (full) {
		snprintf(full, cap, "%s/%s", PROC_SYS, k);
		path = cni_path_clean(full);
		free(full);
	}
	if (!path) {
		free(k);
		return cni_error_oom(err);
	}
	if (strncmp(path, PROC_SYS "/net/", strlen(PROC_SYS "/net/")) != 0) {
		cni_error_set(&e, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			      "invalid net sysctl key: \"%s\"", k);
		free(k);
		free(path);
		*err = e;
		return -CNI_ERR_INVALID_NETWORK_CONFIG;
	}
	free(k);
	*out = path;
	return 0;
}

/* Go-like lower-case errno text ("no such file or directory"). */
static const char *errtext(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0])
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* ---- allow-list ---- */

static int check_allowlist(const struct tuning_conf *c, cni_error **err)
{
	char *data = NULL;
	size_t cap = 0;
	char **lines = NULL;
	size_t n = 0;
	regex_t *re = NULL;
	char eb[128];
	int r = 0;

	FILE *f = fopen(TUNING_ALLOWLIST_FILE, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0; /* no allow-list: every net sysctl is allowed */
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "open %s: %s",
				     TUNING_ALLOWLIST_FILE, errtext(errno, eb, sizeof(eb)));
	}
	ssize_t got;
	while ((got = getline(&data, &cap, f)) >= 0) {
		char *s = data, *e = data + got;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e == s)
			continue;
		char **nl = realloc(lines, (n + 1) * sizeof(*nl));
		if (!nl) {
			r = cni_error_oom(err);
			goto out;
		}
		lines = nl;
		if (!(lines[n] = strndup(s, (size_t)(e - s)))) {
			r = cni_error_oom(err);
			goto out;
		}
		n++;
	}
	re = calloc(n ? n : 1, sizeof(*re));
	if (!re) {
		r = cni_error_oom(err);
		goto out;
	}
	size_t compiled = 0;
	for (; compiled < n; compiled++) {
		int rc = regcomp(&re[compiled], lines[compiled], REG_EXTENDED | REG_NOSUB);
		if (rc) {
			regerror(rc, &re[compiled], eb, sizeof(eb));
			r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					  "error parsing regexp: %s: `%s` in %s", eb,
					  lines[compiled], TUNING_ALLOWLIST_FILE);
			break;
		}
	}
	for (size_t i = 0; r == 0 && i < c->n_sysctls; i++) {
		bool ok = false;
		for (size_t j = 0; j < n && !ok; j++)
			ok = regexec(&re[j], c->sysctls[i].key, 0, NULL, 0) == 0;
		if (ok)
			continue;
		size_t len = 1;
		for (size_t j = 0; j < n; j++)
			len += strlen(lines[j]) + 1;
		char *list = calloc(1, len + 1);
		if (!list) {
			r = cni_error_oom(err);
			break;
		}
		for (size_t j = 0; j < n; j++) {
			if (j)
				strcat(list, " ");
			strcat(list, lines[j]);
		}
		r = cni_error_set(
		    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
		    "Sysctl %s is not allowed. Only the following sysctls are allowed: [%s]",
		    c->sysctls[i].key, list);
		free(list);
	}
	for (size_t j = 0; j < compiled; j++)
		regfree(&re[j]);
out:
	free(re);
	for (size_t j = 0; j < n; j++)
		free(lines[j]);
	free(lines);
	free(data);
	fclose(f);
	return r;
}

/* ---- backup of the link's attributes ---- */

static char *backup_path(const char *dir, const char *cid, const char *ifname)
{
	size_t len = strlen(dir) + strlen(cid) + strlen(ifname) + 8;
	char *p = malloc(len);
	if (p)
		snprintf(p, len, "%s/%s_%s.json", dir, cid, ifname);
	return p;
}

static int mkdir_p(const char *dir, cni_error **err)
{
	char eb[128];
	char *d = strdup(dir);
	if (!d)
		return cni_error_oom(err);
	for (char *p = d + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(d, 0700) < 0 && errno != EEXIST) {
			int r = cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
					      "failed to create backup directory: mkdir %s: %s", d,
					      errtext(errno, eb, sizeof(eb)));
			free(d);
			return r;
		}
		*p = c;
		if (!c)
			break;
	}
	free(d);
	return 0;
}

/* What the reference stores: only the attributes this ADD is about to change. */
static int backup_write(const struct tuning_conf *c, const cni_link_info *li, const char *cid,
			const char *ifname, cni_error **err)
{
	json_t *o = json_object();
	char *text = NULL, *path = NULL;
	int r = o ? 0 : -1;

	if (c->mac && *c->mac)
		r |= json_object_set_new(o, "mac", json_string(li->mac));
	if (c->promisc)
		r |= json_object_set_new(o, "promisc", json_boolean(li->flags & IFF_PROMISC));
	if (c->mtu)
		r |= json_object_set_new(o, "mtu", json_integer(li->mtu));
	if (c->has_allmulti)
		r |= json_object_set_new(o, "allmulti", json_boolean(li->flags & IFF_ALLMULTI));
	if (c->has_txqlen)
		r |= json_object_set_new(o, "txQLen", json_integer(li->txqlen));
	/* in the order set, one space of indent: {\n "mac": "...",\n "mtu": 1500\n} */
	if (r == 0)
		text = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return cni_error_oom(err);
	if ((r = mkdir_p(c->data_dir, err)) == 0 && !(path = backup_path(c->data_dir, cid, ifname)))
		r = cni_error_oom(err);
	if (r == 0)
		r = cni_file_write_atomic(path, text, strlen(text), 0600, 0, err);
	free(path);
	free(text);
	return r;
}

/* ---- work inside the container's namespace ---- */

struct ns_work {
	const struct tuning_conf *conf;
	const cni_cmd_args *args;
	cni_result *result; /* ADD: the prevResult to update */
};

static int open_link(cni_nl **nl, const char *ifname, cni_link_info *li, cni_error **err)
{
	int r = cni_nl_open(nl, NULL, err);
	if (r < 0)
		return r;
	r = cni_link_get(*nl, ifname, li, err);
	if (r < 0) {
		cni_nl_close(*nl);
		*nl = NULL;
	}
	return r;
}

static bool changes_link(const struct tuning_conf *c)
{
	return (c->mac && *c->mac) || c->mtu || c->promisc || c->has_allmulti || c->has_txqlen;
}

static int restore_in_ns(void *userdata, cni_error **err);

static int add_in_ns(void *userdata, cni_error **err)
{
	struct ns_work *w = userdata;
	const struct tuning_conf *c = w->conf;
	const char *ifname = w->args->ifname;
	char eb[128];
	int r = 0;

	for (size_t i = 0; i < c->n_sysctls; i++) {
		char *path = NULL;
		if ((r = sysctl_file(c->sysctls[i].key, ifname, &path, err)) < 0)
			return r;
		int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		ssize_t n = -1;
		const char *v = c->sysctls[i].value;
		if (fd >= 0) {
			do
				n = write(fd, v, strlen(v));
			while (n < 0 && errno == EINTR);
			int e = errno;
			close(fd);
			errno = e;
		}
		if (fd < 0 || n < 0) {
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "%s %s: %s",
					  fd < 0 ? "open" : "write", path,
					  errtext(errno, eb, sizeof(eb)));
			free(path);
			return r;
		}
		free(path);
	}
	if (!changes_link(c))
		return 0;

	cni_nl *nl = NULL;
	cni_link_info li = CNI_LINK_INFO_INIT;
	char mac[18];
	if ((r = open_link(&nl, ifname, &li, err)) < 0)
		return r;
	if ((r = backup_write(c, &li, w->args->container_id, ifname, err)) < 0)
		goto out;
	if (c->mac && *c->mac) {
		if ((r = parse_mac(c->mac, mac, err)) < 0 ||
		    (r = cni_link_set_mac(nl, li.ifindex, mac, err)) < 0)
			goto out;
		if (w->result) {
			size_t n = cni_result_interface_count(w->result);
			for (size_t i = 0; i < n; i++) {
				cni_interface ifc = CNI_INTERFACE_INIT;
				if (cni_result_get_interface(w->result, i, &ifc) == 0 && ifc.name &&
				    strcmp(ifc.name, ifname) == 0 &&
				    (r = cni_result_set_interface_mac(w->result, i, c->mac, err)) <
					0)
					goto out;
			}
		}
	}
	if (c->promisc && (r = cni_link_set_promisc(nl, li.ifindex, true, err)) < 0)
		goto out;
	if (c->mtu && (r = cni_link_set_mtu(nl, li.ifindex, (unsigned)c->mtu, err)) < 0)
		goto out;
	if (c->has_allmulti && (r = cni_link_set_allmulti(nl, li.ifindex, c->allmulti, err)) < 0)
		goto out;
	if (c->has_txqlen &&
	    (r = cni_link_set_txqlen(nl, li.ifindex, (unsigned)c->txqlen, err)) < 0)
		goto out;
out:
	cni_nl_close(nl);
	/* a failed ADD puts back what it changed on the link, as DEL would, and drops the
	 * backup (a change whose answer was lost counts as made) */
	if (r < 0)
		restore_in_ns(w, NULL);
	return r;
}

static int check_in_ns(void *userdata, cni_error **err)
{
	struct ns_work *w = userdata;
	const struct tuning_conf *c = w->conf;
	const char *ifname = w->args->ifname;
	int r;

	for (size_t i = 0; i < c->n_sysctls; i++) {
		char *path = NULL, *cur = NULL;
		size_t cap = 0;
		char eb[128];
		if ((r = sysctl_file(c->sysctls[i].key, ifname, &path, err)) < 0)
			return r;
		FILE *f = fopen(path, "re");
		if (!f) {
			r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "open %s: %s", path,
					  errtext(errno, eb, sizeof(eb)));
			free(path);
			return r;
		}
		ssize_t n = getdelim(&cur, &cap, '\0', f);
		fclose(f);
		if (n < 0) {
			free(cur);
			cur = strdup("");
			n = 0;
		}
		if (cur && n > 0 && cur[n - 1] == '\n')
			cur[n - 1] = '\0';
		if (!cur || strcmp(cur, c->sysctls[i].value) != 0)
			r = cni_error_set(
			    err, CNI_ERR_INTERNAL, NULL,
			    "Error: Tuning configured value of %s is %s, current value "
			    "is %s",
			    path, c->sysctls[i].value, cur ? cur : "");
		free(cur);
		free(path);
		if (r < 0)
			return r;
	}

	cni_nl *nl = NULL;
	cni_link_info li = CNI_LINK_INFO_INIT;
	cni_error *local = NULL;
	if ((r = open_link(&nl, ifname, &li, &local)) < 0) {
		cni_error_free(local);
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "Cannot find container link %s",
				     ifname);
	}
	cni_nl_close(nl);
	if (c->mac && *c->mac) {
		char mac[18];
		if ((r = parse_mac(c->mac, mac, err)) < 0)
			return r;
		if (strcmp(mac, li.mac) != 0)
			return cni_error_set(
			    err, CNI_ERR_INTERNAL, NULL,
			    "Error: Tuning configured Ethernet of %s is %s, current "
			    "value is %s",
			    ifname, c->mac, li.mac);
	}
	bool promisc = li.flags & IFF_PROMISC;
	if (promisc != c->promisc)
		return cni_error_set(
		    err, CNI_ERR_INTERNAL, NULL,
		    "Error: Tuning link %s configured promisc is %s, current value "
		    "is %d",
		    ifname, c->promisc ? "true" : "false", promisc ? 1 : 0);
	if (c->mtu && (unsigned)c->mtu != li.mtu)
		return cni_error_set(
		    err, CNI_ERR_INTERNAL, NULL,
		    "Error: Tuning configured MTU of %s is %d, current value is %u", ifname, c->mtu,
		    li.mtu);
	bool allmulti = li.flags & IFF_ALLMULTI;
	if (c->has_allmulti && allmulti != c->allmulti)
		return cni_error_set(
		    err, CNI_ERR_INTERNAL, NULL,
		    "Error: Tuning configured all-multicast mode of %s is %s, current "
		    "value is %s",
		    ifname, c->allmulti ? "true" : "false", allmulti ? "true" : "false");
	if (c->has_txqlen && (unsigned)c->txqlen != li.txqlen)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "Error: Tuning configured Transmit Queue Length of %s is %d, "
				     "current value is %u",
				     ifname, c->txqlen, li.txqlen);
	return 0;
}

/* The reference's restore order: MTU, MAC, promisc, allmulti, txqlen. */
static int restore_in_ns(void *userdata, cni_error **err)
{
	struct ns_work *w = userdata;
	const struct tuning_conf *c = w->conf;
	const char *ifname = w->args->ifname;
	char *path = backup_path(c->data_dir, w->args->container_id, ifname);
	char *data = NULL;
	size_t cap = 0;
	cni_nl *nl = NULL;
	cni_link_info li = CNI_LINK_INFO_INIT;
	json_t *b = NULL;
	int r = 0, failed = 0;

	if (!path)
		return cni_error_oom(err);
	FILE *f = fopen(path, "re");
	if (!f && errno == ENOENT)
		goto out; /* no backup: nothing was changed, or it was already restored */
	if (!f) {
		/* there may be one: keep it for the next DEL */
		r = cni_error_set_errno(err, errno, CNI_ERR_SYSTEM, "failed to read backup %s: %s",
					path, strerror(errno));
		goto out;
	}
	ssize_t n = getdelim(&data, &cap, '\0', f);
	int read_errno = n < 0 && ferror(f) ? errno : 0;
	fclose(f);
	if (read_errno) {
		r = cni_error_set_errno(err, read_errno, CNI_ERR_SYSTEM,
					"failed to read backup %s: %s", path, strerror(read_errno));
		goto out;
	}
	b = n > 0 ? json_loadb(data, (size_t)n, 0, NULL) : NULL;
	if (!json_is_object(b))
		goto out; /* unreadable: the reference leaves it too (GC removes it) */
	cni_error *local = NULL;
	bool gone;
	r = open_link(&nl, ifname, &li, &local);
	/* not known to be gone: keep the backup for the next DEL */
	if ((r = pc_gone_ok(r, local, &gone, err && !*err ? err : NULL)) < 0)
		goto out;
	if (gone) {
		/* the link is gone with what was changed on it: the backup has no use left */
		cni_file_remove(path, NULL);
		goto out;
	}
	json_t *v;
	cni_error *first = NULL; /* the first attribute's error, for the message */
	if ((v = pj_get(b, "mtu")) && json_is_integer(v) && json_integer_value(v) > 0 &&
	    cni_link_set_mtu(nl, li.ifindex, (unsigned)json_integer_value(v), &first) < 0)
		failed++;
	if ((v = pj_get(b, "mac")) && json_is_string(v) && *json_string_value(v) &&
	    cni_link_set_mac(nl, li.ifindex, json_string_value(v), first ? NULL : &first) < 0)
		failed++;
	if ((v = pj_get(b, "promisc")) && json_is_boolean(v) &&
	    cni_link_set_promisc(nl, li.ifindex, json_is_true(v), first ? NULL : &first) < 0)
		failed++;
	if ((v = pj_get(b, "allmulti")) && json_is_boolean(v) &&
	    cni_link_set_allmulti(nl, li.ifindex, json_is_true(v), first ? NULL : &first) < 0)
		failed++;
	if ((v = pj_get(b, "txQLen")) && json_is_integer(v) && json_integer_value(v) >= 0 &&
	    cni_link_set_txqlen(nl, li.ifindex, (unsigned)json_integer_value(v),
				first ? NULL : &first) < 0)
		failed++;
	/* Keep the backup when something could not be put back, as the reference does, but
	 * say so (it reports success): a runtime retries only a DEL that failed. */
	if (failed)
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "failed to restore %d attribute(s) of %s from %s (kept): %s",
				  failed, ifname, path, first ? cni_error_msg(first) : "failed");
	else
		r = cni_file_remove(path, err);
	cni_error_free(first);
out:
	cni_nl_close(nl);
	json_decref(b);
	free(data);
	free(path);
	return r;
}

/* ---- verbs ---- */

static int load_for(const cni_cmd_args *args, struct tuning_conf *c, cni_result **prev,
		    bool need_prev, cni_error **err)
{
	cni_conf *cc = NULL;
	int r;
	if ((r = conf_load(c, args, err)) < 0)
		return r;
	if (!need_prev)
		return 0;
	if ((r = cni_conf_from_bytes(&cc, args->stdin_data, args->stdin_len, err)) < 0)
		return r;
	r = cni_conf_prev_result(cc, prev, err);
	cni_conf_free(cc);
	if (r < 0)
		return r;
	if (!*prev)
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "Required prevResult missing");
	return 0;
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	struct tuning_conf c;
	cni_result *prev = NULL;
	char mac[18];
	int r;
	(void)ud;

	if ((r = check_duplicate_sysctls(args->stdin_data, args->stdin_len, err)) < 0)
		return r;
	memset(&c, 0, sizeof(c));
	if ((r = conf_load(&c, args, err)) < 0 || (r = check_allowlist(&c, err)) < 0)
		goto out;
	conf_free(&c);
	if ((r = load_for(args, &c, &prev, true, err)) < 0)
		goto out;
	/* everything that can be refused is refused before anything is changed */
	for (size_t i = 0; i < c.n_sysctls; i++) {
		char *p = NULL;
		if ((r = sysctl_file(c.sysctls[i].key, args->ifname, &p, err)) < 0)
			goto out;
		free(p);
	}
	if (c.mac && *c.mac && (r = parse_mac(c.mac, mac, err)) < 0)
		goto out;
	struct ns_work w = {&c, args, prev};
	if ((r = pc_netns_run_path(args->netns, false, add_in_ns, &w, err)) < 0)
		goto out;
	*result = prev;
	prev = NULL;
out:
	cni_result_free(prev);
	conf_free(&c);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct tuning_conf c;
	cni_result *prev = NULL;
	int r;
	(void)ud;

	if ((r = check_duplicate_sysctls(args->stdin_data, args->stdin_len, err)) < 0)
		return r;
	if ((r = load_for(args, &c, &prev, true, err)) < 0)
		goto out;
	struct ns_work w = {&c, args, NULL};
	r = pc_netns_run_path(args->netns, false, check_in_ns, &w, err);
out:
	cni_result_free(prev);
	conf_free(&c);
	return r;
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct tuning_conf c;
	cni_netns *ns = NULL;
	int r;
	(void)ud;

	if ((r = load_for(args, &c, NULL, false, err)) < 0)
		goto out;
	/* not known to be gone: keep the backup for the next DEL */
	if ((r = pc_netns_open_del(args->netns, &ns, err)) < 0)
		goto out;
	/* no namespace left: nothing can be restored, and the backup is of no use */
	if (!ns)
		goto out;
	struct ns_work w = {&c, args, NULL};
	r = cni_netns_run(ns, restore_in_ns, &w, err);
out:
	if (r == 0 && c.data_dir) {
		/* the backup, and the temporary file of one whose ADD was killed before the
		 * rename (restore_in_ns() removes a backup it used, or keeps it on purpose) */
		char *p = backup_path(c.data_dir, args->container_id, args->ifname);
		if (p && !ns)
			cni_file_remove(p, NULL);
		else if (p)
			cni_file_remove_leftover(p, NULL);
		free(p);
	}
	cni_netns_close(ns);
	conf_free(&c);
	return r;
}

/* GC: drop the backups of attachments the runtime no longer knows. */
static int cmd_gc(const cni_cmd_args *args, cni_error **err, void *ud)
{
	struct tuning_conf c;
	cni_conf *cc = NULL;
	size_t n = 0;
	bool present = false;
	int r;
	(void)ud;

	if ((r = conf_load(&c, args, err)) < 0 ||
	    (r = cni_conf_from_bytes(&cc, args->stdin_data, args->stdin_len, err)) < 0 ||
	    (r = cni_conf_valid_attachments(cc, &n, &present, err)) < 0)
		goto out;
	if (!present)
		goto out; /* without the list nothing can be told stale */
	DIR *d = opendir(c.data_dir);
	if (!d)
		goto out;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		size_t len = strlen(name);
		if (len < 7 || strcmp(name + len - 5, ".json") != 0 || !strchr(name, '_'))
			continue;
		bool keep = false;
		for (size_t i = 0; i < n && !keep; i++) {
			const char *cid = cni_conf_valid_attachment_container_id(cc, i);
			const char *ifn = cni_conf_valid_attachment_ifname(cc, i);
			size_t cl = strlen(cid), il = strlen(ifn);
			keep = cl + il + 6 == len && strncmp(name, cid, cl) == 0 &&
			       name[cl] == '_' && strncmp(name + cl + 1, ifn, il) == 0;
		}
		if (!keep && unlinkat(dirfd(d), name, 0) < 0 && errno != ENOENT)
			fprintf(stderr, "tuning: GC: failed to remove %s/%s: %s\n", c.data_dir,
				name, strerror(errno));
	}
	closedir(d);
out:
	cni_conf_free(cc);
	conf_free(&c);
	return r;
}

/* STATUS: nothing to depend on, always ready (NULL = success) */
CNI_PLUGIN_MAIN("CNI tuning plugin libcni-c " LIBCNI_C_VERSION, .add = cmd_add, .check = cmd_check,
		.del = cmd_del, .gc = cmd_gc)
