// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller for User Mode Linux: the endpoint
 * controller operations, all called with epc->lock held.
 */

#define pr_fmt(fmt) "pci-loopback-ep: " fmt

#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/err.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/pci-epc.h>
#include <linux/pci-epf.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "pci-loopback-ep.h"

#define LBEP_MIN_BAR_SIZE	16
#define LBEP_MAX_SUBMAP		8	/* inbound windows per BAR */

/* The function @func_no of the controller, or NULL if it has none */
static struct lbep_fn *lbep_epc_fn(struct pci_epc *epc, u8 func_no)
{
	struct lbep *ep = epc_get_drvdata(epc);

	if (func_no >= ep->nr_funcs)
		return NULL;

	return &ep->fn[func_no];
}

static int lbep_write_header(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			     struct pci_epf_header *hdr)
{
	struct lbep *ep = epc_get_drvdata(epc);
	struct lbep_fn *fn = lbep_epc_fn(epc, func_no);
	unsigned long flags;
	u8 pin = 0;

	lockdep_assert_held(&epc->lock);

	if (!fn || hdr->interrupt_pin > PCI_INTERRUPT_INTD)
		return -EINVAL;
	if (ep->features.intx_capable)
		pin = hdr->interrupt_pin;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	lbep_cfg_wr16(fn, PCI_VENDOR_ID, hdr->vendorid);
	lbep_cfg_wr16(fn, PCI_DEVICE_ID, hdr->deviceid);
	fn->cfg[PCI_REVISION_ID] = hdr->revid;
	fn->cfg[PCI_CLASS_PROG] = hdr->progif_code;
	fn->cfg[PCI_CLASS_DEVICE] = hdr->subclass_code;
	fn->cfg[PCI_CLASS_DEVICE + 1] = hdr->baseclass_code;
	fn->cfg[PCI_CACHE_LINE_SIZE] = hdr->cache_line_size;
	lbep_cfg_wr16(fn, PCI_SUBSYSTEM_VENDOR_ID, hdr->subsys_vendor_id);
	lbep_cfg_wr16(fn, PCI_SUBSYSTEM_ID, hdr->subsys_id);
	fn->cfg[PCI_INTERRUPT_PIN] = pin;
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	return 0;
}

/* Effective BAR flags, or a negative error for unsupported flags */
static int lbep_bar_flags(struct lbep *ep, enum pci_barno bar, int flags)
{
	if (flags & PCI_BASE_ADDRESS_SPACE_IO)
		return -EINVAL;	/* virt-pci has no I/O window */

	if (flags & ~(PCI_BASE_ADDRESS_MEM_TYPE_MASK |
		      PCI_BASE_ADDRESS_MEM_PREFETCH))
		return -EINVAL;

	if ((flags & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
	    PCI_BASE_ADDRESS_MEM_TYPE_1M)
		return -EINVAL;

	/* Like hardware with a hardwired BAR type */
	if (ep->features.bar[bar].only_64bit)
		flags |= PCI_BASE_ADDRESS_MEM_TYPE_64;

	return flags;
}

static struct lbep_ib_map *lbep_ib_map_alloc(const struct pci_epf_bar *epf_bar)
{
	unsigned int i, n = epf_bar->num_submap;
	struct lbep_ib_map *map;
	u64 total = 0;

	if (n > LBEP_MAX_SUBMAP)
		return ERR_PTR(-ENOSPC);

	map = kzalloc_flex(*map, sub, n);
	if (!map)
		return ERR_PTR(-ENOMEM);

	map->nr_sub = n;
	map->size = epf_bar->size;
	map->phys = epf_bar->phys_addr;

	for (i = 0; i < n; i++) {
		u64 size = epf_bar->submap[i].size;

		if (!size || check_add_overflow(total, size, &total))
			goto einval;

		map->sub[i].phys = epf_bar->submap[i].phys_addr;
		map->sub[i].size = size;
	}

	/* The subranges describe the complete BAR, without gaps */
	if (n && total != epf_bar->size)
		goto einval;

	return map;

einval:
	kfree(map);
	return ERR_PTR(-EINVAL);
}

/* Can @bar be (re)configured from scratch with @flags? */
static int lbep_bar_check_geometry(struct lbep_fn *fn, enum pci_barno bar,
				   int flags, unsigned int num_submap)
{
	struct lbep *ep = fn->ep;
	const struct lbep_bar *next;

	/*
	 * Like DWC, subrange mapping only updates a BAR whose address the
	 * host already assigned.
	 */
	if (num_submap)
		return -EINVAL;

	if (!(flags & PCI_BASE_ADDRESS_MEM_TYPE_64))
		return 0;

	if (bar == BAR_5)
		return -EINVAL;

	next = &fn->bar[bar + 1];
	if (next->size || next->reserved ||
	    ep->features.bar[bar + 1].type == BAR_RESERVED)
		return -EBUSY;

	return 0;
}

static int lbep_set_bar(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			struct pci_epf_bar *epf_bar)
{
	struct lbep *ep = epc_get_drvdata(epc);
	struct lbep_fn *fn = lbep_epc_fn(epc, func_no);
	enum pci_barno bar = epf_bar->barno;
	struct lbep_ib_map *map, *old;
	u64 size = epf_bar->size;
	unsigned long irqflags;
	struct lbep_bar *b;
	int flags, ret;

	lockdep_assert_held(&epc->lock);

	if (!fn || bar < BAR_0 || bar > BAR_5)
		return -EINVAL;

	b = &fn->bar[bar];
	if (b->reserved || ep->features.bar[bar].type == BAR_RESERVED ||
	    ep->features.bar[bar].type == BAR_DISABLED)
		return -EINVAL;
	if (b->upper)
		return -EBUSY;

	flags = lbep_bar_flags(ep, bar, epf_bar->flags);
	if (flags < 0)
		return flags;

	if (size < LBEP_MIN_BAR_SIZE || size > LBEP_MAX_BAR_SIZE ||
	    !is_power_of_2(size))
		return -EINVAL;

	map = lbep_ib_map_alloc(epf_bar);
	if (IS_ERR(map))
		return PTR_ERR(map);

	if (b->size && (ep->host_visible || epf_bar->num_submap)) {
		/*
		 * Dynamic inbound mapping: the host may already have sized
		 * and assigned the BAR, so only the translation changes.  A
		 * smaller size leaves the end of the BAR unbacked.
		 */
		if (flags != b->flags || size > b->size) {
			kfree(map);
			return -EINVAL;
		}
	} else {
		/* First configuration, or reconfiguration while unlinked */
		ret = lbep_bar_check_geometry(fn, bar, flags,
					      epf_bar->num_submap);
		if (ret) {
			kfree(map);
			return ret;
		}

		raw_spin_lock_irqsave(&ep->cfg_lock, irqflags);
		if (b->size)
			lbep_bar_drop_geometry(fn, bar);
		b->size = size;
		b->flags = flags;
		if (flags & PCI_BASE_ADDRESS_MEM_TYPE_64)
			fn->bar[bar + 1].upper = true;
		lbep_cfg_program_bar(fn, bar);
		raw_spin_unlock_irqrestore(&ep->cfg_lock, irqflags);
	}

	old = rcu_replace_pointer(b->map, map, lockdep_is_held(&epc->lock));
	if (old)
		kfree_rcu(old, rcu);

	return 0;
}

static void lbep_clear_bar(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			   struct pci_epf_bar *epf_bar)
{
	struct lbep *ep = epc_get_drvdata(epc);
	struct lbep_fn *fn = lbep_epc_fn(epc, func_no);
	enum pci_barno bar = epf_bar->barno;
	struct lbep_ib_map *old;
	unsigned long flags;
	struct lbep_bar *b;

	lockdep_assert_held(&epc->lock);

	if (!fn || bar < BAR_0 || bar > BAR_5)
		return;

	b = &fn->bar[bar];
	if (b->reserved || b->upper)
		return;

	old = rcu_replace_pointer(b->map, NULL, lockdep_is_held(&epc->lock));
	if (old)
		kfree_rcu(old, rcu);

	/* While the host may use the BAR, keep it; accesses hit nothing */
	if (!ep->host_visible && b->size) {
		raw_spin_lock_irqsave(&ep->cfg_lock, flags);
		lbep_bar_drop_geometry(fn, bar);
		raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);
	}
}

static u64 lbep_align_addr(struct pci_epc *epc, u64 pci_addr, size_t *size,
			   size_t *offset)
{
	size_t ofs = offset_in_page(pci_addr);

	if (*size > LBEP_MAX_MAP_SIZE - ofs)
		*size = LBEP_MAX_MAP_SIZE;
	else
		*size = PAGE_ALIGN(ofs + *size);
	*offset = ofs;

	return pci_addr - ofs;
}

static int lbep_map_addr(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			 phys_addr_t addr, u64 pci_addr, size_t size)
{
	struct lbep *ep = epc_get_drvdata(epc);
	struct lbep_ob *slot = NULL;
	unsigned long flags;
	unsigned int i;
	u64 last;
	int ret = 0;

	lockdep_assert_held(&epc->lock);

	if (func_no >= ep->nr_funcs)
		return -EINVAL;

	if (!size || addr < ep->win_base || addr - ep->win_base >= ep->win_size ||
	    size > ep->win_size - (addr - ep->win_base) ||
	    check_add_overflow(pci_addr, (u64)size - 1, &last))
		return -EINVAL;

	raw_spin_lock_irqsave(&ep->ob_lock, flags);
	for (i = 0; i < LBEP_NR_OB; i++) {
		struct lbep_ob *e = &ep->ob[i];

		if (!e->size) {
			if (!slot)
				slot = e;
			continue;
		}

		if (lbep_range_overlaps(addr, size, e->cpu, e->size)) {
			ret = -EBUSY;
			break;
		}
	}

	if (!ret && !slot)
		ret = -ENOSPC;

	if (!ret) {
		slot->cpu = addr;
		slot->pci = pci_addr;
		slot->size = size;
		slot->func_no = func_no;
	}
	raw_spin_unlock_irqrestore(&ep->ob_lock, flags);

	return ret;
}

static void lbep_unmap_addr(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			    phys_addr_t addr)
{
	struct lbep *ep = epc_get_drvdata(epc);
	unsigned long flags;
	unsigned int i;

	lockdep_assert_held(&epc->lock);

	raw_spin_lock_irqsave(&ep->ob_lock, flags);
	for (i = 0; i < LBEP_NR_OB; i++) {
		if (ep->ob[i].size && ep->ob[i].cpu == addr) {
			ep->ob[i].size = 0;
			break;
		}
	}
	raw_spin_unlock_irqrestore(&ep->ob_lock, flags);
}

static int lbep_set_msi(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			u8 nr_irqs)
{
	struct lbep *ep = epc_get_drvdata(epc);
	struct lbep_fn *fn = lbep_epc_fn(epc, func_no);
	unsigned int mmc = order_base_2(nr_irqs);
	unsigned int pos = LBEP_MSI_CAP;
	unsigned long flags;
	u16 ctrl;

	lockdep_assert_held(&epc->lock);

	if (!fn || !nr_irqs || mmc > 5)
		return -EINVAL;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	ctrl = fn->msi_cap ? lbep_cfg_rd16(fn, pos + PCI_MSI_FLAGS) : 0;
	ctrl &= ~PCI_MSI_FLAGS_QMASK;
	ctrl |= PCI_MSI_FLAGS_64BIT | FIELD_PREP(PCI_MSI_FLAGS_QMASK, mmc);
	lbep_cfg_wr16(fn, pos + PCI_MSI_FLAGS, ctrl);

	if (!fn->msi_cap) {
		/* 64-bit capable, no per-vector masking */
		lbep_wmask_set(fn, pos + PCI_MSI_FLAGS,
			       PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE, 2);
		lbep_wmask_set(fn, pos + PCI_MSI_ADDRESS_LO, ~3U, 4);
		lbep_wmask_set(fn, pos + PCI_MSI_ADDRESS_HI, ~0U, 4);
		lbep_wmask_set(fn, pos + PCI_MSI_DATA_64, 0xffff, 2);
		fn->msi_cap = true;
		lbep_cfg_build_caps(fn);
	}
	lbep_cfg_fixup(fn);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	return 0;
}

static int lbep_set_msix(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			 u16 nr_irqs, enum pci_barno bir, u32 offset)
{
	struct lbep *ep = epc_get_drvdata(epc);
	struct lbep_fn *fn = lbep_epc_fn(epc, func_no);
	unsigned int pos = LBEP_MSIX_CAP;
	unsigned long flags;
	u64 pba, pba_end;
	u16 ctrl;

	lockdep_assert_held(&epc->lock);

	if (!fn || !nr_irqs || nr_irqs > PCI_MSIX_FLAGS_QSIZE + 1 ||
	    bir < BAR_0 || bir > BAR_5 || (offset & PCI_MSIX_TABLE_BIR))
		return -EINVAL;

	/* The PBA follows the table */
	pba = (u64)offset + (u64)nr_irqs * PCI_MSIX_ENTRY_SIZE;
	pba_end = pba + DIV_ROUND_UP(nr_irqs, 64) * sizeof(u64);
	if (pba_end > U32_MAX)
		return -EINVAL;
	if (fn->bar[bir].size && pba_end > fn->bar[bir].size)
		return -EINVAL;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	ctrl = fn->msix_cap ? lbep_cfg_rd16(fn, pos + PCI_MSIX_FLAGS) : 0;
	ctrl &= ~PCI_MSIX_FLAGS_QSIZE;
	ctrl |= nr_irqs - 1;
	lbep_cfg_wr16(fn, pos + PCI_MSIX_FLAGS, ctrl);
	lbep_cfg_wr32(fn, pos + PCI_MSIX_TABLE, offset | bir);
	lbep_cfg_wr32(fn, pos + PCI_MSIX_PBA, (u32)pba | bir);

	if (!fn->msix_cap) {
		lbep_wmask_set(fn, pos + PCI_MSIX_FLAGS,
			       PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL,
			       2);
		fn->msix_cap = true;
		lbep_cfg_build_caps(fn);
	}
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	return 0;
}

/* The MSI (@msix false) or MSI-X vectors the host enabled, -EINVAL for none */
static int lbep_get_nvec(struct pci_epc *epc, u8 func_no, bool msix)
{
	struct lbep_fn *fn = lbep_epc_fn(epc, func_no);
	struct lbep_irq_cfg c;
	unsigned int nvec;

	lockdep_assert_held(&epc->lock);

	if (!fn)
		return -EINVAL;

	lbep_cfg_irq(fn, &c);
	nvec = msix ? lbep_msix_nvec(&c) : lbep_msi_nvec(&c);
	return nvec ?: -EINVAL;
}

static int lbep_get_msi(struct pci_epc *epc, u8 func_no, u8 vfunc_no)
{
	return lbep_get_nvec(epc, func_no, false);
}

static int lbep_get_msix(struct pci_epc *epc, u8 func_no, u8 vfunc_no)
{
	return lbep_get_nvec(epc, func_no, true);
}

static int lbep_raise_intx(struct lbep_fn *fn)
{
	struct lbep *ep = fn->ep;
	unsigned long flags;
	int irq, ret;
	u16 cmd;
	u8 pin;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	pin = fn->cfg[PCI_INTERRUPT_PIN];
	cmd = lbep_cfg_rd16(fn, PCI_COMMAND);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	if (!pin)
		return -EINVAL;

	/* Masked at the function, like a real INTx assertion */
	if (cmd & PCI_COMMAND_INTX_DISABLE)
		return 0;

	rcu_read_lock();
	irq = READ_ONCE(fn->umdev.irq);
	if (READ_ONCE(ep->link_up) && irq > 0)
		ret = generic_handle_irq_safe(irq) ? -EIO : 0;
	else
		ret = -ENOLINK;
	rcu_read_unlock();

	return ret;
}

static int lbep_raise_msi(struct lbep_fn *fn, u16 num)
{
	struct lbep_irq_cfg c;

	lbep_cfg_irq(fn, &c);
	if (!num || num > lbep_msi_nvec(&c))
		return -EINVAL;

	/* virt-pci convention: consecutive, unaligned irq numbers */
	return lbep_host_write32(fn, c.msi_addr, c.msi_data + num - 1);
}

static int lbep_raise_msix(struct lbep_fn *fn, u16 num)
{
	u32 data = 0, vctrl = 0;
	struct lbep_irq_cfg c;
	u64 addr = 0;

	lbep_cfg_irq(fn, &c);
	if (!num || num > lbep_msix_nvec(&c))
		return -EINVAL;
	if (c.msix_ctrl & PCI_MSIX_FLAGS_MASKALL)
		return -EPERM;

	if (!lbep_msix_entry(fn, c.msix_table, num - 1, &addr, &data, &vctrl))
		return -EIO;
	if (vctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT)
		return -EPERM;

	return lbep_host_write32(fn, addr, data);
}

static int lbep_raise_irq(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			  unsigned int type, u16 interrupt_num)
{
	struct lbep_fn *fn = lbep_epc_fn(epc, func_no);

	lockdep_assert_held(&epc->lock);

	if (!fn)
		return -EINVAL;

	switch (type) {
	case PCI_IRQ_INTX:
		return lbep_raise_intx(fn);
	case PCI_IRQ_MSI:
		return lbep_raise_msi(fn, interrupt_num);
	case PCI_IRQ_MSIX:
		return lbep_raise_msix(fn, interrupt_num);
	default:
		return -EINVAL;
	}
}

static int lbep_start(struct pci_epc *epc)
{
	struct lbep *ep = epc_get_drvdata(epc);

	lockdep_assert_held(&epc->lock);

	/* From now on the host may size the BARs: freeze their geometry */
	ep->host_visible = true;
	WRITE_ONCE(ep->link_want, true);
	queue_work(system_long_wq, &ep->link_work);

	return 0;
}

static void lbep_stop(struct pci_epc *epc)
{
	struct lbep *ep = epc_get_drvdata(epc);

	lockdep_assert_held(&epc->lock);

	WRITE_ONCE(ep->link_want, false);
	queue_work(system_long_wq, &ep->link_work);
}

static const struct pci_epc_features *
lbep_get_features(struct pci_epc *epc, u8 func_no, u8 vfunc_no)
{
	struct lbep *ep = epc_get_drvdata(epc);

	return &ep->features;
}

static int lbep_get_aux_resources_count(struct pci_epc *epc, u8 func_no,
					u8 vfunc_no)
{
	struct lbep *ep = epc_get_drvdata(epc);

	return ep->nr_aux;
}

static int lbep_get_aux_resources(struct pci_epc *epc, u8 func_no,
				  u8 vfunc_no,
				  struct pci_epc_aux_resource *res, int num)
{
	struct lbep *ep = epc_get_drvdata(epc);
	unsigned int i;

	lockdep_assert_held(&epc->lock);

	if (num < (int)ep->nr_aux)
		return -ENOSPC;

	for (i = 0; i < ep->nr_aux; i++) {
		res[i] = (struct pci_epc_aux_resource) {
			.type		= PCI_EPC_AUX_DOORBELL_MMIO,
			.phys_addr	= ep->db_page + ep->aux[i].offset,
			.size		= sizeof(u32),
			.bar		= ep->aux_bar,
			.bar_offset	= ep->aux_bar == NO_BAR ? 0 :
					  lbep_db_bar_rsvd.offset + ep->aux[i].offset,
			.u.db_mmio	= {
				.irq	= ep->aux[i].irq,
				.data	= ep->aux[i].data,
			},
		};
	}

	return 0;
}

const struct pci_epc_ops lbep_epc_ops = {
	.write_header			= lbep_write_header,
	.set_bar			= lbep_set_bar,
	.clear_bar			= lbep_clear_bar,
	.align_addr			= lbep_align_addr,
	.map_addr			= lbep_map_addr,
	.unmap_addr			= lbep_unmap_addr,
	.set_msi			= lbep_set_msi,
	.get_msi			= lbep_get_msi,
	.set_msix			= lbep_set_msix,
	.get_msix			= lbep_get_msix,
	.raise_irq			= lbep_raise_irq,
	.start				= lbep_start,
	.stop				= lbep_stop,
	.get_features			= lbep_get_features,
	.get_aux_resources_count	= lbep_get_aux_resources_count,
	.get_aux_resources		= lbep_get_aux_resources,
	.owner				= THIS_MODULE,
};
