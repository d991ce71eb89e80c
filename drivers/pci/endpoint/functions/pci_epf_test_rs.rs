// SPDX-License-Identifier: GPL-2.0

//! Rust PCI endpoint test function, a port of `pci-epf-test`.
//!
//! The function exposes the same register block at the same offsets as the C `pci_epf_test`
//! function, so the host side `pci_endpoint_test` driver and the `pci_endpoint_test` kselftest
//! work unchanged: raising INTx/MSI/MSI-X interrupts, READ/WRITE/COPY of host memory through
//! the controller's outbound windows, with or without a DMA engine, doorbells
//! (ENABLE/DISABLE_DOORBELL) on the doorbell API, and BAR subrange mappings. The function is
//! named `pci_epf_test_rs` so that it can sit beside the C one; its configfs attributes
//! (`bar0_size` ... `bar5_size`) are the same.
//!
//! # Differences from the C function
//!
//! The host's registers are untrusted input. Where the C function trusts them or leaves the
//! host waiting, this one validates and completes every command:
//!
//! - A command that is rejected (DMA requested while there is no DMA channel, an unknown or
//!   multi-bit command, a size of 0 or above [`MAX_TRANSFER`], an address range that wraps, a
//!   bad BAR number) still completes: the failure status of the command is written and the
//!   interrupt raised. C drops such commands silently and the host times out.
//! - An invalid `irq_type` or `irq_number` (including vector 0, which C passes to the
//!   controller) is not raised. The command fails (`NO_RESOURCE` for the RAISE_*_IRQ commands,
//!   which have no failure bit of their own) and completes with the first interrupt the host
//!   has enabled (MSI-X vector 1, MSI vector 1 or INTx), so that the host does not wait for
//!   an interrupt that never comes. C writes `IRQ_RAISED` and raises nothing.
//! - `FLAGS.USE_DMA` is only consulted by READ/WRITE/COPY; C drops *every* command while the
//!   flag is set on an endpoint without DMA.
//! - DISABLE_DOORBELL without an enabled doorbell fails with `DOORBELL_DISABLE_FAIL` (C
//!   dereferences a NULL doorbell array); the BAR to restore is remembered by the function
//!   instead of being read back from the host-writable `DB_BAR` register.
//! - ENABLE_DOORBELL while a doorbell is enabled fails without touching it.
//! - The doorbell is freed at unbind and when the controller is deinitialized (C leaks it);
//!   the BAR is restored before the doorbell is freed.
//! - The doorbell interrupt handler only wakes the command poller, which sets
//!   `DOORBELL_SUCCESS` and raises the interrupt: the interrupt handler must be `'static`, while
//!   the registers and the controller belong to the binding.
//! - The rate line reports the time of all chunks of a transfer, not only of the last one.
//! - Every error message that the host's register values can trigger (a rejected command, an
//!   invalid transfer or vector, a failed doorbell request, ...) is rate-limited, with one
//!   [`Ratelimit`] per binding (the kernel's default, 10 messages per 5 seconds): C logs
//!   one `dev_err()` per command, so a hostile host can flood the kernel log. The info-level
//!   rate line of a successful transfer is not limited (`make bench` reads it).
//! - DMA transfers time out after [`DMA_TIMEOUT_MS`] instead of waiting forever; the bounce
//!   buffer of DMA transfers is coherent memory of the controller's parent device instead of a
//!   streaming mapping of a `kmalloc()` buffer.

use kernel::{
    crc32::crc32_le,
    dev_err_ratelimited,
    device::Core,
    dmaengine::{
        Channel,
        Direction,
        DmaBuffer, //
    },
    io::Io,
    irq::{
        self,
        IrqReturn,
        ThreadedRegistration, //
    },
    pci::{
        endpoint::{
            self,
            doorbell::{
                self,
                DoorbellKind,
                DoorbellTarget,
                RequestedDoorbells, //
            },
            BarNo,
            BarSpace,
            BarType,
            Controller,
            Features,
            Header,
            HeaderInfo,
            Mapping,
            PollNext,
            PollWaker, //
        },
        IrqType, //
    },
    prelude::*,
    random,
    ratelimit::Ratelimit,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic, //
    }, //
};

/// The largest READ/WRITE/COPY size accepted from the host, in bytes.
///
/// The bounce buffer is allocated in one piece, like in C; larger sizes would only fail (or
/// warn) in the page allocator.
const MAX_TRANSFER: usize = 4 << 20;

/// How long a DMA transfer may take before it is aborted.
const DMA_TIMEOUT_MS: u32 = 10_000;

/// The size reserved for the register block; the MSI-X table follows it.
const REG_BLOCK_SIZE: usize = 128;

/// Default BAR sizes, as in C: 128 KiB for BAR0..4, 1 MiB for BAR5.
const DEFAULT_BAR_SIZES: [usize; BarNo::COUNT] = [131072, 131072, 131072, 131072, 131072, 1048576];

/// `DB_BAR` value meaning "no doorbell BAR" (C's `NO_BAR`).
const NO_BAR: u32 = u32::MAX;

/// A 32-bit register of the test register block.
#[derive(Clone, Copy)]
struct Reg(usize);

impl Reg {
    #[expect(dead_code, reason = "written by the host only")]
    const MAGIC: Reg = Reg(0x00);
    const COMMAND: Reg = Reg(0x04);
    const STATUS: Reg = Reg(0x08);
    const SRC_ADDR_LO: Reg = Reg(0x0c);
    const DST_ADDR_LO: Reg = Reg(0x14);
    const SIZE: Reg = Reg(0x1c);
    const CHECKSUM: Reg = Reg(0x20);
    const IRQ_TYPE: Reg = Reg(0x24);
    const IRQ_NUMBER: Reg = Reg(0x28);
    const FLAGS: Reg = Reg(0x2c);
    const CAPS: Reg = Reg(0x30);
    const DB_BAR: Reg = Reg(0x34);
    const DB_OFFSET: Reg = Reg(0x38);
    const DB_DATA: Reg = Reg(0x3c);
}

// The register block proper ends with `DB_DATA`.
const _: () = assert!(Reg::DB_DATA.0 + 4 <= REG_BLOCK_SIZE);

/// A set of bits of one of the registers.
macro_rules! bits {
    ($name:ident { $($(#[$m:meta])* $bit:ident = $n:expr,)* }) => {
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        struct $name(u32);

        #[allow(dead_code)]
        impl $name {
            $($(#[$m])* const $bit: Self = Self(1 << $n);)*

            const fn bits(self) -> u32 {
                self.0
            }

            const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }
        }

        impl core::ops::BitOr for $name {
            type Output = Self;

            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }

        impl core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }
    };
}

bits!(Command {
    RAISE_INTX_IRQ = 0,
    RAISE_MSI_IRQ = 1,
    RAISE_MSIX_IRQ = 2,
    READ = 3,
    WRITE = 4,
    COPY = 5,
    ENABLE_DOORBELL = 6,
    DISABLE_DOORBELL = 7,
    BAR_SUBRANGE_SETUP = 8,
    BAR_SUBRANGE_CLEAR = 9,
});

bits!(Status {
    READ_SUCCESS = 0,
    READ_FAIL = 1,
    WRITE_SUCCESS = 2,
    WRITE_FAIL = 3,
    COPY_SUCCESS = 4,
    COPY_FAIL = 5,
    IRQ_RAISED = 6,
    SRC_ADDR_INVALID = 7,
    DST_ADDR_INVALID = 8,
    DOORBELL_SUCCESS = 9,
    DOORBELL_ENABLE_SUCCESS = 10,
    DOORBELL_ENABLE_FAIL = 11,
    DOORBELL_DISABLE_SUCCESS = 12,
    DOORBELL_DISABLE_FAIL = 13,
    BAR_SUBRANGE_SETUP_SUCCESS = 14,
    BAR_SUBRANGE_SETUP_FAIL = 15,
    BAR_SUBRANGE_CLEAR_SUCCESS = 16,
    BAR_SUBRANGE_CLEAR_FAIL = 17,
    NO_RESOURCE = 18,
});

bits!(Caps {
    UNALIGNED_ACCESS = 0,
    MSI = 1,
    MSIX = 2,
    INTX = 3,
    SUBRANGE_MAPPING = 4,
    DYNAMIC_INBOUND_MAPPING = 5,
    BAR0_RESERVED = 6,
});

bits!(Flags {
    USE_DMA = 0,
});

/// The values of the `IRQ_TYPE` register.
const IRQ_TYPE_INTX: u32 = 0;
const IRQ_TYPE_MSI: u32 = 1;
const IRQ_TYPE_MSIX: u32 = 2;

/// The success bits of the status register.
const SUCCESS_MASK: Status = Status(
    Status::READ_SUCCESS.bits()
        | Status::WRITE_SUCCESS.bits()
        | Status::COPY_SUCCESS.bits()
        | Status::DOORBELL_SUCCESS.bits()
        | Status::DOORBELL_ENABLE_SUCCESS.bits()
        | Status::DOORBELL_DISABLE_SUCCESS.bits()
        | Status::BAR_SUBRANGE_SETUP_SUCCESS.bits()
        | Status::BAR_SUBRANGE_CLEAR_SUCCESS.bits(),
);

/// The number of subranges of BAR_SUBRANGE_SETUP.
const SUBRANGE_COUNT: usize = 2;

impl Command {
    /// Returns the failure status of a command, if it has one.
    fn fail_status(self) -> Status {
        match self {
            Self::READ => Status::READ_FAIL,
            Self::WRITE => Status::WRITE_FAIL,
            Self::COPY => Status::COPY_FAIL,
            Self::ENABLE_DOORBELL => Status::DOORBELL_ENABLE_FAIL,
            Self::DISABLE_DOORBELL => Status::DOORBELL_DISABLE_FAIL,
            Self::BAR_SUBRANGE_SETUP => Status::BAR_SUBRANGE_SETUP_FAIL,
            Self::BAR_SUBRANGE_CLEAR => Status::BAR_SUBRANGE_CLEAR_FAIL,
            _ => Status::default(),
        }
    }

    /// Returns whether the command transfers data and consults `FLAGS.USE_DMA`.
    fn is_transfer(self) -> bool {
        matches!(self, Self::READ | Self::WRITE | Self::COPY)
    }

    /// Returns whether the command is exactly one of the known commands.
    fn is_known(self) -> bool {
        self.0.is_power_of_two() && self.0 <= Self::BAR_SUBRANGE_CLEAR.0
    }
}

/// What to do with a command the host wrote, see [`admit`].
#[derive(Debug, PartialEq, Eq)]
enum Admission {
    /// Run the command, with DMA for a transfer if `use_dma`.
    Run { use_dma: bool },
    /// Reject the command: log `reason`, report `status` and raise the interrupt.
    Reject {
        status: Status,
        reason: &'static str,
    },
}

/// Decides whether a command can run, from the host's registers and whether there is DMA.
///
/// Unlike C, which drops rejected commands without a word, every rejection has a failure status
/// (see [`Command::fail_status`]) and an interrupt.
fn admit(command: Command, irq_type: u32, flags: Flags, has_dma: bool) -> Admission {
    if irq_type > IRQ_TYPE_MSIX {
        return Admission::Reject {
            status: command.fail_status(),
            reason: "Failed to detect IRQ type",
        };
    }

    if !command.is_known() {
        return Admission::Reject {
            status: Status::default(),
            reason: "Invalid command",
        };
    }

    // Only transfers consult the flag (C drops *any* command while it is set without DMA).
    let use_dma = command.is_transfer() && flags.contains(Flags::USE_DMA);
    if use_dma && !has_dma {
        return Admission::Reject {
            status: command.fail_status(),
            reason: "Cannot transfer data using DMA",
        };
    }

    Admission::Run { use_dma }
}

/// Validates an MSI/MSI-X vector number of the host against the number of enabled vectors.
///
/// Vectors count from 1; C also passes 0 to the controller.
fn irq_vector(number: u32, count: u16) -> Option<u16> {
    u16::try_from(number).ok().filter(|&n| n >= 1 && n <= count)
}

/// Why a transfer range from the host is invalid.
#[derive(Debug, PartialEq, Eq)]
enum RangeError {
    /// The size is 0 or larger than [`MAX_TRANSFER`].
    Size,
    /// The address range wraps around.
    Address,
}

/// Validates the address and size of a transfer from the host.
fn transfer_range(addr: u64, size: u32) -> core::result::Result<(u64, usize), RangeError> {
    let size = usize::try_from(size)
        .ok()
        .filter(|&s| s > 0 && s <= MAX_TRANSFER)
        .ok_or(RangeError::Size)?;

    // CAST: `size` is at most `MAX_TRANSFER`.
    addr.checked_add(size as u64).ok_or(RangeError::Address)?;

    Ok((addr, size))
}

/// The configuration header; all functions of the driver share it, as in C.
static HEADER: Header = Header::new(HeaderInfo {
    base_class: 0xff,
    ..HeaderInfo::new(0xffff, 0xffff)
});

/// The doorbell interrupt handler: it records the ring and wakes the command poller.
struct DoorbellHandler {
    rang: Atomic<bool>,
    waker: PollWaker,
}

impl irq::ThreadedHandler for DoorbellHandler {
    fn handle_threaded(&self, _dev: &kernel::device::Device<kernel::device::Bound>) -> IrqReturn {
        self.rang.store(true, Relaxed);
        self.waker.wake();
        IrqReturn::Handled
    }
}

type Doorbell<'epc> = Pin<KBox<RequestedDoorbells<'epc, ThreadedRegistration<DoorbellHandler>>>>;

/// The DMA channels: a private pair of the controller's DMA engine, or one generic channel.
struct Dma {
    tx: Channel,
    rx: Option<Channel>,
}

impl Dma {
    fn request(epc: &Controller<'_>) -> Result<Self> {
        let dev = epc.parent();

        match Channel::request_slave(dev, Direction::DevToMem) {
            Ok(rx) => match Channel::request_slave(dev, Direction::MemToDev) {
                Ok(tx) => return Ok(Self { tx, rx: Some(rx) }),
                Err(_) => dev_info!(
                    epc.function().as_ref(),
                    "Failed to get private DMA tx channel. Falling back to generic one\n"
                ),
            },
            Err(_) => dev_info!(
                epc.function().as_ref(),
                "Failed to get private DMA rx channel. Falling back to generic one\n"
            ),
        }

        Ok(Self {
            tx: Channel::request_memcpy()?,
            rx: None,
        })
    }

    fn is_private(&self) -> bool {
        self.rx.is_some()
    }

    /// The channel C uses for transfers other than MEM_TO_DEV.
    fn rx(&self) -> &Channel {
        self.rx.as_ref().unwrap_or(&self.tx)
    }
}

/// A bounce buffer: coherent memory for DMA transfers, or plain memory.
enum Bounce {
    Dma(DmaBuffer),
    Cpu(KVVec<u8>),
}

impl Bounce {
    fn alloc(epc: &Controller<'_>, size: usize, dma: bool) -> Result<Self> {
        Ok(if dma {
            Self::Dma(DmaBuffer::alloc(epc.dma_device(), size)?)
        } else {
            Self::Cpu(KVVec::from_elem(0u8, size, GFP_KERNEL)?)
        })
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Dma(b) => b.as_slice(),
            Self::Cpu(v) => v,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            Self::Dma(b) => b.as_mut_slice(),
            Self::Cpu(v) => v,
        }
    }
}

/// The state of a function bound to a controller.
struct TestBinding<'epc> {
    epc: Controller<'epc>,
    features: Features,
    reg_bar: BarNo,
    msix_table_offset: u32,
    // Declared before `doorbell`: a retargeted BAR is cleared before the doorbell is freed.
    bars: [Option<BarSpace<'epc>>; BarNo::COUNT],
    doorbell: Option<Doorbell<'epc>>,
    /// The BAR retargeted to the doorbell, to restore on DISABLE_DOORBELL.
    db_bar: Option<BarNo>,
    dma: Option<Dma>,
    /// The rate limit of every message the host's register values can trigger.
    log: Pin<KBox<Ratelimit>>,
}

/// A failed command: the status bits to report.
type CmdResult = core::result::Result<Status, Status>;

impl<'epc> TestBinding<'epc> {
    fn reg_space(&self) -> Option<&BarSpace<'epc>> {
        self.bars[self.reg_bar.index()].as_ref()
    }

    fn read(&self, reg: Reg) -> u32 {
        // The register block is at least `REG_BLOCK_SIZE` bytes and the offsets are aligned, so
        // this only fails if the block is gone, which reads as 0.
        self.reg_space()
            .and_then(|s| s.try_read32(reg.0).ok())
            .unwrap_or(0)
    }

    fn write(&self, reg: Reg, val: u32) {
        if let Some(space) = self.reg_space() {
            // Cannot fail, see `read()`.
            let _ = space.try_write32(val, reg.0);
        }
    }

    fn read64(&self, lo: Reg) -> u64 {
        u64::from(self.read(lo)) | (u64::from(self.read(Reg(lo.0 + 4))) << 32)
    }

    fn dev(&self) -> &'epc kernel::device::Device<kernel::device::Bound> {
        self.epc.function().as_ref()
    }

    /// Writes the capabilities register.
    fn set_capabilities(&self) {
        let f = &self.features;
        let mut caps = Caps::default();

        if self.epc.aligns_addresses() {
            caps |= Caps::UNALIGNED_ACCESS;
        }
        if f.msi_capable() {
            caps |= Caps::MSI;
        }
        if f.msix_capable() {
            caps |= Caps::MSIX;
        }
        if f.intx_capable() {
            caps |= Caps::INTX;
        }
        if f.dynamic_inbound_mapping() {
            caps |= Caps::DYNAMIC_INBOUND_MAPPING;
        }
        if f.dynamic_inbound_mapping() && f.subrange_mapping() {
            caps |= Caps::SUBRANGE_MAPPING;
        }
        for bar in BarNo::ALL {
            if f.bar(bar).bar_type() == BarType::Reserved {
                caps |= Caps(Caps::BAR0_RESERVED.bits() << bar.index());
            }
        }

        self.write(Reg::CAPS, caps.bits());
    }

    /// Returns the interrupt `irq_type`/`IRQ_NUMBER` designate, if it is valid.
    fn irq_target(&self, irq_type: u32) -> Option<(IrqType, u16)> {
        let number = self.read(Reg::IRQ_NUMBER);
        let (ty, name, count) = match irq_type {
            IRQ_TYPE_INTX => return Some((IrqType::Intx, 0)),
            IRQ_TYPE_MSI => (IrqType::Msi, "MSI", self.epc.msi_count()),
            IRQ_TYPE_MSIX => (IrqType::MsiX, "MSI-X", self.epc.msix_count()),
            _ => return None,
        };

        match irq_vector(number, count) {
            Some(n) => Some((ty, n)),
            None => {
                dev_err_ratelimited!(
                    self.log,
                    self.dev(),
                    "Invalid {} IRQ number {} / {}\n",
                    name,
                    number,
                    count
                );
                None
            }
        }
    }

    /// Returns the first interrupt the host has enabled: MSI-X or MSI vector 1, or INTx.
    fn fallback_irq(&self) -> Option<(IrqType, u16)> {
        if self.epc.msix_count() >= 1 {
            Some((IrqType::MsiX, 1))
        } else if self.epc.msi_count() >= 1 {
            Some((IrqType::Msi, 1))
        } else if self.features.intx_capable() {
            Some((IrqType::Intx, 0))
        } else {
            None
        }
    }

    /// Adds `status` to the status register and raises the interrupt the host asked for.
    ///
    /// If that interrupt does not exist, the command fails with `fail` (or `NO_RESOURCE`) and the
    /// interrupt of [`TestBinding::fallback_irq`] is raised instead.
    fn complete(&self, status: Status, fail: Status, irq_type: u32) {
        let mut status = Status(self.read(Reg::STATUS)) | status;

        let target = match self.irq_target(irq_type) {
            Some(target) => Some(target),
            None => {
                status = Status(status.bits() & !SUCCESS_MASK.bits());
                status |= if fail == Status::default() {
                    Status::NO_RESOURCE
                } else {
                    fail
                };
                self.fallback_irq()
            }
        };

        let Some((ty, number)) = target else {
            // Nothing can be raised: report the status without `IRQ_RAISED`.
            self.write(Reg::STATUS, status.bits());
            return;
        };

        status |= Status::IRQ_RAISED;
        self.write(Reg::STATUS, status.bits());

        if let Err(e) = self.epc.raise_irq(ty, number) {
            dev_err_ratelimited!(self.log, self.dev(), "Failed to raise IRQ: {:?}\n", e);
        }
    }

    /// Polls the command register and the doorbell, see C's `pci_epf_test_cmd_handler()`.
    fn poll(&mut self) {
        if self.reg_space().is_none() {
            return;
        }

        self.check_doorbell();

        let irq_type = self.read(Reg::IRQ_TYPE);
        let command = self.read(Reg::COMMAND);
        if command == 0 {
            return;
        }

        self.write(Reg::COMMAND, 0);
        self.write(Reg::STATUS, 0);

        let command = Command(command);
        let flags = Flags(self.read(Reg::FLAGS));

        let use_dma = match admit(command, irq_type, flags, self.dma.is_some()) {
            Admission::Run { use_dma } => use_dma,
            Admission::Reject { status, reason } => {
                dev_err_ratelimited!(
                    self.log,
                    self.dev(),
                    "{} (command 0x{:x})\n",
                    reason,
                    command.bits()
                );

                self.complete(status, command.fail_status(), irq_type);
                return;
            }
        };

        let result = match command {
            Command::RAISE_INTX_IRQ | Command::RAISE_MSI_IRQ | Command::RAISE_MSIX_IRQ => {
                Ok(Status::default())
            }
            Command::READ => self.cmd_read(use_dma),
            Command::WRITE => self.cmd_write(use_dma),
            Command::COPY => self.cmd_copy(use_dma),
            Command::ENABLE_DOORBELL => self.cmd_enable_doorbell(),
            Command::DISABLE_DOORBELL => self.cmd_disable_doorbell(),
            Command::BAR_SUBRANGE_SETUP => self.cmd_subrange_setup(),
            Command::BAR_SUBRANGE_CLEAR => self.cmd_subrange_clear(),
            // `admit()` only lets known commands through.
            _ => Err(Status::default()),
        };

        let status = match result {
            Ok(s) => s,
            Err(s) => s | command.fail_status(),
        };
        self.complete(status, command.fail_status(), irq_type);
    }

    /// Reports a ring of the doorbell, see C's `pci_epf_test_doorbell_handler()`.
    fn check_doorbell(&self) {
        let Some(db) = &self.doorbell else {
            return;
        };

        if db.registration().handler().rang.xchg(false, Relaxed) {
            let irq_type = self.read(Reg::IRQ_TYPE);
            self.complete(Status::DOORBELL_SUCCESS, Status::default(), irq_type);
        }
    }

    /// Validates the size and the host address range of a transfer.
    fn transfer_args(
        &self,
        addr: Reg,
        invalid: Status,
    ) -> core::result::Result<(u64, usize), Status> {
        self.transfer_args_of_size(self.read(Reg::SIZE), addr, invalid)
    }

    /// Like [`Self::transfer_args`], for a `SIZE` already read: a command with two addresses
    /// must check both against the same size, which the host may change in between.
    fn transfer_args_of_size(
        &self,
        size: u32,
        addr: Reg,
        invalid: Status,
    ) -> core::result::Result<(u64, usize), Status> {
        let addr = self.read64(addr);

        transfer_range(addr, size).map_err(|e| {
            dev_err_ratelimited!(
                self.log,
                self.dev(),
                "Invalid transfer 0x{:x}+{}: {:?}\n",
                addr,
                size,
                e
            );
            match e {
                RangeError::Size => Status::default(),
                RangeError::Address => invalid,
            }
        })
    }

    fn print_rate(&self, op: &str, size: usize, time: Delta, dma: bool) {
        // CAST: Elapsed monotonic time is not negative.
        let ns = time.as_nanos().max(0) as u64;
        // CAST: `size` is at most `MAX_TRANSFER`.
        let rate = (size as u64 * 1_000_000_000)
            .checked_div(ns * 1000)
            .unwrap_or(0);

        dev_info!(
            self.dev(),
            "{} => Size: {} B, DMA: {}, Time: {}.{:09} s, Rate: {} KB/s\n",
            op,
            size,
            if dma { "YES" } else { "NO" },
            ns / 1_000_000_000,
            ns % 1_000_000_000,
            rate
        );
    }

    /// Runs `xfer(map, off, len, pci)` over the host range `addr..addr + size` in the chunks the
    /// outbound windows allow, and returns the time spent in `xfer`.
    ///
    /// `invalid` is the status of a range that cannot be mapped, `what` names it in the log.
    fn for_each_chunk(
        &self,
        addr: u64,
        size: usize,
        invalid: Status,
        what: &str,
        mut xfer: impl FnMut(&Mapping<'_>, usize, usize, u64) -> Result,
    ) -> core::result::Result<Delta, Status> {
        let mut total = Delta::ZERO;
        let mut off = 0;

        while off < size {
            // CAST: `off < size <= MAX_TRANSFER`; `addr + size` does not wrap.
            let pci = addr + off as u64;
            let map = self.epc.mem_map(pci, size - off).map_err(|_| {
                dev_err_ratelimited!(self.log, self.dev(), "Failed to map {} address\n", what);
                invalid
            })?;
            let len = map.pci_size().min(size - off);
            if len == 0 {
                return Err(invalid);
            }

            let start = Instant::<Monotonic>::now();
            let ret = xfer(&map, off, len, pci);
            total += start.elapsed();

            if let Err(e) = ret {
                dev_err_ratelimited!(self.log, self.dev(), "Data transfer failed: {:?}\n", e);
                return Err(Status::default());
            }
            off += len;
        }

        Ok(total)
    }

    /// COMMAND_READ: reads host memory and checks its CRC (host test `PCITEST_WRITE`).
    fn cmd_read(&mut self, use_dma: bool) -> CmdResult {
        let (src, size) = self.transfer_args(Reg::SRC_ADDR_LO, Status::SRC_ADDR_INVALID)?;
        let mut buf = Bounce::alloc(&self.epc, size, use_dma).map_err(|_| Status::default())?;
        let dma = self.dma.as_ref();

        let total = self.for_each_chunk(
            src,
            size,
            Status::SRC_ADDR_INVALID,
            "source",
            |map, off, len, pci| match (&mut buf, dma) {
                (Bounce::Dma(b), Some(dma)) if dma.is_private() => dma
                    .rx()
                    .slave_single(b, off, len, pci, Direction::DevToMem)
                    .and_then(|t| t.run(DMA_TIMEOUT_MS)),
                (Bounce::Dma(b), Some(dma)) => {
                    map.dma_read(dma.rx(), 0, b, off, len, DMA_TIMEOUT_MS)
                }
                (buf, _) => map.read_into(0, &mut buf.as_mut_slice()[off..off + len]),
            },
        )?;

        self.print_rate("READ", size, total, use_dma);

        if crc32_le(!0, buf.as_slice()) != self.read(Reg::CHECKSUM) {
            return Err(Status::default());
        }

        Ok(Status::READ_SUCCESS)
    }

    /// COMMAND_WRITE: writes random data and its CRC to the host (host test `PCITEST_READ`).
    fn cmd_write(&mut self, use_dma: bool) -> CmdResult {
        let (dst, size) = self.transfer_args(Reg::DST_ADDR_LO, Status::DST_ADDR_INVALID)?;
        let mut buf = Bounce::alloc(&self.epc, size, use_dma).map_err(|_| Status::default())?;

        random::fill_bytes(buf.as_mut_slice());
        self.write(Reg::CHECKSUM, crc32_le(!0, buf.as_slice()));

        let dma = self.dma.as_ref();
        let total = self.for_each_chunk(
            dst,
            size,
            Status::DST_ADDR_INVALID,
            "destination",
            |map, off, len, pci| match (&mut buf, dma) {
                (Bounce::Dma(b), Some(dma)) if dma.is_private() => dma
                    .tx
                    .slave_single(b, off, len, pci, Direction::MemToDev)
                    .and_then(|t| t.run(DMA_TIMEOUT_MS)),
                (Bounce::Dma(b), Some(dma)) => {
                    map.dma_write(&dma.tx, 0, b, off, len, DMA_TIMEOUT_MS)
                }
                (buf, _) => map.write_from(0, &buf.as_slice()[off..off + len]),
            },
        )?;

        self.print_rate("WRITE", size, total, use_dma);

        // As in C: give the host time before it reads the data ("L3 error" on some hosts).
        fsleep(Delta::from_micros(1000));

        Ok(Status::WRITE_SUCCESS)
    }

    /// COMMAND_COPY: copies host memory to host memory (host test `PCITEST_COPY`).
    fn cmd_copy(&mut self, use_dma: bool) -> CmdResult {
        // One read of SIZE for both ranges, so that `dst + size` cannot wrap either.
        let raw_size = self.read(Reg::SIZE);
        let (src, size) =
            self.transfer_args_of_size(raw_size, Reg::SRC_ADDR_LO, Status::SRC_ADDR_INVALID)?;
        let (dst, _) =
            self.transfer_args_of_size(raw_size, Reg::DST_ADDR_LO, Status::DST_ADDR_INVALID)?;

        let chan = match &self.dma {
            Some(dma) if use_dma => {
                if !dma.rx().has_memcpy() {
                    dev_err_ratelimited!(self.log, self.dev(), "DMA channel cannot copy memory\n");
                    return Err(Status::default());
                }
                Some(dma.rx())
            }
            _ => None,
        };

        let mut buf = match chan {
            Some(_) => None,
            None => Some(KVVec::from_elem(0u8, size, GFP_KERNEL).map_err(|_| Status::default())?),
        };
        let mut total = Delta::ZERO;
        let mut off = 0;

        while off < size {
            // CAST: See `cmd_read()`.
            let src_map = self
                .epc
                .mem_map(src + off as u64, size - off)
                .map_err(|_| Status::SRC_ADDR_INVALID)?;
            // CAST: See `cmd_read()`.
            let dst_map = self
                .epc
                .mem_map(dst + off as u64, size - off)
                .map_err(|_| Status::DST_ADDR_INVALID)?;
            let len = src_map.pci_size().min(dst_map.pci_size()).min(size - off);
            if len == 0 {
                return Err(Status::SRC_ADDR_INVALID);
            }

            let start = Instant::<Monotonic>::now();
            let ret = match (chan, &mut buf) {
                (Some(chan), _) => src_map.dma_copy_to(&dst_map, chan, len, DMA_TIMEOUT_MS),
                (None, Some(buf)) => src_map
                    .read_into(0, &mut buf[..len])
                    .and_then(|()| dst_map.write_from(0, &buf[..len])),
                (None, None) => Err(EINVAL),
            };
            total += start.elapsed();

            if let Err(e) = ret {
                dev_err_ratelimited!(self.log, self.dev(), "Data transfer failed: {:?}\n", e);
                return Err(Status::default());
            }
            off += len;
        }

        self.print_rate("COPY", size, total, chan.is_some());
        Ok(Status::COPY_SUCCESS)
    }

    /// COMMAND_ENABLE_DOORBELL, see C's `pci_epf_test_enable_doorbell()`.
    fn cmd_enable_doorbell(&mut self) -> CmdResult {
        if self.doorbell.is_some() {
            dev_err_ratelimited!(self.log, self.dev(), "Doorbell already enabled\n");
            return Err(Status::default());
        }

        let doorbells = doorbell::alloc_doorbell(&self.epc, 1).map_err(|e| {
            dev_err_ratelimited!(
                self.log,
                self.dev(),
                "Failed to allocate doorbell: {:?}\n",
                e
            );
            Status::default()
        })?;
        let msg = *doorbells.get(0).ok_or(Status::default())?;

        let (bar, exposed_offset) = match msg.target() {
            DoorbellTarget::Exposed { bar, offset } => (bar, Some(offset)),
            DoorbellTarget::MapIntoFreeBar => {
                let bar = self
                    .reg_bar
                    .next()
                    .and_then(|b| self.features.next_free_bar(b))
                    .ok_or_else(|| {
                        dev_err_ratelimited!(
                            self.log,
                            self.dev(),
                            "No free BAR for the doorbell\n"
                        );
                        Status::default()
                    })?;
                (bar, None)
            }
        };

        // An MSI has an interrupt of its own; an embedded doorbell's interrupt is shared, and the
        // handlers of a shared interrupt must agree on ONESHOT, so it wakes its thread instead.
        let extra = if msg.kind() == DoorbellKind::Msi {
            irq::Flags::ONESHOT
        } else {
            irq::Flags::TRIGGER_NONE
        };
        let waker = self.epc.poll_waker().map_err(|_| Status::default())?;
        let handler = DoorbellHandler {
            rang: Atomic::new(false),
            waker,
        };
        let db = KBox::pin_init(
            doorbells.into_threaded_irq(0, extra, c"pci-ep-test-doorbell", Ok::<_, Error>(handler)),
            GFP_KERNEL,
        )
        .map_err(|e| {
            dev_err_ratelimited!(
                self.log,
                self.dev(),
                "Failed to request doorbell IRQ: {:?}\n",
                e
            );
            Status::default()
        })?;

        let message = db.message();
        self.write(Reg::DB_DATA, message.data);
        self.write(Reg::DB_BAR, u32::from(bar));

        let offset = match exposed_offset {
            Some(offset) => u32::try_from(offset).ok(),
            None => match self.bars[bar.index()].as_mut() {
                Some(space) if !space.has_subranges() => space
                    .retarget_to(message.address)
                    .map_err(|e| {
                        dev_err_ratelimited!(
                            self.log,
                            self.dev(),
                            "Failed to map the doorbell: {:?}\n",
                            e
                        )
                    })
                    .ok()
                    .and_then(|off| u32::try_from(off).ok()),
                _ => None,
            },
        };

        let Some(offset) = offset else {
            if exposed_offset.is_none() {
                if let Some(space) = self.bars[bar.index()].as_mut() {
                    let _ = space.restore();
                }
            }
            self.write(Reg::DB_BAR, NO_BAR);
            return Err(Status::default());
        };

        self.write(Reg::DB_OFFSET, offset);
        self.db_bar = exposed_offset.is_none().then_some(bar);
        self.doorbell = Some(db);

        Ok(Status::DOORBELL_ENABLE_SUCCESS)
    }

    /// Frees the doorbell, restoring its BAR first. Returns `false` if the BAR could not be
    /// restored (it is then cleared).
    fn free_doorbell(&mut self) -> bool {
        let mut ok = true;

        if let Some(bar) = self.db_bar.take() {
            if let Some(space) = self.bars[bar.index()].as_mut() {
                ok = space.restore().is_ok();
            }
        }

        self.doorbell = None;
        self.write(Reg::DB_BAR, NO_BAR);
        ok
    }

    /// COMMAND_DISABLE_DOORBELL, see C's `pci_epf_test_disable_doorbell()`.
    fn cmd_disable_doorbell(&mut self) -> CmdResult {
        if self.doorbell.is_none() {
            dev_err_ratelimited!(self.log, self.dev(), "Doorbell not enabled\n");
            return Err(Status::default());
        }

        if self.free_doorbell() {
            Ok(Status::DOORBELL_DISABLE_SUCCESS)
        } else {
            Err(Status::default())
        }
    }

    /// Returns the BAR number in the `SIZE` register, validated.
    fn subrange_bar(&self) -> core::result::Result<BarNo, Status> {
        let raw = self.read(Reg::SIZE);

        BarNo::try_from(raw).map_err(|_| {
            dev_err_ratelimited!(self.log, self.dev(), "Invalid BAR number {}\n", raw);
            Status::default()
        })
    }

    /// COMMAND_BAR_SUBRANGE_SETUP: maps the two halves of a BAR swapped.
    fn cmd_subrange_setup(&mut self) -> CmdResult {
        let bar = self.subrange_bar()?;

        if bar == self.reg_bar
            || !(self.features.dynamic_inbound_mapping() && self.features.subrange_mapping())
            || self.db_bar == Some(bar)
        {
            return Err(Status::default());
        }

        let Some(space) = self.bars[bar.index()].as_mut() else {
            return Err(Status::default());
        };

        let size = space.size();
        if size % SUBRANGE_COUNT != 0 || !space.is_set() {
            return Err(Status::default());
        }

        let sub = size / SUBRANGE_COUNT;
        // Subrange `i` of the BAR shows half `i ^ 1` of the memory.
        let ranges = [(sub, sub), (0, sub)];

        if let Err(e) = space.set_subranges(&ranges) {
            dev_err_ratelimited!(
                self.log,
                self.epc.function().as_ref(),
                "Failed to set up BAR {} subranges: {:?}\n",
                bar.index(),
                e
            );
            return Err(if e == ENOSPC {
                Status::NO_RESOURCE
            } else {
                Status::default()
            });
        }

        for (i, &(phys_off, len)) in ranges.iter().enumerate() {
            // CAST: `bar < 6` and `i < 2`: the pattern fits in a byte.
            let pattern = 0x50 + (bar.index() * 8 + i) as u8;
            if space.fill(phys_off, len, pattern).is_err() {
                return Err(Status::default());
            }
        }

        Ok(Status::BAR_SUBRANGE_SETUP_SUCCESS)
    }

    /// COMMAND_BAR_SUBRANGE_CLEAR: maps a BAR flat again.
    fn cmd_subrange_clear(&mut self) -> CmdResult {
        let bar = self.subrange_bar()?;

        match self.bars[bar.index()].as_mut() {
            Some(space) if space.has_subranges() => match space.clear_subranges() {
                Ok(()) => Ok(Status::BAR_SUBRANGE_CLEAR_SUCCESS),
                Err(_) => Err(Status::default()),
            },
            _ => Err(Status::default()),
        }
    }

    /// Programs the BARs, see C's `pci_epf_test_set_bar()`.
    fn set_bars(&mut self) -> Result {
        for bar in BarNo::ALL {
            let Some(space) = self.bars[bar.index()].as_mut() else {
                continue;
            };

            if let Err(e) = space.set_bar() {
                dev_err!(
                    self.epc.function().as_ref(),
                    "Failed to set BAR{}\n",
                    bar.index()
                );
                self.bars[bar.index()] = None;
                if bar == self.reg_bar {
                    return Err(e);
                }
            }
        }

        Ok(())
    }

    /// Undoes what `epc_init` did: stops polling, frees the doorbell and the DMA channels and
    /// clears the BARs.
    fn teardown(&mut self) {
        self.epc.cancel_poll();
        self.free_doorbell();
        self.dma = None;

        for space in self.bars.iter_mut().flatten() {
            space.clear_bar();
        }
    }
}

struct PciEpfTestRs;

kernel::pci_epf_device_table!(
    EPF_TABLE,
    <PciEpfTestRs as endpoint::Driver>::IdInfo,
    [(endpoint::DeviceId::new(c"pci_epf_test_rs"), ())]
);

#[vtable]
impl endpoint::Driver for PciEpfTestRs {
    type IdInfo = ();
    type Data<'bound> = ();
    type Binding<'epc> = TestBinding<'epc>;
    const ID_TABLE: endpoint::IdTable<Self::IdInfo> = &EPF_TABLE;
    const BAR_SIZES: Option<[usize; BarNo::COUNT]> = Some(DEFAULT_BAR_SIZES);

    fn header() -> Option<&'static Header> {
        Some(&HEADER)
    }

    fn probe<'bound>(
        _func: &'bound endpoint::Function<Core<'_>>,
        _id_info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        Ok(())
    }

    fn bind<'bound, 'epc>(
        epc: Controller<'epc>,
        _this: Pin<&'epc Self::Data<'bound>>,
    ) -> impl PinInit<Self::Binding<'epc>, Error> + 'epc
    where
        'bound: 'epc,
    {
        let binding = (move || -> Result<TestBinding<'epc>> {
            let features = epc.features()?;
            let reg_bar = features.first_free_bar().ok_or(EINVAL)?;

            let mut reg_size = REG_BLOCK_SIZE;
            if features.msix_capable() {
                let n = usize::from(epc.function().msix_interrupts());
                // The MSI-X table and the PBA (one bit per vector).
                // CAST: `PCI_MSIX_ENTRY_SIZE` (16) fits into `usize`.
                reg_size += kernel::bindings::PCI_MSIX_ENTRY_SIZE as usize * n
                    + n.div_ceil(8).next_multiple_of(8);
            }

            let mut bars: [Option<BarSpace<'epc>>; BarNo::COUNT] = Default::default();
            bars[reg_bar.index()] = Some(epc.alloc_space(reg_bar, reg_size)?);

            let mut next = Some(BarNo::BAR_0);
            while let Some(bar) = next.and_then(|b| features.next_free_bar(b)) {
                next = bar.next();
                if bar == reg_bar {
                    continue;
                }

                let desc = features.bar(bar);
                let size = match (desc.bar_type(), desc.fixed_size()) {
                    // CAST: A fixed BAR size fits the address space.
                    (BarType::Fixed, Some(fixed)) => fixed as usize,
                    _ => epc.bar_size(bar).unwrap_or(DEFAULT_BAR_SIZES[bar.index()]),
                };

                match epc.alloc_space(bar, size) {
                    Ok(space) => bars[bar.index()] = Some(space),
                    Err(_) => dev_err!(
                        epc.function().as_ref(),
                        "Failed to allocate space for BAR{}\n",
                        bar.index()
                    ),
                }
            }

            // CAST: A small constant.
            let msix_table_offset = REG_BLOCK_SIZE as u32;
            let log = KBox::pin_init(Ratelimit::new(c"pci_epf_test_rs"), GFP_KERNEL)?;

            Ok(TestBinding {
                epc,
                features,
                reg_bar,
                msix_table_offset,
                bars,
                doorbell: None,
                db_bar: None,
                dma: None,
                log,
            })
        })();

        binding
    }

    fn unbind<'bound, 'epc>(
        _epc: Controller<'epc>,
        _this: Pin<&'epc Self::Data<'bound>>,
        binding: Pin<&mut Self::Binding<'epc>>,
    ) where
        'bound: 'epc,
    {
        // Unlike C, the doorbell is freed as well.
        binding.get_mut().teardown();
    }

    fn epc_init<'bound, 'epc>(
        epc: Controller<'epc>,
        _this: Pin<&'epc Self::Data<'bound>>,
        binding: Pin<&mut Self::Binding<'epc>>,
    ) -> Result
    where
        'bound: 'epc,
    {
        let b = binding.get_mut();

        // Release channels of an earlier initialization before asking for private ones again.
        b.dma = None;
        b.dma = match Dma::request(&epc) {
            Ok(dma) => Some(dma),
            Err(e) => {
                if e != EPROBE_DEFER {
                    dev_err!(b.dev(), "Failed to get DMA channel: {:?}\n", e);
                }
                None
            }
        };

        if epc.vfunc_no() <= 1 {
            epc.write_header(&HEADER)?;
        }

        b.set_capabilities();
        b.set_bars()?;

        if b.features.msi_capable() {
            epc.set_msi(epc.function().msi_interrupts())
                .inspect_err(|_| {
                    dev_err!(b.dev(), "MSI configuration failed\n");
                })?;
        }

        if b.features.msix_capable() {
            epc.set_msix(
                epc.function().msix_interrupts(),
                b.reg_bar,
                b.msix_table_offset,
            )
            .inspect_err(|_| {
                dev_err!(b.dev(), "MSI-X configuration failed\n");
            })?;
        }

        if !b.features.linkup_notifier() {
            epc.schedule_poll(0)?;
        }

        Ok(())
    }

    fn epc_deinit<'bound, 'epc>(
        _epc: Controller<'epc>,
        _this: Pin<&'epc Self::Data<'bound>>,
        binding: Pin<&mut Self::Binding<'epc>>,
    ) where
        'bound: 'epc,
    {
        binding.get_mut().teardown();
    }

    fn link_up<'bound, 'epc>(
        epc: Controller<'epc>,
        _this: Pin<&'epc Self::Data<'bound>>,
        _binding: Pin<&mut Self::Binding<'epc>>,
    ) -> Result
    where
        'bound: 'epc,
    {
        epc.schedule_poll(1)
    }

    fn link_down<'bound, 'epc>(
        epc: Controller<'epc>,
        _this: Pin<&'epc Self::Data<'bound>>,
        _binding: Pin<&mut Self::Binding<'epc>>,
    ) -> Result
    where
        'bound: 'epc,
    {
        epc.cancel_poll();
        Ok(())
    }

    fn poll<'bound, 'epc>(
        _epc: Controller<'epc>,
        _this: Pin<&'epc Self::Data<'bound>>,
        binding: Pin<&mut Self::Binding<'epc>>,
    ) -> PollNext
    where
        'bound: 'epc,
    {
        binding.get_mut().poll();
        PollNext::After(1)
    }
}

kernel::module_pci_epf_driver! {
    type: PciEpfTestRs,
    name: "pci_epf_test_rs",
    authors: ["Rust for Linux"],
    description: "Rust PCI endpoint test function",
    license: "GPL",
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
#[kunit_tests(rust_pci_endpoint_test_rs)]
mod tests {
    use super::*;

    const ALL: [Command; 10] = [
        Command::RAISE_INTX_IRQ,
        Command::RAISE_MSI_IRQ,
        Command::RAISE_MSIX_IRQ,
        Command::READ,
        Command::WRITE,
        Command::COPY,
        Command::ENABLE_DOORBELL,
        Command::DISABLE_DOORBELL,
        Command::BAR_SUBRANGE_SETUP,
        Command::BAR_SUBRANGE_CLEAR,
    ];

    #[test]
    fn register_layout_matches_the_host() {
        // include/uapi/linux/pcitest.h and drivers/misc/pci_endpoint_test.c.
        let regs = [
            (Reg::COMMAND, 0x04),
            (Reg::STATUS, 0x08),
            (Reg::SRC_ADDR_LO, 0x0c),
            (Reg::DST_ADDR_LO, 0x14),
            (Reg::SIZE, 0x1c),
            (Reg::CHECKSUM, 0x20),
            (Reg::IRQ_TYPE, 0x24),
            (Reg::IRQ_NUMBER, 0x28),
            (Reg::FLAGS, 0x2c),
            (Reg::CAPS, 0x30),
            (Reg::DB_BAR, 0x34),
            (Reg::DB_OFFSET, 0x38),
            (Reg::DB_DATA, 0x3c),
        ];
        for (reg, off) in regs {
            assert_eq!(reg.0, off);
        }
        assert_eq!(Status::NO_RESOURCE.bits(), 1 << 18);
        assert_eq!(Caps::BAR0_RESERVED.bits(), 1 << 6);
    }

    #[test]
    fn known_commands_run() {
        for cmd in ALL {
            let want = Admission::Run {
                use_dma: cmd.is_transfer(),
            };
            assert_eq!(admit(cmd, IRQ_TYPE_MSI, Flags::USE_DMA, true), want);
            assert_eq!(
                admit(cmd, IRQ_TYPE_INTX, Flags::default(), false),
                Admission::Run { use_dma: false }
            );
        }
    }

    #[test]
    fn dma_without_dma_completes_with_a_failure() {
        // C drops the command without status or interrupt: the host waits forever.
        for (cmd, fail) in [
            (Command::READ, Status::READ_FAIL),
            (Command::WRITE, Status::WRITE_FAIL),
            (Command::COPY, Status::COPY_FAIL),
        ] {
            assert_eq!(
                admit(cmd, IRQ_TYPE_MSIX, Flags::USE_DMA, false),
                Admission::Reject {
                    status: fail,
                    reason: "Cannot transfer data using DMA"
                }
            );
        }
    }

    #[test]
    fn sticky_dma_flag_does_not_drop_other_commands() {
        // C drops every command while FLAGS.USE_DMA is set on an endpoint without DMA.
        for cmd in [
            Command::RAISE_MSI_IRQ,
            Command::ENABLE_DOORBELL,
            Command::DISABLE_DOORBELL,
            Command::BAR_SUBRANGE_SETUP,
        ] {
            assert_eq!(
                admit(cmd, IRQ_TYPE_MSI, Flags::USE_DMA, false),
                Admission::Run { use_dma: false }
            );
        }
    }

    #[test]
    fn unknown_or_multiple_commands_complete() {
        // C logs "Invalid command" and never raises the interrupt.
        for raw in [
            1u32 << 10,
            1 << 31,
            Command::READ.0 | Command::WRITE.0,
            0x3ff,
        ] {
            assert_eq!(
                admit(Command(raw), IRQ_TYPE_INTX, Flags::default(), true),
                Admission::Reject {
                    status: Status::default(),
                    reason: "Invalid command"
                }
            );
        }
    }

    #[test]
    fn bad_irq_type_reports_the_failure() {
        for irq_type in [3u32, 4, u32::MAX] {
            assert_eq!(
                admit(Command::COPY, irq_type, Flags::default(), true),
                Admission::Reject {
                    status: Status::COPY_FAIL,
                    reason: "Failed to detect IRQ type"
                }
            );
        }
    }

    #[test]
    fn irq_vectors_count_from_one() {
        assert_eq!(irq_vector(0, 32), None);
        assert_eq!(irq_vector(1, 32), Some(1));
        assert_eq!(irq_vector(32, 32), Some(32));
        assert_eq!(irq_vector(33, 32), None);
        assert_eq!(irq_vector(1, 0), None);
        assert_eq!(irq_vector(0x1_0001, 2048), None);
    }

    #[test]
    fn transfer_ranges_are_validated() {
        assert_eq!(transfer_range(0x1000, 1), Ok((0x1000, 1)));
        assert_eq!(transfer_range(0, 0), Err(RangeError::Size));
        assert_eq!(transfer_range(0, u32::MAX), Err(RangeError::Size));
        // CAST: `MAX_TRANSFER` fits in `u32`.
        let max = MAX_TRANSFER as u32;
        assert_eq!(transfer_range(0, max), Ok((0, MAX_TRANSFER)));
        assert_eq!(transfer_range(0, max + 1), Err(RangeError::Size));
        assert_eq!(transfer_range(u64::MAX, 1), Err(RangeError::Address));
        assert_eq!(
            transfer_range(u64::MAX - 4096, 4096),
            Ok((u64::MAX - 4096, 4096))
        );
        assert_eq!(
            transfer_range(u64::MAX - 4095, 4096),
            Err(RangeError::Address)
        );
    }
}
