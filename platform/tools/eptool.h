/* SPDX-License-Identifier: GPL-2.0 */
/*
 * eptool.h - what the host-side tools epfuzz and eplife share: the register
 * block of a pci-epf-test compatible function, a seeded generator, the
 * options -v, -s and -t, access to the loopback controller's bus exerciser
 * (/sys/kernel/debug/pci-loopback-ep/<device>/host-barN, see
 * Documentation/PCI/endpoint/uml-loopback.rst) and the wait for a command.
 *
 * Header only, like the kselftest harness: every tool of platform/tools is
 * one C file built on its own (platform/initramfs.sh).  A tool defines
 * EPTOOL, its name for error messages, before including this file.
 */
#ifndef EPTOOL_H
#define EPTOOL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef EPTOOL
#error "define EPTOOL (the tool's name) before including eptool.h"
#endif

/* Registers of the register BAR (BAR0) of pci-epf-test */
#define R_MAGIC		0x00
#define R_COMMAND	0x04
#define R_STATUS	0x08
#define R_SRC_LO	0x0c
#define R_SRC_HI	0x10
#define R_DST_LO	0x14
#define R_DST_HI	0x18
#define R_SIZE		0x1c
#define R_CHECKSUM	0x20
#define R_IRQ_TYPE	0x24
#define R_IRQ_NUMBER	0x28
#define R_FLAGS		0x2c
#define R_DB_BAR	0x34
#define R_DB_OFFSET	0x38
#define R_DB_DATA	0x3c

/* COMMAND */
#define C_RAISE_INTX	0x001
#define C_RAISE_MSI	0x002
#define C_RAISE_MSIX	0x004
#define C_READ		0x008
#define C_WRITE		0x010
#define C_COPY		0x020
#define C_ENABLE_DB	0x040
#define C_DISABLE_DB	0x080
#define C_SUB_SETUP	0x100
#define C_SUB_CLEAR	0x200
#define C_KNOWN		0x3ff

/* STATUS */
#define S_READ_OK	0x00001
#define S_WRITE_OK	0x00004
#define S_COPY_OK	0x00010
#define S_IRQ_RAISED	0x00040
#define S_DB_OK		0x00200
#define S_DB_ENABLE_OK	0x00400
#define S_DB_DISABLE_OK	0x01000
#define S_SUB_SETUP_OK	0x04000
#define S_SUB_CLEAR_OK	0x10000
#define S_NO_RESOURCE	0x40000

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static int verbose;			/* -v: every step on stderr */
static unsigned int tmo_ms = 2000;	/* -t: how long a command may take */
static uint64_t rng = 1;		/* -s: the generator's state */

/*
 * getopt() with the options every tool takes, which @optstring lists:
 * -v, -s SEED and -t MS set the state above.  Returns the next other
 * option, as getopt() does, or -1 after the last.
 */
static inline int tool_getopt(int argc, char **argv, const char *optstring)
{
	int opt;

	while ((opt = getopt(argc, argv, optstring)) != -1) {
		switch (opt) {
		case 'v':
			verbose = 1;
			break;
		case 's':
			rng = strtoull(optarg, NULL, 0);
			break;
		case 't':
			tmo_ms = strtoul(optarg, NULL, 0);
			break;
		default:
			return opt;
		}
	}
	return -1;
}

static inline uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [0, n) */
static inline uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void die(const char *what)
{
	perror(what);
	exit(2);
}

/* Open @dir/@name, or die */
static inline int open_in(const char *dir, const char *name, int flags)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, flags);
	if (fd < 0)
		die(path);
	return fd;
}

/* The exerciser's host-bar0..5 files of @dir, read-write */
static inline void open_bars(const char *dir, int fd_bar[6])
{
	char name[16];
	int bar;

	for (bar = 0; bar < 6; bar++) {
		snprintf(name, sizeof(name), "host-bar%d", bar);
		fd_bar[bar] = open_in(dir, name, O_RDWR);
	}
}

/* A host read of the 32-bit little-endian register at @off of a host-barN file */
static inline uint32_t bar_read(int fd, uint32_t off)
{
	uint8_t b[4];

	if (pread(fd, b, 4, off) != 4)
		die(EPTOOL ": BAR read");
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void bar_write(int fd, uint32_t off, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	if (pwrite(fd, b, 4, off) != 4)
		die(EPTOOL ": BAR write");
}

/* Interrupts of @name (a host device) so far, all vectors and CPUs */
static inline unsigned long long irq_count(const char *name)
{
	static char buf[65536];
	unsigned long long sum = 0;
	size_t l = strlen(name);
	char *line, *save;
	ssize_t n;
	int fd;

	fd = open("/proc/interrupts", O_RDONLY);
	if (fd < 0)
		die("/proc/interrupts");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		die("/proc/interrupts");
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p, *end;

		p = strstr(line, name);
		if (!p || (p[l] && p[l] != ' ' && p[l] != '\t'))
			continue;
		p = strchr(line, ':');
		if (!p)
			continue;
		for (p++;;) {
			unsigned long long v = strtoull(p, &end, 10);

			if (end == p)
				break;
			sum += v;
			p = end;
		}
	}
	return sum;
}

/*
 * Wait until all @mask bits are set in STATUS (@bar0: the host-bar0 file)
 * and, unless @irqname is NULL, an interrupt of @irqname beyond @c0
 * arrived, looking every @poll_us microseconds for at most tmo_ms.
 * Returns 0 done, 1 no IRQ_RAISED in time, 2 IRQ_RAISED but no interrupt;
 * *@status is the last STATUS read.
 */
static inline int wait_status(int bar0, uint32_t mask, const char *irqname,
			      unsigned long long c0, unsigned int poll_us,
			      uint32_t *status)
{
	long long end = now_ms() + tmo_ms;
	int raised = 0;

	for (;;) {
		if (!raised) {
			*status = bar_read(bar0, R_STATUS);
			raised = *status != 0xffffffff &&
				 (*status & mask) == mask;
		}
		if (raised && (!irqname || irq_count(irqname) > c0))
			return 0;
		if (now_ms() >= end)
			return raised ? 2 : 1;
		usleep(poll_us);
	}
}

#endif /* EPTOOL_H */
