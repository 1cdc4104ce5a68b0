// SPDX-License-Identifier: GPL-2.0
/*
 * i8042 keyboard controller.  lkvm has no keyboard; this exists so that
 * Linux's i8042 probe finds a sane controller quickly (instead of timing out)
 * and so that the guest can reset the machine with command 0xFE, which is how
 * `reboot=k` restarts a PC.  lkvm treats that reset as "VM finished".
 */
#include "arch/devices.h"

#include <string.h>

#define STATUS_OBF 0x01   /* output buffer full: data waiting at 0x60 */
#define STATUS_SYS 0x04   /* system flag: self-test passed */
#define STATUS_CMD 0x08   /* last write was to the command port */
#define STATUS_UNLOCKED 0x10 /* keyboard not inhibited by the keylock */

#define CTR_KBD_INT 0x01
#define CTR_AUX_INT 0x02
#define CTR_KBD_DISABLE 0x10
#define CTR_AUX_DISABLE 0x20
#define CTR_XLATE 0x40

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTPORT 0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_WRITE_AUX 0xd4
#define CMD_PULSE_RESET 0xfe

#define KBD_ACK 0xfa

int i8042_init(struct i8042 *k, i8042_reset_fn reset, i8042_irq_fn irq,
	       void *opaque)
{
	memset(k, 0, sizeof(*k));
	k->ctr = CTR_KBD_INT | CTR_XLATE;
	k->reset = reset;
	k->irq = irq;
	k->opaque = opaque;
	return -pthread_mutex_init(&k->lock, NULL);
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

static void kbd_update_irq(struct i8042 *k)
{
	int level = k->out_count && (k->ctr & CTR_KBD_INT);

	if (level != k->irq_level) {
		k->irq_level = level;
		if (k->irq)
			k->irq(k->opaque, level);
	}
}

static void out_push(struct i8042 *k, uint8_t v)
{
	if (k->out_count < I8042_QUEUE) {
		k->outq[(k->out_head + k->out_count) % I8042_QUEUE] = v;
		k->out_count++;
	}
}

/* A byte the guest sent to the keyboard itself (not the controller). */
static void kbd_write(struct i8042 *k, uint8_t v)
{
	switch (v) {
	case 0xf2: /* identify: an MF2 keyboard */
		out_push(k, KBD_ACK);
		out_push(k, 0xab);
		out_push(k, 0x83);
		break;
	case 0xff: /* reset: ACK, then "basic assurance test passed" */
		out_push(k, KBD_ACK);
		out_push(k, 0xaa);
		break;
	case 0xee: /* echo */
		out_push(k, 0xee);
		break;
	default:
		out_push(k, KBD_ACK);
		break;
	}
}

void i8042_data_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct i8042 *k = opaque;
	(void)off;

	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		memset(data, 0, len);
		if (k->out_count) {
			data[0] = k->outq[k->out_head];
			k->out_head = (k->out_head + 1) % I8042_QUEUE;
			k->out_count--;
		}
	} else {
		switch (k->pending_cmd) {
		case CMD_WRITE_CTR:
			k->ctr = data[0];
			break;
		case CMD_WRITE_OUTPORT:
			/* Bit 0 clear asserts the CPU reset line. */
			if (!(data[0] & 1) && k->reset) {
				k->pending_cmd = 0;
				pthread_mutex_unlock(&k->lock);
				k->reset(k->opaque);
				return;
			}
			break;
		case CMD_WRITE_AUX:
			break; /* no mouse: swallow */
		default:
			kbd_write(k, data[0]);
			break;
		}
		k->pending_cmd = 0;
	}
	kbd_update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

void i8042_cmd_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		  bool is_write)
{
	struct i8042 *k = opaque;
	bool do_reset = false;
	(void)off;

	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		memset(data, 0, len);
		data[0] = STATUS_SYS | STATUS_UNLOCKED | (k->out_count ? STATUS_OBF : 0) |
			  (k->pending_cmd ? STATUS_CMD : 0);
		pthread_mutex_unlock(&k->lock);
		return;
	}
	k->pending_cmd = 0;
	switch (data[0]) {
	case CMD_READ_CTR:
		out_push(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_AUX:
		k->pending_cmd = data[0];
		break;
	case CMD_SELF_TEST:
		out_push(k, 0x55);
		break;
	case CMD_KBD_TEST:
		out_push(k, 0x00);
		break;
	case CMD_AUX_TEST:
		out_push(k, 0xff); /* no aux port: report a stuck clock line */
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= CTR_KBD_DISABLE;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= ~CTR_KBD_DISABLE;
		break;
	case CMD_AUX_DISABLE:
		k->ctr |= CTR_AUX_DISABLE;
		break;
	case CMD_AUX_ENABLE:
		k->ctr &= ~CTR_AUX_DISABLE;
		break;
	case CMD_READ_OUTPORT:
		out_push(k, 0x01); /* reset line inactive */
		break;
	case CMD_PULSE_RESET:
		do_reset = true;
		break;
	default:
		break;
	}
	kbd_update_irq(k);
	pthread_mutex_unlock(&k->lock);
	/* Outside the lock: the reset handler stops the whole VM. */
	if (do_reset && k->reset)
		k->reset(k->opaque);
}
