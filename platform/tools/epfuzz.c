// SPDX-License-Identifier: GPL-2.0
/*
 * epfuzz - seeded register fuzzer of a pci-epf-test compatible endpoint
 * function, played from the host side of the UML loopback controller.
 *
 *   epfuzz [-v] [-x] [-s SEED] [-n COMMANDS] [-t TIMEOUT_MS] [-m NVEC] DIR IRQNAME
 *   epfuzz -k                   count kernel log records (see below)
 *
 * DIR is the loopback controller's bus exerciser directory,
 * /sys/kernel/debug/pci-loopback-ep/<device> (host-bar0..5, host-dma,
 * host-dma-addr, host-dma-confine; see
 * Documentation/PCI/endpoint/uml-loopback.rst).  IRQNAME is the name the
 * host driver's interrupts carry in /proc/interrupts (pci-endpoint-test.N),
 * NVEC (default 4) the number of MSI vectors the function offers: irq_number
 * is drawn mostly from 1..NVEC, else 0, just above NVEC or any value.
 *
 * The fuzzer first turns the exerciser's DMA confinement on (every endpoint
 * access to host RAM outside the exerciser's host buffer is dropped, like
 * an IOMMU would), then runs COMMANDS commands, each after a random number
 * of steps drawn from the seeded generator:
 *
 *  - random values written to random offsets of the register BAR (BAR0),
 *    the COMMAND register excepted (every command is waited for);
 *  - random values written to the other BARs (not to the doorbell's BAR
 *    while a doorbell is enabled: its data would fire other vectors);
 *  - rings of an enabled doorbell, waited for like a command
 *    (DOORBELL_SUCCESS and IRQ_RAISED);
 *  - a command: one of the known commands, several of them at once or any
 *    32-bit value, with random irq_type, irq_number, flags, size (or BAR
 *    number) and host addresses.  A host address is drawn inside the host
 *    buffer (the whole transfer fits between its guard zones), just outside
 *    it, anywhere in host RAM, outside host RAM or anywhere in 64 bits; the
 *    confinement drops everything but the first kind.
 *
 * For every command it records whether it completed: STATUS got IRQ_RAISED
 * and (unless irq_type was 0, INTx, which the MSI host never receives) an
 * interrupt of IRQNAME arrived, within TIMEOUT_MS (default 2000).  It also
 * checks that STATUS has no success bit of another command, that the guard
 * zones at both ends of the host buffer still hold their pattern, and that
 * a successful WRITE (COPY) into the buffer left data matching CHECKSUM
 * (the source).
 *
 * The draws do not depend on what the endpoint answers, so a seed replays
 * the same sequence; -v prints every step to stderr, as it happens.  -x stops at the first failure.
 * Output: TAP-free comment lines starting with "# ", one per failure (with
 * the command number and the cause in parentheses: never-completed,
 * no-irq, bad-status, guard, data, hang), and the summary line
 *
 *   epfuzz: seed S commands N completed C failed-with-status F
 *     timed-out T no-irq I bad-status B guard G data D rings R
 *     ring-timeouts RT dropped X
 *
 * (on one line).  Exit 0 if nothing failed, 1 otherwise, 2 on errors.
 *
 * epfuzz -k reads /dev/kmsg from its current end until SIGTERM or SIGINT
 * and then prints "kmsg: records N warn-or-worse M epf E doorbell-alloc A":
 * the number of records, those of level warning or more severe (what a
 * console at loglevel=5 shows), those of them from pci_epf_test* functions
 * (E), except the doorbell allocator's "Can't find MSI domain for EPC" of
 * every embedded doorbell allocation (A, not rate-limited, the same line as
 * C's allocator).
 */
#include <errno.h>
#include <signal.h>

#define EPTOOL "epfuzz"
#include "eptool.h"

#define S_OK_ANY	(S_READ_OK | S_WRITE_OK | S_COPY_OK | S_DB_OK | \
			 S_DB_ENABLE_OK | S_DB_DISABLE_OK | S_SUB_SETUP_OK | \
			 S_SUB_CLEAR_OK)
/* READ/WRITE/COPY_FAIL, SRC/DST_ADDR_INVALID, DOORBELL_ENABLE/DISABLE_FAIL,
 * BAR_SUBRANGE_SETUP/CLEAR_FAIL, NO_RESOURCE
 */
#define S_FAIL_ANY	(0x2 | 0x8 | 0x20 | 0x80 | 0x100 | 0x800 | 0x2000 | \
			 0x8000 | 0x20000 | 0x40000)

/* Host buffer layout: guard | arena | guard */
#define GUARD		16384
#define GUARD_BYTE	0xa5
#define ARENA_MAX	262144

static int stop_first;
static int fd_bar[6], fd_dma;
static uint64_t hbuf, hsize, arena, arena_size;
static const char *irqname;
static unsigned int nvec = 4;

static struct {
	unsigned long commands, completed, failed, timedout, noirq, badstatus;
	unsigned long guard, data, rings, ring_tmo;
} st;

/*
 * Doorbell as the last ENABLE_DOORBELL/DISABLE_DOORBELL reported it: DB_OFF,
 * DB_ON (then db_bar, db_off, db_data), or DB_UNKNOWN after a command whose
 * result the status does not tell (an invalid interrupt makes the endpoint
 * report NO_RESOURCE instead of the command's result; a refused ENABLE may
 * mean one is enabled already).  While not DB_OFF, no random writes go to
 * BARs other than BAR0: data written to a doorbell would ring it, or with
 * MSI doorbells another function's.
 */
enum { DB_OFF, DB_ON, DB_UNKNOWN };
static int db_on;
static uint32_t db_bar, db_off, db_data;
/* What the fuzzer last wrote to IRQ_TYPE and IRQ_NUMBER */
static uint32_t cur_irq_type, cur_irq_number;

static uint32_t rd(int bar, uint32_t off)
{
	return bar_read(fd_bar[bar], off);
}

static void wr(int bar, uint32_t off, uint32_t v)
{
	bar_write(fd_bar[bar], off, v);
	if (bar == 0 && off == R_IRQ_TYPE)
		cur_irq_type = v;
	if (bar == 0 && off == R_IRQ_NUMBER)
		cur_irq_number = v;
}

static void wr64(uint32_t lo, uint64_t v)
{
	wr(0, lo, (uint32_t)v);
	wr(0, lo + 4, (uint32_t)(v >> 32));
}

static void dma_rw(int write, uint64_t off, void *buf, size_t len)
{
	ssize_t n = write ? pwrite(fd_dma, buf, len, off) :
			    pread(fd_dma, buf, len, off);

	if (n != (ssize_t)len)
		die("epfuzz: host-dma");
}

static uint32_t crc32_le(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		int i;

		crc ^= *p++;
		for (i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return crc;
}

static int guards_intact(void)
{
	static uint8_t g[GUARD];
	int side;

	for (side = 0; side < 2; side++) {
		size_t i;

		dma_rw(0, side ? hsize - GUARD : 0, g, GUARD);
		for (i = 0; i < GUARD; i++)
			if (g[i] != GUARD_BYTE)
				return 0;
	}
	return 1;
}

static void fill_guards(void)
{
	static uint8_t g[GUARD];

	memset(g, GUARD_BYTE, GUARD);
	dma_rw(1, 0, g, GUARD);
	dma_rw(1, hsize - GUARD, g, GUARD);
}

static uint32_t rnd_value(void)
{
	switch (below(6)) {
	case 0: return 0;
	case 1: return 1 + below(8);
	case 2: return 0xffffffff;
	case 3: return 1u << below(32);
	default: return (uint32_t)rnd();
	}
}

/* A transfer size */
static uint32_t rnd_size(void)
{
	uint32_t r = below(100);

	if (r < 40)
		return 1 + below(4096);
	if (r < 60)
		return 4097 + below(65536 - 4096);
	if (r < 70)
		return 1 + below(arena_size);
	if (r < 75)
		return 0;
	if (r < 85) {
		static const uint32_t huge[] = {
			4 << 20, (4 << 20) + 1, 16 << 20, 0x7fffffff,
			0x80000000, 0xfffff000, 0xffffffff, (4 << 20) - 1,
		};
		return huge[below(8)];
	}
	return (uint32_t)rnd();
}

/*
 * A host address for a transfer of @size bytes; *in_arena tells whether
 * the whole range is inside the arena of the host buffer.
 */
static uint64_t rnd_addr(uint32_t size, int *in_arena)
{
	uint32_t r = below(100);

	*in_arena = 0;
	if (r < 60 && size && size <= arena_size) {
		*in_arena = 1;
		return arena + below(arena_size - size + 1);
	}
	if (r < 70)	/* just before or after the buffer, not overlapping it */
		return below(2) && hbuf > size + 65536ULL ?
		       hbuf - size - below(65536) : hbuf + hsize + below(65536);
	if (r < 78)	/* anywhere in 1 GiB of host RAM */
		return below(1ULL << 30);
	if (r < 90) {	/* outside host RAM */
		static const uint64_t out[] = {
			0xc0000000, 0xd0000000, 0x100000000ULL,
			1ULL << 40, 1ULL << 63, 0xfffffffffffff000ULL,
			0xffffffffffffff00ULL, 0xa0000,
		};
		return out[below(8)] + below(4096);
	}
	return rnd();
}

static const uint32_t known[] = {
	C_RAISE_INTX, C_RAISE_MSI, C_RAISE_MSI, C_RAISE_MSI, C_RAISE_MSIX,
	C_READ, C_READ, C_READ, C_WRITE, C_WRITE, C_WRITE, C_COPY, C_COPY,
	C_COPY, C_ENABLE_DB, C_ENABLE_DB, C_DISABLE_DB, C_DISABLE_DB,
	C_SUB_SETUP, C_SUB_CLEAR,
};

/* The success bits a command may report */
static uint32_t ok_bits(uint32_t cmd)
{
	switch (cmd) {
	case C_READ: return S_READ_OK;
	case C_WRITE: return S_WRITE_OK;
	case C_COPY: return S_COPY_OK;
	case C_ENABLE_DB: return S_DB_ENABLE_OK;
	case C_DISABLE_DB: return S_DB_DISABLE_OK;
	case C_SUB_SETUP: return S_SUB_SETUP_OK;
	case C_SUB_CLEAR: return S_SUB_CLEAR_OK;
	default: return 0;
	}
}

static void fail(const char *cause, const char *fmt, uint32_t a, uint32_t b)
{
	printf("# command %lu: ", st.commands);
	printf(fmt, a, b);
	printf(" (%s)\n", cause);
	fflush(stdout);
}

/* wait_status() on BAR0, with an interrupt of irqname if @want_irq */
static int wait_done(uint32_t mask, int want_irq, unsigned long long c0,
		     uint32_t *status)
{
	return wait_status(fd_bar[0], mask, want_irq ? irqname : NULL, c0, 1000,
			   status);
}

static int ring(void)
{
	unsigned long long c0;
	uint32_t s;
	int r;

	wr(0, R_STATUS, 0);
	c0 = irq_count(irqname);
	wr(db_bar, db_off, db_data);
	st.rings++;
	/* DOORBELL_SUCCESS, or NO_RESOURCE if IRQ_TYPE/IRQ_NUMBER are bad */
	r = wait_done(S_IRQ_RAISED, cur_irq_type != 0, c0, &s);
	if (!r && !(s & (S_DB_OK | S_NO_RESOURCE)))
		r = 3;
	if (verbose)
		fprintf(stderr, "# doorbell BAR%u+%#x data %#x: %d, STATUS %#x\n",
			db_bar, db_off, db_data, r, s);
	if (r) {
		st.ring_tmo++;
		fail(r == 1 ? "never-completed" : r == 2 ? "no-irq" : "bad-status",
		     "doorbell not signalled, STATUS %#x%.0u", s, 0);
		return 1;
	}
	return 0;
}

/* Is the interrupt IRQ_TYPE/IRQ_NUMBER designate one the host enabled? */
static int irq_valid(void)
{
	return cur_irq_type == 0 ||
	       (cur_irq_type == 1 && cur_irq_number >= 1 && cur_irq_number <= nvec);
}

/*
 * Track the doorbell.  With an invalid interrupt the status does not tell
 * what happened (the endpoint reports a failure, whether or not the
 * command took effect).
 */
static void doorbell_state(uint32_t cmd, uint32_t s)
{
	if (!irq_valid()) {
		db_on = DB_UNKNOWN;
	} else if (cmd == C_ENABLE_DB && (s & S_DB_ENABLE_OK)) {
		db_bar = rd(0, R_DB_BAR);
		db_off = rd(0, R_DB_OFFSET);
		db_data = rd(0, R_DB_DATA);
		db_on = db_bar < 6 && !(db_off & 3) ? DB_ON : DB_UNKNOWN;
	} else if (cmd == C_DISABLE_DB) {
		/* done, or refused: none enabled, or its BAR not restored */
		db_on = DB_OFF;
	}
	/* a refused ENABLE_DOORBELL changes nothing */
}

/* One command; returns 1 if it failed a check */
static int command(void)
{
	uint32_t cmd, r = below(100), size = 0, s, v, bad = 0;
	uint64_t src = 0, dst = 0;
	int src_in = 0, dst_in = 0, res, is_xfer;
	unsigned long long c0;
	static uint8_t before[ARENA_MAX];

	if (r < 80)
		cmd = known[below(ARRAY_SIZE(known))];
	else if (r < 90)
		cmd = (uint32_t)rnd() & C_KNOWN;
	else
		cmd = (uint32_t)rnd();
	if (!cmd)
		cmd = C_RAISE_MSI;
	is_xfer = cmd == C_READ || cmd == C_WRITE || cmd == C_COPY;

	/* irq_type, irq_number, flags: each written with probability 90% */
	r = below(100);
	if (below(10)) {
		v = r < 70 ? 1 : r < 80 ? 0 : r < 90 ? 2 : rnd_value();
		wr(0, R_IRQ_TYPE, v);
	}
	r = below(100);
	if (below(10)) {
		v = r < 70 ? 1 + below(nvec) : r < 80 ? 0 :
		    r < 90 ? nvec + 1 + below(32) : rnd_value();
		wr(0, R_IRQ_NUMBER, v);
	}
	r = below(100);
	if (below(10))
		wr(0, R_FLAGS, r < 70 ? 0 : r < 85 ? 1 : rnd_value());

	if (cmd & (C_READ | C_WRITE | C_COPY)) {
		size = rnd_size();
		src = rnd_addr(size, &src_in);
		dst = rnd_addr(size, &dst_in);
		wr(0, R_SIZE, size);
		wr64(R_SRC_LO, src);
		wr64(R_DST_LO, dst);
		if (below(2))
			wr(0, R_CHECKSUM, (uint32_t)rnd());
	} else if (cmd & (C_SUB_SETUP | C_SUB_CLEAR)) {
		r = below(100);
		wr(0, R_SIZE, r < 60 ? below(6) : r < 80 ? 6 + below(2) :
			      rnd_value());
	}
	if ((cmd & C_DISABLE_DB) && below(5) == 0)	/* tampered doorbell_bar */
		wr(0, R_DB_BAR, below(2) ? below(8) : rnd_value());

	/* The source of a COPY inside the arena, to check the destination */
	if (cmd == C_COPY && src_in && dst_in &&
	    (src + size <= dst || dst + size <= src))
		dma_rw(0, src - hbuf, before, size);
	else
		src_in = 0;

	if (verbose)
		fprintf(stderr, "# cmd %lu: %#x irq_type %#x size %#x src %#llx dst %#llx\n",
			st.commands, cmd, cur_irq_type, size,
			(unsigned long long)src, (unsigned long long)dst);

	wr(0, R_STATUS, 0);
	c0 = irq_count(irqname);
	wr(0, R_COMMAND, cmd);
	st.commands++;
	res = wait_done(S_IRQ_RAISED, cur_irq_type != 0, c0, &s);
	if (verbose)
		fprintf(stderr, "# -> %d, STATUS %#x\n", res, s);
	if (res == 1) {
		st.timedout++;
		fail("never-completed", "%#x: no IRQ_RAISED, STATUS %#x", cmd, s);
		return 1;
	}
	if (res == 2) {
		st.noirq++;
		fail("no-irq", "%#x: IRQ_RAISED without an interrupt, STATUS %#x",
		     cmd, s);
		return 1;
	}
	st.completed++;
	if (s & S_FAIL_ANY)
		st.failed++;
	if (s & S_OK_ANY & ~ok_bits(cmd)) {
		st.badstatus++;
		fail("bad-status", "%#x: success bit of another command, STATUS %#x",
		     cmd, s);
		bad = 1;
	}

	if (cmd == C_ENABLE_DB || cmd == C_DISABLE_DB)
		doorbell_state(cmd, s);

	if (!guards_intact()) {
		st.guard++;
		fail("guard", "%#x: guard bytes of the host buffer overwritten%.0u",
		     cmd, 0);
		fill_guards();
		bad = 1;
	}
	if (is_xfer && dst_in && (s & (S_WRITE_OK | S_COPY_OK))) {
		static uint8_t after[ARENA_MAX];

		dma_rw(0, dst - hbuf, after, size);
		if ((cmd == C_WRITE &&
		     crc32_le(~0u, after, size) != rd(0, R_CHECKSUM)) ||
		    (cmd == C_COPY && src_in && memcmp(before, after, size))) {
			st.data++;
			fail("data", "%#x: data in the host buffer wrong, size %#x",
			     cmd, size);
			bad = 1;
		}
	}
	return bad;
}

/* Random writes to registers and BARs; never COMMAND */
static void noise(void)
{
	uint32_t n = 1 + below(4), off, bar;

	while (n--) {
		if (below(6)) {
			off = below(5) ? below(0x80) & ~3u : below(0x1000) & ~3u;
			if (off == R_COMMAND)
				off = R_STATUS;
			bar = 0;
		} else {
			bar = 1 + below(5);
			off = below(0x20000) & ~3u;
			if (db_on != DB_OFF)
				continue;
		}
		wr(bar, off, rnd_value());
		if (verbose)
			fprintf(stderr, "# write BAR%u+%#x\n", bar, off);
	}
}

static sig_atomic_t kmsg_stop;

static void on_signal(int sig)
{
	(void)sig;
	kmsg_stop = 1;
}

static int kmsg_count(void)
{
	unsigned long records = 0, warn = 0, epf = 0, alloc = 0;
	static char rec[8192];
	struct sigaction sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: read() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fd = open("/dev/kmsg", O_RDONLY);
	if (fd < 0)
		die("/dev/kmsg");
	lseek(fd, 0, SEEK_END);
	printf("# kmsg: counting\n");
	fflush(stdout);
	while (!kmsg_stop) {	/* read() returns EINTR on the signal */
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		char *msg;

		if (n < 0) {
			if (errno == EPIPE)	/* overwritten before read */
				continue;
			if (errno == EINTR)
				continue;
			die("/dev/kmsg");
		}
		rec[n] = 0;
		records++;
		if ((atoi(rec) & 7) > 4)
			continue;
		warn++;
		msg = strchr(rec, ';');
		if (!msg || !strstr(msg, "pci_epf_test"))
			continue;
		if (strstr(msg, "Can't find MSI domain for EPC"))
			alloc++;
		else
			epf++;
	}
	printf("kmsg: records %lu warn-or-worse %lu epf %lu doorbell-alloc %lu\n",
	       records, warn, epf, alloc);
	return 0;
}

static int bad_usage(void)
{
	fprintf(stderr,
		"usage: epfuzz [-v] [-x] [-s SEED] [-n CMDS] [-t MS] [-m NVEC] DIR IRQ\n"
		"       epfuzz -k\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long long seed, count = 1000, dropped = 0;
	int opt, fd, consecutive = 0, failed = 0;
	char buf[128];
	const char *dir;
	ssize_t n;

	while ((opt = tool_getopt(argc, argv, "vxks:n:t:m:")) != -1) {
		switch (opt) {
		case 'x':
			stop_first = 1;
			break;
		case 'k':
			return kmsg_count();
		case 'n':
			count = strtoull(optarg, NULL, 0);
			break;
		case 'm':
			nvec = strtoul(optarg, NULL, 0);
			break;
		default:
			return bad_usage();
		}
	}
	if (argc - optind != 2)
		return bad_usage();
	dir = argv[optind];
	irqname = argv[optind + 1];
	seed = rng;
	setvbuf(stdout, NULL, _IOLBF, 0);

	open_bars(dir, fd_bar);
	fd_dma = open_in(dir, "host-dma", O_RDWR);
	fd = open_in(dir, "host-dma-addr", O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		die("host-dma-addr");
	buf[n] = 0;
	if (sscanf(buf, "%llx %llx", (unsigned long long *)&hbuf,
		   (unsigned long long *)&hsize) != 2 || hsize <= 2 * GUARD ||
	    hsize - 2 * GUARD > ARENA_MAX) {
		fprintf(stderr, "epfuzz: bad host-dma-addr '%s'\n", buf);
		return 2;
	}
	arena = hbuf + GUARD;
	arena_size = hsize - 2 * GUARD;

	/* Confinement on, and it must be on: random addresses rely on it */
	fd = open_in(dir, "host-dma-confine", O_RDWR);
	if (write(fd, "Y\n", 2) != 2 || pread(fd, buf, 2, 0) != 2 || buf[0] != 'Y') {
		fprintf(stderr, "epfuzz: cannot turn host-dma-confine on\n");
		return 2;
	}
	close(fd);
	fill_guards();
	cur_irq_type = rd(0, R_IRQ_TYPE);
	cur_irq_number = rd(0, R_IRQ_NUMBER);

	printf("# epfuzz: seed %llu, %llu commands, timeout %u ms, ",
	       seed, count, tmo_ms);
	printf("host buffer %#llx+%#llx, guards %u\n",
	       (unsigned long long)hbuf, (unsigned long long)hsize, GUARD);

	while (st.commands < count) {
		uint32_t r = below(100);
		int bad = 0, hung;

		if (r < 25) {
			noise();
			continue;
		}
		if (r < 30) {
			if (db_on == DB_ON)
				bad = ring();
			hung = bad && st.ring_tmo;
		} else {
			unsigned long t0 = st.timedout;

			bad = command();
			hung = st.timedout > t0;
		}
		consecutive = hung ? consecutive + 1 : 0;
		failed |= bad;
		if (bad && stop_first)
			break;
		if (consecutive >= 5) {
			printf("# command %lu: 5 in a row never completed, ",
			       st.commands);
			printf("the endpoint is stuck (hang)\n");
			break;
		}
	}
	if (!guards_intact()) {
		st.guard++;
		failed = 1;
	}

	fd = open_in(dir, "host-dma-dropped", O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		dropped = strtoull(buf, NULL, 10);
	}
	printf("epfuzz: seed %llu commands %lu completed %lu failed-with-status %lu",
	       seed, st.commands, st.completed, st.failed);
	printf(" timed-out %lu no-irq %lu bad-status %lu guard %lu data %lu",
	       st.timedout, st.noirq, st.badstatus, st.guard, st.data);
	printf(" rings %lu ring-timeouts %lu dropped %llu\n", st.rings,
	       st.ring_tmo, dropped);
	return failed || consecutive >= 5;
}
