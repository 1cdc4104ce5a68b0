// SPDX-License-Identifier: GPL-2.0
/*
 * The pvpanic device model (hw/pvpanic.c), driven through its bus handler
 * as Linux's pvpanic driver and a hostile guest drive it.
 */
#include "lkvm/pvpanic.h"
#include "lkvm/vm.h"
#include "host_files.h"
#include "stubs.h"
#include "test.h"

static unsigned int panicked_calls;
static void *panicked_opaque;

static void on_panicked(void *opaque)
{
	panicked_calls++;
	panicked_opaque = opaque;
}

static struct pvpanic dev;
static int host_token;

static void setup(void)
{
	panicked_calls = 0;
	panicked_opaque = NULL;
	pvpanic_init(&dev, on_panicked, &host_token);
}

static uint8_t rd(uint64_t off)
{
	uint8_t v = 0xee;

	pvpanic_io(&dev, off, &v, 1, false);
	return v;
}

static void wr(uint64_t off, uint8_t v)
{
	pvpanic_io(&dev, off, &v, 1, true);
}

/* The register says which events lkvm takes: PANICKED and CRASH_LOADED,
 * Linux's bits 0 and 1, and nothing newer (the guest masks with it). */
TEST(read_supported_events)
{
	setup();
	CHECK_EQ(PVPANIC_PANICKED, 1);
	CHECK_EQ(PVPANIC_CRASH_LOADED, 2);
	CHECK_EQ(rd(0), 0x03);
	CHECK_EQ(rd(0), 0x03); /* reading changes nothing */
	CHECK_EQ(panicked_calls, 0);
}

/* A PANICKED write calls the machine's callback once with its opaque,
 * however often the guest writes it; reads still work afterwards. */
TEST(panicked_write)
{
	struct capture cap;
	int i;

	setup();
	capture_start(&cap);
	wr(0, PVPANIC_PANICKED);
	capture_end(&cap);
	CHECK_EQ(panicked_calls, 1);
	CHECK_PTR_EQ(panicked_opaque, &host_token);
	CHECK_STREQ(cap.text, ""); /* vm_run() says it, once */
	for (i = 0; i < 1000; i++)
		wr(0, PVPANIC_PANICKED);
	CHECK_EQ(panicked_calls, 1);
	CHECK_EQ(rd(0), 0x03);

	/* PANICKED with other bits (both, unknown ones) is still a panic. */
	setup();
	wr(0, 0xff);
	CHECK_EQ(panicked_calls, 1);
	setup();
	wr(0, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	CHECK_EQ(panicked_calls, 1);
}

/* CRASH_LOADED: the guest's kdump kernel takes over, the VM goes on;
 * lkvm says so in one line, once.  A later PANICKED still stops it. */
TEST(crash_loaded_write)
{
	struct capture cap;
	int i;

	setup();
	capture_start(&cap);
	for (i = 0; i < 100; i++)
		wr(0, PVPANIC_CRASH_LOADED);
	capture_end(&cap);
	CHECK_EQ(panicked_calls, 0);
	CHECK_CONTAINS(cap.text, "lkvm: guest kernel panicked; its crash (kdump) kernel takes over");
	CHECK_EQ(count_lines(cap.text), 1);
	wr(0, PVPANIC_PANICKED);
	CHECK_EQ(panicked_calls, 1);
}

/* Writes that carry no known event, other widths and other offsets do
 * nothing; such reads give zeros and leave the rest of the buffer. */
TEST(odd_accesses_ignored)
{
	uint8_t buf[8];
	uint32_t len;
	struct capture cap;

	setup();
	capture_start(&cap);
	wr(0, 0);
	wr(0, 0x04); /* PVPANIC_SHUTDOWN, not offered */
	wr(0, 0xfc);
	wr(1, PVPANIC_PANICKED);
	wr(0x1000, PVPANIC_PANICKED);
	for (len = 2; len <= 8; len *= 2) {
		memset(buf, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED, sizeof(buf));
		pvpanic_io(&dev, 0, buf, len, true);
	}
	capture_end(&cap);
	CHECK_EQ(panicked_calls, 0);
	CHECK_STREQ(cap.text, "");

	CHECK_EQ(rd(1), 0);
	CHECK_EQ(rd(UINT64_MAX), 0);
	for (len = 2; len <= 8; len *= 2) {
		memset(buf, 0xee, sizeof(buf));
		pvpanic_io(&dev, 0, buf, len, false);
		for (uint32_t i = 0; i < sizeof(buf); i++)
			CHECK_EQ(buf[i], i < len ? 0 : 0xee);
	}
	/* Still a working device. */
	CHECK_EQ(rd(0), 0x03);
	wr(0, PVPANIC_PANICKED);
	CHECK_EQ(panicked_calls, 1);
}

/* Without a callback (a machine that only logs) a write is harmless. */
TEST(no_callback)
{
	pvpanic_init(&dev, NULL, NULL);
	wr(0, PVPANIC_PANICKED);
	CHECK_EQ(rd(0), 0x03);
}

/* What every machine wires: the VM stops for a guest panic. */
TEST(stop_vm_callback)
{
	struct capture cap;
	struct vm vm;

	memset(&vm, 0, sizeof(vm));
	pvpanic_init(&dev, pvpanic_stop_vm, &vm);
	stub_request_stop_calls = 0;
	stub_request_stop_last_why = VM_RUNNING;
	capture_start(&cap);
	wr(0, PVPANIC_CRASH_LOADED);
	capture_end(&cap);
	CHECK_EQ(count_lines(cap.text), 1);
	CHECK_EQ(stub_request_stop_calls, 0);
	wr(0, PVPANIC_PANICKED);
	CHECK_EQ(stub_request_stop_calls, 1);
	CHECK_EQ(stub_request_stop_last_why, VM_STOP_PANIC);
	wr(0, PVPANIC_PANICKED);
	CHECK_EQ(stub_request_stop_calls, 1);
}

/* The guest driver lkvm's initramfs loads: pvpanic-mmio (ACPI QEMU0001
 * and "qemu,pvpanic-mmio"). */
TEST(guest_modules)
{
	CHECK_STREQ(pvpanic_guest_modules[0], "pvpanic_mmio");
	CHECK_NULL(pvpanic_guest_modules[1]);
}

int main(void)
{
	RUN(read_supported_events);
	RUN(panicked_write);
	RUN(crash_loaded_write);
	RUN(odd_accesses_ignored);
	RUN(no_callback);
	RUN(stop_vm_callback);
	RUN(guest_modules);
	return test_summary();
}
