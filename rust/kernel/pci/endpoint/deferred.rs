// SPDX-License-Identifier: GPL-2.0

//! Interrupts to the host requested from atomic context: [`DeferredIrqs`].
//!
//! `pci_epc_raise_irq()` sleeps (it takes `epc->lock`), while some callers that want to raise
//! an interrupt cannot: the NTB `peer_db_set` operation, for instance, may be called with a
//! spinlock held or from an interrupt handler. C pci-epf-vntb collects such requests in an
//! `atomic64_t` and raises them from a work item.
//!
//! A [`DeferredIrqs`] does the same on the function's poll work
//! ([`Driver::poll`](super::Driver::poll)): [`DeferredIrqs::raise`] records bits and wakes the
//! poll from any context, and the poll callback, which runs in process context with exclusive
//! access to the binding, raises them with [`DeferredIrqs::run`]. Requests are coalesced: a bit
//! requested twice before the poll runs raises one interrupt, as in C.

use super::{
    Controller,
    PollWaker, //
};
use crate::{
    pci::IrqType,
    prelude::*,
    sync::atomic::{
        ordering::Full,
        Atomic, //
    },
};

/// Returns the vector that bit `bit` raises when bit 0 raises `first`, or [`None`] if there is
/// no such vector.
///
/// # Examples
///
/// ```
/// use kernel::pci::endpoint::deferred_vector;
///
/// // pci-epf-vntb: doorbell bit `b` raises MSI `3 + b`.
/// assert_eq!(deferred_vector(3, 0), Some(3));
/// assert_eq!(deferred_vector(3, 29), Some(32));
/// assert_eq!(deferred_vector(u16::MAX, 1), None);
/// ```
pub fn deferred_vector(first: u16, bit: u32) -> Option<u16> {
    u16::try_from(bit).ok().and_then(|b| first.checked_add(b))
}

/// Interrupts to the host that are requested from any context and raised from the poll work
/// ([`Driver::poll`](super::Driver::poll)).
///
/// Each bit of the pending set stands for one interrupt vector: bit `b` raises vector
/// `first + b` of the interrupt type given to [`DeferredIrqs::run`].
pub struct DeferredIrqs {
    pending: Atomic<u64>,
    waker: PollWaker,
}

impl DeferredIrqs {
    /// Creates an empty set whose requests wake the poll through `waker`, see
    /// [`Controller::poll_waker`].
    pub fn new(waker: PollWaker) -> Self {
        Self {
            pending: Atomic::new(0),
            waker,
        }
    }

    /// Requests the interrupts of `bits` and wakes the poll. May be called from any context.
    pub fn raise(&self, bits: u64) {
        if bits == 0 {
            return;
        }

        self.pending.fetch_or(bits, Full);
        self.waker.wake();
    }

    /// Returns the bits requested and not raised yet.
    pub fn pending(&self) -> u64 {
        self.pending.load(crate::sync::atomic::Relaxed)
    }

    /// Forgets every request that has not been raised.
    pub fn clear(&self) {
        self.pending.xchg(0, Full);
    }

    /// Raises the requested interrupts, lowest bit first, in at most `budget` rounds; must be
    /// called from the poll callback (process context).
    ///
    /// Each round takes the requests made so far; requests made while a round runs are left to
    /// the next one. Returns whether requests are still pending after the budget is spent, in
    /// which case the caller should poll again soon.
    ///
    /// # Errors
    ///
    /// The first error of `pci_epc_raise_irq()`, after every bit was tried; [`EINVAL`] for a bit
    /// whose vector does not exist.
    pub fn run(
        &self,
        epc: &Controller<'_>,
        irq_type: IrqType,
        first: u16,
        budget: u32,
    ) -> Result<bool> {
        let mut result = Ok(());

        for _ in 0..budget {
            // Most runs of a poll have nothing to raise, and a load is cheaper than the exchange
            // (a locked instruction). A request that the load misses was made after it, and
            // wakes the poll again.
            if self.pending() == 0 {
                break;
            }

            let mut bits = self.pending.xchg(0, Full);
            if bits == 0 {
                break;
            }

            while bits != 0 {
                let bit = bits.trailing_zeros();
                bits &= bits - 1;

                let ret = deferred_vector(first, bit)
                    .ok_or(EINVAL)
                    .and_then(|vector| epc.raise_irq(irq_type, vector));
                if result.is_ok() {
                    result = ret;
                }
            }
        }

        result.map(|()| self.pending() != 0)
    }
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
#[macros::kunit_tests(rust_pci_endpoint_deferred)]
mod tests {
    use super::*;

    #[test]
    fn vectors_do_not_wrap() {
        assert_eq!(deferred_vector(1, 0), Some(1));
        assert_eq!(deferred_vector(3, 63), Some(66));
        assert_eq!(deferred_vector(u16::MAX - 1, 1), Some(u16::MAX));
        assert_eq!(deferred_vector(u16::MAX - 1, 2), None);
        assert_eq!(deferred_vector(1, u32::MAX), None);
    }
}
