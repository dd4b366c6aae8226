/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dhcp daemon. The main process only listens: each connection gets a forked handler
 * that reads one request (size- and time-limited) and answers it. A handler that
 * acquired a lease stays on as that lease's keeper: it renews at T1, rebinds at T2,
 * releases on SIGTERM (sent by a DEL's handler) and stops when the link or namespace is
 * gone. Every lease is a file in the state directory, written before the ADD is answered,
 * so a daemon killed with -9 (its keepers die with it) restarts a keeper per file.
 * Keepers hold no namespace between exchanges: a container's namespace is never kept
 * alive by us.
 */
#include "dhcp-daemon.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cni/file.h>

struct daemon_opts {
	const char *socketpath, *pidfile, *hostprefix, *statedir;
	bool broadcast;
	unsigned timeout_ms, resendmax_ms;
};

static struct daemon_opts opts = {
    .socketpath = DHCP_DEFAULT_SOCKET,
    .statedir = DHCP_DEFAULT_STATEDIR,
    .hostprefix = "",
    .timeout_ms = 10000,
    .resendmax_ms = 62000,
};

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t child_flag;
static volatile sig_atomic_t release_flag; /* a keeper's SIGUSR1: release, then exit */
static volatile sig_atomic_t wake_flag;    /* either: cut an exchange short */

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fprintf(stderr, "dhcp[%d]: %s\n", (int)getpid(), buf);
}

static void on_stop(int sig)
{
	if (sig == SIGUSR1)
		release_flag = 1;
	else
		stop_flag = 1;
	wake_flag = 1;
}

static void on_child(int sig)
{
	(void)sig;
	child_flag = 1;
}

/* A duration as Go prints them: "10s", "1m30s", "500ms", "2h"; or plain seconds. */
static int parse_duration(const char *s, unsigned *out_ms)
{
	uint64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		char *end;
		uint64_t mult;
		errno = 0;
		unsigned long long v = strtoull(p, &end, 10);
		if (errno || end == p || v > 100000000ull)
			return -EINVAL;
		p = end;
		if (strncmp(p, "ms", 2) == 0)
			mult = 1, p += 2;
		else if (*p == 's' || *p == '\0')
			mult = 1000, p += *p ? 1 : 0;
		else if (*p == 'm')
			mult = 60000, p++;
		else if (*p == 'h')
			mult = 3600000, p++;
		else
			return -EINVAL;
		total += v * mult;
		if (total > UINT32_MAX)
			return -EINVAL;
	}
	*out_ms = (unsigned)total;
	return 0;
}

/* ---- lease files ------------------------------------------------------------------ */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static void state_path(char *buf, size_t size, const char *key, const char *ext)
{
	snprintf(buf, size, "%s/%016" PRIx64 ".%s", opts.statedir, fnv1a(key), ext);
}

static char *hex_encode(const uint8_t *d, size_t n)
{
	char *s = malloc(n * 2 + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(s + i * 2, 3, "%02x", d[i]);
	return s;
}

static int hex_decode(const char *s, uint8_t *out, size_t max, size_t *n)
{
	size_t l = strlen(s);

	if (l % 2 || l / 2 > max)
		return -EINVAL;
	for (size_t i = 0; i < l / 2; i++) {
		unsigned v;
		if (sscanf(s + i * 2, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	*n = l / 2;
	return 0;
}

/* Start time of a process (field 22 of /proc/pid/stat), 0 when it does not exist: a pid
 * plus its start time names a process even after pids wrap. */
static unsigned long long proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || p[1] == 0 || p[2] == 'Z')
		return 0;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &st);
	return st;
}

struct attach {
	char key[256];
	char network[256];
	bool stopped; /* link gone: not maintained, kept for the DEL that releases it */
	struct dhcp_params p;
	int priority;
	struct dhcp_lease l;
};

static json_t *params_json(const struct attach *a)
{
	json_t *req = json_array(), *prov = json_array();

	for (size_t i = 0; i < a->p.n_request; i++)
		json_array_append_new(req, json_integer(a->p.request[i]));
	for (size_t i = 0; i < a->p.n_provide; i++) {
		char *h = hex_encode(a->p.provide[i].data, a->p.provide[i].len);
		json_array_append_new(prov, json_pack("{s:i,s:s}", "option", a->p.provide[i].code,
						      "hex", h ? h : ""));
		free(h);
	}
	return json_pack("{s:o,s:o}", "request", req, "provide", prov);
}

/* Writes the lease file atomically (cni_file_write_atomic()). */
static int state_write(const struct attach *a)
{
	char path[4200];
	char *raw = hex_encode(a->l.raw, a->l.raw_len);
	json_t *o;
	int r = 0;

	if (!raw)
		return -ENOMEM;
	o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:I,s:i,s:I}", "version",
		      DHCP_PROTO_VERSION, "key", a->key, "network", a->network, "netns", a->p.netns, "ifName", a->p.ifname, "clientID",
		      a->p.client_id, "priority", a->priority, "ack", raw, "acquired",
		      (json_int_t)a->l.acquired, "pid", (int)getpid(), "start",
		      (json_int_t)proc_start(getpid()));
	free(raw);
	if (!o)
		return -ENOMEM;
	json_object_update_new(o, params_json(a));
	json_object_set_new(o, "stopped", json_boolean(a->stopped));
	state_path(path, sizeof(path), a->key, "json");
	char *text = json_dumps(o, JSON_COMPACT);
	if (!text)
		r = -ENOMEM;
	else if (cni_file_write_atomic(path, text, strlen(text), 0600, 0, NULL) < 0)
		r = -EIO;
	free(text);
	json_decref(o);
	return r;
}

/* Reads the request-independent parts shared by a request and a lease file. */
static int parse_params(json_t *o, struct attach *a, char *msg, size_t msgsz)
{
	json_t *req = json_object_get(o, "request"), *prov = json_object_get(o, "provide"), *v;
	size_t i;

	if (req && !json_is_array(req)) {
		snprintf(msg, msgsz, "request must be an array");
		return -EINVAL;
	}
	json_array_foreach(req, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 254 ||
		    a->p.n_request >= DHCP_MAX_REQUEST) {
			snprintf(msg, msgsz, "request[%zu]: not an option code 1..254", i);
			return -EINVAL;
		}
		a->p.request[a->p.n_request++] = (uint8_t)json_integer_value(v);
	}
	if (prov && !json_is_array(prov)) {
		snprintf(msg, msgsz, "provide must be an array");
		return -EINVAL;
	}
	json_array_foreach(prov, i, v)
	{
		json_t *c = json_object_get(v, "option");
		const char *h = json_string_value(json_object_get(v, "hex"));
		struct dhcp_provide *d = &a->p.provide[a->p.n_provide];
		size_t n = 0;
		if (a->p.n_provide >= DHCP_MAX_PROVIDE || !json_is_integer(c) ||
		    json_integer_value(c) < 1 || json_integer_value(c) > 254 || !h ||
		    hex_decode(h, d->data, sizeof(d->data), &n) < 0) {
			snprintf(msg, msgsz, "provide[%zu]: needs option 1..254 and hex of at most "
					     "255 bytes",
				 i);
			return -EINVAL;
		}
		d->code = (uint8_t)json_integer_value(c);
		d->len = (uint8_t)n;
		a->p.n_provide++;
	}
	v = json_object_get(o, "priority");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
		  json_integer_value(v) > INT32_MAX)) {
		snprintf(msg, msgsz, "priority must be a non-negative integer");
		return -EINVAL;
	}
	a->priority = v ? (int)json_integer_value(v) : 0;
	a->p.broadcast = opts.broadcast;
	a->p.timeout_ms = opts.timeout_ms;
	a->p.resendmax_ms = opts.resendmax_ms;
	return 0;
}

static int copy_str(char *dst, size_t size, json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || !*s || strlen(s) >= size)
		return -EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int state_read(const char *path, struct attach *a, pid_t *pid, unsigned long long *start)
{
	json_t *o = json_load_file(path, 0, NULL);
	char msg[256];
	uint8_t raw[DHCP_MAX_LEN];
	size_t n;
	int r = -EINVAL;

	memset(a, 0, sizeof(*a));
	if (!o)
		return -ENOENT;
	if (json_integer_value(json_object_get(o, "version")) != DHCP_PROTO_VERSION ||
	    copy_str(a->key, sizeof(a->key), json_object_get(o, "key")) < 0 ||
	    copy_str(a->network, sizeof(a->network), json_object_get(o, "network")) < 0 ||
	    copy_str(a->p.netns, sizeof(a->p.netns), json_object_get(o, "netns")) < 0 ||
	    copy_str(a->p.ifname, sizeof(a->p.ifname), json_object_get(o, "ifName")) < 0 ||
	    copy_str(a->p.client_id, sizeof(a->p.client_id), json_object_get(o, "clientID")) < 0 ||
	    parse_params(o, a, msg, sizeof(msg)) < 0 ||
	    !json_string_value(json_object_get(o, "ack")) ||
	    hex_decode(json_string_value(json_object_get(o, "ack")), raw, sizeof(raw), &n) < 0 ||
	    dhcp_lease_from_ack(&a->l, raw, n,
				json_integer_value(json_object_get(o, "acquired"))) < 0)
		goto out;
	a->stopped = json_is_true(json_object_get(o, "stopped"));
	*pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	*start = (unsigned long long)json_integer_value(json_object_get(o, "start"));
	r = 0;
out:
	json_decref(o);
	return r;
}

/* ---- results ------------------------------------------------------------------------ */

static char *ip4(uint32_t a, char *buf)
{
	return (char *)inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void add_route(json_t *routes, uint32_t dst, int prefix, uint32_t gw, int priority)
{
	char d[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN], cidr[32];
	json_t *r;

	snprintf(cidr, sizeof(cidr), "%s/%d", ip4(dst, d), prefix);
	r = json_pack("{s:s}", "dst", cidr);
	if (gw)
		json_object_set_new(r, "gw", json_string(ip4(gw, g)));
	if (priority > 0)
		json_object_set_new(r, "priority", json_integer(priority));
	json_array_append_new(routes, r);
}

char *dhcp_lease_result_json(const struct dhcp_lease *l, int priority)
{
	const struct dhcp_msg *m = &l->ack;
	char a[INET_ADDRSTRLEN], cidr[32];
	uint32_t mask, router = 0;
	const uint8_t *d;
	size_t len;
	int prefix;
	json_t *res, *ipo, *routes = json_array(), *dns = json_object();
	struct dhcp_route rt[64];
	char *out;

	if (dhcp_msg_u32(m, DHCP_OPT_SUBNET_MASK, &mask)) {
		prefix = __builtin_popcount(mask);
		if (mask != (prefix ? ~0u << (32 - prefix) : 0))
			prefix = 32; /* a non-contiguous mask: the address alone */
	} else {
		uint8_t first = ((const uint8_t *)&m->yiaddr)[0];
		prefix = first < 128 ? 8 : first < 192 ? 16 : 24;
	}
	snprintf(cidr, sizeof(cidr), "%s/%d", ip4(m->yiaddr, a), prefix);
	ipo = json_pack("{s:s}", "address", cidr);
	d = dhcp_msg_opt(m, DHCP_OPT_ROUTER, &len);
	if (d && len >= 4) {
		memcpy(&router, d, 4);
		json_object_set_new(ipo, "gateway", json_string(ip4(router, a)));
	}
	/* RFC 3442: with option 121 the client ignores option 33 and the router option's
	 * default route */
	d = dhcp_msg_opt(m, DHCP_OPT_CLASSLESS_ROUTES, &len);
	int n = d ? dhcp_parse_classless(d, len, rt, 64) : -1;
	if (n >= 0) {
		for (int i = 0; i < n; i++)
			add_route(routes, rt[i].dst, rt[i].prefix, rt[i].gw, priority);
	} else {
		d = dhcp_msg_opt(m, DHCP_OPT_STATIC_ROUTES, &len);
		n = d ? dhcp_parse_static(d, len, rt, 64) : 0;
		for (int i = 0; i < n; i++)
			add_route(routes, rt[i].dst, rt[i].prefix, rt[i].gw, priority);
		if (router)
			add_route(routes, 0, 0, router, priority);
	}
	d = dhcp_msg_opt(m, DHCP_OPT_DNS, &len);
	if (d && len >= 4) {
		json_t *ns = json_array();
		for (size_t i = 0; i + 4 <= len; i += 4) {
			uint32_t v;
			memcpy(&v, d + i, 4);
			json_array_append_new(ns, json_string(ip4(v, a)));
		}
		json_object_set_new(dns, "nameservers", ns);
	}
	d = dhcp_msg_opt(m, DHCP_OPT_DOMAIN, &len);
	if (d && len > 0) {
		json_t *s = json_stringn_nocheck((const char *)d, strnlen((const char *)d, len));
		if (s && json_string_length(s) && memchr(d, 0, strnlen((const char *)d, len)) == NULL)
			json_object_set_new(dns, "domain", s);
		else
			json_decref(s);
	}
	res = json_pack("{s:s,s:[o],s:o,s:o}", "cniVersion", "1.1.0", "ips", ipo, "routes", routes,
			"dns", dns);
	out = res ? json_dumps(res, JSON_COMPACT) : NULL;
	json_decref(res);
	return out;
}

/* ---- the keeper ------------------------------------------------------------------------ */

static void keeper_release(struct attach *a)
{
	char path[4200];

	int r = dhcp_release(&a->p, &a->l);

	if (r == 0)
		logmsg("%s: released %s", a->key, inet_ntoa((struct in_addr){a->l.ack.yiaddr}));
	else
		logmsg("%s: could not send the release of %s: %s", a->key,
		       inet_ntoa((struct in_addr){a->l.ack.yiaddr}), strerror(-r));
	state_path(path, sizeof(path), a->key, "json");
	cni_file_remove(path, NULL);
}

static void keeper_drop(struct attach *a, const char *why)
{
	char path[4200];

	logmsg("%s: no longer maintained: %s", a->key, why);
	state_path(path, sizeof(path), a->key, "json");
	cni_file_remove(path, NULL);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL); /* SIGTERM cuts it short */
}

/* Never returns. */
static void keeper_loop(struct attach *a)
{
	int64_t retry_at = 0;

	dhcp_cancel = &wake_flag;
	for (;;) {
		int64_t now = (int64_t)time(NULL), t1 = a->l.acquired + a->l.t1,
			t2 = a->l.acquired + a->l.t2, end = a->l.acquired + a->l.lease_time;
		if (release_flag) {
			wake_flag = 0; /* the release must not be cancelled */
			keeper_release(a);
			_exit(0);
		}
		/* SIGTERM (the daemon's service stopping): the lease stays for the next daemon */
		if (stop_flag)
			_exit(0);
		if (!dhcp_link_present(&a->p)) {
			/* the main plugin's DEL removes the link before it calls us: the lease
			 * file stays (marked) so that DEL, or GC, still releases the lease */
			logmsg("%s: no longer maintained: link or namespace gone", a->key);
			a->stopped = true;
			if (state_write(a) < 0)
				keeper_drop(a, "cannot mark the lease file");
			_exit(0);
		}
		if (now >= end) {
			keeper_drop(a, "lease expired");
			_exit(0);
		}
		if (now >= t1 && now >= retry_at) {
			bool rebind = now >= t2;
			int64_t left = (rebind ? end : t2) - now;
			unsigned tmo = (unsigned)(left > 10 ? 10000 : left * 1000 / 2 + 500);
			int r = dhcp_extend(&a->p, &a->l, rebind, tmo);
			if (r == 0) {
				logmsg("%s: %s %s for %us", a->key, rebind ? "rebound" : "renewed",
				       inet_ntoa((struct in_addr){a->l.ack.yiaddr}), a->l.lease_time);
				if (state_write(a) < 0)
					logmsg("%s: could not write the lease file", a->key);
			} else if (r == -ECONNREFUSED) {
				keeper_drop(a, "the server refused the renewal (NAK)");
				_exit(0);
			} else if (r != -ECANCELED) {
				/* RFC 2131 4.4.5: try again after half the time left */
				retry_at = now + (left / 2 > 1 ? left / 2 : 1);
			}
			continue;
		}
		sleep_ms(1000);
	}
}

/* A process of the daemon's: it dies with the daemon, so a restarted daemon finds no
 * keeper of the previous one and starts its own. */
static void die_with_parent(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
}

static void resume_all(void)
{
	DIR *dir = opendir(opts.statedir);
	struct dirent *de;
	pid_t self = getpid();

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		char path[4200];
		struct attach a;
		pid_t pid;
		unsigned long long start;
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", opts.statedir, de->d_name);
		if (state_read(path, &a, &pid, &start) < 0) {
			logmsg("%s: unreadable lease file, ignored", path);
			continue;
		}
		if (time(NULL) >= a.l.acquired + a.l.lease_time) {
			logmsg("%s: lease expired while no daemon ran", a.key);
			unlink(path);
			continue;
		}
		if (a.stopped)
			continue; /* waits for its DEL */
		if (fork() == 0) {
			die_with_parent(self);
			closedir(dir);
			logmsg("%s: resuming lease of %s", a.key,
			       inet_ntoa((struct in_addr){a.l.ack.yiaddr}));
			if (state_write(&a) < 0)
				_exit(1);
			keeper_loop(&a);
		}
	}
	closedir(dir);
}

/* ---- requests ------------------------------------------------------------------------ */

/* 0 when the whole answer went out, -EPIPE (or another -errno) when it did not. */
static int reply(int fd, json_t *o)
{
	char *s;
	int r = 0;

	json_object_set_new(o, "version", json_integer(DHCP_PROTO_VERSION));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	size_t len = strlen(s), off = 0;
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			r = n < 0 ? -errno : -EPIPE;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		r = -EPIPE;
	free(s);
	return r;
}

/* Whether the client closed its end (a plugin that gave up waiting): a half-close after
 * the request (POLLRDHUP) still reads the answer, so only POLLHUP counts. */
static bool client_gone(int fd)
{
	struct pollfd p = {.fd = fd, .events = 0};

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

static void reply_error(int fd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply_error(int fd, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply(fd, json_pack("{s:{s:i,s:s}}", "error", "code", code, "msg", msg));
}

static int reply_lease(int fd, const struct attach *a)
{
	char *res = dhcp_lease_result_json(&a->l, a->priority);
	json_t *r = res ? json_loads(res, 0, NULL) : NULL;

	free(res);
	if (!r) {
		reply_error(fd, 999, "out of memory");
		return -ENOMEM;
	}
	return reply(fd, json_pack("{s:o}", "result", r));
}

/* One lock for changes of the lease files, held briefly (never across an acquisition),
 * so no lock file is left behind per attachment. */
static int lock_key(const char *key)
{
	char path[4200];
	int fd;

	(void)key;
	snprintf(path, sizeof(path), "%s/lock", opts.statedir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Stops the keeper of key (it releases) or, without a live keeper, releases itself.
 * Returns true when there was a lease. */
static bool stop_lease(const char *key)
{
	char path[4200];
	struct attach a;
	pid_t pid;
	unsigned long long start;

	state_path(path, sizeof(path), key, "json");
	if (state_read(path, &a, &pid, &start) < 0 || strcmp(a.key, key) != 0)
		return false;
	if (pid > 0 && start && proc_start(pid) == start && kill(pid, SIGUSR1) == 0) {
		for (int i = 0; i < 150 && access(path, F_OK) == 0; i++)
			sleep_ms(20);
		if (access(path, F_OK) != 0)
			return true;
		kill(pid, SIGKILL);
	}
	keeper_release(&a);
	return true;
}

static void build_key(char *key, size_t size, const char *cid, const char *net, const char *ifn)
{
	snprintf(key, size, "%s/%s/%s", cid, net, ifn);
}

static void handle(int fd, pid_t daemon_pid)
{
	char *buf = malloc(DHCP_MAX_REQUEST_BYTES + 1), msg[256];
	size_t len = 0;
	json_t *req;
	json_error_t jerr;
	const char *cmd, *cid, *net, *ifn, *ns;
	struct attach *a = calloc(1, sizeof(*a));
	struct timeval tv = {5, 0};
	int lock = -1;

	if (!buf || !a)
		_exit(1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (len < DHCP_MAX_REQUEST_BYTES) {
		ssize_t n = recv(fd, buf + len, DHCP_MAX_REQUEST_BYTES - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n))
			break;
	}
	buf[len] = 0;
	req = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &jerr);
	free(buf);
	if (!json_is_object(req)) {
		reply_error(fd, 6, "daemon: request is not a JSON object: %s", jerr.text);
		_exit(0);
	}
	if (json_integer_value(json_object_get(req, "version")) != DHCP_PROTO_VERSION) {
		reply_error(fd, 1, "daemon: protocol version %d expected", DHCP_PROTO_VERSION);
		_exit(0);
	}
	cmd = json_string_value(json_object_get(req, "command"));
	if (!cmd) {
		reply_error(fd, 6, "daemon: request without command");
		_exit(0);
	}
	if (strcmp(cmd, "status") == 0) {
		reply(fd, json_object());
		_exit(0);
	}
	if (strcmp(cmd, "gc") == 0) {
		json_t *valid = json_object_get(req, "valid"), *v;
		const char *gc_net = json_string_value(json_object_get(req, "network"));
		DIR *dir = opendir(opts.statedir);
		struct dirent *de;
		size_t i;
		if (!json_is_array(valid) || !gc_net) {
			reply_error(fd, 6, "daemon: gc needs \"network\" and \"valid\", an array");
			_exit(0);
		}
		while (dir && (de = readdir(dir))) {
			char path[4200];
			pid_t pid;
			unsigned long long start;
			bool keep = false;
			size_t l = strlen(de->d_name);
			if (l < 5 || strcmp(de->d_name + l - 5, ".json") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", opts.statedir, de->d_name);
			/* only the leases of the network being collected */
			if (state_read(path, a, &pid, &start) < 0 || strcmp(a->network, gc_net) != 0)
				continue;
			json_array_foreach(valid, i, v)
			{
				char k[256];
				build_key(k, sizeof(k),
					  json_string_value(json_object_get(v, "containerID")) ?: "",
					  json_string_value(json_object_get(v, "network")) ?: "",
					  json_string_value(json_object_get(v, "ifName")) ?: "");
				if (strcmp(k, a->key) == 0)
					keep = true;
			}
			if (!keep) {
				char key[256];
				memcpy(key, a->key, sizeof(key));
				int lk = lock_key(key);
				logmsg("%s: not among the valid attachments, released by GC", key);
				stop_lease(key);
				if (lk >= 0)
					close(lk);
			}
		}
		if (dir)
			closedir(dir);
		reply(fd, json_object());
		_exit(0);
	}
	cid = json_string_value(json_object_get(req, "containerID"));
	net = json_string_value(json_object_get(req, "network"));
	ifn = json_string_value(json_object_get(req, "ifName"));
	ns = json_string_value(json_object_get(req, "netns"));
	if (!cid || !*cid || !net || !*net || !ifn || !*ifn || strlen(ifn) >= IFNAMSIZ) {
		reply_error(fd, 4, "daemon: containerID, network and ifName (< 16 bytes) are needed");
		_exit(0);
	}
	if (strlen(cid) + strlen(net) + strlen(ifn) + 2 > 254) {
		reply_error(fd, 7, "daemon: client identifier %s/%s/%s is longer than 254 bytes",
			    cid, net, ifn);
		_exit(0);
	}
	build_key(a->key, sizeof(a->key), cid, net, ifn);
	snprintf(a->network, sizeof(a->network), "%s", net);
	memcpy(a->p.client_id, a->key, sizeof(a->key));
	snprintf(a->p.ifname, sizeof(a->p.ifname), "%s", ifn);
	lock = lock_key(a->key);
	if (lock < 0) {
		reply_error(fd, 5, "daemon: cannot lock the lease of %s: %s", a->key, strerror(errno));
		_exit(0);
	}
	if (strcmp(cmd, "del") == 0) {
		stop_lease(a->key);
		reply(fd, json_object());
		_exit(0);
	}
	if (strcmp(cmd, "check") == 0) {
		char path[4200];
		pid_t pid;
		unsigned long long start;
		struct attach cur;
		state_path(path, sizeof(path), a->key, "json");
		if (state_read(path, &cur, &pid, &start) < 0 || strcmp(cur.key, a->key) != 0) {
			reply_error(fd, 3, "daemon: no lease for %s", a->key);
		} else if (time(NULL) >= cur.l.acquired + cur.l.lease_time) {
			reply_error(fd, 999, "daemon: the lease of %s has expired", a->key);
		} else if (!start || proc_start(pid) != start) {
			reply_error(fd, 999, "daemon: the lease of %s is not being maintained",
				    a->key);
		} else {
			reply_lease(fd, &cur);
		}
		_exit(0);
	}
	if (strcmp(cmd, "add") != 0) {
		reply_error(fd, 4, "daemon: unknown command \"%s\"", cmd);
		_exit(0);
	}
	if (!ns || !*ns ||
	    snprintf(a->p.netns, sizeof(a->p.netns), "%s%s", opts.hostprefix, ns) >=
		(int)sizeof(a->p.netns)) {
		reply_error(fd, 4, "daemon: netns is needed");
		_exit(0);
	}
	if (parse_params(req, a, msg, sizeof(msg)) < 0) {
		reply_error(fd, 7, "daemon: %s", msg);
		_exit(0);
	}
	json_decref(req);
	/* an ADD again for the same attachment replaces its lease */
	stop_lease(a->key);
	close(lock);
	int r = dhcp_acquire(&a->p, &a->l);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			reply_error(fd, 11, "no DHCP answer for %s on %s within %ums", a->key,
				    a->p.ifname, a->p.timeout_ms);
		else
			reply_error(fd, 999, "DHCP for %s on %s in %s failed: %s", a->key,
				    a->p.ifname, a->p.netns,
				    r == -ECONNREFUSED ? "the server refused (NAK)" : strerror(-r));
		_exit(0);
	}
	/* The plugin stops waiting after DHCP_PLUGIN_TIMEOUT_MS (and a runtime may kill it
	 * sooner): a lease nobody will hear of, or DEL, is given back at once. */
	if (client_gone(fd)) {
		logmsg("%s: the client left before the lease was answered", a->key);
		keeper_release(a);
		_exit(0);
	}
	lock = lock_key(a->key);
	if (lock < 0 || state_write(a) < 0) {
		dhcp_release(&a->p, &a->l);
		reply_error(fd, 5, "daemon: cannot write the lease file of %s", a->key);
		_exit(0);
	}
	logmsg("%s: leased %s for %us from the server %s", a->key,
	       inet_ntoa((struct in_addr){a->l.ack.yiaddr}), a->l.lease_time,
	       a->l.server ? "known" : "unknown");
	if (reply_lease(fd, a) < 0) {
		logmsg("%s: the answer could not be delivered", a->key);
		keeper_release(a);
		_exit(0);
	}
	close(fd);
	close(lock);
	(void)daemon_pid;
	keeper_loop(a);
}

/* ---- main ------------------------------------------------------------------------------ */

static int listen_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	/* systemd socket activation: our socket is fd 3 */
	if (pid && fds && strtol(pid, NULL, 10) == getpid() && strtol(fds, NULL, 10) >= 1) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		fcntl(3, F_SETFD, FD_CLOEXEC);
		return 3;
	}
	if (strlen(opts.socketpath) >= sizeof(sa.sun_path)) {
		logmsg("socket path too long: %s", opts.socketpath);
		return -1;
	}
	strcpy(sa.sun_path, opts.socketpath);
	char dir[sizeof(sa.sun_path)];
	snprintf(dir, sizeof(dir), "%s", opts.socketpath);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0700);
	}
	unlink(opts.socketpath);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		logmsg("cannot listen on %s: %s", opts.socketpath, strerror(errno));
		return -1;
	}
	chmod(opts.socketpath, 0600);
	return fd;
}

static void usage(void)
{
	fprintf(stderr, "usage: dhcp daemon [-socketpath P] [-pidfile P] [-hostprefix P] "
			"[-statedir P] [-broadcast] [-timeout D] [-resendmax D]\n");
}

int dhcp_daemon_main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_stop};
	pid_t self = getpid();
	int lfd;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (a[0] == '-' && a[1] == '-')
			a++;
		if (strcmp(a, "-broadcast") == 0) {
			opts.broadcast = true;
			continue;
		}
		if (!v) {
			usage();
			return 2;
		}
		i++;
		if (strcmp(a, "-socketpath") == 0)
			opts.socketpath = v;
		else if (strcmp(a, "-pidfile") == 0)
			opts.pidfile = v;
		else if (strcmp(a, "-hostprefix") == 0)
			opts.hostprefix = v;
		else if (strcmp(a, "-statedir") == 0)
			opts.statedir = v;
		else if (strcmp(a, "-timeout") == 0 && parse_duration(v, &opts.timeout_ms) == 0)
			continue;
		else if (strcmp(a, "-resendmax") == 0 &&
			 parse_duration(v, &opts.resendmax_ms) == 0)
			continue;
		else {
			fprintf(stderr, "dhcp daemon: bad option %s %s\n", a, v);
			usage();
			return 2;
		}
	}
	if (opts.timeout_ms == 0 || opts.resendmax_ms == 0) {
		fprintf(stderr, "dhcp daemon: -timeout and -resendmax must be positive\n");
		return 2;
	}
	if (opts.timeout_ms >= DHCP_PLUGIN_TIMEOUT_MS)
		logmsg("-timeout %ums: the plugin waits only %dms; an ADD may fail with 11 while "
		       "the daemon still acquires (that lease is then released)",
		       opts.timeout_ms, DHCP_PLUGIN_TIMEOUT_MS);
	if (mkdir(opts.statedir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "dhcp daemon: cannot create %s: %s\n", opts.statedir,
			strerror(errno));
		return 1;
	}
	lfd = listen_socket();
	if (lfd < 0)
		return 1;
	if (opts.pidfile) {
		FILE *f = fopen(opts.pidfile, "we");
		if (f) {
			fprintf(f, "%d\n", (int)self);
			fclose(f);
		}
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	logmsg("listening on %s, leases in %s", opts.socketpath, opts.statedir);
	resume_all();
	while (!stop_flag) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int c;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		child_flag = 0;
		if (poll(&p, 1, 1000) <= 0)
			continue;
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			die_with_parent(self);
			signal(SIGCHLD, SIG_DFL);
			handle(c, self);
			_exit(0);
		}
		close(c);
	}
	/* leases stay: a stopped daemon (an upgrade, a restart) resumes them from the files */
	logmsg("stopping; leases are kept in %s", opts.statedir);
	return 0; /* the keepers die with us (PR_SET_PDEATHSIG) */
}
