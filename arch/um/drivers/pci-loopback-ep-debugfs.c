// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller for User Mode Linux: the host-side bus
 * exerciser (debugfs).
 *
 * UML cannot mmap virt-pci BARs into user space, so each controller has
 * /sys/kernel/debug/pci-loopback-ep/<device>/host-bar0 .. host-bar5 (root
 * only), the BARs of function 0, and host-fF-bar0 .. host-fF-bar5 for
 * function F of a controller with several.  A read or write of these files
 * at file offset N is a sequence of 32-bit host memory accesses to BAR
 * offset N, N + 4, ..., exactly as a host driver's readl()/writel() on
 * that BAR: same inbound translation, same checks (memory decoding
 * enabled, unbacked ranges read as all-ones, writes to them dropped,
 * doorbells ring on aligned 32-bit writes).  The file content is the
 * little-endian byte image of the BAR.  Offsets and lengths must be
 * multiples of 4 (else -EINVAL); the files end at the largest BAR size the
 * controller supports (16 MiB) and one call moves at most a page.  Test
 * scenarios use them to play a hostile host against endpoint functions.
 *
 * The exerciser also owns a host buffer for endpoint transfers, and an
 * IOMMU-like confinement of the endpoint's accesses to host memory:
 *
 * host-dma          the byte image of a 256 KiB buffer of host RAM (zeroed,
 *                   allocated at probe), readable and writable at any
 *                   offset; the buffer a hostile host hands the endpoint
 * host-dma-addr     "<bus address> <size>" of that buffer (bus address ==
 *                   physical address on UML, there is no IOMMU)
 * host-dma-confine  "Y"/"N", default "N".  While "Y", every endpoint access
 *                   to host RAM (outbound window, DMA to host addresses)
 *                   that is not entirely inside host-dma is dropped, as an
 *                   IOMMU drops accesses outside what the host mapped for
 *                   the device: reads return all-ones, writes are lost.
 *                   Host and endpoint RAM are one UML memory, so without
 *                   it an endpoint told to write to a random host address
 *                   would overwrite the kernel.  MSI writes are not
 *                   affected.
 * host-dma-dropped  number of accesses dropped by the confinement
 *
 * And the latency floor of a doorbell, the emulated hardware alone:
 *
 * doorbell-floor    write N (1 .. 100000), while no endpoint function holds
 *                   the controller's doorbell: a handler that only takes
 *                   a timestamp is requested on a doorbell of the
 *                   controller's own kind (a vector allocated in its MSI
 *                   parent domain, or embedded doorbell 0), which is then
 *                   rung N times, one at a time, by an inbound 32-bit write
 *                   to its address (a host write as it is once its BAR is
 *                   translated), timing each from just before the write to
 *                   the handler (ktime_get_ns()); read: "KIND rings N
 *                   median_ns M p99_ns P mean_ns A min_ns L max_ns H
 *                   restart_median_ns R" of the last run, R being the
 *                   median time from the handler to the next write (0 for
 *                   one ring).  -ENODEV without a doorbell, -EBUSY when a
 *                   function holds the embedded doorbell.
 */

#define pr_fmt(fmt) "pci-loopback-ep: " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/debugfs_run.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "pci-loopback-ep.h"

#define LBEP_HBUF_SIZE		SZ_256K	/* exerciser host buffer (host-dma) */

static struct dentry *lbep_dbg_root;	/* /sys/kernel/debug/pci-loopback-ep */

/* Clamp a debugfs access at *@ppos of @count bytes; 0 means end of file */
static ssize_t lbep_dbg_span(loff_t *ppos, size_t count)
{
	loff_t pos = *ppos;

	if (pos < 0 || !IS_ALIGNED(pos, sizeof(u32)) ||
	    !IS_ALIGNED(count, sizeof(u32)))
		return -EINVAL;
	if (pos >= LBEP_MAX_BAR_SIZE)
		return 0;

	return min3(count, (size_t)(LBEP_MAX_BAR_SIZE - pos), PAGE_SIZE);
}

static ssize_t lbep_dbg_bar_read(struct file *file, char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	const struct lbep_dbg_bar *d = file->private_data;
	ssize_t len = lbep_dbg_span(ppos, count);
	size_t done;

	if (len <= 0)
		return len;

	for (done = 0; done < (size_t)len; done += sizeof(u32)) {
		u8 buf[sizeof(u32)];
		struct lbep_xfer x = { .op = LBEP_XFER_READ, .rbuf = buf };

		lbep_host_bar_xfer(d->fn, d->bar, *ppos + done, &x, sizeof(buf));
		if (copy_to_user(ubuf + done, buf, sizeof(buf)))
			break;
	}

	if (!done)
		return -EFAULT;
	*ppos += done;
	return done;
}

static ssize_t lbep_dbg_bar_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	const struct lbep_dbg_bar *d = file->private_data;
	ssize_t len = lbep_dbg_span(ppos, count);
	size_t done;

	if (len <= 0)
		return len ? len : -ENOSPC;

	for (done = 0; done < (size_t)len; done += sizeof(u32)) {
		u8 buf[sizeof(u32)];
		struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buf };

		if (copy_from_user(buf, ubuf + done, sizeof(buf)))
			break;
		lbep_host_bar_xfer(d->fn, d->bar, *ppos + done, &x, sizeof(buf));
	}

	if (!done)
		return -EFAULT;
	*ppos += done;
	return done;
}

static const struct file_operations lbep_dbg_bar_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= lbep_dbg_bar_read,
	.write	= lbep_dbg_bar_write,
	.llseek	= default_llseek,
};

static int lbep_dbg_addr_show(struct seq_file *s, void *unused)
{
	struct lbep *ep = s->private;

	seq_printf(s, "%#llx %#x\n", (u64)virt_to_phys(ep->hbuf),
		   LBEP_HBUF_SIZE);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(lbep_dbg_addr);

#define LBEP_FLOOR_MAX_RINGS	100000

/* One doorbell of the floor measurement and its timestamping handler */
struct lbep_floor {
	struct completion done;
	u64 t;
};

static DEFINE_MUTEX(lbep_floor_lock);	/* one run at a time, the result */
static char lbep_floor_result[192] = "none\n";

static irqreturn_t lbep_floor_isr(int irq, void *data)
{
	struct lbep_floor *fl = data;

	fl->t = ktime_get_ns();
	complete(&fl->done);

	return IRQ_HANDLED;
}

static int lbep_floor_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static int lbep_floor_run(struct debugfs_run *run, unsigned int rings)
{
	struct lbep *ep = container_of(run, struct lbep, dbg_floor);
	struct lbep_floor fl;
	const char *kind;
	struct lbmsi *msi = NULL;
	phys_addr_t addr;
	u64 *t, *r, t0, sum = 0;
	unsigned int i;
	int virq, ret;
	u32 data;

	if (ep->db_mode == LBEP_DB_MSI)
		msi = lbmsi_of_parent(ep->dev);
	if (msi) {
		virq = lbmsi_test_vector_alloc(msi, &addr, &data);
		if (virq < 0)
			return virq;
		kind = "msi";
	} else if (ep->nr_aux) {
		virq = ep->aux[0].irq;
		addr = ep->db_page + ep->aux[0].offset;
		data = ep->aux[0].data;
		kind = "embedded";
	} else {
		return -ENODEV;
	}

	t = kvzalloc_objs(*t, 2 * rings);
	if (!t) {
		ret = -ENOMEM;
		goto out_vector;
	}
	r = t + rings;

	init_completion(&fl.done);
	ret = request_irq(virq, lbep_floor_isr, 0, "lbep-doorbell-floor", &fl);
	if (ret)
		goto out_free;

	for (i = 0; i < rings; i++) {
		reinit_completion(&fl.done);
		t0 = ktime_get_ns();
		if (i)
			r[i - 1] = t0 - fl.t;
		if (!lbep_ib_write32_phys(ep, addr, data)) {
			ret = -EIO;
			break;
		}
		if (!wait_for_completion_timeout(&fl.done, HZ)) {
			ret = -ETIMEDOUT;
			break;
		}
		t[i] = fl.t - t0;
		sum += t[i];
	}
	free_irq(virq, &fl);

	if (!ret) {
		sort(t, rings, sizeof(*t), lbep_floor_cmp, NULL);
		sort(r, rings - 1, sizeof(*r), lbep_floor_cmp, NULL);
		snprintf(lbep_floor_result, sizeof(lbep_floor_result),
			 "%s rings %u median_ns %llu p99_ns %llu mean_ns %llu min_ns %llu max_ns %llu restart_median_ns %llu\n",
			 kind, rings, t[rings / 2], t[rings - 1 - rings / 100],
			 div_u64(sum, rings), t[0], t[rings - 1],
			 rings > 1 ? r[(rings - 1) / 2] : 0);
	}
out_free:
	kvfree(t);
out_vector:
	if (msi)
		lbmsi_test_vector_free(virq);

	return ret;
}

DEFINE_DEBUGFS_RUN_ATTRIBUTE(lbep_dbg_floor, debugfs_run_write);

/* The BARs of function 0 are host-barN, those of function F host-fF-barN */
void lbep_dbg_init(struct lbep *ep)
{
	char name[32];
	unsigned int f;
	int bar;

	ep->dbg_dir = debugfs_create_dir(dev_name(ep->dev), lbep_dbg_root);
	for (f = 0; f < ep->nr_funcs; f++) {
		struct lbep_fn *fn = &ep->fn[f];

		for (bar = BAR_0; bar <= BAR_5; bar++) {
			fn->dbg_bar[bar].fn = fn;
			fn->dbg_bar[bar].bar = bar;
			if (f)
				snprintf(name, sizeof(name), "host-f%u-bar%d",
					 f, bar);
			else
				snprintf(name, sizeof(name), "host-bar%d", bar);
			debugfs_create_file(name, 0600, ep->dbg_dir,
					    &fn->dbg_bar[bar],
					    &lbep_dbg_bar_fops);
		}
	}

	ep->hbuf = alloc_pages_exact(LBEP_HBUF_SIZE, GFP_KERNEL | __GFP_ZERO);
	if (ep->hbuf) {
		ep->dbg_hbuf.data = ep->hbuf;
		ep->dbg_hbuf.size = LBEP_HBUF_SIZE;
		debugfs_create_blob("host-dma", 0600, ep->dbg_dir,
				    &ep->dbg_hbuf);
		debugfs_create_file("host-dma-addr", 0400, ep->dbg_dir, ep,
				    &lbep_dbg_addr_fops);
	}
	debugfs_create_bool("host-dma-confine", 0600, ep->dbg_dir, &ep->confine);
	debugfs_create_atomic_t("host-dma-dropped", 0400, ep->dbg_dir,
				&ep->confine_drops);
	ep->dbg_floor.lock = &lbep_floor_lock;
	ep->dbg_floor.result = lbep_floor_result;
	ep->dbg_floor.max = LBEP_FLOOR_MAX_RINGS;
	ep->dbg_floor.run = lbep_floor_run;
	debugfs_create_file("doorbell-floor", 0600, ep->dbg_dir, &ep->dbg_floor,
			    &lbep_dbg_floor_fops);
}

/* Waits for exerciser accesses in progress */
void lbep_dbg_remove(struct lbep *ep)
{
	debugfs_remove_recursive(ep->dbg_dir);
}

/* Once no endpoint access to host memory is left */
void lbep_dbg_free_hbuf(struct lbep *ep)
{
	if (ep->hbuf)
		free_pages_exact(ep->hbuf, LBEP_HBUF_SIZE);
}

/*
 * May the endpoint access [addr, addr + len) of host RAM?  With the
 * confinement on (host-dma-confine), only inside the host buffer.
 */
bool lbep_dbg_confine_ok(struct lbep *ep, u64 addr, size_t len)
{
	u64 base;

	if (!READ_ONCE(ep->confine))
		return true;

	base = ep->hbuf ? virt_to_phys(ep->hbuf) : 0;
	if (ep->hbuf && addr >= base && len <= LBEP_HBUF_SIZE &&
	    addr - base <= LBEP_HBUF_SIZE - len)
		return true;

	atomic_inc(&ep->confine_drops);
	return false;
}

void __init lbep_dbg_init_root(void)
{
	lbep_dbg_root = debugfs_create_dir("pci-loopback-ep", NULL);
}
