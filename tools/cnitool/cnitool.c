/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cnitool: run a network configuration list against a network namespace, the way the
 * reference's cnitool does, using only libcni-c's public API.
 *
 *   cnitool add|check|del|gc|status <network> <netns-path>
 *   cnitool version <network>
 */

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cni/cni.h>

#define DEFAULT_NETCONFPATH "/etc/cni/net.d"
/* Where `ip netns add NAME` puts NAME; a bare NETNS argument is looked up there. */
#define NAMED_NETNS_DIR "/run/netns"
/* The plugin directory of this installation (CMake's CNI_PLUGIN_DIR), used without CNI_PATH. */
#ifndef CNITOOL_DEFAULT_CNI_PATH
#define CNITOOL_DEFAULT_CNI_PATH "/usr/local/libexec/cni"
#endif
#define DEFAULT_IFNAME	    "eth0"
/* The reference keeps 10 bytes of the digest: 20 hex characters. */
#define CONTAINER_ID_HEX_CHARS 20
/* Plugins given longer than a day are certainly a typo; keeps the ms value in range. */
#define MAX_TIMEOUT_S 86400UL

enum verb { VERB_ADD, VERB_CHECK, VERB_DEL, VERB_GC, VERB_STATUS, VERB_VERSION };

static const struct {
	const char *name;
	enum verb verb;
	bool needs_netns;
} verbs[] = {
    {"add", VERB_ADD, true}, {"check", VERB_CHECK, true},    {"del", VERB_DEL, true},
    {"gc", VERB_GC, false},  {"status", VERB_STATUS, false}, {"version", VERB_VERSION, false},
};

/* Everything main() allocates, so one function frees it on every path. */
struct tool {
	const char *netconfpath;
	const char *cache_dir;
	const char *cni_path;
	cni_conflist *list;
	cni_config *cfg;
	char **path;
	char *netns;
	char *container_id;
	char **args_mem; /* k0, v0, k1, v1, ... owned strings */
	const char *(*args)[2];
	size_t n_args;
	char *cap_args;
	cni_runtime_conf rt;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cnitool COMMAND NETWORK [NETNS]\n"
		"Add, check, delete, garbage-collect or query a CNI network for a network\n"
		"namespace, using the network's configuration list from $NETCONFPATH.\n"
		"\n"
		"Commands:\n"
		"  add     NETWORK NETNS    attach; prints the result JSON\n"
		"  check   NETWORK NETNS    verify the attachment\n"
		"  del     NETWORK NETNS    detach\n"
		"  gc      NETWORK [NETNS]  delete every cached attachment of NETWORK,\n"
		"                           then send GC to its plugins\n"
		"  status  NETWORK [NETNS]  ask the network's plugins whether they are ready\n"
		"  version NETWORK          show each plugin's file and the spec versions it supports\n"
		"\n"
		"NETNS is a path (/run/netns/ns1, /proc/PID/ns/net) or the name of a namespace\n"
		"in " NAMED_NETNS_DIR " (as `ip netns add` makes them).\n"
		"\n"
		"Environment:\n"
		"  NETCONFPATH      configuration directory (default " DEFAULT_NETCONFPATH ")\n"
		"  CNI_PATH         ':'-separated plugin directories\n"
		"                   (default " CNITOOL_DEFAULT_CNI_PATH ")\n"
		"  CNI_IFNAME       interface name in the namespace (default " DEFAULT_IFNAME ")\n"
		"  CNI_ARGS         extra arguments, \"K1=V1;K2=V2\"\n"
		"  CAP_ARGS         capability arguments, a JSON object\n"
		"  CNI_CONTAINERID  container id (default: cnitool- + 20 hex characters of\n"
		"                   the SHA-512 of the absolute NETNS path)\n"
		"  CNI_CACHE_DIR    result cache directory (default " CNI_DEFAULT_CACHE_DIR ")\n"
		"  CNI_TIMEOUT      seconds each plugin may run (default: no limit)\n");
}

static void vmsg(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("cnitool: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\n", stderr);
}

/* Print "cnitool: <message>" on stderr and return -1 (callers exit with status 1). */
static int fail_msg(const char *fmt, ...) CNI_PRINTF(1, 2);
static int fail_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	return -1;
}

static void die_usage(const char *fmt, ...) CNI_PRINTF(1, 2) __attribute__((noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	usage(stderr);
	exit(1);
}

/*
 * One line per error: "cnitool: <what>: <message>", the details after it when the message
 * does not already hold them.
 */
static int fail(const char *what, const cni_error *e)
{
	const char *msg = e ? cni_error_msg(e) : "unknown error";
	const char *details = e ? cni_error_details(e) : NULL;
	const char *cni_path = getenv("CNI_PATH");
	/* a plugin not found in the default directory: the user may not know CNI_PATH */
	const char *hint = (!cni_path || !*cni_path) && strstr(msg, "failed to find plugin")
			       ? " (CNI_PATH is unset: plugins are looked for in the installed "
				 "plugin directory)"
			       : "";

	fflush(stdout);
	if (details && *details && !strstr(msg, details))
		fprintf(stderr, "cnitool: %s: %s (%s)%s\n", what, msg, details, hint);
	else
		fprintf(stderr, "cnitool: %s: %s%s\n", what, msg, hint);
	return 1;
}

static void oom(void)
{
	fputs("cnitool: out of memory\n", stderr);
	exit(1);
}

static char *xstrndup(const char *s, size_t n)
{
	char *r = strndup(s, n);

	if (!r)
		oom();
	return r;
}

/*
 * The working directory as Go's os.Getwd reports it: $PWD when it names the same
 * directory as "." (so a path under a symlinked dir such as /var/run keeps that spelling),
 * getcwd() otherwise.
 */
static char *working_dir(void)
{
	const char *pwd = getenv("PWD");
	struct stat a, b;

	if (pwd && pwd[0] == '/' && stat(pwd, &a) == 0 && stat(".", &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		char *r = strdup(pwd);

		if (!r)
			oom();
		return r;
	}
	return getcwd(NULL, 0);
}

/*
 * Absolute, lexically cleaned path, as Go's filepath.Abs: relative paths are joined to
 * the working directory; ".", ".." and repeated slashes are resolved without looking at
 * the file system (symlinks stay as they are, so the id matches the reference's).
 */
static char *abs_path(const char *p)
{
	char *cwd = NULL, *joined, *out;
	size_t n;

	if (p[0] != '/') {
		cwd = working_dir();
		if (!cwd)
			return NULL;
	}
	n = (cwd ? strlen(cwd) + 1 : 0) + strlen(p) + 1;
	joined = malloc(n);
	if (!joined)
		oom();
	snprintf(joined, n, "%s%s%s", cwd ? cwd : "", cwd ? "/" : "", p);
	free(cwd);
	out = cni_path_clean(joined);
	if (!out)
		oom();
	free(joined);
	return out;
}

static char *container_id_for(const char *netns)
{
	char hex[CNI_SHA512_HEX_LEN + 1];
	char *id;

	cni_sha512_hex(netns, strlen(netns), hex);
	if (asprintf(&id, "cnitool-%.*s", CONTAINER_ID_HEX_CHARS, hex) < 0)
		oom();
	return id;
}

/*
 * CNI_ARGS as the reference's cnitool reads it: "k=v" pairs separated by ';', each with
 * exactly one '=' and neither side empty.
 */
static int parse_cni_args(struct tool *t, const char *str)
{
	size_t n = 1, i = 0;
	const char *s = str;

	for (const char *c = str; *c; c++)
		if (*c == ';')
			n++;
	t->args_mem = calloc(2 * n + 1, sizeof(char *));
	t->args = calloc(n, sizeof(*t->args));
	if (!t->args_mem || !t->args)
		oom();

	for (;;) {
		const char *end = strchrnul(s, ';');
		size_t plen = (size_t)(end - s);
		const char *eq = memchr(s, '=', plen);
		char *pair = xstrndup(s, plen);
		int bad =
		    !eq || eq == s || eq == end - 1 || memchr(eq + 1, '=', (size_t)(end - eq - 1));

		if (bad) {
			fail_msg("invalid CNI_ARGS pair \"%s\"", pair);
			free(pair);
			return -1;
		}
		free(pair);
		t->args_mem[2 * i] = xstrndup(s, (size_t)(eq - s));
		t->args_mem[2 * i + 1] = xstrndup(eq + 1, (size_t)(end - eq - 1));
		t->args[i][0] = t->args_mem[2 * i];
		t->args[i][1] = t->args_mem[2 * i + 1];
		i++;
		if (!*end)
			break;
		s = end + 1;
	}
	t->n_args = i;
	return 0;
}

/* CAP_ARGS must be a JSON object (null counts as none, as Go decodes it into a nil map). */
static int parse_cap_args(struct tool *t, const char *str)
{
	json_error_t jerr;
	json_t *v = json_loads(str, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);

	if (!v) {
		return fail_msg("CAP_ARGS: invalid JSON: %s (line %d, column %d)", jerr.text,
				jerr.line, jerr.column);
	}
	if (json_is_null(v)) {
		json_decref(v);
		return 0;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		return fail_msg("CAP_ARGS: must be a JSON object, got '%s'", str);
	}
	json_decref(v);
	t->cap_args = strdup(str);
	if (!t->cap_args)
		oom();
	return 0;
}

static int parse_timeout(const char *str, unsigned int *ms)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	if (*str < '0' || *str > '9')
		return fail_msg("CNI_TIMEOUT: \"%s\" is not a number of seconds", str);
	v = strtoul(str, &end, 10);
	if (errno || *end || v > MAX_TIMEOUT_S)
		return fail_msg("CNI_TIMEOUT: \"%s\" is not a number of seconds (0..%lu)", str,
				MAX_TIMEOUT_S);
	*ms = (unsigned int)(v * 1000);
	return 0;
}

/*
 * NETNS as given: a path, made absolute as Go's filepath.Abs would; or a bare name (no
 * '/') of a namespace in /run/netns, as `ip netns add NAME` makes it.
 */
static int netns_path(struct tool *t, const char *arg)
{
	struct stat st;

	if (!strchr(arg, '/') && strcmp(arg, ".") && strcmp(arg, "..")) {
		if (asprintf(&t->netns, NAMED_NETNS_DIR "/%s", arg) < 0)
			oom();
		if (stat(t->netns, &st) == 0)
			return 0;
		free(t->netns);
		t->netns = NULL;
		if (stat(arg, &st) < 0)
			return fail_msg("network namespace \"%s\": no such namespace in " NAMED_NETNS_DIR
					" (`ip netns add %s` makes one) and no such file",
					arg, arg);
	}
	t->netns = abs_path(arg);
	if (!t->netns)
		return fail_msg("cannot resolve \"%s\": %s", arg, strerror(errno));
	return 0;
}

static void tool_free(struct tool *t)
{
	cni_conflist_free(t->list);
	cni_config_free(t->cfg);
	cni_strv_free(t->path);
	free(t->netns);
	free(t->container_id);
	if (t->args_mem)
		for (size_t i = 0; t->args_mem[i]; i++)
			free(t->args_mem[i]);
	free(t->args_mem);
	free((void *)t->args);
	free(t->cap_args);
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/* A file holding one plugin's config: an object with "type" and without "plugins". */
static bool is_single_plugin_config(const char *file)
{
	json_t *v = json_load_file(file, 0, NULL);
	bool single = json_is_object(v) && json_object_get(v, "type") &&
		      !json_object_get(v, "plugins");

	json_decref(v);
	return single;
}

/*
 * Load NETWORK from NETCONFPATH. A failure names the network being looked for and, when
 * the library says which file it was reading, that file. A single plugin's config saved
 * as .conflist is a common slip, so that case says what is wrong with it.
 */
static int load_network(struct tool *t, const char *name)
{
	cni_error *e = NULL;
	const char *file;
	size_t n;

	if (cni_conflist_load(&t->list, t->netconfpath, name, &e) == 0)
		return 0;
	file = cni_error_details(e);
	n = file ? strlen(file) : 0;
	if (file && *file && strstr(cni_error_msg(e), file) && strstr(cni_error_msg(e), name))
		fail_msg("%s", cni_error_msg(e)); /* names both already */
	else if (!file || file[0] != '/' || strstr(cni_error_msg(e), file))
		fail_msg("looking for network \"%s\" in %s: %s", name, t->netconfpath,
			 cni_error_msg(e));
	else if (n > 9 && !strcmp(file + n - 9, ".conflist") && is_single_plugin_config(file))
		fail_msg("looking for network \"%s\": %s: no 'plugins' key: a .conflist holds "
			 "a list, {\"name\": ..., \"plugins\": [{\"type\": ...}, ...]}; a single "
			 "plugin's config goes in a .conf file",
			 name, file);
	else
		fail_msg("looking for network \"%s\": %s: %s", name, file, cni_error_msg(e));
	cni_error_free(e);
	return -1;
}

static void print_versions(const char *role, const char *type, const char *file,
			   const cni_plugin_info *info, const char *want)
{
	size_t n = cni_plugin_info_count(info);

	printf("%s %s:", role, type);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : " ", cni_plugin_info_version(info, i));
	printf(" (%s)%s\n", file,
	       cni_plugin_info_supports(info, want) ? "" : "  (network version NOT supported)");
}

static int cmd_version(struct tool *t)
{
	const char *want = cni_conflist_cni_version(t->list);
	int ret = 0;

	printf("network %s (cniVersion %s) in %s, plugins from %s:\n", cni_conflist_name(t->list),
	       want, t->netconfpath, t->cni_path);
	for (size_t i = 0; i < cni_conflist_plugin_count(t->list); i++) {
		const cni_conf *c = cni_conflist_plugin(t->list, i);
		const char *types[2] = {cni_conf_type(c), cni_conf_ipam_type(c)};

		for (size_t k = 0; k < 2; k++) {
			cni_plugin_info *info = NULL;
			cni_error *e = NULL;
			char *file = NULL;
			char what[256];

			if (!types[k] || !*types[k])
				continue;
			snprintf(what, sizeof(what), "version of %s", types[k]);
			if (cni_find_in_path(types[k], (const char *const *)t->path, &file, &e) < 0 ||
			    cni_get_version_info_of(t->cfg, types[k], &info, &e) < 0) {
				ret = fail(what, e);
				cni_error_free(e);
				cni_free(file);
				continue;
			}
			print_versions(k ? "  ipam  " : "  plugin", types[k], file, info, want);
			cni_plugin_info_free(info);
			cni_free(file);
		}
	}
	return ret;
}

/*
 * Is this attachment (network, container id, ifname) in the result cache? ADD of one that
 * is, and CHECK or DEL of one that is not, are usually a mistake worth a word.
 */
static int cached(struct tool *t, bool *yes)
{
	cni_attachment *a = NULL;
	cni_error *e = NULL;

	if (cni_get_network_list_cached_config(t->cfg, t->list, &t->rt, &a, &e) < 0) {
		fail("reading the result cache", e);
		cni_error_free(e);
		return -1;
	}
	*yes = a != NULL;
	cni_attachment_free(a);
	return 0;
}

static int run(struct tool *t, enum verb verb)
{
	cni_error *e = NULL;
	cni_result *res = NULL;
	char *json = NULL;
	const char *name = cni_conflist_name(t->list);
	bool in_cache = false;
	int r = 0;

	if ((verb == VERB_ADD || verb == VERB_CHECK || verb == VERB_DEL) && cached(t, &in_cache) < 0)
		return 1;
	if (verb == VERB_ADD && in_cache)
		return -fail_msg("add %s: container %s, interface %s is already attached (it is in "
				"the result cache, %s); run `cnitool del` first, or set CNI_IFNAME "
				"for another interface",
				name, t->rt.container_id, t->rt.ifname, t->cache_dir);
	if (verb == VERB_CHECK && !in_cache)
		return -fail_msg("check %s: container %s, interface %s is not attached (nothing in "
				"the result cache, %s)",
				name, t->rt.container_id, t->rt.ifname, t->cache_dir);
	if (verb == VERB_DEL && !in_cache)
		fprintf(stderr,
			"cnitool: del %s: container %s, interface %s is not in the result cache "
			"(%s); running DEL without a previous result\n",
			name, t->rt.container_id, t->rt.ifname, t->cache_dir);

	switch (verb) {
	case VERB_ADD:
		r = cni_add_network_list(t->cfg, t->list, &t->rt, &res, &e);
		if (r == 0) {
			r = cni_result_to_json(res, &json, &e);
			if (r == 0)
				printf("%s\n", json);
		}
		break;
	case VERB_CHECK:
		r = cni_check_network_list(t->cfg, t->list, &t->rt, &e);
		break;
	case VERB_DEL:
		r = cni_del_network_list(t->cfg, t->list, &t->rt, &e);
		break;
	case VERB_GC:
		/* No valid list: every cached attachment of the network goes (reference). */
		r = cni_gc_network_list(t->cfg, t->list, NULL, 0, &e);
		break;
	case VERB_STATUS:
		r = cni_get_status_network_list(t->cfg, t->list, &e);
		break;
	case VERB_VERSION:
		return cmd_version(t);
	}

	if (r < 0) {
		char what[128];

		snprintf(what, sizeof(what), "%s %s", verbs[verb].name, name);
		r = fail(what, e);
	}
	cni_free(json);
	cni_result_free(res);
	cni_error_free(e);
	return r;
}

int main(int argc, char **argv)
{
	struct tool t = {.rt = CNI_RUNTIME_CONF_INIT};
	cni_config_options opts = CNI_CONFIG_OPTIONS_INIT;
	cni_error *e = NULL;
	const char *str;
	size_t v;
	int ret = 1;

	if (argc == 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("cnitool (libcni-c %s, CNI spec %s)\n", cni_library_version(),
		       cni_version_current());
		return 0;
	}
	if (argc < 2)
		die_usage("missing command");

	for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
		if (!strcmp(argv[1], verbs[v].name))
			break;
	if (v == sizeof(verbs) / sizeof(verbs[0]))
		die_usage("unknown command \"%s\"", argv[1]);
	if (argc < 3 || !*argv[2])
		die_usage("%s: missing network name", argv[1]);
	if (verbs[v].needs_netns && (argc < 4 || !*argv[3]))
		die_usage("%s: missing network namespace path", argv[1]);
	if (argc > (verbs[v].verb == VERB_VERSION ? 3 : 4))
		die_usage("too many arguments for %s", argv[1]);

	t.netconfpath = env_or("NETCONFPATH", DEFAULT_NETCONFPATH);
	t.cache_dir = env_or("CNI_CACHE_DIR", CNI_DEFAULT_CACHE_DIR);
	if (load_network(&t, argv[2]) < 0)
		goto out;

	t.cni_path = env_or("CNI_PATH", CNITOOL_DEFAULT_CNI_PATH);
	if (cni_split_path(t.cni_path, &t.path, &e) < 0) {
		fail("CNI_PATH", e);
		goto out;
	}
	opts.path = (const char *const *)t.path;
	opts.cache_dir = getenv("CNI_CACHE_DIR");
	if (opts.cache_dir && !*opts.cache_dir)
		opts.cache_dir = NULL;
	str = getenv("CNI_TIMEOUT");
	if (str && *str && parse_timeout(str, &opts.timeout_ms) < 0)
		goto out;
	if (cni_config_new(&t.cfg, &opts, &e) < 0) {
		fail("configuration", e);
		goto out;
	}

	if (verbs[v].verb == VERB_VERSION) {
		ret = run(&t, VERB_VERSION);
		goto out;
	}

	str = getenv("CAP_ARGS");
	if (str && *str && parse_cap_args(&t, str) < 0)
		goto out;
	str = getenv("CNI_ARGS");
	if (str && *str && parse_cni_args(&t, str) < 0)
		goto out;

	if (argc > 3 && *argv[3] && netns_path(&t, argv[3]) < 0)
		goto out;

	str = getenv("CNI_CONTAINERID");
	if (str && *str)
		t.container_id = xstrndup(str, strlen(str));
	else if (t.netns)
		t.container_id = container_id_for(t.netns);

	/* Set but empty CNI_IFNAME stays empty, as in the reference (the library rejects it). */
	str = getenv("CNI_IFNAME");
	t.rt.ifname = str ? str : DEFAULT_IFNAME;
	t.rt.container_id = t.container_id;
	t.rt.netns = t.netns;
	t.rt.args = (const char *const(*)[2])t.args;
	t.rt.n_args = t.n_args;
	t.rt.capability_args = t.cap_args;

	ret = run(&t, verbs[v].verb);
out:
	cni_error_free(e);
	tool_free(&t);
	return ret;
}
