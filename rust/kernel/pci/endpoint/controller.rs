// SPDX-License-Identifier: GPL-2.0

//! PCI endpoint controllers, as seen by one of their functions.
//!
//! C header: [`include/linux/pci-epc.h`](srctree/include/linux/pci-epc.h)

use super::{
    function::FunctionState,
    BarNo,
    Function,
    Header, //
};
#[cfg(CONFIG_DMA_ENGINE)]
use crate::dmaengine::{
    Channel,
    Direction,
    DmaBuffer,
    Transfer, //
};
use crate::{
    bindings,
    device,
    error::to_result,
    io::{
        Mmio,
        MmioRaw,
        PhysAddr,
        ResourceSize, //
    },
    pci::IrqType,
    prelude::*,
    sync::Mutex, //
};
use core::{
    marker::PhantomData,
    mem::MaybeUninit,
    ptr::{
        addr_of,
        addr_of_mut,
        NonNull, //
    },
};

/// Proof that a [`Function`] is linked to an endpoint controller through its primary interface.
///
/// A function is linked to a controller from `pci_epc_add_epf()`, which sets `epf->epc` and the
/// function numbers, to `pci_epc_remove_epf()`, which clears them. configfs calls the EPF `bind`
/// callback right after the first and the EPF `unbind` callback right before the second, so the
/// function is linked for the whole time between those callbacks; the
/// [`Adapter`](super::Adapter) hands out a [`Linked`] for no longer than that.
///
/// The link does not keep the controller alive by itself: the EPC core relies, for C functions
/// as for Rust ones, on the controller not being destroyed (`pci_epc_destroy()`) while functions
/// are linked to it, and it does not unlink them if that happens. A [`Linked`] relies on the
/// same, and claims nothing more.
///
/// # Invariants
///
/// For the whole lifetime `'a`:
/// - `self.func` is linked to the controller `self.epc` through its primary interface, i.e.
///   `self.func->epc == self.epc`, and its `func_no`/`vfunc_no` do not change;
/// - `self.epc` is a registered controller.
#[derive(Clone, Copy)]
pub struct Linked<'a> {
    func: &'a Function,
    epc: NonNull<bindings::pci_epc>,
    _p: PhantomData<&'a bindings::pci_epc>,
}

// SAFETY: A `Linked` is a proof and a pointer to the controller, which is only passed to C EPC
// operations; those serialize themselves on `epc->lock` and may be called from any thread.
unsafe impl Send for Linked<'_> {}

// SAFETY: See the `Send` implementation; no method takes `&mut self`.
unsafe impl Sync for Linked<'_> {}

impl<'a> Linked<'a> {
    /// Returns the proof that `func` is linked to its primary controller, or [`None`] if it is
    /// not linked through its primary interface.
    ///
    /// # Safety
    ///
    /// For the whole lifetime `'a`, `func` must stay linked to its current primary controller and
    /// that controller must stay registered. In practice, `'a` must not extend beyond the EPF
    /// `unbind` callback, which runs before the link is removed.
    pub(crate) unsafe fn new(func: &'a Function) -> Option<Self> {
        // SAFETY: `func.as_raw()` is a valid `struct pci_epf`; by the safety requirements `epc`
        // does not change for `'a`.
        let epc = NonNull::new(unsafe { (*func.as_raw()).epc })?;

        // INVARIANT: The link and the registration by the safety requirements.
        Some(Self {
            func,
            epc,
            _p: PhantomData,
        })
    }

    /// Returns the function that is linked.
    pub fn function(&self) -> &'a Function {
        self.func
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::pci_epc {
        self.epc.as_ptr()
    }

    /// Returns the function number of the function within the controller.
    pub fn func_no(&self) -> u8 {
        // SAFETY: The function is valid and, by the type invariants, `func_no` is stable while
        // the function is linked.
        unsafe { (*self.func.as_raw()).func_no }
    }

    /// Returns the virtual function number of the function (0 for a physical function).
    pub fn vfunc_no(&self) -> u8 {
        // SAFETY: Same as in `func_no()`.
        unsafe { (*self.func.as_raw()).vfunc_no }
    }

    /// Returns the parent device of the controller, i.e. the device of the controller driver.
    ///
    /// This is the device that owns the DMA and MSI resources of the controller.
    pub fn parent(&self) -> &'a device::Device {
        // SAFETY: By the type invariants `self.epc` is a registered controller for `'a`; its
        // parent is set at creation and the controller device holds a reference to it.
        unsafe { device::Device::from_raw((*self.as_raw()).dev.parent) }
    }

    /// Returns the parent device of the controller in the [`Bound`](device::Bound) context, for
    /// DMA allocations and DMA engine channels.
    ///
    /// The parent is bound while the function is linked if the controller was created with
    /// `devm_pci_epc_create()` by the parent's driver, as every in-tree controller driver does:
    /// devres then destroys the controller while the parent unbinds, and the controller
    /// outlives the link. This is checked on each call (`pci_epc_is_devres_managed()`), not when
    /// the [`Linked`] is made: most links, e.g. those of the doorbell allocator's C API, never
    /// need it.
    ///
    /// # Errors
    ///
    /// [`ENODEV`] if the controller was created otherwise (`pci_epc_create()`), or its parent
    /// was not bound: then nothing ties the controller's lifetime to a binding of its parent.
    pub fn dma_device(&self) -> Result<&'a device::Device<device::Bound>> {
        // SAFETY: By the type invariants `self.epc` is a registered controller.
        if !unsafe { bindings::pci_epc_is_devres_managed(self.as_raw()) } {
            return Err(ENODEV);
        }

        // SAFETY: By the type invariants the controller stays registered for `'a`. It was just
        // found to be destroyed by a devres action of its parent, which is bound: the action
        // runs no later than the parent unbinds, so the parent stays bound for `'a`.
        Ok(unsafe { device::Device::from_raw((*self.as_raw()).dev.parent) })
    }
}

/// The endpoint controller a [`Function`] is linked to, as seen by that function.
///
/// Every operation of the C EPC API takes the controller together with the function number and
/// virtual function number of the caller; a [`Controller`] carries all three, with the proof that
/// the function is [`Linked`] to the controller. It is handed to the callbacks of a
/// [`Driver`](super::Driver) while the function is linked to the controller (`epf->epc`), and it
/// cannot outlive that link: everything that borrows it (BAR memory, outbound mappings,
/// doorbells) is released before the function is unlinked.
///
/// Only the primary interface of a function is supported.
///
/// # Invariants
///
/// For the whole lifetime `'a`, `self.link` is the link of `self.func`, and `self.state` is the
/// adapter state of `self.func`.
#[derive(Clone, Copy)]
pub struct Controller<'a> {
    link: Linked<'a>,
    func: &'a Function<device::Bound>,
    state: &'a FunctionState,
}

impl<'a> Controller<'a> {
    /// Creates the handle for the controller `link` leads to, or [`None`] if `link` is not the
    /// link of `func`.
    ///
    /// # Safety
    ///
    /// `state` must be the adapter state of `func` for the whole lifetime `'a`.
    pub(crate) unsafe fn new(
        func: &'a Function<device::Bound>,
        link: Linked<'a>,
        state: &'a FunctionState,
    ) -> Option<Self> {
        if !core::ptr::eq(link.function().as_raw(), func.as_raw()) {
            return None;
        }

        // INVARIANT: `link` is the link of `func`, checked above; `state` by the safety
        // requirements.
        Some(Self { link, func, state })
    }

    /// Returns the function this handle belongs to.
    pub fn function(&self) -> &'a Function<device::Bound> {
        self.func
    }

    /// Returns the proof that the function is linked to this controller.
    pub fn link(&self) -> Linked<'a> {
        self.link
    }

    pub(crate) fn state(&self) -> &'a FunctionState {
        self.state
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::pci_epc {
        self.link.as_raw()
    }

    /// Returns the function number of the function within the controller.
    pub fn func_no(&self) -> u8 {
        self.link.func_no()
    }

    /// Returns the virtual function number of the function (0 for a physical function).
    pub fn vfunc_no(&self) -> u8 {
        self.link.vfunc_no()
    }

    /// Returns the controller, function number and virtual function number for the C API.
    pub(crate) fn raw_parts(&self) -> (*mut bindings::pci_epc, u8, u8) {
        (self.as_raw(), self.func_no(), self.vfunc_no())
    }

    /// Returns the parent device of the controller, see [`Linked::parent`].
    pub fn parent(&self) -> &'a device::Device {
        self.link.parent()
    }

    /// Returns the parent device of the controller in the [`Bound`](device::Bound) context, see
    /// [`Linked::dma_device`].
    pub fn dma_device(&self) -> Result<&'a device::Device<device::Bound>> {
        self.link.dma_device()
    }

    pub(crate) fn raw_features(&self) -> Option<&'a bindings::pci_epc_features> {
        let (epc, func_no, vfunc_no) = self.raw_parts();

        // SAFETY: `epc` is a valid controller.
        let features = unsafe { bindings::pci_epc_get_features(epc, func_no, vfunc_no) };

        // SAFETY: If not NULL, the features are constant data of the controller driver, valid
        // while the controller is registered, which it is while the function is linked.
        unsafe { features.as_ref() }
    }

    /// Returns the features of the controller for this function, see `pci_epc_get_features()`.
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` if the controller does not report its features.
    pub fn features(&self) -> Result<Features> {
        self.raw_features()
            .map(Features::from_raw)
            .ok_or(EOPNOTSUPP)
    }

    /// Writes `header` to the configuration space of the function, see `pci_epc_write_header()`.
    pub fn write_header(&self, header: &Header) -> Result {
        let (epc, func_no, vfunc_no) = self.raw_parts();

        // SAFETY: `epc` is a valid controller and `header.as_raw()` a valid header.
        to_result(unsafe {
            bindings::pci_epc_write_header(epc, func_no, vfunc_no, header.as_raw())
        })
    }

    /// Requests `count` MSI vectors in the MSI capability of the function, see
    /// `pci_epc_set_msi()`.
    pub fn set_msi(&self, count: u8) -> Result {
        let (epc, func_no, vfunc_no) = self.raw_parts();

        // SAFETY: `epc` is a valid controller.
        to_result(unsafe { bindings::pci_epc_set_msi(epc, func_no, vfunc_no, count) })
    }

    /// Requests `count` MSI-X vectors in the MSI-X capability of the function, with the table at
    /// `offset` in `bar`, see `pci_epc_set_msix()`.
    pub fn set_msix(&self, count: u16, bar: BarNo, offset: u32) -> Result {
        let (epc, func_no, vfunc_no) = self.raw_parts();

        // SAFETY: `epc` is a valid controller.
        to_result(unsafe {
            bindings::pci_epc_set_msix(epc, func_no, vfunc_no, count, bar.as_raw(), offset)
        })
    }

    /// Returns the number of MSI vectors the host enabled, see `pci_epc_get_msi()`; 0 if MSI
    /// is not enabled or the controller cannot tell.
    pub fn msi_count(&self) -> u16 {
        let (epc, func_no, vfunc_no) = self.raw_parts();

        // SAFETY: `epc` is a valid controller.
        let count = unsafe { bindings::pci_epc_get_msi(epc, func_no, vfunc_no) };
        u16::try_from(count).unwrap_or(0)
    }

    /// Returns the number of MSI-X vectors the host enabled, see `pci_epc_get_msix()`; 0 if
    /// MSI-X is not enabled or the controller cannot tell.
    pub fn msix_count(&self) -> u16 {
        let (epc, func_no, vfunc_no) = self.raw_parts();

        // SAFETY: `epc` is a valid controller.
        let count = unsafe { bindings::pci_epc_get_msix(epc, func_no, vfunc_no) };
        u16::try_from(count).unwrap_or(0)
    }

    /// Returns whether the controller aligns outbound addresses itself (`align_addr`), so that
    /// [`Controller::mem_map`] accepts unaligned host addresses.
    pub fn aligns_addresses(&self) -> bool {
        // SAFETY: `epc` is valid; `ops` is set at creation and constant.
        unsafe {
            let ops = (*self.as_raw()).ops;
            !ops.is_null() && (*ops).align_addr.is_some()
        }
    }

    /// Raises an interrupt on the host, see `pci_epc_raise_irq()`.
    ///
    /// `number` is the MSI or MSI-X vector, counting from 1; it is ignored for INTx.
    pub fn raise_irq(&self, irq_type: IrqType, number: u16) -> Result {
        let (epc, func_no, vfunc_no) = self.raw_parts();
        // `pci_epc_raise_irq()` takes the same `PCI_IRQ_*` values as `pci_alloc_irq_vectors()`.
        let raw = match irq_type {
            IrqType::Intx => bindings::PCI_IRQ_INTX,
            IrqType::Msi => bindings::PCI_IRQ_MSI,
            IrqType::MsiX => bindings::PCI_IRQ_MSIX,
        };

        // SAFETY: `epc` is a valid controller.
        to_result(unsafe { bindings::pci_epc_raise_irq(epc, func_no, vfunc_no, raw, number) })
    }

    /// Maps `size` bytes of host (PCI) memory at `pci_addr` into the controller's outbound
    /// window, see `pci_epc_mem_map()`.
    ///
    /// The controller may map less than `size` bytes, see [`Mapping::pci_size`]. The mapping is
    /// removed when the returned [`Mapping`] is dropped.
    pub fn mem_map(&self, pci_addr: u64, size: usize) -> Result<Mapping<'a>> {
        let (epc, func_no, vfunc_no) = self.raw_parts();
        let mut map = bindings::pci_epc_map::default();

        // SAFETY: `epc` is a valid controller and `map` is valid for writes.
        to_result(unsafe {
            bindings::pci_epc_mem_map(epc, func_no, vfunc_no, pci_addr, size, &mut map)
        })?;

        // CAST: The kernel address of the mapping, as `Mmio` takes it.
        let io = match MmioRaw::new(map.virt_addr as usize, map.pci_size) {
            Ok(io) => io,
            Err(e) => {
                // SAFETY: `map` describes the live mapping made above on `epc`.
                unsafe { bindings::pci_epc_mem_unmap(epc, func_no, vfunc_no, &mut map) };
                return Err(e);
            }
        };

        // INVARIANT: `map` was filled by a successful `pci_epc_mem_map()`; `io` is its
        // `virt_addr` and `pci_size`.
        Ok(Mapping {
            ctrl: *self,
            map,
            io,
        })
    }

    /// Returns the number of auxiliary resources of the controller, see
    /// `pci_epc_get_aux_resources_count()`.
    pub fn aux_resources_count(&self) -> Result<usize> {
        let (epc, func_no, vfunc_no) = self.raw_parts();

        // SAFETY: `epc` is a valid controller.
        let count = unsafe { bindings::pci_epc_get_aux_resources_count(epc, func_no, vfunc_no) };

        if count < 0 {
            return Err(Error::from_errno(count));
        }

        // CAST: `count` is not negative.
        Ok(count as usize)
    }

    /// Returns the auxiliary resources of the controller, see `pci_epc_get_aux_resources()`.
    ///
    /// A controller without auxiliary resources yields an empty vector.
    ///
    /// # Errors
    ///
    /// The errors of [`Controller::with_aux_resources`].
    pub fn aux_resources(&self) -> Result<KVec<AuxResource>> {
        self.with_aux_resources(|resources| {
            let mut v = KVec::with_capacity(resources.len(), GFP_KERNEL)?;

            v.extend_from_slice(resources, GFP_KERNEL)?;
            Ok(v)
        })
    }

    /// Calls `f` with the auxiliary resources of the controller, see
    /// `pci_epc_get_aux_resources()`, and returns what it returns.
    ///
    /// Controllers have a handful of resources: up to four are queried and converted on the stack,
    /// without allocating (this is on the path of every embedded doorbell allocation). A
    /// controller without auxiliary resources gives `f` an empty slice.
    ///
    /// # Errors
    ///
    /// The error of the controller (for instance `EOPNOTSUPP` if it cannot report auxiliary
    /// resources), [`ENOMEM`], [`EINVAL`] if the controller reports an invalid resource, or the
    /// error of `f`.
    pub fn with_aux_resources<R>(&self, f: impl FnOnce(&[AuxResource]) -> Result<R>) -> Result<R> {
        let mut stack = [MaybeUninit::uninit(); AUX_ON_STACK];
        let mut heap = None;

        f(self.read_aux_resources(&mut stack, &mut heap)?)
    }

    /// Reads and converts the auxiliary resources for [`Controller::with_aux_resources`], into
    /// `stack` if they fit, into a vector left in `heap` otherwise, and returns them. Only the
    /// resources returned are written: `stack` needs no placeholders.
    ///
    /// Not generic, so that the callers of [`Controller::with_aux_resources`] share it.
    #[inline(never)]
    fn read_aux_resources<'b>(
        &self,
        stack: &'b mut [MaybeUninit<AuxResource>; AUX_ON_STACK],
        heap: &'b mut Option<KVec<AuxResource>>,
    ) -> Result<&'b [AuxResource]> {
        let count = self.aux_resources_count()?;

        // Nothing to query.
        if count == 0 {
            return Ok(&[]);
        }

        if count > AUX_ON_STACK {
            let mut raw: KVec<bindings::pci_epc_aux_resource> =
                KVec::from_elem(pin_init::zeroed(), count, GFP_KERNEL)?;

            self.query_aux_resources(&mut raw)?;
            return Ok(heap.insert(AuxResource::convert_all(&raw)?));
        }

        let mut raw: [bindings::pci_epc_aux_resource; AUX_ON_STACK] = pin_init::zeroed();
        let raw = &mut raw[..count];

        self.query_aux_resources(raw)?;
        for (r, raw) in stack.iter_mut().zip(raw.iter()) {
            r.write(AuxResource::try_from(raw)?);
        }

        // SAFETY: The loop initialized the first `count` elements of `stack` (`raw` has `count`
        // of them, and `count <= AUX_ON_STACK`). `MaybeUninit<AuxResource>` has the layout of
        // `AuxResource`. The slice borrows `stack`.
        Ok(unsafe { core::slice::from_raw_parts(stack.as_ptr().cast::<AuxResource>(), count) })
    }

    /// Returns the number of physical functions of the controller (`epc->max_functions`).
    pub fn max_functions(&self) -> u8 {
        // SAFETY: By the type invariants `self.epc` is a valid controller. Its driver sets
        // `max_functions` before functions can link to it and does not change it afterwards.
        unsafe { addr_of!((*self.as_raw()).max_functions).read() }
    }

    /// Runs `f` with `epc->lock` held.
    ///
    /// The lock serializes the operations of the controller's functions on the controller; the
    /// controller operations (`pci_epc_*()`) take it themselves, so `f` must not call them.
    pub(crate) fn with_lock<R>(&self, f: impl FnOnce() -> R) -> R {
        // SAFETY: By the type invariants `self.epc` is a valid controller, whose `lock` is
        // initialized by `__pci_epc_create()` and lives as long as the controller, which
        // outlives `self`.
        let lock = unsafe { Mutex::<()>::from_raw(addr_of_mut!((*self.as_raw()).lock)) };
        let _guard = lock.lock();
        f()
    }

    /// Fills `raw` with the auxiliary resources in their C representation, see
    /// `pci_epc_get_aux_resources()`.
    fn query_aux_resources(&self, raw: &mut [bindings::pci_epc_aux_resource]) -> Result {
        let (epc, func_no, vfunc_no) = self.raw_parts();
        let num = c_int::try_from(raw.len()).map_err(|_| EINVAL)?;

        // SAFETY: `epc` is a valid controller and `raw` has room for `num` resources.
        let ret = unsafe {
            bindings::pci_epc_get_aux_resources(epc, func_no, vfunc_no, raw.as_mut_ptr(), num)
        };

        match ret {
            0 => Ok(()),
            // A positive value breaks the contract of `pci_epc_get_aux_resources()`.
            ret if ret > 0 => Err(EINVAL),
            ret => Err(Error::from_errno(ret)),
        }
    }
}

/// The configurability of a BAR of an endpoint controller.
///
/// Corresponds to the C `enum pci_epc_bar_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarType {
    /// The BAR size can be programmed by the controller.
    Programmable,
    /// The BAR size is fixed by the hardware, see [`BarDesc::fixed_size`].
    Fixed,
    /// The BAR implements the Resizable BAR capability.
    Resizable,
    /// The BAR is backed by hardware (e.g. MSI-X table, DMA registers) and must not be
    /// reprogrammed by a function driver.
    Reserved,
    /// The BAR is disabled and unavailable to function drivers.
    Disabled,
}

/// The description of one BAR of an endpoint controller, see [`Features::bar`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarDesc {
    ty: BarType,
    fixed_size: u64,
    only_64bit: bool,
    reserved_regions: u8,
}

impl BarDesc {
    /// Returns the type of the BAR.
    pub fn bar_type(&self) -> BarType {
        self.ty
    }

    /// Returns the size of a [`BarType::Fixed`] BAR, if the controller reports one.
    pub fn fixed_size(&self) -> Option<u64> {
        (self.ty == BarType::Fixed && self.fixed_size != 0).then_some(self.fixed_size)
    }

    /// Returns whether the BAR must be configured as a 64-bit BAR.
    ///
    /// A 64-bit BAR also occupies the following BAR number.
    pub fn only_64bit(&self) -> bool {
        self.only_64bit
    }

    /// Returns whether a function driver may use the BAR, i.e. it is neither
    /// [`BarType::Reserved`] nor [`BarType::Disabled`].
    pub fn is_free(&self) -> bool {
        !matches!(self.ty, BarType::Reserved | BarType::Disabled)
    }

    /// Returns the number of fixed sub-regions the controller describes behind a reserved BAR.
    pub fn reserved_regions(&self) -> u8 {
        self.reserved_regions
    }
}

/// The features of an endpoint controller for one function (`struct pci_epc_features`).
///
/// # Examples
///
/// ```
/// use kernel::pci::endpoint::{BarNo, Controller};
///
/// // Returns the first BAR a function driver may use that can hold `size` bytes.
/// fn find_bar(epc: &Controller<'_>, size: u64) -> Result<BarNo> {
///     let features = epc.features()?;
///     let mut bar = features.first_free_bar();
///
///     while let Some(b) = bar {
///         match features.bar(b).fixed_size() {
///             Some(fixed) if fixed < size => {}
///             _ => return Ok(b),
///         }
///         bar = b.next().and_then(|next| features.next_free_bar(next));
///     }
///
///     Err(ENOSPC)
/// }
/// ```
#[derive(Clone, Copy)]
pub struct Features(bindings::pci_epc_features);

// SAFETY: The only pointers in the copy are the `rsvd_regions` arrays of the controller driver,
// which `Features` never dereferences.
unsafe impl Send for Features {}

// SAFETY: See the `Send` implementation; `Features` has no interior mutability.
unsafe impl Sync for Features {}

/// Defines, for each one-bit field of `struct pci_epc_features`, a getter of the same name that
/// returns whether the bit is set.
macro_rules! feature_bits {
    ($($(#[$attr:meta])* $name:ident;)*) => {
        $(
            $(#[$attr])*
            pub fn $name(&self) -> bool {
                self.0.$name() != 0
            }
        )*
    };
}

impl Features {
    /// Creates a copy of the C features of a controller.
    pub fn from_raw(raw: &bindings::pci_epc_features) -> Self {
        Self(*raw)
    }

    feature_bits! {
        /// Returns whether the controller notifies the link-up event.
        linkup_notifier;
        /// Returns whether a set BAR can be set again without clearing it first.
        dynamic_inbound_mapping;
        /// Returns whether the controller can translate sub-ranges of a BAR to different memory.
        subrange_mapping;
        /// Returns whether the function has the MSI capability.
        msi_capable;
        /// Returns whether the function has the MSI-X capability.
        msix_capable;
        /// Returns whether the function can raise INTx interrupts.
        intx_capable;
    }

    /// Returns the alignment the controller requires for BAR memory, or 0 if it has none.
    pub fn align(&self) -> usize {
        self.0.align
    }

    /// Returns the description of `bar`.
    pub fn bar(&self, bar: BarNo) -> BarDesc {
        let raw = &self.0.bar[bar.index()];
        let ty = match raw.type_ {
            bindings::pci_epc_bar_type_BAR_PROGRAMMABLE => BarType::Programmable,
            bindings::pci_epc_bar_type_BAR_FIXED => BarType::Fixed,
            bindings::pci_epc_bar_type_BAR_RESIZABLE => BarType::Resizable,
            bindings::pci_epc_bar_type_BAR_RESERVED => BarType::Reserved,
            // An unknown type is not usable.
            _ => BarType::Disabled,
        };

        BarDesc {
            ty,
            fixed_size: raw.fixed_size,
            only_64bit: raw.only_64bit,
            reserved_regions: raw.nr_rsvd_regions,
        }
    }

    /// Returns the first BAR a function driver may use, see `pci_epc_get_first_free_bar()`.
    pub fn first_free_bar(&self) -> Option<BarNo> {
        self.next_free_bar(BarNo::BAR_0)
    }

    /// Returns the first BAR from `bar` on that a function driver may use, see
    /// `pci_epc_get_next_free_bar()`.
    ///
    /// `bar` itself is skipped if it is the upper half of a 64-bit BAR.
    pub fn next_free_bar(&self, bar: BarNo) -> Option<BarNo> {
        // SAFETY: `self.0` is a valid `struct pci_epc_features`; the function only reads it.
        let raw = unsafe { bindings::pci_epc_get_next_free_bar(&self.0, bar.as_raw()) };

        BarNo::from_raw(raw)
    }
}

/// The number of auxiliary resources that [`Controller::with_aux_resources`] converts on the
/// stack; controllers have a handful.
const AUX_ON_STACK: usize = 4;

/// A BAR number and an offset within that BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarLocation {
    /// The BAR.
    pub bar: BarNo,
    /// The offset within the BAR, in bytes.
    pub offset: ResourceSize,
}

/// The type-specific part of an [`AuxResource`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuxResourceKind {
    /// A doorbell register: writing `data` to it raises `irq` on the endpoint
    /// (`PCI_EPC_AUX_DOORBELL_MMIO`).
    DoorbellMmio {
        /// The Linux interrupt the doorbell raises, if the controller has one.
        irq: Option<u32>,
        /// The value to write to ring the doorbell.
        data: u32,
    },
    /// A resource type this version of the abstraction does not know.
    Unknown(u32),
}

/// An auxiliary resource of an endpoint controller (`struct pci_epc_aux_resource`).
///
/// Controllers may expose blocks such as the registers of an integrated DMA engine, which a
/// function can make reachable by the host.
///
/// # Examples
///
/// ```
/// use kernel::pci::endpoint::{AuxResourceKind, Controller};
///
/// // Returns the number of doorbell registers the controller already exposes in a BAR.
/// fn exposed_doorbells(epc: &Controller<'_>) -> Result<usize> {
///     let resources = epc.aux_resources()?;
///
///     Ok(resources
///         .iter()
///         .filter(|r| matches!(r.kind, AuxResourceKind::DoorbellMmio { .. }))
///         .filter(|r| r.exposed.is_some())
///         .count())
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuxResource {
    /// The physical address of the resource.
    pub phys_addr: PhysAddr,
    /// The size of the resource, in bytes.
    pub size: ResourceSize,
    /// Where the controller already exposes the resource to the host, if it does.
    pub exposed: Option<BarLocation>,
    /// The type of the resource, with its type-specific data.
    pub kind: AuxResourceKind,
}

impl AuxResource {
    /// Converts and validates every resource reported by a controller.
    ///
    /// # Errors
    ///
    /// The error of the first resource that does not convert, see [`AuxResource::try_from`];
    /// [`ENOMEM`].
    pub(crate) fn convert_all(raw: &[bindings::pci_epc_aux_resource]) -> Result<KVec<Self>> {
        let mut res = KVec::with_capacity(raw.len(), GFP_KERNEL)?;

        for r in raw {
            // Cannot fail: there is room for all of them.
            res.push_within_capacity(Self::try_from(r)?)
                .map_err(|_| ENOMEM)?;
        }

        Ok(res)
    }
}

impl TryFrom<&bindings::pci_epc_aux_resource> for AuxResource {
    type Error = Error;

    /// Converts and validates a resource reported by a controller.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the BAR number is neither `NO_BAR` nor a valid BAR.
    fn try_from(raw: &bindings::pci_epc_aux_resource) -> Result<Self> {
        let exposed = if raw.bar == bindings::pci_barno_NO_BAR {
            None
        } else {
            Some(BarLocation {
                bar: BarNo::from_raw(raw.bar).ok_or(EINVAL)?,
                offset: raw.bar_offset,
            })
        };

        let kind = match raw.type_ {
            bindings::pci_epc_aux_resource_type_PCI_EPC_AUX_DOORBELL_MMIO => {
                // SAFETY: `db_mmio` is the member of the union for `PCI_EPC_AUX_DOORBELL_MMIO`.
                let db = unsafe { raw.u.db_mmio };

                AuxResourceKind::DoorbellMmio {
                    irq: u32::try_from(db.irq).ok().filter(|&irq| irq != 0),
                    data: db.data,
                }
            }
            ty => AuxResourceKind::Unknown(ty),
        };

        Ok(Self {
            phys_addr: raw.phys_addr,
            size: raw.size,
            exposed,
            kind,
        })
    }
}

/// Host memory mapped into the outbound window of an endpoint controller, see
/// [`Controller::mem_map`].
///
/// The mapping is `__iomem` (the controller's outbound window): a [`Mapping`] dereferences to an
/// [`Mmio`] region of [`Mapping::pci_size`] bytes starting at [`Mapping::pci_addr`], with the
/// kernel's [`Io`](crate::io::Io) accessors (`map.try_read32(offset)`,
/// `map.try_write32(value, offset)`, ...). As the size is only known at run time (the controller
/// may map less than asked for), only the `try_*` accessors apply. The mapping is removed
/// (`pci_epc_mem_unmap()`) when this object is dropped.
///
/// # Invariants
///
/// - `self.map` was filled by a successful `pci_epc_mem_map()` on `self.ctrl`.
/// - `self.io` is `self.map.virt_addr` and `self.map.pci_size`.
pub struct Mapping<'a> {
    ctrl: Controller<'a>,
    map: bindings::pci_epc_map,
    io: MmioRaw,
}

// SAFETY: All accesses through a `Mapping` are MMIO accessors, which may be used from any thread.
unsafe impl Send for Mapping<'_> {}

// SAFETY: See the `Send` implementation; no method taking `&self` mutates `self.map`.
unsafe impl Sync for Mapping<'_> {}

impl core::ops::Deref for Mapping<'_> {
    type Target = Mmio;

    fn deref(&self) -> &Mmio {
        // SAFETY: By the type invariants, `self.io` is the start and the size of the I/O memory
        // that `pci_epc_mem_map()` mapped (`pci_epc_mem_alloc_addr()` memory of the outbound
        // window); it stays mapped until `self` is dropped, which the borrow prevents.
        unsafe { Mmio::from_raw(&self.io) }
    }
}

impl Mapping<'_> {
    /// Returns the host (PCI) address the mapping starts at.
    pub fn pci_addr(&self) -> u64 {
        self.map.pci_addr
    }

    /// Returns the number of bytes mapped from [`Mapping::pci_addr`] on, which may be less than
    /// requested.
    pub fn pci_size(&self) -> usize {
        self.map.pci_size
    }

    /// Returns the local physical address at which [`Mapping::pci_addr`] is mapped.
    pub fn phys_addr(&self) -> PhysAddr {
        self.map.phys_addr
    }

    fn io_range(&self, offset: usize, len: usize) -> Result<*mut c_void> {
        if offset.checked_add(len).ok_or(EINVAL)? > self.map.pci_size {
            return Err(EINVAL);
        }

        // SAFETY: `offset + len <= pci_size`, so the address stays within the mapping.
        Ok(unsafe { self.map.virt_addr.cast::<u8>().add(offset).cast() })
    }

    /// Copies host memory at `offset` into `buf`, see `memcpy_fromio()`.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the range is out of bounds.
    pub fn read_into(&self, offset: usize, buf: &mut [u8]) -> Result {
        let addr = self.io_range(offset, buf.len())?;

        // SAFETY: `addr` is valid for `buf.len()` bytes of MMIO within the mapping; `buf` is
        // valid for writes.
        unsafe { bindings::rust_memcpy_fromio(buf.as_mut_ptr().cast(), addr, buf.len()) };
        Ok(())
    }

    /// Copies `buf` to host memory at `offset`, see `memcpy_toio()`.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the range is out of bounds.
    pub fn write_from(&self, offset: usize, buf: &[u8]) -> Result {
        let addr = self.io_range(offset, buf.len())?;

        // SAFETY: `addr` is valid for `buf.len()` bytes of MMIO within the mapping; `buf` is
        // valid for reads.
        unsafe { bindings::rust_memcpy_toio(addr, buf.as_ptr().cast(), buf.len()) };
        Ok(())
    }
}

#[cfg(CONFIG_DMA_ENGINE)]
impl Mapping<'_> {
    fn window(&self, offset: usize, len: usize) -> Result<crate::dma::DmaAddress> {
        if len == 0 || offset.checked_add(len).ok_or(EINVAL)? > self.map.pci_size {
            return Err(EINVAL);
        }

        // CAST: The window is a physical address range, `offset` is within it.
        Ok(self.map.phys_addr + offset as crate::dma::DmaAddress)
    }

    /// Prepares a copy of `len` bytes between host memory at `offset` and `buf` at `buf_offset`
    /// with the memory-to-memory DMA channel `chan`: from the host into `buf` for
    /// [`Direction::DevToMem`], from `buf` to the host for [`Direction::MemToDev`], the directions
    /// of [`Channel::slave_single`] with the host as the device. The transfer borrows the mapping
    /// and `buf` until it is run ([`Transfer::run`]) or dropped.
    ///
    /// Like C endpoint functions, the physical address of the outbound window is used as DMA
    /// address, which assumes the DMA engine is not behind an IOMMU.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if a range is out of bounds or empty, [`EIO`] if the channel cannot prepare
    /// the copy.
    pub fn dma_memcpy<'t>(
        &'t self,
        chan: &'t Channel,
        offset: usize,
        buf: &'t mut DmaBuffer,
        buf_offset: usize,
        len: usize,
        dir: Direction,
    ) -> Result<Transfer<'t>> {
        let host = self.window(offset, len)?;
        let local = buf.dma_range(buf_offset, len)?;
        let (dst, src) = match dir {
            Direction::DevToMem => (local, host),
            Direction::MemToDev => (host, local),
        };

        // SAFETY: One of `dst` and `src` is in `buf`, the other in the outbound window of this
        // mapping; the returned transfer borrows both (`buf` mutably) for as long as it exists,
        // and it is over when `Transfer::run` returns.
        unsafe { chan.memcpy(dst, src, len) }
    }

    /// Copies `len` bytes of host memory from the start of this mapping to the start of `dst`
    /// with the memory-to-memory DMA channel `chan`, see [`Mapping::dma_memcpy`].
    pub fn dma_copy_to(
        &self,
        dst: &Mapping<'_>,
        chan: &Channel,
        len: usize,
        timeout_ms: u32,
    ) -> Result {
        let src = self.window(0, len)?;
        let dst = dst.window(0, len)?;

        // SAFETY: Both addresses are in outbound windows that live until the transfer is over.
        unsafe { chan.memcpy(dst, src, len) }?.run(timeout_ms)
    }
}

impl Drop for Mapping<'_> {
    fn drop(&mut self) {
        let (epc, func_no, vfunc_no) = self.ctrl.raw_parts();

        // SAFETY: By the type invariants `self.map` describes a live mapping on `epc`.
        unsafe { bindings::pci_epc_mem_unmap(epc, func_no, vfunc_no, addr_of_mut!(self.map)) };
    }
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
mod tests;
