// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the doorbell allocator's logic, without a controller.

#[macros::kunit_tests(rust_pci_endpoint_doorbell)]
mod suite {
    use crate::{
        bindings,
        io::{
            PhysAddr,
            ResourceSize, //
        },
        irq,
        page::PAGE_SIZE,
        pci::endpoint::{
            doorbell::{
                embedded::{
                    fill,
                    page_window,
                    plan_sources,
                    source_index,
                    Share,
                    Source, //
                },
                msi::Indexes,
                storage::Storage,
                DoorbellKind,
                DoorbellMsg,
                DoorbellTarget,
                Message, //
                MSI_PER_FUNCTION,
            },
            AuxResource,
            AuxResourceKind,
            BarLocation,
            BarNo, //
        },
        prelude::*,
    };

    /// The share of the function of a controller with one function.
    const ONE: Share = Share {
        func_no: 0,
        funcs: 1,
    };

    fn doorbell_res(phys_addr: PhysAddr, exposed: Option<BarLocation>, irq: u32) -> AuxResource {
        AuxResource {
            phys_addr,
            size: 4,
            exposed,
            kind: AuxResourceKind::DoorbellMmio {
                irq: Some(irq),
                data: irq + 100,
            },
        }
    }

    fn unknown_res(phys_addr: PhysAddr) -> AuxResource {
        AuxResource {
            phys_addr,
            size: 4096,
            exposed: None,
            kind: AuxResourceKind::Unknown(7),
        }
    }

    fn plan(resources: &[AuxResource], num_db: u16) -> Result<KVec<Source>> {
        let plan = plan_sources(resources, num_db, ONE)?;
        let mut v = KVec::with_capacity(plan.len(), GFP_KERNEL)?;

        for s in plan.iter() {
            v.push(s, GFP_KERNEL)?;
        }
        assert_eq!(v.len(), plan.len());
        Ok(v)
    }

    /// Allocates the entries of `num_db` embedded doorbells from `resources`, as the allocator
    /// does, without a device: the resources must be exposed in a BAR, so that nothing is
    /// mapped.
    fn entries(resources: &[AuxResource], num_db: u16) -> Result<Storage<'static>> {
        let mut storage = Storage::new(num_db, DoorbellKind::Embedded, None)?;

        fill(&mut storage, &plan_sources(resources, num_db, ONE)?)?;
        Ok(storage)
    }

    fn exposed(bar: BarNo, offset: ResourceSize) -> Option<BarLocation> {
        Some(BarLocation { bar, offset })
    }

    #[test]
    fn plan_needs_a_doorbell_resource() {
        assert_eq!(plan(&[], 1).err(), Some(ENODEV));
        assert_eq!(
            plan(&[unknown_res(0x1000), unknown_res(0x2000)], 4).err(),
            Some(ENODEV)
        );
    }

    #[test]
    fn plan_skips_other_resources_and_keeps_order() -> Result {
        let res = [
            unknown_res(0x1000),
            doorbell_res(0x2000_00a0, None, 10),
            unknown_res(0x3000),
            doorbell_res(0x4000_0000, None, 11),
        ];
        let sources = plan(&res, 8)?;

        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0].phys_addr, 0x2000_00a0);
        assert_eq!(sources[0].irq, Some(10));
        assert_eq!(sources[1].phys_addr, 0x4000_0000);
        Ok(())
    }

    #[test]
    fn plan_uses_at_most_one_source_per_doorbell() -> Result {
        let res = [
            doorbell_res(0x1000, None, 1),
            doorbell_res(0x2000, None, 2),
            doorbell_res(0x3003, None, 3),
        ];

        // The third, misaligned, resource is not needed for two doorbells.
        assert_eq!(plan(&res, 2)?.len(), 2);
        assert_eq!(plan(&res, 1)?.len(), 1);
        Ok(())
    }

    #[test]
    fn plan_converts_every_resource() {
        // A controller that reports a resource with an invalid BAR is broken: the allocation
        // fails, even when that resource is not needed, because `Controller::with_aux_resources()`
        // converts all of them first.
        let good = bindings::pci_epc_aux_resource {
            type_: bindings::pci_epc_aux_resource_type_PCI_EPC_AUX_DOORBELL_MMIO,
            phys_addr: 0x1000,
            bar: bindings::pci_barno_NO_BAR,
            ..Default::default()
        };
        let bad = bindings::pci_epc_aux_resource { bar: 6, ..good };

        assert!(AuxResource::convert_all(&[good]).is_ok());
        assert_eq!(AuxResource::convert_all(&[good, bad]).err(), Some(EINVAL));
    }

    #[test]
    fn plan_rejects_misaligned_doorbell() {
        assert_eq!(
            plan(&[doorbell_res(0x2000_00a2, None, 1)], 1).err(),
            Some(EINVAL)
        );
        assert_eq!(
            plan(
                &[doorbell_res(0x1000, None, 1), doorbell_res(0x2001, None, 2)],
                2
            )
            .err(),
            Some(EINVAL)
        );
    }

    #[test]
    fn doorbells_are_distinct_before_replicated() {
        assert_eq!(source_index(0, 1), 0);
        assert_eq!(source_index(5, 1), 0);
        assert_eq!(source_index(0, 3), 0);
        assert_eq!(source_index(1, 3), 1);
        assert_eq!(source_index(2, 3), 2);
        assert_eq!(source_index(3, 3), 0);
        assert_eq!(source_index(4, 3), 1);
    }

    #[test]
    fn page_window_covers_the_register() -> Result {
        let page = PAGE_SIZE as PhysAddr;

        let w = page_window(0x1000_00a0 * page)?;
        assert_eq!(w.base, 0x1000_00a0 * page);
        assert_eq!(w.offset, 0);
        assert_eq!(w.size, PAGE_SIZE);

        let w = page_window(3 * page + 0xa0)?;
        assert_eq!(w.base, 3 * page);
        assert_eq!(w.offset, 0xa0);
        assert_eq!(w.size, PAGE_SIZE);

        // The last word of a page.
        let w = page_window(4 * page - 4)?;
        assert_eq!(w.base, 3 * page);
        assert_eq!(w.offset, PAGE_SIZE - 4);
        assert_eq!(w.size, PAGE_SIZE);
        Ok(())
    }

    #[test]
    fn single_resource_is_replicated_like_c() -> Result {
        let storage = entries(
            &[doorbell_res(0x1_0000_00a0, exposed(BarNo::BAR_4, 0xa0), 42)],
            3,
        )?;

        for i in 0..3 {
            let e = storage.read(i);
            let msg = DoorbellMsg::from_raw(&e);

            assert_eq!(
                e.type_,
                bindings::pci_epf_doorbell_type_PCI_EPF_DOORBELL_EMBEDDED
            );
            assert_eq!(e.virq, 42);
            assert_eq!(e.irq_flags, irq::Flags::SHARED.into_inner());
            assert_eq!(e.bar, bindings::pci_barno_BAR_4);
            assert_eq!(e.offset, 0xa0);
            assert_eq!((e.iova_base, e.iova_size), (0, 0));

            assert_eq!(msg.kind(), DoorbellKind::Embedded);
            assert_eq!(msg.irq(), Some(42));
            assert!(msg.irq_flags() == irq::Flags::SHARED);
            assert_eq!(
                msg.target(),
                DoorbellTarget::Exposed {
                    bar: BarNo::BAR_4,
                    offset: 0xa0
                }
            );
            // A pre-exposed doorbell is written at its physical address.
            assert_eq!(
                msg.message(),
                Some(Message {
                    address: 0x1_0000_00a0,
                    data: 142
                })
            );
        }
        Ok(())
    }

    #[test]
    fn several_resources_give_distinct_doorbells() -> Result {
        let res = [
            doorbell_res(0x1000, exposed(BarNo::BAR_2, 0), 1),
            unknown_res(0x3000),
            doorbell_res(0x2000, exposed(BarNo::BAR_4, 0x10), 2),
        ];
        let storage = entries(&res, 5)?;
        let e: [bindings::pci_epf_doorbell_msg; 5] = core::array::from_fn(|i| storage.read(i));

        // Own address, data and interrupt for the first two, then replicated.
        assert_eq!(e.map(|e| e.virq), [1, 2, 1, 2, 1]);

        let m = e.map(|e| Message::from_raw(&e.msg));
        assert_ne!(m[0], m[1]);
        assert_eq!((m[0], m[1], m[0]), (m[2], m[3], m[4]));
        assert_eq!((m[0].address, m[0].data), (0x1000, 101));
        assert_eq!((m[1].address, m[1].data), (0x2000, 102));

        let targets = e.map(|e| DoorbellMsg::from_raw(&e).target());
        let t0 = DoorbellTarget::Exposed {
            bar: BarNo::BAR_2,
            offset: 0,
        };
        let t1 = DoorbellTarget::Exposed {
            bar: BarNo::BAR_4,
            offset: 0x10,
        };
        assert_eq!(targets, [t0, t1, t0, t1, t0]);

        // Nothing is mapped for doorbells exposed in a BAR; the mappings of the others (each
        // owned by the first doorbell of its source) are checked on a real controller, in
        // `rust_pci_endpoint_doorbell_hw`. Without a device, there is nothing to map them for.
        for entry in e {
            assert_eq!((entry.iova_base, entry.iova_size), (0, 0));
        }
        assert_eq!(
            entries(&[doorbell_res(0x1000, None, 1)], 1).err(),
            Some(EINVAL)
        );
        Ok(())
    }

    #[test]
    fn msi_message_is_hidden_until_requested() {
        let e = bindings::pci_epf_doorbell_msg {
            type_: DoorbellKind::Msi.as_raw(),
            bar: bindings::pci_barno_NO_BAR,
            virq: 33,
            ..Default::default()
        };

        let msg = DoorbellMsg::from_raw(&e);
        assert_eq!(msg.kind(), DoorbellKind::Msi);
        assert_eq!(msg.irq(), Some(33));
        assert!(msg.irq_flags() == irq::Flags::TRIGGER_NONE);
        assert_eq!(msg.target(), DoorbellTarget::MapIntoFreeBar);
        assert_eq!(msg.message(), None);
    }

    #[test]
    fn message_round_trips() {
        let m = Message {
            address: 0x1234_5678_9abc_def0,
            data: 0xdead_beef,
        };
        assert_eq!(Message::from_raw(&m.to_raw()), m);
    }

    #[test]
    fn storage_rejects_empty_array() {
        assert_eq!(Storage::new(0, DoorbellKind::Msi, None).err(), Some(EINVAL));
    }

    #[test]
    fn storage_round_trips_through_the_c_api() -> Result {
        let storage = Storage::new(3, DoorbellKind::Embedded, None)?;
        assert_eq!(storage.kind(), DoorbellKind::Embedded);
        assert_eq!(storage.read(2).bar, bindings::pci_barno_NO_BAR);

        let ptr = storage.into_raw();
        // SAFETY: `ptr` is the first of 3 entries that were just leaked.
        let last = unsafe { ptr.as_ptr().add(2).read() };
        assert_eq!(last.type_, DoorbellKind::Embedded.as_raw());
        // SAFETY: `ptr` was just leaked from a `Storage` of 3 entries without a device.
        let storage = unsafe { Storage::from_raw(ptr, 3, None) };
        assert_eq!(storage.len(), 3);
        assert_eq!(storage.kind(), DoorbellKind::Embedded);
        Ok(())
    }

    #[test]
    fn share_distinct_parts_when_enough() {
        let share = |func_no, funcs| Share { func_no, funcs };

        // One function has every resource.
        assert_eq!(ONE.part(5), (0, 5));
        // Two functions, enough resources: disjoint parts covering all of them.
        assert_eq!(share(0, 2).part(4), (0, 2));
        assert_eq!(share(1, 2).part(4), (2, 2));
        assert_eq!(share(0, 2).part(3), (0, 1));
        assert_eq!(share(1, 2).part(3), (1, 2));
        assert_eq!(share(0, 2).part(2), (0, 1));
        assert_eq!(share(1, 2).part(2), (1, 1));
        // Fewer resources than functions: shared, one each.
        assert_eq!(share(0, 2).part(1), (0, 1));
        assert_eq!(share(1, 2).part(1), (0, 1));
        assert_eq!(share(2, 3).part(2), (0, 1));
        // No resource at all.
        assert_eq!(share(1, 2).part(0), (0, 0));
    }

    #[test]
    fn second_function_plans_its_own_sources() -> Result {
        let res = [
            doorbell_res(0x1000, None, 1),
            unknown_res(0x8000),
            doorbell_res(0x2000, None, 2),
        ];
        let second = Share {
            func_no: 1,
            funcs: 2,
        };

        let first: KVec<Source> = {
            let plan = plan_sources(
                &res,
                4,
                Share {
                    func_no: 0,
                    funcs: 2,
                },
            )?;
            let mut v = KVec::new();
            for s in plan.iter() {
                v.push(s, GFP_KERNEL)?;
            }
            v
        };
        let plan = plan_sources(&res, 4, second)?;
        let mine: Option<Source> = plan.iter().next();

        assert_eq!(plan.len(), 1);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].phys_addr, 0x1000);
        assert_eq!(mine.map(|s| s.phys_addr), Some(0x2000));

        // One resource for two functions: both use it.
        let one = [doorbell_res(0x1000, None, 1)];
        assert_eq!(
            plan_sources(&one, 2, second)?
                .iter()
                .next()
                .map(|s| s.phys_addr),
            Some(0x1000)
        );
        Ok(())
    }

    #[test]
    fn msi_indexes_per_function() {
        // One function: exactly its doorbells, as the C allocator.
        assert_eq!(
            Indexes::new(0, 1, 3),
            Ok(Indexes {
                first: 0,
                last: 2,
                hwsize: 3
            })
        );
        assert_eq!(Indexes::new(0, 1, 200).map(|i| i.hwsize), Ok(200));

        // Two functions: a range of MSI_PER_FUNCTION each, in a domain for both.
        let per = u32::from(MSI_PER_FUNCTION);
        assert_eq!(
            Indexes::new(1, 2, 2),
            Ok(Indexes {
                first: per,
                last: per + 1,
                hwsize: 2 * per
            })
        );
        assert_eq!(
            Indexes::new(0, 2, MSI_PER_FUNCTION).map(|i| i.last),
            Ok(per - 1)
        );
        assert_eq!(Indexes::new(1, 2, MSI_PER_FUNCTION + 1).err(), Some(EINVAL));
        // Not a function of the controller, no doorbell.
        assert_eq!(Indexes::new(2, 2, 1).err(), Some(EINVAL));
        assert_eq!(Indexes::new(0, 2, 0).err(), Some(EINVAL));
    }
}
