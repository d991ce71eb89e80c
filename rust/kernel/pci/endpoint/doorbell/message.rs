// SPDX-License-Identifier: GPL-2.0

//! The message types of doorbells: what a doorbell is and where the host reaches it.

use crate::{
    bindings,
    io::ResourceSize,
    irq,
    pci::endpoint::BarNo, //
};

/// How a doorbell raises its interrupt on the endpoint.
///
/// Corresponds to the C `enum pci_epf_doorbell_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorbellKind {
    /// The doorbell is an MSI of the platform MSI controller; it has an interrupt of its own.
    Msi,
    /// The doorbell is a register of the controller; its interrupt is shared with the owner of
    /// the register and may fire without the host ringing the doorbell.
    Embedded,
}

impl DoorbellKind {
    /// Returns the flags the interrupt of such a doorbell must be requested with.
    ///
    /// Callers may add flags, e.g. [`irq::Flags::ONESHOT`] for an MSI doorbell with a threaded
    /// handler. An embedded doorbell must be requested [`irq::Flags::SHARED`]; as all handlers
    /// of a shared interrupt must agree on `ONESHOT`, use a primary handler that wakes the thread
    /// instead.
    pub fn required_flags(self) -> irq::Flags {
        match self {
            Self::Msi => irq::Flags::TRIGGER_NONE,
            Self::Embedded => irq::Flags::SHARED,
        }
    }

    pub(super) const fn as_raw(self) -> bindings::pci_epf_doorbell_type {
        match self {
            Self::Msi => bindings::pci_epf_doorbell_type_PCI_EPF_DOORBELL_MSI,
            Self::Embedded => bindings::pci_epf_doorbell_type_PCI_EPF_DOORBELL_EMBEDDED,
        }
    }

    pub(super) fn from_raw(raw: bindings::pci_epf_doorbell_type) -> Self {
        if raw == bindings::pci_epf_doorbell_type_PCI_EPF_DOORBELL_MSI {
            Self::Msi
        } else {
            Self::Embedded
        }
    }
}

/// Where the host can reach a doorbell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoorbellTarget {
    /// The doorbell is not exposed yet: the function must translate one of its BARs to the
    /// doorbell address, see [`BarSpace::retarget`](crate::pci::endpoint::BarSpace::retarget).
    MapIntoFreeBar,
    /// The controller already exposes the doorbell at `offset` in `bar`; the BAR is owned by
    /// the controller and must not be reprogrammed.
    Exposed {
        /// The BAR.
        bar: BarNo,
        /// The offset of the doorbell register in the BAR.
        offset: ResourceSize,
    },
}

/// The address/data pair of a doorbell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// The address to write to, as seen by the controller (a DMA address).
    pub address: u64,
    /// The value to write.
    pub data: u32,
}

impl Message {
    pub(super) fn from_raw(raw: &bindings::msi_msg) -> Self {
        // SAFETY: All members of the unions are `u32`s, so any bit pattern is a valid value of
        // the member read.
        let (lo, hi, data) = unsafe {
            (
                raw.__bindgen_anon_1.address_lo,
                raw.__bindgen_anon_2.address_hi,
                raw.__bindgen_anon_3.data,
            )
        };

        Self {
            address: (u64::from(hi) << 32) | u64::from(lo),
            data,
        }
    }

    pub(super) fn to_raw(self) -> bindings::msi_msg {
        let mut raw: bindings::msi_msg = pin_init::zeroed();

        // CAST: Truncation to the lower and upper 32 bits of the address is intended.
        raw.__bindgen_anon_1.address_lo = self.address as u32;
        raw.__bindgen_anon_2.address_hi = (self.address >> 32) as u32;
        raw.__bindgen_anon_3.data = self.data;
        raw
    }
}

/// The description of one doorbell, see [`Doorbells::get`](super::Doorbells::get).
#[derive(Clone, Copy)]
pub struct DoorbellMsg {
    kind: DoorbellKind,
    irq: Option<u32>,
    target: DoorbellTarget,
    message: Option<Message>,
}

impl DoorbellMsg {
    /// Converts one entry of the C doorbell array.
    pub(super) fn from_raw(raw: &bindings::pci_epf_doorbell_msg) -> Self {
        let kind = DoorbellKind::from_raw(raw.type_);
        let target = match BarNo::from_raw(raw.bar) {
            Some(bar) => DoorbellTarget::Exposed {
                bar,
                offset: raw.offset,
            },
            None => DoorbellTarget::MapIntoFreeBar,
        };

        Self {
            kind,
            irq: u32::try_from(raw.virq).ok().filter(|&irq| irq != 0),
            target,
            // The message of an MSI is not known before its interrupt is requested.
            message: (kind == DoorbellKind::Embedded).then(|| Message::from_raw(&raw.msg)),
        }
    }

    /// Returns how the doorbell raises its interrupt.
    pub fn kind(&self) -> DoorbellKind {
        self.kind
    }

    /// Returns the Linux interrupt number of the doorbell, if it has one.
    pub fn irq(&self) -> Option<u32> {
        self.irq
    }

    /// Returns the flags the interrupt must be requested with, see
    /// [`DoorbellKind::required_flags`].
    pub fn irq_flags(&self) -> irq::Flags {
        self.kind.required_flags()
    }

    /// Returns where the host can reach the doorbell.
    pub fn target(&self) -> DoorbellTarget {
        self.target
    }

    /// Returns the address/data pair of an embedded doorbell.
    ///
    /// Returns [`None`] for an MSI doorbell: its message is only written when its interrupt is
    /// requested, use [`DoorbellIrq::message`](super::DoorbellIrq::message).
    pub fn message(&self) -> Option<Message> {
        self.message
    }
}
