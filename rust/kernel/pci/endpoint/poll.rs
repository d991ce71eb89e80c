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
//! Both work items are [`BoundDelayedWork`]s of `kernel::workqueue`, kept alive by the poll work
//! rather than by a reference per queued run, so that they can be re-timed
//! (`mod_delayed_work()`) and disabled. They run on an ordered [`OwnedQueue`] of their own with
//! `WQ_MEM_RECLAIM | WQ_HIGHPRI`, like
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
    new_bound_delayed_work,
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
    workqueue::{
        BoundDelayedWork,
        BoundWorkItem,
        OwnedQueue,
        QueueFlags, //
    }, //
};

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

/// One poll of a function: what both work items of a [`PollWork`] run.
///
/// # Invariants
///
/// While a work item of the [`PollWork`] holding it can run (until [`PollWork::shutdown`]),
/// `epf` is a valid function whose driver is the driver `run` was instantiated for.
#[derive(Clone, Copy)]
struct PollRun {
    epf: *mut bindings::pci_epf,
    run: PollFn,
}

// SAFETY: `epf` is only dereferenced by `run`, the driver's adapter, which takes `epf->lock`; a
// `struct pci_epf` may be used from any thread.
unsafe impl Send for PollRun {}

// SAFETY: See the `Send` implementation; `PollRun` has no interior mutability.
unsafe impl Sync for PollRun {}

impl PollRun {
    /// Runs one poll. Called only by the work items of the [`PollWork`] holding `self`.
    fn poll(&self) -> Option<Jiffies> {
        // SAFETY: A work item of the `PollWork` runs, so it is not shut down: by the type
        // invariants `epf` is a valid function of the driver `run` was instantiated for.
        unsafe { (self.run)(self.epf) }
    }
}

/// The periodic work item of a [`PollWork`].
struct Periodic(PollRun);

impl BoundWorkItem for Periodic {
    fn run(this: &BoundDelayedWork<Self>) {
        if let Some(delay) = this.0.poll() {
            // A wake during the run has queued the wake work, which runs next: the period
            // restarts here.
            this.mod_delayed(delay);
        }
    }
}

/// The wake work item of a [`PollWork`], which holds the periodic one.
#[pin_data]
struct Wake {
    run: PollRun,
    #[pin]
    periodic: BoundDelayedWork<Periodic>,
}

impl BoundWorkItem for Wake {
    fn run(this: &BoundDelayedWork<Self>) {
        if let Some(delay) = this.run.poll() {
            // Keep the time of a periodic run that is already scheduled; start the period again
            // only if there is none (e.g. the poll was stopped).
            this.periodic.enqueue(delay);
        }
    }
}

/// The poll work of one function.
///
/// Both work items are [`BoundDelayedWork`]s on one ordered [`OwnedQueue`], which is freed
/// when the last of them is dropped, with the last reference to the `PollWork` (after
/// [`PollWork::shutdown`]; a [`PollWaker`] may hold one).
#[pin_data]
pub(crate) struct PollWork {
    /// The wake work item (run at once, delay 0), holding the periodic one. Dropping it
    /// disables it, then the periodic one.
    #[pin]
    wake: BoundDelayedWork<Wake>,
    /// Whether [`PollWork::cancel_sync`] disabled both works, until [`PollWork::schedule`].
    stopped: Atomic<bool>,
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
        // As the C `kpcitest` workqueue: `alloc_ordered_workqueue()` with these flags.
        let queue = Arc::new(
            OwnedQueue::new_ordered(
                c"pci-epf-poll",
                QueueFlags::MEM_RECLAIM | QueueFlags::HIGHPRI,
            )?,
            GFP_KERNEL,
        )?;
        let wake_queue = queue.clone();

        // INVARIANT: `epf` is valid with the driver of `run` until `shutdown()`, by the safety
        // requirements.
        let poll = PollRun { epf, run };

        Arc::pin_init(
            pin_init!(Self {
                wake <- new_bound_delayed_work!(
                    wake_queue,
                    pin_init!(Wake {
                        run: poll,
                        periodic <- new_bound_delayed_work!(queue, Periodic(poll), "pci_epf_poll"),
                    }),
                    "pci_epf_poll_wake"
                ),
                stopped: Atomic::new(false),
            }),
            GFP_KERNEL,
        )
    }

    fn periodic(&self) -> &BoundDelayedWork<Periodic> {
        &self.wake.periodic
    }

    /// Queues the wake work. Does nothing once the work is disabled.
    fn wake(&self) {
        self.wake.enqueue(0);
    }

    /// Queues the work after `ms` milliseconds, enabling it again if it was stopped.
    ///
    /// Called with `epf->lock` held, like [`PollWork::cancel_sync`].
    pub(crate) fn schedule(&self, ms: Msecs) {
        if self.stopped.xchg(false, Full) {
            // `cancel_sync()` disabled each once.
            self.periodic().enable();
            self.wake.enable();
        }
        self.periodic().mod_delayed(msecs_to_jiffies(ms));
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

        // The wake work goes first: a run of it may queue the periodic work.
        self.wake.disable_sync();
        self.periodic().disable_sync();
    }

    /// Disables the work for good and waits for a running instance.
    ///
    /// Must be called exactly once, before the function is released. The workqueue is freed
    /// with the last reference to the `PollWork`.
    pub(crate) fn shutdown(&self) {
        // Once the wake work is disabled, nothing but the periodic work itself queues the
        // periodic work.
        self.wake.disable_sync();
        self.periodic().disable_sync();
    }
}

/// A handle that makes the poll work of a function run as soon as possible, e.g. from an
/// interrupt handler, see [`Controller::poll_waker`](super::Controller::poll_waker).
///
/// It may outlive the function: once the function is removed, waking does nothing. Dropping the
/// last handle after that frees the poll's workqueue, which sleeps.
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
        self.state().poll.as_ref().ok_or(EOPNOTSUPP)
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
