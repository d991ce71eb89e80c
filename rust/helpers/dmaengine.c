// SPDX-License-Identifier: GPL-2.0

#include <linux/dmaengine.h>

__rust_helper int rust_helper_dmaengine_slave_config(struct dma_chan *chan,
						     struct dma_slave_config *config)
{
	return dmaengine_slave_config(chan, config);
}

__rust_helper struct dma_async_tx_descriptor *
rust_helper_dmaengine_prep_slave_single(struct dma_chan *chan, dma_addr_t buf,
					size_t len,
					enum dma_transfer_direction dir,
					unsigned long flags)
{
	return dmaengine_prep_slave_single(chan, buf, len, dir, flags);
}

__rust_helper struct dma_async_tx_descriptor *
rust_helper_dmaengine_prep_dma_memcpy(struct dma_chan *chan, dma_addr_t dest,
				      dma_addr_t src, size_t len,
				      unsigned long flags)
{
	return dmaengine_prep_dma_memcpy(chan, dest, src, len, flags);
}

__rust_helper dma_cookie_t
rust_helper_dmaengine_submit(struct dma_async_tx_descriptor *desc)
{
	return dmaengine_submit(desc);
}

__rust_helper int rust_helper_dma_submit_error(dma_cookie_t cookie)
{
	return dma_submit_error(cookie);
}

__rust_helper void rust_helper_dma_async_issue_pending(struct dma_chan *chan)
{
	dma_async_issue_pending(chan);
}

__rust_helper int rust_helper_dmaengine_terminate_sync(struct dma_chan *chan)
{
	return dmaengine_terminate_sync(chan);
}

__rust_helper enum dma_status
rust_helper_dmaengine_tx_status(struct dma_chan *chan, dma_cookie_t cookie,
				struct dma_tx_state *state)
{
	return dmaengine_tx_status(chan, cookie, state);
}
