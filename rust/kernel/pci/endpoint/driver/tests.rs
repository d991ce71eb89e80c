// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the C operation tables the adapter builds and of the function device ID tables.

#[macros::kunit_tests(rust_pci_endpoint_driver)]
mod suite {
    use crate::{
        device_id::IdTable as _,
        pci::endpoint::{
            driver::*,
            BarNo,
            BarSpace, //
        },
    };

    /// A driver with only the mandatory callbacks.
    struct Minimal;

    crate::pci_epf_device_table!(
        MINIMAL_TABLE,
        u32,
        [
            (DeviceId::new(c"minimal_epf"), 7),
            (DeviceId::new(c"nineteen_bytes_name"), 8),
        ]
    );

    #[vtable]
    impl Driver for Minimal {
        type IdInfo = u32;
        type Data<'bound> = ();
        type Binding<'epc> = ();
        const ID_TABLE: IdTable<Self::IdInfo> = &MINIMAL_TABLE;

        fn probe<'bound>(
            _func: &'bound Function<device::Core<'_>>,
            _id_info: &'bound Self::IdInfo,
        ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
            Ok(())
        }

        fn link<'epc>(
            _ctx: &Context<'epc, Self>,
        ) -> impl PinInit<Self::Binding<'epc>, Error> + 'epc {
            Ok(())
        }
    }

    /// A driver that keeps controller resources in its binding and handles every event.
    struct Full;

    struct FullData<'bound> {
        func: &'bound Function,
    }

    struct FullBinding<'epc> {
        epc: Controller<'epc>,
        reg: Option<BarSpace<'epc>>,
    }

    crate::pci_epf_device_table!(FULL_TABLE, (), [(DeviceId::new(c"full_epf"), ())]);

    #[vtable]
    impl Driver for Full {
        type IdInfo = ();
        type Data<'bound> = FullData<'bound>;
        type Binding<'epc> = FullBinding<'epc>;
        const ID_TABLE: IdTable<Self::IdInfo> = &FULL_TABLE;

        fn probe<'bound>(
            func: &'bound Function<device::Core<'_>>,
            _id_info: &'bound Self::IdInfo,
        ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
            Ok(FullData { func })
        }

        fn unbind<'bound>(
            _func: &'bound Function<device::Core<'_>>,
            this: Pin<&Self::Data<'bound>>,
        ) {
            let _ = this.func.name();
        }

        fn link<'epc>(
            ctx: &Context<'epc, Self>,
        ) -> impl PinInit<Self::Binding<'epc>, Error> + 'epc {
            Ok(FullBinding {
                epc: ctx.epc(),
                reg: None,
            })
        }

        fn unlink<'epc>(_ctx: &Context<'epc, Self>, mut binding: Pin<&mut Self::Binding<'epc>>) {
            binding.reg = None;
        }

        fn epc_init<'epc>(
            ctx: &Context<'epc, Self>,
            mut binding: Pin<&mut Self::Binding<'epc>>,
        ) -> Result {
            let mut reg = ctx.epc().alloc_space(BarNo::BAR_0, 128)?;
            reg.set_bar()?;
            binding.reg = Some(reg);
            Ok(())
        }

        fn epc_deinit<'epc>(
            _ctx: &Context<'epc, Self>,
            mut binding: Pin<&mut Self::Binding<'epc>>,
        ) {
            binding.reg = None;
        }

        fn link_up<'epc>(
            _ctx: &Context<'epc, Self>,
            binding: Pin<&mut Self::Binding<'epc>>,
        ) -> Result {
            binding.epc.raise_irq(crate::pci::IrqType::Intx, 0)
        }

        fn link_down<'epc>(
            _ctx: &Context<'epc, Self>,
            _binding: Pin<&mut Self::Binding<'epc>>,
        ) -> Result {
            Ok(())
        }

        fn bus_master_enable<'epc>(
            _ctx: &Context<'epc, Self>,
            _binding: Pin<&mut Self::Binding<'epc>>,
        ) -> Result {
            Ok(())
        }
    }

    #[test]
    fn bind_and_unbind_are_always_installed() {
        let ops = Adapter::<Minimal>::OPS;
        assert!(ops.bind.is_some());
        assert!(ops.unbind.is_some());
        assert!(ops.add_cfs.is_none());
    }

    /// Which of the event operations `ops` installs, in the order of `struct pci_epc_event_ops`.
    fn installed_events(ops: &bindings::pci_epc_event_ops) -> [bool; 5] {
        [
            ops.epc_init.is_some(),
            ops.epc_deinit.is_some(),
            ops.link_up.is_some(),
            ops.link_down.is_some(),
            ops.bus_master_enable.is_some(),
        ]
    }

    #[test]
    fn only_implemented_events_are_installed() {
        assert_eq!(installed_events(&Adapter::<Minimal>::EVENT_OPS), [false; 5]);
        assert_eq!(installed_events(&Adapter::<Full>::EVENT_OPS), [true; 5]);
    }

    #[test]
    fn device_id_names_are_nul_terminated() {
        let id = DeviceId::new(c"pci_epf_test");
        assert_eq!(&id.0.name[..13], b"pci_epf_test\0");
        assert!(id.0.name[13..].iter().all(|&b| b == 0));

        // The longest name that fits, with its terminator.
        let id = DeviceId::new(c"nineteen_bytes_name");
        assert_eq!(id.0.name[19], 0);
    }

    #[test]
    fn id_table_maps_back_to_info() {
        assert_eq!(*MINIMAL_TABLE.info(0), 7);
        assert_eq!(*MINIMAL_TABLE.info(1), 8);

        // SAFETY: The table has two entries and a zeroed sentinel.
        let raw = unsafe { core::slice::from_raw_parts(MINIMAL_TABLE.as_ptr(), 3) };
        assert_eq!(raw[0].driver_data, 0);
        assert_eq!(raw[1].driver_data, 1);
        assert_eq!(raw[2].name[0], 0);
    }
}
