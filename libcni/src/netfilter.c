/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firewall batches. iptables changes go through one iptables-restore --noflush per family,
 * so a plugin's whole change is atomic and costs one exec however many rules it has (the
 * reference runs one iptables process per rule and per check). nftables scripts run
 * in-process through libnftables, one transaction per script.
 *
 * The tools run in the calling thread's network namespace: callers wanting another one
 * use cni_netns_run(), and the spawned process inherits the thread's namespace.
 *
 * Teardowns first ask the kernel whether there is anything to tear down: one nf_tables
 * GET over an NETLINK_NETFILTER socket (a table, or iptables-nft's chain in its table),
 * well under a millisecond, against an iptables-save exec or loading libnftables to find
 * nothing.
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "internal.h"
#include "nft-dl.h"
#include "spawn-internal.h"

/* Tools live in sbin, which a runtime's PATH does not always contain: after $PATH. */
#define TOOL_DIRS "/usr/sbin:/sbin:/usr/bin:/bin:/usr/local/sbin"

/* Output of a tool is a firewall dump: bounded so a runaway process cannot eat memory. */
#define TOOL_MAX_OUTPUT (256u * 1024u * 1024u)

static char *find_tool(const char *name)
{
	char *found = cni_find_in_dirs(name, getenv("PATH"));
	return found ? found : cni_find_in_dirs(name, TOOL_DIRS);
}

static bool family_ok(int family)
{
	return family == AF_INET || family == AF_INET6;
}

/* The tool's stderr without trailing newlines, for messages. */
static const char *stderr_text(cni_spawn_result *tr)
{
	if (cni_buf_puts(&tr->err, "") < 0 || !tr->err.data)
		return "";
	while (tr->err.len > 0 &&
	       (tr->err.data[tr->err.len - 1] == '\n' || tr->err.data[tr->err.len - 1] == ' '))
		tr->err.data[--tr->err.len] = '\0';
	return tr->err.data;
}

/*
 * Run the tool found for name with args and in on stdin; collect stdout and stderr.
 * Returns 0 when the tool ran (its exit status in tr->status).
 */
static int run_named(const char *name, char *const *args, const char *in, cni_spawn_result *tr,
		     cni_error **err)
{
	const cni_spawn_opts o = {
	    .in = in,
	    .in_len = in ? strlen(in) : 0,
	    .max_out = TOOL_MAX_OUTPUT,
	    .max_err = TOOL_MAX_OUTPUT,
	};
	_cleanup_free_ char *path = find_tool(name);
	char *argv[16];
	size_t n = 0;

	if (!path)
		return cni_error_set(err, CNI_ERR_PLUGIN_NOT_AVAILABLE, NULL,
				     "%s not found in $PATH", name);
	argv[n++] = path;
	for (size_t i = 0; args[i] && n < ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int r = cni_spawn_run(argv, NULL, &o, tr, NULL);
	if (r == 0 && tr->end == CNI_SPAWN_OVERFLOW)
		r = -EFBIG;
	if (r == -ENOMEM)
		return cni_oom(err);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "failed to run %s: %s", name,
				     strerror(-r));
	return 0;
}

static bool exited_ok(const cni_spawn_result *tr)
{
	return WIFEXITED(tr->status) && WEXITSTATUS(tr->status) == 0;
}

static void describe_status(const cni_spawn_result *tr, char *buf, size_t len)
{
	if (WIFEXITED(tr->status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(tr->status));
	else if (WIFSIGNALED(tr->status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(tr->status));
	else
		snprintf(buf, len, "status %d", tr->status);
}

CNI_EXPORT bool cni_iptables_usable(int family)
{
	cni_spawn_result tr = CNI_SPAWN_RESULT_INIT;
	char *args[] = {"--wait", "-t", "filter", "-n", "-L", "INPUT", NULL};
	bool ok;

	if (!family_ok(family))
		return false;
	if (run_named(family == AF_INET ? "iptables" : "ip6tables", args, NULL, &tr, NULL) < 0)
		ok = false;
	else
		ok = exited_ok(&tr);
	cni_spawn_result_free(&tr);
	return ok;
}

CNI_EXPORT int cni_iptables_restore(int family, const char *batch, cni_error **err)
{
	cni_spawn_result tr = CNI_SPAWN_RESULT_INIT;
	char *args[] = {"--noflush", "--wait", NULL};
	const char *tool = family == AF_INET6 ? "ip6tables-restore" : "iptables-restore";
	char st[64];
	int r;

	if (!family_ok(family) || !batch)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "iptables restore: bad family %d or no batch", family);
	r = run_named(tool, args, batch, &tr, err);
	if (r == 0 && !exited_ok(&tr)) {
		describe_status(&tr, st, sizeof(st));
		r = cni_error_set(err, CNI_ERR_INTERNAL, batch, "%s failed (%s): %s", tool, st,
				  stderr_text(&tr));
	}
	cni_spawn_result_free(&tr);
	return r;
}

CNI_EXPORT int cni_iptables_save(int family, const char *table, char **out, cni_error **err)
{
	cni_spawn_result tr = CNI_SPAWN_RESULT_INIT;
	const char *tool = family == AF_INET6 ? "ip6tables-save" : "iptables-save";
	char st[64];
	int r;

	if (!family_ok(family) || isempty(table) || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "iptables save: bad family %d or table", family);
	char *args[] = {"-t", (char *)table, NULL};
	r = run_named(tool, args, NULL, &tr, err);
	if (r == 0 && !exited_ok(&tr)) {
		describe_status(&tr, st, sizeof(st));
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "%s -t %s failed (%s): %s", tool,
				  table, st, stderr_text(&tr));
	}
	if (r == 0) {
		char *s = cni_buf_steal(&tr.out);
		if (!s)
			r = cni_oom(err);
		else
			*out = s;
	}
	cni_spawn_result_free(&tr);
	return r;
}

static void nft_ctx_freep(struct nft_ctx **ctx)
{
	if (*ctx)
		cni_dl_nft_ctx_free(*ctx);
}

/* Runs script; on success *out (when out is non-NULL) gets the output text. */
static int nft_exec(const char *script, bool json, char **out, cni_error **err)
{
	_cleanup_(nft_ctx_freep) struct nft_ctx *ctx = cni_dl_nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "nftables: cannot create context: %s",
				     *cni_dl_nft_error() ? cni_dl_nft_error() : "out of memory");
	if (cni_dl_nft_ctx_buffer_output(ctx) != 0 || cni_dl_nft_ctx_buffer_error(ctx) != 0)
		return cni_oom(err);
	if (json)
		cni_dl_nft_ctx_output_set_flags(ctx, cni_dl_nft_ctx_output_get_flags(ctx) |
							     NFT_CTX_OUTPUT_JSON |
							     NFT_CTX_OUTPUT_HANDLE);
	if (cni_dl_nft_run_cmd_from_buffer(ctx, script) != 0) {
		const char *e = cni_dl_nft_ctx_get_error_buffer(ctx);
		_cleanup_free_ char *msg = cni_strdup0(strempty(e));
		if (!msg)
			return cni_oom(err);
		for (size_t l = strlen(msg); l > 0 && msg[l - 1] == '\n'; l--)
			msg[l - 1] = '\0';
		return cni_error_set(err, CNI_ERR_INTERNAL, script, "nftables: %s",
				     *msg ? msg : "command failed");
	}
	if (out) {
		char *s = cni_strdup0(strempty(cni_dl_nft_ctx_get_output_buffer(ctx)));
		if (!s)
			return cni_oom(err);
		*out = s;
	}
	return 0;
}

CNI_EXPORT bool cni_nftables_usable(void)
{
	return nft_exec("list tables", false, NULL, NULL) == 0;
}

CNI_EXPORT int cni_nft_run(const char *script, bool json, char **out, cni_error **err)
{
	if (!script)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "nftables: no script");
	return nft_exec(script, json, out, err);
}

/* ---- is it there at all: nf_tables GETs over a raw netlink socket ---------------------- */

#define NL_ATTR_MAX 2

/* Appends a string attribute to the message in buf (of size cap); false when it is full. */
static bool nl_put_str(char *buf, size_t cap, uint16_t type, const char *value)
{
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	size_t vlen = strlen(value) + 1, alen = NLA_HDRLEN + vlen;
	if (NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(alen) > cap)
		return false;
	struct nlattr *a = (struct nlattr *)(buf + NLMSG_ALIGN(nh->nlmsg_len));
	memset(a, 0, NLA_ALIGN(alen));
	a->nla_len = (uint16_t)alen;
	a->nla_type = type;
	memcpy((char *)a + NLA_HDRLEN, value, vlen);
	nh->nlmsg_len = (uint32_t)(NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(alen));
	return true;
}

/*
 * One nf_tables GET of one object (msg NFT_MSG_GETTABLE, GETCHAIN) named by the string
 * attributes types[i] = values[i], in the calling thread's namespace: 1 when the kernel
 * answers with the object, 0 when it says there is none (ENOENT), a negative errno when it
 * could not be asked.
 */
static int nft_nl_get(int nfproto, uint16_t msg, uint16_t reply, const uint16_t *types,
		      const char *const *values, size_t n)
{
	union {
		struct nlmsghdr nh;
		char buf[512];
	} req;
	char rbuf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct timeval tmo = {.tv_sec = 2};
	bool found = false;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
	req.nh.nlmsg_type = (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | msg);
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	struct nfgenmsg *g = NLMSG_DATA(&req.nh);
	g->nfgen_family = (uint8_t)nfproto;
	g->version = NFNETLINK_V0;
	g->res_id = htons(0);
	for (size_t i = 0; i < n; i++)
		if (!nl_put_str(req.buf, sizeof(req.buf), types[i], values[i]))
			return -ENAMETOOLONG;

	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) < 0)
		return -errno;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(fd, rbuf, sizeof(rbuf), 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -errno;
		if (len == 0)
			return -EPROTO;
		for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != req.nh.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				if (e->error == 0)
					return found ? 1 : -EPROTO;
				return e->error == -ENOENT ? 0 : e->error;
			}
			if (h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | reply))
				found = true;
		}
	}
}

/* The netfilter family of an nft family name; -1 when unknown. */
static int nfproto_of(const char *family)
{
	static const struct {
		const char *name;
		int proto;
	} map[] = {{"ip", NFPROTO_IPV4},   {"ip6", NFPROTO_IPV6},     {"inet", NFPROTO_INET},
		   {"arp", NFPROTO_ARP},   {"bridge", NFPROTO_BRIDGE}, {"netdev", NFPROTO_NETDEV}};
	for (size_t i = 0; family && i < ARRAY_SIZE(map); i++)
		if (streq(family, map[i].name))
			return map[i].proto;
	return -1;
}

CNI_EXPORT bool cni_nft_table_may_exist(const char *family, const char *table)
{
	int proto = nfproto_of(family);
	if (proto < 0 || isempty(table))
		return true;
	const uint16_t types[] = {NFTA_TABLE_NAME};
	const char *const values[] = {table};
	return nft_nl_get(proto, NFT_MSG_GETTABLE, NFT_MSG_NEWTABLE, types, values, 1) != 0;
}

/*
 * Whether legacy iptables (x_tables) has table in this thread's namespace: the kernel
 * lists the tables it instantiated there, and a namespace gets a table only once something
 * used it. No such file: the module is not even loaded.
 */
static bool legacy_table_present(int family, const char *table)
{
	const char *path = family == AF_INET6 ? "/proc/thread-self/net/ip6_tables_names"
					      : "/proc/thread-self/net/ip_tables_names";
	char line[64];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno != ENOENT;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = streq(line, table);
	}
	fclose(f);
	return found;
}

CNI_EXPORT bool cni_iptables_chain_may_exist(int family, const char *table, const char *chain)
{
	if (!family_ok(family) || isempty(table) || isempty(chain))
		return true;
	if (legacy_table_present(family, table))
		return true;
	/* iptables-nft keeps table T of family F as the nf_tables table "F T" */
	const uint16_t types[] = {NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME};
	const char *const values[] = {table, chain};
	return nft_nl_get(family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4, NFT_MSG_GETCHAIN,
			  NFT_MSG_NEWCHAIN, types, values, 2) != 0;
}
