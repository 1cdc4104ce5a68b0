// SPDX-License-Identifier: GPL-2.0
/*
 * The initramfs of a 9p-root boot.  Distribution kernels build virtio and 9p
 * as modules, so before the guest can mount its root over 9p it has to load
 * them; lkvm takes them from the kernel's own /lib/modules/RELEASE, in the
 * order modprobe would use, and packs them with its static init into a cpio
 * archive in a memfd.  Nothing is written to disk.
 */
#include "lkvm/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/config.h"
#include "lkvm/dlib.h"
#include "lkvm/pvpanic.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"

#define MODULE_MAX_BYTES (256 * MiB) /* a decompressed module, sanity cap */
#define DEP_MAX_DEPTH 64

/* libarchive, loaded when a module needs decompressing or the initramfs
 * is written (include/lkvm/dlib.h). */
#define ARCHIVE_FNS(X) X(archive_entry_clear) X(archive_entry_free) \
	X(archive_entry_new) X(archive_entry_set_ino) X(archive_entry_set_mode) \
	X(archive_entry_set_nlink) X(archive_entry_set_pathname) \
	X(archive_entry_set_rdevmajor) X(archive_entry_set_rdevminor) \
	X(archive_entry_set_size) X(archive_errno) X(archive_error_string) \
	X(archive_read_data) X(archive_read_free) X(archive_read_new) \
	X(archive_read_next_header) X(archive_read_open_fd) \
	X(archive_read_support_filter_all) X(archive_read_support_format_raw) \
	X(archive_write_add_filter_none) X(archive_write_close) \
	X(archive_write_data) X(archive_write_free) X(archive_write_header) \
	X(archive_write_new) X(archive_write_open_fd) \
	X(archive_write_set_bytes_in_last_block) \
	X(archive_write_set_format_cpio_newc)
LKVM_DLIB_TABLE(la, ARCHIVE_FNS, "libarchive.so.13", "libarchive13",
		"the sandbox's initramfs")

/* Does the guest get devices of type @t that it asked for? */
static bool type_wanted(const struct vm_config *cfg,
			const struct virtio_device_type *t)
{
	/* The 9p root needs its driver even with no --9p export. */
	if (t == &virtio_9p_type)
		return true;
	return t->count(cfg) > 0 && !(t->implicit && t->implicit(cfg));
}

/* Does the guest get lkvm's default devices of type @t (no -n: a NIC)? */
static bool type_implicit(const struct vm_config *cfg,
			  const struct virtio_device_type *t)
{
	return t != &virtio_9p_type && t->implicit && t->implicit(cfg) &&
	       t->count(cfg) > 0;
}

const char **initramfs_wanted_modules(const struct vm_config *cfg,
				      unsigned int *nr)
{
	const struct virtio_device_type *const *t;
	const char *const *m;
	const char **names;
	unsigned int n = 1;
	bool mmio = cfg->transport == VIRTIO_TRANSPORT_MMIO ||
		    cfg->transport == VIRTIO_TRANSPORT_MMIO_LEGACY;

	for (t = virtio_device_types; *t; t++)
		for (m = (*t)->modules; m && *m && type_wanted(cfg, *t); m++)
			n++;
	names = calloc(n + 1, sizeof(*names));
	if (!names)
		return NULL;
	n = 0;
	names[n++] = mmio ? "virtio_mmio" : "virtio_pci";
	for (t = virtio_device_types; *t; t++)
		for (m = (*t)->modules; m && *m && type_wanted(cfg, *t); m++)
			names[n++] = *m;
	*nr = n;
	return names;
}

const char **initramfs_optional_modules(const struct vm_config *cfg)
{
	const struct virtio_device_type *const *t;
	const char *const *m;
	const char **names;
	unsigned int n = 0;

	for (m = pvpanic_guest_modules; *m; m++)
		n++;
	for (t = virtio_device_types; *t; t++)
		for (m = (*t)->modules; m && *m && type_implicit(cfg, *t); m++)
			n++;
	names = calloc(n + 1, sizeof(*names));
	if (!names)
		return NULL;
	n = 0;
	/* The drivers of the platform devices every guest has... */
	for (m = pvpanic_guest_modules; *m; m++)
		names[n++] = *m;
	/* ... and of the devices lkvm adds unasked (the default NIC). */
	for (t = virtio_device_types; *t; t++)
		for (m = (*t)->modules; m && *m && type_implicit(cfg, *t); m++)
			names[n++] = *m;
	return names;
}

/* --- names --- */

static void normalize(char *s)
{
	for (; *s; s++)
		if (*s == '-')
			*s = '_';
}

bool module_name_of(const char *path, char *name, size_t cap)
{
	static const char *const suffixes[] = { ".ko", ".ko.xz", ".ko.zst",
						".ko.gz" };
	const char *base = strrchr(path, '/');
	size_t len, i;

	base = base ? base + 1 : path;
	len = strlen(base);
	for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len > sl && !strcmp(base + len - sl, suffixes[i])) {
			len -= sl;
			if (len >= cap)
				return false;
			memmove(name, base, len); /* may overlap */
			name[len] = '\0';
			normalize(name);
			return true;
		}
	}
	return false;
}

static bool same_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

bool module_set_lacks(const struct module_set *set, const char *name)
{
	unsigned int i;

	for (i = 0; i < set->nr_missing; i++)
		if (same_name(set->missing[i], name))
			return true;
	return false;
}

/* --- modules.dep --- */

struct dep_line {
	char name[INITRAMFS_MODULE_NAME_MAX];
	const char *path;
	const char *deps;     /* nr_deps NUL-terminated paths in a row */
	unsigned int nr_deps;
	bool visited;
};

struct moddep {
	const char *dir;
	bool initrd_ok;          /* -i is a way out (lkvm run, not sandbox) */
	char *text;              /* modules.dep, split in place */
	struct dep_line *lines;
	unsigned int nr;
	char **builtin;          /* names from modules.builtin */
	unsigned int nr_builtin;
	char *builtin_text;
};

/* Pack the words of @s (separated by spaces or tabs) at its front, each
 * NUL-terminated; returns how many. */
static unsigned int split_words(char *s, const char **first)
{
	unsigned int n = 0;
	char *w = s, *out = s;

	*first = s;
	for (;;) {
		char sep;

		while (*w == ' ' || *w == '\t')
			w++;
		if (!*w)
			break;
		while (*w && *w != ' ' && *w != '\t')
			*out++ = *w++;
		sep = *w; /* out may equal w: the NUL overwrites it */
		*out++ = '\0';
		n++;
		if (!sep)
			break;
		w++;
	}
	return n;
}

static int parse_dep(struct moddep *md, size_t len)
{
	char *line, *next;
	unsigned int cap = 0;

	for (line = md->text; line < md->text + len && *line; line = next) {
		char *nl = strchr(line, '\n');
		char *colon;
		struct dep_line *l;

		next = nl ? nl + 1 : line + strlen(line);
		if (nl)
			*nl = '\0';
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		if (md->nr == cap) {
			cap = cap ? cap * 2 : 256;
			l = realloc(md->lines, cap * sizeof(*l));
			if (!l)
				return -ENOMEM;
			md->lines = l;
		}
		l = &md->lines[md->nr];
		memset(l, 0, sizeof(*l));
		if (!module_name_of(line, l->name, sizeof(l->name)))
			continue;
		l->path = line;
		l->nr_deps = split_words(colon + 1, &l->deps);
		md->nr++;
	}
	return 0;
}

static int parse_builtin(struct moddep *md, size_t len)
{
	char *line, *next;
	unsigned int cap = 0;

	for (line = md->builtin_text; line < md->builtin_text + len && *line;
	     line = next) {
		char *nl = strchr(line, '\n');

		next = nl ? nl + 1 : line + strlen(line);
		if (nl)
			*nl = '\0';
		if (md->nr_builtin == cap) {
			char **b;

			cap = cap ? cap * 2 : 256;
			b = realloc(md->builtin, cap * sizeof(*b));
			if (!b)
				return -ENOMEM;
			md->builtin = b;
		}
		/* Overwrite the line with its module name (never longer). */
		if (module_name_of(line, line, strlen(line) + 1))
			md->builtin[md->nr_builtin++] = line;
	}
	return 0;
}

static char *read_text(const char *dir, const char *file, size_t *len,
		       int *err)
{
	char path[4096];
	uint8_t *buf;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	*err = read_whole_file(path, &buf, len);
	if (*err)
		return NULL;
	text = realloc(buf, *len + 1);
	if (!text) {
		free(buf);
		*err = -ENOMEM;
		return NULL;
	}
	text[*len] = '\0';
	return text;
}

static void moddep_free(struct moddep *md)
{
	free(md->text);
	free(md->lines);
	free(md->builtin);
	free(md->builtin_text);
}

/* The other way to boot when the modules are not there: lkvm run takes
 * an initrd; lkvm sandbox only ever boots its own. */
static const char *way_out(const struct moddep *md)
{
	return md->initrd_ok ? "give an initrd with -i" :
	       "use -k with a kernel whose modules are installed";
}

static int moddep_load(struct moddep *md, const char *dir, bool initrd_ok)
{
	struct stat st;
	size_t len;
	int err;

	memset(md, 0, sizeof(*md));
	md->dir = dir;
	md->initrd_ok = initrd_ok;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		pr_err("no modules for the guest kernel: %s does not exist (install the kernel's modules, or %s)",
		       dir, way_out(md));
		return -ENOENT;
	}
	md->text = read_text(dir, "modules.dep", &len, &err);
	if (!md->text) {
		pr_err("cannot read %s/modules.dep: %s (run depmod for that kernel, or %s)",
		       dir, strerror(-err), way_out(md));
		return err;
	}
	err = parse_dep(md, len);
	if (err)
		goto nomem;
	/* No modules.builtin (old or hand-made trees): nothing is built in. */
	md->builtin_text = read_text(dir, "modules.builtin", &len, &err);
	if (md->builtin_text && parse_builtin(md, len))
		goto nomem;
	return 0;
nomem:
	pr_err("out of memory reading %s", dir);
	return -ENOMEM;
}

static struct dep_line *find_line(struct moddep *md, const char *name)
{
	unsigned int i;

	for (i = 0; i < md->nr; i++)
		if (same_name(md->lines[i].name, name))
			return &md->lines[i];
	return NULL;
}

static bool is_builtin(const struct moddep *md, const char *name)
{
	unsigned int i;

	for (i = 0; i < md->nr_builtin; i++)
		if (same_name(md->builtin[i], name))
			return true;
	return false;
}

/* The file of modules.dep's @rel. */
static void module_path(const struct moddep *md, const char *rel, char *buf,
			size_t cap)
{
	/* depmod writes paths relative to the directory (absolute long ago). */
	if (rel[0] == '/')
		snprintf(buf, cap, "%s", rel);
	else
		snprintf(buf, cap, "%s/%s", md->dir, rel);
}

static bool module_file_exists(const struct moddep *md, const char *rel)
{
	char path[4096];

	module_path(md, rel, path, sizeof(path));
	return access(path, R_OK) == 0;
}

/*
 * Whether optional module @name can be loaded: modules.dep lists it, and
 * its file and those of the dependencies its line lists (depmod lists them
 * all, indirect ones included) are there.
 */
static bool optional_available(struct moddep *md, const char *name)
{
	const struct dep_line *l = find_line(md, name);
	const char *d;
	unsigned int i;

	if (!l || !module_file_exists(md, l->path))
		return false;
	for (i = 0, d = l->deps; i < l->nr_deps; i++, d += strlen(d) + 1)
		if (!module_file_exists(md, d))
			return false;
	return true;
}

static int add_module(struct moddep *md, const struct dep_line *l,
		      struct module_set *set)
{
	struct initramfs_module *m;
	char path[4096];

	if (set->nr >= INITRAMFS_MAX_MODULES) {
		pr_err("more than %d modules needed from %s",
		       INITRAMFS_MAX_MODULES, md->dir);
		return -E2BIG;
	}
	m = realloc(set->mods, (set->nr + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	set->mods = m;
	m = &set->mods[set->nr];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", l->name);
	module_path(md, l->path, path, sizeof(path));
	m->path = strdup(path);
	if (!m->path)
		return -ENOMEM;
	set->nr++;
	return 0;
}

/* Depth-first: dependencies (last listed first, as modprobe) before @name. */
static int visit(struct moddep *md, const char *name, const char *needed_by,
		 unsigned int depth, struct module_set *set)
{
	struct dep_line *l = find_line(md, name);
	const char *d, *dep[INITRAMFS_MAX_MODULES];
	unsigned int i;
	int err;

	if (!l) {
		if (is_builtin(md, name))
			return 0;
		if (needed_by)
			pr_err("module %s (needed by %s) is missing from %s/modules.dep (run depmod for that kernel, or %s)",
			       name, needed_by, md->dir, way_out(md));
		else if (md->initrd_ok)
			pr_err("the guest kernel has no module %s in %s (it is needed for the 9p root; use a kernel with it, or give an initrd with -i)",
			       name, md->dir);
		else
			pr_err("the guest kernel has no module %s in %s (it is needed for the 9p root; use -k with a kernel that has it)",
			       name, md->dir);
		return -ENOENT;
	}
	if (l->visited)
		return 0;
	if (depth > DEP_MAX_DEPTH || l->nr_deps > INITRAMFS_MAX_MODULES) {
		pr_err("%s/modules.dep: dependencies of %s are too deep or too many",
		       md->dir, name);
		return -ELOOP;
	}
	l->visited = true;
	for (i = 0, d = l->deps; i < l->nr_deps; i++, d += strlen(d) + 1)
		dep[i] = d;
	while (i--) {
		char dname[INITRAMFS_MODULE_NAME_MAX];

		if (!module_name_of(dep[i], dname, sizeof(dname))) {
			pr_err("%s/modules.dep: bad dependency '%s' of %s",
			       md->dir, dep[i], l->name);
			return -EINVAL;
		}
		err = visit(md, dname, l->name, depth + 1, set);
		if (err)
			return err;
	}
	err = add_module(md, l, set);
	if (err == -ENOMEM)
		pr_err("out of memory");
	return err;
}

static int note_missing(struct module_set *set, const char *name)
{
	const char **m = realloc(set->missing,
				 (set->nr_missing + 1) * sizeof(*m));

	if (!m) {
		pr_err("out of memory");
		return -ENOMEM;
	}
	set->missing = m;
	set->missing[set->nr_missing++] = name;
	return 0;
}

int modules_resolve_with(const char *moddir, const char *const *names,
			 unsigned int nr, const char *const *optional,
			 bool initrd_ok, struct module_set *set)
{
	struct moddep md;
	unsigned int i;
	int err;

	memset(set, 0, sizeof(*set));
	err = moddep_load(&md, moddir, initrd_ok);
	for (i = 0; !err && i < nr; i++)
		err = visit(&md, names[i], NULL, 0, set);
	for (; !err && optional && *optional; optional++) {
		/* A kernel without the driver: the guest goes without. */
		if (!optional_available(&md, *optional)) {
			if (!is_builtin(&md, *optional)) {
				pr_debug("no module %s in %s: the guest goes without it",
					 *optional, moddir);
				err = note_missing(set, *optional);
			}
			continue;
		}
		err = visit(&md, *optional, NULL, 0, set);
	}
	moddep_free(&md);
	if (err)
		modules_free(set);
	return err;
}

int modules_resolve(const char *moddir, const char *const *names,
		    unsigned int nr, bool initrd_ok, struct module_set *set)
{
	return modules_resolve_with(moddir, names, nr, NULL, initrd_ok, set);
}

/* --- reading modules --- */

static bool is_compressed(const char *path)
{
	size_t len = strlen(path);

	return !(len > 3 && !strcmp(path + len - 3, ".ko"));
}

/* Any compression libarchive knows, as one raw stream. */
static int decompress(const char *path, uint8_t **data, size_t *size)
{
	struct archive *a = la.archive_read_new();
	struct archive_entry *e;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	int err = 0, fd;

	if (!a)
		return -ENOMEM;
	/* Only a regular file: a FIFO would block libarchive's open. */
	fd = open_regular_file(path, false, &st);
	if (fd < 0) {
		la.archive_read_free(a);
		return fd;
	}
	la.archive_read_support_filter_all(a);
	la.archive_read_support_format_raw(a);
	if (la.archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK ||
	    la.archive_read_next_header(a, &e) != ARCHIVE_OK) {
		err = la.archive_errno(a) > 0 ? -la.archive_errno(a) : -EINVAL;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			uint8_t *n;

			if (cap >= MODULE_MAX_BYTES) {
				err = -EFBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 256 * 1024;
			n = realloc(buf, cap);
			if (!n) {
				err = -ENOMEM;
				goto out;
			}
			buf = n;
		}
		r = la.archive_read_data(a, buf + len, cap - len);
		if (r == 0)
			break;
		if (r < 0) {
			err = la.archive_errno(a) > 0 ? -la.archive_errno(a) : -EINVAL;
			goto out;
		}
		len += (size_t)r;
	}
out:
	la.archive_read_free(a);
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*data = buf;
	*size = len;
	return 0;
}

int module_file_read(const char *path, uint8_t **data, size_t *size)
{
	if (!is_compressed(path))
		return read_whole_file(path, data, size);
	if (lkvm_dlib_load_la())
		return -ELIBACC; /* said so */
	return decompress(path, data, size);
}

int modules_read(struct module_set *set)
{
	unsigned int i;

	for (i = 0; i < set->nr; i++) {
		struct initramfs_module *m = &set->mods[i];
		int err = module_file_read(m->path, &m->data, &m->size);

		if (err == -ELIBACC)
			return err; /* no libarchive: said so */
		if (err) {
			pr_err("cannot read module %s (%s): %s", m->name, m->path,
			       err == -EINVAL ? "not compressed as its name says" :
			       err == -LKVM_ENOTREG ? "not a regular file" :
			       strerror(-err));
			return err;
		}
		if (m->size < 4 || memcmp(m->data, "\177ELF", 4)) {
			pr_err("module %s (%s) is not an ELF object after decompression",
			       m->name, m->path);
			return -ENOEXEC;
		}
	}
	return 0;
}

void modules_free(struct module_set *set)
{
	unsigned int i;

	for (i = 0; i < set->nr; i++) {
		free(set->mods[i].path);
		free(set->mods[i].data);
	}
	free(set->mods);
	free(set->missing);
	set->mods = NULL;
	set->missing = NULL;
	set->nr = set->nr_missing = 0;
}

/* --- the archive --- */

char *initramfs_encode_argv(char *const *argv, size_t *len)
{
	size_t total = 0, off = 0;
	unsigned int i;
	char *buf;

	for (i = 0; argv[i]; i++) {
		total += strlen(argv[i]) + 1;
		if (total > INITRAMFS_ARGV_MAX)
			return NULL;
	}
	buf = malloc(total ? total : 1);
	if (!buf)
		return NULL;
	for (i = 0; argv[i]; i++) {
		size_t n = strlen(argv[i]) + 1;

		memcpy(buf + off, argv[i], n);
		off += n;
	}
	*len = total;
	return buf;
}

struct writer {
	struct archive *a;
	struct archive_entry *e;
	unsigned int ino;
};

static int add_entry(struct writer *w, const char *path, mode_t mode,
		     const void *data, size_t size)
{
	struct archive_entry *e = la.archive_entry_clear(w->e);

	la.archive_entry_set_pathname(e, path);
	la.archive_entry_set_mode(e, mode);
	la.archive_entry_set_ino(e, ++w->ino);
	la.archive_entry_set_nlink(e, S_ISDIR(mode) ? 2 : 1);
	if (S_ISCHR(mode)) {
		/* /dev/console: the kernel opens it for init's stdin/out/err
		 * before init can mount devtmpfs. */
		la.archive_entry_set_rdevmajor(e, 5);
		la.archive_entry_set_rdevminor(e, 1);
	}
	la.archive_entry_set_size(e, S_ISREG(mode) ? (la_int64_t)size : 0);
	if (la.archive_write_header(w->a, e) != ARCHIVE_OK)
		return -EIO;
	if (size && la.archive_write_data(w->a, data, size) != (la_ssize_t)size)
		return -EIO;
	return 0;
}

static int write_entries(struct writer *w, const struct initramfs_spec *spec)
{
	static const char *const dirs[] = { "dev", "proc", "sys", "newroot",
					    "lkvm", "lkvm/modules", "lkvm/ctl" };
	const struct module_set *ms = spec->modules;
	char path[128];
	unsigned int i;
	int err = 0;

	for (i = 0; !err && i < ARRAY_SIZE(dirs); i++)
		err = add_entry(w, dirs[i], S_IFDIR | 0755, NULL, 0);
	if (!err)
		err = add_entry(w, "dev/console", S_IFCHR | 0600, NULL, 0);
	if (!err)
		err = add_entry(w, "init", S_IFREG | 0755, lkvm_guest_init,
				(size_t)(lkvm_guest_init_end - lkvm_guest_init));
	for (i = 0; !err && ms && i < ms->nr; i++) {
		snprintf(path, sizeof(path), "lkvm/modules/%02u-%s.ko", i,
			 ms->mods[i].name);
		err = add_entry(w, path, S_IFREG | 0644, ms->mods[i].data,
				ms->mods[i].size);
	}
	if (!err && spec->argv) {
		size_t len;
		char *buf = initramfs_encode_argv(spec->argv, &len);

		if (!buf) {
			pr_err("the command's arguments are too long (at most %d bytes)",
			       INITRAMFS_ARGV_MAX);
			return -E2BIG;
		}
		err = add_entry(w, "lkvm/argv", S_IFREG | 0644, buf, len);
		free(buf);
	}
	if (!err)
		err = add_entry(w, "lkvm/config", S_IFREG | 0644, spec->config,
				strlen(spec->config));
	if (err)
		pr_err("cannot build the initramfs: %s",
		       la.archive_error_string(w->a) ? la.archive_error_string(w->a)
						  : strerror(-err));
	return err;
}

int initramfs_build(const struct initramfs_spec *spec)
{
	struct writer w = { 0 };
	int fd, err = -ENOMEM;

	if (lkvm_dlib_load_la())
		return -ELIBACC;
	fd = memfd_create("lkvm-initramfs", MFD_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("cannot create the initramfs (memfd_create): %s",
		       strerror(-err));
		return err;
	}
	w.a = la.archive_write_new();
	w.e = la.archive_entry_new();
	if (!w.a || !w.e)
		goto fail_msg;
	if (la.archive_write_set_format_cpio_newc(w.a) != ARCHIVE_OK ||
	    la.archive_write_add_filter_none(w.a) != ARCHIVE_OK ||
	    la.archive_write_set_bytes_in_last_block(w.a, 1) != ARCHIVE_OK ||
	    la.archive_write_open_fd(w.a, fd) != ARCHIVE_OK) {
		err = -EIO;
		goto fail_msg;
	}
	err = write_entries(&w, spec);
	if (err)
		goto fail;
	if (la.archive_write_close(w.a) != ARCHIVE_OK) {
		err = -EIO;
		goto fail_msg;
	}
	la.archive_entry_free(w.e);
	la.archive_write_free(w.a);
	return fd;
fail_msg:
	pr_err("cannot build the initramfs: %s",
	       w.a && la.archive_error_string(w.a) ? la.archive_error_string(w.a)
						: strerror(-err));
fail:
	if (w.e)
		la.archive_entry_free(w.e);
	if (w.a)
		la.archive_write_free(w.a);
	close(fd);
	return err;
}
