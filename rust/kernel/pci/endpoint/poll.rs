// SPDX-License-Identifier: GPL-2.0

//! Periodic work of an endpoint function: the [`Driver::poll`](super::Driver::poll) callback.
//!
//! Functions such as pci-epf-test have no interrupt for the commands of the host: they poll a
//! register in a BAR. The poll callback needs the same state as the controller events, the
//! binding with the controller resources borrowed from it, and it must never run after that
//! binding is gone.
//!
//! # Design
//!
//! The work item belongs to the [`Adapter`](super::Adapter), not to the driver: it is allocated
//! at probe and permanently disabled (`disable_delayed_work_sync()`) at remove, before the
//! driver data goes away. When it runs, it *tries* to take `epf->lock`, the lock the EPF core
//! holds around every other callback, and calls [`Driver::poll`](super::Driver::poll) with
//! exclusive access to the binding, exactly like an event. If the lock is busy (an event, bind
//! or unbind is running), it tries again one jiffy later; it never blocks on the lock, so the
//! callbacks can cancel it synchronously while holding the lock without deadlocking.
//!
//! This avoids both a `'static` work item holding revocable handles and a work item embedded in
//! the binding that shares it with the events: the binding is only ever accessed with
//! `epf->lock` held.
//!
//! The work runs on an ordered workqueue of its own with `WQ_MEM_RECLAIM | WQ_HIGHPRI`, like
//! the C `kpcitest` workqueue: a poll callback may wait for a DMA engine, and
//! `dmaengine_synchronize()` flushes the engine's (reclaim) workqueue, which is only allowed
//! from a reclaim workqueue.
//!
//! Interrupt handlers can make the poll run immediately with a [`PollWaker`], which may outlive
//! the binding and the function: once the work is disabled, waking it does nothing. A wake runs
//! a second work item, not the periodic one: the periodic run keeps its own schedule, like the
//! periodic command handler and the separate doorbell interrupt thread of C pci-epf-test. If the
//! wake moved the periodic run instead, every wake would push the next look at the command
//! register back by a whole period, and a host that answers the wake with a command (e.g.
//! DISABLE_DOORBELL after the doorbell completed) would wait one period longer than with C.
//! Both work items are on the same ordered workqueue, so they never run concurrently.
//!
//! [`Controller::cancel_poll`](super::Controller::cancel_poll) disables both work items until
//! the next [`Controller::schedule_poll`](super::Controller::schedule_poll): a wake after the
//! poll was stopped (e.g. a doorbell interrupt between `cancel_poll()` and the release of the
//! interrupt) does not start it again.

use crate::{
    bindings,
    prelude::*,
    sync::{
        atomic::{
            ordering::Full,
            Atomic, //
        },
        Arc, //
    },
    time::{
        msecs_to_jiffies,
        Jiffies,
        Msecs, //
    },
    types::Opaque, //
};
use core::ptr::NonNull;

/// What the poll work does after a [`Driver::poll`](super::Driver::poll) call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollNext {
    /// Run again after this many milliseconds (at least one jiffy). After a run started by a
    /// [`PollWaker`], a periodic run that is already scheduled keeps its time.
    After(Msecs),
    /// Do not run again until [`Controller::schedule_poll`](super::Controller::schedule_poll) is
    /// called or a [`PollWaker`] wakes the poll.
    Stop,
}

/// The type of the adapter function that runs one poll.
///
/// It returns the delay in jiffies before the next run, or [`None`] to stop.
///
/// # Safety
///
/// The argument must be a valid function of the driver the function was instantiated for.
pub(crate) type PollFn = unsafe fn(*mut bindings::pci_epf) -> Option<Jiffies>;

/// The poll work of one function.
///
/// # Invariants
///
/// - `dwork` is initialized with [`poll_work_fn`] as its function, `wake` with [`wake_work_fn`].
/// - While the work is not disabled, `epf` is a valid function whose driver is the driver `run`
///   was instantiated for, and `wq` is a valid workqueue.
#[pin_data]
pub(crate) struct PollWork {
    #[pin]
    dwork: Opaque<bindings::delayed_work>,
    #[pin]
    wake: Opaque<bindings::work_struct>,
    /// Whether [`PollWork::cancel_sync`] disabled both works, until [`PollWork::schedule`].
    stopped: Atomic<bool>,
    epf: *mut bindings::pci_epf,
    wq: NonNull<bindings::workqueue_struct>,
    run: PollFn,
}

// SAFETY: The raw pointers are only dereferenced by the work function and by the workqueue API,
// which may be used from any thread; the invariants make sure they are valid while used.
unsafe impl Send for PollWork {}

// SAFETY: See the `Send` implementation; all methods taking `&self` are thread safe.
unsafe impl Sync for PollWork {}

/// The work function of a [`PollWork`].
///
/// # Safety
///
/// `work` must be the `work` of the `dwork` of a live [`PollWork`].
unsafe extern "C" fn poll_work_fn(work: *mut bindings::work_struct) {
    // SAFETY: `work` is embedded in a `delayed_work`, which is embedded in a `PollWork`.
    let this = unsafe {
        let dwork = crate::container_of!(work, bindings::delayed_work, work);
        &*crate::container_of!(Opaque::cast_from(dwork), PollWork, dwork)
    };

    // SAFETY: The work runs, so it is not disabled: by the type invariants `epf` is a valid
    // function of the driver `run` was instantiated for.
    if let Some(delay) = unsafe { (this.run)(this.epf) } {
        // A wake during the run has queued the wake work, which runs next: the period restarts
        // here.
        this.queue(delay);
    }
}

/// The work function of the wake work of a [`PollWork`].
///
/// # Safety
///
/// `work` must be the `wake` of a live [`PollWork`].
unsafe extern "C" fn wake_work_fn(work: *mut bindings::work_struct) {
    // SAFETY: `work` is the `wake` of a `PollWork`.
    let this = unsafe { &*crate::container_of!(Opaque::cast_from(work), PollWork, wake) };

    // SAFETY: The work runs, so it is not disabled: by the type invariants `epf` is a valid
    // function of the driver `run` was instantiated for.
    if let Some(delay) = unsafe { (this.run)(this.epf) } {
        // Keep the time of a periodic run that is already scheduled; start the period again
        // only if there is none (e.g. the poll was stopped).
        this.queue_unless_pending(delay);
    }
}

impl PollWork {
    /// Creates the disarmed poll work of `epf`, with a workqueue of its own.
    ///
    /// # Safety
    ///
    /// - `epf` must be a valid function whose driver is the driver `run` was instantiated for,
    ///   until [`PollWork::shutdown`] is called.
    /// - [`PollWork::shutdown`] must be called before `epf` is released.
    pub(crate) unsafe fn new(epf: *mut bindings::pci_epf, run: PollFn) -> Result<Arc<Self>> {
        // SAFETY: The format string is a valid C string without conversions.
        let wq = unsafe {
            bindings::alloc_workqueue_noprof(
                c"pci-epf-poll".as_char_ptr(),
                // As `alloc_ordered_workqueue()`.
                bindings::wq_flags_WQ_UNBOUND
                    | bindings::wq_flags___WQ_ORDERED
                    | bindings::wq_flags_WQ_MEM_RECLAIM
                    | bindings::wq_flags_WQ_HIGHPRI,
                1,
            )
        };
        let wq = NonNull::new(wq).ok_or(ENOMEM)?;

        let init = pin_init!(Self {
            dwork <- Opaque::ffi_init(|slot: *mut bindings::delayed_work| {
                // SAFETY: `slot` is valid for writes; `poll_work_fn` is a valid work function
                // for this work, see its safety requirements.
                unsafe {
                    bindings::init_work_with_key(
                        &raw mut (*slot).work,
                        Some(poll_work_fn),
                        false,
                        c"pci_epf_poll".as_char_ptr(),
                        crate::static_lock_class!().as_ptr(),
                    );
                    bindings::timer_init_key(
                        &raw mut (*slot).timer,
                        Some(bindings::delayed_work_timer_fn),
                        bindings::TIMER_IRQSAFE,
                        c"pci_epf_poll_timer".as_char_ptr(),
                        crate::static_lock_class!().as_ptr(),
                    );
                }
            }),
            wake <- Opaque::ffi_init(|slot: *mut bindings::work_struct| {
                // SAFETY: `slot` is valid for writes; `wake_work_fn` is a valid work function
                // for this work, see its safety requirements.
                unsafe {
                    bindings::init_work_with_key(
                        slot,
                        Some(wake_work_fn),
                        false,
                        c"pci_epf_poll_wake".as_char_ptr(),
                        crate::static_lock_class!().as_ptr(),
                    )
                };
            }),
            stopped: Atomic::new(false),
            epf,
            wq,
            run,
        });

        // INVARIANT: `dwork` runs `poll_work_fn`, `wake` runs `wake_work_fn`; `epf` is valid by
        // the safety requirements and `wq` was just allocated.
        match Arc::pin_init(init, GFP_KERNEL) {
            Ok(this) => Ok(this),
            Err(e) => {
                // SAFETY: `wq` was allocated above and is unused.
                unsafe { bindings::destroy_workqueue(wq.as_ptr()) };
                Err(e)
            }
        }
    }

    fn dwork(&self) -> *mut bindings::delayed_work {
        self.dwork.get()
    }

    /// Queues the work after `delay` jiffies, or moves it earlier if it is already queued
    /// later. Does nothing once the work is disabled.
    fn queue(&self, delay: Jiffies) {
        // SAFETY: `dwork` is initialized. If the work is disabled, `mod_delayed_work_on()` does
        // not touch `wq`; otherwise `wq` is valid by the type invariants.
        unsafe {
            bindings::mod_delayed_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                self.wq.as_ptr(),
                self.dwork(),
                delay,
            )
        };
    }

    /// Queues the periodic work after `delay` jiffies unless it is already queued. Does nothing
    /// once the work is disabled.
    fn queue_unless_pending(&self, delay: Jiffies) {
        // SAFETY: As in `queue()`.
        unsafe {
            bindings::queue_delayed_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                self.wq.as_ptr(),
                self.dwork(),
                delay,
            )
        };
    }

    /// Queues the wake work. Does nothing once the work is disabled.
    fn wake(&self) {
        // SAFETY: `wake` is initialized. If it is disabled, `queue_work_on()` does not touch `wq`;
        // otherwise `wq` is valid by the type invariants.
        unsafe {
            bindings::queue_work_on(
                bindings::wq_misc_consts_WORK_CPU_UNBOUND as c_int,
                self.wq.as_ptr(),
                self.wake.get(),
            )
        };
    }

    /// Queues the work after `ms` milliseconds, enabling it again if it was stopped.
    ///
    /// Called with `epf->lock` held, like [`PollWork::cancel_sync`].
    pub(crate) fn schedule(&self, ms: Msecs) {
        if self.stopped.xchg(false, Full) {
            // SAFETY: `wake` and `dwork` are initialized; `cancel_sync()` disabled each once.
            unsafe {
                bindings::enable_delayed_work(self.dwork());
                bindings::enable_work(self.wake.get());
            }
        }
        self.queue(msecs_to_jiffies(ms));
    }

    /// Stops the work and waits for a running instance to finish.
    ///
    /// Both works stay disabled until [`PollWork::schedule`], so that a [`PollWaker`] cannot
    /// start the poll again. Called with `epf->lock` held (which also orders it against
    /// `schedule()`): the work never blocks on that lock.
    pub(crate) fn cancel_sync(&self) {
        if self.stopped.xchg(true, Full) {
            return;
        }

        // SAFETY: `wake` and `dwork` are initialized. The wake work goes first: a run of it may
        // queue the periodic work.
        unsafe {
            bindings::disable_work_sync(self.wake.get());
            bindings::disable_delayed_work_sync(self.dwork());
        }
    }

    /// Disables the work for good, waits for a running instance and frees the workqueue.
    ///
    /// Must be called exactly once, before the function is released.
    pub(crate) fn shutdown(&self) {
        // SAFETY: `wake` and `dwork` are initialized. Once the wake work is disabled, nothing
        // but the periodic work itself queues the periodic work.
        unsafe {
            bindings::disable_work_sync(self.wake.get());
            bindings::disable_delayed_work_sync(self.dwork());
        }

        // SAFETY: Both works are disabled and not running, so nothing queues on `wq` anymore.
        unsafe { bindings::destroy_workqueue(self.wq.as_ptr()) };
    }
}

/// A handle that makes the poll work of a function run as soon as possible, e.g. from an
/// interrupt handler, see [`Controller::poll_waker`](super::Controller::poll_waker).
///
/// It may outlive the function: once the function is removed, waking does nothing.
#[derive(Clone)]
pub struct PollWaker(pub(crate) Arc<PollWork>);

impl PollWaker {
    /// Runs the poll work now (or as soon as its current run is over). Callable from any context,
    /// including hard interrupt handlers.
    pub fn wake(&self) {
        self.0.wake();
    }
}

impl super::Controller<'_> {
    fn poll_work(&self) -> Result<&Arc<PollWork>> {
        self.state().poll.as_ref().ok_or_else(super::eopnotsupp)
    }

    /// Runs [`Driver::poll`](super::Driver::poll) in `ms` milliseconds (replacing the delay of a
    /// run that is already scheduled).
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` if the driver does not implement [`Driver::poll`](super::Driver::poll).
    pub fn schedule_poll(&self, ms: Msecs) -> Result {
        self.poll_work()?.schedule(ms);
        Ok(())
    }

    /// Stops the poll work and waits until a run in progress is over.
    ///
    /// It is safe to call this from the callbacks of the driver, which hold `epf->lock`, but not
    /// from [`Driver::poll`](super::Driver::poll) itself (return [`PollNext::Stop`] there). The
    /// work starts again only with
    /// [`Controller::schedule_poll`](super::Controller::schedule_poll); a [`PollWaker`] does
    /// nothing until then.
    pub fn cancel_poll(&self) {
        if let Ok(poll) = self.poll_work() {
            poll.cancel_sync();
        }
    }

    /// Returns a handle that runs the poll work immediately, usable from interrupt handlers.
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` if the driver does not implement [`Driver::poll`](super::Driver::poll).
    pub fn poll_waker(&self) -> Result<PollWaker> {
        Ok(PollWaker(self.poll_work()?.clone()))
    }
}
