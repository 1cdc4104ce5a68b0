/*
 * Link test of the riscv64 sysroot (tools/riscv-sysroot/sysroot.sh): calls
 * what lkvm calls from each library, so that a static link pulls the same
 * objects out of the archives (libarchive's cpio writer and its reader
 * with every decompression filter, libfdt, libaio, libcap-ng, liburing,
 * libslirp with glib).
 * It is only linked, never run.
 */
#include <archive.h>
#include <archive_entry.h>
#include <cap-ng.h>
#include <libaio.h>
#include <libfdt.h>
#include <liburing.h>
#include <linux/kvm.h>
#include <slirp/libslirp.h>
#include <stdio.h>

static int cpio_roundtrip(const char *path)
{
	static char buf[65536];
	struct archive *w, *r;
	struct archive_entry *e;
	size_t used = 0;
	char data[16];

	w = archive_write_new();
	e = archive_entry_new();
	archive_write_set_format_cpio_newc(w);
	archive_write_add_filter_none(w);
	archive_write_set_bytes_in_last_block(w, 1);
	archive_write_open_memory(w, buf, sizeof(buf), &used);
	archive_entry_set_pathname(e, "init");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_mode(e, 0755);
	archive_entry_set_ino(e, 1);
	archive_entry_set_nlink(e, 1);
	archive_entry_set_rdevmajor(e, 0);
	archive_entry_set_rdevminor(e, 0);
	archive_entry_set_size(e, 3);
	archive_write_header(w, e);
	archive_write_data(w, "abc", 3);
	archive_entry_clear(e);
	archive_write_close(w);
	archive_write_free(w);
	archive_entry_free(e);

	w = archive_write_new();
	archive_write_set_format_raw(w);
	archive_write_open_fd(w, 1);
	archive_write_open_filename(w, path);
	archive_write_free(w);

	r = archive_read_new();
	archive_read_support_filter_all(r);
	archive_read_support_filter_none(r);
	archive_read_support_format_cpio(r);
	archive_read_support_format_raw(r);
	if (archive_read_open_fd(r, 0, 4096) != ARCHIVE_OK)
		archive_read_open_filename(r, path, 4096);
	while (archive_read_next_header(r, &e) == ARCHIVE_OK) {
		archive_read_data(r, data, sizeof(data));
		printf("%s %o %lld %u:%u\n", archive_entry_pathname(e),
		       (unsigned)archive_entry_mode(e),
		       (long long)archive_entry_size(e),
		       (unsigned)archive_entry_rdevmajor(e),
		       (unsigned)archive_entry_rdevminor(e));
	}
	printf("%s %d %s\n", archive_format_name(r), archive_errno(r),
	       archive_error_string(r) ? archive_error_string(r) : "");
	archive_read_free(r);
	return (int)used;
}

int main(int argc, char **argv)
{
	static char fdt[4096];
	struct io_uring ring;
	io_context_t ctx = 0;

	(void)argc;
	fdt_create_empty_tree(fdt, sizeof(fdt));
	fdt_setprop_u32(fdt, 0, "#address-cells", 2);
	io_setup(1, &ctx);
	io_uring_queue_init(4, &ring, 0);
	capng_clear(CAPNG_SELECT_BOTH);
	capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, CAP_SYS_ADMIN);
	capng_apply(CAPNG_SELECT_BOTH);
	printf("%d %d\n", cpio_roundtrip(argv[0]), KVM_API_VERSION);
	{
		SlirpConfig sc = { .version = 4, .in_enabled = true };
		SlirpCb cb = { 0 };
		Slirp *s = slirp_new(&sc, &cb, NULL);
		uint32_t timeout = 0;

		slirp_pollfds_fill(s, &timeout, NULL, NULL);
		slirp_input(s, (const uint8_t *)"", 0);
		printf("%s %d\n", slirp_version_string(),
		       slirp_add_hostfwd(s, 0, sc.vhost, 1, sc.vhost, 1));
		slirp_cleanup(s);
	}
	return 0;
}
