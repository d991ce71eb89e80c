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
 *    virt-pci to the bar_* callbacks below, translated through the per-BAR
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
 * Link: start() queues a work item that calls pci_epc_linkup() and then
 * registers the virt-pci device (link training precedes enumeration);
 * stop() unregisters it, calls pci_epc_linkdown() and resets everything the
 * host programmed.  From start() until the host side is gone, BAR sizes and
 * flags are frozen: pci_epc_set_bar() on a configured BAR only retargets it
 * (same flags, size not larger), clear_bar() leaves it unbacked.
 *
 * A small dmaengine provider on the controller's device offers slave
 * channels (DEV_TO_MEM reads host memory, MEM_TO_DEV writes it) and memcpy
 * between endpoint addresses, executed from a work item.
 *
 * Devicetree bindings (these nodes only exist in UML test DTBs; schemas in
 * Documentation/devicetree/bindings/pci/uml,pci-loopback-ep.yaml and
 * Documentation/devicetree/bindings/interrupt-controller/uml,loopback-msi.yaml):
 *
 *  Loopback platform-MSI controller (optional):
 *    compatible = "uml,loopback-msi";
 *    reg = <doorbell page>;	page aligned, below 4 GiB, above RAM
 *    msi-controller;
 *    #msi-cells = <0>;
 *
 *    uml,msi-vectors = <n>;	optional, 1..64 (default 64)
 *    uml,msi-mutable;		optional: not an immutable MSI parent
 *
 *    The two optional properties only exist for the KUnit tests of the
 *    doorbell allocator (platform/dts/kunit.dts): a parent too small for a
 *    request, and one that pci-ep-msi must refuse as mutable.
 *
 *    The controller hands out up to n vectors.  Every vector's message is
 *    { address = reg base, data = hwirq }.  A 32-bit host write of a vector's
 *    data to the base address (reached through a BAR mapped over it) fires
 *    the vector.
 *
 *  Loopback endpoint controller:
 *    compatible = "uml,pci-loopback-ep";
 *    reg = <outbound window>, <aux doorbell page>;
 *    reg-names = "addr_space", "doorbell";
 *      "addr_space" (or the first reg entry without reg-names) is the
 *      outbound window: page aligned, above RAM, at least 32 MiB
 *      recommended (pci-epf-test maps source and destination of a COPY at
 *      once, each map is at most 16 MiB).  "doorbell" is the page holding
 *      the embedded (aux) doorbell registers; it defaults to 0xd0001000.
 *    uml,doorbell = "msi" | "msi-unreachable" | "embedded" |
 *                   "embedded-bar" | "multi" | "none";
 *      msi:             no aux doorbell; "msi-parent" must point to a
 *                       "uml,loopback-msi" node (default mode).
 *      msi-unreachable: like "msi", but inbound writes never reach the MSI
 *                       controller (R-Car Gen4-like); one aux doorbell
 *                       (bar = NO_BAR) is still reported, like the eDMA
 *                       doorbell of such SoCs.
 *      embedded:        no msi-parent; one aux doorbell, bar = NO_BAR.
 *      embedded-bar:    no msi-parent; one aux doorbell pre-exposed in BAR4
 *                       (BAR_RESERVED, 4 KiB, PCI_EPC_BAR_RSVD_DMA_CTRL_MMIO
 *                       region at offset 0), like Tegra194 / RK3588.
 *      multi:           no msi-parent; four aux doorbells, each with its
 *                       own register and IRQ, bar = NO_BAR.
 *      none:            no msi-parent, no aux doorbell.
 *    uml,dma = "memcpy" | "slave" | "none";
 *      memcpy: the DMA channels only do memcpy (default).
 *      slave:  they also offer DEV_TO_MEM/MEM_TO_DEV slave transfers, as a
 *              DesignWare eDMA does.
 *      none:   no DMA engine at all, like an endpoint without eDMA.
 *    uml,profile = "generic" | "imx8";
 *      generic: six programmable BARs (default).
 *      imx8:    BAR0/2/4 only_64bit, BAR1/3/5 disabled, as on i.MX8, so
 *               that vNTB picks BAR0/2/4 like ntb_hw_epf's mx8 map expects.
 *    msi-parent = <&loopback_msi>;   (modes "msi" and "msi-unreachable")
 *
 *  Example (root node with #address-cells = <2>, #size-cells = <2>):
 *
 *    lbmsi: msi-controller@d0000000 {
 *        compatible = "uml,loopback-msi";
 *        reg = <0x0 0xd0000000 0x0 0x1000>;
 *        msi-controller;
 *        #msi-cells = <0>;
 *    };
 *    pcie-ep@c0000000 {
 *        compatible = "uml,pci-loopback-ep";
 *        reg = <0x0 0xc0000000 0x0 0x4000000>, <0x0 0xd0001000 0x0 0x1000>;
 *        reg-names = "addr_space", "doorbell";
 *        uml,doorbell = "msi";
 *        msi-parent = <&lbmsi>;
 *    };
 *
 * Contexts and locking:
 *
 *  virt-pci calls the config and BAR callbacks without any lock, from any
 *  context including hard interrupt context, and with arbitrary spinlocks of
 *  host drivers held.  The same holds for the outbound logic_iomem callbacks
 *  (EP code may access a window under a spinlock).  Those paths therefore
 *  never sleep and never take epc->lock:
 *
 *  - epc->lock (mutex, EPC core): serialises all pci_epc_ops; every op below
 *    runs with it held.  The driver also takes it in the link work after the
 *    host side is gone.  Writers of bar[].map, bar[] geometry, ob[],
 *    link_want and host_visible hold it.
 *  - lbep::cfg_lock (raw spinlock, irqsave): the shadow config space
 *    (cfg[], wmask[], msi_cap, msix_cap, cmd) and the BAR geometry copy used
 *    by it.  Never held while calling out (IRQ delivery, memcpy of payload).
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
 *  doorbells) are latched by the host's writel() and signalled from an
 *  irq_work in hard interrupt context, as the interrupt controller or eDMA
 *  of a real SoC would, so endpoint code runs its doorbell handlers in the
 *  context real hardware gives them (and lockdep sees that context).
 *
 *  virt-pci registration (which probes host drivers synchronously) and
 *  removal happen from a work item that holds no lock, so host drivers may
 *  talk to endpoint functions (and thus call pci_epc_* ops) while probing.
 *
 * Host-side bus exerciser (debugfs):
 *
 *  UML cannot mmap virt-pci BARs into user space, so each controller has
 *  /sys/kernel/debug/pci-loopback-ep/<device>/host-bar0 .. host-bar5 (root
 *  only).  A read or write of these files at file offset N is a sequence of
 *  32-bit host memory accesses to BAR offset N, N + 4, ..., exactly as a
 *  host driver's readl()/writel() on that BAR: same inbound translation,
 *  same checks (memory decoding enabled, unbacked ranges read as all-ones,
 *  writes to them dropped, doorbells ring on aligned 32-bit writes).  The
 *  file content is the little-endian byte image of the BAR.  Offsets and
 *  lengths must be multiples of 4 (else -EINVAL); the files end at the
 *  largest BAR size the controller supports (16 MiB) and one call moves at
 *  most a page.  Test scenarios use them to play a hostile host against
 *  endpoint functions.
 *
 *  The exerciser also owns a host buffer for endpoint transfers, and an
 *  IOMMU-like confinement of the endpoint's accesses to host memory:
 *
 *  host-dma          the byte image of a 256 KiB buffer of host RAM (zeroed,
 *                    allocated at probe), readable and writable at any
 *                    offset; the buffer a hostile host hands the endpoint
 *  host-dma-addr     "<bus address> <size>" of that buffer (bus address ==
 *                    physical address on UML, there is no IOMMU)
 *  host-dma-confine  "Y"/"N", default "N".  While "Y", every endpoint access
 *                    to host RAM (outbound window, DMA to host addresses)
 *                    that is not entirely inside host-dma is dropped, as an
 *                    IOMMU drops accesses outside what the host mapped for
 *                    the device: reads return all-ones, writes are lost.
 *                    Host and endpoint RAM are one UML memory, so without
 *                    it an endpoint told to write to a random host address
 *                    would overwrite the kernel.  MSI writes are not
 *                    affected.
 *  host-dma-dropped  number of accesses dropped by the confinement
 */

#define pr_fmt(fmt) "pci-loopback-ep: " fmt

#include <linux/bitfield.h>
#include <linux/bitmap.h>
#include <linux/bits.h>
#include <linux/cleanup.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/dmaengine.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/irq.h>
#include <linux/irqchip/irq-msi-lib.h>
#include <linux/irqdesc.h>
#include <linux/irqdomain.h>
#include <linux/irq_work.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/logic_iomem.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/msi.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/pci-epc.h>
#include <linux/pci-epf.h>
#include <linux/platform_device.h>
#include <linux/property.h>
#include <linux/rculist.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/workqueue.h>

#include <as-layout.h>

#include "virt-pci.h"

/* virt-pci MSI message address, see um_pci_compose_msi_msg() */
#define LBEP_VPCI_MSI_ADDR	0xa0000ULL
#define LBEP_VPCI_MSI_PAGE	(LBEP_VPCI_MSI_ADDR & PAGE_MASK)

/* one logic_iomem mapping (and thus one BAR or outbound map) is <= 16 MiB */
#define LBEP_MAX_MAP_SIZE	SZ_16M
#define LBEP_MAX_BAR_SIZE	SZ_16M
#define LBEP_MIN_BAR_SIZE	16
#define LBEP_HBUF_SIZE		SZ_256K	/* exerciser host buffer (host-dma) */

#define LBEP_CFG_SIZE		PCI_CFG_SPACE_EXP_SIZE
#define LBEP_MSI_CAP		0x40
#define LBEP_MSIX_CAP		0x50
#define LBEP_CMD_WMASK		(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_INTX_DISABLE)

#define LBEP_NR_OB		32	/* outbound translation entries */
#define LBEP_MAX_SUBMAP		8	/* inbound windows per BAR */
#define LBEP_NR_WINDOW_SLOTS	4	/* controller instances */

#define LBEP_DEFAULT_DB_PAGE	0xd0001000ULL
#define LBEP_MAX_AUX		4
#define LBEP_AUX_DB_STRIDE	0x10
#define LBEP_AUX_DB_DATA(i)	(0xdb00U + (i))
#define LBEP_DB_BAR		BAR_4
#define LBEP_DB_BAR_SIZE	SZ_4K

#define LBMSI_NR_VECTORS	64

enum lbep_db_mode {
	LBEP_DB_MSI,
	LBEP_DB_MSI_UNREACHABLE,
	LBEP_DB_EMBEDDED,
	LBEP_DB_EMBEDDED_BAR,
	LBEP_DB_MULTI,
	LBEP_DB_NONE,
};

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
static const struct pci_epc_bar_rsvd_region lbep_db_bar_rsvd = {
	.type	= PCI_EPC_BAR_RSVD_DMA_CTRL_MMIO,
	.offset	= 0,
	.size	= LBEP_DB_BAR_SIZE,
};

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

struct lbep_window_slot;

/* One outbound translation (an iATU outbound window); size 0 = unused */
struct lbep_ob {
	phys_addr_t cpu;
	u64 pci;
	u64 size;
};

/* One embedded (aux) doorbell register in the doorbell page */
struct lbep_aux {
	int irq;
	u32 data;
	u32 offset;
};

#if IS_ENABLED(CONFIG_DMA_ENGINE)
#define LBEP_DMA_NR_CHANS	4
#define LBEP_DMA_BUSWIDTHS	(BIT(DMA_SLAVE_BUSWIDTH_1_BYTE) |	\
				 BIT(DMA_SLAVE_BUSWIDTH_2_BYTES) |	\
				 BIT(DMA_SLAVE_BUSWIDTH_4_BYTES) |	\
				 BIT(DMA_SLAVE_BUSWIDTH_8_BYTES))

struct lbep;

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
 * endpoint RAM, or a CPU address inside the controller's outbound window.
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
 * struct lbep - loopback endpoint controller instance
 * @umdev: virt-pci device (root complex side)
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
 * @cfg_lock: protects @cfg, @wmask, @msi_cap, @msix_cap, writes of @cmd
 * @cfg: shadow configuration space
 * @wmask: host-writable bits of the first 256 bytes of @cfg
 * @msi_cap: the MSI capability is present (set_msi was called)
 * @msix_cap: the MSI-X capability is present (set_msix was called)
 * @cmd: copy of PCI_COMMAND for lockless readers
 * @bar: per-BAR state; geometry under epc->lock and @cfg_lock, @bar[].map
 *	 under epc->lock and RCU
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
 * @dma: dmaengine device
 * @dchan: DMA channels
 * @dma_wq: runs the transfers; WQ_MEM_RECLAIM, since users flush it
 * @dma_registered: @dma is registered
 * @dbg_dir: debugfs directory of the host-side bus exerciser
 * @dbg_bar: private data of the host-bar0..5 debugfs files
 * @hbuf: the exerciser's host buffer (host-dma), or NULL
 * @confine: drop endpoint accesses to host RAM outside @hbuf
 * @confine_drops: accesses dropped because of @confine
 */
struct lbep {
	struct um_pci_device umdev;
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
	struct irq_work aux_work;
	unsigned long aux_pending;

	raw_spinlock_t cfg_lock;	/* see kernel-doc */
	u8 cfg[LBEP_CFG_SIZE];
	u8 wmask[PCI_CFG_SPACE_SIZE];
	bool msi_cap;
	bool msix_cap;
	u16 cmd;

	struct lbep_bar bar[PCI_STD_NUM_BARS];

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

	struct dentry *dbg_dir;
	struct lbep_dbg_bar {
		struct lbep *ep;
		enum pci_barno bar;
	} dbg_bar[PCI_STD_NUM_BARS];
	void *hbuf;
	bool confine;
	atomic_t confine_drops;
};

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
	struct irq_work work;
	DECLARE_BITMAP(pending, LBMSI_NR_VECTORS);
};

static LIST_HEAD(lbmsi_list);
static DEFINE_MUTEX(lbmsi_list_lock);	/* writers of lbmsi_list */

/* ------------------------------------------------------------------------
 * Memory access helpers
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

static const char *lbep_xfer_name(const struct lbep_xfer *x)
{
	return x->op == LBEP_XFER_READ ? "read" : "write";
}

static void lbep_xfer_advance(struct lbep_xfer *x, size_t len)
{
	if (x->op == LBEP_XFER_READ)
		x->rbuf += len;
	else if (x->op == LBEP_XFER_WRITE)
		x->wbuf += len;
}

/* Complete an access to something that is not memory */
static void lbep_xfer_fill(struct lbep_xfer *x, u8 byte, size_t len)
{
	if (x->op == LBEP_XFER_READ)
		memset(x->rbuf, byte, len);
}

/* Is this chunk a naturally aligned 32-bit write?  Returns its value. */
static bool lbep_xfer_is_write32(const struct lbep_xfer *x, u64 addr,
				 size_t len, u32 *data)
{
	if (x->op != LBEP_XFER_WRITE || len != sizeof(u32) ||
	    !IS_ALIGNED(addr, sizeof(u32)))
		return false;

	*data = get_unaligned_le32(x->wbuf);
	return true;
}

/*
 * Aligned 1/2/4/8 byte accesses are done as single accesses, like a PCIe
 * TLP, so that registers shared between host and endpoint code do not tear.
 */
static bool lbep_xfer_ram_sized(struct lbep_xfer *x, void *va, size_t len)
{
	bool rd = x->op == LBEP_XFER_READ;

	if (x->op == LBEP_XFER_SET || !IS_ALIGNED((unsigned long)va, len))
		return false;

	switch (len) {
	case 1:
		if (rd)
			*x->rbuf = READ_ONCE(*(u8 *)va);
		else
			WRITE_ONCE(*(u8 *)va, *x->wbuf);
		return true;
	case 2:
		if (rd)
			put_unaligned(READ_ONCE(*(u16 *)va), (u16 *)x->rbuf);
		else
			WRITE_ONCE(*(u16 *)va, get_unaligned((const u16 *)x->wbuf));
		return true;
	case 4:
		if (rd)
			put_unaligned(READ_ONCE(*(u32 *)va), (u32 *)x->rbuf);
		else
			WRITE_ONCE(*(u32 *)va, get_unaligned((const u32 *)x->wbuf));
		return true;
	case 8:
		if (rd)
			put_unaligned(READ_ONCE(*(u64 *)va), (u64 *)x->rbuf);
		else
			WRITE_ONCE(*(u64 *)va, get_unaligned((const u64 *)x->wbuf));
		return true;
	default:
		return false;
	}
}

static void lbep_xfer_ram(struct lbep_xfer *x, void *va, size_t len)
{
	if (lbep_xfer_ram_sized(x, va, len))
		return;

	switch (x->op) {
	case LBEP_XFER_READ:
		memcpy(x->rbuf, va, len);
		break;
	case LBEP_XFER_WRITE:
		memcpy(va, x->wbuf, len);
		break;
	case LBEP_XFER_SET:
		memset(va, x->value, len);
		break;
	}
}

/* Do [a, a + alen) and [b, b + blen) overlap?  Both lengths are non-zero. */
static bool lbep_range_overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b ? b - a < alen : a - b < blen;
}

/*
 * Is [addr, addr + len) ordinary RAM that a device may DMA to?  Address 0,
 * memory above physmem_size, invalid pfns and reserved pages (the kernel
 * image, which also contains the virt-pci MSI address) are not.
 */
static bool lbep_ram_ok(u64 addr, size_t len)
{
	unsigned long pfn;
	u64 end;

	if (!addr || !len || check_add_overflow(addr, (u64)len, &end) ||
	    end > physmem_size)
		return false;

	for (pfn = PHYS_PFN(addr); pfn <= PHYS_PFN(end - 1); pfn++) {
		if (!pfn_valid(pfn) || PageReserved(pfn_to_page(pfn)))
			return false;
	}

	return true;
}

/*
 * May the endpoint access [addr, addr + len) of host RAM?  With the
 * exerciser's confinement on, only inside its host buffer (see host-dma).
 */
static bool lbep_host_ram_ok(struct lbep *ep, u64 addr, size_t len)
{
	u64 base;

	if (!lbep_ram_ok(addr, len))
		return false;
	if (!READ_ONCE(ep->confine))
		return true;

	base = ep->hbuf ? virt_to_phys(ep->hbuf) : 0;
	if (ep->hbuf && addr >= base && len <= LBEP_HBUF_SIZE &&
	    addr - base <= LBEP_HBUF_SIZE - len)
		return true;

	atomic_inc(&ep->confine_drops);
	return false;
}

/* Register accesses from virt-pci and logic_iomem are 1, 2, 4 or 8 bytes */
static bool lbep_size_ok(int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static unsigned long lbep_le_to_ulong(const u8 *buf, int size)
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
 * Loopback platform-MSI controller
 *
 * Interface to the endpoint controller (same file, no exports):
 *   lbmsi_lookup(phys, len)  - controller whose doorbell region overlaps
 *                              [phys, phys + len), NULL if none; call under
 *                              rcu_read_lock()
 *   lbmsi_doorbell(msi, offset, data)
 *                            - a 32-bit write of @data landed at @offset of
 *                              the doorbell region; fires hwirq @data with
 *                              generic_handle_domain_irq_safe()
 */

static struct lbmsi *lbmsi_lookup(phys_addr_t phys, size_t len)
{
	struct lbmsi *msi;

	list_for_each_entry_rcu(msi, &lbmsi_list, node) {
		if (lbep_range_overlaps(phys, len, msi->base, msi->size))
			return msi;
	}

	return NULL;
}

static void lbmsi_doorbell(struct lbmsi *msi, u64 offset, u32 data)
{
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
	irq_work_queue(&msi->work);
}

static void lbmsi_deliver(struct irq_work *work)
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
	msi->work = IRQ_WORK_INIT_HARD(lbmsi_deliver);
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
static struct platform_driver lbmsi_driver = {
	.probe = lbmsi_probe,
	.driver = {
		.name			= "uml-loopback-msi",
		.of_match_table		= lbmsi_of_match,
		.suppress_bind_attrs	= true,
	},
};

/* ------------------------------------------------------------------------
 * Shadow configuration space
 */

static u16 lbep_cfg_rd16(const struct lbep *ep, unsigned int off)
{
	return get_unaligned_le16(&ep->cfg[off]);
}

static u32 lbep_cfg_rd32(const struct lbep *ep, unsigned int off)
{
	return get_unaligned_le32(&ep->cfg[off]);
}

static void lbep_cfg_wr16(struct lbep *ep, unsigned int off, u16 val)
{
	put_unaligned_le16(val, &ep->cfg[off]);
}

static void lbep_cfg_wr32(struct lbep *ep, unsigned int off, u32 val)
{
	put_unaligned_le32(val, &ep->cfg[off]);
}

static void lbep_wmask_set(struct lbep *ep, unsigned int off, u32 mask,
			   unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		ep->wmask[off + i] = mask >> (8 * i);
}

/* Program the BAR register(s) of @bar from ep->bar[@bar] */
static void lbep_cfg_program_bar(struct lbep *ep, enum pci_barno bar)
{
	const struct lbep_bar *b = &ep->bar[bar];
	unsigned int reg = PCI_BASE_ADDRESS_0 + 4 * bar;
	u64 mask = ~(b->size - 1);

	lockdep_assert_held(&ep->cfg_lock);

	if (!b->size) {
		lbep_cfg_wr32(ep, reg, 0);
		lbep_wmask_set(ep, reg, 0, 4);
		return;
	}

	/*
	 * Only the address bits above the size are writable, so writing
	 * all-ones reads back the size mask plus the read-only flag bits.
	 */
	lbep_cfg_wr32(ep, reg, b->flags);
	lbep_wmask_set(ep, reg, lower_32_bits(mask) & ~0xfU, 4);

	if (b->flags & PCI_BASE_ADDRESS_MEM_TYPE_64) {
		lbep_cfg_wr32(ep, reg + 4, 0);
		lbep_wmask_set(ep, reg + 4, upper_32_bits(mask), 4);
	}
}

/* Forget the geometry of @bar (and of its upper half) */
static void lbep_bar_drop_geometry(struct lbep *ep, enum pci_barno bar)
{
	struct lbep_bar *b = &ep->bar[bar];

	lockdep_assert_held(&ep->cfg_lock);

	if ((b->flags & PCI_BASE_ADDRESS_MEM_TYPE_64) && bar < BAR_5) {
		ep->bar[bar + 1].upper = false;
		lbep_cfg_wr32(ep, PCI_BASE_ADDRESS_0 + 4 * (bar + 1), 0);
		lbep_wmask_set(ep, PCI_BASE_ADDRESS_0 + 4 * (bar + 1), 0, 4);
	}

	b->size = 0;
	b->flags = 0;
	lbep_cfg_program_bar(ep, bar);
}

static void lbep_cfg_build_caps(struct lbep *ep)
{
	u16 status;
	u8 next = 0;

	lockdep_assert_held(&ep->cfg_lock);

	if (ep->msix_cap) {
		ep->cfg[LBEP_MSIX_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSIX;
		ep->cfg[LBEP_MSIX_CAP + PCI_CAP_LIST_NEXT] = next;
		next = LBEP_MSIX_CAP;
	}

	if (ep->msi_cap) {
		ep->cfg[LBEP_MSI_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSI;
		ep->cfg[LBEP_MSI_CAP + PCI_CAP_LIST_NEXT] = next;
		next = LBEP_MSI_CAP;
	}

	ep->cfg[PCI_CAPABILITY_LIST] = next;

	status = lbep_cfg_rd16(ep, PCI_STATUS);
	if (next)
		status |= PCI_STATUS_CAP_LIST;
	else
		status &= ~PCI_STATUS_CAP_LIST;
	lbep_cfg_wr16(ep, PCI_STATUS, status);
}

/* Keep host-written values within what the capabilities advertise */
static void lbep_cfg_fixup(struct lbep *ep)
{
	u16 ctrl;
	u32 mmc, mme;

	lockdep_assert_held(&ep->cfg_lock);

	if (!ep->msi_cap)
		return;

	ctrl = lbep_cfg_rd16(ep, LBEP_MSI_CAP + PCI_MSI_FLAGS);
	mmc = FIELD_GET(PCI_MSI_FLAGS_QMASK, ctrl);
	mme = FIELD_GET(PCI_MSI_FLAGS_QSIZE, ctrl);
	if (mme > mmc) {
		ctrl &= ~PCI_MSI_FLAGS_QSIZE;
		ctrl |= FIELD_PREP(PCI_MSI_FLAGS_QSIZE, mmc);
		lbep_cfg_wr16(ep, LBEP_MSI_CAP + PCI_MSI_FLAGS, ctrl);
	}
}

static void lbep_cfg_init(struct lbep *ep)
{
	unsigned long flags;

	/* Vendor ID 0 reads as an empty slot until write_header() */
	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	ep->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	lbep_wmask_set(ep, PCI_COMMAND, LBEP_CMD_WMASK, 2);
	ep->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	ep->wmask[PCI_LATENCY_TIMER] = 0xff;
	ep->wmask[PCI_INTERRUPT_LINE] = 0xff;
	lbep_cfg_build_caps(ep);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);
}

/*
 * The host side is gone: drop everything the host programmed (like a
 * fundamental reset) and, if @drop_cleared, the geometry of BARs that were
 * cleared while the host could see them.
 */
static void lbep_reset_host_state(struct lbep *ep, bool drop_cleared)
{
	unsigned long flags;
	unsigned int i;
	int bar;

	lockdep_assert_held(&ep->epc->lock);

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	for (i = 0; i < PCI_CFG_SPACE_SIZE; i++)
		ep->cfg[i] &= ~ep->wmask[i];
	WRITE_ONCE(ep->cmd, 0);

	for (bar = BAR_0; bar <= BAR_5 && drop_cleared; bar++) {
		struct lbep_bar *b = &ep->bar[bar];

		if (b->size && !b->reserved && !rcu_access_pointer(b->map))
			lbep_bar_drop_geometry(ep, bar);
	}
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);
}

/* ------------------------------------------------------------------------
 * Endpoint side of a transaction: doorbells and endpoint RAM
 */

static void lbep_aux_ring(struct lbep *ep, u64 offset, u32 data)
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
		irq_work_queue(&ep->aux_work);
		return;
	}

	dev_dbg_ratelimited(ep->dev, "write to doorbell page offset %#llx ignored\n",
			    offset);
}

/*
 * Access @len bytes of endpoint physical memory at @phys; the range does not
 * cross a page boundary.  @ram_only restricts the access to RAM (used for
 * the controller's own reads of the MSI-X table).  Returns false if the
 * access did not reach anything.  Called under rcu_read_lock().
 */
static bool lbep_ep_access(struct lbep *ep, phys_addr_t phys,
			   struct lbep_xfer *x, size_t len, bool ram_only)
{
	struct lbmsi *msi;
	u32 data;

	if (!ram_only && ep->nr_aux &&
	    lbep_range_overlaps(phys, len, ep->db_page, PAGE_SIZE)) {
		if (lbep_xfer_is_write32(x, phys, len, &data))
			lbep_aux_ring(ep, phys - ep->db_page, data);
		else
			lbep_xfer_fill(x, 0, len);
		return true;
	}

	msi = ram_only ? NULL : lbmsi_lookup(phys, len);
	if (msi) {
		if (!ep->msi_reachable) {
			dev_warn_ratelimited(ep->dev,
					     "inbound %s at %pa does not reach %s\n",
					     lbep_xfer_name(x), &phys,
					     dev_name(msi->dev));
			lbep_xfer_fill(x, 0xff, len);
			return false;
		}

		if (lbep_xfer_is_write32(x, phys, len, &data))
			lbmsi_doorbell(msi, phys - msi->base, data);
		else
			lbep_xfer_fill(x, 0, len);
		return true;
	}

	if (lbep_ram_ok(phys, len)) {
		lbep_xfer_ram(x, phys_to_virt(phys), len);
		return true;
	}

	lbep_xfer_fill(x, 0xff, len);
	return false;
}

/*
 * Translate offset @off of @bar with @map.  On success *phys is the target
 * and *seg the number of bytes contiguous from there.  Otherwise *seg is the
 * number of bytes that are not backed.
 */
static bool lbep_ib_resolve(const struct lbep_ib_map *map, u64 off,
			    phys_addr_t *phys, u64 *seg)
{
	u64 start = 0;
	unsigned int i;

	if (!map || off >= map->size) {
		*seg = U64_MAX;
		return false;
	}

	if (!map->nr_sub) {
		*phys = map->phys + off;
		*seg = map->size - off;
		/* e.g. a vNTB memory window before mw_set_trans() */
		return map->phys != 0;
	}

	for (i = 0; i < map->nr_sub; i++) {
		u64 size = map->sub[i].size;

		if (off - start < size) {
			*phys = map->sub[i].phys + (off - start);
			*seg = size - (off - start);
			return map->sub[i].phys != 0;
		}
		start += size;
	}

	*seg = U64_MAX;
	return false;
}

/* Access @len bytes at offset @off of @bar; returns false if not all backed */
static bool lbep_ib_xfer(struct lbep *ep, enum pci_barno bar, u64 off,
			 struct lbep_xfer *x, size_t len, bool ram_only)
{
	bool ok = true;

	while (len) {
		phys_addr_t phys = 0;
		size_t chunk;
		bool hit;
		u64 seg;

		rcu_read_lock();
		hit = lbep_ib_resolve(rcu_dereference(ep->bar[bar].map), off,
				      &phys, &seg);
		chunk = min_t(u64, len, seg);
		if (hit) {
			chunk = min_t(size_t, chunk,
				      PAGE_SIZE - offset_in_page(phys));
			hit = lbep_ep_access(ep, phys, x, chunk, ram_only);
		} else {
			lbep_xfer_fill(x, 0xff, chunk);
		}
		rcu_read_unlock();

		if (!hit)
			ok = false;
		lbep_xfer_advance(x, chunk);
		off += chunk;
		len -= chunk;
	}

	return ok;
}

/* Read MSI-X table entry @idx from the memory behind the table BAR */
static bool lbep_msix_entry(struct lbep *ep, u32 table, unsigned int idx,
			    u64 *addr, u32 *data, u32 *ctrl)
{
	enum pci_barno bir = FIELD_GET(PCI_MSIX_TABLE_BIR, table);
	u8 buf[PCI_MSIX_ENTRY_SIZE];
	struct lbep_xfer x = { .op = LBEP_XFER_READ, .rbuf = buf };
	u64 off;

	if (bir > BAR_5)
		return false;

	off = (u64)(table & PCI_MSIX_TABLE_OFFSET) +
	      (u64)idx * PCI_MSIX_ENTRY_SIZE;
	if (!lbep_ib_xfer(ep, bir, off, &x, sizeof(buf), true))
		return false;

	*addr = get_unaligned_le64(&buf[PCI_MSIX_ENTRY_LOWER_ADDR]);
	*data = get_unaligned_le32(&buf[PCI_MSIX_ENTRY_DATA]);
	*ctrl = get_unaligned_le32(&buf[PCI_MSIX_ENTRY_VECTOR_CTRL]);
	return true;
}

/* ------------------------------------------------------------------------
 * Host side of a transaction: virt-pci MSI and host RAM
 */

/* Is @data an MSI or MSI-X message the host programmed into this function? */
static bool lbep_host_msi_valid(struct lbep *ep, u32 data)
{
	u32 msi_data = 0, table = 0, ent_data = 0, ent_ctrl = 0;
	u16 msi_ctrl = 0, msix_ctrl = 0;
	u64 msi_addr = 0, ent_addr = 0;
	unsigned int i, nvec;
	unsigned long flags;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	if (ep->msi_cap) {
		msi_ctrl = lbep_cfg_rd16(ep, LBEP_MSI_CAP + PCI_MSI_FLAGS);
		msi_addr = lbep_cfg_rd32(ep, LBEP_MSI_CAP + PCI_MSI_ADDRESS_LO) |
			   (u64)lbep_cfg_rd32(ep, LBEP_MSI_CAP + PCI_MSI_ADDRESS_HI) << 32;
		msi_data = lbep_cfg_rd16(ep, LBEP_MSI_CAP + PCI_MSI_DATA_64);
	}
	if (ep->msix_cap) {
		msix_ctrl = lbep_cfg_rd16(ep, LBEP_MSIX_CAP + PCI_MSIX_FLAGS);
		table = lbep_cfg_rd32(ep, LBEP_MSIX_CAP + PCI_MSIX_TABLE);
	}
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	if ((msi_ctrl & PCI_MSI_FLAGS_ENABLE) && msi_addr == LBEP_VPCI_MSI_ADDR &&
	    data >= msi_data &&
	    data - msi_data < BIT(FIELD_GET(PCI_MSI_FLAGS_QSIZE, msi_ctrl)))
		return true;

	if (!(msix_ctrl & PCI_MSIX_FLAGS_ENABLE) ||
	    (msix_ctrl & PCI_MSIX_FLAGS_MASKALL))
		return false;

	nvec = FIELD_GET(PCI_MSIX_FLAGS_QSIZE, msix_ctrl) + 1;
	for (i = 0; i < nvec; i++) {
		if (!lbep_msix_entry(ep, table, i, &ent_addr, &ent_data,
				     &ent_ctrl))
			continue;
		if (ent_addr == LBEP_VPCI_MSI_ADDR && ent_data == data &&
		    !(ent_ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT))
			return true;
	}

	return false;
}

static bool lbep_host_msi(struct lbep *ep, u32 data)
{
	if (!lbep_host_msi_valid(ep, data)) {
		dev_warn_ratelimited(ep->dev,
				     "MSI data %#x matches no enabled vector, dropped\n",
				     data);
		return false;
	}

	return !generic_handle_irq_safe(data);
}

/*
 * Access @len bytes of host PCI address space at @pci on behalf of the
 * endpoint; the range does not cross a page boundary.  Returns false if the
 * access did not reach anything.  Called under rcu_read_lock().
 */
static bool lbep_host_access(struct lbep *ep, u64 pci, struct lbep_xfer *x,
			     size_t len)
{
	u32 data;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "host access outside RCU");

	/* No transactions without link, or while bus mastering is off */
	if (!READ_ONCE(ep->link_up) ||
	    !(READ_ONCE(ep->cmd) & PCI_COMMAND_MASTER))
		goto drop;

	if (lbep_range_overlaps(pci, len, LBEP_VPCI_MSI_PAGE, PAGE_SIZE)) {
		if (pci == LBEP_VPCI_MSI_ADDR &&
		    lbep_xfer_is_write32(x, pci, len, &data))
			return lbep_host_msi(ep, data);
		goto drop;
	}

	if (lbep_host_ram_ok(ep, pci, len)) {
		lbep_xfer_ram(x, phys_to_virt(pci), len);
		return true;
	}

drop:
	lbep_xfer_fill(x, 0xff, len);
	return false;
}

/* Memory write of @val to host PCI address @pci (MSI, MSI-X) */
static int lbep_host_write32(struct lbep *ep, u64 pci, u32 val)
{
	u8 buf[sizeof(u32)];
	struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buf };
	bool ok = false;

	put_unaligned_le32(val, buf);

	if (IS_ALIGNED(pci, sizeof(u32))) {
		rcu_read_lock();
		ok = lbep_host_access(ep, pci, &x, sizeof(buf));
		rcu_read_unlock();
	}

	if (!ok)
		dev_warn_ratelimited(ep->dev,
				     "interrupt write %#x to %#llx not delivered\n",
				     val, pci);

	return ok ? 0 : -EIO;
}

/* ------------------------------------------------------------------------
 * Outbound window (logic_iomem)
 */

static bool lbep_ob_translate(struct lbep *ep, phys_addr_t cpu, u64 *pci,
			      u64 *seg)
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
		found = true;
		break;
	}
	raw_spin_unlock_irqrestore(&ep->ob_lock, flags);

	return found;
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

		rcu_read_lock();
		ep = rcu_dereference(m->slot->owner);
		if (ep && lbep_ob_translate(ep, cpu, &pci, &seg)) {
			chunk = min_t(u64, chunk, seg);
			chunk = min_t(size_t, chunk,
				      PAGE_SIZE - offset_in_page(pci));
			hit = lbep_host_access(ep, pci, x, chunk);
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

static long lbep_ob_map0(unsigned long offset, size_t size,
			 const struct logic_iomem_ops **ops, void **priv)
{
	return lbep_ob_map(&lbep_slots[0], offset, size, ops, priv);
}

static long lbep_ob_map1(unsigned long offset, size_t size,
			 const struct logic_iomem_ops **ops, void **priv)
{
	return lbep_ob_map(&lbep_slots[1], offset, size, ops, priv);
}

static long lbep_ob_map2(unsigned long offset, size_t size,
			 const struct logic_iomem_ops **ops, void **priv)
{
	return lbep_ob_map(&lbep_slots[2], offset, size, ops, priv);
}

static long lbep_ob_map3(unsigned long offset, size_t size,
			 const struct logic_iomem_ops **ops, void **priv)
{
	return lbep_ob_map(&lbep_slots[3], offset, size, ops, priv);
}

static const struct logic_iomem_region_ops lbep_slot_ops[LBEP_NR_WINDOW_SLOTS] = {
	{ .map = lbep_ob_map0 },
	{ .map = lbep_ob_map1 },
	{ .map = lbep_ob_map2 },
	{ .map = lbep_ob_map3 },
};

static int lbep_window_attach(struct lbep *ep)
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

static void lbep_window_detach(struct lbep *ep)
{
	mutex_lock(&lbep_slots_lock);
	RCU_INIT_POINTER(ep->slot->owner, NULL);
	mutex_unlock(&lbep_slots_lock);

	/* Outbound accessors dereference the owner under RCU */
	synchronize_rcu();
	ep->slot = NULL;
}

/* ------------------------------------------------------------------------
 * Root complex side: virt-pci callbacks
 */

static struct lbep *umdev_to_lbep(struct um_pci_device *dev)
{
	return container_of(dev, struct lbep, umdev);
}

static unsigned long lbep_cfgspace_read(struct um_pci_device *dev,
					unsigned int offset, int size)
{
	struct lbep *ep = umdev_to_lbep(dev);
	unsigned long flags;
	u8 buf[sizeof(u64)];

	if (!lbep_size_ok(size) || offset >= LBEP_CFG_SIZE ||
	    size > LBEP_CFG_SIZE - offset)
		return ULONG_MAX;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	memcpy(buf, &ep->cfg[offset], size);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	return lbep_le_to_ulong(buf, size);
}

static void lbep_cfgspace_write(struct um_pci_device *dev, unsigned int offset,
				int size, unsigned long val)
{
	struct lbep *ep = umdev_to_lbep(dev);
	unsigned long flags;
	u16 old_cmd, new_cmd;
	int i;

	if (!lbep_size_ok(size) || offset >= LBEP_CFG_SIZE ||
	    size > LBEP_CFG_SIZE - offset)
		return;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	old_cmd = ep->cmd;
	for (i = 0; i < size && offset + i < PCI_CFG_SPACE_SIZE; i++) {
		unsigned int off = offset + i;
		u8 mask = ep->wmask[off];

		ep->cfg[off] = (ep->cfg[off] & ~mask) | ((val >> (8 * i)) & mask);
	}
	lbep_cfg_fixup(ep);
	new_cmd = lbep_cfg_rd16(ep, PCI_COMMAND);
	WRITE_ONCE(ep->cmd, new_cmd);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	/* pci_epc_bus_master_enable_notify() sleeps; defer it */
	if (!(old_cmd & PCI_COMMAND_MASTER) && (new_cmd & PCI_COMMAND_MASTER))
		schedule_work(&ep->bme_work);
}

static void lbep_host_bar_xfer(struct lbep *ep, int bar, unsigned int offset,
			       struct lbep_xfer *x, size_t len)
{
	if (bar < BAR_0 || bar > BAR_5) {
		lbep_xfer_fill(x, 0xff, len);
		return;
	}

	if (!(READ_ONCE(ep->cmd) & PCI_COMMAND_MEMORY)) {
		dev_warn_ratelimited(ep->dev,
				     "host %s at BAR%d+%#x with memory decoding off\n",
				     lbep_xfer_name(x), bar, offset);
		lbep_xfer_fill(x, 0xff, len);
		return;
	}

	if (!lbep_ib_xfer(ep, bar, offset, x, len, false))
		dev_warn_ratelimited(ep->dev,
				     "host %s of %zu bytes at BAR%d+%#x not (fully) backed\n",
				     lbep_xfer_name(x), len, bar, offset);
}

static unsigned long lbep_bar_read(struct um_pci_device *dev, int bar,
				   unsigned int offset, int size)
{
	u8 buf[sizeof(u64)];
	struct lbep_xfer x = { .op = LBEP_XFER_READ, .rbuf = buf };

	if (!lbep_size_ok(size))
		return ULONG_MAX;

	lbep_host_bar_xfer(umdev_to_lbep(dev), bar, offset, &x, size);
	return lbep_le_to_ulong(buf, size);
}

static void lbep_bar_write(struct um_pci_device *dev, int bar,
			   unsigned int offset, int size, unsigned long val)
{
	u8 buf[sizeof(u64)];
	struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buf };

	if (!lbep_size_ok(size))
		return;

	put_unaligned_le64(val, buf);
	lbep_host_bar_xfer(umdev_to_lbep(dev), bar, offset, &x, size);
}

static void lbep_bar_copy_from(struct um_pci_device *dev, int bar,
			       void *buffer, unsigned int offset, int size)
{
	struct lbep_xfer x = { .op = LBEP_XFER_READ, .rbuf = buffer };

	if (size > 0)
		lbep_host_bar_xfer(umdev_to_lbep(dev), bar, offset, &x, size);
}

static void lbep_bar_copy_to(struct um_pci_device *dev, int bar,
			     unsigned int offset, const void *buffer, int size)
{
	struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buffer };

	if (size > 0)
		lbep_host_bar_xfer(umdev_to_lbep(dev), bar, offset, &x, size);
}

static void lbep_bar_set(struct um_pci_device *dev, int bar,
			 unsigned int offset, u8 value, int size)
{
	struct lbep_xfer x = { .op = LBEP_XFER_SET, .value = value };

	if (size > 0)
		lbep_host_bar_xfer(umdev_to_lbep(dev), bar, offset, &x, size);
}

static const struct um_pci_ops lbep_um_pci_ops = {
	.cfgspace_read	= lbep_cfgspace_read,
	.cfgspace_write	= lbep_cfgspace_write,
	.bar_read	= lbep_bar_read,
	.bar_write	= lbep_bar_write,
	.bar_copy_from	= lbep_bar_copy_from,
	.bar_copy_to	= lbep_bar_copy_to,
	.bar_set	= lbep_bar_set,
};

/* ------------------------------------------------------------------------
 * Host-side bus exerciser: debugfs files host-bar0..5 (see the top comment)
 */

static struct dentry *lbep_dbg_root;

/* Clamp a debugfs access at *@ppos of @count bytes; 0 means end of file */
static ssize_t lbep_dbg_span(loff_t *ppos, size_t count)
{
	loff_t pos = *ppos;

	if (pos < 0 || !IS_ALIGNED(pos, sizeof(u32)) ||
	    !IS_ALIGNED(count, sizeof(u32)))
		return -EINVAL;
	if (pos >= LBEP_MAX_BAR_SIZE)
		return 0;

	return min3(count, (size_t)(LBEP_MAX_BAR_SIZE - pos), PAGE_SIZE);
}

static ssize_t lbep_dbg_bar_read(struct file *file, char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	const struct lbep_dbg_bar *d = file->private_data;
	ssize_t len = lbep_dbg_span(ppos, count);
	size_t done;

	if (len <= 0)
		return len;

	for (done = 0; done < (size_t)len; done += sizeof(u32)) {
		u8 buf[sizeof(u32)];
		struct lbep_xfer x = { .op = LBEP_XFER_READ, .rbuf = buf };

		lbep_host_bar_xfer(d->ep, d->bar, *ppos + done, &x, sizeof(buf));
		if (copy_to_user(ubuf + done, buf, sizeof(buf)))
			break;
	}

	if (!done)
		return -EFAULT;
	*ppos += done;
	return done;
}

static ssize_t lbep_dbg_bar_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	const struct lbep_dbg_bar *d = file->private_data;
	ssize_t len = lbep_dbg_span(ppos, count);
	size_t done;

	if (len <= 0)
		return len ? len : -ENOSPC;

	for (done = 0; done < (size_t)len; done += sizeof(u32)) {
		u8 buf[sizeof(u32)];
		struct lbep_xfer x = { .op = LBEP_XFER_WRITE, .wbuf = buf };

		if (copy_from_user(buf, ubuf + done, sizeof(buf)))
			break;
		lbep_host_bar_xfer(d->ep, d->bar, *ppos + done, &x, sizeof(buf));
	}

	if (!done)
		return -EFAULT;
	*ppos += done;
	return done;
}

static const struct file_operations lbep_dbg_bar_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= lbep_dbg_bar_read,
	.write	= lbep_dbg_bar_write,
	.llseek	= default_llseek,
};

static int lbep_dbg_addr_show(struct seq_file *s, void *unused)
{
	struct lbep *ep = s->private;

	seq_printf(s, "%#llx %#x\n", (u64)virt_to_phys(ep->hbuf),
		   LBEP_HBUF_SIZE);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(lbep_dbg_addr);

static ssize_t lbep_dbg_hbuf_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct lbep *ep = file->private_data;

	return simple_write_to_buffer(ep->hbuf, LBEP_HBUF_SIZE, ppos, ubuf,
				      count);
}

static ssize_t lbep_dbg_hbuf_read(struct file *file, char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct lbep *ep = file->private_data;

	return simple_read_from_buffer(ubuf, count, ppos, ep->hbuf,
				       LBEP_HBUF_SIZE);
}

static const struct file_operations lbep_dbg_hbuf_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= lbep_dbg_hbuf_read,
	.write	= lbep_dbg_hbuf_write,
	.llseek	= default_llseek,
};

static void lbep_dbg_init(struct lbep *ep)
{
	char name[sizeof("host-barN")];
	int bar;

	ep->dbg_dir = debugfs_create_dir(dev_name(ep->dev), lbep_dbg_root);
	for (bar = BAR_0; bar <= BAR_5; bar++) {
		ep->dbg_bar[bar].ep = ep;
		ep->dbg_bar[bar].bar = bar;
		snprintf(name, sizeof(name), "host-bar%d", bar);
		debugfs_create_file(name, 0600, ep->dbg_dir, &ep->dbg_bar[bar],
				    &lbep_dbg_bar_fops);
	}

	ep->hbuf = alloc_pages_exact(LBEP_HBUF_SIZE, GFP_KERNEL | __GFP_ZERO);
	if (ep->hbuf) {
		debugfs_create_file("host-dma", 0600, ep->dbg_dir, ep,
				    &lbep_dbg_hbuf_fops);
		debugfs_create_file("host-dma-addr", 0400, ep->dbg_dir, ep,
				    &lbep_dbg_addr_fops);
	}
	debugfs_create_bool("host-dma-confine", 0600, ep->dbg_dir, &ep->confine);
	debugfs_create_atomic_t("host-dma-dropped", 0400, ep->dbg_dir,
				&ep->confine_drops);
}

/* ------------------------------------------------------------------------
 * Endpoint controller operations (all called with epc->lock held)
 */

static int lbep_write_header(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			     struct pci_epf_header *hdr)
{
	struct lbep *ep = epc_get_drvdata(epc);
	unsigned long flags;
	u8 pin = 0;

	lockdep_assert_held(&epc->lock);

	if (hdr->interrupt_pin > PCI_INTERRUPT_INTD)
		return -EINVAL;
	if (ep->features.intx_capable)
		pin = hdr->interrupt_pin;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	lbep_cfg_wr16(ep, PCI_VENDOR_ID, hdr->vendorid);
	lbep_cfg_wr16(ep, PCI_DEVICE_ID, hdr->deviceid);
	ep->cfg[PCI_REVISION_ID] = hdr->revid;
	ep->cfg[PCI_CLASS_PROG] = hdr->progif_code;
	ep->cfg[PCI_CLASS_DEVICE] = hdr->subclass_code;
	ep->cfg[PCI_CLASS_DEVICE + 1] = hdr->baseclass_code;
	ep->cfg[PCI_CACHE_LINE_SIZE] = hdr->cache_line_size;
	lbep_cfg_wr16(ep, PCI_SUBSYSTEM_VENDOR_ID, hdr->subsys_vendor_id);
	lbep_cfg_wr16(ep, PCI_SUBSYSTEM_ID, hdr->subsys_id);
	ep->cfg[PCI_INTERRUPT_PIN] = pin;
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	return 0;
}

/* Effective BAR flags, or a negative error for unsupported flags */
static int lbep_bar_flags(struct lbep *ep, enum pci_barno bar, int flags)
{
	if (flags & PCI_BASE_ADDRESS_SPACE_IO)
		return -EINVAL;	/* virt-pci has no I/O window */

	if (flags & ~(PCI_BASE_ADDRESS_MEM_TYPE_MASK |
		      PCI_BASE_ADDRESS_MEM_PREFETCH))
		return -EINVAL;

	if ((flags & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
	    PCI_BASE_ADDRESS_MEM_TYPE_1M)
		return -EINVAL;

	/* Like hardware with a hardwired BAR type */
	if (ep->features.bar[bar].only_64bit)
		flags |= PCI_BASE_ADDRESS_MEM_TYPE_64;

	return flags;
}

static struct lbep_ib_map *lbep_ib_map_alloc(const struct pci_epf_bar *epf_bar)
{
	unsigned int i, n = epf_bar->num_submap;
	struct lbep_ib_map *map;
	u64 total = 0;

	if (n > LBEP_MAX_SUBMAP)
		return ERR_PTR(-ENOSPC);

	map = kzalloc_flex(*map, sub, n);
	if (!map)
		return ERR_PTR(-ENOMEM);

	map->nr_sub = n;
	map->size = epf_bar->size;
	map->phys = epf_bar->phys_addr;

	for (i = 0; i < n; i++) {
		u64 size = epf_bar->submap[i].size;

		if (!size || check_add_overflow(total, size, &total))
			goto einval;

		map->sub[i].phys = epf_bar->submap[i].phys_addr;
		map->sub[i].size = size;
	}

	/* The subranges describe the complete BAR, without gaps */
	if (n && total != epf_bar->size)
		goto einval;

	return map;

einval:
	kfree(map);
	return ERR_PTR(-EINVAL);
}

/* Can @bar be (re)configured from scratch with @flags? */
static int lbep_bar_check_geometry(struct lbep *ep, enum pci_barno bar,
				   int flags, unsigned int num_submap)
{
	const struct lbep_bar *next;

	/*
	 * Like DWC, subrange mapping only updates a BAR whose address the
	 * host already assigned.
	 */
	if (num_submap)
		return -EINVAL;

	if (!(flags & PCI_BASE_ADDRESS_MEM_TYPE_64))
		return 0;

	if (bar == BAR_5)
		return -EINVAL;

	next = &ep->bar[bar + 1];
	if (next->size || next->reserved ||
	    ep->features.bar[bar + 1].type == BAR_RESERVED)
		return -EBUSY;

	return 0;
}

static int lbep_set_bar(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			struct pci_epf_bar *epf_bar)
{
	struct lbep *ep = epc_get_drvdata(epc);
	enum pci_barno bar = epf_bar->barno;
	struct lbep_ib_map *map, *old;
	u64 size = epf_bar->size;
	unsigned long irqflags;
	struct lbep_bar *b;
	int flags, ret;

	lockdep_assert_held(&epc->lock);

	if (bar < BAR_0 || bar > BAR_5)
		return -EINVAL;

	b = &ep->bar[bar];
	if (b->reserved || ep->features.bar[bar].type == BAR_RESERVED ||
	    ep->features.bar[bar].type == BAR_DISABLED)
		return -EINVAL;
	if (b->upper)
		return -EBUSY;

	flags = lbep_bar_flags(ep, bar, epf_bar->flags);
	if (flags < 0)
		return flags;

	if (size < LBEP_MIN_BAR_SIZE || size > LBEP_MAX_BAR_SIZE ||
	    !is_power_of_2(size))
		return -EINVAL;

	map = lbep_ib_map_alloc(epf_bar);
	if (IS_ERR(map))
		return PTR_ERR(map);

	if (b->size && (ep->host_visible || epf_bar->num_submap)) {
		/*
		 * Dynamic inbound mapping: the host may already have sized
		 * and assigned the BAR, so only the translation changes.  A
		 * smaller size leaves the end of the BAR unbacked.
		 */
		if (flags != b->flags || size > b->size) {
			kfree(map);
			return -EINVAL;
		}
	} else {
		/* First configuration, or reconfiguration while unlinked */
		ret = lbep_bar_check_geometry(ep, bar, flags,
					      epf_bar->num_submap);
		if (ret) {
			kfree(map);
			return ret;
		}

		raw_spin_lock_irqsave(&ep->cfg_lock, irqflags);
		if (b->size)
			lbep_bar_drop_geometry(ep, bar);
		b->size = size;
		b->flags = flags;
		if (flags & PCI_BASE_ADDRESS_MEM_TYPE_64)
			ep->bar[bar + 1].upper = true;
		lbep_cfg_program_bar(ep, bar);
		raw_spin_unlock_irqrestore(&ep->cfg_lock, irqflags);
	}

	old = rcu_replace_pointer(b->map, map, lockdep_is_held(&epc->lock));
	if (old)
		kfree_rcu(old, rcu);

	return 0;
}

static void lbep_clear_bar(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			   struct pci_epf_bar *epf_bar)
{
	struct lbep *ep = epc_get_drvdata(epc);
	enum pci_barno bar = epf_bar->barno;
	struct lbep_ib_map *old;
	unsigned long flags;
	struct lbep_bar *b;

	lockdep_assert_held(&epc->lock);

	if (bar < BAR_0 || bar > BAR_5)
		return;

	b = &ep->bar[bar];
	if (b->reserved || b->upper)
		return;

	old = rcu_replace_pointer(b->map, NULL, lockdep_is_held(&epc->lock));
	if (old)
		kfree_rcu(old, rcu);

	/* While the host may use the BAR, keep it; accesses hit nothing */
	if (!ep->host_visible && b->size) {
		raw_spin_lock_irqsave(&ep->cfg_lock, flags);
		lbep_bar_drop_geometry(ep, bar);
		raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);
	}
}

static u64 lbep_align_addr(struct pci_epc *epc, u64 pci_addr, size_t *size,
			   size_t *offset)
{
	size_t ofs = offset_in_page(pci_addr);

	if (*size > LBEP_MAX_MAP_SIZE - ofs)
		*size = LBEP_MAX_MAP_SIZE;
	else
		*size = PAGE_ALIGN(ofs + *size);
	*offset = ofs;

	return pci_addr - ofs;
}

static int lbep_map_addr(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			 phys_addr_t addr, u64 pci_addr, size_t size)
{
	struct lbep *ep = epc_get_drvdata(epc);
	struct lbep_ob *slot = NULL;
	unsigned long flags;
	unsigned int i;
	u64 last;
	int ret = 0;

	lockdep_assert_held(&epc->lock);

	if (!size || addr < ep->win_base || addr - ep->win_base >= ep->win_size ||
	    size > ep->win_size - (addr - ep->win_base) ||
	    check_add_overflow(pci_addr, (u64)size - 1, &last))
		return -EINVAL;

	raw_spin_lock_irqsave(&ep->ob_lock, flags);
	for (i = 0; i < LBEP_NR_OB; i++) {
		struct lbep_ob *e = &ep->ob[i];

		if (!e->size) {
			if (!slot)
				slot = e;
			continue;
		}

		if (lbep_range_overlaps(addr, size, e->cpu, e->size)) {
			ret = -EBUSY;
			break;
		}
	}

	if (!ret && !slot)
		ret = -ENOSPC;

	if (!ret) {
		slot->cpu = addr;
		slot->pci = pci_addr;
		slot->size = size;
	}
	raw_spin_unlock_irqrestore(&ep->ob_lock, flags);

	return ret;
}

static void lbep_unmap_addr(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			    phys_addr_t addr)
{
	struct lbep *ep = epc_get_drvdata(epc);
	unsigned long flags;
	unsigned int i;

	lockdep_assert_held(&epc->lock);

	raw_spin_lock_irqsave(&ep->ob_lock, flags);
	for (i = 0; i < LBEP_NR_OB; i++) {
		if (ep->ob[i].size && ep->ob[i].cpu == addr) {
			ep->ob[i].size = 0;
			break;
		}
	}
	raw_spin_unlock_irqrestore(&ep->ob_lock, flags);
}

static int lbep_set_msi(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			u8 nr_irqs)
{
	struct lbep *ep = epc_get_drvdata(epc);
	unsigned int mmc = order_base_2(nr_irqs);
	unsigned int pos = LBEP_MSI_CAP;
	unsigned long flags;
	u16 ctrl;

	lockdep_assert_held(&epc->lock);

	if (!nr_irqs || mmc > 5)
		return -EINVAL;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	ctrl = ep->msi_cap ? lbep_cfg_rd16(ep, pos + PCI_MSI_FLAGS) : 0;
	ctrl &= ~PCI_MSI_FLAGS_QMASK;
	ctrl |= PCI_MSI_FLAGS_64BIT | FIELD_PREP(PCI_MSI_FLAGS_QMASK, mmc);
	lbep_cfg_wr16(ep, pos + PCI_MSI_FLAGS, ctrl);

	if (!ep->msi_cap) {
		/* 64-bit capable, no per-vector masking */
		lbep_wmask_set(ep, pos + PCI_MSI_FLAGS,
			       PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE, 2);
		lbep_wmask_set(ep, pos + PCI_MSI_ADDRESS_LO, ~3U, 4);
		lbep_wmask_set(ep, pos + PCI_MSI_ADDRESS_HI, ~0U, 4);
		lbep_wmask_set(ep, pos + PCI_MSI_DATA_64, 0xffff, 2);
		ep->msi_cap = true;
		lbep_cfg_build_caps(ep);
	}
	lbep_cfg_fixup(ep);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	return 0;
}

/* Message control of the MSI or MSI-X capability; 0 while it is not set up */
static u16 lbep_cap_ctrl(struct lbep *ep, const bool *present, unsigned int off)
{
	unsigned long flags;
	u16 ctrl = 0;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	if (*present)
		ctrl = lbep_cfg_rd16(ep, off);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	return ctrl;
}

static int lbep_get_msi(struct pci_epc *epc, u8 func_no, u8 vfunc_no)
{
	struct lbep *ep = epc_get_drvdata(epc);
	u16 ctrl;

	lockdep_assert_held(&epc->lock);

	ctrl = lbep_cap_ctrl(ep, &ep->msi_cap, LBEP_MSI_CAP + PCI_MSI_FLAGS);
	if (!(ctrl & PCI_MSI_FLAGS_ENABLE))
		return -EINVAL;

	return BIT(FIELD_GET(PCI_MSI_FLAGS_QSIZE, ctrl));
}

static int lbep_set_msix(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			 u16 nr_irqs, enum pci_barno bir, u32 offset)
{
	struct lbep *ep = epc_get_drvdata(epc);
	unsigned int pos = LBEP_MSIX_CAP;
	unsigned long flags;
	u64 pba, pba_end;
	u16 ctrl;

	lockdep_assert_held(&epc->lock);

	if (!nr_irqs || nr_irqs > PCI_MSIX_FLAGS_QSIZE + 1 ||
	    bir < BAR_0 || bir > BAR_5 || (offset & PCI_MSIX_TABLE_BIR))
		return -EINVAL;

	/* The PBA follows the table */
	pba = (u64)offset + (u64)nr_irqs * PCI_MSIX_ENTRY_SIZE;
	pba_end = pba + DIV_ROUND_UP(nr_irqs, 64) * sizeof(u64);
	if (pba_end > U32_MAX)
		return -EINVAL;
	if (ep->bar[bir].size && pba_end > ep->bar[bir].size)
		return -EINVAL;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	ctrl = ep->msix_cap ? lbep_cfg_rd16(ep, pos + PCI_MSIX_FLAGS) : 0;
	ctrl &= ~PCI_MSIX_FLAGS_QSIZE;
	ctrl |= nr_irqs - 1;
	lbep_cfg_wr16(ep, pos + PCI_MSIX_FLAGS, ctrl);
	lbep_cfg_wr32(ep, pos + PCI_MSIX_TABLE, offset | bir);
	lbep_cfg_wr32(ep, pos + PCI_MSIX_PBA, (u32)pba | bir);

	if (!ep->msix_cap) {
		lbep_wmask_set(ep, pos + PCI_MSIX_FLAGS,
			       PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL,
			       2);
		ep->msix_cap = true;
		lbep_cfg_build_caps(ep);
	}
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	return 0;
}

static int lbep_get_msix(struct pci_epc *epc, u8 func_no, u8 vfunc_no)
{
	struct lbep *ep = epc_get_drvdata(epc);
	u16 ctrl;

	lockdep_assert_held(&epc->lock);

	ctrl = lbep_cap_ctrl(ep, &ep->msix_cap, LBEP_MSIX_CAP + PCI_MSIX_FLAGS);
	if (!(ctrl & PCI_MSIX_FLAGS_ENABLE))
		return -EINVAL;

	return FIELD_GET(PCI_MSIX_FLAGS_QSIZE, ctrl) + 1;
}

static int lbep_raise_intx(struct lbep *ep)
{
	unsigned long flags;
	int irq, ret;
	u16 cmd;
	u8 pin;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	pin = ep->cfg[PCI_INTERRUPT_PIN];
	cmd = lbep_cfg_rd16(ep, PCI_COMMAND);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	if (!pin)
		return -EINVAL;

	/* Masked at the function, like a real INTx assertion */
	if (cmd & PCI_COMMAND_INTX_DISABLE)
		return 0;

	rcu_read_lock();
	irq = READ_ONCE(ep->umdev.irq);
	if (READ_ONCE(ep->link_up) && irq > 0)
		ret = generic_handle_irq_safe(irq) ? -EIO : 0;
	else
		ret = -ENOLINK;
	rcu_read_unlock();

	return ret;
}

static int lbep_raise_msi(struct lbep *ep, u16 num)
{
	unsigned long flags;
	u16 ctrl = 0;
	u32 data = 0;
	u64 addr = 0;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	if (ep->msi_cap) {
		ctrl = lbep_cfg_rd16(ep, LBEP_MSI_CAP + PCI_MSI_FLAGS);
		addr = lbep_cfg_rd32(ep, LBEP_MSI_CAP + PCI_MSI_ADDRESS_LO) |
		       (u64)lbep_cfg_rd32(ep, LBEP_MSI_CAP + PCI_MSI_ADDRESS_HI) << 32;
		data = lbep_cfg_rd16(ep, LBEP_MSI_CAP + PCI_MSI_DATA_64);
	}
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	if (!(ctrl & PCI_MSI_FLAGS_ENABLE))
		return -EINVAL;
	if (!num || num > BIT(FIELD_GET(PCI_MSI_FLAGS_QSIZE, ctrl)))
		return -EINVAL;

	/* virt-pci convention: consecutive, unaligned irq numbers */
	return lbep_host_write32(ep, addr, data + num - 1);
}

static int lbep_raise_msix(struct lbep *ep, u16 num)
{
	u32 table = 0, data = 0, vctrl = 0;
	unsigned long flags;
	u16 ctrl = 0;
	u64 addr = 0;

	raw_spin_lock_irqsave(&ep->cfg_lock, flags);
	if (ep->msix_cap) {
		ctrl = lbep_cfg_rd16(ep, LBEP_MSIX_CAP + PCI_MSIX_FLAGS);
		table = lbep_cfg_rd32(ep, LBEP_MSIX_CAP + PCI_MSIX_TABLE);
	}
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	if (!(ctrl & PCI_MSIX_FLAGS_ENABLE))
		return -EINVAL;
	if (!num || num > FIELD_GET(PCI_MSIX_FLAGS_QSIZE, ctrl) + 1)
		return -EINVAL;
	if (ctrl & PCI_MSIX_FLAGS_MASKALL)
		return -EPERM;

	if (!lbep_msix_entry(ep, table, num - 1, &addr, &data, &vctrl))
		return -EIO;
	if (vctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT)
		return -EPERM;

	return lbep_host_write32(ep, addr, data);
}

static int lbep_raise_irq(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			  unsigned int type, u16 interrupt_num)
{
	struct lbep *ep = epc_get_drvdata(epc);

	lockdep_assert_held(&epc->lock);

	switch (type) {
	case PCI_IRQ_INTX:
		return lbep_raise_intx(ep);
	case PCI_IRQ_MSI:
		return lbep_raise_msi(ep, interrupt_num);
	case PCI_IRQ_MSIX:
		return lbep_raise_msix(ep, interrupt_num);
	default:
		return -EINVAL;
	}
}

static int lbep_start(struct pci_epc *epc)
{
	struct lbep *ep = epc_get_drvdata(epc);

	lockdep_assert_held(&epc->lock);

	/* From now on the host may size the BARs: freeze their geometry */
	ep->host_visible = true;
	WRITE_ONCE(ep->link_want, true);
	queue_work(system_long_wq, &ep->link_work);

	return 0;
}

static void lbep_stop(struct pci_epc *epc)
{
	struct lbep *ep = epc_get_drvdata(epc);

	lockdep_assert_held(&epc->lock);

	WRITE_ONCE(ep->link_want, false);
	queue_work(system_long_wq, &ep->link_work);
}

static const struct pci_epc_features *
lbep_get_features(struct pci_epc *epc, u8 func_no, u8 vfunc_no)
{
	struct lbep *ep = epc_get_drvdata(epc);

	return &ep->features;
}

static int lbep_get_aux_resources_count(struct pci_epc *epc, u8 func_no,
					u8 vfunc_no)
{
	struct lbep *ep = epc_get_drvdata(epc);

	return ep->nr_aux;
}

static int lbep_get_aux_resources(struct pci_epc *epc, u8 func_no,
				  u8 vfunc_no,
				  struct pci_epc_aux_resource *res, int num)
{
	struct lbep *ep = epc_get_drvdata(epc);
	unsigned int i;

	lockdep_assert_held(&epc->lock);

	if (num < (int)ep->nr_aux)
		return -ENOSPC;

	for (i = 0; i < ep->nr_aux; i++) {
		res[i] = (struct pci_epc_aux_resource) {
			.type		= PCI_EPC_AUX_DOORBELL_MMIO,
			.phys_addr	= ep->db_page + ep->aux[i].offset,
			.size		= sizeof(u32),
			.bar		= ep->aux_bar,
			.bar_offset	= ep->aux_bar == NO_BAR ? 0 :
					  lbep_db_bar_rsvd.offset + ep->aux[i].offset,
			.u.db_mmio	= {
				.irq	= ep->aux[i].irq,
				.data	= ep->aux[i].data,
			},
		};
	}

	return 0;
}

static const struct pci_epc_ops lbep_epc_ops = {
	.write_header			= lbep_write_header,
	.set_bar			= lbep_set_bar,
	.clear_bar			= lbep_clear_bar,
	.align_addr			= lbep_align_addr,
	.map_addr			= lbep_map_addr,
	.unmap_addr			= lbep_unmap_addr,
	.set_msi			= lbep_set_msi,
	.get_msi			= lbep_get_msi,
	.set_msix			= lbep_set_msix,
	.get_msix			= lbep_get_msix,
	.raise_irq			= lbep_raise_irq,
	.start				= lbep_start,
	.stop				= lbep_stop,
	.get_features			= lbep_get_features,
	.get_aux_resources_count	= lbep_get_aux_resources_count,
	.get_aux_resources		= lbep_get_aux_resources,
	.owner				= THIS_MODULE,
};

/* ------------------------------------------------------------------------
 * Link management
 */

static int lbep_link_bring_up(struct lbep *ep)
{
	int ret;

	ep->umdev.irq = 0;
	WRITE_ONCE(ep->link_up, true);
	pci_epc_linkup(ep->epc);

	/* Host drivers probe inside this call */
	ret = um_pci_device_register(&ep->umdev);
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

	um_pci_device_unregister(&ep->umdev);
	ep->registered = false;
	ep->umdev.irq = 0;

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
 * Embedded (aux) doorbells, modelled on dw-edma's interrupt emulation
 */

/* The doorbell is a pulse: nothing to deassert */
static void lbep_aux_irq_ack(struct irq_data *d)
{
}

static const struct irq_chip lbep_aux_irq_chip = {
	.name		= "uml-lb-doorbell",
	.irq_ack	= lbep_aux_irq_ack,
	.flags		= IRQCHIP_ONESHOT_SAFE | IRQCHIP_SKIP_SET_WAKE,
};

static void lbep_aux_deliver(struct irq_work *work)
{
	struct lbep *ep = container_of(work, struct lbep, aux_work);
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

	ep->aux_work = IRQ_WORK_INIT_HARD(lbep_aux_deliver);
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

	irq_work_sync(&ep->aux_work);
	irq_free_descs(ep->aux_irq_base, ep->nr_aux);
	ep->nr_aux = 0;
}

/* "embedded-bar": expose the doorbell page permanently through @bar */
static int lbep_reserve_db_bar(struct lbep *ep, enum pci_barno bar)
{
	struct lbep_bar *b = &ep->bar[bar];
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
		ep->bar[bar + 1].upper = true;
	lbep_cfg_program_bar(ep, bar);
	raw_spin_unlock_irqrestore(&ep->cfg_lock, flags);

	rcu_assign_pointer(b->map, map);

	return 0;
}

static void lbep_free_inbound(struct lbep *ep)
{
	struct lbep_ib_map *map;
	int bar;

	for (bar = BAR_0; bar <= BAR_5; bar++) {
		map = rcu_replace_pointer(ep->bar[bar].map, NULL, true);
		if (map)
			kfree_rcu(map, rcu);
	}
}

/* ------------------------------------------------------------------------
 * dmaengine provider
 *
 * Slave channels transfer between endpoint-local memory and host PCI
 * addresses (DEV_TO_MEM reads the host, MEM_TO_DEV writes it); memcpy copies
 * between endpoint-local addresses, which may lie in the outbound window.
 * Transfers run in process context from a work item; host RAM and endpoint
 * RAM are validated like any other access, other targets fail the transfer.
 */
#if IS_ENABLED(CONFIG_DMA_ENGINE)

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
	u64 pci, seg;

	if (!remote && addr >= ep->win_base &&
	    addr - ep->win_base < ep->win_size) {
		if (!lbep_ob_translate(ep, addr, &pci, &seg))
			return NULL;
		addr = pci;
		remote = true;
		n = min_t(u64, n, seg);
		n = min_t(size_t, n, PAGE_SIZE - offset_in_page(addr));
	}

	if (remote) {
		if (!READ_ONCE(ep->link_up) ||
		    !(READ_ONCE(ep->cmd) & PCI_COMMAND_MASTER))
			return NULL;
		if (lbep_range_overlaps(addr, n, LBEP_VPCI_MSI_PAGE, PAGE_SIZE))
			return NULL;
		if (!lbep_host_ram_ok(ep, addr, n))
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

static int lbep_dma_register(struct lbep *ep)
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

static void lbep_dma_unregister(struct lbep *ep)
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

#else /* !CONFIG_DMA_ENGINE */

static int lbep_dma_register(struct lbep *ep)
{
	return 0;
}

static void lbep_dma_unregister(struct lbep *ep)
{
}

#endif /* CONFIG_DMA_ENGINE */

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
	bool has_parent;
	struct resource *res;
	int ret;

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
		ret = lbep_reserve_db_bar(ep, LBEP_DB_BAR);
		if (ret) {
			lbep_aux_free(ep);
			return ret;
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
	int ret;

	ep = devm_kzalloc(dev, sizeof(*ep), GFP_KERNEL);
	if (!ep)
		return -ENOMEM;

	ep->dev = dev;
	ep->umdev.ops = &lbep_um_pci_ops;
	raw_spin_lock_init(&ep->cfg_lock);
	raw_spin_lock_init(&ep->ob_lock);
	INIT_WORK(&ep->link_work, lbep_link_work);
	INIT_WORK(&ep->bme_work, lbep_bme_work);

	ret = lbep_parse_dt(ep, pdev, &profile);
	if (ret)
		return ret;

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
	epc->max_functions = 1;	/* virt-pci only scans function 0 */
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

	dev_info(dev, "window %pa+%#llx, doorbells: %s, %u aux\n",
		 &ep->win_base, ep->win_size,
		 lbep_db_mode_names[ep->db_mode], ep->nr_aux);

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
	debugfs_remove_recursive(ep->dbg_dir);

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
	if (ep->hbuf)
		free_pages_exact(ep->hbuf, LBEP_HBUF_SIZE);

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
	lbep_dbg_root = debugfs_create_dir("pci-loopback-ep", NULL);
	return platform_register_drivers(lbep_drivers,
					 ARRAY_SIZE(lbep_drivers));
}
late_initcall(lbep_init);
