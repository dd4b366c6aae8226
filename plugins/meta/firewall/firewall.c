/* SPDX-License-Identifier: Apache-2.0 */
/*
 * firewall: lets the container's addresses through the host's FORWARD chain, with the
 * reference's iptables rules (filter table):
 *
 *   FORWARD (first):  -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
 *   CNI-FORWARD:      -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN
 *                     -d <ip>/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
 *                     -s <ip>/32 -j ACCEPT
 *
 * and ingressPolicy same-bridge / isolated with CNI-ISOLATION-STAGE-1/2. The rule text is
 * the reference's, so each plugin removes the other's; each verb is one iptables-save and
 * at most one iptables-restore per family.
 *
 * The reference's per-address rules do not say which attachment they belong to, so GC
 * could not find stale ones. We keep a small index instead of changing the rules:
 * <dataDir>/<network>/<containerid>-<ifname> holding the container id, the ifname and the
 * addresses. GC removes the rules of indexed attachments that are no longer valid.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cni/cni.h>

#include "plugin-buf.h"

#define FWD_CHAIN	 "CNI-FORWARD"
#define STAGE1		 "CNI-ISOLATION-STAGE-1"
#define STAGE2		 "CNI-ISOLATION-STAGE-2"
#define FWD_COMMENT	 "CNI firewall plugin rules"
#define ADMIN_COMMENT	 "CNI firewall plugin admin overrides"
#define ISO_COMMENT	 "CNI firewall plugin rules (ingressPolicy: same-bridge)"
#define ISOLATED_COMMENT "CNI firewall plugin rules (ingressPolicy: isolated)"
#define DEFAULT_DATA_DIR "/var/lib/cni/firewall"

enum policy { POLICY_OPEN, POLICY_SAME_BRIDGE, POLICY_ISOLATED };

typedef struct fw_conf {
	char *name;
	char *backend;
	char *admin_chain;
	char *zone;
	char *data_dir;
	enum policy policy;
} fw_conf;

static void fw_conf_clear(fw_conf *c)
{
	free(c->name);
	free(c->backend);
	free(c->admin_chain);
	free(c->zone);
	free(c->data_dir);
	memset(c, 0, sizeof(*c));
}

static int dup_string(json_t *root, const char *key, const char *def, char **out, cni_error **err)
{
	json_t *v = json_object_get(root, key);
	const char *s = def;
	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
					     "failed to load netconf: %s must be a string", key);
		if (*json_string_value(v))
			s = json_string_value(v);
	}
	*out = strdup(s ? s : "");
	return *out ? 0 : cni_error_oom(err);
}

static int parse_conf(const cni_cmd_args *a, fw_conf *c, cni_error **err)
{
	json_error_t je;
	json_t *root = json_loadb(a->stdin_data, a->stdin_len, 0, &je);
	char *policy = NULL;
	int r;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(root)) {
		json_decref(root);
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to load netconf: %s",
				     root ? "not an object" : je.text);
	}
	if ((r = dup_string(root, "name", "", &c->name, err)) < 0 ||
	    (r = dup_string(root, "backend", "", &c->backend, err)) < 0 ||
	    (r = dup_string(root, "iptablesAdminChainName", "CNI-ADMIN", &c->admin_chain, err)) <
		0 ||
	    (r = dup_string(root, "firewalldZone", "trusted", &c->zone, err)) < 0 ||
	    (r = dup_string(root, "dataDir", DEFAULT_DATA_DIR, &c->data_dir, err)) < 0 ||
	    (r = dup_string(root, "ingressPolicy", "", &policy, err)) < 0)
		goto out;
	if (!*policy || !strcmp(policy, "open"))
		c->policy = POLICY_OPEN;
	else if (!strcmp(policy, "same-bridge"))
		c->policy = POLICY_SAME_BRIDGE;
	else if (!strcmp(policy, "isolated"))
		c->policy = POLICY_ISOLATED;
	else
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "unknown ingress policy: \"%s\"", policy);
	if (r == 0 && *c->backend && strcmp(c->backend, "iptables") &&
	    strcmp(c->backend, "firewalld"))
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "unknown firewall backend \"%s\": must be iptables or firewalld",
				  c->backend);
	/* chain names go into restore batches: keep them plain words */
	for (const char *p = c->admin_chain; r == 0 && *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
			r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					  "invalid iptablesAdminChainName \"%s\"", c->admin_chain);
out:
	free(policy);
	json_decref(root);
	if (r < 0)
		fw_conf_clear(c);
	return r;
}

/* firewalld is found the way it announces itself without D-Bus: its pid file. */
static bool firewalld_running(void)
{
	return access("/run/firewalld/firewalld.pid", F_OK) == 0 ||
	       access("/var/run/firewalld.pid", F_OK) == 0;
}

static int use_iptables(const fw_conf *c, bool del, cni_error **err)
{
	bool want_fwd = !strcmp(c->backend, "firewalld") || (!*c->backend && firewalld_running());
	if (!want_fwd)
		return 1;
	if (del && !firewalld_running())
		return 0; /* nothing can be in a firewalld that is not running */
	/* No D-Bus client in this implementation: say so instead of pretending. */
	return cni_error_set(
	    err, CNI_ERR_PLUGIN_NOT_AVAILABLE, NULL,
	    firewalld_running()
		? "firewalld backend (zone \"%s\") is not supported by this plugin: "
		  "it has no D-Bus client; use \"backend\": \"iptables\""
		: "firewalld backend (zone \"%s\") requested but firewalld is not "
		  "running",
	    c->zone);
}

/* Already written into this batch? (duplicate addresses in prevResult) */
static bool in_batch(const sbuf *b, const char *line)
{
	size_t l = strlen(line);
	for (const char *p = b->s; p && (p = strstr(p, line)); p++)
		if ((p == b->s || p[-1] == '\n') && (p[l] == '\n' || p[l] == '\0'))
			return true;
	return false;
}

/* Emit "-A <rest>" (or "-I <chain> 1 <rest>" when first) unless that rule is present. */
static void ensure_rule(sbuf *b, const cni_ipt_dump *s, const char *chain, const char *rest,
			bool first)
{
	char line[512];
	snprintf(line, sizeof(line), "-A %s %s", chain, rest);
	if (cni_ipt_dump_has_line(s, line) || in_batch(b, line))
		return;
	if (first) {
		char ins[512];
		snprintf(ins, sizeof(ins), "-I %s 1 %s", chain, rest);
		if (in_batch(b, ins))
			return;
		sb_printf(b, "%s\n", ins);
	} else {
		sb_printf(b, "%s\n", line);
	}
}

static void ensure_chain(sbuf *b, const cni_ipt_dump *s, const char *chain)
{
	char decl[128];
	snprintf(decl, sizeof(decl), ":%s - [0:0]", chain);
	if (!cni_ipt_dump_has_chain(s, chain) && !in_batch(b, decl))
		sb_printf(b, "%s\n", decl);
}

/* The container's addresses of family as "<ip>/32" or "<ip>/128", deduplicated. */
static char **result_addresses(const cni_result *res, int family)
{
	size_t n = res ? cni_result_ip_count(res) : 0, k = 0;
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_ipnet net;
		char txt[CNI_IP_STRLEN];
		if (cni_result_get_ip(res, i, &ip) < 0 || cni_ipnet_parse(ip.address, &net) < 0 ||
		    net.ip.family != family)
			continue;
		cni_ip_format(&net.ip, txt, sizeof(txt));
		char *s = malloc(strlen(txt) + 5);
		if (!s)
			continue;
		sprintf(s, "%s/%d", txt, family == AF_INET ? 32 : 128);
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup = dup || !strcmp(v[j], s);
		if (dup)
			free(s);
		else
			v[k++] = s;
	}
	return v;
}

static void ip_rules(const char *ip, char *in, size_t inlen, char *out, size_t outlen)
{
	snprintf(in, inlen, "-d %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", ip);
	snprintf(out, outlen, "-s %s -j ACCEPT", ip);
}

static void isolation_rules(sbuf *b, const cni_ipt_dump *s, const fw_conf *c, const char *br)
{
	char rule[256];
	ensure_chain(b, s, STAGE1);
	ensure_chain(b, s, STAGE2);
	/* ahead of CNI-FORWARD */
	ensure_rule(b, s, "FORWARD", "-m comment --comment \"" ISO_COMMENT "\" -j " STAGE1, true);
	snprintf(rule, sizeof(rule),
		 "-i %s ! -o %s -m comment --comment \"" ISO_COMMENT "\" -j " STAGE2, br, br);
	ensure_rule(b, s, STAGE1, rule, true);
	if (c->policy == POLICY_ISOLATED) {
		/* also no traffic between containers of the same bridge */
		snprintf(rule, sizeof(rule),
			 "-i %s -o %s -m comment --comment \"" ISOLATED_COMMENT "\" -j DROP", br,
			 br);
		ensure_rule(b, s, STAGE1, rule, true);
	}
	ensure_rule(b, s, STAGE1, "-m comment --comment \"" ISO_COMMENT "\" -j RETURN", false);
	snprintf(rule, sizeof(rule), "-o %s -m comment --comment \"" ISO_COMMENT "\" -j DROP", br);
	ensure_rule(b, s, STAGE2, rule, true);
	ensure_rule(b, s, STAGE2, "-m comment --comment \"" ISO_COMMENT "\" -j RETURN", false);
}

static bool plain_ifname(const char *s)
{
	if (!*s || strlen(s) > 15)
		return false;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || strchr("-_.@", *s)))
			return false;
	return true;
}

/*
 * The batch that takes back an applied one: its rules deleted in reverse order, then the
 * chains it created (empty again by then). Lines are "-I <chain> 1 <rest>", "-A <chain>
 * <rest>" and ":<chain> - [0:0]", as ensure_rule and ensure_chain write them.
 */
static void undo_batch(sbuf *undo, const char *applied)
{
	const char *end = applied + strlen(applied);
	sb_printf(undo, "*filter\n");
	for (int pass = 0; pass < 2; pass++) {
		for (const char *e = end; e > applied;) {
			const char *l = e - 1;
			while (l > applied && l[-1] != '\n')
				l--;
			int len = (int)(e - l) - (e[-1] == '\n');
			char chain[64];
			int off = 0;
			e = l;
			if (pass == 0 &&
			    (sscanf(l, "-I %63s 1 %n", chain, &off) == 1 ||
			     sscanf(l, "-A %63s %n", chain, &off) == 1) &&
			    off)
				sb_printf(undo, "-D %s %.*s\n", chain, len - off, l + off);
			else if (pass == 1 && sscanf(l, ":%63s - [0:0]", chain) == 1)
				sb_printf(undo, "-X %s\n", chain);
		}
	}
	sb_printf(undo, "COMMIT\n");
}

/* Add family's rules for prev; *undo (when not NULL) gets the batch that takes them back,
 * also when the restore failed, or stays NULL when nothing was tried. */
static int add_family(const fw_conf *c, const cni_result *prev, int family, char **undo,
		      cni_error **err)
{
	char **ips = result_addresses(prev, family);
	char in[256], out[256], rest[256];
	cni_ipt_dump *s = NULL;
	sbuf b = {0};
	int r;

	if (!ips)
		return cni_error_oom(err);
	if (!ips[0]) {
		cni_strv_free(ips);
		return 0;
	}
	if ((r = cni_ipt_dump_read(family, "filter", &s, err)) < 0) {
		cni_strv_free(ips);
		return r;
	}
	sb_printf(&b, "*filter\n");
	ensure_chain(&b, s, FWD_CHAIN);
	ensure_chain(&b, s, c->admin_chain);
	ensure_rule(&b, s, "FORWARD", "-m comment --comment \"" FWD_COMMENT "\" -j " FWD_CHAIN,
		    true);
	snprintf(rest, sizeof(rest), "-m comment --comment \"" ADMIN_COMMENT "\" -j %s",
		 c->admin_chain);
	ensure_rule(&b, s, FWD_CHAIN, rest, true);
	for (size_t i = 0; ips[i]; i++) {
		ip_rules(ips[i], in, sizeof(in), out, sizeof(out));
		ensure_rule(&b, s, FWD_CHAIN, in, false);
		ensure_rule(&b, s, FWD_CHAIN, out, false);
	}
	if (c->policy != POLICY_OPEN) {
		cni_interface ifc = CNI_INTERFACE_INIT;
		if (cni_result_interface_count(prev) == 0 ||
		    cni_result_get_interface(prev, 0, &ifc) < 0 || !ifc.name || !*ifc.name) {
			r = cni_error_set(
			    err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
			    "interface needs to be set for ingress policy, make sure to "
			    "chain \"firewall\" plugin with \"bridge\"");
			goto out;
		}
		if (!plain_ifname(ifc.name)) {
			r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
					  "invalid bridge name \"%s\"", ifc.name);
			goto out;
		}
		isolation_rules(&b, s, c, ifc.name);
	}
	if (b.oom) {
		r = cni_error_oom(err);
		goto out;
	}
	if (strcmp(b.s, "*filter\n") != 0) {
		sb_printf(&b, "COMMIT\n");
		r = b.oom ? cni_error_oom(err)
			  : cni_iptables_restore(family, b.s, err);
		/* a failed run may still have committed the batch (the tool exited 0 while
		 * our I/O with it failed): the undo batch is kept either way */
		if (!b.oom) {
			sbuf u = {0};
			undo_batch(&u, b.s + strlen("*filter\n"));
			if (u.oom)
				free(u.s); /* no way back then, as before */
			else
				*undo = u.s;
		}
	}
out:
	free(b.s);
	cni_ipt_dump_free(s);
	cni_strv_free(ips);
	return r;
}

/* -D lines for the given addresses' rules that exist. Returns how many were not found. */
static size_t del_ip_rules(sbuf *b, const cni_ipt_dump *s, char *const *ips)
{
	size_t missing = 0;
	char in[256], out[256], line[300];
	for (size_t i = 0; ips && ips[i]; i++) {
		ip_rules(ips[i], in, sizeof(in), out, sizeof(out));
		const char *rules[] = {in, out};
		for (size_t k = 0; k < 2; k++) {
			snprintf(line, sizeof(line), "-A " FWD_CHAIN " %s", rules[k]);
			char del[300];
			snprintf(del, sizeof(del), "-D " FWD_CHAIN " %s", rules[k]);
			if (!cni_ipt_dump_has_line(s, line))
				missing++;
			else if (!in_batch(b, del))
				sb_printf(b, "%s\n", del);
		}
	}
	return missing;
}

/*
 * Rules not in the dump are gone, unless the dump was cut short: iptables-nft's save can
 * exit 0 without a chain's rules, or without any output, when a request of its own fails.
 * nf_tables is asked how many rules CNI-FORWARD has; more than the dump shows means
 * they may still be there, and the DEL must fail rather than report success.
 */
static int dump_complete(int family, const cni_ipt_dump *s, cni_error **err)
{
	const char *chain;
	size_t shown = 0;
	for (size_t i = 0; i < cni_ipt_dump_line_count(s); i++)
		if (cni_ipt_dump_rule(s, i, &chain, NULL, NULL) && strcmp(chain, FWD_CHAIN) == 0)
			shown++;
	int n = cni_iptables_nft_rule_count(family, "filter", FWD_CHAIN);
	if (n > 0 && (size_t)n > shown)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "%s showed %zu rule(s) of %s where nf_tables has %d: the "
				     "container's rules may still be there",
				     family == AF_INET6 ? "ip6tables-save" : "iptables-save", shown,
				     FWD_CHAIN, n);
	return 0;
}

static int del_family(int family, char *const *ips, cni_error **err)
{
	cni_ipt_dump *s = NULL;
	sbuf b = {0};
	int r;
	if (!ips || !ips[0])
		return 0;
	if ((r = cni_ipt_dump_read(family, "filter", &s, err)) < 0)
		return r;
	sb_printf(&b, "*filter\n");
	if (del_ip_rules(&b, s, ips) > 0 && (r = dump_complete(family, s, err)) < 0)
		goto out;
	if (b.oom)
		r = cni_error_oom(err);
	else if (strcmp(b.s, "*filter\n") != 0) {
		sb_printf(&b, "COMMIT\n");
		r = cni_iptables_restore(family, b.s, err);
	}
out:
	free(b.s);
	cni_ipt_dump_free(s);
	return r;
}

/* ---- the attachment index for GC ---- */
/*
 * A name as one path component: itself, or when too long for a file name (with room for
 * ".tmp") a hash of it. The index files say which attachment they are, so a hashed name
 * loses nothing.
 */
static void index_component(const char *name, char *out, size_t outlen)
{
	if (strlen(name) + 4 <= NAME_MAX && strlen(name) < outlen)
		snprintf(out, outlen, "%s", name);
	else
		cni_format_hash("sha512-", name, 71, out, outlen);
}

static char *index_dir(const fw_conf *c)
{
	char net[NAME_MAX + 1];
	index_component(c->name, net, sizeof(net));
	size_t l = strlen(c->data_dir) + strlen(net) + 2;
	char *p = malloc(l);
	if (p)
		snprintf(p, l, "%s/%s", c->data_dir, net);
	return p;
}

static char *index_path(const fw_conf *c, const char *cid, const char *ifname)
{
	char *dir = index_dir(c), *id = NULL, file[NAME_MAX + 1], *p = NULL;
	if (dir && asprintf(&id, "%s-%s", cid, ifname) >= 0) {
		index_component(id, file, sizeof(file));
		if (asprintf(&p, "%s/%s", dir, file) < 0)
			p = NULL;
	}
	free(id);
	free(dir);
	return p;
}

static int index_write(const fw_conf *c, const cni_cmd_args *a, const cni_result *prev,
		       cni_error **err)
{
	char *dir = index_dir(c), *path = index_path(c, a->container_id, a->ifname), *text = NULL;
	size_t len = 0;
	int r = 0;
	if (!dir || !path)
		goto oom;
	/* names come from the runtime's validated ids, but never let them leave dataDir */
	if (!cni_valid_name(c->name) || strchr(a->container_id, '/') || strchr(a->ifname, '/'))
		goto out;
	if ((r = cni_mkdir_p(dir, 0700, err)) < 0)
		goto out;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		goto oom;
	fprintf(f, "%s\n%s\n", a->container_id, a->ifname);
	for (int fam = 0; fam < 2; fam++) {
		char **ips = result_addresses(prev, fam ? AF_INET6 : AF_INET);
		for (size_t i = 0; ips && ips[i]; i++)
			fprintf(f, "%s\n", ips[i]);
		cni_strv_free(ips);
	}
	if (fclose(f) != 0)
		goto oom;
	r = cni_file_write_atomic(path, text, len, 0600, 0, err);
	goto out;
oom:
	r = cni_error_oom(err);
out:
	free(text);
	free(dir);
	free(path);
	return r;
}

/* An index file: container id, ifname, addresses (by family). */
typedef struct indexed {
	char *cid, *ifname;
	char **ips[2];
	char *path;
} indexed;

static void indexed_clear(indexed *x)
{
	free(x->cid);
	free(x->ifname);
	cni_strv_free(x->ips[0]);
	cni_strv_free(x->ips[1]);
	free(x->path);
	memset(x, 0, sizeof(*x));
}

static int index_read(const char *path, indexed *x)
{
	char line[256];
	size_t n[2] = {0, 0};
	memset(x, 0, sizeof(*x));
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	x->path = strdup(path);
	for (int i = 0; fgets(line, sizeof(line), f); i++) {
		line[strcspn(line, "\n")] = '\0';
		if (i == 0) {
			x->cid = strdup(line);
			continue;
		}
		if (i == 1) {
			x->ifname = strdup(line);
			continue;
		}
		int fam = strchr(line, ':') ? 1 : 0;
		char **nv = realloc(x->ips[fam], (n[fam] + 2) * sizeof(char *));
		if (!nv)
			break;
		x->ips[fam] = nv;
		nv[n[fam]++] = strdup(line);
		nv[n[fam]] = NULL;
	}
	fclose(f);
	return x->cid && x->ifname && x->path ? 0 : -EINVAL;
}

/* ---- verbs ---- */
static int load_prev(const cni_cmd_args *a, cni_result **prev, cni_error **err)
{
	cni_conf *conf = NULL;
	int r = cni_conf_from_bytes(&conf, a->stdin_data, a->stdin_len, err);
	if (r < 0)
		return r;
	r = cni_conf_prev_result(conf, prev, err);
	cni_conf_free(conf);
	return r;
}

/* What ADD and CHECK start with: the config, the prevResult they require, and iptables
 * at hand. On failure nothing is held. */
static int begin(const cni_cmd_args *a, fw_conf *c, cni_result **prev, cni_error **err)
{
	int r;

	*prev = NULL;
	if ((r = parse_conf(a, c, err)) < 0)
		return r;
	r = load_prev(a, prev, err);
	if (r == 0 && !*prev)
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "missing prevResult from earlier plugin");
	if (r == 0)
		r = use_iptables(c, false, err);
	if (r >= 0)
		return 0;
	cni_result_free(*prev);
	*prev = NULL;
	fw_conf_clear(c);
	return r;
}

static int cmd_add(const cni_cmd_args *a, cni_result **result, cni_error **err, void *ud)
{
	cni_result *prev = NULL;
	char *undo[2] = {NULL, NULL};
	fw_conf c;
	int r;

	if ((r = begin(a, &c, &prev, err)) < 0)
		return r;
	for (int f = 0; f < 2 && r >= 0; f++)
		r = add_family(&c, prev, f ? AF_INET6 : AF_INET, &undo[f], err);
	if (r >= 0)
		r = index_write(&c, a, prev, err);
	if (r >= 0) {
		*result = prev;
		prev = NULL;
		r = 0;
	}
	/* a failed ADD takes back what it added: the runtime may never call DEL */
	for (int f = 0; f < 2; f++) {
		if (r < 0 && undo[f])
			cni_iptables_restore(f ? AF_INET6 : AF_INET, undo[f], NULL);
		free(undo[f]);
	}
	cni_result_free(prev);
	fw_conf_clear(&c);
	return r;
}

static int cmd_del(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cni_result *prev = NULL;
	indexed x = {0};
	fw_conf c;
	int r;

	if ((r = parse_conf(a, &c, err)) < 0)
		return r;
	if ((r = load_prev(a, &prev, err)) < 0)
		goto out;
	if ((r = use_iptables(&c, true, err)) <= 0)
		goto out;
	char *path = index_path(&c, a->container_id, a->ifname);
	bool indexed_ok = path && index_read(path, &x) == 0;
	r = 0;
	for (int f = 0; f < 2 && r == 0; f++) {
		int family = f ? AF_INET6 : AF_INET;
		/* prevResult's addresses, else (no prevResult) the ones ADD recorded */
		char **ips = prev ? result_addresses(prev, family) : NULL;
		r = del_family(family, prev ? ips : (indexed_ok ? x.ips[f] : NULL), err);
		cni_strv_free(ips);
	}
	if (r == 0 && path)
		r = cni_file_remove(path, err);
	free(path);
out:
	indexed_clear(&x);
	cni_result_free(prev);
	fw_conf_clear(&c);
	return r;
}

static int check_family(const fw_conf *c, const cni_result *prev, int family, cni_error **err)
{
	char **ips = result_addresses(prev, family);
	char line[512], in[256], out[256];
	cni_ipt_dump *s = NULL;
	int r;
	if (!ips || !ips[0]) {
		cni_strv_free(ips);
		return 0;
	}
	if ((r = cni_ipt_dump_read(family, "filter", &s, err)) < 0) {
		cni_strv_free(ips);
		return r;
	}
	if (!cni_ipt_dump_has_line(s,
			  "-A FORWARD -m comment --comment \"" FWD_COMMENT "\" -j " FWD_CHAIN)) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "expected FORWARD rule -j %s not found", FWD_CHAIN);
		goto out;
	}
	snprintf(line, sizeof(line),
		 "-A " FWD_CHAIN " -m comment --comment \"" ADMIN_COMMENT "\" -j %s",
		 c->admin_chain);
	if (!cni_ipt_dump_has_line(s, line)) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "expected %s rule -j %s not found",
				  FWD_CHAIN, c->admin_chain);
		goto out;
	}
	for (size_t i = 0; ips[i]; i++) {
		ip_rules(ips[i], in, sizeof(in), out, sizeof(out));
		const char *rules[] = {in, out};
		for (size_t k = 0; k < 2; k++) {
			snprintf(line, sizeof(line), "-A " FWD_CHAIN " %s", rules[k]);
			if (!cni_ipt_dump_has_line(s, line)) {
				r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
						  "expected rule \"%s\" not found", rules[k]);
				goto out;
			}
		}
	}
out:
	cni_ipt_dump_free(s);
	cni_strv_free(ips);
	return r;
}

static int cmd_check(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cni_result *prev = NULL;
	fw_conf c;
	int r;

	if ((r = begin(a, &c, &prev, err)) < 0)
		return r;
	for (int f = 0; f < 2 && r == 0; f++)
		r = check_family(&c, prev, f ? AF_INET6 : AF_INET, err);
	cni_result_free(prev);
	fw_conf_clear(&c);
	return r;
}

static bool is_valid(const cni_conf *conf, size_t n, const indexed *x)
{
	for (size_t i = 0; i < n; i++) {
		const char *cid = cni_conf_valid_attachment_container_id(conf, i);
		const char *ifn = cni_conf_valid_attachment_ifname(conf, i);
		if (cid && ifn && !strcmp(cid, x->cid) && !strcmp(ifn, x->ifname))
			return true;
	}
	return false;
}

static bool ip_listed(char *const *v, const char *ip)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], ip))
			return true;
	return false;
}

/*
 * GC: the index names every attachment ADD saw. Stale ones lose their rules, except
 * addresses a valid attachment also holds (an address handed out again).
 */
static int cmd_gc(const cni_cmd_args *a, cni_error **err, void *ud)
{
	cni_conf *conf = NULL;
	indexed *all = NULL;
	size_t n_all = 0, n_valid = 0;
	bool present = false;
	fw_conf c;
	DIR *d = NULL;
	int r;

	if ((r = parse_conf(a, &c, err)) < 0)
		return r;
	if ((r = cni_conf_from_bytes(&conf, a->stdin_data, a->stdin_len, err)) < 0 ||
	    (r = cni_conf_valid_attachments(conf, &n_valid, &present, err)) < 0)
		goto out;
	if (!present || !cni_valid_name(c.name) || (r = use_iptables(&c, true, err)) <= 0)
		goto out;
	r = 0;
	char *dir = index_dir(&c);
	d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp"))
			continue;
		indexed *na = realloc(all, (n_all + 1) * sizeof(indexed));
		if (!na)
			break;
		all = na;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (index_read(path, &all[n_all]) == 0)
			n_all++;
		else
			indexed_clear(&all[n_all]);
	}
	free(dir);
	for (int f = 0; f < 2 && r == 0; f++) {
		size_t cap = 1, k = 0;
		for (size_t i = 0; i < n_all; i++)
			for (size_t j = 0; all[i].ips[f] && all[i].ips[f][j]; j++)
				cap++;
		char **stale = calloc(cap, sizeof(char *));
		if (!stale) {
			r = cni_error_oom(err);
			break;
		}
		for (size_t i = 0; i < n_all; i++) {
			if (is_valid(conf, n_valid, &all[i]))
				continue;
			for (size_t j = 0; all[i].ips[f] && all[i].ips[f][j]; j++) {
				const char *ip = all[i].ips[f][j];
				bool held = false;
				for (size_t v = 0; v < n_all; v++)
					held = held || (is_valid(conf, n_valid, &all[v]) &&
							ip_listed(all[v].ips[f], ip));
				if (!held)
					stale[k++] = (char *)ip;
			}
		}
		if (k > 0) {
			cni_error *e = NULL;
			/* a family whose tables cannot be read holds nothing of ours */
			cni_ipt_dump *probe = NULL;
			if (cni_ipt_dump_read(f ? AF_INET6 : AF_INET, "filter", &probe, &e) == 0) {
				cni_ipt_dump_free(probe);
				r = del_family(f ? AF_INET6 : AF_INET, stale, err);
			}
			cni_error_free(e);
		}
		free(stale);
	}
	for (size_t i = 0; r == 0 && i < n_all; i++)
		if (!is_valid(conf, n_valid, &all[i]))
			cni_file_remove(all[i].path, NULL);
out:
	if (d)
		closedir(d);
	for (size_t i = 0; i < n_all; i++)
		indexed_clear(&all[i]);
	free(all);
	cni_conf_free(conf);
	fw_conf_clear(&c);
	return r;
}

CNI_PLUGIN_MAIN_FROM("CNI firewall plugin libcni-c " LIBCNI_C_VERSION, "0.4.0", .add = cmd_add,
		     .del = cmd_del, .check = cmd_check, .gc = cmd_gc)
