// SPDX-License-Identifier: GPL-2.0

//! NTB devices of endpoint functions: [`Controller::register_ntb`].
//!
//! A virtual NTB function (pci-epf-vntb) registers an NTB device whose operations reach the
//! function's BAR memory and outbound windows, which borrow the controller link. The
//! registration must therefore be dropped before the link ends, which
//! [`ntb::Registration::new_with_lt`] leaves to its caller: here the endpoint core owns it, as a
//! value kept until the function is unlinked ([`Controller::keep`]), and the driver only gets a
//! reference.

use super::Controller;
use crate::{
    ntb,
    pci,
    prelude::*, //
};

impl<'a> Controller<'a> {
    /// Registers an NTB device on `pdev` with the operations of `data`, which may borrow the
    /// link, see [`ntb::Registration::with_events`].
    ///
    /// The endpoint core keeps the registration until the function is unlinked, and drops it
    /// right after the binding: the device is unregistered (which removes its clients) before
    /// anything `data` borrows goes away, and then `data` is dropped.
    ///
    /// # Errors
    ///
    /// The error of the registration; [`ENOMEM`].
    pub fn register_ntb<T, E>(
        &self,
        pdev: &pci::Device,
        topology: ntb::Topology,
        events: ntb::Events,
        data: impl PinInit<T, E>,
    ) -> Result<&'a ntb::Registration<T>>
    where
        T: ntb::Operations + 'a,
        Error: From<E>,
    {
        // SAFETY: The registration goes to `keep()` right away, which the endpoint core drops
        // when the function is unlinked, before the link `'a` (which `data` may borrow) ends;
        // the driver only gets a shared reference to it and cannot forget it. If `keep()` fails,
        // the registration is dropped here.
        let registration = unsafe { ntb::Registration::new_with_lt(pdev, topology, events, data) }?;

        self.keep(registration)
    }
}
