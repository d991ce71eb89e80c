// SPDX-License-Identifier: GPL-2.0

//! The BAR memory of an endpoint function: [`BarSpace`], its I/O view [`BarIo`] and
//! [`Retarget`].
//!
//! C header: [`include/linux/pci-epf.h`](srctree/include/linux/pci-epf.h)

use super::{
    BarNo,
    Controller, //
};
use crate::{
    bindings,
    dma::DmaAddress,
    error::to_result,
    io::{
        Io,
        IoCapable,
        IoKnownSize, //
    },
    prelude::*,
    types::Opaque, //
};
use core::ptr::{
    addr_of_mut,
    NonNull, //
};

/// The backing memory of a BAR of an endpoint function, allocated by `pci_epf_alloc_space()`.
///
/// The memory is DMA-coherent memory of the controller's parent device. While the BAR is set
/// ([`BarSpace::set_bar`]) the host reads and writes it through the BAR. Dropping a [`BarSpace`]
/// clears the BAR first if it is still set, and then frees the memory (`pci_epf_free_space()`),
/// so the host can never reach freed memory.
///
/// Only one [`BarSpace`] can exist for a given BAR of a function at any time.
///
/// The memory is shared with the host, which accesses it concurrently; it is therefore only
/// accessible as an I/O region: a [`BarSpace`] dereferences to its [`BarIo`], which implements
/// the kernel's [`Io`] accessors (`space.try_read32(offset)`, `space.try_write32(value, offset)`,
/// and the build-time checked ones through [`BarIo::sized`]).
///
/// # Invariants
///
/// - `self.io` describes the memory returned by `pci_epf_alloc_space()` for `self.bar` of the
///   function of `self.ctrl`, and the size it was allocated with.
/// - `self.ctrl`'s function state has `self.bar` claimed for this object.
/// - If `self.retarget` is `Some`, the BAR is set to the `struct pci_epf_bar` it holds, and
///   `self.set` is `true`.
pub struct BarSpace<'a> {
    ctrl: Controller<'a>,
    bar: BarNo,
    io: BarIo,
    set: bool,
    retarget: Option<KBox<Opaque<bindings::pci_epf_bar>>>,
    submap: Option<KVec<bindings::pci_epf_bar_submap>>,
}

// SAFETY: All accesses to the memory are volatile and the C functions used by `BarSpace` can be
// called from any thread.
unsafe impl Send for BarSpace<'_> {}

// SAFETY: The methods taking `&self` only perform volatile accesses to the memory, which are
// valid concurrently with each other (and with the host).
unsafe impl Sync for BarSpace<'_> {}

impl<'a> Controller<'a> {
    /// Allocates the backing memory of `bar`, see `pci_epf_alloc_space()`.
    ///
    /// The size is adjusted the way the controller requires: at least 128 bytes, at least 1 MiB
    /// for a resizable BAR, exactly the fixed size of a fixed BAR, otherwise rounded up to a
    /// power of two; [`BarSpace::size`] returns the result.
    ///
    /// # Errors
    ///
    /// - [`EBUSY`] if memory for `bar` is already allocated by this driver.
    /// - `EOPNOTSUPP` if the controller does not report its features.
    /// - [`ENOMEM`] if `size` is larger than a fixed BAR or the allocation failed.
    pub fn alloc_space(&self, bar: BarNo, size: usize) -> Result<BarSpace<'a>> {
        let state = self.state();

        state.claim_bar(bar)?;

        let Some(features) = self.raw_features() else {
            state.release_bar(bar);
            return Err(EOPNOTSUPP);
        };

        let epf = self.function().as_raw();

        // SAFETY:
        // - `epf` is a valid `struct pci_epf` linked to its primary controller, by the type
        //   invariants of `Controller`.
        // - `features` are the controller's features for this function.
        // - `bar` is a valid BAR number and owned by this caller (claimed above).
        let addr = unsafe {
            bindings::pci_epf_alloc_space(
                epf,
                size,
                bar.as_raw(),
                features,
                bindings::pci_epc_interface_type_PRIMARY_INTERFACE,
            )
        };

        let Some(addr) = NonNull::new(addr.cast::<u8>()) else {
            state.release_bar(bar);
            return Err(ENOMEM);
        };

        // SAFETY: `epf` is valid and `bar` is owned by this caller, so nothing else changes the
        // entry concurrently.
        let size = unsafe { (*epf).bar[bar.index()].size };

        // INVARIANT: `addr` and `size` come from `pci_epf_alloc_space()` for `bar`, which is
        // claimed; the BAR is not set. `pci_epf_alloc_space()` returns `dma_alloc_coherent()`
        // memory, which is page aligned and valid for `size` bytes until it is freed in `drop()`.
        Ok(BarSpace {
            ctrl: *self,
            bar,
            io: BarIo { addr, size },
            set: false,
            retarget: None,
            submap: None,
        })
    }
}

impl<'a> BarSpace<'a> {
    fn epf_bar(&self) -> *mut bindings::pci_epf_bar {
        // SAFETY: The function is valid by the type invariants of `Controller`, and `self.bar`
        // is in bounds of the `bar` array.
        unsafe { addr_of_mut!((*self.ctrl.function().as_raw()).bar[self.bar.index()]) }
    }

    /// Returns the BAR this memory belongs to.
    pub fn bar(&self) -> BarNo {
        self.bar
    }

    /// Returns the size of the BAR, in bytes.
    pub fn size(&self) -> usize {
        self.io.size
    }

    /// Returns the DMA address of the memory, i.e. the address the BAR is translated to.
    pub fn dma_addr(&self) -> DmaAddress {
        // SAFETY: `self.epf_bar()` is valid; the entry is owned by `self`.
        unsafe { (*self.epf_bar()).phys_addr }
    }

    /// Returns whether the BAR is currently set.
    pub fn is_set(&self) -> bool {
        self.set
    }

    /// Sets the BAR to this memory so that the host can access it, see `pci_epc_set_bar()`.
    ///
    /// Setting a BAR that is already set reprograms it, which only works on controllers that
    /// support dynamic inbound mapping.
    pub fn set_bar(&mut self) -> Result {
        if self.retarget.is_some() {
            return Err(EBUSY);
        }

        let (epc, func_no, vfunc_no) = self.ctrl.raw_parts();

        // SAFETY: `epc` is the controller of the function, `self.epf_bar()` is a valid BAR
        // descriptor that lives inside the function for as long as the BAR may stay set.
        to_result(unsafe { bindings::pci_epc_set_bar(epc, func_no, vfunc_no, self.epf_bar()) })?;
        self.set = true;
        Ok(())
    }

    /// Clears the BAR, see `pci_epc_clear_bar()`. Does nothing if the BAR is not set.
    pub fn clear_bar(&mut self) {
        if !self.set {
            return;
        }

        let (epc, func_no, vfunc_no) = self.ctrl.raw_parts();
        let desc = match &self.retarget {
            Some(desc) => desc.get(),
            None => self.epf_bar(),
        };

        // SAFETY: `epc` is the controller of the function; `desc` is the descriptor the BAR is
        // currently set to.
        unsafe { bindings::pci_epc_clear_bar(epc, func_no, vfunc_no, desc) };

        self.set = false;
        // The controller no longer refers to the retargeted descriptor.
        self.retarget = None;

        if self.submap.take().is_some() {
            // SAFETY: The descriptor is owned by `self`; the BAR is cleared, so the controller
            // does not use the subranges anymore.
            unsafe {
                (*self.epf_bar()).submap = core::ptr::null_mut();
                (*self.epf_bar()).num_submap = 0;
            }
        }
    }

    /// Aligns `addr` to the size of this BAR, see `pci_epf_align_inbound_addr()`.
    ///
    /// Returns the base address to translate the BAR to and the offset of `addr` within the BAR.
    pub fn align_inbound_addr(&self, addr: u64) -> Result<(DmaAddress, usize)> {
        let mut base: DmaAddress = 0;
        let mut offset: usize = 0;

        // SAFETY: The function is valid; `base` and `offset` are valid for writes.
        to_result(unsafe {
            bindings::pci_epf_align_inbound_addr(
                self.ctrl.function().as_raw(),
                self.bar.as_raw(),
                addr,
                &mut base,
                &mut offset,
            )
        })?;

        Ok((base, offset))
    }

    /// Temporarily translates the BAR to the memory that contains `addr` instead of this memory.
    ///
    /// This is how a doorbell that is not exposed in a BAR of its own is made reachable by the
    /// host (see [`DoorbellTarget::MapIntoFreeBar`](super::doorbell::DoorbellTarget)). The
    /// returned guard translates the BAR back to this memory when it is dropped; the offset of
    /// `addr` within the BAR is [`Retarget::offset`].
    ///
    /// The BAR must be set. Reprogramming a set BAR only works on controllers that support
    /// dynamic inbound mapping ([`Features::dynamic_inbound_mapping`](super::Features)).
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the BAR is not set, [`EBUSY`] if it is already retargeted, or the error of
    /// `pci_epc_set_bar()`.
    pub fn retarget(&mut self, addr: u64) -> Result<Retarget<'_, 'a>> {
        let offset = self.retarget_to(addr)?;

        Ok(Retarget {
            space: self,
            offset,
        })
    }

    /// Like [`BarSpace::retarget`], but without a guard: the BAR stays translated to the memory
    /// that contains `addr` until [`BarSpace::restore`] is called or the BAR is cleared.
    ///
    /// Returns the offset of `addr` within the BAR. This suits drivers that keep the BAR
    /// retargeted across callbacks, as the guard would borrow the [`BarSpace`].
    pub fn retarget_to(&mut self, addr: u64) -> Result<usize> {
        if !self.set {
            return Err(EINVAL);
        }
        if self.retarget.is_some() {
            return Err(EBUSY);
        }

        let (base, offset) = self.align_inbound_addr(addr)?;

        self.set_translation(base)?;
        Ok(offset)
    }

    /// Translates the whole BAR to the memory at `addr`, for memory windows whose inbound
    /// translation a local client chooses at run time (the NTB `mw_set_trans`).
    ///
    /// Unlike [`BarSpace::retarget_to`], `addr` is not aligned down: it must be aligned to the
    /// size of the BAR, which the host reaches as a whole from `addr` on. The BAR may already be
    /// translated; the new translation replaces the old one, which stays in place if setting
    /// the new one fails. [`BarSpace::restore`] translates the BAR back to this memory, so that
    /// the host no longer reaches the client's memory.
    ///
    /// The BAR is set with the function's own function numbers.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the BAR is not set or `addr` is not aligned to its size, [`ENOMEM`], or the
    /// error of `pci_epc_set_bar()`.
    pub fn translate_to(&mut self, addr: DmaAddress) -> Result {
        if !self.set || !is_aligned_to_size(addr, self.io.size) {
            return Err(EINVAL);
        }

        self.set_translation(addr)
    }

    /// Sets the BAR to a copy of its descriptor that translates it to `phys`, kept in
    /// `self.retarget` while the BAR is set to it; a descriptor it was set to before is dropped
    /// once the controller uses the new one. If setting the BAR fails, nothing changes.
    fn set_translation(&mut self, phys: DmaAddress) -> Result {
        // SAFETY: `self.epf_bar()` is valid for reads.
        let mut desc = unsafe { self.epf_bar().read() };
        desc.phys_addr = phys;
        desc.addr = core::ptr::null_mut();

        // The controller may keep a pointer to the descriptor while the BAR is set, so it gets a
        // stable address.
        let desc = KBox::new(Opaque::new(desc), GFP_KERNEL)?;
        let (epc, func_no, vfunc_no) = self.ctrl.raw_parts();

        // SAFETY: `epc` is the controller of the function; `desc` is a valid descriptor that is
        // kept alive until the BAR is set to another one, set back or cleared.
        to_result(unsafe { bindings::pci_epc_set_bar(epc, func_no, vfunc_no, desc.get()) })?;

        // INVARIANT: The BAR is set to `desc`; the controller no longer uses a previous
        // descriptor, which is dropped here.
        self.retarget = Some(desc);
        Ok(())
    }

    /// Returns whether the BAR is translated to other memory, see [`BarSpace::retarget_to`].
    pub fn is_retargeted(&self) -> bool {
        self.retarget.is_some()
    }

    /// Translates a retargeted BAR back to this memory. Does nothing if it is not retargeted.
    ///
    /// # Errors
    ///
    /// The error of `pci_epc_set_bar()`; the BAR is then cleared rather than left pointing at
    /// foreign memory.
    pub fn restore(&mut self) -> Result {
        if self.retarget.is_none() {
            return Ok(());
        }

        let (epc, func_no, vfunc_no) = self.ctrl.raw_parts();

        // SAFETY: `epc` is the controller of the function; the original descriptor lives inside
        // the function.
        let ret = unsafe { bindings::pci_epc_set_bar(epc, func_no, vfunc_no, self.epf_bar()) };
        let ret = to_result(ret);

        if let Err(e) = ret {
            dev_err!(
                self.ctrl.function().as_ref(),
                "Failed to restore BAR {}: {:?}\n",
                self.bar.index(),
                e
            );
            self.clear_bar();
            return Err(e);
        }

        // INVARIANT: The BAR is set to the function's own descriptor again.
        self.retarget = None;
        Ok(())
    }

    /// Lays the BAR out as `subranges` of this memory, see `struct pci_epf_bar_submap`.
    ///
    /// Each entry is an `(offset, size)` range of this memory; the host sees them back to back
    /// from BAR offset 0, and together they must cover the BAR. The BAR must be set; the
    /// controller must support dynamic inbound and subrange mapping. On failure the previous
    /// layout is restored.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if a range is outside this memory or the BAR is not set (or retargeted),
    /// [`ENOMEM`], or the error of `pci_epc_set_bar()` (e.g. `ENOSPC` if the controller lacks
    /// translation windows).
    pub fn set_subranges(&mut self, subranges: &[(usize, usize)]) -> Result {
        if !self.set || self.retarget.is_some() || subranges.is_empty() {
            return Err(EINVAL);
        }

        let base = self.dma_addr();
        let mut map = KVec::with_capacity(subranges.len(), GFP_KERNEL)?;

        for &(offset, size) in subranges {
            let end = offset.checked_add(size).ok_or(EINVAL)?;
            if size == 0 || end > self.io.size {
                return Err(EINVAL);
            }

            map.push(
                bindings::pci_epf_bar_submap {
                    // CAST: `offset` is within the allocation, which is DMA addressable.
                    phys_addr: base + offset as DmaAddress,
                    size,
                },
                GFP_KERNEL,
            )?;
        }

        let num = u32::try_from(map.len()).map_err(|_| EINVAL)?;
        self.apply_submap(Some(map), num)
    }

    /// Removes a layout set by [`BarSpace::set_subranges`], mapping the BAR flat again.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the BAR has no subranges, or the error of `pci_epc_set_bar()` (the
    /// subranges then stay).
    pub fn clear_subranges(&mut self) -> Result {
        if self.submap.is_none() || !self.set {
            return Err(EINVAL);
        }

        self.apply_submap(None, 0)
    }

    /// Returns whether the BAR is laid out in subranges.
    pub fn has_subranges(&self) -> bool {
        self.submap.is_some()
    }

    fn apply_submap(
        &mut self,
        mut map: Option<KVec<bindings::pci_epf_bar_submap>>,
        num: u32,
    ) -> Result {
        let desc = self.epf_bar();
        let ptr = map
            .as_mut()
            .map_or(core::ptr::null_mut(), |m| m.as_mut_ptr());
        let (epc, func_no, vfunc_no) = self.ctrl.raw_parts();

        // SAFETY: `desc` is the descriptor of the BAR, owned by `self`; `ptr` points to `num`
        // entries (or is NULL with `num == 0`) that stay alive in `self.submap` while the
        // descriptor refers to them.
        let (old_ptr, old_num) = unsafe {
            let old = ((*desc).submap, (*desc).num_submap);
            (*desc).submap = ptr;
            (*desc).num_submap = num;
            old
        };

        // SAFETY: `epc` is the controller of the function and `desc` a valid descriptor.
        let ret = to_result(unsafe { bindings::pci_epc_set_bar(epc, func_no, vfunc_no, desc) });

        if let Err(e) = ret {
            // SAFETY: As above; the old entries are still alive in `self.submap`.
            unsafe {
                (*desc).submap = old_ptr;
                (*desc).num_submap = old_num;
            }

            // SAFETY: As above.
            let again = unsafe { bindings::pci_epc_set_bar(epc, func_no, vfunc_no, desc) };
            if again != 0 {
                dev_warn!(
                    self.ctrl.function().as_ref(),
                    "Failed to restore the layout of BAR {}\n",
                    self.bar.index()
                );
            }

            return Err(e);
        }

        // The controller now uses the new entries; the old ones can go.
        self.submap = map;
        Ok(())
    }

    /// Fills `len` bytes at `offset` with `byte`, one volatile byte write at a time.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the range is out of bounds.
    pub fn fill(&self, offset: usize, len: usize, byte: u8) -> Result {
        let end = offset.checked_add(len).ok_or(EINVAL)?;
        if end > self.io.size {
            return Err(EINVAL);
        }

        (offset..end).try_for_each(|i| self.io.try_write8(byte, i))
    }
}

impl core::ops::Deref for BarSpace<'_> {
    type Target = BarIo;

    fn deref(&self) -> &BarIo {
        &self.io
    }
}

impl Drop for BarSpace<'_> {
    fn drop(&mut self) {
        // The host must not reach the memory once it is freed.
        self.clear_bar();

        // SAFETY: By the type invariants, `self.io.addr` was allocated by
        // `pci_epf_alloc_space()` for `self.bar` of this function and the BAR is not set anymore.
        // No `&BarIo` outlives `self`, as they are borrowed from it.
        unsafe {
            bindings::pci_epf_free_space(
                self.ctrl.function().as_raw(),
                self.io.addr.as_ptr().cast(),
                self.bar.as_raw(),
                bindings::pci_epc_interface_type_PRIMARY_INTERFACE,
            )
        };

        self.ctrl.state().release_bar(self.bar);
    }
}

/// Returns whether `addr` is aligned to `size`, a power of two as BAR sizes are.
///
/// # Examples
///
/// ```
/// use kernel::pci::endpoint::is_aligned_to_size;
///
/// assert!(is_aligned_to_size(0x10_0000, 0x10_0000));
/// assert!(!is_aligned_to_size(0x10_1000, 0x10_0000));
/// // A size that is not a power of two never matches.
/// assert!(!is_aligned_to_size(0, 0x3000));
/// ```
pub fn is_aligned_to_size(addr: DmaAddress, size: usize) -> bool {
    // CAST: A BAR size fits the DMA address space.
    let size = size as DmaAddress;

    size.is_power_of_two() && addr & (size - 1) == 0
}

/// The memory behind a BAR as an I/O region: the [`Io`] backend of a [`BarSpace`].
///
/// The memory is ordinary kernel memory (DMA-coherent memory of the controller's parent device,
/// allocated by `pci_epf_alloc_space()`), not `__iomem`: the MMIO accessors of
/// [`Mmio`](crate::io::Mmio) (`readl()` and friends) are not meant for it. The host reads and
/// writes it through the BAR at any time, so every access is a single volatile access of the
/// access width, which is what C's `READ_ONCE()`/`WRITE_ONCE()` are on such memory, and
/// little-endian like the PCI bus (`le32_to_cpu()`/`cpu_to_le32()` in C).
///
/// A [`BarIo`] is only ever reached by reference from the [`BarSpace`] that owns the memory.
/// `SIZE` is a lower bound of its size known at build time: accesses through the infallible
/// [`Io`] accessors ([`Io::read32`], [`Io::read`] with a [`register!`](crate::io::register!)
/// location, ...) are checked at build time against it, see [`BarIo::sized`]; the `try_*`
/// accessors check at run time against the whole size.
///
/// # Invariants
///
/// - `self.addr` is valid for reads and writes of `self.size` bytes for as long as `self` is
///   borrowed, and aligned to at least 8 bytes.
/// - `self.size >= SIZE`.
//
// `repr(C)`: the layout does not depend on `SIZE`, so `BarIo::sized` can reinterpret a reference.
#[repr(C)]
pub struct BarIo<const SIZE: usize = 0> {
    pub(super) addr: NonNull<u8>,
    pub(super) size: usize,
}

// SAFETY: All accesses through `&BarIo` are volatile accesses to memory that the host accesses
// concurrently anyway; none of them mutates `self` or relies on being the only accessor.
unsafe impl<const SIZE: usize> Sync for BarIo<SIZE> {}

impl<const SIZE: usize> BarIo<SIZE> {
    /// Returns this region as a region of at least `N` bytes known at build time, so that
    /// accesses at constant offsets below `N` are checked at build time and cannot fail.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the region is smaller than `N` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{io::Io, pci::endpoint::BarSpace};
    ///
    /// fn doorbell_data(space: &BarSpace<'_>) -> Result<u32> {
    ///     let regs = space.sized::<0x40>()?;
    ///     Ok(regs.read32(0x3c))
    /// }
    /// ```
    pub fn sized<const N: usize>(&self) -> Result<&BarIo<N>> {
        if self.size < N {
            return Err(EINVAL);
        }

        // INVARIANT: `self.size >= N` was checked above; the rest is unchanged.
        // SAFETY: `BarIo<SIZE>` and `BarIo<N>` are `repr(C)` with the same fields, so they have
        // the same layout. The reference keeps the lifetime of `self`.
        Ok(unsafe { &*core::ptr::from_ref(self).cast::<BarIo<N>>() })
    }

    /// Returns a pointer to the `T` at the absolute `address` of this region, without checks.
    #[inline(always)]
    fn ptr<T>(&self, address: usize) -> *mut T {
        let base = self.addr.as_ptr();

        // The pointer is derived from `self.addr`, so it keeps its provenance.
        base.wrapping_add(address.wrapping_sub(base as usize))
            .cast()
    }
}

/// Implements [`IoCapable`] on [`BarIo`] for `$ty` with volatile little-endian accesses.
macro_rules! impl_bar_io_capable {
    ($(#[$attr:meta])* $ty:ty) => {
        $(#[$attr])*
        impl<const SIZE: usize> IoCapable<$ty> for BarIo<SIZE> {
            #[inline(always)]
            unsafe fn io_read(&self, address: usize) -> $ty {
                let ptr = self.ptr::<$ty>(address);

                if ptr.is_aligned() {
                    // SAFETY: By the safety requirements, `address..address + size_of::<$ty>()`
                    // is within `self.addr()..self.addr() + self.maxsize()`, which is valid
                    // memory by the type invariants, and `ptr` is aligned. The host may write
                    // the memory concurrently: a volatile read of an integer, for which every
                    // bit pattern is valid, is C's `READ_ONCE()`.
                    <$ty>::from_le(unsafe { ptr.read_volatile() })
                } else {
                    // The accessors of `Io` only pass aligned offsets; a caller of `io_read()`
                    // may not, which is valid but not a single access.
                    let mut bytes = [0u8; core::mem::size_of::<$ty>()];
                    for (i, b) in bytes.iter_mut().enumerate() {
                        // SAFETY: As above, byte `i` of the range is valid memory; a byte is
                        // always aligned.
                        *b = unsafe { ptr.cast::<u8>().add(i).read_volatile() };
                    }
                    <$ty>::from_le_bytes(bytes)
                }
            }

            #[inline(always)]
            unsafe fn io_write(&self, value: $ty, address: usize) {
                let ptr = self.ptr::<$ty>(address);

                if ptr.is_aligned() {
                    // SAFETY: As in `io_read()`, as C's `WRITE_ONCE()`.
                    unsafe { ptr.write_volatile(value.to_le()) };
                } else {
                    for (i, b) in value.to_le_bytes().into_iter().enumerate() {
                        // SAFETY: As in `io_read()`.
                        unsafe { ptr.cast::<u8>().add(i).write_volatile(b) };
                    }
                }
            }
        }
    };
}

impl_bar_io_capable!(u8);
impl_bar_io_capable!(u16);
impl_bar_io_capable!(u32);
// As for `Mmio`: a 64-bit access is one access only on 64-bit systems.
impl_bar_io_capable!(
    #[cfg(CONFIG_64BIT)]
    u64
);

impl<const SIZE: usize> Io for BarIo<SIZE> {
    #[inline]
    fn addr(&self) -> usize {
        self.addr.as_ptr() as usize
    }

    #[inline]
    fn maxsize(&self) -> usize {
        self.size
    }
}

impl<const SIZE: usize> IoKnownSize for BarIo<SIZE> {
    const MIN_SIZE: usize = SIZE;
}

/// A BAR temporarily translated to other memory, see [`BarSpace::retarget`].
///
/// Dropping it translates the BAR back to its [`BarSpace`]. If it is leaked instead, the
/// [`BarSpace`] clears the BAR when it is dropped.
pub struct Retarget<'s, 'a> {
    space: &'s mut BarSpace<'a>,
    offset: usize,
}

impl Retarget<'_, '_> {
    /// Returns the offset within the BAR at which the retargeted address appears.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl Drop for Retarget<'_, '_> {
    fn drop(&mut self) {
        // On failure, `restore()` logs and leaves the BAR cleared.
        let _ = self.space.restore();
    }
}
