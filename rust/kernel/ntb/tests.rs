// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of NTB device registration: the devices registered on a virtual PCI root bus, an
//! NTB client bound to them, the arguments the abstraction checks and the events.

#[macros::kunit_tests(rust_pci_ntb)]
mod suite {
    use crate::{
        ntb::*,
        pci::vbus, //
    };
    use core::ffi::c_void;

    /// Counts what reaches the operations, shared with the test.
    struct Seen {
        mw_get_align: Atomic<u32>,
        db_clear: Atomic<u32>,
        spad_read: Atomic<u32>,
        link_is_up: Atomic<u32>,
        dropped: Atomic<u32>,
        link_events: Atomic<u32>,
        db_events: Atomic<u32>,
        last_vector: Atomic<i32>,
    }

    impl Seen {
        fn new() -> Result<Arc<Self>> {
            Ok(Arc::new(
                Seen {
                    mw_get_align: Atomic::new(0),
                    db_clear: Atomic::new(0),
                    spad_read: Atomic::new(0),
                    link_is_up: Atomic::new(0),
                    dropped: Atomic::new(0),
                    link_events: Atomic::new(0),
                    db_events: Atomic::new(0),
                    last_vector: Atomic::new(-1),
                },
                GFP_KERNEL,
            )?)
        }
    }

    struct TestOps {
        seen: Arc<Seen>,
        spads: [Atomic<u32>; 4],
    }

    impl Drop for TestOps {
        fn drop(&mut self) {
            self.seen.dropped.fetch_add(1, Relaxed);
        }
    }

    #[vtable]
    impl Operations for TestOps {
        fn link_is_up(&self) -> Link {
            self.seen.link_is_up.fetch_add(1, Relaxed);
            Link::Down
        }
        fn link_enable(&self, _speed: Speed, _width: Width) -> Result {
            Ok(())
        }
        fn link_disable(&self) -> Result {
            Ok(())
        }
        fn mw_count(&self) -> u32 {
            2
        }
        fn mw_get_align(&self, _widx: MwIndex) -> Result<MwAlign> {
            self.seen.mw_get_align.fetch_add(1, Relaxed);
            Ok(MwAlign {
                addr_align: 4096,
                size_align: 4096,
                size_max: 0x10000,
            })
        }
        fn mw_set_trans(&self, _widx: MwIndex, _addr: DmaAddress, _size: ResourceSize) -> Result {
            Err(EINVAL)
        }
        fn peer_mw_count(&self) -> u32 {
            1
        }
        fn peer_mw_get_addr(&self, _widx: MwIndex) -> Result<PeerMw> {
            Err(EINVAL)
        }
        fn db_valid_mask(&self) -> u64 {
            0xf
        }
        fn db_read(&self) -> u64 {
            0
        }
        fn db_clear(&self, _bits: u64) -> Result {
            self.seen.db_clear.fetch_add(1, Relaxed);
            Ok(())
        }
        fn db_set_mask(&self, _bits: u64) -> Result {
            Ok(())
        }
        fn db_clear_mask(&self, _bits: u64) -> Result {
            Ok(())
        }
        fn peer_db_set(&self, _bits: u64) -> Result {
            Ok(())
        }
        fn spad_count(&self) -> u32 {
            4
        }
        fn spad_read(&self, sidx: SpadIndex) -> u32 {
            self.seen.spad_read.fetch_add(1, Relaxed);
            self.spads[sidx.get()].load(Relaxed)
        }
        fn spad_write(&self, sidx: SpadIndex, val: u32) -> Result {
            self.spads[sidx.get()].store(val, Relaxed);
            Ok(())
        }
        fn peer_spad_write(&self, _sidx: SpadIndex, _val: u32) -> Result {
            Ok(())
        }
    }

    fn ops(seen: &Arc<Seen>) -> TestOps {
        TestOps {
            seen: seen.clone(),
            spads: [const { Atomic::new(0) }; 4],
        }
    }

    struct Header(vbus::Type0Header);

    #[vtable]
    impl vbus::Operations for Header {
        const CONFIG_SIZE: usize = vbus::Type0Header::SIZE;

        fn read(&self, access: vbus::Access) -> u32 {
            self.0.read(access)
        }
    }

    fn bus() -> Result<vbus::Bus<Header>> {
        vbus::Bus::new(
            0xe1,
            None,
            Header(vbus::Type0Header::new(0x1b36, 0x00fc, 0x068000, 0)),
        )
    }

    /// A virtual bus of `bus()` and its device; bound as `(bus, pdev)`, the device goes first.
    fn bus_device() -> Result<(vbus::Bus<Header>, ARef<pci::Device>)> {
        let bus = bus()?;
        let pdev = bus.device().ok_or(ENODEV)?;
        Ok((bus, pdev))
    }

    fn raw(reg: &Registration<TestOps>) -> *mut bindings::ntb_dev {
        reg.events.0.ntb.get()
    }

    fn ops_of(ntb: *mut bindings::ntb_dev) -> &'static bindings::ntb_dev_ops {
        // SAFETY: `ntb` is registered, its `ops` is the `'static` vtable of `Adapter`.
        unsafe { &*(*ntb).ops }
    }

    extern "C" fn test_link_event(ctx: *mut c_void) {
        // SAFETY: The test sets `ctx` to its `Seen`, alive until the context is cleared.
        let seen = unsafe { &*ctx.cast::<Seen>() };
        seen.link_events.fetch_add(1, Relaxed);
    }

    extern "C" fn test_db_event(ctx: *mut c_void, vector: c_int) {
        // SAFETY: As in `test_link_event`.
        let seen = unsafe { &*ctx.cast::<Seen>() };
        seen.db_events.fetch_add(1, Relaxed);
        seen.last_vector.store(vector, Relaxed);
    }

    static TEST_CTX_OPS: bindings::ntb_ctx_ops = bindings::ntb_ctx_ops {
        link_event: Some(test_link_event),
        db_event: Some(test_db_event),
        msg_event: None,
    };

    /// The test's own NTB client. The stock clients are modules, none loaded while KUnit runs;
    /// like every one of them, this one asks for the link state when it probes a device.
    struct TestClient(Opaque<bindings::ntb_client>);

    // SAFETY: The driver core serialises its uses of a registered driver; the test writes the
    // fields only while it is not registered.
    unsafe impl Sync for TestClient {}

    static CLIENT: TestClient = TestClient(Opaque::zeroed());

    const CLIENT_NAME: &CStr = c"rust_ntb_kunit";

    extern "C" fn client_probe(
        _client: *mut bindings::ntb_client,
        ntb: *mut bindings::ntb_dev,
    ) -> c_int {
        // SAFETY: The NTB core probes a registered device, whose `ops` is the vtable of
        // `Adapter`, with `link_is_up` set (a required operation).
        unsafe {
            if let Some(link_is_up) = (*(*ntb).ops).link_is_up {
                link_is_up(ntb, ptr::null_mut(), ptr::null_mut());
            }
        }
        0
    }

    extern "C" fn client_remove(_client: *mut bindings::ntb_client, _ntb: *mut bindings::ntb_dev) {}

    /// [`CLIENT`] registered on the NTB bus while this lives.
    struct ClientGuard;

    impl ClientGuard {
        fn new() -> Result<Self> {
            let client = CLIENT.0.get();
            // SAFETY: `CLIENT` is not registered: the cases of a suite run one after the other
            // and each drops its guard. A zeroed client with its name and two operations is
            // what `__ntb_register_client()` takes; it fills in the rest.
            unsafe {
                ptr::write_bytes(client, 0, 1);
                (*client).drv.name = CLIENT_NAME.as_char_ptr();
                (*client).ops.probe = Some(client_probe);
                (*client).ops.remove = Some(client_remove);
                to_result(bindings::__ntb_register_client(
                    client,
                    ptr::null_mut(),
                    CLIENT_NAME.as_char_ptr(),
                ))?;
            }
            Ok(ClientGuard)
        }
    }

    impl Drop for ClientGuard {
        fn drop(&mut self) {
            // SAFETY: `new` registered `CLIENT`.
            unsafe { bindings::ntb_unregister_client(CLIENT.0.get()) };
        }
    }

    #[test]
    fn registered_and_bound() -> Result {
        let _client = ClientGuard::new()?;
        let (_bus, pdev) = bus_device()?;
        let seen = Seen::new()?;
        let reg = Registration::new(&pdev, Topology::None, ops(&seen))?;
        // On the NTB bus, named after and parented by the PCI device.
        let dev = reg.device();
        let pci_dev: &device::Device = pdev.as_ref();
        // SAFETY: `dev` is a valid registered device; `bus` and `parent` are set.
        let (bus_name, parent) = unsafe {
            let raw = dev.as_raw();
            (CStr::from_char_ptr((*(*raw).bus).name), (*raw).parent)
        };
        assert_eq!(bus_name.to_bytes(), b"ntb");
        assert_eq!(parent, pci_dev.as_raw());
        // SAFETY: Both are valid devices with names.
        let same_name = unsafe {
            bindings::strcmp(
                bindings::dev_name(dev.as_raw()),
                bindings::dev_name(pci_dev.as_raw()),
            )
        } == 0;
        assert!(same_name);
        // The client probed it through the operations.
        assert!(reg.has_client());
        // SAFETY: A client is bound and stays so (nothing unbinds it concurrently).
        let client = unsafe { CStr::from_char_ptr((*(*dev.as_raw()).driver).name) };
        dev_info!(dev, "bound by {}\n", client.to_str().unwrap_or("?"));
        assert!(seen.link_is_up.load(Relaxed) > 0);
        drop(reg);
        assert_eq!(seen.dropped.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn checked_arguments() -> Result {
        let (_bus, pdev) = bus_device()?;
        let seen = Seen::new()?;
        let reg = Registration::new(&pdev, Topology::None, ops(&seen))?;
        let ntb = raw(&reg);
        let o = ops_of(ntb);
        let einval = EINVAL.to_errno();
        // SAFETY: `ntb` is registered with these operations (so are the calls below, whose out
        // pointers point to locals).
        let mw_count = |pidx| unsafe { o.mw_count.unwrap()(ntb, pidx) };
        let (mut a, mut s, mut m) = (0, 0, 0);
        let mut align = |pidx, widx| {
            // SAFETY: As above.
            let r = unsafe { o.mw_get_align.unwrap()(ntb, pidx, widx, &mut a, &mut s, &mut m) };
            (r, (a, s, m))
        };
        // SAFETY: As above.
        let db_clear = |bits| unsafe { o.db_clear.unwrap()(ntb, bits) };
        // SAFETY: As above.
        let peer_db_set = |bits| unsafe { o.peer_db_set.unwrap()(ntb, bits) };
        // SAFETY: As above.
        let spad_write = |sidx, v| unsafe { o.spad_write.unwrap()(ntb, sidx, v) };
        // SAFETY: As above.
        let spad_read = |sidx| unsafe { o.spad_read.unwrap()(ntb, sidx) };
        let peer_spad_write = |pidx, sidx, v| {
            // SAFETY: As above.
            unsafe { o.peer_spad_write.unwrap()(ntb, pidx, sidx, v) }
        };
        // SAFETY: As above.
        let link_enable = |sp, w| unsafe { o.link_enable.unwrap()(ntb, sp, w) };

        assert_eq!(mw_count(0), 2);
        assert_eq!(mw_count(1), einval);
        assert_eq!(align(0, 1), (0, (4096, 4096, 0x10000)));
        let before = seen.mw_get_align.load(Relaxed);
        assert_eq!(align(0, 2).0, einval);
        assert_eq!(align(0, -1).0, einval);
        assert_eq!(align(1, 0).0, einval);
        assert_eq!(seen.mw_get_align.load(Relaxed), before);

        let before = seen.db_clear.load(Relaxed);
        assert_eq!(db_clear(0x3), 0);
        assert_eq!(db_clear(0x10), einval);
        assert_eq!(seen.db_clear.load(Relaxed), before + 1);
        assert_eq!(peer_db_set(1 << 63), einval);

        assert_eq!(spad_write(3, 0xabcd), 0);
        assert_eq!(spad_write(4, 1), einval);
        let before = seen.spad_read.load(Relaxed);
        assert_eq!(spad_read(3), 0xabcd);
        assert_eq!(spad_read(4), 0);
        assert_eq!(spad_read(-7), 0);
        assert_eq!(seen.spad_read.load(Relaxed), before + 1);
        assert_eq!(peer_spad_write(1, 0, 1), einval);

        assert_eq!(link_enable(-1, -1), 0);
        assert_eq!(link_enable(7, -1), einval);
        assert_eq!(link_enable(-1, 3), einval);
        assert!(o.mw_clear_trans.is_none());
        assert!(o.db_vector_count.is_none());
        assert!(o.peer_spad_read.is_none());
        assert!(o.get_dma_dev.is_none());
        Ok(())
    }

    #[test]
    fn events_until_unregistered() -> Result {
        let (_bus, pdev) = bus_device()?;
        let seen = Seen::new()?;
        let events = Events::new(GFP_KERNEL)?;
        // Not registered yet: nothing happens.
        events.db_event(0);
        let reg = Registration::with_events(&pdev, Topology::None, events.clone(), ops(&seen))?;
        let ntb = raw(&reg);
        // Take the device from any client and give it the test's context.
        // SAFETY: `ntb` is registered.
        unsafe { bindings::device_release_driver(&raw mut (*ntb).dev) };
        assert!(!reg.has_client());
        let ctx = Arc::as_ptr(&seen).cast_mut().cast::<c_void>();
        // SAFETY: `ntb` is registered; `seen` outlives the context, which the drop of `reg`
        // clears.
        let ret = unsafe { bindings::ntb_set_ctx(ntb, ctx, &TEST_CTX_OPS) };
        assert_eq!(ret, 0);
        events.db_event(3);
        reg.link_event();
        assert_eq!(seen.db_events.load(Relaxed), 1);
        assert_eq!(seen.last_vector.load(Relaxed), 3);
        assert_eq!(seen.link_events.load(Relaxed), 1);
        events.db_event(u32::MAX);
        assert_eq!(seen.db_events.load(Relaxed), 1);
        drop(reg);
        assert_eq!(seen.dropped.load(Relaxed), 1);
        // The handle outlives the registration and does nothing.
        events.db_event(1);
        events.link_event();
        assert_eq!(seen.db_events.load(Relaxed), 1);
        assert_eq!(seen.link_events.load(Relaxed), 1);
        // It served its registration.
        let again = Registration::with_events(&pdev, Topology::None, events, ops(&seen));
        assert!(matches!(again, Err(e) if e == EBUSY));
        Ok(())
    }

    #[test]
    fn hundred_cycles() -> Result {
        let _client = ClientGuard::new()?;
        let seen = Seen::new()?;
        for i in 0..100 {
            let (_bus, pdev) = bus_device()?;
            let reg = Registration::new(&pdev, Topology::None, ops(&seen))?;
            assert!(reg.has_client());
            drop(reg);
            assert_eq!(seen.dropped.load(Relaxed), i + 1);
        }
        Ok(())
    }
}
