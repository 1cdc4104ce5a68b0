// SPDX-License-Identifier: GPL-2.0
/* Test-time compression with the tools a kernel build uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress_tool.h"
#include "host_files.h"

static const char *tool_for(enum decomp_format f)
{
	switch (f) {
	case DECOMP_GZIP: return "gzip -n -9 -c";
	/* Linux: xz --check=crc32 (the kernel's xz decoder checks CRC32). */
	case DECOMP_XZ: return "xz --check=crc32 -6 -c";
	case DECOMP_LZMA: return "xz --format=lzma -9 -c";
	case DECOMP_ZSTD: return "zstd -q -19 -c";
	case DECOMP_LZ4: return "lz4 -q -l -9 -c"; /* -l: the legacy format */
	case DECOMP_BZIP2: return "bzip2 -9 -c";
	default: return NULL;
	}
}

uint8_t *compress_with_tool(enum decomp_format f, const void *data,
			    size_t len, size_t *out_len)
{
	char dir[256], cmd[1024], in[300], out[300];
	const char *tool = tool_for(f);
	uint8_t *buf = NULL;
	struct stat st;
	FILE *fp;

	if (!tool || !tmp_dir_make(dir, sizeof(dir), "compress"))
		return NULL;
	snprintf(in, sizeof(in), "%s/in", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(cmd, sizeof(cmd), "%s <'%s' >'%s'", tool, in, out);
	if (file_put(in, data, len, 0644) || system(cmd) != 0 ||
	    stat(out, &st) < 0 || !st.st_size) {
		printf("  '%s' failed: is the tool installed (./deps.sh)?\n", tool);
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	fp = fopen(out, "rb");
	if (!buf || !fp || fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	} else {
		*out_len = (size_t)st.st_size;
	}
	if (fp)
		fclose(fp);
out:
	tmp_dir_remove(dir);
	return buf;
}
