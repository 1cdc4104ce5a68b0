// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel command line: lkvm's defaults (the arch's, the root disk's,
 * then what devices and transports add) followed by the user's -p
 * parameters, which stay last (they override defaults, and may end in
 * "-- args" for init).  Only this file edits vm->cmdline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/util.h"
#include "lkvm/vm.h"

char *vm_build_cmdline(const char *arch_defaults, const char *user_params)
{
	size_t a = strlen(arch_defaults);
	size_t u = user_params ? strlen(user_params) : 0;
	char *s = malloc(a + u + 2);

	if (!s)
		return NULL;
	memcpy(s, arch_defaults, a);
	s[a] = '\0';
	if (u) {
		/* After lkvm's defaults, so "-p panic=-1" overrides panic=1. */
		s[a] = ' ';
		memcpy(s + a + 1, user_params, u + 1);
	}
	return s;
}

int vm_cmdline_add(struct vm *vm, const char *param)
{
	size_t len = vm->cmdline ? strlen(vm->cmdline) : 0;
	size_t def = MIN(vm->cmdline_defaults_len, len);
	size_t plen = strlen(param);
	char *s = malloc(len + plen + 2);
	size_t pos = 0;

	if (!s)
		return -ENOMEM;
	memcpy(s, vm->cmdline ? vm->cmdline : "", def);
	pos = def;
	if (pos)
		s[pos++] = ' ';
	memcpy(s + pos, param, plen);
	pos += plen;
	/* The -p parameters follow, still last (they may end in "-- args"). */
	if (def < len) {
		if (vm->cmdline[def] != ' ')
			s[pos++] = ' ';
		memcpy(s + pos, vm->cmdline + def, len - def + 1);
	} else {
		s[pos] = '\0';
	}
	free(vm->cmdline);
	vm->cmdline = s;
	vm->cmdline_defaults_len = def + (def ? 1 : 0) + plen;
	return 0;
}

/* Where the default @param starts in vm->cmdline, or -1. */
static long default_param_at(const struct vm *vm, const char *param)
{
	size_t plen = strlen(param), len, def, pos = 0;

	if (!vm->cmdline)
		return -1;
	len = strlen(vm->cmdline);
	def = MIN(vm->cmdline_defaults_len, len);
	while (pos < def) {
		size_t tok = strcspn(vm->cmdline + pos, " ");

		if (tok == plen && !memcmp(vm->cmdline + pos, param, plen))
			return (long)pos;
		pos += tok + 1;
	}
	return -1;
}

int vm_cmdline_add_after(struct vm *vm, const char *after, const char *param)
{
	long at = default_param_at(vm, after);
	size_t len, alen = strlen(after), plen = strlen(param), pos;
	char *n;

	if (at < 0)
		return vm_cmdline_add(vm, param);
	len = strlen(vm->cmdline);
	pos = (size_t)at + alen;
	n = malloc(len + plen + 2);
	if (!n)
		return -ENOMEM;
	memcpy(n, vm->cmdline, pos);
	n[pos] = ' ';
	memcpy(n + pos + 1, param, plen);
	memcpy(n + pos + 1 + plen, vm->cmdline + pos, len - pos + 1);
	free(vm->cmdline);
	vm->cmdline = n;
	vm->cmdline_defaults_len += plen + 1;
	return 0;
}

/*
 * The next parameter at *@p (NULL at the end), its length in *@len, where
 * it starts in the text in *@raw, and *@p moved past it.  Split as the
 * kernel's next_arg() does: at blanks outside double quotes, a leading
 * quote not part of the name.
 */
static const char *next_param(const char **p, const char **raw, size_t *len)
{
	const char *s = *p, *tok;
	bool quoted = false;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (!*s)
		return NULL;
	tok = *raw = s;
	for (; *s && (quoted || (*s != ' ' && *s != '\t' && *s != '\n')); s++)
		if (*s == '"')
			quoted = !quoted;
	*p = s;
	*len = (size_t)(s - tok);
	if (*tok == '"') {
		tok++;
		(*len)--;
	}
	return tok;
}

const char *params_init_args(const char *params)
{
	const char *p = params, *tok, *raw;
	size_t len;

	while (p && (tok = next_param(&p, &raw, &len)))
		if (len == 2 && !memcmp(tok, "--", 2))
			return raw;
	return NULL;
}

/* Whether the kernel parameters @params set root= (before a bare "--",
 * after which they are init's).  nfsroot= and other names ending in
 * "root" do not count. */
static bool params_set_root(const char *params)
{
	const char *p = params, *tok, *raw, *end = params_init_args(params);
	size_t len;

	while (p && (tok = next_param(&p, &raw, &len)) && (!end || raw < end))
		if (len >= 5 && !memcmp(tok, "root=", 5))
			return true;
	return false;
}

const char *vm_default_root(const struct vm_config *cfg)
{
	/* No disk: nothing to mount.  lkvm's own initramfs (the 9p root)
	 * mounts its root itself; with a 9p root and the user's initrd,
	 * sandbox_prepare() has put root=/dev/root in cfg->params. */
	if (!cfg->nr_disks || cfg->initrd_what || params_set_root(cfg->params))
		return NULL;
	/* The first --disk is the first virtio-blk device, /dev/vda. */
	return cfg->disks[0].readonly ? "root=/dev/vda ro" : "root=/dev/vda rw";
}

int vm_cmdline_init(struct vm *vm, const char *arch_defaults,
		    const struct vm_config *cfg)
{
	const char *root = vm_default_root(cfg);

	free(vm->cmdline);
	vm->cmdline = vm_build_cmdline(arch_defaults, cfg->params);
	if (!vm->cmdline)
		return -ENOMEM;
	vm->cmdline_defaults_len = strlen(arch_defaults);
	return root ? vm_cmdline_add(vm, root) : 0;
}
