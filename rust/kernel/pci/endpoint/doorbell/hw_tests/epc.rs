// SPDX-License-Identifier: GPL-2.0

//! The endpoint controllers of the hardware tests, with their functions and the auxiliary
//! resources they report.

use super::published;
use crate::{
    bindings,
    device,
    error::{
        from_err_ptr,
        to_result, //
    },
    io::{
        PhysAddr,
        ResourceSize, //
    },
    pci::endpoint::{
        doorbell::storage::Published,
        function::FunctionState,
        BarNo,
        Controller,
        Function,
        Linked, //
    },
    prelude::*,
    str::CString,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    types::Opaque, //
};
use core::{
    ffi::c_void,
    ptr::{
        self,
        addr_of, //
    },
};

/// The physical address of the fake doorbell registers reported as auxiliary resources.
///
/// Above the RAM of the test kernel (`mem=1G`) and below 4 GiB (the DMA mask of the parents);
/// nothing ever accesses it, the allocator only maps it.
pub(super) const DB_BASE: PhysAddr = 0xd100_0000;

/// Interrupt numbers reported by the fake doorbell resources; never requested.
pub(super) const DB_IRQ: c_int = 1000;

/// What a test controller reports.
pub(super) struct Behaviour {
    /// Whether the controller implements the auxiliary resource operations.
    aux_ops: bool,
    /// The value `get_aux_resources_count()` returns, instead of the number of resources.
    pub(super) count: Option<c_int>,
    /// The resources `get_aux_resources()` reports.
    resources: KVec<bindings::pci_epc_aux_resource>,
}

impl Behaviour {
    /// A controller without auxiliary resource operations.
    pub(super) fn no_aux() -> Self {
        Self {
            aux_ops: false,
            count: None,
            resources: KVec::new(),
        }
    }

    /// A controller that reports `resources`.
    pub(super) fn aux(resources: &[bindings::pci_epc_aux_resource]) -> Result<Self> {
        let mut v = KVec::with_capacity(resources.len(), GFP_KERNEL)?;
        v.extend_from_slice(resources, GFP_KERNEL)?;

        Ok(Self {
            aux_ops: true,
            count: None,
            resources: v,
        })
    }
}

/// A `PCI_EPC_AUX_DOORBELL_MMIO` resource.
pub(super) fn doorbell_res(
    phys_addr: PhysAddr,
    bar: Option<(BarNo, ResourceSize)>,
    irq: c_int,
    data: u32,
) -> bindings::pci_epc_aux_resource {
    let mut r = bindings::pci_epc_aux_resource {
        type_: bindings::pci_epc_aux_resource_type_PCI_EPC_AUX_DOORBELL_MMIO,
        phys_addr,
        size: 4,
        bar: bindings::pci_barno_NO_BAR,
        ..Default::default()
    };

    if let Some((bar, offset)) = bar {
        r.bar = bar.as_raw();
        r.bar_offset = offset;
    }
    r.u.db_mmio.irq = irq;
    r.u.db_mmio.data = data;
    r
}

/// A resource of a type the allocator does not know.
pub(super) fn other_res(phys_addr: PhysAddr) -> bindings::pci_epc_aux_resource {
    bindings::pci_epc_aux_resource {
        type_: bindings::pci_epc_aux_resource_type_PCI_EPC_AUX_DOORBELL_MMIO + 7,
        phys_addr,
        size: 0x1000,
        bar: bindings::pci_barno_NO_BAR,
        ..Default::default()
    }
}

/// An endpoint controller registered by a test, with its functions.
///
/// # Invariants
///
/// - `self.parent` holds a reference to a device of the platform bus.
/// - `self.epc` is a controller created on `self.parent` with the operations `self.ops`, whose
///   driver data points to `self`.
/// - If `self.registered`, `self.driver` is the registered function driver `kunit_db_hw`.
/// - `self.funcs[i]` is a function created by `pci_epf_create()`, bound to `self.driver` and
///   linked to `self.epc` through its primary interface; `self.states[i]` is its state.
/// - `self.test` is the running KUnit test, which has the action [`abort_cleanup`] registered
///   for `self` unless it is NULL.
pub(super) struct TestEpc {
    test: *mut bindings::kunit,
    ops: bindings::pci_epc_ops,
    behaviour: Behaviour,
    aux_calls: Atomic<u32>,
    pub(super) parent: *mut bindings::device,
    epc: *mut bindings::pci_epc,
    driver: Opaque<bindings::pci_epf_driver>,
    registered: bool,
    funcs: KVec<*mut bindings::pci_epf>,
    states: KVec<FunctionState>,
}

/// The name of the test's function driver, which its functions are created for.
const TEST_EPF_NAME: &CStr = c"kunit_db_hw";

/// The ID table of the test's function driver: `kunit_db_hw` and the sentinel.
static TEST_EPF_IDS: [bindings::pci_epf_device_id; 2] = {
    let mut ids = [bindings::pci_epf_device_id {
        name: [0; 20],
        driver_data: 0,
    }; 2];
    let name = TEST_EPF_NAME.to_bytes();
    let mut i = 0;
    while i < name.len() {
        ids[0].name[i] = name[i];
        i += 1;
    }
    ids
};

/// The operations of the test's function driver, which the EPF core requires; the tests link
/// their functions with `pci_epc_add_epf()` and never call them.
static TEST_EPF_OPS: bindings::pci_epf_ops = bindings::pci_epf_ops {
    bind: Some(test_epf_bind),
    unbind: Some(test_epf_unbind),
    add_cfs: None,
};

extern "C" fn test_epf_probe(
    _epf: *mut bindings::pci_epf,
    _id: *const bindings::pci_epf_device_id,
) -> c_int {
    0
}

extern "C" fn test_epf_bind(_epf: *mut bindings::pci_epf) -> c_int {
    0
}

extern "C" fn test_epf_unbind(_epf: *mut bindings::pci_epf) {}

/// The `get_aux_resources_count` operation of the test controllers.
///
/// # Safety
///
/// Called by the endpoint core with a controller created by [`TestEpc::new`].
unsafe extern "C" fn aux_count(epc: *mut bindings::pci_epc, _func_no: u8, _vfunc_no: u8) -> c_int {
    // SAFETY: By the safety requirements of this function, the driver data of `epc` is its live
    // `TestEpc`.
    let t = unsafe { &*(*epc).dev.driver_data.cast::<TestEpc>() };

    t.aux_calls.add(1, Relaxed);
    t.behaviour
        .count
        .unwrap_or_else(|| c_int::try_from(t.behaviour.resources.len()).unwrap_or(c_int::MAX))
}

/// The `get_aux_resources` operation of the test controllers.
///
/// # Safety
///
/// Called by the endpoint core with a controller created by [`TestEpc::new`] and room for `num`
/// resources at `res`.
unsafe extern "C" fn aux_get(
    epc: *mut bindings::pci_epc,
    _func_no: u8,
    _vfunc_no: u8,
    res: *mut bindings::pci_epc_aux_resource,
    num: c_int,
) -> c_int {
    // SAFETY: As in `aux_count()`.
    let t = unsafe { &*(*epc).dev.driver_data.cast::<TestEpc>() };
    let resources = &t.behaviour.resources;

    t.aux_calls.add(1, Relaxed);
    if usize::try_from(num).unwrap_or(0) < resources.len() {
        return ENOSPC.to_errno();
    }

    // SAFETY: `res` has room for `num >= resources.len()` entries.
    unsafe { ptr::copy_nonoverlapping(resources.as_ptr(), res, resources.len()) };
    0
}

/// Tears down a [`TestEpc`] left behind by a test that failed an assertion.
///
/// A failed KUnit assertion ends the test thread without running destructors; KUnit runs this
/// action afterwards, so that the controller, its functions and their doorbells do not disturb
/// the next tests.
///
/// # Safety
///
/// `ctx` must be the pointer of a leaked `KBox<TestEpc>` whose test thread has ended.
unsafe extern "C" fn abort_cleanup(ctx: *mut c_void) {
    // SAFETY: By the safety requirements, nothing uses the box anymore.
    drop(unsafe { KBox::from_raw(ctx.cast::<TestEpc>()) });
}

impl TestEpc {
    /// Creates a controller on the platform device `parent` with `nr_funcs` functions.
    pub(super) fn new(parent: &CStr, behaviour: Behaviour, nr_funcs: u8) -> Result<KBox<Self>> {
        // SAFETY: `platform_bus_type` is a valid bus; `parent` is a valid string for the match
        // function, which compares it to device names.
        let dev = unsafe {
            bindings::bus_find_device(
                addr_of!(bindings::platform_bus_type),
                ptr::null_mut(),
                parent.as_char_ptr().cast(),
                Some(bindings::device_match_name),
            )
        };
        if dev.is_null() {
            pr_err!("no device {:?}; booted without kunit.dtb?\n", parent);
            return Err(ENODEV);
        }

        let mut t = KBox::new(
            Self {
                test: ptr::null_mut(),
                ops: bindings::pci_epc_ops::default(),
                behaviour,
                aux_calls: Atomic::new(0),
                parent: dev,
                epc: ptr::null_mut(),
                driver: Opaque::zeroed(),
                registered: false,
                funcs: KVec::new(),
                states: KVec::new(),
            },
            GFP_KERNEL,
        )?;

        if t.behaviour.aux_ops {
            t.ops.get_aux_resources_count = Some(aux_count);
            t.ops.get_aux_resources = Some(aux_get);
        }

        // SAFETY: `dev` is a valid device and `t.ops` outlives the controller: `Drop` destroys
        // the controller first. `THIS_MODULE` of built-in code is NULL.
        let epc = from_err_ptr(unsafe { bindings::__pci_epc_create(dev, &t.ops, ptr::null_mut()) });
        let epc = match epc {
            Ok(epc) => epc,
            Err(e) => {
                // SAFETY: The reference taken by `bus_find_device()`.
                unsafe { bindings::put_device(dev) };
                // `Drop` must not touch the controller.
                t.parent = ptr::null_mut();
                return Err(e);
            }
        };

        // SAFETY: `epc` was just created and nothing uses it yet. The boxed `TestEpc` does not
        // move and outlives the controller.
        unsafe {
            (*epc).max_functions = nr_funcs;
            (*epc).dev.driver_data = (&raw const *t).cast_mut().cast::<c_void>();
        }
        t.epc = epc;

        // SAFETY: Always safe to call.
        let test = unsafe { bindings::kunit_get_current_test() };
        if !test.is_null() {
            // SAFETY: `test` is the running test; the action gets the box, which does not move.
            let ret = unsafe {
                bindings::kunit_add_action(
                    test,
                    Some(abort_cleanup),
                    (&raw const *t).cast_mut().cast::<c_void>(),
                )
            };
            if ret == 0 {
                t.test = test;
            }
        }

        // SAFETY: The driver is not registered yet; its name, ID table and operations are
        // `'static`. No unbinding through sysfs: the functions stay bound until `Drop`.
        unsafe {
            let drv = t.driver.get();
            (*drv).driver.name = TEST_EPF_NAME.as_char_ptr();
            (*drv).driver.suppress_bind_attrs = true;
            (*drv).probe = Some(test_epf_probe);
            (*drv).ops = &TEST_EPF_OPS;
            (*drv).id_table = TEST_EPF_IDS.as_ptr();
        }

        // SAFETY: The driver is initialized above and lives in the box, which does not move and
        // unregisters it in `Drop`. `THIS_MODULE` of built-in code is NULL.
        to_result(unsafe { bindings::__pci_epf_register_driver(t.driver.get(), ptr::null_mut()) })?;
        t.registered = true;

        t.funcs = KVec::with_capacity(nr_funcs.into(), GFP_KERNEL)?;
        t.states = KVec::with_capacity(nr_funcs.into(), GFP_KERNEL)?;

        for i in 0..nr_funcs {
            let name = CString::try_from_fmt(fmt!("kunit_db_hw.{i}"))?;

            // SAFETY: `name` is a valid string; `pci_epf_create()` copies it.
            let epf = from_err_ptr(unsafe { bindings::pci_epf_create(name.as_char_ptr()) })?;

            // The function must have been bound to the test driver by `pci_epf_create()`.
            //
            // SAFETY: `epf` is valid; its driver is set by the EPF bus's probe.
            if unsafe { (*epf).driver } != t.driver.get() {
                // SAFETY: `epf` was created above and is not linked.
                unsafe { bindings::pci_epf_destroy(epf) };
                return Err(ENODEV);
            }

            // SAFETY: `epc` and `epf` are valid; `epf` is not linked to anything.
            let ret = unsafe {
                bindings::pci_epc_add_epf(
                    epc,
                    epf,
                    bindings::pci_epc_interface_type_PRIMARY_INTERFACE,
                )
            };
            if ret != 0 {
                // SAFETY: `epf` was created above and is not linked.
                unsafe { bindings::pci_epf_destroy(epf) };
                return Err(Error::from_errno(ret));
            }

            // Cannot fail: the capacity was reserved above.
            t.funcs.push(epf, GFP_KERNEL)?;
            t.states.push(FunctionState::new(), GFP_KERNEL)?;
        }

        Ok(t)
    }

    /// Returns the raw function `i`.
    pub(super) fn epf(&self, i: usize) -> *mut bindings::pci_epf {
        self.funcs[i]
    }

    /// Returns the handle of the controller as seen by function `i`.
    pub(super) fn controller(&self, i: usize) -> Controller<'_> {
        // SAFETY: `Function` is a transparent wrapper of `struct pci_epf`, and function `i` is
        // valid while `self` exists. It is bound to the test driver from its creation in `new()`
        // (checked there) until `Drop` destroys it, and cannot be unbound otherwise
        // (`suppress_bind_attrs`); the borrow of `self` ends before that.
        let func = unsafe { &*self.funcs[i].cast_const().cast::<Function<device::Bound>>() };

        // SAFETY: The function stays linked to `self.epc`, which stays registered, until `self`
        // is dropped, which the borrow of `self` outlives.
        let link = unsafe { Linked::new(func) }.expect("test function is linked");

        // SAFETY: `self.states[i]` is the state of function `i`, the only one.
        unsafe { Controller::new(func, link, &self.states[i]) }.expect("test function's link")
    }

    /// Returns how often the auxiliary resource operations were called.
    pub(super) fn aux_calls(&self) -> u32 {
        self.aux_calls.load(Relaxed)
    }
}

impl Drop for TestEpc {
    fn drop(&mut self) {
        if self.parent.is_null() {
            return;
        }

        if !self.test.is_null() {
            // SAFETY: The action was registered for `self` by `new()`. If it is what is running,
            // KUnit has already removed it and this does nothing.
            unsafe {
                bindings::kunit_remove_action(
                    self.test,
                    Some(abort_cleanup),
                    (&raw mut *self).cast::<c_void>(),
                )
            };
        }

        for i in (0..self.funcs.len()).rev() {
            // Doorbells left behind by a failed test (a normal test drops them first, they
            // borrow `self`): free them, as their `Doorbells` did not run.
            if !published(self.funcs[i]).is_null() {
                pr_warn!("releasing the doorbells of a failed test\n");

                // SAFETY: The array was published by `alloc_doorbell()` for this controller, and
                // its `Doorbells` is gone without a destructor (a failed assertion ends the test
                // thread), which leaves it to nobody, like `Published::into_c()`. Its interrupt
                // registrations, made in the test thread too, are gone.
                drop(unsafe { Published::adopt(&self.controller(i)) });
            }
        }

        while let Some(epf) = self.funcs.pop() {
            // SAFETY: `epf` was created and linked by `new()`; no doorbell borrows it anymore.
            unsafe {
                bindings::pci_epc_remove_epf(
                    self.epc,
                    epf,
                    bindings::pci_epc_interface_type_PRIMARY_INTERFACE,
                );
                bindings::pci_epf_destroy(epf);
            }
        }

        if self.registered {
            // SAFETY: The driver was registered by `new()` and has no function anymore.
            unsafe { bindings::pci_epf_unregister_driver(self.driver.get()) };
        }

        // SAFETY: The controller was created by `new()` and has no function anymore; then the
        // reference to the parent taken in `new()` is dropped.
        unsafe {
            bindings::pci_epc_destroy(self.epc);
            bindings::put_device(self.parent);
        }
    }
}
