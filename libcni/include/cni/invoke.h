/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_INVOKE_H
#define CNI_INVOKE_H

/**
 * @file cni/invoke.h
 * @brief Finding and running plugins: CNI_PATH lookup, the CNI_* environment (AsEnv),
 * exec with and without a result, version queries and delegation (IPAM, meta plugins).
 *
 * Plugins run through posix_spawn with only the pipes they need; every descriptor the
 * library opens is close-on-exec. A plugin that crashes, prints garbage or never answers
 * gives a clear error naming the plugin and carrying the tail of its stderr; a timeout
 * kills it (SIGKILL) and fails with -CNI_ERR_TIMEOUT.
 */

#include "error.h"
#include "result.h"
#include "version.h"

CNI_BEGIN_DECL

/** The CNI_* variables for one call (invoke.Args). Unset strings mean "". */
#define CNI_EXEC_ARGS_VERSION 1
typedef struct cni_exec_args {
	unsigned int version;
	const char *command;      /**< CNI_COMMAND: ADD, DEL, CHECK, GC, STATUS, VERSION */
	const char *container_id; /**< CNI_CONTAINERID */
	const char *netns;        /**< CNI_NETNS */
	const char *ifname;       /**< CNI_IFNAME */
	const char *path;         /**< CNI_PATH */
	/** CNI_ARGS verbatim; wins over plugin_args when non-empty (PluginArgsStr). */
	const char *plugin_args_str;
	/** CNI_ARGS as key/value pairs, joined "k=v;k=v" (PluginArgs). */
	const char *const (*plugin_args)[2];
	size_t n_plugin_args;
} cni_exec_args;
#define CNI_EXEC_ARGS_INIT {CNI_EXEC_ARGS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0}

/** How to run a plugin. */
#define CNI_EXEC_OPTIONS_VERSION 1
typedef struct cni_exec_options {
	unsigned int version;
	/** Kill the plugin and fail after this many milliseconds; 0 = no limit. With a limit
	 * the plugin leads a process group of its own, and the whole group is killed. */
	unsigned int timeout_ms;
	/** Base environment (NULL-terminated); NULL = the process environment. */
	const char *const *base_env;
	/** How much of the plugin's stderr to keep for error messages (0 = 4096 bytes). */
	size_t stderr_tail;
	/** Largest stdout accepted (0 = 16 MiB); more fails the call. */
	size_t max_output;
} cni_exec_options;
#define CNI_EXEC_OPTIONS_INIT {CNI_EXEC_OPTIONS_VERSION, 0, NULL, 0, 0}

/**
 * Split a CNI_PATH-style list on ':' (empty entries dropped). *out is new
 * (cni_strv_free()), NULL-terminated.
 */
CNI_EXPORT int cni_split_path(const char *list, char ***out, cni_error **err);

/**
 * Find plugin in paths (NULL-terminated): the first `dir/plugin` that is a regular file.
 * Errors (reference texts): `no plugin name provided`, `invalid plugin name: x`,
 * `no paths provided`, `failed to find plugin "x" in path [a b]` (-CNI_ERR_NOT_FOUND).
 * *out is new (cni_free()).
 */
CNI_EXPORT int cni_find_in_path(const char *plugin, const char *const *paths, char **out,
				cni_error **err);

/**
 * The environment for a plugin (AsEnv): base_env (NULL = process environment) with the
 * six CNI_* variables set (empty values kept), each name appearing once. *out is new
 * (cni_strv_free()).
 */
CNI_EXPORT int cni_exec_args_to_env(const cni_exec_args *args, const char *const *base_env,
				    char ***out, cni_error **err);

/**
 * Run a plugin: write stdin_data, collect stdout. On a non-zero exit the error JSON on
 * stdout becomes the returned error (its code and message); without one, the error says
 * how the plugin ended and quotes its stderr tail. *out (new, NUL-terminated) and *out_len
 * are set only on success; either may be NULL.
 */
CNI_EXPORT int cni_exec_plugin_raw(const char *plugin_path, const char *const *envp,
				   const char *stdin_data, size_t stdin_len,
				   const cni_exec_options *opts, char **out, size_t *out_len,
				   cni_error **err);

/**
 * Run with a result (ExecPluginWithResult): a result without cniVersion takes the
 * config's; the result is parsed in its own version (no conversion). opts may be NULL.
 */
CNI_EXPORT int cni_exec_plugin_with_result(const char *plugin_path, const char *conf,
					   size_t conf_len, const cni_exec_args *args,
					   const cni_exec_options *opts, cni_result **out,
					   cni_error **err);

/** Run without a result (DEL, CHECK, GC, STATUS): stdout is ignored on success. */
CNI_EXPORT int cni_exec_plugin_without_result(const char *plugin_path, const char *conf,
					      size_t conf_len, const cni_exec_args *args,
					      const cni_exec_options *opts, cni_error **err);

/**
 * Ask a plugin which versions it supports (GetVersionInfo): stdin
 * `{"cniVersion":"<current>"}`, CNI_COMMAND=VERSION, NETNS/IFNAME/PATH "dummy". A plugin
 * answering `unknown CNI_COMMAND: VERSION` is taken to support 0.1.0 only.
 */
CNI_EXPORT int cni_get_version_info(const char *plugin_path, const cni_exec_options *opts,
				    cni_plugin_info **out, cni_error **err);

/*
 * Delegation from inside a plugin (DelegateAdd, ...): find type in $CNI_PATH and run it
 * with the process environment, CNI_COMMAND replaced by the verb, and the same stdin.
 * Inside our multi-call plugin binary, a delegate that is a link to that binary (its
 * host-local or static) runs in the calling process with exactly that environment and
 * input (docs/plugins/README.md); everywhere else it is exec'd.
 * When an ADD succeeded but its result cannot be read or parsed, or an exec'd delegate
 * was lost (our I/O with it failed while it ran; it is killed), cni_delegate_add() runs
 * the delegate's DEL before it fails, so that what the delegate made (an IPAM
 * reservation) is not left with nobody to undo it.
 */
CNI_EXPORT int cni_delegate_add(const char *type, const char *conf, size_t conf_len,
				cni_result **out, cni_error **err);
CNI_EXPORT int cni_delegate_check(const char *type, const char *conf, size_t conf_len,
				  cni_error **err);
CNI_EXPORT int cni_delegate_del(const char *type, const char *conf, size_t conf_len,
				cni_error **err);
CNI_EXPORT int cni_delegate_gc(const char *type, const char *conf, size_t conf_len,
			       cni_error **err);
CNI_EXPORT int cni_delegate_status(const char *type, const char *conf, size_t conf_len,
				   cni_error **err);

CNI_END_DECL

#endif
