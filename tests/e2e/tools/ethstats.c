// SPDX-License-Identifier: GPL-2.0
/*
 * ethstats: a network interface's driver statistics, as `ethtool -S`
 * prints them (busybox has no ethtool).
 *
 *   ethstats IFNAME
 *
 * Prints one "name=value" line per statistic the driver reports through
 * SIOCETHTOOL (ETHTOOL_GSSET_INFO, ETHTOOL_GSTRINGS, ETHTOOL_GSTATS), e.g.
 * Linux's virtio_net: rx_queue_0_packets=..., tx_queue_1_bytes=..., one
 * set per queue pair. Exit status: 0, or 1 (with a message on stderr) if
 * the interface or its statistics cannot be read.
 *
 * Built static for the e2e suite's L2 guest (tests/e2e/x86/run.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int eth_ioctl(int s, const char *ifname, void *data)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	return ioctl(s, SIOCETHTOOL, &ifr);
}

int main(int argc, char **argv)
{
	struct ethtool_sset_info *info;
	struct ethtool_gstrings *names;
	struct ethtool_stats *stats;
	uint32_t n, i;
	int s;

	if (argc != 2 || strlen(argv[1]) >= IFNAMSIZ) {
		fprintf(stderr, "usage: ethstats IFNAME\n");
		return 2;
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0) {
		perror("ethstats: socket");
		return 1;
	}
	info = calloc(1, sizeof(*info) + sizeof(uint32_t));
	if (!info)
		return 1;
	info->cmd = ETHTOOL_GSSET_INFO;
	info->sset_mask = 1ULL << ETH_SS_STATS;
	if (eth_ioctl(s, argv[1], info) < 0) {
		fprintf(stderr, "ethstats: %s: ETHTOOL_GSSET_INFO: %s\n", argv[1], strerror(errno));
		return 1;
	}
	n = (info->sset_mask & (1ULL << ETH_SS_STATS)) ? info->data[0] : 0;
	if (!n) {
		fprintf(stderr, "ethstats: %s: the driver reports no statistics\n", argv[1]);
		return 1;
	}
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	stats = calloc(1, sizeof(*stats) + (size_t)n * sizeof(uint64_t));
	if (!names || !stats)
		return 1;
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = n;
	stats->cmd = ETHTOOL_GSTATS;
	stats->n_stats = n;
	if (eth_ioctl(s, argv[1], names) < 0 || eth_ioctl(s, argv[1], stats) < 0) {
		fprintf(stderr, "ethstats: %s: ETHTOOL_GSTRINGS/GSTATS: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (i = 0; i < n && i < names->len && i < stats->n_stats; i++) {
		char name[ETH_GSTRING_LEN + 1];

		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = 0;
		printf("%s=%llu\n", name, (unsigned long long)stats->data[i]);
	}
	close(s);
	return 0;
}
