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
 * Teardowns talk to nf_tables directly over a NETLINK_NETFILTER socket: whether our
 * nftables table exists (one GET, well under a millisecond, against loading libnftables
 * to find nothing), and, where iptables is iptables-nft, the removal of chains with the
 * jumps to them as one transaction of our own, with no iptables-save or -restore exec.
 * Conntrack entries are deleted over the same socket kind (ctnetlink).
 */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <limits.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "internal.h"
#include "nft-dl.h"
#include "spawn-internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"

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
	    .in_all_read = in != NULL,
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
		return cni_error_oom(err);
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
	} else if (r == 0 && tr.in_unread) {
		/* it read part of the batch as all of it (a failed read taken for its end) */
		r = cni_error_set(err, CNI_ERR_INTERNAL, batch,
				  "%s exited 0 without reading its whole input", tool);
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
			r = cni_error_oom(err);
		else
			*out = s;
	}
	cni_spawn_result_free(&tr);
	return r;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nft_ctx *, cni_dl_nft_ctx_free)

/* Runs script; on success *out (when out is non-NULL) gets the output text. */
static int nft_exec(const char *script, bool json, char **out, cni_error **err)
{
	_cleanup_(cni_dl_nft_ctx_freep) struct nft_ctx *ctx = cni_dl_nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				     "nftables: cannot create context: %s",
				     *cni_dl_nft_error() ? cni_dl_nft_error() : "out of memory");
	if (cni_dl_nft_ctx_buffer_output(ctx) != 0 || cni_dl_nft_ctx_buffer_error(ctx) != 0)
		return cni_error_oom(err);
	if (json)
		cni_dl_nft_ctx_output_set_flags(ctx, cni_dl_nft_ctx_output_get_flags(ctx) |
							     NFT_CTX_OUTPUT_JSON |
							     NFT_CTX_OUTPUT_HANDLE);
	if (cni_dl_nft_run_cmd_from_buffer(ctx, script) != 0) {
		const char *e = cni_dl_nft_ctx_get_error_buffer(ctx);
		_cleanup_free_ char *msg = cni_strdup0(strempty(e));
		if (!msg)
			return cni_error_oom(err);
		for (size_t l = strlen(msg); l > 0 && msg[l - 1] == '\n'; l--)
			msg[l - 1] = '\0';
		return cni_error_set(err, CNI_ERR_INTERNAL, script, "nftables: %s",
				     *msg ? msg : "command failed");
	}
	if (out) {
		char *s = cni_strdup0(strempty(cni_dl_nft_ctx_get_output_buffer(ctx)));
		if (!s)
			return cni_error_oom(err);
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

/* ---- nf_tables over a raw NETLINK_NETFILTER socket ----------------------------------- */

/* Starts an nf_tables message (msg, flags) for nfproto at the end of b. */
static int nl_msg_start(cni_buf *b, uint16_t type, uint16_t flags, uint32_t seq, int nfproto,
			uint16_t res_id, size_t *at)
{
	struct {
		struct nlmsghdr nh;
		struct nfgenmsg g;
	} m;
	memset(&m, 0, sizeof(m));
	m.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
	m.nh.nlmsg_type = type;
	m.nh.nlmsg_flags = flags;
	m.nh.nlmsg_seq = seq;
	m.g.nfgen_family = (uint8_t)nfproto;
	m.g.version = NFNETLINK_V0;
	m.g.res_id = htons(res_id);
	*at = b->len;
	return cni_buf_append(b, (const char *)&m, NLMSG_ALIGN(m.nh.nlmsg_len));
}

/* Appends an attribute to the message that starts at b->data + at. */
static int nl_put(cni_buf *b, size_t at, uint16_t type, const void *value, size_t len)
{
	char pad[NLA_ALIGNTO] = {0};
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};
	if (NLA_HDRLEN + len > UINT16_MAX)
		return -ENAMETOOLONG;
	if (cni_buf_append(b, (const char *)&a, sizeof(a)) < 0 ||
	    cni_buf_append(b, value, len) < 0 || cni_buf_append(b, pad, NLA_ALIGN(len) - len) < 0)
		return -ENOMEM;
	((struct nlmsghdr *)(void *)(b->data + at))->nlmsg_len = (uint32_t)(b->len - at);
	return 0;
}

static int nl_put_str(cni_buf *b, size_t at, uint16_t type, const char *value)
{
	return nl_put(b, at, type, value, strlen(value) + 1);
}

static int nfnl_open(void)
{
	struct timeval tmo = {.tv_sec = 2};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int nfnl_send(int fd, const cni_buf *b)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	if (sendto(fd, b->data, b->len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

/*
 * Reads the kernel's answers until the acknowledgements of `acks` requests (or a dump's
 * end, acks == 0) arrived, calling fn for every other message: 0 when all succeeded;
 * the first error the kernel reports (negative errno) as soon as it comes, the socket
 * then being good only for closing; fn's first error once the answers are all read.
 */
typedef int (*nfnl_msg_fn)(const struct nlmsghdr *h, void *ud);
static int nfnl_read(int fd, uint32_t seq_lo, uint32_t seq_hi, size_t acks, nfnl_msg_fn fn,
		     void *ud)
{
	const size_t size = 65536;
	_cleanup_free_ char *buf = malloc(size);
	int first = 0;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t len = recv(fd, buf, size, 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -errno;
		if (len == 0)
			return -EPROTO;
		for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq < seq_lo || h->nlmsg_seq > seq_hi)
				continue;
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				first = first ? first : -EINTR;
			if (h->nlmsg_type == NLMSG_DONE && acks == 0)
				return first;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				if (e->error)
					return e->error;
				if (acks == 0 || --acks == 0)
					return first;
				continue;
			}
			int r = fn ? fn(h, ud) : 0;
			if (r < 0)
				first = first ? first : r;
		}
	}
}

/* The first attribute of type in the attributes at data (len bytes), or NULL. */
static const struct nlattr *nla_find(const void *data, size_t len, uint16_t type)
{
	const char *p = data;
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)(const void *)p;
		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		size_t step = NLA_ALIGN(a->nla_len);
		if (step >= len)
			return NULL;
		p += step;
		len -= step;
	}
	return NULL;
}

#define NLA_DATA(a)    ((const char *)(a) + NLA_HDRLEN)
#define NLA_PAYLOAD(a) ((size_t)(a)->nla_len - NLA_HDRLEN)

/* A string attribute's value, NULL when absent or not terminated. */
static const char *nla_str(const struct nlattr *a)
{
	if (!a || NLA_PAYLOAD(a) == 0 || NLA_DATA(a)[NLA_PAYLOAD(a) - 1] != '\0')
		return NULL;
	return NLA_DATA(a);
}

static int nft_found(const struct nlmsghdr *h, void *ud)
{
	(void)h;
	*(bool *)ud = true;
	return 0;
}

/*
 * One nf_tables GET of one object (msg NFT_MSG_GETTABLE, GETCHAIN) named by the string
 * attributes types[i] = values[i], in the calling thread's namespace: 1 when the kernel
 * answers with the object, 0 when it says there is none (ENOENT), a negative errno when it
 * could not be asked.
 */
static int nft_nl_get(int fd, int nfproto, uint16_t msg, const uint16_t *types,
		      const char *const *values, size_t n)
{
	cni_buf b = CNI_BUF_INIT;
	bool found = false;
	size_t at;
	int r = nl_msg_start(&b, (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | msg),
			     NLM_F_REQUEST | NLM_F_ACK, 1, nfproto, 0, &at);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = nl_put_str(&b, at, types[i], values[i]);
	if (r == 0)
		r = nfnl_send(fd, &b);
	cni_buf_free(&b);
	if (r < 0)
		return r;
	r = nfnl_read(fd, 1, 1, 1, nft_found, &found);
	if (r == -ENOENT)
		return 0;
	return r < 0 ? r : found ? 1 : -EPROTO;
}

/* The same with a socket of its own. */
static int nft_nl_get1(int nfproto, uint16_t msg, const uint16_t *types, const char *const *values,
		       size_t n)
{
	_cleanup_close_ int fd = nfnl_open();
	if (fd < 0)
		return fd;
	return nft_nl_get(fd, nfproto, msg, types, values, n);
}

/* The netfilter family of an nft family name; -1 when unknown. */
static int nfproto_of(const char *family)
{
	static const struct {
		const char *name;
		int proto;
	} map[] = {{"ip", NFPROTO_IPV4}, {"ip6", NFPROTO_IPV6},	     {"inet", NFPROTO_INET},
		   {"arp", NFPROTO_ARP}, {"bridge", NFPROTO_BRIDGE}, {"netdev", NFPROTO_NETDEV}};
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
	return nft_nl_get1(proto, NFT_MSG_GETTABLE, types, values, 1) != 0;
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

static int nfproto_of_af(int family)
{
	return family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

/* iptables-nft keeps table T of family F as the nf_tables table "F T": 1, 0 or -errno. */
static int nft_chain_exists(int fd, int family, const char *table, const char *chain)
{
	const uint16_t types[] = {NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME};
	const char *const values[] = {table, chain};
	return nft_nl_get(fd, nfproto_of_af(family), NFT_MSG_GETCHAIN, types, values, 2);
}

/* A rule that jumps to one of the chains being removed, from another chain. */
typedef struct nft_jump {
	char chain[NFT_CHAIN_MAXNAMELEN];
	uint64_t handle; /* as the kernel sent it (big-endian) */
} nft_jump;

typedef struct jump_scan {
	const char *const *targets;
	nft_jump *jumps;
	size_t n, cap;
} jump_scan;

static bool strv_contains(const char *const *v, const char *s)
{
	for (; *v; v++)
		if (streq(*v, s))
			return true;
	return false;
}

/* The chain an expression list jumps to (an immediate verdict NFT_JUMP), or NULL. */
static const char *jump_target(const struct nlattr *exprs)
{
	const char *p = NLA_DATA(exprs);
	size_t len = NLA_PAYLOAD(exprs);
	while (len >= NLA_HDRLEN) {
		const struct nlattr *e = (const struct nlattr *)(const void *)p;
		if (e->nla_len < NLA_HDRLEN || e->nla_len > len)
			return NULL;
		const char *name = nla_str(nla_find(NLA_DATA(e), NLA_PAYLOAD(e), NFTA_EXPR_NAME));
		const struct nlattr *d = nla_find(NLA_DATA(e), NLA_PAYLOAD(e), NFTA_EXPR_DATA);
		if (name && d && streq(name, "immediate")) {
			const struct nlattr *id =
			    nla_find(NLA_DATA(d), NLA_PAYLOAD(d), NFTA_IMMEDIATE_DATA);
			const struct nlattr *v =
			    id ? nla_find(NLA_DATA(id), NLA_PAYLOAD(id), NFTA_DATA_VERDICT) : NULL;
			const struct nlattr *code =
			    v ? nla_find(NLA_DATA(v), NLA_PAYLOAD(v), NFTA_VERDICT_CODE) : NULL;
			if (code && NLA_PAYLOAD(code) == 4) {
				uint32_t c;
				memcpy(&c, NLA_DATA(code), 4);
				if ((int32_t)ntohl(c) == NFT_JUMP)
					return nla_str(nla_find(NLA_DATA(v), NLA_PAYLOAD(v),
								NFTA_VERDICT_CHAIN));
			}
		}
		size_t step = NLA_ALIGN(e->nla_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return NULL;
}

static int scan_rule(const struct nlmsghdr *h, void *ud)
{
	jump_scan *js = ud;
	if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE))
		return 0;
	size_t off = NLMSG_LENGTH(sizeof(struct nfgenmsg));
	if (h->nlmsg_len < off)
		return -EPROTO;
	const char *attrs = (const char *)h + NLMSG_ALIGN(off);
	size_t alen = h->nlmsg_len - NLMSG_ALIGN(off);
	const char *chain = nla_str(nla_find(attrs, alen, NFTA_RULE_CHAIN));
	const struct nlattr *handle = nla_find(attrs, alen, NFTA_RULE_HANDLE);
	const struct nlattr *exprs = nla_find(attrs, alen, NFTA_RULE_EXPRESSIONS);
	if (!chain || !handle || NLA_PAYLOAD(handle) != 8 || !exprs)
		return -EPROTO;
	const char *target = jump_target(exprs);
	/* a chain's own rules go with it */
	if (!target || !strv_contains(js->targets, target) || strv_contains(js->targets, chain))
		return 0;
	if (strlen(chain) >= NFT_CHAIN_MAXNAMELEN)
		return -EPROTO;
	if (js->n == js->cap) {
		size_t cap = js->cap ? 2 * js->cap : 8;
		nft_jump *j = realloc(js->jumps, cap * sizeof(*j));
		if (!j)
			return -ENOMEM;
		js->jumps = j;
		js->cap = cap;
	}
	strcpy(js->jumps[js->n].chain, chain);
	memcpy(&js->jumps[js->n].handle, NLA_DATA(handle), 8);
	js->n++;
	return 0;
}

/* Every rule of table that jumps to one of targets from another chain, into *js. */
static int nft_find_jumps(int fd, int family, const char *table, jump_scan *js)
{
	cni_buf b = CNI_BUF_INIT;
	size_t at;
	int r = nl_msg_start(&b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE,
			     NLM_F_REQUEST | NLM_F_DUMP, 2, nfproto_of_af(family), 0, &at);
	if (r == 0)
		r = nl_put_str(&b, at, NFTA_RULE_TABLE, table);
	if (r == 0)
		r = nfnl_send(fd, &b);
	cni_buf_free(&b);
	return r < 0 ? r : nfnl_read(fd, 2, 2, 0, scan_rule, js);
}

/*
 * One transaction: delete the jumps, flush and delete the chains. Every message asks for
 * an acknowledgement, so a failure anywhere (the whole transaction is then undone) is
 * seen. Sequence numbers from 3.
 */
static int nft_remove_batch(int fd, int family, const char *table, const jump_scan *js,
			    const char *const *chains)
{
	cni_buf b = CNI_BUF_INIT;
	uint32_t seq = 3;
	size_t at, acks = 0;
	const uint16_t del = NLM_F_REQUEST | NLM_F_ACK;
	int fam = nfproto_of_af(family);
	int r = nl_msg_start(&b, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq++, AF_UNSPEC,
			     NFNL_SUBSYS_NFTABLES, &at);
	for (size_t i = 0; r == 0 && i < js->n; i++, acks++) {
		r = nl_msg_start(&b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELRULE, del, seq++, fam,
				 0, &at);
		if (r == 0)
			r = nl_put_str(&b, at, NFTA_RULE_TABLE, table);
		if (r == 0)
			r = nl_put_str(&b, at, NFTA_RULE_CHAIN, js->jumps[i].chain);
		if (r == 0)
			r = nl_put(&b, at, NFTA_RULE_HANDLE, &js->jumps[i].handle, 8);
	}
	for (size_t i = 0; r == 0 && chains[i]; i++, acks += 2) {
		/* a DELRULE without a handle flushes the chain */
		r = nl_msg_start(&b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELRULE, del, seq++, fam,
				 0, &at);
		if (r == 0)
			r = nl_put_str(&b, at, NFTA_RULE_TABLE, table);
		if (r == 0)
			r = nl_put_str(&b, at, NFTA_RULE_CHAIN, chains[i]);
		if (r == 0)
			r = nl_msg_start(&b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELCHAIN, del,
					 seq++, fam, 0, &at);
		if (r == 0)
			r = nl_put_str(&b, at, NFTA_CHAIN_TABLE, table);
		if (r == 0)
			r = nl_put_str(&b, at, NFTA_CHAIN_NAME, chains[i]);
	}
	if (r == 0)
		r = nl_msg_start(&b, NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq++, AF_UNSPEC,
				 NFNL_SUBSYS_NFTABLES, &at);
	if (r == 0)
		r = nfnl_send(fd, &b);
	cni_buf_free(&b);
	return r < 0 ? r : nfnl_read(fd, 3, seq - 1, acks, NULL, NULL);
}

CNI_EXPORT bool cni_iptables_nft_remove_chains(int family, const char *table,
					       const char *const *chains)
{
	const char *present[8];
	size_t n = 0;
	jump_scan js = {0};

	if (!family_ok(family) || isempty(table) || !chains)
		return false;
	/* a legacy table may hold them too, and only iptables-legacy can tell */
	if (legacy_table_present(family, table))
		return false;
	_cleanup_close_ int fd = nfnl_open();
	if (fd < 0)
		return false;
	for (size_t i = 0; chains[i]; i++) {
		int r = nft_chain_exists(fd, family, table, chains[i]);
		if (r < 0 || n + 1 >= ARRAY_SIZE(present))
			return false;
		if (r == 1)
			present[n++] = chains[i];
	}
	present[n] = NULL;
	if (n == 0)
		return true;
	js.targets = present;
	bool ok = nft_find_jumps(fd, family, table, &js) == 0 &&
		  nft_remove_batch(fd, family, table, &js, present) == 0;
	free(js.jumps);
	return ok;
}

CNI_EXPORT int cni_iptables_nft_chain_exists(int family, const char *table, const char *chain)
{
	if (isempty(table) || isempty(chain))
		return -EINVAL;
	_cleanup_close_ int fd = nfnl_open();
	return fd < 0 ? fd : nft_chain_exists(fd, family, table, chain);
}

/* Whether iptables (the one found, legacy where the system chose it) lists chain in
 * table: 1 yes, 0 no ("No chain/target/match"), negative when it cannot tell. */
static int ipt_lists_chain(int family, const char *table, const char *chain)
{
	cni_spawn_result tr = CNI_SPAWN_RESULT_INIT;
	char *args[] = {"--wait", "-t", (char *)table, "-S", (char *)chain, NULL};
	int r = run_named(family == AF_INET6 ? "ip6tables" : "iptables", args, NULL, &tr, NULL);

	if (r == 0 && exited_ok(&tr))
		r = 1;
	else if (r == 0)
		r = WIFEXITED(tr.status) && WEXITSTATUS(tr.status) == 1 &&
			    strstr(stderr_text(&tr), "No chain")
			? 0
			: -EIO;
	cni_spawn_result_free(&tr);
	return r;
}

CNI_EXPORT int cni_iptables_nft_confirm_gone(int family, const char *table,
					     const char *const *chains, const char *why,
					     cni_error **err)
{
	/* x_tables (iptables-legacy) holds this table here too: nf_tables cannot see into
	 * it, so iptables is asked, one chain at a time (a process each, only here) */
	bool legacy = legacy_table_present(family, table);

	for (size_t i = 0; chains && chains[i]; i++) {
		const char *where = NULL;
		if (cni_iptables_nft_chain_exists(family, table, chains[i]) == 1)
			where = "nf_tables has";
		else if (legacy && ipt_lists_chain(family, table, chains[i]) == 1)
			where = family == AF_INET6 ? "ip6tables lists" : "iptables lists";
		if (where)
			return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
					     "%s did not show chain %s, which %s%s%s: not removed",
					     family == AF_INET6 ? "ip6tables-save"
								: "iptables-save",
					     chains[i], where, why ? ": " : "", why ? why : "");
	}
	return 0;
}

static int count_rule(const struct nlmsghdr *h, void *ud)
{
	if (h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE))
		(*(size_t *)ud)++;
	return 0;
}

CNI_EXPORT int cni_iptables_nft_rule_count(int family, const char *table, const char *chain)
{
	cni_buf b = CNI_BUF_INIT;
	size_t at, n = 0;

	if (!family_ok(family) || isempty(table) || isempty(chain))
		return -EINVAL;
	_cleanup_close_ int fd = nfnl_open();
	if (fd < 0)
		return fd;
	int r = nft_chain_exists(fd, family, table, chain);
	if (r <= 0)
		return r == 0 ? -ENOENT : r;
	/* a dump of the table's rules, which the kernel filters by chain */
	r = nl_msg_start(&b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE,
			 NLM_F_REQUEST | NLM_F_DUMP, 2, nfproto_of_af(family), 0, &at);
	if (r == 0)
		r = nl_put_str(&b, at, NFTA_RULE_TABLE, table);
	if (r == 0)
		r = nl_put_str(&b, at, NFTA_RULE_CHAIN, chain);
	if (r == 0)
		r = nfnl_send(fd, &b);
	cni_buf_free(&b);
	if (r == 0)
		r = nfnl_read(fd, 2, 2, 0, count_rule, &n);
	if (r < 0)
		return r;
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* ---- conntrack over ctnetlink -------------------------------------------------------- */

typedef struct ct_scan {
	uint8_t protocol;
	uint16_t port;
	int nfproto;
	uint32_t seq;  /* the last delete request's */
	cni_buf dels;  /* one delete request per matching entry, back to back */
	size_t n;
} ct_scan;

/* A dumped entry whose original tuple goes to the port: queue the request deleting it
 * (by that tuple and its zone). */
static int ct_match(const struct nlmsghdr *h, void *ud)
{
	ct_scan *cs = ud;
	size_t off = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct nfgenmsg)));
	if (h->nlmsg_len < off)
		return 0;
	const char *attrs = (const char *)h + off;
	size_t alen = h->nlmsg_len - off;
	const struct nlattr *orig = nla_find(attrs, alen, CTA_TUPLE_ORIG);
	const struct nlattr *proto =
	    orig ? nla_find(NLA_DATA(orig), NLA_PAYLOAD(orig), CTA_TUPLE_PROTO) : NULL;
	const struct nlattr *num =
	    proto ? nla_find(NLA_DATA(proto), NLA_PAYLOAD(proto), CTA_PROTO_NUM) : NULL;
	const struct nlattr *dport =
	    proto ? nla_find(NLA_DATA(proto), NLA_PAYLOAD(proto), CTA_PROTO_DST_PORT) : NULL;
	uint16_t port;

	if (!num || !dport || NLA_PAYLOAD(num) < 1 || NLA_PAYLOAD(dport) < 2)
		return 0;
	memcpy(&port, NLA_DATA(dport), 2);
	if (*(const uint8_t *)NLA_DATA(num) != cs->protocol || ntohs(port) != cs->port)
		return 0;

	const struct nlattr *zone = nla_find(attrs, alen, CTA_ZONE);
	size_t at;
	int r = nl_msg_start(&cs->dels, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE,
			     NLM_F_REQUEST | NLM_F_ACK, ++cs->seq, cs->nfproto, 0, &at);
	if (r == 0)
		r = nl_put(&cs->dels, at, orig->nla_type, NLA_DATA(orig), NLA_PAYLOAD(orig));
	if (r == 0 && zone)
		r = nl_put(&cs->dels, at, zone->nla_type, NLA_DATA(zone), NLA_PAYLOAD(zone));
	if (r < 0)
		return r;
	cs->n++;
	return 0;
}

static int conntrack_delete(int fd, ct_scan *cs, size_t *deleted)
{
	cni_buf b = CNI_BUF_INIT;
	size_t at;
	int r = nl_msg_start(&b, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET,
			     NLM_F_REQUEST | NLM_F_DUMP, 1, cs->nfproto, 0, &at);
	if (r == 0)
		r = nfnl_send(fd, &b);
	cni_buf_free(&b);
	if (r == 0)
		r = nfnl_read(fd, 1, 1, 0, ct_match, cs);
	/* one request at a time: an entry that expired since the dump answers ENOENT */
	size_t left = cs->dels.len;
	for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)cs->dels.data;
	     r == 0 && NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		ssize_t sent = sendto(fd, h, h->nlmsg_len, 0,
				      (struct sockaddr *)&(struct sockaddr_nl){.nl_family = AF_NETLINK},
				      sizeof(struct sockaddr_nl));
		r = sent < 0 ? -errno : nfnl_read(fd, h->nlmsg_seq, h->nlmsg_seq, 1, NULL, NULL);
		if (r == 0)
			(*deleted)++;
		if (r == -ENOENT)
			r = 0;
	}
	return r;
}

CNI_EXPORT int cni_conntrack_delete_dport(int family, int protocol, unsigned int port,
					  size_t *deleted, cni_error **err)
{
	ct_scan cs = {.protocol = (uint8_t)protocol,
		      .port = (uint16_t)port,
		      .nfproto = family == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4,
		      .seq = 1,
		      .dels = CNI_BUF_INIT};
	size_t n = 0;
	int r;

	if (!family_ok(family) || protocol <= 0 || protocol > 255 || port == 0 || port > 65535)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "conntrack delete: bad family %d, protocol %d or port %u",
				     family, protocol, port);
	_cleanup_close_ int fd = nfnl_open();
	r = fd < 0 ? fd : conntrack_delete(fd, &cs, &n);
	cni_buf_free(&cs.dels);
	if (r == -ENOMEM)
		return cni_error_oom(err);
	if (r < 0)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
				     "failed to delete conntrack entries of %s port %u: %s",
				     protocol == IPPROTO_UDP ? "UDP" : protocol == IPPROTO_TCP ? "TCP"
												 : "IP protocol",
				     port, strerror(-r));
	if (deleted)
		*deleted = n;
	return 0;
}
