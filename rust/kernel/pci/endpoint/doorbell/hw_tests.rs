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

use crate::{
    bindings,
    device,
    error::to_result,
    io::{
        PhysAddr,
        ResourceSize, //
    },
    irq,
    page::PAGE_SIZE,
    pci::endpoint::{
        doorbell::{
            alloc_doorbell,
            embedded::phys_to_u64,
            storage::dma_to_u64,
            DoorbellKind,
            DoorbellTarget,
            Doorbells,
            Message, //
            MSI_PER_FUNCTION,
        },
        BarNo,
        Function, //
    },
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    }, //
};
use core::ptr;

mod epc;

use self::epc::{
    doorbell_res,
    other_res,
    Behaviour,
    TestEpc,
    DB_BASE,
    DB_IRQ, //
};

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
/// `np` must be a valid devicetree node. This cannot be checked: the kernel crate has no type
/// for a `struct device_node`, so a node is only the raw pointer the caller got it as.
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
/// `dev` must be a valid device. It is the raw parent device of the test controller (which
/// `TestEpc` creates and owns), and the walk reads raw `struct device_node`s, for which the
/// kernel crate has no type.
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

/// Requests MSI doorbell `index` of `db`, rings it once and returns how often its handler ran
/// and the message the MSI controller wrote back into the function's C array; the interrupt is
/// freed again before this returns.
///
/// It asserts nothing while the interrupt is requested: a failed assertion ends the test thread,
/// and the interrupt would never be freed.
fn ring_once(db: &Doorbells<'_>, index: usize) -> Result<(u32, Message)> {
    let irq = db.get(index).and_then(|m| m.irq()).ok_or(EINVAL)?;
    let r = KBox::pin_init(
        db.request_irq(index, irq::Flags::TRIGGER_NONE, c"kunit-db", Hits::new()),
        GFP_KERNEL,
    )?;
    let written = Message::from_raw(&db.published.storage().read(index).msg);

    ring(&r.message(), irq)?;
    Ok((wait_hits(&r.registration().handler().hits, 1), written))
}

/// Returns the interrupts of the doorbells of `db`.
fn irqs_of(db: &Doorbells<'_>) -> Result<KVec<u32>> {
    let mut v = KVec::with_capacity(db.len(), GFP_KERNEL)?;
    for m in db.iter() {
        v.push(m.irq().ok_or(EINVAL)?, GFP_KERNEL)?;
    }
    Ok(v)
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
    fn second_function_msi() -> Result {
        let t = TestEpc::new(c"kunit-epc-msi", Behaviour::no_aux(), 2)?;
        let db0 = alloc_doorbell(&t.controller(0), 2)?;
        let db1 = alloc_doorbell(&t.controller(1), 3)?;

        assert_eq!(db1.kind(), DoorbellKind::Msi);
        assert_eq!(db1.len(), 3);
        assert_eq!(published(t.epf(1)), db1.published.storage().as_ptr());
        assert_eq!(published(t.epf(0)), db0.published.storage().as_ptr());

        // Five interrupts of one domain, all distinct.
        let (i0, i1) = (irqs_of(&db0)?, irqs_of(&db1)?);
        for (n, a) in Iterator::chain(i0.iter(), i1.iter()).enumerate() {
            assert!(irq_exists(*a));
            for b in Iterator::chain(i0.iter(), i1.iter()).skip(n + 1) {
                assert!(a != b);
            }
        }

        // Each function's doorbell reaches its own handler, and the MSI controller writes the
        // message into the array of the function that owns the interrupt.
        let (hits1, written1) = ring_once(&db1, 2)?;
        let (hits0, written0) = ring_once(&db0, 0)?;
        assert_eq!((hits0, hits1), (1, 1));
        assert!(written1.address != 0 && written0.address != 0);
        assert!(written1.data != written0.data);
        assert_eq!(
            Message::from_raw(&db1.published.storage().read(0).msg).address,
            0
        );
        assert_eq!(
            Message::from_raw(&db0.published.storage().read(1).msg).address,
            0
        );

        drop(db0);
        drop(db1);
        for irq in Iterator::chain(i0.iter(), i1.iter()) {
            assert!(!irq_exists(*irq));
        }
        assert!(published(t.epf(0)).is_null() && published(t.epf(1)).is_null());
        Ok(())
    }

    #[test]
    fn msi_free_order_either_way() -> Result {
        let t = TestEpc::new(c"kunit-epc-msi", Behaviour::no_aux(), 2)?;
        let (epc0, epc1) = (t.controller(0), t.controller(1));

        // The second function goes first: the first one's doorbells keep working.
        let db0 = alloc_doorbell(&epc0, 2)?;
        let db1 = alloc_doorbell(&epc1, 2)?;
        let i1 = irqs_of(&db1)?;
        drop(db1);
        for irq in i1.iter() {
            assert!(!irq_exists(*irq));
        }
        assert!(irqs_of(&db0)?.iter().all(|i| irq_exists(*i)));
        assert_eq!(ring_once(&db0, 1)?.0, 1);

        // The second function comes back, and the first one goes first.
        let db1 = alloc_doorbell(&epc1, 2)?;
        assert_eq!(db1.kind(), DoorbellKind::Msi);
        let i0 = irqs_of(&db0)?;
        drop(db0);
        for irq in i0.iter() {
            assert!(!irq_exists(*irq));
        }
        assert_eq!(ring_once(&db1, 0)?.0, 1);
        let i1 = irqs_of(&db1)?;
        drop(db1);
        for irq in i1.iter() {
            assert!(!irq_exists(*irq));
        }

        // The last one removed the domain: a new allocation creates it again (with the domain
        // left behind, creating it would fail, and the controller has no embedded fallback).
        for epc in [&epc1, &epc0] {
            let db = alloc_doorbell(epc, 1)?;
            assert_eq!(db.kind(), DoorbellKind::Msi);
            assert_eq!(ring_once(&db, 0)?.0, 1);
        }
        Ok(())
    }

    #[test]
    fn msi_failure_of_one_function_leaves_the_other() -> Result {
        let t = TestEpc::new(c"kunit-epc-msi", Behaviour::no_aux(), 2)?;
        let db0 = alloc_doorbell(&t.controller(0), 2)?;
        let i0 = irqs_of(&db0)?;

        // More than the range of a function of a multi-function controller.
        assert_eq!(
            alloc_doorbell(&t.controller(1), MSI_PER_FUNCTION + 1).err(),
            Some(EINVAL)
        );
        assert!(published(t.epf(1)).is_null());
        assert_eq!(irqs_of(&db0)?, i0);
        assert!(i0.iter().all(|i| irq_exists(*i)));
        assert_eq!(ring_once(&db0, 1)?.0, 1);

        // The failure left nothing behind: a request within the range succeeds, with
        // interrupts of its own.
        let db1 = alloc_doorbell(&t.controller(1), 2)?;
        let i1 = irqs_of(&db1)?;
        assert!(i1.iter().all(|i| !i0.contains(i)));
        assert_eq!(ring_once(&db1, 1)?.0, 1);
        Ok(())
    }

    #[test]
    fn uml_msi_vectors_exhausted_by_one_function() -> Result {
        // Two vectors: the first function takes both, the second one's allocation fails with the
        // MSI controller's error, not with a fallback, and leaves the first one's intact.
        let t = TestEpc::new(
            c"kunit-epc-small",
            Behaviour::aux(&[doorbell_res(DB_BASE + 0xa0, None, DB_IRQ, 0)])?,
            2,
        )?;
        let db0 = alloc_doorbell(&t.controller(0), 2)?;
        let i0 = irqs_of(&db0)?;

        assert_eq!(alloc_doorbell(&t.controller(1), 1).err(), Some(ENOSPC));
        assert_eq!(t.aux_calls(), 0);
        assert!(published(t.epf(1)).is_null());
        assert!(i0.iter().all(|i| irq_exists(*i)));
        assert_eq!(ring_once(&db0, 0)?.0, 1);

        // With the vectors back, the second function has one.
        drop(db0);
        let db1 = alloc_doorbell(&t.controller(1), 1)?;
        assert_eq!(db1.kind(), DoorbellKind::Msi);
        assert_eq!(ring_once(&db1, 0)?.0, 1);
        Ok(())
    }

    #[test]
    fn second_function_embedded() -> Result {
        // One doorbell resource for two functions: they share it.
        let t = embedded_epc(2)?;
        let free = dma_debug_free_entries()?;
        let db0 = alloc_doorbell(&t.controller(0), 1)?;
        let db1 = alloc_doorbell(&t.controller(1), 2)?;

        assert_eq!(db1.kind(), DoorbellKind::Embedded);
        let (m0, m1) = (db0.get(0).copied(), db1.get(1).copied());
        assert!(m0.is_some() && m1.is_some());
        assert_eq!(m1.and_then(|m| m.message()), m0.and_then(|m| m.message()));
        for m in Iterator::chain(db0.iter(), db1.iter()) {
            assert_eq!(m.irq(), Some(DB_IRQ as u32));
            assert!((m.irq_flags() & irq::Flags::SHARED) == irq::Flags::SHARED);
        }
        // One mapping per function.
        assert_eq!(dma_debug_free_entries()?, free - 2);
        drop(db0);
        assert_eq!(dma_debug_free_entries()?, free - 1);
        drop(db1);
        assert_eq!(dma_debug_free_entries()?, free);
        drop(t);

        // Two resources for two functions: one each.
        let t = TestEpc::new(
            c"kunit-epc-none",
            Behaviour::aux(&[
                doorbell_res(DB_BASE + 0xa0, None, DB_IRQ, 1),
                doorbell_res(DB_BASE + PAGE + 0x10, None, DB_IRQ + 1, 2),
            ])?,
            2,
        )?;
        let db1 = alloc_doorbell(&t.controller(1), 2)?;
        let db0 = alloc_doorbell(&t.controller(0), 2)?;
        let data = |db: &Doorbells<'_>| -> [Option<u32>; 2] {
            core::array::from_fn(|i| db.get(i).and_then(|m| m.message()).map(|m| m.data))
        };
        assert_eq!(data(&db0), [Some(1), Some(1)]);
        assert_eq!(data(&db1), [Some(2), Some(2)]);
        assert_eq!(db1.get(0).and_then(|m| m.irq()), Some((DB_IRQ + 1) as u32));
        Ok(())
    }

    /// Iterations of `two_functions_interleaved_no_leak` with MSI doorbells, three alloc+drop
    /// cycles each. An MSI cycle costs about 10 ms on UML with the checkers, far more than an
    /// embedded one: fewer of them keep the case well below the hung-task threshold.
    const MSI_ROUNDS: usize = if cfg!(CONFIG_UML) { 100 } else { 10 };

    #[test]
    fn two_functions_interleaved_no_leak() -> Result {
        // MSI: interleaved allocations and frees of two functions, in both orders.
        let t = TestEpc::new(c"kunit-epc-msi", Behaviour::no_aux(), 2)?;
        let (epc0, epc1) = (t.controller(0), t.controller(1));
        let mut seen: KVec<u32> = KVec::new();
        for n in 0..MSI_ROUNDS {
            let db0 = alloc_doorbell(&epc0, 2)?;
            let db1 = alloc_doorbell(&epc1, 1)?;
            if n == 0 {
                seen.extend_from_slice(&irqs_of(&db0)?, GFP_KERNEL)?;
                seen.extend_from_slice(&irqs_of(&db1)?, GFP_KERNEL)?;
            }
            if n % 2 == 0 {
                drop(db0);
                let db0 = alloc_doorbell(&epc0, 1)?;
                drop(db1);
                drop(db0);
            } else {
                drop(db1);
                let db1 = alloc_doorbell(&epc1, 2)?;
                drop(db0);
                drop(db1);
            }
        }
        for irq in seen.iter() {
            assert!(!irq_exists(*irq));
        }
        assert!(published(t.epf(0)).is_null() && published(t.epf(1)).is_null());
        drop(t);

        // Embedded: every mapping of both functions is removed, over `CYCLES` alloc+drop cycles.
        let t = embedded_epc(2)?;
        let (epc0, epc1) = (t.controller(0), t.controller(1));
        let free = dma_debug_free_entries()?;
        for n in 0..CYCLES / 2 {
            let db0 = alloc_doorbell(&epc0, 2)?;
            let db1 = alloc_doorbell(&epc1, 1)?;
            if n % 2 == 0 {
                drop(db0);
                drop(db1);
            } else {
                drop(db1);
                drop(db0);
            }
        }
        assert_eq!(dma_debug_free_entries()?, free);
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

    #[test]
    fn resources_beyond_the_stack() -> Result {
        // More resources than `Controller::with_aux_resources()` converts on the stack: they are
        // all reported, and the last one backs its doorbell.
        let t = TestEpc::new(
            c"kunit-epc-none",
            Behaviour::aux(&[
                other_res(DB_BASE + 8 * PAGE),
                doorbell_res(DB_BASE + 0xa0, None, DB_IRQ, 1),
                doorbell_res(DB_BASE + PAGE, None, DB_IRQ + 1, 2),
                doorbell_res(DB_BASE + 2 * PAGE, None, DB_IRQ + 2, 3),
                doorbell_res(DB_BASE + 3 * PAGE, None, DB_IRQ + 3, 4),
                doorbell_res(DB_BASE + 4 * PAGE + 0x40, None, DB_IRQ + 4, 5),
            ])?,
            1,
        )?;
        let epc = t.controller(0);
        let all = epc.aux_resources()?;
        assert_eq!(all.len(), 6);
        assert!(epc.with_aux_resources(|r| Ok(r == &all[..]))?);

        let db = alloc_doorbell(&epc, 5)?;
        let data: [Option<u32>; 5] =
            core::array::from_fn(|i| db.get(i).and_then(|m| m.message()).map(|m| m.data));
        assert_eq!(data, [1, 2, 3, 4, 5].map(Some));
        assert_eq!(db.get(4).and_then(|m| m.irq()), Some((DB_IRQ + 4) as u32));
        Ok(())
    }

    /// Alloc+drop cycles of `alloc_drop_repeated_no_leak` and
    /// `alloc_drop_repeated_no_leak_embedded`.
    ///
    /// A doorbell that leaks an interrupt or a mapping shows in the first cycle already; the
    /// cycles are for state that builds up. The KUnit executor waits for a case in an
    /// uninterruptible sleep, so each case must stay well below the hung-task threshold (20 s)
    /// also on a slow, loaded host: on UML with the checkers 1000 cycles of both kinds in one
    /// case took 5 to 18 s. On arm64 the suite runs under emulation (QEMU TCG, `make
    /// test-qemu`), where one cycle with the checkers costs about 10 ms.
    const CYCLES: usize = if cfg!(CONFIG_UML) { 500 } else { 100 };

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
        Ok(())
    }

    #[test]
    fn alloc_drop_repeated_no_leak_embedded() -> Result {
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
