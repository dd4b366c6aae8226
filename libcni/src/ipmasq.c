/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP masquerade with the reference's rules, so that either implementation can remove
 * what the other one created.
 *
 * iptables: one `iptables-restore --noflush` per family and operation, fed a generated
 * batch, so each change is atomic (a failing batch changes nothing). Current state comes
 * from `iptables-save -t nat`; rules are recognised by chain name and comment, never by
 * address, so teardown works after the container's namespace is gone. A new attachment's
 * setup needs no state: its batch creates the chain (-N), which fails as a whole when the
 * chain exists, and only then is the table read. Each exec costs a process start (a
 * millisecond or two), so setup is usually one exec, and teardown reads both families'
 * tables side by side while the nftables part runs in this process. Where iptables is
 * iptables-nft, teardown needs no tool at all: the chain and the jumps to it go in one
 * nf_tables transaction of ours (cni_iptables_nft_remove_chains()); and an nftables
 * without our table is not read (cni_nft_table_may_exist(), one netlink query).
 *
 * nftables: libnftables in-process, one transaction per operation (the reference execs
 * nft(8) through knftables). Rules are recognised by the hash prefix of their comment.
 *
 * Everything acts in the calling thread's network namespace: posix_spawn() children
 * inherit it, and libnftables opens its netlink socket from this thread.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "internal.h"
#include "spawn-internal.h"
#include "nft-dl.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"


#define NFT_TABLE	"cni_plugins_masquerade"
#define NFT_CHAIN	"masq_checks"
#define NFT_COMMENT_MAX 128
#define HASH16		16
/* a batch that lost a race with another writer (rule gone, chain busy) is rebuilt */
#define MAX_ATTEMPTS 3

/* The outcome of an operation that kept its error in e (taken): handed to err on failure. */
static int hand_over(int r, cni_error *e, cni_error **err)
{
	if (r < 0 && err) {
		*err = e;
		return r;
	}
	cni_error_free(e);
	return r < 0 ? r : 0;
}

/* One attempt: read the current state and write the batch for it (empty: nothing to do). */
typedef int (*attempt_fn)(cni_buf *b, const void *ctx, cni_error **err);
/* Apply a batch as one transaction. */
typedef int (*commit_fn)(const char *batch, const void *ctx, cni_error **err);

/*
 * Build a batch from fresh state and commit it; a batch that lost a race is built again,
 * up to MAX_ATTEMPTS times. The last attempt's error is the answer.
 */
static int retry_batch(attempt_fn attempt, commit_fn commit, const void *ctx, cni_error **err)
{
	cni_error *last = NULL;
	int r = 0;
	for (int i = 0; i < MAX_ATTEMPTS; i++) {
		cni_buf b = CNI_BUF_INIT;
		cni_error_free(last);
		last = NULL;
		r = attempt(&b, ctx, &last);
		if (r < 0 || b.len == 0) {
			cni_buf_free(&b);
			break;
		}
		_cleanup_free_ char *batch = cni_buf_steal(&b);
		if (!batch) {
			r = cni_error_oom(&last);
			break;
		}
		if ((r = commit(batch, ctx, &last)) == 0)
			break;
	}
	return hand_over(r, last, err);
}

int cni_ipmasq_backend_parse(const char *s, cni_ipmasq_backend *out, cni_error **err)
{
	if (isempty(s))
		*out = CNI_IPMASQ_AUTO;
	else if (streq(s, "iptables"))
		*out = CNI_IPMASQ_IPTABLES;
	else if (streq(s, "nftables"))
		*out = CNI_IPMASQ_NFTABLES;
	else
		return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				     "unknown ipmasq backend \"%s\"", s);
	return 0;
}

/* ------------------------------------------------------------------------------------ */
/* running iptables-save / iptables-restore                                             */

/* Absolute path of tool from $PATH (a default when unset); NULL when absent. */
static char *find_tool(const char *tool)
{
	const char *path = getenv("PATH");
	return cni_find_in_dirs(tool, isempty(path) ? CNI_DEFAULT_PATH : path);
}

/* Output of a tool is a firewall dump: bounded so a runaway process cannot eat memory. */
#define TOOL_MAX_OUTPUT (256u * 1024u * 1024u)

/* A tool started by tool_start() (spawn.c, stdio on files), collected by tool_finish(). */
typedef struct tool_run {
	cni_spawn_proc *proc;
	char *path;
} tool_run;

#define TOOL_RUN_INIT {NULL, NULL}

static void tool_run_abandon(tool_run *t)
{
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	if (t->proc)
		cni_spawn_wait(t->proc, &res);
	cni_spawn_result_free(&res);
	free(t->path);
	*t = (tool_run)TOOL_RUN_INIT;
}

/*
 * Start tool (searched in $PATH) with args and input on stdin, its stdout and stderr
 * going to one file, without waiting for it: callers with several tools to run let them
 * run side by side. A missing tool is -CNI_ERR_NOT_FOUND.
 */
static int tool_start(const char *tool, const char *const *args, const char *input, tool_run *t,
		      cni_error **err)
{
	const cni_spawn_opts o = {
	    .in = input,
	    .in_len = input ? strlen(input) : 0,
	    .max_out = TOOL_MAX_OUTPUT,
	    .merge_err = true,
	    .in_all_read = input != NULL,
	};
	char *argv[8];
	size_t argc = 0;

	*t = (tool_run)TOOL_RUN_INIT;
	if (!(t->path = find_tool(tool)))
		return cni_error_set(err, CNI_ERR_NOT_FOUND, NULL, "%s not found in $PATH", tool);
	argv[argc++] = t->path;
	for (size_t i = 0; args[i] && argc < ARRAY_SIZE(argv) - 1; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	int r = cni_spawn_start(argv, NULL, &o, &t->proc, NULL);
	if (r < 0) {
		t->proc = NULL;
		r = cni_error_set(err, CNI_ERR_SYSTEM, NULL, "failed to run %s: %s", t->path,
				  strerror(-r));
		tool_run_abandon(t);
	}
	return r;
}

/* Wait for a started tool; *output gets stdout and stderr together, *status the exit
 * status (-1: killed by a signal). */
static int tool_finish(tool_run *t, char **output, int *status, cni_error **err)
{
	cni_spawn_result res = CNI_SPAWN_RESULT_INIT;
	int r = cni_spawn_wait(t->proc, &res);
	t->proc = NULL;
	if (r == 0 && res.end == CNI_SPAWN_OVERFLOW)
		r = -EFBIG;
	if (r < 0)
		r = cni_error_set(err, CNI_ERR_SYSTEM, NULL, "%s: %s", t->path, strerror(-r));
	else if (res.in_unread && WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0)
		/* it read part of its input as all of it (a failed read taken for its end) */
		r = cni_error_set(err, CNI_ERR_SYSTEM, NULL,
				  "%s exited 0 without reading its whole input", t->path);
	else if (!(*output = cni_buf_steal(&res.out)))
		r = cni_error_oom(err);
	else
		*status = WIFEXITED(res.status) ? WEXITSTATUS(res.status) : -1;
	cni_spawn_result_free(&res);
	tool_run_abandon(t);
	return r;
}

/* Run tool to its end: tool_start() and tool_finish(). */
static int run_tool(const char *tool, const char *const *args, const char *input, char **output,
		    int *status, cni_error **err)
{
	tool_run t;
	int r = tool_start(tool, args, input, &t, err);
	return r < 0 ? r : tool_finish(&t, output, status, err);
}

/* ------------------------------------------------------------------------------------ */
/* string lists                                                                         */

static bool strv_has(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (streq(v[i], s))
			return true;
	return false;
}

typedef struct ipt_family {
	int family;
	const char *save;
	const char *restore;
	const char *multicast;
	int host_bits;
} ipt_family;

static const ipt_family ipt_families[] = {
    {AF_INET, "iptables-save", "iptables-restore", "224.0.0.0/4", 32},
    {AF_INET6, "ip6tables-save", "ip6tables-restore", "ff00::/8", 128},
};

/* Start reading the nat table of a family (ipt_load_finish() collects it).
 * -CNI_ERR_NOT_FOUND when the tools are absent: that family's iptables is not usable. */
static int ipt_load_start(const ipt_family *f, tool_run *t)
{
	static const char *const args[] = {"-t", "nat", NULL};
	_cleanup_free_ char *restore = find_tool(f->restore);

	*t = (tool_run)TOOL_RUN_INIT;
	if (!restore || tool_start(f->save, args, NULL, t, NULL) < 0)
		return -CNI_ERR_NOT_FOUND;
	return 0;
}

/* -CNI_ERR_NOT_FOUND (no *err) when the table cannot be read. */
static int ipt_load_finish(tool_run *t, cni_ipt_dump **st, cni_error **err)
{
	_cleanup_free_ char *out = NULL;
	int status = 0;
	int r = tool_finish(t, &out, &status, NULL);
	if (r < 0 || status != 0)
		return -CNI_ERR_NOT_FOUND;
	return cni_ipt_dump_parse(out, "nat", st, err);
}

/* Current nat table of a family. -CNI_ERR_NOT_FOUND (no *err) when the tools are absent
 * or cannot read the table: that family's iptables is not usable here. */
static int ipt_load(const ipt_family *f, cni_ipt_dump **st, cni_error **err)
{
	tool_run t;
	int r = ipt_load_start(f, &t);
	return r < 0 ? r : ipt_load_finish(&t, st, err);
}

static int ipt_restore(const ipt_family *f, const char *batch, cni_error **err)
{
	static const char *const args[] = {"-w", "5", "--noflush", NULL};
	_cleanup_free_ char *out = NULL;
	int status = 0;
	int r = run_tool(f->restore, args, batch, &out, &status, err);
	if (r < 0)
		return r;
	if (status != 0) {
		size_t n = strlen(out);
		while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
			out[--n] = '\0';
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "%s failed (exit %d): %s",
				     f->restore, status, out);
	}
	return 0;
}

/* Append s as an iptables-restore token: double quotes, \" and \\ escaped. */
static int buf_ipt_quote(cni_buf *b, const char *s)
{
	int r = cni_buf_puts(b, "\"");
	for (; r == 0 && *s; s++) {
		if (*s == '"' || *s == '\\')
			r = cni_buf_puts(b, "\\");
		if (r == 0)
			r = cni_buf_append(b, s, 1);
	}
	return r ? r : cni_buf_puts(b, "\"");
}

/* Lines that remove chain (jumps to it from anywhere, then its rules, then itself). */
static int ipt_remove_chain(cni_buf *b, const cni_ipt_dump *st, const char *chain)
{
	const char *in, *target;
	int r = 0;
	if (!cni_ipt_dump_has_chain(st, chain))
		return 0;
	for (size_t i = 0; r == 0 && i < cni_ipt_dump_line_count(st); i++)
		if (cni_ipt_dump_rule(st, i, &in, &target, NULL) && streq(target, chain) &&
		    !streq(in, chain))
			r = cni_buf_printf(b, "-D %s\n", cni_ipt_dump_line(st, i) + 3);
	if (r == 0)
		r = cni_buf_printf(b, "-F %s\n-X %s\n", chain, chain);
	return r;
}

/* ------------------------------------------------------------------------------------ */
/* iptables backend                                                                     */

typedef struct masq_ctx {
	const char *network;
	const char *ifname;
	const char *container_id;
	cni_ipnet *addrs;
	size_t n_addrs;
} masq_ctx;

static bool ipt_usable(void)
{
	cni_ipt_dump *st = NULL;
	if (ipt_load(&ipt_families[0], &st, NULL) < 0)
		return false;
	cni_ipt_dump_free(st);
	return true;
}

/* The rule texts exactly as iptables-save prints them (after "-A <chain> "). */
static int ipt_accept_spec(cni_buf *b, const cni_ipnet *a, const char *qcomment, const char *chain)
{
	char txt[CNI_IPNET_STRLEN];
	cni_ipnet net;
	cni_ipnet_network(a, &net);
	return cni_buf_printf(b, "-A %s -d %s -m comment --comment %s -j ACCEPT", chain,
			      cni_ipnet_format(&net, txt, sizeof(txt)), qcomment);
}

static int ipt_jump_spec(cni_buf *b, const ipt_family *f, const cni_ipnet *a, const char *qcomment,
			 const char *chain)
{
	char txt[CNI_IP_STRLEN];
	return cni_buf_printf(b, "-A POSTROUTING -s %s/%d -m comment --comment %s -j %s",
			      cni_ip_format(&a->ip, txt, sizeof(txt)), f->host_bits, qcomment,
			      chain);
}

/*
 * Batch that makes the chain hold: every ACCEPT it already has plus one per new subnet,
 * then the MASQUERADE rule; and a POSTROUTING jump per address that has none yet. The
 * chain is rewritten (":chain" flushes it under --noflush) so that ACCEPTs always come
 * before MASQUERADE and nothing is doubled.
 */
typedef struct ipt_setup_args {
	const masq_ctx *m;
	const char *chain;
	const char *qcomment;
	bool create; /* "-N chain": the batch fails, changing nothing, when the chain exists */
} ipt_setup_args;

static int ipt_setup_batch(cni_buf *b, const ipt_family *f, const cni_ipt_dump *st,
			   const void *ud)
{
	const ipt_setup_args *a = ud;
	const masq_ctx *m = a->m;
	const char *chain = a->chain, *qcomment = a->qcomment;
	cni_buf line = CNI_BUF_INIT;
	char **accepts = NULL, **jumps = NULL;
	int r = 0;

	/* existing ACCEPTs of our chain, in order */
	for (size_t i = 0; r == 0 && i < cni_ipt_dump_line_count(st); i++) {
		const char *in, *target, *l = cni_ipt_dump_line(st, i);
		if (cni_ipt_dump_rule(st, i, &in, &target, NULL) && streq(in, chain) &&
		    streq(target, "ACCEPT") && !strv_has(accepts, l))
			r = cni_strv_push(&accepts, l);
	}
	for (size_t i = 0; r == 0 && i < m->n_addrs; i++) {
		if (m->addrs[i].ip.family != f->family)
			continue;
		line.len = 0;
		if ((r = ipt_accept_spec(&line, &m->addrs[i], qcomment, chain)) == 0 &&
		    !strv_has(accepts, line.data))
			r = cni_strv_push(&accepts, line.data);
	}
	if (r == 0)
		r = cni_buf_printf(b, a->create ? "*nat\n-N %s\n" : "*nat\n:%s - [0:0]\n", chain);
	for (size_t i = 0; r == 0 && accepts && accepts[i]; i++)
		r = cni_buf_printf(b, "%s\n", accepts[i]);
	if (r == 0)
		r = cni_buf_printf(b, "-A %s ! -d %s -m comment --comment %s -j MASQUERADE\n",
				   chain, f->multicast, qcomment);
	for (size_t i = 0; r == 0 && i < m->n_addrs; i++) {
		if (m->addrs[i].ip.family != f->family)
			continue;
		line.len = 0;
		/* skip jumps that exist, and an address given twice */
		if ((r = ipt_jump_spec(&line, f, &m->addrs[i], qcomment, chain)) == 0 &&
		    !cni_ipt_dump_has_line(st, line.data) && !strv_has(jumps, line.data) &&
		    (r = cni_strv_push(&jumps, line.data)) == 0)
			r = cni_buf_printf(b, "%s\n", line.data);
	}
	if (r == 0)
		r = cni_buf_puts(b, "COMMIT\n");
	cni_strv_free(accepts);
	cni_strv_free(jumps);
	cni_buf_free(&line);
	return r < 0 ? -CNI_ERR_NOMEM : 0;
}

/* The lines that remove the chains named in ud (a NULL-terminated list) that exist. */
static int ipt_remove_batch(cni_buf *b, const ipt_family *f, const cni_ipt_dump *st,
			    const void *ud)
{
	char *const *remove = ud;
	int r = cni_buf_puts(b, "*nat\n");
	size_t head = b->len;
	for (size_t i = 0; r == 0 && remove && remove[i]; i++)
		r = ipt_remove_chain(b, st, remove[i]);
	if (r == 0 && b->len == head) {
		cni_buf_free(b); /* none of them is there: nothing to do */
		return 0;
	}
	return r ? r : cni_buf_puts(b, "COMMIT\n");
}

/* Writes family f's batch from its current nat table; an empty one means nothing to do. */
typedef int (*ipt_batch_fn)(cni_buf *b, const ipt_family *f, const cni_ipt_dump *st,
			    const void *ud);

typedef struct ipt_op {
	const ipt_family *f;
	bool required; /* iptables not usable for f is an error (else: nothing to do) */
	ipt_batch_fn build;
	const void *ud;
} ipt_op;

/* err is the attempt's own error: set by ipt_load() when it failed with a reason. */
static int ipt_attempt(cni_buf *b, const void *ctx, cni_error **err)
{
	const ipt_op *op = ctx;
	cni_ipt_dump *st = NULL;
	int r = ipt_load(op->f, &st, err);
	if (r == -CNI_ERR_NOT_FOUND && !*err) {
		if (!op->required)
			return 0; /* nothing of ours can be there */
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
				     "failed to locate iptables: %s or %s not usable", op->f->save,
				     op->f->restore);
	}
	if (r < 0)
		return r;
	r = op->build(b, op->f, st, op->ud);
	cni_ipt_dump_free(st);
	return r < 0 ? cni_error_oom(err) : 0;
}

static int ipt_commit(const char *batch, const void *ctx, cni_error **err)
{
	const ipt_op *op = ctx;
	return ipt_restore(op->f, batch, err);
}

/* Load f's nat table, build a batch from it and restore that (retrying lost races). */
static int ipt_apply(const ipt_family *f, bool required, ipt_batch_fn build, const void *ud,
		     cni_error **err)
{
	const ipt_op op = {f, required, build, ud};
	return retry_batch(ipt_attempt, ipt_commit, &op, err);
}

/*
 * The common case in one exec: the chain does not exist yet (a new attachment), so
 * nothing can jump to it and it holds nothing to keep, and the batch needs no
 * iptables-save first. A chain that exists fails the batch as a whole; then (and when
 * iptables is not usable at all) false, and the caller goes the long way.
 */
static bool ipt_setup_fast(const ipt_family *f, const ipt_setup_args *a)
{
	ipt_setup_args create = *a;
	cni_buf b = CNI_BUF_INIT;

	create.create = true;
	if (ipt_setup_batch(&b, f, NULL, &create) < 0) {
		cni_buf_free(&b);
		return false;
	}
	_cleanup_free_ char *batch = cni_buf_steal(&b);
	return batch && ipt_restore(f, batch, NULL) == 0;
}

/*
 * Masquerade m's addresses, family by family. fast_only: only what ipt_setup_fast() can do,
 * and -CNI_ERR_NOT_FOUND (no *err) unless it did all of it; else a family it could not do
 * is read from iptables-save and written with retries.
 */
static int ipt_setup(const masq_ctx *m, bool fast_only, cni_error **err)
{
	char chain[32];
	_cleanup_free_ char *comment = cni_format_comment(m->network, m->container_id);
	cni_buf qc = CNI_BUF_INIT;
	int r;

	if (!comment || buf_ipt_quote(&qc, comment) < 0) {
		cni_buf_free(&qc);
		return cni_error_oom(err);
	}
	_cleanup_free_ char *qcomment = cni_buf_steal(&qc);
	if (!qcomment)
		return cni_error_oom(err);
	if ((r = cni_format_chain_name(m->network, m->container_id, "", chain, sizeof(chain))) < 0)
		return cni_error_set(err, -r, NULL, "failed to name the masquerade chain");

	const ipt_setup_args args = {m, chain, qcomment, false};
	for (size_t fi = 0; fi < ARRAY_SIZE(ipt_families); fi++) {
		const ipt_family *f = &ipt_families[fi];
		bool wanted = false;
		for (size_t i = 0; i < m->n_addrs; i++)
			wanted |= m->addrs[i].ip.family == f->family;
		if (!wanted || ipt_setup_fast(f, &args))
			continue;
		if (fast_only)
			return -CNI_ERR_NOT_FOUND;
		if ((r = ipt_apply(f, true, ipt_setup_batch, &args, err)) < 0)
			return r;
	}
	return 0;
}

/* Remove the chains named in remove (a NULL-terminated list), in every family. */
static int ipt_remove_chains(char *const *remove, cni_error **err)
{
	for (size_t fi = 0; fi < ARRAY_SIZE(ipt_families); fi++) {
		int r = ipt_apply(&ipt_families[fi], false, ipt_remove_batch, remove, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * ipt_apply(f, false, ipt_remove_batch, remove) whose first nat table was started by
 * ipt_load_start() (t; NULL: it could not start, iptables is not usable for f).
 */
static int ipt_remove_started(const ipt_family *f, tool_run *t, char *const *remove,
			      cni_error **err)
{
	cni_error *e = NULL;
	cni_buf b = CNI_BUF_INIT;
	cni_ipt_dump *st = NULL;

	if (!t)
		return 0; /* nothing of ours can be there */
	int r = ipt_load_finish(t, &st, &e);
	if (r == -CNI_ERR_NOT_FOUND && !e)
		return cni_iptables_nft_confirm_gone(f->family, "nat", (const char *const *)remove,
						     NULL, err);
	if (r < 0)
		return hand_over(r, e, err);
	r = ipt_remove_batch(&b, f, st, remove);
	cni_ipt_dump_free(st);
	if (r < 0) {
		cni_buf_free(&b);
		return cni_error_oom(err);
	}
	if (b.len == 0)
		return cni_iptables_nft_confirm_gone(f->family, "nat", (const char *const *)remove,
						     NULL, err);
	_cleanup_free_ char *batch = cni_buf_steal(&b);
	if (!batch)
		return cni_error_oom(err);
	if (ipt_restore(f, batch, NULL) == 0)
		return 0;
	/* lost a race with another writer: again from a fresh table */
	return ipt_apply(f, false, ipt_remove_batch, remove, err);
}

/* Go-unquote the %q string at *p (ASCII escapes only; anything else fails). */
static int go_unquote(const char **pp, char **out)
{
	const char *p = *pp;
	cni_buf b = CNI_BUF_INIT;
	int r = 0;
	if (*p++ != '"')
		return -CNI_ERR_INVALID_ARG;
	for (; r == 0 && *p && *p != '"'; p++) {
		char c = *p;
		if (c == '\\') {
			p++;
			switch (*p) {
			case '"':
				c = '"';
				break;
			case '\\':
				c = '\\';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'x':
				if (isxdigit((unsigned char)p[1]) &&
				    isxdigit((unsigned char)p[2])) {
					char hx[3] = {p[1], p[2], 0};
					c = (char)strtoul(hx, NULL, 16);
					p += 2;
					break;
				}
				/* fall through */
			default:
				cni_buf_free(&b);
				return -CNI_ERR_INVALID_ARG;
			}
		}
		r = cni_buf_append(&b, &c, 1);
	}
	if (r < 0 || *p != '"') {
		cni_buf_free(&b);
		return r < 0 ? -CNI_ERR_NOMEM : -CNI_ERR_INVALID_ARG;
	}
	*pp = p + 1;
	if (!(*out = cni_buf_steal(&b)))
		return -CNI_ERR_NOMEM;
	return 0;
}

static bool attachment_valid_cid(const char *cid, const cni_gc_attachment *valid, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (valid[i].container_id && streq(valid[i].container_id, cid))
			return true;
	return false;
}

/*
 * iptables GC: a chain is ours for network when one of its rules carries the comment
 * `name: "<network>" id: "<cid>"` and the chain is named after network + cid. The comment
 * has no ifname, so a chain stays while any valid attachment has its container id.
 */
static int ipt_gc(const char *network, const cni_gc_attachment *valid, size_t n_valid,
		  cni_error **err)
{
	_cleanup_free_ char *prefix = NULL;
	_cleanup_free_ char *qnet = cni_go_quote(network);
	_cleanup_strv_ char **remove = NULL;
	int r;

	if (!qnet || !(prefix = cni_strdupf("name: %s id: ", qnet)))
		return cni_error_oom(err);
	for (size_t fi = 0; fi < ARRAY_SIZE(ipt_families); fi++) {
		cni_ipt_dump *st = NULL;
		r = ipt_load(&ipt_families[fi], &st, err);
		if (r == -CNI_ERR_NOT_FOUND)
			continue;
		if (r < 0)
			return r;
		for (size_t i = 0; i < cni_ipt_dump_line_count(st); i++) {
			const char *in, *comment;
			_cleanup_free_ char *cid = NULL;
			char chain[32];
			if (!cni_ipt_dump_rule(st, i, &in, NULL, &comment) || !comment ||
			    strncmp(comment, prefix, strlen(prefix)) != 0)
				continue;
			const char *p = comment + strlen(prefix);
			if (go_unquote(&p, &cid) < 0 || *p)
				continue;
			if (cni_format_chain_name(network, cid, "", chain, sizeof(chain)) < 0 ||
			    !streq(chain, in))
				continue;
			if (attachment_valid_cid(cid, valid, n_valid) || strv_has(remove, chain))
				continue;
			if (cni_strv_push(&remove, chain) < 0) {
				cni_ipt_dump_free(st);
				return cni_error_oom(err);
			}
		}
		cni_ipt_dump_free(st);
	}
	if (!remove)
		return 0;
	return ipt_remove_chains(remove, err);
}

/* ------------------------------------------------------------------------------------ */
/* nftables backend                                                                     */

static void hash16(const char *s, char out[HASH16 + 1])
{
	/* cannot fail: fixed valid length */
	(void)cni_format_hash("", s, HASH16, out, HASH16 + 1);
}

/* "<hash(net)>-<hash(ifname:cid)>" */
static int nft_instance_hash(const char *network, const char *ifname, const char *cid,
			     char out[2 * HASH16 + 2])
{
	char a[HASH16 + 1], b[HASH16 + 1];
	_cleanup_free_ char *key = cni_strdupf("%s:%s", strempty(ifname), strempty(cid));
	if (!key)
		return -CNI_ERR_NOMEM;
	hash16(network, a);
	hash16(key, b);
	snprintf(out, 2 * HASH16 + 2, "%s-%s", a, b);
	return 0;
}

static int buf_put_noquote(cni_buf *b, const char *s)
{
	int r = 0;
	for (; r == 0 && *s; s++)
		if (*s != '"')
			r = cni_buf_append(b, s, 1);
	return r;
}

/* The reference's rule comment, at most 128 bytes. New string. */
static char *nft_comment(const char *network, const char *ifname, const char *cid)
{
	char h[2 * HASH16 + 2];
	cni_buf b = CNI_BUF_INIT;
	if (nft_instance_hash(network, ifname, cid, h) < 0 ||
	    cni_buf_printf(&b, "%s, net: ", h) < 0 || buf_put_noquote(&b, strempty(network)) < 0 ||
	    cni_buf_puts(&b, ", if: ") < 0 || buf_put_noquote(&b, strempty(ifname)) < 0 ||
	    cni_buf_puts(&b, ", id: ") < 0 || buf_put_noquote(&b, strempty(cid)) < 0) {
		cni_buf_free(&b);
		return NULL;
	}
	char *s = cni_buf_steal(&b);
	if (s && strlen(s) > NFT_COMMENT_MAX)
		s[NFT_COMMENT_MAX] = '\0';
	return s;
}

static bool has_control_chars(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

typedef struct nft_rule {
	unsigned long long handle;
	char *comment;
} nft_rule;

static void nft_rules_free(nft_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].comment);
	free(r);
}

static int nft_error(struct nft_ctx *ctx, const char *what, cni_error **err)
{
	const char *e = cni_dl_nft_ctx_get_error_buffer(ctx);
	_cleanup_free_ char *msg = strdup(strempty(e));
	if (!msg)
		return cni_error_oom(err);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "nftables: %s failed: %s", what, msg);
}

static struct nft_ctx *nft_open(bool json)
{
	struct nft_ctx *ctx = cni_dl_nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return NULL;
	if (cni_dl_nft_ctx_buffer_output(ctx) < 0 || cni_dl_nft_ctx_buffer_error(ctx) < 0) {
		cni_dl_nft_ctx_free(ctx);
		return NULL;
	}
	if (json)
		cni_dl_nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
	return ctx;
}

static bool nft_usable(void)
{
	struct nft_ctx *ctx = nft_open(false);
	if (!ctx)
		return false;
	cni_dl_nft_ctx_set_dry_run(ctx, true);
	int rc = cni_dl_nft_run_cmd_from_buffer(ctx, "add table inet " NFT_TABLE);
	cni_dl_nft_ctx_free(ctx);
	return rc == 0;
}

/*
 * Rules of masq_checks whose comment starts with prefix. *present: whether the table
 * exists at all. Not usable nftables is -CNI_ERR_NOT_FOUND without *err.
 */
static int nft_find(const char *prefix, bool *present, nft_rule **out, size_t *count,
		    cni_error **err)
{
	struct nft_ctx *ctx = nft_open(true);
	_cleanup_json_ json_t *j = NULL;
	nft_rule *rules = NULL;
	size_t n = 0;
	int r = 0;

	*present = false;
	if (!ctx)
		return -CNI_ERR_NOT_FOUND;
	if (cni_dl_nft_run_cmd_from_buffer(ctx, "list tables inet") != 0) {
		cni_dl_nft_ctx_free(ctx);
		return -CNI_ERR_NOT_FOUND;
	}
	j = json_loads(strempty(cni_dl_nft_ctx_get_output_buffer(ctx)), 0, NULL);
	json_t *items = json_object_get(j, "nftables");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *name = cni_json_get_string(json_object_get(it, "table"), "name");
		if (name && streq(name, NFT_TABLE))
			*present = true;
	}
	json_decref(j);
	j = NULL;
	if (!*present)
		goto done;

	if (cni_dl_nft_run_cmd_from_buffer(ctx, "list table inet " NFT_TABLE) != 0) {
		r = nft_error(ctx, "listing table inet " NFT_TABLE, err);
		goto done;
	}
	j = json_loads(strempty(cni_dl_nft_ctx_get_output_buffer(ctx)), 0, NULL);
	if (!j) {
		r = cni_error_set(err, CNI_ERR_SYSTEM, NULL, "nftables: unreadable JSON listing");
		goto done;
	}
	items = json_object_get(j, "nftables");
	json_array_foreach(items, i, it)
	{
		json_t *rule = json_object_get(it, "rule");
		const char *chain = cni_json_get_string(rule, "chain");
		const char *comment = cni_json_get_string(rule, "comment");
		json_t *h = json_object_get(rule, "handle");
		if (!chain || !streq(chain, NFT_CHAIN) || !comment || !json_is_integer(h))
			continue;
		if (strncmp(comment, prefix, strlen(prefix)) != 0)
			continue;
		nft_rule *nr = realloc(rules, (n + 1) * sizeof(*nr));
		if (!nr) {
			r = cni_error_oom(err);
			goto done;
		}
		rules = nr;
		rules[n].handle = (unsigned long long)json_integer_value(h);
		if (!(rules[n].comment = strdup(comment))) {
			r = cni_error_oom(err);
			goto done;
		}
		n++;
	}
done:
	cni_dl_nft_ctx_free(ctx);
	if (r < 0) {
		nft_rules_free(rules, n);
		return r;
	}
	*out = rules;
	*count = n;
	return 0;
}

static int nft_run(const char *batch, const char *what, cni_error **err)
{
	struct nft_ctx *ctx = nft_open(false);
	if (!ctx)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
				     "nftables: cannot create a context: %s",
				     *cni_dl_nft_error() ? cni_dl_nft_error() : "out of memory");
	int r = cni_dl_nft_run_cmd_from_buffer(ctx, batch) == 0 ? 0 : nft_error(ctx, what, err);
	cni_dl_nft_ctx_free(ctx);
	return r;
}

/* Writes a batch from our rules found; an empty one means nothing to do. */
typedef int (*nft_batch_fn)(cni_buf *b, const nft_rule *rules, size_t n, const void *ud);

typedef struct nft_op {
	const char *prefix;
	bool required; /* nftables not usable is an error (else: nothing to do) */
	nft_batch_fn build;
	const void *ud;
	const char *what; /* names the batch in errors */
} nft_op;

/* err is the attempt's own error: set by nft_find() when it failed with a reason. */
static int nft_attempt(cni_buf *b, const void *ctx, cni_error **err)
{
	const nft_op *op = ctx;
	nft_rule *rules = NULL;
	size_t n = 0;
	bool present;
	int r = nft_find(op->prefix, &present, &rules, &n, err);
	if (r == -CNI_ERR_NOT_FOUND && !*err) {
		if (!op->required)
			return 0; /* nothing of ours can be there */
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "nftables is not usable");
	}
	if (r < 0)
		return r;
	r = op->build(b, rules, n, op->ud);
	nft_rules_free(rules, n);
	return r < 0 ? cni_error_oom(err) : 0;
}

static int nft_commit(const char *batch, const void *ctx, cni_error **err)
{
	const nft_op *op = ctx;
	return nft_run(batch, op->what, err);
}

/* Find our rules under prefix, build a batch from them and run it (retrying lost races). */
static int nft_apply(const char *prefix, bool required, nft_batch_fn build, const void *ud,
		     const char *what, cni_error **err)
{
	const nft_op op = {prefix, required, build, ud, what};
	return retry_batch(nft_attempt, nft_commit, &op, err);
}

/* Whether a rule of ours (by its comment) stays. */
typedef bool (*nft_keep_fn)(const char *comment, const void *ud);

/* Delete lines for the rules keep() (NULL: none) rejects. */
static int nft_delete_rules(cni_buf *b, const nft_rule *rules, size_t n, nft_keep_fn keep,
			    const void *ud)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		if (!keep || !keep(rules[i].comment, ud))
			r = cni_buf_printf(
			    b, "delete rule inet " NFT_TABLE " " NFT_CHAIN " handle %llu\n",
			    rules[i].handle);
	return r;
}

typedef struct nft_setup_args {
	const masq_ctx *m;
	const char *comment;
} nft_setup_args;

/* The table, chain and jumps (idempotent), our stale rules out, one rule per address. */
static int nft_setup_batch(cni_buf *b, const nft_rule *stale, size_t n, const void *ud)
{
	const nft_setup_args *a = ud;
	const masq_ctx *m = a->m;
	int r = cni_buf_puts(
	    b, "add table inet " NFT_TABLE " { comment \"Masquerading for plugins "
	       "from github.com/containernetworking/plugins\" ; }\n"
	       "add chain inet " NFT_TABLE " " NFT_CHAIN " { comment \"Masquerade "
	       "traffic from certain IPs to any (non-multicast) IP outside their "
	       "subnet\" ; }\n"
	       "add chain inet " NFT_TABLE " postrouting { type nat hook postrouting "
	       "priority srcnat ; }\n"
	       "flush chain inet " NFT_TABLE " postrouting\n"
	       "add rule inet " NFT_TABLE " postrouting ip daddr == 224.0.0.0/4 return\n"
	       "add rule inet " NFT_TABLE " postrouting ip6 daddr == ff00::/8 return\n"
	       "add rule inet " NFT_TABLE " postrouting goto " NFT_CHAIN "\n");
	if (r == 0)
		r = nft_delete_rules(b, stale, n, NULL, NULL);
	for (size_t i = 0; r == 0 && i < m->n_addrs; i++) {
		char ip[CNI_IP_STRLEN], net[CNI_IPNET_STRLEN];
		cni_ipnet dst;
		const char *fam = m->addrs[i].ip.family == AF_INET ? "ip" : "ip6";
		cni_ipnet_network(&m->addrs[i], &dst);
		r = cni_buf_printf(b,
				   "add rule inet " NFT_TABLE " " NFT_CHAIN
				   " %s saddr == %s %s daddr != %s masquerade comment \"%s\"\n",
				   fam, cni_ip_format(&m->addrs[i].ip, ip, sizeof(ip)), fam,
				   cni_ipnet_format(&dst, net, sizeof(net)), a->comment);
	}
	return r;
}

static int nft_setup(const masq_ctx *m, cni_error **err)
{
	char h[2 * HASH16 + 2];
	_cleanup_free_ char *comment = nft_comment(m->network, m->ifname, m->container_id);

	if (!comment || nft_instance_hash(m->network, m->ifname, m->container_id, h) < 0)
		return cni_error_oom(err);
	if (has_control_chars(comment))
		return cni_error_set(
		    err, CNI_ERR_INVALID_ARG, NULL,
		    "nftables: control characters in network, ifname or container id");
	const nft_setup_args args = {m, comment};
	return nft_apply(h, true, nft_setup_batch, &args, "masquerade setup", err);
}

typedef struct nft_delete_args {
	nft_keep_fn keep;
	const void *ud;
} nft_delete_args;

static int nft_delete_batch(cni_buf *b, const nft_rule *rules, size_t n, const void *ud)
{
	const nft_delete_args *a = ud;
	return nft_delete_rules(b, rules, n, a->keep, a->ud);
}

/* Delete the rules under prefix that keep() rejects, in one transaction. */
static int nft_delete_matching(const char *prefix, nft_keep_fn keep, const void *ud,
			       cni_error **err)
{
	const nft_delete_args args = {keep, ud};
	return nft_apply(prefix, false, nft_delete_batch, &args, "masquerade teardown", err);
}

static int nft_teardown(const char *network, const char *ifname, const char *cid, cni_error **err)
{
	char h[2 * HASH16 + 2];
	/* no table, nothing of ours: not worth loading libnftables to find that out */
	if (!cni_nft_table_may_exist("inet", NFT_TABLE))
		return 0;
	if (nft_instance_hash(network, ifname, cid, h) < 0)
		return cni_error_oom(err);
	return nft_delete_matching(h, NULL, NULL, err);
}

typedef struct nft_gc_ctx {
	char **valid_comments;
} nft_gc_ctx;

static bool nft_gc_keep(const char *comment, const void *ud)
{
	const nft_gc_ctx *g = ud;
	return strv_has(g->valid_comments, comment);
}

static int nft_gc(const char *network, const cni_gc_attachment *valid, size_t n_valid,
		  cni_error **err)
{
	nft_gc_ctx g = {NULL};
	char h[HASH16 + 1];
	int r;

	for (size_t i = 0; i < n_valid; i++) {
		char *c = nft_comment(network, valid[i].ifname, valid[i].container_id);
		if (!c || cni_strv_consume(&g.valid_comments, c) < 0) {
			free(c);
			cni_strv_free(g.valid_comments);
			return cni_error_oom(err);
		}
	}
	hash16(network, h);
	r = nft_delete_matching(h, nft_gc_keep, &g, err);
	cni_strv_free(g.valid_comments);
	return r;
}

/* ------------------------------------------------------------------------------------ */
/* public API                                                                           */

/* Both backends ran: the first one's failure is the answer. */
static int first_failure(int r1, cni_error *e1, int r2, cni_error *e2, cni_error **err)
{
	if (r1 < 0) {
		cni_error_free(e2);
		return hand_over(r1, e1, err);
	}
	cni_error_free(e1);
	return hand_over(r2, e2, err);
}

static int check_ids(const char *network, const char *container_id, cni_error **err)
{
	if (isempty(network))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "ipmasq: network name is empty");
	if (!container_id)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "ipmasq: no container id");
	return 0;
}

int cni_ipmasq_setup(cni_ipmasq_backend backend, const char *network, const char *ifname,
		     const char *container_id, const char *const *addresses, cni_error **err)
{
	_cleanup_free_ cni_ipnet *addrs = NULL;
	size_t n = 0;
	int r;

	if ((r = check_ids(network, container_id, err)) < 0)
		return r;
	for (size_t i = 0; addresses && addresses[i]; i++)
		n++;
	if (n == 0)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "ipmasq: no addresses to masquerade");
	if (!(addrs = calloc(n, sizeof(*addrs))))
		return cni_error_oom(err);
	for (size_t i = 0; i < n; i++)
		if (cni_ipnet_parse(addresses[i], &addrs[i]) < 0)
			return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
					     "ipmasq: invalid address \"%s\"", addresses[i]);

	masq_ctx m = {network, strempty(ifname), container_id, addrs, n};
	if (backend == CNI_IPMASQ_AUTO) {
		/* the reference's rule: iptables unless only nftables works; an iptables that
		 * took the whole change is one that works */
		if (ipt_setup(&m, true, NULL) == 0)
			return 0;
		backend = CNI_IPMASQ_IPTABLES;
		if (!ipt_usable() && nft_usable())
			backend = CNI_IPMASQ_NFTABLES;
	}
	switch (backend) {
	case CNI_IPMASQ_IPTABLES:
		return ipt_setup(&m, false, err);
	case CNI_IPMASQ_NFTABLES:
		return nft_setup(&m, err);
	default:
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "unknown ipmasq backend %d",
				     (int)backend);
	}
}

/*
 * Remove the masquerade chain of network + container_id from both families, and the
 * nftables rules of the attachment (nft_teardown) in the meantime: both nat tables are
 * read side by side while libnftables does its part in this process. The iptables answer
 * goes to *r1 and *e1, nftables' to *r2 and *e2; a failing family ends the iptables part,
 * as the families one after the other would.
 */
static void teardown_both(const char *network, const char *ifname, const char *container_id,
			  int *r1, cni_error **e1, int *r2, cni_error **e2)
{
	char chain[32];
	char *remove[2] = {chain, NULL};
	tool_run saves[ARRAY_SIZE(ipt_families)];
	bool started[ARRAY_SIZE(ipt_families)];
	int r = cni_format_chain_name(network, container_id, "", chain, sizeof(chain));

	/* iptables-nft: removed in one nf_tables transaction here (nothing to do when the
	 * chain is not there); otherwise through iptables-save and iptables-restore */
	for (size_t fi = 0; fi < ARRAY_SIZE(ipt_families); fi++)
		started[fi] = r == 0 &&
			      !cni_iptables_nft_remove_chains(ipt_families[fi].family, "nat",
							      (const char *const *)remove) &&
			      ipt_load_start(&ipt_families[fi], &saves[fi]) == 0;
	*r2 = nft_teardown(network, ifname, container_id, e2);
	*r1 = r < 0 ? cni_error_set(e1, -r, NULL, "failed to name the masquerade chain") : 0;
	for (size_t fi = 0; fi < ARRAY_SIZE(ipt_families); fi++) {
		tool_run *t = started[fi] ? &saves[fi] : NULL;
		if (*r1 < 0) {
			if (t)
				tool_run_abandon(t);
			continue;
		}
		*r1 = ipt_remove_started(&ipt_families[fi], t, remove, e1);
	}
}

int cni_ipmasq_teardown(const char *network, const char *ifname, const char *container_id,
			cni_error **err)
{
	cni_error *e1 = NULL, *e2 = NULL;
	int r;

	if ((r = check_ids(network, container_id, err)) < 0)
		return r;
	/* both backends: the attachment may come from another version or configuration */
	int r1, r2;
	teardown_both(network, strempty(ifname), container_id, &r1, &e1, &r2, &e2);
	return first_failure(r1, e1, r2, e2, err);
}

int cni_ipmasq_gc(const char *network, const cni_gc_attachment *valid, size_t n_valid,
		  cni_error **err)
{
	cni_error *e1 = NULL, *e2 = NULL;
	if (isempty(network))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "ipmasq: network name is empty");
	if (n_valid && !valid)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "ipmasq: no attachment list");
	int r1 = ipt_gc(network, valid, n_valid, &e1);
	int r2 = nft_gc(network, valid, n_valid, &e2);
	return first_failure(r1, e1, r2, e2, err);
}
