// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console (device id 3) with a single port: the guest's hvc0 on
 * lkvm's terminal.  Queue 0 (receiveq) carries host input to the guest,
 * queue 1 (transmitq) guest output to the terminal.  The terminal size is
 * offered in config space (VIRTIO_CONSOLE_F_SIZE) and follows SIGWINCH.
 *
 * Input arrives one byte at a time on the terminal reader thread.  Bytes go
 * into a small ring first, because the guest may have posted no receive
 * buffers yet (before its driver loads, or while it is busy); the receiveq
 * worker moves them into buffers as they appear.  When the ring is full the
 * reader waits, so piped input is never dropped, as with the UART.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_console.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lkvm/arch-hooks.h"
#include "lkvm/config.h"
#include "lkvm/pci.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

#define VCON_RXQ 0
#define VCON_TXQ 1
#define VCON_NR_QUEUES 2
#define VCON_QUEUE_SIZE 128
#define VCON_IN_RING 1024       /* buffered input bytes */
#define VCON_BATCH 64           /* chains per handler run, then requeue */
#define VCON_IOV 64             /* buffers per chain (Linux uses 1) */
#define VCON_WAIT_MS 50         /* re-check for VM stop while blocked */

struct vcon {
	struct virtio_dev vdev;
	struct vm *vm;

	pthread_mutex_t lock;   /* input ring, size, closing */
	pthread_cond_t room;    /* the worker took bytes out of the ring */
	uint8_t in_ring[VCON_IN_RING];
	unsigned int in_head;   /* oldest byte */
	unsigned int in_count;
	uint16_t cols, rows;
	bool closing;           /* device going away: input returns false */
	bool size_pending;      /* announce cols/rows once DRIVER_OK is set */
	unsigned int inputs;    /* threads inside vcon_input() */

	/* One worker at a time per queue, so each queue owns its iovecs. */
	struct iovec rx_iov[VCON_IOV];
	struct iovec tx_iov[VCON_IOV];
};

static struct vcon *to_vcon(struct virtio_dev *vdev)
{
	return vdev->priv;
}

static void vcon_config_read(struct virtio_dev *vdev, uint32_t off,
			     void *data, uint32_t len)
{
	struct vcon *con = to_vcon(vdev);
	struct virtio_console_config cfg;

	/* Both lkvm architectures are little-endian, which is also what a
	 * legacy (guest-endian) transport expects. */
	memset(&cfg, 0, sizeof(cfg));
	pthread_mutex_lock(&con->lock);
	cfg.cols = htole16(con->cols);
	cfg.rows = htole16(con->rows);
	pthread_mutex_unlock(&con->lock);
	cfg.max_nr_ports = htole32(1);
	memcpy(data, (uint8_t *)&cfg + off, len);
}

/* Copy buffered input into one receive chain; returns the bytes stored. */
static uint32_t vcon_fill(struct vcon *con, const struct virtq_chain *c)
{
	const struct iovec *iov = c->iov + c->nr_out;
	size_t done = 0;

	pthread_mutex_lock(&con->lock);
	while (con->in_count && done < c->in_len) {
		/* The ring's oldest bytes, up to its wrap point. */
		size_t run = MIN(con->in_count, VCON_IN_RING - con->in_head);
		size_t n = iov_from_buf(iov, c->nr_in, done,
					con->in_ring + con->in_head, run);
		if (!n)
			break;
		done += n;
		con->in_head = (con->in_head + (unsigned int)n) % VCON_IN_RING;
		con->in_count -= (unsigned int)n;
	}
	if (done)
		pthread_cond_broadcast(&con->room);
	pthread_mutex_unlock(&con->lock);
	return (uint32_t)done;
}

static bool vcon_has_input(struct vcon *con)
{
	bool any;

	pthread_mutex_lock(&con->lock);
	any = con->in_count != 0;
	pthread_mutex_unlock(&con->lock);
	return any;
}

static void vcon_rx(struct vcon *con, struct virtqueue *vq)
{
	unsigned int done = 0;

	/*
	 * Only pop while there is input: a chain, once popped, must be
	 * returned.  The ring only grows between the check and the pop (this
	 * worker is the only consumer), so a popped chain always gets bytes.
	 */
	while (vcon_has_input(con)) {
		struct virtq_chain c;
		uint32_t written = 0;
		int r;

		if (done == VCON_BATCH) {
			virtq_kick(vq); /* more later; let other queues run */
			break;
		}
		r = virtq_pop(vq, &c, con->rx_iov, VCON_IOV);
		if (r == 0)
			break; /* no buffers: the driver kicks when it adds some */
		if (r == -EIO)
			break; /* broken ring: the core set NEEDS_RESET */
		/* A bad chain (r < 0), or one with buffers the device may not
		 * write, is a driver bug: give it back unused, don't guess. */
		if (r == 1 && !c.nr_out && c.nr_in)
			written = vcon_fill(con, &c);
		else
			pr_debug("%s: bad receive chain (head %u)",
				 con->vdev.name, c.head);
		virtq_push(vq, c.head, written);
		done++;
	}
	if (done)
		virtq_notify(vq);
}

static void vcon_tx(struct vcon *con, struct virtqueue *vq)
{
	unsigned int done = 0;

	for (;;) {
		struct virtq_chain c;
		unsigned int i;
		int r;

		if (done == VCON_BATCH) {
			if (virtq_has_work(vq))
				virtq_kick(vq);
			break;
		}
		r = virtq_pop(vq, &c, con->tx_iov, VCON_IOV);
		if (r == 0 || r == -EIO)
			break; /* empty, or broken (the core set NEEDS_RESET) */
		/* Bad chains and writable buffers: returned, nothing shown. */
		if (r == 1 && !c.nr_in) {
			/* The iovecs are bounded by the descriptors and
			 * already checked against guest RAM. */
			for (i = 0; i < c.nr_out; i++)
				term_write(&con->vm->term, c.iov[i].iov_base,
					   c.iov[i].iov_len);
		} else {
			pr_debug("%s: bad transmit chain (head %u)",
				 con->vdev.name, c.head);
		}
		virtq_push(vq, c.head, 0);
		done++;
	}
	if (done)
		virtq_notify(vq);
}

static void vcon_queue_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
	struct vcon *con = to_vcon(vdev);

	if (!vq->ready)
		return;
	/* Handlers run only once DRIVER_OK is visible, so this is the first
	 * moment the size may be announced (see vcon_start). */
	if (__atomic_exchange_n(&con->size_pending, false, __ATOMIC_ACQ_REL))
		virtio_config_changed(vdev);
	if (vq->index == VCON_RXQ)
		vcon_rx(con, vq);
	else if (vq->index == VCON_TXQ)
		vcon_tx(con, vq);
}

static int vcon_start(struct virtio_dev *vdev)
{
	struct vcon *con = to_vcon(vdev);

	/*
	 * Linux reads the single port's size only on a config change
	 * interrupt, so send one for the size set before the driver came.
	 * Not from here (DRIVER_OK is not set yet): the receive handler
	 * does it.  It also delivers input typed before the driver was
	 * ready, waiting in the ring.
	 */
	if (vdev->guest_features & (1ULL << VIRTIO_CONSOLE_F_SIZE))
		__atomic_store_n(&con->size_pending, true, __ATOMIC_RELEASE);
	virtq_kick(&vdev->vqs[VCON_RXQ]);
	return 0;
}

static void vcon_free(struct vcon *con)
{
	pthread_cond_destroy(&con->room);
	pthread_mutex_destroy(&con->lock);
	free(con);
}

static void vcon_destroy(struct virtio_dev *vdev)
{
	struct vcon *con = to_vcon(vdev);
	struct vm *vm = con->vm;

	if (vm->console_input_opaque == con) {
		vm->console_input = NULL;
		vm->console_input_opaque = NULL;
	}
	if (vm->console_resize_opaque == con) {
		vm->console_resize = NULL;
		vm->console_resize_opaque = NULL;
	}
	/* lkvm stops the terminal reader first; should one still be waiting
	 * in vcon_input(), send it away before freeing what it uses. */
	pthread_mutex_lock(&con->lock);
	con->closing = true;
	pthread_cond_broadcast(&con->room);
	while (con->inputs)
		pthread_cond_wait(&con->room, &con->lock);
	pthread_mutex_unlock(&con->lock);
	vcon_free(con);
}

/* No reset hook: requests complete synchronously in the handlers, so none
 * is in flight once the watches are paused, and buffered input is kept for
 * the next driver. */
static const struct virtio_dev_ops vcon_ops = {
	.config_read = vcon_config_read,
	.start = vcon_start,
	.queue_notify = vcon_queue_notify,
	.destroy = vcon_destroy,
};

/* vm->console_input: runs on the terminal reader thread. */
static bool vcon_input(void *opaque, uint8_t ch)
{
	struct vcon *con = opaque;
	bool ok = false;

	pthread_mutex_lock(&con->lock);
	con->inputs++;
	while (con->in_count == VCON_IN_RING && !con->closing &&
	       !vm_stopping(con->vm)) {
		struct timespec ts;

		/* Wait for the guest to take input rather than drop it, but
		 * wake up now and then to notice the VM stopping. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += VCON_WAIT_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&con->room, &con->lock, &ts);
	}
	if (!con->closing && !vm_stopping(con->vm)) {
		con->in_ring[(con->in_head + con->in_count) % VCON_IN_RING] = ch;
		/* A ring that was not empty means the worker is already due
		 * (or waits for buffers, and the driver kicks when it adds
		 * some). */
		if (!con->in_count++)
			virtq_kick(&con->vdev.vqs[VCON_RXQ]);
		ok = true;
	}
	if (!--con->inputs && con->closing)
		pthread_cond_broadcast(&con->room); /* vcon_destroy waits */
	pthread_mutex_unlock(&con->lock);
	return ok;
}

/* vm->console_resize: the main thread, on SIGWINCH. */
static void vcon_resize(void *opaque, unsigned int cols, unsigned int rows)
{
	struct vcon *con = opaque;
	bool changed;

	cols = MIN(cols, 0xffffu);
	rows = MIN(rows, 0xffffu);
	pthread_mutex_lock(&con->lock);
	changed = con->cols != cols || con->rows != rows;
	con->cols = (uint16_t)cols;
	con->rows = (uint16_t)rows;
	pthread_mutex_unlock(&con->lock);
	/* Before DRIVER_OK the driver will read it anyway (vcon_start). */
	if (changed &&
	    (virtio_get_status(&con->vdev) & VIRTIO_CONFIG_S_DRIVER_OK))
		virtio_config_changed(&con->vdev);
}

/*
 * Make hvc0 the guest's console, as kvmtool does, without stranding
 * kernels that build virtio_console as a module (Debian's): lkvm's default
 * "console=ttyS0" becomes "console=ttyS0 console=hvc0".  The last console=
 * is the preferred one, so /dev/console is hvc0 when the driver is built in;
 * when it is a module, hvc0 does not exist yet when init opens /dev/console
 * and the kernel falls back to ttyS0 instead of leaving init with no console
 * at all.  The cost: once hvc0 is up, kernel messages show on both.  Only
 * the defaults at the start of the command line are touched, so a console=
 * given with -p still comes later and wins.
 */
static int vcon_use_hvc0(struct vm *vm)
{
	if (!vm->cmdline)
		return 0;
	return vm_cmdline_add_after(vm, "console=ttyS0", "console=hvc0");
}

struct virtio_dev *virtio_console_new(struct vm *vm)
{
	struct vcon *con = calloc(1, sizeof(*con));
	int err;

	if (!con || vcon_use_hvc0(vm))
		goto err_free;
	con->vm = vm;
	con->cols = 80;
	con->rows = 24;
	if (pthread_mutex_init(&con->lock, NULL))
		goto err_free;
	if (pthread_cond_init(&con->room, NULL))
		goto err_mutex;
	err = virtio_dev_init(&con->vdev, &(struct virtio_dev_init){
				.type = &virtio_console_type,
				.ops = &vcon_ops,
				.features = 1ULL << VIRTIO_CONSOLE_F_SIZE,
				.mem = &vm->mem,
				.loop = vm_workers(vm),
				.priv = con,
			      });
	if (err)
		goto err_cond;
	vm->console_input = vcon_input;
	vm->console_input_opaque = con;
	vm->console_resize = vcon_resize;
	vm->console_resize_opaque = con;
	return &con->vdev;

err_cond:
	pthread_cond_destroy(&con->room);
err_mutex:
	pthread_mutex_destroy(&con->lock);
err_free:
	free(con);
	pr_err("virtio-console: cannot create the device");
	return NULL;
}

static unsigned int vcon_count(const struct vm_config *cfg)
{
	return cfg->console == CONSOLE_VIRTIO ? 1 : 0;
}

static struct virtio_dev *vcon_create(struct vm *vm, unsigned int index)
{
	(void)index;
	return virtio_console_new(vm);
}

static const char *const vcon_modules[] = { "virtio_console", NULL };

const struct virtio_device_type virtio_console_type = {
	.name = "virtio-console",
	.help = "the guest console as hvc0 (--console virtio)",
	.device_id = VIRTIO_ID_CONSOLE,
	.pci_class = PCI_CLASS_COMMUNICATION_OTHER,
	.modules = vcon_modules,
	.max_queues = VCON_NR_QUEUES,
	.queue_size = VCON_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_console_config),
	.count = vcon_count,
	.create = vcon_create,
};
