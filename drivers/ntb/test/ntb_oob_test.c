// SPDX-License-Identifier: GPL-2.0
/*
 * NTB client that calls an NTB device's operations with out-of-range
 * indexes and reports what they return, to test that a hardware driver
 * checks the indexes its clients pass (scratchpads, memory windows).
 *
 * For each NTB device it binds, it creates the debugfs files
 * ntb_oob_test/<device>/run and mw_set_trans. Reading one makes its calls,
 * one line each:
 *
 *   <operation> idx=<index> ret=<return value> [<what came back>]
 *
 * with the index one past the count the device reports (and, where an
 * operation takes a signed index, -1). Before the calls, the device's own
 * scratchpad 0 and peer scratchpad 0 are set to known values, and after
 * them they are read back ("spad0" and "peer_spad0" lines), so that a
 * driver that aliases an out-of-range index to another scratchpad shows it.
 * mw_set_trans, which a driver that does not check the index may not
 * survive, has the file of its own.
 *
 * Copyright (C) 2026 The Rust PCI endpoint doorbell project
 */

#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/ntb.h>
#include <linux/pci.h>
#include <linux/seq_file.h>

#define OOB_SPAD0	0x0ddba11
#define OOB_PEER_SPAD0	0x5ca1ab1e
#define OOB_WRITTEN	0xbadc0ffe
#define OOB_BUF_SIZE	SZ_4K

static struct dentry *oob_dbgfs_root;

struct oob_ctx {
	struct ntb_dev *ntb;
	struct dentry *dir;
};

static void oob_spads(struct seq_file *s, struct ntb_dev *ntb)
{
	int cnt = ntb_spad_count(ntb);
	int ret;

	seq_printf(s, "spad_count %d\n", cnt);
	if (cnt <= 0)
		return;

	ntb_spad_write(ntb, 0, OOB_SPAD0);
	ntb_peer_spad_write(ntb, 0, 0, OOB_PEER_SPAD0);

	seq_printf(s, "spad_read idx=%d ret=0x%x\n", cnt, ntb_spad_read(ntb, cnt));
	seq_printf(s, "spad_read idx=-1 ret=0x%x\n", ntb_spad_read(ntb, -1));
	ret = ntb_spad_write(ntb, cnt, OOB_WRITTEN);
	seq_printf(s, "spad_write idx=%d ret=%d\n", cnt, ret);
	seq_printf(s, "peer_spad_read idx=%d ret=0x%x\n", cnt,
		   ntb_peer_spad_read(ntb, 0, cnt));
	seq_printf(s, "peer_spad_read idx=-1 ret=0x%x\n",
		   ntb_peer_spad_read(ntb, 0, -1));
	ret = ntb_peer_spad_write(ntb, 0, cnt, OOB_WRITTEN);
	seq_printf(s, "peer_spad_write idx=%d ret=%d\n", cnt, ret);

	seq_printf(s, "spad0 0x%x expected 0x%x\n", ntb_spad_read(ntb, 0), OOB_SPAD0);
	seq_printf(s, "peer_spad0 0x%x expected 0x%x\n",
		   ntb_peer_spad_read(ntb, 0, 0), OOB_PEER_SPAD0);
}

static void oob_mws(struct seq_file *s, struct ntb_dev *ntb)
{
	resource_size_t addr_align, size_align, size_max, size;
	int cnt = ntb_mw_count(ntb, 0);
	int pcnt = ntb_peer_mw_count(ntb);
	phys_addr_t base;
	int ret;

	seq_printf(s, "mw_count %d peer_mw_count %d\n", cnt, pcnt);
	if (cnt < 0 || pcnt < 0)
		return;

	base = 0;
	size = 0;
	ret = ntb_peer_mw_get_addr(ntb, pcnt, &base, &size);
	seq_printf(s, "peer_mw_get_addr idx=%d ret=%d base=%pa size=%pa\n", pcnt, ret,
		   &base, &size);

	addr_align = 0;
	size_align = 0;
	size_max = 0;
	ret = ntb_mw_get_align(ntb, 0, cnt, &addr_align, &size_align, &size_max);
	seq_printf(s, "mw_get_align idx=%d ret=%d size_max=%pa\n", cnt, ret, &size_max);

	ret = ntb_mw_clear_trans(ntb, 0, cnt);
	seq_printf(s, "mw_clear_trans idx=%d ret=%d\n", cnt, ret);
}

/* Last, in a file of its own: a driver without the check may not return. */
static int oob_set_trans_show(struct seq_file *s, void *unused)
{
	struct oob_ctx *ctx = s->private;
	struct ntb_dev *ntb = ctx->ntb;
	struct device *dma_dev = &ntb->pdev->dev;
	int cnt = ntb_mw_count(ntb, 0);
	dma_addr_t dma;
	void *buf;
	int ret;

	/* A real buffer, so that a driver that maps it maps nothing stray. */
	buf = dma_alloc_coherent(dma_dev, OOB_BUF_SIZE, &dma, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = ntb_mw_set_trans(ntb, 0, cnt, dma, OOB_BUF_SIZE);
	seq_printf(s, "mw_set_trans idx=%d ret=%d\n", cnt, ret);
	if (!ret)
		ntb_mw_clear_trans(ntb, 0, cnt);
	dma_free_coherent(dma_dev, OOB_BUF_SIZE, buf, dma);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(oob_set_trans);

static int oob_run_show(struct seq_file *s, void *unused)
{
	struct oob_ctx *ctx = s->private;

	oob_spads(s, ctx->ntb);
	oob_mws(s, ctx->ntb);
	seq_puts(s, "done\n");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(oob_run);

static int oob_probe(struct ntb_client *client, struct ntb_dev *ntb)
{
	struct oob_ctx *ctx;

	ctx = kzalloc_obj(*ctx);
	if (!ctx)
		return -ENOMEM;

	ctx->ntb = ntb;
	ctx->dir = debugfs_create_dir(dev_name(&ntb->dev), oob_dbgfs_root);
	debugfs_create_file("run", 0400, ctx->dir, ctx, &oob_run_fops);
	debugfs_create_file("mw_set_trans", 0400, ctx->dir, ctx, &oob_set_trans_fops);
	dev_set_drvdata(&ntb->dev, ctx);
	return 0;
}

static void oob_remove(struct ntb_client *client, struct ntb_dev *ntb)
{
	struct oob_ctx *ctx = dev_get_drvdata(&ntb->dev);

	debugfs_remove_recursive(ctx->dir);
	kfree(ctx);
}

static struct ntb_client oob_client = {
	.ops = {
		.probe = oob_probe,
		.remove = oob_remove,
	},
};

static int __init oob_init(void)
{
	int ret;

	oob_dbgfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	ret = ntb_register_client(&oob_client);
	if (ret)
		debugfs_remove_recursive(oob_dbgfs_root);
	return ret;
}
module_init(oob_init);

static void __exit oob_exit(void)
{
	ntb_unregister_client(&oob_client);
	debugfs_remove_recursive(oob_dbgfs_root);
}
module_exit(oob_exit);

MODULE_DESCRIPTION("NTB client calling device operations with out-of-range indexes");
MODULE_LICENSE("GPL");
