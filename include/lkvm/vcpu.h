/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VCPU_H
#define LKVM_VCPU_H

struct vm;

/* Hard upper bound regardless of what KVM allows (MP table APIC IDs). */
#define LKVM_MAX_CPUS 254

/* Create vm->nr_vcpus vCPUs and run arch setup on each. */
int vcpus_create(struct vm *vm);
/* Start one thread per vCPU. */
int vcpus_start(struct vm *vm);
/* Kick every vCPU out of KVM_RUN and join the threads. */
void vcpus_stop(struct vm *vm);
/* Close vCPU fds and free them (stops them first if needed). */
void vcpus_destroy(struct vm *vm);

#endif
