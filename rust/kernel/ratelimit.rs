// SPDX-License-Identifier: GPL-2.0

//! Rate limiting of kernel log messages, on the kernel's `struct ratelimit_state`.
//!
//! C header: [`include/linux/ratelimit.h`](srctree/include/linux/ratelimit.h)
//!
//! C's `dev_err_ratelimited()` and friends keep one static state per call site. Here the state is
//! an object, [`Ratelimit`], that the caller owns (usually one per device or binding, shared by
//! all the messages that outside input can trigger), and the macros [`dev_err_ratelimited!`],
//! [`dev_warn_ratelimited!`], [`dev_info_ratelimited!`] and [`pr_err_ratelimited!`] print only
//! while it allows. Messages it suppresses are counted, and the count is logged as
//! `"<name>: N callbacks suppressed"` once printing is allowed again, as in C.
//!
//! [`dev_err_ratelimited!`]: crate::dev_err_ratelimited
//! [`dev_warn_ratelimited!`]: crate::dev_warn_ratelimited
//! [`dev_info_ratelimited!`]: crate::dev_info_ratelimited
//! [`pr_err_ratelimited!`]: crate::pr_err_ratelimited
//!
//! # Examples
//!
//! ```
//! use kernel::{prelude::*, ratelimit::Ratelimit};
//!
//! let rl = KBox::pin_init(Ratelimit::with_params(c"example", 5000, 3), GFP_KERNEL)?;
//! kernel::pr_err_ratelimited!(rl, "printed: the first of a burst of 3\n");
//! // Two more are allowed in this interval, then none.
//! assert_eq!((0..100).filter(|_| rl.allow()).count(), 2);
//! kernel::pr_err_ratelimited!(rl, "not printed, counted as suppressed\n");
//! # Ok::<(), Error>(())
//! ```

use crate::{
    bindings,
    prelude::*,
    time::msecs_to_jiffies,
    types::Opaque, //
};

/// The default interval of a [`Ratelimit`], in milliseconds (C's `DEFAULT_RATELIMIT_INTERVAL`).
pub const DEFAULT_INTERVAL_MS: u32 = 5000;

/// The default number of messages a [`Ratelimit`] allows per interval (C's
/// `DEFAULT_RATELIMIT_BURST`).
pub const DEFAULT_BURST: u32 = 10;

/// A rate limit: at most `burst` events per interval, see `___ratelimit()`.
///
/// # Invariants
///
/// `state` is initialized with `ratelimit_state_init()`.
#[pin_data]
pub struct Ratelimit {
    #[pin]
    state: Opaque<bindings::ratelimit_state>,
    name: &'static CStr,
}

// SAFETY: `___ratelimit()` serializes concurrent callers with the state's own spinlock, and
// `name` is a shared static string.
unsafe impl Sync for Ratelimit {}

// SAFETY: The state holds no reference to the task or CPU that created it.
unsafe impl Send for Ratelimit {}

impl Ratelimit {
    /// Creates a rate limit with the kernel's defaults: [`DEFAULT_BURST`] events per
    /// [`DEFAULT_INTERVAL_MS`].
    ///
    /// `name` is the prefix of the "callbacks suppressed" message.
    pub fn new(name: &'static CStr) -> impl PinInit<Self> {
        Self::with_params(name, DEFAULT_INTERVAL_MS, DEFAULT_BURST)
    }

    /// Creates a rate limit of `burst` events per `interval_ms` milliseconds.
    ///
    /// An interval of 0 disables the limit (every event is allowed), as in C.
    pub fn with_params(name: &'static CStr, interval_ms: u32, burst: u32) -> impl PinInit<Self> {
        let interval = i32::try_from(msecs_to_jiffies(interval_ms)).unwrap_or(i32::MAX);
        let burst = i32::try_from(burst).unwrap_or(i32::MAX);

        pin_init!(Self {
            // SAFETY: `slot` is valid for writes of a `struct ratelimit_state`, which
            // `ratelimit_state_init()` fully initializes.
            state <- Opaque::ffi_init(|slot| unsafe {
                bindings::ratelimit_state_init(slot, interval, burst)
            }),
            name,
        })
    }

    /// Returns whether one more event (message) is allowed now, and counts it.
    ///
    /// A refused event is counted as suppressed.
    pub fn allow(&self) -> bool {
        // SAFETY: By the type invariant `state` is initialized; `name` is a NUL-terminated
        // string that outlives the call.
        unsafe { bindings::___ratelimit(self.state.get(), self.name.as_char_ptr()) != 0 }
    }
}

/// Prints an error-level message for a device if the [`Ratelimit`] allows it.
///
/// `dev_err_ratelimited!(ratelimit, dev, fmt, ...)`: the arguments after the rate limit are those
/// of [`dev_err!`](crate::dev_err).
#[macro_export]
macro_rules! dev_err_ratelimited {
    ($rl:expr, $($arg:tt)*) => {
        if $rl.allow() {
            $crate::dev_err!($($arg)*);
        }
    };
}

/// Prints a warning-level message for a device if the [`Ratelimit`] allows it.
///
/// See [`dev_err_ratelimited!`](crate::dev_err_ratelimited).
#[macro_export]
macro_rules! dev_warn_ratelimited {
    ($rl:expr, $($arg:tt)*) => {
        if $rl.allow() {
            $crate::dev_warn!($($arg)*);
        }
    };
}

/// Prints an info-level message for a device if the [`Ratelimit`] allows it.
///
/// See [`dev_err_ratelimited!`](crate::dev_err_ratelimited).
#[macro_export]
macro_rules! dev_info_ratelimited {
    ($rl:expr, $($arg:tt)*) => {
        if $rl.allow() {
            $crate::dev_info!($($arg)*);
        }
    };
}

/// Prints an error-level message if the [`Ratelimit`] allows it.
///
/// `pr_err_ratelimited!(ratelimit, fmt, ...)`: the arguments after the rate limit are those of
/// [`pr_err!`](crate::pr_err).
#[macro_export]
macro_rules! pr_err_ratelimited {
    ($rl:expr, $($arg:tt)*) => {
        if $rl.allow() {
            $crate::pr_err!($($arg)*);
        }
    };
}
