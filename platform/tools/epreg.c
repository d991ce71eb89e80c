// SPDX-License-Identifier: GPL-2.0
/*
 * epreg - host-side register access for the UML loopback endpoint tests.
 *
 * FILE is a bus exerciser file of the loopback controller,
 * /sys/kernel/debug/pci-loopback-ep/<device>/host-barN, where a 32-bit
 * access at file offset OFF is a host MMIO access to offset OFF of BAR N
 * (see Documentation/PCI/endpoint/uml-loopback.rst).
 *
 *   epreg FILE OFF              print the 32-bit register at OFF (0x%08x)
 *   epreg FILE OFF VALUE        write VALUE to the register at OFF
 *   epreg -w FILE OFF MASK MS   wait until all MASK bits are set in the
 *                               register, polling for at most MS
 *                               milliseconds; prints the last value read;
 *                               exit 0 when set, 1 on time-out.  All-ones
 *                               (an unbacked BAR) never counts as set.
 *   epreg -a FILE OFF MASK MS   the same, until any of the MASK bits is
 *                               set; prints the last value read and the
 *                               milliseconds waited ("0x%08x N").
 *   epreg -i DEV TYPE           PCITEST_SET_IRQTYPE ioctl on a
 *                               pci_endpoint_test device (0 INTx, 1 MSI,
 *                               2 MSI-X): makes the host driver allocate and
 *                               request its interrupts.
 *
 * Numbers take C syntax (0x..., decimal).  Exit status 2 on usage or I/O
 * errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/pcitest.h>

static int bad_args(void)
{
	fprintf(stderr,
		"usage: epreg FILE OFF [VALUE]\n"
		"       epreg -w|-a FILE OFF MASK TIMEOUT_MS\n"
		"       epreg -i DEV IRQ_TYPE\n");
	return 2;
}

static int num(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "epreg: bad number '%s'\n", s);
		return -1;
	}
	return 0;
}

static int rd32(int fd, off_t off, uint32_t *v)
{
	uint8_t b[4];

	if (pread(fd, b, 4, off) != 4) {
		perror("epreg: read");
		return -1;
	}
	*v = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

static int wr32(int fd, off_t off, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	if (pwrite(fd, b, 4, off) != 4) {
		perror("epreg: write");
		return -1;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int wait_bits(const char *file, unsigned long long off,
		     unsigned long long mask, unsigned long long ms, int any)
{
	long long start = now_ms(), end = start + ms;
	uint32_t v = 0;
	int fd, ret = 1;

	fd = open(file, O_RDONLY);
	if (fd < 0) {
		perror(file);
		return 2;
	}
	for (;;) {
		if (rd32(fd, off, &v)) {
			ret = 2;
			break;
		}
		if (v != 0xffffffffu && (any ? (v & mask) != 0 : (v & mask) == mask)) {
			ret = 0;
			break;
		}
		if (now_ms() >= end)
			break;
		usleep(1000);
	}
	close(fd);
	if (any)
		printf("0x%08x %lld\n", v, now_ms() - start);
	else
		printf("0x%08x\n", v);
	return ret;
}

static int set_irqtype(const char *dev, unsigned long long type)
{
	int fd, ret;

	fd = open(dev, O_RDWR);
	if (fd < 0) {
		perror(dev);
		return 2;
	}
	ret = ioctl(fd, PCITEST_SET_IRQTYPE, (unsigned long)type);
	if (ret < 0)
		perror("epreg: PCITEST_SET_IRQTYPE");
	close(fd);
	return ret < 0 ? 2 : 0;
}

int main(int argc, char **argv)
{
	unsigned long long off, val, mask, ms;
	uint32_t v;
	int fd, ret;

	if (argc == 6 && (!strcmp(argv[1], "-w") || !strcmp(argv[1], "-a"))) {
		if (num(argv[3], &off) || num(argv[4], &mask) || num(argv[5], &ms))
			return 2;
		return wait_bits(argv[2], off, mask, ms, argv[1][1] == 'a');
	}
	if (argc == 4 && !strcmp(argv[1], "-i")) {
		if (num(argv[3], &val))
			return 2;
		return set_irqtype(argv[2], val);
	}
	if (argc != 3 && argc != 4)
		return bad_args();
	if (num(argv[2], &off) || (argc == 4 && num(argv[3], &val)))
		return 2;

	fd = open(argv[1], argc == 4 ? O_WRONLY : O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	if (argc == 4) {
		ret = wr32(fd, off, val) ? 2 : 0;
	} else {
		ret = rd32(fd, off, &v) ? 2 : 0;
		if (!ret)
			printf("0x%08x\n", v);
	}
	close(fd);
	return ret;
}
