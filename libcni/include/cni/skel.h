/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CNI_SKEL_H
#define CNI_SKEL_H

/**
 * @file cni/skel.h
 * @brief A plugin's main: reads CNI_* and stdin, checks them per verb, reconciles the
 * config version, dispatches ADD/CHECK/DEL/GC/STATUS/VERSION and writes the result or the
 * spec's error JSON. Same codes and messages as the reference's skel for the same mistakes.
 *
 * Typical use:
 * @code
 * int main(void) {
 *	cni_plugin_funcs f = CNI_PLUGIN_FUNCS_INIT;
 *	f.add = my_add; f.del = my_del; f.check = my_check;
 *	return cni_plugin_main(&f, NULL, "CNI my plugin v1");
 * }
 * @endcode
 */

#include "error.h"
#include "result.h"
#include "version.h"

CNI_BEGIN_DECL

/** What a callback gets (CmdArgs). All strings borrowed for the call; never NULL. */
#define CNI_CMD_ARGS_VERSION 1
typedef struct cni_cmd_args {
	unsigned int version;
	const char *command;      /**< the verb */
	const char *container_id; /**< CNI_CONTAINERID or "" */
	const char *netns;        /**< CNI_NETNS or "" */
	const char *ifname;       /**< CNI_IFNAME or "" */
	const char *args;         /**< CNI_ARGS or "" */
	const char *path;         /**< CNI_PATH or "" */
	const char *netns_override; /**< CNI_NETNS_OVERRIDE or "" */
	const char *stdin_data;   /**< the config, NUL-terminated */
	size_t stdin_len;
} cni_cmd_args;

/**
 * ADD callback: on success set *result (ownership passes to skel, which prints it
 * converted to the config's cniVersion). Return 0 or a negative code with *err set.
 * skel always passes a valid err (never NULL) and *result and *err start as NULL. A
 * *result left set when the callback fails is freed by skel, not printed. A callback that
 * fails without setting *err gets a generic message (`ADD failed: CNI_ERR_...`).
 */
typedef int (*cni_add_fn)(const cni_cmd_args *args, cni_result **result, cni_error **err,
			  void *userdata);
/** CHECK, DEL, GC and STATUS callbacks; err as for cni_add_fn (never NULL). */
typedef int (*cni_cmd_fn)(const cni_cmd_args *args, cni_error **err, void *userdata);

#define CNI_PLUGIN_FUNCS_VERSION 1
typedef struct cni_plugin_funcs {
	unsigned int version;
	cni_add_fn add;
	cni_cmd_fn check;
	cni_cmd_fn del;
	cni_cmd_fn gc;     /**< NULL: GC succeeds doing nothing (the reference's behaviour) */
	cni_cmd_fn status; /**< NULL: STATUS succeeds */
	void *userdata;
} cni_plugin_funcs;
#define CNI_PLUGIN_FUNCS_INIT {CNI_PLUGIN_FUNCS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL}

/** Where skel reads and writes; for tests and embedders. */
#define CNI_SKEL_IO_VERSION 1
typedef struct cni_skel_io {
	unsigned int version;
	const char *const *envp; /**< NULL = process environment */
	int stdin_fd;            /**< -1 = 0 */
	int stdout_fd;           /**< -1 = 1 */
	int stderr_fd;           /**< -1 = 2 */
	size_t max_stdin;        /**< 0 = CNI_SKEL_DEFAULT_MAX_STDIN */
} cni_skel_io;
#define CNI_SKEL_IO_INIT {CNI_SKEL_IO_VERSION, NULL, -1, -1, -1, 0}
#define CNI_SKEL_DEFAULT_MAX_STDIN (4u * 1024u * 1024u)

/**
 * Run the plugin and return the process exit code (0 or 1); call it as
 * `return cni_plugin_main(...)`. info NULL means every known version. about is printed
 * to stderr (with the supported versions) when CNI_COMMAND is unset; NULL is fine.
 */
CNI_EXPORT int cni_plugin_main(const cni_plugin_funcs *funcs, const cni_plugin_info *info,
			       const char *about);

/**
 * A plugin's whole main() in one line, for the common case (every known version):
 *
 *	CNI_PLUGIN_MAIN("CNI my plugin v1", .add = cmd_add, .del = cmd_del, .check = cmd_check)
 *
 * expands to `int main(void)` running cni_plugin_main() with those callbacks (the fields
 * of cni_plugin_funcs, designated; those left out are NULL).
 */
#define CNI_PLUGIN_MAIN(about, ...)                                                                \
	int main(void)                                                                             \
	{                                                                                          \
		static const cni_plugin_funcs cni_plugin_main_funcs_ = {                           \
		    .version = CNI_PLUGIN_FUNCS_VERSION, __VA_ARGS__};                             \
		return cni_plugin_main(&cni_plugin_main_funcs_, NULL, (about));                    \
	}

/** The same for a plugin that supports the versions from oldest on (as the reference's
 * VersionsStartingFrom): CNI_PLUGIN_MAIN_FROM("...", "0.3.0", .add = cmd_add, ...). */
#define CNI_PLUGIN_MAIN_FROM(about, oldest, ...)                                                   \
	int main(void)                                                                             \
	{                                                                                          \
		static const cni_plugin_funcs cni_plugin_main_funcs_ = {                           \
		    .version = CNI_PLUGIN_FUNCS_VERSION, __VA_ARGS__};                             \
		cni_plugin_info *cni_plugin_main_info_ = NULL;                                     \
		if (cni_plugin_info_from(&cni_plugin_main_info_, (oldest), NULL) < 0)              \
			return 1;                                                                  \
		int cni_plugin_main_rc_ =                                                          \
		    cni_plugin_main(&cni_plugin_main_funcs_, cni_plugin_main_info_, (about));      \
		cni_plugin_info_free(cni_plugin_main_info_);                                       \
		return cni_plugin_main_rc_;                                                        \
	}

/**
 * The same with explicit I/O; returns 0 or the negative code of the error it printed,
 * which is also handed back in *err when err is not NULL.
 */
CNI_EXPORT int cni_plugin_main_io(const cni_plugin_funcs *funcs, const cni_plugin_info *info,
				  const char *about, const cni_skel_io *io, cni_error **err);

CNI_END_DECL

#endif
