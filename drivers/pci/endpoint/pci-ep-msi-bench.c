// SPDX-License-Identifier: GPL-2.0
/*
 * Doorbell allocator benchmark.
 *
 * An endpoint function, pci_epf_dbbench, that does nothing but let the C
 * doorbell allocator (pci-ep-msi.c, behind pci_epf_alloc_doorbell() when
 * CONFIG_PCI_ENDPOINT_MSI_DOORBELL_C is set and pci_ep_msi.rust=1 is not
 * given) and the Rust one
 * (kernel::pci::endpoint::doorbell, called as pci_epf_alloc_doorbell_rust())
 * be timed on the same function and controller, in one kernel.
 *
 * Bind a pci_epf_dbbench function to a controller through configfs, then
 *
 *   echo "c 1000" > /sys/kernel/debug/pci_epf_dbbench/run    (or "rust 1000")
 *   cat /sys/kernel/debug/pci_epf_dbbench/run
 *
 * The write allocates and frees one doorbell that many times, in up to 25
 * batches; the read gives "<impl> <iterations> <ns per alloc+free, median of
 * the batches> <msi|embedded>" of the last run.
 */

#include <linux/debugfs.h>
#include <linux/debugfs_run.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/pci-ep-msi.h>
#include <linux/pci-epc.h>
#include <linux/pci-epf.h>
#include <linux/sort.h>
#include <linux/string.h>

#define DBBENCH_MAX_ITERATIONS	100000
#define DBBENCH_BATCHES		25

struct dbbench_impl {
	const char *name;
	bool (*available)(void);
	int (*alloc)(struct pci_epf *epf, u16 num_db);
	void (*free)(struct pci_epf *epf);
};

/* "c" is the C allocator, so only when it is behind pci_epf_alloc_doorbell() */
static bool dbbench_c_available(void)
{
	return IS_ENABLED(CONFIG_PCI_ENDPOINT_MSI_DOORBELL_C) &&
	       !pci_epf_doorbell_rust_selected();
}

static bool dbbench_rust_available(void)
{
	return true;
}

static const struct dbbench_impl dbbench_impls[] = {
	{
		.name = "c",
		.available = dbbench_c_available,
		.alloc = pci_epf_alloc_doorbell,
		.free = pci_epf_free_doorbell,
	},
	{
		.name = "rust",
		.available = dbbench_rust_available,
		.alloc = pci_epf_alloc_doorbell_rust,
		.free = pci_epf_free_doorbell_rust,
	},
};

/* The bound function, and the result of the last run; under dbbench_lock. */
static DEFINE_MUTEX(dbbench_lock);
static struct pci_epf *dbbench_epf;
static char dbbench_result[96];
static struct dentry *dbbench_dir;

/* The run file; its write parses the implementation and the count itself */
static struct debugfs_run dbbench_file = {
	.lock = &dbbench_lock,
	.result = dbbench_result,
};

static int dbbench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Runs n alloc+free pairs in up to DBBENCH_BATCHES equal batches and keeps
 * the median of the batches' ns per pair: a batch that the host preempted
 * (UML is a process) does not move the result.
 */
static int dbbench_run(const struct dbbench_impl *impl, unsigned int n)
{
	unsigned int batches = min(n, DBBENCH_BATCHES), per = n / batches;
	u64 ns[DBBENCH_BATCHES], t0;
	struct pci_epf *epf = dbbench_epf;
	const char *kind = NULL;
	unsigned int b, i;
	int ret;

	if (!epf)
		return -ENODEV;

	for (b = 0; b < batches; b++) {
		t0 = ktime_get_ns();
		for (i = 0; i < per; i++) {
			ret = impl->alloc(epf, 1);
			if (ret)
				return ret;
			if (!kind)
				kind = epf->db_msg[0].type == PCI_EPF_DOORBELL_MSI ?
				       "msi" : "embedded";
			impl->free(epf);
		}
		ns[b] = div_u64(ktime_get_ns() - t0, per);
	}
	sort(ns, batches, sizeof(ns[0]), dbbench_cmp_u64, NULL);

	snprintf(dbbench_result, sizeof(dbbench_result), "%s %u %llu %s\n",
		 impl->name, batches * per, ns[batches / 2], kind);
	return 0;
}

static ssize_t dbbench_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	const struct dbbench_impl *impl = NULL;
	char buf[32], name[8];
	unsigned int n, i;
	ssize_t len;
	int ret;

	len = simple_write_to_buffer(buf, sizeof(buf) - 1, ppos, ubuf, count);
	if (len < 0)
		return len;
	buf[len] = '\0';

	if (sscanf(buf, "%7s %u", name, &n) != 2 || !n ||
	    n > DBBENCH_MAX_ITERATIONS)
		return -EINVAL;

	for (i = 0; i < ARRAY_SIZE(dbbench_impls); i++)
		if (!strcmp(name, dbbench_impls[i].name))
			impl = &dbbench_impls[i];
	if (!impl)
		return -EINVAL;
	if (!impl->available())
		return -EOPNOTSUPP;

	mutex_lock(&dbbench_lock);
	ret = dbbench_run(impl, n);
	mutex_unlock(&dbbench_lock);

	return ret ? ret : count;
}

DEFINE_DEBUGFS_RUN_ATTRIBUTE(dbbench, dbbench_write);

static int dbbench_bind(struct pci_epf *epf)
{
	int ret = 0;

	mutex_lock(&dbbench_lock);
	if (dbbench_epf)
		ret = -EBUSY;
	else
		dbbench_epf = epf;
	mutex_unlock(&dbbench_lock);

	return ret;
}

static void dbbench_unbind(struct pci_epf *epf)
{
	mutex_lock(&dbbench_lock);
	if (dbbench_epf == epf)
		dbbench_epf = NULL;
	mutex_unlock(&dbbench_lock);
}

static int dbbench_probe(struct pci_epf *epf, const struct pci_epf_device_id *id)
{
	return 0;
}

static const struct pci_epf_ops dbbench_ops = {
	.bind = dbbench_bind,
	.unbind = dbbench_unbind,
};

static const struct pci_epf_device_id dbbench_ids[] = {
	{ .name = "pci_epf_dbbench" },
	{ }
};

static struct pci_epf_driver dbbench_driver = {
	.driver.name = "pci_epf_dbbench",
	.probe = dbbench_probe,
	.id_table = dbbench_ids,
	.ops = &dbbench_ops,
	.owner = THIS_MODULE,
};

static int __init dbbench_init(void)
{
	int ret;

	ret = pci_epf_register_driver(&dbbench_driver);
	if (ret)
		return ret;

	dbbench_dir = debugfs_create_dir("pci_epf_dbbench", NULL);
	debugfs_create_file("run", 0600, dbbench_dir, &dbbench_file,
			    &dbbench_fops);
	return 0;
}
module_init(dbbench_init);

static void __exit dbbench_exit(void)
{
	debugfs_remove_recursive(dbbench_dir);
	pci_epf_unregister_driver(&dbbench_driver);
}
module_exit(dbbench_exit);

MODULE_DESCRIPTION("PCI endpoint doorbell allocator benchmark");
MODULE_LICENSE("GPL");
