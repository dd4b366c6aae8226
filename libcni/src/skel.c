/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A plugin's main (the reference's pkg/skel): environment and stdin checks per verb,
 * version reconciliation, dispatch, and the spec's error JSON on stdout.
 *
 * The order of checks follows the reference's newest skel so that one input with several
 * mistakes gets the same error: CNI_* variables in table order (a bad container id or
 * ifname fails at once, missing variables are collected), then stdin, then the config's
 * JSON and name, then the verb.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "gojson-internal.h"
#include "inproc-internal.h"
#include "buf-internal.h"
#include "error-internal.h"

enum {
	VERB_ADD = 1 << 0,
	VERB_CHECK = 1 << 1,
	VERB_DEL = 1 << 2,
	VERB_GC = 1 << 3,
	VERB_STATUS = 1 << 4,
	VERB_VERSION = 1 << 5,
};

static const struct {
	const char *name;
	unsigned int verb;
} verbs[] = {
    {"ADD", VERB_ADD}, {"CHECK", VERB_CHECK},	{"DEL", VERB_DEL},
    {"GC", VERB_GC},   {"STATUS", VERB_STATUS}, {"VERSION", VERB_VERSION},
};

enum {
	ENV_COMMAND,
	ENV_CONTAINERID,
	ENV_NETNS,
	ENV_IFNAME,
	ENV_ARGS,
	ENV_PATH,
	ENV_OVERRIDE,
	ENV_N
};

/* Which verbs require each variable (CNI_COMMAND is always required). */
static const struct {
	const char *name;
	unsigned int required;
} env_vars[ENV_N] = {
    [ENV_COMMAND] = {"CNI_COMMAND", VERB_ADD | VERB_CHECK | VERB_DEL | VERB_GC | VERB_STATUS},
    [ENV_CONTAINERID] = {"CNI_CONTAINERID", VERB_ADD | VERB_CHECK | VERB_DEL},
    [ENV_NETNS] = {"CNI_NETNS", VERB_ADD | VERB_CHECK},
    [ENV_IFNAME] = {"CNI_IFNAME", VERB_ADD | VERB_CHECK | VERB_DEL},
    [ENV_ARGS] = {"CNI_ARGS", 0},
    [ENV_PATH] = {"CNI_PATH", VERB_ADD | VERB_CHECK | VERB_DEL | VERB_GC | VERB_STATUS},
    [ENV_OVERRIDE] = {"CNI_NETNS_OVERRIDE", 0},
};

static unsigned int verb_of(const char *cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (streq(cmd, verbs[i].name))
			return verbs[i].verb;
	return 0;
}

static const char *env_lookup(const char *const *envp, const char *name)
{
	const char *v = NULL;
	size_t n = strlen(name);

	if (!envp)
		return strempty(getenv(name));
	/* The last definition wins, as with getenv() on a duplicated entry in practice. */
	for (size_t i = 0; envp[i]; i++)
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
			v = envp[i] + n + 1;
	return strempty(v);
}

/* ---- I/O ---- */

/*
 * After a read or write on fd failed with errno: true when it is worth trying again,
 * that is on EINTR, and on EAGAIN (a non-blocking stdio) once fd is ready for events.
 * False leaves errno saying why not.
 */
static bool retry_io(int fd, short events)
{
	if (errno == EINTR)
		return true;
	if (errno != EAGAIN)
		return false;
	struct pollfd p = {.fd = fd, .events = events};
	return poll(&p, 1, -1) >= 0 || errno == EINTR;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (retry_io(fd, POLLOUT))
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read all of fd, NUL-terminated. Retries EINTR, waits on EAGAIN (a non-blocking stdin)
 * and stops one byte past max so an endless writer cannot make us hang or grow.
 */
static int read_stdin(int fd, size_t max, char **out, size_t *out_len, cni_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			if (ncap > max + 1)
				ncap = max + 1;
			char *nb = realloc(buf, ncap + 1);
			if (!nb)
				return cni_error_oom(err);
			buf = nb;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (retry_io(fd, POLLIN))
				continue;
			return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
					     "error reading from stdin: %s", strerror(errno));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
					     "error reading from stdin: network config exceeds the "
					     "limit of %zu bytes",
					     max);
	}
	buf[len] = '\0';
	*out = TAKE_PTR(buf);
	*out_len = len;
	return 0;
}

/*
 * The reference's validateConfig + version decode, reporting its messages. On success
 * *version is the config's cniVersion ("" means 0.1.0).
 */
static int check_config(const char *data, size_t len, char **version, cni_error **err)
{
	cni_go_conf conf = CNI_GO_CONF_INIT;
	_cleanup_free_ char *msg = NULL;
	int r = cni_go_json_scan(data, len, &conf, &msg);

	if (r == -CNI_ERR_DECODING_FAILURE) {
		r = cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				  "error unmarshall network config: %s", msg);
		goto out;
	}
	if (r < 0) {
		r = cni_error_oom(err);
		goto out;
	}
	if (!streq(conf.top_kind, "object") && !streq(conf.top_kind, "null")) {
		r = cni_go_unmarshal_error(err, "error unmarshall network config", conf.top_kind,
					   "value of type struct { Name string "
					   "\"json:\\\"name\\\"\" }");
		goto out;
	}
	if (conf.name.bad_kind) {
		r = cni_go_unmarshal_error(err, "error unmarshall network config",
					   conf.name.bad_kind, "struct field .name of type string");
		goto out;
	}
	if (isempty(conf.name.value)) {
		r = cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL,
				  "missing network name");
		goto out;
	}
	r = cni_validate_network_name(conf.name.value, err);
	if (r < 0)
		goto out;
	if (conf.version.bad_kind) {
		r = cni_go_unmarshal_error(err, "decoding version from network config",
					   conf.version.bad_kind,
					   "struct field .cniVersion of type string");
		goto out;
	}
	*version = conf.version.value ? TAKE_PTR(conf.version.value) : strdup("");
	if (!*version)
		r = cni_error_oom(err);
out:
	cni_go_conf_clear(&conf);
	return r;
}

/* ---- verbs ---- */

static bool override_set(const char *v)
{
	return streq(v, "1") || strcasecmp(v, "true") == 0;
}

/*
 * Refuse CNI_NETNS when it is the plugin's own network namespace: an ADD or DEL there
 * would configure the host. A path that cannot be opened is the plugin's business (a DEL
 * after the namespace is gone must succeed), so it is not checked.
 */
static int netns_self_check(const char *netns, const char *override, cni_error **err)
{
	struct stat target, self;

	if (override_set(override) || isempty(netns))
		return 0;
	/* O_NONBLOCK: a FIFO planted at the path must not block us. */
	_cleanup_close_ int fd = open(netns, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &target) < 0)
		return 0;
	_cleanup_close_ int sfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (sfd < 0 || fstat(sfd, &self) < 0)
		return cni_error_set(err, CNI_ERR_INVALID_NETNS, NULL, "get plugin's netns failed");
	if (target.st_dev == self.st_dev && target.st_ino == self.st_ino)
		return cni_error_set(
		    err, CNI_ERR_INVALID_NETNS, NULL,
		    "plugin's netns and netns from CNI_NETNS should not be the same");
	return 0;
}

/* A callback's failure as an error object: its own, or one naming the verb. */
static int callback_failed(int r, const char *verb, cni_error **cb_err, cni_error **err)
{
	if (*cb_err) {
		if (err && !*err)
			*err = TAKE_PTR(*cb_err);
		return r;
	}
	return cni_error_set(err, -r, NULL, "%s failed: %s", verb, cni_error_code_name(-r));
}

typedef struct skel_ctx {
	const cni_plugin_funcs *funcs;
	const cni_plugin_info *info;
	const cni_cmd_args *args;
	const char *version; /* config cniVersion, "" = 0.1.0 */
	char *output;	     /* what to print on success */
} skel_ctx;

/* Reconcile the version, self-check the netns when asked to, run the callback. */
static int reconcile_and_call(skel_ctx *ctx, const char *verb, cni_cmd_fn fn, bool netns_check,
			      cni_error **err)
{
	_cleanup_error_ cni_error *cb_err = NULL;
	int r = cni_version_check(ctx->version, ctx->info, err);
	if (r < 0)
		return r;
	/*
	 * The reference checks the netns after the callback has already done its work; we
	 * check before, so a refused netns never gets configured (docs/sample-plugin.md,
	 * "What skel does before your callback runs").
	 */
	if (netns_check) {
		r = netns_self_check(ctx->args->netns, ctx->args->netns_override, err);
		if (r < 0)
			return r;
	}
	if (!fn)
		return 0;
	r = fn(ctx->args, &cb_err, ctx->funcs->userdata);
	return r < 0 ? callback_failed(r, verb, &cb_err, err) : 0;
}

static int do_add(skel_ctx *ctx, cni_error **err)
{
	_cleanup_error_ cni_error *cb_err = NULL;
	cni_result *result = NULL;
	int r = cni_version_check(ctx->version, ctx->info, err);
	if (r < 0)
		return r;
	r = netns_self_check(ctx->args->netns, ctx->args->netns_override, err);
	if (r < 0 || !ctx->funcs->add)
		return r;
	r = ctx->funcs->add(ctx->args, &result, &cb_err, ctx->funcs->userdata);
	if (r < 0) {
		cni_result_free(result);
		return callback_failed(r, "ADD", &cb_err, err);
	}
	if (!result)
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "ADD returned no result");
	r = cni_result_to_json_as(result, isempty(ctx->version) ? "0.1.0" : ctx->version,
				  &ctx->output, err);
	cni_result_free(result);
	return r;
}

/* CHECK, GC and STATUS: a minimum config version, and a plugin version at least as new. */
static int do_versioned(skel_ctx *ctx, const char *verb, const char *min, cni_cmd_fn fn,
			cni_error **err)
{
	int cmp;
	int r = cni_version_compare(ctx->version, min, &cmp, err);
	if (r < 0)
		return r;
	if (cmp < 0)
		return cni_error_set(err, CNI_ERR_INCOMPATIBLE_CNI_VERSION, NULL,
				     "config version does not allow %s", verb);
	for (size_t i = 0; i < cni_plugin_info_count(ctx->info); i++) {
		r = cni_version_compare(cni_plugin_info_version(ctx->info, i), ctx->version, &cmp,
					err);
		if (r < 0)
			return r;
		if (cmp >= 0)
			return reconcile_and_call(ctx, verb, fn, false, err);
	}
	return cni_error_set(err, CNI_ERR_INCOMPATIBLE_CNI_VERSION, NULL,
			     "plugin version does not allow %s", verb);
}

static int print_about(int fd, const char *about, const cni_plugin_info *info)
{
	cni_buf b = CNI_BUF_INIT;
	int r = cni_buf_printf(&b, "%s\nCNI protocol versions supported: ", about);
	for (size_t i = 0; r == 0 && i < cni_plugin_info_count(info); i++)
		r = cni_buf_printf(&b, "%s%s", i ? ", " : "", cni_plugin_info_version(info, i));
	if (r == 0)
		r = cni_buf_puts(&b, "\n");
	if (r == 0)
		r = write_all(fd, b.data, b.len);
	cni_buf_free(&b);
	return r;
}

/* The error JSON is the last word: a failed write (to a pipe, all or nothing up to
 * PIPE_BUF bytes) is tried once more, and when that fails too, the runtime's log gets the
 * error from stderr. */
static void write_error(int fd, int err_fd, const char *json, size_t len)
{
	int r = write_all(fd, json, len);
	if (r < 0)
		r = write_all(fd, json, len);
	if (r < 0)
		dprintf(err_fd, "failed to write the error to stdout (%s): %.*s\n",
			strerror(-r), (int)len, json);
}

/* Error JSON on stdout; messages built from the environment may hold invalid UTF-8. */
static void print_error(int fd, int err_fd, const cni_error *e)
{
	_cleanup_free_ char *json = NULL;
	cni_error *clean = NULL;

	if (!cni_utf8_valid(cni_error_msg(e)) ||
	    (cni_error_details(e) && !cni_utf8_valid(cni_error_details(e)))) {
		cni_buf m = CNI_BUF_INIT, d = CNI_BUF_INIT;
		const char *det = cni_error_details(e);
		if (cni_utf8_sanitize(cni_error_msg(e), strlen(cni_error_msg(e)), &m) == 0 &&
		    (!det || cni_utf8_sanitize(det, strlen(det), &d) == 0))
			clean = cni_error_new(cni_error_code(e), d.data, "%s", m.data);
		cni_buf_free(&m);
		cni_buf_free(&d);
	}
	if (cni_error_to_json(clean ? clean : e, NULL, &json) < 0) {
		char fallback[64];
		int n =
		    snprintf(fallback, sizeof(fallback),
			     "{\n    \"code\": %d,\n    \"msg\": \"\"\n}", cni_error_spec_code(e));
		write_error(fd, err_fd, fallback, (size_t)n);
	} else {
		write_error(fd, err_fd, json, strlen(json));
	}
	cni_error_free(clean);
}

/* The answer on stdout, after anything callbacks printed through stdio. */
static int deliver(int out_fd, const char *output, cni_error **err)
{
	if (out_fd == STDOUT_FILENO)
		fflush(stdout);
	int w = write_all(out_fd, output, strlen(output));
	if (w < 0)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "error writing to stdout: %s",
				     strerror(-w));
	return 0;
}

static int plugin_run(const cni_plugin_funcs *funcs, const cni_plugin_info *info, const char *about,
		      const cni_skel_io *io, int out_fd, int err_fd, char **output, cni_error **err)
{
	const char *const *envp = io ? io->envp : NULL;
	const char *val[ENV_N];
	_cleanup_free_ char *missing = NULL;
	_cleanup_free_ char *stdin_data = NULL;
	_cleanup_free_ char *version = NULL;
	size_t stdin_len = 0;
	cni_buf miss = CNI_BUF_INIT;
	int r;

	if ((r = cni_struct_check(err, "cni_plugin_main", "cni_plugin_funcs", funcs->version,
				  CNI_PLUGIN_FUNCS_VERSION)) < 0 ||
	    (io && (r = cni_struct_check(err, "cni_plugin_main_io", "cni_skel_io", io->version,
					 CNI_SKEL_IO_VERSION)) < 0))
		return r;
	for (size_t i = 0; i < ENV_N; i++)
		val[i] = env_lookup(envp, env_vars[i].name);
	const char *cmd = val[ENV_COMMAND];
	unsigned int verb = verb_of(cmd);

	for (size_t i = 0; i < ENV_N; i++) {
		bool required = i == ENV_COMMAND || (env_vars[i].required & verb);
		r = 0;
		if (isempty(val[i])) {
			if (required && cni_buf_printf(&miss, "%s%s", miss.len ? "," : "",
						       env_vars[i].name) < 0)
				r = cni_error_oom(err);
		} else if (required && i == ENV_CONTAINERID) {
			r = cni_validate_container_id(val[i], err);
		} else if (required && i == ENV_IFNAME) {
			r = cni_validate_ifname(val[i], err);
		}
		if (r < 0) {
			cni_buf_free(&miss);
			return r;
		}
	}
	missing = cni_buf_steal(&miss);
	if (!isempty(missing)) {
		if (isempty(cmd) && !isempty(about)) {
			(void)print_about(err_fd, about, info);
			return 0;
		}
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				     "required env variables [%s] missing", missing);
	}

	if (verb == VERB_VERSION)
		return cni_plugin_info_encode(info, NULL, output, err) < 0
			   ? cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
					   "failed to encode version info")
			   : 0;

	size_t max = io && io->max_stdin ? io->max_stdin : CNI_SKEL_DEFAULT_MAX_STDIN;
	int in_fd = io && io->stdin_fd >= 0 ? io->stdin_fd : STDIN_FILENO;
	r = read_stdin(in_fd, max, &stdin_data, &stdin_len, err);
	if (r < 0)
		return r;
	r = check_config(stdin_data, stdin_len, &version, err);
	if (r < 0)
		return r;

	cni_cmd_args args = {
	    .version = CNI_CMD_ARGS_VERSION,
	    .command = cmd,
	    .container_id = val[ENV_CONTAINERID],
	    .netns = val[ENV_NETNS],
	    .ifname = val[ENV_IFNAME],
	    .args = val[ENV_ARGS],
	    .path = val[ENV_PATH],
	    .netns_override = val[ENV_OVERRIDE],
	    .stdin_data = stdin_data,
	    .stdin_len = stdin_len,
	};
	skel_ctx ctx = {.funcs = funcs, .info = info, .args = &args, .version = version};

	switch (verb) {
	case VERB_ADD:
		r = do_add(&ctx, err);
		if (r == 0 && (r = deliver(out_fd, ctx.output, err)) < 0 && funcs->del) {
			/* The runtime will not see this attachment: take it back, as a DEL
			 * (a callback that looks at the command sees DEL). */
			cni_cmd_args undo = args;
			cni_error *ignored = NULL;
			undo.command = "DEL";
			(void)funcs->del(&undo, &ignored, funcs->userdata);
			cni_error_free(ignored);
		}
		free(TAKE_PTR(ctx.output));
		break;
	case VERB_DEL:
		r = reconcile_and_call(&ctx, "DEL", funcs->del, true, err);
		break;
	case VERB_CHECK:
		r = do_versioned(&ctx, "CHECK", "0.4.0", funcs->check, err);
		break;
	case VERB_GC:
		r = do_versioned(&ctx, "GC", "1.1.0", funcs->gc, err);
		break;
	case VERB_STATUS:
		r = do_versioned(&ctx, "STATUS", "1.1.0", funcs->status, err);
		break;
	default:
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				     "unknown CNI_COMMAND: %s", cmd);
	}
	if (r == 0)
		*output = TAKE_PTR(ctx.output);
	free(ctx.output);
	return r;
}

int cni_plugin_main_io(const cni_plugin_funcs *funcs, const cni_plugin_info *info,
		       const char *about, const cni_skel_io *io, cni_error **err)
{
	static const cni_plugin_funcs none = CNI_PLUGIN_FUNCS_INIT;
	cni_plugin_info *all = NULL;
	_cleanup_free_ char *output = NULL;
	cni_error *e = NULL;
	int out_fd = io && io->stdout_fd >= 0 ? io->stdout_fd : STDOUT_FILENO;
	int err_fd = io && io->stderr_fd >= 0 ? io->stderr_fd : STDERR_FILENO;
	int r;

	if (!info) {
		r = cni_plugin_info_all(&all, &e);
		info = all;
	} else {
		r = 0;
	}
	if (r == 0)
		r = plugin_run(funcs ? funcs : &none, info, about, io, out_fd, err_fd, &output, &e);
	cni_plugin_info_free(all);

	/* Callbacks may have printed through stdio; keep their output first. */
	if (out_fd == STDOUT_FILENO)
		fflush(stdout);
	if (r == 0 && output)
		r = deliver(out_fd, output, &e);
	if (r < 0) {
		if (!e)
			e = cni_error_new(-r, NULL, "%s", cni_error_code_name(-r));
		print_error(out_fd, err_fd, e);
		if (err && !*err)
			*err = TAKE_PTR(e);
	}
	cni_error_free(e);
	return r;
}

/* The in-process run armed on this thread (inproc-internal.h), if any. */
static _Thread_local cni_inproc_call *inproc_call;

void cni_skel_set_inproc(cni_inproc_call *call)
{
	inproc_call = call;
}

int cni_plugin_main(const cni_plugin_funcs *funcs, const cni_plugin_info *info, const char *about)
{
	cni_inproc_call *call = inproc_call;

	if (call) {
		/* one run only: a plugin that delegates in turn arms its own */
		inproc_call = NULL;
		call->ran = true;
		call->r = cni_plugin_main_io(funcs, info, about, call->io, &call->err);
		return call->r < 0 ? 1 : 0;
	}
	return cni_plugin_main_io(funcs, info, about, NULL, NULL) < 0 ? 1 : 0;
}
