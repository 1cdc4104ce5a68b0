// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-pci transport (virtio/transport/pci/), driven the way a guest driver
 * drives it: config space through pci_config_read/write, BAR registers
 * through the VM's pio/mmio bus dispatch.  KVM is replaced by recorders
 * (ioeventfds, irqfds, IRQ lines, VM cleanups) defined here; the GSI
 * routing table is vmm/irq.c's own copy (a VM without a KVM fd keeps it
 * without installing it).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <linux/virtio_pci.h>
#include <poll.h>
#include <sys/eventfd.h>

#include "arch/arch.h"
#include "lkvm/arch-hooks.h"
#include "lkvm/pci.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"
#include "test.h"
#include "vq_driver.h"

#define NQ 2
#define QMAX 256
#define DEV_FEATURE (1ULL << 5)
#define MEM_BAR 1
#define IO_BAR 0

/* ---- KVM stand-ins ---- */

static struct {
	void (*fn)(void *);
	void *opaque;
} cleanups[16];
static unsigned int nr_cleanups;
static bool cleanup_fail; /* the next vm_add_cleanup() fails */

int vm_add_cleanup(struct vm *vm, void (*fn)(void *), void *opaque)
{
	(void)vm;
	if (nr_cleanups == 16 || cleanup_fail) {
		cleanup_fail = false;
		fn(opaque);
		return -ENOMEM;
	}
	cleanups[nr_cleanups].fn = fn;
	cleanups[nr_cleanups++].opaque = opaque;
	return 0;
}

struct efd_rec {
	int fd;
	uint64_t addr;
	uint32_t len;
	bool pio, match;
	uint64_t data;
	bool live;
};
static struct efd_rec efds[64];
static int efd_fail; /* nonzero: vm_ioeventfd() fails like that */

int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool pio,
		 bool match, uint64_t data, bool assign)
{
	unsigned int i;

	(void)vm;
	if (efd_fail)
		return efd_fail;
	for (i = 0; i < 64; i++) {
		struct efd_rec *e = &efds[i];

		if (!e->live || e->addr != addr || e->pio != pio ||
		    e->data != data)
			continue;
		if (assign)
			return -EEXIST;
		if (e->fd != fd || e->len != len || e->match != match)
			return -ENOENT;
		e->live = false;
		return 0;
	}
	if (!assign)
		return -ENOENT;
	for (i = 0; i < 64; i++)
		if (!efds[i].live) {
			efds[i] = (struct efd_rec){ fd, addr, len, pio, match,
						    data, true };
			return 0;
		}
	return -ENOSPC;
}

static const struct efd_rec *find_efd(uint64_t addr, bool pio)
{
	unsigned int i;

	for (i = 0; i < 64; i++)
		if (efds[i].live && efds[i].addr == addr && efds[i].pio == pio)
			return &efds[i];
	return NULL;
}

static unsigned int live_efds(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < 64; i++)
		n += efds[i].live;
	return n;
}

static struct irqfd_rec {
	int fd;
	uint32_t gsi;
	bool live;
} irqfds[64];

int vm_irqfd(struct vm *vm, int fd, uint32_t gsi, bool assign)
{
	unsigned int i;

	(void)vm;
	for (i = 0; i < 64; i++) {
		if (assign && !irqfds[i].live) {
			irqfds[i] = (struct irqfd_rec){ fd, gsi, true };
			return 0;
		}
		if (!assign && irqfds[i].live && irqfds[i].fd == fd &&
		    irqfds[i].gsi == gsi) {
			irqfds[i].live = false;
			return 0;
		}
	}
	return assign ? -ENOSPC : -ENOENT;
}

static unsigned int live_irqfds(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < 64; i++)
		n += irqfds[i].live;
	return n;
}

static int line_level[32];
static unsigned int line_calls;

void vm_set_irq_line(struct vm *vm, unsigned int irq, int level)
{
	(void)vm;
	/* Called from worker threads too. */
	__atomic_store_n(&line_level[irq & 31], level, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&line_calls, 1, __ATOMIC_SEQ_CST);
}

/* ---- A dummy device ---- */

static uint8_t dcfg[16];
static unsigned int destroyed;

static void d_cfg_read(struct virtio_dev *vdev, uint32_t off, void *data,
		       uint32_t len)
{
	(void)vdev;
	memcpy(data, dcfg + off, len);
}

static void d_cfg_write(struct virtio_dev *vdev, uint32_t off,
			const void *data, uint32_t len)
{
	(void)vdev;
	memcpy(dcfg + off, data, len);
}

/* Complete every request with nothing written. */
static void d_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
	struct virtq_chain c;
	struct iovec iov[4];

	(void)vdev;
	while (virtq_pop(vq, &c, iov, 4) == 1)
		virtq_complete(vq, c.head, 0);
}

static struct vm *vm;
static struct pci_device *pdev;
static uint64_t mem_base;
static bool unplugged_at_destroy; /* BARs gone when ops->destroy ran */

static void d_destroy(struct virtio_dev *vdev)
{
	destroyed++;
	unplugged_at_destroy = pdev && !bus_find(&vm->mmio_bus, mem_base, NULL);
	/* A backend finishing its last requests here still interrupts: the
	 * transport must outlive the device's own teardown (under ASan a
	 * freed transport is a use-after-free). */
	if (vdev->irq)
		vdev->irq->signal_queue(vdev->irq, 0);
}

static const struct virtio_dev_ops dops = {
	.config_read = d_cfg_read,
	.config_write = d_cfg_write,
	.queue_notify = d_notify,
	.destroy = d_destroy,
};

/* ---- Environment ---- */

static struct vqd_env env;
static struct virtio_dev vdev;
static struct pci_device host_bridge;
static uint8_t devfn;
static uint64_t io_base;

static unsigned int setup_threads; /* worker threads for the next setup */

static bool setup_dev(uint32_t id, bool legacy_only, int *attach_err)
{
	unsigned int i;
	int err;

	memset(efds, 0, sizeof(efds));
	memset(irqfds, 0, sizeof(irqfds));
	memset(line_level, 0, sizeof(line_level));
	line_calls = 0;
	nr_cleanups = 0;
	destroyed = 0;
	efd_fail = 0;
	pdev = NULL;
	for (i = 0; i < sizeof(dcfg); i++)
		dcfg[i] = (uint8_t)(0xa0 + i);

	if (!CHECK_EQ(vqd_env_init(&env, 1 << 20, setup_threads), 0))
		return false;
	vm = &env.vm;
	if (!CHECK_EQ(bus_init(&vm->pio_bus, "pio"), 0) ||
	    !CHECK_EQ(bus_init(&vm->mmio_bus, "mmio"), 0) ||
	    !CHECK_EQ(pci_bus_init(&vm->arch.pci), 0) ||
	    !CHECK_EQ(vm_irq_init(vm), 0))
		return false;
	/* Slot 0 is the host bridge, as in x86/kvm.c. */
	pci_device_init(&host_bridge, "host-bridge", 0x1b36, 0x0008,
			PCI_CLASS_BRIDGE_HOST, 0);
	if (!CHECK_EQ(pci_bus_add(&vm->arch.pci, &host_bridge, 0), 0))
		return false;
	if (!CHECK_EQ(vqd_dev_init(&vdev, vm, &dops, "dummy", id, NQ, QMAX,
				      DEV_FEATURE, sizeof(dcfg), NULL), 0))
		return false;
	if (attach_err) {
		/* The transport alone: on failure the device stays ours. */
		*attach_err = virtio_pci_attach(vm, &vdev, legacy_only);
		return true;
	}
	/* As the device constructors do: the transport's teardown, then the
	 * device's own. */
	env.cfg.transport = legacy_only ? VIRTIO_TRANSPORT_PCI_LEGACY :
					  VIRTIO_TRANSPORT_PCI;
	err = virtio_dev_add(vm, &vdev);
	if (!CHECK_EQ(err, 0))
		return false;
	for (i = 1; i < PCI_MAX_DEVICES; i++)
		if (vm->arch.pci.slots[i]) {
			pdev = vm->arch.pci.slots[i];
			devfn = (uint8_t)(i << 3);
			break;
		}
	if (!CHECK(pdev != NULL))
		return false;
	mem_base = pci_bar_addr(pdev, MEM_BAR);
	io_base = pci_bar_addr(pdev, IO_BAR);
	return true;
}

static void teardown(void)
{
	setup_threads = 0;
	while (nr_cleanups) {
		nr_cleanups--;
		cleanups[nr_cleanups].fn(cleanups[nr_cleanups].opaque);
	}
	pci_bus_destroy(&vm->arch.pci);
	bus_destroy(&vm->pio_bus);
	bus_destroy(&vm->mmio_bus);
	vqd_env_destroy(&env);
}

static uint32_t cfg_rd(unsigned int off, unsigned int len)
{
	return pci_config_read(&vm->arch.pci, 0, devfn, off, len);
}

static void cfg_wr(unsigned int off, uint32_t v, unsigned int len)
{
	pci_config_write(&vm->arch.pci, 0, devfn, off, v, len);
}

static uint64_t bus_rd(struct bus *b, uint64_t addr, unsigned int len)
{
	uint8_t d[8];
	uint64_t v = 0;

	memset(d, 0xee, sizeof(d));
	if (!bus_dispatch(b, addr, d, len, false))
		return ~0ULL; /* nobody there */
	memcpy(&v, d, len);
	return v;
}

static bool bus_wr(struct bus *b, uint64_t addr, uint64_t v, unsigned int len)
{
	uint8_t d[8];

	memcpy(d, &v, sizeof(d));
	return bus_dispatch(b, addr, d, len, true);
}

static uint64_t mem_rd(uint64_t off, unsigned int len)
{
	return bus_rd(&vm->mmio_bus, mem_base + off, len);
}

static void mem_wr(uint64_t off, uint64_t v, unsigned int len)
{
	CHECK(bus_wr(&vm->mmio_bus, mem_base + off, v, len));
}

static uint64_t io_rd(uint64_t off, unsigned int len)
{
	return bus_rd(&vm->pio_bus, io_base + off, len);
}

static void io_wr(uint64_t off, uint64_t v, unsigned int len)
{
	CHECK(bus_wr(&vm->pio_bus, io_base + off, v, len));
}

/* Read and clear an eventfd without blocking; 0 when nothing was there. */
static uint64_t efd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* ---- Capability discovery, as Linux's virtio_pci_modern_dev.c does ---- */

struct caps {
	int common, notify, isr, device, pci_cfg, msix;
	unsigned int nr_vndr;
};

static void walk_caps(struct caps *c)
{
	unsigned int pos, n = 0;

	memset(c, 0, sizeof(*c));
	CHECK(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (pos = cfg_rd(PCI_CAPABILITY_LIST, 1); pos && n < 48;
	     pos = cfg_rd(pos + 1, 1), n++) {
		CHECK(pos >= 0x40 && pos < 256 && pos % 4 == 0);
		if (cfg_rd(pos, 1) == PCI_CAP_ID_MSIX) {
			c->msix = (int)pos;
			continue;
		}
		if (!CHECK_EQ(cfg_rd(pos, 1), PCI_CAP_ID_VNDR))
			continue;
		c->nr_vndr++;
		switch (cfg_rd(pos + VIRTIO_PCI_CAP_CFG_TYPE, 1)) {
		case VIRTIO_PCI_CAP_COMMON_CFG: c->common = (int)pos; break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG: c->notify = (int)pos; break;
		case VIRTIO_PCI_CAP_ISR_CFG: c->isr = (int)pos; break;
		case VIRTIO_PCI_CAP_DEVICE_CFG: c->device = (int)pos; break;
		case VIRTIO_PCI_CAP_PCI_CFG: c->pci_cfg = (int)pos; break;
		default: CHECK(!"unknown virtio capability"); break;
		}
	}
	CHECK_EQ(pos, 0); /* the list ends */
}

static uint32_t cap_off(int cap)
{
	return cfg_rd((unsigned int)cap + VIRTIO_PCI_CAP_OFFSET, 4);
}

/* Where the driver finds a region: checks the capability like Linux's
 * vp_modern_map_capability() and returns the BAR offset. */
static uint32_t check_region(int cap, uint32_t minlen, uint32_t exp_len)
{
	uint32_t len = cfg_rd((unsigned int)cap + VIRTIO_PCI_CAP_LENGTH, 4);
	uint32_t off = cap_off(cap);
	uint32_t bar_size = pdev->bars[MEM_BAR].size;

	CHECK_EQ(cfg_rd((unsigned int)cap + VIRTIO_PCI_CAP_BAR, 1), MEM_BAR);
	CHECK(cfg_rd((unsigned int)cap + VIRTIO_PCI_CAP_LEN, 1) >=
	      sizeof(struct virtio_pci_cap));
	CHECK(len >= minlen);
	CHECK_EQ(len, exp_len);
	CHECK(off + len <= bar_size);
	CHECK_EQ(off % 4, 0);
	return off;
}

static uint32_t common_off, notify_off, isr_off, device_off;

/* Modern register accessors through the capabilities found. */
static uint64_t common_rd(unsigned int reg, unsigned int len)
{
	return mem_rd(common_off + reg, len);
}

static void common_wr(unsigned int reg, uint64_t v, unsigned int len)
{
	mem_wr(common_off + reg, v, len);
}

static bool find_modern(void)
{
	struct caps c;

	walk_caps(&c);
	if (!CHECK(c.common && c.notify && c.isr && c.device && c.pci_cfg))
		return false;
	common_off = cap_off(c.common);
	notify_off = cap_off(c.notify);
	isr_off = cap_off(c.isr);
	device_off = cap_off(c.device);
	return true;
}

static uint8_t status(void)
{
	return (uint8_t)common_rd(VIRTIO_PCI_COMMON_STATUS, 1);
}

static void set_status(uint8_t s)
{
	common_wr(VIRTIO_PCI_COMMON_STATUS, s, 1);
}

/* virtio 1.2 3.1.1 up to FEATURES_OK with everything offered. */
static void negotiate(void)
{
	uint32_t lo, hi;

	set_status(0);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	common_wr(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	lo = (uint32_t)common_rd(VIRTIO_PCI_COMMON_DF, 4);
	common_wr(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	hi = (uint32_t)common_rd(VIRTIO_PCI_COMMON_DF, 4);
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	common_wr(VIRTIO_PCI_COMMON_GF, lo, 4);
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	common_wr(VIRTIO_PCI_COMMON_GF, hi, 4);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK);
}

/* Rings for @size entries in fake RAM; the queue's addresses written. */
static void program_queue(uint16_t q, uint16_t size, uint64_t *desc_out)
{
	uint64_t desc = vqd_alloc(&env, 16ULL * size, 4096, NULL);
	uint64_t avail = vqd_alloc(&env, 6 + 2ULL * size, 4096, NULL);
	uint64_t used = vqd_alloc(&env, 6 + 8ULL * size, 4096, NULL);

	CHECK(desc && avail && used);
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, size, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)desc, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCHI, desc >> 32, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)avail, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILHI, avail >> 32, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)used, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_USEDHI, used >> 32, 4);
	if (desc_out)
		*desc_out = desc;
}

/* ---- Tests ---- */

TEST(identity)
{
	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	CHECK_EQ(cfg_rd(PCI_VENDOR_ID, 2), 0x1af4);
	CHECK_EQ(cfg_rd(PCI_DEVICE_ID, 2), 0x1001); /* transitional block */
	CHECK_EQ(cfg_rd(PCI_REVISION_ID, 1), 0);
	CHECK_EQ(cfg_rd(PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	CHECK_EQ(cfg_rd(PCI_SUBSYSTEM_ID, 2), VIRTIO_ID_BLOCK);
	CHECK_EQ(cfg_rd(PCI_HEADER_TYPE, 1), 0);
	CHECK_EQ(cfg_rd(PCI_INTERRUPT_PIN, 1), 1);
	CHECK_EQ(cfg_rd(PCI_INTERRUPT_LINE, 1), x86_pci_intx_line(devfn >> 3));
	/* Firmware-style: BARs assigned, decoding on. */
	CHECK_EQ(cfg_rd(PCI_COMMAND, 2) & 3, 3);
	CHECK(mem_base >= X86_MMIO_ALLOC_START && mem_base < X86_MMIO_ALLOC_END);
	CHECK(io_base >= X86_PIO_ALLOC_START && io_base < 0x10000);
	CHECK_EQ(cfg_rd(PCI_BAR0, 4), io_base | 1);
	CHECK_EQ(cfg_rd(PCI_BAR0 + 4, 4), mem_base); /* 32-bit memory */
	CHECK(bus_find(&vm->mmio_bus, mem_base, NULL));
	CHECK(bus_find(&vm->pio_bus, io_base, NULL));
	CHECK(vdev.irq != NULL);
	CHECK(!vdev.legacy);
	teardown();
}

TEST(bar_sizing)
{
	uint32_t io_size, mem_size;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	/* Linux's __pci_read_base(): decode off, all-ones, read, restore. */
	cfg_wr(PCI_COMMAND, 0, 2);
	CHECK(!bus_find(&vm->mmio_bus, mem_base, NULL));
	CHECK(!bus_find(&vm->pio_bus, io_base, NULL));
	cfg_wr(PCI_BAR0, 0xffffffff, 4);
	cfg_wr(PCI_BAR0 + 4, 0xffffffff, 4);
	io_size = (~(cfg_rd(PCI_BAR0, 4) & 0xfffcu) + 1) & 0xffff;
	mem_size = ~(cfg_rd(PCI_BAR0 + 4, 4) & ~0xfu) + 1;
	CHECK_EQ(cfg_rd(PCI_BAR0, 4) & 1, 1);
	CHECK_EQ(cfg_rd(PCI_BAR0 + 4, 4) & 0xf, 0);
	CHECK_EQ(io_size, pdev->bars[IO_BAR].size);
	CHECK(io_size >= 24 + sizeof(dcfg));
	CHECK(io_size <= 256);
	CHECK_EQ(mem_size, pdev->bars[MEM_BAR].size);
	CHECK(mem_size >= 0x5000);
	/* Other BARs are absent. */
	for (unsigned int b = 2; b < 6; b++) {
		cfg_wr(PCI_BAR0 + 4 * b, 0xffffffff, 4);
		CHECK_EQ(cfg_rd(PCI_BAR0 + 4 * b, 4), 0);
	}
	cfg_wr(PCI_BAR0, (uint32_t)io_base, 4);
	cfg_wr(PCI_BAR0 + 4, (uint32_t)mem_base, 4);
	CHECK_EQ(live_efds(), 0); /* nothing decoded, no ioeventfds */
	cfg_wr(PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	CHECK(bus_find(&vm->mmio_bus, mem_base, NULL));
	CHECK(bus_find(&vm->pio_bus, io_base, NULL));
	CHECK_EQ(live_efds(), 2 * NQ);
	teardown();
}

TEST(capability_chain)
{
	struct caps c;
	uint32_t ctrl, table, pba;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	walk_caps(&c);
	REQUIRE(c.common && c.notify && c.isr && c.device && c.pci_cfg && c.msix);
	CHECK_EQ(c.nr_vndr, 5);
	check_region(c.common, sizeof(struct virtio_pci_common_cfg),
		     sizeof(struct virtio_pci_common_cfg));
	check_region(c.isr, 1, 1);
	check_region(c.device, sizeof(dcfg), sizeof(dcfg));
	check_region(c.notify, 2, 4 * NQ);
	CHECK_EQ(cfg_rd((unsigned int)c.notify + VIRTIO_PCI_CAP_LEN, 1),
		 sizeof(struct virtio_pci_notify_cap));
	CHECK_EQ(cfg_rd((unsigned int)c.notify + VIRTIO_PCI_NOTIFY_CAP_MULT, 4), 4);
	CHECK_EQ(cfg_rd((unsigned int)c.pci_cfg + VIRTIO_PCI_CAP_LEN, 1),
		 sizeof(struct virtio_pci_cfg_cap));
	/* Regions do not overlap each other or the MSI-X structures. */
	CHECK(cap_off(c.common) + 0x38 <= cap_off(c.isr) ||
	      cap_off(c.isr) + 1 <= cap_off(c.common));
	/* MSI-X: nr_queues + 1 vectors, table and PBA in the memory BAR. */
	ctrl = cfg_rd((unsigned int)c.msix + 2, 2);
	table = cfg_rd((unsigned int)c.msix + 4, 4);
	pba = cfg_rd((unsigned int)c.msix + 8, 4);
	CHECK_EQ((ctrl & 0x7ff) + 1, NQ + 1);
	CHECK_EQ(ctrl & 0xc000, 0); /* disabled, unmasked at reset */
	CHECK_EQ(table & 7, MEM_BAR);
	CHECK_EQ(pba & 7, MEM_BAR);
	CHECK((table & ~7u) + 16 * (NQ + 1) <= (pba & ~7u) ||
	      (pba & ~7u) + 8 <= (table & ~7u));
	CHECK((pba & ~7u) + 8 <= pdev->bars[MEM_BAR].size);
	CHECK(cap_off(c.notify) + 4 * NQ <= (table & ~7u));
	/* Only the enable and function-mask bits are writable. */
	cfg_wr((unsigned int)c.msix + 2, 0xffff, 2);
	CHECK_EQ(cfg_rd((unsigned int)c.msix + 2, 2), 0xc000 | NQ);
	cfg_wr((unsigned int)c.msix + 2, 0, 2);
	/* Capabilities are read-only. */
	cfg_wr((unsigned int)c.common + VIRTIO_PCI_CAP_OFFSET, 0x1234, 4);
	CHECK_EQ(cap_off(c.common), 0);
	teardown();
}

TEST(common_cfg)
{
	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
	CHECK_EQ(status(), 0);
	/* Features: VERSION_1 in the high word, the device's bit low. */
	common_wr(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	CHECK(common_rd(VIRTIO_PCI_COMMON_DF, 4) & DEV_FEATURE);
	common_wr(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	CHECK(common_rd(VIRTIO_PCI_COMMON_DF, 4) &
	      (1u << (VIRTIO_F_VERSION_1 - 32)));
	common_wr(VIRTIO_PCI_COMMON_DFSELECT, 7, 4);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 7);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_DF, 4), 0);
	/* Queue fields. */
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), QMAX);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 64, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
	CHECK_EQ(vdev.vqs[1].size, 64);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0x11223340, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCHI, 0x5, 4);
	CHECK_EQ(vdev.vqs[1].desc_gpa, 0x511223340ULL);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 8), 0x511223340ULL);
	/* A 64-bit write of a lo/hi pair is two field writes. */
	common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, 0x0000000700001000ULL, 8);
	CHECK_EQ(vdev.vqs[1].used_gpa, 0x700001000ULL);
	/* Vectors: in range sticks, out of range reads NO_VECTOR. */
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, NQ, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), NQ);
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, NQ + 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_wr(VIRTIO_PCI_COMMON_MSIX, 0, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), 0);
	common_wr(VIRTIO_PCI_COMMON_MSIX, 0x1234, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	/* Out-of-range queue_select: reads 0, writes ignored. */
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, NQ, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), 0);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0xffff, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0x1000, 4);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	CHECK_EQ(vdev.vqs[0].size, QMAX);
	CHECK(!vdev.vqs[0].ready && !vdev.vqs[1].ready);
	/* Odd widths: reads are byte views, bad writes are dropped. */
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE + 1, 1), 0);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 1), 64);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_NUMQ - 1, 4),
		 (uint32_t)NQ << 8 | (VIRTIO_MSI_NO_VECTOR >> 8));
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 0x10, 1);     /* half a field */
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE + 1, 0x10, 2); /* straddles */
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
	common_wr(VIRTIO_PCI_COMMON_NUMQ, 9, 2);          /* read-only */
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
	/* Past the structure: zeros, writes harmless. */
	CHECK_EQ(mem_rd(common_off + 0x38, 4), 0);
	mem_wr(common_off + 0x800, 0xffffffff, 4);
	/* The device config region. */
	CHECK_EQ(mem_rd(device_off, 4), 0xa3a2a1a0);
	CHECK_EQ(mem_rd(device_off + 15, 1), 0xaf);
	CHECK_EQ(mem_rd(device_off + 16, 1), 0);
	mem_wr(device_off + 4, 0x55, 1);
	CHECK_EQ(dcfg[4], 0x55);
	/* Config generation follows virtio_config_changed(). */
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), 0);
	virtio_config_changed(&vdev);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), 1);
	teardown();
}

TEST(feature_negotiation)
{
	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	negotiate();
	CHECK(status() & VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(vdev.guest_features & (1ULL << VIRTIO_F_VERSION_1));
	CHECK(vdev.guest_features & DEV_FEATURE);
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_GF, 4), (uint32_t)vdev.guest_features);
	/* Without VERSION_1 a modern device refuses FEATURES_OK. */
	set_status(0);
	CHECK_EQ(status(), 0);
	CHECK_EQ(vdev.guest_features, 0);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
	common_wr(VIRTIO_PCI_COMMON_GF, (uint32_t)DEV_FEATURE, 4);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK_EQ(status() & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	/* Feature select beyond 1 is ignored. */
	common_wr(VIRTIO_PCI_COMMON_GFSELECT, 2, 4);
	common_wr(VIRTIO_PCI_COMMON_GF, 0xffffffff, 4);
	CHECK_EQ(vdev.guest_features >> 32, 0);
	CHECK(!vdev.legacy);
	teardown();
}

TEST(queue_setup_and_enable)
{
	uint64_t desc;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	negotiate();
	program_queue(0, 128, &desc);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
	CHECK(vdev.vqs[0].ready);
	CHECK_EQ(vdev.vqs[0].size, 128);
	CHECK_EQ(vdev.vqs[0].desc_gpa, desc);
	/* Once enabled the queue's addresses are fixed. */
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 4, 2);
	CHECK_EQ(vdev.vqs[0].desc_gpa, desc);
	CHECK_EQ(vdev.vqs[0].size, 128);
	program_queue(1, QMAX, NULL);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	CHECK(vdev.vqs[1].ready);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(status(), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			   VIRTIO_CONFIG_S_FEATURES_OK |
			   VIRTIO_CONFIG_S_DRIVER_OK);
	/* Reset: queues off, size back to the maximum, vectors cleared. */
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	set_status(0);
	CHECK_EQ(status(), 0);
	CHECK(!vdev.vqs[0].ready && !vdev.vqs[1].ready);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), QMAX);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	teardown();
}

static void bad_queue_case(uint16_t size, uint64_t desc)
{
	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	negotiate();
	program_queue(0, 16, NULL);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, size, 2);
	if (desc) {
		common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)desc, 4);
		common_wr(VIRTIO_PCI_COMMON_Q_DESCHI, desc >> 32, 4);
	}
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	CHECK(!vdev.vqs[0].ready);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* ...and the driver heard about it (INTx, ISR config bit). */
	CHECK_EQ(mem_rd(isr_off, 1), VIRTIO_PCI_ISR_CONFIG);
	/* A reset clears it. */
	set_status(0);
	CHECK_EQ(status(), 0);
	negotiate();
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(status() & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	teardown();
}

TEST(invalid_queue_needs_reset)
{
	bad_queue_case(16, 0x1000);                 /* below guest RAM */
	bad_queue_case(16, VQD_RAM_GPA + (1 << 20) - 64); /* runs past RAM */
	bad_queue_case(16, 0xfffffffffffff000ULL);  /* wraps */
	bad_queue_case(16, VQD_RAM_GPA + 8);        /* misaligned */
	bad_queue_case(24, 0);                      /* not a power of two */
	bad_queue_case(QMAX * 2, 0);                /* above the maximum */
	bad_queue_case(0, 0);
}

TEST(invalid_queue_after_driver_ok)
{
	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	negotiate();
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 0xdead0000, 4);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	CHECK(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	teardown();
}

TEST(notify_paths)
{
	const struct efd_rec *e;
	unsigned int q;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	for (q = 0; q < NQ; q++) {
		/* Modern: 16-bit writes at notify + 4 * queue_notify_off. */
		common_wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		e = find_efd(mem_base + notify_off +
			     4 * common_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), false);
		REQUIRE(e != NULL);
		CHECK_EQ(e->fd, vdev.vqs[q].kick_fd);
		CHECK_EQ(e->len, 2);
		CHECK(!e->match);
		/* Legacy: the QUEUE_NOTIFY port, matching the index. */
		e = find_efd(io_base + VIRTIO_PCI_QUEUE_NOTIFY, true);
		REQUIRE(e != NULL);
	}
	for (q = 0; q < NQ; q++) {
		unsigned int i, n = 0;

		for (i = 0; i < 64; i++)
			if (efds[i].live && efds[i].pio) {
				CHECK(efds[i].match);
				CHECK_EQ(efds[i].len, 2);
				if (efds[i].data == q) {
					CHECK_EQ(efds[i].fd, vdev.vqs[q].kick_fd);
					n++;
				}
			}
		CHECK_EQ(n, 1);
	}
	/* Writes KVM did not take reach the kick fd from userspace. */
	for (q = 0; q < NQ; q++)
		CHECK_EQ(efd_take(vdev.vqs[q].kick_fd), 0);
	mem_wr(notify_off + 4, 1, 2);
	CHECK_EQ(efd_take(vdev.vqs[1].kick_fd), 1);
	CHECK_EQ(efd_take(vdev.vqs[0].kick_fd), 0);
	mem_wr(notify_off, 0, 4); /* other widths too */
	CHECK_EQ(efd_take(vdev.vqs[0].kick_fd), 1);
	mem_wr(notify_off + 2, 0, 2);      /* not a queue's slot */
	mem_wr(notify_off + 4 * NQ, 0, 2); /* past the last queue */
	mem_wr(notify_off + 0xffc, 0, 4);
	CHECK_EQ(efd_take(vdev.vqs[0].kick_fd), 0);
	CHECK_EQ(efd_take(vdev.vqs[1].kick_fd), 0);
	CHECK_EQ(mem_rd(notify_off, 2), 0);
	io_wr(VIRTIO_PCI_QUEUE_NOTIFY, 1, 2);
	CHECK_EQ(efd_take(vdev.vqs[1].kick_fd), 1);
	io_wr(VIRTIO_PCI_QUEUE_NOTIFY, NQ, 2);
	io_wr(VIRTIO_PCI_QUEUE_NOTIFY, 0xffff, 2);
	CHECK_EQ(efd_take(vdev.vqs[0].kick_fd), 0);
	CHECK_EQ(efd_take(vdev.vqs[1].kick_fd), 0);
	teardown();
}

TEST(intx_and_isr)
{
	unsigned int line;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	line = cfg_rd(PCI_INTERRUPT_LINE, 1);
	CHECK_EQ(line_level[line], 0);
	CHECK_EQ(mem_rd(isr_off, 1), 0);
	vdev.irq->signal_queue(vdev.irq, 0);
	CHECK_EQ(line_level[line], 1);
	vdev.irq->signal_queue(vdev.irq, 1);
	CHECK_EQ(line_level[line], 1);
	/* Reading ISR returns and clears it, and lowers the line. */
	CHECK_EQ(mem_rd(isr_off, 1), 1);
	CHECK_EQ(line_level[line], 0);
	CHECK_EQ(mem_rd(isr_off, 1), 0);
	/* Configuration change: bit 1. */
	virtio_config_changed(&vdev);
	CHECK_EQ(line_level[line], 1);
	vdev.irq->signal_queue(vdev.irq, 0);
	CHECK_EQ(mem_rd(isr_off + 1, 1), 0); /* other bytes: no side effect */
	CHECK_EQ(line_level[line], 1);
	CHECK_EQ(mem_rd(isr_off, 1), VIRTIO_PCI_ISR_CONFIG | 1);
	CHECK_EQ(line_level[line], 0);
	/* The legacy ISR register is the same latch. */
	vdev.irq->signal_queue(vdev.irq, 0);
	CHECK_EQ(io_rd(VIRTIO_PCI_ISR, 1), 1);
	CHECK_EQ(line_level[line], 0);
	/* INTx disable in the command register holds the line low. */
	cfg_wr(PCI_COMMAND, PCI_COMMAND_INTX_DISABLE | 3, 2);
	vdev.irq->signal_queue(vdev.irq, 0);
	CHECK_EQ(line_level[line], 0);
	cfg_wr(PCI_COMMAND, 3, 2);
	CHECK_EQ(line_level[line], 1);
	CHECK_EQ(mem_rd(isr_off, 1), 1);
	CHECK_EQ(line_level[line], 0);
	teardown();
}

static int msix_cap(void)
{
	struct caps c;

	walk_caps(&c);
	return c.msix;
}

static uint32_t table_off, pba_off;

static void msix_entry(unsigned int v, uint64_t addr, uint32_t data,
		       bool masked)
{
	mem_wr(table_off + 16 * v, (uint32_t)addr, 4);
	mem_wr(table_off + 16 * v + 4, addr >> 32, 4);
	mem_wr(table_off + 16 * v + 8, data, 4);
	mem_wr(table_off + 16 * v + 12, masked, 4);
}

/* The MSI route KVM would have for @gsi, from vmm/irq.c's table. */
static bool route_of(int gsi, uint64_t *addr, uint32_t *data)
{
	struct kvm_irq_routing *r = vm->irq_routing;
	unsigned int i;

	if (!r)
		return false;
	for (i = 0; i < r->nr; i++)
		if ((int)r->entries[i].gsi == gsi &&
		    r->entries[i].type == KVM_IRQ_ROUTING_MSI) {
			*addr = (uint64_t)r->entries[i].u.msi.address_hi << 32 |
				r->entries[i].u.msi.address_lo;
			*data = r->entries[i].u.msi.data;
			return true;
		}
	return false;
}

TEST(msix)
{
	const struct irqfd_rec *ifd;
	unsigned int line, i;
	uint64_t addr;
	uint32_t data;
	int cap;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	cap = msix_cap();
	REQUIRE(cap);
	table_off = cfg_rd((unsigned int)cap + 4, 4) & ~7u;
	pba_off = cfg_rd((unsigned int)cap + 8, 4) & ~7u;
	line = cfg_rd(PCI_INTERRUPT_LINE, 1);

	/* Entries start masked and zero. */
	for (i = 0; i <= NQ; i++) {
		CHECK_EQ(mem_rd(table_off + 16 * i, 8), 0);
		CHECK_EQ(mem_rd(table_off + 16 * i + 12, 4), 1);
	}
	/* Linux: enable with function mask, program, unmask. */
	cfg_wr((unsigned int)cap + 2, 0xc000, 2);
	msix_entry(0, 0xfee00000, 0x4030, true);
	msix_entry(1, 0xfee01000, 0x4031, true);
	cfg_wr((unsigned int)cap + 2, 0x8000, 2);
	common_wr(VIRTIO_PCI_COMMON_MSIX, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	mem_wr(table_off + 16 + 12, 0, 4); /* unmask vector 1 */
	CHECK_EQ(mem_rd(table_off + 16 + 8, 4), 0x4031);

	/* The route follows the entry; its irqfd is what a signal writes. */
	CHECK_EQ(live_irqfds(), 1);
	ifd = &irqfds[0];
	REQUIRE(ifd->live);
	REQUIRE(route_of((int)ifd->gsi, &addr, &data));
	CHECK_EQ(addr, 0xfee01000);
	CHECK_EQ(data, 0x4031);
	CHECK(ifd->gsi >= X86_IOAPIC_PINS); /* above the IOAPIC's GSIs */
	vdev.irq->signal_queue(vdev.irq, 0);
	CHECK_EQ(efd_take(ifd->fd), 1);
	CHECK_EQ(line_level[line], 0); /* no INTx with MSI-X */
	CHECK_EQ(mem_rd(isr_off, 1), 0);

	/* Masked: latched in the PBA, delivered on unmask. */
	mem_wr(table_off + 16 + 12, 1, 4);
	vdev.irq->signal_queue(vdev.irq, 0);
	CHECK_EQ(efd_take(ifd->fd), 0);
	CHECK_EQ(mem_rd(pba_off, 8), 2);
	mem_wr(pba_off, 0, 8); /* read-only */
	CHECK_EQ(mem_rd(pba_off, 8), 2);
	mem_wr(table_off + 16 + 12, 0, 4);
	CHECK_EQ(efd_take(ifd->fd), 1);
	CHECK_EQ(mem_rd(pba_off, 8), 0);

	/* Function mask works the same way. */
	cfg_wr((unsigned int)cap + 2, 0xc000, 2);
	vdev.irq->signal_queue(vdev.irq, 0);
	CHECK_EQ(efd_take(ifd->fd), 0);
	CHECK_EQ(mem_rd(pba_off, 1), 2);
	cfg_wr((unsigned int)cap + 3, 0x80, 1);
	CHECK_EQ(efd_take(ifd->fd), 1);
	CHECK_EQ(mem_rd(pba_off, 1), 0);

	/* Rewriting a live entry moves the route (KVM_SET_GSI_ROUTING). */
	mem_wr(table_off + 16 + 8, 0x4041, 4);
	REQUIRE(route_of((int)ifd->gsi, &addr, &data));
	CHECK_EQ(data, 0x4041);
	/* ...also with one 64-bit write of the address. */
	mem_wr(table_off + 16, 0x00000000fee02000ULL, 8);
	REQUIRE(route_of((int)ifd->gsi, &addr, &data));
	CHECK_EQ(addr, 0xfee02000);
	/* The control word: only the mask bit is writable. */
	mem_wr(table_off + 16 + 12, 0xfffffffe, 4);
	CHECK_EQ(mem_rd(table_off + 16 + 12, 4), 0);

	/* Config interrupts on msix_config's vector (0, still masked). */
	virtio_config_changed(&vdev);
	CHECK_EQ(mem_rd(pba_off, 1), 1);
	mem_wr(table_off + 12, 0, 4);
	CHECK_EQ(live_irqfds(), 2);
	CHECK_EQ(mem_rd(pba_off, 1), 0);
	/* NO_VECTOR: nothing at all. */
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 1, 2);
	vdev.irq->signal_queue(vdev.irq, 1);
	CHECK_EQ(mem_rd(pba_off, 1), 0);
	CHECK_EQ(line_level[line], 0);
	/* Out-of-table accesses. */
	CHECK_EQ(mem_rd(table_off + 16 * (NQ + 1), 4), 0);
	mem_wr(table_off + 16 * (NQ + 1), 0xffffffff, 4);
	mem_wr(table_off + 16 * NQ + 12, 0xffffffff, 8); /* crosses the end */

	/* Disabling MSI-X goes back to INTx. */
	cfg_wr((unsigned int)cap + 2, 0, 2);
	vdev.irq->signal_queue(vdev.irq, 0);
	CHECK_EQ(line_level[line], 1);
	CHECK_EQ(mem_rd(isr_off, 1), 1);

	/* Teardown lets go of every irqfd and route: the device first
	 * (unplugged: no BAR left when its destroy hook ran, yet able to
	 * signal), then the transport. */
	unplugged_at_destroy = false;
	teardown();
	CHECK_EQ(live_irqfds(), 0);
	CHECK_EQ(live_efds(), 0);
	CHECK_EQ(destroyed, 1);
	CHECK(unplugged_at_destroy);
}

TEST(msix_legacy_layout)
{
	int cap;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	cap = msix_cap();
	REQUIRE(cap);
	/* Without MSI-X the device config starts at 20... */
	CHECK_EQ(io_rd(20, 4), 0xa3a2a1a0);
	CHECK(vdev.legacy);
	/* ...with it at 24, after the two vector registers. */
	cfg_wr((unsigned int)cap + 2, 0x8000, 2);
	CHECK_EQ(io_rd(24, 4), 0xa3a2a1a0);
	CHECK_EQ(io_rd(VIRTIO_MSI_CONFIG_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
	io_wr(VIRTIO_MSI_CONFIG_VECTOR, 0, 2);
	CHECK_EQ(io_rd(VIRTIO_MSI_CONFIG_VECTOR, 2), 0);
	io_wr(VIRTIO_PCI_QUEUE_SEL, 1, 2);
	io_wr(VIRTIO_MSI_QUEUE_VECTOR, 2, 2);
	CHECK_EQ(io_rd(VIRTIO_MSI_QUEUE_VECTOR, 2), 2);
	io_wr(VIRTIO_MSI_QUEUE_VECTOR, 3, 2);
	CHECK_EQ(io_rd(VIRTIO_MSI_QUEUE_VECTOR, 2), VIRTIO_MSI_NO_VECTOR);
	io_wr(24 + 2, 0x77, 1);
	CHECK_EQ(dcfg[2], 0x77);
	teardown();
}

TEST(pci_cfg_window)
{
	struct caps c;
	unsigned int w;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	walk_caps(&c);
	REQUIRE(c.pci_cfg);
	w = (unsigned int)c.pci_cfg;
	/* Read num_queues through the window. */
	cfg_wr(w + VIRTIO_PCI_CAP_BAR, MEM_BAR, 1);
	cfg_wr(w + VIRTIO_PCI_CAP_OFFSET, common_off + VIRTIO_PCI_COMMON_NUMQ, 4);
	cfg_wr(w + VIRTIO_PCI_CAP_LENGTH, 2, 4);
	CHECK_EQ(cfg_rd(w + VIRTIO_PCI_CAP_BAR, 1), MEM_BAR);
	CHECK_EQ(cfg_rd(w + 16, 4), NQ);
	CHECK_EQ(cfg_rd(w + 16, 2), NQ);
	CHECK_EQ(cfg_rd(w + 16, 1), NQ);
	/* Write queue_select through it. */
	cfg_wr(w + VIRTIO_PCI_CAP_OFFSET, common_off + VIRTIO_PCI_COMMON_Q_SELECT, 4);
	cfg_wr(w + 16, 1, 4);
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	CHECK_EQ(cfg_rd(w + 16, 4), 1);
	/* Status, 1 byte. */
	cfg_wr(w + VIRTIO_PCI_CAP_OFFSET, common_off + VIRTIO_PCI_COMMON_STATUS, 4);
	cfg_wr(w + VIRTIO_PCI_CAP_LENGTH, 1, 4);
	cfg_wr(w + 16, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	CHECK_EQ(status(), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* Device config, 4 bytes. */
	cfg_wr(w + VIRTIO_PCI_CAP_OFFSET, device_off + 8, 4);
	cfg_wr(w + VIRTIO_PCI_CAP_LENGTH, 4, 4);
	CHECK_EQ(cfg_rd(w + 16, 4), 0xabaaa9a8);
	/* The I/O BAR through it: QUEUE_NUM. */
	cfg_wr(w + VIRTIO_PCI_CAP_BAR, IO_BAR, 1);
	cfg_wr(w + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_QUEUE_NUM, 4);
	cfg_wr(w + VIRTIO_PCI_CAP_LENGTH, 2, 4);
	CHECK_EQ(cfg_rd(w + 16, 2), QMAX);
	/* Nonsense windows do nothing: bad length, misaligned, no BAR,
	 * beyond the BAR. */
	cfg_wr(w + 16, 0x12345678, 4);
	cfg_wr(w + VIRTIO_PCI_CAP_LENGTH, 3, 4);
	CHECK_EQ(cfg_rd(w + 16, 4), 0x12345678);
	cfg_wr(w + VIRTIO_PCI_CAP_LENGTH, 4, 4);
	cfg_wr(w + VIRTIO_PCI_CAP_OFFSET, 2, 4);
	CHECK_EQ(cfg_rd(w + 16, 4), 0x12345678);
	cfg_wr(w + VIRTIO_PCI_CAP_BAR, 5, 1);
	cfg_wr(w + VIRTIO_PCI_CAP_OFFSET, 0, 4);
	CHECK_EQ(cfg_rd(w + 16, 4), 0x12345678);
	cfg_wr(w + VIRTIO_PCI_CAP_BAR, MEM_BAR, 1);
	cfg_wr(w + VIRTIO_PCI_CAP_OFFSET, 0xfffffffc, 4);
	CHECK_EQ(cfg_rd(w + 16, 4), 0x12345678);
	cfg_wr(w + 16, 0, 4);
	teardown();
}

TEST(legacy_interface)
{
	uint32_t pfn;
	uint64_t desc;
	struct virtqueue *vq;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	/* A legacy driver's first access makes the device legacy. */
	CHECK(!vdev.legacy);
	io_wr(VIRTIO_PCI_STATUS, 0, 1);
	CHECK(vdev.legacy);
	CHECK_EQ(io_rd(VIRTIO_PCI_HOST_FEATURES, 4), (uint32_t)DEV_FEATURE |
		 (1u << VIRTIO_RING_F_EVENT_IDX) |
		 (1u << VIRTIO_RING_F_INDIRECT_DESC));
	io_wr(VIRTIO_PCI_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	io_wr(VIRTIO_PCI_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				 VIRTIO_CONFIG_S_DRIVER, 1);
	io_wr(VIRTIO_PCI_GUEST_FEATURES, DEV_FEATURE, 4);
	CHECK_EQ(io_rd(VIRTIO_PCI_GUEST_FEATURES, 4), DEV_FEATURE);
	/* Queue 1: size fixed, rings at a page. */
	io_wr(VIRTIO_PCI_QUEUE_SEL, 1, 2);
	CHECK_EQ(io_rd(VIRTIO_PCI_QUEUE_SEL, 2), 1);
	CHECK_EQ(io_rd(VIRTIO_PCI_QUEUE_NUM, 2), QMAX);
	CHECK_EQ(io_rd(VIRTIO_PCI_QUEUE_PFN, 4), 0);
	desc = vqd_alloc(&env, 3 * 4096 + 16 * QMAX, 4096, NULL);
	REQUIRE(desc);
	pfn = (uint32_t)(desc >> 12);
	io_wr(VIRTIO_PCI_QUEUE_PFN, pfn, 4);
	vq = &vdev.vqs[1];
	CHECK(vq->ready);
	CHECK_EQ(vq->size, QMAX);
	CHECK_EQ(vq->desc_gpa, desc);
	CHECK_EQ(vq->avail_gpa, desc + 16 * QMAX);
	CHECK_EQ(vq->used_gpa, (desc + 16 * QMAX + 6 + 2 * QMAX + 4095) & ~4095ULL);
	CHECK_EQ(io_rd(VIRTIO_PCI_QUEUE_PFN, 4), pfn);
	io_wr(VIRTIO_PCI_QUEUE_PFN, 0, 4); /* ignored while in use */
	CHECK(vq->ready);
	/* Out-of-range queue select. */
	io_wr(VIRTIO_PCI_QUEUE_SEL, NQ, 2);
	CHECK_EQ(io_rd(VIRTIO_PCI_QUEUE_NUM, 2), 0);
	io_wr(VIRTIO_PCI_QUEUE_PFN, pfn, 4);
	/* DRIVER_OK without FEATURES_OK is fine for legacy. */
	io_wr(VIRTIO_PCI_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				 VIRTIO_CONFIG_S_DRIVER |
				 VIRTIO_CONFIG_S_DRIVER_OK, 1);
	CHECK(io_rd(VIRTIO_PCI_STATUS, 1) & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(vdev.guest_features, DEV_FEATURE);
	/* Modern access while live does not flip the interface. */
	REQUIRE(find_modern());
	common_rd(VIRTIO_PCI_COMMON_NUMQ, 2);
	CHECK(vdev.legacy);
	/* A queue outside RAM: NEEDS_RESET. */
	io_wr(VIRTIO_PCI_QUEUE_SEL, 0, 2);
	io_wr(VIRTIO_PCI_QUEUE_PFN, 0xfffff, 4);
	CHECK(!vdev.vqs[0].ready);
	CHECK(io_rd(VIRTIO_PCI_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Reset; then a modern driver takes over. */
	io_wr(VIRTIO_PCI_STATUS, 0, 1);
	CHECK(!vq->ready);
	common_wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	CHECK(!vdev.legacy);
	/* Wrong widths on the legacy header: partial writes are dropped,
	 * reads are byte views. */
	io_wr(VIRTIO_PCI_QUEUE_SEL, 1, 2);
	io_wr(VIRTIO_PCI_QUEUE_SEL + 1, 0, 1);
	io_wr(VIRTIO_PCI_QUEUE_SEL, 0, 1);
	CHECK_EQ(io_rd(VIRTIO_PCI_QUEUE_SEL, 2), 1);
	CHECK_EQ(io_rd(VIRTIO_PCI_QUEUE_NUM, 1), QMAX & 0xff);
	CHECK_EQ(io_rd(VIRTIO_PCI_QUEUE_NUM + 1, 1), QMAX >> 8);
	teardown();
}

TEST(legacy_only)
{
	struct caps c;

	REQUIRE(setup_dev(VIRTIO_ID_CONSOLE, true, NULL));
	CHECK_EQ(cfg_rd(PCI_DEVICE_ID, 2), 0x1003);
	CHECK_EQ(cfg_rd(PCI_REVISION_ID, 1), 0);
	CHECK_EQ(cfg_rd(PCI_SUBSYSTEM_ID, 2), VIRTIO_ID_CONSOLE);
	CHECK(vdev.legacy);
	walk_caps(&c);
	CHECK_EQ(c.nr_vndr, 0); /* no modern capabilities */
	CHECK(c.msix);
	CHECK(io_base != 0);
	/* No VERSION_1 on offer. */
	CHECK_EQ(virtio_get_host_features(&vdev, 1), 0);
	/* Modern accesses change nothing. */
	mem_wr(0x14, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	CHECK_EQ(io_rd(VIRTIO_PCI_STATUS, 1), 0);
	CHECK(vdev.legacy);
	/* Only legacy ioeventfds. */
	CHECK_EQ(live_efds(), NQ);
	CHECK(find_efd(io_base + VIRTIO_PCI_QUEUE_NOTIFY, true) != NULL);
	teardown();
}

TEST(modern_only_device_type)
{
	int err;
	struct caps c;

	REQUIRE(setup_dev(16 /* GPU: no transitional id */, false, NULL));
	CHECK_EQ(cfg_rd(PCI_DEVICE_ID, 2), 0x1040 + 16);
	CHECK_EQ(cfg_rd(PCI_REVISION_ID, 1), 1);
	CHECK_EQ(cfg_rd(PCI_BAR0, 4), 0); /* no I/O BAR */
	CHECK_EQ(cfg_rd(PCI_COMMAND, 2) & PCI_COMMAND_IO, 0);
	walk_caps(&c);
	CHECK_EQ(c.nr_vndr, 5);
	CHECK_EQ(live_efds(), NQ);
	/* The window cannot reach a BAR that does not exist. */
	teardown();

	REQUIRE(setup_dev(16, true, &err));
	CHECK_EQ(err, -ENOTSUP);
	virtio_dev_destroy(&vdev);
	teardown();
}

static void other_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		     bool is_write)
{
	(void)opaque;
	(void)off;
	if (!is_write)
		memset(data, 0, len);
}

TEST(bar_move)
{
	uint64_t new_mem = 0xd0000000, new_io = 0x8000;
	struct bus_range r;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	CHECK(find_efd(mem_base + notify_off, false) != NULL);
	/* The guest moves both BARs (decode on, as Linux never does, and
	 * as a hostile guest might). */
	cfg_wr(PCI_BAR0 + 4, (uint32_t)new_mem, 4);
	cfg_wr(PCI_BAR0, (uint32_t)new_io, 4);
	CHECK(!bus_find(&vm->mmio_bus, mem_base, NULL));
	CHECK(!bus_find(&vm->pio_bus, io_base, NULL));
	CHECK(find_efd(mem_base + notify_off, false) == NULL);
	CHECK(find_efd(io_base + VIRTIO_PCI_QUEUE_NOTIFY, true) == NULL);
	mem_base = new_mem;
	io_base = new_io;
	CHECK_EQ(common_rd(VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
	CHECK_EQ(io_rd(VIRTIO_PCI_QUEUE_NUM, 2), QMAX);
	CHECK(find_efd(mem_base + notify_off + 4, false) != NULL);
	CHECK(find_efd(io_base + VIRTIO_PCI_QUEUE_NOTIFY, true) != NULL);
	CHECK_EQ(live_efds(), 2 * NQ);
	/* Onto another device's ports: it stays dark. */
	CHECK_EQ(bus_register(&vm->pio_bus, 0x9000, 4, other_io, NULL,
			      "other"), 0);
	cfg_wr(PCI_BAR0, 0x9000, 4);
	CHECK(bus_find(&vm->pio_bus, 0x9000, &r) && r.io == other_io);
	CHECK_EQ(live_efds(), NQ);
	cfg_wr(PCI_BAR0, (uint32_t)new_io, 4);
	CHECK_EQ(live_efds(), 2 * NQ);
	/* Memory decode off: no MMIO, no modern ioeventfds. */
	cfg_wr(PCI_COMMAND, PCI_COMMAND_IO, 2);
	CHECK(!bus_find(&vm->mmio_bus, mem_base, NULL));
	CHECK_EQ(live_efds(), NQ);
	/* ioeventfds failing: the userspace path still kicks. */
	efd_fail = -ENOSPC;
	cfg_wr(PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	efd_fail = 0;
	CHECK_EQ(live_efds(), NQ);
	mem_wr(notify_off, 0, 2);
	CHECK_EQ(efd_take(vdev.vqs[0].kick_fd), 1);
	teardown();
	CHECK_EQ(live_efds(), 0);
}

/* Wait up to 2 s for @fd (an eventfd) to be signalled; returns the count. */
static uint64_t efd_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 2000) != 1)
		return 0;
	return efd_take(fd);
}

/* A request round trip with a worker thread: notify through the BAR (the
 * userspace path), the device completes it, the interrupt arrives on the
 * queue's MSI-X vector's irqfd; then the same over INTx. */
TEST(request_round_trip)
{
	struct vqd_queue q;
	struct vqd_buf b;
	uint32_t id, len;
	unsigned int line, i;
	int cap, gsi_fd = -1;

	setup_threads = 1;
	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	REQUIRE(find_modern());
	cap = msix_cap();
	REQUIRE(cap);
	table_off = cfg_rd((unsigned int)cap + 4, 4) & ~7u;
	line = cfg_rd(PCI_INTERRUPT_LINE, 1);
	negotiate();
	/* Rings carved by the test driver, then programmed via registers. */
	REQUIRE(vqd_queue_alloc(&q, &env, &vdev.vqs[0], 16) == 0);
	vdev.vqs[0].size = QMAX; /* as after reset: only registers count */
	common_wr(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_SIZE, 16, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, q.desc_gpa, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, q.avail_gpa, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, q.used_gpa, 8);
	common_wr(VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	REQUIRE(vdev.vqs[0].ready);
	cfg_wr((unsigned int)cap + 2, 0x8000, 2);
	msix_entry(1, 0xfee00000, 0x4055, false);
	for (i = 0; i < 64; i++)
		if (irqfds[i].live)
			gsi_fd = irqfds[i].fd;
	REQUIRE(gsi_fd >= 0);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	REQUIRE(status() & VIRTIO_CONFIG_S_DRIVER_OK);

	b = (struct vqd_buf){ vqd_alloc(&env, 64, 16, NULL), 64, true };
	REQUIRE(vqd_add(&q, &b, 1) >= 0);
	mem_wr(notify_off, 0, 2);
	CHECK(efd_wait(gsi_fd) >= 1);
	CHECK(vqd_get_used(&q, &id, &len));
	CHECK_EQ(len, 0);

	/* MSI-X off: INTx and ISR.  (EVENT_IDX is on: ask for the next
	 * interrupt as a driver does.) */
	cfg_wr((unsigned int)cap + 2, 0, 2);
	vqd_set_used_event(&q, 1);
	REQUIRE(vqd_add(&q, &b, 1) >= 0);
	mem_wr(notify_off, 0, 2);
	for (i = 0; i < 2000 && !__atomic_load_n(&line_level[line],
						  __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	CHECK_EQ(line_level[line], 1);
	CHECK(vqd_get_used(&q, &id, &len));
	CHECK_EQ(mem_rd(isr_off, 1), 1);
	CHECK_EQ(line_level[line], 0);
	set_status(0);
	teardown();
}

/* When the VM cannot take the teardown step, attaching fails cleanly and
 * leaves the device to its model. */
TEST(cleanup_registration_fails)
{
	int err;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, &err));
	CHECK_EQ(err, 0);
	teardown();
	/* The transport alone let go of the device: still its model's. */
	CHECK_EQ(destroyed, 0);
	CHECK(vdev.irq == NULL);
	virtio_dev_destroy(&vdev);
	CHECK_EQ(destroyed, 1);
	cleanup_fail = false;
	/* Set up again, with the transport's vm_add_cleanup() failing. */
	memset(efds, 0, sizeof(efds));
	REQUIRE(vqd_env_init(&env, 1 << 20, 0) == 0);
	vm = &env.vm;
	REQUIRE(bus_init(&vm->pio_bus, "pio") == 0);
	REQUIRE(bus_init(&vm->mmio_bus, "mmio") == 0);
	REQUIRE(pci_bus_init(&vm->arch.pci) == 0);
	REQUIRE(vm_irq_init(vm) == 0);
	REQUIRE(vqd_dev_init(&vdev, vm, &dops, "dummy", VIRTIO_ID_BLOCK, NQ,
				QMAX, DEV_FEATURE, sizeof(dcfg), NULL) == 0);
	destroyed = 0;
	cleanup_fail = true;
	CHECK_EQ(virtio_pci_attach(vm, &vdev, false), -ENOMEM);
	CHECK_EQ(destroyed, 0);
	CHECK(vdev.irq == NULL);
	CHECK(vm->arch.pci.slots[0] == NULL);
	CHECK_EQ(live_efds(), 0);
	CHECK(vm->mmio_bus.table->nr == 0 && vm->pio_bus.table->nr == 0);
	virtio_dev_destroy(&vdev);
	CHECK_EQ(destroyed, 1);
	teardown();
}

/* Whatever a guest writes anywhere, nothing breaks. */
TEST(hostile_accesses)
{
	static const unsigned int widths[] = { 1, 2, 4, 8, 3 };
	uint32_t seed = 12345;
	unsigned int i, hits = 0;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	for (i = 0; i < 200000; i++) {
		uint64_t v, off;
		unsigned int len, what;

		seed = seed * 1103515245u + 12345u;
		what = seed >> 28;
		seed = seed * 1103515245u + 12345u;
		off = seed >> 16;
		seed = seed * 1103515245u + 12345u;
		v = (uint64_t)seed << 32 | (seed * 2654435761u);
		len = widths[(seed >> 8) % 5];
		switch (what % 4) {
		case 0: /* memory BAR, anywhere */
			off %= 0x8000;
			if (what & 4)
				hits += bus_wr(&vm->mmio_bus, mem_base + off, v,
					       len);
			else
				hits += bus_rd(&vm->mmio_bus, mem_base + off,
					       len) != ~0ULL;
			break;
		case 1:
			off %= 256;
			if (what & 4)
				bus_wr(&vm->pio_bus, io_base + off, v, len % 5);
			else
				bus_rd(&vm->pio_bus, io_base + off, len % 5);
			break;
		case 2: /* config space, but keep the BARs decoded */
			off %= 256;
			if ((off >= PCI_BAR0 && off < PCI_BAR0 + 24) ||
			    (off >= PCI_COMMAND - 3 && off < PCI_COMMAND + 2))
				break;
			if (what & 4)
				cfg_wr((unsigned int)off & ~(len - 1),
				       (uint32_t)v, len > 4 ? 4 : len);
			else
				cfg_rd((unsigned int)off, len > 4 ? 4 : len);
			break;
		default: /* interrupts from the device side */
			if (what & 4)
				vdev.irq->signal_queue(vdev.irq,
						       (unsigned int)(v % NQ));
			else
				vdev.irq->signal_config(vdev.irq);
			break;
		}
	}
	CHECK(hits > 10000); /* the BAR stayed decoded throughout */
	/* Still answering, at the same place. */
	CHECK(bus_find(&vm->mmio_bus, mem_base, NULL));
	CHECK_EQ(cfg_rd(PCI_VENDOR_ID, 2), 0x1af4);
	teardown();
}

/*
 * The attack: the guest flips PCI_COMMAND's decode bits in a loop.
 * Every flip unmaps or maps both BARs (four table changes a round); the
 * replaced tables must be freed, not kept until the VM ends.
 */
#define CMD_TOGGLES 100000

TEST(command_toggle_frees_tables)
{
	size_t before, after;
	uint16_t cmd;
	unsigned int i, dark = 0;

	REQUIRE(setup_dev(VIRTIO_ID_BLOCK, false, NULL));
	cmd = (uint16_t)cfg_rd(PCI_COMMAND, 2);
	CHECK_EQ(cmd & 3, 3);
	before = t_heap_bytes();
	for (i = 0; i < CMD_TOGGLES; i++) {
		cfg_wr(PCI_COMMAND, cmd & ~3u, 2);
		if (!(i % 4096))
			dark += io_rd(VIRTIO_PCI_HOST_FEATURES, 4) == ~0ULL &&
				mem_rd(0, 4) == ~0ULL;
		cfg_wr(PCI_COMMAND, cmd, 2);
	}
	after = t_heap_bytes();
	printf("  %u PCI_COMMAND toggles: heap %zu -> %zu bytes\n",
	       CMD_TOGGLES, before, after);
	CHECK(after < before + 64 * 1024);
	CHECK_EQ(dark, (CMD_TOGGLES + 4095) / 4096); /* decode really went off */
	/* Both BARs decode again, with their notify ioeventfds. */
	CHECK(io_rd(VIRTIO_PCI_HOST_FEATURES, 4) != ~0ULL);
	CHECK(mem_rd(0, 4) != ~0ULL);
	CHECK_EQ(live_efds(), 2 * NQ);
	teardown();
}

int main(void)
{
	RUN(identity);
	RUN(bar_sizing);
	RUN(capability_chain);
	RUN(common_cfg);
	RUN(feature_negotiation);
	RUN(queue_setup_and_enable);
	RUN(invalid_queue_needs_reset);
	RUN(invalid_queue_after_driver_ok);
	RUN(notify_paths);
	RUN(intx_and_isr);
	RUN(msix);
	RUN(msix_legacy_layout);
	RUN(pci_cfg_window);
	RUN(legacy_interface);
	RUN(legacy_only);
	RUN(modern_only_device_type);
	RUN(bar_move);
	RUN(request_round_trip);
	RUN(cleanup_registration_fails);
	RUN(hostile_accesses);
	RUN(command_toggle_frees_tables);
	return test_summary();
}
