/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dhcp daemon, one process. The main thread only listens: each connection gets a
 * handler thread that reads one request (size- and time-limited) and answers it. A
 * handler that acquired a lease stays on as that lease's keeper: it renews at T1, rebinds
 * at T2, releases when a DEL's (or GC's) handler asks it to and ends when the link or
 * namespace is gone; the thread ends with its lease. Every lease is a file in the state
 * directory, written before the ADD is answered, so a daemon killed with -9 (its keepers
 * die with it) restarts a keeper per file. Keepers hold no namespace between exchanges,
 * and no thread of ours is ever in one (libcni enters it on a short-lived thread of its
 * own): a container's namespace is never kept alive by us.
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
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cni/file.h>

#include "plugin-daemon.h"

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

/* SIGTERM or SIGINT (the service stopping): every thread ends, the leases stay for the
 * next daemon. Lock-free, so the signal handler may set it. */
static atomic_int stop_flag;

/* One line in one write(): the threads' lines never interleave. */
static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	char buf[1100];
	va_list ap;
	int n = snprintf(buf, sizeof(buf), "dhcp[%d]: ", (int)getpid()), m;
	size_t room = sizeof(buf) - (size_t)n - 1; /* and the newline */

	va_start(ap, fmt);
	m = vsnprintf(buf + n, room, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += (size_t)m < room ? m : (int)room - 1;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return; /* nowhere to say so */
}

static void on_stop(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
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
 * plus its start time names a process even after pids wrap. A lease file names the
 * process that keeps it (the daemon; a keeper process in daemons that forked one per
 * lease), for people; this daemon knows its keepers by their lease's key. */
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

/* Reads a lease file; "pid" and "start" are not needed to resume it. */
static int state_read(const char *path, struct attach *a)
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

/* ---- threads ---------------------------------------------------------------------------- */

/*
 * A thread of the daemon's: a connection's handler, which stays on as the keeper of the
 * lease it acquired, or a keeper resumed from a lease file. Every worker is in the list
 * from before its thread starts until the main thread has joined it; the list, key, conn,
 * done and waiters are under workers_lock.
 */
struct worker {
	struct worker *next;
	pthread_t thread;
	int conn;              /* the connection; -1 once the thread closed it */
	int wake;              /* eventfd, readable once the thread is to end (dhcp_cancel_fd) */
	char key[256];         /* the lease it keeps; "" while it only handles a request */
	atomic_bool release;   /* a DEL's or GC's: release the lease, then end */
	bool done;             /* the thread has finished with its lease and connection */
	int waiters;           /* stop_keeper()s waiting for done: not joined before 0 */
	struct attach *resume; /* a lease file's attachment to keep, handed over at start */
};

static pthread_mutex_t workers_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t workers_done; /* on CLOCK_MONOTONIC, set up by workers_init() */
static struct worker *workers;
static int reap_fd = -1; /* eventfd: a worker may be joined */

static int workers_init(void)
{
	pthread_condattr_t ca;
	int r = pthread_condattr_init(&ca);

	if (r == 0 && (r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
		r = pthread_cond_init(&workers_done, &ca);
	pthread_condattr_destroy(&ca);
	reap_fd = r ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return r ? -r : reap_fd < 0 ? -errno : 0;
}

static void notify(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0)
		return; /* an eventfd at its maximum is readable anyway */
}

static void worker_close_conn(struct worker *w)
{
	pthread_mutex_lock(&workers_lock);
	int fd = w->conn;
	w->conn = -1;
	pthread_mutex_unlock(&workers_lock);
	if (fd >= 0)
		close(fd);
}

/* Sets (or, with "", clears) the key of the lease w keeps, where DEL finds it. */
static void worker_claim(struct worker *w, const char *key)
{
	pthread_mutex_lock(&workers_lock);
	snprintf(w->key, sizeof(w->key), "%s", key);
	pthread_mutex_unlock(&workers_lock);
}

/* The live keeper of key other than me; under workers_lock. */
static struct worker *keeper_of(const char *key, const struct worker *me)
{
	for (struct worker *w = workers; w; w = w->next)
		if (w != me && !w->done && strcmp(w->key, key) == 0)
			return w;
	return NULL;
}

static bool keeper_alive(const char *key)
{
	pthread_mutex_lock(&workers_lock);
	bool alive = keeper_of(key, NULL) != NULL;
	pthread_mutex_unlock(&workers_lock);
	return alive;
}

/* Asks the keeper of key, if there is one, to release its lease and waits until it has
 * ended: a release sends one message and waits for none, so 5 s is ample. */
static void stop_keeper(struct worker *me, const char *key)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&workers_lock);
	struct worker *w = keeper_of(key, me);
	if (w) {
		atomic_store(&w->release, true);
		notify(w->wake);
		w->waiters++;
		while (!w->done &&
		       pthread_cond_timedwait(&workers_done, &workers_lock, &until) == 0)
			;
		if (--w->waiters == 0 && w->done)
			notify(reap_fd);
	}
	pthread_mutex_unlock(&workers_lock);
}

/* Joins the workers that are done. */
static void reap(void)
{
	struct worker **pp = &workers, *gone = NULL;
	uint64_t n;

	if (read(reap_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		logmsg("cannot read the reaper's eventfd: %s", strerror(errno));
	pthread_mutex_lock(&workers_lock);
	while (*pp) {
		struct worker *w = *pp;
		if (w->done && !w->waiters) {
			*pp = w->next;
			w->next = gone;
			gone = w;
		} else {
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&workers_lock);
	while (gone) {
		struct worker *w = gone;
		gone = w->next;
		pthread_join(w->thread, NULL);
		close(w->wake);
		free(w);
	}
}

/* ---- the keeper ------------------------------------------------------------------------ */

static void keeper_release(struct attach *a)
{
	char path[4200], ip[INET_ADDRSTRLEN];

	int r = dhcp_release(&a->p, &a->l);

	if (r == 0)
		logmsg("%s: released %s", a->key, ip4(a->l.ack.yiaddr, ip));
	else
		logmsg("%s: could not send the release of %s: %s", a->key,
		       ip4(a->l.ack.yiaddr, ip), strerror(-r));
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

/* Keeps a's lease until a DEL releases it, it is lost or the daemon stops. */
static void keeper_loop(struct worker *w, struct attach *a)
{
	char ip[INET_ADDRSTRLEN];
	int64_t retry_at = 0;

	for (;;) {
		int64_t now = (int64_t)time(NULL), t1 = a->l.acquired + a->l.t1,
			t2 = a->l.acquired + a->l.t2, end = a->l.acquired + a->l.lease_time;
		if (atomic_load(&w->release)) {
			keeper_release(a);
			return;
		}
		/* the daemon's service stopping: the lease stays for the next daemon */
		if (atomic_load(&stop_flag))
			return;
		if (!dhcp_link_present(&a->p)) {
			/* the main plugin's DEL removes the link before it calls us: the lease
			 * file stays (marked) so that DEL, or GC, still releases the lease */
			logmsg("%s: no longer maintained: link or namespace gone", a->key);
			a->stopped = true;
			if (state_write(a) < 0)
				keeper_drop(a, "cannot mark the lease file");
			return;
		}
		if (now >= end) {
			keeper_drop(a, "lease expired");
			return;
		}
		if (now >= t1 && now >= retry_at) {
			bool rebind = now >= t2;
			int64_t left = (rebind ? end : t2) - now;
			unsigned tmo = (unsigned)(left > 10 ? 10000 : left * 1000 / 2 + 500);
			int r = dhcp_extend(&a->p, &a->l, rebind, tmo);
			if (r == 0) {
				logmsg("%s: %s %s for %us", a->key, rebind ? "rebound" : "renewed",
				       ip4(a->l.ack.yiaddr, ip), a->l.lease_time);
				if (state_write(a) < 0)
					logmsg("%s: could not write the lease file", a->key);
			} else if (r == -ECONNREFUSED) {
				keeper_drop(a, "the server refused the renewal (NAK)");
				return;
			} else if (r != -ECANCELED) {
				/* RFC 2131 4.4.5: try again after half the time left */
				retry_at = now + (left / 2 > 1 ? left / 2 : 1);
			}
			continue;
		}
		/* a second, or until a DEL or the daemon's stop wakes us */
		struct pollfd p = {.fd = w->wake, .events = POLLIN};
		poll(&p, 1, 1000);
	}
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

/* Ends the lease of key: its keeper releases it or, without one (its link went, or it
 * was never resumed), we release it from its lease file. */
static void stop_lease(struct worker *me, const char *key)
{
	char path[4200];
	struct attach *a = malloc(sizeof(*a));

	stop_keeper(me, key);
	state_path(path, sizeof(path), key, "json");
	if (a && state_read(path, a) == 0 && strcmp(a->key, key) == 0)
		keeper_release(a);
	free(a);
}

static void build_key(char *key, size_t size, const char *cid, const char *net, const char *ifn)
{
	snprintf(key, size, "%s/%s/%s", cid, net, ifn);
}

/* GC: releases this network's leases that are not among the valid attachments. a is
 * room for reading lease files. */
static void handle_gc(struct worker *w, int fd, json_t *req, struct attach *a)
{
	json_t *valid = json_object_get(req, "valid"), *v;
	const char *gc_net = json_string_value(json_object_get(req, "network"));
	DIR *dir;
	struct dirent *de;
	size_t i;

	if (!json_is_array(valid) || !gc_net) {
		reply_error(fd, 6, "daemon: gc needs \"network\" and \"valid\", an array");
		return;
	}
	dir = opendir(opts.statedir);
	while (dir && (de = readdir(dir))) {
		char path[4200];
		bool keep = false;
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", opts.statedir, de->d_name);
		/* only the leases of the network being collected */
		if (state_read(path, a) < 0 || strcmp(a->network, gc_net) != 0)
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
			stop_lease(w, key);
			if (lk >= 0)
				close(lk);
		}
	}
	if (dir)
		closedir(dir);
	reply(fd, json_object());
}

/* The rest of an ADD once its request is valid (a filled, the lock on the lease files
 * held): true when a is a lease to keep now. */
static bool handle_add(struct worker *w, int fd, struct attach *a, int *lock)
{
	char ip[INET_ADDRSTRLEN];

	/* an ADD again for the same attachment replaces its lease */
	stop_lease(w, a->key);
	close(*lock);
	*lock = -1;
	int r = dhcp_acquire(&a->p, &a->l);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			reply_error(fd, 11, "no DHCP answer for %s on %s within %ums", a->key,
				    a->p.ifname, a->p.timeout_ms);
		else
			reply_error(fd, 999, "DHCP for %s on %s in %s failed: %s", a->key,
				    a->p.ifname, a->p.netns,
				    r == -ECONNREFUSED ? "the server refused (NAK)" : strerror(-r));
		return false;
	}
	/* The plugin stops waiting after DHCP_PLUGIN_TIMEOUT_MS (and a runtime may kill it
	 * sooner): a lease nobody will hear of, or DEL, is given back at once. */
	if (client_gone(fd)) {
		logmsg("%s: the client left before the lease was answered", a->key);
		keeper_release(a);
		return false;
	}
	*lock = lock_key(a->key);
	if (*lock >= 0)
		worker_claim(w, a->key); /* a DEL from now on asks us */
	if (*lock < 0 || state_write(a) < 0) {
		worker_claim(w, "");
		dhcp_release(&a->p, &a->l);
		reply_error(fd, 5, "daemon: cannot write the lease file of %s", a->key);
		return false;
	}
	logmsg("%s: leased %s for %us from the server %s", a->key, ip4(a->l.ack.yiaddr, ip),
	       a->l.lease_time, a->l.server ? "known" : "unknown");
	if (reply_lease(fd, a) < 0) {
		logmsg("%s: the answer could not be delivered", a->key);
		keeper_release(a);
		return false;
	}
	return true;
}

/* Answers the request on w's connection and closes it. Returns the attachment when it is
 * a new lease for this thread to keep, NULL when the thread is done. */
static struct attach *handle(struct worker *w)
{
	char *buf = malloc(DHCP_MAX_REQUEST_BYTES + 1), msg[256];
	size_t len = 0;
	json_t *req = NULL;
	json_error_t jerr;
	const char *cmd, *cid, *net, *ifn, *ns;
	struct attach *a = calloc(1, sizeof(*a)), *keep = NULL;
	struct timeval tv = {5, 0};
	int fd = w->conn, lock = -1;

	if (!buf || !a) {
		free(buf);
		reply_error(fd, 999, "daemon: out of memory");
		goto out;
	}
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
		goto out;
	}
	if (json_integer_value(json_object_get(req, "version")) != DHCP_PROTO_VERSION) {
		reply_error(fd, 1, "daemon: protocol version %d expected", DHCP_PROTO_VERSION);
		goto out;
	}
	cmd = json_string_value(json_object_get(req, "command"));
	if (!cmd) {
		reply_error(fd, 6, "daemon: request without command");
		goto out;
	}
	if (strcmp(cmd, "status") == 0) {
		reply(fd, json_object());
		goto out;
	}
	if (strcmp(cmd, "gc") == 0) {
		handle_gc(w, fd, req, a);
		goto out;
	}
	cid = json_string_value(json_object_get(req, "containerID"));
	net = json_string_value(json_object_get(req, "network"));
	ifn = json_string_value(json_object_get(req, "ifName"));
	ns = json_string_value(json_object_get(req, "netns"));
	if (!cid || !*cid || !net || !*net || !ifn || !*ifn || strlen(ifn) >= IFNAMSIZ) {
		reply_error(fd, 4, "daemon: containerID, network and ifName (< 16 bytes) are needed");
		goto out;
	}
	if (strlen(cid) + strlen(net) + strlen(ifn) + 2 > 254) {
		reply_error(fd, 7, "daemon: client identifier %s/%s/%s is longer than 254 bytes",
			    cid, net, ifn);
		goto out;
	}
	build_key(a->key, sizeof(a->key), cid, net, ifn);
	snprintf(a->network, sizeof(a->network), "%s", net);
	memcpy(a->p.client_id, a->key, sizeof(a->key));
	snprintf(a->p.ifname, sizeof(a->p.ifname), "%s", ifn);
	lock = lock_key(a->key);
	if (lock < 0) {
		reply_error(fd, 5, "daemon: cannot lock the lease of %s: %s", a->key, strerror(errno));
		goto out;
	}
	if (strcmp(cmd, "del") == 0) {
		stop_lease(w, a->key);
		reply(fd, json_object());
		goto out;
	}
	if (strcmp(cmd, "check") == 0) {
		char path[4200];
		struct attach *cur = malloc(sizeof(*cur));
		state_path(path, sizeof(path), a->key, "json");
		if (!cur) {
			reply_error(fd, 999, "daemon: out of memory");
		} else if (state_read(path, cur) < 0 || strcmp(cur->key, a->key) != 0) {
			reply_error(fd, 3, "daemon: no lease for %s", a->key);
		} else if (time(NULL) >= cur->l.acquired + cur->l.lease_time) {
			reply_error(fd, 999, "daemon: the lease of %s has expired", a->key);
		} else if (cur->stopped || !keeper_alive(cur->key)) {
			reply_error(fd, 999, "daemon: the lease of %s is not being maintained",
				    a->key);
		} else {
			reply_lease(fd, cur);
		}
		free(cur);
		goto out;
	}
	if (strcmp(cmd, "add") != 0) {
		reply_error(fd, 4, "daemon: unknown command \"%s\"", cmd);
		goto out;
	}
	if (!ns || !*ns ||
	    snprintf(a->p.netns, sizeof(a->p.netns), "%s%s", opts.hostprefix, ns) >=
		(int)sizeof(a->p.netns)) {
		reply_error(fd, 4, "daemon: netns is needed");
		goto out;
	}
	if (parse_params(req, a, msg, sizeof(msg)) < 0) {
		reply_error(fd, 7, "daemon: %s", msg);
		goto out;
	}
	if (handle_add(w, fd, a, &lock)) {
		keep = a;
		a = NULL;
	}
out:
	json_decref(req);
	free(a);
	worker_close_conn(w);
	if (lock >= 0)
		close(lock);
	return keep;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct attach *a = w->resume;
	char ip[INET_ADDRSTRLEN];

	dhcp_cancel_fd = w->wake;
	if (a) {
		logmsg("%s: resuming lease of %s", a->key, ip4(a->l.ack.yiaddr, ip));
		/* the file names its keeper: this daemon now */
		if (state_write(a) < 0) {
			logmsg("%s: cannot write the lease file, not resumed", a->key);
			free(a);
			a = NULL;
		}
	} else {
		a = handle(w);
	}
	if (a)
		keeper_loop(w, a);
	free(a);
	pthread_mutex_lock(&workers_lock);
	w->done = true;
	pthread_cond_broadcast(&workers_done);
	pthread_mutex_unlock(&workers_lock);
	notify(reap_fd);
	return NULL;
}

/* Starts a worker on connection conn (taken, also on failure) or to keep resume's lease
 * (taken when it started). 0 or -errno. */
static int worker_start(int conn, struct attach *resume)
{
	struct worker *w = calloc(1, sizeof(*w));
	sigset_t block, old;
	int r;

	if (!w || (w->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		r = w ? -errno : -ENOMEM;
		free(w);
		if (conn >= 0)
			close(conn);
		return r;
	}
	w->conn = conn;
	w->resume = resume;
	if (resume)
		snprintf(w->key, sizeof(w->key), "%s", resume->key);
	/* the workers take no signals: SIGTERM and SIGINT interrupt the main thread's poll() */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_mutex_lock(&workers_lock);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	r = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0) {
		w->next = workers;
		workers = w;
	}
	pthread_mutex_unlock(&workers_lock);
	if (r) {
		close(w->wake);
		free(w);
		if (conn >= 0)
			close(conn);
		return -r;
	}
	return 0;
}

/* SIGTERM: every worker ends (a keeper keeps its lease for the next daemon; a handler
 * still reading its request gets the request's end). Waits up to 10 s for them: false
 * when some are still busy (they end with the process). */
static bool stop_workers(void)
{
	pthread_mutex_lock(&workers_lock);
	for (struct worker *w = workers; w; w = w->next) {
		notify(w->wake);
		if (w->conn >= 0)
			shutdown(w->conn, SHUT_RD);
	}
	pthread_mutex_unlock(&workers_lock);
	for (int i = 0; i < 100; i++) {
		struct pollfd p = {.fd = reap_fd, .events = POLLIN};
		reap();
		pthread_mutex_lock(&workers_lock);
		bool left = workers != NULL;
		pthread_mutex_unlock(&workers_lock);
		if (!left)
			return true;
		poll(&p, 1, 100);
	}
	logmsg("threads still busy after 10 s: exiting without them");
	return false;
}

static void resume_all(void)
{
	DIR *dir = opendir(opts.statedir);
	struct dirent *de;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		char path[4200];
		struct attach *a;
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", opts.statedir, de->d_name);
		a = malloc(sizeof(*a));
		if (!a || state_read(path, a) < 0) {
			logmsg("%s: %s, ignored", path, a ? "unreadable lease file" : "out of memory");
			free(a);
			continue;
		}
		if (time(NULL) >= a->l.acquired + a->l.lease_time) {
			logmsg("%s: lease expired while no daemon ran", a->key);
			unlink(path);
			free(a);
			continue;
		}
		int r = a->stopped ? 0 : worker_start(-1, a); /* a stopped one waits for its DEL */
		if (r < 0)
			logmsg("%s: cannot start its keeper: %s", a->key, strerror(-r));
		if (r < 0 || a->stopped)
			free(a);
	}
	closedir(dir);
}

/* ---- main ------------------------------------------------------------------------------ */

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
	int r = workers_init();
	if (r < 0) {
		logmsg("cannot set up the threads' eventfd and condition: %s", strerror(-r));
		return 1;
	}
	cni_error *lerr = NULL;
	lfd = pc_daemon_listen(opts.socketpath, 128, &lerr);
	if (lfd < 0) {
		logmsg("%s", cni_error_msg(lerr));
		cni_error_free(lerr);
		return 1;
	}
	if (opts.pidfile) {
		FILE *f = fopen(opts.pidfile, "we");
		if (f) {
			fprintf(f, "%d\n", (int)self);
			fclose(f);
		}
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* what a DEL of a daemon that forked keepers sent them: the pid in a lease file it
	 * wrote may be ours now */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	logmsg("listening on %s, leases in %s", opts.socketpath, opts.statedir);
	resume_all();
	while (!atomic_load(&stop_flag)) {
		/* the signals interrupt poll(); the timeout covers one that came just before */
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = reap_fd, .events = POLLIN}};
		int c;
		if (poll(p, 2, 1000) <= 0)
			continue;
		if (p[1].revents)
			reap();
		if (!p[0].revents)
			continue;
		c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0 && (r = worker_start(c, NULL)) < 0)
			logmsg("cannot start a thread for a request: %s", strerror(-r));
	}
	/* leases stay: a stopped daemon (an upgrade, a restart) resumes them from the files */
	logmsg("stopping; leases are kept in %s", opts.statedir);
	close(lfd);
	if (stop_workers())
		close(reap_fd); /* else a late thread may still write to it */
	return 0;
}
