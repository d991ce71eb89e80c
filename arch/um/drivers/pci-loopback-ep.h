/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loopback PCI endpoint controller for User Mode Linux: the definitions its
 * parts share.  pci-loopback-ep-core.c describes the design, its contexts
 * and its locking.
 */
#ifndef __UM_PCI_LOOPBACK_EP_H
#define __UM_PCI_LOOPBACK_EP_H

#include <linux/atomic.h>
#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/debugfs.h>
#include <linux/debugfs_run.h>
#include <linux/dmaengine.h>
#include <linux/init.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/pci.h>
#include <linux/pci-epc.h>
#include <linux/platform_device.h>
#include <linux/rcupdate.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/unaligned.h>
#include <linux/workqueue.h>

#include "virt-pci.h"

/* virt-pci MSI message address, see um_pci_compose_msi_msg() */
#define LBEP_VPCI_MSI_ADDR	0xa0000ULL
#define LBEP_VPCI_MSI_PAGE	(LBEP_VPCI_MSI_ADDR & PAGE_MASK)

/* one logic_iomem mapping (and thus one BAR or outbound map) is <= 16 MiB */
#define LBEP_MAX_MAP_SIZE	SZ_16M
#define LBEP_MAX_BAR_SIZE	SZ_16M

#define LBEP_CFG_SIZE		PCI_CFG_SPACE_EXP_SIZE
#define LBEP_MSI_CAP		0x40
#define LBEP_MSIX_CAP		0x50

#define LBEP_NR_OB		32	/* outbound translation entries */
#define LBEP_MAX_AUX		4	/* embedded doorbells per controller */
#define LBEP_MAX_FUNCS		8	/* physical functions ("max-functions") */

enum lbep_db_mode {
	LBEP_DB_MSI,
	LBEP_DB_MSI_UNREACHABLE,
	LBEP_DB_EMBEDDED,
	LBEP_DB_EMBEDDED_BAR,
	LBEP_DB_MULTI,
	LBEP_DB_NONE,
};

/* Region of the reserved doorbell BAR in "embedded-bar" mode */
extern const struct pci_epc_bar_rsvd_region lbep_db_bar_rsvd;

/**
 * struct lbep_ib_map - inbound translation of one BAR
 * @rcu: for kfree_rcu()
 * @size: number of bytes translated, from BAR offset 0
 * @phys: target of BAR offset 0 when @nr_sub is 0; 0 means unbacked
 * @nr_sub: number of subranges, 0 for a flat mapping
 * @sub: subranges, laid out back to back from BAR offset 0
 */
struct lbep_ib_map {
	struct rcu_head rcu;
	u64 size;
	phys_addr_t phys;
	unsigned int nr_sub;
	struct {
		phys_addr_t phys;
		u64 size;
	} sub[] __counted_by(nr_sub);
};

/**
 * struct lbep_bar - state of one BAR
 * @size: size advertised in config space, 0 if not implemented
 * @flags: PCI_BASE_ADDRESS_MEM_* flags advertised in config space
 * @upper: the BAR is the upper half of the previous 64-bit BAR
 * @reserved: the BAR is owned by the controller (embedded-bar doorbell)
 * @map: current inbound translation, NULL if none
 */
struct lbep_bar {
	u64 size;
	int flags;
	bool upper;
	bool reserved;
	struct lbep_ib_map __rcu *map;
};

/* An outbound window registered with logic_iomem, see pci-loopback-ep-ob.c */
struct lbep_window_slot;

/*
 * One outbound translation (an iATU outbound window); size 0 = unused.  The
 * host sees its transactions as those of function @func_no.
 */
struct lbep_ob {
	phys_addr_t cpu;
	u64 pci;
	u64 size;
	u8 func_no;
};

/* One embedded (aux) doorbell register in the doorbell page */
struct lbep_aux {
	int irq;
	u32 data;
	u32 offset;
};

#if IS_ENABLED(CONFIG_DMA_ENGINE)
#define LBEP_DMA_NR_CHANS	4

struct lbep;

/**
 * struct lbep_dma_chan - one DMA channel
 * @chan: dmaengine channel
 * @ep: owning controller
 * @work: executes issued descriptors in process context
 * @lock: protects @cfg, @submitted, @issued, @err_cookie and the cookies of
 *	  @chan
 * @cfg: slave configuration
 * @submitted: descriptors submitted but not issued
 * @issued: descriptors waiting for @work
 * @err_cookie: cookie of the last transfer that failed
 */
struct lbep_dma_chan {
	struct dma_chan chan;
	struct lbep *ep;
	struct work_struct work;
	spinlock_t lock;	/* see kernel-doc */
	struct dma_slave_config cfg;
	struct list_head submitted;
	struct list_head issued;
	dma_cookie_t err_cookie;
};
#endif

/**
 * struct lbep_signal - asynchronous signalling of rung doorbells
 * @work: runs @fn from the next timer tick (default): UML has no irq_work
 *	  interrupt, so a doorbell waits up to one jiffy
 * @timer: runs @fn from a hard hrtimer that expires at once (boot parameter
 *	   pci_loopback_ep.doorbell_timer=1): microseconds, as on hardware
 * @fn: the delivery, in hard interrupt context either way
 */
struct lbep_signal {
	struct irq_work work;
	struct hrtimer timer;
	void (*fn)(struct lbep_signal *sig);
};

void lbep_signal_init(struct lbep_signal *sig,
		      void (*fn)(struct lbep_signal *sig));
void lbep_signal_raise(struct lbep_signal *sig);
void lbep_signal_sync(struct lbep_signal *sig);

struct lbep;

/**
 * struct lbep_fn - one physical function of the controller
 * @umdev: its virt-pci device (root complex side): function @func_no of
 *	   the controller's slot
 * @ep: the controller
 * @func_no: the function number, the EPC operations' func_no
 * @cfg: shadow configuration space
 * @wmask: host-writable bits of the first 256 bytes of @cfg
 * @msi_cap: the MSI capability is present (set_msi was called)
 * @msix_cap: the MSI-X capability is present (set_msix was called)
 * @cmd: copy of PCI_COMMAND for lockless readers
 * @bar: per-BAR state; geometry under epc->lock and lbep::cfg_lock,
 *	 @bar[].map under epc->lock and RCU
 * @dbg_bar: private data of the host-barN debugfs files (CONFIG_DEBUG_FS)
 *
 * @cfg, @wmask, @msi_cap, @msix_cap and writes of @cmd are under
 * lbep::cfg_lock, which covers every function of the controller.
 */
struct lbep_fn {
	struct um_pci_device umdev;
	struct lbep *ep;
	u8 func_no;
	u8 cfg[LBEP_CFG_SIZE];
	u8 wmask[PCI_CFG_SPACE_SIZE];
	bool msi_cap;
	bool msix_cap;
	u16 cmd;
	struct lbep_bar bar[PCI_STD_NUM_BARS];
#if IS_ENABLED(CONFIG_DEBUG_FS)
	struct lbep_dbg_bar {
		struct lbep_fn *fn;
		enum pci_barno bar;
	} dbg_bar[PCI_STD_NUM_BARS];
#endif
};

/**
 * struct lbep - loopback endpoint controller instance
 * @dev: platform device
 * @epc: endpoint controller
 * @features: controller features returned by get_features
 * @db_mode: doorbell mode from "uml,doorbell"
 * @dma_slave: the DMA channels also offer slave transfers ("uml,dma")
 * @dma_none: the controller has no DMA engine ("uml,dma")
 * @msi_reachable: inbound writes reach loopback MSI controllers
 * @win_base: CPU physical base of the outbound window
 * @win_size: size of the outbound window
 * @slot: logic_iomem slot of the outbound window
 * @db_page: page holding the aux doorbell registers
 * @aux_bar: BAR the aux doorbells are pre-exposed in, or NO_BAR
 * @nr_aux: number of aux doorbells
 * @aux_irq_base: first IRQ of the aux doorbells
 * @aux: aux doorbells
 * @aux_work: signals rung aux doorbells in hard IRQ context
 * @aux_pending: aux doorbells rung and not yet signalled (bit per doorbell)
 * @cfg_lock: protects the configuration space state of every function
 *	      (see struct lbep_fn)
 * @nr_funcs: number of physical functions ("max-functions", default 1)
 * @fn: the physical functions, @nr_funcs of them; on the host side one
 *	multi-function device when there are several
 * @ob_lock: protects @ob
 * @ob: outbound translation table (also under epc->lock for writers)
 * @link_work: registers/unregisters the virt-pci device
 * @bme_work: sends the bus master enable notification
 * @link_want: requested link state, under epc->lock (READ_ONCE in @link_work)
 * @host_visible: BAR geometry is frozen because the host may have sized the
 *		  BARs; under epc->lock
 * @link_up: EP -> host transactions allowed; RCU-published
 * @registered: the virt-pci device is registered; only used by @link_work
 *		and remove
 * @dma: dmaengine device (CONFIG_DMA_ENGINE)
 * @dchan: DMA channels (CONFIG_DMA_ENGINE)
 * @dma_wq: runs the transfers; WQ_MEM_RECLAIM, since users flush it
 *	    (CONFIG_DMA_ENGINE)
 * @dma_registered: @dma is registered (CONFIG_DMA_ENGINE)
 * @dbg_dir: debugfs directory of the host-side bus exerciser
 *	     (CONFIG_DEBUG_FS, as the members below)
 * @hbuf: the exerciser's host buffer (host-dma), or NULL
 * @dbg_hbuf: @hbuf as the blob of the host-dma file
 * @confine: drop endpoint accesses to host RAM outside @hbuf
 * @confine_drops: accesses dropped because of @confine
 * @dbg_floor: the doorbell-floor file
 */
struct lbep {
	struct device *dev;
	struct pci_epc *epc;
	struct pci_epc_features features;
	enum lbep_db_mode db_mode;
	bool dma_slave;
	bool dma_none;
	bool msi_reachable;

	phys_addr_t win_base;
	u64 win_size;
	struct lbep_window_slot *slot;

	phys_addr_t db_page;
	enum pci_barno aux_bar;
	unsigned int nr_aux;
	int aux_irq_base;
	struct lbep_aux aux[LBEP_MAX_AUX];
	struct lbep_signal aux_work;
	unsigned long aux_pending;

	raw_spinlock_t cfg_lock;	/* see kernel-doc */
	unsigned int nr_funcs;
	struct lbep_fn *fn;

	raw_spinlock_t ob_lock;		/* see kernel-doc */
	struct lbep_ob ob[LBEP_NR_OB];

	struct work_struct link_work;
	struct work_struct bme_work;
	bool link_want;
	bool host_visible;
	bool link_up;
	bool registered;

#if IS_ENABLED(CONFIG_DMA_ENGINE)
	struct dma_device dma;
	struct lbep_dma_chan dchan[LBEP_DMA_NR_CHANS];
	struct workqueue_struct *dma_wq;
	bool dma_registered;
#endif

#if IS_ENABLED(CONFIG_DEBUG_FS)
	struct dentry *dbg_dir;
	void *hbuf;
	struct debugfs_blob_wrapper dbg_hbuf;
	bool confine;
	atomic_t confine_drops;
	struct debugfs_run dbg_floor;
#endif
};

/* An emulated platform-MSI controller, see pci-loopback-ep-msi.c */
struct lbmsi;

/* ------------------------------------------------------------------------
 * Memory transactions
 */

enum lbep_xfer_op {
	LBEP_XFER_READ,		/* target -> rbuf */
	LBEP_XFER_WRITE,	/* wbuf -> target */
	LBEP_XFER_SET,		/* value -> target */
};

/* A memory transaction in progress; the buffer pointer advances */
struct lbep_xfer {
	enum lbep_xfer_op op;
	union {
		u8 *rbuf;
		const u8 *wbuf;
	};
	u8 value;
};

static inline const char *lbep_xfer_name(const struct lbep_xfer *x)
{
	return x->op == LBEP_XFER_READ ? "read" : "write";
}

static inline void lbep_xfer_advance(struct lbep_xfer *x, size_t len)
{
	if (x->op == LBEP_XFER_READ)
		x->rbuf += len;
	else if (x->op == LBEP_XFER_WRITE)
		x->wbuf += len;
}

/* Complete an access to something that is not memory */
static inline void lbep_xfer_fill(struct lbep_xfer *x, u8 byte, size_t len)
{
	if (x->op == LBEP_XFER_READ)
		memset(x->rbuf, byte, len);
}

/* Do [a, a + alen) and [b, b + blen) overlap?  Both lengths are non-zero. */
static inline bool lbep_range_overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b ? b - a < alen : a - b < blen;
}

/* Register accesses from virt-pci and logic_iomem are 1, 2, 4 or 8 bytes */
static inline bool lbep_size_ok(int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static inline unsigned long lbep_le_to_ulong(const u8 *buf, int size)
{
	switch (size) {
	case 1:
		return buf[0];
	case 2:
		return get_unaligned_le16(buf);
	case 4:
		return get_unaligned_le32(buf);
	default:
		return get_unaligned_le64(buf);
	}
}

/* ------------------------------------------------------------------------
 * Shadow configuration space accessors, under lbep::cfg_lock
 */

static inline u16 lbep_cfg_rd16(const struct lbep_fn *fn, unsigned int off)
{
	return get_unaligned_le16(&fn->cfg[off]);
}

static inline u32 lbep_cfg_rd32(const struct lbep_fn *fn, unsigned int off)
{
	return get_unaligned_le32(&fn->cfg[off]);
}

static inline void lbep_cfg_wr16(struct lbep_fn *fn, unsigned int off, u16 val)
{
	put_unaligned_le16(val, &fn->cfg[off]);
}

static inline void lbep_cfg_wr32(struct lbep_fn *fn, unsigned int off, u32 val)
{
	put_unaligned_le32(val, &fn->cfg[off]);
}

/* May @fn master the bus (any function of @ep if @fn is NULL)?  Lockless. */
static inline bool lbep_bus_master(const struct lbep *ep,
				   const struct lbep_fn *fn)
{
	unsigned int i;

	if (fn)
		return READ_ONCE(fn->cmd) & PCI_COMMAND_MASTER;

	for (i = 0; i < ep->nr_funcs; i++)
		if (READ_ONCE(ep->fn[i].cmd) & PCI_COMMAND_MASTER)
			return true;

	return false;
}

/**
 * struct lbep_irq_cfg - the host's MSI and MSI-X programming of the function
 * @msi_ctrl: MSI message control, 0 while the MSI capability is not set up
 * @msi_addr: MSI message address
 * @msi_data: MSI message data of the first vector
 * @msix_ctrl: MSI-X message control, 0 while the MSI-X capability is not
 *	       set up
 * @msix_table: MSI-X table offset and BIR
 */
struct lbep_irq_cfg {
	u16 msi_ctrl;
	u64 msi_addr;
	u32 msi_data;
	u16 msix_ctrl;
	u32 msix_table;
};

/* MSI vectors the host enabled, 0 while MSI is disabled */
static inline unsigned int lbep_msi_nvec(const struct lbep_irq_cfg *c)
{
	if (!(c->msi_ctrl & PCI_MSI_FLAGS_ENABLE))
		return 0;

	return BIT(FIELD_GET(PCI_MSI_FLAGS_QSIZE, c->msi_ctrl));
}

/* MSI-X table entries, 0 while MSI-X is disabled */
static inline unsigned int lbep_msix_nvec(const struct lbep_irq_cfg *c)
{
	if (!(c->msix_ctrl & PCI_MSIX_FLAGS_ENABLE))
		return 0;

	return FIELD_GET(PCI_MSIX_FLAGS_QSIZE, c->msix_ctrl) + 1;
}

/* pci-loopback-ep-core.c: embedded doorbells */
void lbep_aux_ring(struct lbep *ep, u64 offset, u32 data);

/* pci-loopback-ep-cfg.c: shadow configuration space, virt-pci callbacks */
extern const struct um_pci_ops lbep_um_pci_ops;
void lbep_wmask_set(struct lbep_fn *fn, unsigned int off, u32 mask,
		    unsigned int len);
void lbep_cfg_program_bar(struct lbep_fn *fn, enum pci_barno bar);
void lbep_bar_drop_geometry(struct lbep_fn *fn, enum pci_barno bar);
void lbep_cfg_build_caps(struct lbep_fn *fn);
void lbep_cfg_fixup(struct lbep_fn *fn);
void lbep_cfg_init(struct lbep *ep);
void lbep_cfg_irq(struct lbep_fn *fn, struct lbep_irq_cfg *c);
void lbep_reset_host_state(struct lbep *ep, bool drop_cleared);
void lbep_host_bar_xfer(struct lbep_fn *fn, int bar, unsigned int offset,
			struct lbep_xfer *x, size_t len);

/* pci-loopback-ep-epc.c: endpoint controller operations */
extern const struct pci_epc_ops lbep_epc_ops;

/* pci-loopback-ep-xfer.c: inbound and endpoint-to-host transactions */
bool lbep_ram_ok(u64 addr, size_t len);
bool lbep_host_ram_ok(struct lbep *ep, u64 addr, size_t len);
bool lbep_ib_xfer(struct lbep_fn *fn, enum pci_barno bar, u64 off,
		  struct lbep_xfer *x, size_t len, bool ram_only);
bool lbep_msix_entry(struct lbep_fn *fn, u32 table, unsigned int idx,
		     u64 *addr, u32 *data, u32 *ctrl);
bool lbep_host_access(struct lbep_fn *fn, u64 pci, struct lbep_xfer *x,
		      size_t len);
int lbep_host_write32(struct lbep_fn *fn, u64 pci, u32 val);
bool lbep_ib_write32_phys(struct lbep *ep, phys_addr_t phys, u32 val);

/* pci-loopback-ep-ob.c: outbound window */
bool lbep_ob_translate(struct lbep *ep, phys_addr_t cpu, u64 *pci, u64 *seg,
		       u8 *func_no);
struct lbep *lbep_window_owner(phys_addr_t cpu);
int lbep_window_attach(struct lbep *ep);
void lbep_window_detach(struct lbep *ep);

/* pci-loopback-ep-msi.c: platform-MSI controller */
extern struct platform_driver lbmsi_driver;
struct lbmsi *lbmsi_lookup(phys_addr_t phys, size_t len);
const char *lbmsi_name(const struct lbmsi *msi);
void lbmsi_doorbell(struct lbmsi *msi, phys_addr_t phys, u32 data);
struct lbmsi *lbmsi_of_parent(struct device *dev);
int lbmsi_test_vector_alloc(struct lbmsi *msi, phys_addr_t *addr, u32 *data);
void lbmsi_test_vector_free(unsigned int virq);

/* pci-loopback-ep-dma.c: dmaengine provider */
#if IS_ENABLED(CONFIG_DMA_ENGINE)
int lbep_dma_register(struct lbep *ep);
void lbep_dma_unregister(struct lbep *ep);
#else
static inline int lbep_dma_register(struct lbep *ep)
{
	return 0;
}

static inline void lbep_dma_unregister(struct lbep *ep)
{
}
#endif

/* pci-loopback-ep-debugfs.c: host-side bus exerciser */
#if IS_ENABLED(CONFIG_DEBUG_FS)
void __init lbep_dbg_init_root(void);
void lbep_dbg_init(struct lbep *ep);
void lbep_dbg_remove(struct lbep *ep);
void lbep_dbg_free_hbuf(struct lbep *ep);
bool lbep_dbg_confine_ok(struct lbep *ep, u64 addr, size_t len);
#else
static inline void lbep_dbg_init_root(void)
{
}

static inline void lbep_dbg_init(struct lbep *ep)
{
}

static inline void lbep_dbg_remove(struct lbep *ep)
{
}

static inline void lbep_dbg_free_hbuf(struct lbep *ep)
{
}

static inline bool lbep_dbg_confine_ok(struct lbep *ep, u64 addr, size_t len)
{
	return true;
}
#endif

#endif /* __UM_PCI_LOOPBACK_EP_H */
