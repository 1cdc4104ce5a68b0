/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_DEVICES_H
#define LKVM_VIRTIO_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The virtio device types lkvm offers.  Each device declares its identity
 * once, in its own file (virtio/rng.c: virtio_rng_type), and
 * VIRTIO_DEVICE_TYPES below lists them in the order devices are created.
 * Everything that needs to know about device types reads this table: the
 * transports (PCI class), the initramfs builder (guest modules), the CLI
 * (a device's own options, the device list in --help) and the man page.
 */
struct vm;
struct vm_config;
struct cli_option;
struct virtio_dev;

struct virtio_device_type {
	const char *name;          /* "virtio-rng": messages, --help */
	const char *help;          /* one line for --help and the man page */
	uint32_t device_id;        /* VIRTIO_ID_* */
	uint16_t pci_class;        /* PCI base class << 8 | subclass
				    * (PCI_CLASS_* in lkvm/pci.h) */
	/* Guest kernel modules its driver needs, in load order; NULL-ended. */
	const char *const *modules;
	unsigned int max_queues;   /* queues per device, at most */
	uint16_t queue_size;       /* entries offered per queue (power of 2) */
	uint32_t config_size;      /* device-specific config space bytes */
	/* How many instances @cfg asks for. */
	unsigned int (*count)(const struct vm_config *cfg);
	/* Create instance @index (< count), initialised but not attached
	 * (virtio_devices_init() attaches it), or NULL after printing one
	 * line naming the problem. */
	struct virtio_dev *(*create)(struct vm *vm, unsigned int index);
	/* `lkvm run` options the device brings (NULL, or ended by an entry
	 * with no long name); the CLI adds them to the command's table. */
	const struct cli_option *options;
	/* Optional: a usage error in what @cfg asks of this type, found
	 * before anything is built: 0, or -errno with the reason in @why. */
	int (*check)(const struct vm_config *cfg, char *why, size_t len);
	/* Optional: whether the devices count() gives for @cfg are lkvm's
	 * own default, not asked for (virtio-net without -n).  count() gives
	 * such a device only when the transport has a slot to spare, and the
	 * initramfs of a 9p-root boot loads its driver only if the guest
	 * kernel has it: a device the user did not ask for is never a usage
	 * error, nor a missing module. */
	bool (*implicit)(const struct vm_config *cfg);
};

/*
 * THE table: every device type, in creation order (console, rng, disks in
 * command-line order, 9p exports in cfg->shares order, network cards in
 * -n order), so guest device names are stable.  Adding a device type is its file plus one line here.
 */
#define VIRTIO_DEVICE_TYPES(X)		\
	X(virtio_console_type)		\
	X(virtio_rng_type)		\
	X(virtio_blk_type)		\
	X(virtio_9p_type)		\
	X(virtio_net_type)

#define VIRTIO_DEVICE_TYPE_DECLARE(type) \
	extern const struct virtio_device_type type;
VIRTIO_DEVICE_TYPES(VIRTIO_DEVICE_TYPE_DECLARE)
#undef VIRTIO_DEVICE_TYPE_DECLARE

/* VIRTIO_DEVICE_TYPES in order, NULL-terminated (virtio/devices.c). */
extern const struct virtio_device_type *const virtio_device_types[];

/* How many devices of type @t @cfg asks for through the type's own options
 * (cfg->dev_reqs), and the value given for the @index-th (NULL: a flag). */
unsigned int virtio_device_requests(const struct vm_config *cfg,
				    const struct virtio_device_type *t);
const char *virtio_device_request_arg(const struct vm_config *cfg,
				      const struct virtio_device_type *t,
				      unsigned int index);
/* Ask for a device of type @t as its option would (tests, front ends):
 * 0, or -ENOSPC when cfg->dev_reqs is full. */
int virtio_device_request(struct vm_config *cfg,
			  const struct virtio_device_type *t, const char *arg);

/*
 * Usage errors in the devices @cfg asks for, before anything is built:
 * more than its transport can attach (PCI: PCI_MAX_VIRTIO_DEVICES; mmio:
 * LKVM_ARCH_MAX_VIRTIO_MMIO, one interrupt line each), and each type's
 * own check (the same disk twice).  0, or -errno with one line in @why.
 */
int virtio_devices_check(const struct vm_config *cfg, char *why, size_t len);
/* The most virtio devices @transport (the default: the arch's) allows. */
unsigned int virtio_transport_max_devices(int transport);

/* The type with @device_id, or NULL. */
const struct virtio_device_type *virtio_device_type_find(uint32_t device_id);


/*
 * The same devices initialised (virtio_dev_init) but not attached, or NULL
 * after printing why: unit tests drive them over a fake transport.
 * virtio_dev_destroy() frees them.  virtio_console_new() also takes over vm->console_input and
 * vm->console_resize, and makes hvc0 the kernel's console= default.
 */
struct virtio_dev;
struct disk_config;
struct share_config;
struct virtio_dev *virtio_console_new(struct vm *vm);
struct virtio_dev *virtio_rng_new(struct vm *vm);
/* Also opens the disk and starts its I/O backend (printing any error). */
struct virtio_dev *virtio_blk_new(struct vm *vm, const struct disk_config *disk,
				  unsigned int index);
/* Also starts the 9P server on @share->path (printing any error); raises
 * RLIMIT_NOFILE's soft limit to the hard one: every fid holds a
 * descriptor. */
struct virtio_dev *virtio_9p_new(struct vm *vm,
				 const struct share_config *share);
/*
 * virtio-net over @be (include/lkvm/net.h), which the device takes over:
 * it is closed when the device is destroyed, or at once on failure.  @mac
 * is the guest's MAC address, @index numbers the device ("virtio-net0").
 * virtio_net_type's create() makes one per -n/--network that is not
 * "none" (cli_parse_net()).
 */
struct net_backend;
struct net_config;
struct virtio_dev *virtio_net_new(struct vm *vm, struct net_backend *be,
				  const uint8_t mac[6], unsigned int index);
/* The MAC of NIC @index without guest_mac=: kvmtool's 02:15:15:15:15:15
 * with @index added to the last byte. */
void virtio_net_default_mac(unsigned int index, uint8_t mac[6]);
/* The queue pairs create() asks of the backend: mq=, else one per vCPU,
 * at most NET_MAX_QUEUE_PAIRS. */
unsigned int virtio_net_queue_pairs(const struct net_config *nc,
				    unsigned int nr_vcpus);
/*
 * Network card @index (< virtio_net_type.count(@cfg)) as create() makes
 * it: its -n parsed into @nc (cli_free_net() it; no -n: the default
 * user-mode card) and its MAC.  0, or -EINVAL after one line on stderr.
 */
int virtio_net_card(const struct vm_config *cfg, unsigned int index,
		    struct net_config *nc, uint8_t mac[6]);
/* Link up or down (VIRTIO_NET_S_LINK_UP), with a config interrupt. */
void virtio_net_set_link(struct virtio_dev *vdev, bool up);
/* The server behind a virtio_9p_new() device (tests look at its fids). */
struct p9_server;
struct p9_server *virtio_9p_server(struct virtio_dev *vdev);

#endif
