// SPDX-License-Identifier: GPL-2.0

//! Function specific configfs attributes: the BAR sizes.
//!
//! The EPF core lets a function driver add a configfs group of its own below the function's
//! directory (`add_cfs`). The only function specific attributes the in-tree drivers need are
//! the sizes of the BARs the function allocates, `bar0_size` ... `bar5_size`, which pci-epf-test
//! exposes. A driver gets them by setting [`Driver::BAR_SIZES`](super::Driver::BAR_SIZES) to
//! their defaults, and reads them with [`Controller::bar_size`](super::Controller::bar_size).
//!
//! The values behave like the C ones: shown as `"%zu\n"`, parsed like `kstrtouint(page, 0, ...)`
//! (decimal, `0x` hexadecimal or `0` octal), they must be a power of two of at most 2^30 (C
//! stores them in an `int`, so 2^31 is rejected as negative), and they can only be changed while
//! the function is not linked to a controller (`EOPNOTSUPP` otherwise).
//!
//! The group and its attribute tables are built here rather than with the `kernel::configfs`
//! abstraction of Linux 7.2, which does not fit a group handed to the EPF core: it creates groups
//! only as a `Subsystem` or from `GroupOperations::make_group` (the attributes find their data
//! through `Group<Data>`, and the item's `release` frees the group), while the EPF core asks the
//! driver for an initialized `config_group` (`add_cfs`) and registers it below the function's
//! directory itself. Its `configfs_attrs!` also takes the owner from the `THIS_MODULE` of a
//! module, which the kernel crate has not, and its attributes have mode 0660 where pci-epf-test's
//! have 0644. The values are formatted with [`Formatter`].
//!
//! Like the C driver's, the group lives in the driver data. Its lifetime rests on the order in
//! which a function goes away: its configfs directory is removed (rmdir) before the function is
//! released and the driver's `remove` drops the data. Rust drivers with these attributes cannot
//! be unbound through sysfs, which would break that order. Unloading the driver's module while
//! one of its functions still has a directory (not bound to a controller, or the module would be
//! pinned) breaks it too, in C and here; making the group own its storage, freed from the
//! item's `release`, would close that.

use super::{
    BarNo,
    Controller, //
};
use crate::{
    bindings,
    page::PAGE_SIZE,
    prelude::*,
    str::Formatter,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    types::Opaque, //
};
use core::fmt::Write;

/// The `barN_size` attributes of one function.
///
/// # Invariants
///
/// - `epf` is the function this state belongs to; it outlives `self`.
/// - Once `group` is initialized by [`CfsBarSizes::init_group`], `self` is not moved anymore
///   (it lives in the pinned driver data of the function).
pub(crate) struct CfsBarSizes {
    group: Opaque<bindings::config_group>,
    epf: *mut bindings::pci_epf,
    sizes: [Atomic<u64>; BarNo::COUNT],
}

// SAFETY: `epf` is only used to read `epf->epc`, which C code does from any thread as well; the
// sizes are atomics and the group is only touched by configfs.
unsafe impl Send for CfsBarSizes {}

// SAFETY: See the `Send` implementation.
unsafe impl Sync for CfsBarSizes {}

/// Validates a BAR size written to configfs, given the result of `kstrtouint()`.
///
/// Mirrors C pci-epf-test, which stores the value in an `int` and checks it with
/// `is_power_of_2()` on the sign-extended value.
pub(crate) fn validate_bar_size(val: u32) -> Result<u64> {
    // CAST: Reinterpreting as `int` and sign-extending, like the C code.
    let as_c = i64::from(val as i32);

    if as_c <= 0 || as_c & (as_c - 1) != 0 {
        return Err(EINVAL);
    }

    // CAST: Positive, checked above.
    Ok(as_c as u64)
}

/// Formats `val` followed by a newline into `page`, like C's `"%zu\n"`; returns the length.
fn format_size(val: u64, page: &mut [u8]) -> Result<usize> {
    let mut f = Formatter::new(page);
    writeln!(f, "{val}")?;
    Ok(f.bytes_written())
}

impl CfsBarSizes {
    /// Creates the attributes of `epf` with the given defaults.
    pub(crate) fn new(epf: *mut bindings::pci_epf, defaults: &[usize; BarNo::COUNT]) -> Self {
        // INVARIANT: `epf` is the function being probed.
        Self {
            group: Opaque::uninit(),
            epf,
            // CAST: `usize` fits in `u64`.
            sizes: defaults.map(|v| Atomic::new(v as u64)),
        }
    }

    /// Returns the configured size of `bar`.
    pub(crate) fn get(&self, bar: BarNo) -> u64 {
        self.sizes[bar.index()].load(Relaxed)
    }

    /// Initializes the configfs group and returns it, for the `add_cfs` callback.
    ///
    /// # Safety
    ///
    /// `self` must not move anymore and must outlive the group's registration in configfs; the
    /// function must not have a group of its own registered yet.
    pub(crate) unsafe fn init_group(&self) -> *mut bindings::config_group {
        let group = self.group.get();

        // SAFETY: By the type invariants `self.epf` is valid; `group` is valid for writes and does
        // not move. configfs copies the name.
        unsafe {
            let name = bindings::dev_name(&raw mut (*self.epf).dev);
            core::ptr::write_bytes(group, 0, 1);
            bindings::config_group_init_type_name(group, name, BAR_SIZE_TYPE.0.get());
        }

        group
    }

    /// Returns the attributes that contain `item`.
    ///
    /// # Safety
    ///
    /// `item` must be the item of the group of a live [`CfsBarSizes`].
    unsafe fn from_item<'a>(item: *mut bindings::config_item) -> &'a Self {
        // SAFETY: By the safety requirements.
        unsafe {
            let group = crate::container_of!(item, bindings::config_group, cg_item);
            &*crate::container_of!(Opaque::cast_from(group), Self, group)
        }
    }
}

/// `show` of `barN_size`.
///
/// # Safety
///
/// Called by configfs with the item of a registered group and a page-sized buffer.
unsafe extern "C" fn show<const N: usize>(
    item: *mut bindings::config_item,
    page: *mut u8,
) -> isize {
    // SAFETY: By the safety requirements; the group is only registered for live `CfsBarSizes`.
    let this = unsafe { CfsBarSizes::from_item(item) };
    // SAFETY: configfs passes a buffer of `PAGE_SIZE` bytes.
    let page = unsafe { core::slice::from_raw_parts_mut(page, PAGE_SIZE) };

    match format_size(this.sizes[N].load(Relaxed), page) {
        // CAST: At most 21 bytes.
        Ok(len) => len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// `store` of `barN_size`.
///
/// # Safety
///
/// Called by configfs with the item of a registered group and a NUL-terminated buffer.
unsafe extern "C" fn store<const N: usize>(
    item: *mut bindings::config_item,
    page: *const u8,
    len: usize,
) -> isize {
    // SAFETY: By the safety requirements.
    let this = unsafe { CfsBarSizes::from_item(item) };

    // SAFETY: `epf` is valid by the type invariants; the read is racy in C as well: binding
    // takes a snapshot of the sizes.
    if !unsafe { (*this.epf).epc }.is_null() {
        return EOPNOTSUPP.to_errno() as isize;
    }

    let mut val: c_uint = 0;

    // SAFETY: configfs NUL-terminates the buffer; `val` is valid for writes.
    let ret = unsafe { bindings::kstrtouint(page.cast(), 0, &mut val) };
    if ret != 0 {
        return ret as isize;
    }

    match validate_bar_size(val) {
        Ok(size) => {
            this.sizes[N].store(size, Relaxed);
            // CAST: configfs writes are at most a page.
            len as isize
        }
        Err(e) => e.to_errno() as isize,
    }
}

/// Wrapper that makes configfs tables usable as `static`s.
#[repr(transparent)]
struct Table<T>(Opaque<T>);

// SAFETY: The tables are constant; configfs only reads them.
unsafe impl<T> Sync for Table<T> {}

const fn attr(
    name: &'static CStr,
    show: unsafe extern "C" fn(*mut bindings::config_item, *mut u8) -> isize,
    store: unsafe extern "C" fn(*mut bindings::config_item, *const u8, usize) -> isize,
) -> bindings::configfs_attribute {
    bindings::configfs_attribute {
        ca_name: name.to_bytes_with_nul().as_ptr(),
        // The callbacks are part of the kernel image, which is never unloaded.
        ca_owner: core::ptr::null_mut(),
        ca_mode: 0o644,
        show: Some(show),
        store: Some(store),
    }
}

static BAR_SIZE_ATTRS: Table<[bindings::configfs_attribute; BarNo::COUNT]> = Table(Opaque::new([
    attr(c"bar0_size", show::<0>, store::<0>),
    attr(c"bar1_size", show::<1>, store::<1>),
    attr(c"bar2_size", show::<2>, store::<2>),
    attr(c"bar3_size", show::<3>, store::<3>),
    attr(c"bar4_size", show::<4>, store::<4>),
    attr(c"bar5_size", show::<5>, store::<5>),
]));

static BAR_SIZE_ATTR_PTRS: Table<[*mut bindings::configfs_attribute; BarNo::COUNT + 1]> = {
    let base = BAR_SIZE_ATTRS
        .0
        .get()
        .cast::<bindings::configfs_attribute>();

    Table(Opaque::new([
        base,
        base.wrapping_add(1),
        base.wrapping_add(2),
        base.wrapping_add(3),
        base.wrapping_add(4),
        base.wrapping_add(5),
        core::ptr::null_mut(),
    ]))
};

static BAR_SIZE_TYPE: Table<bindings::config_item_type> =
    Table(Opaque::new(bindings::config_item_type {
        // The group lives in the driver data; configfs does not own it.
        ct_owner: core::ptr::null_mut(),
        ct_item_ops: core::ptr::null(),
        ct_group_ops: core::ptr::null(),
        ct_attrs: BAR_SIZE_ATTR_PTRS.0.get().cast(),
        ct_bin_attrs: core::ptr::null_mut(),
    }));

impl Controller<'_> {
    /// Returns the size of `bar` configured through the configfs `barN_size` attribute, or
    /// [`None`] if the driver has no such attributes, see
    /// [`Driver::BAR_SIZES`](super::Driver::BAR_SIZES).
    pub fn bar_size(&self, bar: BarNo) -> Option<usize> {
        self.state()
            .cfs
            .as_ref()
            // CAST: A power of two of at most 2^30.
            .map(|cfs| cfs.get(bar) as usize)
    }
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
#[macros::kunit_tests(rust_pci_endpoint_cfs)]
mod tests {
    use super::*;

    #[test]
    fn bar_size_accepts_powers_of_two_like_c() {
        for shift in 0..=30 {
            assert_eq!(validate_bar_size(1 << shift), Ok(1u64 << shift));
        }
    }

    #[test]
    fn bar_size_rejects_what_c_rejects() {
        // 0, non powers of two, and 2^31, which is negative as a C `int`.
        for v in [
            0u32,
            3,
            6,
            100,
            131_071,
            0x8000_0000,
            0xffff_ffff,
            0xc000_0000,
        ] {
            assert_eq!(validate_bar_size(v), Err(EINVAL));
        }
    }

    #[test]
    fn bar_size_show_format() -> Result {
        let mut page = [0u8; 32];
        let n = format_size(131_072, &mut page)?;
        assert_eq!(&page[..n], b"131072\n");
        let n = format_size(0, &mut page)?;
        assert_eq!(&page[..n], b"0\n");
        let n = format_size(1 << 30, &mut page)?;
        assert_eq!(&page[..n], b"1073741824\n");
        let n = format_size(u64::MAX, &mut page)?;
        assert_eq!(&page[..n], b"18446744073709551615\n");

        // A value that does not fit is an error, not a truncated line.
        assert_eq!(format_size(131_072, &mut page[..6]), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn attribute_table_is_terminated() {
        // SAFETY: The tables are constant.
        let ptrs = unsafe { &*BAR_SIZE_ATTR_PTRS.0.get() };
        assert!(ptrs[BarNo::COUNT].is_null());
        for (i, p) in ptrs[..BarNo::COUNT].iter().enumerate() {
            // SAFETY: The entries point into the constant attribute table.
            let name = unsafe { CStr::from_char_ptr((**p).ca_name) };
            assert_eq!(name.to_bytes()[3], b'0' + i as u8);
        }
    }
}
