// SPDX-License-Identifier: GPL-2.0
/*
 * RC-side benchmark of a pci-epf-test compatible endpoint function, through
 * the ioctls of the host driver pci_endpoint_test (include/uapi/linux/pcitest.h).
 * Built statically into the test initramfs; used by the bench scenario.
 *
 *   epbench [-D DEV] doorbell N            N PCITEST_DOORBELL round trips
 *   epbench [-D DEV] read|write|copy SIZE N [dma]
 *
 * Sets the MSI interrupt type first, then prints one line:
 *   doorbell: "<round trips per second> <iterations> <seconds>"
 *   transfers: "<MB/s (10^6 bytes)> <iterations> <seconds>"
 * after one untimed iteration.
 * Exits non-zero if any ioctl fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/pcitest.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_usage(void)
{
	fprintf(stderr, "Usage: epbench [-D DEV] doorbell N\n"
		"       epbench [-D DEV] read|write|copy SIZE N [dma]\n");
	exit(2);
}

static unsigned long number(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (end == s)
		print_usage();
	if (*end == 'k' || *end == 'K') {
		v <<= 10;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v <<= 20;
		end++;
	}
	if (*end || !v)
		print_usage();
	return v;
}

int main(int argc, char **argv)
{
	struct pci_endpoint_test_xfer_param param = { 0 };
	const char *dev = "/dev/pci-endpoint-test.0";
	unsigned long i, n, cmd;
	double t0 = 0, t;
	int fd, ret;

	if (argc > 2 && !strcmp(argv[1], "-D")) {
		dev = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 3)
		print_usage();

	if (!strcmp(argv[1], "doorbell")) {
		if (argc != 3)
			print_usage();
		cmd = PCITEST_DOORBELL;
		n = number(argv[2]);
	} else {
		if (!strcmp(argv[1], "read"))
			cmd = PCITEST_READ;
		else if (!strcmp(argv[1], "write"))
			cmd = PCITEST_WRITE;
		else if (!strcmp(argv[1], "copy"))
			cmd = PCITEST_COPY;
		else
			print_usage();
		if (argc < 4 || argc > 5)
			print_usage();
		param.size = number(argv[2]);
		n = number(argv[3]);
		if (argc == 5) {
			if (strcmp(argv[4], "dma"))
				print_usage();
			param.flags = PCITEST_FLAGS_USE_DMA;
		}
	}

	fd = open(dev, O_RDWR);
	if (fd < 0) {
		perror(dev);
		return 1;
	}
	if (ioctl(fd, PCITEST_SET_IRQTYPE, PCITEST_IRQ_TYPE_MSI) < 0) {
		perror("PCITEST_SET_IRQTYPE");
		return 1;
	}

	/* One untimed iteration first: the timed ones start warm. */
	for (i = 0; i <= n; i++) {
		if (i == 1)
			t0 = now();
		if (cmd == PCITEST_DOORBELL)
			ret = ioctl(fd, cmd);
		else
			ret = ioctl(fd, cmd, &param);
		if (ret < 0) {
			fprintf(stderr, "%s: iteration %lu: %s\n", argv[1], i,
				strerror(errno));
			return 1;
		}
	}
	t = now() - t0;

	if (cmd == PCITEST_DOORBELL)
		printf("%.1f %lu %.6f\n", n / t, n, t);
	else
		printf("%.3f %lu %.6f\n", (double)param.size * n / t / 1e6, n, t);
	close(fd);
	return 0;
}
