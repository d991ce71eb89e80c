// SPDX-License-Identifier: GPL-2.0

//! A minimal DMA engine client API.
//!
//! This covers what a driver needs to move a buffer with a DMA engine and wait for the result:
//! request a channel ([`Channel::request_slave`], [`Channel::request_memcpy`]), prepare one
//! transfer ([`Channel::slave_single`], or the unsafe [`Channel::memcpy`] for callers that own
//! both ends) and run it to completion with a
//! timeout. A [`Transfer`] always ends with `dmaengine_terminate_sync()`, so that no callback of
//! the engine runs after it returned, whether the transfer completed, failed or timed out.
//!
//! Local memory for a transfer is a [`DmaBuffer`], coherent memory of the device the engine
//! works for: while a transfer runs, the buffer is borrowed mutably, so the CPU cannot access it
//! concurrently with the engine.
//!
//! C header: [`include/linux/dmaengine.h`](srctree/include/linux/dmaengine.h)

use crate::{
    bindings,
    device,
    dma::{
        Coherent,
        DmaAddress, //
    },
    error::to_result,
    prelude::*,
    sync::{
        atomic::{
            ordering::{
                Acquire,
                Release, //
            },
            Atomic, //
        },
        Completion, //
    },
    time::{
        msecs_to_jiffies,
        Msecs, //
    }, //
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

/// The direction of a slave transfer, see `enum dma_transfer_direction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From local memory to the device (`DMA_MEM_TO_DEV`).
    MemToDev,
    /// From the device to local memory (`DMA_DEV_TO_MEM`).
    DevToMem,
}

impl Direction {
    fn as_raw(self) -> bindings::dma_transfer_direction {
        match self {
            Self::MemToDev => bindings::dma_transfer_direction_DMA_MEM_TO_DEV,
            Self::DevToMem => bindings::dma_transfer_direction_DMA_DEV_TO_MEM,
        }
    }
}

/// A DMA engine channel owned by the caller; released (`dma_release_channel()`) on drop.
///
/// # Invariants
///
/// `self.chan` is a channel obtained from `__dma_request_channel()` or
/// `dma_request_chan_by_mask()` and not released yet.
pub struct Channel {
    chan: NonNull<bindings::dma_chan>,
}

// SAFETY: The DMA engine client API may be used from any thread.
unsafe impl Send for Channel {}

// Not `Sync`: a slave transfer is a `dmaengine_slave_config()` followed by a prep, which two
// threads sharing a channel could interleave, and `Transfer::run()` terminates the whole channel.

/// The parameter of [`slave_filter`].
struct FilterParam {
    dev: *mut bindings::device,
    directions: u32,
}

/// Accepts the channels of `param.dev` that support one of `param.directions`.
///
/// # Safety
///
/// `chan` must be a valid channel and `param` a valid `FilterParam`.
unsafe extern "C" fn slave_filter(chan: *mut bindings::dma_chan, param: *mut c_void) -> bool {
    // SAFETY: By the safety requirements.
    let param = unsafe { &*param.cast::<FilterParam>() };

    // SAFETY: A valid channel has a valid `device`.
    if unsafe { (*(*chan).device).dev } != param.dev {
        return false;
    }

    let mut caps = bindings::dma_slave_caps::default();

    // SAFETY: `chan` is valid and `caps` is valid for writes.
    if unsafe { bindings::dma_get_slave_caps(chan, &mut caps) } != 0 {
        return false;
    }

    caps.directions & param.directions != 0
}

fn cap_mask(cap: bindings::dma_transaction_type) -> bindings::dma_cap_mask_t {
    let mut mask = bindings::dma_cap_mask_t::default();
    let bits = usize::BITS as usize;
    // CAST: `cap` is a small enum value, below `DMA_TX_TYPE_END`.
    let cap = cap as usize;

    mask.bits[cap / bits] |= 1 << (cap % bits);
    mask
}

impl Channel {
    fn from_raw(chan: *mut bindings::dma_chan) -> Result<Self> {
        if chan.is_null() {
            return Err(ENODEV);
        }

        // SAFETY: `chan` is not NULL, so it is either a valid pointer or an error pointer.
        if unsafe { bindings::IS_ERR(chan.cast()) } {
            // SAFETY: `chan` is an error pointer.
            let err = unsafe { bindings::PTR_ERR(chan.cast()) };
            // CAST: An error pointer holds a small negative errno.
            return Err(Error::from_errno(err as i32));
        }

        // INVARIANT: `chan` is a channel returned by the DMA engine core.
        Ok(Self {
            // SAFETY: Checked for NULL above.
            chan: unsafe { NonNull::new_unchecked(chan) },
        })
    }

    /// Requests a private `DMA_SLAVE` channel of the DMA engine of `dev` that can transfer in
    /// `dir`, the way endpoint functions find the integrated DMA engine of their controller.
    ///
    /// # Errors
    ///
    /// [`ENODEV`] if `dev` has no such channel.
    pub fn request_slave(dev: &device::Device, dir: Direction) -> Result<Self> {
        let mask = cap_mask(bindings::dma_transaction_type_DMA_SLAVE);
        let mut param = FilterParam {
            dev: dev.as_raw(),
            // CAST: `dir` is a small enum value.
            directions: 1u32 << dir.as_raw(),
        };

        // SAFETY: `mask` is valid; `slave_filter` only uses `param` during the call.
        let chan = unsafe {
            bindings::__dma_request_channel(
                &mask,
                Some(slave_filter),
                (&raw mut param).cast(),
                core::ptr::null_mut(),
            )
        };

        Self::from_raw(chan)
    }

    /// Requests any channel that can copy memory to memory (`DMA_MEMCPY`), see
    /// `dma_request_chan_by_mask()`.
    pub fn request_memcpy() -> Result<Self> {
        let mask = cap_mask(bindings::dma_transaction_type_DMA_MEMCPY);

        // SAFETY: `mask` is valid.
        Self::from_raw(unsafe { bindings::dma_request_chan_by_mask(&mask) })
    }

    fn as_raw(&self) -> *mut bindings::dma_chan {
        self.chan.as_ptr()
    }

    /// Returns whether the DMA device of the channel can copy memory to memory.
    pub fn has_memcpy(&self) -> bool {
        let bit = bindings::dma_transaction_type_DMA_MEMCPY as usize;
        let bits = usize::BITS as usize;

        // SAFETY: By the type invariants the channel and its device are valid.
        let mask = unsafe { (*(*self.as_raw()).device).cap_mask };

        mask.bits[bit / bits] & (1 << (bit % bits)) != 0
    }

    /// Prepares a memory to memory copy of `len` bytes from `src` to `dst`, both addresses in
    /// the DMA address space of the channel's device.
    ///
    /// # Safety
    ///
    /// Until the returned transfer is over, `dst..dst + len` must be memory that nothing else
    /// accesses (or device memory), and `src..src + len` must stay valid.
    pub unsafe fn memcpy(
        &self,
        dst: DmaAddress,
        src: DmaAddress,
        len: usize,
    ) -> Result<Transfer<'_>> {
        // SAFETY: The channel is valid; the addresses are valid by the safety requirements.
        let desc = unsafe {
            bindings::dmaengine_prep_dma_memcpy(self.as_raw(), dst, src, len, Transfer::FLAGS)
        };

        Transfer::new(self, desc)
    }

    /// Prepares a slave transfer of `len` bytes between `buf` (at `offset`) and the device
    /// address `remote`, in direction `dir`.
    ///
    /// # Errors
    ///
    /// [`EINVAL`] if the range is outside `buf`, [`EIO`] if the channel rejects the
    /// configuration or the transfer.
    pub fn slave_single<'c>(
        &'c self,
        buf: &'c mut DmaBuffer,
        offset: usize,
        len: usize,
        remote: u64,
        dir: Direction,
    ) -> Result<Transfer<'c>> {
        let local = buf.dma_range(offset, len)?;
        let mut config = bindings::dma_slave_config {
            direction: dir.as_raw(),
            ..Default::default()
        };

        match dir {
            Direction::MemToDev => config.dst_addr = remote,
            Direction::DevToMem => config.src_addr = remote,
        }

        // SAFETY: The channel is valid and `config` is a valid configuration.
        to_result(unsafe { bindings::dmaengine_slave_config(self.as_raw(), &mut config) })
            .map_err(|_| EIO)?;

        // SAFETY: The channel is valid; `local..local + len` is in `buf`, which stays borrowed
        // until the transfer is over.
        let desc = unsafe {
            bindings::dmaengine_prep_slave_single(
                self.as_raw(),
                local,
                len,
                dir.as_raw(),
                Transfer::FLAGS,
            )
        };

        Transfer::new(self, desc)
    }

    /// Aborts all transfers of the channel and waits for their callbacks, see
    /// `dmaengine_terminate_sync()`.
    pub fn terminate_sync(&self) {
        // SAFETY: The channel is valid; the call may sleep, which `&self` methods may.
        unsafe { bindings::dmaengine_terminate_sync(self.as_raw()) };
    }

    /// Returns whether `self` and `other` are the same channel.
    pub fn same_as(&self, other: &Channel) -> bool {
        self.chan == other.chan
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the channel is still held.
        unsafe { bindings::dma_release_channel(self.as_raw()) };
    }
}

/// The state shared with the completion callback of a [`Transfer`].
#[pin_data]
struct Waiter {
    #[pin]
    done: Completion,
    chan: *mut bindings::dma_chan,
    cookie: Atomic<bindings::dma_cookie_t>,
    status: Atomic<bindings::dma_status>,
}

/// The completion callback of a transfer.
///
/// # Safety
///
/// `param` must point to the `Waiter` of the transfer, which outlives every invocation.
unsafe extern "C" fn transfer_done(param: *mut c_void) {
    // SAFETY: By the safety requirements.
    let waiter = unsafe { &*param.cast::<Waiter>() };
    let cookie = waiter.cookie.load(Acquire);

    // SAFETY: `chan` is the valid channel of the transfer.
    let status =
        unsafe { bindings::dmaengine_tx_status(waiter.chan, cookie, core::ptr::null_mut()) };

    if status == bindings::dma_status_DMA_COMPLETE || status == bindings::dma_status_DMA_ERROR {
        waiter.status.store(status, Release);
        waiter.done.complete_all();
    }
}

/// A prepared transfer, see [`Channel::memcpy`] and [`Channel::slave_single`].
///
/// It is started and waited for with [`Transfer::run`]. A transfer that is dropped without
/// being run is never submitted; the descriptor is reclaimed by the channel (it is prepared with
/// `DMA_CTRL_ACK`) when the channel is terminated or released.
///
/// # Invariants
///
/// `self.desc` is a descriptor prepared on `self.chan` and not submitted yet.
pub struct Transfer<'c> {
    chan: &'c Channel,
    desc: NonNull<bindings::dma_async_tx_descriptor>,
    // A slave transfer borrows its buffer mutably.
    _buf: PhantomData<&'c mut [u8]>,
}

impl<'c> Transfer<'c> {
    // CAST: The flags are small enum values.
    const FLAGS: c_ulong = (bindings::dma_ctrl_flags_DMA_CTRL_ACK
        | bindings::dma_ctrl_flags_DMA_PREP_INTERRUPT) as c_ulong;

    fn new(chan: &'c Channel, desc: *mut bindings::dma_async_tx_descriptor) -> Result<Self> {
        // INVARIANT: A non-NULL descriptor returned by a prep function of `chan`.
        Ok(Self {
            chan,
            desc: NonNull::new(desc).ok_or(EIO)?,
            _buf: PhantomData,
        })
    }

    /// Submits the transfer, starts the channel and waits up to `timeout_ms` milliseconds for
    /// the transfer to complete.
    ///
    /// The channel is terminated (`dmaengine_terminate_sync()`) before this returns, on every
    /// path, so no callback of the transfer runs afterwards.
    ///
    /// # Errors
    ///
    /// [`EIO`] if the transfer cannot be submitted or the engine reports an error,
    /// [`ETIMEDOUT`] if it did not complete in time.
    pub fn run(self, timeout_ms: Msecs) -> Result {
        pin_init::stack_pin_init!(let waiter = pin_init!(Waiter {
            done <- Completion::new(),
            chan: self.chan.as_raw(),
            cookie: Atomic::new(0),
            status: Atomic::new(bindings::dma_status_DMA_IN_PROGRESS),
        }));
        let param: *const Waiter = &*waiter;

        let desc = self.desc.as_ptr();

        // SAFETY: By the type invariants `desc` is a prepared descriptor that was not submitted;
        // the callback and its parameter are set before submitting. `waiter` outlives the
        // transfer because the channel is terminated synchronously before returning.
        let cookie = unsafe {
            (*desc).callback = Some(transfer_done);
            (*desc).callback_param = param.cast_mut().cast();
            bindings::dmaengine_submit(desc)
        };
        waiter.cookie.store(cookie, Release);

        // SAFETY: Pure function of the cookie.
        let ret = if unsafe { bindings::dma_submit_error(cookie) } != 0 {
            Err(EIO)
        } else {
            // SAFETY: The channel is valid.
            unsafe { bindings::dma_async_issue_pending(self.chan.as_raw()) };

            match waiter
                .done
                .wait_for_completion_timeout(msecs_to_jiffies(timeout_ms))
            {
                Err(e) => Err(e),
                Ok(_) if waiter.status.load(Acquire) == bindings::dma_status_DMA_COMPLETE => Ok(()),
                Ok(_) => Err(EIO),
            }
        };

        // No callback may run once `waiter` goes out of scope.
        self.chan.terminate_sync();
        ret
    }
}

/// Local memory for DMA transfers: coherent memory of a device, zeroed at allocation.
///
/// The CPU accesses it through [`DmaBuffer::as_slice`] and [`DmaBuffer::as_mut_slice`]; a DMA
/// engine only through a [`Transfer`] that borrows it mutably, so the two never overlap.
pub struct DmaBuffer {
    mem: Coherent<[u8]>,
}

impl DmaBuffer {
    /// Allocates `len` (at least 1) bytes of zeroed coherent memory of `dev`.
    pub fn alloc(dev: &device::Device<device::Bound>, len: usize) -> Result<Self> {
        if len == 0 {
            return Err(EINVAL);
        }

        Ok(Self {
            mem: Coherent::zeroed_slice(dev, len, GFP_KERNEL)?,
        })
    }

    /// Returns the size of the buffer in bytes.
    pub fn len(&self) -> usize {
        self.mem.len()
    }

    /// Returns `true` if the buffer is empty, which never happens.
    pub fn is_empty(&self) -> bool {
        self.mem.len() == 0
    }

    /// Returns the contents of the buffer.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: No DMA transfer uses the buffer while it is borrowed: transfers borrow it
        // mutably and are over when `Transfer::run` returns.
        unsafe { self.mem.as_ref() }
    }

    /// Returns the contents of the buffer, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: As in `as_slice`; `&mut self` excludes any other access.
        unsafe { self.mem.as_mut() }
    }

    /// Returns the DMA address of `len` bytes at `offset`, checking the range.
    pub fn dma_range(&self, offset: usize, len: usize) -> Result<DmaAddress> {
        let end = offset.checked_add(len).ok_or(EINVAL)?;

        if len == 0 || end > self.len() {
            return Err(EINVAL);
        }

        // CAST: `offset` is below the size of a DMA allocation, which fits in a DMA address.
        Ok(self.mem.dma_handle() + offset as DmaAddress)
    }
}
