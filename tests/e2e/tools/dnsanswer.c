// SPDX-License-Identifier: GPL-2.0
/*
 * dnsanswer: a one-name DNS server over UDP, for the e2e suite's L1 (busybox
 * has no DNS server).
 *
 *   dnsanswer ADDR PORT NAME IPV4
 *
 * Binds ADDR:PORT and answers every query until it is killed: an A query for
 * NAME (any case, with or without the trailing dot) with IPV4 (TTL 60), any
 * other type for NAME with no answer (NOERROR), any other name with
 * NXDOMAIN, a malformed query with FORMERR (when it has a header). Prints one
 * line per query on stdout:
 *
 *   dnsanswer: query NAME type T from IP:PORT: answered|nodata|nxdomain|formerr
 *
 * and "dnsanswer: ready" once bound. Exit status 1 (with a message) if it
 * cannot bind, 2 on usage errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* name_of: the dotted name of the question at q (end: end of the packet),
 * into out (size outsz); returns the offset past its terminating label,
 * or 0 if malformed (compression is not valid in a question). */
static size_t name_of(const uint8_t *p, size_t off, size_t len, char *out, size_t outsz)
{
	size_t o = 0;

	for (;;) {
		uint8_t l;

		if (off >= len)
			return 0;
		l = p[off++];
		if (!l)
			break;
		if (l > 63 || off + l > len || o + l + 2 > outsz)
			return 0;
		if (o)
			out[o++] = '.';
		memcpy(out + o, p + off, l);
		o += l;
		off += l;
	}
	out[o] = 0;
	return off;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa, from;
	struct in_addr answer;
	char want[256];
	int s, one = 1;
	size_t wl;

	if (argc != 5) {
		fprintf(stderr, "usage: dnsanswer ADDR PORT NAME IPV4\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 || inet_pton(AF_INET, argv[4], &answer) != 1) {
		fprintf(stderr, "dnsanswer: bad address\n");
		return 2;
	}
	snprintf(want, sizeof(want), "%s", argv[3]);
	wl = strlen(want);
	if (wl && want[wl - 1] == '.')
		want[wl - 1] = 0;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "dnsanswer: %s:%s: %s\n", argv[1], argv[2], strerror(errno));
		return 1;
	}
	printf("dnsanswer: ready\n");
	fflush(stdout);
	for (;;) {
		uint8_t q[512], r[512 + 16];
		socklen_t fl = sizeof(from);
		char name[256] = "?", fromstr[INET_ADDRSTRLEN];
		const char *what;
		ssize_t n = recvfrom(s, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		size_t end = 0, rl;
		unsigned int type = 0;
		uint8_t rcode;
		int ans = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("dnsanswer: recvfrom");
			return 1;
		}
		if (n < 12 || (q[2] & 0x80))
			continue; /* no header, or a response: ignore */
		if (q[4] == 0 && q[5] == 1)
			end = name_of(q, 12, (size_t)n, name, sizeof(name));
		if (end && end + 4 <= (size_t)n) {
			type = (unsigned int)q[end] << 8 | q[end + 1];
			end += 4;
			if (strcasecmp(name, want)) {
				rcode = 3;
				what = "nxdomain";
			} else if (type == 1 && q[end - 2] == 0 && q[end - 1] == 1) {
				rcode = 0;
				ans = 1;
				what = "answered";
			} else {
				rcode = 0;
				what = "nodata";
			}
		} else {
			end = 12;
			rcode = 1;
			what = "formerr";
		}
		/* Header: the query's id, QR, its opcode and RD, AA, RA. */
		memcpy(r, q, end);
		r[2] = 0x80 | (q[2] & 0x79) | 0x04;
		r[3] = 0x80 | rcode;
		r[4] = 0;
		r[5] = end > 12;
		r[6] = 0;
		r[7] = (uint8_t)ans;
		memset(r + 8, 0, 4);
		rl = end;
		if (ans) {
			static const uint8_t rr[] = {
				0xc0, 0x0c,		/* the question's name */
				0x00, 0x01, 0x00, 0x01,	/* A, IN */
				0x00, 0x00, 0x00, 0x3c,	/* TTL 60 */
				0x00, 0x04,
			};
			memcpy(r + rl, rr, sizeof(rr));
			rl += sizeof(rr);
			memcpy(r + rl, &answer, 4);
			rl += 4;
		}
		inet_ntop(AF_INET, &from.sin_addr, fromstr, sizeof(fromstr));
		for (char *c = name; *c; c++)
			if (!isgraph((unsigned char)*c))
				*c = '?';
		printf("dnsanswer: query %s type %u from %s:%u: %s\n", name, type, fromstr,
		       ntohs(from.sin_port), what);
		fflush(stdout);
		if (sendto(s, r, rl, 0, (struct sockaddr *)&from, fl) < 0)
			perror("dnsanswer: sendto");
	}
}
