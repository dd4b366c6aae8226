/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The on-disk store, shared with the reference plugin (backend/disk semantics):
 *
 *   <dataDir>/<network>/lock                  flock'ed around every change
 *   <dataDir>/<network>/<ip>                  "<containerID>\r\n<ifname>", 0600
 *   <dataDir>/<network>/last_reserved_ip.<N>  round-robin cursor of range set N
 *
 * and our private additions under <dataDir>/<network>/.host-local/:
 *
 *   owners/b000..b3ff  index buckets: "<16 hex digits of the owner's hash> <ip>" lines
 *   state           the network directory's mtime at which owners/ was complete
 *   tmp/            files written whole then renamed or linked (boot_id, and leases where
 *                   O_TMPFILE is missing); what a run finds here when it first uses it
 *                   under the lock was left by a run that died: debris
 *   boot_id         the boot that last used the network (releaseOnReboot)
 *
 * Cost: on ext4 without a journal, creating an inode scans past every inode of its group
 * freed in the last 30 s to 3 min, so each file replaced by rename() slows every later
 * creation there. An ADD therefore creates exactly one inode (the lease, as the reference
 * does) and frees none, and a DEL frees only the lease: everything else is rewritten in
 * place, and the index buckets are created once and never removed.
 *
 * Crash safety: a reservation is an O_TMPFILE in the network directory, written and then
 * linkat()ed to its <ip> name (a file in tmp/ and link() where O_TMPFILE is missing), so
 * an <ip> file appears complete or not at all and the link's EEXIST is the exclusive
 * claim. last_reserved_ip is rewritten in place like the reference does: a torn one is an
 * unparsable or different cursor, which only moves where the round robin resumes.
 *
 * The index: owners/ answers "what does (id, ifname) hold" without reading every file,
 * which the reference does on each ADD. Every creation or removal of an <ip> file changes
 * the directory's mtime; once owners/ is up to date we set the mtime to a value in the
 * past and record it, with a checksum, in state. A writer that does not know the index
 * (the reference plugin, a crashed run of ours, an admin) leaves the mtime at "now", which
 * no longer matches, and the next run rebuilds owners/ from the <ip> files. Buckets and
 * state are rewritten in place, so a run killed mid-write can leave them torn: before the
 * first write to owners/ in a session the mtime is moved to "now" (when a lease change has
 * not already done so), so a torn bucket is never trusted; a torn state does not parse
 * (trailing bytes, checksum). Entries found through the index are always checked against
 * the <ip> file they name, so stale entries are harmless and missing ones cannot occur in
 * a trusted index.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host-local.h"

#define PRIV_DIR	".host-local"
#define LAST_IP_PREFIX	"last_reserved_ip."
#define STATE_MAGIC	"host-local-index-v2"
#define MAX_LEASE_BYTES 65536
#define MAX_INDEX_BYTES (64 << 20)
#define INDEX_BUCKETS	1024u /* files in owners/, each created once and kept */
#define BOOT_ID_PATH	"/proc/sys/kernel/random/boot_id"

typedef struct hl_lease {
	cni_ipaddr ip;
	char *owner; /* trimmed content */
	uint64_t hash;
} hl_lease;

struct hl_store {
	char *path;
	int dirfd, lockfd, privfd, ownersfd, tmpfd;
	bool locked;
	bool index_valid; /* owners/ is complete for this session */
	bool need_commit; /* set the mtime marker at unlock */
	bool dir_touched; /* the mtime no longer matches state: owners/ may be written */
	bool no_tmpfile;  /* O_TMPFILE+linkat unusable here: tmp/ and link() */
	unsigned int tmp_counter;
	bool tmp_failed; /* tmp/ unusable in this session */
	pid_t pid;	 /* for names in tmp/, 0 until needed */
	char boot[64];	 /* this boot's id ("-" when unknown), "" until read */
	hl_store_options opts;
	/* memory mode (no usable owners/): every lease, kept current in this session */
	hl_lease *mem;
	size_t nmem;
	bool mem_mode;
};

#ifdef HOST_LOCAL_FAULT_INJECTION
void hl_fault_point(const char *name)
{
	static unsigned long hits;
	const char *spec = getenv("HOST_LOCAL_FAULT");
	const char *at;
	size_t len;
	unsigned long want = 1;

	if (!spec)
		return;
	at = strchr(spec, '@');
	len = at ? (size_t)(at - spec) : strlen(spec);
	if (strlen(name) != len || strncmp(spec, name, len) != 0)
		return;
	if (at)
		want = strtoul(at + 1, NULL, 10);
	if (++hits >= want)
		raise(SIGKILL);
}
#endif

static int sys_error(cni_error **err, const char *what, const char *path, const char *name)
{
	int e = errno;

	return cni_error_set(err, CNI_ERR_IO_FAILURE, NULL, "%s %s%s%s: %s", what, path,
			     name ? "/" : "", name ? name : "", strerror(e));
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Go's strings.TrimSpace on ASCII, in place. */
static char *trim(char *s)
{
	size_t n;

	while (is_space(*s))
		s++;
	n = strlen(s);
	while (n && is_space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

static char *key_new(const char *id, const char *ifname)
{
	char *idc = strdup(id), *out = NULL;

	if (idc && asprintf(&out, "%s\r\n%s", trim(idc), ifname) < 0)
		out = NULL;
	free(idc);
	return out;
}

static char *key_old(const char *id)
{
	char *idc = strdup(id), *out;

	if (!idc)
		return NULL;
	out = strdup(trim(idc));
	free(idc);
	return out;
}

/* A file name that is an address as Go's IP.String() writes it. */
static bool name_to_ip(const char *name, cni_ipaddr *ip)
{
	char buf[CNI_IP_STRLEN];

	if (name[0] == '.' || cni_ip_parse(name, ip) < 0)
		return false;
	return cni_ip_format(ip, buf, sizeof(buf)) && strcmp(buf, name) == 0;
}

/* dirfd/name, NUL-terminated. A file longer than max bytes gives its first max bytes
 * when head_only (the files the reference writes), -EFBIG otherwise (our index). */
static int read_file(int dirfd, const char *name, size_t max, bool head_only, char **out,
		     size_t *outlen)
{
	_cleanup_(pc_closep) int fd = -1;
	char *buf;
	size_t len = 0, cap;
	struct stat st;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* one byte more than the size, so EOF (or growth) shows in the first read */
	cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;

			free(buf);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == (size_t)st.st_size)
			break; /* all of it: spare the read that would return 0 */
		if (len == cap) {
			size_t ncap = cap > max / 2 ? max + 1 : 2 * cap;
			char *nb;

			if (cap == max + 1)
				break;
			nb = realloc(buf, ncap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
	}
	if (len > max) {
		if (!head_only) {
			free(buf);
			return -EFBIG;
		}
		len = max;
	}
	buf[len] = '\0';
	*out = buf;
	if (outlen)
		*outlen = len;
	return 0;
}

static int read_small(int dirfd, const char *name, char **out, size_t max)
{
	return read_file(dirfd, name, max, true, out, NULL);
}

/* All of data, at off (pwrite) or, with off < 0, at the file position (write). */
static int write_at(int fd, const char *data, size_t len, off_t off)
{
	while (len) {
		ssize_t n = off < 0 ? write(fd, data, len) : pwrite(fd, data, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	return write_at(fd, data, len, -1);
}

static int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_(pc_freep) char *p = strdup(path);
	struct stat st;

	if (!p)
		return -1;
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -1;
		*c = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -1;
	if (stat(p, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static int open_subdir(int dirfd, const char *name, mode_t mode)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return -1;
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

/* Iterate a directory given by fd; cb returns <0 to stop. */
static int for_each_entry(int dirfd, int (*cb)(const char *name, unsigned char type, void *ud),
			  void *ud)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = cb(de->d_name, de->d_type, ud);
		if (r < 0)
			break;
	}
	if (!de && errno)
		r = -errno;
	closedir(d);
	return r;
}

static int unlink_cb(const char *name, unsigned char type, void *ud)
{
	int dirfd = *(int *)ud;

	(void)type;
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* tmp/, opened on first use under the lock: whatever is in it then was left by a run that
 * died holding the lock. -1 when it cannot be had. */
static int tmp_dir(hl_store *s)
{
	if (s->tmpfd >= 0 || s->privfd < 0 || s->tmp_failed)
		return s->tmpfd;
	s->tmpfd = open_subdir(s->privfd, "tmp", 0700);
	if (s->tmpfd < 0) {
		s->tmp_failed = true;
		return -1;
	}
	for_each_entry(s->tmpfd, unlink_cb, &s->tmpfd);
	return s->tmpfd;
}

/* A complete new file in tmp/; its name in name. */
static int write_tmp(hl_store *s, const char *data, size_t len, char *name, size_t namelen)
{
	int fd;

	if (tmp_dir(s) < 0)
		return -1;
	if (!s->pid)
		s->pid = getpid();
	snprintf(name, namelen, "%ld.%u.tmp", (long)s->pid, s->tmp_counter++);
	fd = openat(s->tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0 || close(fd) < 0) {
		int e = errno;

		unlinkat(s->tmpfd, name, 0);
		errno = e;
		return -1;
	}
	return 0;
}

/* Replace dirfd/name atomically with data (a new inode: for rare writes only). */
static int replace_file(hl_store *s, int dirfd, const char *name, const char *data, size_t len)
{
	char tmp[64];
	int fd;

	if (tmp_dir(s) >= 0) {
		if (write_tmp(s, data, len, tmp, sizeof(tmp)) < 0)
			return -1;
		if (renameat(s->tmpfd, tmp, dirfd, name) < 0) {
			int e = errno;

			unlinkat(s->tmpfd, tmp, 0);
			errno = e;
			return -1;
		}
		return 0;
	}
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * Overwrite dirfd/name with data in place, creating it when missing: the file keeps its
 * inode (see the top of the file). Killed between the write and the truncation, the file
 * holds the new bytes followed by the tail of the old ones, so only files whose readers
 * reject or double-check such content are written this way. Anything but a plain file
 * with one link (a symlink, a FIFO, a hard link to elsewhere) is replaced, not written.
 */
static int rewrite_file(hl_store *s, int dirfd, const char *name, const char *data, size_t len)
{
	const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
	int fd = openat(dirfd, name, flags, 0600), e;
	struct stat st;

	if (fd < 0 && errno != ELOOP && errno != ENXIO)
		return -1;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return replace_file(s, dirfd, name, data, len);
	if (write_at(fd, data, len, 0) == 0) {
		hl_fault_point("inplace-written");
		if (ftruncate(fd, (off_t)len) == 0)
			return close(fd);
	}
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

static void close_priv(hl_store *s)
{
	if (s->ownersfd >= 0)
		close(s->ownersfd);
	if (s->tmpfd >= 0)
		close(s->tmpfd);
	if (s->privfd >= 0)
		close(s->privfd);
	s->ownersfd = s->tmpfd = s->privfd = -1;
	s->tmp_failed = false;
}

static void leases_free(hl_lease *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i].owner);
	free(l);
}

void hl_store_free(hl_store *s)
{
	if (!s)
		return;
	hl_store_unlock(s);
	close_priv(s);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	leases_free(s->mem, s->nmem);
	free(s->path);
	free(s);
}

int hl_store_open(hl_store **out, const char *data_dir, const char *network,
		  const hl_store_options *opts, cni_error **err)
{
	hl_store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return cni_error_oom(err);
	s->dirfd = s->lockfd = s->privfd = s->ownersfd = s->tmpfd = -1;
	if (opts)
		s->opts = *opts;
	s->no_tmpfile = s->opts.no_tmpfile;
	if (asprintf(&s->path, "%s/%s", data_dir, network) < 0) {
		s->path = NULL;
		hl_store_free(s);
		return cni_error_oom(err);
	}
	/* the directory exists but for the first call on a network */
	s->dirfd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0 && errno == ENOENT) {
		if (mkdir_p(s->path, 0755) < 0) {
			r = sys_error(err, "mkdir", s->path, NULL);
			hl_store_free(s);
			return r;
		}
		s->dirfd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (s->dirfd < 0) {
		r = sys_error(err, "open", s->path, NULL);
		hl_store_free(s);
		return r;
	}
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0) {
		r = sys_error(err, "open", s->path, "lock");
		hl_store_free(s);
		return r;
	}
	*out = s;
	return 0;
}

/* ---- full scans ------------------------------------------------------------------- */

typedef struct scan_ctx {
	hl_store *s;
	hl_lease *l;
	size_t n, cap;
	bool read_content;
	int error;
} scan_ctx;

static int scan_cb(const char *name, unsigned char type, void *ud)
{
	scan_ctx *c = ud;
	hl_lease le = {0};
	char *data = NULL;

	if (type != DT_REG && type != DT_UNKNOWN)
		return 0;
	if (!name_to_ip(name, &le.ip))
		return 0;
	if (c->read_content) {
		int r = read_small(c->s->dirfd, name, &data, MAX_LEASE_BYTES);

		if (r == -ENOENT || r == -EINVAL)
			return 0;
		if (r < 0) {
			c->error = -r;
			return r;
		}
		le.owner = strdup(trim(data));
		free(data);
		if (!le.owner)
			return -ENOMEM;
		le.hash = fnv1a(le.owner);
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 256;
		hl_lease *nl = realloc(c->l, ncap * sizeof(*nl));

		if (!nl) {
			free(le.owner);
			return -ENOMEM;
		}
		c->l = nl;
		c->cap = ncap;
	}
	c->l[c->n++] = le;
	return 0;
}

static int scan_leases(hl_store *s, bool read_content, hl_lease **out, size_t *n, cni_error **err)
{
	scan_ctx c = {.s = s, .read_content = read_content};
	int r = for_each_entry(s->dirfd, scan_cb, &c);

	if (r < 0) {
		leases_free(c.l, c.n);
		errno = -r;
		return sys_error(err, "read", s->path, NULL);
	}
	*out = c.l;
	*n = c.n;
	return 0;
}

/* ---- the owner index -------------------------------------------------------------- */

#define LINE_HASH_LEN 16 /* "<16 hex digits> <ip>\n" */

static unsigned int bucket_of(uint64_t h)
{
	return (unsigned int)((h ^ (h >> 32)) % INDEX_BUCKETS);
}

static void bucket_name(unsigned int b, char *buf, size_t len)
{
	snprintf(buf, len, "b%03x", b);
}

static void hash_hex(uint64_t h, char *buf, size_t len)
{
	snprintf(buf, len, "%016llx", (unsigned long long)h);
}

/* The bucket a name in owners/ stands for, or -1. */
static int name_to_bucket(const char *name)
{
	char canon[16];
	char *end;
	unsigned long b;

	if (name[0] != 'b' || !name[1])
		return -1;
	b = strtoul(name + 1, &end, 16);
	if (*end || b >= INDEX_BUCKETS)
		return -1;
	bucket_name((unsigned int)b, canon, sizeof(canon));
	return strcmp(canon, name) == 0 ? (int)b : -1;
}

/* The marker must not match while owners/ is being written: a run killed in the middle
 * then leaves an index the next run rebuilds instead of trusting. */
static int index_dirty(hl_store *s)
{
	static const struct timespec now[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_NOW}};

	if (s->dir_touched)
		return 0;
	if (futimens(s->dirfd, now) < 0)
		return -errno;
	s->dir_touched = true;
	s->need_commit = true;
	return 0;
}

/* An <ip> file was created or removed: the directory's mtime is now. */
static void lease_changed(hl_store *s)
{
	s->dir_touched = true;
	s->need_commit = true;
}

/* Bucket b's content, "" when it does not exist. Lines are read in place: only those of
 * the hash asked about are parsed, the others are copied as they are. */
static int bucket_load(hl_store *s, unsigned int b, char **data, size_t *len)
{
	char name[16];
	int r;

	bucket_name(b, name, sizeof(name));
	r = read_file(s->ownersfd, name, MAX_INDEX_BYTES, false, data, len);
	if (r != -ENOENT)
		return r;
	*data = strdup("");
	*len = 0;
	return *data ? 0 : -ENOMEM;
}

/* The next whole line from *pos (a torn tail without its newline is not one); its
 * length without the newline in *n. */
static const char *next_line(const char **pos, const char *end, size_t *n)
{
	const char *line = *pos, *nl = memchr(line, '\n', (size_t)(end - line));

	if (!nl)
		return NULL;
	*n = (size_t)(nl - line);
	*pos = nl + 1;
	return line;
}

/* An entry line of the hash written as hex: its address (false when not one). */
static bool line_entry(const char *line, size_t n, const char *hex, cni_ipaddr *ip)
{
	char buf[CNI_IP_STRLEN];

	if (n <= LINE_HASH_LEN + 1 || line[LINE_HASH_LEN] != ' ' ||
	    memcmp(line, hex, LINE_HASH_LEN) != 0 || n - LINE_HASH_LEN - 1 >= sizeof(buf))
		return false;
	memcpy(buf, line + LINE_HASH_LEN + 1, n - LINE_HASH_LEN - 1);
	buf[n - LINE_HASH_LEN - 1] = '\0';
	return cni_ip_parse(buf, ip) == 0;
}

/* Write bucket b in place, unless it already holds exactly that (old, when known). */
static int bucket_store(hl_store *s, unsigned int b, const char *data, size_t len, const char *old,
			size_t oldlen)
{
	char name[16];
	int r;

	if (old && oldlen == len && memcmp(old, data, len) == 0)
		return 0;
	r = index_dirty(s);
	if (r < 0)
		return r;
	bucket_name(b, name, sizeof(name));
	return rewrite_file(s, s->ownersfd, name, data, len) < 0 ? -errno : 0;
}

/* Append ip to the array *v of *cnt; on failure the array is freed (-ENOMEM). */
static int ip_push(cni_ipaddr **v, size_t *cnt, const cni_ipaddr *ip)
{
	cni_ipaddr *nv = realloc(*v, (*cnt + 1) * sizeof(*nv));

	if (!nv) {
		free(*v);
		*v = NULL;
		return -ENOMEM;
	}
	nv[(*cnt)++] = *ip;
	*v = nv;
	return 0;
}

/* Addresses listed for hash h (not checked against the <ip> files). */
static int idx_read(hl_store *s, uint64_t h, cni_ipaddr **out, size_t *n)
{
	_cleanup_(pc_freep) char *data = NULL;
	cni_ipaddr *v = NULL;
	char hex[LINE_HASH_LEN + 1];
	const char *pos, *line;
	size_t len = 0, cnt = 0, ln;
	int r = bucket_load(s, bucket_of(h), &data, &len);

	if (r < 0)
		return r;
	hash_hex(h, hex, sizeof(hex));
	for (pos = data; (line = next_line(&pos, data + len, &ln));) {
		cni_ipaddr ip;

		if (line_entry(line, ln, hex, &ip) && ip_push(&v, &cnt, &ip) < 0)
			return -ENOMEM;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* The owner of ip as recorded in its file (trimmed), or NULL; *e (when not NULL) gets why
 * not (-ENOENT: no such lease). */
static char *ip_owner_e(hl_store *s, const cni_ipaddr *ip, int *e)
{
	char name[CNI_IP_STRLEN];
	char *data = NULL, *o;
	int r = -EINVAL;

	if (!cni_ip_format(ip, name, sizeof(name)) ||
	    (r = read_small(s->dirfd, name, &data, MAX_LEASE_BYTES)) < 0) {
		if (e)
			*e = r;
		return NULL;
	}
	o = strdup(trim(data));
	free(data);
	if (e)
		*e = o ? 0 : -ENOMEM;
	return o;
}

/* Rewrite the lines of hash h: keep the listed addresses still held by an owner of that
 * hash, plus add (may be NULL); other hashes' lines stay as they are. Dropping entries
 * never hides a live lease; adding is ordered after the <ip> file exists. */
static int idx_update(hl_store *s, uint64_t h, const cni_ipaddr *add)
{
	_cleanup_(pc_freep) char *old = NULL;
	_cleanup_(pc_freep) char *out = NULL;
	_cleanup_(pc_freep) cni_ipaddr *kept = NULL;
	char hex[LINE_HASH_LEN + 1], ipbuf[CNI_IP_STRLEN];
	unsigned int b = bucket_of(h);
	const char *pos, *line;
	size_t oldlen = 0, len = 0, nkept = 0, ln;
	int r;

	r = bucket_load(s, b, &old, &oldlen);
	if (r < 0)
		return r;
	out = malloc(oldlen + LINE_HASH_LEN + CNI_IP_STRLEN + 3);
	kept = malloc((oldlen / (LINE_HASH_LEN + 2) + 1) * sizeof(*kept));
	if (!out || !kept)
		return -ENOMEM;
	hash_hex(h, hex, sizeof(hex));
	for (pos = old; (line = next_line(&pos, old + oldlen, &ln));) {
		cni_ipaddr ip;
		bool dup = false;

		if (ln <= LINE_HASH_LEN + 1 || line[LINE_HASH_LEN] != ' ')
			continue; /* not an entry */
		if (memcmp(line, hex, LINE_HASH_LEN) != 0) {
			memcpy(out + len, line, ln + 1); /* another owner's, newline included */
			len += ln + 1;
			continue;
		}
		if (!line_entry(line, ln, hex, &ip))
			continue;
		for (size_t j = 0; j < nkept; j++)
			dup |= cni_ip_equal(&kept[j], &ip);
		if (!dup) {
			int e;
			_cleanup_(pc_freep) char *o = ip_owner_e(s, &ip, &e);

			/* dropped only when known to be gone or another's: a lease that could not
			 * be read now is kept (a stale entry is harmless, a lost one is not) */
			if (e == -ENOENT || (o && fnv1a(o) != h))
				continue;
			kept[nkept++] = ip;
			memcpy(out + len, line, ln + 1);
			len += ln + 1;
		}
	}
	if (add) {
		bool have = false;

		for (size_t j = 0; j < nkept; j++)
			have |= cni_ip_equal(&kept[j], add);
		if (!have && cni_ip_format(add, ipbuf, sizeof(ipbuf)))
			len += (size_t)sprintf(out + len, "%s %s\n", hex, ipbuf);
	}
	return bucket_store(s, b, out, len, old, oldlen);
}

static int lease_cmp(const void *a, const void *b)
{
	const hl_lease *x = a, *y = b;
	unsigned int bx = bucket_of(x->hash), by = bucket_of(y->hash);

	if (bx != by)
		return bx < by ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return cni_ip_cmp(&x->ip, &y->ip);
}

typedef struct rebuild_ctx {
	int fd;
	bool present[INDEX_BUCKETS];
} rebuild_ctx;

/* Note the buckets there are; remove anything else (an older index's files, debris). */
static int rebuild_list_cb(const char *name, unsigned char type, void *ud)
{
	rebuild_ctx *c = ud;
	int b = name_to_bucket(name);

	(void)type;
	if (b >= 0) {
		c->present[b] = true;
		return 0;
	}
	if (unlinkat(c->fd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* owners/ from scratch, out of every <ip> file; existing buckets are overwritten, not
 * replaced, so a rebuild frees no inode. */
static int idx_rebuild(hl_store *s, cni_error **err)
{
	_cleanup_(pc_freep) rebuild_ctx *c = calloc(1, sizeof(*c));
	hl_lease *l = NULL;
	size_t n = 0;
	int r;

	s->index_valid = false;
	if (!c)
		return cni_error_oom(err);
	r = scan_leases(s, true, &l, &n, err);
	if (r < 0)
		return r;
	hl_fault_point("rebuild-scanned");
	c->fd = s->ownersfd;
	r = s->ownersfd >= 0 ? for_each_entry(s->ownersfd, rebuild_list_cb, c) : -EBADF;
	if (r == 0)
		r = index_dirty(s);
	if (r == 0) {
		/* every line of the largest bucket fits */
		char *buf = malloc(n * (LINE_HASH_LEN + CNI_IP_STRLEN + 2) + 1);

		if (n) /* l is NULL for an empty network */
			qsort(l, n, sizeof(*l), lease_cmp);
		if (!buf)
			r = -ENOMEM;
		for (size_t i = 0, b = 0; buf && b < INDEX_BUCKETS && r == 0; b++) {
			size_t len = 0;

			for (; i < n && bucket_of(l[i].hash) == b; i++) {
				char hex[LINE_HASH_LEN + 1], ip[CNI_IP_STRLEN];

				if (!cni_ip_format(&l[i].ip, ip, sizeof(ip)))
					continue;
				hash_hex(l[i].hash, hex, sizeof(hex));
				len += (size_t)sprintf(buf + len, "%s %s\n", hex, ip);
			}
			if (len || c->present[b])
				r = bucket_store(s, (unsigned int)b, buf, len, NULL, 0);
		}
		free(buf);
	}
	if (r == 0) {
		leases_free(l, n);
		s->index_valid = true;
		s->need_commit = true;
		return 0;
	}
	/* no usable index: answer from memory for this run */
	leases_free(s->mem, s->nmem);
	s->mem = l;
	s->nmem = n;
	s->mem_mode = true;
	return 0;
}

/* This boot's id, read once: "-" when it cannot be read (then every boot looks alike). */
static const char *boot_id(hl_store *s)
{
	_cleanup_(pc_freep) char *cur = NULL;
	const char *c;

	if (s->boot[0])
		return s->boot;
	if (read_small(AT_FDCWD, s->opts.boot_id_path ? s->opts.boot_id_path : BOOT_ID_PATH, &cur,
		       128) < 0)
		cur = NULL;
	c = cur ? trim(cur) : "";
	/* one word of a sane length, as it goes into state */
	if (!*c || strlen(c) >= sizeof(s->boot) || strpbrk(c, " \t\r\n"))
		c = "-";
	snprintf(s->boot, sizeof(s->boot), "%s", c);
	return s->boot;
}

/*
 * "<magic> <sec> <nsec> <boot id> <check>\n": a torn or mixed record does not read back.
 * The boot id makes the first run after a reboot rebuild the index: without a journal
 * (or with data written in place) a power cut can keep the directory's mtime and lose
 * bucket contents, which a check of the mtime alone would trust.
 */
static int format_state(char *buf, size_t len, long long sec, long long nsec, const char *boot)
{
	char rec[160];

	snprintf(rec, sizeof(rec), "%s %lld %lld %s", STATE_MAGIC, sec, nsec, boot);
	return snprintf(buf, len, "%s %016llx\n", rec, (unsigned long long)fnv1a(rec));
}

static int read_state(hl_store *s, struct timespec *ts)
{
	_cleanup_(pc_freep) char *data = NULL;
	long long sec, nsec;
	char want[240], boot[64];

	if (read_small(s->privfd, "state", &data, 256) < 0)
		return -1;
	if (sscanf(data, STATE_MAGIC " %lld %lld %63s", &sec, &nsec, boot) != 3)
		return -1;
	format_state(want, sizeof(want), sec, nsec, boot);
	if (strcmp(data, want) != 0 || strcmp(boot, boot_id(s)) != 0)
		return -1;
	ts->tv_sec = (time_t)sec;
	ts->tv_nsec = (long)nsec;
	return 0;
}

static int idx_validate(hl_store *s, cni_error **err)
{
	struct timespec rec;
	struct stat st;

	if (s->privfd < 0 || s->ownersfd < 0) {
		hl_lease *l = NULL;
		size_t n = 0;
		int r = scan_leases(s, true, &l, &n, err);

		if (r < 0)
			return r;
		s->mem = l;
		s->nmem = n;
		s->mem_mode = true;
		return 0;
	}
	if (fstat(s->dirfd, &st) < 0)
		return sys_error(err, "stat", s->path, NULL);
	if (read_state(s, &rec) == 0 && rec.tv_sec == st.st_mtim.tv_sec &&
	    rec.tv_nsec == st.st_mtim.tv_nsec) {
		s->index_valid = true;
		return 0;
	}
	/* the marker does not match, and will not before the commit */
	s->dir_touched = true;
	return idx_rebuild(s, err);
}

/* Mark owners/ complete: mtime into the past (a change by anyone else sets it to now),
 * recorded in state. A failure leaves a state that does not match: a rebuild next time. */
static void idx_commit(hl_store *s)
{
	struct timespec times[2], now;
	struct stat st;
	char buf[240];
	int len;

	if (!s->need_commit || s->mem_mode || !s->index_valid || s->privfd < 0)
		return;
	hl_fault_point("commit-start");
	clock_gettime(CLOCK_REALTIME, &now);
	times[0].tv_sec = 0;
	times[0].tv_nsec = UTIME_OMIT;
	times[1].tv_sec = now.tv_sec - 1;
	times[1].tv_nsec = now.tv_nsec;
	if (futimens(s->dirfd, times) < 0 || fstat(s->dirfd, &st) < 0)
		return;
	hl_fault_point("commit-mtime-set");
	len = format_state(buf, sizeof(buf), (long long)st.st_mtim.tv_sec,
			   (long long)st.st_mtim.tv_nsec, boot_id(s));
	rewrite_file(s, s->privfd, "state", buf, (size_t)len);
	s->need_commit = false;
}

/* ---- reboot marker ---------------------------------------------------------------- */

static int drop_cb(const char *name, unsigned char type, void *ud)
{
	hl_store *s = ud;
	cni_ipaddr ip;

	(void)type;
	if (!name_to_ip(name, &ip))
		return 0;
	if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	lease_changed(s);
	hl_fault_point("reboot-dropped");
	return 0;
}

static int check_boot(hl_store *s, cni_error **err)
{
	_cleanup_(pc_freep) char *rec = NULL;
	const char *c = boot_id(s);
	int r;

	if (strcmp(c, "-") == 0 || s->privfd < 0)
		return 0; /* cannot tell: keep everything */
	if (read_small(s->privfd, "boot_id", &rec, 128) == 0 && strcmp(trim(rec), c) != 0) {
		r = for_each_entry(s->dirfd, drop_cb, s);
		if (r < 0) {
			errno = -r;
			return sys_error(err, "release stale reservations in", s->path, NULL);
		}
	} else if (rec) {
		return 0; /* same boot */
	}
	if (replace_file(s, s->privfd, "boot_id", c, strlen(c)) < 0)
		return sys_error(err, "write", s->path, PRIV_DIR "/boot_id");
	return 0;
}

/* ---- lock ------------------------------------------------------------------------- */

int hl_store_lock(hl_store *s, cni_error **err)
{
	int r;

	while (flock(s->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return sys_error(err, "lock", s->path, "lock");
	s->locked = true;
	s->need_commit = false;
	s->index_valid = false;
	s->dir_touched = false;

	close_priv(s);
	s->privfd = open_subdir(s->dirfd, PRIV_DIR, 0700);
	if (s->privfd >= 0)
		s->ownersfd = open_subdir(s->privfd, "owners", 0700);
	/* tmp/ is opened, and cleared of debris, when a write needs it */

	if (s->opts.release_on_reboot) {
		r = check_boot(s, err);
		if (r < 0) {
			hl_store_unlock(s);
			return r;
		}
	}
	r = idx_validate(s, err);
	if (r < 0) {
		hl_store_unlock(s);
		return r;
	}
	return 0;
}

void hl_store_unlock(hl_store *s)
{
	if (!s || !s->locked)
		return;
	idx_commit(s);
	flock(s->lockfd, LOCK_UN);
	s->locked = false;
	leases_free(s->mem, s->nmem);
	s->mem = NULL;
	s->nmem = 0;
	s->mem_mode = false;
}

/* ---- operations ------------------------------------------------------------------- */

static int mem_add(hl_store *s, const cni_ipaddr *ip, const char *owner)
{
	hl_lease *n = realloc(s->mem, (s->nmem + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->mem = n;
	n[s->nmem].ip = *ip;
	n[s->nmem].owner = strdup(owner);
	if (!n[s->nmem].owner)
		return -ENOMEM;
	n[s->nmem].hash = fnv1a(owner);
	s->nmem++;
	return 0;
}

static void mem_remove(hl_store *s, const cni_ipaddr *ip)
{
	for (size_t i = 0; i < s->nmem; i++)
		if (cni_ip_equal(&s->mem[i].ip, ip)) {
			free(s->mem[i].owner);
			s->mem[i] = s->mem[--s->nmem];
			return;
		}
}

/* Unlike tmp/ and link(), never more than one inode; -EOPNOTSUPP: use that instead. */
static int lease_link_tmpfile(hl_store *s, const char *name, const char *data, size_t len)
{
	_cleanup_(pc_closep) int fd = -1;
	char proc[32];

	if (s->no_tmpfile)
		return -EOPNOTSUPP;
	fd = openat(s->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return -errno;
		s->no_tmpfile = true;
		return -EOPNOTSUPP;
	}
	if (write_all(fd, data, len) < 0)
		return -errno;
	hl_fault_point("reserve-tmp-written");
	/* by descriptor: needs CAP_DAC_READ_SEARCH before Linux 6.10 (ENOENT without) */
	if (linkat(fd, "", s->dirfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno == EEXIST)
		return -EEXIST;
	if (errno == ENOENT) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, s->dirfd, name, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno == EEXIST)
			return -EEXIST;
	}
	if (errno == ENOSPC || errno == EDQUOT || errno == EROFS || errno == EIO)
		return -errno;
	s->no_tmpfile = true; /* EPERM, EXDEV, EMLINK, ...: the other ways may still work */
	return -EOPNOTSUPP;
}

int hl_store_reserve(hl_store *s, const char *id, const char *ifname, const cni_ipaddr *ip,
		     size_t rangeset_idx, bool *reserved, cni_error **err)
{
	_cleanup_(pc_freep) char *key = key_new(id, ifname);
	char name[CNI_IP_STRLEN], tmp[64], last[64];
	bool fallback = false;
	int r;

	if (!key)
		return cni_error_oom(err);
	if (!cni_ip_format(ip, name, sizeof(name)))
		return cni_error_set(err, CNI_ERR_INTERNAL, NULL, "cannot format address");

	r = lease_link_tmpfile(s, name, key, strlen(key));
	if (r == -EEXIST) {
		*reserved = false;
		return 0;
	}
	if (r < 0 && r != -EOPNOTSUPP) {
		errno = -r;
		return sys_error(err, "reserve", s->path, name);
	}
	if (r == 0) {
		lease_changed(s);
		hl_fault_point("reserve-linked");
	} else if (!(fallback = tmp_dir(s) < 0)) {
		if (write_tmp(s, key, strlen(key), tmp, sizeof(tmp)) < 0)
			return sys_error(err, "write", s->path, PRIV_DIR "/tmp");
		hl_fault_point("reserve-tmp-written");
		if (linkat(s->tmpfd, tmp, s->dirfd, name, 0) < 0) {
			int e = errno;

			unlinkat(s->tmpfd, tmp, 0);
			if (e == EEXIST) {
				*reserved = false;
				return 0;
			}
			if (e != EXDEV && e != EPERM && e != ENOTSUP && e != EMLINK) {
				errno = e;
				return sys_error(err, "reserve", s->path, name);
			}
			fallback = true; /* no hard links here */
		} else {
			lease_changed(s);
			hl_fault_point("reserve-linked");
			unlinkat(s->tmpfd, tmp, 0);
		}
	}
	if (fallback) {
		int fd = openat(s->dirfd, name,
				O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0 && errno == EEXIST) {
			*reserved = false;
			return 0;
		}
		if (fd < 0)
			return sys_error(err, "reserve", s->path, name);
		lease_changed(s);
		if (write_all(fd, key, strlen(key)) < 0 || close(fd) < 0) {
			r = sys_error(err, "write", s->path, name);
			unlinkat(s->dirfd, name, 0);
			return r;
		}
	}

	if (s->mem_mode) {
		if (mem_add(s, ip, key) < 0)
			return cni_error_oom(err);
	} else if (s->index_valid) {
		r = idx_update(s, fnv1a(key), ip);
		if (r < 0) {
			/* the <ip> file exists; a rebuild will index it */
			s->index_valid = false;
			s->need_commit = false;
		}
		hl_fault_point("reserve-indexed");
	}

	/* in place, as the reference: a torn cursor only moves the round robin */
	snprintf(last, sizeof(last), LAST_IP_PREFIX "%zu", rangeset_idx);
	if (rewrite_file(s, s->dirfd, last, name, strlen(name)) < 0) {
		r = sys_error(err, "write", s->path, last);
		hl_store_release_ip(s, id, ifname, ip, NULL);
		return r;
	}
	hl_fault_point("reserve-done");
	*reserved = true;
	return 0;
}

int hl_store_release_ip(hl_store *s, const char *id, const char *ifname, const cni_ipaddr *ip,
			cni_error **err)
{
	_cleanup_(pc_freep) char *key = key_new(id, ifname);
	_cleanup_(pc_freep) char *owner = NULL;
	char name[CNI_IP_STRLEN];

	if (!key || !cni_ip_format(ip, name, sizeof(name)))
		return cni_error_oom(err);
	int e = 0;
	owner = ip_owner_e(s, ip, &e);
	if (!owner && e != -ENOENT && e != -EINVAL) {
		errno = -e;
		return sys_error(err, "read", s->path, name);
	}
	if (!owner || strcmp(owner, key) != 0)
		return 0;
	if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
		return sys_error(err, "remove", s->path, name);
	lease_changed(s);
	if (s->mem_mode)
		mem_remove(s, ip);
	else if (s->index_valid && idx_update(s, fnv1a(key), NULL) < 0)
		s->index_valid = false;
	return 0;
}

int hl_store_last_reserved(hl_store *s, size_t rangeset_idx, cni_ipaddr *out, bool *found)
{
	_cleanup_(pc_freep) char *data = NULL;
	char name[64];

	*found = false;
	snprintf(name, sizeof(name), LAST_IP_PREFIX "%zu", rangeset_idx);
	if (read_small(s->dirfd, name, &data, 256) < 0)
		return 0;
	/* parsed as written, like net.ParseIP on the raw bytes */
	if (cni_ip_parse(data, out) == 0)
		*found = true;
	return 0;
}

/* Verified addresses held by key. */
static int held_by(hl_store *s, const char *key, cni_ipaddr **out, size_t *n)
{
	cni_ipaddr *v = NULL;
	size_t cnt = 0;
	int r;

	if (s->mem_mode || !s->index_valid) {
		if (!s->mem_mode) {
			/* index went bad during this run: fall back to a scan */
			hl_lease *l = NULL;
			size_t ln = 0;

			r = scan_leases(s, true, &l, &ln, NULL);
			if (r < 0)
				return r;
			s->mem = l;
			s->nmem = ln;
			s->mem_mode = true;
		}
		for (size_t i = 0; i < s->nmem; i++)
			if (strcmp(s->mem[i].owner, key) == 0 && ip_push(&v, &cnt, &s->mem[i].ip) < 0)
				return -ENOMEM;
		*out = v;
		*n = cnt;
		return 0;
	}
	r = idx_read(s, fnv1a(key), &v, &cnt);
	if (r < 0)
		return r;
	for (size_t i = 0; i < cnt;) {
		int e = 0;
		_cleanup_(pc_freep) char *o = ip_owner_e(s, &v[i], &e);

		/* a lease that cannot be read is not "not ours": DEL would report success
		 * and leave it held for good */
		if (!o && e != -ENOENT && e != -EINVAL) {
			free(v);
			return e;
		}
		if (o && strcmp(o, key) == 0)
			i++;
		else
			v[i] = v[--cnt];
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int append_ips(cni_ipaddr **v, size_t *n, const cni_ipaddr *add, size_t nadd)
{
	cni_ipaddr *nv;

	if (!nadd)
		return 0;
	nv = realloc(*v, (*n + nadd) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	memcpy(nv + *n, add, nadd * sizeof(*nv));
	*v = nv;
	*n += nadd;
	return 0;
}

int hl_store_get_by_id(hl_store *s, const char *id, const char *ifname, cni_ipaddr **out, size_t *n,
		       cni_error **err)
{
	_cleanup_(pc_freep) char *kn = key_new(id, ifname);
	_cleanup_(pc_freep) char *ko = key_old(id);
	_cleanup_(pc_freep) cni_ipaddr *a = NULL;
	_cleanup_(pc_freep) cni_ipaddr *b = NULL;
	size_t na = 0, nb = 0;
	int r;

	if (!kn || !ko)
		return cni_error_oom(err);
	r = held_by(s, kn, &a, &na);
	if (r == 0)
		r = held_by(s, ko, &b, &nb);
	if (r == 0)
		r = append_ips(&a, &na, b, nb);
	if (r < 0) {
		errno = -r;
		return sys_error(err, "read", s->path, NULL);
	}
	*out = a;
	a = NULL;
	*n = na;
	return 0;
}

static int release_key(hl_store *s, const char *key, size_t *count, cni_error **err)
{
	_cleanup_(pc_freep) cni_ipaddr *v = NULL;
	size_t n = 0;
	int r = held_by(s, key, &v, &n);

	if (r < 0) {
		errno = -r;
		return sys_error(err, "read", s->path, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		char name[CNI_IP_STRLEN];

		if (!cni_ip_format(&v[i], name, sizeof(name)))
			continue;
		if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
			return sys_error(err, "remove", s->path, name);
		lease_changed(s);
		hl_fault_point("release-unlinked");
		if (s->mem_mode)
			mem_remove(s, &v[i]);
		(*count)++;
	}
	if (!s->mem_mode && s->index_valid && idx_update(s, fnv1a(key), NULL) < 0)
		s->index_valid = false;
	return 0;
}

int hl_store_release_by_id(hl_store *s, const char *id, const char *ifname, size_t *released,
			   cni_error **err)
{
	_cleanup_(pc_freep) char *kn = key_new(id, ifname);
	_cleanup_(pc_freep) char *ko = key_old(id);
	size_t count = 0;
	int r;

	if (!kn || !ko)
		return cni_error_oom(err);
	r = release_key(s, kn, &count, err);
	/* files written by old versions hold the container id only */
	if (r == 0 && count == 0)
		r = release_key(s, ko, &count, err);
	if (r == 0 && released)
		*released = count;
	return r;
}

int hl_store_gc(hl_store *s, const hl_attachment *valid, size_t nvalid, size_t *released,
		cni_error **err)
{
	hl_lease *l = NULL;
	size_t n = 0, count = 0;
	int r = scan_leases(s, true, &l, &n, err);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		char *sep = strstr(l[i].owner, "\r\n");
		const char *ifname = sep ? sep + 2 : NULL;
		bool keep = false;
		char name[CNI_IP_STRLEN];

		if (sep)
			*sep = '\0';
		for (size_t j = 0; j < nvalid && !keep; j++) {
			if (!*l[i].owner || strcmp(valid[j].id, l[i].owner) != 0)
				continue;
			/* legacy id-only files belong to every attachment of the id */
			keep = !ifname || strcmp(valid[j].ifname, ifname) == 0;
		}
		if (keep || !cni_ip_format(&l[i].ip, name, sizeof(name)))
			continue;
		if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT) {
			r = sys_error(err, "remove", s->path, name);
			break;
		}
		lease_changed(s);
		hl_fault_point("gc-unlinked");
		count++;
	}
	leases_free(l, n);
	if (r < 0)
		return r;
	if (count) {
		leases_free(s->mem, s->nmem);
		s->mem = NULL;
		s->nmem = 0;
		s->mem_mode = false;
		if (s->privfd >= 0 && s->ownersfd >= 0) {
			r = idx_rebuild(s, err);
			if (r < 0)
				return r;
		} else {
			r = idx_validate(s, err);
			if (r < 0)
				return r;
		}
	}
	if (released)
		*released = count;
	return 0;
}

int hl_store_list(hl_store *s, cni_ipaddr **out, size_t *n, cni_error **err)
{
	hl_lease *l = NULL;
	size_t cnt = 0;
	cni_ipaddr *v;
	int r = scan_leases(s, false, &l, &cnt, err);

	if (r < 0)
		return r;
	v = malloc((cnt ? cnt : 1) * sizeof(*v));
	if (!v) {
		leases_free(l, cnt);
		return cni_error_oom(err);
	}
	for (size_t i = 0; i < cnt; i++)
		v[i] = l[i].ip;
	leases_free(l, cnt);
	*out = v;
	*n = cnt;
	return 0;
}

bool hl_store_taken(hl_store *s, const cni_ipaddr *ip)
{
	char name[CNI_IP_STRLEN];
	struct stat st;

	if (!cni_ip_format(ip, name, sizeof(name)))
		return true;
	return fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

int hl_store_check_writable(hl_store *s, cni_error **err)
{
	if (faccessat(s->dirfd, ".", W_OK | X_OK, 0) < 0)
		return sys_error(err, "access", s->path, NULL);
	return 0;
}
