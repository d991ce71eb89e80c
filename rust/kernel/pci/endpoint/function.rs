// SPDX-License-Identifier: GPL-2.0

//! PCI endpoint functions and their configuration header; their BAR memory is in
//! [`bar`](super::bar).
//!
//! C header: [`include/linux/pci-epf.h`](srctree/include/linux/pci-epf.h)

use super::{
    cfs::CfsAttrs,
    keep::Kept,
    poll::PollWork,
    BarNo, //
};
use crate::{
    bindings,
    device,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Full, //
        },
        Arc, //
    },
    types::Opaque, //
};
use core::{
    marker::PhantomData,
    mem::offset_of,
    ptr::{
        addr_of_mut,
        NonNull, //
    },
};

/// The PCI endpoint function representation.
///
/// This structure represents the Rust abstraction for a C `struct pci_epf`. An endpoint function
/// is a device on the `pci-epf` bus; it is created through configfs (or by a controller driver)
/// and bound to an endpoint function driver by name, see [`Driver`](super::Driver).
///
/// Being bound to its *driver* (the [`Bound`](device::Bound) context) is independent of being
/// [`Linked`](super::Linked) to an endpoint *controller*: operations that need the controller are
/// methods of [`Controller`](super::Controller), which the driver only receives, in the
/// [`Context`](super::Context) of its callbacks, while the function is linked.
///
/// # Invariants
///
/// A [`Function`] instance represents a valid `struct pci_epf` created by the C portion of the
/// kernel.
#[repr(transparent)]
pub struct Function<Ctx: device::DeviceContext = device::Normal>(
    Opaque<bindings::pci_epf>,
    PhantomData<Ctx>,
);

impl<Ctx: device::DeviceContext> Function<Ctx> {
    #[inline]
    pub(crate) fn as_raw(&self) -> *mut bindings::pci_epf {
        self.0.get()
    }
}

impl Function {
    /// Returns the name of the function driver this function was created for.
    ///
    /// This is the part of the device name before the first `.`, e.g. `pci_epf_test` for the
    /// device `pci_epf_test.0`.
    pub fn name(&self) -> &CStr {
        // SAFETY: By the type invariant `self.as_raw()` is a valid `struct pci_epf`; `name` is
        // set once by `pci_epf_create()` to a NUL-terminated string that lives until the function
        // is released.
        unsafe { CStr::from_char_ptr((*self.as_raw()).name) }
    }

    /// Returns the number of MSI interrupts configured for this function through configfs.
    pub fn msi_interrupts(&self) -> u8 {
        // SAFETY: By the type invariant `self.as_raw()` is a valid `struct pci_epf`. The field is
        // written by configfs at any time without a lock, so it is read like C's `READ_ONCE()`.
        unsafe { addr_of_mut!((*self.as_raw()).msi_interrupts).read_volatile() }
    }

    /// Returns the number of MSI-X interrupts configured for this function through configfs.
    pub fn msix_interrupts(&self) -> u16 {
        // SAFETY: Same as in `msi_interrupts()`.
        unsafe { addr_of_mut!((*self.as_raw()).msix_interrupts).read_volatile() }
    }
}

// SAFETY: `pci::endpoint::Function` is a transparent wrapper of `struct pci_epf`.
// The offset is guaranteed to point to a valid device field inside `pci::endpoint::Function`.
unsafe impl<Ctx: device::DeviceContext> device::AsBusDevice<Ctx> for Function<Ctx> {
    const OFFSET: usize = offset_of!(bindings::pci_epf, dev);
}

// SAFETY: `Function` is a transparent wrapper of a type that doesn't depend on `Function`'s
// generic argument.
kernel::impl_device_context_deref!(unsafe { Function });
kernel::impl_device_context_into_aref!(Function);

// SAFETY: Instances of `Function` are always reference-counted through their embedded
// `struct device`.
unsafe impl crate::sync::aref::AlwaysRefCounted for Function {
    fn inc_ref(&self) {
        // SAFETY: The existence of a shared reference guarantees that the refcount is non-zero.
        unsafe { bindings::get_device(addr_of_mut!((*self.as_raw()).dev)) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The safety requirements guarantee that the refcount is non-zero.
        unsafe {
            bindings::put_device(addr_of_mut!(
                (*obj.cast::<bindings::pci_epf>().as_ptr()).dev
            ))
        }
    }
}

impl<Ctx: device::DeviceContext> AsRef<device::Device<Ctx>> for Function<Ctx> {
    fn as_ref(&self) -> &device::Device<Ctx> {
        // SAFETY: By the type invariant of `Self`, `self.as_raw()` is a pointer to a valid
        // `struct pci_epf`.
        let dev = unsafe { addr_of_mut!((*self.as_raw()).dev) };

        // SAFETY: `dev` points to a valid `struct device`.
        unsafe { device::Device::from_raw(dev) }
    }
}

// SAFETY: A `Function` is always reference-counted and can be released from any thread.
unsafe impl Send for Function {}

// SAFETY: `Function` can be shared among threads because all methods of `Function`
// (i.e. `Function<Normal>`) are thread safe.
unsafe impl Sync for Function {}

// SAFETY: Same as `Function<Normal>` -- the underlying `struct pci_epf` is the same; `Bound` is a
// zero-sized type-state marker that does not affect thread safety.
unsafe impl Sync for Function<device::Bound> {}

/// The interrupt pin a function reports in its configuration header.
///
/// Corresponds to the C `enum pci_interrupt_pin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptPin {
    /// No legacy interrupt pin.
    None,
    /// `INTA#`.
    IntA,
    /// `INTB#`.
    IntB,
    /// `INTC#`.
    IntC,
    /// `INTD#`.
    IntD,
}

impl InterruptPin {
    const fn as_raw(self) -> bindings::pci_interrupt_pin {
        match self {
            Self::None => bindings::pci_interrupt_pin_PCI_INTERRUPT_UNKNOWN,
            Self::IntA => bindings::pci_interrupt_pin_PCI_INTERRUPT_INTA,
            Self::IntB => bindings::pci_interrupt_pin_PCI_INTERRUPT_INTB,
            Self::IntC => bindings::pci_interrupt_pin_PCI_INTERRUPT_INTC,
            Self::IntD => bindings::pci_interrupt_pin_PCI_INTERRUPT_INTD,
        }
    }

    fn from_raw(raw: bindings::pci_interrupt_pin) -> Self {
        match raw {
            bindings::pci_interrupt_pin_PCI_INTERRUPT_INTA => Self::IntA,
            bindings::pci_interrupt_pin_PCI_INTERRUPT_INTB => Self::IntB,
            bindings::pci_interrupt_pin_PCI_INTERRUPT_INTC => Self::IntC,
            bindings::pci_interrupt_pin_PCI_INTERRUPT_INTD => Self::IntD,
            _ => Self::None,
        }
    }
}

/// The values of a standard configuration space header, see [`Header`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderInfo {
    /// Vendor ID.
    pub vendor_id: u16,
    /// Device ID.
    pub device_id: u16,
    /// Revision ID.
    pub revision_id: u8,
    /// Programming interface.
    pub prog_if: u8,
    /// Sub-class code.
    pub subclass: u8,
    /// Base class code.
    pub base_class: u8,
    /// Cache line size, in units of DWORDs.
    pub cache_line_size: u8,
    /// Subsystem vendor ID.
    pub subsystem_vendor_id: u16,
    /// Subsystem ID.
    pub subsystem_id: u16,
    /// Legacy interrupt pin.
    pub interrupt_pin: InterruptPin,
}

impl HeaderInfo {
    /// Creates a header with the given vendor and device ID; every other field is zero and the
    /// interrupt pin is [`InterruptPin::IntA`].
    pub const fn new(vendor_id: u16, device_id: u16) -> Self {
        Self {
            vendor_id,
            device_id,
            revision_id: 0,
            prog_if: 0,
            subclass: 0,
            base_class: 0,
            cache_line_size: 0,
            subsystem_vendor_id: 0,
            subsystem_id: 0,
            interrupt_pin: InterruptPin::IntA,
        }
    }
}

/// A standard configuration space header of an endpoint function (`struct pci_epf_header`).
///
/// A driver names the header of its functions in [`Driver::header`](super::Driver::header). The
/// header is then also the one that configfs edits (`vendorid`, `deviceid`, ... in the function's
/// directory), so it usually is a `static`, and
/// [`Controller::write_header`](super::Controller::write_header) writes its current values to the
/// controller.
///
/// # Invariants
///
/// The wrapped `struct pci_epf_header` is only accessed through raw pointers: by configfs
/// attribute callbacks (plain C loads and stores), by `pci_epc_write_header()` and by
/// [`Header::info`], which reads each field like C's `READ_ONCE()`.
///
/// # Examples
///
/// ```
/// use kernel::pci::endpoint::{Header, HeaderInfo};
///
/// static HEADER: Header = Header::new(HeaderInfo {
///     base_class: 0xff,
///     ..HeaderInfo::new(0xffff, 0xffff)
/// });
///
/// assert_eq!(HEADER.info().vendor_id, 0xffff);
/// ```
#[repr(transparent)]
pub struct Header(Opaque<bindings::pci_epf_header>);

// SAFETY: By the type invariant, the header is only ever accessed through raw pointers, with
// accesses that are valid from any thread (see `Header::info`).
unsafe impl Sync for Header {}

impl Header {
    /// Creates a header from its values.
    pub const fn new(info: HeaderInfo) -> Self {
        Self(Opaque::new(bindings::pci_epf_header {
            vendorid: info.vendor_id,
            deviceid: info.device_id,
            revid: info.revision_id,
            progif_code: info.prog_if,
            subclass_code: info.subclass,
            baseclass_code: info.base_class,
            cache_line_size: info.cache_line_size,
            subsys_vendor_id: info.subsystem_vendor_id,
            subsys_id: info.subsystem_id,
            interrupt_pin: info.interrupt_pin.as_raw(),
        }))
    }

    /// Returns the current values of the header, which configfs may have changed.
    pub fn info(&self) -> HeaderInfo {
        let raw = self.as_raw();

        // SAFETY: `raw` is valid for reads. configfs may store to the fields concurrently, so
        // each one is read like C's `READ_ONCE()`.
        unsafe {
            HeaderInfo {
                vendor_id: addr_of_mut!((*raw).vendorid).read_volatile(),
                device_id: addr_of_mut!((*raw).deviceid).read_volatile(),
                revision_id: addr_of_mut!((*raw).revid).read_volatile(),
                prog_if: addr_of_mut!((*raw).progif_code).read_volatile(),
                subclass: addr_of_mut!((*raw).subclass_code).read_volatile(),
                base_class: addr_of_mut!((*raw).baseclass_code).read_volatile(),
                cache_line_size: addr_of_mut!((*raw).cache_line_size).read_volatile(),
                subsystem_vendor_id: addr_of_mut!((*raw).subsys_vendor_id).read_volatile(),
                subsystem_id: addr_of_mut!((*raw).subsys_id).read_volatile(),
                interrupt_pin: InterruptPin::from_raw(
                    addr_of_mut!((*raw).interrupt_pin).read_volatile(),
                ),
            }
        }
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::pci_epf_header {
        self.0.get()
    }
}

/// Per-function state kept by the [`Adapter`](super::Adapter) for the lifetime of the driver
/// binding.
pub(crate) struct FunctionState {
    /// One bit per [`BarNo`] that is owned by a live [`BarSpace`].
    bars: Atomic<u32>,
    /// The poll work, if the driver implements [`Driver::poll`](super::Driver::poll).
    pub(crate) poll: Option<Arc<PollWork>>,
    /// The function specific configfs attributes (or the `barN_size` attributes), if the driver
    /// has them.
    pub(crate) attrs: Option<CfsAttrs>,
    /// The values kept until the function is unlinked, see [`Controller::keep`].
    ///
    /// [`Controller::keep`]: super::Controller::keep
    pub(crate) kept: Kept,
}

impl FunctionState {
    pub(crate) fn new() -> Self {
        Self::with(None, None)
    }

    pub(crate) fn with(poll: Option<Arc<PollWork>>, attrs: Option<CfsAttrs>) -> Self {
        Self {
            bars: Atomic::new(0),
            poll,
            attrs,
            kept: Kept::new(),
        }
    }

    /// Takes the exclusive right to allocate memory for `bar`.
    pub(super) fn claim_bar(&self, bar: BarNo) -> Result {
        let bit = 1u32 << bar.index();

        // Setting a bit that is set already changes nothing: that claim stays the other one's.
        if self.bars.fetch_or(bit, Full) & bit != 0 {
            return Err(EBUSY);
        }
        Ok(())
    }

    /// Gives back the right taken by [`FunctionState::claim_bar`].
    pub(super) fn release_bar(&self, bar: BarNo) {
        self.bars.fetch_andnot(1u32 << bar.index(), Full);
    }
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
#[macros::kunit_tests(rust_pci_endpoint_function)]
mod tests {
    use super::*;
    use crate::{
        io::{
            Io,
            IoCapable, //
        },
        pci::endpoint::BarIo,
    };

    static HEADER: Header = Header::new(HeaderInfo {
        revision_id: 2,
        base_class: 0xff,
        subclass: 0x80,
        prog_if: 1,
        subsystem_vendor_id: 0x1af4,
        subsystem_id: 0x1100,
        interrupt_pin: InterruptPin::IntB,
        ..HeaderInfo::new(0x104c, 0xb500)
    });

    #[test]
    fn header_matches_c_layout() {
        // SAFETY: `HEADER` is valid and nothing writes it in this test.
        let raw = unsafe { HEADER.as_raw().read() };

        assert_eq!(raw.vendorid, 0x104c);
        assert_eq!(raw.deviceid, 0xb500);
        assert_eq!(raw.revid, 2);
        assert_eq!(raw.progif_code, 1);
        assert_eq!(raw.subclass_code, 0x80);
        assert_eq!(raw.baseclass_code, 0xff);
        assert_eq!(raw.subsys_vendor_id, 0x1af4);
        assert_eq!(raw.subsys_id, 0x1100);
        assert_eq!(
            raw.interrupt_pin,
            bindings::pci_interrupt_pin_PCI_INTERRUPT_INTB
        );
    }

    #[test]
    fn header_reads_back_configfs_changes() {
        let header = Header::new(HeaderInfo::new(0xffff, 0xffff));

        // What a configfs `deviceid` store does.
        // SAFETY: `header` is valid and only used by this test.
        unsafe { (*header.as_raw()).deviceid = 0x1234 };

        let info = header.info();
        assert_eq!(info.vendor_id, 0xffff);
        assert_eq!(info.device_id, 0x1234);
        assert_eq!(info.interrupt_pin, InterruptPin::IntA);
    }

    #[test]
    fn interrupt_pin_round_trips() {
        for pin in [
            InterruptPin::None,
            InterruptPin::IntA,
            InterruptPin::IntB,
            InterruptPin::IntC,
            InterruptPin::IntD,
        ] {
            assert_eq!(InterruptPin::from_raw(pin.as_raw()), pin);
        }
        assert_eq!(InterruptPin::from_raw(17), InterruptPin::None);
    }

    /// A [`BarIo`] over `buf`, as [`Controller::alloc_space`] makes one over BAR memory.
    fn bar_io(buf: &mut [u64; 16]) -> BarIo {
        // INVARIANT: `buf` is valid for its 128 bytes while the test uses the result, and 8-byte
        // aligned.
        BarIo {
            addr: NonNull::from(buf).cast(),
            size: core::mem::size_of::<[u64; 16]>(),
        }
    }

    #[test]
    fn bar_io_is_little_endian_and_bounded() -> Result {
        let mut buf = [0u64; 16];
        {
            let io = bar_io(&mut buf);

            io.try_write32(0x1122_3344, 4)?;
            assert_eq!(io.try_read8(4)?, 0x44);
            assert_eq!(io.try_read16(6)?, 0x1122);
            assert_eq!(io.try_read32(4)?, 0x1122_3344);

            // Misaligned and out of bounds accesses fail, as with `Mmio`.
            assert_eq!(io.try_read32(2), Err(EINVAL));
            assert_eq!(io.try_read32(128), Err(EINVAL));
            assert_eq!(io.try_write32(1, 126), Err(EINVAL));
            assert_eq!(io.try_write8(1, 128), Err(EINVAL));
            assert_eq!(io.try_read8(127)?, 0);

            // A caller of `io_read()` may pass an unaligned address within bounds.
            // SAFETY: `io.addr() + 5..io.addr() + 9` is within the region.
            let unaligned: u32 = unsafe { IoCapable::<u32>::io_read(&io, io.addr() + 5) };
            assert_eq!(unaligned, 0x0011_2233);

            // Build-time checked accessors on a view of a known size.
            let regs = io.sized::<128>()?;
            regs.write32(0xdead_beef, 0x7c);
            assert_eq!(regs.read32(0x7c), 0xdead_beef);
            assert_eq!(io.try_read32(0x7c)?, 0xdead_beef);
            assert!(io.sized::<129>().is_err());
        }

        // The memory holds the bytes in little-endian order.
        assert_eq!(u64::from_le(buf[0]), 0x1122_3344_0000_0000);
        assert_eq!(u64::from_le(buf[15]), 0xdead_beef_0000_0000);
        Ok(())
    }

    #[test]
    fn bar_claims_are_exclusive() {
        let state = FunctionState::new();

        assert_eq!(state.claim_bar(BarNo::BAR_2), Ok(()));
        assert_eq!(state.claim_bar(BarNo::BAR_2), Err(EBUSY));
        assert_eq!(state.claim_bar(BarNo::BAR_3), Ok(()));
        state.release_bar(BarNo::BAR_2);
        assert_eq!(state.claim_bar(BarNo::BAR_2), Ok(()));
        assert_eq!(state.claim_bar(BarNo::BAR_3), Err(EBUSY));
    }
}
