/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firewall batches. iptables changes go through one iptables-restore --noflush per family,
 * so a plugin's whole change is atomic and costs one exec however many rules it has (the
 * reference runs one iptables process per rule and per check). nftables scripts run
 * in-process through libnftables, one transaction per script.
 *
 * The tools run in the calling thread's network namespace: callers wanting another one
 * use cni_netns_run(), and the spawned process inherits the thread's namespace.
 */
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
