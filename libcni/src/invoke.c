/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding and running plugins (the reference's pkg/invoke).
 *
 * A plugin runs through spawn.c (three pipes as its stdio and nothing else, one poll()
 * loop for all of them, a deadline and an output limit); here are the environment it
 * gets and the errors made from how it ended. Each call owns its pipes, buffers and
 * child; the one global is the in-process lookup, which only the multi-call plugin binary
 * sets, once, before anything runs (inproc-internal.h).
 */
#include "inproc-internal.h"
#include "internal.h"
#include "spawn-internal.h"
#include "buf-internal.h"
#include "error-internal.h"
#include "file-internal.h"
#include "json-internal.h"
#include "gojson-internal.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

#define DEFAULT_STDERR_TAIL 4096
#define DEFAULT_MAX_OUTPUT  (16u * 1024 * 1024)
/* How much of unparsable stdout an error message quotes. */
#define QUOTE_STDOUT_MAX 4096

/* ---- CNI_PATH lookup ---- */

int cni_split_path(const char *list, char ***out, cni_error **err)
{
	_cleanup_strv_ char **v = calloc(1, sizeof(char *));
	if (!v)
		return cni_error_oom(err);
	for (const char *p = list; p && *p;) {
		const char *end = strchrnul(p, ':');
		if (end > p && cni_strv_consume(&v, strndup(p, (size_t)(end - p))) < 0)
			return cni_error_oom(err);
		p = *end ? end + 1 : end;
	}
	*out = TAKE_PTR(v);
	return 0;
}

static int format_go_list(cni_buf *b, const char *const *v)
{
	/* Go prints a []string with %s as "[a b c]". */
	int r = cni_buf_puts(b, "[");
	for (size_t i = 0; r == 0 && v[i]; i++)
		r = cni_buf_printf(b, "%s%s", i ? " " : "", v[i]);
	return r ? r : cni_buf_puts(b, "]");
}

int cni_find_in_path(const char *plugin, const char *const *paths, char **out, cni_error **err)
{
	if (isempty(plugin))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "no plugin name provided");
	if (strchr(plugin, '/'))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "invalid plugin name: %s",
				     plugin);
	if (!paths || !paths[0])
		return cni_error_set(err, CNI_ERR_NOT_FOUND, NULL, "no paths provided");

	for (size_t i = 0; paths[i]; i++) {
		_cleanup_free_ char *joined = cni_strdupf("%s/%s", paths[i], plugin);
		if (!joined)
			return cni_error_oom(err);
		_cleanup_free_ char *full = cni_path_clean(joined);
		if (!full)
			return cni_error_oom(err);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			*out = TAKE_PTR(full);
			return 0;
		}
	}

	cni_buf b = CNI_BUF_INIT;
	int r = cni_buf_puts(&b, "failed to find plugin ");
	if (!r)
		r = cni_buf_go_quote(&b, plugin);
	if (!r)
		r = cni_buf_puts(&b, " in path ");
	if (!r)
		r = format_go_list(&b, paths);
	return cni_error_set_buf(err, CNI_ERR_NOT_FOUND, r, &b);
}

/* ---- environment (AsEnv) ---- */

static size_t env_name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : SIZE_MAX;
}

/*
 * Add kv to env (n entries used) so each name appears once: a later value replaces an
 * earlier one in its place. Entries without '=' are kept as they are, as the reference
 * does. kv is taken.
 */
static int env_set(char **env, size_t *n, char *kv)
{
	if (!kv)
		return -CNI_ERR_NOMEM;
	size_t len = env_name_len(kv);
	if (len != SIZE_MAX) {
		for (size_t i = 0; i < *n; i++) {
			if (env_name_len(env[i]) == len && strncmp(env[i], kv, len) == 0) {
				free(env[i]);
				env[i] = kv;
				return 0;
			}
		}
	}
	env[(*n)++] = kv;
	return 0;
}

static char *join_plugin_args(const cni_exec_args *args)
{
	cni_buf b = CNI_BUF_INIT;
	for (size_t i = 0; i < args->n_plugin_args; i++) {
		if (cni_buf_printf(&b, "%s%s=%s", i ? ";" : "", strempty(args->plugin_args[i][0]),
				   strempty(args->plugin_args[i][1])) < 0) {
			cni_buf_free(&b);
			return NULL;
		}
	}
	return cni_buf_steal(&b);
}

/* base (NULL = process environment) with the extra entries merged in, later winning. */
static int env_merge(const char *const *base, char **extra, size_t n_extra, char ***out)
{
	if (!base)
		base = (const char *const *)environ;
	size_t n_base = cni_strv_length((char *const *)base);
	char **env = calloc(n_base + n_extra + 1, sizeof(char *));
	if (!env)
		return -CNI_ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < n_base; i++) {
		if (env_set(env, &n, strdup(base[i])) < 0)
			goto oom;
	}
	for (size_t i = 0; i < n_extra; i++) {
		if (env_set(env, &n, TAKE_PTR(extra[i])) < 0)
			goto oom;
	}
	env[n] = NULL;
	*out = env;
	return 0;
oom:
	env[n] = NULL;
	cni_strv_free(env);
	return -CNI_ERR_NOMEM;
}

int cni_exec_args_to_env(const cni_exec_args *args, const char *const *base_env, char ***out,
			 cni_error **err)
{
	if (!args || !out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_exec_args_to_env: args and out are required");
	int r = cni_struct_check(err, "cni_exec_args_to_env", "cni_exec_args", args->version,
				 CNI_EXEC_ARGS_VERSION);
	if (r < 0)
		return r;
	if (args->n_plugin_args && !args->plugin_args)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_exec_args_to_env: n_plugin_args is %zu but plugin_args "
				     "is NULL",
				     args->n_plugin_args);

	_cleanup_free_ char *joined = NULL;
	const char *args_str = args->plugin_args_str;
	if (isempty(args_str)) {
		joined = join_plugin_args(args);
		if (!joined)
			return cni_error_oom(err);
		args_str = joined;
	}

	char *extra[] = {
	    cni_strdupf("CNI_COMMAND=%s", strempty(args->command)),
	    cni_strdupf("CNI_CONTAINERID=%s", strempty(args->container_id)),
	    cni_strdupf("CNI_NETNS=%s", strempty(args->netns)),
	    cni_strdupf("CNI_ARGS=%s", args_str),
	    cni_strdupf("CNI_IFNAME=%s", strempty(args->ifname)),
	    cni_strdupf("CNI_PATH=%s", strempty(args->path)),
	};
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		if (!extra[i])
			r = -CNI_ERR_NOMEM;
	if (r == 0)
		r = env_merge(base_env, extra, ARRAY_SIZE(extra), out);
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		free(extra[i]);
	return r < 0 ? cni_error_oom(err) : 0;
}

/* ---- running a plugin ---- */

/* Run the plugin; errors (it could not be run at all) carry invoke's messages. *lost (when
 * not NULL) is set when it was started but our I/O with it failed: it ran for nothing we
 * know of, and may have done its work. */
static int run_plugin(const char *path, char *const *envp, const char *in, size_t in_len,
		      const cni_exec_options *opts, cni_spawn_result *pr, cni_error **err,
		      bool *lost)
{
	const cni_spawn_opts so = {
	    .in = in,
	    .in_len = in_len,
	    .timeout_ms = opts ? opts->timeout_ms : 0,
	    .max_out = opts && opts->max_output ? opts->max_output : DEFAULT_MAX_OUTPUT,
	    .max_err = opts && opts->stderr_tail ? opts->stderr_tail : DEFAULT_STDERR_TAIL,
	    .err_tail = true,
	};
	enum cni_spawn_step step = CNI_SPAWN_STEP_IO;
	int r = cni_spawn_run((char *const[]){(char *)path, NULL}, envp, &so, pr, &step);
	if (r >= 0)
		return 0;

	switch (step) {
	case CNI_SPAWN_STEP_ALLOC:
		return cni_error_oom(err);
	case CNI_SPAWN_STEP_PIPES:
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
				     "failed to create pipes for plugin \"%s\": %s", path,
				     strerror(-r));
	case CNI_SPAWN_STEP_SETUP:
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL,
				     "failed to set up pipes for plugin \"%s\": %s", path,
				     strerror(-r));
	case CNI_SPAWN_STEP_EXEC:
		return cni_error_set(err, CNI_ERR_EXEC, NULL, "failed to run plugin \"%s\": %s",
				     path, strerror(-r));
	case CNI_SPAWN_STEP_IO:
		if (lost)
			*lost = true;
		break;
	}
	return cni_error_set(err, r == -ENOMEM ? CNI_ERR_NOMEM : CNI_ERR_SYSTEM, NULL,
			     "failed to run plugin \"%s\": %s", path, strerror(-r));
}

static int how_it_ended(cni_buf *b, int status)
{
	if (WIFEXITED(status))
		return cni_buf_printf(b, "exit status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));
		if (abbrev)
			return cni_buf_printf(b, "killed by signal SIG%s", abbrev);
		return cni_buf_printf(b, "killed by signal %d", WTERMSIG(status));
	}
	return cni_buf_printf(b, "wait status %#x", (unsigned int)status);
}

static int quote_tail(cni_buf *b, const cni_spawn_result *pr)
{
	_cleanup_free_ char *t = malloc(pr->err.len + 4);
	if (!t)
		return -CNI_ERR_NOMEM;
	size_t off = 0;
	if (pr->err_cut) {
		memcpy(t, "...", 3);
		off = 3;
	}
	memcpy(t + off, pr->err.data, pr->err.len);
	t[off + pr->err.len] = '\0';
	/* A NUL inside stderr would end the quoted text early; the message stays valid. */
	return cni_buf_go_quote(b, t);
}

/*
 * The plugin failed and printed error JSON (the spec's way): take it as it is. The
 * reference decodes into types.Error, which accepts any object (missing code = 0) but
 * rejects mistyped fields; the same rules here. Returns 1 when stdout is not an error
 * object (*why says why).
 */
static int error_from_stdout(const cni_spawn_result *pr, cni_error **out, char **why)
{
	json_error_t jerr;
	_cleanup_json_ json_t *o = json_loadb(pr->out.data, pr->out.len, 0, &jerr);
	if (!o) {
		*why = cni_strdupf("%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
		return *why ? 1 : -CNI_ERR_NOMEM;
	}
	if (!json_is_object(o) && !json_is_null(o)) {
		*why = strdup("expected a JSON object");
		return *why ? 1 : -CNI_ERR_NOMEM;
	}
	json_t *code = json_object_get(o, "code");
	json_t *msg = json_object_get(o, "msg");
	json_t *details = json_object_get(o, "details");
	if ((code && !json_is_null(code) &&
	     (!json_is_integer(code) || json_integer_value(code) < 0 ||
	      json_integer_value(code) > INT_MAX)) ||
	    (msg && !json_is_null(msg) && !json_is_string(msg)) ||
	    (details && !json_is_null(details) && !json_is_string(details))) {
		*why = strdup("\"code\" must be a non-negative integer, \"msg\" and \"details\" "
			      "strings");
		return *why ? 1 : -CNI_ERR_NOMEM;
	}
	cni_error *e =
	    cni_error_new(json_is_integer(code) ? (int)json_integer_value(code) : 0,
			  json_string_value(details), "%s", strempty(json_string_value(msg)));
	if (!e)
		return -CNI_ERR_NOMEM;
	cni_error_set_foreign(e);
	*out = e;
	return 0;
}

/* Build the error for a plugin that did not succeed. Always returns a negative code. */
static int plugin_failed(const char *path, const cni_spawn_result *pr, size_t max_out,
			 unsigned int timeout_ms, cni_error **err)
{
	cni_buf b = CNI_BUF_INIT;
	int code = CNI_ERR_EXEC, r = 0;

	if (pr->end == CNI_SPAWN_EXITED && pr->out.len > 0) {
		cni_error *pe = NULL;
		_cleanup_free_ char *why = NULL;
		r = error_from_stdout(pr, &pe, &why);
		if (r < 0)
			return cni_error_oom(err);
		if (r == 0) {
			/* The plugin's own code stays in the error; a code of 0 (the
			 * reference's ErrUnknown) must still fail. */
			int c = cni_error_return_code(pe);
			if (err && !*err)
				*err = pe;
			else
				cni_error_free(pe);
			return c;
		}
		_cleanup_free_ char *head =
		    cni_strdupf("%.*s%s", QUOTE_STDOUT_MAX, pr->out.data,
				pr->out.len > QUOTE_STDOUT_MAX ? "..." : "");
		if (!head)
			return cni_error_oom(err);
		r = cni_buf_puts(&b, "netplugin failed but error parsing its diagnostic message ");
		if (!r)
			r = cni_buf_go_quote(&b, head);
		if (!r)
			r = cni_buf_printf(&b, ": %s: plugin \"%s\": ", why, path);
		if (!r)
			r = how_it_ended(&b, pr->status);
		if (!r && pr->err.len) {
			r = cni_buf_puts(&b, ", stderr ");
			if (!r)
				r = quote_tail(&b, pr);
		}
	} else if (pr->end == CNI_SPAWN_TIMEOUT || pr->end == CNI_SPAWN_OVERFLOW) {
		if (pr->end == CNI_SPAWN_TIMEOUT) {
			code = CNI_ERR_TIMEOUT;
			r = cni_buf_printf(&b, "plugin \"%s\" timed out after %u ms", path,
					   timeout_ms);
		} else {
			r = cni_buf_printf(&b, "plugin \"%s\" wrote more than %zu bytes to stdout",
					   path, max_out);
		}
		if (!r && pr->err.len) {
			r = cni_buf_puts(&b, ": stderr ");
			if (!r)
				r = quote_tail(&b, pr);
		}
	} else if (pr->err.len) {
		r = cni_buf_puts(&b, "netplugin failed: ");
		if (!r)
			r = quote_tail(&b, pr);
		if (!r)
			r = cni_buf_printf(&b, ": plugin \"%s\": ", path);
		if (!r)
			r = how_it_ended(&b, pr->status);
	} else {
		r = cni_buf_printf(&b,
				   "netplugin failed with no error message: plugin \"%s\": ", path);
		if (!r)
			r = how_it_ended(&b, pr->status);
	}
	return cni_error_set_buf(err, code, r, &b);
}

static int exec_raw(const char *plugin_path, const char *const *envp, const char *stdin_data,
		    size_t stdin_len, const cni_exec_options *opts, char **out, size_t *out_len,
		    cni_error **err, bool *lost)
{
	if (isempty(plugin_path))
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL, "no plugin path provided");
	if (opts) {
		int r = cni_struct_check(err, "cni_exec_plugin", "cni_exec_options", opts->version,
					 CNI_EXEC_OPTIONS_VERSION);
		if (r < 0)
			return r;
	}
	if (!stdin_data && stdin_len)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "stdin_data is NULL but stdin_len is %zu", stdin_len);

	cni_spawn_result pr = CNI_SPAWN_RESULT_INIT;
	int r = run_plugin(plugin_path, (char *const *)envp, stdin_data, stdin_len, opts, &pr, err,
			   lost);
	if (r < 0)
		goto done;
	if (pr.end != CNI_SPAWN_EXITED || !WIFEXITED(pr.status) || WEXITSTATUS(pr.status) != 0) {
		r = plugin_failed(plugin_path, &pr,
				  opts && opts->max_output ? opts->max_output : DEFAULT_MAX_OUTPUT,
				  opts ? opts->timeout_ms : 0, err);
		goto done;
	}
	/* Success. The plugin's stderr is informational; the library prints nothing. */
	if (out_len)
		*out_len = pr.out.len;
	if (out) {
		*out = cni_buf_steal(&pr.out);
		if (!*out)
			r = cni_error_oom(err);
	}
done:
	cni_spawn_result_free(&pr);
	return r;
}

int cni_exec_plugin_raw(const char *plugin_path, const char *const *envp, const char *stdin_data,
			size_t stdin_len, const cni_exec_options *opts, char **out, size_t *out_len,
			cni_error **err)
{
	return exec_raw(plugin_path, envp, stdin_data, stdin_len, opts, out, out_len, err, NULL);
}

/* ---- with and without a result ---- */

static int exec_with_env(const char *plugin_path, const char *conf, size_t conf_len,
			 const cni_exec_args *args, const cni_exec_options *opts, char **out,
			 size_t *out_len, cni_error **err)
{
	_cleanup_strv_ char **env = NULL;
	int r = cni_exec_args_to_env(args, opts ? opts->base_env : NULL, &env, err);
	if (r < 0)
		return r;
	return cni_exec_plugin_raw(plugin_path, (const char *const *)env, conf, conf_len, opts, out,
				   out_len, err);
}

/* ConfigDecoder: the config's cniVersion, "" or missing meaning 0.1.0. */
static int conf_version(const char *conf, size_t len, char **out, cni_error **err)
{
	json_error_t jerr;
	_cleanup_json_ json_t *o = json_loadb(conf ? conf : "", conf ? len : 0, 0, &jerr);
	if (!o)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "decoding version from network config: %s", jerr.text);
	if (!json_is_object(o))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "decoding version from network config: expected a JSON "
				     "object");
	json_t *v = json_object_get(o, "cniVersion");
	if (v && !json_is_null(v) && !json_is_string(v))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "decoding version from network config: \"cniVersion\" must "
				     "be a string");
	const char *s = json_string_value(v);
	*out = strdup(isempty(s) ? "0.1.0" : s);
	return *out ? 0 : cni_error_oom(err);
}

/* A result without cniVersion is taken to be in the config's version (issue #895). */
static int parse_result(const char *conf, size_t conf_len, const char *stdout_data,
			size_t stdout_len, cni_result **out, cni_error **err)
{
	_cleanup_free_ char *cv = NULL;
	int r = conf_version(conf, conf_len, &cv, err);
	if (r < 0)
		return r;

	json_error_t jerr;
	_cleanup_json_ json_t *o = json_loadb(stdout_data, stdout_len, 0, &jerr);
	if (!o)
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to unmarshal raw result: %s", jerr.text);
	if (json_is_null(o)) {
		json_decref(o);
		o = json_object();
		if (!o)
			return cni_error_oom(err);
	}
	if (!json_is_object(o))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to unmarshal raw result: expected a JSON object");

	const char *rv = cni_json_get_string(o, "cniVersion");
	if (!isempty(rv))
		return cni_result_from_json(out, rv, stdout_data, stdout_len, err);

	if (json_object_set_new(o, "cniVersion", json_string(cv)) < 0)
		return cni_error_oom(err);
	_cleanup_free_ char *fixed = cni_json_dump_compact(o);
	if (!fixed)
		return cni_error_oom(err);
	return cni_result_from_json(out, cv, fixed, strlen(fixed), err);
}

int cni_exec_plugin_with_result(const char *plugin_path, const char *conf, size_t conf_len,
				const cni_exec_args *args, const cni_exec_options *opts,
				cni_result **out, cni_error **err)
{
	if (!out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_exec_plugin_with_result: out is required");
	_cleanup_free_ char *stdout_data = NULL;
	size_t stdout_len = 0;
	int r =
	    exec_with_env(plugin_path, conf, conf_len, args, opts, &stdout_data, &stdout_len, err);
	if (r < 0)
		return r;
	return parse_result(conf, conf_len, stdout_data, stdout_len, out, err);
}

int cni_exec_plugin_without_result(const char *plugin_path, const char *conf, size_t conf_len,
				   const cni_exec_args *args, const cni_exec_options *opts,
				   cni_error **err)
{
	return exec_with_env(plugin_path, conf, conf_len, args, opts, NULL, NULL, err);
}

/* ---- VERSION ---- */

int cni_get_version_info(const char *plugin_path, const cni_exec_options *opts,
			 cni_plugin_info **out, cni_error **err)
{
	if (!out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_get_version_info: out is required");
	/* Plugins built with an old skel insist on these being set. */
	cni_exec_args args = CNI_EXEC_ARGS_INIT;
	args.command = "VERSION";
	args.netns = "dummy";
	args.ifname = "dummy";
	args.path = "dummy";

	_cleanup_free_ char *in = cni_strdupf("{\"cniVersion\":\"%s\"}", cni_version_current());
	if (!in)
		return cni_error_oom(err);

	_cleanup_free_ char *reply = NULL;
	size_t reply_len = 0;
	_cleanup_error_ cni_error *e = NULL;
	int r = exec_with_env(plugin_path, in, strlen(in), &args, opts, &reply, &reply_len, &e);
	if (r < 0) {
		/* A plugin older than VERSION answers this way; it speaks 0.1.0 only. */
		if (e && streq(cni_error_msg(e), "unknown CNI_COMMAND: VERSION") &&
		    isempty(cni_error_details(e))) {
			static const char *const legacy[] = {"0.1.0", NULL};
			return cni_plugin_info_new(out, legacy, err);
		}
		if (err && !*err)
			*err = TAKE_PTR(e);
		return r;
	}
	return cni_plugin_info_decode(out, reply, reply_len, err);
}

/* ---- delegation, and in-process delegation (inproc-internal.h) ---- */

/* Set once, by the multi-call binary's main(), before anything runs; never changed. */
static cni_inproc_lookup inproc_lookup;

void cni_inproc_set_lookup(cni_inproc_lookup lookup)
{
	inproc_lookup = lookup;
}

/*
 * The main to run in-process for the plugin at path: when this process is the multi-call
 * binary, path is that same file (a link named after one of its plugins), and that plugin
 * may run in-process. LIBCNI_C_INPROCESS=0 in the environment turns it off.
 */
static cni_inproc_main inproc_for(const char *path)
{
	struct stat st, self;
	const char *off = getenv("LIBCNI_C_INPROCESS");

	if (!inproc_lookup || (off && streq(off, "0")))
		return NULL;
	if (stat(path, &st) < 0 || stat("/proc/self/exe", &self) < 0 || st.st_dev != self.st_dev ||
	    st.st_ino != self.st_ino)
		return NULL;
	const char *name = strrchr(path, '/');
	return inproc_lookup(name ? name + 1 : path);
}

/*
 * Run main as the exec would run the plugin at path: env as its environment, conf on its
 * stdin, its stdout collected; a failure is the error it printed, with its code.
 */
static int run_inproc(cni_inproc_main main_fn, const char *path, char **env, const char *conf,
		      size_t conf_len, char **out, size_t *out_len, bool *ok, cni_error **err)
{
	_cleanup_close_ int in = cni_memfd_with("cni-delegate-in", conf, conf_len);
	_cleanup_close_ int stdout_fd = cni_memfd_with("cni-delegate-out", NULL, 0);
	cni_skel_io io = CNI_SKEL_IO_INIT;
	cni_inproc_call call = {&io, NULL, 0, false};

	if (in < 0 || stdout_fd < 0)
		return cni_error_set(err, CNI_ERR_SYSTEM, NULL, "plugin \"%s\": memfd: %s", path,
				     strerror(in < 0 ? -in : -stdout_fd));
	io.envp = (const char *const *)env;
	io.stdin_fd = in;
	io.stdout_fd = stdout_fd;
	cni_skel_set_inproc(&call);
	(void)main_fn();
	cni_skel_set_inproc(NULL);
	if (!call.ran)
		return cni_error_set(err, CNI_ERR_EXEC, NULL,
				     "plugin \"%s\" did not run through skel in-process", path);
	if (call.r < 0) {
		/* as an exec's caller would read it from the error JSON the plugin printed:
		 * the printed code, the plugin's own */
		cni_error *e = call.err ? cni_error_new(cni_error_spec_code(call.err),
							cni_error_details(call.err), "%s",
							cni_error_msg(call.err))
					: cni_error_new(CNI_ERR_INTERNAL, NULL, "plugin \"%s\" failed",
							path);
		cni_error_free(call.err);
		if (!e)
			return cni_error_oom(err);
		cni_error_set_foreign(e);
		int c = cni_error_return_code(e);
		if (err && !*err)
			*err = e;
		else
			cni_error_free(e);
		return c;
	}
	cni_error_free(call.err);
	*ok = true;
	return out ? cni_fd_read_all(stdout_fd, out, out_len, err) : 0;
}

static int delegate(const char *type, const char *verb, const char *conf, size_t conf_len,
		    cni_result **out, cni_error **err)
{
	_cleanup_strv_ char **paths = NULL;
	int r = cni_split_path(getenv("CNI_PATH"), &paths, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *plugin = NULL;
	r = cni_find_in_path(type, (const char *const *)paths, &plugin, err);
	if (r < 0)
		return r;

	/* The inherited environment with only CNI_COMMAND replaced (DelegateArgs). */
	char *extra[] = {cni_strdupf("CNI_COMMAND=%s", verb)};
	if (!extra[0])
		return cni_error_oom(err);
	_cleanup_strv_ char **env = NULL;
	r = env_merge(NULL, extra, 1, &env);
	free(extra[0]);
	if (r < 0)
		return cni_error_oom(err);

	_cleanup_free_ char *stdout_data = NULL;
	size_t stdout_len = 0;
	cni_inproc_main inproc = inproc_for(plugin);
	bool ok = false; /* the delegate itself succeeded (or may have: its run was lost) */
	if (inproc) {
		r = run_inproc(inproc, plugin, env, conf, conf_len, out ? &stdout_data : NULL,
			       out ? &stdout_len : NULL, &ok, err);
	} else {
		r = exec_raw(plugin, (const char *const *)env, conf, conf_len, NULL,
			     out ? &stdout_data : NULL, out ? &stdout_len : NULL, err, &ok);
		ok = ok || r == 0;
	}
	if (r >= 0 && out)
		r = parse_result(conf, conf_len, stdout_data, stdout_len, out, err);
	/* An ADD that succeeded but whose result was lost here (its output could not be
	 * read, or not parsed, or our I/O with it failed while it ran) is a failure to the
	 * caller, which will not undo it: undo it now, or an IPAM plugin's reservation
	 * stays for good. */
	if (r < 0 && ok && out)
		(void)delegate(type, "DEL", conf, conf_len, NULL, NULL);
	return r;
}

int cni_delegate_add(const char *type, const char *conf, size_t conf_len, cni_result **out,
		     cni_error **err)
{
	if (!out)
		return cni_error_set(err, CNI_ERR_INVALID_ARG, NULL,
				     "cni_delegate_add: out is required");
	return delegate(type, "ADD", conf, conf_len, out, err);
}

int cni_delegate_check(const char *type, const char *conf, size_t conf_len, cni_error **err)
{
	return delegate(type, "CHECK", conf, conf_len, NULL, err);
}

int cni_delegate_del(const char *type, const char *conf, size_t conf_len, cni_error **err)
{
	return delegate(type, "DEL", conf, conf_len, NULL, err);
}

int cni_delegate_gc(const char *type, const char *conf, size_t conf_len, cni_error **err)
{
	return delegate(type, "GC", conf, conf_len, NULL, err);
}

int cni_delegate_status(const char *type, const char *conf, size_t conf_len, cni_error **err)
{
	return delegate(type, "STATUS", conf, conf_len, NULL, err);
}
