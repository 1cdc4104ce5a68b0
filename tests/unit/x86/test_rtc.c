// SPDX-License-Identifier: GPL-2.0
/* The MC146818 CMOS RTC (x86/rtc.c) with an injected clock. */
#include "arch/devices.h"
#include "test.h"

#define REG_SEC 0x00
#define REG_SEC_ALARM 0x01
#define REG_MIN 0x02
#define REG_MIN_ALARM 0x03
#define REG_HOUR 0x04
#define REG_HOUR_ALARM 0x05
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MON 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32

/* 2026-11-21 13:47:02 UTC, a Saturday. */
#define T_2026 ((time_t)1795268822)
/* 1999-12-31 00:05:09 UTC, a Friday. */
#define T_1999 ((time_t)946598709)
/* 2000-01-01 12:00:00 UTC, a Saturday. */
#define T_2000_NOON ((time_t)946728000)

static time_t fake_now = T_2026;
static time_t fake_clock(void) { return fake_now; }

static struct cmos_rtc rtc;

static void setup(time_t t)
{
	fake_now = t;
	if (cmos_rtc_init(&rtc, fake_clock)) {
		printf("cmos_rtc_init failed\n");
		exit(1);
	}
}

static uint8_t rd(uint8_t index)
{
	uint8_t v = 0xee;

	cmos_rtc_io(&rtc, 0, &index, 1, true);
	cmos_rtc_io(&rtc, 1, &v, 1, false);
	return v;
}

static void wr(uint8_t index, uint8_t v)
{
	cmos_rtc_io(&rtc, 0, &index, 1, true);
	cmos_rtc_io(&rtc, 1, &v, 1, true);
}

/* What the clock registers read, seconds to century. */
struct clock_regs {
	uint8_t sec, min, hour, wday, mday, mon, year, century;
};

static void check_clock(struct clock_regs want)
{
	CHECK_EQ(rd(REG_SEC), want.sec);
	CHECK_EQ(rd(REG_MIN), want.min);
	CHECK_EQ(rd(REG_HOUR), want.hour);
	CHECK_EQ(rd(REG_WDAY), want.wday); /* 1 = Sunday */
	CHECK_EQ(rd(REG_MDAY), want.mday);
	CHECK_EQ(rd(REG_MON), want.mon);
	CHECK_EQ(rd(REG_YEAR), want.year);
	CHECK_EQ(rd(REG_CENTURY), want.century);
}

/* T_2026 in BCD (24-hour mode). */
static const struct clock_regs bcd_2026 = {
	.sec = 0x02, .min = 0x47, .hour = 0x13, .wday = 0x07,
	.mday = 0x21, .mon = 0x11, .year = 0x26, .century = 0x20
};

TEST(bcd_time)
{
	setup(T_2026);
	check_clock(bcd_2026);
	CHECK_EQ(rd(REG_B), 0x02); /* 24-hour, BCD */
	cmos_rtc_destroy(&rtc);
}

TEST(binary_time)
{
	setup(T_2026);
	wr(REG_B, 0x02 | 0x04);
	CHECK_EQ(rd(REG_B), 0x06);
	check_clock((struct clock_regs){
		.sec = 2, .min = 47, .hour = 13, .wday = 7,
		.mday = 21, .mon = 11, .year = 26, .century = 20 });
	cmos_rtc_destroy(&rtc);
}

TEST(clock_is_read_each_time)
{
	setup(T_2026);
	CHECK_EQ(rd(REG_SEC), 0x02);
	fake_now = T_2026 + 57; /* 13:47:59 */
	CHECK_EQ(rd(REG_SEC), 0x59);
	fake_now = T_2026 + 58; /* 13:48:00 */
	CHECK_EQ(rd(REG_SEC), 0x00);
	CHECK_EQ(rd(REG_MIN), 0x48);
	cmos_rtc_destroy(&rtc);
}

TEST(century_and_new_year)
{
	setup(T_1999);
	check_clock((struct clock_regs){
		.sec = 0x09, .min = 0x05, .hour = 0x00, .wday = 0x06, /* Friday */
		.mday = 0x31, .mon = 0x12, .year = 0x99, .century = 0x19 });
	fake_now = T_2000_NOON;
	check_clock((struct clock_regs){
		.sec = 0x00, .min = 0x00, .hour = 0x12, .wday = 0x07, /* Saturday */
		.mday = 0x01, .mon = 0x01, .year = 0x00, .century = 0x20 });
	cmos_rtc_destroy(&rtc);
}

TEST(twelve_hour_mode)
{
	setup(T_2026);
	wr(REG_B, 0x00); /* 12-hour, BCD */
	CHECK_EQ(rd(REG_HOUR), 0x81); /* 1 PM */
	wr(REG_B, 0x04); /* 12-hour, binary */
	CHECK_EQ(rd(REG_HOUR), 0x81);
	fake_now = T_1999; /* 00:05: 12 AM */
	CHECK_EQ(rd(REG_HOUR), 12);
	wr(REG_B, 0x00);
	CHECK_EQ(rd(REG_HOUR), 0x12);
	fake_now = T_2000_NOON; /* 12:00: 12 PM */
	CHECK_EQ(rd(REG_HOUR), 0x92);
	fake_now = T_2000_NOON - 3600; /* 11 AM */
	CHECK_EQ(rd(REG_HOUR), 0x11);
	wr(REG_B, 0x02);
	CHECK_EQ(rd(REG_HOUR), 0x11);
	cmos_rtc_destroy(&rtc);
}

TEST(index_masks_nmi_bit)
{
	uint8_t v = 0;

	setup(T_2026);
	CHECK_EQ(rd(0x80 | REG_MIN), 0x47);
	CHECK_EQ(rd(0x80 | REG_B), 0x02);
	CHECK_EQ(rd(0x80 | REG_D), 0x80);
	wr(0x80 | 0x40, 0x5a);
	CHECK_EQ(rd(0x40), 0x5a);
	/* The index port itself is write-only. */
	cmos_rtc_io(&rtc, 0, &v, 1, false);
	CHECK_EQ(v, 0xff);
	cmos_rtc_destroy(&rtc);
}

TEST(status_registers)
{
	setup(T_2026);
	CHECK_EQ(rd(REG_A), 0x26);
	wr(REG_A, 0xa6); /* try to set UIP: never visible */
	CHECK_EQ(rd(REG_A), 0x26);
	wr(REG_A, 0xa0);
	CHECK_EQ(rd(REG_A) & 0x80, 0);
	CHECK_EQ(rd(REG_D), 0x80); /* VRT: battery good */
	wr(REG_D, 0x00);
	CHECK_EQ(rd(REG_D), 0x80);
	wr(REG_C, 0xf0);
	CHECK_EQ(rd(REG_C), 0x00);
	cmos_rtc_destroy(&rtc);
}

TEST(time_writes_ignored)
{
	setup(T_2026);
	wr(REG_SEC, 0x55);
	wr(REG_HOUR, 0x01);
	wr(REG_YEAR, 0x99);
	wr(REG_CENTURY, 0x19);
	check_clock(bcd_2026);
	cmos_rtc_destroy(&rtc);
}

TEST(cmos_ram)
{
	unsigned int i;
	bool ok = true;

	setup(T_2026);
	for (i = 0x0e; i < 0x80; i++)
		if (i != REG_CENTURY)
			wr((uint8_t)i, (uint8_t)(i ^ 0xa5));
	for (i = 0x0e; i < 0x80; i++)
		if (i != REG_CENTURY)
			ok &= CHECK_EQ(rd((uint8_t)i), i ^ 0xa5);
	CHECK(ok);
	cmos_rtc_destroy(&rtc);
}

TEST(alarm_registers)
{
	/* MC146818 alarm registers are read/write; Linux's rtc-cmos sets them. */
	setup(T_2026);
	wr(REG_SEC_ALARM, 0x30);
	wr(REG_MIN_ALARM, 0x15);
	wr(REG_HOUR_ALARM, 0x07);
	CHECK_EQ(rd(REG_SEC_ALARM), 0x30);
	CHECK_EQ(rd(REG_MIN_ALARM), 0x15);
	CHECK_EQ(rd(REG_HOUR_ALARM), 0x07);
	cmos_rtc_destroy(&rtc);
}

TEST(wide_read)
{
	uint8_t idx = REG_MON, v[2] = { 0xee, 0xee };

	setup(T_2026);
	cmos_rtc_io(&rtc, 0, &idx, 1, true);
	cmos_rtc_io(&rtc, 1, v, 2, false);
	CHECK_EQ(v[0], 0x11);
	CHECK_EQ(v[1], 0x00);
	cmos_rtc_destroy(&rtc);
}

int main(void)
{
	RUN(bcd_time);
	RUN(binary_time);
	RUN(clock_is_read_each_time);
	RUN(century_and_new_year);
	RUN(twelve_hour_mode);
	RUN(index_masks_nmi_bit);
	RUN(status_registers);
	RUN(time_writes_ignored);
	RUN(cmos_ram);
	RUN(alarm_registers);
	RUN(wide_read);
	return test_summary();
}
