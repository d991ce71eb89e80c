// SPDX-License-Identifier: GPL-2.0

//! MSI doorbells: interrupts of the platform MSI controller of the controller's parent.
//!
//! The doorbells are the interrupts of one per-device MSI domain of the controller's parent,
//! created by the first function that allocates doorbells and removed when the last function
//! frees its doorbells. On a controller with one function, the domain has exactly that
//! function's doorbells, as with the C allocator. On a controller with more, the functions share
//! it: function `n` has the MSI indexes from `n * MSI_PER_FUNCTION` on ([`Indexes`]), its
//! interrupts are allocated and freed as that range alone, and `epc->lock` serializes the
//! functions' allocations, so that the domain is created and removed exactly once.

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

    // The function's doorbell `i` is MSI index `first + i`.
    let Some(index) = Indexes::first_of(func)
        .and_then(|first| u32::from(index).checked_sub(first))
        .and_then(|i| u16::try_from(i).ok())
    else {
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

/// The number of MSI indexes of each function of a controller with more than one function.
///
/// It bounds the number of MSI doorbells of such a function (the Rust pci-epf-test asks for one,
/// a virtual NTB function for at most 32).
pub const MSI_PER_FUNCTION: u16 = 64;

/// The MSI indexes of the doorbells of a function, in the MSI domain of the controller's parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Indexes {
    /// The MSI index of doorbell 0.
    pub(super) first: u32,
    /// The MSI index of the last doorbell.
    pub(super) last: u32,
    /// The number of MSI indexes of the domain.
    pub(super) hwsize: u32,
}

impl Indexes {
    /// Returns the indexes of `num_db` doorbells of function `func_no` of a controller with
    /// `funcs` functions.
    ///
    /// With one function, the domain is the size of its doorbells, as in C. With more, function
    /// `func_no` has [`MSI_PER_FUNCTION`] indexes from `func_no * MSI_PER_FUNCTION` on.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if `num_db` is 0, if `func_no` is not a function of the controller, or if there
    /// are more doorbells than [`MSI_PER_FUNCTION`] on a controller with more than one function.
    pub(super) fn new(func_no: u8, funcs: u8, num_db: u16) -> Result<Self> {
        if num_db == 0 || func_no >= funcs.max(1) {
            return Err(EINVAL);
        }

        if funcs <= 1 {
            return Ok(Self {
                first: 0,
                last: u32::from(num_db) - 1,
                hwsize: num_db.into(),
            });
        }

        if num_db > MSI_PER_FUNCTION {
            return Err(EINVAL);
        }

        let first = Self::base(func_no, funcs);
        Ok(Self {
            first,
            last: first + u32::from(num_db) - 1,
            hwsize: u32::from(funcs) * u32::from(MSI_PER_FUNCTION),
        })
    }

    /// Returns the MSI index of doorbell 0 of function `func_no` of a controller with `funcs`
    /// functions.
    fn base(func_no: u8, funcs: u8) -> u32 {
        if funcs <= 1 {
            0
        } else {
            u32::from(func_no) * u32::from(MSI_PER_FUNCTION)
        }
    }

    /// Returns the MSI index of doorbell 0 of `func`, [`None`] if it is not linked.
    ///
    /// For the write-back callback, which has the function and nothing else.
    fn first_of(func: &Function) -> Option<u32> {
        // SAFETY: `func` is a valid function. `epc` and `func_no` are set when it is linked and
        // stay while it has doorbells.
        let (epc, func_no) = unsafe { ((*func.as_raw()).epc, (*func.as_raw()).func_no) };
        if epc.is_null() {
            return None;
        }

        // SAFETY: The function is linked to `epc`, which is valid while the function has
        // doorbells; `max_functions` does not change after the controller's creation.
        let funcs = unsafe { (*epc).max_functions };
        Some(Self::base(func_no, funcs))
    }
}

/// Returns whether a function of the controller other than the one of `ctrl` has MSI doorbells,
/// i.e. uses the MSI domain of the parent.
///
/// Must be called with `epc->lock` held: the functions allocate and free their ranges under it.
fn others_use_domain(ctrl: &Controller<'_>) -> bool {
    let funcs = ctrl.max_functions();
    let own = ctrl.func_no();
    let parent = ctrl.parent();

    // A function with MSI doorbells has an interrupt at the first index of its range.
    (0..funcs).filter(|&f| f != own).any(|f| {
        // SAFETY: `parent` is a valid device; without MSI data or domain the lookup finds
        // nothing.
        let virq = unsafe {
            bindings::msi_domain_get_virq(
                parent.as_raw(),
                bindings::msi_domain_ids_MSI_DEFAULT_DOMAIN,
                Indexes::base(f, funcs),
            )
        };
        virq != 0
    })
}

/// Allocates doorbells backed by platform MSIs, see `pci_epf_alloc_doorbell_msi()`.
///
/// # Errors
///
/// [`ENODEV`] if there is no usable platform MSI domain (the embedded fallback is tried then),
/// [`EINVAL`] if the function's MSI range cannot hold `num_db` doorbells (see [`Indexes::new`]),
/// [`EBUSY`] if the function already has doorbells, [`ENOMEM`] or the error of the MSI
/// allocation.
pub(super) fn alloc<'a>(ctrl: &Controller<'a>, num_db: u16) -> Result<Published<'a>> {
    let func = ctrl.function();
    let dev: &device::Device<device::Bound> = func.as_ref();
    let parent = ctrl.parent();
    let domain = platform_msi_domain(parent, dev)?;
    let indexes = Indexes::new(ctrl.func_no(), ctrl.max_functions(), num_db)?;

    ctrl.with_lock(|| {
        let shared = others_use_domain(ctrl);

        // SAFETY: `parent` is a valid device and `domain` a valid interrupt domain.
        unsafe { bindings::dev_set_msi_domain(parent.as_raw(), domain) };

        // The write-back callback must find the array when the interrupts are allocated.
        let mut published = Published::new(ctrl, Storage::new(num_db, DoorbellKind::Msi, None)?)?;

        // The first function to allocate creates the domain.
        let mut ret = if shared {
            0
        } else {
            // SAFETY: `parent` is a valid device with an MSI parent domain and no device MSI
            // domain: no other function uses one, and the last one to free its doorbells
            // removed it. `write_msi_msg` is a valid callback.
            unsafe {
                bindings::platform_device_msi_init(
                    parent.as_raw(),
                    indexes.hwsize,
                    Some(write_msi_msg),
                )
            }
        };

        // If the domain creation failed, no domain was created (`msi_create_device_irq_domain()`
        // cleans up after itself): nothing to free then, and freeing a range of a missing domain
        // would warn.
        if ret == 0 {
            // SAFETY: `parent` has its device MSI domain, with room for `indexes`.
            ret = unsafe {
                bindings::msi_domain_alloc_irqs_range(
                    parent.as_raw(),
                    bindings::msi_domain_ids_MSI_DEFAULT_DOMAIN,
                    indexes.first,
                    indexes.last,
                )
            };

            if ret != 0 {
                // Unlike C, leave no interrupt and no domain behind: a domain left behind makes
                // the next allocation fail with a warning.
                //
                // SAFETY: `parent` is valid and has its device MSI domain; the range is this
                // function's, whose doorbells have no interrupt requested (they have none yet).
                // The domain is removed only if this allocation created it, i.e. no other
                // function uses it.
                unsafe {
                    bindings::msi_domain_free_irqs_range(
                        parent.as_raw(),
                        bindings::msi_domain_ids_MSI_DEFAULT_DOMAIN,
                        indexes.first,
                        indexes.last,
                    );
                    if !shared {
                        bindings::platform_device_msi_free_irqs_all(parent.as_raw());
                    }
                }
            }
        }

        if ret != 0 {
            dev_err!(dev, "Failed to allocate MSI\n");
            published.retract();
            return Err(Error::from_errno(ret));
        }

        let virq = |i: u16| {
            // SAFETY: `parent` is a valid device.
            let virq = unsafe {
                bindings::msi_domain_get_virq(
                    parent.as_raw(),
                    bindings::msi_domain_ids_MSI_DEFAULT_DOMAIN,
                    indexes.first + u32::from(i),
                )
            };

            // Tell `write_msi_msg()` whose doorbell this is. The interrupts are only activated
            // (and their messages written back) when requested, which cannot happen before this
            // returns.
            //
            // SAFETY: `virq` was just allocated in the platform MSI domain of `parent`, so it
            // has a valid MSI descriptor whose generic data belongs to the allocation site.
            unsafe {
                let desc = bindings::irq_get_msi_desc(virq);
                if !desc.is_null() {
                    (*desc).__bindgen_anon_1.data.icookie.ptr = func.as_raw().cast();
                }
            }

            c_int::try_from(virq).unwrap_or(0)
        };

        // SAFETY: The platform MSIs of the function's range were just allocated for the array of
        // `published`, one per doorbell, and belong to nothing else: the range is the function's
        // own, and it had no doorbells.
        unsafe { published.record_msis(virq) };

        Ok(published)
    })
}

/// Frees the platform MSIs of the `num_db` doorbells of the function of `ctrl`, and the MSI
/// domain of the parent if no other function uses it.
///
/// # Safety
///
/// The function's MSIs must have been allocated by [`alloc`] for `num_db` doorbells, and none of
/// them may be requested.
pub(super) unsafe fn free(ctrl: &Controller<'_>, num_db: u16) {
    let funcs = ctrl.max_functions();
    let parent = ctrl.parent().as_raw();

    ctrl.with_lock(|| {
        // With one function, the domain holds this function's doorbells and nothing else (see
        // `Indexes::new`): removing it frees them, as in C. With more, free the function's range
        // and remove the domain only if no other function uses it.
        if funcs > 1 {
            let first = Indexes::base(ctrl.func_no(), funcs);

            // SAFETY: `parent` is valid; by the safety requirements, the range holds the
            // function's doorbell interrupts, none of them requested.
            unsafe {
                bindings::msi_domain_free_irqs_range(
                    parent,
                    bindings::msi_domain_ids_MSI_DEFAULT_DOMAIN,
                    first,
                    first + u32::from(num_db.max(1)) - 1,
                )
            };

            if others_use_domain(ctrl) {
                return;
            }
        }

        // SAFETY: `parent` is valid and no other function has interrupts in its domain; the
        // function's own, if still allocated, are not requested, by the safety requirements.
        unsafe { bindings::platform_device_msi_free_irqs_all(parent) };
    });
}
