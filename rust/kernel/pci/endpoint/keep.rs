// SPDX-License-Identifier: GPL-2.0

//! Values kept by the endpoint core until a function is unlinked: [`Controller::keep`].
//!
//! Some registrations must not outlive the link of a function but borrow it (their data holds
//! the [`Controller`], BAR memory, ...), and must not be forgotten either: the NTB device of a
//! virtual NTB function, whose clients call into the function's BAR memory. A value in the
//! function's binding could be moved out and leaked by the driver (`mem::forget()` is safe), so
//! the borrow would end while the registration lives. A value given to [`Controller::keep`]
//! belongs to the endpoint core instead: the driver gets a reference for the lifetime of the
//! link, and the core drops the value when the function is unlinked, right after the binding.

use super::Controller;
use crate::{
    prelude::*,
    sync::atomic::{
        ordering::Full,
        Atomic,
        Relaxed, //
    },
};

/// The head of a kept value, followed by the value.
#[repr(C)]
struct Node<T> {
    next: usize,
    drop: unsafe fn(usize),
    value: T,
}

/// Drops the node at `addr`, a leaked `KBox<Node<T>>`.
///
/// # Safety
///
/// `addr` must come from `KBox::into_raw()` of a `KBox<Node<T>>` and not be used afterwards.
unsafe fn drop_node<T>(addr: usize) {
    // SAFETY: By the safety requirements.
    drop(unsafe { KBox::from_raw(addr as *mut Node<T>) });
}

/// The values kept for the current link of a function: a stack of leaked nodes.
///
/// # Invariants
///
/// `head` is 0 or the address of a leaked `KBox<Node<T>>` (for some `T`) whose `next` is the
/// same, and whose `drop` is `drop_node::<T>`. The `value` of every node on the stack is valid
/// until [`Kept::drop_all`].
pub(crate) struct Kept {
    head: Atomic<usize>,
}

impl Kept {
    pub(crate) fn new() -> Self {
        Self {
            head: Atomic::new(0),
        }
    }

    /// Pushes `value`; returns its address.
    fn push<T: Send>(&self, value: T) -> Result<*const T> {
        let node = KBox::new(
            Node {
                next: 0,
                drop: drop_node::<T>,
                value,
            },
            GFP_KERNEL,
        )?;
        let node = KBox::into_raw(node);
        let addr = node as usize;
        let mut old = self.head.load(Relaxed);

        loop {
            // SAFETY: `node` is the allocation just leaked, not shared yet.
            unsafe { (*node).next = old };

            // INVARIANT: `node` is a leaked node whose `next` is the old head.
            match self.head.cmpxchg(old, addr, Full) {
                Ok(_) => break,
                Err(cur) => old = cur,
            }
        }

        // SAFETY: `node` is valid; the pointer is only formed, not dereferenced.
        Ok(unsafe { &raw const (*node).value })
    }

    /// Drops every kept value, the last kept first.
    ///
    /// # Safety
    ///
    /// Nothing may use a reference returned by [`Controller::keep`] anymore.
    pub(crate) unsafe fn drop_all(&self) {
        let mut addr = self.head.xchg(0, Full);

        while addr != 0 {
            // SAFETY: By the type invariants `addr` is a leaked node; the stack was taken, so
            // nothing else reaches it. `next` and `drop` are at the same offsets for every `T`
            // (`repr(C)`, before `value`).
            let (next, drop_fn) = unsafe {
                let node = addr as *const Node<()>;
                ((*node).next, (*node).drop)
            };

            // SAFETY: `drop_fn` is `drop_node::<T>` for the `T` of the node, which nothing uses
            // anymore by the safety requirements.
            unsafe { drop_fn(addr) };
            addr = next;
        }
    }
}

impl<'a> Controller<'a> {
    /// Keeps `value` until the function is unlinked and returns a reference to it for the
    /// lifetime of the link.
    ///
    /// The endpoint core drops the value when the function is unlinked, right after the
    /// binding ([`Driver::Binding`](super::Driver::Binding)), or when linking fails; values
    /// kept during one link are dropped in the reverse order. Unlike a value in the binding,
    /// the driver cannot move the value out and leak it, so a registration that borrows the link
    /// (see [`Controller::register_ntb`](super::Controller)) is always dropped before the link
    /// ends.
    ///
    /// # Errors
    ///
    /// [`ENOMEM`]; `value` is dropped.
    pub fn keep<T: Send + 'a>(&self, value: T) -> Result<&'a T> {
        let ptr = self.state().kept.push(value)?;

        // SAFETY: The value was just pushed and lives until `Kept::drop_all()`, which the
        // adapter calls when the function is unlinked (after the binding, the only place where
        // `'a` references outlive a callback, is dropped) or when linking failed; `'a` does not
        // extend beyond the link, by the type invariants of `Controller`.
        Ok(unsafe { &*ptr })
    }
}

#[cfg(CONFIG_RUST_PCI_ENDPOINT_KUNIT_TEST)]
#[macros::kunit_tests(rust_pci_endpoint_keep)]
mod tests {
    use super::*;
    use crate::sync::Arc;

    struct Counted(Arc<Atomic<u32>>, u32);

    impl Drop for Counted {
        fn drop(&mut self) {
            // Each value checks that those kept after it were dropped before it.
            assert_eq!(self.0.load(Relaxed), self.1);
            self.0.add(1, Relaxed);
        }
    }

    #[test]
    fn kept_values_are_dropped_last_first() -> Result {
        let dropped = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let kept = Kept::new();

        for order in (0..3).rev() {
            let ptr = kept.push(Counted(dropped.clone(), order))?;
            // SAFETY: The value lives until `drop_all()` below.
            assert_eq!(unsafe { (*ptr).1 }, order);
        }
        assert_eq!(dropped.load(Relaxed), 0);

        // SAFETY: The references are not used anymore.
        unsafe { kept.drop_all() };
        assert_eq!(dropped.load(Relaxed), 3);

        // Nothing is left to drop.
        // SAFETY: As above.
        unsafe { kept.drop_all() };
        assert_eq!(dropped.load(Relaxed), 3);
        Ok(())
    }
}
