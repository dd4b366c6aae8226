/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The smallest runtime: attach a network namespace to a network from a config directory,
 * print the result, check it and detach it again.
 *
 *   cc -o runtime-add runtime-add.c $(pkg-config --cflags --libs libcni-c)
 *   ip netns add ns1
 *   ./runtime-add /etc/cni/net.d mynet /run/netns/ns1 /usr/local/libexec/cni /tmp/cni-cache
 *
 * The last argument is the result cache directory: give it one of its own, so that trying
 * this on a node never touches the runtime's /var/lib/cni. The container id is made unique
 * per run ("runtime-add-<pid>-<time>"), so it cannot collide with a real container's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cni/cni.h>

static int fail(const char *what, cni_error *err)
{
	fprintf(stderr, "%s: %s (code %d)\n", what, cni_error_msg(err), cni_error_code(err));
	cni_error_free(err);
	return 1;
}

int main(int argc, char **argv)
{
	cni_conflist *list = NULL;
	cni_config *cfg = NULL;
	cni_result *result = NULL;
	cni_error *err = NULL;
	char *json = NULL;
	char id[64];

	if (argc != 6) {
		fprintf(stderr,
			"usage: %s <confdir> <network> <netns path> <plugin dir> <cache dir>\n",
			argv[0]);
		return 2;
	}
	/* the network list, as the reference's LoadNetworkConf finds it */
	if (cni_conflist_load(&list, argv[1], argv[2], &err) < 0)
		return fail("load", err);

	/* where plugins are, where the result cache lives, how long a plugin may take;
	 * cni_config_new copies all of it */
	const char *path[] = {argv[4], NULL};
	cni_config_options opts = CNI_CONFIG_OPTIONS_INIT;
	opts.path = path;
	opts.cache_dir = argv[5];
	opts.timeout_ms = 30000;
	if (cni_config_new(&cfg, &opts, &err) < 0)
		return fail("config", err);

	/* one attachment: container id, namespace and interface name */
	snprintf(id, sizeof(id), "runtime-add-%ld-%lld", (long)getpid(), (long long)time(NULL));
	cni_runtime_conf rt = CNI_RUNTIME_CONF_INIT;
	rt.container_id = id;
	rt.netns = argv[3];
	rt.ifname = "eth0";

	if (cni_add_network_list(cfg, list, &rt, &result, &err) < 0)
		return fail("add", err);
	if (cni_result_to_json(result, &json, &err) < 0)
		return fail("print", err);
	printf("%s\n", json);
	cni_free(json);
	cni_result_free(result);

	/* CHECK and DEL read the cached result back as prevResult */
	if (cni_check_network_list(cfg, list, &rt, &err) < 0)
		return fail("check", err);
	if (cni_del_network_list(cfg, list, &rt, &err) < 0)
		return fail("del", err);

	cni_config_free(cfg);
	cni_conflist_free(list);
	return 0;
}
