// SPDX-License-Identifier: GPL-2.0

//! PCI endpoint function drivers.
//!
//! C header: [`include/linux/pci-epf.h`](srctree/include/linux/pci-epf.h)

use super::{
    cfs::{
        self,
        CfsAttr,
        CfsAttrs, //
    },
    function::FunctionState,
    poll::{
        PollNext,
        PollWork, //
    },
    BarNo,
    Controller,
    Function,
    Header,
    Linked, //
};
use crate::{
    bindings,
    device,
    device_id::{
        RawDeviceId,
        RawDeviceIdIndex, //
    },
    driver,
    error::{
        from_result,
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    prelude::*,
    sync::{
        static_lock_class,
        Mutex,
        MutexGuard, //
    },
    time::{
        msecs_to_jiffies,
        Jiffies, //
    },
    types::Opaque,
    ThisModule, //
};
use core::{
    mem::offset_of,
    ptr, //
};

/// An adapter for the registration of PCI endpoint function drivers.
///
/// # Callbacks and locking
///
/// The EPF core calls a function driver from two kinds of context:
///
/// - the bus callbacks `probe`/`remove` ([`Driver::probe`]/[`Driver::unbind`]) are called with
///   the device lock held;
/// - the EPF operations `bind`/`unbind` (from configfs, when the function is linked to or
///   unlinked from a controller: [`Driver::link`]/[`Driver::unlink`]) and the controller events
///   ([`Driver::epc_init`], [`Driver::link_up`], ...) are called with `epf->lock` held, but
///   *not* the device lock.
///
/// The driver data is therefore published in `probe` and retired in `remove` while holding
/// `epf->lock` as well: a callback of the second kind that finds the driver data knows that the
/// function stays bound to its driver until it returns, which is what the
/// [`Bound`](device::Bound) context of the [`Function`] in its [`Context`] promises. Unlike other
/// buses, the driver data is dropped at the end of `remove` rather than in the generic
/// `post_unbind` hook, which still runs before any devres resource is released.
///
/// The binding to a controller ([`Driver::Binding`]) is kept in the driver data behind a
/// [`Mutex`] of its own, which the adapter only takes inside `epf->lock`: it is never contended,
/// and the binding is only ever reached through its guard.
///
/// Only the primary interface is supported: linking a function as the secondary interface of a
/// controller fails with `EINVAL` (or `EBUSY` if it is also linked as primary). Note that the EPF
/// core calls `unbind` whenever a `bind` fails, which then tears down an existing binding.
pub struct Adapter<T: Driver>(T);

/// The driver data the [`Adapter`] stores in a function device.
#[pin_data]
pub struct DriverData<'bound, T: Driver> {
    #[pin]
    binding: Mutex<Option<Pin<KBox<T::Binding<'bound>>>>>,
    state: FunctionState,
    #[pin]
    data: T::Data<'bound>,
}

impl<'bound, T: Driver> DriverData<'bound, T> {
    fn data(self: Pin<&Self>) -> Pin<&T::Data<'bound>> {
        // SAFETY: `data` is structurally pinned.
        unsafe { self.map_unchecked(|d| &d.data) }
    }

    /// Locks and returns the binding slot.
    fn binding(&self) -> MutexGuard<'_, Option<Pin<KBox<T::Binding<'bound>>>>> {
        self.binding.lock()
    }
}

/// What the callbacks of a function linked to a controller receive: the controller, the
/// function and the driver data.
///
/// A [`Context`] exists only within a callback. The [`Controller`] it holds can be stored in the
/// binding ([`Driver::Binding`]), which does not outlive the link.
pub struct Context<'a, T: Driver + ?Sized> {
    epc: Controller<'a>,
    data: Pin<&'a T::Data<'a>>,
}

impl<'a, T: Driver + ?Sized> Context<'a, T> {
    /// Returns the controller the function is linked to.
    pub fn epc(&self) -> Controller<'a> {
        self.epc
    }

    /// Returns the function, which is bound to its driver while it is linked.
    pub fn function(&self) -> &'a Function<device::Bound> {
        self.epc.function()
    }

    /// Returns the proof that the function is linked to the controller.
    pub fn link(&self) -> Linked<'a> {
        self.epc.link()
    }

    /// Returns the driver data of the function.
    pub fn data(&self) -> Pin<&'a T::Data<'a>> {
        self.data
    }
}

// SAFETY:
// - `bindings::pci_epf_driver` is a C type declared as `repr(C)`.
// - `DriverData<'bound, T>` is the type of the driver's device private data.
// - `struct pci_epf_driver` embeds a `struct device_driver`.
// - `DEVICE_DRIVER_OFFSET` is the correct byte offset to the embedded `struct device_driver`.
unsafe impl<T: Driver> driver::DriverLayout for Adapter<T> {
    type DriverType = bindings::pci_epf_driver;
    type DriverData<'bound> = DriverData<'bound, T>;
    const DEVICE_DRIVER_OFFSET: usize = offset_of!(Self::DriverType, driver);
}

// SAFETY: A call to `unregister` for a given instance of `DriverType` is guaranteed to be valid if
// a preceding call to `register` has been successful.
unsafe impl<T: Driver> driver::RegistrationOps for Adapter<T> {
    unsafe fn register(
        edrv: &Opaque<Self::DriverType>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        // SAFETY: It's safe to set the fields of `struct pci_epf_driver` on initialization.
        unsafe {
            (*edrv.get()).driver.name = name.as_char_ptr();
            (*edrv.get()).probe = Some(Self::probe_callback);
            (*edrv.get()).remove = Some(Self::remove_callback);
            (*edrv.get()).ops = &Self::OPS;
            (*edrv.get()).id_table = T::ID_TABLE.as_ptr();
            // The configfs group of the BAR sizes lives in the driver data, which `remove` drops,
            // while the function's configfs directory, and the group in it, stay until the
            // function is released. No unbind through sysfs, then, which would drop the data
            // under a live directory.
            (*edrv.get()).driver.suppress_bind_attrs = Self::HAS_CFS;
        }

        // SAFETY: `edrv` is guaranteed to be a valid `DriverType`.
        to_result(unsafe { bindings::__pci_epf_register_driver(edrv.get(), module.0) })
    }

    unsafe fn unregister(edrv: &Opaque<Self::DriverType>) {
        // SAFETY: `edrv` is guaranteed to be a valid `DriverType`.
        unsafe { bindings::pci_epf_unregister_driver(edrv.get()) };
    }
}

impl<T: Driver> Adapter<T> {
    /// Whether the functions of the driver have a configfs group of their own.
    const HAS_CFS: bool = {
        assert!(
            T::BAR_SIZES.is_none() || T::CFS_ATTRS.is_empty(),
            "a driver has either BAR_SIZES or CFS_ATTRS"
        );
        T::BAR_SIZES.is_some() || !T::CFS_ATTRS.is_empty()
    };

    /// The `barN_size` attributes with the defaults of [`Driver::BAR_SIZES`].
    const BAR_SIZE_ATTRS: [CfsAttr; BarNo::COUNT] = cfs::bar_size_attrs(match T::BAR_SIZES {
        Some(sizes) => sizes,
        None => [0; BarNo::COUNT],
    });

    /// The configfs attributes of the functions: the BAR sizes or the driver's own, see `cfs`.
    fn cfs_table() -> &'static [CfsAttr] {
        if T::BAR_SIZES.is_some() {
            &Self::BAR_SIZE_ATTRS
        } else {
            T::CFS_ATTRS
        }
    }

    /// The EPF core rejects drivers without `bind` or `unbind`, so both are always installed.
    const OPS: bindings::pci_epf_ops = bindings::pci_epf_ops {
        bind: Some(Self::bind_callback),
        unbind: Some(Self::unbind_callback),
        // The BAR sizes or the driver's own attributes, see `cfs`.
        add_cfs: if Self::HAS_CFS {
            Some(Self::add_cfs_callback)
        } else {
            None
        },
    };

    const EVENT_OPS: bindings::pci_epc_event_ops = bindings::pci_epc_event_ops {
        epc_init: if T::HAS_EPC_INIT {
            Some(Self::epc_init_callback)
        } else {
            None
        },
        epc_deinit: if T::HAS_EPC_DEINIT {
            Some(Self::epc_deinit_callback)
        } else {
            None
        },
        link_up: if T::HAS_LINK_UP {
            Some(Self::link_up_callback)
        } else {
            None
        },
        link_down: if T::HAS_LINK_DOWN {
            Some(Self::link_down_callback)
        } else {
            None
        },
        bus_master_enable: if T::HAS_BUS_MASTER_ENABLE {
            Some(Self::bus_master_enable_callback)
        } else {
            None
        },
    };

    /// Returns `epf->lock`.
    ///
    /// # Safety
    ///
    /// `epf` must be a valid `struct pci_epf` for `'a`.
    unsafe fn epf_lock<'a>(epf: *mut bindings::pci_epf) -> &'a Mutex<()> {
        // SAFETY: `epf->lock` is initialized by `pci_epf_create()` and lives as long as `epf`.
        unsafe { Mutex::from_raw(&raw mut (*epf).lock) }
    }

    /// Returns the function and its driver data, if the function is bound to this driver.
    ///
    /// # Safety
    ///
    /// - `epf` must be a valid `struct pci_epf` whose driver is this driver, for `'a`.
    /// - `epf->lock` must be held for `'a`.
    unsafe fn locked_data<'a>(
        epf: *mut bindings::pci_epf,
    ) -> Option<(&'a Function<device::Bound>, Pin<&'a DriverData<'a, T>>)> {
        // SAFETY: `epf` is valid by the safety requirements.
        let raw_dev = unsafe { &raw mut (*epf).dev };

        // SAFETY: `raw_dev` is a valid `struct device`. Driver data is only set and cleared with
        // `epf->lock` held, which the caller holds.
        if unsafe { bindings::dev_get_drvdata(raw_dev) }.is_null() {
            return None;
        }

        // SAFETY: The driver data is present and can only be taken away by `remove_callback()`
        // while holding `epf->lock`, which the caller holds for `'a`. The function is hence bound
        // to this driver for `'a`.
        //
        // INVARIANT: The `Bound` context is guaranteed for `'a`, see above.
        let func = unsafe { &*epf.cast::<Function<device::Bound>>() };

        // SAFETY: This is an EPF bus callback of the bus abstraction itself, which is the only
        // user of the `CoreInternal` context. It is only used to borrow the driver data.
        let internal = unsafe { &*epf.cast::<Function<device::CoreInternal<'a>>>() };

        // SAFETY: The driver data was set by `probe_callback()` with the type `DriverData<T>`
        // and is not taken away while `epf->lock` is held, see above.
        let data = unsafe { internal.as_ref().drvdata_borrow::<DriverData<'a, T>>() };

        Some((func, data))
    }

    /// Returns the context of the callbacks of `func`, or [`None`] if `func` is not linked to a
    /// controller through its primary interface.
    ///
    /// # Safety
    ///
    /// `data` must be the driver data of `func`, and `func` must stay linked to its current
    /// primary controller for `'a`, which must stay registered.
    unsafe fn context<'a>(
        func: &'a Function<device::Bound>,
        data: Pin<&'a DriverData<'a, T>>,
    ) -> Option<Context<'a, T>> {
        // SAFETY: The link and the registration for `'a`, by the safety requirements.
        let link = unsafe { Linked::new(func) }?;

        // SAFETY: `data` is the driver data of `func`, which holds its adapter state.
        let epc = unsafe { Controller::new(func, link, &data.get_ref().state) }?;

        Some(Context {
            epc,
            data: data.data(),
        })
    }

    /// Tears down the binding of a function, if it has one.
    ///
    /// # Safety
    ///
    /// - `epf->lock` must be held.
    /// - `func` must be bound to this driver and `data` must be its driver data.
    unsafe fn unlink_locked<'a>(
        func: &'a Function<device::Bound>,
        data: Pin<&'a DriverData<'a, T>>,
    ) {
        let Some(mut binding) = data.get_ref().binding().take() else {
            // SAFETY: Without a binding, nothing holds a reference to a kept value.
            unsafe { data.state.kept.drop_all() };
            return;
        };

        // The poll work cannot run `Driver::poll` while `epf->lock` is held and the binding is
        // gone from the slot; wait for a run that is trying to take the lock and stop it.
        if let Some(poll) = &data.state.poll {
            poll.cancel_sync();
        }

        // SAFETY: `data` is the driver data of `func`. A function has a binding only from the
        // EPF `bind` callback, which runs after the function was linked, to this call, which
        // runs before it is unlinked (from the EPF `unbind` callback, or from `remove` if the
        // driver goes away first); the binding, the only user of the context beyond this call,
        // is dropped below.
        match unsafe { Self::context(func, data) } {
            Some(ctx) => T::unlink(&ctx, binding.as_mut()),
            None => dev_warn!(func.as_ref(), "Binding without a controller\n"),
        }

        drop(binding);

        // SAFETY: The binding, which may hold references to the kept values for the link, is
        // gone, and the link ends when this returns.
        unsafe { data.state.kept.drop_all() };
    }

    extern "C" fn probe_callback(
        epf: *mut bindings::pci_epf,
        id: *const bindings::pci_epf_device_id,
    ) -> c_int {
        // SAFETY: The EPF bus only ever calls the probe callback with a valid pointer to a
        // `struct pci_epf`.
        //
        // INVARIANT: `epf` is valid for the duration of `probe_callback()`.
        let func = unsafe { &*epf.cast::<Function<device::CoreInternal<'_>>>() };

        from_result(|| {
            // The id is `NULL` if the function was matched by driver name rather than by the ID
            // table, which cannot happen with a non-empty table.
            if id.is_null() {
                return Err(ENODEV);
            }

            // SAFETY: `DeviceId` is a `#[repr(transparent)]` wrapper of `struct pci_epf_device_id`
            // and does not add additional invariants, so it's safe to transmute.
            let id = unsafe { &*id.cast::<DeviceId>() };
            let info = T::ID_TABLE.info(id.index());

            let poll = if T::HAS_POLL {
                // SAFETY: `epf` is a function of this driver; `remove_callback()` shuts the work
                // down before the function is released, and so does the error path below.
                Some(unsafe { PollWork::new(epf, Self::poll_callback) }?)
            } else {
                None
            };
            let attrs = if Self::HAS_CFS {
                match CfsAttrs::new(epf, Self::cfs_table()) {
                    Ok(attrs) => Some(attrs),
                    Err(e) => {
                        if let Some(poll) = poll {
                            poll.shutdown();
                        }
                        return Err(e);
                    }
                }
            } else {
                None
            };

            let state = FunctionState::with(poll.clone(), attrs);

            // One lock class for the binding slot of every function driver. A `static` in this
            // generic function is one item for all `T`, which is what `static_lock_class!()`
            // gives, but `new_mutex!()`'s name literal would be a copy in each driver's crate,
            // and lockdep warns about a key that comes with two names. The name is a `static`
            // here too.
            static BINDING_NAME: &CStr = c"pci_epf_driver_data.binding";

            // SAFETY: `epf` is valid for the duration of this callback.
            let _guard = unsafe { Self::epf_lock(epf) }.lock();

            let ret = func
                .as_ref()
                .set_drvdata::<DriverData<'_, T>>(try_pin_init!(DriverData {
                    binding <- Mutex::new(None, BINDING_NAME, static_lock_class!()),
                    state,
                    data <- T::probe(func, info),
                }));

            if let Err(e) = ret {
                if let Some(poll) = poll {
                    poll.shutdown();
                }
                return Err(e);
            }

            // SAFETY: `epf` is valid; `epf->lock` is held, which serializes against the EPC event
            // notifiers. The header is `'static`.
            unsafe {
                if let Some(header) = T::header() {
                    (*epf).header = header.as_raw();
                }
                (*epf).event_ops = &Self::EVENT_OPS;
            }

            Ok(0)
        })
    }

    extern "C" fn remove_callback(epf: *mut bindings::pci_epf) {
        // SAFETY: The EPF bus only ever calls the remove callback with a valid pointer to a
        // `struct pci_epf`.
        //
        // INVARIANT: `epf` is valid for the duration of `remove_callback()`.
        let func = unsafe { &*epf.cast::<Function<device::CoreInternal<'_>>>() };

        let data = {
            // SAFETY: `epf` is valid for the duration of this callback.
            let _guard = unsafe { Self::epf_lock(epf) }.lock();

            // SAFETY: `epf` is valid and `epf->lock` is held.
            unsafe {
                (*epf).event_ops = ptr::null();
                if let Some(header) = T::header() {
                    if (*epf).header == header.as_raw() {
                        (*epf).header = ptr::null_mut();
                    }
                }
            }

            // The function may still be linked to a controller, for instance if the driver was
            // unbound through sysfs: tear the binding down now, `unbind` will not reach us.
            //
            // SAFETY: `epf` is valid, its driver is this driver, and `epf->lock` is held.
            if let Some((bound, data)) = unsafe { Self::locked_data(epf) } {
                // The poll work must never run again: the driver data goes away below.
                if let Some(poll) = &data.state.poll {
                    poll.shutdown();
                }

                // SAFETY: `epf->lock` is held and `data` is the driver data of `bound`.
                unsafe { Self::unlink_locked(bound, data) };
            }

            // SAFETY: `remove_callback()` is only called after a successful `probe_callback()`,
            // which stored a `Pin<KBox<DriverData<T>>>`. Taking it with `epf->lock` held keeps the
            // other callbacks from seeing it go away while they use it.
            unsafe { func.as_ref().drvdata_obtain::<DriverData<'_, T>>() }
        };

        if let Some(data) = data {
            T::unbind(func, data.as_ref().data());
        }
    }

    extern "C" fn bind_callback(epf: *mut bindings::pci_epf) -> c_int {
        from_result(|| {
            // SAFETY: The EPF core calls `bind` with a valid `epf` of this driver and
            // `epf->lock` held.
            let (func, data) = unsafe { Self::locked_data(epf) }.ok_or(ENODEV)?;

            let mut slot = data.get_ref().binding();

            // Only one controller link (the primary interface) is supported.
            if slot.is_some() {
                return Err(EBUSY);
            }

            // SAFETY: `data` is the driver data of `func`. `bind` runs after the function was
            // linked, and the link stays until after `unbind`, which drops the binding, the only
            // user of the context beyond this call.
            let ctx = unsafe { Self::context(func, data) }.ok_or(EINVAL)?;

            match KBox::pin_init(T::link(&ctx), GFP_KERNEL) {
                Ok(binding) => *slot = Some(binding),
                Err(e) => {
                    // SAFETY: Linking failed: nothing holds a reference to a value kept while
                    // it ran.
                    unsafe { data.state.kept.drop_all() };
                    return Err(e);
                }
            }
            Ok(0)
        })
    }

    extern "C" fn unbind_callback(epf: *mut bindings::pci_epf) {
        // SAFETY: The EPF core calls `unbind` with a valid `epf` of this driver and `epf->lock`
        // held.
        if let Some((func, data)) = unsafe { Self::locked_data(epf) } {
            // SAFETY: `epf->lock` is held and `data` is the driver data of `func`.
            unsafe { Self::unlink_locked(func, data) };
        }
    }

    /// Runs `f` with the context and the binding of a function, if the function is bound to this
    /// driver and to a controller. Returns 0 otherwise.
    ///
    /// # Safety
    ///
    /// `epf` must be a valid `struct pci_epf` of this driver and `epf->lock` must be held.
    unsafe fn with_binding(
        epf: *mut bindings::pci_epf,
        f: impl for<'a> FnOnce(&Context<'a, T>, Pin<&mut T::Binding<'a>>) -> Result,
    ) -> c_int {
        from_result(|| {
            // SAFETY: By the safety requirements.
            let Some((func, data)) = (unsafe { Self::locked_data(epf) }) else {
                return Ok(0);
            };

            let mut slot = data.get_ref().binding();

            // An event can arrive between linking and binding; the pending `epc_init` is then
            // delivered again right after `bind`.
            let Some(binding) = Option::as_mut(&mut *slot) else {
                return Ok(0);
            };

            // SAFETY: `data` is the driver data of `func`. The function is linked while it has a
            // binding, see `unlink_locked()`; the context does not outlive this call.
            let Some(ctx) = (unsafe { Self::context(func, data) }) else {
                return Ok(0);
            };

            f(&ctx, binding.as_mut())?;
            Ok(0)
        })
    }

    extern "C" fn epc_init_callback(epf: *mut bindings::pci_epf) -> c_int {
        // SAFETY: The EPC core calls the event callbacks with a valid `epf` and `epf->lock` held.
        unsafe { Self::with_binding(epf, |ctx, binding| T::epc_init(ctx, binding)) }
    }

    extern "C" fn epc_deinit_callback(epf: *mut bindings::pci_epf) {
        // SAFETY: The EPC core calls the event callbacks with a valid `epf` and `epf->lock` held.
        unsafe {
            Self::with_binding(epf, |ctx, binding| {
                T::epc_deinit(ctx, binding);
                Ok(())
            })
        };
    }

    extern "C" fn link_up_callback(epf: *mut bindings::pci_epf) -> c_int {
        // SAFETY: The EPC core calls the event callbacks with a valid `epf` and `epf->lock` held.
        unsafe { Self::with_binding(epf, |ctx, binding| T::link_up(ctx, binding)) }
    }

    extern "C" fn link_down_callback(epf: *mut bindings::pci_epf) -> c_int {
        // SAFETY: The EPC core calls the event callbacks with a valid `epf` and `epf->lock` held.
        unsafe { Self::with_binding(epf, |ctx, binding| T::link_down(ctx, binding)) }
    }

    /// Runs one poll of the poll work, see the [`poll`](super::poll) module.
    ///
    /// # Safety
    ///
    /// `epf` must be a valid function of this driver.
    unsafe fn poll_callback(epf: *mut bindings::pci_epf) -> Option<Jiffies> {
        // SAFETY: `epf` is valid by the safety requirements.
        let lock = unsafe { Self::epf_lock(epf) };

        // Never block on the lock: its holder may be waiting for this work to finish.
        let Some(_guard) = lock.try_lock() else {
            return Some(1);
        };

        let mut next = PollNext::Stop;

        // SAFETY: `epf` is a valid function of this driver and `epf->lock` is held.
        unsafe {
            Self::with_binding(epf, |ctx, binding| {
                next = T::poll(ctx, binding);
                Ok(())
            })
        };

        match next {
            PollNext::After(ms) => Some(msecs_to_jiffies(ms).max(1)),
            PollNext::Stop => None,
        }
    }

    extern "C" fn add_cfs_callback(
        epf: *mut bindings::pci_epf,
        _group: *mut bindings::config_group,
    ) -> *mut bindings::config_group {
        // SAFETY: The EPF core calls `add_cfs` with a valid `epf` of this driver and `epf->lock`
        // held.
        let Some((_, data)) = (unsafe { Self::locked_data(epf) }) else {
            return ptr::null_mut();
        };

        let state = &data.get_ref().state;

        match &state.attrs {
            // SAFETY: The state lives in the pinned driver data, which outlives the group: the
            // function's configfs directory, with this group, is removed before the function is
            // released and its driver data dropped, and the driver cannot be unbound through
            // sysfs (`suppress_bind_attrs`, see `register`). `add_cfs` is called once per
            // function. (Unloading the driver's module while a function directory exists is the
            // one remaining way, shared with C pci-epf-test, see the module doc of `cfs`.)
            Some(attrs) => unsafe { attrs.init_group() },
            None => ptr::null_mut(),
        }
    }

    extern "C" fn bus_master_enable_callback(epf: *mut bindings::pci_epf) -> c_int {
        // SAFETY: The EPC core calls the event callbacks with a valid `epf` and `epf->lock` held.
        unsafe { Self::with_binding(epf, |ctx, binding| T::bus_master_enable(ctx, binding)) }
    }
}

/// Declares a kernel module that exposes a single PCI endpoint function driver.
///
/// # Examples
///
/// ```ignore
/// kernel::module_pci_epf_driver! {
///     type: MyDriver,
///     name: "Module name",
///     authors: ["Author name"],
///     description: "Description",
///     license: "GPL v2",
/// }
/// ```
#[macro_export]
macro_rules! module_pci_epf_driver {
    ($($f:tt)*) => {
        $crate::module_driver!(<T>, $crate::pci::endpoint::Adapter<T>, { $($f)* });
    };
}

/// Abstraction for the PCI endpoint function device ID structure (`struct pci_epf_device_id`).
///
/// Functions are matched to drivers by name: the configfs directory `functions/<name>/` creates
/// functions for the driver whose ID table has `<name>`.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct DeviceId(bindings::pci_epf_device_id);

impl DeviceId {
    /// Creates a new device ID from a function name.
    ///
    /// # Panics
    ///
    /// Panics (at compile time, in a constant) if `name` is empty or does not fit into the 20
    /// bytes of `struct pci_epf_device_id`, including the NUL terminator.
    pub const fn new(name: &'static CStr) -> Self {
        let src = name.to_bytes_with_nul();
        let mut id: bindings::pci_epf_device_id = pin_init::zeroed();

        assert!(src.len() > 1, "empty PCI EPF device ID name");
        assert!(
            src.len() <= id.name.len(),
            "PCI EPF device ID name too long"
        );

        // TODO: Use `copy_from_slice` once stabilized for `const`.
        let mut i = 0;
        while i < src.len() {
            id.name[i] = src[i];
            i += 1;
        }

        Self(id)
    }
}

// SAFETY: `DeviceId` is a `#[repr(transparent)]` wrapper of `pci_epf_device_id` and does not add
// additional invariants, so it's safe to transmute to `RawType`.
unsafe impl RawDeviceId for DeviceId {
    type RawType = bindings::pci_epf_device_id;
}

// SAFETY: `DRIVER_DATA_OFFSET` is the offset to the `driver_data` field.
unsafe impl RawDeviceIdIndex for DeviceId {
    const DRIVER_DATA_OFFSET: usize = offset_of!(bindings::pci_epf_device_id, driver_data);

    fn index(&self) -> usize {
        self.0.driver_data
    }
}

/// `IdTable` type for PCI endpoint functions.
pub type IdTable<T> = &'static dyn kernel::device_id::IdTable<DeviceId, T>;

/// Creates a PCI endpoint function `IdTable`.
///
/// Unlike other buses, there is no module alias: modpost has no device table type for endpoint
/// functions, and functions are created on demand through configfs anyway.
#[macro_export]
macro_rules! pci_epf_device_table {
    ($table_name:ident, $id_info_type: ty, $table_data: expr) => {
        const $table_name: $crate::device_id::IdArray<
            $crate::pci::endpoint::DeviceId,
            $id_info_type,
            { $table_data.len() },
        > = $crate::device_id::IdArray::new($table_data);
    };
}

/// The PCI endpoint function driver trait.
///
/// An endpoint function goes through two nested lifetimes:
///
/// 1. It is *bound to its driver* ([`Driver::probe`] ... [`Driver::unbind`]) while the function
///    device exists, typically from `mkdir functions/<name>/<dir>` to `rmdir`. The driver data,
///    [`Driver::Data`], lives for this time.
/// 2. It is *linked to a controller* ([`Driver::link`] ... [`Driver::unlink`]) while it is linked
///    to an endpoint controller in configfs (the EPF `bind` and `unbind` operations). The
///    binding, [`Driver::Binding`], lives for this time; it is dropped right after
///    [`Driver::unlink`], which also runs before [`Driver::unbind`] if the driver goes away
///    first. Controller events are only delivered while a binding exists, with exclusive access
///    to it.
///
/// The callbacks of the second lifetime receive a [`Context`]: the [`Controller`], the function
/// and the driver data. The [`Controller`] is tied to the link: a driver can store it (and the BAR
/// memory, mappings and doorbells borrowed from it) in its binding, but not in its driver data.
///
/// # Examples
///
/// ```
/// use kernel::{
///     device::Core,
///     pci::endpoint::{self, BarNo, BarSpace, Context, Header, HeaderInfo},
/// };
///
/// struct MyDriver;
///
/// struct MyBinding<'epc> {
///     reg: BarSpace<'epc>,
/// }
///
/// static HEADER: Header = Header::new(HeaderInfo::new(0xffff, 0xffff));
///
/// kernel::pci_epf_device_table!(
///     EPF_TABLE,
///     <MyDriver as endpoint::Driver>::IdInfo,
///     [(endpoint::DeviceId::new(c"my_epf"), ())]
/// );
///
/// #[vtable]
/// impl endpoint::Driver for MyDriver {
///     type IdInfo = ();
///     type Data<'bound> = Self;
///     type Binding<'epc> = MyBinding<'epc>;
///     const ID_TABLE: endpoint::IdTable<Self::IdInfo> = &EPF_TABLE;
///
///     fn header() -> Option<&'static Header> {
///         Some(&HEADER)
///     }
///
///     fn probe<'bound>(
///         _func: &'bound endpoint::Function<Core<'_>>,
///         _id_info: &'bound Self::IdInfo,
///     ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
///         Ok(MyDriver)
///     }
///
///     fn link<'epc>(
///         ctx: &Context<'epc, Self>,
///     ) -> impl PinInit<Self::Binding<'epc>, Error> + 'epc {
///         let epc = ctx.epc();
///         let reg = epc
///             .features()
///             .and_then(|features| features.first_free_bar().ok_or(EINVAL))
///             .and_then(|bar| epc.alloc_space(bar, 4096));
///
///         reg.map(|reg| MyBinding { reg })
///     }
///
///     fn epc_init<'epc>(
///         ctx: &Context<'epc, Self>,
///         mut binding: Pin<&mut Self::Binding<'epc>>,
///     ) -> Result {
///         ctx.epc().write_header(&HEADER)?;
///         binding.reg.set_bar()
///     }
/// }
/// ```
#[vtable]
pub trait Driver {
    /// The type holding information about each device id supported by the driver.
    // TODO: Use `associated_type_defaults` once stabilized:
    //
    // ```
    // type IdInfo: 'static = ();
    // ```
    type IdInfo: 'static;

    /// The type of the driver's device private data, which lives from [`Driver::probe`] to
    /// [`Driver::unbind`].
    type Data<'bound>: Send + 'bound;

    /// The type of the state of a function linked to a controller, which lives from
    /// [`Driver::link`] to [`Driver::unlink`].
    type Binding<'epc>: Send + 'epc;

    /// The table of device ids supported by the driver.
    const ID_TABLE: IdTable<Self::IdInfo>;

    /// The configuration header of the functions of this driver.
    ///
    /// It is installed as the function's header in [`Driver::probe`] so that configfs can edit
    /// it (`vendorid`, `deviceid`, ...). Note that all functions of the driver share it.
    ///
    /// This is a function rather than an associated constant because a constant cannot refer to
    /// a `static` with interior mutability, which a [`Header`] has (configfs edits it).
    fn header() -> Option<&'static Header> {
        None
    }

    /// The default sizes of the BARs, if the functions of this driver have the configfs
    /// attributes `bar0_size` ... `bar5_size`.
    ///
    /// The attributes are created in a group named after the function device below the
    /// function's configfs directory, like C drivers do with `add_cfs`. The driver reads the
    /// current values with [`Controller::bar_size`].
    const BAR_SIZES: Option<[usize; BarNo::COUNT]> = None;

    /// The function specific configfs attributes of the functions of this driver, if it has
    /// others than the BAR sizes (a driver has either [`Driver::BAR_SIZES`] or these).
    ///
    /// They are created like the BAR sizes, in a group named after the function device below
    /// the function's configfs directory, parsed, checked and shown like the attributes of C
    /// drivers (see [`CfsAttr`]), and refused with `EOPNOTSUPP` while the function is linked to
    /// a controller. The driver reads them with [`Controller::cfs_value`], by their index in
    /// this table.
    const CFS_ATTRS: &'static [CfsAttr] = &[];

    /// Endpoint function driver probe.
    ///
    /// Called when a new function of this driver is created. It is not linked to a controller
    /// yet.
    ///
    /// The adapter holds the function's `epf->lock` while the returned initializer runs, so
    /// that the other callbacks never see partially initialized driver data; the initializer
    /// must not call into the EPF core functions that take that lock (`pci_epf_bind()`, ...).
    fn probe<'bound>(
        func: &'bound Function<device::Core<'_>>,
        id_info: &'bound Self::IdInfo,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound;

    /// Endpoint function driver unbind.
    ///
    /// Called when a function is unbound from this driver (the bus `remove` callback), after its
    /// binding (if any) has been dropped. Implementing this callback is optional; release
    /// operations for driver resources should be performed in `Drop`.
    fn unbind<'bound>(func: &'bound Function<device::Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        let _ = (func, this);
    }

    /// Called when the function has been linked to the controller `ctx.epc()` (the EPF `bind`
    /// operation).
    ///
    /// The controller may not be initialized yet: registers of the function (header, BARs,
    /// interrupts) are best written in [`Driver::epc_init`].
    fn link<'epc>(ctx: &Context<'epc, Self>) -> impl PinInit<Self::Binding<'epc>, Error> + 'epc;

    /// Called before the function is unlinked from the controller (the EPF `unbind` operation);
    /// the binding is dropped right after. Implementing this callback is optional.
    fn unlink<'epc>(ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) {
        let _ = (ctx, binding);
    }

    /// Called when the controller has been initialized, or right after [`Driver::link`] if it
    /// already was.
    fn epc_init<'epc>(ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) -> Result {
        let _ = (ctx, binding);
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when the controller has been deinitialized, e.g. because the host asserted
    /// `PERST#`; the registers of the function are lost.
    fn epc_deinit<'epc>(ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) {
        let _ = (ctx, binding);
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when the link to the host is up.
    fn link_up<'epc>(ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) -> Result {
        let _ = (ctx, binding);
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when the link to the host is down.
    fn link_down<'epc>(
        ctx: &Context<'epc, Self>,
        binding: Pin<&mut Self::Binding<'epc>>,
    ) -> Result {
        let _ = (ctx, binding);
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called periodically while the function is linked to a controller, once started with
    /// [`Controller::schedule_poll`], until it returns [`PollNext::Stop`] or
    /// [`Controller::cancel_poll`] is called.
    ///
    /// It runs on a `WQ_MEM_RECLAIM | WQ_HIGHPRI` workqueue of the function, with `epf->lock`
    /// held like the events, so it has exclusive access to the binding and never runs
    /// concurrently with an event or after [`Driver::unlink`]. See the
    /// [`poll`](super::poll) module.
    fn poll<'epc>(ctx: &Context<'epc, Self>, binding: Pin<&mut Self::Binding<'epc>>) -> PollNext {
        let _ = (ctx, binding);
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Called when the host has enabled bus mastering for the function.
    fn bus_master_enable<'epc>(
        ctx: &Context<'epc, Self>,
        binding: Pin<&mut Self::Binding<'epc>>,
    ) -> Result {
        let _ = (ctx, binding);
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
mod tests;
