// SPDX-License-Identifier: GPL-2.0
/*
 * eplife - life cycle soak of a pci-epf-test compatible endpoint function
 * on the UML loopback controller, with the stock host driver
 * pci_endpoint_test on the host side.  Run by scenario epf-lifecycle.
 *
 *   eplife [-v] [-s SEED] [-t MS] [-r ROUND] bind N EPF CTL...
 *   eplife [-v] [-s SEED] [-t MS] doorbell N CTL DEV
 *   eplife [-v] [-s SEED] [-t MS] relink N CTL DEV
 *
 * CTL is a loopback controller: its configfs group
 * /sys/kernel/config/pci_ep/controllers/CTL and its bus exerciser
 * /sys/kernel/debug/pci-loopback-ep/CTL (host-bar0..5, host-dma-addr; see
 * Documentation/PCI/endpoint/uml-loopback.rst).  DEV is the host device of
 * the function bound to CTL, pci-endpoint-test.N (its /dev node, and the
 * name of its interrupts in /proc/interrupts).
 *
 * bind: N bind/unbind cycles of function driver EPF, round robin over the
 * controllers: the function life<i> (configfs, the IDs pci_endpoint_test
 * binds to, 4 MSI and MSI-X vectors) is linked to the controller, the
 * controller started, the host driver must probe (a new pci-endpoint-test
 * device within 5 s) and answer PCITEST_MSI with the function's interrupt;
 * then, by the cycle's round on its controller (round r = ROUND + i / #CTL;
 * -r ROUND, default 0, continues the rounds of an earlier run):
 *   r % 4 == 0  nothing more;
 *   r % 4 == 1  ENABLE_DOORBELL through the exerciser, must succeed; rung
 *               (DOORBELL_SUCCESS) in every other such round; left enabled;
 *   r % 4 == 2  a READ, WRITE or COPY (seeded: size 4 KiB .. 256 KiB inside
 *               the exerciser's host buffer, DMA or not) written to COMMAND
 *               and not waited for;
 *   r % 4 == 3  ENABLE_DOORBELL written to COMMAND and not waited for;
 * after 0..15 ms (seeded) the controller is stopped, and the function
 * unlinked either after the host device went ((r / 4) % 2 == 0) or at once
 * (the link work may still be removing it); in every other pair of rounds
 * ((r / 2) % 2 == 1) the function is also removed (rmdir) and made again
 * next time.  The host device must be gone within 5 s.  Other
 * pci-endpoint-test devices present when eplife starts are left alone.
 *
 * doorbell: N ENABLE/DISABLE_DOORBELL cycles on the function bound to CTL:
 * cycle j % 4 == 0 through the host driver (PCITEST_DOORBELL: enable, ring,
 * disable), the others through the exerciser with MSI vector 1: enable and
 * disable (j % 4 == 1), rung once (2) or twice (3) in between.  Every
 * command must complete (STATUS bits and an interrupt of DEV) within MS
 * (default 2000), every ring must report DOORBELL_SUCCESS, and after the
 * disable a doorbell BAR that the function retargeted must be memory again.
 *
 * relink: N controller stop/start cycles (link down, host device removed,
 * link up, host driver probes again) while a child process keeps issuing
 * commands through the exerciser (RAISE_MSI, READ/WRITE/COPY in the host
 * buffer, ENABLE/DISABLE_DOORBELL, rings; results not checked: the link
 * goes away under them).  Then the function must still work: an exerciser
 * doorbell cycle with a ring and PCITEST_MSI on the new host device, whose
 * name is printed ("dev NAME").
 *
 * Output: one "# " line per failure, naming the cycle and the cause in
 * parentheses (setup, probe, no-irq, never-completed, enable-failed,
 * ring-failed, disable-failed, still-mapped, host-dev-left, broken), and a
 * summary line:
 *   eplife: bind cycles N plain P doorbell-left D inflight-xfer X
 *     inflight-enable E rung R unlinked-at-once U removed M failed F
 *   eplife: doorbell cycles N host-driver H exerciser E rung R failed F
 *   eplife: relink cycles N commands C failed F dev NAME
 * (each on one line).  Exit 0 if nothing failed, 1 otherwise, 2 on errors.
 * -v prints every step on stderr; -s seeds the generator (default 1).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/pcitest.h>

#define EPTOOL "eplife"
#include "eptool.h"

#define CFS		"/sys/kernel/config/pci_ep"
#define DBG		"/sys/kernel/debug/pci-loopback-ep"

#define MAX_CTL		8
#define NAMELEN		128

static unsigned long failures;
static unsigned long first_round;

/* The function behind one controller, as the host sees it */
struct ep {
	const char *ctl;
	char fn[NAMELEN];	/* configfs function directory */
	char link[NAMELEN];	/* its link in the controller's group */
	int fd_bar[6];
	uint64_t hbuf, hsize;	/* the exerciser's host buffer */
	char dev[NAMELEN];	/* pci-endpoint-test.N, "" without one */
	int exists;		/* the function directory exists */
	unsigned long round;
};

static void step(const char *fmt, const char *a, unsigned long n)
{
	if (!verbose)
		return;
	fprintf(stderr, "eplife: ");
	fprintf(stderr, fmt, a, n);
	fputc('\n', stderr);
}

/* One failure line: "# CTL cycle N: WHAT (CAUSE)" */
static void fail(const struct ep *ep, const char *what, unsigned long n,
		 const char *cause)
{
	failures++;
	printf("# %s cycle %lu: %s (%s)\n", ep->ctl, n, what, cause);
	fflush(stdout);
}

/* Write a configfs (or sysfs) attribute; 0 on success */
static int put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static uint32_t rd(struct ep *ep, int bar, uint32_t off)
{
	return bar_read(ep->fd_bar[bar], off);
}

static void wr(struct ep *ep, int bar, uint32_t off, uint32_t v)
{
	bar_write(ep->fd_bar[bar], off, v);
}

static void wr64(struct ep *ep, uint32_t lo, uint64_t v)
{
	wr(ep, 0, lo, (uint32_t)v);
	wr(ep, 0, lo + 4, (uint32_t)(v >> 32));
}

/* Open the exerciser of ep->ctl */
static void ep_open(struct ep *ep, const char *ctl)
{
	char dir[NAMELEN * 2], path[NAMELEN * 3];
	unsigned long long a, s;
	FILE *f;

	memset(ep, 0, sizeof(*ep));
	ep->ctl = ctl;
	snprintf(dir, sizeof(dir), DBG "/%s", ctl);
	open_bars(dir, ep->fd_bar);
	snprintf(path, sizeof(path), "%s/host-dma-addr", dir);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%llx %llx", &a, &s) != 2)
		die(path);
	fclose(f);
	ep->hbuf = a;
	ep->hsize = s;
}

/* wait_status() with an interrupt of the host device */
static int wait_done(struct ep *ep, uint32_t mask, unsigned long long c0,
		     uint32_t *status)
{
	/* every 2 ms: the function polls every jiffy (10 ms) */
	return wait_status(ep->fd_bar[0], mask, ep->dev, c0, 2000, status);
}

/* Issue @cmd with MSI vector 1, STATUS cleared; not waited for */
static void issue(struct ep *ep, uint32_t cmd)
{
	wr(ep, 0, R_IRQ_TYPE, 1);
	wr(ep, 0, R_IRQ_NUMBER, 1);
	wr(ep, 0, R_STATUS, 0);
	wr(ep, 0, R_COMMAND, cmd);
}

/* Issue @cmd and wait for it; the wait_done() result */
static int command(struct ep *ep, uint32_t cmd, uint32_t *status)
{
	unsigned long long c0 = irq_count(ep->dev);

	issue(ep, cmd);
	return wait_done(ep, S_IRQ_RAISED, c0, status);
}

static const char *const wait_cause[] = { "", "never-completed", "no-irq" };

/*
 * Issue @cmd and wait for it to complete with status bit @ok; 0 if it did,
 * else a failure of cycle @n, @what, caused as the wait says or by @cause
 */
static int command_ok(struct ep *ep, uint32_t cmd, uint32_t ok,
		      unsigned long n, const char *what, const char *cause)
{
	uint32_t s;
	int k = command(ep, cmd, &s);

	if (!k && (s & ok))
		return 0;
	fail(ep, what, n, k ? wait_cause[k] : cause);
	return -1;
}

/* Ring the enabled doorbell; 0 if DOORBELL_SUCCESS and an interrupt came */
static int ring_db(struct ep *ep, unsigned long n)
{
	uint32_t bar = rd(ep, 0, R_DB_BAR), off = rd(ep, 0, R_DB_OFFSET);
	unsigned long long c0;
	uint32_t s;
	int r;

	if (bar > 5) {
		fail(ep, "doorbell BAR out of range", n, "enable-failed");
		return -1;
	}
	c0 = irq_count(ep->dev);
	wr(ep, 0, R_STATUS, 0);
	wr(ep, bar, off, rd(ep, 0, R_DB_DATA));
	r = wait_done(ep, S_DB_OK | S_IRQ_RAISED, c0, &s);
	if (r) {
		fail(ep, "ring: no DOORBELL_SUCCESS with an interrupt", n,
		     "ring-failed");
		return -1;
	}
	return 0;
}

/* A word written to BAR @bar at 0x800 reads back: the BAR is memory */
static int bar_is_memory(struct ep *ep, uint32_t bar)
{
	uint32_t v;

	wr(ep, bar, 0x800, 0x5aa5c33c);
	v = rd(ep, bar, 0x800);
	wr(ep, bar, 0x800, 0);
	return v == 0x5aa5c33c;
}

static int open_dev(const char *dev)
{
	char path[NAMELEN * 2];

	snprintf(path, sizeof(path), "/dev/%s", dev);
	return open(path, O_RDWR);
}

/* MSI on the host device, and PCITEST_MSI 1 answered; 0 on success */
static int host_works(const char *dev)
{
	int fd = open_dev(dev), ret = -1;

	if (fd < 0)
		return -1;
	if (ioctl(fd, PCITEST_SET_IRQTYPE, 1) >= 0 &&
	    ioctl(fd, PCITEST_MSI, 1) >= 0)
		ret = 0;
	close(fd);
	return ret;
}

/* The pci-endpoint-test devices of /dev, in @out (blank-separated) */
static void host_devs(char *out, size_t len)
{
	struct dirent *d;
	DIR *dir = opendir("/dev");

	if (!dir)
		die("/dev");
	out[0] = 0;
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, "pci-endpoint-test.", 18))
			continue;
		if (strlen(out) + strlen(d->d_name) + 2 < len) {
			strcat(out, " ");
			strcat(out, d->d_name);
			strcat(out, " ");
		}
	}
	closedir(dir);
}

static char others[4096];	/* host devices eplife leaves alone */

/* Blank @dev out of others */
static void others_forget(const char *dev)
{
	char key[NAMELEN + 2], *p;

	snprintf(key, sizeof(key), " %s ", dev);
	p = strstr(others, key);
	if (p)
		memset(p + 1, ' ', strlen(dev));
}

/*
 * Wait up to 5 s for a host device not in others; 0 and ep->dev if found,
 * else a failure of cycle @n, @what
 */
static int wait_new_dev(struct ep *ep, unsigned long n, const char *what)
{
	long long end = now_ms() + 5000;
	char now[4096], *p, *q;

	for (;;) {
		host_devs(now, sizeof(now));
		for (p = strtok_r(now, " ", &q); p; p = strtok_r(NULL, " ", &q)) {
			char key[NAMELEN + 2];

			snprintf(key, sizeof(key), " %s ", p);
			if (!strstr(others, key)) {
				snprintf(ep->dev, sizeof(ep->dev), "%s", p);
				return 0;
			}
		}
		if (now_ms() >= end)
			break;
		usleep(10000);
	}
	fail(ep, what, n, "probe");
	return -1;
}

/* Wait up to 5 s until ep->dev is gone; 0 if it is, else a failure of cycle @n, @what */
static int wait_dev_gone(struct ep *ep, unsigned long n, const char *what)
{
	long long end = now_ms() + 5000;
	char path[NAMELEN * 2];

	snprintf(path, sizeof(path), "/dev/%s", ep->dev);
	while (access(path, F_OK) == 0) {
		if (now_ms() >= end) {
			fail(ep, what, n, "host-dev-left");
			return -1;
		}
		usleep(10000);
	}
	ep->dev[0] = 0;
	return 0;
}

/* Start (@on) or stop the controller of @ep; 0, or a failure of cycle @n */
static int start_ctl(const struct ep *ep, int on, unsigned long n)
{
	char path[NAMELEN * 2];

	snprintf(path, sizeof(path), CFS "/controllers/%s/start", ep->ctl);
	if (!put(path, on ? "1" : "0"))
		return 0;
	fail(ep, on ? "controller start refused" : "controller stop refused", n,
	     "setup");
	return -1;
}

/* Create (if needed) and link the function of @ep, start the controller */
static int bring_up(struct ep *ep, const char *epf, int idx, unsigned long n)
{
	static const char *const attrs[][2] = {
		{ "vendorid", "0x104c" }, { "deviceid", "0xb500" },
		{ "msi_interrupts", "4" }, { "msix_interrupts", "4" },
	};
	char path[NAMELEN * 2];
	size_t i;

	snprintf(ep->fn, sizeof(ep->fn), CFS "/functions/%s/life%d", epf, idx);
	snprintf(ep->link, sizeof(ep->link), CFS "/controllers/%s/life%d",
		 ep->ctl, idx);
	if (!ep->exists) {
		if (mkdir(ep->fn, 0755)) {
			fail(ep, "mkdir of the function", n, "setup");
			return -1;
		}
		ep->exists = 1;
		for (i = 0; i < ARRAY_SIZE(attrs); i++) {
			snprintf(path, sizeof(path), "%s/%s", ep->fn, attrs[i][0]);
			if (put(path, attrs[i][1])) {
				fail(ep, "configfs attribute refused", n, "setup");
				return -1;
			}
		}
	}
	if (symlink(ep->fn, ep->link)) {
		fail(ep, "link to the controller refused", n, "setup");
		return -1;
	}
	if (start_ctl(ep, 1, n) ||
	    wait_new_dev(ep, n, "no host device within 5 s"))
		return -1;
	step("%s: host device up", ep->dev, n);
	return 0;
}

/* Stop the controller, unlink (now or once the host device went), rmdir */
static int tear_down(struct ep *ep, int at_once, int remove, unsigned long n)
{
	int ret = 0;

	if (start_ctl(ep, 0, n))
		ret = -1;
	if (!at_once && ep->dev[0] &&
	    wait_dev_gone(ep, n, "host device still there 5 s after stop"))
		ret = -1;
	if (unlink(ep->link)) {
		fail(ep, "unlink from the controller refused", n, "setup");
		ret = -1;
	}
	if (at_once && ep->dev[0] &&
	    wait_dev_gone(ep, n, "host device still there 5 s after stop and unlink"))
		ret = -1;
	if (remove && ep->exists) {
		if (rmdir(ep->fn)) {
			fail(ep, "rmdir of the function refused", n, "setup");
			ret = -1;
		}
		ep->exists = 0;
	}
	ep->dev[0] = 0;
	return ret;
}

/*
 * Set up a READ, WRITE or COPY inside the host buffer (COPY: from its first
 * half to its second), 4 KiB or more; returns the command.
 */
static uint32_t setup_xfer(struct ep *ep)
{
	static const uint32_t ops[] = { C_READ, C_WRITE, C_COPY };
	uint32_t cmd = ops[below(3)];
	uint64_t max = cmd == C_COPY ? ep->hsize / 2 : ep->hsize;

	wr(ep, 0, R_IRQ_TYPE, 1);
	wr(ep, 0, R_IRQ_NUMBER, 1);
	wr(ep, 0, R_FLAGS, below(2));	/* FLAG_USE_DMA or not */
	wr64(ep, R_SRC_LO, ep->hbuf);
	wr64(ep, R_DST_LO, ep->hbuf + (cmd == C_COPY ? ep->hsize / 2 : 0));
	wr(ep, 0, R_SIZE, 4096 + below(max - 4096 + 1));
	wr(ep, 0, R_STATUS, 0);
	return cmd;
}

static int do_bind(unsigned long n, const char *epf, int nctl, char **ctls)
{
	unsigned long plain = 0, left = 0, xfer = 0, inflight_en = 0, rung = 0;
	unsigned long at_once_n = 0, removed = 0, i;
	static struct ep eps[MAX_CTL];
	int c;

	if (nctl > MAX_CTL)
		return 2;
	for (c = 0; c < nctl; c++) {
		ep_open(&eps[c], ctls[c]);
		eps[c].round = first_round;
	}
	host_devs(others, sizeof(others));

	for (i = 0; i < n; i++) {
		struct ep *ep = &eps[i % nctl];
		unsigned long r = ep->round++;
		int at_once = (r / 4) % 2, remove = (r / 2) % 2;
		uint32_t s;

		if (bring_up(ep, epf, i % nctl, i)) {
			if (ep->exists)
				tear_down(ep, 0, 1, i);
			continue;
		}
		if (host_works(ep->dev))
			fail(ep, "PCITEST_MSI through the host driver failed", i,
			     "no-irq");
		switch (r % 4) {
		case 0:
			plain++;
			break;
		case 1:
			left++;
			if (command(ep, C_ENABLE_DB, &s) ||
			    !(s & S_DB_ENABLE_OK)) {
				fail(ep, "ENABLE_DOORBELL before unbind", i,
				     "enable-failed");
				break;
			}
			if ((r / 4) % 2 == 0 && !ring_db(ep, i))
				rung++;
			break;
		case 2:
			xfer++;
			wr(ep, 0, R_COMMAND, setup_xfer(ep));
			break;
		case 3:
			inflight_en++;
			issue(ep, C_ENABLE_DB);
			break;
		}
		if (r % 4 >= 2)
			usleep(1000 * below(16));
		at_once_n += at_once;
		removed += remove;
		step("%s: tearing down, cycle %lu", ep->ctl, i);
		tear_down(ep, at_once, remove, i);
	}
	for (c = 0; c < nctl; c++)
		if (eps[c].exists && rmdir(eps[c].fn))
			fail(&eps[c], "rmdir of the function refused", n, "setup");
	printf("eplife: bind cycles %lu plain %lu doorbell-left %lu ", n, plain,
	       left);
	printf("inflight-xfer %lu inflight-enable %lu rung %lu ", xfer,
	       inflight_en, rung);
	printf("unlinked-at-once %lu removed %lu failed %lu\n", at_once_n,
	       removed, failures);
	return failures ? 1 : 0;
}

static int do_doorbell(unsigned long n, const char *ctl, const char *dev)
{
	unsigned long host = 0, exer = 0, rung = 0, j;
	int mem_checked = 0, mem_bar = -1, fd;
	struct ep ep;

	ep_open(&ep, ctl);
	snprintf(ep.dev, sizeof(ep.dev), "%s", dev);
	fd = open_dev(dev);
	if (fd < 0 || ioctl(fd, PCITEST_SET_IRQTYPE, 1) < 0)
		die(dev);

	for (j = 0; j < n; j++) {
		uint32_t bar;
		int k;

		if (j % 4 == 0) {
			host++;
			rung++;
			if (ioctl(fd, PCITEST_DOORBELL, 0) < 0)
				fail(&ep, "PCITEST_DOORBELL failed", j,
				     "ring-failed");
			continue;
		}
		exer++;
		if (command_ok(&ep, C_ENABLE_DB, S_DB_ENABLE_OK, j,
			       "ENABLE_DOORBELL", "enable-failed"))
			continue;
		bar = rd(&ep, 0, R_DB_BAR);
		for (k = 1; k < (int)(j % 4); k++)
			if (!ring_db(&ep, j))
				rung++;
		if (command_ok(&ep, C_DISABLE_DB, S_DB_DISABLE_OK, j,
			       "DISABLE_DOORBELL", "disable-failed"))
			continue;
		/*
		 * A BAR retargeted to the doorbell is memory again; one that
		 * exposes it (embedded-bar) is never memory: learnt from the
		 * first cycle, then checked on every one.
		 */
		if (bar > 5)
			continue;
		if (!mem_checked) {
			mem_checked = 1;
			mem_bar = bar_is_memory(&ep, bar) ? (int)bar : -1;
		} else if (mem_bar == (int)bar && !bar_is_memory(&ep, bar)) {
			fail(&ep, "doorbell BAR not memory after DISABLE", j,
			     "still-mapped");
		}
	}
	close(fd);
	printf("eplife: doorbell cycles %lu host-driver %lu exerciser %lu rung %lu failed %lu\n",
	       n, host, exer, rung, failures);
	return failures ? 1 : 0;
}

/* The commands of the relink child, until killed; never checked */
static void relink_child(struct ep *ep)
{
	static const uint32_t cmds[] = {
		C_RAISE_MSI, C_READ, C_WRITE, C_COPY, C_ENABLE_DB,
		C_DISABLE_DB, 0,
	};
	unsigned long done = 0;

	for (;;) {
		uint32_t cmd = cmds[below(7)], s;
		long long end;

		if (cmd == C_READ || cmd == C_WRITE || cmd == C_COPY) {
			setup_xfer(ep);
		} else if (!cmd) {	/* ring whatever doorbell there is */
			uint32_t bar = rd(ep, 0, R_DB_BAR);

			if (bar <= 5)
				wr(ep, bar, rd(ep, 0, R_DB_OFFSET),
				   rd(ep, 0, R_DB_DATA));
			continue;
		}
		issue(ep, cmd);
		for (end = now_ms() + 200; now_ms() < end;) {
			s = rd(ep, 0, R_STATUS);
			if (s != 0xffffffff && (s & S_IRQ_RAISED))
				break;
			usleep(1000);
		}
		if (verbose && !(++done % 100))
			fprintf(stderr, "eplife: relink child: %lu commands\n", done);
	}
}

static int do_relink(unsigned long n, const char *ctl, const char *dev)
{
	unsigned long j;
	struct ep ep;
	pid_t pid;
	uint32_t s;
	int k;

	ep_open(&ep, ctl);
	snprintf(ep.dev, sizeof(ep.dev), "%s", dev);
	/* The host devices present but this function's are not its own */
	host_devs(others, sizeof(others));
	others_forget(dev);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		rng ^= 0x5bd1e995;
		relink_child(&ep);
	}
	for (j = 0; j < n; j++) {
		usleep(1000 * below(30));
		if (start_ctl(&ep, 0, j) ||
		    wait_dev_gone(&ep, j, "host device still there 5 s after stop") ||
		    start_ctl(&ep, 1, j) ||
		    wait_new_dev(&ep, j, "no host device within 5 s of start"))
			break;
		if (host_works(ep.dev))
			fail(&ep, "PCITEST_MSI after link up", j, "no-irq");
		step("%s: link down and up again", ep.dev, j);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	usleep(300000);	/* the child's last command ends */

	/* Still working: a doorbell the child left is disabled first */
	if (!ep.dev[0]) {
		fail(&ep, "no host device after the relinks", n, "broken");
	} else {
		if (host_works(ep.dev))
			fail(&ep, "PCITEST_MSI after the relinks", n, "broken");
		command(&ep, C_DISABLE_DB, &s);
		k = command(&ep, C_ENABLE_DB, &s);
		if (k || !(s & S_DB_ENABLE_OK))
			fail(&ep, "ENABLE_DOORBELL after the relinks", n, "broken");
		else if (ring_db(&ep, n))
			fail(&ep, "ring after the relinks", n, "broken");
		k = command(&ep, C_DISABLE_DB, &s);
		if (k || !(s & S_DB_DISABLE_OK))
			fail(&ep, "DISABLE_DOORBELL after the relinks", n, "broken");
	}
	printf("eplife: relink cycles %lu failed %lu dev %s\n", j, failures,
	       ep.dev[0] ? ep.dev : "none");
	return failures ? 1 : 0;
}

static int bad_args(void)
{
	fprintf(stderr,
		"usage: eplife [-v] [-s SEED] [-t MS] [-r ROUND] bind N EPF CTL...\n"
		"       eplife [-v] [-s SEED] [-t MS] doorbell N CTL DEV\n"
		"       eplife [-v] [-s SEED] [-t MS] relink N CTL DEV\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long n;
	int opt;

	while ((opt = tool_getopt(argc, argv, "vs:t:r:")) != -1) {
		switch (opt) {
		case 'r':
			first_round = strtoul(optarg, NULL, 0);
			break;
		default:
			return bad_args();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 4)
		return bad_args();
	n = strtoul(argv[1], NULL, 0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[0], "bind"))
		return do_bind(n, argv[2], argc - 3, argv + 3);
	if (argc != 4)
		return bad_args();
	if (!strcmp(argv[0], "doorbell"))
		return do_doorbell(n, argv[2], argv[3]);
	if (!strcmp(argv[0], "relink"))
		return do_relink(n, argv[2], argv[3]);
	return bad_args();
}
