// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller for User Mode Linux: memory
 * transactions.  Inbound, a host access to a BAR goes through the BAR's
 * inbound translation to an endpoint doorbell or endpoint RAM; from the
 * endpoint to the host, an access reaches the virt-pci MSI address or host
 * RAM.  Every address is validated before it is touched.
 */

#define pr_fmt(fmt) "pci-loopback-ep: " fmt

#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/unaligned.h>

#include <as-layout.h>

#include "pci-loopback-ep.h"

/* Is this chunk a naturally aligned 32-bit write?  Returns its value. */
static bool lbep_xfer_is_write32(const struct lbep_xfer *x, u64 addr,
				 size_t len, u32 *data)
{
	if (x->op != LBEP_XFER_WRITE || len != sizeof(u32) ||
	    !IS_ALIGNED(addr, sizeof(u32)))
		return false;

	*data = get_unaligned_le32(x->wbuf);
	return true;
}

/*
 * One single access through @ptr, a read into @x's buffer or a write from
 * it, of the size of *@ptr; evaluates to true
 */
#define lbep_xfer_once(x, ptr) ({					\
	const struct lbep_xfer *__x = (x);				\
	typeof(ptr) __p = (ptr);					\
									\
	if (__x->op == LBEP_XFER_READ)					\
		put_unaligned(READ_ONCE(*__p), (typeof(__p))__x->rbuf);	\
	else								\
		WRITE_ONCE(*__p, get_unaligned((const typeof(*__p) *)__x->wbuf)); \
	true;								\
})

/*
 * Aligned 1/2/4/8 byte accesses are done as single accesses, like a PCIe
 * TLP, so that registers shared between host and endpoint code do not tear.
 */
static bool lbep_xfer_ram_sized(struct lbep_xfer *x, void *va, size_t len)
{
	if (x->op == LBEP_XFER_SET || !IS_ALIGNED((unsigned long)va, len))
		return false;

	switch (len) {
	case 1:
		return lbep_xfer_once(x, (u8 *)va);
	case 2:
		return lbep_xfer_once(x, (u16 *)va);
	case 4:
		return lbep_xfer_once(x, (u32 *)va);
	case 8:
		return lbep_xfer_once(x, (u64 *)va);
	default:
		return false;
	}
}

static void lbep_xfer_ram(struct lbep_xfer *x, void *va, size_t len)
{
	if (lbep_xfer_ram_sized(x, va, len))
		return;

	switch (x->op) {
	case LBEP_XFER_READ:
		memcpy(x->rbuf, va, len);
		break;
	case LBEP_XFER_WRITE:
		memcpy(va, x->wbuf, len);
		break;
	case LBEP_XFER_SET:
		memset(va, x->value, len);
		break;
	}
}

/*
 * Is [addr, addr + len) ordinary RAM that a device may DMA to?  Address 0,
 * memory above physmem_size, invalid pfns and reserved pages (the kernel
 * image, which also contains the virt-pci MSI address) are not.
 */
bool lbep_ram_ok(u64 addr, size_t len)
{
	unsigned long pfn;
	u64 end;

	if (!addr || !len || check_add_overflow(addr, (u64)len, &end) ||
	    end > physmem_size)
		return false;

	for (pfn = PHYS_PFN(addr); pfn <= PHYS_PFN(end - 1); pfn++) {
		if (!pfn_valid(pfn) || PageReserved(pfn_to_page(pfn)))
			return false;
	}

	return true;
}

/*
 * May the endpoint access [addr, addr + len) of host RAM?  With the
 * exerciser's confinement on, only inside its host buffer (see host-dma in
 * pci-loopback-ep-debugfs.c).
 */
bool lbep_host_ram_ok(struct lbep *ep, u64 addr, size_t len)
{
	return lbep_ram_ok(addr, len) && lbep_dbg_confine_ok(ep, addr, len);
}

/* ------------------------------------------------------------------------
 * Endpoint side of a transaction: doorbells and endpoint RAM
 */

/*
 * Access @len bytes of endpoint physical memory at @phys; the range does not
 * cross a page boundary.  @ram_only restricts the access to RAM (used for
 * the controller's own reads of the MSI-X table).  Returns false if the
 * access did not reach anything.  Called under rcu_read_lock().
 */
static bool lbep_ep_access(struct lbep *ep, phys_addr_t phys,
			   struct lbep_xfer *x, size_t len, bool ram_only)
{
	struct lbmsi *msi;
	u32 data;

	if (!ram_only && ep->nr_aux &&
	    lbep_range_overlaps(phys, len, ep->db_page, PAGE_SIZE)) {
		if (lbep_xfer_is_write32(x, phys, len, &data))
			lbep_aux_ring(ep, phys - ep->db_page, data);
		else
			lbep_xfer_fill(x, 0, len);
		return true;
	}

	msi = ram_only ? NULL : lbmsi_lookup(phys, len);
	if (msi) {
		if (!ep->msi_reachable) {
			dev_warn_ratelimited(ep->dev,
					     "inbound %s at %pa does not reach %s\n",
					     lbep_xfer_name(x), &phys,
					     lbmsi_name(msi));
			lbep_xfer_fill(x, 0xff, len);
			return false;
		}

		if (lbep_xfer_is_write32(x, phys, len, &data))
			lbmsi_doorbell(msi, phys, data);
		else
			lbep_xfer_fill(x, 0, len);
		return true;
	}

	if (lbep_ram_ok(phys, len)) {
		lbep_xfer_ram(x, phys_to_virt(phys), len);
		return true;
	}

	lbep_xfer_fill(x, 0xff, len);
	return false;
}

/*
 * An inbound 32-bit write of @val at endpoint address @phys, dispatched as
 * a host write through a BAR is once translated (doorbell, MSI controller
 * or RAM).  For the bus exerciser's doorbell latency floor.
 */
bool lbep_ib_write32_phys(struct lbep *ep, phys_addr_t phys, u32 val)
{
	u8 buf[sizeof(u32)];
	struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buf };
	bool hit;

	put_unaligned_le32(val, buf);
	rcu_read_lock();
	hit = lbep_ep_access(ep, phys, &x, sizeof(buf), false);
	rcu_read_unlock();

	return hit;
}

/*
 * Translate offset @off of @bar with @map.  On success *phys is the target
 * and *seg the number of bytes contiguous from there.  Otherwise *seg is the
 * number of bytes that are not backed.
 */
static bool lbep_ib_resolve(const struct lbep_ib_map *map, u64 off,
			    phys_addr_t *phys, u64 *seg)
{
	u64 start = 0;
	unsigned int i;

	if (!map || off >= map->size) {
		*seg = U64_MAX;
		return false;
	}

	if (!map->nr_sub) {
		*phys = map->phys + off;
		*seg = map->size - off;
		/* e.g. a vNTB memory window before mw_set_trans() */
		return map->phys != 0;
	}

	for (i = 0; i < map->nr_sub; i++) {
		u64 size = map->sub[i].size;

		if (off - start < size) {
			*phys = map->sub[i].phys + (off - start);
			*seg = size - (off - start);
			return map->sub[i].phys != 0;
		}
		start += size;
	}

	*seg = U64_MAX;
	return false;
}

/*
 * Access @len bytes at offset @off of @bar of @fn; returns false if not all
 * backed
 */
bool lbep_ib_xfer(struct lbep_fn *fn, enum pci_barno bar, u64 off,
		  struct lbep_xfer *x, size_t len, bool ram_only)
{
	struct lbep *ep = fn->ep;
	bool ok = true;

	while (len) {
		phys_addr_t phys = 0;
		size_t chunk;
		bool hit;
		u64 seg;

		rcu_read_lock();
		hit = lbep_ib_resolve(rcu_dereference(fn->bar[bar].map), off,
				      &phys, &seg);
		chunk = min_t(u64, len, seg);
		if (hit) {
			chunk = min_t(size_t, chunk,
				      PAGE_SIZE - offset_in_page(phys));
			hit = lbep_ep_access(ep, phys, x, chunk, ram_only);
		} else {
			lbep_xfer_fill(x, 0xff, chunk);
		}
		rcu_read_unlock();

		if (!hit)
			ok = false;
		lbep_xfer_advance(x, chunk);
		off += chunk;
		len -= chunk;
	}

	return ok;
}

/* Read MSI-X table entry @idx from the memory behind the table BAR */
bool lbep_msix_entry(struct lbep_fn *fn, u32 table, unsigned int idx,
		     u64 *addr, u32 *data, u32 *ctrl)
{
	enum pci_barno bir = FIELD_GET(PCI_MSIX_TABLE_BIR, table);
	u8 buf[PCI_MSIX_ENTRY_SIZE];
	struct lbep_xfer x = { .op = LBEP_XFER_READ, .rbuf = buf };
	u64 off;

	if (bir > BAR_5)
		return false;

	off = (u64)(table & PCI_MSIX_TABLE_OFFSET) +
	      (u64)idx * PCI_MSIX_ENTRY_SIZE;
	if (!lbep_ib_xfer(fn, bir, off, &x, sizeof(buf), true))
		return false;

	*addr = get_unaligned_le64(&buf[PCI_MSIX_ENTRY_LOWER_ADDR]);
	*data = get_unaligned_le32(&buf[PCI_MSIX_ENTRY_DATA]);
	*ctrl = get_unaligned_le32(&buf[PCI_MSIX_ENTRY_VECTOR_CTRL]);
	return true;
}

/* ------------------------------------------------------------------------
 * Host side of a transaction: virt-pci MSI and host RAM
 */

/* Is @data an MSI or MSI-X message the host programmed into @fn? */
static bool lbep_host_msi_valid(struct lbep_fn *fn, u32 data)
{
	u32 ent_data = 0, ent_ctrl = 0;
	unsigned int i, nvec;
	struct lbep_irq_cfg c;
	u64 ent_addr = 0;

	lbep_cfg_irq(fn, &c);
	if (c.msi_addr == LBEP_VPCI_MSI_ADDR && data >= c.msi_data &&
	    data - c.msi_data < lbep_msi_nvec(&c))
		return true;

	nvec = lbep_msix_nvec(&c);
	if (c.msix_ctrl & PCI_MSIX_FLAGS_MASKALL)
		return false;

	for (i = 0; i < nvec; i++) {
		if (!lbep_msix_entry(fn, c.msix_table, i, &ent_addr, &ent_data,
				     &ent_ctrl))
			continue;
		if (ent_addr == LBEP_VPCI_MSI_ADDR && ent_data == data &&
		    !(ent_ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT))
			return true;
	}

	return false;
}

static bool lbep_host_msi(struct lbep_fn *fn, u32 data)
{
	if (!lbep_host_msi_valid(fn, data)) {
		dev_warn_ratelimited(fn->ep->dev,
				     "MSI data %#x matches no enabled vector of function %u, dropped\n",
				     data, fn->func_no);
		return false;
	}

	return !generic_handle_irq_safe(data);
}

/*
 * Access @len bytes of host PCI address space at @pci on behalf of function
 * @fn of the endpoint; the range does not cross a page boundary.  Returns
 * false if the access did not reach anything.  Called under
 * rcu_read_lock().
 */
bool lbep_host_access(struct lbep_fn *fn, u64 pci, struct lbep_xfer *x,
		      size_t len)
{
	struct lbep *ep = fn->ep;
	u32 data;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "host access outside RCU");

	/* No transactions without link, or while bus mastering is off */
	if (!READ_ONCE(ep->link_up) || !lbep_bus_master(ep, fn))
		goto drop;

	if (lbep_range_overlaps(pci, len, LBEP_VPCI_MSI_PAGE, PAGE_SIZE)) {
		if (pci == LBEP_VPCI_MSI_ADDR &&
		    lbep_xfer_is_write32(x, pci, len, &data))
			return lbep_host_msi(fn, data);
		goto drop;
	}

	if (lbep_host_ram_ok(ep, pci, len)) {
		lbep_xfer_ram(x, phys_to_virt(pci), len);
		return true;
	}

drop:
	lbep_xfer_fill(x, 0xff, len);
	return false;
}

/* Memory write of @val to host PCI address @pci by @fn (MSI, MSI-X) */
int lbep_host_write32(struct lbep_fn *fn, u64 pci, u32 val)
{
	struct lbep *ep = fn->ep;
	u8 buf[sizeof(u32)];
	struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buf };
	bool ok = false;

	put_unaligned_le32(val, buf);

	if (IS_ALIGNED(pci, sizeof(u32))) {
		rcu_read_lock();
		ok = lbep_host_access(fn, pci, &x, sizeof(buf));
		rcu_read_unlock();
	}

	if (!ok)
		dev_warn_ratelimited(ep->dev,
				     "interrupt write %#x to %#llx not delivered\n",
				     val, pci);

	return ok ? 0 : -EIO;
}
