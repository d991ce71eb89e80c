// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller for User Mode Linux: the shadow
 * configuration space of each function, and the root complex side, the
 * virt-pci callbacks through which the host reaches them and their BARs.
 */

#define pr_fmt(fmt) "pci-loopback-ep: " fmt

#include <linux/bitfield.h>
#include <linux/lockdep.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "pci-loopback-ep.h"

#define LBEP_CMD_WMASK		(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_INTX_DISABLE)

void lbep_wmask_set(struct lbep_fn *fn, unsigned int off, u32 mask,
		    unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		fn->wmask[off + i] = mask >> (8 * i);
}

/* Program the BAR register(s) of @bar from fn->bar[@bar] */
void lbep_cfg_program_bar(struct lbep_fn *fn, enum pci_barno bar)
{
	const struct lbep_bar *b = &fn->bar[bar];
	unsigned int reg = PCI_BASE_ADDRESS_0 + 4 * bar;
	u64 mask = ~(b->size - 1);

	lockdep_assert_held(&fn->ep->cfg_lock);

	if (!b->size) {
		lbep_cfg_wr32(fn, reg, 0);
		lbep_wmask_set(fn, reg, 0, 4);
		return;
	}

	/*
	 * Only the address bits above the size are writable, so writing
	 * all-ones reads back the size mask plus the read-only flag bits.
	 */
	lbep_cfg_wr32(fn, reg, b->flags);
	lbep_wmask_set(fn, reg, lower_32_bits(mask) & ~0xfU, 4);

	if (b->flags & PCI_BASE_ADDRESS_MEM_TYPE_64) {
		lbep_cfg_wr32(fn, reg + 4, 0);
		lbep_wmask_set(fn, reg + 4, upper_32_bits(mask), 4);
	}
}

/* Forget the geometry of @bar (and of its upper half) */
void lbep_bar_drop_geometry(struct lbep_fn *fn, enum pci_barno bar)
{
	struct lbep_bar *b = &fn->bar[bar];

	lockdep_assert_held(&fn->ep->cfg_lock);

	if ((b->flags & PCI_BASE_ADDRESS_MEM_TYPE_64) && bar < BAR_5) {
		fn->bar[bar + 1].upper = false;
		lbep_cfg_wr32(fn, PCI_BASE_ADDRESS_0 + 4 * (bar + 1), 0);
		lbep_wmask_set(fn, PCI_BASE_ADDRESS_0 + 4 * (bar + 1), 0, 4);
	}

	b->size = 0;
	b->flags = 0;
	lbep_cfg_program_bar(fn, bar);
}

void lbep_cfg_build_caps(struct lbep_fn *fn)
{
	u16 status;
	u8 next = 0;

	lockdep_assert_held(&fn->ep->cfg_lock);

	if (fn->msix_cap) {
		fn->cfg[LBEP_MSIX_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSIX;
		fn->cfg[LBEP_MSIX_CAP + PCI_CAP_LIST_NEXT] = next;
		next = LBEP_MSIX_CAP;
	}

	if (fn->msi_cap) {
		fn->cfg[LBEP_MSI_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSI;
		fn->cfg[LBEP_MSI_CAP + PCI_CAP_LIST_NEXT] = next;
		next = LBEP_MSI_CAP;
	}

	fn->cfg[PCI_CAPABILITY_LIST] = next;

	status = lbep_cfg_rd16(fn, PCI_STATUS);
	if (next)
		status |= PCI_STATUS_CAP_LIST;
	else
		status &= ~PCI_STATUS_CAP_LIST;
	lbep_cfg_wr16(fn, PCI_STATUS, status);
}

/* Keep host-written values within what the capabilities advertise */
void lbep_cfg_fixup(struct lbep_fn *fn)
{
	u16 ctrl;
	u32 mmc, mme;

	lockdep_assert_held(&fn->ep->cfg_lock);

	if (!fn->msi_cap)
		return;

	ctrl = lbep_cfg_rd16(fn, LBEP_MSI_CAP + PCI_MSI_FLAGS);
	mmc = FIELD_GET(PCI_MSI_FLAGS_QMASK, ctrl);
	mme = FIELD_GET(PCI_MSI_FLAGS_QSIZE, ctrl);
	if (mme > mmc) {
		ctrl &= ~PCI_MSI_FLAGS_QSIZE;
		ctrl |= FIELD_PREP(PCI_MSI_FLAGS_QSIZE, mmc);
		lbep_cfg_wr16(fn, LBEP_MSI_CAP + PCI_MSI_FLAGS, ctrl);
	}
}

/*
 * Every function starts as an empty slot (vendor ID 0) until its
 * write_header(); with several, function 0 says so in its header type, so
 * that the host scans the others.
 */
void lbep_cfg_init(struct lbep *ep)
{
	unsigned long flags;
	unsigned int i;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	for (i = 0; i < ep->nr_funcs; i++) {
		struct lbep_fn *fn = &ep->fn[i];

		fn->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
		if (i == 0 && ep->nr_funcs > 1)
			fn->cfg[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MFD;
		lbep_wmask_set(fn, PCI_COMMAND, LBEP_CMD_WMASK, 2);
		fn->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
		fn->wmask[PCI_LATENCY_TIMER] = 0xff;
		fn->wmask[PCI_INTERRUPT_LINE] = 0xff;
		lbep_cfg_build_caps(fn);
	}
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);
}

/* A consistent copy of the host's MSI and MSI-X programming of @fn */
void lbep_cfg_irq(struct lbep_fn *fn, struct lbep_irq_cfg *c)
{
	unsigned long flags;

	*c = (struct lbep_irq_cfg){};
	raw_spin_lock_irqsave(&fn->ep->cfg_lock, flags);
	if (fn->msi_cap) {
		c->msi_ctrl = lbep_cfg_rd16(fn, LBEP_MSI_CAP + PCI_MSI_FLAGS);
		c->msi_addr = lbep_cfg_rd32(fn, LBEP_MSI_CAP + PCI_MSI_ADDRESS_LO) |
			      (u64)lbep_cfg_rd32(fn, LBEP_MSI_CAP + PCI_MSI_ADDRESS_HI) << 32;
		c->msi_data = lbep_cfg_rd16(fn, LBEP_MSI_CAP + PCI_MSI_DATA_64);
	}
	if (fn->msix_cap) {
		c->msix_ctrl = lbep_cfg_rd16(fn, LBEP_MSIX_CAP + PCI_MSIX_FLAGS);
		c->msix_table = lbep_cfg_rd32(fn, LBEP_MSIX_CAP + PCI_MSIX_TABLE);
	}
	raw_spin_unlock_irqrestore(&fn->ep->cfg_lock, flags);
}

/*
 * The host side is gone: drop everything the host programmed (like a
 * fundamental reset) and, if @drop_cleared, the geometry of BARs that were
 * cleared while the host could see them.
 */
void lbep_reset_host_state(struct lbep *ep, bool drop_cleared)
{
	unsigned long flags;
	unsigned int f, i;
	int bar;

	lockdep_assert_held(&ep->epc->lock);

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	for (f = 0; f < ep->nr_funcs; f++) {
		struct lbep_fn *fn = &ep->fn[f];

		for (i = 0; i < PCI_CFG_SPACE_SIZE; i++)
			fn->cfg[i] &= ~fn->wmask[i];
		WRITE_ONCE(fn->cmd, 0);

		for (bar = BAR_0; bar <= BAR_5 && drop_cleared; bar++) {
			struct lbep_bar *b = &fn->bar[bar];

			if (b->size && !b->reserved &&
			    !rcu_access_pointer(b->map))
				lbep_bar_drop_geometry(fn, bar);
		}
	}
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);
}

/* ------------------------------------------------------------------------
 * Root complex side: virt-pci callbacks
 */

static struct lbep_fn *umdev_to_fn(struct um_pci_device *dev)
{
	return container_of(dev, struct lbep_fn, umdev);
}

static unsigned long lbep_cfgspace_read(struct um_pci_device *dev,
					unsigned int offset, int size)
{
	struct lbep_fn *fn = umdev_to_fn(dev);
	unsigned long flags;
	u8 buf[sizeof(u64)];

	if (!lbep_size_ok(size) || offset >= LBEP_CFG_SIZE ||
	    size > LBEP_CFG_SIZE - offset)
		return ULONG_MAX;

	raw_spin_lock_irqsave(&fn->ep->cfg_lock, flags);
	memcpy(buf, &fn->cfg[offset], size);
	raw_spin_unlock_irqrestore(&fn->ep->cfg_lock, flags);

	return lbep_le_to_ulong(buf, size);
}

static void lbep_cfgspace_write(struct um_pci_device *dev, unsigned int offset,
				int size, unsigned long val)
{
	struct lbep_fn *fn = umdev_to_fn(dev);
	struct lbep *ep = fn->ep;
	unsigned long flags;
	u16 old_cmd, new_cmd;
	int i;

	if (!lbep_size_ok(size) || offset >= LBEP_CFG_SIZE ||
	    size > LBEP_CFG_SIZE - offset)
		return;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	old_cmd = fn->cmd;
	for (i = 0; i < size && offset + i < PCI_CFG_SPACE_SIZE; i++) {
		unsigned int off = offset + i;
		u8 mask = fn->wmask[off];

		fn->cfg[off] = (fn->cfg[off] & ~mask) | ((val >> (8 * i)) & mask);
	}
	lbep_cfg_fixup(fn);
	new_cmd = lbep_cfg_rd16(fn, PCI_COMMAND);
	WRITE_ONCE(fn->cmd, new_cmd);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	/* pci_epc_bus_master_enable_notify() sleeps; defer it */
	if (!(old_cmd & PCI_COMMAND_MASTER) && (new_cmd & PCI_COMMAND_MASTER))
		schedule_work(&ep->bme_work);
}

void lbep_host_bar_xfer(struct lbep_fn *fn, int bar, unsigned int offset,
			struct lbep_xfer *x, size_t len)
{
	if (bar < BAR_0 || bar > BAR_5) {
		lbep_xfer_fill(x, 0xff, len);
		return;
	}

	if (!(READ_ONCE(fn->cmd) & PCI_COMMAND_MEMORY)) {
		dev_warn_ratelimited(fn->ep->dev,
				     "host %s at function %u BAR%d+%#x with memory decoding off\n",
				     lbep_xfer_name(x), fn->func_no, bar, offset);
		lbep_xfer_fill(x, 0xff, len);
		return;
	}

	if (!lbep_ib_xfer(fn, bar, offset, x, len, false))
		dev_warn_ratelimited(fn->ep->dev,
				     "host %s of %zu bytes at function %u BAR%d+%#x not (fully) backed\n",
				     lbep_xfer_name(x), len, fn->func_no, bar,
				     offset);
}

static unsigned long lbep_bar_read(struct um_pci_device *dev, int bar,
				   unsigned int offset, int size)
{
	u8 buf[sizeof(u64)];
	struct lbep_xfer x = { .op = LBEP_XFER_READ, .rbuf = buf };

	if (!lbep_size_ok(size))
		return ULONG_MAX;

	lbep_host_bar_xfer(umdev_to_fn(dev), bar, offset, &x, size);
	return lbep_le_to_ulong(buf, size);
}

static void lbep_bar_write(struct um_pci_device *dev, int bar,
			   unsigned int offset, int size, unsigned long val)
{
	u8 buf[sizeof(u64)];
	struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buf };

	if (!lbep_size_ok(size))
		return;

	put_unaligned_le64(val, buf);
	lbep_host_bar_xfer(umdev_to_fn(dev), bar, offset, &x, size);
}

static void lbep_bar_copy_from(struct um_pci_device *dev, int bar,
			       void *buffer, unsigned int offset, int size)
{
	struct lbep_xfer x = { .op = LBEP_XFER_READ, .rbuf = buffer };

	if (size > 0)
		lbep_host_bar_xfer(umdev_to_fn(dev), bar, offset, &x, size);
}

static void lbep_bar_copy_to(struct um_pci_device *dev, int bar,
			     unsigned int offset, const void *buffer, int size)
{
	struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buffer };

	if (size > 0)
		lbep_host_bar_xfer(umdev_to_fn(dev), bar, offset, &x, size);
}

static void lbep_bar_set(struct um_pci_device *dev, int bar,
			 unsigned int offset, u8 value, int size)
{
	struct lbep_xfer x = { .op = LBEP_XFER_SET, .value = value };

	if (size > 0)
		lbep_host_bar_xfer(umdev_to_fn(dev), bar, offset, &x, size);
}

const struct um_pci_ops lbep_um_pci_ops = {
	.cfgspace_read	= lbep_cfgspace_read,
	.cfgspace_write	= lbep_cfgspace_write,
	.bar_read	= lbep_bar_read,
	.bar_write	= lbep_bar_write,
	.bar_copy_from	= lbep_bar_copy_from,
	.bar_copy_to	= lbep_bar_copy_to,
	.bar_set	= lbep_bar_set,
};
