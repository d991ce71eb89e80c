// SPDX-License-Identifier: GPL-2.0

//! Rust virtual NTB endpoint function, a port of `pci-epf-vntb`.
//!
//! Toward the host, the function looks like the device that the host driver `ntb_hw_epf` drives:
//! a control region with scratchpads in one BAR, doorbells in another and one BAR per memory
//! window, with the same layout, commands, statuses, doorbell slots and MSI vectors as the C
//! `pci_epf_vntb` function, so that the host side works unchanged. The function is named
//! `pci_epf_vntb_rs` so that it can sit beside the C one; its configfs attributes are the same.
//!
//! # Wire protocol
//!
//! - Control region (`ctrl_bar`): the registers below at the offsets of C's
//!   `struct epf_ntb_ctrl` (0x134 bytes), followed by `2 * spad_count` scratchpads: the host's
//!   own first, then the endpoint's.
//! - Commands from the host: CONFIGURE_DOORBELL (1), TEARDOWN_DOORBELL (2), CONFIGURE_MW (3),
//!   TEARDOWN_MW (4), LINK_UP (5), LINK_DOWN (6); COMMAND_STATUS is 1 (OK) or 2 (ERROR).
//! - Doorbell slots: slot 0 is the link, slot 1 is reserved, doorbell bit `b` is slot `b + 2`.
//!   The host rings slot `n` by writing `DB_DATA(n)` at `DB_ENTRY_SIZE * n + DB_OFFSET(n)` of
//!   the doorbell BAR.
//! - Interrupts to the host: MSI 1 is the link, MSI 2 is unused, doorbell bit `b` is MSI `3 + b`.
//!
//! # Differences from the C function
//!
//! - Host input is validated: CONFIGURE_MW and TEARDOWN_MW with an index of `num_mws` or more,
//!   or with an address range that is empty, wraps around or does not fit the window, and
//!   unknown commands complete with the ERROR status and change nothing (C indexes its arrays
//!   with the host's value, maps whatever it gets and leaves unknown commands without a status,
//!   so that the host waits for its 1 s timeout and WARNs). Polled doorbell slots beyond
//!   `db_count` are never read.
//! - Indexes from an endpoint-side NTB client (scratchpads, memory windows, doorbell bits)
//!   are checked and refused with `EINVAL`.
//! - `num_mws` 2 to 4 get their BARs assigned automatically (C never assigns the BAR of the
//!   last window, S-V1); explicit BARs that collide are refused.
//! - Doorbells come from the doorbell allocator (MSI, else the controller's embedded
//!   doorbells, else polling); each interrupt is requested with the flags its doorbell
//!   requires, once per interrupt, and rings the doorbell bits of the slots that share that
//!   interrupt: with distinct embedded doorbells (several `DOORBELL_MMIO` resources) an
//!   interrupt rings only its own bit, where C rings every bit on every interrupt. Commands are
//!   polled every 5 ms in every mode (C: 500 ms with interrupt doorbells, half of the host's
//!   command timeout).
//! - The function asks for the MSI vectors it uses (`db_count`, C: always 16).
//! - Memory windows translate to zeroed memory of their own until an endpoint client sets a
//!   translation, and again after it clears it (C translates to physical address 0 and never
//!   clears a translation). A translation must be aligned to the window's BAR size and cover
//!   it, which `mw_get_align` reports (C reports 4 KiB and lets the controller fail); the BAR
//!   is set with the function's own function numbers (C: 0/0).
//! - The endpoint-side client can take the link down and up again (C's `link_disable` does
//!   nothing): the link is up when both sides enabled it, and a change the endpoint side makes
//!   raises the link vector (MSI 1), so that the host's clients are told (C never raises it).
//!   At unlink the link status is cleared and the link vector raised too.
//! - The state is per function (no globals but the configuration header, which configfs
//!   edits and all functions of a driver share) and released at unlink: the endpoint-side NTB
//!   device is unregistered and its virtual bus removed, so that the function can be linked
//!   again and removed without a use-after-free.

use kernel::{
    dev_err_ratelimited,
    device::Core,
    dma::DmaAddress,
    io::{
        register,
        register::Array,
        Io,
        ResourceSize, //
    },
    irq::{
        self,
        IrqReturn, //
    },
    ntb,
    pci::{
        self,
        endpoint::{
            self,
            doorbell::{
                self,
                DoorbellIrqs,
                DoorbellTarget, //
            },
            is_aligned_to_size,
            BarIo,
            BarNo,
            BarSpace,
            CfsAttr,
            Context,
            Controller,
            DeferredIrqs,
            Features,
            Header,
            HeaderInfo,
            OutboundWindow,
            PollNext, //
        },
        vbus,
        IrqType, //
    },
    prelude::*,
    ratelimit::Ratelimit,
    sync::{
        atomic::{
            ordering::Full,
            Atomic,
            Relaxed, //
        },
        new_mutex,
        new_spinlock,
        Arc,
        Mutex,
        SpinLock, //
    },
};

/// The most memory windows.
const MAX_MW: usize = 4;

/// The fewest doorbell slots: link, reserved and one doorbell.
const MIN_DB_COUNT: u32 = 3;

/// The most doorbell slots.
const MAX_DB_COUNT: u32 = 32;

/// The slot of doorbell bit 0; slot 0 is the link and slot 1 is reserved.
const DB_START: u32 = 2;

/// The MSI vector of the link, counting from 1.
const LINK_VECTOR: u16 = 1;

/// The MSI vector of doorbell bit 0: vector 2 is unused.
const DB_FIRST_VECTOR: u16 = 3;

/// How many rounds of doorbells to the host one poll raises, as C's peer doorbell work.
const PEER_DB_BUDGET: u32 = 5;

/// The command poll period, in milliseconds.
const POLL_MS: u32 = 5;

/// The size of the control registers; the scratchpads follow (C's `spad_offset`).
const CTRL_SIZE: usize = 0x134;

/// The largest `spad_count`: the control region must fit the largest BAR the core allocates.
const MAX_SPAD_COUNT: u32 = 1 << 20;

register! {
    /// The command of the host, 0 when there is none.
    COMMAND(u32) @ 0x00 {
        31:0 value;
    }

    /// The argument of the command: the memory window of CONFIGURE_MW and TEARDOWN_MW.
    ARGUMENT(u32) @ 0x04 {
        31:0 value;
    }

    /// The result of the command, [`STATUS_OK`] or [`STATUS_ERROR`]; the host clears it.
    COMMAND_STATUS(u16) @ 0x08 {
        15:0 value;
    }

    /// The link state the host reads.
    LINK_STATUS(u16) @ 0x0a {
        0:0 up;
    }

    /// Low half of the host address of CONFIGURE_MW.
    ADDR_LO(u32) @ 0x10 {
        31:0 value;
    }

    /// High half of the host address of CONFIGURE_MW.
    ADDR_HI(u32) @ 0x14 {
        31:0 value;
    }

    /// Low half of the size of CONFIGURE_MW.
    SIZE_LO(u32) @ 0x18 {
        31:0 value;
    }

    /// High half of the size of CONFIGURE_MW.
    SIZE_HI(u32) @ 0x1c {
        31:0 value;
    }

    /// The number of memory windows.
    NUM_MWS(u32) @ 0x20 {
        31:0 value;
    }

    /// The offset of the scratchpads in the control region.
    SPAD_OFFSET(u32) @ 0x28 {
        31:0 value;
    }

    /// The number of scratchpads of each side.
    SPAD_COUNT(u32) @ 0x2c {
        31:0 value;
    }

    /// The distance between doorbell slots in the doorbell BAR: 4 when polled, else 0.
    DB_ENTRY_SIZE(u32) @ 0x30 {
        31:0 value;
    }

    /// The value the host writes to ring each slot.
    DB_DATA(u32)[32] @ 0x34 {
        31:0 value;
    }

    /// The offset in the doorbell BAR of each slot.
    DB_OFFSET(u32)[32] @ 0xb4 {
        31:0 value;
    }
}

/// Host commands.
const CMD_CONFIGURE_DOORBELL: u32 = 1;
const CMD_TEARDOWN_DOORBELL: u32 = 2;
const CMD_CONFIGURE_MW: u32 = 3;
const CMD_TEARDOWN_MW: u32 = 4;
const CMD_LINK_UP: u32 = 5;
const CMD_LINK_DOWN: u32 = 6;

/// The command succeeded.
const STATUS_OK: u16 = 1;
/// The command failed.
const STATUS_ERROR: u16 = 2;

// The configfs attributes, in C's order; the constants are their indexes.
const A_SPAD_COUNT: usize = 0;
const A_DB_COUNT: usize = 1;
const A_NUM_MWS: usize = 2;
const A_MW1: usize = 3;
const A_VBUS_NUMBER: usize = 7;
const A_VNTB_PID: usize = 8;
const A_VNTB_VID: usize = 9;
const A_CTRL_BAR: usize = 10;
const A_DB_BAR: usize = 11;
const A_MW1_BAR: usize = 12;

const ATTRS: [CfsAttr; 16] = [
    CfsAttr::u32(c"spad_count", 0, 0, u32::MAX),
    CfsAttr::u32(c"db_count", 0, MIN_DB_COUNT, MAX_DB_COUNT),
    // CAST: `MAX_MW` is 4.
    CfsAttr::u32(c"num_mws", 0, 0, MAX_MW as u32),
    CfsAttr::u64(c"mw1", 0).below(0, A_NUM_MWS),
    CfsAttr::u64(c"mw2", 0).below(1, A_NUM_MWS),
    CfsAttr::u64(c"mw3", 0).below(2, A_NUM_MWS),
    CfsAttr::u64(c"mw4", 0).below(3, A_NUM_MWS),
    // C takes any `u32` for these and keeps their low bits; a bus number has 8 and an ID 16.
    CfsAttr::u32(c"vbus_number", 0xff, 0, 0xff),
    CfsAttr::u32(c"vntb_pid", 0, 0, 0xffff),
    CfsAttr::u32(c"vntb_vid", 0, 0, 0xffff),
    CfsAttr::bar(c"ctrl_bar"),
    CfsAttr::bar(c"db_bar"),
    CfsAttr::bar(c"mw1_bar"),
    CfsAttr::bar(c"mw2_bar"),
    CfsAttr::bar(c"mw3_bar"),
    CfsAttr::bar(c"mw4_bar"),
];

/// The header of the function: a RAM device, as `ntb_hw_epf` expects; configfs sets the IDs.
static HEADER: Header = Header::new(HeaderInfo {
    base_class: 0x05,
    ..HeaderInfo::new(0xffff, 0xffff)
});

/// The roles that need a BAR, in the order they are assigned.
const ROLE_CTRL: usize = 0;
const ROLE_DB: usize = 1;
const ROLE_MW1: usize = 2;
const ROLES: usize = 2 + MAX_MW;

/// Assigns the BARs of the control region, the doorbells and the `num_mws` memory windows.
///
/// `wanted` are the BARs configured through configfs, in [`ROLE_CTRL`], [`ROLE_DB`],
/// [`ROLE_MW1`].. order; `next_free` is `pci_epc_get_next_free_bar()`. Like C, a role without a
/// BAR gets the next free BAR from where the previous search stopped that no other role has;
/// the control region, the doorbells and the first window must get one (`ENOENT`), the other
/// windows are dropped from the first one that does not. Unlike C (S-V1), every window up to
/// `num_mws` is searched for, and explicit BARs that collide are refused (`EINVAL`).
///
/// Returns the BARs and the number of memory windows that have one.
fn assign_bars(
    wanted: [Option<BarNo>; ROLES],
    num_mws: usize,
    next_free: impl Fn(BarNo) -> Option<BarNo>,
) -> Result<([Option<BarNo>; ROLES], usize)> {
    let num_mws = num_mws.min(MAX_MW);
    let roles = 2 + num_mws;
    let mut bars = [None; ROLES];
    bars[..roles].copy_from_slice(&wanted[..roles]);

    for (i, bar) in bars[..roles].iter().enumerate() {
        if bar.is_some() && bars[..i].contains(bar) {
            return Err(EINVAL);
        }
    }

    let mut cursor = Some(BarNo::BAR_0);

    for role in 0..roles {
        while bars[role].is_none() {
            let Some(found) = cursor.and_then(&next_free) else {
                break;
            };

            if !bars.contains(&Some(found)) {
                bars[role] = Some(found);
            }
            cursor = found.next();
        }

        if bars[role].is_none() {
            if role <= ROLE_MW1 {
                return Err(ENOENT);
            }
            return Ok((bars, role - ROLE_MW1));
        }
    }

    Ok((bars, num_mws))
}

/// The configuration of a function, read from configfs when it is linked.
#[derive(Clone, Copy, Debug)]
struct Config {
    spad_count: u32,
    db_count: u32,
    num_mws: usize,
    mw_size: [u64; MAX_MW],
    vbus_number: u8,
    vntb_vid: u16,
    vntb_pid: u16,
    bars: [Option<BarNo>; ROLES],
}

impl Config {
    /// Reads and checks the configfs attributes and assigns the BARs.
    fn read(epc: &Controller<'_>, features: &Features) -> Result<Self> {
        let val = |i| epc.cfs_value(i).unwrap_or(0);

        let db_count = u32::try_from(val(A_DB_COUNT)).map_err(|_| EINVAL)?;
        if !(MIN_DB_COUNT..=MAX_DB_COUNT).contains(&db_count) {
            dev_err!(
                epc.function().as_ref(),
                "DB count {} out of range ({} - {})\n",
                db_count,
                MIN_DB_COUNT,
                MAX_DB_COUNT
            );
            return Err(EINVAL);
        }

        let spad_count = u32::try_from(val(A_SPAD_COUNT)).map_err(|_| EINVAL)?;
        if spad_count > MAX_SPAD_COUNT {
            return Err(EINVAL);
        }

        let vbus_number = u8::try_from(val(A_VBUS_NUMBER)).map_err(|_| EINVAL)?;
        let num_mws = usize::try_from(val(A_NUM_MWS)).map_err(|_| EINVAL)?;

        let mut wanted = [None; ROLES];
        wanted[ROLE_CTRL] = epc.cfs_bar(A_CTRL_BAR);
        wanted[ROLE_DB] = epc.cfs_bar(A_DB_BAR);
        for (i, w) in wanted[ROLE_MW1..].iter_mut().enumerate() {
            *w = epc.cfs_bar(A_MW1_BAR + i);
        }

        let (bars, num_mws) = assign_bars(wanted, num_mws, |b| features.next_free_bar(b))
            .inspect_err(|_| dev_err!(epc.function().as_ref(), "Fail to get NTB function BAR\n"))?;

        let mut mw_size = [0; MAX_MW];
        for (i, size) in mw_size[..num_mws].iter_mut().enumerate() {
            *size = val(A_MW1 + i);
            if *size == 0 {
                dev_err!(epc.function().as_ref(), "MW{} has no size\n", i + 1);
                return Err(EINVAL);
            }
        }

        Ok(Self {
            spad_count,
            db_count,
            num_mws,
            mw_size,
            vbus_number,
            // CAST: At most 0xffff, the range of the attribute.
            vntb_vid: val(A_VNTB_VID) as u16,
            // CAST: As above.
            vntb_pid: val(A_VNTB_PID) as u16,
            bars,
        })
    }

    /// Returns the number of usable doorbell bits (slots after the link and reserved ones).
    fn db_bits(&self) -> u32 {
        self.db_count - DB_START
    }

    /// Returns the doorbell bits that exist.
    fn db_valid_mask(&self) -> u64 {
        (1u64 << self.db_bits()) - 1
    }

    /// Returns the size of the control region with its scratchpads.
    fn ctrl_size(&self) -> usize {
        // CAST: `spad_count` is at most `MAX_SPAD_COUNT`.
        CTRL_SIZE + 8 * self.spad_count as usize
    }
}

/// The state shared with the doorbell interrupt handlers, which are `'static`.
struct Shared {
    /// The doorbell bits rung by the host and not cleared by the endpoint client (`db_read`).
    db: Atomic<u64>,
    /// Doorbells to the host, raised from the poll (`peer_db_set` may be atomic).
    peer: DeferredIrqs,
    /// The link vector, bit 0, raised from the poll when the endpoint side changes the link.
    link_irq: DeferredIrqs,
    /// The events of the endpoint-side NTB device (nothing happens before it is registered).
    events: ntb::Events,
}

impl Shared {
    /// Rings doorbell `bits`: from an interrupt handler or the poll.
    fn ring(&self, bits: u64) {
        if bits == 0 {
            return;
        }
        self.db.fetch_or(bits, Full);

        let mut rest = bits;
        while rest != 0 {
            self.events.db_event(rest.trailing_zeros());
            rest &= rest - 1;
        }
    }
}

/// The handler of a doorbell interrupt: it rings the bits of the slots that share it.
struct DbHandler {
    bits: u64,
    shared: Arc<Shared>,
}

impl irq::Handler for DbHandler {
    fn handle(&self, _dev: &kernel::device::Device<kernel::device::Bound>) -> IrqReturn {
        self.shared.ring(self.bits);
        IrqReturn::Handled
    }
}

/// How the host's doorbells reach the endpoint.
enum Doorbells<'epc> {
    /// Interrupts: MSI or embedded doorbells.
    Irq {
        // Declared before `_irqs`: the BAR stops reaching the doorbells before they are freed.
        _bar: Option<BarSpace<'epc>>,
        _irqs: DoorbellIrqs<'epc, DbHandler>,
    },
    /// Memory in the doorbell BAR, scanned by the poll.
    Poll(BarSpace<'epc>),
}

/// A memory window: the BAR the host writes through, and the outbound window the endpoint
/// writes the host's memory through.
struct Mw<'epc> {
    inbound: BarSpace<'epc>,
    outbound: OutboundWindow<'epc>,
}

/// The state of a function linked to a controller, shared by the command poll and the NTB
/// operations of the endpoint-side client.
struct Vntb<'epc> {
    epc: Controller<'epc>,
    cfg: Config,
    ctrl: BarSpace<'epc>,
    mws: Pin<KBox<Mutex<KVec<Mw<'epc>>>>>,
    /// The BAR size of each memory window: the alignment and size of its translation.
    mw_bar_size: [usize; MAX_MW],
    shared: Arc<Shared>,
    /// The link state the host and the endpoint client see: up when both sides enabled it.
    link_up: Atomic<bool>,
    /// The host enabled the link (LINK_UP, until LINK_DOWN).
    host_link: Atomic<bool>,
    /// The endpoint client enabled the link (`link_enable`, until `link_disable`); enabled at
    /// first, as the C function has the link up as soon as the host asks for it.
    ep_link: Atomic<bool>,
    /// Serialises the changes of the link state and its register.
    link_lock: Pin<KBox<SpinLock<()>>>,
    /// The rate limit of every message the host's register values can trigger.
    log: Pin<KBox<Ratelimit>>,
}

impl<'epc> Vntb<'epc> {
    fn dev(&self) -> &'epc kernel::device::Device<kernel::device::Bound> {
        self.epc.function().as_ref()
    }

    /// Returns the control registers; the control region is at least [`CTRL_SIZE`] bytes.
    fn regs(&self) -> Result<&BarIo<CTRL_SIZE>> {
        self.ctrl.sized()
    }

    /// Returns the offset of scratchpad `idx`: the host's own (`own == false`, the endpoint's
    /// peer scratchpads) or the endpoint's.
    fn spad_offset(&self, own: bool, idx: u32) -> Result<usize> {
        if idx >= self.cfg.spad_count {
            return Err(EINVAL);
        }

        // CAST: Both are at most `MAX_SPAD_COUNT`.
        let half = if own { self.cfg.spad_count as usize } else { 0 };
        Ok(CTRL_SIZE + 4 * (half + idx as usize))
    }

    /// Writes the fixed part of the control region.
    fn init_ctrl(&self) -> Result {
        let regs = self.regs()?;

        // CAST: Both are small constants or checked counts.
        regs.write_reg(NUM_MWS::from_raw(self.cfg.num_mws as u32));
        regs.write_reg(SPAD_OFFSET::from_raw(CTRL_SIZE as u32));
        regs.write_reg(SPAD_COUNT::from_raw(self.cfg.spad_count));
        Ok(())
    }

    /// Writes the link state the host and the endpoint client see.
    fn write_link(&self, up: bool) {
        self.link_up.store(up, Relaxed);
        if let Ok(regs) = self.regs() {
            regs.write_reg(LINK_STATUS::zeroed().with_up(up));
        }
    }

    /// Sets the link state and tells the endpoint client.
    fn set_link(&self, up: bool) {
        {
            let _guard = self.link_lock.lock();
            self.write_link(up);
        }
        self.shared.events.link_event();
    }

    /// Sets the link up if both sides enabled it, down otherwise. A change the endpoint side
    /// made (`notify_host`) raises the link vector, on which `ntb_hw_epf` tells its clients
    /// that the link changed (C never raises it, S-V9).
    ///
    /// May be called from atomic context. The events are sent without the lock held, so that a
    /// client may change the link from its event callback.
    fn update_link(&self, notify_host: bool) {
        let changed = {
            let _guard = self.link_lock.lock();
            let up = self.host_link.load(Relaxed) && self.ep_link.load(Relaxed);
            let changed = self.link_up.load(Relaxed) != up;
            if changed {
                self.write_link(up);
            }
            changed
        };

        if changed {
            self.shared.events.link_event();
            if notify_host {
                self.shared.link_irq.raise(1);
            }
        }
    }

    /// The endpoint client enables (`up`) or disables the link.
    fn ep_set_link(&self, up: bool) {
        self.ep_link.store(up, Relaxed);
        self.update_link(true);
    }

    /// Handles CONFIGURE_MW: maps the host memory of window `idx` into its outbound window.
    fn configure_mw(&self, idx: u32) -> Result {
        let regs = self.regs()?;
        let addr = u64::from(regs.read(ADDR_LO).into_raw())
            | (u64::from(regs.read(ADDR_HI).into_raw()) << 32);
        let size = u64::from(regs.read(SIZE_LO).into_raw())
            | (u64::from(regs.read(SIZE_HI).into_raw()) << 32);

        let mut mws = self.mws.lock();
        let mw = usize::try_from(idx)
            .ok()
            .and_then(|i| mws.get_mut(i))
            .ok_or(EINVAL)?;

        mw.outbound.map(addr, size).inspect_err(|e| {
            dev_err_ratelimited!(
                self.log,
                self.dev(),
                "Failed to map memory window {} address 0x{:x} size 0x{:x}: {:?}\n",
                idx,
                addr,
                size,
                e
            );
        })
    }

    /// Handles TEARDOWN_MW.
    fn teardown_mw(&self, idx: u32) -> Result {
        let mut mws = self.mws.lock();
        let mw = usize::try_from(idx)
            .ok()
            .and_then(|i| mws.get_mut(i))
            .ok_or(EINVAL)?;

        mw.outbound.unmap();
        Ok(())
    }

    /// Handles the command of the host, if there is one, see C's `epf_ntb_cmd_handler()`.
    fn handle_command(&self) {
        let Ok(regs) = self.regs() else {
            return;
        };

        let command = regs.read(COMMAND).into_raw();
        if command == 0 {
            return;
        }

        let argument = regs.read(ARGUMENT).into_raw();
        regs.write_reg(COMMAND::zeroed());
        regs.write_reg(ARGUMENT::zeroed());

        let result = match command {
            CMD_CONFIGURE_DOORBELL | CMD_TEARDOWN_DOORBELL => Ok(()),
            CMD_CONFIGURE_MW => self.configure_mw(argument),
            CMD_TEARDOWN_MW => self.teardown_mw(argument),
            CMD_LINK_UP => {
                self.host_link.store(true, Relaxed);
                self.update_link(false);
                Ok(())
            }
            CMD_LINK_DOWN => {
                self.host_link.store(false, Relaxed);
                self.update_link(false);
                Ok(())
            }
            _ => {
                dev_err_ratelimited!(self.log, self.dev(), "UNKNOWN command: {}\n", command);
                Err(EINVAL)
            }
        };

        if result.is_err() && matches!(command, CMD_CONFIGURE_MW | CMD_TEARDOWN_MW) {
            dev_err_ratelimited!(
                self.log,
                self.dev(),
                "Rejected command {} for memory window {}\n",
                command,
                argument
            );
        }

        let status = if result.is_ok() {
            STATUS_OK
        } else {
            STATUS_ERROR
        };
        regs.write_reg(COMMAND_STATUS::from_raw(status));
    }

    /// Raises the doorbells the endpoint client rang on the host, and the link vector if the
    /// host enabled it (asking the controller sleeps, hence here and not in `update_link`).
    fn raise_peer_doorbells(&self) {
        if self.shared.link_irq.pending() != 0 && self.epc.msi_count() < LINK_VECTOR {
            self.shared.link_irq.clear();
        }
        if let Err(e) = self
            .shared
            .link_irq
            .run(&self.epc, IrqType::Msi, LINK_VECTOR, 1)
        {
            dev_err_ratelimited!(self.log, self.dev(), "Failed to raise link IRQ: {:?}\n", e);
        }

        if let Err(e) =
            self.shared
                .peer
                .run(&self.epc, IrqType::Msi, DB_FIRST_VECTOR, PEER_DB_BUDGET)
        {
            dev_err_ratelimited!(
                self.log,
                self.dev(),
                "Failed to raise doorbell IRQ: {:?}\n",
                e
            );
        }
    }
}

/// The NTB operations of the endpoint-side client. Every index is checked, here as well as by
/// the NTB abstraction.
impl<'epc> Vntb<'epc> {
    fn mw_count(&self) -> usize {
        self.cfg.num_mws
    }

    fn spad_count(&self) -> u32 {
        self.cfg.spad_count
    }

    fn db_valid_mask(&self) -> u64 {
        self.cfg.db_valid_mask()
    }

    fn db_vector_count(&self) -> u32 {
        self.cfg.db_bits()
    }

    fn db_vector_mask(&self, vector: u32) -> u64 {
        if vector < self.cfg.db_bits() {
            1 << vector
        } else {
            0
        }
    }

    fn db_read(&self) -> u64 {
        self.shared.db.load(Relaxed)
    }

    fn db_clear(&self, bits: u64) -> Result {
        if bits & !self.db_valid_mask() != 0 {
            return Err(EINVAL);
        }
        self.shared.db.fetch_andnot(bits, Full);
        Ok(())
    }

    /// Rings doorbell `bits` of the host; may be called from atomic context.
    fn peer_db_set(&self, bits: u64) -> Result {
        if bits & !self.db_valid_mask() != 0 {
            return Err(EINVAL);
        }
        self.shared.peer.raise(bits);
        Ok(())
    }

    fn spad_read(&self, idx: u32) -> Result<u32> {
        self.ctrl.try_read32(self.spad_offset(true, idx)?)
    }

    fn spad_write(&self, idx: u32, val: u32) -> Result {
        self.ctrl.try_write32(val, self.spad_offset(true, idx)?)
    }

    fn peer_spad_read(&self, idx: u32) -> Result<u32> {
        self.ctrl.try_read32(self.spad_offset(false, idx)?)
    }

    fn peer_spad_write(&self, idx: u32, val: u32) -> Result {
        self.ctrl.try_write32(val, self.spad_offset(false, idx)?)
    }

    /// Returns the address alignment, size alignment and largest size of a translation of
    /// window `idx`: its BAR size for all three, as the BAR translates as a whole.
    fn mw_get_align(&self, idx: usize) -> Result<(u64, u64, u64)> {
        if idx >= self.cfg.num_mws {
            return Err(EINVAL);
        }
        // CAST: `usize` fits in `u64`.
        let size = self.mw_bar_size[idx] as u64;
        Ok((size, size, size))
    }

    /// Translates the BAR of window `idx` to the client's memory at `addr`.
    fn mw_set_trans(&self, idx: usize, addr: DmaAddress, size: ResourceSize) -> Result {
        let mut mws = self.mws.lock();
        let mw = mws.get_mut(idx).ok_or(EINVAL)?;

        // CAST: A BAR size fits `resource_size_t`.
        if size != mw.inbound.size() as ResourceSize || !is_aligned_to_size(addr, mw.inbound.size())
        {
            return Err(EINVAL);
        }

        mw.inbound.translate_to(addr)
    }

    /// Translates the BAR of window `idx` back to its own memory.
    fn mw_clear_trans(&self, idx: usize) -> Result {
        let mut mws = self.mws.lock();
        mws.get_mut(idx).ok_or(EINVAL)?.inbound.restore()
    }

    /// Returns the local address and size of the outbound window of window `idx`.
    fn peer_mw_get_addr(&self, idx: usize) -> Result<(kernel::io::PhysAddr, u64)> {
        let mws = self.mws.lock();
        let mw = mws.get(idx).ok_or(EINVAL)?;

        // CAST: `usize` fits in `u64`.
        Ok((mw.outbound.phys_addr(), mw.outbound.size() as u64))
    }

    fn link_is_up(&self) -> bool {
        self.link_up.load(Relaxed)
    }
}

/// The state of a function linked to a controller.
///
/// The endpoint core keeps the NTB device, with the [`Vntb`] state its operations use, until
/// the function is unlinked, and drops it after the binding: the doorbell interrupts are freed
/// first, then the NTB device is unregistered, then the state and the virtual bus go.
struct VntbBinding<'epc> {
    ntb: &'epc ntb::Registration<VntbNtb<'epc>>,
    doorbells: Doorbells<'epc>,
}

impl<'epc> VntbBinding<'epc> {
    fn vntb(&self) -> &Vntb<'epc> {
        &self.ntb.data().vntb
    }

    /// One run of the poll: polled doorbells, the host's command and the doorbells to the host.
    fn poll(&self) {
        let v = self.vntb();

        if let Doorbells::Poll(slots) = &self.doorbells {
            for slot in DB_START..v.cfg.db_count {
                // CAST: `slot < MAX_DB_COUNT`.
                let offset = 4 * slot as usize;
                if matches!(slots.try_read32(offset), Ok(val) if val != 0) {
                    v.shared.ring(1 << (slot - DB_START));
                    let _ = slots.try_write32(0, offset);
                }
            }
        }

        v.handle_command();
        v.raise_peer_doorbells();
    }

    /// Tells the host that the link is down: clears the link status and raises the link
    /// vector, so that the host's clients stop sending commands.
    fn link_down(&self) {
        let v = self.vntb();
        let was_up = v.link_up.load(Relaxed);

        v.set_link(false);
        if was_up && v.epc.msi_count() >= LINK_VECTOR {
            let _ = v.epc.raise_irq(IrqType::Msi, LINK_VECTOR);
        }
    }
}

/// Sets up the host's doorbells as interrupts (MSI, else embedded doorbells).
fn irq_doorbells<'epc>(
    epc: &Controller<'epc>,
    cfg: &Config,
    db_bar: BarNo,
    regs: &BarIo<CTRL_SIZE>,
    shared: &Arc<Shared>,
) -> Result<Doorbells<'epc>> {
    // CAST: `db_count <= MAX_DB_COUNT`.
    let count = cfg.db_count as usize;
    let dbs = doorbell::alloc_doorbell(epc, count as u16)?;

    // The doorbell bits each interrupt rings: those of every slot with that interrupt.
    let mut bits = [0u64; MAX_DB_COUNT as usize];
    for (i, b) in bits[..count].iter_mut().enumerate() {
        let irq = dbs.get(i).and_then(|m| m.irq());
        for slot in DB_START as usize..count {
            if irq.is_some() && dbs.get(slot).and_then(|m| m.irq()) == irq {
                *b |= 1 << (slot - DB_START as usize);
            }
        }
    }

    // Either every doorbell is exposed by the controller in `db_bar`, or none is.
    let mut exposed = 0;
    for m in dbs.iter() {
        match m.target() {
            DoorbellTarget::Exposed { bar, .. } if bar == db_bar => exposed += 1,
            DoorbellTarget::Exposed { .. } => return Err(EINVAL),
            DoorbellTarget::MapIntoFreeBar => {}
        }
    }
    if exposed != 0 && exposed != count {
        return Err(EINVAL);
    }

    let irqs = dbs.into_irqs(irq::Flags::TRIGGER_NONE, c"pci_epf_vntb_rs_db", |i, _| {
        Some(DbHandler {
            bits: bits[i],
            shared: shared.clone(),
        })
    })?;

    let mut msgs = [(0u64, 0u32); MAX_DB_COUNT as usize];
    for (i, m) in msgs[..count].iter_mut().enumerate() {
        let msg = irqs.message(i).ok_or(EINVAL)?;
        *m = (msg.address, msg.data);
    }

    let mut offsets = [0u64; MAX_DB_COUNT as usize];
    let bar = if exposed != 0 {
        for (i, off) in offsets[..count].iter_mut().enumerate() {
            if let Some(DoorbellTarget::Exposed { offset, .. }) =
                irqs.doorbells().get(i).map(|m| m.target())
            {
                *off = offset;
            }
        }
        None
    } else {
        let low = msgs[..count].iter().map(|m| m.0).min().ok_or(EINVAL)?;
        let high = msgs[..count].iter().map(|m| m.0).max().ok_or(EINVAL)?;

        // The smallest BAR that, aligned to its size, covers every doorbell register.
        let mut size = usize::try_from(high - low + 4)
            .map_err(|_| EINVAL)?
            .next_power_of_two();
        // CAST: `usize` fits in `u64`.
        while (low & !(size as u64 - 1)) + (size as u64) < high + 4 {
            size = size.checked_mul(2).ok_or(EINVAL)?;
        }

        let mut space = epc.alloc_space(db_bar, size)?;
        space.set_bar()?;
        let off = space.retarget_to(low)?;
        // CAST: `usize` fits in `u64`.
        let base = low - off as u64;

        for (i, o) in offsets[..count].iter_mut().enumerate() {
            *o = msgs[i].0 - base;
            // CAST: As above.
            if *o + 4 > space.size() as u64 {
                return Err(EINVAL);
            }
        }
        Some(space)
    };

    for (i, (msg, offset)) in msgs[..count].iter().zip(&offsets[..count]).enumerate() {
        regs.try_write(DB_DATA::try_at(i).ok_or(EINVAL)?, DB_DATA::from_raw(msg.1))?;
        let off = u32::try_from(*offset).map_err(|_| EINVAL)?;
        regs.try_write(
            DB_OFFSET::try_at(i).ok_or(EINVAL)?,
            DB_OFFSET::from_raw(off),
        )?;
    }
    regs.write_reg(DB_ENTRY_SIZE::zeroed());

    Ok(Doorbells::Irq {
        _bar: bar,
        _irqs: irqs,
    })
}

/// Sets up the host's doorbells as memory that the poll scans.
fn polled_doorbells<'epc>(
    epc: &Controller<'epc>,
    cfg: &Config,
    db_bar: BarNo,
    regs: &BarIo<CTRL_SIZE>,
) -> Result<Doorbells<'epc>> {
    // CAST: `db_count <= MAX_DB_COUNT`.
    let count = cfg.db_count as usize;
    let mut slots = epc.alloc_space(db_bar, 4 * count)?;
    slots.set_bar()?;

    for i in 0..count {
        // CAST: `i < MAX_DB_COUNT`.
        regs.try_write(
            DB_DATA::try_at(i).ok_or(EINVAL)?,
            DB_DATA::from_raw(i as u32 + 1),
        )?;
        regs.try_write(DB_OFFSET::try_at(i).ok_or(EINVAL)?, DB_OFFSET::zeroed())?;
    }
    regs.write_reg(DB_ENTRY_SIZE::from_raw(4));

    Ok(Doorbells::Poll(slots))
}

/// Sets up the memory windows.
fn memory_windows<'epc>(epc: &Controller<'epc>, cfg: &Config) -> Result<KVec<Mw<'epc>>> {
    let mut mws = KVec::with_capacity(cfg.num_mws, GFP_KERNEL)?;

    for i in 0..cfg.num_mws {
        let bar = cfg.bars[ROLE_MW1 + i].ok_or(EINVAL)?;
        let size = usize::try_from(cfg.mw_size[i]).map_err(|_| EINVAL)?;

        let mut inbound = epc.alloc_space(bar, size)?;
        inbound.set_bar().inspect_err(|_| {
            dev_err!(epc.function().as_ref(), "MW set failed\n");
        })?;
        // The host may reach the whole BAR: the endpoint may write all of it.
        let outbound = epc.alloc_outbound(inbound.size()).inspect_err(|_| {
            dev_err!(
                epc.function().as_ref(),
                "Failed to allocate source address\n"
            );
        })?;

        mws.push(Mw { inbound, outbound }, GFP_KERNEL)?;
    }

    Ok(mws)
}

/// Links a function: sets up the control region, the interrupts, the doorbells and the
/// memory windows, writes the header and starts the command poll.
fn link<'epc>(epc: Controller<'epc>) -> Result<VntbBinding<'epc>> {
    let dev: &kernel::device::Device<kernel::device::Bound> = epc.function().as_ref();
    let features = epc.features()?;
    let cfg = Config::read(&epc, &features)?;

    if !features.msi_capable() && !features.msix_capable() {
        dev_err!(dev, "MSI or MSI-X is required for doorbell\n");
        return Err(EINVAL);
    }

    let ctrl_bar = cfg.bars[ROLE_CTRL].ok_or(EINVAL)?;
    let db_bar = cfg.bars[ROLE_DB].ok_or(EINVAL)?;

    let mut ctrl = epc.alloc_space(ctrl_bar, cfg.ctrl_size())?;
    ctrl.set_bar().inspect_err(|_| {
        dev_err!(dev, "Config/Status/SPAD BAR set failed\n");
    })?;

    if features.msi_capable() {
        // CAST: `db_count <= MAX_DB_COUNT`.
        epc.set_msi(cfg.db_count as u8).inspect_err(|_| {
            dev_err!(dev, "MSI configuration failed\n");
        })?;
    }

    let events = ntb::Events::new(GFP_KERNEL)?;
    let shared = Arc::new(
        Shared {
            db: Atomic::new(0),
            peer: DeferredIrqs::new(epc.poll_waker()?),
            link_irq: DeferredIrqs::new(epc.poll_waker()?),
            events: events.clone(),
        },
        GFP_KERNEL,
    )?;

    let doorbells = {
        let regs = ctrl.sized::<CTRL_SIZE>()?;
        match irq_doorbells(&epc, &cfg, db_bar, regs, &shared) {
            Ok(db) => db,
            Err(e) => {
                dev_info!(dev, "No doorbell interrupts ({:?}): polling doorbells\n", e);
                polled_doorbells(&epc, &cfg, db_bar, regs)?
            }
        }
    };

    let mws = memory_windows(&epc, &cfg)?;
    let mut mw_bar_size = [0; MAX_MW];
    for (size, mw) in mw_bar_size.iter_mut().zip(mws.iter()) {
        *size = mw.inbound.size();
    }

    let vntb = Vntb {
        epc,
        cfg,
        ctrl,
        mws: KBox::pin_init(new_mutex!(mws), GFP_KERNEL)?,
        mw_bar_size,
        shared,
        link_up: Atomic::new(false),
        host_link: Atomic::new(false),
        ep_link: Atomic::new(true),
        link_lock: KBox::pin_init(new_spinlock!(()), GFP_KERNEL)?,
        log: KBox::pin_init(Ratelimit::new(c"pci_epf_vntb_rs"), GFP_KERNEL)?,
    };
    vntb.init_ctrl()?;

    if epc.vfunc_no() <= 1 {
        epc.write_header(&HEADER).inspect_err(|_| {
            dev_err!(dev, "Configuration header write failed\n");
        })?;
    }

    // The virtual bus and device the endpoint-side NTB device is registered on, with C's
    // configuration space (class 0xffffff, revision 0xff) and the configured IDs.
    let bus = vbus::Bus::new(
        vntb.cfg.vbus_number,
        Some(VNTB_PCI_DRIVER),
        VirtualConfig {
            header: vbus::Type0Header::new(vntb.cfg.vntb_vid, vntb.cfg.vntb_pid, 0xff_ffff, 0xff),
        },
    )
    .inspect_err(|e| dev_err!(dev, "create pci bus failed: {:?}\n", e))?;
    let pdev = bus.device().ok_or(ENODEV)?;

    let ntb = epc
        .register_ntb(
            &pdev,
            ntb::Topology::None,
            events,
            VntbNtb { vntb, _bus: bus },
        )
        .inspect_err(|e| dev_err!(dev, "Failed to register NTB device: {:?}\n", e))?;

    epc.schedule_poll(0)?;

    Ok(VntbBinding { ntb, doorbells })
}

struct PciEpfVntbRs;

kernel::pci_epf_device_table!(
    EPF_TABLE,
    <PciEpfVntbRs as endpoint::Driver>::IdInfo,
    [(endpoint::DeviceId::new(c"pci_epf_vntb_rs"), ())]
);

#[vtable]
impl endpoint::Driver for PciEpfVntbRs {
    type IdInfo = ();
    type Data<'bound> = ();
    type Binding<'epc> = VntbBinding<'epc>;
    const ID_TABLE: endpoint::IdTable<Self::IdInfo> = &EPF_TABLE;
    const CFS_ATTRS: &'static [CfsAttr] = &ATTRS;

    fn header() -> Option<&'static Header> {
        Some(&HEADER)
    }

    fn probe<'bound>(
        _func: &'bound endpoint::Function<Core<'_>>,
        _id_info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        Ok(())
    }

    fn link<'epc>(ctx: &Context<'epc, Self>) -> impl PinInit<Self::Binding<'epc>, Error> + 'epc {
        link(ctx.epc())
    }

    fn unlink<'epc>(_ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) {
        binding.link_down();
    }

    fn link_down<'epc>(
        _ctx: &Context<'epc, Self>,
        binding: Pin<&mut Self::Binding<'epc>>,
    ) -> Result {
        binding.vntb().set_link(false);
        Ok(())
    }

    fn poll<'epc>(_ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) -> PollNext {
        binding.poll();
        PollNext::After(POLL_MS)
    }
}

/// The name of the PCI driver of the virtual device, which the bus sets as its override.
const VNTB_PCI_DRIVER: &CStr = c"pci_vntb_rs";

/// The configuration space of the virtual PCI device the NTB device is registered on: the
/// configured IDs, class 0xffffff and revision 0xff like C's, read through bounded accesses.
struct VirtualConfig {
    header: vbus::Type0Header,
}

#[vtable]
impl vbus::Operations for VirtualConfig {
    const CONFIG_SIZE: usize = vbus::Type0Header::SIZE;

    fn read(&self, access: vbus::Access) -> u32 {
        self.header.read(access)
    }
}

/// The endpoint-side NTB device: the function's state and the virtual bus it sits on.
struct VntbNtb<'epc> {
    vntb: Vntb<'epc>,
    // Declared last: the bus and its device go after the NTB device and the BARs.
    _bus: vbus::Bus<VirtualConfig>,
}

/// The speed and width reported with the link, as C reports none (the NTB core's defaults).
const LINK: ntb::Link = ntb::Link::Up {
    speed: ntb::Speed::None,
    width: ntb::Width::None,
};

#[vtable]
impl<'epc> ntb::Operations for VntbNtb<'epc> {
    fn link_is_up(&self) -> ntb::Link {
        if self.vntb.link_is_up() {
            LINK
        } else {
            ntb::Link::Down
        }
    }

    fn link_enable(&self, _speed: ntb::Speed, _width: ntb::Width) -> Result {
        self.vntb.ep_set_link(true);
        Ok(())
    }

    fn link_disable(&self) -> Result {
        self.vntb.ep_set_link(false);
        Ok(())
    }

    fn mw_count(&self) -> u32 {
        // CAST: At most `MAX_MW`.
        self.vntb.mw_count() as u32
    }

    fn mw_get_align(&self, widx: ntb::MwIndex) -> Result<ntb::MwAlign> {
        let (addr_align, size_align, size_max) = self.vntb.mw_get_align(widx.get())?;
        Ok(ntb::MwAlign {
            addr_align,
            size_align,
            size_max,
        })
    }

    fn mw_set_trans(&self, widx: ntb::MwIndex, addr: DmaAddress, size: ResourceSize) -> Result {
        self.vntb.mw_set_trans(widx.get(), addr, size)
    }

    fn mw_clear_trans(&self, widx: ntb::MwIndex) -> Result {
        self.vntb.mw_clear_trans(widx.get())
    }

    fn peer_mw_count(&self) -> u32 {
        self.mw_count()
    }

    fn peer_mw_get_addr(&self, widx: ntb::MwIndex) -> Result<ntb::PeerMw> {
        let (base, size) = self.vntb.peer_mw_get_addr(widx.get())?;
        Ok(ntb::PeerMw { base, size })
    }

    fn db_valid_mask(&self) -> u64 {
        self.vntb.db_valid_mask()
    }

    fn db_vector_count(&self) -> u32 {
        self.vntb.db_vector_count()
    }

    fn db_vector_mask(&self, vector: ntb::DbVector) -> u64 {
        self.vntb.db_vector_mask(vector.as_u32())
    }

    fn db_read(&self) -> u64 {
        self.vntb.db_read()
    }

    fn db_clear(&self, bits: u64) -> Result {
        self.vntb.db_clear(bits)
    }

    fn db_set_mask(&self, _bits: u64) -> Result {
        Ok(())
    }

    fn db_clear_mask(&self, _bits: u64) -> Result {
        Ok(())
    }

    fn peer_db_set(&self, bits: u64) -> Result {
        self.vntb.peer_db_set(bits)
    }

    fn spad_count(&self) -> u32 {
        self.vntb.spad_count()
    }

    fn spad_read(&self, sidx: ntb::SpadIndex) -> u32 {
        self.vntb.spad_read(sidx.as_u32()).unwrap_or(0)
    }

    fn spad_write(&self, sidx: ntb::SpadIndex, val: u32) -> Result {
        self.vntb.spad_write(sidx.as_u32(), val)
    }

    fn peer_spad_read(&self, sidx: ntb::SpadIndex) -> u32 {
        self.vntb.peer_spad_read(sidx.as_u32()).unwrap_or(0)
    }

    fn peer_spad_write(&self, sidx: ntb::SpadIndex, val: u32) -> Result {
        self.vntb.peer_spad_write(sidx.as_u32(), val)
    }

    fn get_dma_dev(&self) -> &kernel::device::Device {
        self.vntb.epc.parent()
    }
}

/// The PCI driver of the virtual device: it only claims the device, the endpoint function
/// registers the NTB device on it.
struct VntbPci;

kernel::pci_device_table!(
    PCI_TABLE,
    MODULE_PCI_TABLE,
    <VntbPci as pci::Driver>::IdInfo,
    [(pci::DeviceId::driver_override_any(), ())]
);

impl pci::Driver for VntbPci {
    type IdInfo = ();
    type Data<'bound> = ();
    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        _dev: &'bound pci::Device<Core<'_>>,
        _id_info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        Ok(())
    }
}

/// The module: the endpoint function driver and the PCI driver of its virtual devices.
#[pin_data]
struct VntbModule {
    #[pin]
    _epf: kernel::driver::Registration<endpoint::Adapter<PciEpfVntbRs>>,
    #[pin]
    _pci: kernel::driver::Registration<pci::Adapter<VntbPci>>,
}

impl kernel::InPlaceModule for VntbModule {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _pci <- kernel::driver::Registration::new(VNTB_PCI_DRIVER, module),
            _epf <- kernel::driver::Registration::new(c"pci_epf_vntb_rs", module),
        })
    }
}

module! {
    type: VntbModule,
    name: "pci_epf_vntb_rs",
    authors: ["Rust for Linux"],
    description: "Rust PCI endpoint virtual NTB function",
    license: "GPL",
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
#[kunit_tests(rust_pci_epf_vntb_rs)]
mod tests {
    use super::*;
    use kernel::io::IoLoc;

    /// `pci_epc_get_next_free_bar()` of a controller with the given free BARs.
    fn free(bars: &'static [u32]) -> impl Fn(BarNo) -> Option<BarNo> {
        move |from| {
            bars.iter()
                .copied()
                .find(|&b| b >= u32::from(from))
                .and_then(|b| BarNo::try_from(b).ok())
        }
    }

    fn bar(n: u32) -> Option<BarNo> {
        BarNo::try_from(n).ok()
    }

    #[test]
    fn control_region_layout_is_c_s() {
        assert_eq!(DB_DATA::at(31).offset(), 0xb0);
        assert_eq!(DB_OFFSET::at(0).offset(), 0xb4);
        assert_eq!(DB_OFFSET::at(31).offset() + 4, CTRL_SIZE);
    }

    #[test]
    fn bars_of_a_64bit_controller_like_imx8() -> Result {
        // BAR0, 2, 4 free (64-bit BARs take two numbers).
        let (bars, n) = assign_bars([None; ROLES], 1, free(&[0, 2, 4]))?;
        assert_eq!(
            (bars[ROLE_CTRL], bars[ROLE_DB], bars[ROLE_MW1]),
            (bar(0), bar(2), bar(4))
        );
        assert_eq!(n, 1);
        Ok(())
    }

    #[test]
    fn every_window_gets_a_bar() -> Result {
        // C (S-V1) never assigns the BAR of the last window.
        for num_mws in 2..=4 {
            let (bars, n) = assign_bars([None; ROLES], num_mws, free(&[0, 1, 2, 3, 4, 5]))?;
            assert_eq!(n, num_mws);
            for (i, b) in bars[..2 + num_mws].iter().enumerate() {
                // CAST: `i < 6`.
                assert_eq!(*b, bar(i as u32));
            }
        }
        Ok(())
    }

    #[test]
    fn windows_without_a_bar_are_dropped() -> Result {
        let (bars, n) = assign_bars([None; ROLES], 4, free(&[0, 2, 4, 5]))?;
        assert_eq!(n, 2);
        assert_eq!(bars[ROLE_MW1 + 1], bar(5));
        assert_eq!(bars[ROLE_MW1 + 2], None);

        // The mandatory ones fail the link.
        assert_eq!(
            assign_bars([None; ROLES], 1, free(&[0, 2])).err(),
            Some(ENOENT)
        );
        Ok(())
    }

    #[test]
    fn explicit_bars_are_kept_and_skipped() -> Result {
        // rcar: db_bar=4, mw1_bar=2 set explicitly.
        let mut wanted = [None; ROLES];
        wanted[ROLE_DB] = bar(4);
        wanted[ROLE_MW1] = bar(2);
        let (bars, _) = assign_bars(wanted, 1, free(&[0, 2, 4]))?;
        assert_eq!(
            (bars[ROLE_CTRL], bars[ROLE_DB], bars[ROLE_MW1]),
            (bar(0), bar(4), bar(2))
        );

        // Two roles on one BAR are refused.
        wanted[ROLE_CTRL] = bar(2);
        assert_eq!(assign_bars(wanted, 1, free(&[0, 2, 4])).err(), Some(EINVAL));
        Ok(())
    }

    #[test]
    fn doorbell_masks() {
        let cfg = Config {
            spad_count: 4,
            db_count: 4,
            num_mws: 1,
            mw_size: [0x10_0000, 0, 0, 0],
            vbus_number: 0x10,
            vntb_vid: 0x1957,
            vntb_pid: 0x080a,
            bars: [None; ROLES],
        };
        assert_eq!(cfg.db_bits(), 2);
        assert_eq!(cfg.db_valid_mask(), 0b11);
        assert_eq!(cfg.ctrl_size(), CTRL_SIZE + 32);

        let max = Config {
            db_count: MAX_DB_COUNT,
            ..cfg
        };
        assert_eq!(max.db_valid_mask(), 0x3fff_ffff);
    }
}
