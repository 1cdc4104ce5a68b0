#!/bin/sh
# /init of the L1 guest: the nested KVM host that runs under QEMU TCG with
# emulated AMD SVM. Loads kvm-amd, checks /dev/kvm, runs /payload.sh (the
# e2e cases or the boot benchmark) and powers off. Host-side scripts parse
# the E2E-L1-* lines.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -t 1 ] || exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /dev/shm 2>/dev/null

uptime_s() { cut -d' ' -f1 /proc/uptime; }

l1_exit() {
	sync
	poweroff -f
	reboot -f
	while :; do sleep 3600; done
}

echo "E2E-L1-BOOTED uptime=$(uptime_s)s"

for m in $(cat /etc/l1-modules); do
	if ! insmod "/modules/$m"; then
		echo "E2E-L1-FATAL: insmod $m failed"
		l1_exit
	fi
done
if [ ! -c /dev/kvm ]; then
	echo "E2E-L1-FATAL: /dev/kvm missing after loading kvm-amd (svm in cpuinfo: $(grep -c -w svm /proc/cpuinfo))"
	dmesg | tail -n 20
	l1_exit
fi
echo "E2E-L1-KVM-READY uptime=$(uptime_s)s"

sh /payload.sh
echo "E2E-L1-DONE uptime=$(uptime_s)s"
l1_exit
