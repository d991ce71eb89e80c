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
//!   controller) is not raised, and the command is rejected before it runs: it fails
//!   (`NO_RESOURCE` for the RAISE_*_IRQ commands, which have no failure bit of their own)
//!   without taking effect, and completes with the first interrupt the host has enabled
//!   (MSI-X vector 1, MSI vector 1 or INTx), so that the host does not wait for an interrupt
//!   that never comes. C runs the command, writes `IRQ_RAISED` and raises nothing.
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
    impl_flags,
    io::{
        register,
        register::{
            FixedRegister,
            FixedRegisterLoc, //
        },
        Io,
        IoCapable, //
    },
    irq::{
        self,
        IrqReturn,
        ThreadedRegistration, //
    },
    num::Bounded,
    pci::{
        endpoint::{
            self,
            doorbell::{
                self,
                DoorbellKind,
                DoorbellTarget,
                RequestedDoorbells, //
            },
            BarIo,
            BarNo,
            BarSpace,
            BarType,
            Context,
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

register! {
    // `magic` at 0x00 is only written and read by the host.

    /// The command the host asks for: one bit of [`Command`], 0 when there is none.
    COMMAND(u32) @ 0x04 {
        31:0 commands => Commands;
    }

    /// The result of the last command, bits of [`StatusBit`].
    STATUS(u32) @ 0x08 {
        31:0 status => Status;
    }

    /// Low half of the host address READ and COPY read from (C's `src_addr`).
    SRC_ADDR_LO(u32) @ 0x0c {
        31:0 value;
    }

    /// High half of the host address READ and COPY read from.
    SRC_ADDR_HI(u32) @ 0x10 {
        31:0 value;
    }

    /// Low half of the host address WRITE and COPY write to (C's `dst_addr`).
    DST_ADDR_LO(u32) @ 0x14 {
        31:0 value;
    }

    /// High half of the host address WRITE and COPY write to.
    DST_ADDR_HI(u32) @ 0x18 {
        31:0 value;
    }

    /// The transfer size in bytes; the BAR number for BAR_SUBRANGE_SETUP/CLEAR.
    SIZE(u32) @ 0x1c {
        31:0 value;
    }

    /// The CRC32 of the data READ checks and WRITE wrote.
    CHECKSUM(u32) @ 0x20 {
        31:0 value;
    }

    /// The interrupt type to complete commands with, see [`IRQ_TYPE::irq_type`].
    IRQ_TYPE(u32) @ 0x24 {
        31:0 value;
    }

    /// The MSI or MSI-X vector to complete commands with, counting from 1.
    IRQ_NUMBER(u32) @ 0x28 {
        31:0 value;
    }

    /// Options of READ, WRITE and COPY.
    FLAGS(u32) @ 0x2c {
        /// Transfer with the DMA engine.
        0:0 use_dma;
    }

    /// What the endpoint can do, written at initialization.
    CAPS(u32) @ 0x30 {
        /// BAR5 is reserved by the controller.
        11:11 bar5_reserved;
        /// BAR4 is reserved by the controller.
        10:10 bar4_reserved;
        /// BAR3 is reserved by the controller.
        9:9 bar3_reserved;
        /// BAR2 is reserved by the controller.
        8:8 bar2_reserved;
        /// BAR1 is reserved by the controller.
        7:7 bar1_reserved;
        /// BAR0 is reserved by the controller.
        6:6 bar0_reserved;
        /// BARs can be remapped while set.
        5:5 dynamic_inbound_mapping;
        /// BARs can be split into subranges (BAR_SUBRANGE_SETUP).
        4:4 subrange_mapping;
        /// INTx can be raised.
        3:3 intx;
        /// MSI-X can be raised.
        2:2 msix;
        /// MSI can be raised.
        1:1 msi;
        /// Transfers may start at unaligned host addresses.
        0:0 unaligned_access;
    }

    /// The BAR the doorbell is in, [`NO_BAR`] without a doorbell.
    DB_BAR(u32) @ 0x34 {
        31:0 value;
    }

    /// The offset of the doorbell in its BAR.
    DB_OFFSET(u32) @ 0x38 {
        31:0 value;
    }

    /// The value to write to ring the doorbell.
    DB_DATA(u32) @ 0x3c {
        31:0 value;
    }
}

impl_flags!(
    /// The value of the [`COMMAND`] register: exactly one [`Command`] unless the host is wrong.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Commands(u32);

    /// A command of the host.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Command {
        RaiseIntxIrq = 1 << 0,
        RaiseMsiIrq = 1 << 1,
        RaiseMsixIrq = 1 << 2,
        Read = 1 << 3,
        Write = 1 << 4,
        Copy = 1 << 5,
        EnableDoorbell = 1 << 6,
        DisableDoorbell = 1 << 7,
        BarSubrangeSetup = 1 << 8,
        BarSubrangeClear = 1 << 9,
    }
);

impl_flags!(
    /// The value of the [`STATUS`] register.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Status(u32);

    /// A bit of the [`STATUS`] register.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum StatusBit {
        ReadSuccess = 1 << 0,
        ReadFail = 1 << 1,
        WriteSuccess = 1 << 2,
        WriteFail = 1 << 3,
        CopySuccess = 1 << 4,
        CopyFail = 1 << 5,
        IrqRaised = 1 << 6,
        SrcAddrInvalid = 1 << 7,
        DstAddrInvalid = 1 << 8,
        DoorbellSuccess = 1 << 9,
        DoorbellEnableSuccess = 1 << 10,
        DoorbellEnableFail = 1 << 11,
        DoorbellDisableSuccess = 1 << 12,
        DoorbellDisableFail = 1 << 13,
        BarSubrangeSetupSuccess = 1 << 14,
        BarSubrangeSetupFail = 1 << 15,
        BarSubrangeClearSuccess = 1 << 16,
        BarSubrangeClearFail = 1 << 17,
        NoResource = 1 << 18,
    }
);

impl From<Bounded<u32, 32>> for Commands {
    fn from(raw: Bounded<u32, 32>) -> Self {
        Self(raw.get())
    }
}

impl From<Commands> for Bounded<u32, 32> {
    fn from(commands: Commands) -> Self {
        u32::from(commands).into()
    }
}

impl From<Bounded<u32, 32>> for Status {
    fn from(raw: Bounded<u32, 32>) -> Self {
        Self(raw.get())
    }
}

impl From<Status> for Bounded<u32, 32> {
    fn from(status: Status) -> Self {
        u32::from(status).into()
    }
}

impl IRQ_TYPE {
    /// Returns the interrupt type the host asks for: 0 is INTx, 1 MSI and 2 MSI-X (C's
    /// `IRQ_TYPE_*`), anything else is invalid.
    fn irq_type(self) -> Option<IrqType> {
        match self.into_raw() {
            0 => Some(IrqType::Intx),
            1 => Some(IrqType::Msi),
            2 => Some(IrqType::MsiX),
            _ => None,
        }
    }
}

impl Status {
    /// The status of a failed command that has no status bit of its own to report: the
    /// command's failure bit ([`Command::fail_status`]) says it all.
    const FAILED: Self = Self::empty();

    /// The success bits.
    const SUCCESS: Self = Self(
        StatusBit::ReadSuccess as u32
            | StatusBit::WriteSuccess as u32
            | StatusBit::CopySuccess as u32
            | StatusBit::DoorbellSuccess as u32
            | StatusBit::DoorbellEnableSuccess as u32
            | StatusBit::DoorbellDisableSuccess as u32
            | StatusBit::BarSubrangeSetupSuccess as u32
            | StatusBit::BarSubrangeClearSuccess as u32,
    );
}

/// The number of subranges of BAR_SUBRANGE_SETUP.
const SUBRANGE_COUNT: usize = 2;

impl Command {
    /// All commands, in the order of their bits.
    const ALL: [Command; 10] = [
        Command::RaiseIntxIrq,
        Command::RaiseMsiIrq,
        Command::RaiseMsixIrq,
        Command::Read,
        Command::Write,
        Command::Copy,
        Command::EnableDoorbell,
        Command::DisableDoorbell,
        Command::BarSubrangeSetup,
        Command::BarSubrangeClear,
    ];

    /// Returns the failure bit of the command, if it has one (the RAISE_*_IRQ commands have
    /// none).
    fn fail_status(self) -> Option<StatusBit> {
        match self {
            Self::Read => Some(StatusBit::ReadFail),
            Self::Write => Some(StatusBit::WriteFail),
            Self::Copy => Some(StatusBit::CopyFail),
            Self::EnableDoorbell => Some(StatusBit::DoorbellEnableFail),
            Self::DisableDoorbell => Some(StatusBit::DoorbellDisableFail),
            Self::BarSubrangeSetup => Some(StatusBit::BarSubrangeSetupFail),
            Self::BarSubrangeClear => Some(StatusBit::BarSubrangeClearFail),
            Self::RaiseIntxIrq | Self::RaiseMsiIrq | Self::RaiseMsixIrq => None,
        }
    }

    /// Returns whether the command transfers data and consults `FLAGS.USE_DMA`.
    fn is_transfer(self) -> bool {
        matches!(self, Self::Read | Self::Write | Self::Copy)
    }
}

impl Commands {
    /// Returns the command if exactly one known command bit is set.
    fn command(self) -> Option<Command> {
        Command::ALL.into_iter().find(|&c| self == c.into())
    }

    /// Returns the failure bit of the command, if it is one and it has one.
    fn fail_status(self) -> Option<StatusBit> {
        self.command().and_then(Command::fail_status)
    }
}

/// What to do with a command the host wrote, see [`admit`].
#[derive(Debug, PartialEq, Eq)]
enum Admission {
    /// Run `command`, with DMA for a transfer if `use_dma`.
    Run { command: Command, use_dma: bool },
    /// Reject the command: log `reason`, report `status` and raise the interrupt.
    Reject {
        status: Status,
        reason: &'static str,
    },
}

/// Returns the failure bit `fail` as a status, or [`Status::FAILED`] without one.
fn fail_or_failed(fail: Option<StatusBit>) -> Status {
    fail.map_or(Status::FAILED, Status::from)
}

/// Decides whether a command can run, from the host's registers (`irq_type` is `None` if
/// `IRQ_TYPE` is invalid) and whether there is DMA.
///
/// Unlike C, which drops rejected commands without a word, every rejection has a failure status
/// (see [`Command::fail_status`]) and an interrupt.
fn admit(commands: Commands, irq_type: Option<IrqType>, flags: FLAGS, has_dma: bool) -> Admission {
    if irq_type.is_none() {
        return Admission::Reject {
            status: fail_or_failed(commands.fail_status()),
            reason: "Failed to detect IRQ type",
        };
    }

    let Some(command) = commands.command() else {
        return Admission::Reject {
            status: Status::FAILED,
            reason: "Invalid command",
        };
    };

    // Only transfers consult the flag (C drops *any* command while it is set without DMA).
    let use_dma = command.is_transfer() && flags.use_dma().into_bool();
    if use_dma && !has_dma {
        return Admission::Reject {
            status: fail_or_failed(command.fail_status()),
            reason: "Cannot transfer data using DMA",
        };
    }

    Admission::Run { command, use_dma }
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
            Self::Dma(DmaBuffer::alloc(epc.dma_device()?, size)?)
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

    /// Returns the register block, of a size known at build time: every register access below
    /// is checked at build time.
    fn regs(&self) -> Option<&BarIo<REG_BLOCK_SIZE>> {
        // The register BAR is allocated with at least `REG_BLOCK_SIZE` bytes, so this only fails
        // if the block is gone.
        self.reg_space()?.sized().ok()
    }

    /// Reads register `reg`; a register block that is gone reads as 0.
    fn read<R>(&self, reg: FixedRegisterLoc<R>) -> R
    where
        R: FixedRegister,
        R::Storage: Default,
        BarIo<REG_BLOCK_SIZE>: IoCapable<R::Storage>,
    {
        match self.regs() {
            Some(regs) => regs.read(reg),
            None => R::Storage::default().into(),
        }
    }

    /// Writes `value` to its register.
    fn write<R>(&self, value: R)
    where
        R: FixedRegister,
        BarIo<REG_BLOCK_SIZE>: IoCapable<R::Storage>,
    {
        if let Some(regs) = self.regs() {
            regs.write_reg(value);
        }
    }

    /// Reads the source address of READ and COPY.
    fn src_addr(&self) -> u64 {
        let lo = self.read(SRC_ADDR_LO).into_raw();
        let hi = self.read(SRC_ADDR_HI).into_raw();

        u64::from(lo) | (u64::from(hi) << 32)
    }

    /// Reads the destination address of WRITE and COPY.
    fn dst_addr(&self) -> u64 {
        let lo = self.read(DST_ADDR_LO).into_raw();
        let hi = self.read(DST_ADDR_HI).into_raw();

        u64::from(lo) | (u64::from(hi) << 32)
    }

    fn dev(&self) -> &'epc kernel::device::Device<kernel::device::Bound> {
        self.epc.function().as_ref()
    }

    /// Writes the capabilities register.
    fn set_capabilities(&self) {
        let f = &self.features;
        let reserved = |bar| f.bar(bar).bar_type() == BarType::Reserved;

        self.write(
            CAPS::zeroed()
                .with_unaligned_access(self.epc.aligns_addresses())
                .with_msi(f.msi_capable())
                .with_msix(f.msix_capable())
                .with_intx(f.intx_capable())
                .with_dynamic_inbound_mapping(f.dynamic_inbound_mapping())
                .with_subrange_mapping(f.dynamic_inbound_mapping() && f.subrange_mapping())
                .with_bar0_reserved(reserved(BarNo::BAR_0))
                .with_bar1_reserved(reserved(BarNo::BAR_1))
                .with_bar2_reserved(reserved(BarNo::BAR_2))
                .with_bar3_reserved(reserved(BarNo::BAR_3))
                .with_bar4_reserved(reserved(BarNo::BAR_4))
                .with_bar5_reserved(reserved(BarNo::BAR_5)),
        );
    }

    /// Returns the interrupt `irq_type`/`IRQ_NUMBER` designate, if it is valid.
    fn irq_target(&self, irq_type: Option<IrqType>) -> Option<(IrqType, u16)> {
        let number = self.read(IRQ_NUMBER).into_raw();
        let (ty, name, count) = match irq_type? {
            IrqType::Intx => return Some((IrqType::Intx, 0)),
            IrqType::Msi => (IrqType::Msi, "MSI", self.epc.msi_count()),
            IrqType::MsiX => (IrqType::MsiX, "MSI-X", self.epc.msix_count()),
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

    /// Adds `status` to the status register and raises `target`, the interrupt the host asked
    /// for (see [`TestBinding::irq_target`]).
    ///
    /// If that interrupt does not exist, the command fails with `fail` (or `NO_RESOURCE`) and the
    /// interrupt of [`TestBinding::fallback_irq`] is raised instead.
    fn complete(&self, status: Status, fail: Option<StatusBit>, target: Option<(IrqType, u16)>) {
        let mut status = self.read(STATUS).status() | status;

        let target = match target {
            Some(target) => Some(target),
            None => {
                // Clears the success bits only, not the bits no `StatusBit` names.
                status = Status(u32::from(status) & !u32::from(Status::SUCCESS));
                status |= fail.unwrap_or(StatusBit::NoResource);
                self.fallback_irq()
            }
        };

        let Some((ty, number)) = target else {
            // Nothing can be raised: report the status without `IRQ_RAISED`.
            self.write(STATUS::zeroed().with_status(status));
            return;
        };

        status |= StatusBit::IrqRaised;
        self.write(STATUS::zeroed().with_status(status));

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

        let irq_type = self.read(IRQ_TYPE).irq_type();
        let commands = self.read(COMMAND).commands();
        if commands == Commands::empty() {
            return;
        }

        self.write(COMMAND::zeroed());
        self.write(STATUS::zeroed());

        let flags = self.read(FLAGS);

        let (command, use_dma) = match admit(commands, irq_type, flags, self.dma.is_some()) {
            Admission::Run { command, use_dma } => (command, use_dma),
            Admission::Reject { status, reason } => {
                dev_err_ratelimited!(
                    self.log,
                    self.dev(),
                    "{} (command 0x{:x})\n",
                    reason,
                    u32::from(commands)
                );

                self.complete(status, commands.fail_status(), self.irq_target(irq_type));
                return;
            }
        };

        // The host would not get the interrupt it asked for: the command fails before it runs,
        // so that a failure status never stands for a command that took effect.
        let Some(target) = self.irq_target(irq_type) else {
            self.complete(Status::empty(), command.fail_status(), None);
            return;
        };

        let result = match command {
            Command::RaiseIntxIrq | Command::RaiseMsiIrq | Command::RaiseMsixIrq => {
                Ok(Status::empty())
            }
            Command::Read => self.cmd_read(use_dma),
            Command::Write => self.cmd_write(use_dma),
            Command::Copy => self.cmd_copy(use_dma),
            Command::EnableDoorbell => self.cmd_enable_doorbell(),
            Command::DisableDoorbell => self.cmd_disable_doorbell(),
            Command::BarSubrangeSetup => self.cmd_subrange_setup(),
            Command::BarSubrangeClear => self.cmd_subrange_clear(),
        };

        let fail = command.fail_status();
        let status = match result {
            Ok(s) => s,
            Err(s) => fail.map_or(s, |f| s | f),
        };
        self.complete(status, fail, Some(target));
    }

    /// Reports a ring of the doorbell, see C's `pci_epf_test_doorbell_handler()`.
    fn check_doorbell(&self) {
        let Some(db) = &self.doorbell else {
            return;
        };

        if db.registration().handler().rang.xchg(false, Relaxed) {
            let irq_type = self.read(IRQ_TYPE).irq_type();
            self.complete(
                StatusBit::DoorbellSuccess.into(),
                None,
                self.irq_target(irq_type),
            );
        }
    }

    /// Validates the size and the host address range of a transfer.
    ///
    /// `addr` reads the address ([`Self::src_addr`] or [`Self::dst_addr`]); `invalid` is the
    /// status of an address range that wraps.
    fn transfer_args(
        &self,
        addr: fn(&Self) -> u64,
        invalid: StatusBit,
    ) -> core::result::Result<(u64, usize), Status> {
        self.transfer_args_of_size(self.read(SIZE).into_raw(), addr, invalid)
    }

    /// Like [`Self::transfer_args`], for a `SIZE` already read: a command with two addresses
    /// must check both against the same size, which the host may change in between.
    fn transfer_args_of_size(
        &self,
        size: u32,
        addr: fn(&Self) -> u64,
        invalid: StatusBit,
    ) -> core::result::Result<(u64, usize), Status> {
        let addr = addr(self);

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
                RangeError::Size => Status::FAILED,
                RangeError::Address => invalid.into(),
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
        invalid: StatusBit,
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
                Status::from(invalid)
            })?;
            let len = map.pci_size().min(size - off);
            if len == 0 {
                return Err(invalid.into());
            }

            let start = Instant::<Monotonic>::now();
            let ret = xfer(&map, off, len, pci);
            total += start.elapsed();

            if let Err(e) = ret {
                dev_err_ratelimited!(self.log, self.dev(), "Data transfer failed: {:?}\n", e);
                return Err(Status::FAILED);
            }
            off += len;
        }

        Ok(total)
    }

    /// COMMAND_READ: reads host memory and checks its CRC (host test `PCITEST_WRITE`).
    fn cmd_read(&mut self, use_dma: bool) -> CmdResult {
        let (src, size) = self.transfer_args(Self::src_addr, StatusBit::SrcAddrInvalid)?;
        let mut buf = Bounce::alloc(&self.epc, size, use_dma).map_err(|_| Status::FAILED)?;
        let dma = self.dma.as_ref();

        let total = self.for_each_chunk(
            src,
            size,
            StatusBit::SrcAddrInvalid,
            "source",
            |map, off, len, pci| match (&mut buf, dma) {
                (Bounce::Dma(b), Some(dma)) if dma.is_private() => dma
                    .rx()
                    .slave_single(b, off, len, pci, Direction::DevToMem)
                    .and_then(|t| t.run(DMA_TIMEOUT_MS)),
                (Bounce::Dma(b), Some(dma)) => map
                    .dma_memcpy(dma.rx(), 0, b, off, len, Direction::DevToMem)
                    .and_then(|t| t.run(DMA_TIMEOUT_MS)),
                (buf, _) => map.read_into(0, &mut buf.as_mut_slice()[off..off + len]),
            },
        )?;

        self.print_rate("READ", size, total, use_dma);

        if crc32_le(!0, buf.as_slice()) != self.read(CHECKSUM).into_raw() {
            return Err(Status::FAILED);
        }

        Ok(StatusBit::ReadSuccess.into())
    }

    /// COMMAND_WRITE: writes random data and its CRC to the host (host test `PCITEST_READ`).
    fn cmd_write(&mut self, use_dma: bool) -> CmdResult {
        let (dst, size) = self.transfer_args(Self::dst_addr, StatusBit::DstAddrInvalid)?;
        let mut buf = Bounce::alloc(&self.epc, size, use_dma).map_err(|_| Status::FAILED)?;

        random::fill_bytes(buf.as_mut_slice());
        self.write(CHECKSUM::from_raw(crc32_le(!0, buf.as_slice())));

        let dma = self.dma.as_ref();
        let total = self.for_each_chunk(
            dst,
            size,
            StatusBit::DstAddrInvalid,
            "destination",
            |map, off, len, pci| match (&mut buf, dma) {
                (Bounce::Dma(b), Some(dma)) if dma.is_private() => dma
                    .tx
                    .slave_single(b, off, len, pci, Direction::MemToDev)
                    .and_then(|t| t.run(DMA_TIMEOUT_MS)),
                (Bounce::Dma(b), Some(dma)) => map
                    .dma_memcpy(&dma.tx, 0, b, off, len, Direction::MemToDev)
                    .and_then(|t| t.run(DMA_TIMEOUT_MS)),
                (buf, _) => map.write_from(0, &buf.as_slice()[off..off + len]),
            },
        )?;

        self.print_rate("WRITE", size, total, use_dma);

        // As in C: give the host time before it reads the data ("L3 error" on some hosts).
        fsleep(Delta::from_micros(1000));

        Ok(StatusBit::WriteSuccess.into())
    }

    /// COMMAND_COPY: copies host memory to host memory (host test `PCITEST_COPY`).
    fn cmd_copy(&mut self, use_dma: bool) -> CmdResult {
        // One read of SIZE for both ranges, so that `dst + size` cannot wrap either.
        let raw_size = self.read(SIZE).into_raw();
        let (src, size) =
            self.transfer_args_of_size(raw_size, Self::src_addr, StatusBit::SrcAddrInvalid)?;
        let (dst, _) =
            self.transfer_args_of_size(raw_size, Self::dst_addr, StatusBit::DstAddrInvalid)?;

        let chan = match &self.dma {
            Some(dma) if use_dma => {
                if !dma.rx().has_memcpy() {
                    dev_err_ratelimited!(self.log, self.dev(), "DMA channel cannot copy memory\n");
                    return Err(Status::FAILED);
                }
                Some(dma.rx())
            }
            _ => None,
        };

        let mut buf = match chan {
            Some(_) => None,
            None => Some(KVVec::from_elem(0u8, size, GFP_KERNEL).map_err(|_| Status::FAILED)?),
        };
        let mut total = Delta::ZERO;
        let mut off = 0;

        while off < size {
            // CAST: See `cmd_read()`.
            let src_map = self
                .epc
                .mem_map(src + off as u64, size - off)
                .map_err(|_| Status::from(StatusBit::SrcAddrInvalid))?;
            // CAST: See `cmd_read()`.
            let dst_map = self
                .epc
                .mem_map(dst + off as u64, size - off)
                .map_err(|_| Status::from(StatusBit::DstAddrInvalid))?;
            let len = src_map.pci_size().min(dst_map.pci_size()).min(size - off);
            if len == 0 {
                return Err(StatusBit::SrcAddrInvalid.into());
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
                return Err(Status::FAILED);
            }
            off += len;
        }

        self.print_rate("COPY", size, total, chan.is_some());
        Ok(StatusBit::CopySuccess.into())
    }

    /// COMMAND_ENABLE_DOORBELL, see C's `pci_epf_test_enable_doorbell()`.
    fn cmd_enable_doorbell(&mut self) -> CmdResult {
        if self.doorbell.is_some() {
            dev_err_ratelimited!(self.log, self.dev(), "Doorbell already enabled\n");
            return Err(Status::FAILED);
        }

        let doorbells = doorbell::alloc_doorbell(&self.epc, 1).map_err(|e| {
            dev_err_ratelimited!(
                self.log,
                self.dev(),
                "Failed to allocate doorbell: {:?}\n",
                e
            );
            Status::FAILED
        })?;
        let msg = *doorbells.get(0).ok_or(Status::FAILED)?;

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
                        Status::FAILED
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
        let waker = self.epc.poll_waker().map_err(|_| Status::FAILED)?;
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
            Status::FAILED
        })?;

        let message = db.message();
        self.write(DB_DATA::from_raw(message.data));
        self.write(DB_BAR::from_raw(u32::from(bar)));

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
            self.write(DB_BAR::from_raw(NO_BAR));
            return Err(Status::FAILED);
        };

        self.write(DB_OFFSET::from_raw(offset));
        self.db_bar = exposed_offset.is_none().then_some(bar);
        self.doorbell = Some(db);

        Ok(StatusBit::DoorbellEnableSuccess.into())
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
        self.write(DB_BAR::from_raw(NO_BAR));
        ok
    }

    /// COMMAND_DISABLE_DOORBELL, see C's `pci_epf_test_disable_doorbell()`.
    fn cmd_disable_doorbell(&mut self) -> CmdResult {
        if self.doorbell.is_none() {
            dev_err_ratelimited!(self.log, self.dev(), "Doorbell not enabled\n");
            return Err(Status::FAILED);
        }

        if self.free_doorbell() {
            Ok(StatusBit::DoorbellDisableSuccess.into())
        } else {
            Err(Status::FAILED)
        }
    }

    /// Returns the BAR number in the `SIZE` register, validated.
    fn subrange_bar(&self) -> core::result::Result<BarNo, Status> {
        let raw = self.read(SIZE).into_raw();

        BarNo::try_from(raw).map_err(|_| {
            dev_err_ratelimited!(self.log, self.dev(), "Invalid BAR number {}\n", raw);
            Status::FAILED
        })
    }

    /// COMMAND_BAR_SUBRANGE_SETUP: maps the two halves of a BAR swapped.
    fn cmd_subrange_setup(&mut self) -> CmdResult {
        let bar = self.subrange_bar()?;

        if bar == self.reg_bar
            || !(self.features.dynamic_inbound_mapping() && self.features.subrange_mapping())
            || self.db_bar == Some(bar)
        {
            return Err(Status::FAILED);
        }

        let Some(space) = self.bars[bar.index()].as_mut() else {
            return Err(Status::FAILED);
        };

        let size = space.size();
        if size % SUBRANGE_COUNT != 0 || !space.is_set() {
            return Err(Status::FAILED);
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
                StatusBit::NoResource.into()
            } else {
                Status::FAILED
            });
        }

        for (i, &(phys_off, len)) in ranges.iter().enumerate() {
            // CAST: `bar < 6` and `i < 2`: the pattern fits in a byte.
            let pattern = 0x50 + (bar.index() * 8 + i) as u8;
            if space.fill(phys_off, len, pattern).is_err() {
                return Err(Status::FAILED);
            }
        }

        Ok(StatusBit::BarSubrangeSetupSuccess.into())
    }

    /// COMMAND_BAR_SUBRANGE_CLEAR: maps a BAR flat again.
    fn cmd_subrange_clear(&mut self) -> CmdResult {
        let bar = self.subrange_bar()?;

        match self.bars[bar.index()].as_mut() {
            Some(space) if space.has_subranges() => match space.clear_subranges() {
                Ok(()) => Ok(StatusBit::BarSubrangeClearSuccess.into()),
                Err(_) => Err(Status::FAILED),
            },
            _ => Err(Status::FAILED),
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

    fn link<'epc>(ctx: &Context<'epc, Self>) -> impl PinInit<Self::Binding<'epc>, Error> + 'epc {
        let epc = ctx.epc();
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

    fn unlink<'epc>(_ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) {
        // Unlike C, the doorbell is freed as well.
        binding.get_mut().teardown();
    }

    fn epc_init<'epc>(ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) -> Result {
        let epc = ctx.epc();
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

    fn epc_deinit<'epc>(_ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) {
        binding.get_mut().teardown();
    }

    fn link_up<'epc>(ctx: &Context<'epc, Self>, _binding: Pin<&mut Self::Binding<'epc>>) -> Result {
        ctx.epc().schedule_poll(1)
    }

    fn link_down<'epc>(
        ctx: &Context<'epc, Self>,
        _binding: Pin<&mut Self::Binding<'epc>>,
    ) -> Result {
        ctx.epc().cancel_poll();
        Ok(())
    }

    fn poll<'epc>(_ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) -> PollNext {
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
    use kernel::io::register::Register;

    fn use_dma(on: bool) -> FLAGS {
        FLAGS::zeroed().with_use_dma(on)
    }

    #[test]
    fn register_layout_matches_the_host() {
        // include/uapi/linux/pcitest.h and drivers/misc/pci_endpoint_test.c.
        let regs = [
            (<COMMAND as Register>::OFFSET, 0x04),
            (<STATUS as Register>::OFFSET, 0x08),
            (<SRC_ADDR_LO as Register>::OFFSET, 0x0c),
            (<SRC_ADDR_HI as Register>::OFFSET, 0x10),
            (<DST_ADDR_LO as Register>::OFFSET, 0x14),
            (<DST_ADDR_HI as Register>::OFFSET, 0x18),
            (<SIZE as Register>::OFFSET, 0x1c),
            (<CHECKSUM as Register>::OFFSET, 0x20),
            (<IRQ_TYPE as Register>::OFFSET, 0x24),
            (<IRQ_NUMBER as Register>::OFFSET, 0x28),
            (<FLAGS as Register>::OFFSET, 0x2c),
            (<CAPS as Register>::OFFSET, 0x30),
            (<DB_BAR as Register>::OFFSET, 0x34),
            (<DB_OFFSET as Register>::OFFSET, 0x38),
            (<DB_DATA as Register>::OFFSET, 0x3c),
        ];
        for (reg, off) in regs {
            assert_eq!(reg, off);
        }

        // The bits of pci-epf-test.c.
        for (i, cmd) in Command::ALL.into_iter().enumerate() {
            assert_eq!(cmd as u32, 1 << i);
        }
        assert_eq!(StatusBit::IrqRaised as u32, 1 << 6);
        assert_eq!(StatusBit::NoResource as u32, 1 << 18);
        assert_eq!(Status::all_bits(), (1 << 19) - 1);
        assert_eq!(u32::from(Status::SUCCESS), 0x15615);
        assert_eq!(use_dma(true).into_raw(), 1);
        let caps = [
            (CAPS::zeroed().with_unaligned_access(true), 1 << 0),
            (CAPS::zeroed().with_msi(true), 1 << 1),
            (CAPS::zeroed().with_msix(true), 1 << 2),
            (CAPS::zeroed().with_intx(true), 1 << 3),
            (CAPS::zeroed().with_subrange_mapping(true), 1 << 4),
            (CAPS::zeroed().with_dynamic_inbound_mapping(true), 1 << 5),
            (CAPS::zeroed().with_bar0_reserved(true), 1 << 6),
            (CAPS::zeroed().with_bar5_reserved(true), 1 << 11),
        ];
        for (cap, bit) in caps {
            assert_eq!(cap.into_raw(), bit);
        }
    }

    #[test]
    fn irq_types_are_those_of_the_host() {
        assert!(matches!(
            IRQ_TYPE::from_raw(0).irq_type(),
            Some(IrqType::Intx)
        ));
        assert!(matches!(
            IRQ_TYPE::from_raw(1).irq_type(),
            Some(IrqType::Msi)
        ));
        assert!(matches!(
            IRQ_TYPE::from_raw(2).irq_type(),
            Some(IrqType::MsiX)
        ));
        for raw in [3u32, 4, u32::MAX] {
            assert!(IRQ_TYPE::from_raw(raw).irq_type().is_none());
        }
    }

    #[test]
    fn known_commands_run() {
        for cmd in Command::ALL {
            let want = Admission::Run {
                command: cmd,
                use_dma: cmd.is_transfer(),
            };
            assert_eq!(
                admit(cmd.into(), Some(IrqType::Msi), use_dma(true), true),
                want
            );
            assert_eq!(
                admit(cmd.into(), Some(IrqType::Intx), use_dma(false), false),
                Admission::Run {
                    command: cmd,
                    use_dma: false
                }
            );
        }
    }

    #[test]
    fn dma_without_dma_completes_with_a_failure() {
        // C drops the command without status or interrupt: the host waits forever.
        for (cmd, fail) in [
            (Command::Read, StatusBit::ReadFail),
            (Command::Write, StatusBit::WriteFail),
            (Command::Copy, StatusBit::CopyFail),
        ] {
            assert_eq!(
                admit(cmd.into(), Some(IrqType::MsiX), use_dma(true), false),
                Admission::Reject {
                    status: fail.into(),
                    reason: "Cannot transfer data using DMA"
                }
            );
        }
    }

    #[test]
    fn sticky_dma_flag_does_not_drop_other_commands() {
        // C drops every command while FLAGS.USE_DMA is set on an endpoint without DMA.
        for cmd in [
            Command::RaiseMsiIrq,
            Command::EnableDoorbell,
            Command::DisableDoorbell,
            Command::BarSubrangeSetup,
        ] {
            assert_eq!(
                admit(cmd.into(), Some(IrqType::Msi), use_dma(true), false),
                Admission::Run {
                    command: cmd,
                    use_dma: false
                }
            );
        }
    }

    #[test]
    fn unknown_or_multiple_commands_complete() {
        // C logs "Invalid command" and never raises the interrupt.
        for commands in [
            Commands(1 << 10),
            Commands(1 << 31),
            Command::Read | Command::Write,
            Commands(0x3ff),
        ] {
            assert_eq!(commands.command(), None);
            assert_eq!(commands.fail_status(), None);
            assert_eq!(
                admit(commands, Some(IrqType::Intx), use_dma(false), true),
                Admission::Reject {
                    status: Status::FAILED,
                    reason: "Invalid command"
                }
            );
        }
    }

    #[test]
    fn bad_irq_type_reports_the_failure() {
        for (commands, status) in [
            (Commands::from(Command::Copy), StatusBit::CopyFail.into()),
            (Command::RaiseMsiIrq.into(), Status::FAILED),
            (Commands(1 << 12), Status::FAILED),
        ] {
            assert_eq!(
                admit(commands, None, use_dma(false), true),
                Admission::Reject {
                    status,
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
