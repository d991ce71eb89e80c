// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of [`alloc_doorbell`] against real endpoint controllers.
//!
//! Every test registers its own endpoint controller with `__pci_epc_create()` on a parent device
//! of the KUnit devicetree (`platform/dts/kunit.dts`), which chooses the MSI topology:
//!
//! - `kunit-epc-msi`: `msi-parent` is an immutable `uml,loopback-msi` controller;
//! - `kunit-epc-mutable`: the MSI parent is not immutable (`uml,msi-mutable`);
//! - `kunit-epc-small`: the MSI parent has two vectors (`uml,msi-vectors = <2>`);
//! - `kunit-epc-none`: no `msi-parent`.
//!
//! The controller's `get_aux_resources_count`/`get_aux_resources` operations report the
//! auxiliary resources the test chooses, or are missing. The functions are created with
//! `pci_epf_create()`, which binds them to the test's function driver `kunit_db_hw` (it does
//! nothing but exist: the doorbells request their interrupts on the bound function device), and
//! linked with `pci_epc_add_epf()`; everything is torn down at the end of the test.
//!
//! Real observables: the interrupt descriptors of MSI doorbells (they exist while allocated and
//! are freed with the doorbells) and the number of free entries of the DMA API debugging code
//! (`CONFIG_DMA_API_DEBUG`), which counts the `dma_map_resource()` mappings that exist.

use super::{
    alloc_doorbell,
    embedded::phys_to_u64,
    storage::{
        dma_to_u64,
        Published, //
    },
    DoorbellKind,
    DoorbellTarget,
    Message, //
};
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
    irq,
    page::PAGE_SIZE,
    pci::endpoint::{
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
const DB_BASE: PhysAddr = 0xd100_0000;

/// Interrupt numbers reported by the fake doorbell resources; never requested.
const DB_IRQ: c_int = 1000;

/// What a test controller reports.
struct Behaviour {
    /// Whether the controller implements the auxiliary resource operations.
    aux_ops: bool,
    /// The value `get_aux_resources_count()` returns, instead of the number of resources.
    count: Option<c_int>,
    /// The resources `get_aux_resources()` reports.
    resources: KVec<bindings::pci_epc_aux_resource>,
}

impl Behaviour {
    /// A controller without auxiliary resource operations.
    fn no_aux() -> Self {
        Self {
            aux_ops: false,
            count: None,
            resources: KVec::new(),
        }
    }

    /// A controller that reports `resources`.
    fn aux(resources: &[bindings::pci_epc_aux_resource]) -> Result<Self> {
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
fn doorbell_res(
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
fn other_res(phys_addr: PhysAddr) -> bindings::pci_epc_aux_resource {
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
struct TestEpc {
    test: *mut bindings::kunit,
    ops: bindings::pci_epc_ops,
    behaviour: Behaviour,
    aux_calls: Atomic<u32>,
    parent: *mut bindings::device,
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
    fn new(parent: &CStr, behaviour: Behaviour, nr_funcs: u8) -> Result<KBox<Self>> {
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
    fn epf(&self, i: usize) -> *mut bindings::pci_epf {
        self.funcs[i]
    }

    /// Returns the handle of the controller as seen by function `i`.
    fn controller(&self, i: usize) -> Controller<'_> {
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
    fn aux_calls(&self) -> u32 {
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

/// Returns the number of free entries of the DMA API debugging code, which drops by one for
/// each existing `dma_map_resource()` mapping.
///
/// Fails with [`ENODEV`] without `CONFIG_DMA_API_DEBUG`, so that the tests using it fail instead
/// of comparing nothing.
fn dma_debug_free_entries() -> Result<u32> {
    // SAFETY: Looking up a debugfs entry by name is always safe.
    let dir = unsafe { bindings::debugfs_lookup(c"dma-api".as_char_ptr(), ptr::null_mut()) };
    if dir.is_null() {
        return Err(ENODEV);
    }

    // SAFETY: `dir` is a valid dentry; the reference to it is dropped right after.
    let file = unsafe {
        let file = bindings::debugfs_lookup(c"num_free_entries".as_char_ptr(), dir);
        bindings::dput(dir);
        file
    };
    if file.is_null() {
        return Err(ENODEV);
    }

    // SAFETY: `file` is a valid positive dentry of `debugfs_create_u32()`, whose inode's private
    // data is the `u32` it shows. The DMA API debugging code updates it under its lock; a
    // volatile read of an aligned `u32` is what reading the debugfs file does too.
    let value = unsafe {
        let value = (*(*file).d_inode).i_private.cast::<u32>().read_volatile();
        bindings::dput(file);
        value
    };
    Ok(value)
}

/// Returns whether interrupt `irq` has a descriptor.
fn irq_exists(irq: u32) -> bool {
    // SAFETY: Looking up an interrupt number is always safe.
    !unsafe { bindings::irq_get_irq_data(irq) }.is_null()
}

/// Returns the published doorbell array of function `epf`.
fn published(epf: *mut bindings::pci_epf) -> *mut bindings::pci_epf_doorbell_msg {
    // SAFETY: `epf` is a valid function for the duration of the test; `Function` is a
    // transparent wrapper of `struct pci_epf`.
    unsafe { &*epf.cast::<Function>() }.doorbell_array()
}

/// An interrupt handler that counts its calls.
#[pin_data]
struct Hits {
    hits: Atomic<u32>,
}

impl Hits {
    fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            hits: Atomic::new(0),
        })
    }
}

impl irq::Handler for Hits {
    fn handle(&self, _dev: &device::Device<device::Bound>) -> irq::IrqReturn {
        self.hits.add(1, Relaxed);
        irq::IrqReturn::Handled
    }
}

/// Fires interrupt `irq` as its interrupt controller would.
fn fire(irq: u32) -> Result {
    // SAFETY: `irq` is an allocated interrupt with a flow handler.
    to_result(unsafe { bindings::generic_handle_irq_safe(irq) })
}

/// The offset of `GITS_TRANSLATER`, the doorbell register of a GICv3 ITS, in its register frame
/// (Arm IHI 0069, "GITS_TRANSLATER").
const GITS_TRANSLATER: u64 = 0x1_0040;

/// Returns big-endian cell `index` of property `name` of devicetree node `np`.
///
/// # Safety
///
/// `np` must be a valid devicetree node.
unsafe fn of_cell(np: *const bindings::device_node, name: &CStr, index: usize) -> Option<u32> {
    let mut len: c_int = 0;
    // SAFETY: `np` is valid by the safety requirements and `name` is a valid string.
    let prop = unsafe { bindings::of_get_property(np, name.as_char_ptr(), &mut len) };
    let len = usize::try_from(len).ok()?;
    if prop.is_null() || (index + 1) * 4 > len {
        return None;
    }
    // SAFETY: The property's value has `len` bytes, more than `(index + 1) * 4`. Devicetree
    // values are only 4-byte aligned by convention: read it unaligned.
    let raw = unsafe {
        prop.cast::<u8>()
            .add(index * 4)
            .cast::<u32>()
            .read_unaligned()
    };
    Some(u32::from_be(raw))
}

/// Returns the address of the doorbell register of the MSI controller of parent device `dev`, as
/// its devicetree describes it: the controller is the node of `dev`'s `msi-parent` or that of its
/// first `msi-map` entry; the doorbell of a `uml,loopback-msi` controller is the start of its
/// `reg`, that of a GICv3 ITS is `GITS_TRANSLATER` in its register frame. The controller's parent
/// buses must map addresses 1:1 (`ranges;`), as they do in QEMU's `virt` and in `kunit.dts`.
///
/// # Safety
///
/// `dev` must be a valid device.
unsafe fn msi_doorbell_address(dev: *mut bindings::device) -> Result<u64> {
    // SAFETY: `dev` is valid by the safety requirements.
    let np = unsafe { (*dev).of_node };
    if np.is_null() {
        return Err(ENODEV);
    }
    // SAFETY: `np` is the valid node of `dev`. `msi-parent` is one phandle here; an `msi-map`
    // entry is <rid-base phandle msi-base length>.
    let phandle = unsafe { of_cell(np, c"msi-parent", 0).or_else(|| of_cell(np, c"msi-map", 1)) }
        .ok_or(ENODEV)?;
    // SAFETY: Looking up a phandle is always safe.
    let ctrl = unsafe { bindings::of_find_node_by_phandle(phandle) };
    if ctrl.is_null() {
        return Err(ENODEV);
    }
    // SAFETY: `ctrl` is a valid node, referenced until the `of_node_put()` below.
    let (cells, its) = unsafe {
        (
            bindings::of_n_addr_cells(ctrl),
            bindings::of_device_is_compatible(ctrl, c"arm,gic-v3-its".as_char_ptr()) > 0,
        )
    };
    let mut base = Some(0u64);
    for i in 0..usize::try_from(cells).unwrap_or(0) {
        // SAFETY: `ctrl` is a valid node.
        let cell = unsafe { of_cell(ctrl, c"reg", i) };
        base = base.zip(cell).map(|(b, c)| (b << 32) | u64::from(c));
    }
    #[cfg(CONFIG_OF_DYNAMIC)]
    // SAFETY: The reference taken by `of_find_node_by_phandle()`.
    unsafe {
        bindings::of_node_put(ctrl)
    };
    let base = base.filter(|_| cells > 0).ok_or(EINVAL)?;
    Ok(if its { base + GITS_TRANSLATER } else { base })
}

/// Rings MSI doorbell `msg` of interrupt `irq` as the host would: a write of its data to its
/// address, which the GICv3 ITS translates (the CPU's writes reach it with requester ID 0, the
/// DeviceID that `qemu-kunit-its.dtsi` maps the test controllers to). UML has no MMIO: there the
/// loopback MSI controller's interrupt is fired as the controller would on such a write.
fn ring(msg: &Message, irq: u32) -> Result {
    if !cfg!(CONFIG_ARM64) {
        return fire(irq);
    }
    let addr = ResourceSize::try_from(msg.address).map_err(|_| EINVAL)?;
    // SAFETY: Mapping a device register frame; `GITS_TRANSLATER` is a write-only register with no
    // side effect but the translation of the write.
    let regs = unsafe { bindings::ioremap(addr, 4) };
    if regs.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `regs` maps the 4 bytes of the doorbell register.
    unsafe {
        bindings::writel(msg.data, regs);
        bindings::iounmap(regs);
    }
    Ok(())
}

/// Waits up to 100 ms for `hits` to reach `n`: an interrupt the ITS raises for a write is taken
/// some time after the write.
fn wait_hits(hits: &Atomic<u32>, n: u32) -> u32 {
    for _ in 0..100 {
        if hits.load(Relaxed) >= n {
            break;
        }
        crate::time::delay::fsleep(crate::time::Delta::from_millis(1));
    }
    hits.load(Relaxed)
}

#[macros::kunit_tests(rust_pci_endpoint_doorbell_hw)]
mod tests {
    use super::*;

    const PAGE: PhysAddr = PAGE_SIZE as PhysAddr;

    /// A controller with no MSI parent and one doorbell resource not exposed in a BAR.
    fn embedded_epc(nr_funcs: u8) -> Result<KBox<TestEpc>> {
        TestEpc::new(
            c"kunit-epc-none",
            Behaviour::aux(&[doorbell_res(DB_BASE + 0xa0, None, DB_IRQ, 0)])?,
            nr_funcs,
        )
    }

    #[test]
    fn controller_without_devres_has_no_dma_device() -> Result {
        // The test controllers are created with `__pci_epc_create()`: nothing ties them to a
        // binding of their parent, so the parent is not handed out as a bound device.
        let t = TestEpc::new(c"kunit-epc-msi", Behaviour::no_aux(), 1)?;
        let epc = t.controller(0);

        assert_eq!(epc.dma_device().err(), Some(ENODEV));
        assert!(ptr::eq(epc.parent().as_raw(), t.parent));
        assert!(ptr::eq(epc.link().function().as_raw(), t.epf(0)));
        Ok(())
    }

    #[test]
    fn msi_success() -> Result {
        let t = TestEpc::new(c"kunit-epc-msi", Behaviour::no_aux(), 1)?;
        let epc = t.controller(0);
        let db = alloc_doorbell(&epc, 3)?;

        assert_eq!(db.kind(), DoorbellKind::Msi);
        assert_eq!(db.len(), 3);
        assert_eq!(t.aux_calls(), 0);
        assert_eq!(published(t.epf(0)), db.published.storage().as_ptr());

        let mut irqs = [0u32; 3];
        for (i, m) in db.iter().enumerate() {
            assert_eq!(m.kind(), DoorbellKind::Msi);
            assert!(m.irq_flags() == irq::Flags::TRIGGER_NONE);
            assert_eq!(m.target(), DoorbellTarget::MapIntoFreeBar);
            // Not written back before the interrupt is requested.
            assert_eq!(m.message(), None);
            assert_eq!(
                Message::from_raw(&db.published.storage().read(i).msg).address,
                0
            );
            irqs[i] = m.irq().ok_or(EINVAL)?;
            assert!(irq_exists(irqs[i]));
        }
        assert!(irqs[0] != irqs[1] && irqs[1] != irqs[2] && irqs[0] != irqs[2]);

        // Nothing is asserted while the interrupts are requested: a failed assertion ends the
        // test thread, and its requested interrupts would never be freed.
        let (m0, m2, written, hits) = {
            let r0 = KBox::pin_init(
                db.request_irq(0, irq::Flags::TRIGGER_NONE, c"kunit-db0", Hits::new()),
                GFP_KERNEL,
            )?;
            let r2 = KBox::pin_init(
                db.request_irq(2, irq::Flags::TRIGGER_NONE, c"kunit-db2", Hits::new()),
                GFP_KERNEL,
            )?;
            let (m0, m2) = (r0.message(), r2.message());
            let written = [0, 1, 2].map(|i| Message::from_raw(&db.published.storage().read(i).msg));
            let (h0, h2) = (
                &r0.registration().handler().hits,
                &r2.registration().handler().hits,
            );

            // The interrupts are real and reach their own handler.
            let rung = ring(&m2, irqs[2]).map(|()| wait_hits(h2, 1));
            let rung = rung.and_then(|first| {
                ring(&m2, irqs[2])?;
                ring(&m0, irqs[0])?;
                Ok((first, wait_hits(h0, 1), wait_hits(h2, 2)))
            });

            (m0, m2, written, rung)
        };
        assert_eq!(hits, Ok((1, 1, 2)));

        // The MSI controller's message: its doorbell register, as the devicetree describes it,
        // and the vector.
        // SAFETY: `t.parent` is the valid parent device of the test controller.
        let doorbell = unsafe { msi_doorbell_address(t.parent) }?;
        assert_eq!(m0.address, doorbell);
        assert_eq!(m2.address, doorbell);
        assert!(m0.data != m2.data);
        // Written back into the C array, for C users of the same function; doorbell 1 is not
        // requested: still not written.
        assert_eq!(written[0], m0);
        assert_eq!(written[2], m2);
        assert_eq!(written[1].address, 0);

        drop(db);
        for irq in irqs {
            assert!(!irq_exists(irq));
        }
        assert!(published(t.epf(0)).is_null());
        Ok(())
    }

    #[test]
    fn no_msi_parent_falls_back() -> Result {
        let t = embedded_epc(1)?;
        let db = alloc_doorbell(&t.controller(0), 1)?;

        assert_eq!(db.kind(), DoorbellKind::Embedded);
        assert_eq!(t.aux_calls(), 2);
        Ok(())
    }

    #[test]
    fn uml_mutable_msi_parent_falls_back() -> Result {
        let t = TestEpc::new(
            c"kunit-epc-mutable",
            Behaviour::aux(&[doorbell_res(DB_BASE + 0xa0, None, DB_IRQ, 0)])?,
            1,
        )?;
        let db = alloc_doorbell(&t.controller(0), 2)?;

        assert_eq!(db.kind(), DoorbellKind::Embedded);
        assert_eq!(db.get(1).map(|m| m.irq()), Some(Some(DB_IRQ as u32)));
        assert_eq!(t.aux_calls(), 2);
        Ok(())
    }

    #[test]
    fn uml_msi_error_not_enodev_no_fallback() -> Result {
        // An embedded doorbell is available, but must not be used.
        let t = TestEpc::new(
            c"kunit-epc-small",
            Behaviour::aux(&[doorbell_res(DB_BASE + 0xa0, None, DB_IRQ, 0)])?,
            1,
        )?;
        let epc = t.controller(0);
        let free = dma_debug_free_entries()?;

        // Two vectors only.
        assert_eq!(alloc_doorbell(&epc, 3).err(), Some(ENOSPC));
        assert_eq!(t.aux_calls(), 0);
        assert_eq!(dma_debug_free_entries()?, free);
        assert!(published(t.epf(0)).is_null());

        // The failure left nothing behind: a smaller request succeeds.
        let db = alloc_doorbell(&epc, 2)?;
        assert_eq!(db.kind(), DoorbellKind::Msi);
        Ok(())
    }

    #[test]
    fn no_aux_op_eopnotsupp() -> Result {
        let t = TestEpc::new(c"kunit-epc-none", Behaviour::no_aux(), 1)?;

        assert_eq!(alloc_doorbell(&t.controller(0), 1).err(), Some(EOPNOTSUPP));
        assert!(published(t.epf(0)).is_null());
        Ok(())
    }

    #[test]
    fn zero_aux_resources_enodev() -> Result {
        let mut b = Behaviour::aux(&[doorbell_res(DB_BASE + 0xa0, None, DB_IRQ, 0)])?;
        b.count = Some(0);
        let t = TestEpc::new(c"kunit-epc-none", b, 1)?;

        assert_eq!(alloc_doorbell(&t.controller(0), 1).err(), Some(ENODEV));
        // Only the count was asked for.
        assert_eq!(t.aux_calls(), 1);
        Ok(())
    }

    #[test]
    fn no_doorbell_mmio_resource() -> Result {
        let t = TestEpc::new(
            c"kunit-epc-none",
            Behaviour::aux(&[other_res(DB_BASE), other_res(DB_BASE + PAGE)])?,
            1,
        )?;
        let free = dma_debug_free_entries()?;

        assert_eq!(alloc_doorbell(&t.controller(0), 1).err(), Some(ENODEV));
        assert_eq!(t.aux_calls(), 2);
        assert_eq!(dma_debug_free_entries()?, free);
        assert!(published(t.epf(0)).is_null());
        Ok(())
    }

    #[test]
    fn unaligned_address_einval() -> Result {
        let t = TestEpc::new(
            c"kunit-epc-none",
            Behaviour::aux(&[doorbell_res(DB_BASE + 0xa2, None, DB_IRQ, 0)])?,
            1,
        )?;
        let free = dma_debug_free_entries()?;

        assert_eq!(alloc_doorbell(&t.controller(0), 1).err(), Some(EINVAL));
        assert_eq!(dma_debug_free_entries()?, free);
        assert!(published(t.epf(0)).is_null());
        Ok(())
    }

    #[test]
    fn pre_exposed_bar() -> Result {
        let t = TestEpc::new(
            c"kunit-epc-none",
            Behaviour::aux(&[doorbell_res(
                DB_BASE + 0xa0,
                Some((BarNo::BAR_4, 0x20a0)),
                DB_IRQ,
                0x5a,
            )])?,
            1,
        )?;
        let free = dma_debug_free_entries()?;
        let db = alloc_doorbell(&t.controller(0), 1)?;
        let m = db.get(0).ok_or(EINVAL)?;

        assert_eq!(db.kind(), DoorbellKind::Embedded);
        assert_eq!(
            m.target(),
            DoorbellTarget::Exposed {
                bar: BarNo::BAR_4,
                offset: 0x20a0
            }
        );
        // Written at its physical address, which the controller translates the BAR to.
        assert_eq!(
            m.message(),
            Some(Message {
                address: phys_to_u64(DB_BASE + 0xa0),
                data: 0x5a
            })
        );
        let e = db.published.storage().read(0);
        assert_eq!((e.iova_base, e.iova_size), (0, 0));
        assert_eq!((e.bar, e.offset), (bindings::pci_barno_BAR_4, 0x20a0));
        // No mapping was made.
        assert_eq!(dma_debug_free_entries()?, free);
        Ok(())
    }

    #[test]
    fn iova_mapping_unmapped_on_drop() -> Result {
        let t = embedded_epc(1)?;
        let free = dma_debug_free_entries()?;
        // The mapping needs a free entry of the DMA API debugging code.
        assert!(free > 0);

        let db = alloc_doorbell(&t.controller(0), 1)?;
        let m = db.get(0).ok_or(EINVAL)?;
        let e = db.published.storage().read(0);

        assert_eq!(m.target(), DoorbellTarget::MapIntoFreeBar);
        // One page mapped, the doorbell at its offset in the page.
        assert_eq!(e.iova_size, PAGE_SIZE);
        assert_eq!(
            m.message().map(|m| m.address),
            Some(dma_to_u64(e.iova_base) + 0xa0)
        );
        assert_eq!(dma_debug_free_entries()?, free - 1);

        drop(db);
        assert_eq!(dma_debug_free_entries()?, free);
        assert!(published(t.epf(0)).is_null());
        Ok(())
    }

    #[test]
    fn second_function_einval() -> Result {
        let t = embedded_epc(2)?;

        assert_eq!(alloc_doorbell(&t.controller(1), 1).err(), Some(EINVAL));
        assert_eq!(t.aux_calls(), 0);
        assert!(published(t.epf(1)).is_null());

        // The first function may.
        let db = alloc_doorbell(&t.controller(0), 1)?;
        assert_eq!(db.kind(), DoorbellKind::Embedded);
        Ok(())
    }

    #[test]
    fn double_alloc_ebusy() -> Result {
        let t = embedded_epc(1)?;
        let epc = t.controller(0);
        let free = dma_debug_free_entries()?;

        let db = alloc_doorbell(&epc, 2)?;
        let before = published(t.epf(0));
        let msg = db.get(0).and_then(|m| m.message());

        assert_eq!(alloc_doorbell(&epc, 1).err(), Some(EBUSY));

        // The first allocation is intact.
        assert_eq!(published(t.epf(0)), before);
        // SAFETY: The function is valid.
        assert_eq!(unsafe { (*t.epf(0)).num_db }, 2);
        // The published C entries, not the messages `db` cached at allocation.
        let msg = msg.ok_or(EINVAL)?;
        assert_eq!(Message::from_raw(&db.published.storage().read(0).msg), msg);
        assert_eq!(Message::from_raw(&db.published.storage().read(1).msg), msg);
        assert_eq!(dma_debug_free_entries()?, free - 1);

        drop(db);
        assert_eq!(dma_debug_free_entries()?, free);
        Ok(())
    }

    #[test]
    fn replication_shared_flags() -> Result {
        let t = embedded_epc(1)?;
        let free = dma_debug_free_entries()?;
        let db = alloc_doorbell(&t.controller(0), 4)?;
        let first = *db.get(0).ok_or(EINVAL)?;

        // An embedded doorbell has its message from the start: the loop compares real ones.
        assert!(first.message().is_some());
        assert_eq!(db.len(), 4);
        for (i, m) in db.iter().enumerate() {
            let e = db.published.storage().read(i);

            assert_eq!(m.kind(), DoorbellKind::Embedded);
            assert_eq!(m.irq(), Some(DB_IRQ as u32));
            assert!((m.irq_flags() & irq::Flags::SHARED) == irq::Flags::SHARED);
            assert_eq!(e.irq_flags, irq::Flags::SHARED.into_inner());
            assert_eq!(m.message(), first.message());
            // Only the first entry owns the mapping.
            assert_eq!((e.iova_size != 0), (i == 0));
        }
        // One mapping for four doorbells.
        assert_eq!(dma_debug_free_entries()?, free - 1);

        drop(db);
        assert_eq!(dma_debug_free_entries()?, free);
        Ok(())
    }

    #[test]
    fn several_resources_distinct_irqs() -> Result {
        let t = TestEpc::new(
            c"kunit-epc-none",
            Behaviour::aux(&[
                doorbell_res(DB_BASE + 0xa0, None, DB_IRQ, 1),
                other_res(DB_BASE + 4 * PAGE),
                doorbell_res(DB_BASE + PAGE + 0x10, None, DB_IRQ + 1, 2),
                doorbell_res(DB_BASE + 2 * PAGE, Some((BarNo::BAR_2, 0)), DB_IRQ + 2, 3),
            ])?,
            1,
        )?;
        let free = dma_debug_free_entries()?;
        let db = alloc_doorbell(&t.controller(0), 4)?;

        let irqs: [Option<u32>; 4] = core::array::from_fn(|i| db.get(i).and_then(|m| m.irq()));
        let want = [DB_IRQ, DB_IRQ + 1, DB_IRQ + 2, DB_IRQ].map(|i| Some(i as u32));
        assert_eq!(irqs, want);

        let msgs: [Option<Message>; 4] =
            core::array::from_fn(|i| db.get(i).and_then(|m| m.message()));
        assert!(msgs[0] != msgs[1] && msgs[1] != msgs[2] && msgs[0] != msgs[2]);
        assert_eq!(msgs[3], msgs[0]);
        assert_eq!(msgs.map(|m| m.map(|m| m.data)), [1, 2, 3, 1].map(Some));
        assert_eq!(
            db.get(2).map(|m| m.target()),
            Some(DoorbellTarget::Exposed {
                bar: BarNo::BAR_2,
                offset: 0
            })
        );
        assert_eq!(
            db.get(1).map(|m| m.target()),
            Some(DoorbellTarget::MapIntoFreeBar)
        );
        // Two mappings: the exposed doorbell needs none.
        assert_eq!(dma_debug_free_entries()?, free - 2);

        drop(db);
        assert_eq!(dma_debug_free_entries()?, free);
        Ok(())
    }

    /// Alloc+drop cycles of `alloc_drop_repeated_no_leak`, per doorbell kind.
    ///
    /// A doorbell that leaks an interrupt or a mapping shows in the first cycle already; the
    /// cycles are for state that builds up. On arm64 the suite runs under emulation (QEMU TCG,
    /// `make test-qemu`), where one cycle with the checkers costs about 10 ms, so fewer cycles
    /// keep the case well below the hung-task threshold on a slow host.
    const CYCLES: usize = if cfg!(CONFIG_UML) { 1000 } else { 100 };

    #[test]
    fn alloc_drop_repeated_no_leak() -> Result {
        // MSI: the same interrupts every time, freed every time.
        let t = TestEpc::new(c"kunit-epc-msi", Behaviour::no_aux(), 1)?;
        let epc = t.controller(0);
        let first: KVec<u32> = {
            let db = alloc_doorbell(&epc, 2)?;
            let mut v = KVec::new();
            for m in db.iter() {
                v.push(m.irq().ok_or(EINVAL)?, GFP_KERNEL)?;
            }
            v
        };
        for _ in 0..CYCLES {
            let db = alloc_doorbell(&epc, 2)?;
            for (m, irq) in db.iter().zip(first.iter()) {
                assert_eq!(m.irq(), Some(*irq));
            }
        }
        for irq in first.iter() {
            assert!(!irq_exists(*irq));
        }
        assert!(published(t.epf(0)).is_null());
        drop(t);

        // Embedded: every mapping is removed.
        let t = embedded_epc(1)?;
        let epc = t.controller(0);
        let free = dma_debug_free_entries()?;
        for _ in 0..CYCLES {
            let db = alloc_doorbell(&epc, 3)?;
            assert_eq!(db.len(), 3);
        }
        assert_eq!(dma_debug_free_entries()?, free);
        assert!(published(t.epf(0)).is_null());
        Ok(())
    }
}
