// SPDX-License-Identifier: GPL-2.0

//! The doorbell array in its C representation, and its publication in `epf->db_msg`.

use super::{
    embedded::{
        source_index,
        PageWindow, //
    },
    message::DoorbellKind, //
};
use crate::{
    bindings,
    device,
    dma::DmaAddress,
    pci::endpoint::{
        Controller,
        Function, //
    },
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Full,
        Release, //
    }, //
};
use core::{
    mem::ManuallyDrop,
    ptr::{
        self,
        addr_of_mut,
        NonNull, //
    },
};

impl<Ctx: device::DeviceContext> Function<Ctx> {
    /// Returns `epf->db_msg` as an atomic pointer.
    fn db_msg(&self) -> &Atomic<*mut bindings::pci_epf_doorbell_msg> {
        // SAFETY: `self.as_raw()` is a valid `struct pci_epf` for the lifetime of `self`, and
        // `db_msg` is an aligned pointer. Besides the doorbell allocator, which uses atomic
        // accesses, C only reads `db_msg` after a successful `pci_epf_alloc_doorbell()` on the
        // same function, in the same context.
        unsafe { Atomic::from_ptr(addr_of_mut!((*self.as_raw()).db_msg)) }
    }

    /// Returns the published doorbell array (`epf->db_msg`), NULL if there is none.
    pub(super) fn doorbell_array(&self) -> *mut bindings::pci_epf_doorbell_msg {
        self.db_msg().load(Acquire)
    }

    /// Returns `epf->num_db`.
    pub(super) fn num_doorbells(&self) -> u16 {
        // SAFETY: `self.as_raw()` is valid. The doorbell allocator writes `num_db` with volatile
        // stores while it owns `db_msg`; this is a volatile load, like C's `READ_ONCE()`.
        unsafe { addr_of_mut!((*self.as_raw()).num_db).read_volatile() }
    }

    fn set_num_doorbells(&self, num_db: u16) {
        // SAFETY: `self.as_raw()` is valid; only the owner of `db_msg` writes `num_db`, see
        // `num_doorbells()`.
        unsafe { addr_of_mut!((*self.as_raw()).num_db).write_volatile(num_db) };
    }
}

/// The doorbell array in its C representation, owned by Rust until it is published.
///
/// # Invariants
///
/// - `self.ptr` points to `self.len` (at least one) initialized entries, allocated by a [`KVec`]
///   with a capacity of exactly `self.len`.
/// - All entries have the same `type`, `self.kind`, written before publication only.
/// - An entry with a non-zero `iova_size` owns the `dma_map_resource()` mapping of `self.dev` it
///   describes; only [`Storage::map`] records mappings in entries, and dropping the storage
///   removes the mappings.
/// - Once published, the entries are only accessed through raw pointers, because the MSI
///   write-back callback may write their `msg` at any time while an interrupt is activated.
pub(super) struct Storage<'a> {
    ptr: NonNull<bindings::pci_epf_doorbell_msg>,
    len: u16,
    kind: DoorbellKind,
    dev: Option<&'a device::Device>,
}

// SAFETY: `Storage` owns its allocation, which can be freed from any thread, and the mappings,
// which can be removed from any thread.
unsafe impl Send for Storage<'_> {}

// SAFETY: `Storage` only hands out copies of its entries.
unsafe impl Sync for Storage<'_> {}

impl<'a> Storage<'a> {
    /// Allocates `len` entries of the given kind, not exposed in any BAR.
    ///
    /// `dev` is the device that [`Storage::map`] maps doorbell registers for.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if `len` is 0 (an empty array is indistinguishable from none), [`ENOMEM`].
    pub(super) fn new(
        len: u16,
        kind: DoorbellKind,
        dev: Option<&'a device::Device>,
    ) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }

        let entry = bindings::pci_epf_doorbell_msg {
            type_: kind.as_raw(),
            bar: bindings::pci_barno_NO_BAR,
            ..pin_init::zeroed()
        };
        let v = KVec::from_elem(entry, len.into(), GFP_KERNEL)?;
        let (ptr, length, capacity) = v.into_raw_parts();

        if capacity != length {
            // SAFETY: These are the raw parts of `v`.
            drop(unsafe { KVec::from_raw_parts(ptr, length, capacity) });
            return Err(ENOMEM);
        }

        // INVARIANT: `ptr` points to `len > 0` entries of `kind` in an allocation of exactly
        // `len` entries; none records a mapping.
        Ok(Self {
            // SAFETY: A `KVec` with a non-zero length has a non-NULL pointer.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            len,
            kind,
            dev,
        })
    }

    /// Returns the number of entries.
    pub(super) fn len(&self) -> usize {
        self.len.into()
    }

    /// Returns a pointer to the first entry.
    #[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
    pub(super) fn as_ptr(&self) -> *mut bindings::pci_epf_doorbell_msg {
        self.ptr.as_ptr()
    }

    /// Returns a pointer to entry `index`.
    ///
    /// # Panics
    ///
    /// Panics if `index` is out of bounds.
    fn entry(&self, index: usize) -> *mut bindings::pci_epf_doorbell_msg {
        assert!(index < self.len());

        // SAFETY: `index` is in bounds of the allocation.
        unsafe { self.ptr.as_ptr().add(index) }
    }

    /// Returns the kind of the doorbells.
    pub(super) fn kind(&self) -> DoorbellKind {
        self.kind
    }

    /// Returns a copy of entry `index`.
    pub(super) fn read(&self, index: usize) -> bindings::pci_epf_doorbell_msg {
        // SAFETY: `self.entry(index)` is valid for reads. The MSI write-back callback may store to
        // `msg` concurrently, which it does with volatile stores, so this is a volatile load, as
        // C's `READ_ONCE()`.
        unsafe { self.entry(index).read_volatile() }
    }

    /// Sets entry `index` to `entry`, with the kind of the array and the mapping that the entry
    /// owns, if any (see [`Storage::map`]), instead of those of `entry`.
    ///
    /// Taking `&mut self` means the array is not published: nothing else accesses it.
    pub(super) fn set(&mut self, index: usize, entry: bindings::pci_epf_doorbell_msg) {
        let dst = self.entry(index);

        // SAFETY: `dst` is valid for reads and, as the array is borrowed mutably, not published,
        // so nothing else accesses it.
        let (iova_base, iova_size) = unsafe { ((*dst).iova_base, (*dst).iova_size) };

        let entry = bindings::pci_epf_doorbell_msg {
            type_: self.kind.as_raw(),
            iova_base,
            iova_size,
            ..entry
        };

        // SAFETY: `dst` is valid for writes; the array is not published (see above).
        unsafe { dst.write(entry) };
    }

    /// Sets the entries from `first` on to copies of the entries before, in turn, without their
    /// mappings: entry `i` is a copy of entry `i % first`.
    pub(super) fn replicate(&mut self, first: usize) {
        let first = first.max(1);

        for i in first..self.len() {
            let src = self.entry(source_index(i, first));
            let dst = self.entry(i);

            // SAFETY: `src` and `dst` are distinct entries of the array (`source_index(i, first)
            // < first <= i`), which is not published (see `set()`).
            unsafe {
                ptr::copy_nonoverlapping(src, dst, 1);
                (*dst).iova_base = 0;
                (*dst).iova_size = 0;
            }
        }
    }

    /// Maps `window` for the controller to write (`dma_map_resource()`) and records the mapping
    /// in entry `index`, which then owns it; returns the DMA address of the register in the
    /// window. [`Storage::set`] keeps the mapping.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the storage has no device, [`EBUSY`] if the entry owns a mapping already,
    /// [`EIO`] if the register cannot be mapped.
    pub(super) fn map(&mut self, index: usize, window: &PageWindow) -> Result<u64> {
        let dev = self.dev.ok_or(EINVAL)?;
        let dst = self.entry(index);

        // An entry owns at most one mapping.
        //
        // SAFETY: `dst` is valid for reads; the array is not published.
        if unsafe { (*dst).iova_size } != 0 {
            return Err(EBUSY);
        }

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

        // INVARIANT: The entry records the mapping just made, which it owns.
        //
        // SAFETY: `dst` is valid for writes; the array is not published.
        unsafe {
            (*dst).iova_base = iova;
            (*dst).iova_size = window.size;
        }

        // CAST: The offset is within a page.
        Ok(dma_to_u64(iova) + window.offset as u64)
    }

    /// Takes back ownership of an array leaked with [`Storage::into_raw`].
    ///
    /// # Safety
    ///
    /// A leaked array is a bare pointer in C's hands: `ptr`, `len` and `dev` must be those of a
    /// [`Storage`] leaked with [`Storage::into_raw`], which nothing else owns anymore.
    pub(super) unsafe fn from_raw(
        ptr: NonNull<bindings::pci_epf_doorbell_msg>,
        len: u16,
        dev: Option<&'a device::Device>,
    ) -> Self {
        // SAFETY: By the safety requirements, entry 0 exists; its `type` is not written anymore.
        let kind = DoorbellKind::from_raw(unsafe { (*ptr.as_ptr()).type_ });

        // INVARIANT: By the safety requirements.
        Self {
            ptr,
            len,
            kind,
            dev,
        }
    }

    /// Leaks the array, for C to own it (in `epf->db_msg`).
    pub(super) fn into_raw(self) -> NonNull<bindings::pci_epf_doorbell_msg> {
        ManuallyDrop::new(self).ptr
    }
}

impl Drop for Storage<'_> {
    // Dropped on every error path that has a storage, and once when the doorbells are freed: one
    // copy for all of them.
    #[inline(never)]
    fn drop(&mut self) {
        if let Some(dev) = self.dev {
            for i in 0..self.len() {
                // SAFETY: `self.entry(i)` is valid for reads; the array is not published anymore.
                let e = unsafe { &*self.entry(i) };

                if e.iova_size != 0 {
                    // SAFETY: By the type invariants the entry owns this mapping of `dev`, made
                    // with `dma_map_resource()` for `DMA_FROM_DEVICE`. The storage is dropped, so
                    // the mapping is not used anymore (a published array is retracted first).
                    unsafe {
                        bindings::dma_unmap_resource(
                            dev.as_raw(),
                            e.iova_base,
                            e.iova_size,
                            bindings::dma_data_direction_DMA_FROM_DEVICE,
                            0,
                        )
                    };
                }
            }
        }

        let len = self.len();

        // SAFETY: By the type invariants, these are the raw parts of a `KVec`.
        drop(unsafe { KVec::from_raw_parts(self.ptr.as_ptr(), len, len) });
    }
}

/// Widens a DMA address to 64 bits.
// `DmaAddress` is `u64` on most, but not all, configurations.
#[allow(clippy::useless_conversion)]
pub(super) fn dma_to_u64(addr: DmaAddress) -> u64 {
    u64::from(addr)
}

/// A doorbell array published in `epf->db_msg` and `epf->num_db` of the function of a
/// controller handle.
///
/// Dropping it releases the doorbells: the platform MSIs of MSI doorbells are freed, then the
/// array is retracted from the function and freed (which removes the mappings of embedded
/// doorbells).
///
/// # Invariants
///
/// - `self.storage` is the array published in `self.ctrl.function()`, and the function has no
///   other.
/// - For MSI doorbells, the platform MSIs of the function's range in the MSI domain of the
///   controller's parent are the doorbells' interrupts, allocated for this array, or none at all.
/// - No interrupt of the doorbells is requested when `self` is dropped: whoever requests one
///   keeps `self` alive until it is freed (see `Doorbells`), or leaks it.
pub(super) struct Published<'a> {
    ctrl: Controller<'a>,
    storage: ManuallyDrop<Storage<'a>>,
    msi_allocated: bool,
}

impl<'a> Published<'a> {
    /// Publishes `storage` in the function of `ctrl`, so that the MSI write-back callback finds
    /// it.
    ///
    /// # Errors
    ///
    /// [`EBUSY`] if the function already has doorbells; `storage` is dropped then.
    pub(super) fn new(ctrl: &Controller<'a>, storage: Storage<'a>) -> Result<Self> {
        let func = ctrl.function();

        // Claim the slot first, so that the count of another allocation is never overwritten.
        func.db_msg()
            .cmpxchg(ptr::null_mut(), storage.ptr.as_ptr(), Full)
            .map_err(|_| EBUSY)?;

        // The write-back callback reads `num_db` like C's `READ_ONCE()`.
        func.set_num_doorbells(storage.len);

        // INVARIANT: The array is published in the function; no MSI is allocated yet.
        Ok(Self {
            ctrl: *ctrl,
            storage: ManuallyDrop::new(storage),
            msi_allocated: false,
        })
    }

    /// Takes back ownership of the array that the Rust allocator published in the function of
    /// `ctrl` through the C API, if the function has one.
    ///
    /// # Safety
    ///
    /// The C API (`pci_epf_free_doorbell()`) hands over a function and nothing else, so only its
    /// caller can promise that:
    /// - the array in `epf->db_msg`, if any, was published by this allocator and then left to C
    ///   (see [`Published::into_c`]), for this same controller, and is not owned by anyone else;
    /// - no interrupt of the doorbells is requested anymore.
    pub(super) unsafe fn adopt(ctrl: &Controller<'a>) -> Option<Self> {
        let func = ctrl.function();
        let ptr = NonNull::new(func.doorbell_array())?;
        let len = func.num_doorbells();

        // SAFETY: By the safety requirements, the array was leaked by `into_c()` from a `Storage`
        // of `len` entries whose mappings, if any, belong to the parent of the controller (the
        // device embedded doorbells are mapped for).
        let storage = unsafe { Storage::from_raw(ptr, len, Some(ctrl.parent())) };
        let kind = storage.kind();

        // INVARIANT: The array is published in the function; the MSIs of MSI doorbells were
        // allocated for it (`into_c()` only leaves complete allocations to C).
        Some(Self {
            ctrl: *ctrl,
            storage: ManuallyDrop::new(storage),
            msi_allocated: kind == DoorbellKind::Msi,
        })
    }

    /// Returns the controller handle of the function the doorbells are published in.
    pub(super) fn controller(&self) -> &Controller<'a> {
        &self.ctrl
    }

    /// Returns the doorbell array.
    pub(super) fn storage(&self) -> &Storage<'a> {
        &self.storage
    }

    /// Records that the function's platform MSIs of the controller's parent were allocated for
    /// the doorbells, so that dropping `self` frees them, and sets the interrupt number of each
    /// entry to `virq(i)`.
    ///
    /// # Safety
    ///
    /// Whether the MSIs exist is only known to the caller of the MSI core: the platform MSIs of
    /// the function's range (see `msi::Indexes`) must have been allocated by `msi::alloc()` for
    /// this array, one per doorbell, and be owned by nothing else.
    pub(super) unsafe fn record_msis(&mut self, mut virq: impl FnMut(u16) -> c_int) {
        // INVARIANT: By the safety requirements.
        self.msi_allocated = true;
        for i in 0..self.storage.len {
            // SAFETY: The entry exists; no interrupt is requested yet, so the write-back callback
            // does not run and nothing else accesses the entry.
            unsafe { (*self.storage.entry(i.into())).virq = virq(i) };
        }
    }

    /// Retracts the array without freeing the platform MSIs, after a failed allocation of them.
    pub(super) fn retract(mut self) {
        self.msi_allocated = false;
    }

    /// Leaves the array to C, which frees it with `pci_epf_free_doorbell()`.
    pub(super) fn into_c(self) {
        let mut this = ManuallyDrop::new(self);

        // SAFETY: `this.storage` is not used anymore, `this` is not dropped.
        let storage = unsafe { ManuallyDrop::take(&mut this.storage) };

        // The array stays published; `adopt()` takes it back.
        storage.into_raw();
    }
}

impl Drop for Published<'_> {
    fn drop(&mut self) {
        if self.msi_allocated {
            // SAFETY: By the type invariants, the function's platform MSIs of the parent are the
            // interrupts of these doorbells, allocated by `msi::alloc()` for `len` of them, and
            // none of them is requested anymore.
            unsafe { super::msi::free(&self.ctrl, self.storage.len) };
        }

        // No interrupt refers to the array anymore: retract it before freeing it.
        let func = self.ctrl.function();
        func.set_num_doorbells(0);
        func.db_msg().store(ptr::null_mut(), Release);

        // SAFETY: `self.storage` is not used anymore.
        drop(unsafe { ManuallyDrop::take(&mut self.storage) });
    }
}
