// SPDX-License-Identifier: GPL-2.0

//! Abstractions for the PCI endpoint framework.
//!
//! An endpoint controller (EPC) is the hardware that makes a system appear as a PCI device to an
//! external root complex; an endpoint function (EPF) is the driver that decides what that device
//! looks like (its header, its BARs, its interrupts) and what it does.
//!
//! A function driver implements [`Driver`] and is registered with [`module_pci_epf_driver!`]. It
//! sees its functions as [`Function`]s and, while a function is [`Linked`] to a controller, the
//! controller as a [`Controller`] in the [`Context`] of its callbacks, through which it
//! configures the function: [`Features`],
//! [`Header`], BAR memory ([`BarSpace`]), interrupts to the host, outbound [`Mapping`]s of host
//! memory, auxiliary resources ([`AuxResource`]) and doorbells from the host ([`doorbell`]).
//!
//! C headers: [`include/linux/pci-epc.h`](srctree/include/linux/pci-epc.h) and
//! [`include/linux/pci-epf.h`](srctree/include/linux/pci-epf.h)
//!
//! [`module_pci_epf_driver!`]: crate::module_pci_epf_driver

use crate::{
    bindings,
    prelude::*, //
};

mod bar;
mod cfs;
mod controller;
mod deferred;
#[cfg(CONFIG_PCI_ENDPOINT_MSI_DOORBELL)]
pub mod doorbell;
mod driver;
mod function;
mod keep;
#[cfg(CONFIG_NTB)]
mod ntb;
mod outbound;
pub mod poll;

pub use self::bar::{
    is_aligned_to_size,
    BarIo,
    BarSpace,
    Retarget, //
};
pub use self::cfs::{
    CfsAttr,
    CfsKind,
    MAX_CFS_ATTRS, //
};
pub use self::controller::{
    AuxResource,
    AuxResourceKind,
    BarDesc,
    BarLocation,
    BarType,
    Controller,
    Features,
    Linked,
    Mapping, //
};
pub use self::deferred::{
    deferred_vector,
    DeferredIrqs, //
};
pub use self::driver::{
    Adapter,
    Context,
    DeviceId,
    Driver,
    IdTable, //
};
pub use self::function::{
    Function,
    Header,
    HeaderInfo,
    InterruptPin, //
};
pub use self::outbound::OutboundWindow;
pub use self::poll::{
    PollNext,
    PollWaker, //
};

/// The number of a standard BAR of an endpoint function, `BAR_0` to `BAR_5`.
///
/// Corresponds to the C `enum pci_barno`, without `NO_BAR`: where C uses `NO_BAR`, Rust uses
/// `Option<BarNo>`. A value of this type is always a valid BAR number, so it can index the
/// six-entry BAR arrays of `struct pci_epf` and `struct pci_epc_features` without a check.
///
/// # Examples
///
/// ```
/// use kernel::pci::endpoint::BarNo;
///
/// // A BAR number written by the host is untrusted: validate it.
/// assert!(BarNo::try_from(2u32).is_ok());
/// assert_eq!(BarNo::try_from(6u32), Err(EINVAL));
/// assert_eq!(BarNo::BAR_4.next(), Some(BarNo::BAR_5));
/// assert_eq!(BarNo::BAR_5.next(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BarNo(u8);

impl BarNo {
    /// `BAR_0`.
    pub const BAR_0: Self = Self(0);
    /// `BAR_1`.
    pub const BAR_1: Self = Self(1);
    /// `BAR_2`.
    pub const BAR_2: Self = Self(2);
    /// `BAR_3`.
    pub const BAR_3: Self = Self(3);
    /// `BAR_4`.
    pub const BAR_4: Self = Self(4);
    /// `BAR_5`.
    pub const BAR_5: Self = Self(5);

    /// The number of standard BARs (`PCI_STD_NUM_BARS`).
    pub const COUNT: usize = bindings::PCI_STD_NUM_BARS as usize;

    /// All BAR numbers, in ascending order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::BAR_0,
        Self::BAR_1,
        Self::BAR_2,
        Self::BAR_3,
        Self::BAR_4,
        Self::BAR_5,
    ];

    /// Returns the BAR number as an index into per-BAR arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// Returns the following BAR number, or [`None`] after `BAR_5`.
    #[inline]
    pub const fn next(self) -> Option<Self> {
        if (self.0 as usize) + 1 < Self::COUNT {
            Some(Self(self.0 + 1))
        } else {
            None
        }
    }

    /// Converts from the C `enum pci_barno`; `NO_BAR` and out-of-range values give [`None`].
    #[inline]
    pub fn from_raw(raw: bindings::pci_barno) -> Option<Self> {
        u32::try_from(raw).ok().and_then(|v| Self::try_from(v).ok())
    }

    /// Returns the C `enum pci_barno` value.
    #[inline]
    pub const fn as_raw(self) -> bindings::pci_barno {
        self.0 as bindings::pci_barno
    }

    /// Converts an optional BAR number to the C `enum pci_barno`, mapping [`None`] to `NO_BAR`.
    #[inline]
    pub fn option_as_raw(bar: Option<Self>) -> bindings::pci_barno {
        bar.map_or(bindings::pci_barno_NO_BAR, Self::as_raw)
    }
}

impl TryFrom<u32> for BarNo {
    type Error = Error;

    /// Validates a BAR number, for example one written by the host into a register.
    ///
    /// # Errors
    ///
    /// Returns [`EINVAL`] if `value` is not in `0..=5`.
    fn try_from(value: u32) -> Result<Self> {
        if (value as usize) < Self::COUNT {
            // CAST: `value < 6`, so it fits in a `u8`.
            Ok(Self(value as u8))
        } else {
            Err(EINVAL)
        }
    }
}

impl From<BarNo> for u32 {
    #[inline]
    fn from(bar: BarNo) -> u32 {
        bar.0.into()
    }
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
#[macros::kunit_tests(rust_pci_endpoint)]
mod tests {
    use super::*;

    #[test]
    fn barno_matches_c_enum() {
        let c = [
            bindings::pci_barno_BAR_0,
            bindings::pci_barno_BAR_1,
            bindings::pci_barno_BAR_2,
            bindings::pci_barno_BAR_3,
            bindings::pci_barno_BAR_4,
            bindings::pci_barno_BAR_5,
        ];
        assert_eq!(c.len(), BarNo::COUNT);
        for (bar, raw) in BarNo::ALL.iter().zip(c) {
            assert_eq!(bar.as_raw(), raw);
            assert_eq!(BarNo::from_raw(raw), Some(*bar));
        }
    }

    #[test]
    fn barno_no_bar_is_none() {
        assert_eq!(BarNo::from_raw(bindings::pci_barno_NO_BAR), None);
        assert_eq!(BarNo::option_as_raw(None), bindings::pci_barno_NO_BAR);
        assert_eq!(
            BarNo::option_as_raw(Some(BarNo::BAR_3)),
            bindings::pci_barno_BAR_3
        );
    }

    #[test]
    fn barno_rejects_untrusted_values() {
        for v in [6u32, 7, 255, 0x8000_0000, u32::MAX] {
            assert_eq!(BarNo::try_from(v), Err(EINVAL));
        }
        for v in 0u32..6 {
            assert_eq!(BarNo::try_from(v).map(u32::from), Ok(v));
        }
    }

    #[test]
    fn barno_next_walks_all_bars() {
        let mut seen = 0;
        let mut bar = Some(BarNo::BAR_0);
        while let Some(b) = bar {
            assert_eq!(b.index(), seen);
            seen += 1;
            bar = b.next();
        }
        assert_eq!(seen, BarNo::COUNT);
    }
}
