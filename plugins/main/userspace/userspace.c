/* SPDX-License-Identifier: Apache-2.0 */
/*
 * userspace: the control plane for containers on a DPDK data path. The OVS-DPDK engine
 * gets a vhost-user port on a netdev bridge for each attachment; the DPDK application in
 * the container finds the socket, and a JSON file with its addressing, in the shared
 * directory the runtime mounts into it. Configuration as intel's
 * userspace-cni-network-plugin; only the ovs-dpdk engine and the vhostuser type exist here.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cni/cni.h>

#include "ovsdb.h"

#define DEFAULT_OVSDB "/run/openvswitch/db.sock"
#define DEFAULT_BRIDGE "br0"
#define DEFAULT_TIMEOUT_MS 5000
#define PORT_NAME_MAX 64

typedef struct us_conf {
	cni_conf *conf;
	json_t *root;
	bool server;          /* host vhost mode: OVS owns the socket */
	const char *bridge;   /* host.bridge.bridgeName */
	const char *shared;   /* sharedDir */
	const char *ovsdb;    /* ovsdbSocket */
	const char *sock_dir; /* vhostSocketDir: where OVS makes server sockets */
	int timeout_ms;
	char port[PORT_NAME_MAX];          /* OVS port and socket file name */
	char sock_path[PATH_MAX];          /* the socket in the shared dir */
	char conf_path[PATH_MAX];          /* the file for the application */
	char ovs_sock[PATH_MAX];           /* server mode: where OVS makes it */
} us_conf;

static void us_conf_done(us_conf *c)
{
	cni_conf_free(c->conf);
	json_decref(c->root);
	memset(c, 0, sizeof(*c));
}

/* A member of the wrong JSON type: code 6, with the value as given. */
static int bad_type(cni_error **err, const char *key, const char *want, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	int r = cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
			      "userspace: %s must be %s (got %s)", key, want, s ? s : "?");
	free(s);
	return r;
}

static int bad(cni_error **err, const char *key, const char *why, const char *val)
{
	return cni_error_set(err, CNI_ERR_INVALID_NETWORK_CONFIG, NULL, "userspace: %s %s%s%s%s",
			     key, why, val ? " (got \"" : "", val ? val : "", val ? "\")" : "");
}

/* An optional member of JSON type t (want names it in errors): *out is NULL when absent
 * or null. */
static int opt_member(json_t *obj, const char *key, const char *field, json_type t,
		      const char *want, json_t **out, cni_error **err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_typeof(v) != t)
		return bad_type(err, field, want, v);
	*out = v;
	return 0;
}

/* An optional string member: *out stays as it was when absent. */
static int opt_string(json_t *obj, const char *key, const char *field, const char **out,
		      cni_error **err)
{
	json_t *v;
	int r = opt_member(obj, key, field, JSON_STRING, "a string", &v, err);
	if (v)
		*out = json_string_value(v);
	return r;
}

static int opt_object(json_t *obj, const char *key, const char *field, json_t **out,
		      cni_error **err)
{
	return opt_member(obj, key, field, JSON_OBJECT, "an object", out, err);
}

/* host or container: engine, iftype, netType, vhost.mode; *mode is "" when absent. */
static int side(json_t *root, const char *name, const char **mode, cni_error **err)
{
	json_t *s, *vh;
	const char *engine = NULL, *iftype = NULL, *nettype = NULL;
	char f[64];
	int r;
	*mode = "";
	if ((r = opt_object(root, name, name, &s, err)) < 0)
		return r;
	if (!s) {
		if (strcmp(name, "host") == 0)
			return bad(err, "host", "is required", NULL);
		return 0;
	}
	snprintf(f, sizeof(f), "%s.engine", name);
	if ((r = opt_string(s, "engine", f, &engine, err)) < 0)
		return r;
	if (!engine)
		return bad(err, f, "is required", NULL);
	if (strcmp(engine, "vpp") == 0)
		return bad(err, f, "vpp is not supported by this build, only ovs-dpdk", engine);
	if (strcmp(engine, "ovs-dpdk") != 0)
		return bad(err, f, "must be ovs-dpdk", engine);
	snprintf(f, sizeof(f), "%s.iftype", name);
	if ((r = opt_string(s, "iftype", f, &iftype, err)) < 0)
		return r;
	if (!iftype)
		return bad(err, f, "is required", NULL);
	if (strcmp(iftype, "memif") == 0)
		return bad(err, f, "memif is not supported by the ovs-dpdk engine, only vhostuser",
			   iftype);
	if (strcmp(iftype, "vhostuser") != 0)
		return bad(err, f, "must be vhostuser", iftype);
	snprintf(f, sizeof(f), "%s.netType", name);
	if ((r = opt_string(s, "netType", f, &nettype, err)) < 0)
		return r;
	if (nettype && *nettype && strcmp(nettype, "bridge") != 0 &&
	    strcmp(nettype, "interface") != 0)
		return bad(err, f, "must be bridge or interface", nettype);
	snprintf(f, sizeof(f), "%s.vhost", name);
	if ((r = opt_object(s, "vhost", f, &vh, err)) < 0)
		return r;
	snprintf(f, sizeof(f), "%s.vhost.mode", name);
	if (vh && (r = opt_string(vh, "mode", f, mode, err)) < 0)
		return r;
	if (**mode && strcmp(*mode, "client") != 0 && strcmp(*mode, "server") != 0)
		return bad(err, f, "must be client or server", *mode);
	return 0;
}

static int load_conf(const cni_cmd_args *args, us_conf *c, cni_error **err)
{
	json_error_t je;
	json_t *host, *br;
	const char *hmode, *cmode;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = cni_conf_from_bytes(&c->conf, args->stdin_data, args->stdin_len, err)) < 0)
		return r;
	c->root = json_loadb(args->stdin_data, args->stdin_len, 0, &je);
	if (!json_is_object(c->root))
		return cni_error_set(err, CNI_ERR_DECODING_FAILURE, NULL,
				     "failed to load netconf: %s", je.text);
	if ((r = side(c->root, "host", &hmode, err)) < 0 ||
	    (r = side(c->root, "container", &cmode, err)) < 0)
		return r;
	c->server = strcmp(hmode, "client") != 0; /* the reference's default is server */
	if (*cmode && strcmp(cmode, hmode[0] ? hmode : "server") == 0)
		return bad(err, "container.vhost.mode",
			   "must be the opposite of host.vhost.mode", cmode);
	host = json_object_get(c->root, "host");
	c->bridge = DEFAULT_BRIDGE;
	if ((r = opt_object(host, "bridge", "host.bridge", &br, err)) < 0 ||
	    (br && (r = opt_string(br, "bridgeName", "host.bridge.bridgeName", &c->bridge,
				   err)) < 0))
		return r;
	if (!*c->bridge || strlen(c->bridge) > 15 || strchr(c->bridge, '/'))
		return bad(err, "host.bridge.bridgeName", "must be a name of 1 to 15 characters",
			   c->bridge);
	if ((r = opt_string(c->root, "sharedDir", "sharedDir", &c->shared, err)) < 0)
		return r;
	if (!c->shared || c->shared[0] != '/')
		return bad(err, "sharedDir", "must be an absolute path", c->shared);
	c->ovsdb = DEFAULT_OVSDB;
	if ((r = opt_string(c->root, "ovsdbSocket", "ovsdbSocket", &c->ovsdb, err)) < 0)
		return r;
	if (c->ovsdb[0] != '/')
		return bad(err, "ovsdbSocket", "must be an absolute path", c->ovsdb);
	if ((r = opt_string(c->root, "vhostSocketDir", "vhostSocketDir", &c->sock_dir, err)) < 0)
		return r;
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	json_t *t;
	if ((r = opt_member(c->root, "ovsdbTimeout", "ovsdbTimeout", JSON_INTEGER, "an integer", &t,
			    err)) < 0)
		return r;
	if (t) {
		if (json_integer_value(t) < 1 || json_integer_value(t) > 600) {
			char n[32];
			snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(t));
			return bad(err, "ovsdbTimeout", "must be a number of seconds from 1 to 600",
				   n);
		}
		c->timeout_ms = (int)json_integer_value(t) * 1000;
	}

	/* names: <first 12 of the container ID>-<ifname>, as the reference's */
	/* GC and STATUS have no attachment to name */
	if (strcmp(args->command, "GC") == 0 || strcmp(args->command, "STATUS") == 0)
		return 0;
	if (!*args->container_id || !*args->ifname)
		return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
				     "userspace: CNI_CONTAINERID and CNI_IFNAME are required");
	for (const char *p = args->ifname; *p; p++)
		if (*p == '/')
			return cni_error_set(err, CNI_ERR_INVALID_ENVIRONMENT_VARIABLES, NULL,
					     "userspace: bad CNI_IFNAME %s", args->ifname);
	snprintf(c->port, sizeof(c->port), "%.12s-%.40s", args->container_id, args->ifname);
	for (char *p = c->port; *p; p++)
		if (*p == '/')
			*p = '_';
	char dir[PATH_MAX];
	if (!c->sock_dir) {
		snprintf(dir, sizeof(dir), "%s", c->ovsdb);
		*strrchr(dir, '/') = 0;
		c->sock_dir = dir;
	}
	if ((size_t)snprintf(c->sock_path, sizeof(c->sock_path), "%s/%s", c->shared, c->port) >=
		sizeof(c->sock_path) ||
	    (size_t)snprintf(c->conf_path, sizeof(c->conf_path), "%s/%s.json", c->shared,
			     c->port) >= sizeof(c->conf_path) ||
	    (size_t)snprintf(c->ovs_sock, sizeof(c->ovs_sock), "%s/%s", *c->sock_dir ? c->sock_dir : "",
			     c->port) >= sizeof(c->ovs_sock))
		return bad(err, "sharedDir", "is too long", c->shared);
	c->sock_dir = NULL; /* it may point at the stack */
	return 0;
}

/* ---- OVSDB ---- */

static json_t *named_set(const char *name)
{
	return json_pack("[s, [[s, s]]]", "set", "named-uuid", name);
}

static int bridge_exists(ovsdb *db, const char *name, bool *yes, cni_error **err)
{
	static const char *const cols[] = {"_uuid", NULL};
	json_t *rows = NULL;
	int r = ovsdb_select(db, "Bridge", "name", name, cols, &rows, err);
	if (r == 0)
		*yes = json_array_size(rows) > 0;
	json_decref(rows);
	return r;
}

/* The port's interface row (type, options), or NULL when there is none. */
static int find_interface(ovsdb *db, const char *port, json_t **row, cni_error **err)
{
	static const char *const cols[] = {"_uuid", "type", "options", NULL};
	json_t *rows = NULL;
	int r = ovsdb_select(db, "Interface", "name", port, cols, &rows, err);
	*row = NULL;
	if (r == 0 && json_array_size(rows))
		*row = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return r;
}

/* What an ADD made in OVS, for its rollback: the bridge's and its internal port's UUIDs
 * when this ADD made the bridge, else empty strings. */
typedef struct us_made {
	bool port;
	char bridge[40];
	char bport[40];
} us_made;

static void copy_uuid(char out[40], json_t *res, size_t op)
{
	json_t *u = json_array_get(json_object_get(json_array_get(res, op), "uuid"), 1);
	snprintf(out, 40, "%s", json_is_string(u) ? json_string_value(u) : "");
}

/* The UUID of the row of table whose name is name into out, "" when there is none. */
static int row_uuid(ovsdb *db, const char *table, const char *name, char out[40],
		    cni_error **err)
{
	static const char *const cols[] = {"_uuid", NULL};
	json_t *rows = NULL;
	int r = ovsdb_select(db, table, "name", name, cols, &rows, err);
	json_t *u = json_array_get(json_object_get(json_array_get(rows, 0), "_uuid"), 1);
	snprintf(out, 40, "%s", r == 0 && json_is_string(u) ? json_string_value(u) : "");
	json_decref(rows);
	return r;
}

/* A transaction that failed other than by OVSDB's answer (a send, receive or poll that
 * failed, the deadline) may have been applied, its answer lost. Look: our port there
 * means it was (nobody else adds a port of this name: the ADD checked it was free), and
 * the ADD goes on with what it made, as if the answer had come. When even looking fails,
 * the rollback is told to delete the port by name all the same. */
static int lost_answer(ovsdb *db, const us_conf *c, bool have_bridge, us_made *made, int r)
{
	char port[40];
	ovsdb_renew(db, c->timeout_ms);
	if (row_uuid(db, "Port", c->port, port, NULL) < 0) {
		made->port = true;
		return r;
	}
	if (!port[0])
		return r;
	made->port = true;
	if (!have_bridge && (row_uuid(db, "Bridge", c->bridge, made->bridge, NULL) < 0 ||
			     row_uuid(db, "Port", c->bridge, made->bport, NULL) < 0))
		made->bridge[0] = made->bport[0] = '\0';
	return 0;
}

/* One try at adding the port: to the bridge, asserting in the same transaction that the
 * bridge is still there (a failed ADD's rollback may delete one it made); or with a new
 * bridge (netdev datapath and its internal port) when there is none. */
static int add_port_once(ovsdb *db, const us_conf *c, bool have_bridge, us_made *made,
			 cni_error **err)
{
	json_t *irow = json_pack("{s:s, s:s}", "name", c->port, "type",
				 c->server ? "dpdkvhostuser" : "dpdkvhostuserclient");
	if (irow && !c->server)
		json_object_set_new(irow, "options",
				    json_pack("[s, [[s, s]]]", "map", "vhost-server-path",
					      c->sock_path));
	json_t *ops = json_pack(
	    "[{s:s, s:s, s:o, s:s}, {s:s, s:s, s:{s:s, s:o}, s:s}]", "op", "insert", "table",
	    "Interface", "row", irow, "uuid-name", "iface", "op", "insert", "table", "Port",
	    "row", "name", c->port, "interfaces", named_set("iface"), "uuid-name", "port");
	if (!ops)
		return cni_error_oom(err);
	if (have_bridge) {
		json_array_append_new(
		    ops,
		    json_pack("{s:s, s:s, s:[[s, s, s]], s:[s], s:s, s:[{s:s}], s:i}", "op", "wait",
			      "table", "Bridge", "where", "name", "==", c->bridge, "columns",
			      "name", "until", "==", "rows", "name", c->bridge, "timeout", 0));
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:[[s, s, s]], s:[[s, s, o]]}", "op", "mutate",
				   "table", "Bridge", "where", "name", "==", c->bridge, "mutations",
				   "ports", "insert", named_set("port")));
	} else {
		json_t *ports = json_pack("[s, [[s, s], [s, s]]]", "set", "named-uuid", "port",
					  "named-uuid", "bport");
		json_array_append_new(ops, json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}", "op",
						     "insert", "table", "Interface", "row", "name",
						     c->bridge, "type", "internal", "uuid-name",
						     "biface"));
		json_array_append_new(ops, json_pack("{s:s, s:s, s:{s:s, s:o}, s:s}", "op",
						     "insert", "table", "Port", "row", "name",
						     c->bridge, "interfaces", named_set("biface"),
						     "uuid-name", "bport"));
		json_array_append_new(ops, json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:s}", "op",
						     "insert", "table", "Bridge", "row", "name",
						     c->bridge, "datapath_type", "netdev", "ports",
						     ports, "uuid-name", "br"));
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:[], s:[[s, s, o]]}", "op", "mutate", "table",
				   "Open_vSwitch", "where", "mutations", "bridges", "insert",
				   named_set("br")));
	}
	json_t *res = NULL;
	cni_error *e = NULL;
	int r = ovsdb_transact(db, ops, &res, &e);
	if (r == 0) {
		made->port = true;
		if (!have_bridge) {
			copy_uuid(made->bport, res, 3);
			copy_uuid(made->bridge, res, 4);
		}
	} else if (r != -CNI_ERR_INTERNAL) { /* OVSDB's own "no" is atomic: nothing applied */
		r = lost_answer(db, c, have_bridge, made, r);
	}
	if (r < 0 && err && !*err)
		*err = e;
	else
		cni_error_free(e);
	json_decref(res);
	return r;
}

/* Add the port, and the bridge when it is missing. Another ADD may make the same bridge
 * at the same time (the name is unique: one of the inserts fails), or a failing one
 * delete it under us (the wait fails): when the bridge's existence changed since we
 * looked, look again and retry. */
static int add_port(ovsdb *db, const us_conf *c, us_made *made, cni_error **err)
{
	cni_error *e = NULL;
	bool have = false, now = false;
	int r;
	if ((r = bridge_exists(db, c->bridge, &have, err)) < 0)
		return r;
	for (int attempt = 0;; attempt++) {
		if ((r = add_port_once(db, c, have, made, &e)) == 0)
			return 0;
		if (attempt == 2 || bridge_exists(db, c->bridge, &now, NULL) < 0 || now == have)
			break;
		cni_error_free(e);
		e = NULL;
		have = now;
	}
	if (e)
		cni_error_prefix(e, "userspace: could not add port %s to bridge %s", c->port,
				 c->bridge);
	if (err && !*err)
		*err = e;
	else
		cni_error_free(e);
	return r;
}

/* Rollback: the bridge this ADD made goes, but only while its ports are exactly its
 * internal one. The check and the delete are one transaction, and a concurrent ADD's
 * port insert asserts the bridge exists, so OVSDB orders the two: either that port is in
 * and the bridge stays, or the bridge is gone and the other ADD makes it anew. */
static void del_bridge_if_idle(ovsdb *db, const us_made *made)
{
	json_t *res = NULL;
	if (!made->bridge[0] || !made->bport[0])
		return;
	json_t *ops =
	    json_pack("[{s:s, s:s, s:[[s, s, [s, s]]], s:[s], s:s, s:[{s:[s, [[s, s]]]}], s:i},"
		      " {s:s, s:s, s:[], s:[[s, s, [s, [[s, s]]]]]}]",
		      "op", "wait", "table", "Bridge", "where", "_uuid", "==", "uuid", made->bridge,
		      "columns", "ports", "until", "==", "rows", "ports", "set", "uuid",
		      made->bport, "timeout", 0, "op", "mutate", "table", "Open_vSwitch", "where",
		      "mutations", "bridges", "delete", "set", "uuid", made->bridge);
	if (ops)
		ovsdb_transact(db, ops, &res, NULL);
	json_decref(res);
}

/* Remove the port from whatever bridge has it; nothing to do when there is none. OVSDB
 * drops the Port and Interface rows once no bridge refers to them. */
static int del_port(ovsdb *db, const char *port, cni_error **err)
{
	static const char *const cols[] = {"_uuid", NULL};
	json_t *rows = NULL, *res = NULL;
	int r = ovsdb_select(db, "Port", "name", port, cols, &rows, err);
	if (r < 0 || json_array_size(rows) == 0) {
		json_decref(rows);
		return r;
	}
	json_t *uuid = json_object_get(json_array_get(rows, 0), "_uuid");
	json_t *ops = json_pack("[{s:s, s:s, s:[[s, s, [s, [O]]]], s:[[s, s, [s, [O]]]]}]", "op",
				"mutate", "table", "Bridge", "where", "ports", "includes", "set",
				uuid, "mutations", "ports", "delete", "set", uuid);
	json_decref(rows);
	if (!ops)
		return cni_error_oom(err);
	r = ovsdb_transact(db, ops, &res, err);
	json_decref(res);
	if (r < 0)
		cni_error_prefix(*err, "userspace: could not delete port %s", port);
	return r;
}

/* ---- files ---- */

static void random_mac(char out[18])
{
	unsigned char b[6] = {0};
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
		unsigned int s = (unsigned int)time(NULL) ^ (unsigned int)getpid();
		for (int i = 0; i < 6; i++)
			b[i] = (unsigned char)rand_r(&s);
	}
	if (fd >= 0)
		close(fd);
	b[0] = (unsigned char)((b[0] & 0xfe) | 0x02); /* unicast, locally administered */
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

/* The socket's place in the shared dir. Server mode: OVS makes the socket in its own
 * directory; a hard link puts the same socket in the shared dir once it appears. */
static int link_socket(const us_conf *c, int timeout_ms, cni_error **err)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	for (int waited = 0;; waited += 20) {
		struct stat st;
		if (stat(c->ovs_sock, &st) == 0 && S_ISSOCK(st.st_mode))
			break;
		if (waited >= timeout_ms)
			return cni_error_set(err, CNI_ERR_INTERNAL, NULL,
					     "userspace: OVS did not create the socket %s "
					     "(set vhostSocketDir if OVS keeps it elsewhere)",
					     c->ovs_sock);
		nanosleep(&ts, NULL);
	}
	if (link(c->ovs_sock, c->sock_path) < 0)
		return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
				     "userspace: could not link %s to %s: %s", c->ovs_sock,
				     c->sock_path, strerror(errno));
	return 0;
}

/* The file for the application in the container, written whole or not at all. */
static int write_app_conf(const us_conf *c, const cni_cmd_args *args, const char *mac,
			  const cni_result *ipam, cni_error **err)
{
	json_t *ips = json_array(), *routes = json_array();
	for (size_t i = 0; i < cni_result_ip_count(ipam); i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_result_get_ip(ipam, i, &ip);
		json_t *o = json_pack("{s:s}", "address", ip.address);
		if (ip.gateway)
			json_object_set_new(o, "gateway", json_string(ip.gateway));
		json_array_append_new(ips, o);
	}
	for (size_t i = 0; i < cni_result_route_count(ipam); i++) {
		cni_route rt = CNI_ROUTE_INIT;
		cni_result_get_route(ipam, i, &rt);
		json_t *o = json_pack("{s:s}", "dst", rt.dst);
		if (rt.gw)
			json_object_set_new(o, "gw", json_string(rt.gw));
		json_array_append_new(routes, o);
	}
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "containerId",
				args->container_id, "ifName", args->ifname, "iftype", "vhostuser",
				"mode", c->server ? "client" : "server", "socketFile",
				c->port, "socketPath", c->sock_path, "mac", mac, "ips", ips,
				"routes", routes);
	char *s = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (!s)
		return cni_error_oom(err);
	char *text = NULL;
	int r = asprintf(&text, "%s\n", s) < 0
			? cni_error_oom(err)
			: cni_file_write_atomic(c->conf_path, text, strlen(text), 0644,
						CNI_FILE_DURABLE, err);
	free(text);
	free(s);
	return r;
}

static void remove_files(const us_conf *c)
{
	cni_file_remove(c->conf_path, NULL);
	/* in client mode the socket is the application's; it is ours to remove only here */
	unlink(c->sock_path);
}

/* What an ADD made of sharedDir, for its rollback: once one directory of the path is
 * made, every one below it is new too, so where the first ends is enough. */
typedef struct us_dirs {
	char path[PATH_MAX];
	size_t from; /* the length of the first directory made; 0: none */
} us_dirs;

/* sharedDir and its parents, as the runtime may not have made it yet */
static int mkdir_p(const char *dir, us_dirs *made, cni_error **err)
{
	char *p = made->path;
	snprintf(p, sizeof(made->path), "%s", dir);
	made->from = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, 0755) == 0) {
			if (!made->from)
				made->from = (size_t)(s - p);
		} else if (errno != EEXIST) {
			int r = cni_error_set(err, CNI_ERR_IO_FAILURE, NULL,
					      "userspace: sharedDir %s: %s", p, strerror(errno));
			*strrchr(p, '/') = 0; /* the path made so far, for rmdir_made() */
			return r;
		}
		if (!(*s = c))
			return 0;
	}
}

/* Rollback: the directories made above, innermost first, each only while it is empty
 * (rmdir refuses otherwise, and then its parents are not empty either). */
static void rmdir_made(us_dirs *made)
{
	char *p = made->path;
	size_t n = strlen(p);

	while (made->from && n > 1 && p[n - 1] == '/')
		p[--n] = 0;
	while (made->from && n >= made->from && rmdir(p) == 0) {
		while (n > 0 && p[n - 1] != '/') /* its name */
			n--;
		while (n > 1 && p[n - 1] == '/') /* and the slashes before it */
			n--;
		p[n] = 0;
	}
}

/* ---- the verbs ---- */

static int build_result(const cni_cmd_args *args, const us_conf *c, const char *mac,
			const cni_result *ipam, cni_result **out, cni_error **err)
{
	cni_result *res = NULL;
	cni_interface it = CNI_INTERFACE_INIT;
	cni_dns dns;
	size_t idx = 0;
	int r;
	it.name = args->ifname;
	it.mac = mac;
	it.sandbox = args->netns;
	if ((r = cni_result_new(&res, cni_conf_cni_version(c->conf), err)) < 0)
		return r;
	if ((r = cni_result_add_interface(res, &it, &idx, err)) < 0)
		goto out;
	it.socket_path = c->sock_path;
	if ((r = cni_result_set_interface(res, idx, &it, err)) < 0)
		goto out;
	for (size_t i = 0; i < cni_result_ip_count(ipam); i++) {
		cni_ip ip = CNI_IP_INIT;
		cni_result_get_ip(ipam, i, &ip);
		ip.interface = (int)idx;
		if ((r = cni_result_add_ip(res, &ip, err)) < 0)
			goto out;
	}
	for (size_t i = 0; i < cni_result_route_count(ipam); i++) {
		cni_route rt = CNI_ROUTE_INIT;
		cni_result_get_route(ipam, i, &rt);
		if ((r = cni_result_add_route(res, &rt, err)) < 0)
			goto out;
	}
	if (cni_result_get_dns(ipam, &dns) == 0 && (r = cni_result_set_dns(res, &dns, err)) < 0)
		goto out;
	*out = res;
	res = NULL;
out:
	cni_result_free(res);
	return r;
}

static int cmd_add(const cni_cmd_args *args, cni_result **result, cni_error **err, void *ud)
{
	us_conf c;
	us_dirs dirs = {.from = 0};
	us_made made = {.port = false};
	ovsdb *db = NULL;
	cni_result *ipam = NULL;
	bool ipam_done = false;
	char mac[18];
	size_t len = 0;
	const char *bytes = NULL;
	int r;
	(void)ud;

	if ((r = load_conf(args, &c, err)) < 0)
		goto out;
	/* from here on, a failure undoes everything this ADD did */
	if ((r = mkdir_p(c.shared, &dirs, err)) < 0)
		goto fail;
	if ((r = ovsdb_open(&db, c.ovsdb, c.timeout_ms, err)) < 0)
		goto fail;
	json_t *row = NULL;
	if ((r = find_interface(db, c.port, &row, err)) < 0)
		goto fail;
	if (row) {
		json_decref(row);
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "userspace: port %s already exists in OVS", c.port);
		goto fail;
	}
	bytes = cni_conf_bytes(c.conf, &len);
	if (cni_conf_ipam_type(c.conf) && *cni_conf_ipam_type(c.conf)) {
		if ((r = cni_ipam_exec_add(bytes, len, &ipam, err)) < 0)
			goto fail;
		ipam_done = true;
	} else if ((r = cni_result_new(&ipam, cni_conf_cni_version(c.conf), err)) < 0) {
		goto fail;
	}
	if ((r = add_port(db, &c, &made, err)) < 0)
		goto fail;
	if (c.server && (r = link_socket(&c, c.timeout_ms, err)) < 0)
		goto fail;
	random_mac(mac);
	if ((r = write_app_conf(&c, args, mac, ipam, err)) < 0 ||
	    (r = build_result(args, &c, mac, ipam, result, err)) < 0)
		goto fail;
	goto out;
fail:
	if (made.port) {
		remove_files(&c);
		ovsdb_renew(db, c.timeout_ms);
		del_port(db, c.port, NULL);
		del_bridge_if_idle(db, &made);
	}
	rmdir_made(&dirs);
	if (ipam_done)
		cni_ipam_exec_del(bytes, len, NULL);
out:
	cni_result_free(ipam);
	ovsdb_close(db);
	us_conf_done(&c);
	return r;
}

static int cmd_del(const cni_cmd_args *args, cni_error **err, void *ud)
{
	us_conf c;
	ovsdb *db = NULL;
	size_t len = 0;
	int r;
	(void)ud;

	if ((r = load_conf(args, &c, err)) < 0)
		goto out;
	/* the port first: while OVS is away DEL fails and can be retried */
	if ((r = ovsdb_open(&db, c.ovsdb, c.timeout_ms, err)) < 0 ||
	    (r = del_port(db, c.port, err)) < 0)
		goto out;
	remove_files(&c);
	const char *bytes = cni_conf_bytes(c.conf, &len);
	if (cni_conf_ipam_type(c.conf) && *cni_conf_ipam_type(c.conf))
		r = cni_ipam_exec_del(bytes, len, err);
out:
	ovsdb_close(db);
	us_conf_done(&c);
	return r;
}

static int cmd_check(const cni_cmd_args *args, cni_error **err, void *ud)
{
	us_conf c;
	ovsdb *db = NULL;
	json_t *row = NULL;
	size_t len = 0;
	struct stat st;
	int r;
	(void)ud;

	if ((r = load_conf(args, &c, err)) < 0)
		goto out;
	const char *bytes = cni_conf_bytes(c.conf, &len);
	if (cni_conf_ipam_type(c.conf) && *cni_conf_ipam_type(c.conf) &&
	    (r = cni_ipam_exec_check(bytes, len, err)) < 0)
		goto out;
	if ((r = ovsdb_open(&db, c.ovsdb, c.timeout_ms, err)) < 0 ||
	    (r = find_interface(db, c.port, &row, err)) < 0)
		goto out;
	const char *want = c.server ? "dpdkvhostuser" : "dpdkvhostuserclient";
	json_t *type = json_object_get(row, "type");
	if (!row) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "userspace: port %s not found in OVS",
				  c.port);
	} else if (!json_is_string(type) || strcmp(json_string_value(type), want) != 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "userspace: port %s is of type %s, not %s", c.port,
				  json_is_string(type) ? json_string_value(type) : "?", want);
	} else if (stat(c.conf_path, &st) < 0) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL, "userspace: %s: %s", c.conf_path,
				  strerror(errno));
	} else if (c.server && (stat(c.sock_path, &st) < 0 || !S_ISSOCK(st.st_mode))) {
		r = cni_error_set(err, CNI_ERR_INTERNAL, NULL,
				  "userspace: the socket %s is missing", c.sock_path);
	}
out:
	json_decref(row);
	ovsdb_close(db);
	us_conf_done(&c);
	return r;
}

/* GC and STATUS: the configuration is checked and the verb forwarded to IPAM. */
static int to_ipam(const cni_cmd_args *args, bool gc, cni_error **err)
{
	us_conf c;
	size_t len = 0;
	int r = load_conf(args, &c, err);
	if (r == 0 && cni_conf_ipam_type(c.conf) && *cni_conf_ipam_type(c.conf)) {
		const char *bytes = cni_conf_bytes(c.conf, &len);
		r = gc ? cni_ipam_exec_gc(bytes, len, err) : cni_ipam_exec_status(bytes, len, err);
	}
	us_conf_done(&c);
	return r;
}

static int cmd_gc(const cni_cmd_args *args, cni_error **err, void *ud)
{
	(void)ud;
	return to_ipam(args, true, err);
}

static int cmd_status(const cni_cmd_args *args, cni_error **err, void *ud)
{
	(void)ud;
	return to_ipam(args, false, err);
}

CNI_PLUGIN_MAIN("CNI userspace plugin libcni-c " LIBCNI_C_VERSION, .add = cmd_add, .del = cmd_del,
		.check = cmd_check, .gc = cmd_gc, .status = cmd_status)
