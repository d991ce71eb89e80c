// SPDX-License-Identifier: GPL-2.0
/*
 * NTB doorbell latency test client.
 *
 * For NTB links whose two ends run in one kernel (a PCI endpoint loopback,
 * vNTB on a controller whose link leads back into the same machine): bound
 * to both NTB devices of the link, it rings one device's peer doorbell and
 * times how long it takes until the other device's client sees the doorbell
 * event (its db_event callback, called from ntb_db_event()).  Both ends read
 * the same clock, so the figure is one doorbell's one-way latency: the
 * sender's doorbell write, its way through the hardware (or the endpoint
 * function's poll), the receiver's interrupt handler and ntb_db_event().
 *
 * debugfs, one directory per bound device, /sys/kernel/debug/ntb_dblat/<dev>/:
 *
 * ring	write N (1 .. 100000): ring the peer's doorbell bit 0 N times, one
 *	at a time, each time waiting up to one second for the event at the
 *	other device; read: "rings N median_ns M p99_ns P mean_ns A min_ns
 *	L max_ns H restart_median_ns R" of the last run, R being the median
 *	time from one event to the next ring (the receiver's handler after
 *	ntb_db_event() returns and the way back to the ringing thread; 0 for
 *	one ring): a latency bound by a periodic clock (a poll, a timer tick)
 *	grows by what this shrinks, the period being their sum.
 * link	"Y" when the link is up.
 *
 * The peer device is the one other device this client is bound to; the
 * write fails with -ENODEV unless exactly two are bound, with -ENOLINK
 * when the link is down and with -ETIMEDOUT when an event does not come.
 */

#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/debugfs_run.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/ntb.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#define DBLAT_MAX_RINGS	100000

/**
 * struct dblat_ctx - one bound NTB device
 * @ntb: the device
 * @node: entry of dblat_devs
 * @dir: its debugfs directory
 * @armed: the next doorbell event completes @event
 * @t_event: ktime_get_ns() at the event
 * @event: completed by the doorbell event
 * @result: figures of the last run rung from this device
 * @ring: the ring file, which runs and reads @result under dblat_lock
 */
struct dblat_ctx {
	struct ntb_dev *ntb;
	struct list_head node;
	struct dentry *dir;
	bool armed;
	u64 t_event;
	struct completion event;
	char result[192];
	struct debugfs_run ring;
};

static LIST_HEAD(dblat_devs);
static DEFINE_MUTEX(dblat_lock);	/* dblat_devs, runs */
static struct dentry *dblat_root;

static void dblat_link_event(void *ctx)
{
}

static void dblat_db_event(void *data, int vector)
{
	struct dblat_ctx *ctx = data;
	u64 now = ktime_get_ns();

	ntb_db_clear(ctx->ntb, ntb_db_valid_mask(ctx->ntb));
	if (!READ_ONCE(ctx->armed))
		return;
	WRITE_ONCE(ctx->armed, false);
	ctx->t_event = now;
	complete(&ctx->event);
}

static const struct ntb_ctx_ops dblat_ops = {
	.link_event = dblat_link_event,
	.db_event = dblat_db_event,
};

static int dblat_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static struct dblat_ctx *dblat_peer(struct dblat_ctx *ctx)
{
	struct dblat_ctx *c, *peer = NULL;
	unsigned int n = 0;

	list_for_each_entry(c, &dblat_devs, node) {
		n++;
		if (c != ctx)
			peer = c;
	}

	return n == 2 ? peer : NULL;
}

static int dblat_run(struct debugfs_run *run, unsigned int rings)
{
	struct dblat_ctx *ctx = container_of(run, struct dblat_ctx, ring);
	struct dblat_ctx *peer;
	u64 *t, *r, t0, sum = 0;
	unsigned int i;
	int ret = 0;

	peer = dblat_peer(ctx);
	if (!peer)
		return -ENODEV;
	if (!ntb_link_is_up(ctx->ntb, NULL, NULL) ||
	    !ntb_link_is_up(peer->ntb, NULL, NULL))
		return -ENOLINK;

	t = kvzalloc_objs(*t, 2 * rings);
	if (!t)
		return -ENOMEM;
	r = t + rings;

	ntb_db_clear(peer->ntb, ntb_db_valid_mask(peer->ntb));
	ntb_db_clear_mask(peer->ntb, ntb_db_valid_mask(peer->ntb));
	for (i = 0; i < rings; i++) {
		reinit_completion(&peer->event);
		WRITE_ONCE(peer->armed, true);
		t0 = ktime_get_ns();
		if (i)
			r[i - 1] = t0 - peer->t_event;
		ret = ntb_peer_db_set(ctx->ntb, BIT_ULL(0));
		if (ret)
			break;
		if (!wait_for_completion_timeout(&peer->event, HZ)) {
			ret = -ETIMEDOUT;
			break;
		}
		t[i] = peer->t_event - t0;
		sum += t[i];
	}
	WRITE_ONCE(peer->armed, false);

	if (!ret) {
		sort(t, rings, sizeof(*t), dblat_cmp, NULL);
		sort(r, rings - 1, sizeof(*r), dblat_cmp, NULL);
		snprintf(ctx->result, sizeof(ctx->result),
			 "rings %u median_ns %llu p99_ns %llu mean_ns %llu min_ns %llu max_ns %llu restart_median_ns %llu\n",
			 rings, t[rings / 2], t[rings - 1 - rings / 100],
			 div_u64(sum, rings), t[0], t[rings - 1],
			 rings > 1 ? r[(rings - 1) / 2] : 0);
	}
	kvfree(t);

	return ret;
}

DEFINE_DEBUGFS_RUN_ATTRIBUTE(dblat_ring, debugfs_run_write);

static int dblat_link_show(struct seq_file *s, void *unused)
{
	struct dblat_ctx *ctx = s->private;

	seq_puts(s, ntb_link_is_up(ctx->ntb, NULL, NULL) ? "Y\n" : "N\n");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dblat_link);

static int dblat_probe(struct ntb_client *client, struct ntb_dev *ntb)
{
	struct dblat_ctx *ctx;
	int ret;

	if (!ntb_db_valid_mask(ntb))
		return -EINVAL;

	ctx = kzalloc_obj(*ctx);
	if (!ctx)
		return -ENOMEM;
	ctx->ntb = ntb;
	init_completion(&ctx->event);
	strscpy(ctx->result, "none\n", sizeof(ctx->result));
	ctx->ring.lock = &dblat_lock;
	ctx->ring.result = ctx->result;
	ctx->ring.max = DBLAT_MAX_RINGS;
	ctx->ring.run = dblat_run;

	ret = ntb_set_ctx(ntb, ctx, &dblat_ops);
	if (ret) {
		kfree(ctx);
		return ret;
	}

	mutex_lock(&dblat_lock);
	list_add_tail(&ctx->node, &dblat_devs);
	mutex_unlock(&dblat_lock);

	ctx->dir = debugfs_create_dir(pci_name(ntb->pdev), dblat_root);
	debugfs_create_file("ring", 0600, ctx->dir, &ctx->ring, &dblat_ring_fops);
	debugfs_create_file("link", 0400, ctx->dir, ctx, &dblat_link_fops);

	ntb_link_enable(ntb, NTB_SPEED_AUTO, NTB_WIDTH_AUTO);
	ntb_link_event(ntb);

	return 0;
}

static void dblat_remove(struct ntb_client *client, struct ntb_dev *ntb)
{
	struct dblat_ctx *ctx = ntb->ctx;

	/* No run is in progress once the files are gone */
	debugfs_remove_recursive(ctx->dir);
	ntb_link_disable(ntb);
	ntb_clear_ctx(ntb);

	mutex_lock(&dblat_lock);
	list_del(&ctx->node);
	mutex_unlock(&dblat_lock);
	kfree(ctx);
}

static struct ntb_client dblat_client = {
	.ops = {
		.probe = dblat_probe,
		.remove = dblat_remove,
	},
};

static int __init dblat_init(void)
{
	int ret;

	if (debugfs_initialized())
		dblat_root = debugfs_create_dir(KBUILD_MODNAME, NULL);

	ret = ntb_register_client(&dblat_client);
	if (ret)
		debugfs_remove_recursive(dblat_root);

	return ret;
}
module_init(dblat_init);

static void __exit dblat_exit(void)
{
	ntb_unregister_client(&dblat_client);
	debugfs_remove_recursive(dblat_root);
}
module_exit(dblat_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("NTB doorbell latency test client for links within one kernel");
