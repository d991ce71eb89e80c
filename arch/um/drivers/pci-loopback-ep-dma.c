// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller for User Mode Linux: the dmaengine
 * provider.
 *
 * Slave channels transfer between endpoint-local memory and host PCI
 * addresses (DEV_TO_MEM reads the host, MEM_TO_DEV writes it); memcpy copies
 * between endpoint-local addresses, which may lie in the outbound window of
 * any loopback controller.
 * Transfers run in process context from a work item; host RAM and endpoint
 * RAM are validated like any other access, other targets fail the transfer.
 */

#define pr_fmt(fmt) "pci-loopback-ep: " fmt

#include <linux/bits.h>
#include <linux/device.h>
#include <linux/dmaengine.h>
#include <linux/list.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "pci-loopback-ep.h"

#define LBEP_DMA_BUSWIDTHS	(BIT(DMA_SLAVE_BUSWIDTH_1_BYTE) |	\
				 BIT(DMA_SLAVE_BUSWIDTH_2_BYTES) |	\
				 BIT(DMA_SLAVE_BUSWIDTH_4_BYTES) |	\
				 BIT(DMA_SLAVE_BUSWIDTH_8_BYTES))

/**
 * struct lbep_dma_desc - one prepared transfer
 * @txd: dmaengine descriptor
 * @node: entry in lbep_dma_chan::submitted or ::issued
 * @src_remote: source addresses are host PCI addresses
 * @dst_remote: destination addresses are host PCI addresses
 * @nr_segs: number of segments
 * @segs: contiguous pieces of the transfer
 *
 * Addresses that are not remote are endpoint-local physical addresses:
 * endpoint RAM, or a CPU address inside the outbound window of this or another
 * loopback controller.
 */
struct lbep_dma_desc {
	struct dma_async_tx_descriptor txd;
	struct list_head node;
	bool src_remote;
	bool dst_remote;
	unsigned int nr_segs;
	struct {
		u64 src;
		u64 dst;
		size_t len;
	} segs[] __counted_by(nr_segs);
};

static struct lbep_dma_chan *to_lbep_dma_chan(struct dma_chan *chan)
{
	return container_of(chan, struct lbep_dma_chan, chan);
}

static struct lbep_dma_desc *to_lbep_dma_desc(struct dma_async_tx_descriptor *txd)
{
	return container_of(txd, struct lbep_dma_desc, txd);
}

/*
 * Kernel pointer for up to *len bytes at @addr, or NULL.  *len is reduced to
 * what is contiguous.  Called under rcu_read_lock().
 */
static void *lbep_dma_resolve(struct lbep *ep, u64 addr, bool remote,
			      size_t *len)
{
	size_t n = min_t(size_t, *len, PAGE_SIZE - offset_in_page(addr));
	const struct lbep_fn *fn = NULL;
	struct lbep *via;
	u64 pci, seg;
	u8 func_no;

	/*
	 * An endpoint-local address in an outbound window goes through that
	 * window's controller: this one's, or another loopback controller's,
	 * as a memory-to-memory DMA controller of the SoC addresses every
	 * window in the CPU's physical space.  Through a window the transfer
	 * is the window's function's; a host address given directly is any
	 * function's of this controller (the slave channels are its own).
	 */
	via = remote ? ep : lbep_window_owner(addr);
	if (!remote && via) {
		if (!lbep_ob_translate(via, addr, &pci, &seg, &func_no) ||
		    func_no >= via->nr_funcs)
			return NULL;
		fn = &via->fn[func_no];
		addr = pci;
		remote = true;
		n = min_t(u64, n, seg);
		n = min_t(size_t, n, PAGE_SIZE - offset_in_page(addr));
	}

	if (remote) {
		if (!READ_ONCE(via->link_up) || !lbep_bus_master(via, fn))
			return NULL;
		if (lbep_range_overlaps(addr, n, LBEP_VPCI_MSI_PAGE, PAGE_SIZE))
			return NULL;
		if (!lbep_host_ram_ok(via, addr, n))
			return NULL;
	} else if (!lbep_ram_ok(addr, n)) {
		return NULL;
	}

	*len = n;
	return phys_to_virt(addr);
}

static enum dmaengine_tx_result lbep_dma_run(struct lbep *ep,
					     struct lbep_dma_desc *desc)
{
	unsigned int i;

	for (i = 0; i < desc->nr_segs; i++) {
		u64 src = desc->segs[i].src, dst = desc->segs[i].dst;
		size_t len = desc->segs[i].len;

		while (len) {
			size_t ns = len, nd = len, n = 0;
			void *s, *d = NULL;

			rcu_read_lock();
			s = lbep_dma_resolve(ep, src, desc->src_remote, &ns);
			if (s)
				d = lbep_dma_resolve(ep, dst, desc->dst_remote,
						     &nd);
			if (s && d) {
				n = min(ns, nd);
				memmove(d, s, n);
			}
			rcu_read_unlock();

			if (!s) {
				dev_warn_ratelimited(ep->dev,
						     "DMA read at %#llx failed\n",
						     src);
				return DMA_TRANS_READ_FAILED;
			}
			if (!d) {
				dev_warn_ratelimited(ep->dev,
						     "DMA write at %#llx failed\n",
						     dst);
				return DMA_TRANS_WRITE_FAILED;
			}

			src += n;
			dst += n;
			len -= n;
			cond_resched();
		}
	}

	return DMA_TRANS_NOERROR;
}

static void lbep_dma_work(struct work_struct *work)
{
	struct lbep_dma_chan *c = container_of(work, struct lbep_dma_chan,
					       work);
	struct dma_async_tx_descriptor *txd;
	struct dmaengine_result res;
	struct lbep_dma_desc *desc;
	unsigned long flags;

	for (;;) {
		spin_lock_irqsave(&c->lock, flags);
		desc = list_first_entry_or_null(&c->issued,
						struct lbep_dma_desc, node);
		if (desc)
			list_del(&desc->node);
		spin_unlock_irqrestore(&c->lock, flags);

		if (!desc)
			break;

		res.result = lbep_dma_run(c->ep, desc);
		res.residue = 0;
		txd = &desc->txd;

		spin_lock_irqsave(&c->lock, flags);
		c->chan.completed_cookie = txd->cookie;
		if (res.result != DMA_TRANS_NOERROR)
			c->err_cookie = txd->cookie;
		spin_unlock_irqrestore(&c->lock, flags);

		if (txd->callback_result)
			txd->callback_result(txd->callback_param, &res);
		else if (txd->callback)
			txd->callback(txd->callback_param);

		kfree(desc);
	}
}

static dma_cookie_t lbep_dma_tx_submit(struct dma_async_tx_descriptor *txd)
{
	struct lbep_dma_chan *c = to_lbep_dma_chan(txd->chan);
	struct lbep_dma_desc *desc = to_lbep_dma_desc(txd);
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&c->lock, flags);
	cookie = c->chan.cookie + 1;
	if (cookie < DMA_MIN_COOKIE)
		cookie = DMA_MIN_COOKIE;
	c->chan.cookie = cookie;
	txd->cookie = cookie;
	list_add_tail(&desc->node, &c->submitted);
	spin_unlock_irqrestore(&c->lock, flags);

	return cookie;
}

static struct lbep_dma_desc *lbep_dma_desc_alloc(struct dma_chan *chan,
						 unsigned int nr_segs,
						 unsigned long flags)
{
	struct lbep_dma_desc *desc;

	desc = kzalloc_flex(*desc, segs, nr_segs, GFP_NOWAIT);
	if (!desc)
		return NULL;

	desc->nr_segs = nr_segs;
	dma_async_tx_descriptor_init(&desc->txd, chan);
	desc->txd.flags = flags;
	desc->txd.tx_submit = lbep_dma_tx_submit;

	return desc;
}

static struct dma_async_tx_descriptor *
lbep_dma_prep_slave_sg(struct dma_chan *chan, struct scatterlist *sgl,
		       unsigned int sg_len, enum dma_transfer_direction dir,
		       unsigned long flags, void *context)
{
	struct lbep_dma_chan *c = to_lbep_dma_chan(chan);
	struct lbep_dma_desc *desc;
	struct scatterlist *sg;
	unsigned long irqflags;
	u64 remote, off = 0;
	unsigned int i;

	if ((dir != DMA_DEV_TO_MEM && dir != DMA_MEM_TO_DEV) || !sg_len)
		return NULL;

	spin_lock_irqsave(&c->lock, irqflags);
	remote = dir == DMA_DEV_TO_MEM ? c->cfg.src_addr : c->cfg.dst_addr;
	spin_unlock_irqrestore(&c->lock, irqflags);

	desc = lbep_dma_desc_alloc(chan, sg_len, flags);
	if (!desc)
		return NULL;

	desc->src_remote = dir == DMA_DEV_TO_MEM;
	desc->dst_remote = dir == DMA_MEM_TO_DEV;

	for_each_sg(sgl, sg, sg_len, i) {
		u64 local = sg_dma_address(sg), rem;
		size_t len = sg_dma_len(sg);

		if (!len || check_add_overflow(remote, off, &rem)) {
			kfree(desc);
			return NULL;
		}

		desc->segs[i].src = dir == DMA_DEV_TO_MEM ? rem : local;
		desc->segs[i].dst = dir == DMA_DEV_TO_MEM ? local : rem;
		desc->segs[i].len = len;
		off += len;
	}

	return &desc->txd;
}

static struct dma_async_tx_descriptor *
lbep_dma_prep_memcpy(struct dma_chan *chan, dma_addr_t dst, dma_addr_t src,
		     size_t len, unsigned long flags)
{
	struct lbep_dma_desc *desc;

	if (!len)
		return NULL;

	desc = lbep_dma_desc_alloc(chan, 1, flags);
	if (!desc)
		return NULL;

	desc->segs[0].src = src;
	desc->segs[0].dst = dst;
	desc->segs[0].len = len;

	return &desc->txd;
}

static int lbep_dma_config(struct dma_chan *chan,
			   struct dma_slave_config *cfg)
{
	struct lbep_dma_chan *c = to_lbep_dma_chan(chan);
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	c->cfg = *cfg;
	spin_unlock_irqrestore(&c->lock, flags);

	return 0;
}

static void lbep_dma_issue_pending(struct dma_chan *chan)
{
	struct lbep_dma_chan *c = to_lbep_dma_chan(chan);
	unsigned long flags;
	bool kick;

	spin_lock_irqsave(&c->lock, flags);
	list_splice_tail_init(&c->submitted, &c->issued);
	kick = !list_empty(&c->issued);
	spin_unlock_irqrestore(&c->lock, flags);

	if (kick)
		queue_work(c->ep->dma_wq, &c->work);
}

static enum dma_status lbep_dma_tx_status(struct dma_chan *chan,
					  dma_cookie_t cookie,
					  struct dma_tx_state *state)
{
	struct lbep_dma_chan *c = to_lbep_dma_chan(chan);
	dma_cookie_t last, used, err;
	enum dma_status status;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	last = chan->completed_cookie;
	used = chan->cookie;
	err = c->err_cookie;
	spin_unlock_irqrestore(&c->lock, flags);

	status = dma_async_is_complete(cookie, last, used);
	dma_set_tx_state(state, last, used, 0);
	if (status == DMA_COMPLETE && cookie == err)
		status = DMA_ERROR;

	return status;
}

/* Drops descriptors that have not started; the running one completes */
static int lbep_dma_terminate_all(struct dma_chan *chan)
{
	struct lbep_dma_chan *c = to_lbep_dma_chan(chan);
	struct lbep_dma_desc *desc, *tmp;
	unsigned long flags;
	LIST_HEAD(head);

	spin_lock_irqsave(&c->lock, flags);
	list_splice_tail_init(&c->submitted, &head);
	list_splice_tail_init(&c->issued, &head);
	spin_unlock_irqrestore(&c->lock, flags);

	list_for_each_entry_safe(desc, tmp, &head, node) {
		list_del(&desc->node);
		kfree(desc);
	}

	return 0;
}

static void lbep_dma_synchronize(struct dma_chan *chan)
{
	flush_work(&to_lbep_dma_chan(chan)->work);
}

static int lbep_dma_alloc_chan_resources(struct dma_chan *chan)
{
	struct lbep_dma_chan *c = to_lbep_dma_chan(chan);
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	chan->cookie = DMA_MIN_COOKIE;
	chan->completed_cookie = DMA_MIN_COOKIE;
	c->err_cookie = 0;
	memset(&c->cfg, 0, sizeof(c->cfg));
	spin_unlock_irqrestore(&c->lock, flags);

	return 0;
}

static void lbep_dma_free_chan_resources(struct dma_chan *chan)
{
	lbep_dma_terminate_all(chan);
	lbep_dma_synchronize(chan);
}

int lbep_dma_register(struct lbep *ep)
{
	struct dma_device *dd = &ep->dma;
	unsigned int i;
	int ret;

	if (ep->dma_none)
		return 0;

	dma_cap_zero(dd->cap_mask);
	dma_cap_set(DMA_MEMCPY, dd->cap_mask);
	/*
	 * With slave channels pci-epf-test takes them as its private channels,
	 * as on DesignWare eDMA, and then cannot do a COPY with DMA: it passes
	 * DMA_MEM_TO_MEM to prep_slave_single() and drops the source address.
	 * Plain memcpy channels (the default) make it use dmaengine memcpy
	 * for READ, WRITE and COPY alike.
	 */
	if (ep->dma_slave) {
		dma_cap_set(DMA_SLAVE, dd->cap_mask);
		dd->directions = BIT(DMA_DEV_TO_MEM) | BIT(DMA_MEM_TO_DEV);
		dd->device_prep_slave_sg = lbep_dma_prep_slave_sg;
	}
	/* Keep the channels away from the public async_tx pool */
	dma_cap_set(DMA_PRIVATE, dd->cap_mask);

	/* pci-epf-test looks for channels of the EPC's parent device */
	dd->dev = ep->dev;
	dd->src_addr_widths = LBEP_DMA_BUSWIDTHS;
	dd->dst_addr_widths = LBEP_DMA_BUSWIDTHS;
	dd->residue_granularity = DMA_RESIDUE_GRANULARITY_DESCRIPTOR;
	dd->device_alloc_chan_resources = lbep_dma_alloc_chan_resources;
	dd->device_free_chan_resources = lbep_dma_free_chan_resources;
	dd->device_prep_dma_memcpy = lbep_dma_prep_memcpy;
	dd->device_config = lbep_dma_config;
	dd->device_terminate_all = lbep_dma_terminate_all;
	dd->device_synchronize = lbep_dma_synchronize;
	dd->device_tx_status = lbep_dma_tx_status;
	dd->device_issue_pending = lbep_dma_issue_pending;
	INIT_LIST_HEAD(&dd->channels);

	for (i = 0; i < LBEP_DMA_NR_CHANS; i++) {
		struct lbep_dma_chan *c = &ep->dchan[i];

		c->ep = ep;
		spin_lock_init(&c->lock);
		INIT_LIST_HEAD(&c->submitted);
		INIT_LIST_HEAD(&c->issued);
		INIT_WORK(&c->work, lbep_dma_work);
		c->chan.device = dd;
		list_add_tail(&c->chan.device_node, &dd->channels);
	}

	/*
	 * Transfers run from a workqueue of their own that may be flushed
	 * (device_synchronize) by users running under memory reclaim, such
	 * as pci-epf-test's WQ_MEM_RECLAIM command workqueue.
	 */
	ep->dma_wq = alloc_workqueue("%s-dma", WQ_UNBOUND | WQ_MEM_RECLAIM, 0,
				     dev_name(ep->dev));
	if (!ep->dma_wq)
		return -ENOMEM;

	ret = dma_async_device_register(dd);
	if (ret) {
		destroy_workqueue(ep->dma_wq);
		return dev_err_probe(ep->dev, ret,
				     "cannot register DMA engine\n");
	}

	ep->dma_registered = true;

	return 0;
}

void lbep_dma_unregister(struct lbep *ep)
{
	unsigned int i;

	if (!ep->dma_registered)
		return;

	for (i = 0; i < LBEP_DMA_NR_CHANS; i++) {
		lbep_dma_terminate_all(&ep->dchan[i].chan);
		cancel_work_sync(&ep->dchan[i].work);
	}

	dma_async_device_unregister(&ep->dma);
	destroy_workqueue(ep->dma_wq);
	ep->dma_registered = false;
}
