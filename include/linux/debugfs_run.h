/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Debugfs files that start a run (a measurement, a test) when written and
 * give the result line of the last run when read.
 *
 * The owner embeds a struct debugfs_run, fills it in, and creates the file
 * with it as the private data and the fops of
 * DEFINE_DEBUGFS_RUN_ATTRIBUTE(name, write), where write is
 * debugfs_run_write() for a file that takes a count, or the owner's own
 * parser.  A read shows the result line as the last run left it, under the
 * lock that the runs hold.
 */
#ifndef _LINUX_DEBUGFS_RUN_H
#define _LINUX_DEBUGFS_RUN_H

#include <linux/fs.h>
#include <linux/kstrtox.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>

/**
 * struct debugfs_run - a debugfs file that runs something when written
 * @lock: held by every run and while the result is read
 * @result: the NUL-terminated result line of the last run, under @lock
 * @max: the largest count debugfs_run_write() takes
 * @run: called by debugfs_run_write() with @lock held and the count written
 *	(1 .. @max); returns 0 or a negative errno, which the write returns
 */
struct debugfs_run {
	struct mutex *lock;	/* see kernel-doc */
	const char *result;
	unsigned int max;
	int (*run)(struct debugfs_run *run, unsigned int n);
};

static inline int debugfs_run_show(struct seq_file *s, void *unused)
{
	struct debugfs_run *run = s->private;

	mutex_lock(run->lock);
	seq_puts(s, run->result);
	mutex_unlock(run->lock);

	return 0;
}

/*
 * The write of a file that takes a count: a number 1 .. run->max, as
 * kstrtouint() reads it; the run returns 0 for the write to succeed
 */
static inline ssize_t debugfs_run_write(struct file *file,
					const char __user *ubuf, size_t count,
					loff_t *ppos)
{
	struct seq_file *s = file->private_data;
	struct debugfs_run *run = s->private;
	unsigned int n;
	int ret;

	ret = kstrtouint_from_user(ubuf, count, 0, &n);
	if (ret)
		return ret;
	if (!n || n > run->max)
		return -EINVAL;

	mutex_lock(run->lock);
	ret = run->run(run, n);
	mutex_unlock(run->lock);

	return ret ? ret : count;
}

/* Defines __name ## _fops, a file of a struct debugfs_run */
#define DEFINE_DEBUGFS_RUN_ATTRIBUTE(__name, __write)			\
static int __name ## _open(struct inode *inode, struct file *file)	\
{									\
	return single_open(file, debugfs_run_show, inode->i_private);	\
}									\
									\
static const struct file_operations __name ## _fops = {			\
	.owner		= THIS_MODULE,					\
	.open		= __name ## _open,				\
	.read		= seq_read,					\
	.write		= __write,					\
	.llseek		= seq_lseek,					\
	.release	= single_release,				\
}

#endif /* _LINUX_DEBUGFS_RUN_H */
