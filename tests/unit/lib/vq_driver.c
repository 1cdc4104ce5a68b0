// SPDX-License-Identifier: GPL-2.0
/* A host-side stand-in for a guest virtio driver; see vq_driver.h. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lkvm/ioloop.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "vq_driver.h"

/* --- Fake guest RAM and VM --- */

int vqd_env_init(struct vqd_env *env, uint64_t ram_size,
		 unsigned int nr_threads)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *map;
	int err;

	memset(env, 0, sizeof(*env));
	if (!ram_size)
		return -EINVAL;
	ram_size = ALIGN_UP(ram_size, (uint64_t)page);
	/* Guard pages on both sides: a stray access faults at once. */
	env->map_len = (size_t)ram_size + 2 * page;
	map = mmap(NULL, env->map_len, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	if (mprotect(map + page, (size_t)ram_size, PROT_READ | PROT_WRITE)) {
		err = -errno;
		munmap(map, env->map_len);
		return err;
	}
	env->map = map;
	env->ram = map + page;
	env->ram_size = ram_size;
	env->ram_gpa = VQD_RAM_GPA;
	env->alloc_next = VQD_RAM_GPA;

	env->vm.cfg = &env->cfg;
	env->vm.kvm_fd = -1;
	env->vm.vm_fd = -1;
	env->vm.initrd_fd = -1;
	env->vm.stop_eventfd = -1;
	env->vm.mem.base = env->ram;
	env->vm.mem.mapped_size = ram_size;
	err = guest_memory_add_region(&env->vm.mem, VQD_RAM_GPA, ram_size, 0);
	if (err)
		goto err_unmap;

	if (nr_threads) {
		err = ioloop_init(&env->vm.ioloop, nr_threads);
		if (err)
			goto err_unmap;
		env->vm.ioloop_ready = true;
	}
	return 0;

err_unmap:
	munmap(env->map, env->map_len);
	memset(env, 0, sizeof(*env));
	return err;
}

void vqd_env_destroy(struct vqd_env *env)
{
	if (env->vm.ioloop_ready)
		ioloop_destroy(&env->vm.ioloop);
	if (env->map)
		munmap(env->map, env->map_len);
	memset(env, 0, sizeof(*env));
}

uint64_t vqd_alloc(struct vqd_env *env, uint64_t size, uint64_t align,
		   void **hva)
{
	uint64_t gpa, end = env->ram_gpa + env->ram_size;

	if (!align)
		align = 16;
	gpa = ALIGN_UP(env->alloc_next, align);
	if (gpa < env->alloc_next || gpa > end || size > end - gpa)
		return 0;
	env->alloc_next = gpa + size;
	memset(env->ram + (gpa - env->ram_gpa), 0, size);
	if (hva)
		*hva = env->ram + (gpa - env->ram_gpa);
	return gpa;
}

void *vqd_hva(struct vqd_env *env, uint64_t gpa)
{
	if (gpa < env->ram_gpa || gpa - env->ram_gpa >= env->ram_size)
		return NULL;
	return env->ram + (gpa - env->ram_gpa);
}

uint64_t vqd_ram_end(const struct vqd_env *env)
{
	return env->ram_gpa + env->ram_size;
}

/* --- Fake transport --- */

static void vqd_signal_queue(struct virtio_interrupt *irq, unsigned int index)
{
	struct vqd_env *env = container_of(irq, struct vqd_env, irq);

	__atomic_add_fetch(&env->signal_vq_calls, 1, __ATOMIC_SEQ_CST);
	if (index < ARRAY_SIZE(env->signal_vq_per_queue))
		__atomic_add_fetch(&env->signal_vq_per_queue[index], 1,
				   __ATOMIC_SEQ_CST);
}

static void vqd_signal_config(struct virtio_interrupt *irq)
{
	struct vqd_env *env = container_of(irq, struct vqd_env, irq);

	__atomic_add_fetch(&env->signal_config_calls, 1, __ATOMIC_SEQ_CST);
}

void vqd_attach(struct vqd_env *env, struct virtio_dev *vdev)
{
	env->irq.signal_queue = vqd_signal_queue;
	env->irq.signal_config = vqd_signal_config;
	vdev->irq = &env->irq;
}

int vqd_dev_init(struct virtio_dev *vdev, struct vm *vm,
		 const struct virtio_dev_ops *ops, const char *name,
		 uint32_t device_id, unsigned int nr_queues,
		 uint16_t queue_size, uint64_t features, uint32_t config_size,
		 void *priv)
{
	static struct virtio_device_type types[VQD_MAX_TYPES];
	static unsigned int next;
	struct virtio_device_type *t;

	t = &types[__atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) %
		   VQD_MAX_TYPES];
	memset(t, 0, sizeof(*t));
	t->name = "vqd-test";
	t->device_id = device_id;
	t->max_queues = nr_queues;
	t->queue_size = queue_size;
	t->config_size = config_size;
	return virtio_dev_init(vdev, &(struct virtio_dev_init){
		.type = t,
		.ops = ops,
		.name = name,
		.features = features,
		.mem = &vm->mem,
		.loop = vm_workers(vm),
		.priv = priv,
	});
}

unsigned int vqd_signal_vq_count(struct vqd_env *env)
{
	return __atomic_load_n(&env->signal_vq_calls, __ATOMIC_SEQ_CST);
}

unsigned int vqd_signal_config_count(struct vqd_env *env)
{
	return __atomic_load_n(&env->signal_config_calls, __ATOMIC_SEQ_CST);
}

/* --- Driver-side device setup --- */

static uint8_t negotiate(struct virtio_dev *vdev, uint64_t features,
			 bool features_ok)
{
	uint8_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE;

	virtio_set_status(vdev, 0);
	virtio_set_status(vdev, st);
	st |= VIRTIO_CONFIG_S_DRIVER;
	virtio_set_status(vdev, st);
	virtio_set_guest_features(vdev, 0, (uint32_t)features);
	virtio_set_guest_features(vdev, 1, (uint32_t)(features >> 32));
	if (features_ok)
		virtio_set_status(vdev, st | VIRTIO_CONFIG_S_FEATURES_OK);
	return virtio_get_status(vdev);
}

uint8_t vqd_negotiate(struct virtio_dev *vdev, uint64_t features)
{
	return negotiate(vdev, features, true);
}

uint8_t vqd_negotiate_legacy(struct virtio_dev *vdev, uint64_t features)
{
	return negotiate(vdev, features, false);
}

uint8_t vqd_driver_ok(struct virtio_dev *vdev)
{
	virtio_set_status(vdev, virtio_get_status(vdev) |
				VIRTIO_CONFIG_S_DRIVER_OK);
	return virtio_get_status(vdev);
}

/* --- One split virtqueue, driver side --- */

int vqd_queue_alloc(struct vqd_queue *q, struct vqd_env *env,
		    struct virtqueue *vq, uint16_t size)
{
	void *p;

	memset(q, 0, sizeof(*q));
	q->env = env;
	q->vq = vq;
	q->size = size;
	q->desc_gpa = vqd_alloc(env, 16ULL * size, 4096, &p);
	q->desc = p;
	q->avail_gpa = vqd_alloc(env, 6ULL + 2ULL * size, 4096, &p);
	q->avail = p;
	q->used_gpa = vqd_alloc(env, 6ULL + 8ULL * size, 4096, &p);
	q->used = p;
	if (!q->desc_gpa || !q->avail_gpa || !q->used_gpa)
		return -ENOMEM;
	vq->size = size;
	vq->desc_gpa = q->desc_gpa;
	vq->avail_gpa = q->avail_gpa;
	vq->used_gpa = q->used_gpa;
	return 0;
}

int vqd_queue_setup(struct vqd_queue *q, struct vqd_env *env,
		    struct virtqueue *vq, uint16_t size)
{
	int err = vqd_queue_alloc(q, env, vq, size);

	return err ? err : virtq_enable(vq);
}

void vqd_queue_set_indices(struct vqd_queue *q, uint16_t idx)
{
	q->avail_idx = idx;
	q->last_used = idx;
	q->avail->idx = htole16(idx);
	q->used->idx = htole16(idx);
	q->vq->last_avail = idx;
	q->vq->used_idx = idx;
	q->vq->signalled_used = idx;
	/* avail_event / used_event as a live queue at @idx would have them. */
	vqd_set_used_event(q, idx);
	__atomic_store_n((uint16_t *)(void *)&q->used->ring[q->size],
			 htole16(idx), __ATOMIC_SEQ_CST);
}

uint16_t vqd_next_desc(struct vqd_queue *q)
{
	uint16_t i = q->next_desc;

	q->next_desc = (uint16_t)((i + 1) % q->size);
	return i;
}

void vqd_set_desc(struct vqd_queue *q, uint16_t i, uint64_t addr, uint32_t len,
		  uint16_t flags, uint16_t next)
{
	struct vring_desc *d = &q->desc[i % q->size];

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

void vqd_publish(struct vqd_queue *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->size] = htole16(head);
	q->avail_idx++;
	/* Entry before index, as virtio_ring.c does (virtio_wmb). */
	__atomic_store_n(&q->avail->idx, htole16(q->avail_idx),
			 __ATOMIC_RELEASE);
}

void vqd_set_avail_idx(struct vqd_queue *q, uint16_t idx)
{
	q->avail_idx = idx;
	__atomic_store_n(&q->avail->idx, htole16(idx), __ATOMIC_RELEASE);
}

static uint16_t flags_of(const struct vqd_buf *b, bool last)
{
	return (uint16_t)((b->write ? VRING_DESC_F_WRITE : 0) |
			  (last ? 0 : VRING_DESC_F_NEXT));
}

int vqd_add(struct vqd_queue *q, const struct vqd_buf *bufs, unsigned int n)
{
	uint16_t head, i, next;
	unsigned int k;

	if (!n || n > q->size)
		return -EINVAL;
	head = i = vqd_next_desc(q);
	for (k = 0; k < n; k++) {
		bool last = k == n - 1;

		next = last ? 0 : vqd_next_desc(q);
		vqd_set_desc(q, i, bufs[k].gpa, bufs[k].len,
			     flags_of(&bufs[k], last), next);
		i = next;
	}
	vqd_publish(q, head);
	return head;
}

int vqd_add_indirect(struct vqd_queue *q, const struct vqd_buf *bufs,
		     unsigned int n, uint64_t *table_gpa)
{
	struct vring_desc *t;
	uint64_t gpa;
	uint16_t head;
	unsigned int k;
	void *p;

	if (!n || n > 0xffff)
		return -EINVAL;
	gpa = vqd_alloc(q->env, 16ULL * n, 16, &p);
	if (!gpa)
		return -ENOMEM;
	t = p;
	for (k = 0; k < n; k++) {
		bool last = k == n - 1;

		t[k].addr = htole64(bufs[k].gpa);
		t[k].len = htole32(bufs[k].len);
		t[k].flags = htole16(flags_of(&bufs[k], last));
		t[k].next = htole16(last ? 0 : (uint16_t)(k + 1));
	}
	head = vqd_next_desc(q);
	vqd_set_desc(q, head, gpa, 16 * n, VRING_DESC_F_INDIRECT, 0);
	vqd_publish(q, head);
	if (table_gpa)
		*table_gpa = gpa;
	return head;
}

bool vqd_get_used(struct vqd_queue *q, uint32_t *id, uint32_t *len)
{
	uint16_t idx = le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE));
	struct vring_used_elem *e;

	if (idx == q->last_used)
		return false;
	e = &q->used->ring[q->last_used % q->size];
	if (id)
		*id = le32toh(e->id);
	if (len)
		*len = le32toh(e->len);
	q->last_used++;
	return true;
}

uint16_t vqd_used_idx(const struct vqd_queue *q)
{
	return le16toh(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE));
}

bool vqd_wait_used(const struct vqd_queue *q, unsigned int n)
{
	for (int i = 0; i < 20000; i++) {
		if ((uint16_t)(vqd_used_idx(q) - q->last_used) >= n)
			return true;
		usleep(500);
	}
	return false;
}

void vqd_set_avail_flags(struct vqd_queue *q, uint16_t flags)
{
	__atomic_store_n(&q->avail->flags, htole16(flags), __ATOMIC_SEQ_CST);
}

void vqd_set_used_event(struct vqd_queue *q, uint16_t idx)
{
	__atomic_store_n((uint16_t *)&q->avail->ring[q->size], htole16(idx),
			 __ATOMIC_SEQ_CST);
}

uint16_t vqd_used_flags(const struct vqd_queue *q)
{
	return le16toh(__atomic_load_n(&q->used->flags, __ATOMIC_SEQ_CST));
}

uint16_t vqd_avail_event(const struct vqd_queue *q)
{
	return le16toh(__atomic_load_n((uint16_t *)(void *)&q->used->ring[q->size],
				       __ATOMIC_SEQ_CST));
}
