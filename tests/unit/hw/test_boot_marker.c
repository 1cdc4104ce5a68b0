// SPDX-License-Identifier: GPL-2.0
/*
 * The boot-marker register (hw/boot-marker.c) driven through its bus
 * handler, as a guest's init (and a hostile guest) would.
 */
#include "lkvm/boot-marker.h"
#include "lkvm/trace.h"
#include "host_files.h"
#include "test.h"

static unsigned int stops;
static void *stop_opaque;
static int token;
static char dir[256], path[320];

static void on_stop(void *opaque)
{
	stops++;
	stop_opaque = opaque;
}

static void wr(struct boot_marker *m, uint64_t off, uint8_t v, uint32_t len)
{
	uint8_t buf[8] = { v };

	boot_marker_io(m, off, buf, len, true);
}

/* Reads say the register is there; reading changes nothing. */
TEST(read_id)
{
	struct boot_marker m;
	uint8_t v[4] = { 0xee, 0xee, 0xee, 0xee };

	boot_marker_init(&m, NULL, -1, on_stop, &token);
	boot_marker_io(&m, 0, v, 1, false);
	CHECK_EQ(v[0], BOOT_MARKER_ID);
	boot_marker_io(&m, 1, v, 2, false);
	CHECK_EQ(v[0], 0);
	CHECK_EQ(v[1], 0);
}

/* A byte N is "marker N" in the trace, once however often it is
 * written; other offsets and widths are ignored. */
TEST(markers_traced)
{
	struct boot_marker m;
	struct boot_trace *t;
	const char *s;
	int err;

	stops = 0;
	snprintf(path, sizeof(path), "%s/m.json", dir);
	t = trace_open(path, &err);
	REQUIRE(t);
	boot_marker_init(&m, t, -1, on_stop, &token);
	wr(&m, 0, 7, 1);
	wr(&m, 0, 7, 1);
	wr(&m, 0, 0, 1);
	wr(&m, 0, 255, 1);
	wr(&m, 0, 9, 2);  /* not a byte write */
	wr(&m, 1, 10, 1); /* not offset 0 */
	trace_close(t);
	s = file_text(path);
	CHECK_EQ(count_substr(s, "\"name\":\"marker 7\",\"cat\":\"marker\""), 1);
	CHECK_EQ(count_substr(s, "\"name\":\"marker 0\""), 1);
	CHECK_EQ(count_substr(s, "\"name\":\"marker 255\""), 1);
	CHECK_EQ(count_substr(s, "\"cat\":\"marker\""), 3);
	CHECK_EQ(stops, 0);
}

/* --until-marker N: marker N stops the VM, once; other markers do not. */
TEST(until_marker)
{
	struct boot_marker m;
	unsigned int i;

	stops = 0;
	stop_opaque = NULL;
	boot_marker_init(&m, NULL, 42, on_stop, &token);
	wr(&m, 0, 41, 1);
	CHECK_EQ(stops, 0);
	for (i = 0; i < 1000; i++)
		wr(&m, 0, 42, 1);
	CHECK_EQ(stops, 1);
	CHECK_PTR_EQ(stop_opaque, &token);

	stops = 0;
	boot_marker_init(&m, NULL, 0, on_stop, &token);
	wr(&m, 0, 0, 1);
	CHECK_EQ(stops, 1);
}

int main(void)
{
	if (!tmp_dir_make(dir, sizeof(dir), "marker"))
		return 1;
	RUN(read_id);
	RUN(markers_traced);
	RUN(until_marker);
	tmp_dir_remove(dir);
	return test_summary();
}
