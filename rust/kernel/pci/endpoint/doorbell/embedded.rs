// SPDX-License-Identifier: GPL-2.0

//! Embedded doorbells: registers of the controller (`PCI_EPC_AUX_DOORBELL_MMIO` auxiliary
//! resources), the fallback where there is no platform MSI domain.

use super::{
    message::{
        DoorbellKind,
        Message, //
    },
    storage::{
        Published,
        Storage, //
    },
};
use crate::{
    bindings,
    io::PhysAddr,
    page::PAGE_SIZE,
    pci::endpoint::{
        AuxResource,
        AuxResourceKind,
        BarLocation,
        Controller, //
    },
    prelude::*,
};

/// A doorbell resource of the controller, as used for embedded doorbells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Source {
    pub(super) phys_addr: PhysAddr,
    pub(super) exposed: Option<BarLocation>,
    pub(super) irq: Option<u32>,
    pub(super) data: u32,
}

impl Source {
    fn from_resource(res: &AuxResource) -> Option<Self> {
        match res.kind {
            AuxResourceKind::DoorbellMmio { irq, data } => Some(Self {
                phys_addr: res.phys_addr,
                exposed: res.exposed,
                irq,
                data,
            }),
            AuxResourceKind::Unknown(_) => None,
        }
    }

    /// Returns the C entry of a doorbell of this source, rung by writing to `address`, without
    /// a mapping.
    pub(super) fn entry(&self, address: u64) -> bindings::pci_epf_doorbell_msg {
        let (bar, offset) = match self.exposed {
            Some(loc) => (loc.bar.as_raw(), loc.offset),
            None => (bindings::pci_barno_NO_BAR, 0),
        };

        bindings::pci_epf_doorbell_msg {
            msg: Message {
                address,
                data: self.data,
            }
            .to_raw(),
            virq: self
                .irq
                .and_then(|irq| c_int::try_from(irq).ok())
                .unwrap_or(0),
            irq_flags: DoorbellKind::Embedded.required_flags().into_inner(),
            type_: DoorbellKind::Embedded.as_raw(),
            bar,
            offset,
            ..pin_init::zeroed()
        }
    }
}

/// The doorbell resources that a function of a controller may use.
///
/// Where the controller has at least as many doorbell resources as functions, each function has
/// its own: function `f` of `n` uses the `f`-th of `n` consecutive, nearly equal parts of them.
/// Where it has fewer, the functions share them: function `f` uses resource `f % count`. The
/// interrupt of an embedded doorbell is shared in any case ([`DoorbellKind::required_flags`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Share {
    /// The function number.
    pub(super) func_no: u8,
    /// The number of functions of the controller.
    pub(super) funcs: u8,
}

impl Share {
    /// The share of the function of `ctrl`.
    pub(super) fn of(ctrl: &Controller<'_>) -> Self {
        Self {
            func_no: ctrl.func_no(),
            funcs: ctrl.max_functions(),
        }
    }

    /// Returns the first and the number of the `count` doorbell resources that are the
    /// function's.
    pub(super) fn part(&self, count: usize) -> (usize, usize) {
        // The only function has them all; spare it the divisions of the general case.
        if self.funcs <= 1 {
            return (0, count);
        }

        let funcs = usize::from(self.funcs);
        let f = usize::from(self.func_no) % funcs;

        if count == 0 {
            (0, 0)
        } else if count >= funcs {
            let (start, end) = (f * count / funcs, (f + 1) * count / funcs);
            (start, end - start)
        } else {
            (f % count, 1)
        }
    }
}

/// The sources of `num_db` embedded doorbells, see [`plan_sources`].
pub(super) struct Plan<'r> {
    resources: &'r [AuxResource],
    skip: usize,
    len: usize,
}

impl Plan<'_> {
    /// Returns the number of sources.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Returns the sources, in the order the controller reports them.
    pub(super) fn iter(&self) -> impl Iterator<Item = Source> + '_ {
        self.resources
            .iter()
            .filter_map(Source::from_resource)
            .skip(self.skip)
            .take(self.len)
    }
}

/// Chooses the auxiliary resources that back `num_db` embedded doorbells of a function with the
/// given `share` of them.
///
/// Every doorbell resource of the function's share is used in the order the controller reports
/// it, up to one per doorbell: doorbell `i` is backed by source `i % n` (see [`source_index`]),
/// so that doorbells are distinct as long as there are enough resources and are replicated
/// beyond that.
///
/// # Errors
///
/// - [`ENODEV`] if there is no doorbell resource.
/// - [`EINVAL`] if the address of a chosen resource is not 4-byte aligned.
pub(super) fn plan_sources(
    resources: &[AuxResource],
    num_db: u16,
    share: Share,
) -> Result<Plan<'_>> {
    let available = resources
        .iter()
        .filter(|r| matches!(r.kind, AuxResourceKind::DoorbellMmio { .. }))
        .count();
    let (skip, count) = share.part(available);
    let plan = Plan {
        resources,
        skip,
        len: count.min(num_db.into()),
    };

    if plan.len == 0 {
        return Err(ENODEV);
    }

    if plan.iter().any(|s| s.phys_addr % 4 != 0) {
        return Err(EINVAL);
    }

    Ok(plan)
}

/// Returns the index of the source of doorbell `doorbell` among `sources` sources.
pub(super) fn source_index(doorbell: usize, sources: usize) -> usize {
    doorbell % sources
}

/// The page-aligned window that contains a 4-byte register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PageWindow {
    pub(super) base: PhysAddr,
    pub(super) offset: usize,
    pub(super) size: usize,
}

/// Returns the page-aligned window that contains the 4-byte register at `addr`.
pub(super) fn page_window(addr: PhysAddr) -> Result<PageWindow> {
    // CAST: `PAGE_SIZE` fits into `PhysAddr`, which is at least as wide as a pointer.
    let page = PAGE_SIZE as PhysAddr;
    let base = addr & !(page - 1);
    let offset = usize::try_from(addr - base).map_err(|_| EINVAL)?;
    let size = crate::page::page_align(offset + 4).ok_or(EINVAL)?;

    Ok(PageWindow { base, offset, size })
}

/// Widens a physical address to 64 bits.
// `PhysAddr` is `u64` on most, but not all, configurations.
#[allow(clippy::useless_conversion)]
pub(super) fn phys_to_u64(addr: PhysAddr) -> u64 {
    u64::from(addr)
}

/// Fills the entries of `storage` from `plan`.
///
/// Doorbell `i` of the first `plan.len()` is source `i`; a doorbell the controller already
/// exposes in a BAR is written at its physical address, which is what the controller translates
/// the BAR to, the others at the DMA address of a `dma_map_resource()` mapping of their register,
/// owned by their entry. The remaining doorbells are copies of their source's first doorbell,
/// without the mapping, so that each mapping is removed exactly once.
///
/// # Errors
///
/// [`EIO`] if a register cannot be mapped, [`EINVAL`] if its page window overflows. The mappings
/// made so far are owned by `storage` then.
pub(super) fn fill(storage: &mut Storage<'_>, plan: &Plan<'_>) -> Result {
    for (i, src) in plan.iter().enumerate() {
        let address = match src.exposed {
            Some(_) => phys_to_u64(src.phys_addr),
            None => storage.map(i, &page_window(src.phys_addr)?)?,
        };

        storage.set(i, src.entry(address));
    }

    storage.replicate(plan.len());

    Ok(())
}

/// Allocates doorbells backed by auxiliary resources of the controller, see
/// `pci_epf_alloc_doorbell_embedded()`.
///
/// # Errors
///
/// The error of [`Controller::with_aux_resources`], [`ENODEV`] if the controller has no doorbell
/// resource, the errors of [`plan_sources`] and [`fill`], [`EBUSY`] if the function already has
/// doorbells, [`ENOMEM`]. Nothing is left mapped then.
pub(super) fn alloc<'a>(ctrl: &Controller<'a>, num_db: u16) -> Result<Published<'a>> {
    ctrl.with_aux_resources(|resources| {
        let plan = plan_sources(resources, num_db, Share::of(ctrl))?;
        let mut storage = Storage::new(num_db, DoorbellKind::Embedded, Some(ctrl.parent()))?;

        fill(&mut storage, &plan)?;
        Published::new(ctrl, storage)
    })
}
