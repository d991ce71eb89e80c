// SPDX-License-Identifier: GPL-2.0

//! MSI doorbells: interrupts of the platform MSI controller of the controller's parent.

use super::{
    message::DoorbellKind,
    storage::{
        Published,
        Storage, //
    },
};
use crate::{
    bindings,
    device,
    pci::endpoint::{
        Controller,
        Function, //
    },
    prelude::*, //
};
use core::ptr::addr_of_mut;

/// Returns the platform MSI domain of `dev` if doorbells can use it.
///
/// # Errors
///
/// [`ENODEV`] if `dev` has no platform MSI domain, if it is not an MSI parent or if it is not
/// immutable; the first and the last are logged on `log`.
fn platform_msi_domain(
    dev: &device::Device,
    log: &device::Device,
) -> Result<*mut bindings::irq_domain> {
    // SAFETY: `dev` is a valid device.
    let domain = unsafe {
        bindings::of_msi_map_get_device_domain(
            dev.as_raw(),
            0,
            bindings::irq_domain_bus_token_DOMAIN_BUS_PLATFORM_MSI,
        )
    };

    if domain.is_null() {
        dev_err!(log, "Can't find MSI domain for EPC\n");
        return Err(ENODEV);
    }

    // SAFETY: `domain` is a valid interrupt domain: MSI controllers do not remove the domains of
    // devices that use them.
    if !unsafe { bindings::irq_domain_is_msi_parent(domain) } {
        return Err(ENODEV);
    }

    // SAFETY: As above.
    if !unsafe { bindings::irq_domain_is_msi_immutable(domain) } {
        dev_err!(log, "Mutable MSI controller not supported\n");
        return Err(ENODEV);
    }

    Ok(domain)
}

/// The MSI write-back callback of the platform MSI domain.
///
/// The MSI core calls it when a doorbell interrupt is activated, i.e. from `request_irq()` with
/// the interrupt descriptor's raw spinlock held, so it must not look anything up that takes
/// other locks (the C implementation's lookup of the controller by name did, which lockdep
/// reports as an irq lock inversion). The function that owns the doorbell comes from the
/// descriptor's instance cookie instead, set by [`alloc`] once the interrupts exist.
///
/// # Safety
///
/// Must only be called by the MSI core, with valid `desc` and `msg`.
unsafe extern "C" fn write_msi_msg(desc: *mut bindings::msi_desc, msg: *mut bindings::msi_msg) {
    // SAFETY: `desc` is a valid platform MSI descriptor: its generic data is in use, and
    // `alloc()` set its instance cookie before any of its interrupts could be activated.
    let (epf, index) = unsafe {
        (
            (*desc).__bindgen_anon_1.data.icookie.ptr.cast::<Function>(),
            (*desc).msi_index,
        )
    };

    // SAFETY: A non-NULL cookie is the function that owns the doorbells of this descriptor,
    // which is valid while they are allocated; `Function` is a transparent wrapper of
    // `struct pci_epf`.
    let Some(func) = (unsafe { epf.as_ref() }) else {
        return;
    };

    let db = func.doorbell_array();
    if db.is_null() || index >= func.num_doorbells() {
        return;
    }

    // SAFETY: `index < num_db`, the length of the published array, which the function cannot
    // release before the doorbell interrupts are freed, i.e. before this callback returns.
    let entry = unsafe { db.add(usize::from(index)) };

    // SAFETY: `entry` is valid; `type` does not change after publication.
    if unsafe { (*entry).type_ } != DoorbellKind::Msi.as_raw() {
        // Not the owner of the MSI domain (an embedded allocation of a different function).
        return;
    }

    // SAFETY: `entry` is valid for writes and `msg` for reads. Rust readers use volatile loads,
    // C readers only read the message after requesting the interrupt, which runs this callback
    // in their context.
    unsafe { addr_of_mut!((*entry).msg).write_volatile(*msg) };
}

/// Allocates doorbells backed by platform MSIs, see `pci_epf_alloc_doorbell_msi()`.
///
/// # Errors
///
/// [`ENODEV`] if there is no usable platform MSI domain (the embedded fallback is tried then),
/// [`EBUSY`] if the function already has doorbells, [`ENOMEM`] or the error of the MSI
/// allocation.
pub(super) fn alloc<'a>(ctrl: &Controller<'a>, num_db: u16) -> Result<Published<'a>> {
    let func = ctrl.function();
    let dev: &device::Device<device::Bound> = func.as_ref();
    let parent = ctrl.parent();
    let domain = platform_msi_domain(parent, dev)?;

    // SAFETY: `parent` is a valid device and `domain` a valid interrupt domain.
    unsafe { bindings::dev_set_msi_domain(parent.as_raw(), domain) };

    // The write-back callback must find the array when the interrupts are allocated.
    let mut published = Published::new(ctrl, Storage::new(num_db, DoorbellKind::Msi, None)?)?;

    // SAFETY: `parent` is a valid device with an MSI domain; `write_msi_msg` is a valid callback.
    let ret = unsafe {
        bindings::platform_device_msi_init_and_alloc_irqs(
            parent.as_raw(),
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
            unsafe { bindings::platform_device_msi_free_irqs_all(parent.as_raw()) };
        }

        published.retract();
        return Err(Error::from_errno(ret));
    }

    let virq = |i: u16| {
        // SAFETY: `parent` is a valid device.
        let virq = unsafe {
            bindings::msi_domain_get_virq(
                parent.as_raw(),
                bindings::msi_domain_ids_MSI_DEFAULT_DOMAIN,
                i.into(),
            )
        };

        // Tell `write_msi_msg()` whose doorbell this is. The interrupts are only activated (and
        // their messages written back) when requested, which cannot happen before this returns.
        //
        // SAFETY: `virq` was just allocated in the platform MSI domain of `parent`, so it has a
        // valid MSI descriptor whose generic data belongs to the allocation site.
        unsafe {
            let desc = bindings::irq_get_msi_desc(virq);
            if !desc.is_null() {
                (*desc).__bindgen_anon_1.data.icookie.ptr = func.as_raw().cast();
            }
        }

        c_int::try_from(virq).unwrap_or(0)
    };

    // SAFETY: The platform MSIs of `parent` were just allocated for the array of `published`, one
    // per doorbell, and belong to nothing else: only the first function of the controller
    // allocates doorbells, and it had none.
    unsafe { published.record_msis(virq) };

    Ok(published)
}
