// SPDX-License-Identifier: GPL-2.0

//! The C API: `pci_epf_alloc_doorbell()` and `pci_epf_free_doorbell()`.
//!
//! With `CONFIG_PCI_ENDPOINT_MSI_DOORBELL_RUST` they are implemented here. With
//! `CONFIG_PCI_ENDPOINT_MSI_DOORBELL_BENCH` or `CONFIG_PCI_ENDPOINT_MSI_DOORBELL_SELECT`, the
//! same implementation is also exported as `pci_epf_alloc_doorbell_rust()` and
//! `pci_epf_free_doorbell_rust()`, so that the doorbell allocator benchmark can time both
//! implementations in one kernel and a test kernel can put it behind `pci_epf_alloc_doorbell()`
//! at boot (`pci_ep_msi.rust=1`).
//!
//! The array is published in `epf->db_msg` and `epf->num_db` and left to C; these entry points
//! are the only place where the function is a raw pointer.

use super::storage::Published;
use crate::{
    bindings,
    device,
    pci::endpoint::{
        function::FunctionState,
        Controller,
        Function,
        Linked, //
    },
    prelude::*, //
};

/// Returns the controller handle of a function passed to the C API.
///
/// `state` is a state of the call: a C function has no Rust adapter, and the doorbell allocator
/// uses nothing of it.
///
/// # Safety
///
/// C hands over a bare pointer: only the caller of the C API can promise that `epf` is a valid
/// function, bound to its driver, that stays linked to its controller for `'a`.
unsafe fn controller<'a>(
    epf: *mut bindings::pci_epf,
    state: &'a FunctionState,
) -> Option<Controller<'a>> {
    // SAFETY: `epf` is a valid `struct pci_epf`, bound to its driver for `'a`; `Function` is a
    // transparent wrapper of it.
    let func = unsafe { &*epf.cast::<Function<device::Bound>>() };

    // SAFETY: By the safety requirements the function stays linked to its controller, which
    // stays registered, for `'a`.
    let link = unsafe { Linked::new(func) }?;

    // SAFETY: `state` is the only adapter state `func` has for this call: the doorbell allocator
    // neither claims BARs nor polls, the only uses of the adapter state.
    unsafe { Controller::new(func, link, state) }
}

/// Allocates doorbells for the function of `ctrl` and leaves them to C.
fn alloc(ctrl: &Controller<'_>, num_db: u16) -> c_int {
    match super::alloc(ctrl, num_db) {
        Ok(published) => {
            published.into_c();
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// Allocates doorbells for a function; Rust implementation of the C API.
///
/// # Safety
///
/// `epf` must be a valid function, bound to its driver, that stays linked to its controller
/// during the call.
#[cfg(CONFIG_PCI_ENDPOINT_MSI_DOORBELL_RUST)]
#[export]
unsafe extern "C" fn pci_epf_alloc_doorbell(epf: *mut bindings::pci_epf, num_db: u16) -> c_int {
    let state = FunctionState::new();

    // SAFETY: By the safety requirements of this function.
    match unsafe { controller(epf, &state) } {
        Some(ctrl) => alloc(&ctrl, num_db),
        None => EINVAL.to_errno(),
    }
}

/// Frees the doorbells of a function; Rust implementation of the C API.
///
/// # Safety
///
/// `epf` must be a valid function, bound to its driver and linked to its controller. The
/// interrupts of its doorbells must have been freed.
#[cfg(CONFIG_PCI_ENDPOINT_MSI_DOORBELL_RUST)]
#[export]
unsafe extern "C" fn pci_epf_free_doorbell(epf: *mut bindings::pci_epf) {
    let state = FunctionState::new();

    // SAFETY: By the safety requirements of this function.
    if let Some(ctrl) = unsafe { controller(epf, &state) } {
        // SAFETY: Only `pci_epf_alloc_doorbell()`, i.e. `alloc()`, leaves arrays to C through
        // the C API; the rest is required from the caller.
        drop(unsafe { Published::adopt(&ctrl) });
    }
}

/// The Rust implementation of `pci_epf_alloc_doorbell()` under its own name.
///
/// # Safety
///
/// `epf` must be a valid function, bound to its driver, that stays linked to its controller
/// during the call.
#[cfg(any(
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_BENCH,
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_SELECT
))]
#[export]
unsafe extern "C" fn pci_epf_alloc_doorbell_rust(
    epf: *mut bindings::pci_epf,
    num_db: u16,
) -> c_int {
    let state = FunctionState::new();

    // SAFETY: By the safety requirements of this function.
    match unsafe { controller(epf, &state) } {
        Some(ctrl) => alloc(&ctrl, num_db),
        None => EINVAL.to_errno(),
    }
}

/// Frees doorbells allocated by [`pci_epf_alloc_doorbell_rust`].
///
/// # Safety
///
/// `epf` must be a valid function, bound to its driver and linked to its controller. The
/// interrupts of its doorbells must have been freed, and its doorbells, if any, must come from
/// [`pci_epf_alloc_doorbell_rust`] (or from `pci_epf_alloc_doorbell()` when the Rust
/// implementation is the default).
#[cfg(any(
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_BENCH,
    CONFIG_PCI_ENDPOINT_MSI_DOORBELL_SELECT
))]
#[export]
unsafe extern "C" fn pci_epf_free_doorbell_rust(epf: *mut bindings::pci_epf) {
    let state = FunctionState::new();

    // SAFETY: By the safety requirements of this function.
    if let Some(ctrl) = unsafe { controller(epf, &state) } {
        // SAFETY: By the safety requirements of this function.
        drop(unsafe { Published::adopt(&ctrl) });
    }
}
