// SPDX-License-Identifier: GPL-2.0

//! Outbound windows kept across host requests: [`OutboundWindow`].
//!
//! [`Controller::mem_map`] allocates outbound space and maps host memory into it in one go,
//! for the duration of one transfer. A function such as pci-epf-vntb instead reserves a window
//! of the controller's outbound address space when it is linked, hands its physical address to
//! a local client (the NTB `peer_mw_get_addr`), and maps the host memory into it later, when the
//! host asks for it (the `CONFIGURE_MW` command), possibly several times.
//!
//! C header: [`include/linux/pci-epc.h`](srctree/include/linux/pci-epc.h)

use super::Controller;
use crate::{
    bindings,
    error::to_result,
    io::PhysAddr,
    prelude::*, //
};
use core::ptr::NonNull;

/// Checks a host range to map into a window of `window` bytes.
///
/// # Errors
///
/// [`EINVAL`] if `size` is 0, larger than the window, or the range wraps around.
pub(crate) fn check_range(window: usize, pci_addr: u64, size: u64) -> Result<usize> {
    if size == 0 || pci_addr.checked_add(size - 1).is_none() {
        return Err(EINVAL);
    }

    let size = usize::try_from(size).map_err(|_| EINVAL)?;
    if size > window {
        return Err(EINVAL);
    }

    Ok(size)
}

/// A window of the outbound address space of an endpoint controller
/// (`pci_epc_mem_alloc_addr()`), into which host memory can be mapped and unmapped at run time.
///
/// Dropping the window unmaps it if it is mapped and gives the space back
/// (`pci_epc_unmap_addr()`, `pci_epc_mem_free_addr()`).
///
/// # Examples
///
/// ```
/// use kernel::pci::endpoint::{Controller, OutboundWindow};
///
/// fn window<'a>(epc: &Controller<'a>, host: u64) -> Result<OutboundWindow<'a>> {
///     let mut win = epc.alloc_outbound(0x10000)?;
///
///     // A range beyond the window is refused and leaves the window as it is.
///     assert_eq!(win.map(host, 0x20000), Err(EINVAL));
///     assert!(!win.is_mapped());
///
///     win.map(host, 0x1000)?;
///     Ok(win)
/// }
/// ```
///
/// # Invariants
///
/// - `self.virt` and `self.phys` were returned by `pci_epc_mem_alloc_addr()` on the controller of
///   `self.ctrl` for `self.size` bytes, and are freed only in `drop()`.
/// - If `self.mapped` is `Some`, `self.phys` is mapped (`pci_epc_map_addr()`) to that host range.
pub struct OutboundWindow<'a> {
    ctrl: Controller<'a>,
    virt: NonNull<c_void>,
    phys: PhysAddr,
    size: usize,
    mapped: Option<(u64, usize)>,
}

// SAFETY: The window is only passed to C EPC functions, which may be called from any thread;
// `virt` is never dereferenced by this type.
unsafe impl Send for OutboundWindow<'_> {}

// SAFETY: The methods taking `&self` only read the fields.
unsafe impl Sync for OutboundWindow<'_> {}

impl<'a> Controller<'a> {
    /// Reserves `size` bytes of the controller's outbound address space, see
    /// `pci_epc_mem_alloc_addr()`.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if `size` is 0, [`ENOMEM`] if the controller has no such space left.
    pub fn alloc_outbound(&self, size: usize) -> Result<OutboundWindow<'a>> {
        if size == 0 {
            return Err(EINVAL);
        }

        let mut phys: PhysAddr = 0;

        // SAFETY: The controller is valid while the function is linked; `phys` is valid for
        // writes.
        let virt = unsafe { bindings::pci_epc_mem_alloc_addr(self.as_raw(), &mut phys, size) };
        let virt = NonNull::new(virt).ok_or(ENOMEM)?;

        // INVARIANT: `virt` and `phys` were just allocated for `size` bytes; nothing is mapped.
        Ok(OutboundWindow {
            ctrl: *self,
            virt,
            phys,
            size,
            mapped: None,
        })
    }
}

impl OutboundWindow<'_> {
    /// Returns the local physical address of the window.
    pub fn phys_addr(&self) -> PhysAddr {
        self.phys
    }

    /// Returns the size of the window, in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Returns whether host memory is mapped into the window.
    pub fn is_mapped(&self) -> bool {
        self.mapped.is_some()
    }

    /// Returns the host range mapped into the window, if any.
    pub fn mapped(&self) -> Option<(u64, usize)> {
        self.mapped
    }

    /// Maps `size` bytes of host memory at `pci_addr` at the start of the window, see
    /// `pci_epc_map_addr()`. A previous mapping is removed first.
    ///
    /// The range is checked before anything changes: a refused range leaves the window as it
    /// was.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if `size` is 0, larger than the window, or `pci_addr + size` wraps around; the
    /// error of the controller, in which case the window is left unmapped.
    pub fn map(&mut self, pci_addr: u64, size: u64) -> Result {
        let size = check_range(self.size, pci_addr, size)?;

        self.unmap();

        let (epc, func_no, vfunc_no) = self.ctrl.raw_parts();

        // SAFETY: `epc` is the controller the window was allocated on, and `phys` is the start
        // of the window, of at least `size` bytes (checked above), which is not mapped.
        to_result(unsafe {
            bindings::pci_epc_map_addr(epc, func_no, vfunc_no, self.phys, pci_addr, size)
        })?;

        // INVARIANT: The window is mapped to the host range.
        self.mapped = Some((pci_addr, size));
        Ok(())
    }

    /// Unmaps the window, see `pci_epc_unmap_addr()`. Does nothing if it is not mapped.
    pub fn unmap(&mut self) {
        if self.mapped.take().is_none() {
            return;
        }

        let (epc, func_no, vfunc_no) = self.ctrl.raw_parts();

        // SAFETY: `phys` is mapped on `epc`, by the type invariants.
        unsafe { bindings::pci_epc_unmap_addr(epc, func_no, vfunc_no, self.phys) };
    }
}

impl Drop for OutboundWindow<'_> {
    fn drop(&mut self) {
        self.unmap();

        // SAFETY: By the type invariants, `virt` and `phys` were allocated on this controller
        // for `size` bytes and are not mapped anymore.
        unsafe {
            bindings::pci_epc_mem_free_addr(
                self.ctrl.as_raw(),
                self.phys,
                self.virt.as_ptr(),
                self.size,
            )
        };
    }
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
#[macros::kunit_tests(rust_pci_endpoint_outbound)]
mod tests {
    use super::*;

    #[test]
    fn ranges_within_the_window_are_accepted() {
        assert_eq!(check_range(0x1000, 0x8000_0000, 0x1000), Ok(0x1000));
        assert_eq!(check_range(0x1000, 0, 1), Ok(1));
        // The last byte of the address space is a valid end.
        assert_eq!(check_range(0x1000, u64::MAX - 0xfff, 0x1000), Ok(0x1000));
    }

    #[test]
    fn bad_ranges_are_refused() {
        // Empty, larger than the window, wrapping around.
        assert_eq!(check_range(0x1000, 0x1000, 0), Err(EINVAL));
        assert_eq!(check_range(0x1000, 0x1000, 0x1001), Err(EINVAL));
        assert_eq!(check_range(0x1000, u64::MAX - 0xffe, 0x1000), Err(EINVAL));
        assert_eq!(check_range(0x1000, u64::MAX, u64::MAX), Err(EINVAL));
    }
}
