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
//! Every physical function of a controller may allocate doorbells (the C allocator refuses all but
//! the first function linked to the controller). MSI doorbells of the functions of a controller
//! are interrupts of one MSI domain, in a range of [`MSI_PER_FUNCTION`] MSI indexes per function
//! where the controller has more than one function; embedded doorbells of the functions use
//! distinct resources where the controller has at least one per function, and share them
//! (their interrupts are shared anyway) where it has fewer.
//!
//! An MSI controller writes the message of an MSI when the interrupt is requested, not when it is
//! allocated. The address and data of an MSI doorbell are therefore only available from the
//! [`DoorbellIrq`] returned by [`Doorbells::request_threaded_irq`] or [`Doorbells::request_irq`].
//!
//! With `CONFIG_PCI_ENDPOINT_MSI_DOORBELL_RUST`, this module also implements the C functions
//! `pci_epf_alloc_doorbell()` and `pci_epf_free_doorbell()`.
//!
//! C header: [`include/linux/pci-ep-msi.h`](srctree/include/linux/pci-ep-msi.h)

use crate::{
    device,
    irq::{
        self,
        IrqRequest, //
    },
    pci::endpoint::{
        Controller,
        Function, //
    },
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};
use core::mem::ManuallyDrop;

mod embedded;
#[cfg(any(
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_RUST,
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_BENCH,
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_SELECT
))]
mod ffi;
mod message;
mod msi;
mod storage;

pub use self::message::{
    DoorbellKind,
    DoorbellMsg,
    DoorbellTarget,
    Message, //
};
pub use self::msi::MSI_PER_FUNCTION;
use self::storage::Published;

/// Allocates `num_db` doorbells for the function of `ctrl` with the semantics of
/// `pci_epf_alloc_doorbell()` and publishes them in `epf->db_msg`.
fn alloc<'a>(ctrl: &Controller<'a>, num_db: u16) -> Result<Published<'a>> {
    let func = ctrl.function();
    let dev: &device::Device<device::Bound> = func.as_ref();

    // Any physical function of the controller may have doorbells (the C allocator only allows
    // the first one linked); they are the controller's, which virtual functions do not own.
    if ctrl.vfunc_no() != 0 {
        dev_err!(dev, "Doorbell doesn't support virtual functions\n");
        return Err(EINVAL);
    }

    if !func.doorbell_array().is_null() {
        return Err(EBUSY);
    }

    // An empty doorbell array would be indistinguishable from an unallocated one.
    if num_db == 0 {
        return Err(EINVAL);
    }

    match msi::alloc(ctrl, num_db) {
        Ok(published) => return Ok(published),
        // Fall back to embedded doorbells only when platform MSI is unavailable.
        Err(e) if e != ENODEV => return Err(e),
        Err(_) => {}
    }

    match embedded::alloc(ctrl, num_db) {
        Ok(published) => {
            dev_info!(dev, "Using embedded (DMA) doorbell fallback\n");
            Ok(published)
        }
        Err(e) => {
            dev_err!(dev, "Failed to allocate doorbell: {}\n", e.to_errno());
            Err(e)
        }
    }
}

/// Allocates `num_db` doorbells for the function of `epc`.
///
/// See the [module documentation](self) for how doorbells are allocated. The doorbells are freed
/// when the returned [`Doorbells`] is dropped.
///
/// # Errors
///
/// With the codes of the C `pci_epf_alloc_doorbell()`:
/// - [`EINVAL`] if the function is a virtual function, if `num_db` is 0, if a doorbell register
///   is not 4-byte aligned, or if there are more than [`MSI_PER_FUNCTION`] MSI doorbells on a
///   controller with more than one function;
/// - [`EBUSY`] if the function already has doorbells (also when allocated through the C API);
/// - the error of the platform MSI allocation if it fails for another reason than a missing
///   MSI domain ([`ENODEV`]);
/// - otherwise the error of the embedded fallback: [`ENODEV`] or `EOPNOTSUPP` if the
///   controller has no doorbell resource, [`EIO`] if the register cannot be mapped,
///   [`ENOMEM`].
pub fn alloc_doorbell<'a>(epc: &Controller<'a>, num_db: u16) -> Result<Doorbells<'a>> {
    let published = alloc(epc, num_db)?;
    let storage = published.storage();

    // On failure, dropping `published` frees the doorbells again.
    let mut msgs = KVec::with_capacity(storage.len(), GFP_KERNEL)?;
    for i in 0..storage.len() {
        // Cannot fail: there is room for all of them.
        msgs.push_within_capacity(DoorbellMsg::from_raw(&storage.read(i)))
            .map_err(|_| ENOMEM)?;
    }

    Ok(Doorbells {
        published: ManuallyDrop::new(published),
        msgs,
        requested: Atomic::new(0),
    })
}

/// Doorbells of an endpoint function, see [`alloc_doorbell`].
///
/// They are published in `epf->db_msg` as well, for C code that shares the function.
///
/// # Invariants
///
/// - `self.published` is released when `self` is dropped, unless an interrupt registration was
///   leaked.
/// - `self.requested` counts the live [`DoorbellIrq`]s of these doorbells.
pub struct Doorbells<'a> {
    published: ManuallyDrop<Published<'a>>,
    msgs: KVec<DoorbellMsg>,
    requested: Atomic<i32>,
}

impl<'a> Doorbells<'a> {
    /// Returns the kind of the doorbells.
    pub fn kind(&self) -> DoorbellKind {
        self.published.storage().kind()
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

    fn function(&self) -> &'a Function<device::Bound> {
        self.published.controller().function()
    }

    /// Returns the address/data pair of doorbell `index`, which must exist.
    fn message(&self, index: usize) -> Message {
        match self.msgs[index].message() {
            Some(message) => message,
            // The MSI controller wrote the message when the interrupt was requested.
            None => Message::from_raw(&self.published.storage().read(index).msg),
        }
    }

    /// Checks `index` and returns the IRQ request and flags of its doorbell.
    fn irq_request<'d>(
        &'d self,
        index: usize,
        flags: irq::Flags,
    ) -> Result<(IrqRequest<'d>, irq::Flags)> {
        let msg = self.msgs.get(index).ok_or(EINVAL)?;
        let irq = msg.irq().ok_or(ENXIO)?;

        // SAFETY: `irq` was allocated as a doorbell of this function. It stays allocated while
        // `self` exists, and `self` does not free it while a `DoorbellIrq` exists, even a leaked
        // one (see `RequestGuard`).
        let request = unsafe { IrqRequest::new(self.function().as_ref(), irq) };

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
            let irq = msg.irq().ok_or(ENXIO)?;
            let flags = msg.irq_flags() | flags;
            let func: &'a Function<device::Bound> = self.function();

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

impl<'a> Doorbells<'a> {
    /// Requests the interrupts of several doorbells with hard interrupt handlers and keeps the
    /// doorbells in the returned object.
    ///
    /// `handler` is called for each doorbell, in index order, whose interrupt is not the
    /// interrupt of an earlier doorbell: several embedded doorbells may share one interrupt,
    /// which is then requested once (the handler of the first of them gets it, and can tell
    /// from [`Doorbells::get`] which doorbells share it). A doorbell for which `handler` returns
    /// [`None`] is skipped. Each interrupt is requested with the
    /// [required flags](DoorbellKind::required_flags) of its doorbell and `flags`.
    ///
    /// Dropping the result frees the interrupts and then the doorbells.
    ///
    /// # Errors
    ///
    /// [`ENXIO`] if a doorbell to request has no interrupt, [`ENOMEM`], or the error of
    /// `request_irq()`; the interrupts requested so far and the doorbells are freed.
    pub fn into_irqs<H: irq::Handler + 'static>(
        self,
        flags: irq::Flags,
        name: &'static CStr,
        mut handler: impl FnMut(usize, &DoorbellMsg) -> Option<H>,
    ) -> Result<DoorbellIrqs<'a, H>> {
        let mut irqs = DoorbellIrqs {
            registrations: KVec::new(),
            doorbells: self,
        };

        for index in 0..irqs.doorbells.len() {
            let msg = irqs.doorbells.msgs[index];
            let irq = msg.irq().ok_or(ENXIO)?;

            if irqs.doorbells.msgs[..index]
                .iter()
                .any(|m| m.irq() == Some(irq))
            {
                continue;
            }

            let Some(h) = handler(index, &msg) else {
                continue;
            };

            let func: &'a Function<device::Bound> = irqs.doorbells.function();

            // SAFETY: `irq` was allocated as a doorbell of this function. It stays allocated
            // while the registration exists: `DoorbellIrqs` drops its registrations before its
            // doorbells.
            let request = unsafe { IrqRequest::new(func.as_ref(), irq) };

            let registration = KBox::pin_init(
                irq::Registration::new(request, msg.irq_flags() | flags, name, Ok::<_, Error>(h)),
                GFP_KERNEL,
            )?;

            irqs.registrations.push((index, registration), GFP_KERNEL)?;
        }

        Ok(irqs)
    }
}

/// Doorbells with the requested interrupts of several of them, see [`Doorbells::into_irqs`].
pub struct DoorbellIrqs<'a, H: irq::Handler + 'static> {
    // Declared before `doorbells`: the interrupts are freed before the doorbells.
    registrations: KVec<(usize, Pin<KBox<irq::Registration<H>>>)>,
    doorbells: Doorbells<'a>,
}

impl<'a, H: irq::Handler + 'static> DoorbellIrqs<'a, H> {
    /// Returns the doorbells.
    pub fn doorbells(&self) -> &Doorbells<'a> {
        &self.doorbells
    }

    /// Returns the number of requested interrupts.
    pub fn irq_count(&self) -> usize {
        self.registrations.len()
    }

    /// Returns the handlers of the requested interrupts, with the index of the doorbell each
    /// interrupt was requested for.
    pub fn handlers(&self) -> impl Iterator<Item = (usize, &H)> {
        self.registrations
            .iter()
            .map(|(index, reg)| (*index, reg.handler()))
    }

    /// Returns the address/data pair the host must write to ring doorbell `index`, or [`None`]
    /// if there is no such doorbell.
    ///
    /// The message of an MSI doorbell is only known once an interrupt was requested for it.
    pub fn message(&self, index: usize) -> Option<Message> {
        (index < self.doorbells.len()).then(|| self.doorbells.message(index))
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
        self.doorbells.message(self.index)
    }
}

impl Drop for Doorbells<'_> {
    fn drop(&mut self) {
        if self.requested.load(Relaxed) != 0 {
            // A `DoorbellIrq` was leaked: its interrupt may still be requested, so the doorbells
            // must stay allocated.
            dev_warn!(
                self.function().as_ref(),
                "Leaking doorbells with a requested interrupt\n"
            );
            return;
        }

        // SAFETY: `self.published` is not used anymore. No interrupt of the doorbells is
        // requested, as dropping it requires.
        unsafe { ManuallyDrop::drop(&mut self.published) };
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
        self.guard.doorbells.message(self.index)
    }
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
mod hw_tests;

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
mod tests;
