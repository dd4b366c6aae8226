/* SPDX-License-Identifier: Apache-2.0 */
/*
 * portmap's iptables backend: the reference's chains and rules in table nat, written as
 * one iptables-restore batch per family and verb after one iptables-save to see what is
 * already there.
 *
 *   PREROUTING, OUTPUT:  -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
 *   CNI-HOSTPORT-DNAT:   -m comment --comment 'dnat name: "<net>" id: "<cid>"'
 *                        -m multiport -p <proto> --destination-ports <ports> -j CNI-DN-<hash>
 *   CNI-DN-<hash>:       per mapping: mark hairpin (and v4 localhost) traffic, then DNAT
 *   CNI-HOSTPORT-SETMARK -j MARK --set-xmark <bit>/<bit>;
 *   POSTROUTING (first): -j CNI-HOSTPORT-MASQ: -m mark --mark <bit>/<bit> -j MASQUERADE
 *
 * Shared rules are written in iptables-save's own spelling, so that "is it there" is a
 * line comparison; the per-container chain is declared in the batch, which empties it,
 * and then refilled, so a repeated ADD never doubles rules.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm-backend.h"
#include "plugin-util.h"
#include "plugin-buf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define DNAT_CHAIN     "CNI-HOSTPORT-DNAT"
#define SETMARK_CHAIN  "CNI-HOSTPORT-SETMARK"
#define MASQ_CHAIN     "CNI-HOSTPORT-MASQ"
#define OLD_SNAT_CHAIN "CNI-HOSTPORT-SNAT"
#define CHAIN_LEN      29
/* iptables' comment match takes at most 255 characters */
#define COMMENT_MAX 255

/* A token for a restore line: quoted when it is not a plain word. */
static void sb_token(sbuf *b, const char *t)
{
	bool plain = *t != '\0';
	for (const char *p = t; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("-_./:,!=+@[]%", *p)))
			plain = false;
	if (plain) {
		sb_printf(b, " %s", t);
		return;
	}
	sb_printf(b, " \"");
	for (const char *p = t; *p; p++) {
		if (*p == '"' || *p == '\\')
			sb_printf(b, "\\");
		sb_printf(b, "%c", *p);
	}
	sb_printf(b, "\"");
}

/* Split a saved rule into words as the shell would (iptables-save quotes with "..."
 * and escapes " and \ inside). *out is a new NULL-terminated array. */
static char **split_words(const char *line)
{
	size_t cap = 8, n = 0;
	char **w = calloc(cap, sizeof(char *));
	const char *p = line;
	if (!w)
		return NULL;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		size_t len = strlen(p);
		char *tok = malloc(len + 1), *o = tok;
		if (!tok)
			goto fail;
		while (*p && *p != ' ') {
			if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && p[1])
						p++;
					*o++ = *p++;
				}
				if (*p == '"')
					p++;
			} else {
				*o++ = *p++;
			}
		}
		*o = '\0';
		if (n + 2 > cap) {
			char **nw = realloc(w, (cap *= 2) * sizeof(char *));
			if (!nw) {
				free(tok);
				goto fail;
			}
			w = nw;
		}
		w[n++] = tok;
		w[n] = NULL;
	}
	return w;
fail:
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
	return NULL;
}

static void words_free(char **w)
{
	if (!w)
		return;
	for (char **p = w; *p; p++)
		free(*p);
	free(w);
}

/* The value after option opt ("--comment", "-j", ...), or NULL. */
static const char *word_after(char *const *w, const char *opt)
{
	for (size_t i = 0; w[i]; i++)
		if (strcmp(w[i], opt) == 0 && w[i + 1])
			return w[i + 1];
	return NULL;
}

/* The jump target of a saved rule line, compared to target. */
static bool jumps_to(const char *line, const char *target)
{
	size_t tl = strlen(target), ll = strlen(line);
	return ll > tl + 4 && strcmp(line + ll - tl, target) == 0 &&
	       strncmp(line + ll - tl - 4, " -j ", 4) == 0;
}

/* Every rule in the table that jumps to target, as a -D line. */
static void delete_jumps_to(sbuf *b, const cni_ipt_dump *s, const char *target)
{
	const char *t;
	for (size_t i = 0; i < cni_ipt_dump_line_count(s); i++)
		if (cni_ipt_dump_rule(s, i, NULL, &t, NULL) && strcmp(t, target) == 0)
			sb_printf(b, "-D %s\n", cni_ipt_dump_line(s, i) + 3);
}

static int chain_name(const char *network, const char *cid, const char *prefix, char *buf,
		      cni_error **err)
{
	return cni_format_chain_name(network, cid, prefix, buf, CHAIN_LEN + 4) < 0
		   ? cni_error_set(err, CNI_ERR_INTERNAL, NULL, "cannot name chain for %s/%s",
				   network, cid)
		   : 0;
}

static char *dnat_comment(const char *network, const char *cid)
{
	size_t len = strlen(network) + strlen(cid) + 32;
	char *c = malloc(len);
	if (!c)
		return NULL;
	snprintf(c, len, "dnat name: \"%s\" id: \"%s\"", network, cid);
	/* The reference cuts to 253 + "..." (256 characters, which iptables refuses); we cut
	 * to the 255 iptables takes. */
	if (strlen(c) > COMMENT_MAX)
		strcpy(c + COMMENT_MAX - 3, "...");
	return c;
}

static const char *ip_text(const cni_ipaddr *ip, char *buf, size_t len)
{
	return cni_ip_format(ip, buf, len);
}

/* "-s" value as iptables-save prints it: the network, or NULL for 0/0 (not printed). */
static const char *masq_source(const pm_conf *c, int f, char *buf, size_t len)
{
	if (c->masq_all)
		return NULL;
	cni_ipnet net;
	cni_ipnet_network(&c->ip[f], &net);
	return cni_ipnet_format(&net, buf, len);
}

static bool mapping_applies(const pm_mapping *m, int family)
{
	return !(m->has_host_ip || m->host_ip_any) || m->host_ip.family == family;
}

/*
 * The per-container chain's rules in iptables-save's spelling (canonical = true, for
 * CHECK) or in the reference's command-line spelling (for the batch). Both load the same
 * rule.
 */
static void dn_rules(sbuf *b, const pm_conf *c, int family, const char *dn, bool canonical)
{
	int f = pm_fam_idx(family);
	const char *mark = c->ext_mark_chain ? c->ext_mark_chain : SETMARK_CHAIN;
	char cont[64], src[80], dst[96];

	ip_text(&c->ip[f].ip, cont, sizeof(cont));
	for (size_t i = 0; i < c->n_maps; i++) {
		const pm_mapping *m = &c->maps[i];
		char dport[64], hostd[128] = "";
		if (!mapping_applies(m, family))
			continue;
		if (m->has_host_ip) {
			ip_text(&m->host_ip, dst, sizeof(dst));
			if (canonical)
				snprintf(hostd, sizeof(hostd), " -d %s/%d", dst,
					 family == AF_INET ? 32 : 128);
			else
				snprintf(hostd, sizeof(hostd), " -d %s", dst);
		}
		if (canonical)
			snprintf(dport, sizeof(dport), " -p %s -m %s --dport %d", m->proto,
				 m->proto, m->host_port);
		else
			snprintf(dport, sizeof(dport), " -p %s --dport %d", m->proto, m->host_port);
		if (c->snat) {
			const char *s = masq_source(c, f, src, sizeof(src));
			if (canonical)
				sb_printf(b, "-A %s%s%s%s%s -j %s\n", dn, s ? " -s " : "",
					  s ? s : "", hostd, dport, mark);
			else
				sb_printf(b, "-A %s%s%s -s %s -j %s\n", dn, dport, hostd,
					  s ? s : (family == AF_INET ? "0.0.0.0/0" : "::/0"), mark);
			if (family == AF_INET && !c->masq_all) {
				if (canonical)
					sb_printf(b, "-A %s -s 127.0.0.1/32%s%s -j %s\n", dn, hostd,
						  dport, mark);
				else
					sb_printf(b, "-A %s%s%s -s 127.0.0.1 -j %s\n", dn, dport,
						  hostd, mark);
			}
		}
		if (family == AF_INET)
			snprintf(dst, sizeof(dst), "%s:%d", cont, m->container_port);
		else
			snprintf(dst, sizeof(dst), "[%s]:%d", cont, m->container_port);
		if (canonical)
			sb_printf(b, "-A %s%s%s -j DNAT --to-destination %s\n", dn, hostd, dport,
				  dst);
		else
			sb_printf(b, "-A %s%s%s -j DNAT --to-destination %s\n", dn, dport, hostd,
				  dst);
	}
}

/* Protocols in sorted order, each with its host ports in mapping order (all mappings,
 * whatever their hostIP family: the reference's entry rules list them all). */
static const char *const protos_sorted[] = {"sctp", "tcp", "udp"};

/* Calls fn for each multiport group: proto and "p1,p2,..." (at most 15 ports). */
typedef void (*group_fn)(const char *proto, const char *ports, void *ud);
static void for_each_group(const pm_conf *c, group_fn fn, void *ud)
{
	for (size_t p = 0; p < ARRAY_SIZE(protos_sorted); p++) {
		char ports[15 * 6 + 1];
		size_t len = 0;
		int count = 0;
		for (size_t i = 0; i < c->n_maps; i++) {
			if (strcmp(c->maps[i].proto, protos_sorted[p]) != 0)
				continue;
			len += (size_t)snprintf(ports + len, sizeof(ports) - len, "%s%d",
						count ? "," : "", c->maps[i].host_port);
			if (++count == 15) {
				fn(protos_sorted[p], ports, ud);
				len = 0;
				count = 0;
			}
		}
		if (count)
			fn(protos_sorted[p], ports, ud);
	}
}

typedef struct entry_ctx {
	sbuf *b;
	const char *comment;
	const char *dn;
	char *const *cond;
} entry_ctx;

static void add_entry(const char *proto, const char *ports, void *ud)
{
	entry_ctx *e = ud;
	sb_printf(e->b, "-A %s -m comment --comment", DNAT_CHAIN);
	sb_token(e->b, e->comment);
	sb_printf(e->b, " -m multiport -p %s --destination-ports %s", proto, ports);
	for (size_t i = 0; e->cond && e->cond[i]; i++)
		sb_token(e->b, e->cond[i]);
	sb_printf(e->b, " -j %s\n", e->dn);
}

static void mark_value(const pm_conf *c, char *buf, size_t len)
{
	unsigned int v = 1u << c->mark_bit;
	snprintf(buf, len, "0x%x/0x%x", v, v);
}

static int ipt_add(const pm_conf *c, int family, cni_error **err)
{
	char dn[CHAIN_LEN + 4], mark[32], line[256];
	cni_ipt_dump *s = NULL;
	sbuf b = {0};
	int r;

	if ((r = chain_name(c->name, c->container_id, "DN-", dn, err)) < 0)
		return r;
	if ((r = cni_ipt_dump_read(family, "nat", &s, err)) < 0)
		return PC_PREFIXED(r, err, "failed to open iptables");
	char *comment = dnat_comment(c->name, c->container_id);
	if (!comment) {
		cni_ipt_dump_free(s);
		return cni_error_oom(err);
	}

	sb_printf(&b, "*nat\n");
	if (c->snat && !c->ext_mark_chain) {
		mark_value(c, mark, sizeof(mark));
		if (!cni_ipt_dump_has_chain(s, SETMARK_CHAIN))
			sb_printf(&b, ":%s - [0:0]\n", SETMARK_CHAIN);
		snprintf(line, sizeof(line),
			 "-A %s -m comment --comment \"CNI portfwd masquerade mark\" -j MARK "
			 "--set-xmark %s",
			 SETMARK_CHAIN, mark);
		if (!cni_ipt_dump_has_line(s, line))
			sb_printf(&b, "%s\n", line);
		if (!cni_ipt_dump_has_chain(s, MASQ_CHAIN))
			sb_printf(&b, ":%s - [0:0]\n", MASQ_CHAIN);
		snprintf(line, sizeof(line), "-A %s -m mark --mark %s -j MASQUERADE", MASQ_CHAIN,
			 mark);
		if (!cni_ipt_dump_has_line(s, line))
			sb_printf(&b, "%s\n", line);
		/* first in POSTROUTING, ahead of the masquerade rules of bridge and ptp */
		if (!cni_ipt_dump_has_line(s, "-A POSTROUTING -m comment --comment \"CNI portfwd requiring "
				      "masquerade\" -j " MASQ_CHAIN))
			sb_printf(&b,
				  "-I POSTROUTING 1 -m comment --comment \"CNI portfwd requiring "
				  "masquerade\" -j %s\n",
				  MASQ_CHAIN);
	}
	if (!cni_ipt_dump_has_chain(s, DNAT_CHAIN))
		sb_printf(&b, ":%s - [0:0]\n", DNAT_CHAIN);
	for (int i = 0; i < 2; i++) {
		snprintf(line, sizeof(line), "-A %s -m addrtype --dst-type LOCAL -j %s",
			 i ? "OUTPUT" : "PREROUTING", DNAT_CHAIN);
		if (!cni_ipt_dump_has_line(s, line))
			sb_printf(&b, "%s\n", line);
	}
	/* replace this attachment's entry rules and chain content */
	delete_jumps_to(&b, s, dn);
	sb_printf(&b, ":%s - [0:0]\n", dn);
	dn_rules(&b, c, family, dn, false);
	entry_ctx e = {&b, comment, dn, c->cond[pm_fam_idx(family)]};
	for_each_group(c, add_entry, &e);
	sb_printf(&b, "COMMIT\n");

	if (b.oom)
		r = cni_error_oom(err);
	else
		r = cni_iptables_restore(family, b.s, err);
	if (r < 0)
		PC_PREFIX(err, "unable to setup DNAT");
	free(b.s);
	free(comment);
	cni_ipt_dump_free(s);
	return r;
}

typedef struct check_ctx {
	const cni_ipt_dump *s;
	const char *comment;
	const char *dn;
	const char *missing; /* first group not found */
	char missing_buf[160];
} check_ctx;

static void check_entry(const char *proto, const char *ports, void *ud)
{
	check_ctx *k = ud;
	if (k->missing)
		return;
	for (size_t i = 0; i < cni_ipt_dump_line_count(k->s); i++) {
		const char *l = cni_ipt_dump_line(k->s, i);
		if (strncmp(l, "-A " DNAT_CHAIN " ", strlen(DNAT_CHAIN) + 4) != 0 ||
		    !jumps_to(l, k->dn))
			continue;
		char **w = split_words(l);
		bool ok = w && word_after(w, "-p") && strcmp(word_after(w, "-p"), proto) == 0 &&
			  word_after(w, "--comment") &&
			  strcmp(word_after(w, "--comment"), k->comment) == 0 &&
			  word_after(w, "--dports") &&
			  strcmp(word_after(w, "--dports"), ports) == 0;
		words_free(w);
		if (ok)
			return;
	}
	snprintf(k->missing_buf, sizeof(k->missing_buf), "-p %s --dports %s", proto, ports);
	k->missing = k->missing_buf;
}

static int ipt_check(const pm_conf *c, int family, cni_error **err)
{
	char dn[CHAIN_LEN + 4];
	cni_ipt_dump *s = NULL;
	sbuf want = {0};
	int r;

	if ((r = chain_name(c->name, c->container_id, "DN-", dn, err)) < 0)
		return r;
	if ((r = cni_ipt_dump_read(family, "nat", &s, err)) < 0)
		return r;
	const char *fam = family == AF_INET ? "ipv4" : "ipv6";
	if (!cni_ipt_dump_has_chain(s, dn)) {
		r = cni_error_set(
		    err, CNI_ERR_INTERNAL, NULL,
		    "could not check %s dnat: chain %s not found in iptables table nat", fam, dn);
		goto out;
	}
	dn_rules(&want, c, family, dn, true);
	if (want.oom) {
		r = cni_error_oom(err);
		goto out;
	}
	char *save = NULL;
	for (char *l = strtok_r(want.s ? want.s : (char[]){""}, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (!cni_ipt_dump_has_line(s, l)) {
			r = cni_error_set(
			    err, CNI_ERR_INTERNAL, NULL,
			    "could not check %s dnat: rule \"%s\" not found in table nat", fam, l);
			goto out;
		}
	}
	char *comment = dnat_comment(c->name, c->container_id);
	if (!comment) {
		r = cni_error_oom(err);
		goto out;
	}
	check_ctx k = {s, comment, dn, NULL, ""};
	for_each_group(c, check_entry, &k);
	if (k.missing)
		r = cni_error_set(
		    err, CNI_ERR_INTERNAL, NULL,
		    "could not check %s dnat: entry rule %s -j %s not found in chain %s", fam,
		    k.missing, dn, DNAT_CHAIN);
	free(comment);
out:
	free(want.s);
	cni_ipt_dump_free(s);
	return r;
}

/* -D every jump to chain, then flush and delete it, when it exists. */
static void remove_chain(sbuf *b, const cni_ipt_dump *s, const char *chain)
{
	if (!cni_ipt_dump_has_chain(s, chain))
		return;
	delete_jumps_to(b, s, chain);
	sb_printf(b, "-F %s\n-X %s\n", chain, chain);
}

static int apply_if_any(int family, sbuf *b, size_t header_len, cni_error **err)
{
	if (b->oom)
		return cni_error_oom(err);
	if (b->len == header_len)
		return 0; /* nothing of ours here: no exec */
	sb_printf(b, "COMMIT\n");
	if (b->oom)
		return cni_error_oom(err);
	return cni_iptables_restore(family, b->s, err);
}

static int ipt_del(const char *network, const char *container_id, bool required, cni_error **err)
{
	char dn[CHAIN_LEN + 4], sn[CHAIN_LEN + 4];
	cni_error *ferr[2] = {NULL, NULL};
	int r;

	if ((r = chain_name(network, container_id, "DN-", dn, err)) < 0 ||
	    (r = chain_name(network, container_id, "SN-", sn, err)) < 0)
		return r;
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		cni_ipt_dump *s = NULL;
		sbuf b = {0};
		/* iptables-nft: the same removal as one nf_tables transaction of our own (nothing
		 * at all when neither chain is there), no exec. Not when the backend was asked
		 * for: then a missing iptables is still the answer. */
		if (!required && cni_iptables_nft_remove_chains(
				     family, "nat", (const char *const[]){dn, sn, NULL}))
			continue;
		const char *const chains[] = {dn, sn, NULL};
		/* a family whose tables cannot be read has nothing of ours (the reference's
		 * answer), unless the tool is there and nf_tables shows it has */
		if (cni_ipt_dump_read(family, "nat", &s, &ferr[f]) < 0) {
			if (cni_error_code(ferr[f]) != CNI_ERR_PLUGIN_NOT_AVAILABLE &&
			    (r = cni_iptables_nft_confirm_gone(family, "nat", chains,
							       cni_error_msg(ferr[f]), err)) < 0) {
				PC_PREFIX(err, "could not teardown ipv%d dnat", f ? 6 : 4);
				goto out;
			}
			continue;
		}
		sb_printf(&b, "*nat\n");
		size_t hdr = b.len;
		remove_chain(&b, s, dn);
		/* left by old versions of the reference */
		remove_chain(&b, s, sn);
		r = b.len == hdr && !b.oom
			? cni_iptables_nft_confirm_gone(family, "nat", chains, NULL, err)
			: apply_if_any(family, &b, hdr, err);
		if (r < 0)
			PC_PREFIX(err, "could not teardown ipv%d dnat", f ? 6 : 4);
		free(b.s);
		cni_ipt_dump_free(s);
		if (r < 0)
			goto out;
	}
	if (ferr[0] && ferr[1] && required)
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "neither iptables nor ip6tables usable: %s; %s",
				  cni_error_msg(ferr[0]), cni_error_msg(ferr[1]));
out:
	cni_error_free(ferr[0]);
	cni_error_free(ferr[1]);
	return r;
}

static bool attachment_valid(const cni_conf *conf, size_t n, const char *cid)
{
	for (size_t i = 0; i < n; i++) {
		const char *v = cni_conf_valid_attachment_container_id(conf, i);
		if (v && strcmp(v, cid) == 0)
			return true;
	}
	return false;
}

/*
 * GC: the entry rules in CNI-HOSTPORT-DNAT name their attachment in their comment
 * (`dnat name: "<net>" id: "<cid>"`). Chains of this network whose container is not
 * among the valid attachments go, with every jump to them. The chain is per (network,
 * container), so any valid attachment of the container keeps it.
 */
static int ipt_gc(const char *network, const cni_conf *conf, cni_error **err)
{
	size_t n_valid = 0;
	bool present = false;
	int r;

	if ((r = cni_conf_valid_attachments(conf, &n_valid, &present, err)) < 0)
		return r;
	if (!present)
		return 0; /* without the list nothing can be judged stale */
	size_t plen = strlen(network) + 32;
	char *prefix = malloc(plen);
	if (!prefix)
		return cni_error_oom(err);
	snprintf(prefix, plen, "dnat name: \"%s\" id: \"", network);

	for (int f = 0; f < 2 && r == 0; f++) {
		int family = f ? AF_INET6 : AF_INET;
		cni_ipt_dump *s = NULL;
		sbuf b = {0};
		cni_error *e = NULL;
		if (cni_ipt_dump_read(family, "nat", &s, &e) < 0) {
			cni_error_free(e);
			continue;
		}
		sb_printf(&b, "*nat\n");
		size_t hdr = b.len;
		/* chains already scheduled for removal, so each goes once */
		char **gone = calloc(cni_ipt_dump_line_count(s) + 1, sizeof(char *));
		size_t n_gone = 0;
		for (size_t i = 0; gone && i < cni_ipt_dump_line_count(s); i++) {
			const char *l = cni_ipt_dump_line(s, i);
			if (strncmp(l, "-A " DNAT_CHAIN " ", strlen(DNAT_CHAIN) + 4) != 0)
				continue;
			char **w = split_words(l);
			const char *cm = w ? word_after(w, "--comment") : NULL;
			const char *target = w ? word_after(w, "-j") : NULL;
			size_t pl = strlen(prefix), cl = cm ? strlen(cm) : 0;
			if (cm && target && strncmp(target, "CNI-DN-", 7) == 0 &&
			    strncmp(cm, prefix, pl) == 0 && cl > pl + 1 && cm[cl - 1] == '"') {
				char *cid = strndup(cm + pl, cl - pl - 1);
				bool dup = false;
				for (size_t k = 0; k < n_gone; k++)
					dup = dup || strcmp(gone[k], target) == 0;
				if (cid && !dup && !attachment_valid(conf, n_valid, cid)) {
					remove_chain(&b, s, target);
					gone[n_gone++] = strdup(target);
				}
				free(cid);
			}
			words_free(w);
		}
		for (size_t k = 0; k < n_gone; k++)
			free(gone[k]);
		if (!gone)
			b.oom = true;
		free(gone);
		r = apply_if_any(family, &b, hdr, err);
		free(b.s);
		cni_ipt_dump_free(s);
	}
	free(prefix);
	return r;
}

const pm_backend_ops pm_iptables_ops = {
    .name = "iptables",
    .add = ipt_add,
    .check = ipt_check,
    .del = ipt_del,
    .gc = ipt_gc,
};
