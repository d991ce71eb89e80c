// SPDX-License-Identifier: GPL-2.0

//! Virtual PCI root buses whose configuration space is Rust code.
//!
//! A [`Bus`] is a PCI root bus with no host controller behind it: one device, at devfn 0,
//! whose configuration space accesses go to an [`Operations`] implementation. It is what
//! `pci-epf-vntb` builds so that the NTB device it emulates has a `struct pci_dev` to be
//! registered on.
//!
//! - The abstraction bounds every access before it reaches [`Operations`]: a devfn other than
//!   0 is answered with `PCIBIOS_DEVICE_NOT_FOUND`, an access that is not 1, 2 or 4 bytes,
//!   naturally aligned and within [`Operations::CONFIG_SIZE`] with
//!   `PCIBIOS_BAD_REGISTER_NUMBER`; a read that fails returns all ones. [`Access`] carries the
//!   proof.
//! - The caller chooses the bus number. The bus gets a PCI domain of its own (a dynamic one,
//!   `CONFIG_PCI_DOMAINS_GENERIC`), so that several buses can exist at once with the same
//!   bus number, and a bus can be created again after it was dropped.
//! - The device found is added with an optional driver override: only the driver of that name
//!   binds it, whatever its vendor and device IDs (see [`pci::DeviceId::driver_override_any`]
//!   for the ID table of such a driver).
//! - Dropping the [`Bus`] stops and removes the bus and its device (under
//!   `pci_lock_rescan_remove()`), which unbinds the device's driver and releases the domain,
//!   then drops the [`Operations`] data.
//!
//! A driver bound to the device reaches the bus's data with [`Bus::data_of`], which checks that
//! the device sits on a bus of this module with data of that type.
//!
//! C header: [`include/linux/pci.h`](srctree/include/linux/pci.h)
//!
//! # Examples
//!
//! ```
//! use kernel::{pci::{self, vbus}, prelude::*};
//!
//! struct Vntb {
//!     header: vbus::Type0Header,
//! }
//!
//! #[vtable]
//! impl vbus::Operations for Vntb {
//!     const CONFIG_SIZE: usize = vbus::Type0Header::SIZE;
//!
//!     fn read(&self, access: vbus::Access) -> u32 {
//!         self.header.read(access)
//!     }
//! }
//!
//! fn create(vid: u16, pid: u16, bus_number: u8) -> Result<vbus::Bus<Vntb>> {
//!     let header = vbus::Type0Header::new(vid, pid, 0x068000, 0);
//!     vbus::Bus::new(bus_number, Some(c"pci_vntb_rs"), Vntb { header })
//! }
//!
//! // In the `pci::Driver` named `pci_vntb_rs`:
//! fn probe(pdev: &pci::Device<kernel::device::Bound>) -> Result {
//!     let _vntb: &Vntb = vbus::Bus::<Vntb>::data_of(pdev).ok_or(ENODEV)?;
//!     Ok(())
//! }
//! ```

use crate::{
    bindings,
    device,
    error::VTABLE_DEFAULT_ERROR,
    pci,
    prelude::*,
    str::CStr,
    sync::aref::ARef, //
};
use core::{any::TypeId, ffi::c_void, ptr::NonNull};

/// The width of a configuration space access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessSize {
    /// One byte.
    U8,
    /// Two bytes.
    U16,
    /// Four bytes.
    U32,
}

impl AccessSize {
    /// Returns the size in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::U16 => 2,
            Self::U32 => 4,
        }
    }

    /// Returns the mask of the bits an access of this size carries.
    pub fn mask(self) -> u32 {
        match self {
            Self::U8 => 0xff,
            Self::U16 => 0xffff,
            Self::U32 => 0xffff_ffff,
        }
    }
}

/// A checked configuration space access.
///
/// # Invariants
///
/// `offset` is a multiple of `size.bytes()` and `offset + size.bytes()` is at most the
/// configuration space size the access was checked against.
///
/// # Examples
///
/// ```
/// use kernel::pci::vbus::{Access, AccessSize};
///
/// let a = Access::new(0x3c, 2, 64).unwrap();
/// assert_eq!((a.offset(), a.size()), (0x3c, AccessSize::U16));
/// assert!(Access::new(0x3e, 4, 64).is_none()); // Not aligned.
/// assert!(Access::new(0x40, 1, 64).is_none()); // Past a 64-byte space.
/// assert!(Access::new(0x100, 4, 64).is_none());
/// assert!(Access::new(0x3c, 4, 64).is_some()); // The last dword.
/// assert!(Access::new(0, 3, 64).is_none()); // Not 1, 2 or 4 bytes.
/// assert!(Access::new(-4, 4, 64).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    offset: usize,
    size: AccessSize,
}

impl Access {
    /// Checks an access of `size` bytes at `offset` of a configuration space of `space_size`
    /// bytes (C's `where` and `size` of `struct pci_ops`).
    pub fn new(offset: i32, size: i32, space_size: usize) -> Option<Self> {
        let size = match size {
            1 => AccessSize::U8,
            2 => AccessSize::U16,
            4 => AccessSize::U32,
            _ => return None,
        };
        let offset = usize::try_from(offset).ok()?;
        if offset % size.bytes() != 0 || offset.checked_add(size.bytes())? > space_size {
            return None;
        }
        // INVARIANT: Alignment and bounds are checked above.
        Some(Self { offset, size })
    }

    /// Returns the byte offset of the access.
    pub fn offset(self) -> usize {
        self.offset
    }

    /// Returns the width of the access.
    pub fn size(self) -> AccessSize {
        self.size
    }

    /// Reads the access from a little-endian byte image of the space; all ones if `space` is
    /// shorter than the access.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::pci::vbus::Access;
    ///
    /// let space = [0x34u8, 0x12, 0x78, 0x56];
    /// assert_eq!(Access::new(0, 4, 4).unwrap().read_from(&space), 0x5678_1234);
    /// assert_eq!(Access::new(2, 2, 4).unwrap().read_from(&space), 0x5678);
    /// assert_eq!(Access::new(1, 1, 4).unwrap().read_from(&space), 0x12);
    /// assert_eq!(Access::new(4, 4, 8).unwrap().read_from(&space), !0);
    /// ```
    pub fn read_from(self, space: &[u8]) -> u32 {
        let Some(bytes) = space.get(self.offset..self.offset + self.size.bytes()) else {
            return !0;
        };
        bytes
            .iter()
            .rev()
            .fold(0u32, |v, &b| (v << 8) | u32::from(b))
    }

    /// Writes the low bytes of `value` to a little-endian byte image of the space; nothing if
    /// `space` is shorter than the access.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::pci::vbus::Access;
    ///
    /// let mut space = [0u8; 4];
    /// Access::new(2, 2, 4).unwrap().write_to(&mut space, 0xdead_beef);
    /// assert_eq!(space, [0, 0, 0xef, 0xbe]);
    /// ```
    pub fn write_to(self, space: &mut [u8], value: u32) {
        if let Some(bytes) = space.get_mut(self.offset..self.offset + self.size.bytes()) {
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = (value >> (8 * i)) as u8;
            }
        }
    }
}

/// A type 0 (endpoint) configuration header with no BAR, capability or interrupt, read only.
///
/// # Examples
///
/// ```
/// use kernel::pci::vbus::{Access, Type0Header};
///
/// let h = Type0Header::new(0x1957, 0x0809, 0x068000, 2);
/// let read = |offset, size| h.read(Access::new(offset, size, Type0Header::SIZE).unwrap());
/// assert_eq!(read(0, 4), 0x0809_1957);
/// assert_eq!(read(2, 2), 0x0809);
/// assert_eq!(read(8, 4), 0x0680_0002); // Class code and revision.
/// assert_eq!(read(0x0e, 1), 0); // Header type 0.
/// assert_eq!(read(0x10, 4), 0); // No BAR.
/// assert_eq!(read(0x3c, 4), 0); // No interrupt pin.
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Type0Header {
    bytes: [u8; Self::SIZE],
}

impl Type0Header {
    /// The size of the header.
    pub const SIZE: usize = 64;

    /// Builds a header with these IDs, 24-bit class code (base class, subclass, programming
    /// interface) and revision.
    pub fn new(vendor: u16, device: u16, class: u32, revision: u8) -> Self {
        let mut bytes = [0u8; Self::SIZE];
        bytes[0..2].copy_from_slice(&vendor.to_le_bytes());
        bytes[2..4].copy_from_slice(&device.to_le_bytes());
        bytes[8..12].copy_from_slice(&((class << 8) | u32::from(revision)).to_le_bytes());
        Self { bytes }
    }

    /// Reads from the header.
    pub fn read(&self, access: Access) -> u32 {
        access.read_from(&self.bytes)
    }
}

/// The configuration space of the device of a [`Bus`] (C's `struct pci_ops`).
///
/// The methods are called with the PCI core's configuration lock held, interrupts disabled:
/// they must not sleep.
#[vtable]
pub trait Operations: Send + Sync + 'static {
    /// The size of the configuration space in bytes: at least [`Type0Header::SIZE`], at most
    /// 4096, a multiple of 4.
    const CONFIG_SIZE: usize;

    /// Reads `access` (its value in the low bits).
    fn read(&self, access: Access) -> u32;

    /// Writes the low bits of `value` to `access`. Without it, writes are ignored.
    fn write(&self, _access: Access, _value: u32) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The sysdata of a bus: `#[repr(C)]` and starting with the members of [`SysdataHead`], so
/// that the trampolines of [`VBUS_OPS`] and [`Bus::data_of`] can use it before they know `T`.
#[repr(C)]
#[pin_data]
struct Sysdata<T> {
    type_id: TypeId,
    config_size: usize,
    read: fn(*const c_void, Access) -> u32,
    write: fn(*const c_void, Access, u32),
    #[pin]
    data: T,
}

/// The first members of every [`Sysdata`], whatever its `T`.
#[repr(C)]
struct SysdataHead {
    type_id: TypeId,
    config_size: usize,
    read: fn(*const c_void, Access) -> u32,
    write: fn(*const c_void, Access, u32),
}

fn read_data<T: Operations>(sys: *const c_void, access: Access) -> u32 {
    // SAFETY: `sys` is a `Sysdata<T>`: the function is only stored in one.
    let sys = unsafe { &*sys.cast::<Sysdata<T>>() };
    sys.data.read(access)
}

fn write_data<T: Operations>(sys: *const c_void, access: Access, value: u32) {
    if T::HAS_WRITE {
        // SAFETY: `sys` is a `Sysdata<T>`: the function is only stored in one.
        let sys = unsafe { &*sys.cast::<Sysdata<T>>() };
        sys.data.write(access, value);
    }
}

fn config_size<T: Operations>() -> usize {
    const {
        assert!(
            T::CONFIG_SIZE >= Type0Header::SIZE
                && T::CONFIG_SIZE <= 4096
                && T::CONFIG_SIZE % 4 == 0,
            "CONFIG_SIZE is 64..=4096 and a multiple of 4"
        )
    };
    T::CONFIG_SIZE
}

/// The one `struct pci_ops` of every [`Bus`]: its address tells a bus of this module.
static VBUS_OPS: bindings::pci_ops = bindings::pci_ops {
    read: Some(vbus_read),
    write: Some(vbus_write),
    // SAFETY: The other members are optional function pointers, for which all zeroes is `None`.
    ..unsafe { core::mem::zeroed() }
};

fn vbus_ops_ptr() -> *mut bindings::pci_ops {
    // The PCI core never writes through `bus->ops`.
    (&raw const VBUS_OPS).cast_mut()
}

/// Checks a C configuration access (`devfn`, `where`, `size` of `struct pci_ops`) against a
/// bus whose one device, at devfn 0, has a configuration space of `space_size` bytes.
///
/// Returns the `PCIBIOS_*` error the access is answered with if it is refused.
///
/// # Examples
///
/// ```
/// use kernel::{bindings, pci::vbus::check_access};
///
/// assert!(check_access(0, 0, 4, 64).is_ok());
/// assert_eq!(check_access(8, 0, 4, 64), Err(bindings::PCIBIOS_DEVICE_NOT_FOUND as i32));
/// assert_eq!(check_access(0, 0x100, 4, 64), Err(bindings::PCIBIOS_BAD_REGISTER_NUMBER as i32));
/// assert_eq!(check_access(0, 0x3d, 2, 64), Err(bindings::PCIBIOS_BAD_REGISTER_NUMBER as i32));
/// ```
pub fn check_access(devfn: u32, offset: i32, size: i32, space_size: usize) -> Result<Access, i32> {
    if devfn != 0 {
        return Err(bindings::PCIBIOS_DEVICE_NOT_FOUND as i32);
    }
    Access::new(offset, size, space_size).ok_or(bindings::PCIBIOS_BAD_REGISTER_NUMBER as i32)
}

/// Returns the sysdata of a bus of this module.
///
/// # Safety
///
/// `bus` is a valid `struct pci_bus` whose `ops` is [`VBUS_OPS`] (so its `sysdata` is the
/// `Sysdata<_>` of the [`Bus`] that created it) and that [`Bus`] is alive for `'a`.
unsafe fn head<'a>(bus: *const bindings::pci_bus) -> &'a SysdataHead {
    // SAFETY: By the safety requirements, `sysdata` points to a live `Sysdata<_>`, whose first
    // members are those of `SysdataHead` (both `#[repr(C)]`).
    unsafe { &*(*bus).sysdata.cast::<SysdataHead>() }
}

extern "C" fn vbus_read(
    bus: *mut bindings::pci_bus,
    devfn: c_uint,
    where_: c_int,
    size: c_int,
    val: *mut u32,
) -> c_int {
    // SAFETY: The PCI core calls `VBUS_OPS.read` only for buses created with `VBUS_OPS`, which
    // are all `Bus`es, alive while their devices exist (dropping a `Bus` removes them).
    let head = unsafe { head(bus) };
    let (ret, value) = match check_access(devfn, where_, size, head.config_size) {
        Ok(access) => (
            bindings::PCIBIOS_SUCCESSFUL as c_int,
            (head.read)(core::ptr::from_ref(head).cast(), access) & access.size().mask(),
        ),
        Err(e) => (e, !0),
    };
    // SAFETY: `val` points to the `u32` to fill.
    unsafe { *val = value };
    ret
}

extern "C" fn vbus_write(
    bus: *mut bindings::pci_bus,
    devfn: c_uint,
    where_: c_int,
    size: c_int,
    val: u32,
) -> c_int {
    // SAFETY: As in `vbus_read`.
    let head = unsafe { head(bus) };
    match check_access(devfn, where_, size, head.config_size) {
        Ok(access) => {
            (head.write)(
                core::ptr::from_ref(head).cast(),
                access,
                val & access.size().mask(),
            );
            bindings::PCIBIOS_SUCCESSFUL as c_int
        }
        Err(e) => e,
    }
}

/// Stops and removes a root bus and its devices, and drops the host bridge.
///
/// # Safety
///
/// `bus` is a root bus created by `pci_scan_bus()`, not removed yet; the caller holds
/// `pci_lock_rescan_remove()`.
unsafe fn remove_root_bus(bus: *mut bindings::pci_bus) {
    // SAFETY: By the safety requirements, `bus` is a valid root bus; its `bridge` is the host
    // bridge device that `pci_scan_bus()` created, of which the creator holds the initial
    // reference (`device_initialize()`): `pci_remove_root_bus()` only deletes it.
    unsafe {
        let bridge = (*bus).bridge;
        bindings::pci_stop_root_bus(bus);
        bindings::pci_remove_root_bus(bus);
        bindings::put_device(bridge);
    }
}

/// A virtual PCI root bus with one device whose configuration space is `T`.
///
/// # Invariants
///
/// `bus` is a root bus created by `pci_scan_bus()` with `VBUS_OPS` and `data` as its
/// sysdata, not removed yet.
pub struct Bus<T: Operations> {
    bus: NonNull<bindings::pci_bus>,
    data: Pin<KBox<Sysdata<T>>>,
}

// SAFETY: The bus is only used through the PCI core's functions, which lock; `T` is `Send`.
unsafe impl<T: Operations> Send for Bus<T> {}
// SAFETY: `&Bus` only reads the bus number and domain, gets the device and gives `&T`; `T` is
// `Sync`.
unsafe impl<T: Operations> Sync for Bus<T> {}

impl<T: Operations> Bus<T> {
    /// Creates a root bus numbered `bus_number` in a new domain, scans it, sets the driver
    /// override of the device at devfn 0 to `driver_override` (if any) and adds the device.
    ///
    /// A driver that matches the device is probed before this returns. Fails with `ENODEV` on
    /// a system booted with ACPI (whose PCI code takes every root bus's sysdata for its own),
    /// with `EINVAL` if the PCI core refuses the bus.
    pub fn new<E>(
        bus_number: u8,
        driver_override: Option<&CStr>,
        data: impl PinInit<T, E>,
    ) -> Result<Self>
    where
        Error: From<E>,
    {
        // SAFETY: The helper only reads `acpi_disabled`.
        if !unsafe { bindings::pci_vbus_acpi_disabled() } {
            return Err(ENODEV);
        }
        let data = KBox::pin_init::<Error>(
            try_pin_init!(Sysdata {
                type_id: TypeId::of::<T>(),
                config_size: config_size::<T>(),
                read: read_data::<T>,
                write: write_data::<T>,
                data <- data,
            }),
            GFP_KERNEL,
        )?;
        let sysdata = core::ptr::from_ref::<Sysdata<T>>(&data)
            .cast_mut()
            .cast::<c_void>();

        // SAFETY: Taking the PCI rescan/remove lock has no requirement.
        unsafe { bindings::pci_lock_rescan_remove() };
        // SAFETY: `VBUS_OPS` lives forever and its trampolines handle any access to a bus
        // whose sysdata is a `Sysdata<_>`; `sysdata` is one, and it outlives the bus (it is
        // freed after `remove_root_bus()` in `drop`, or below).
        let bus = unsafe { bindings::pci_scan_bus(bus_number.into(), vbus_ops_ptr(), sysdata) };
        let Some(bus) = NonNull::new(bus) else {
            // SAFETY: Taken above.
            unsafe { bindings::pci_unlock_rescan_remove() };
            return Err(EINVAL);
        };
        let ret = match driver_override {
            // SAFETY: `bus` is a valid bus.
            Some(name) => match NonNull::new(unsafe { bindings::pci_get_slot(bus.as_ptr(), 0) }) {
                Some(pdev) => {
                    let pdev = pdev.as_ptr();
                    // SAFETY: `pdev` is a valid device that `pci_get_slot()` took a reference
                    // on, not added to the driver core's matching yet (`pci_bus_add_devices()`
                    // does that); `name` is a valid string of `name.to_bytes().len()` bytes.
                    let ret = unsafe {
                        let ret = bindings::__device_set_driver_override(
                            &raw mut (*pdev).dev,
                            name.as_char_ptr(),
                            name.to_bytes().len(),
                        );
                        bindings::pci_dev_put(pdev);
                        ret
                    };
                    crate::error::to_result(ret)
                }
                None => Ok(()),
            },
            None => Ok(()),
        };
        match ret {
            // SAFETY: `bus` is a valid bus, scanned.
            Ok(()) => unsafe { bindings::pci_bus_add_devices(bus.as_ptr()) },
            // SAFETY: `bus` was created by `pci_scan_bus()`; the lock is held.
            Err(_) => unsafe { remove_root_bus(bus.as_ptr()) },
        }
        // SAFETY: Taken above.
        unsafe { bindings::pci_unlock_rescan_remove() };
        ret?;

        // INVARIANT: `bus` was created with `VBUS_OPS` and `data` as its sysdata.
        Ok(Self { bus, data })
    }

    /// Returns the configuration space data.
    pub fn data(&self) -> &T {
        &self.data.data
    }

    /// Returns the bus number.
    pub fn number(&self) -> u8 {
        // SAFETY: By the type invariants, `bus` is valid.
        unsafe { (*self.bus.as_ptr()).number }
    }

    /// Returns the PCI domain of the bus.
    pub fn domain(&self) -> i32 {
        // SAFETY: By the type invariants, `bus` is valid.
        unsafe { (*self.bus.as_ptr()).domain_nr }
    }

    /// Returns the device at devfn 0, if the scan found one.
    pub fn device(&self) -> Option<ARef<pci::Device>> {
        // SAFETY: By the type invariants, `bus` is valid.
        let pdev = NonNull::new(unsafe { bindings::pci_get_slot(self.bus.as_ptr(), 0) })?;
        // SAFETY: `pci_get_slot()` took a reference on the valid `struct pci_dev`, which the
        // `ARef` now owns; `pci::Device` is a transparent wrapper of it.
        Some(unsafe { ARef::from_raw(pdev.cast::<pci::Device>()) })
    }

    /// Returns the data of the bus `pdev` sits on, if it is a [`Bus<T>`].
    ///
    /// The data lives as long as `pdev` is bound: dropping the bus unbinds its device first.
    pub fn data_of(pdev: &pci::Device<device::Bound>) -> Option<&T> {
        // SAFETY: `pdev` is a valid `struct pci_dev`, whose `bus` is valid while it exists.
        let bus = unsafe { (*pdev.as_raw()).bus };
        // SAFETY: As above.
        if bus.is_null() || unsafe { (*bus).ops } != vbus_ops_ptr() {
            return None;
        }
        // SAFETY: `bus` was created with `VBUS_OPS`, so by a `Bus`; since `pdev` is bound, that
        // `Bus` has not been dropped (its drop unbinds the device before its data goes).
        let head = unsafe { head(bus) };
        if head.type_id != TypeId::of::<T>() {
            return None;
        }
        // SAFETY: The type check above says the sysdata is a `Sysdata<T>`, alive as above.
        Some(unsafe { &(*(*bus).sysdata.cast::<Sysdata<T>>()).data })
    }
}

impl<T: Operations> Drop for Bus<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants, `bus` was created by `pci_scan_bus()` and not removed
        // yet; the lock is taken around the removal. The sysdata is freed after this.
        unsafe {
            bindings::pci_lock_rescan_remove();
            remove_root_bus(self.bus.as_ptr());
            bindings::pci_unlock_rescan_remove();
        }
    }
}

#[cfg(CONFIG_RUST_PCI_VBUS_KUNIT_TEST)]
#[macros::kunit_tests(rust_pci_vbus)]
mod tests {
    use super::*;
    use crate::sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    };

    /// A 64-byte space with a writable interrupt line, counting the accesses that reach it.
    struct Space {
        header: Type0Header,
        line: Atomic<u32>,
        reads: Atomic<u32>,
    }

    #[vtable]
    impl Operations for Space {
        const CONFIG_SIZE: usize = Type0Header::SIZE;

        fn read(&self, access: Access) -> u32 {
            self.reads.fetch_add(1, Relaxed);
            if access.offset() == 0x3c && access.size() == AccessSize::U8 {
                return self.line.load(Relaxed);
            }
            self.header.read(access)
        }

        fn write(&self, access: Access, value: u32) {
            if access.offset() == 0x3c && access.size() == AccessSize::U8 {
                self.line.store(value, Relaxed);
            }
        }
    }

    fn space(vendor: u16, device: u16) -> Space {
        Space {
            header: Type0Header::new(vendor, device, 0xff0000, 1),
            line: Atomic::new(0),
            reads: Atomic::new(0),
        }
    }

    const BUSNR: u8 = 0xe0;

    fn read32(bus: &Bus<Space>, devfn: u32, offset: i32) -> (i32, u32) {
        let mut v = 0u32;
        // SAFETY: `bus.bus` is a valid bus; `v` is a `u32` to fill.
        let ret =
            unsafe { bindings::pci_bus_read_config_dword(bus.bus.as_ptr(), devfn, offset, &mut v) };
        (ret, v)
    }

    fn bus_exists(domain: i32, number: u8) -> bool {
        // SAFETY: `pci_find_bus()` only looks the bus up.
        !unsafe { bindings::pci_find_bus(domain, number.into()) }.is_null()
    }

    #[test]
    fn scanned_device() -> Result {
        let bus = Bus::new(BUSNR, None, space(0x1b36, 0x00fe))?;
        assert_eq!(bus.number(), BUSNR);
        assert!(bus_exists(bus.domain(), BUSNR));
        let pdev = bus.device().ok_or(ENODEV)?;
        assert_eq!(u32::from(pdev.vendor_id().as_raw()), 0x1b36);
        assert_eq!(pdev.device_id(), 0x00fe);
        assert_eq!(pdev.revision_id(), 1);
        assert_eq!(pdev.pci_class().as_raw(), 0xff0000);
        // The scan probed the other functions of the slot and found none.
        // SAFETY: `bus.bus` is a valid bus.
        let other = unsafe { bindings::pci_get_slot(bus.bus.as_ptr(), 1) };
        assert!(other.is_null());
        Ok(())
    }

    #[test]
    fn bounded_accesses() -> Result {
        let bus = Bus::new(BUSNR, None, space(0x1b36, 0x00fe))?;
        assert_eq!(read32(&bus, 0, 0), (0, 0x00fe_1b36));
        let before = bus.data().reads.load(Relaxed);
        // Past the 64-byte space: all ones and an error, the data is not asked.
        assert_eq!(
            read32(&bus, 0, 0x100),
            (bindings::PCIBIOS_BAD_REGISTER_NUMBER as i32, !0)
        );
        assert_eq!(
            read32(&bus, 0, 0x40),
            (bindings::PCIBIOS_BAD_REGISTER_NUMBER as i32, !0)
        );
        // Another devfn.
        assert_eq!(
            read32(&bus, 8, 0),
            (bindings::PCIBIOS_DEVICE_NOT_FOUND as i32, !0)
        );
        assert_eq!(bus.data().reads.load(Relaxed), before);
        // A write within the space reaches the data.
        // SAFETY: `bus.bus` is a valid bus.
        let ret = unsafe { bindings::pci_bus_write_config_byte(bus.bus.as_ptr(), 0, 0x3c, 0x5a) };
        assert_eq!(ret, 0);
        assert_eq!(bus.data().line.load(Relaxed), 0x5a);
        // SAFETY: `bus.bus` is a valid bus.
        let ret = unsafe { bindings::pci_bus_write_config_byte(bus.bus.as_ptr(), 0, 0x40, 1) };
        assert_eq!(ret, bindings::PCIBIOS_BAD_REGISTER_NUMBER as i32);
        Ok(())
    }

    #[test]
    fn relink_same_number() -> Result {
        let bus = Bus::new(BUSNR, None, space(0x1b36, 0x00fe))?;
        let domain = bus.domain();
        drop(bus);
        assert!(!bus_exists(domain, BUSNR));
        let bus = Bus::new(BUSNR, None, space(0x1b36, 0x00fd))?;
        assert!(bus_exists(bus.domain(), BUSNR));
        // The domain was released with the first bus: the lowest free one is given again.
        assert_eq!(bus.domain(), domain);
        assert_eq!(bus.device().ok_or(ENODEV)?.device_id(), 0x00fd);
        Ok(())
    }

    #[test]
    fn two_buses_at_once() -> Result {
        let a = Bus::new(BUSNR, None, space(0x1b36, 0x00fe))?;
        let b = Bus::new(BUSNR, None, space(0x1b36, 0x00fd))?;
        assert_ne!(a.domain(), b.domain());
        assert_eq!(a.device().ok_or(ENODEV)?.device_id(), 0x00fe);
        assert_eq!(b.device().ok_or(ENODEV)?.device_id(), 0x00fd);
        let domain_a = a.domain();
        drop(a);
        assert!(!bus_exists(domain_a, BUSNR));
        assert!(bus_exists(b.domain(), BUSNR));
        assert_eq!(read32(&b, 0, 0), (0, 0x00fd_1b36));
        Ok(())
    }

    #[test]
    fn driver_override() -> Result {
        let bus = Bus::new(BUSNR, Some(c"rust_vbus_test"), space(0x1b36, 0x00fe))?;
        let pdev = bus.device().ok_or(ENODEV)?;
        // SAFETY: `pdev` is a valid device; its override is read under its lock.
        let matches = unsafe {
            let dev = &raw mut (*pdev.as_raw()).dev;
            let lock = &raw mut (*dev).driver_override.lock;
            bindings::spin_lock(lock);
            let name = (*dev).driver_override.name;
            let matches = !name.is_null() && CStr::from_char_ptr(name) == c"rust_vbus_test";
            bindings::spin_unlock(lock);
            matches
        };
        assert!(matches);
        Ok(())
    }

    /// What the test's PCI driver did with a bus.
    struct Log {
        probed: Atomic<u32>,
        unbound: Atomic<u32>,
    }

    /// The configuration space of a bus that the test's PCI driver binds.
    struct Bound {
        header: Type0Header,
        log: Arc<Log>,
    }

    #[vtable]
    impl Operations for Bound {
        const CONFIG_SIZE: usize = Type0Header::SIZE;

        fn read(&self, access: Access) -> u32 {
            self.header.read(access)
        }
    }

    fn bound(device: u16) -> Result<(Bound, Arc<Log>)> {
        let log = Arc::new(
            Log {
                probed: Atomic::new(0),
                unbound: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        let space = Bound {
            header: Type0Header::new(0x1b36, device, 0xff0000, 0),
            log: log.clone(),
        };
        Ok((space, log))
    }

    const DRIVER: &CStr = c"rust_vbus_test";

    struct TestDriver;

    struct TestData<'bound> {
        bus: &'bound Bound,
    }

    impl Drop for TestData<'_> {
        fn drop(&mut self) {
            // The bus's data is alive: a bus unbinds its device before its data goes.
            self.bus.log.unbound.fetch_add(1, Relaxed);
        }
    }

    const TEST_TABLE: crate::device_id::IdArray<pci::DeviceId, (), 1> =
        crate::device_id::IdArray::new([(pci::DeviceId::driver_override_any(), ())]);

    impl pci::Driver for TestDriver {
        type IdInfo = ();
        type Data<'bound> = TestData<'bound>;
        const ID_TABLE: pci::IdTable<Self::IdInfo> = &TEST_TABLE;

        fn probe<'bound>(
            pdev: &'bound pci::Device<device::Core<'_>>,
            _id_info: &'bound Self::IdInfo,
        ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
            let bus = Bus::<Bound>::data_of(pdev).ok_or(ENODEV)?;
            bus.log.probed.fetch_add(1, Relaxed);
            Ok(TestData { bus })
        }
    }

    // SAFETY: The test is built in: there is no module.
    static THIS_MODULE: crate::ThisModule =
        unsafe { crate::ThisModule::from_ptr(core::ptr::null_mut()) };

    fn has_driver(pdev: &pci::Device) -> bool {
        // SAFETY: `pdev` is a valid device; `driver` is read as a snapshot.
        !unsafe { (*pdev.as_raw()).dev.driver }.is_null()
    }

    #[test]
    fn bound_by_override() -> Result {
        let driver = KBox::pin_init(
            crate::driver::Registration::<pci::Adapter<TestDriver>>::new(DRIVER, &THIS_MODULE),
            GFP_KERNEL,
        )?;
        // Two buses at once: each device is bound, each probe finds the data of its own bus.
        let (space_a, log_a) = bound(0x00fe)?;
        let (space_b, log_b) = bound(0x00fd)?;
        let a = Bus::new(BUSNR, Some(DRIVER), space_a)?;
        let b = Bus::new(BUSNR, Some(DRIVER), space_b)?;
        assert_eq!(log_a.probed.load(Relaxed), 1);
        assert_eq!(log_b.probed.load(Relaxed), 1);
        let pdev = a.device().ok_or(ENODEV)?;
        assert!(has_driver(&pdev));
        // Without the override, the driver's table matches nothing.
        let (space_c, log_c) = bound(0x00fc)?;
        let c = Bus::new(BUSNR, None, space_c)?;
        assert_eq!(log_c.probed.load(Relaxed), 0);
        let pdev = c.device().ok_or(ENODEV)?;
        assert!(!has_driver(&pdev));
        // Overridden to the driver but with data of another type: the probe refuses it.
        let d = Bus::new(BUSNR, Some(DRIVER), space(0x1b36, 0x00fb))?;
        let pdev = d.device().ok_or(ENODEV)?;
        assert!(!has_driver(&pdev));
        // Dropping a bus unbinds its device (while its data is alive), not the others.
        drop(a);
        assert_eq!(log_a.unbound.load(Relaxed), 1);
        assert_eq!(log_b.unbound.load(Relaxed), 0);
        // Unregistering the driver unbinds the device of `b`.
        drop(driver);
        assert_eq!(log_b.unbound.load(Relaxed), 1);
        let pdev = b.device().ok_or(ENODEV)?;
        assert!(!has_driver(&pdev));
        drop((b, c, d));
        assert_eq!(log_c.unbound.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn hundred_cycles() -> Result {
        for i in 0..100u16 {
            let bus = Bus::new(BUSNR, None, space(0x1b36, i))?;
            assert_eq!(bus.device().ok_or(ENODEV)?.device_id(), i);
        }
        Ok(())
    }
}
