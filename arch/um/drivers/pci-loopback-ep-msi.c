// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller for User Mode Linux: the emulated
 * platform-MSI controller ("uml,loopback-msi"), an immutable MSI parent
 * domain like a GICv3 ITS.  The message of every vector is { address =
 * base of the doorbell region, data = hwirq }; a 32-bit write of a vector's
 * data to the base address, reaching the region through a BAR mapped over
 * it, fires the vector.
 *
 * Interface to the endpoint controller:
 *   lbmsi_lookup(phys, len)  - controller whose doorbell region overlaps
 *                              [phys, phys + len), NULL if none; call under
 *                              rcu_read_lock()
 *   lbmsi_doorbell(msi, phys, data)
 *                            - a 32-bit write of @data landed at @phys in
 *                              the doorbell region; fires hwirq @data with
 *                              generic_handle_domain_irq_safe()
 *   lbmsi_name(msi)          - its device name, for messages
 *   lbmsi_of_parent(dev)     - the controller that is the msi-parent of
 *                              @dev, NULL if none
 *   lbmsi_test_vector_alloc(msi, &addr, &data), lbmsi_test_vector_free(virq)
 *                            - a vector allocated in the parent domain
 *                              itself, with no device domain: for the bus
 *                              exerciser's doorbell latency floor
 */

#define pr_fmt(fmt) "pci-loopback-ep: " fmt

#include <linux/bitmap.h>
#include <linux/cleanup.h>
#include <linux/device.h>
#include <linux/irq.h>
#include <linux/irqchip/irq-msi-lib.h>
#include <linux/irqdomain.h>
#include <linux/irq_work.h>
#include <linux/list.h>
#include <linux/msi.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/platform_device.h>
#include <linux/rculist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include <as-layout.h>

#include "pci-loopback-ep.h"

#define LBMSI_NR_VECTORS	64

/**
 * struct lbmsi - loopback platform-MSI controller
 * @dev: platform device
 * @base: doorbell address (message address of every vector)
 * @size: size of the doorbell region
 * @domain: MSI parent domain
 * @nr_vectors: number of vectors (DT "uml,msi-vectors", at most 64)
 * @lock: protects @used
 * @used: allocated hwirqs
 * @node: entry in lbmsi_list (RCU)
 * @work: signals written vectors in hard IRQ context
 * @pending: vectors written and not yet signalled
 */
struct lbmsi {
	struct device *dev;
	phys_addr_t base;
	u64 size;
	struct irq_domain *domain;
	unsigned int nr_vectors;
	raw_spinlock_t lock;	/* see kernel-doc */
	DECLARE_BITMAP(used, LBMSI_NR_VECTORS);
	struct list_head node;
	struct lbep_signal work;
	DECLARE_BITMAP(pending, LBMSI_NR_VECTORS);
};

static LIST_HEAD(lbmsi_list);
static DEFINE_MUTEX(lbmsi_list_lock);	/* writers of lbmsi_list */

struct lbmsi *lbmsi_lookup(phys_addr_t phys, size_t len)
{
	struct lbmsi *msi;

	list_for_each_entry_rcu(msi, &lbmsi_list, node) {
		if (lbep_range_overlaps(phys, len, msi->base, msi->size))
			return msi;
	}

	return NULL;
}

const char *lbmsi_name(const struct lbmsi *msi)
{
	return dev_name(msi->dev);
}

void lbmsi_doorbell(struct lbmsi *msi, phys_addr_t phys, u32 data)
{
	u64 offset = phys - msi->base;

	if (offset) {
		dev_warn_ratelimited(msi->dev,
				     "write %#x at doorbell offset %#llx ignored\n",
				     data, offset);
		return;
	}

	if (data >= msi->nr_vectors) {
		dev_warn_ratelimited(msi->dev, "write of invalid vector %#x\n",
				     data);
		return;
	}

	/* Like an ITS, signal the vector asynchronously, in hard IRQ context */
	set_bit(data, msi->pending);
	lbep_signal_raise(&msi->work);
}

static void lbmsi_deliver(struct lbep_signal *work)
{
	struct lbmsi *msi = container_of(work, struct lbmsi, work);
	unsigned int hwirq;
	int ret;

	for_each_set_bit(hwirq, msi->pending, LBMSI_NR_VECTORS) {
		if (!test_and_clear_bit(hwirq, msi->pending))
			continue;
		ret = generic_handle_domain_irq_safe(msi->domain, hwirq);
		if (ret)
			dev_warn_ratelimited(msi->dev,
					     "vector %u is not allocated (%d)\n",
					     hwirq, ret);
	}
}

struct lbmsi *lbmsi_of_parent(struct device *dev)
{
	struct device_node *np;
	struct lbmsi *msi, *found = NULL;

	np = of_parse_phandle(dev->of_node, "msi-parent", 0);
	if (!np)
		return NULL;

	guard(mutex)(&lbmsi_list_lock);
	list_for_each_entry(msi, &lbmsi_list, node) {
		if (msi->dev->of_node == np) {
			found = msi;
			break;
		}
	}
	of_node_put(np);

	return found;
}

/* Returns the virq of a new vector whose message is @addr, @data */
int lbmsi_test_vector_alloc(struct lbmsi *msi, phys_addr_t *addr, u32 *data)
{
	int virq;

	virq = irq_domain_alloc_irqs(msi->domain, 1, NUMA_NO_NODE, NULL);
	if (virq < 0)
		return virq;

	*addr = msi->base;
	*data = irq_get_irq_data(virq)->hwirq;

	return virq;
}

void lbmsi_test_vector_free(unsigned int virq)
{
	irq_domain_free_irqs(virq, 1);
}

/* The emulated controller has nothing to ack or mask */
static void lbmsi_irq_nop(struct irq_data *d)
{
}

static void lbmsi_compose_msi_msg(struct irq_data *d, struct msi_msg *msg)
{
	struct lbmsi *msi = irq_data_get_irq_chip_data(d);

	msg->address_hi = upper_32_bits(msi->base);
	msg->address_lo = lower_32_bits(msi->base);
	msg->data = d->hwirq;
}

static const struct irq_chip lbmsi_bottom_chip = {
	.name			= "UML-LB-MSI",
	.irq_ack		= lbmsi_irq_nop,
	.irq_mask		= lbmsi_irq_nop,
	.irq_unmask		= lbmsi_irq_nop,
	.irq_compose_msi_msg	= lbmsi_compose_msi_msg,
	.flags			= IRQCHIP_SKIP_SET_WAKE,
};

static int lbmsi_domain_alloc(struct irq_domain *domain, unsigned int virq,
			      unsigned int nr_irqs, void *arg)
{
	struct lbmsi *msi = domain->host_data;
	unsigned long hwirq, flags;
	unsigned int i;

	raw_spin_lock_irqsave(&msi->lock, flags);
	hwirq = bitmap_find_next_zero_area(msi->used, msi->nr_vectors, 0,
					   nr_irqs, 0);
	if (hwirq + nr_irqs <= msi->nr_vectors)
		bitmap_set(msi->used, hwirq, nr_irqs);
	raw_spin_unlock_irqrestore(&msi->lock, flags);

	if (hwirq + nr_irqs > msi->nr_vectors)
		return -ENOSPC;

	for (i = 0; i < nr_irqs; i++)
		irq_domain_set_info(domain, virq + i, hwirq + i,
				    &lbmsi_bottom_chip, msi, handle_edge_irq,
				    NULL, NULL);

	return 0;
}

static void lbmsi_domain_free(struct irq_domain *domain, unsigned int virq,
			      unsigned int nr_irqs)
{
	struct irq_data *d = irq_domain_get_irq_data(domain, virq);
	struct lbmsi *msi = domain->host_data;
	unsigned long flags;

	if (!d)
		return;

	raw_spin_lock_irqsave(&msi->lock, flags);
	bitmap_clear(msi->used, d->hwirq, nr_irqs);
	raw_spin_unlock_irqrestore(&msi->lock, flags);
}

static const struct irq_domain_ops lbmsi_domain_ops = {
	.select	= msi_lib_irq_domain_select,
	.alloc	= lbmsi_domain_alloc,
	.free	= lbmsi_domain_free,
};

static const struct msi_parent_ops lbmsi_parent_ops = {
	.required_flags		= MSI_FLAG_USE_DEF_DOM_OPS |
				  MSI_FLAG_USE_DEF_CHIP_OPS |
				  MSI_FLAG_NO_AFFINITY,
	.supported_flags	= MSI_GENERIC_FLAGS_MASK,
	/* handle_edge_irq() acks through the per-device chip */
	.chip_flags		= MSI_CHIP_FLAG_SET_ACK,
	.bus_select_token	= DOMAIN_BUS_NEXUS,
	.bus_select_mask	= MATCH_PLATFORM_MSI,
	.prefix			= "UML-LB-",
	.init_dev_msi_info	= msi_lib_init_dev_msi_info,
};

static int lbmsi_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct irq_domain_info info = {
		.fwnode		= dev_fwnode(dev),
		.ops		= &lbmsi_domain_ops,
		.size		= LBMSI_NR_VECTORS,
		/* pci-ep-msi only accepts immutable MSI parents */
		.domain_flags	= IRQ_DOMAIN_FLAG_MSI_IMMUTABLE,
		.dev		= dev,
	};
	struct resource *res;
	struct lbmsi *msi, *other;

	res = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	if (!res)
		return dev_err_probe(dev, -EINVAL, "missing reg\n");

	if (!PAGE_ALIGNED(res->start) || resource_size(res) < sizeof(u32) ||
	    res->end >= SZ_4G || res->start < physmem_size)
		return dev_err_probe(dev, -EINVAL, "bad doorbell region %pR\n",
				     res);

	msi = devm_kzalloc(dev, sizeof(*msi), GFP_KERNEL);
	if (!msi)
		return -ENOMEM;

	msi->dev = dev;
	msi->base = res->start;
	msi->size = resource_size(res);
	msi->nr_vectors = LBMSI_NR_VECTORS;

	/* Test knobs (KUnit): fewer vectors, or a mutable MSI parent */
	of_property_read_u32(dev->of_node, "uml,msi-vectors", &msi->nr_vectors);
	if (!msi->nr_vectors || msi->nr_vectors > LBMSI_NR_VECTORS)
		return dev_err_probe(dev, -EINVAL, "bad uml,msi-vectors %u\n",
				     msi->nr_vectors);
	info.size = msi->nr_vectors;
	if (of_property_read_bool(dev->of_node, "uml,msi-mutable"))
		info.domain_flags &= ~IRQ_DOMAIN_FLAG_MSI_IMMUTABLE;
	raw_spin_lock_init(&msi->lock);
	lbep_signal_init(&msi->work, lbmsi_deliver);
	info.host_data = msi;

	guard(mutex)(&lbmsi_list_lock);

	list_for_each_entry(other, &lbmsi_list, node) {
		if (lbep_range_overlaps(msi->base, msi->size, other->base,
					other->size))
			return dev_err_probe(dev, -EBUSY,
					     "doorbell overlaps %s\n",
					     dev_name(other->dev));
	}

	msi->domain = msi_create_parent_irq_domain(&info, &lbmsi_parent_ops);
	if (!msi->domain)
		return dev_err_probe(dev, -ENOMEM,
				     "cannot create MSI parent domain\n");

	list_add_tail_rcu(&msi->node, &lbmsi_list);
	platform_set_drvdata(pdev, msi);

	dev_info(dev, "loopback MSI controller, doorbell %pa, %u vectors%s\n",
		 &msi->base, msi->nr_vectors,
		 info.domain_flags & IRQ_DOMAIN_FLAG_MSI_IMMUTABLE ?
		 "" : ", mutable");

	return 0;
}

static const struct of_device_id lbmsi_of_match[] = {
	{ .compatible = "uml,loopback-msi" },
	{ }
};

/*
 * The MSI parent domain cannot go away while endpoint controllers may have
 * per-device domains stacked on it, so the controller cannot be unbound.
 */
struct platform_driver lbmsi_driver = {
	.probe = lbmsi_probe,
	.driver = {
		.name			= "uml-loopback-msi",
		.of_match_table		= lbmsi_of_match,
		.suppress_bind_attrs	= true,
	},
};
