// SPDX-License-Identifier: GPL-2.0
/*
 * MC146818 CMOS real-time clock.  Time registers are computed from the host
 * clock at each read (in UTC, BCD, 24-hour mode by default, honouring the
 * guest's choice of binary/12-hour in register B), so the guest boots with
 * the real time and never sees a torn update (UIP is always clear).  Writes
 * to the time registers are accepted but do not change the host clock.
 */
#include "arch/devices.h"

#include <string.h>

#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32

#define REG_B_24H 0x02
#define REG_B_BINARY 0x04
#define REG_D_VRT 0x80 /* valid RAM and time */
#define HOURS_PM 0x80  /* 12-hour mode: the hours register's PM bit */

int cmos_rtc_init(struct cmos_rtc *rtc, cmos_clock_fn clock)
{
	memset(rtc, 0, sizeof(*rtc));
	rtc->clock = clock;
	rtc->ram[RTC_REG_A] = 0x26; /* 32.768 kHz base, 1024 Hz rate */
	rtc->ram[RTC_REG_B] = REG_B_24H;
	rtc->ram[RTC_REG_D] = REG_D_VRT;
	return -pthread_mutex_init(&rtc->lock, NULL);
}

void cmos_rtc_destroy(struct cmos_rtc *rtc)
{
	pthread_mutex_destroy(&rtc->lock);
}

static uint8_t to_bcd(unsigned int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc_encode(const struct cmos_rtc *rtc, unsigned int v)
{
	return (rtc->ram[RTC_REG_B] & REG_B_BINARY) ? (uint8_t)v : to_bcd(v);
}

static uint8_t rtc_read_reg(struct cmos_rtc *rtc, uint8_t reg)
{
	time_t now = rtc->clock ? rtc->clock() : time(NULL);
	struct tm tm;
	unsigned int hour;
	uint8_t v;

	if (reg > RTC_YEAR && reg != RTC_CENTURY) {
		v = rtc->ram[reg];
		if (reg == RTC_REG_A)
			v &= 0x7f; /* update-in-progress never set */
		if (reg == RTC_REG_C)
			rtc->ram[RTC_REG_C] = 0; /* interrupt flags clear on read */
		return v;
	}
	gmtime_r(&now, &tm);
	switch (reg) {
	case RTC_SECONDS: return rtc_encode(rtc, (unsigned int)tm.tm_sec);
	case RTC_MINUTES: return rtc_encode(rtc, (unsigned int)tm.tm_min);
	case RTC_HOURS:
		hour = (unsigned int)tm.tm_hour;
		if (!(rtc->ram[RTC_REG_B] & REG_B_24H)) {
			bool after_noon = hour >= 12;

			hour = hour % 12 ? hour % 12 : 12;
			return (uint8_t)(rtc_encode(rtc, hour) |
					 (after_noon ? HOURS_PM : 0));
		}
		return rtc_encode(rtc, hour);
	case RTC_DAY_OF_WEEK: return rtc_encode(rtc, (unsigned int)tm.tm_wday + 1);
	case RTC_DAY_OF_MONTH: return rtc_encode(rtc, (unsigned int)tm.tm_mday);
	case RTC_MONTH: return rtc_encode(rtc, (unsigned int)tm.tm_mon + 1);
	case RTC_YEAR: return rtc_encode(rtc, (unsigned int)tm.tm_year % 100);
	case RTC_CENTURY:
		return rtc_encode(rtc, (unsigned int)(tm.tm_year + 1900) / 100);
	default: return rtc->ram[reg]; /* alarm registers */
	}
}

void cmos_rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		 bool is_write)
{
	struct cmos_rtc *rtc = opaque;

	pthread_mutex_lock(&rtc->lock);
	if (off == 0) {
		/* Index port; bit 7 is the NMI mask, not part of the index. */
		if (is_write)
			rtc->index = data[0] & 0x7f;
		else
			memset(data, 0xff, len);
	} else if (is_write) {
		uint8_t reg = rtc->index;
		bool is_time = reg <= RTC_YEAR && !(reg & 1); /* 0,2,4,6,7,8,9 */

		if (reg == RTC_DAY_OF_MONTH || reg == RTC_MONTH || reg == RTC_YEAR)
			is_time = true;
		/* C and D are read-only; time registers: see the top comment. */
		if (reg != RTC_REG_C && reg != RTC_REG_D && !is_time &&
		    reg != RTC_CENTURY)
			rtc->ram[reg] = data[0]; /* alarms, A, B, NVRAM */
	} else {
		memset(data, 0, len);
		data[0] = rtc_read_reg(rtc, rtc->index);
	}
	pthread_mutex_unlock(&rtc->lock);
}
