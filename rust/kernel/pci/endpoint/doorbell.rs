// SPDX-License-Identifier: GPL-2.0

//! Doorbells: interrupts that the host raises on the endpoint by writing to a BAR.
//!
//! A doorbell is an address/data pair and an interrupt of the endpoint: when the host writes the
//! data to the address (which the function makes reachable through one of its BARs), the
//! interrupt fires. [`alloc_doorbell`] allocates doorbells the same way as the C
//! `pci_epf_alloc_doorbell()`:
//!
//! 1. Preferably as MSIs of the platform MSI controller of the controller's parent device
//!    ([`DoorbellKind::Msi`]). Each doorbell has its own interrupt.
//! 2. If there is no usable platform MSI domain, from the `PCI_EPC_AUX_DOORBELL_MMIO`
//!    auxiliary resources of the controller ([`DoorbellKind::Embedded`]), e.g. the interrupt
//!    emulation register of an integrated DMA engine. These interrupts are shared with the
//!    owner of the register and may fire spuriously.
//!
//! An MSI controller writes the message of an MSI when the interrupt is requested, not when it is
//! allocated. The address and data of an MSI doorbell are therefore only available from the
//! [`DoorbellIrq`] returned by [`Doorbells::request_threaded_irq`] or [`Doorbells::request_irq`].
//!
//! With `CONFIG_PCI_ENDPOINT_MSI_DOORBELL_RUST`, this module also implements the C functions
//! `pci_epf_alloc_doorbell()` and `pci_epf_free_doorbell()`.
//!
//! C header: [`include/linux/pci-ep-msi.h`](srctree/include/linux/pci-ep-msi.h)

use super::{
    controller::query_aux_resources,
    AuxResource,
    AuxResourceKind,
    BarLocation,
    BarNo,
    Controller, //
};
use crate::{
    bindings,
    device,
    dma::DmaAddress,
    io::{
        PhysAddr,
        ResourceSize, //
    },
    irq::{
        self,
        IrqRequest, //
    },
    page::PAGE_SIZE,
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Full,
        Relaxed,
        Release, //
    }, //
};
use core::{
    mem::ManuallyDrop,
    ptr::{
        self,
        addr_of,
        addr_of_mut,
        NonNull, //
    },
};

/// How a doorbell raises its interrupt on the endpoint.
///
/// Corresponds to the C `enum pci_epf_doorbell_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorbellKind {
    /// The doorbell is an MSI of the platform MSI controller; it has an interrupt of its own.
    Msi,
    /// The doorbell is a register of the controller; its interrupt is shared with the owner of
    /// the register and may fire without the host ringing the doorbell.
    Embedded,
}

impl DoorbellKind {
    /// Returns the flags the interrupt of such a doorbell must be requested with.
    ///
    /// Callers may add flags, e.g. [`irq::Flags::ONESHOT`] for an MSI doorbell with a threaded
    /// handler. An embedded doorbell must be requested [`irq::Flags::SHARED`]; as all handlers
    /// of a shared interrupt must agree on `ONESHOT`, use a primary handler that wakes the thread
    /// instead.
    pub fn required_flags(self) -> irq::Flags {
        match self {
            Self::Msi => irq::Flags::TRIGGER_NONE,
            Self::Embedded => irq::Flags::SHARED,
        }
    }

    const fn as_raw(self) -> bindings::pci_epf_doorbell_type {
        match self {
            Self::Msi => bindings::pci_epf_doorbell_type_PCI_EPF_DOORBELL_MSI,
            Self::Embedded => bindings::pci_epf_doorbell_type_PCI_EPF_DOORBELL_EMBEDDED,
        }
    }

    fn from_raw(raw: bindings::pci_epf_doorbell_type) -> Self {
        if raw == bindings::pci_epf_doorbell_type_PCI_EPF_DOORBELL_MSI {
            Self::Msi
        } else {
            Self::Embedded
        }
    }
}

/// Where the host can reach a doorbell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorbellTarget {
    /// The doorbell is not exposed yet: the function must translate one of its BARs to the
    /// doorbell address, see [`BarSpace::retarget`](super::BarSpace::retarget).
    MapIntoFreeBar,
    /// The controller already exposes the doorbell at `offset` in `bar`; the BAR is owned by
    /// the controller and must not be reprogrammed.
    Exposed {
        /// The BAR.
        bar: BarNo,
        /// The offset of the doorbell register in the BAR.
        offset: ResourceSize,
    },
}

/// The address/data pair of a doorbell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// The address to write to, as seen by the controller (a DMA address).
    pub address: u64,
    /// The value to write.
    pub data: u32,
}

impl Message {
    fn from_raw(raw: &bindings::msi_msg) -> Self {
        // SAFETY: All members of the unions are `u32`s, so any bit pattern is a valid value of
        // the member read.
        let (lo, hi, data) = unsafe {
            (
                raw.__bindgen_anon_1.address_lo,
                raw.__bindgen_anon_2.address_hi,
                raw.__bindgen_anon_3.data,
            )
        };

        Self {
            address: (u64::from(hi) << 32) | u64::from(lo),
            data,
        }
    }

    fn to_raw(self) -> bindings::msi_msg {
        let mut raw = bindings::msi_msg::default();

        // CAST: Truncation to the lower and upper 32 bits of the address is intended.
        raw.__bindgen_anon_1.address_lo = self.address as u32;
        raw.__bindgen_anon_2.address_hi = (self.address >> 32) as u32;
        raw.__bindgen_anon_3.data = self.data;
        raw
    }
}

/// The description of one doorbell, see [`Doorbells::get`].
#[derive(Clone, Copy)]
pub struct DoorbellMsg {
    kind: DoorbellKind,
    irq: Option<u32>,
    target: DoorbellTarget,
    message: Option<Message>,
}

impl DoorbellMsg {
    /// Converts one entry of the C doorbell array.
    fn from_raw(raw: &bindings::pci_epf_doorbell_msg) -> Self {
        let kind = DoorbellKind::from_raw(raw.type_);
        let target = match BarNo::from_raw(raw.bar) {
            Some(bar) => DoorbellTarget::Exposed {
                bar,
                offset: raw.offset,
            },
            None => DoorbellTarget::MapIntoFreeBar,
        };

        Self {
            kind,
            irq: u32::try_from(raw.virq).ok().filter(|&irq| irq != 0),
            target,
            // The message of an MSI is not known before its interrupt is requested.
            message: (kind == DoorbellKind::Embedded).then(|| Message::from_raw(&raw.msg)),
        }
    }

    /// Returns how the doorbell raises its interrupt.
    pub fn kind(&self) -> DoorbellKind {
        self.kind
    }

    /// Returns the Linux interrupt number of the doorbell, if it has one.
    pub fn irq(&self) -> Option<u32> {
        self.irq
    }

    /// Returns the flags the interrupt must be requested with, see
    /// [`DoorbellKind::required_flags`].
    pub fn irq_flags(&self) -> irq::Flags {
        self.kind.required_flags()
    }

    /// Returns where the host can reach the doorbell.
    pub fn target(&self) -> DoorbellTarget {
        self.target
    }

    /// Returns the address/data pair of an embedded doorbell.
    ///
    /// Returns [`None`] for an MSI doorbell: its message is only written when its interrupt is
    /// requested, use [`DoorbellIrq::message`].
    pub fn message(&self) -> Option<Message> {
        self.message
    }
}

/// The doorbell array in its C representation, as published in `epf->db_msg`.
///
/// # Invariants
///
/// - `self.ptr` points to `self.len` (at least one) initialized entries, allocated by a [`KVec`]
///   with a capacity of exactly `self.len`.
/// - All entries have the same `type`.
/// - Once published, the entries are only accessed through raw pointers, because the MSI
///   write-back callback may write their `msg` at any time while an interrupt is activated.
struct Storage {
    ptr: NonNull<bindings::pci_epf_doorbell_msg>,
    len: u16,
}

// SAFETY: `Storage` owns its allocation, which can be freed from any thread.
unsafe impl Send for Storage {}

// SAFETY: `Storage` only hands out raw pointers.
unsafe impl Sync for Storage {}

impl Storage {
    /// Allocates `len` entries of the given kind, not exposed in any BAR.
    fn new(len: u16, kind: DoorbellKind) -> Result<Self> {
        Self::from_fn(len, kind, |_| bindings::pci_epf_doorbell_msg {
            bar: bindings::pci_barno_NO_BAR,
            ..Default::default()
        })
    }

    /// Allocates `len` entries of the given kind, entry `i` made by `entry(i)`.
    fn from_fn(
        len: u16,
        kind: DoorbellKind,
        mut entry: impl FnMut(usize) -> bindings::pci_epf_doorbell_msg,
    ) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }

        let mut v = KVec::with_capacity(len.into(), GFP_KERNEL)?;
        for i in 0..usize::from(len) {
            let e = bindings::pci_epf_doorbell_msg {
                type_: kind.as_raw(),
                ..entry(i)
            };

            v.push_within_capacity(e).map_err(|_| ENOMEM)?;
        }

        let (ptr, length, capacity) = v.into_raw_parts();

        if capacity != length {
            // SAFETY: These are the raw parts of `v`.
            drop(unsafe { KVec::from_raw_parts(ptr, length, capacity) });
            return Err(ENOMEM);
        }

        // INVARIANT: `ptr` points to `len > 0` entries of `kind` in an allocation of exactly
        // `len` entries.
        Ok(Self {
            // SAFETY: A `KVec` with a non-zero length has a non-NULL pointer.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            len,
        })
    }

    /// Takes back ownership of a published array.
    ///
    /// # Safety
    ///
    /// `ptr` and `len` must come from a [`Storage`] that was leaked with [`Storage::into_raw`].
    unsafe fn from_raw(ptr: NonNull<bindings::pci_epf_doorbell_msg>, len: u16) -> Self {
        // INVARIANT: By the safety requirements.
        Self { ptr, len }
    }

    /// Leaks the array, for the C API.
    fn into_raw(self) -> NonNull<bindings::pci_epf_doorbell_msg> {
        ManuallyDrop::new(self).ptr
    }

    /// Returns a pointer to entry `index`.
    ///
    /// # Panics
    ///
    /// Panics if `index` is out of bounds.
    fn entry(&self, index: usize) -> *mut bindings::pci_epf_doorbell_msg {
        assert!(index < usize::from(self.len));

        // SAFETY: `index` is in bounds of the allocation.
        unsafe { self.ptr.as_ptr().add(index) }
    }

    /// Returns the kind of the doorbells.
    fn kind(&self) -> DoorbellKind {
        // SAFETY: Entry 0 exists; `type` is only written before publication.
        DoorbellKind::from_raw(unsafe { (*self.entry(0)).type_ })
    }

    /// Returns a copy of entry `index`.
    fn read(&self, index: usize) -> bindings::pci_epf_doorbell_msg {
        // SAFETY: `self.entry(index)` is valid for reads. The MSI write-back callback may store to
        // `msg` concurrently, which it does with volatile stores, so this is a volatile load, as
        // C's `READ_ONCE()`.
        unsafe { self.entry(index).read_volatile() }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        let len = usize::from(self.len);

        // SAFETY: By the type invariants, these are the raw parts of a `KVec`.
        drop(unsafe { KVec::from_raw_parts(self.ptr.as_ptr(), len, len) });
    }
}

/// Returns `epf->db_msg` as an atomic pointer.
///
/// # Safety
///
/// `epf` must be a valid `struct pci_epf` for `'a`.
unsafe fn db_msg<'a>(
    epf: *mut bindings::pci_epf,
) -> &'a Atomic<*mut bindings::pci_epf_doorbell_msg> {
    // SAFETY: `epf` is valid. Besides the doorbell allocator, which uses atomic accesses, C only
    // reads `db_msg` after a successful `pci_epf_alloc_doorbell()` on the same function, in the
    // same context.
    unsafe { Atomic::from_ptr(addr_of_mut!((*epf).db_msg)) }
}

/// Publishes `storage` in `epf->db_msg` and `epf->num_db`.
///
/// # Safety
///
/// `epf` must be a valid `struct pci_epf`.
///
/// # Errors
///
/// [`EBUSY`] if the function already has doorbells.
unsafe fn publish(epf: *mut bindings::pci_epf, storage: &Storage) -> Result {
    // SAFETY: `epf` is valid.
    let db = unsafe { db_msg(epf) };

    // Claim the slot first, so that the count of another allocation is never overwritten.
    db.cmpxchg(ptr::null_mut(), storage.ptr.as_ptr(), Full)
        .map_err(|_| EBUSY)?;

    // SAFETY: `epf` is valid; the slot is ours. The write-back callback reads `num_db` like
    // C's `READ_ONCE()`.
    unsafe { addr_of_mut!((*epf).num_db).write_volatile(storage.len) };
    Ok(())
}

/// Clears `epf->db_msg` and `epf->num_db`.
///
/// # Safety
///
/// `epf` must be a valid `struct pci_epf` whose doorbell array is owned by the caller.
unsafe fn unpublish(epf: *mut bindings::pci_epf) {
    // SAFETY: `epf` is valid and the slot is owned by the caller.
    unsafe { addr_of_mut!((*epf).num_db).write_volatile(0) };

    // SAFETY: `epf` is valid.
    unsafe { db_msg(epf) }.store(ptr::null_mut(), Release);
}

/// Returns the first function linked to `epc`, like C's `list_first_entry_or_null()`.
///
/// # Safety
///
/// `epc` must be a valid `struct pci_epc`.
unsafe fn first_function(epc: *mut bindings::pci_epc) -> *mut bindings::list_head {
    // SAFETY: `epc` is valid. The list is modified under `epc->list_lock`, which is not held:
    // like `list_first_entry_or_null()`, read the first entry once.
    unsafe { addr_of!((*epc).pci_epf.next).read_volatile() }
}

/// A `PCI_EPC_AUX_DOORBELL_MMIO` resource that backs embedded doorbells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Source {
    phys_addr: PhysAddr,
    exposed: Option<BarLocation>,
    irq: Option<u32>,
    data: u32,
    /// The address the controller writes to ring the doorbell, see [`map_sources`].
    address: u64,
    /// The `dma_map_resource()` mapping of the register, if [`map_sources`] made one.
    iova: Option<(DmaAddress, usize)>,
}

/// Chooses the auxiliary resources that back `num_db` embedded doorbells.
///
/// Every doorbell resource is used in the order the controller reports it, up to one per
/// doorbell: doorbell `i` is backed by source `i % n` (see [`source_index`]), so that doorbells
/// are distinct as long as there are enough resources and are replicated beyond that.
///
/// `resources` are the converted resources of the controller; all of them must convert, also
/// those that are not used. The sources are not mapped yet, see [`map_sources`].
///
/// # Errors
///
/// - The error of the first resource that did not convert.
/// - [`ENODEV`] if there is no doorbell resource.
/// - [`EINVAL`] if the address of a chosen resource is not 4-byte aligned.
fn plan_sources<I>(resources: I, num_db: u16) -> Result<KVec<Source>>
where
    I: ExactSizeIterator<Item = Result<AuxResource>>,
{
    // One allocation: no more sources than resources or doorbells.
    let mut sources = KVec::with_capacity(resources.len().min(num_db.into()), GFP_KERNEL)?;

    for res in resources {
        let res = res?;

        if sources.len() == usize::from(num_db) {
            continue;
        }

        if let AuxResourceKind::DoorbellMmio { irq, data } = res.kind {
            sources.push(
                Source {
                    phys_addr: res.phys_addr,
                    exposed: res.exposed,
                    irq,
                    data,
                    address: 0,
                    iova: None,
                },
                GFP_KERNEL,
            )?;
        }
    }

    if sources.is_empty() {
        return Err(ENODEV);
    }

    if sources.iter().any(|s| s.phys_addr % 4 != 0) {
        return Err(EINVAL);
    }

    Ok(sources)
}

/// Returns the index of the source of doorbell `doorbell` among `sources` sources.
fn source_index(doorbell: usize, sources: usize) -> usize {
    doorbell % sources
}

/// The page-aligned window that contains a 4-byte register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PageWindow {
    base: PhysAddr,
    offset: usize,
    size: usize,
}

/// Returns the page-aligned window that contains the 4-byte register at `addr`.
fn page_window(addr: PhysAddr) -> Result<PageWindow> {
    // CAST: `PAGE_SIZE` fits into `PhysAddr`, which is at least as wide as a pointer.
    let page = PAGE_SIZE as PhysAddr;
    let base = addr & !(page - 1);
    let offset = usize::try_from(addr - base).map_err(|_| EINVAL)?;
    let size = crate::page::page_align(offset + 4).ok_or(EINVAL)?;

    Ok(PageWindow { base, offset, size })
}

/// Widens a physical address to 64 bits.
// `PhysAddr` is `u64` on most, but not all, configurations.
#[allow(clippy::useless_conversion)]
fn phys_to_u64(addr: PhysAddr) -> u64 {
    u64::from(addr)
}

/// Widens a DMA address to 64 bits.
// `DmaAddress` is `u64` on most, but not all, configurations.
#[allow(clippy::useless_conversion)]
fn dma_to_u64(addr: DmaAddress) -> u64 {
    u64::from(addr)
}

/// Returns the C entry for embedded doorbell `index`.
///
/// The mapping of a source is recorded only in the entry of its first doorbell, so that
/// [`release`] unmaps each mapping exactly once.
fn embedded_entry(index: usize, sources: &[Source]) -> bindings::pci_epf_doorbell_msg {
    let src = sources[source_index(index, sources.len())];
    let (bar, offset) = match src.exposed {
        Some(loc) => (loc.bar.as_raw(), loc.offset),
        None => (bindings::pci_barno_NO_BAR, 0),
    };
    let (iova_base, iova_size) = match src.iova {
        Some(iova) if index < sources.len() => iova,
        _ => (0, 0),
    };

    bindings::pci_epf_doorbell_msg {
        msg: Message {
            address: src.address,
            data: src.data,
        }
        .to_raw(),
        virq: src
            .irq
            .and_then(|irq| c_int::try_from(irq).ok())
            .unwrap_or(0),
        irq_flags: DoorbellKind::Embedded.required_flags().into_inner(),
        type_: DoorbellKind::Embedded.as_raw(),
        bar,
        offset,
        iova_base,
        iova_size,
    }
}

/// Sets the address the controller writes to ring each source, mapping the registers that the
/// controller does not expose in a BAR (`dma_map_resource()`, for the controller to write).
///
/// A doorbell the controller already exposes in a BAR is used at its physical address, which is
/// what the controller translates the BAR to.
///
/// # Errors
///
/// [`EIO`] if a register cannot be mapped, [`EINVAL`] if its page window overflows. Nothing is
/// left mapped then.
fn map_sources(dev: &device::Device, sources: &mut [Source]) -> Result {
    for i in 0..sources.len() {
        let src = &mut sources[i];

        if src.exposed.is_some() {
            src.address = phys_to_u64(src.phys_addr);
            continue;
        }

        let mapped = page_window(src.phys_addr).and_then(|window| {
            // SAFETY: `dev` is a valid device.
            let iova = unsafe {
                bindings::dma_map_resource(
                    dev.as_raw(),
                    window.base,
                    window.size,
                    bindings::dma_data_direction_DMA_FROM_DEVICE,
                    0,
                )
            };

            // SAFETY: `dev` is a valid device.
            if unsafe { bindings::dma_mapping_error(dev.as_raw(), iova) } != 0 {
                return Err(EIO);
            }

            Ok((iova, window))
        });

        match mapped {
            Ok((iova, window)) => {
                src.iova = Some((iova, window.size));
                // CAST: The offset is within a page.
                src.address = dma_to_u64(iova) + window.offset as u64;
            }
            Err(e) => {
                // SAFETY: The sources before `i` were mapped above and are not used otherwise.
                unsafe { unmap_sources(dev, &sources[..i]) };
                return Err(e);
            }
        }
    }

    Ok(())
}

/// Removes the mappings that [`map_sources`] made.
///
/// # Safety
///
/// The mappings of `sources` must have been made by [`map_sources`] for `dev`, and must not be
/// used or unmapped elsewhere.
unsafe fn unmap_sources(dev: &device::Device, sources: &[Source]) {
    for (iova, size) in sources.iter().filter_map(|s| s.iova) {
        // SAFETY: By the safety requirements of this function.
        unsafe { unmap_resource(dev, iova, size) };
    }
}

/// Removes a `dma_map_resource()` mapping of a doorbell register.
///
/// # Safety
///
/// `iova` and `size` must be a mapping of `dev` made with `dma_map_resource()` for
/// `DMA_FROM_DEVICE`, which is not used anymore and not unmapped elsewhere.
unsafe fn unmap_resource(dev: &device::Device, iova: DmaAddress, size: usize) {
    // SAFETY: By the safety requirements of this function.
    unsafe {
        bindings::dma_unmap_resource(
            dev.as_raw(),
            iova,
            size,
            bindings::dma_data_direction_DMA_FROM_DEVICE,
            0,
        )
    };
}

/// The MSI write-back callback of the platform MSI domain.
///
/// The MSI core calls it when a doorbell interrupt is activated, i.e. from `request_irq()` with
/// the interrupt descriptor's raw spinlock held, so it must not look anything up that takes
/// other locks (the C implementation's lookup of the controller by name did, which lockdep
/// reports as an irq lock inversion). The function that owns the doorbell comes from the
/// descriptor's instance cookie instead, set by [`alloc_msi`] once the interrupts exist.
///
/// # Safety
///
/// Must only be called by the MSI core, with valid `desc` and `msg`.
unsafe extern "C" fn write_msi_msg(desc: *mut bindings::msi_desc, msg: *mut bindings::msi_msg) {
    // SAFETY: `desc` is a valid platform MSI descriptor: its generic data is in use, and
    // `alloc_msi()` set its instance cookie before any of its interrupts could be activated.
    let (epf, index) = unsafe {
        (
            (*desc)
                .__bindgen_anon_1
                .data
                .icookie
                .ptr
                .cast::<bindings::pci_epf>(),
            (*desc).msi_index,
        )
    };

    if epf.is_null() {
        return;
    }

    // SAFETY: `epf` owns the doorbells of this descriptor, and cannot release them before their
    // interrupts are freed, i.e. before this callback returns.
    unsafe { store_msi_msg(epf, index, &*msg) };
}

/// Stores the message of MSI `index` in the doorbell array of `epf`.
///
/// # Safety
///
/// `epf` must be a valid function whose doorbell array, if any, stays valid during the call.
unsafe fn store_msi_msg(epf: *mut bindings::pci_epf, index: u16, msg: &bindings::msi_msg) {
    // SAFETY: `epf` is valid.
    let db = unsafe { db_msg(epf) }.load(Acquire);

    // SAFETY: `epf` is valid; see `publish()`.
    let num_db = unsafe { addr_of!((*epf).num_db).read_volatile() };

    if db.is_null() || index >= num_db {
        return;
    }

    // SAFETY: `index < num_db`, the length of the published array.
    let entry = unsafe { db.add(usize::from(index)) };

    // SAFETY: `entry` is valid; `type` does not change after publication.
    if unsafe { (*entry).type_ } != DoorbellKind::Msi.as_raw() {
        // Not the owner of the MSI domain (an embedded allocation of a different function).
        return;
    }

    // SAFETY: `entry` is valid for writes. Rust readers use volatile loads, C readers only read
    // the message after requesting the interrupt, which runs this callback in their context.
    unsafe { addr_of_mut!((*entry).msg).write_volatile(*msg) };
}

/// Allocates doorbells backed by platform MSIs, see `pci_epf_alloc_doorbell_msi()`.
///
/// # Safety
///
/// `epf` must be a valid function linked to the valid controller `epc`.
unsafe fn alloc_msi(
    epf: *mut bindings::pci_epf,
    epc: *mut bindings::pci_epc,
    dev: &device::Device,
    num_db: u16,
) -> Result<Storage> {
    // SAFETY: `epc` is valid.
    let parent = unsafe { (*epc).dev.parent };

    // SAFETY: `parent` is a valid device.
    let domain = unsafe {
        bindings::of_msi_map_get_device_domain(
            parent,
            0,
            bindings::irq_domain_bus_token_DOMAIN_BUS_PLATFORM_MSI,
        )
    };

    if domain.is_null() {
        dev_err!(dev, "Can't find MSI domain for EPC\n");
        return Err(ENODEV);
    }

    // SAFETY: `domain` is a valid interrupt domain.
    if !unsafe { bindings::irq_domain_is_msi_parent(domain) } {
        return Err(ENODEV);
    }

    // SAFETY: `domain` is a valid interrupt domain.
    if !unsafe { bindings::irq_domain_is_msi_immutable(domain) } {
        dev_err!(dev, "Mutable MSI controller not supported\n");
        return Err(ENODEV);
    }

    // SAFETY: `parent` and `domain` are valid.
    unsafe { bindings::dev_set_msi_domain(parent, domain) };

    let storage = Storage::new(num_db, DoorbellKind::Msi)?;

    // The write-back callback must find the array when the interrupts are allocated.
    //
    // SAFETY: `epf` is valid.
    unsafe { publish(epf, &storage) }?;

    // SAFETY: `parent` is valid and has an MSI domain; `write_msi_msg` is a valid callback.
    let ret = unsafe {
        bindings::platform_device_msi_init_and_alloc_irqs(
            parent,
            num_db.into(),
            Some(write_msi_msg),
        )
    };

    if ret != 0 {
        dev_err!(dev, "Failed to allocate MSI\n");

        // Unlike C, remove the per-device MSI domain if it was created (every error but these
        // two): a domain left behind makes the next allocation fail with a warning.
        if ret != EINVAL.to_errno() && ret != ENODEV.to_errno() {
            // SAFETY: `parent` is valid; the failed allocation left no interrupt allocated.
            unsafe { bindings::platform_device_msi_free_irqs_all(parent) };
        }

        // SAFETY: The array was published above and no interrupt refers to it.
        unsafe { unpublish(epf) };
        return Err(Error::from_errno(ret));
    }

    for i in 0..num_db {
        // SAFETY: `parent` is valid.
        let virq = unsafe {
            bindings::msi_domain_get_virq(
                parent,
                bindings::msi_domain_ids_MSI_DEFAULT_DOMAIN,
                i.into(),
            )
        };

        // SAFETY: The entry exists; no interrupt is requested yet, so nothing else accesses it.
        unsafe { (*storage.entry(i.into())).virq = c_int::try_from(virq).unwrap_or(0) };

        // Tell `write_msi_msg()` whose doorbell this is. The interrupts are only activated (and
        // their messages written back) when requested, which cannot happen before this returns.
        //
        // SAFETY: `virq` was just allocated in the platform MSI domain of `parent`, so it has a
        // valid MSI descriptor whose generic data belongs to the allocation site.
        unsafe {
            let desc = bindings::irq_get_msi_desc(virq);
            if !desc.is_null() {
                (*desc).__bindgen_anon_1.data.icookie.ptr = epf.cast();
            }
        }
    }

    Ok(storage)
}

/// Allocates doorbells backed by auxiliary resources of the controller, see
/// `pci_epf_alloc_doorbell_embedded()`.
///
/// # Safety
///
/// `epf` must be a valid function linked to the valid controller `epc`.
unsafe fn alloc_embedded(
    epf: *mut bindings::pci_epf,
    epc: *mut bindings::pci_epc,
    num_db: u16,
) -> Result<Storage> {
    // SAFETY: `epf` is valid; the numbers are stable while it is linked.
    let (func_no, vfunc_no) = unsafe { ((*epf).func_no, (*epf).vfunc_no) };

    // SAFETY: `epc` is valid.
    let count = unsafe { bindings::pci_epc_get_aux_resources_count(epc, func_no, vfunc_no) };

    if count < 0 {
        return Err(Error::from_errno(count));
    }
    if count == 0 {
        return Err(ENODEV);
    }

    // SAFETY: `epc` is valid.
    // CAST: `count` is positive.
    let raw = unsafe { query_aux_resources(epc, func_no, vfunc_no, count as usize) }?;
    let mut sources = plan_sources(raw.iter().map(AuxResource::try_from), num_db)?;

    // SAFETY: `epc` is valid; its parent is set at creation and outlives it.
    let parent: &device::Device = unsafe { device::Device::from_raw((*epc).dev.parent) };

    map_sources(parent, &mut sources)?;

    let published = Storage::from_fn(num_db, DoorbellKind::Embedded, |i| {
        embedded_entry(i, &sources)
    })
    .and_then(|storage| {
        // SAFETY: `epf` is valid.
        unsafe { publish(epf, &storage) }?;
        Ok(storage)
    });

    // On success, the entries own the mappings now, see `release()`.
    if published.is_err() {
        // SAFETY: The mappings were made above and no entry was published.
        unsafe { unmap_sources(parent, &sources) };
    }

    published
}

/// Allocates `num_db` doorbells for `epf` with the semantics of `pci_epf_alloc_doorbell()` and
/// publishes them in `epf->db_msg`.
///
/// # Safety
///
/// `epf` must be a valid function that stays linked to its controller during the call.
unsafe fn alloc_raw(epf: *mut bindings::pci_epf, num_db: u16) -> Result<Storage> {
    // SAFETY: `epf` is valid.
    let dev: &device::Device = unsafe { device::Device::from_raw(addr_of_mut!((*epf).dev)) };

    // SAFETY: `epf` is valid.
    let epc = unsafe { (*epf).epc };
    if epc.is_null() {
        return Err(EINVAL);
    }

    // TODO: Support more than one function per controller.
    //
    // SAFETY: `epc` is valid while `epf` is linked to it; `epf` is valid.
    if unsafe { first_function(epc) } != unsafe { addr_of_mut!((*epf).list) } {
        dev_err!(dev, "Doorbell doesn't support multiple EPF\n");
        return Err(EINVAL);
    }

    // SAFETY: `epf` is valid.
    if !unsafe { db_msg(epf) }.load(Acquire).is_null() {
        return Err(EBUSY);
    }

    // An empty doorbell array would be indistinguishable from an unallocated one.
    if num_db == 0 {
        return Err(EINVAL);
    }

    // SAFETY: `epf` is linked to `epc`.
    match unsafe { alloc_msi(epf, epc, dev, num_db) } {
        Ok(storage) => return Ok(storage),
        // Fall back to embedded doorbells only when platform MSI is unavailable.
        Err(e) if e != ENODEV => return Err(e),
        Err(_) => {}
    }

    // SAFETY: `epf` is linked to `epc`.
    match unsafe { alloc_embedded(epf, epc, num_db) } {
        Ok(storage) => {
            dev_info!(dev, "Using embedded (DMA) doorbell fallback\n");
            Ok(storage)
        }
        Err(e) => {
            dev_err!(dev, "Failed to allocate doorbell: {}\n", e.to_errno());
            Err(e)
        }
    }
}

/// Frees published doorbells, see `pci_epf_free_doorbell()`.
///
/// # Safety
///
/// - `epf` must be a valid function linked to its controller, with `storage` published.
/// - No interrupt of the doorbells may be requested anymore.
unsafe fn release(epf: *mut bindings::pci_epf, storage: Storage) {
    // SAFETY: `epf` is valid and linked; the parent of the controller outlives it.
    let parent: &device::Device = unsafe { device::Device::from_raw((*(*epf).epc).dev.parent) };

    match storage.kind() {
        // SAFETY: `parent` is valid; its MSIs are the doorbells, which are not requested anymore.
        DoorbellKind::Msi => unsafe {
            bindings::platform_device_msi_free_irqs_all(parent.as_raw())
        },
        DoorbellKind::Embedded => {
            for i in 0..usize::from(storage.len) {
                let entry = storage.read(i);

                if entry.iova_size != 0 {
                    // SAFETY: The entry owns this mapping of `parent`, see `embedded_entry()`;
                    // no interrupt of the doorbells is requested anymore.
                    unsafe { unmap_resource(parent, entry.iova_base, entry.iova_size) };
                }
            }
        }
    }

    // No interrupt refers to the array anymore: retract it before freeing it.
    //
    // SAFETY: `epf` is valid and `storage` is its published array.
    unsafe { unpublish(epf) };
    drop(storage);
}

/// Allocates `num_db` doorbells for the function of `epc`.
///
/// See the [module documentation](self) for how doorbells are allocated. The doorbells are freed
/// when the returned [`Doorbells`] is dropped.
///
/// # Errors
///
/// With the codes of the C `pci_epf_alloc_doorbell()`:
/// - [`EINVAL`] if the function is not the first function of the controller, if `num_db` is 0,
///   or if a doorbell register is not 4-byte aligned;
/// - [`EBUSY`] if the function already has doorbells (also when allocated through the C API);
/// - the error of the platform MSI allocation if it fails for another reason than a missing
///   MSI domain ([`ENODEV`]);
/// - otherwise the error of the embedded fallback: [`ENODEV`] or `EOPNOTSUPP` if the
///   controller has no doorbell resource, [`EIO`] if the register cannot be mapped,
///   [`ENOMEM`].
pub fn alloc_doorbell<'a>(epc: &Controller<'a>, num_db: u16) -> Result<Doorbells<'a>> {
    // SAFETY: By the type invariants of `Controller`, the function is valid and linked for `'a`.
    let storage = unsafe { alloc_raw(epc.function().as_raw(), num_db) }?;

    let mut doorbells = Doorbells {
        epc: *epc,
        storage: ManuallyDrop::new(storage),
        msgs: KVec::new(),
        requested: Atomic::new(0),
    };

    // On failure, dropping `doorbells` frees them again.
    let mut msgs = KVec::with_capacity(usize::from(num_db), GFP_KERNEL)?;
    for i in 0..usize::from(num_db) {
        msgs.push(
            DoorbellMsg::from_raw(&doorbells.storage.read(i)),
            GFP_KERNEL,
        )?;
    }
    doorbells.msgs = msgs;

    Ok(doorbells)
}

/// Doorbells of an endpoint function, see [`alloc_doorbell`].
///
/// They are published in `epf->db_msg` as well, for C code that shares the function.
///
/// # Invariants
///
/// - `self.storage` is the array published in the function of `self.epc`; it is released when
///   `self` is dropped, unless an interrupt registration was leaked.
/// - `self.requested` counts the live [`DoorbellIrq`]s of these doorbells.
pub struct Doorbells<'a> {
    epc: Controller<'a>,
    storage: ManuallyDrop<Storage>,
    msgs: KVec<DoorbellMsg>,
    requested: Atomic<i32>,
}

impl<'a> Doorbells<'a> {
    /// Returns the kind of the doorbells.
    pub fn kind(&self) -> DoorbellKind {
        self.storage.kind()
    }

    /// Returns the number of doorbells.
    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    /// Returns `true` if there are no doorbells, which never happens.
    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// Returns the description of doorbell `index`.
    pub fn get(&self, index: usize) -> Option<&DoorbellMsg> {
        self.msgs.get(index)
    }

    /// Returns an iterator over the descriptions of the doorbells.
    pub fn iter(&self) -> impl Iterator<Item = &DoorbellMsg> {
        self.msgs.iter()
    }

    /// Checks `index` and returns the IRQ request and flags of its doorbell.
    fn irq_request<'d>(
        &'d self,
        index: usize,
        flags: irq::Flags,
    ) -> Result<(IrqRequest<'d>, irq::Flags)> {
        let msg = self.msgs.get(index).ok_or(EINVAL)?;
        let irq = msg.irq.ok_or(ENXIO)?;

        // SAFETY: `irq` was allocated as a doorbell of this function. It stays allocated while
        // `self` exists, and `self` does not free it while a `DoorbellIrq` exists, even a leaked
        // one (see `RequestGuard`).
        let request = unsafe { IrqRequest::new(self.epc.function().as_ref(), irq) };

        Ok((request, msg.irq_flags() | flags))
    }

    /// Requests the interrupt of doorbell `index` with a threaded handler.
    ///
    /// The interrupt is requested with the [required flags](DoorbellKind::required_flags) of
    /// the doorbell and `flags`. The handler gets the device of the function.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if `index` is out of range, [`ENXIO`] if the doorbell has no interrupt, or
    /// the error of `request_threaded_irq()`.
    pub fn request_threaded_irq<'d, H: irq::ThreadedHandler + 'static>(
        &'d self,
        index: usize,
        flags: irq::Flags,
        name: &'static CStr,
        handler: impl PinInit<H, Error> + 'd,
    ) -> impl PinInit<DoorbellIrq<'d, irq::ThreadedRegistration<H>>, Error> + 'd {
        pin_init::pin_init_scope(move || {
            let (request, flags) = self.irq_request(index, flags)?;

            Ok(try_pin_init!(DoorbellIrq {
                guard: RequestGuard::new(self),
                registration <- irq::ThreadedRegistration::new(request, flags, name, handler),
                index,
            }))
        })
    }

    /// Requests the interrupt of doorbell `index` with a hard interrupt handler.
    ///
    /// See [`Doorbells::request_threaded_irq`].
    pub fn request_irq<'d, H: irq::Handler + 'static>(
        &'d self,
        index: usize,
        flags: irq::Flags,
        name: &'static CStr,
        handler: impl PinInit<H, Error> + 'd,
    ) -> impl PinInit<DoorbellIrq<'d, irq::Registration<H>>, Error> + 'd {
        pin_init::pin_init_scope(move || {
            let (request, flags) = self.irq_request(index, flags)?;

            Ok(try_pin_init!(DoorbellIrq {
                guard: RequestGuard::new(self),
                registration <- irq::Registration::new(request, flags, name, handler),
                index,
            }))
        })
    }
}

impl<'a> Doorbells<'a> {
    /// Requests the interrupt of doorbell `index` with a threaded handler, like
    /// [`Doorbells::request_threaded_irq`], and keeps the doorbells in the returned object.
    ///
    /// Unlike [`DoorbellIrq`], which borrows the doorbells, the result owns them, so a driver can
    /// store it in its binding. Dropping it frees the interrupt and then the doorbells.
    ///
    /// # Errors
    ///
    /// As [`Doorbells::request_threaded_irq`]; the doorbells are freed on error.
    pub fn into_threaded_irq<H: irq::ThreadedHandler + 'static>(
        self,
        index: usize,
        flags: irq::Flags,
        name: &'static CStr,
        handler: impl PinInit<H, Error> + 'a,
    ) -> impl PinInit<RequestedDoorbells<'a, irq::ThreadedRegistration<H>>, Error> + 'a {
        pin_init::pin_init_scope(move || {
            let msg = self.msgs.get(index).ok_or(EINVAL)?;
            let irq = msg.irq.ok_or(ENXIO)?;
            let flags = msg.irq_flags() | flags;
            let func: &'a super::Function<device::Bound> = self.epc.function();

            // SAFETY: `irq` was allocated as a doorbell of this function. It stays allocated
            // while the returned object exists: its registration is dropped (and the interrupt
            // freed) before its doorbells.
            let request = unsafe { IrqRequest::new(func.as_ref(), irq) };

            Ok(try_pin_init!(RequestedDoorbells {
                doorbells: self,
                index,
                registration <- irq::ThreadedRegistration::new(request, flags, name, handler),
            }))
        })
    }
}

/// Doorbells with the requested interrupt of one of them, see [`Doorbells::into_threaded_irq`].
#[pin_data]
pub struct RequestedDoorbells<'a, R> {
    // Declared before `doorbells`: the interrupt is freed before the doorbells.
    #[pin]
    registration: R,
    doorbells: Doorbells<'a>,
    index: usize,
}

impl<'a, R> RequestedDoorbells<'a, R> {
    /// Returns the doorbells.
    pub fn doorbells(&self) -> &Doorbells<'a> {
        &self.doorbells
    }

    /// Returns the interrupt registration.
    pub fn registration(&self) -> &R {
        &self.registration
    }

    /// Returns the index of the doorbell whose interrupt is requested.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Returns the description of the doorbell whose interrupt is requested.
    pub fn msg(&self) -> &DoorbellMsg {
        &self.doorbells.msgs[self.index]
    }

    /// Returns the address/data pair the host must write to ring the doorbell.
    pub fn message(&self) -> Message {
        match self.doorbells.msgs[self.index].message {
            Some(message) => message,
            // The MSI controller wrote the message when the interrupt was requested.
            None => Message::from_raw(&self.doorbells.storage.read(self.index).msg),
        }
    }
}

impl Drop for Doorbells<'_> {
    fn drop(&mut self) {
        if self.requested.load(Relaxed) != 0 {
            // A `DoorbellIrq` was leaked: its interrupt may still be requested, so the doorbells
            // must stay allocated.
            dev_warn!(
                self.epc.function().as_ref(),
                "Leaking doorbells with a requested interrupt\n"
            );
            return;
        }

        // SAFETY: `self.storage` is not used anymore.
        let storage = unsafe { ManuallyDrop::take(&mut self.storage) };

        // SAFETY: By the type invariants the storage is published in the function, which is
        // still linked (`'a`), and no doorbell interrupt is requested.
        unsafe { release(self.epc.function().as_raw(), storage) };
    }
}

/// Keeps [`Doorbells`] from being freed while one of their interrupts is requested.
struct RequestGuard<'d> {
    doorbells: &'d Doorbells<'d>,
}

impl<'d> RequestGuard<'d> {
    fn new(doorbells: &'d Doorbells<'d>) -> Self {
        doorbells.requested.add(1, Relaxed);
        Self { doorbells }
    }
}

impl Drop for RequestGuard<'_> {
    fn drop(&mut self) {
        self.doorbells.requested.add(-1, Relaxed);
    }
}

/// The requested interrupt of a doorbell, see [`Doorbells::request_threaded_irq`].
///
/// Only once the interrupt is requested is the message of an MSI doorbell written, so this is
/// where it can be read, see [`DoorbellIrq::message`].
#[pin_data]
pub struct DoorbellIrq<'d, R> {
    // Declared before `guard`: the interrupt is freed before the doorbells may be released.
    #[pin]
    registration: R,
    guard: RequestGuard<'d>,
    index: usize,
}

impl<R> DoorbellIrq<'_, R> {
    /// Returns the interrupt registration.
    pub fn registration(&self) -> &R {
        &self.registration
    }

    /// Returns the index of the doorbell.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Returns the address/data pair the host must write to ring the doorbell.
    pub fn message(&self) -> Message {
        let doorbells = self.guard.doorbells;

        match doorbells.msgs[self.index].message {
            Some(message) => message,
            // The MSI controller wrote the message when the interrupt was requested.
            None => Message::from_raw(&doorbells.storage.read(self.index).msg),
        }
    }
}

/// Allocates doorbells for a function and publishes them in `epf->db_msg`, for the C API.
///
/// # Safety
///
/// `epf` must be a valid function that stays linked to its controller during the call.
#[cfg(any(
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_RUST,
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_BENCH,
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_SELECT
))]
unsafe fn alloc_c_api(epf: *mut bindings::pci_epf, num_db: u16) -> c_int {
    crate::error::from_result(|| {
        // SAFETY: By the safety requirements of this function.
        let storage = unsafe { alloc_raw(epf, num_db) }?;

        // `epf->db_msg` owns the array until `free_c_api()`.
        storage.into_raw();
        Ok(0)
    })
}

/// Frees the doorbells that [`alloc_c_api`] published in `epf->db_msg`, if any.
///
/// # Safety
///
/// `epf` must be a valid function linked to its controller. The interrupts of its doorbells must
/// have been freed, and its doorbells, if any, must come from [`alloc_c_api`].
#[cfg(any(
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_RUST,
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_BENCH,
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_SELECT
))]
unsafe fn free_c_api(epf: *mut bindings::pci_epf) {
    // SAFETY: `epf` is valid.
    let Some(ptr) = NonNull::new(unsafe { db_msg(epf) }.load(Acquire)) else {
        return;
    };

    // SAFETY: `epf` is valid.
    let len = unsafe { addr_of!((*epf).num_db).read_volatile() };

    // SAFETY: By the safety requirements of this function, the array was leaked from a
    // `Storage` of `len` entries by `alloc_c_api()`.
    let storage = unsafe { Storage::from_raw(ptr, len) };

    // SAFETY: By the safety requirements of this function.
    unsafe { release(epf, storage) };
}

/// Allocates doorbells for a function; Rust implementation of the C API.
///
/// # Safety
///
/// `epf` must be a valid function that stays linked to its controller during the call.
#[cfg(CONFIG_PCI_ENDPOINT_MSI_DOORBELL_RUST)]
#[export]
pub unsafe extern "C" fn pci_epf_alloc_doorbell(epf: *mut bindings::pci_epf, num_db: u16) -> c_int {
    // SAFETY: By the safety requirements of this function.
    unsafe { alloc_c_api(epf, num_db) }
}

/// Frees the doorbells of a function; Rust implementation of the C API.
///
/// # Safety
///
/// `epf` must be a valid function linked to its controller. The interrupts of its doorbells must
/// have been freed.
#[cfg(CONFIG_PCI_ENDPOINT_MSI_DOORBELL_RUST)]
#[export]
pub unsafe extern "C" fn pci_epf_free_doorbell(epf: *mut bindings::pci_epf) {
    // SAFETY: Only `pci_epf_alloc_doorbell()`, i.e. `alloc_c_api()`, publishes arrays through
    // the C API; the rest is required from the caller.
    unsafe { free_c_api(epf) }
}

/// The Rust implementation of `pci_epf_alloc_doorbell()` under its own name, also when the C one
/// is the default, so that the doorbell allocator benchmark can time both in one kernel and a
/// test kernel can put it behind `pci_epf_alloc_doorbell()` at boot (`pci_ep_msi.rust=1`).
///
/// # Safety
///
/// `epf` must be a valid function that stays linked to its controller during the call.
#[cfg(any(
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_BENCH,
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_SELECT
))]
#[export]
pub unsafe extern "C" fn pci_epf_alloc_doorbell_rust(
    epf: *mut bindings::pci_epf,
    num_db: u16,
) -> c_int {
    // SAFETY: By the safety requirements of this function.
    unsafe { alloc_c_api(epf, num_db) }
}

/// Frees doorbells allocated by [`pci_epf_alloc_doorbell_rust`].
///
/// # Safety
///
/// `epf` must be a valid function linked to its controller. The interrupts of its doorbells must
/// have been freed, and its doorbells, if any, must come from [`pci_epf_alloc_doorbell_rust`] (or
/// from `pci_epf_alloc_doorbell()` when the Rust implementation is the default).
#[cfg(any(
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_BENCH,
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_SELECT
))]
#[export]
pub unsafe extern "C" fn pci_epf_free_doorbell_rust(epf: *mut bindings::pci_epf) {
    // SAFETY: By the safety requirements of this function.
    unsafe { free_c_api(epf) }
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
mod hw_tests;

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
#[macros::kunit_tests(rust_pci_endpoint_doorbell)]
mod tests {
    use super::*;

    fn doorbell_res(phys_addr: PhysAddr, exposed: Option<BarLocation>, irq: u32) -> AuxResource {
        AuxResource {
            phys_addr,
            size: 4,
            exposed,
            kind: AuxResourceKind::DoorbellMmio {
                irq: Some(irq),
                data: irq + 100,
            },
        }
    }

    fn unknown_res(phys_addr: PhysAddr) -> AuxResource {
        AuxResource {
            phys_addr,
            size: 4096,
            exposed: None,
            kind: AuxResourceKind::Unknown(7),
        }
    }

    fn plan(resources: &[AuxResource], num_db: u16) -> Result<KVec<Source>> {
        plan_sources(resources.iter().map(|r| Ok(*r)), num_db)
    }

    /// Does what [`map_sources`] does, with made-up IOVAs.
    fn mapped(mut sources: KVec<Source>) -> KVec<Source> {
        for (i, s) in sources.iter_mut().enumerate() {
            match s.exposed {
                Some(_) => s.address = phys_to_u64(s.phys_addr),
                None => {
                    s.address = 0x8000_0000 + (i as u64) * 0x1000;
                    s.iova = Some((0x8000_0000 + (i as DmaAddress) * 0x1000, 0x1000));
                }
            }
        }
        sources
    }

    #[test]
    fn plan_needs_a_doorbell_resource() {
        assert_eq!(plan(&[], 1).err(), Some(ENODEV));
        assert_eq!(
            plan(&[unknown_res(0x1000), unknown_res(0x2000)], 4).err(),
            Some(ENODEV)
        );
    }

    #[test]
    fn plan_skips_other_resources_and_keeps_order() -> Result {
        let res = [
            unknown_res(0x1000),
            doorbell_res(0x2000_00a0, None, 10),
            unknown_res(0x3000),
            doorbell_res(0x4000_0000, None, 11),
        ];
        let sources = plan(&res, 8)?;

        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0].phys_addr, 0x2000_00a0);
        assert_eq!(sources[0].irq, Some(10));
        assert_eq!(sources[1].phys_addr, 0x4000_0000);
        Ok(())
    }

    #[test]
    fn plan_uses_at_most_one_source_per_doorbell() -> Result {
        let res = [
            doorbell_res(0x1000, None, 1),
            doorbell_res(0x2000, None, 2),
            doorbell_res(0x3003, None, 3),
        ];

        // The third, misaligned, resource is not needed for two doorbells.
        assert_eq!(plan(&res, 2)?.len(), 2);
        assert_eq!(plan(&res, 1)?.len(), 1);
        Ok(())
    }

    #[test]
    fn plan_converts_every_resource() {
        // A controller that reports a resource with an invalid BAR is broken: the allocation
        // fails, even when that resource is not needed.
        let res = [Ok(doorbell_res(0x1000, None, 1)), Err(EINVAL)];
        assert_eq!(plan_sources(res.into_iter(), 1).err(), Some(EINVAL));
    }

    #[test]
    fn plan_rejects_misaligned_doorbell() {
        assert_eq!(
            plan(&[doorbell_res(0x2000_00a2, None, 1)], 1).err(),
            Some(EINVAL)
        );
        assert_eq!(
            plan(
                &[doorbell_res(0x1000, None, 1), doorbell_res(0x2001, None, 2)],
                2
            )
            .err(),
            Some(EINVAL)
        );
    }

    #[test]
    fn doorbells_are_distinct_before_replicated() {
        assert_eq!(source_index(0, 1), 0);
        assert_eq!(source_index(5, 1), 0);
        assert_eq!(source_index(0, 3), 0);
        assert_eq!(source_index(1, 3), 1);
        assert_eq!(source_index(2, 3), 2);
        assert_eq!(source_index(3, 3), 0);
        assert_eq!(source_index(4, 3), 1);
    }

    #[test]
    fn page_window_covers_the_register() -> Result {
        let page = PAGE_SIZE as PhysAddr;

        let w = page_window(0x1000_00a0 * page)?;
        assert_eq!(w.base, 0x1000_00a0 * page);
        assert_eq!(w.offset, 0);
        assert_eq!(w.size, PAGE_SIZE);

        let w = page_window(3 * page + 0xa0)?;
        assert_eq!(w.base, 3 * page);
        assert_eq!(w.offset, 0xa0);
        assert_eq!(w.size, PAGE_SIZE);

        // The last word of a page.
        let w = page_window(4 * page - 4)?;
        assert_eq!(w.base, 3 * page);
        assert_eq!(w.offset, PAGE_SIZE - 4);
        assert_eq!(w.size, PAGE_SIZE);
        Ok(())
    }

    #[test]
    fn single_resource_is_replicated_like_c() -> Result {
        let exposed = BarLocation {
            bar: BarNo::BAR_4,
            offset: 0xa0,
        };
        let sources = mapped(plan(&[doorbell_res(0x1_0000_00a0, Some(exposed), 42)], 3)?);

        for i in 0..3 {
            let e = embedded_entry(i, &sources);
            let msg = DoorbellMsg::from_raw(&e);

            assert_eq!(
                e.type_,
                bindings::pci_epf_doorbell_type_PCI_EPF_DOORBELL_EMBEDDED
            );
            assert_eq!(e.virq, 42);
            assert_eq!(e.irq_flags, irq::Flags::SHARED.into_inner());
            assert_eq!(e.bar, bindings::pci_barno_BAR_4);
            assert_eq!(e.offset, 0xa0);
            assert_eq!((e.iova_base, e.iova_size), (0, 0));

            assert_eq!(msg.kind(), DoorbellKind::Embedded);
            assert_eq!(msg.irq(), Some(42));
            assert!(msg.irq_flags() == irq::Flags::SHARED);
            assert_eq!(
                msg.target(),
                DoorbellTarget::Exposed {
                    bar: BarNo::BAR_4,
                    offset: 0xa0
                }
            );
            // A pre-exposed doorbell is written at its physical address.
            assert_eq!(
                msg.message(),
                Some(Message {
                    address: 0x1_0000_00a0,
                    data: 142
                })
            );
        }
        Ok(())
    }

    #[test]
    fn several_resources_give_distinct_doorbells() -> Result {
        let res = [doorbell_res(0x1000, None, 1), doorbell_res(0x2000, None, 2)];
        let sources = mapped(plan(&res, 5)?);
        let entries: KVec<_> = {
            let mut v = KVec::new();
            for i in 0..5 {
                v.push(embedded_entry(i, &sources), GFP_KERNEL)?;
            }
            v
        };

        // Own address, data and interrupt for the first two, then replicated.
        let irqs: KVec<_> = {
            let mut v = KVec::new();
            for e in entries.iter() {
                v.push(e.virq, GFP_KERNEL)?;
            }
            v
        };
        assert_eq!(&irqs[..], &[1, 2, 1, 2, 1]);

        let m0 = Message::from_raw(&entries[0].msg);
        let m1 = Message::from_raw(&entries[1].msg);
        assert_ne!(m0, m1);
        assert_eq!(m0, Message::from_raw(&entries[2].msg));
        assert_eq!(m1, Message::from_raw(&entries[3].msg));
        assert_eq!(m0.data, 101);
        assert_eq!(m1.data, 102);

        // Each mapping is owned by exactly one entry.
        assert_eq!(
            (entries[0].iova_base, entries[0].iova_size),
            (0x8000_0000, 0x1000)
        );
        assert_eq!(
            (entries[1].iova_base, entries[1].iova_size),
            (0x8000_1000, 0x1000)
        );
        for e in &entries[2..] {
            assert_eq!(e.iova_size, 0);
        }

        for e in entries.iter() {
            assert_eq!(e.bar, bindings::pci_barno_NO_BAR);
            assert_eq!(
                DoorbellMsg::from_raw(e).target(),
                DoorbellTarget::MapIntoFreeBar
            );
        }
        Ok(())
    }

    #[test]
    fn msi_message_is_hidden_until_requested() {
        let e = bindings::pci_epf_doorbell_msg {
            type_: DoorbellKind::Msi.as_raw(),
            bar: bindings::pci_barno_NO_BAR,
            virq: 33,
            ..Default::default()
        };

        let msg = DoorbellMsg::from_raw(&e);
        assert_eq!(msg.kind(), DoorbellKind::Msi);
        assert_eq!(msg.irq(), Some(33));
        assert!(msg.irq_flags() == irq::Flags::TRIGGER_NONE);
        assert_eq!(msg.target(), DoorbellTarget::MapIntoFreeBar);
        assert_eq!(msg.message(), None);
    }

    #[test]
    fn message_round_trips() {
        let m = Message {
            address: 0x1234_5678_9abc_def0,
            data: 0xdead_beef,
        };
        assert_eq!(Message::from_raw(&m.to_raw()), m);
    }

    #[test]
    fn storage_rejects_empty_array() {
        assert_eq!(Storage::new(0, DoorbellKind::Msi).err(), Some(EINVAL));
    }

    #[test]
    fn storage_round_trips_through_the_c_api() -> Result {
        let storage = Storage::new(3, DoorbellKind::Embedded)?;
        assert_eq!(storage.kind(), DoorbellKind::Embedded);
        assert_eq!(storage.read(2).bar, bindings::pci_barno_NO_BAR);

        let ptr = storage.into_raw();
        // SAFETY: `ptr` was just leaked from a `Storage` of 3 entries.
        let storage = unsafe { Storage::from_raw(ptr, 3) };
        assert_eq!(storage.len, 3);
        Ok(())
    }
}
