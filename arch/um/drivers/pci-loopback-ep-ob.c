// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller for User Mode Linux: the outbound
 * window.  It is a logic_iomem region, so that pci_epc_mem_alloc_addr()
 * can ioremap() it; accesses are translated through the table set with
 * pci_epc_map_addr() to host PCI addresses.
 */

#define pr_fmt(fmt) "pci-loopback-ep: " fmt

#include <linux/ioport.h>
#include <linux/logic_iomem.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/unaligned.h>

#include "pci-loopback-ep.h"

#define LBEP_NR_WINDOW_SLOTS	4	/* controller instances */

/**
 * struct lbep_window_slot - outbound window registered with logic_iomem
 * @res: the window; registered once and never released, because
 *	 logic_iomem has no way to remove a region
 * @registered: @res is registered with logic_iomem
 * @owner: controller currently using the window, NULL if none
 *
 * logic_iomem_region_ops::map() gets no context pointer, so each slot has its
 * own map() trampoline.  A controller that is unbound and bound again with
 * the same window reuses its slot.
 */
struct lbep_window_slot {
	struct resource res;
	bool registered;
	struct lbep __rcu *owner;
};

/* priv of one ioremap() of an outbound window */
struct lbep_ob_mapping {
	struct lbep_window_slot *slot;
	phys_addr_t base;
	size_t size;
};

static struct lbep_window_slot lbep_slots[LBEP_NR_WINDOW_SLOTS];
static DEFINE_MUTEX(lbep_slots_lock);	/* slot registration and owners */

/* On a hit, *func_no (if not NULL) is the function the window belongs to */
bool lbep_ob_translate(struct lbep *ep, phys_addr_t cpu, u64 *pci,
		       u64 *seg, u8 *func_no)
{
	unsigned long flags;
	bool found = false;
	unsigned int i;

	raw_spin_lock_irqsave(&ep->ob_lock, flags);
	for (i = 0; i < LBEP_NR_OB; i++) {
		const struct lbep_ob *e = &ep->ob[i];

		if (!e->size || cpu < e->cpu || cpu - e->cpu >= e->size)
			continue;

		*pci = e->pci + (cpu - e->cpu);
		*seg = e->size - (cpu - e->cpu);
		if (func_no)
			*func_no = e->func_no;
		found = true;
		break;
	}
	raw_spin_unlock_irqrestore(&ep->ob_lock, flags);

	return found;
}

/*
 * The controller whose outbound window holds @cpu, or NULL.  Called under
 * rcu_read_lock(); the result stays valid until rcu_read_unlock()
 * (lbep_window_detach() waits for readers).
 */
struct lbep *lbep_window_owner(phys_addr_t cpu)
{
	unsigned int i;

	for (i = 0; i < LBEP_NR_WINDOW_SLOTS; i++) {
		struct lbep *ep = rcu_dereference(lbep_slots[i].owner);

		if (ep && cpu >= ep->win_base &&
		    cpu - ep->win_base < ep->win_size)
			return ep;
	}

	return NULL;
}

static void lbep_ob_xfer(struct lbep_ob_mapping *m, unsigned int offset,
			 struct lbep_xfer *x, size_t len)
{
	phys_addr_t cpu = m->base + offset;
	size_t total = len;
	bool ok = true;

	if (offset > m->size || len > m->size - offset) {
		pr_warn_ratelimited("%s of %zu bytes at %pa exceeds its %zu byte mapping\n",
				    lbep_xfer_name(x), len, &cpu, m->size);
		lbep_xfer_fill(x, 0xff, len);
		return;
	}

	while (len) {
		size_t chunk = min_t(size_t, len, PAGE_SIZE - offset_in_page(cpu));
		struct lbep *ep;
		bool hit = false;
		u64 pci, seg;
		u8 func_no;

		rcu_read_lock();
		ep = rcu_dereference(m->slot->owner);
		if (ep && lbep_ob_translate(ep, cpu, &pci, &seg, &func_no) &&
		    func_no < ep->nr_funcs) {
			chunk = min_t(u64, chunk, seg);
			chunk = min_t(size_t, chunk,
				      PAGE_SIZE - offset_in_page(pci));
			hit = lbep_host_access(&ep->fn[func_no], pci, x, chunk);
		} else {
			lbep_xfer_fill(x, 0xff, chunk);
		}
		rcu_read_unlock();

		if (!hit)
			ok = false;
		lbep_xfer_advance(x, chunk);
		cpu += chunk;
		len -= chunk;
	}

	if (!ok) {
		cpu = m->base + offset;
		pr_warn_ratelimited("outbound %s of %zu bytes at %pa not (fully) delivered\n",
				    lbep_xfer_name(x), total, &cpu);
	}
}

static unsigned long lbep_ob_read(void *priv, unsigned int offset, int size)
{
	u8 buf[sizeof(u64)];
	struct lbep_xfer x = { .op = LBEP_XFER_READ, .rbuf = buf };

	if (!lbep_size_ok(size))
		return ULONG_MAX;

	lbep_ob_xfer(priv, offset, &x, size);
	return lbep_le_to_ulong(buf, size);
}

static void lbep_ob_write(void *priv, unsigned int offset, int size,
			  unsigned long val)
{
	u8 buf[sizeof(u64)];
	struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buf };

	if (!lbep_size_ok(size))
		return;

	put_unaligned_le64(val, buf);
	lbep_ob_xfer(priv, offset, &x, size);
}

static void lbep_ob_set(void *priv, unsigned int offset, u8 value, int size)
{
	struct lbep_xfer x = { .op = LBEP_XFER_SET, .value = value };

	if (size > 0)
		lbep_ob_xfer(priv, offset, &x, size);
}

static void lbep_ob_copy_from(void *priv, void *buffer, unsigned int offset,
			      int size)
{
	struct lbep_xfer x = { .op = LBEP_XFER_READ, .rbuf = buffer };

	if (size > 0)
		lbep_ob_xfer(priv, offset, &x, size);
}

static void lbep_ob_copy_to(void *priv, unsigned int offset,
			    const void *buffer, int size)
{
	struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buffer };

	if (size > 0)
		lbep_ob_xfer(priv, offset, &x, size);
}

static void lbep_ob_unmap(void *priv)
{
	kfree(priv);
}

static const struct logic_iomem_ops lbep_ob_ops = {
	.read		= lbep_ob_read,
	.write		= lbep_ob_write,
	.set		= lbep_ob_set,
	.copy_from	= lbep_ob_copy_from,
	.copy_to	= lbep_ob_copy_to,
	.unmap		= lbep_ob_unmap,
};

/* ioremap() of (part of) a window; called with logic_iomem's mutex held */
static long lbep_ob_map(struct lbep_window_slot *slot, unsigned long offset,
			size_t size, const struct logic_iomem_ops **ops,
			void **priv)
{
	struct lbep_ob_mapping *m;

	/* logic_iomem cannot address more than 16 MiB per mapping */
	if (!size || size > LBEP_MAX_MAP_SIZE)
		return -EINVAL;

	if (!rcu_access_pointer(slot->owner))
		return -ENODEV;

	m = kzalloc_obj(*m);
	if (!m)
		return -ENOMEM;

	m->slot = slot;
	m->base = slot->res.start + offset;
	m->size = size;
	*ops = &lbep_ob_ops;
	*priv = m;

	return 0;
}

/* The map() trampoline of slot @n, see struct lbep_window_slot */
#define LBEP_OB_MAP_SLOT(n)						\
static long lbep_ob_map##n(unsigned long offset, size_t size,		\
			   const struct logic_iomem_ops **ops,		\
			   void **priv)					\
{									\
	return lbep_ob_map(&lbep_slots[n], offset, size, ops, priv);	\
}

LBEP_OB_MAP_SLOT(0)
LBEP_OB_MAP_SLOT(1)
LBEP_OB_MAP_SLOT(2)
LBEP_OB_MAP_SLOT(3)

static const struct logic_iomem_region_ops lbep_slot_ops[LBEP_NR_WINDOW_SLOTS] = {
	{ .map = lbep_ob_map0 },
	{ .map = lbep_ob_map1 },
	{ .map = lbep_ob_map2 },
	{ .map = lbep_ob_map3 },
};

int lbep_window_attach(struct lbep *ep)
{
	struct lbep_window_slot *slot = NULL;
	int i, free_idx = -1, ret;

	guard(mutex)(&lbep_slots_lock);

	for (i = 0; i < LBEP_NR_WINDOW_SLOTS; i++) {
		struct lbep_window_slot *s = &lbep_slots[i];

		if (!s->registered) {
			if (free_idx < 0)
				free_idx = i;
			continue;
		}

		if (s->res.start == ep->win_base &&
		    resource_size(&s->res) == ep->win_size) {
			if (rcu_access_pointer(s->owner))
				return -EBUSY;
			slot = s;
			break;
		}
	}

	if (!slot) {
		if (free_idx < 0)
			return -ENOSPC;

		slot = &lbep_slots[free_idx];
		slot->res = DEFINE_RES_MEM_NAMED(ep->win_base, ep->win_size,
						 "uml-pci-loopback-ep window");
		ret = logic_iomem_add_region(&slot->res, &lbep_slot_ops[free_idx]);
		if (ret) {
			memset(&slot->res, 0, sizeof(slot->res));
			return -EBUSY;
		}
		slot->registered = true;
	}

	rcu_assign_pointer(slot->owner, ep);
	ep->slot = slot;

	return 0;
}

void lbep_window_detach(struct lbep *ep)
{
	mutex_lock(&lbep_slots_lock);
	RCU_INIT_POINTER(ep->slot->owner, NULL);
	mutex_unlock(&lbep_slots_lock);

	/* Outbound accessors dereference the owner under RCU */
	synchronize_rcu();
	ep->slot = NULL;
}
