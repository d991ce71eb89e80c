// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the controller features and auxiliary resources as the C core reports them.

#[macros::kunit_tests(rust_pci_endpoint_controller)]
mod suite {
    use crate::pci::endpoint::controller::*;

    fn features() -> bindings::pci_epc_features {
        let mut raw = bindings::pci_epc_features::default();

        raw.set_linkup_notifier(1);
        raw.set_dynamic_inbound_mapping(1);
        raw.set_msix_capable(1);
        raw.align = 4096;
        raw.bar[0].type_ = bindings::pci_epc_bar_type_BAR_RESERVED;
        raw.bar[1].type_ = bindings::pci_epc_bar_type_BAR_FIXED;
        raw.bar[1].fixed_size = 256;
        raw.bar[2].type_ = bindings::pci_epc_bar_type_BAR_PROGRAMMABLE;
        raw.bar[2].only_64bit = true;
        raw.bar[4].type_ = bindings::pci_epc_bar_type_BAR_RESIZABLE;
        raw.bar[5].type_ = bindings::pci_epc_bar_type_BAR_DISABLED;
        raw
    }

    #[test]
    fn features_flags() {
        let f = Features::from_raw(&features());

        assert!(f.linkup_notifier());
        assert!(f.dynamic_inbound_mapping());
        assert!(!f.subrange_mapping());
        assert!(!f.msi_capable());
        assert!(f.msix_capable());
        assert!(!f.intx_capable());
        assert_eq!(f.align(), 4096);
    }

    #[test]
    fn features_bar_descriptions() {
        let f = Features::from_raw(&features());

        assert_eq!(f.bar(BarNo::BAR_0).bar_type(), BarType::Reserved);
        assert!(!f.bar(BarNo::BAR_0).is_free());
        assert_eq!(f.bar(BarNo::BAR_1).bar_type(), BarType::Fixed);
        assert_eq!(f.bar(BarNo::BAR_1).fixed_size(), Some(256));
        assert_eq!(f.bar(BarNo::BAR_2).fixed_size(), None);
        assert!(f.bar(BarNo::BAR_2).only_64bit());
        assert_eq!(f.bar(BarNo::BAR_4).bar_type(), BarType::Resizable);
        assert_eq!(f.bar(BarNo::BAR_5).bar_type(), BarType::Disabled);

        // A fixed BAR without a size reports none.
        let mut raw = features();
        raw.bar[1].fixed_size = 0;
        assert_eq!(
            Features::from_raw(&raw).bar(BarNo::BAR_1).fixed_size(),
            None
        );

        // An unknown type is not usable.
        raw.bar[3].type_ = 42;
        assert_eq!(
            Features::from_raw(&raw).bar(BarNo::BAR_3).bar_type(),
            BarType::Disabled
        );
    }

    #[test]
    fn features_free_bars() {
        let f = Features::from_raw(&features());

        assert_eq!(f.first_free_bar(), Some(BarNo::BAR_1));
        assert_eq!(f.next_free_bar(BarNo::BAR_2), Some(BarNo::BAR_2));
        // BAR_3 is the upper half of the 64-bit BAR_2.
        assert_eq!(f.next_free_bar(BarNo::BAR_3), Some(BarNo::BAR_4));
        assert_eq!(f.next_free_bar(BarNo::BAR_5), None);
    }

    fn doorbell(bar: bindings::pci_barno, irq: c_int) -> bindings::pci_epc_aux_resource {
        bindings::pci_epc_aux_resource {
            type_: bindings::pci_epc_aux_resource_type_PCI_EPC_AUX_DOORBELL_MMIO,
            phys_addr: 0x1000_00a0,
            size: 4,
            bar,
            bar_offset: 0xa0,
            u: bindings::pci_epc_aux_resource__bindgen_ty_1 {
                db_mmio: bindings::pci_epc_aux_resource__bindgen_ty_1__bindgen_ty_1 {
                    irq,
                    data: 0x55,
                },
            },
        }
    }

    #[test]
    fn aux_resource_exposed_doorbell() -> Result {
        let res = AuxResource::try_from(&doorbell(bindings::pci_barno_BAR_4, 42))?;

        assert_eq!(res.phys_addr, 0x1000_00a0);
        assert_eq!(res.size, 4);
        assert_eq!(
            res.exposed,
            Some(BarLocation {
                bar: BarNo::BAR_4,
                offset: 0xa0
            })
        );
        assert_eq!(
            res.kind,
            AuxResourceKind::DoorbellMmio {
                irq: Some(42),
                data: 0x55
            }
        );
        Ok(())
    }

    #[test]
    fn aux_resource_not_exposed_ignores_offset() -> Result {
        let res = AuxResource::try_from(&doorbell(bindings::pci_barno_NO_BAR, 42))?;

        assert_eq!(res.exposed, None);
        Ok(())
    }

    #[test]
    fn aux_resource_without_irq() -> Result {
        for irq in [0, -1, -22] {
            let res = AuxResource::try_from(&doorbell(bindings::pci_barno_NO_BAR, irq))?;

            assert_eq!(
                res.kind,
                AuxResourceKind::DoorbellMmio {
                    irq: None,
                    data: 0x55
                }
            );
        }
        Ok(())
    }

    #[test]
    fn aux_resource_rejects_bad_bar() {
        for bar in [6, 7, -2, i32::MAX] {
            assert_eq!(AuxResource::try_from(&doorbell(bar, 1)), Err(EINVAL));
        }
    }

    #[test]
    fn aux_resource_unknown_type() -> Result {
        let mut raw = doorbell(bindings::pci_barno_NO_BAR, 1);
        raw.type_ = 9;

        assert_eq!(
            AuxResource::try_from(&raw)?.kind,
            AuxResourceKind::Unknown(9)
        );
        Ok(())
    }
}
