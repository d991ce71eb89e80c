// SPDX-License-Identifier: GPL-2.0

//! Function specific configfs attributes.
//!
//! The EPF core lets a function driver add a configfs group of its own below the function's
//! directory (`add_cfs`). A driver describes its attributes in a table of [`CfsAttr`]
//! ([`Driver::CFS_ATTRS`](super::Driver::CFS_ATTRS), read with
//! [`Controller::cfs_value`](super::Controller::cfs_value)), as pci-epf-vntb's, or has the
//! sizes of the BARs the function allocates, `bar0_size` ... `bar5_size`, which pci-epf-test
//! exposes: it sets [`Driver::BAR_SIZES`](super::Driver::BAR_SIZES) to their defaults and reads
//! them with [`Controller::bar_size`](super::Controller::bar_size). The BAR sizes are a table
//! of [`CfsKind::BarSize`] attributes built from the defaults, so both are one group.
//!
//! The values behave like the C ones: parsed with the same `kstrto*()` function, base 0
//! (decimal, `0x` hexadecimal or `0` octal), checked and shown the same way, and they can only
//! be changed while the function is not linked to a controller (`EOPNOTSUPP` otherwise).
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
    error::to_result,
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

/// Validates a BAR size written to configfs, given the result of `kstrtouint()`.
///
/// Mirrors C pci-epf-test, which stores the value in an `int` and checks it with
/// `is_power_of_2()` on the sign-extended value.
fn validate_bar_size(val: u32) -> Result<u64> {
    // CAST: Reinterpreting as `int` and sign-extending, like the C code.
    let as_c = i64::from(val as i32);

    if as_c <= 0 || as_c & (as_c - 1) != 0 {
        return Err(EINVAL);
    }

    // CAST: Positive, checked above.
    Ok(as_c as u64)
}

impl Controller<'_> {
    /// Returns the size of `bar` configured through the configfs `barN_size` attribute, or
    /// [`None`] if the driver has no such attributes, see
    /// [`Driver::BAR_SIZES`](super::Driver::BAR_SIZES).
    pub fn bar_size(&self, bar: BarNo) -> Option<usize> {
        let attrs = self.state().attrs.as_ref()?;

        if attrs.kind(bar.index())? != CfsKind::BarSize {
            return None;
        }

        // CAST: A power of two of at most 2^30.
        attrs.get(bar.index()).map(|size| size as usize)
    }
}

/// How a function specific configfs attribute is parsed, shown and checked.
///
/// The kinds are those of the C function drivers' attributes (pci-epf-vntb's): the value is
/// parsed with the same `kstrto*()` function as in C, with base 0 (decimal, `0x` hexadecimal or
/// `0` octal), checked the same way, and shown with the same format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CfsKind {
    /// Parsed with `kstrtou32()` and shown with `"%d\n"` (as C shows its `u32`s); a value
    /// outside `min..=max` is refused with [`EINVAL`].
    U32 {
        /// The smallest accepted value.
        min: u32,
        /// The largest accepted value.
        max: u32,
    },
    /// Parsed with `kstrtou32()` and truncated to 16 bits, as C stores it in a `u16`; shown
    /// with `"%d\n"`.
    U16,
    /// Parsed with `kstrtou64()`, shown with `"%llu\n"`.
    U64,
    /// A BAR number, or -1 for none: parsed with `kstrtoint()`, shown with `"%d\n"`; a value
    /// outside `-1..=5` is refused with [`EINVAL`].
    Bar,
    /// The size of a BAR, the kind of the `barN_size` attributes of
    /// [`Driver::BAR_SIZES`](super::Driver::BAR_SIZES): parsed with `kstrtouint()`, it must be
    /// a power of two of at most 2^30 (C pci-epf-test stores it in an `int`, so 2^31 is refused
    /// as negative) or it is refused with [`EINVAL`]; shown with `"%zu\n"`.
    BarSize,
}

/// A function specific configfs attribute, see [`Driver::CFS_ATTRS`](super::Driver::CFS_ATTRS).
///
/// # Examples
///
/// ```
/// use kernel::pci::endpoint::CfsAttr;
///
/// // pci-epf-vntb's `db_count`, `num_mws`, `mw1` (only while `num_mws` > 0) and `db_bar`.
/// const ATTRS: [CfsAttr; 4] = [
///     CfsAttr::u32(c"db_count", 0, 3, 32),
///     CfsAttr::u32(c"num_mws", 0, 0, 4),
///     CfsAttr::u64(c"mw1", 0).below(0, 1),
///     CfsAttr::bar(c"db_bar"),
/// ];
///
/// assert_eq!(ATTRS[3].default_value(), u64::MAX);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CfsAttr {
    name: &'static CStr,
    kind: CfsKind,
    default: u64,
    /// `(n, count)`: the attribute exists only while `n` is below the value of attribute
    /// `count`, otherwise show and store fail with `ERANGE`.
    below: Option<(u64, usize)>,
}

impl CfsAttr {
    /// A [`CfsKind::U32`] attribute with its default and range.
    pub const fn u32(name: &'static CStr, default: u32, min: u32, max: u32) -> Self {
        Self {
            name,
            kind: CfsKind::U32 { min, max },
            default: default as u64,
            below: None,
        }
    }

    /// A [`CfsKind::U16`] attribute with its default.
    pub const fn u16(name: &'static CStr, default: u16) -> Self {
        Self {
            name,
            kind: CfsKind::U16,
            default: default as u64,
            below: None,
        }
    }

    /// A [`CfsKind::U64`] attribute with its default.
    pub const fn u64(name: &'static CStr, default: u64) -> Self {
        Self {
            name,
            kind: CfsKind::U64,
            default,
            below: None,
        }
    }

    /// A [`CfsKind::Bar`] attribute, without a BAR by default.
    pub const fn bar(name: &'static CStr) -> Self {
        Self {
            name,
            kind: CfsKind::Bar,
            default: u64::MAX,
            below: None,
        }
    }

    /// A [`CfsKind::BarSize`] attribute with its default.
    const fn bar_size(name: &'static CStr, default: usize) -> Self {
        Self {
            name,
            kind: CfsKind::BarSize,
            // CAST: `usize` fits in `u64`.
            default: default as u64,
            below: None,
        }
    }

    /// Makes the attribute valid only while `n` is below the value of the attribute at index
    /// `count` of the same table: otherwise showing and storing it fail with `ERANGE`, like
    /// pci-epf-vntb's `mwN` while `N > num_mws`.
    pub const fn below(mut self, n: u64, count: usize) -> Self {
        self.below = Some((n, count));
        self
    }

    /// Returns the name of the attribute.
    pub fn name(&self) -> &'static CStr {
        self.name
    }

    /// Returns the kind of the attribute.
    pub fn kind(&self) -> CfsKind {
        self.kind
    }

    /// Returns the default value, as stored (a BAR number of -1 is stored as `u64::MAX`).
    pub fn default_value(&self) -> u64 {
        self.default
    }
}

/// The attributes `bar0_size` ... `bar5_size` with the given defaults, see
/// [`Driver::BAR_SIZES`](super::Driver::BAR_SIZES).
pub(crate) const fn bar_size_attrs(defaults: [usize; BarNo::COUNT]) -> [CfsAttr; BarNo::COUNT] {
    const NAMES: [&CStr; BarNo::COUNT] = [
        c"bar0_size",
        c"bar1_size",
        c"bar2_size",
        c"bar3_size",
        c"bar4_size",
        c"bar5_size",
    ];
    let mut attrs = [CfsAttr::bar_size(NAMES[0], 0); BarNo::COUNT];
    let mut i = 0;

    while i < BarNo::COUNT {
        attrs[i] = CfsAttr::bar_size(NAMES[i], defaults[i]);
        i += 1;
    }

    attrs
}

/// The value parsed by the `kstrto*()` function of a [`CfsKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Unsigned(u64),
    Signed(i64),
}

/// Checks a parsed value against its kind and returns the value to store.
pub(crate) fn validate(kind: CfsKind, parsed: Parsed) -> Result<u64> {
    match (kind, parsed) {
        (CfsKind::U32 { min, max }, Parsed::Unsigned(v)) => {
            let v = u32::try_from(v).map_err(|_| EINVAL)?;
            if v < min || v > max {
                return Err(EINVAL);
            }
            Ok(v.into())
        }
        // C truncates the `u32` into its `u16` field.
        (CfsKind::U16, Parsed::Unsigned(v)) => Ok(v & 0xffff),
        (CfsKind::U64, Parsed::Unsigned(v)) => Ok(v),
        (CfsKind::Bar, Parsed::Signed(v)) => {
            if !(-1..=5).contains(&v) {
                return Err(EINVAL);
            }
            // CAST: -1 is stored as `u64::MAX`, see `CfsAttr::bar`.
            Ok(v as u64)
        }
        (CfsKind::BarSize, Parsed::Unsigned(v)) => {
            validate_bar_size(u32::try_from(v).map_err(|_| EINVAL)?)
        }
        _ => Err(EINVAL),
    }
}

/// Formats a stored value of `kind` into `page` the way C shows it; returns the length.
pub(crate) fn format_value(kind: CfsKind, val: u64, page: &mut [u8]) -> Result<usize> {
    let mut f = Formatter::new(page);

    match kind {
        // CAST: C prints its `u32` with `%d`.
        CfsKind::U32 { .. } => writeln!(f, "{}", val as u32 as i32)?,
        CfsKind::U16 | CfsKind::U64 | CfsKind::BarSize => writeln!(f, "{val}")?,
        // CAST: Stored as the bits of an `int`.
        CfsKind::Bar => writeln!(f, "{}", val as i64)?,
    }

    Ok(f.bytes_written())
}

/// The most attributes a driver can have, see [`Driver::CFS_ATTRS`](super::Driver::CFS_ATTRS).
pub const MAX_CFS_ATTRS: usize = 24;

/// The function specific configfs attributes of one function, see [`CfsAttr`].
///
/// # Invariants
///
/// - `epf` is the function this state belongs to; it outlives `self`.
/// - `attrs[i]` describes `table[i]` for every `i`; `ptrs` points to `attrs` and ends with
///   `NULL`; `item_type` refers to `ptrs`.
/// - Once `group` is initialized by [`CfsAttrs::init_group`], `self` is not moved anymore
///   (it lives in the pinned driver data of the function).
pub(crate) struct CfsAttrs {
    group: Opaque<bindings::config_group>,
    item_type: Opaque<bindings::config_item_type>,
    epf: *mut bindings::pci_epf,
    table: &'static [CfsAttr],
    values: KVec<Atomic<u64>>,
    attrs: KVec<bindings::configfs_attribute>,
    ptrs: KVec<*mut bindings::configfs_attribute>,
}

// SAFETY: `epf` is only used to read `epf->epc`/`epf->sec_epc`, which C code does from any
// thread; the values are atomics and the configfs tables are only read by configfs.
unsafe impl Send for CfsAttrs {}

// SAFETY: See the `Send` implementation.
unsafe impl Sync for CfsAttrs {}

impl CfsAttrs {
    /// Creates the attributes of `epf` described by `table`, with their defaults.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if `table` has more than [`MAX_CFS_ATTRS`] entries or an entry is valid
    /// [`below`](CfsAttr::below) an attribute that is not in the table; [`ENOMEM`].
    pub(crate) fn new(epf: *mut bindings::pci_epf, table: &'static [CfsAttr]) -> Result<Self> {
        if table.len() > MAX_CFS_ATTRS
            || table
                .iter()
                .any(|a| a.below.is_some_and(|(_, count)| count >= table.len()))
        {
            return Err(EINVAL);
        }

        let mut values = KVec::with_capacity(table.len(), GFP_KERNEL)?;
        let mut attrs = KVec::with_capacity(table.len(), GFP_KERNEL)?;
        let mut ptrs = KVec::with_capacity(table.len() + 1, GFP_KERNEL)?;

        for (i, a) in table.iter().enumerate() {
            values.push(Atomic::new(a.default), GFP_KERNEL)?;
            attrs.push(
                bindings::configfs_attribute {
                    ca_name: a.name.to_bytes_with_nul().as_ptr(),
                    // The callbacks are part of the kernel image, which is never unloaded.
                    ca_owner: core::ptr::null_mut(),
                    ca_mode: 0o644,
                    show: Some(ATTR_SHOW[i]),
                    store: Some(ATTR_STORE[i]),
                },
                GFP_KERNEL,
            )?;
        }

        // The buffer of `attrs` does not move anymore: it has its final length.
        for a in attrs.iter_mut() {
            ptrs.push(core::ptr::from_mut(a), GFP_KERNEL)?;
        }
        ptrs.push(core::ptr::null_mut(), GFP_KERNEL)?;

        let item_type = Opaque::new(bindings::config_item_type {
            // The group lives in the driver data; configfs does not own it.
            ct_owner: core::ptr::null_mut(),
            ct_item_ops: core::ptr::null(),
            ct_group_ops: core::ptr::null(),
            ct_attrs: ptrs.as_mut_ptr(),
            ct_bin_attrs: core::ptr::null_mut(),
        });

        // INVARIANT: `attrs` follows `table`, `ptrs` points to `attrs` and is terminated,
        // `item_type` refers to `ptrs`; the vectors' buffers do not move when `self` does.
        Ok(Self {
            group: Opaque::uninit(),
            item_type,
            epf,
            table,
            values,
            attrs,
            ptrs,
        })
    }

    /// Returns the stored value of attribute `index`, or [`None`] if there is none.
    pub(crate) fn get(&self, index: usize) -> Option<u64> {
        self.values.get(index).map(|v| v.load(Relaxed))
    }

    /// Returns the kind of attribute `index`, or [`None`] if there is none.
    pub(crate) fn kind(&self, index: usize) -> Option<CfsKind> {
        self.table.get(index).map(|a| a.kind)
    }

    /// Returns whether attribute `index` currently exists (see [`CfsAttr::below`]).
    fn in_range(&self, index: usize) -> bool {
        match self.table[index].below {
            Some((n, count)) => self.get(count).is_some_and(|c| n < c),
            None => true,
        }
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
        // not move. configfs copies the name; the item type lives as long as `self`.
        unsafe {
            let name = bindings::dev_name(&raw mut (*self.epf).dev);
            core::ptr::write_bytes(group, 0, 1);
            bindings::config_group_init_type_name(group, name, self.item_type.get());
        }

        group
    }

    /// Returns the attributes that contain `item`.
    ///
    /// # Safety
    ///
    /// `item` must be the item of the group of a live [`CfsAttrs`].
    unsafe fn from_item<'a>(item: *mut bindings::config_item) -> &'a Self {
        // SAFETY: By the safety requirements.
        unsafe {
            let group = crate::container_of!(item, bindings::config_group, cg_item);
            &*crate::container_of!(Opaque::cast_from(group), Self, group)
        }
    }

    fn show(&self, index: usize, page: &mut [u8]) -> Result<usize> {
        if !self.in_range(index) {
            return Err(ERANGE);
        }

        format_value(
            self.table[index].kind,
            self.values[index].load(Relaxed),
            page,
        )
    }

    /// Parses `page` like C, with the `kstrto*()` function of the attribute's kind.
    ///
    /// # Safety
    ///
    /// `page` must be a NUL-terminated string.
    unsafe fn parse(kind: CfsKind, page: *const u8) -> Result<Parsed> {
        match kind {
            CfsKind::U32 { .. } | CfsKind::U16 | CfsKind::BarSize => {
                let mut v: c_uint = 0;
                // SAFETY: `page` is NUL-terminated; `v` is valid for writes.
                to_result(unsafe { bindings::kstrtouint(page.cast(), 0, &mut v) })?;
                Ok(Parsed::Unsigned(v.into()))
            }
            CfsKind::U64 => {
                let mut v: u64 = 0;
                // SAFETY: As above.
                to_result(unsafe { bindings::kstrtoull(page.cast(), 0, &mut v) })?;
                Ok(Parsed::Unsigned(v))
            }
            CfsKind::Bar => {
                let mut v: c_int = 0;
                // SAFETY: As above.
                to_result(unsafe { bindings::kstrtoint(page.cast(), 0, &mut v) })?;
                Ok(Parsed::Signed(v.into()))
            }
        }
    }

    /// Stores the value in `page` into attribute `index`, in the order of C's checks: linked,
    /// parse, value, range.
    ///
    /// # Safety
    ///
    /// `page` must be a NUL-terminated string.
    unsafe fn store(&self, index: usize, page: *const u8) -> Result {
        // SAFETY: `epf` is valid by the type invariants. The read is racy in C as well: linking
        // takes a snapshot of the values.
        let linked = unsafe { !(*self.epf).epc.is_null() || !(*self.epf).sec_epc.is_null() };
        if linked {
            return Err(EOPNOTSUPP);
        }

        let kind = self.table[index].kind;
        // SAFETY: By the safety requirements.
        let val = validate(kind, unsafe { Self::parse(kind, page) }?)?;

        if !self.in_range(index) {
            return Err(ERANGE);
        }

        self.values[index].store(val, Relaxed);
        Ok(())
    }
}

/// `show` of attribute `N` of a [`CfsAttrs`].
///
/// # Safety
///
/// Called by configfs with the item of a registered group and a page-sized buffer.
unsafe extern "C" fn attr_show<const N: usize>(
    item: *mut bindings::config_item,
    page: *mut u8,
) -> isize {
    // SAFETY: By the safety requirements; the group is only registered for live `CfsAttrs`, and
    // attribute `N` only exists if the table has an entry `N`.
    let this = unsafe { CfsAttrs::from_item(item) };
    // SAFETY: configfs passes a buffer of `PAGE_SIZE` bytes.
    let page = unsafe { core::slice::from_raw_parts_mut(page, PAGE_SIZE) };

    match this.show(N, page) {
        // CAST: At most 21 bytes.
        Ok(len) => len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// `store` of attribute `N` of a [`CfsAttrs`].
///
/// # Safety
///
/// Called by configfs with the item of a registered group and a NUL-terminated buffer.
unsafe extern "C" fn attr_store<const N: usize>(
    item: *mut bindings::config_item,
    page: *const u8,
    len: usize,
) -> isize {
    // SAFETY: By the safety requirements.
    let this = unsafe { CfsAttrs::from_item(item) };

    // SAFETY: configfs NUL-terminates the buffer.
    match unsafe { this.store(N, page) } {
        // CAST: configfs writes are at most a page.
        Ok(()) => len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

type ShowFn = unsafe extern "C" fn(*mut bindings::config_item, *mut u8) -> isize;
type StoreFn = unsafe extern "C" fn(*mut bindings::config_item, *const u8, usize) -> isize;

macro_rules! attr_fns {
    ($f:ident, $($n:literal)*) => { [$($f::<$n>,)*] };
}

static ATTR_SHOW: [ShowFn; MAX_CFS_ATTRS] =
    attr_fns!(attr_show, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23);
static ATTR_STORE: [StoreFn; MAX_CFS_ATTRS] =
    attr_fns!(attr_store, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23);

impl Controller<'_> {
    /// Returns the value of the function specific configfs attribute at `index` of
    /// [`Driver::CFS_ATTRS`](super::Driver::CFS_ATTRS) (or of the `barN_size` attributes, see
    /// [`Controller::bar_size`]), as stored (see [`CfsAttr::default_value`]), or [`None`] if
    /// there is no such attribute.
    pub fn cfs_value(&self, index: usize) -> Option<u64> {
        self.state().attrs.as_ref().and_then(|a| a.get(index))
    }

    /// Returns the BAR of the [`CfsKind::Bar`] attribute at `index`, or [`None`] if it is -1 or
    /// there is no such attribute.
    pub fn cfs_bar(&self, index: usize) -> Option<BarNo> {
        self.cfs_value(index)
            .and_then(|v| u32::try_from(v).ok())
            .and_then(|v| BarNo::try_from(v).ok())
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
            assert_eq!(
                validate(CfsKind::BarSize, Parsed::Unsigned(1 << shift)),
                Ok(1u64 << shift)
            );
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
            assert_eq!(
                validate(CfsKind::BarSize, Parsed::Unsigned(v.into())),
                Err(EINVAL)
            );
        }
    }

    #[test]
    fn bar_size_show_format() -> Result {
        let mut page = [0u8; 32];
        let n = format_value(CfsKind::BarSize, 131_072, &mut page)?;
        assert_eq!(&page[..n], b"131072\n");
        let n = format_value(CfsKind::BarSize, 0, &mut page)?;
        assert_eq!(&page[..n], b"0\n");
        let n = format_value(CfsKind::BarSize, 1 << 30, &mut page)?;
        assert_eq!(&page[..n], b"1073741824\n");
        let n = format_value(CfsKind::BarSize, u64::MAX, &mut page)?;
        assert_eq!(&page[..n], b"18446744073709551615\n");

        // A value that does not fit is an error, not a truncated line.
        assert_eq!(
            format_value(CfsKind::BarSize, 131_072, &mut page[..6]),
            Err(EINVAL)
        );
        Ok(())
    }

    #[test]
    fn attribute_table_is_terminated() -> Result {
        static TABLE: [CfsAttr; BarNo::COUNT] = bar_size_attrs([512, 1, 2, 3, 4, 1 << 20]);
        let attrs = CfsAttrs::new(core::ptr::null_mut(), &TABLE)?;

        assert!(attrs.ptrs[BarNo::COUNT].is_null());
        for (i, p) in attrs.ptrs[..BarNo::COUNT].iter().enumerate() {
            // SAFETY: The entries point into `attrs.attrs`, whose names are static.
            let name = unsafe { CStr::from_char_ptr((**p).ca_name) };
            assert_eq!(name.to_bytes()[3], b'0' + i as u8);
            assert_eq!(attrs.kind(i), Some(CfsKind::BarSize));
            assert_eq!(attrs.get(i), Some(TABLE[i].default_value()));
        }
        assert_eq!(attrs.get(5), Some(1 << 20));
        Ok(())
    }

    #[test]
    fn attr_values_are_checked_like_c() {
        let db_count = CfsKind::U32 { min: 3, max: 32 };

        assert_eq!(validate(db_count, Parsed::Unsigned(3)), Ok(3));
        assert_eq!(validate(db_count, Parsed::Unsigned(32)), Ok(32));
        for v in [0, 2, 33, u64::from(u32::MAX), 1 << 32] {
            assert_eq!(validate(db_count, Parsed::Unsigned(v)), Err(EINVAL));
        }

        // `vntb_pid`: the `u32` is truncated into a `u16`, as in C.
        assert_eq!(
            validate(CfsKind::U16, Parsed::Unsigned(0x1_080a)),
            Ok(0x080a)
        );
        assert_eq!(
            validate(CfsKind::U64, Parsed::Unsigned(u64::MAX)),
            Ok(u64::MAX)
        );

        // BAR numbers: -1 (none) to 5.
        assert_eq!(validate(CfsKind::Bar, Parsed::Signed(-1)), Ok(u64::MAX));
        assert_eq!(validate(CfsKind::Bar, Parsed::Signed(5)), Ok(5));
        for v in [-2, 6, i64::from(i32::MIN), i64::from(i32::MAX)] {
            assert_eq!(validate(CfsKind::Bar, Parsed::Signed(v)), Err(EINVAL));
        }

        // A parse of the wrong signedness is a bug, and refused.
        assert_eq!(validate(CfsKind::Bar, Parsed::Unsigned(1)), Err(EINVAL));
        assert_eq!(validate(CfsKind::U64, Parsed::Signed(1)), Err(EINVAL));
    }

    #[test]
    fn attr_values_are_shown_like_c() -> Result {
        let mut page = [0u8; 32];
        let u32k = CfsKind::U32 {
            min: 0,
            max: u32::MAX,
        };

        let n = format_value(u32k, 128, &mut page)?;
        assert_eq!(&page[..n], b"128\n");
        // `%d` of a `u32` above `INT_MAX`.
        let n = format_value(u32k, 0xffff_ffff, &mut page)?;
        assert_eq!(&page[..n], b"-1\n");
        let n = format_value(CfsKind::Bar, u64::MAX, &mut page)?;
        assert_eq!(&page[..n], b"-1\n");
        let n = format_value(CfsKind::Bar, 4, &mut page)?;
        assert_eq!(&page[..n], b"4\n");
        let n = format_value(CfsKind::U64, 0x10_0000, &mut page)?;
        assert_eq!(&page[..n], b"1048576\n");
        let n = format_value(CfsKind::U16, 0x080a, &mut page)?;
        assert_eq!(&page[..n], b"2058\n");
        Ok(())
    }

    #[test]
    fn attr_tables_are_checked() {
        const GOOD: [CfsAttr; 2] = [
            CfsAttr::u32(c"num_mws", 0, 0, 4),
            CfsAttr::u64(c"mw1", 0).below(0, 0),
        ];
        const BAD: [CfsAttr; 1] = [CfsAttr::u64(c"mw1", 0).below(0, 1)];

        let attrs = CfsAttrs::new(core::ptr::null_mut(), &GOOD);
        assert!(attrs.is_ok());
        if let Ok(attrs) = attrs {
            assert_eq!(attrs.get(0), Some(0));
            assert_eq!(attrs.get(2), None);
            // `mw1` exists only once `num_mws` is at least 1.
            assert!(!attrs.in_range(1));
            attrs.values[0].store(1, Relaxed);
            assert!(attrs.in_range(1));
            assert!(attrs.ptrs[2].is_null());
            assert_eq!(
                attrs.ptrs[1],
                core::ptr::from_ref(&attrs.attrs[1]).cast_mut()
            );
        }

        assert!(CfsAttrs::new(core::ptr::null_mut(), &BAD).is_err());
    }
}
