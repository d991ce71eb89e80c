// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller for User Mode Linux.
 *
 * A single UML kernel plays both ends of a PCI link.  The endpoint side is a
 * regular PCI endpoint controller (struct pci_epc) that endpoint functions
 * (pci-epf-test, pci-epf-vntb, ...) bind to through configfs.  The root
 * complex side is a virt-pci device (struct um_pci_device): when the
 * endpoint controller is started, the function shows up on the virt-pci bus
 * and host drivers (pci_endpoint_test, ntb_hw_epf, ...) bind to it.
 *
 * Address spaces:
 *
 *  - Host RAM and endpoint RAM are the same UML physical memory (phys 0 ..
 *    physmem_size, dma_addr_t == phys_addr_t).  Pages that are not RAM, that
 *    are reserved (kernel image) or that start at address 0 are never
 *    accessed; such accesses are dropped (writes) or read as all-ones.
 *  - Inbound (host -> endpoint): host accesses to a BAR are routed by
 *    virt-pci to the bar_* callbacks, translated through the per-BAR
 *    inbound map set with pci_epc_set_bar() (optionally split into
 *    subranges) and dispatched to (1) an endpoint doorbell, (2) endpoint RAM
 *    or (3) nothing.
 *  - Outbound (endpoint -> host): the controller window given in the DT is
 *    registered as a logic_iomem region, so pci_epc_mem_alloc_addr() can
 *    ioremap() it.  Accesses are translated through the table set with
 *    pci_epc_map_addr() and dispatched to (1) the virt-pci MSI address
 *    0xa0000, (2) host RAM or (3) nothing.
 *  - MSI/MSI-X to the host follow the virt-pci convention: address 0xa0000,
 *    data = Linux irq number of the first vector; vector n (1-based) of a
 *    multi-message MSI block is signalled with data + n - 1 (not data |
 *    (n - 1): virt-pci does not align the block).  Every such write is
 *    checked against the MSI capability and the MSI-X table of the function
 *    before the irq is handled.
 *  - Doorbells (aux doorbell registers, loopback MSI controllers): a
 *    naturally aligned 32-bit write rings, other writes are ignored, reads
 *    return 0.
 *  - EP -> host transactions (outbound, MSI, DMA) need the link up and Bus
 *    Master Enable; host BAR accesses need Memory Space Enable.
 *
 * Functions: "max-functions" (default 1, at most 8) physical functions,
 * each with its own configuration space, BARs, inbound translations and
 * MSI/MSI-X capabilities (struct lbep_fn, indexed by the func_no of the
 * EPC operations).  On the host side they are the functions of one
 * multi-function virt-pci device (function 0's header type says so), so
 * host drivers bind each on its own.  The outbound window, its translation
 * table (each entry remembers the function that mapped it, whose Bus
 * Master Enable and MSI programming its transactions obey), the embedded
 * doorbells, the DMA engine and the link are the controller's, shared by
 * its functions.
 *
 * Link: start() queues a work item that calls pci_epc_linkup() and then
 * registers the virt-pci device (link training precedes enumeration);
 * stop() unregisters it, calls pci_epc_linkdown() and resets everything the
 * host programmed.  From start() until the host side is gone, BAR sizes and
 * flags are frozen: pci_epc_set_bar() on a configured BAR only retargets it
 * (same flags, size not larger), clear_bar() leaves it unbacked.
 *
 * A small dmaengine provider on the controller's device offers slave
 * channels (DEV_TO_MEM reads host memory, MEM_TO_DEV writes it) and memcpy
 * between endpoint addresses, executed from a work item.  A debugfs bus
 * exerciser lets user space play the host (see pci-loopback-ep-debugfs.c).
 *
 * Parts (pci-loopback-ep.h holds what they share):
 *
 *  pci-loopback-ep-core.c	probe and remove, devicetree parsing, embedded
 *				doorbells, link management
 *  pci-loopback-ep-epc.c	endpoint controller operations
 *  pci-loopback-ep-cfg.c	shadow configuration space, virt-pci callbacks
 *  pci-loopback-ep-xfer.c	memory transactions: inbound through a BAR,
 *				endpoint to host (MSI, host RAM)
 *  pci-loopback-ep-ob.c	outbound window (logic_iomem)
 *  pci-loopback-ep-msi.c	platform-MSI controller ("uml,loopback-msi")
 *  pci-loopback-ep-dma.c	dmaengine provider (CONFIG_DMA_ENGINE)
 *  pci-loopback-ep-debugfs.c	host-side bus exerciser (CONFIG_DEBUG_FS)
 *
 * Devicetree bindings (the nodes only exist in UML test DTBs):
 * Documentation/devicetree/bindings/pci/uml,pci-loopback-ep.yaml and
 * Documentation/devicetree/bindings/interrupt-controller/uml,loopback-msi.yaml.
 *
 * Contexts and locking:
 *
 *  virt-pci calls the config and BAR callbacks without any lock, from any
 *  context including hard interrupt context, and with arbitrary spinlocks of
 *  host drivers held.  The same holds for the outbound logic_iomem callbacks
 *  (EP code may access a window under a spinlock).  Those paths therefore
 *  never sleep and never take epc->lock:
 *
 *  - epc->lock (mutex, EPC core): serialises all pci_epc_ops; every op of
 *    pci-loopback-ep-epc.c runs with it held.  The driver also takes it in
 *    the link work after the host side is gone.  Writers of bar[].map, bar[]
 *    geometry, ob[], link_want and host_visible hold it.
 *  - lbep::cfg_lock (raw spinlock, irqsave): the shadow config space of
 *    every function (cfg[], wmask[], msi_cap, msix_cap, cmd) and the BAR
 *    geometry copy used by it.  Never held while calling out (IRQ
 *    delivery, memcpy of payload).
 *  - lbep::ob_lock (raw spinlock, irqsave): the outbound table ob[].  Only
 *    held to look an entry up or to change it.
 *  - RCU: bar[].map (inbound translations, freed with kfree_rcu()), the
 *    owner of an outbound window slot, the list of loopback MSI controllers,
 *    and link_up.  Every delivery of an interrupt to the host and every
 *    EP -> host access happens inside an RCU read-side section that checked
 *    link_up; the link work clears link_up and waits for a grace period
 *    before it unregisters the virt-pci device (which frees the INTx
 *    descriptor).
 *  - lbep_slots_lock, lbmsi_list_lock (mutexes): registration of outbound
 *    window slots and of MSI controllers (process context only).
 *  - lbmsi::lock (raw spinlock): the hwirq allocation bitmap.
 *  - lbep_dma_chan::lock (spinlock, irqsave): descriptor lists, cookies and
 *    slave configuration of one DMA channel.
 *
 *  Interrupts to the host are delivered synchronously with
 *  generic_handle_irq_safe(): the host ISR runs inside the endpoint's
 *  raise_irq().  Endpoint doorbells (MSI controller vectors and aux
 *  doorbells) are latched by the host's writel() and signalled
 *  asynchronously in hard interrupt context, as the interrupt controller or
 *  eDMA of a real SoC would, so endpoint code runs its doorbell handlers in
 *  the context real hardware gives them (and lockdep sees that context).
 *  The signal (struct lbep_signal) is an irq_work, which UML runs from the
 *  next timer tick (it has no irq_work interrupt: up to one jiffy, 10 ms),
 *  or with pci_loopback_ep.doorbell_timer=1 a hard hrtimer that expires at
 *  once (microseconds, as on hardware).
 *
 *  virt-pci registration (which probes host drivers synchronously) and
 *  removal happen from a work item that holds no lock, so host drivers may
 *  talk to endpoint functions (and thus call pci_epc_* ops) while probing.
 */

#define pr_fmt(fmt) "pci-loopback-ep: " fmt

#include <linux/device.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/irq_work.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/pci-epc.h>
#include <linux/platform_device.h>
#include <linux/property.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include <as-layout.h>

#include "pci-loopback-ep.h"

#define LBEP_DEFAULT_DB_PAGE	0xd0001000ULL
#define LBEP_AUX_DB_STRIDE	0x10
#define LBEP_AUX_DB_DATA(i)	(0xdb00U + (i))
#define LBEP_DB_BAR		BAR_4
#define LBEP_DB_BAR_SIZE	SZ_4K

static const char * const lbep_db_mode_names[] = {
	[LBEP_DB_MSI]			= "msi",
	[LBEP_DB_MSI_UNREACHABLE]	= "msi-unreachable",
	[LBEP_DB_EMBEDDED]		= "embedded",
	[LBEP_DB_EMBEDDED_BAR]		= "embedded-bar",
	[LBEP_DB_MULTI]			= "multi",
	[LBEP_DB_NONE]			= "none",
};

enum lbep_profile {
	LBEP_PROFILE_GENERIC,
	LBEP_PROFILE_IMX8,
};

static const char * const lbep_dma_mode_names[] = {
	"memcpy",
	"slave",
	"none",
};

static const char * const lbep_profile_names[] = {
	[LBEP_PROFILE_GENERIC]	= "generic",
	[LBEP_PROFILE_IMX8]	= "imx8",
};

/* Region of the reserved doorbell BAR in "embedded-bar" mode */
const struct pci_epc_bar_rsvd_region lbep_db_bar_rsvd = {
	.type	= PCI_EPC_BAR_RSVD_DMA_CTRL_MMIO,
	.offset	= 0,
	.size	= LBEP_DB_BAR_SIZE,
};

/* ------------------------------------------------------------------------
 * Signalling of rung doorbells (aux doorbells, loopback MSI controllers)
 */

static bool lbep_db_timer;
module_param_named(doorbell_timer, lbep_db_timer, bool, 0444);
MODULE_PARM_DESC(doorbell_timer,
		 "Signal doorbells from a hard hrtimer (microseconds) instead of an irq_work (next tick)");

static void lbep_signal_work(struct irq_work *work)
{
	struct lbep_signal *sig = container_of(work, struct lbep_signal, work);

	sig->fn(sig);
}

static enum hrtimer_restart lbep_signal_timer(struct hrtimer *timer)
{
	struct lbep_signal *sig = container_of(timer, struct lbep_signal, timer);

	sig->fn(sig);
	return HRTIMER_NORESTART;
}

void lbep_signal_init(struct lbep_signal *sig,
		      void (*fn)(struct lbep_signal *sig))
{
	sig->fn = fn;
	sig->work = IRQ_WORK_INIT_HARD(lbep_signal_work);
	hrtimer_setup(&sig->timer, lbep_signal_timer, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_HARD);
}

/* Any context; the pending bits of the caller say what to deliver */
void lbep_signal_raise(struct lbep_signal *sig)
{
	if (READ_ONCE(lbep_db_timer))
		hrtimer_start(&sig->timer, 0, HRTIMER_MODE_REL_HARD);
	else
		irq_work_queue(&sig->work);
}

/* Waits for a delivery in progress; no new raise may come */
void lbep_signal_sync(struct lbep_signal *sig)
{
	irq_work_sync(&sig->work);
	hrtimer_cancel(&sig->timer);
}

/* ------------------------------------------------------------------------
 * Embedded (aux) doorbells, modelled on dw-edma's interrupt emulation
 */

/*
 * A naturally aligned 32-bit write of @data landed at @offset of the
 * doorbell page; called from inbound accesses, under rcu_read_lock().
 */
void lbep_aux_ring(struct lbep *ep, u64 offset, u32 data)
{
	unsigned int i;

	for (i = 0; i < ep->nr_aux; i++) {
		if (ep->aux[i].offset != offset)
			continue;

		if (data != ep->aux[i].data) {
			dev_dbg_ratelimited(ep->dev,
					    "doorbell %u: ignoring value %#x\n",
					    i, data);
			return;
		}

		/* Raised asynchronously, in hard IRQ context, as by an eDMA */
		set_bit(i, &ep->aux_pending);
		lbep_signal_raise(&ep->aux_work);
		return;
	}

	dev_dbg_ratelimited(ep->dev, "write to doorbell page offset %#llx ignored\n",
			    offset);
}

/* The doorbell is a pulse: nothing to deassert */
static void lbep_aux_irq_ack(struct irq_data *d)
{
}

static const struct irq_chip lbep_aux_irq_chip = {
	.name		= "uml-lb-doorbell",
	.irq_ack	= lbep_aux_irq_ack,
	.flags		= IRQCHIP_ONESHOT_SAFE | IRQCHIP_SKIP_SET_WAKE,
};

static void lbep_aux_deliver(struct lbep_signal *sig)
{
	struct lbep *ep = container_of(sig, struct lbep, aux_work);
	unsigned int i;

	for (i = 0; i < ep->nr_aux; i++)
		if (test_and_clear_bit(i, &ep->aux_pending))
			generic_handle_irq_safe(ep->aux[i].irq);
}

static int lbep_aux_init(struct lbep *ep, unsigned int nr)
{
	unsigned int i;
	int base;

	if (!nr)
		return 0;

	lbep_signal_init(&ep->aux_work, lbep_aux_deliver);
	base = irq_alloc_descs(-1, 1, nr, NUMA_NO_NODE);
	if (base < 0)
		return base;

	for (i = 0; i < nr; i++) {
		int irq = base + i;

		irq_set_chip_and_handler(irq, &lbep_aux_irq_chip,
					 handle_level_irq);
		irq_set_status_flags(irq, IRQ_LEVEL);
		irq_set_chip_data(irq, ep);
		irq_set_noprobe(irq);

		ep->aux[i].irq = irq;
		ep->aux[i].data = LBEP_AUX_DB_DATA(i);
		ep->aux[i].offset = i * LBEP_AUX_DB_STRIDE;
	}

	ep->aux_irq_base = base;
	ep->nr_aux = nr;

	return 0;
}

static void lbep_aux_free(struct lbep *ep)
{
	if (!ep->nr_aux)
		return;

	lbep_signal_sync(&ep->aux_work);
	irq_free_descs(ep->aux_irq_base, ep->nr_aux);
	ep->nr_aux = 0;
}

/* "embedded-bar": expose the doorbell page permanently through @bar of @fn */
static int lbep_reserve_db_bar(struct lbep_fn *fn, enum pci_barno bar)
{
	struct lbep *ep = fn->ep;
	struct lbep_bar *b = &fn->bar[bar];
	struct lbep_ib_map *map;
	unsigned long flags;

	map = kzalloc_flex(*map, sub, 0);
	if (!map)
		return -ENOMEM;

	map->size = LBEP_DB_BAR_SIZE;
	map->phys = ep->db_page;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	b->reserved = true;
	b->size = LBEP_DB_BAR_SIZE;
	b->flags = ep->features.bar[bar].only_64bit ?
		   PCI_BASE_ADDRESS_MEM_TYPE_64 : PCI_BASE_ADDRESS_MEM_TYPE_32;
	if ((b->flags & PCI_BASE_ADDRESS_MEM_TYPE_64) && bar < BAR_5)
		fn->bar[bar + 1].upper = true;
	lbep_cfg_program_bar(fn, bar);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	rcu_assign_pointer(b->map, map);

	return 0;
}

static void lbep_free_inbound(struct lbep *ep)
{
	struct lbep_ib_map *map;
	unsigned int f;
	int bar;

	for (f = 0; f < ep->nr_funcs; f++) {
		for (bar = BAR_0; bar <= BAR_5; bar++) {
			map = rcu_replace_pointer(ep->fn[f].bar[bar].map, NULL,
						  true);
			if (map)
				kfree_rcu(map, rcu);
		}
	}
}

static void lbep_clear_irqs(struct lbep *ep)
{
	unsigned int f;

	for (f = 0; f < ep->nr_funcs; f++)
		ep->fn[f].umdev.irq = 0;
}

/* ------------------------------------------------------------------------
 * Link management
 */

static int lbep_link_bring_up(struct lbep *ep)
{
	struct um_pci_device *devs[LBEP_MAX_FUNCS];
	unsigned int f;
	int ret;

	lbep_clear_irqs(ep);
	for (f = 0; f < ep->nr_funcs; f++)
		devs[f] = &ep->fn[f].umdev;
	WRITE_ONCE(ep->link_up, true);
	pci_epc_linkup(ep->epc);

	/* Host drivers probe inside this call, every function's */
	ret = um_pci_device_register_multi(devs, ep->nr_funcs);
	if (ret) {
		dev_err(ep->dev, "cannot register with virt-pci: %d\n", ret);
		WRITE_ONCE(ep->link_up, false);
		synchronize_rcu();
		pci_epc_linkdown(ep->epc);
		return ret;
	}

	ep->registered = true;
	dev_info(ep->dev, "link up\n");

	return 0;
}

static void lbep_link_bring_down(struct lbep *ep)
{
	/* Wait for EP -> host accesses and interrupt deliveries in flight */
	WRITE_ONCE(ep->link_up, false);
	synchronize_rcu();

	/* Function 0 takes the others with it */
	um_pci_device_unregister(&ep->fn[0].umdev);
	ep->registered = false;
	lbep_clear_irqs(ep);

	pci_epc_linkdown(ep->epc);

	/* A start() racing with this keeps the BAR geometry frozen */
	mutex_lock(&ep->epc->lock);
	if (!ep->link_want)
		ep->host_visible = false;
	lbep_reset_host_state(ep, !ep->link_want);
	mutex_unlock(&ep->epc->lock);

	dev_info(ep->dev, "link down\n");
}

/* Runs without locks; follows link_want until it is reached or fails */
static void lbep_link_work(struct work_struct *work)
{
	struct lbep *ep = container_of(work, struct lbep, link_work);

	for (;;) {
		bool want = READ_ONCE(ep->link_want);

		if (want == ep->registered)
			break;

		if (!want)
			lbep_link_bring_down(ep);
		else if (lbep_link_bring_up(ep))
			break;
	}
}

static void lbep_bme_work(struct work_struct *work)
{
	struct lbep *ep = container_of(work, struct lbep, bme_work);

	pci_epc_bus_master_enable_notify(ep->epc);
}

/* ------------------------------------------------------------------------
 * Probe and remove
 */

static int lbep_match_prop(struct device *dev, const char *prop,
			   const char * const *names, size_t n)
{
	int ret;

	if (!device_property_present(dev, prop))
		return 0;

	ret = device_property_match_property_string(dev, prop, names, n);
	if (ret < 0)
		return dev_err_probe(dev, ret, "invalid %s\n", prop);

	return ret;
}

static int lbep_parse_dt(struct lbep *ep, struct platform_device *pdev,
			 enum lbep_profile *profile)
{
	struct device *dev = &pdev->dev;
	u8 nr_funcs = 1;
	bool has_parent;
	struct resource *res;
	int ret;

	if (device_property_present(dev, "max-functions")) {
		ret = device_property_read_u8(dev, "max-functions", &nr_funcs);
		if (ret)
			return dev_err_probe(dev, ret, "invalid max-functions\n");
		if (!nr_funcs || nr_funcs > LBEP_MAX_FUNCS)
			return dev_err_probe(dev, -EINVAL,
					     "max-functions %u not in 1..%u\n",
					     nr_funcs, LBEP_MAX_FUNCS);
	}
	ep->nr_funcs = nr_funcs;

	res = platform_get_resource_byname(pdev, IORESOURCE_MEM, "addr_space");
	if (!res)
		res = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	if (!res)
		return dev_err_probe(dev, -EINVAL, "missing outbound window\n");

	ep->win_base = res->start;
	ep->win_size = resource_size(res);
	if (!PAGE_ALIGNED(ep->win_base) || !PAGE_ALIGNED(ep->win_size) ||
	    !ep->win_size || ep->win_base < physmem_size)
		return dev_err_probe(dev, -EINVAL, "bad outbound window %pR\n",
				     res);
	if (ep->win_size < 2 * LBEP_MAX_MAP_SIZE)
		dev_warn(dev, "outbound window of %llu bytes is small\n",
			 ep->win_size);

	res = platform_get_resource_byname(pdev, IORESOURCE_MEM, "doorbell");
	ep->db_page = res ? res->start : LBEP_DEFAULT_DB_PAGE;
	if (!PAGE_ALIGNED(ep->db_page) || ep->db_page < physmem_size ||
	    ep->db_page > SZ_4G - PAGE_SIZE ||
	    lbep_range_overlaps(ep->db_page, PAGE_SIZE, ep->win_base,
				ep->win_size))
		return dev_err_probe(dev, -EINVAL, "bad doorbell page %pa\n",
				     &ep->db_page);

	ret = lbep_match_prop(dev, "uml,doorbell", lbep_db_mode_names,
			      ARRAY_SIZE(lbep_db_mode_names));
	if (ret < 0)
		return ret;
	ep->db_mode = ret;

	ret = lbep_match_prop(dev, "uml,dma", lbep_dma_mode_names,
			      ARRAY_SIZE(lbep_dma_mode_names));
	if (ret < 0)
		return ret;
	ep->dma_slave = ret == 1;
	ep->dma_none = ret == 2;

	ret = lbep_match_prop(dev, "uml,profile", lbep_profile_names,
			      ARRAY_SIZE(lbep_profile_names));
	if (ret < 0)
		return ret;
	*profile = ret;

	has_parent = device_property_present(dev, "msi-parent") ||
		     device_property_present(dev, "msi-map");
	switch (ep->db_mode) {
	case LBEP_DB_MSI:
	case LBEP_DB_MSI_UNREACHABLE:
		if (!has_parent)
			dev_warn(dev, "doorbell mode %s without msi-parent\n",
				 lbep_db_mode_names[ep->db_mode]);
		break;
	default:
		if (has_parent)
			dev_warn(dev, "msi-parent present: pci-ep-msi will use it, not mode %s\n",
				 lbep_db_mode_names[ep->db_mode]);
		break;
	}

	return 0;
}

static void lbep_init_features(struct lbep *ep, enum lbep_profile profile)
{
	struct pci_epc_features *f = &ep->features;
	int bar;

	f->linkup_notifier = 1;
	f->dynamic_inbound_mapping = 1;
	f->subrange_mapping = 1;
	f->msi_capable = 1;
	f->msix_capable = 1;
	f->intx_capable = 1;
	f->align = PAGE_SIZE;

	if (profile == LBEP_PROFILE_IMX8) {
		for (bar = BAR_0; bar <= BAR_5; bar += 2) {
			f->bar[bar].only_64bit = true;
			f->bar[bar + 1].type = BAR_DISABLED;
		}
	}

	if (ep->db_mode == LBEP_DB_EMBEDDED_BAR) {
		f->bar[LBEP_DB_BAR].type = BAR_RESERVED;
		f->bar[LBEP_DB_BAR].nr_rsvd_regions = 1;
		f->bar[LBEP_DB_BAR].rsvd_regions = &lbep_db_bar_rsvd;
	}
}

static int lbep_setup_doorbells(struct lbep *ep)
{
	unsigned int nr_aux;
	int ret;

	ep->msi_reachable = ep->db_mode != LBEP_DB_MSI_UNREACHABLE;
	ep->aux_bar = NO_BAR;

	switch (ep->db_mode) {
	case LBEP_DB_MSI_UNREACHABLE:
	case LBEP_DB_EMBEDDED:
	case LBEP_DB_EMBEDDED_BAR:
		nr_aux = 1;
		break;
	case LBEP_DB_MULTI:
		nr_aux = LBEP_MAX_AUX;
		break;
	default:
		nr_aux = 0;
		break;
	}

	ret = lbep_aux_init(ep, nr_aux);
	if (ret)
		return dev_err_probe(ep->dev, ret, "cannot allocate doorbell IRQs\n");

	if (ep->db_mode == LBEP_DB_EMBEDDED_BAR) {
		unsigned int f;

		/* Every function exposes the one doorbell page */
		for (f = 0; f < ep->nr_funcs; f++) {
			ret = lbep_reserve_db_bar(&ep->fn[f], LBEP_DB_BAR);
			if (ret) {
				lbep_aux_free(ep);
				return ret;
			}
		}
		ep->aux_bar = LBEP_DB_BAR;
	}

	return 0;
}

static int lbep_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	enum lbep_profile profile;
	struct pci_epc *epc;
	struct lbep *ep;
	unsigned int f;
	int ret;

	ep = devm_kzalloc(dev, sizeof(*ep), GFP_KERNEL);
	if (!ep)
		return -ENOMEM;

	ep->dev = dev;
	raw_spin_lock_init(&ep->cfg_lock);
	raw_spin_lock_init(&ep->ob_lock);
	INIT_WORK(&ep->link_work, lbep_link_work);
	INIT_WORK(&ep->bme_work, lbep_bme_work);

	ret = lbep_parse_dt(ep, pdev, &profile);
	if (ret)
		return ret;

	ep->fn = devm_kcalloc(dev, ep->nr_funcs, sizeof(*ep->fn), GFP_KERNEL);
	if (!ep->fn)
		return -ENOMEM;

	for (f = 0; f < ep->nr_funcs; f++) {
		ep->fn[f].umdev.ops = &lbep_um_pci_ops;
		ep->fn[f].ep = ep;
		ep->fn[f].func_no = f;
	}

	lbep_init_features(ep, profile);
	lbep_cfg_init(ep);

	ret = lbep_setup_doorbells(ep);
	if (ret)
		goto err_inbound;

	ret = lbep_window_attach(ep);
	if (ret) {
		dev_err_probe(dev, ret, "cannot register outbound window\n");
		goto err_aux;
	}

	epc = devm_pci_epc_create(dev, &lbep_epc_ops);
	if (IS_ERR(epc)) {
		ret = dev_err_probe(dev, PTR_ERR(epc), "cannot create EPC\n");
		goto err_window;
	}

	ep->epc = epc;
	epc->max_functions = ep->nr_funcs;
	epc_set_drvdata(epc, ep);
	platform_set_drvdata(pdev, ep);

	ret = pci_epc_mem_init(epc, ep->win_base, ep->win_size, PAGE_SIZE);
	if (ret) {
		dev_err_probe(dev, ret, "cannot initialize EPC memory\n");
		goto err_window;
	}

	ret = lbep_dma_register(ep);
	if (ret)
		goto err_mem;

	pci_epc_init_notify(epc);
	lbep_dbg_init(ep);

	dev_info(dev, "window %pa+%#llx, doorbells: %s, %u aux, %u function%s\n",
		 &ep->win_base, ep->win_size,
		 lbep_db_mode_names[ep->db_mode], ep->nr_aux, ep->nr_funcs,
		 ep->nr_funcs > 1 ? "s" : "");

	return 0;

err_mem:
	pci_epc_mem_exit(epc);
err_window:
	lbep_window_detach(ep);
err_aux:
	lbep_aux_free(ep);
err_inbound:
	lbep_free_inbound(ep);
	return ret;
}

static void lbep_remove(struct platform_device *pdev)
{
	struct lbep *ep = platform_get_drvdata(pdev);

	/* Waits for exerciser accesses in progress */
	lbep_dbg_remove(ep);

	/* Take the link down for good; no new start() can bring it up */
	disable_work_sync(&ep->link_work);
	mutex_lock(&ep->epc->lock);
	WRITE_ONCE(ep->link_want, false);
	mutex_unlock(&ep->epc->lock);
	if (ep->registered)
		lbep_link_bring_down(ep);
	disable_work_sync(&ep->bme_work);

	/* Functions release DMA channels and BARs in epc_deinit */
	pci_epc_deinit_notify(ep->epc);
	lbep_dma_unregister(ep);
	/* No endpoint access to host memory is left */
	lbep_dbg_free_hbuf(ep);

	lbep_window_detach(ep);
	pci_epc_mem_exit(ep->epc);
	lbep_free_inbound(ep);
	lbep_aux_free(ep);
}

static const struct of_device_id lbep_of_match[] = {
	{ .compatible = "uml,pci-loopback-ep" },
	{ }
};

static struct platform_driver lbep_driver = {
	.probe = lbep_probe,
	.remove = lbep_remove,
	.driver = {
		.name		= "uml-pci-loopback-ep",
		.of_match_table	= lbep_of_match,
	},
};

static struct platform_driver * const lbep_drivers[] = {
	&lbmsi_driver,
	&lbep_driver,
};

/*
 * The EPC class and the configfs subsystem (pci_epc_init(), pci_ep_cfs_init())
 * are device initcalls in drivers/, which is linked after arch/um/: register
 * late so that probing can create the controller.
 */
static int __init lbep_init(void)
{
	lbep_dbg_init_root();
	return platform_register_drivers(lbep_drivers,
					 ARRAY_SIZE(lbep_drivers));
}
late_initcall(lbep_init);
