// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller for User Mode Linux: the host-side bus
 * exerciser (debugfs).
 *
 * UML cannot mmap virt-pci BARs into user space, so each controller has
 * /sys/kernel/debug/pci-loopback-ep/<device>/host-bar0 .. host-bar5 (root
 * only).  A read or write of these files at file offset N is a sequence of
 * 32-bit host memory accesses to BAR offset N, N + 4, ..., exactly as a
 * host driver's readl()/writel() on that BAR: same inbound translation,
 * same checks (memory decoding enabled, unbacked ranges read as all-ones,
 * writes to them dropped, doorbells ring on aligned 32-bit writes).  The
 * file content is the little-endian byte image of the BAR.  Offsets and
 * lengths must be multiples of 4 (else -EINVAL); the files end at the
 * largest BAR size the controller supports (16 MiB) and one call moves at
 * most a page.  Test scenarios use them to play a hostile host against
 * endpoint functions.
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
 */

#define pr_fmt(fmt) "pci-loopback-ep: " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
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

		lbep_host_bar_xfer(d->ep, d->bar, *ppos + done, &x, sizeof(buf));
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
		lbep_host_bar_xfer(d->ep, d->bar, *ppos + done, &x, sizeof(buf));
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

static ssize_t lbep_dbg_hbuf_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct lbep *ep = file->private_data;

	return simple_write_to_buffer(ep->hbuf, LBEP_HBUF_SIZE, ppos, ubuf,
				      count);
}

static ssize_t lbep_dbg_hbuf_read(struct file *file, char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct lbep *ep = file->private_data;

	return simple_read_from_buffer(ubuf, count, ppos, ep->hbuf,
				       LBEP_HBUF_SIZE);
}

static const struct file_operations lbep_dbg_hbuf_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= lbep_dbg_hbuf_read,
	.write	= lbep_dbg_hbuf_write,
	.llseek	= default_llseek,
};

void lbep_dbg_init(struct lbep *ep)
{
	char name[sizeof("host-barN")];
	int bar;

	ep->dbg_dir = debugfs_create_dir(dev_name(ep->dev), lbep_dbg_root);
	for (bar = BAR_0; bar <= BAR_5; bar++) {
		ep->dbg_bar[bar].ep = ep;
		ep->dbg_bar[bar].bar = bar;
		snprintf(name, sizeof(name), "host-bar%d", bar);
		debugfs_create_file(name, 0600, ep->dbg_dir, &ep->dbg_bar[bar],
				    &lbep_dbg_bar_fops);
	}

	ep->hbuf = alloc_pages_exact(LBEP_HBUF_SIZE, GFP_KERNEL | __GFP_ZERO);
	if (ep->hbuf) {
		debugfs_create_file("host-dma", 0600, ep->dbg_dir, ep,
				    &lbep_dbg_hbuf_fops);
		debugfs_create_file("host-dma-addr", 0400, ep->dbg_dir, ep,
				    &lbep_dbg_addr_fops);
	}
	debugfs_create_bool("host-dma-confine", 0600, ep->dbg_dir, &ep->confine);
	debugfs_create_atomic_t("host-dma-dropped", 0400, ep->dbg_dir,
				&ep->confine_drops);
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
