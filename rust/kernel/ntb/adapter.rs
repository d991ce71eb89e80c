// SPDX-License-Identifier: GPL-2.0

//! The C operations of an NTB device (`struct ntb_dev_ops`): trampolines into [`Operations`]
//! that check the indexes and doorbell bits as the [module documentation](super) describes.

use super::{
    check_db_bits,
    DbVector,
    Inner,
    Link,
    MwIndex,
    Operations,
    SpadIndex,
    Speed,
    Width, //
};
use crate::{
    bindings,
    container_of,
    prelude::*,
    sync::atomic::Relaxed,
    types::Opaque, //
};
use core::marker::PhantomData;

/// The C operations of an NTB device with the operations' data `T`.
pub(super) struct Adapter<T: Operations>(PhantomData<T>);

fn count(n: u32) -> c_int {
    c_int::try_from(n).unwrap_or(c_int::MAX)
}

fn ret(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `Some(op)` if the driver implements the operation (`implemented` is its `#[vtable]` `HAS_`
/// constant), `None` for the C default otherwise.
const fn optional<F: Copy>(implemented: bool, op: F) -> Option<F> {
    if implemented {
        Some(op)
    } else {
        None
    }
}

impl<T: Operations> Adapter<T> {
    /// Returns the operations' data of `ntb`.
    ///
    /// # Safety
    ///
    /// `ntb` is the `struct ntb_dev` of a live [`Registration<T>`](super::Registration) (the NTB
    /// core only calls the operations of a registered device).
    unsafe fn data<'a>(ntb: *mut bindings::ntb_dev) -> &'a T {
        // SAFETY: `ntb` is the `ntb` field of an `Inner`, by the safety requirements.
        let inner = unsafe { &*container_of!(Opaque::cast_from(ntb).cast_mut(), Inner, ntb) };
        let data = inner.data.load(Relaxed) as *const T;
        // SAFETY: By the invariants of `Registration<T>`, `data` points to its `T`, which lives
        // until after the device is unregistered.
        unsafe { &*data }
    }

    extern "C" fn link_is_up(
        ntb: *mut bindings::ntb_dev,
        speed: *mut bindings::ntb_speed,
        width: *mut bindings::ntb_width,
    ) -> u64 {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let (up, s, w) = match unsafe { Self::data(ntb) }.link_is_up() {
            Link::Down => (0, Speed::None, Width::None),
            Link::Up { speed, width } => (1, speed, width),
        };
        if !speed.is_null() {
            // SAFETY: A non-NULL `speed` points to an `enum ntb_speed` to fill.
            unsafe { *speed = s.as_raw() };
        }
        if !width.is_null() {
            // SAFETY: A non-NULL `width` points to an `enum ntb_width` to fill.
            unsafe { *width = w.as_raw() };
        }
        up
    }

    extern "C" fn link_enable(
        ntb: *mut bindings::ntb_dev,
        speed: bindings::ntb_speed,
        width: bindings::ntb_width,
    ) -> c_int {
        let (Some(speed), Some(width)) = (Speed::from_raw(speed), Width::from_raw(width)) else {
            return EINVAL.to_errno();
        };
        // SAFETY: The NTB core calls the operations with the device they belong to.
        ret(unsafe { Self::data(ntb) }.link_enable(speed, width))
    }

    extern "C" fn link_disable(ntb: *mut bindings::ntb_dev) -> c_int {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        ret(unsafe { Self::data(ntb) }.link_disable())
    }

    extern "C" fn mw_count(ntb: *mut bindings::ntb_dev, pidx: c_int) -> c_int {
        if pidx != 0 {
            return EINVAL.to_errno();
        }
        // SAFETY: The NTB core calls the operations with the device they belong to.
        count(unsafe { Self::data(ntb) }.mw_count())
    }

    fn mw_index(data: &T, pidx: c_int, widx: c_int) -> Result<MwIndex> {
        if pidx != 0 {
            return Err(EINVAL);
        }
        MwIndex::new(widx, data.mw_count()).ok_or(EINVAL)
    }

    extern "C" fn mw_get_align(
        ntb: *mut bindings::ntb_dev,
        pidx: c_int,
        widx: c_int,
        addr_align: *mut bindings::resource_size_t,
        size_align: *mut bindings::resource_size_t,
        size_max: *mut bindings::resource_size_t,
    ) -> c_int {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let data = unsafe { Self::data(ntb) };
        let align = match Self::mw_index(data, pidx, widx).and_then(|w| data.mw_get_align(w)) {
            Ok(align) => align,
            Err(e) => return e.to_errno(),
        };
        for (p, v) in [
            (addr_align, align.addr_align),
            (size_align, align.size_align),
            (size_max, align.size_max),
        ] {
            if !p.is_null() {
                // SAFETY: A non-NULL pointer points to a `resource_size_t` to fill.
                unsafe { *p = v };
            }
        }
        0
    }

    extern "C" fn mw_set_trans(
        ntb: *mut bindings::ntb_dev,
        pidx: c_int,
        widx: c_int,
        addr: bindings::dma_addr_t,
        size: bindings::resource_size_t,
    ) -> c_int {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let data = unsafe { Self::data(ntb) };
        ret(Self::mw_index(data, pidx, widx).and_then(|w| data.mw_set_trans(w, addr, size)))
    }

    extern "C" fn mw_clear_trans(ntb: *mut bindings::ntb_dev, pidx: c_int, widx: c_int) -> c_int {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let data = unsafe { Self::data(ntb) };
        ret(Self::mw_index(data, pidx, widx).and_then(|w| data.mw_clear_trans(w)))
    }

    extern "C" fn peer_mw_count(ntb: *mut bindings::ntb_dev) -> c_int {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        count(unsafe { Self::data(ntb) }.peer_mw_count())
    }

    extern "C" fn peer_mw_get_addr(
        ntb: *mut bindings::ntb_dev,
        widx: c_int,
        base: *mut bindings::phys_addr_t,
        size: *mut bindings::resource_size_t,
    ) -> c_int {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let data = unsafe { Self::data(ntb) };
        let mw = match MwIndex::new(widx, data.peer_mw_count())
            .ok_or(EINVAL)
            .and_then(|w| data.peer_mw_get_addr(w))
        {
            Ok(mw) => mw,
            Err(e) => return e.to_errno(),
        };
        if !base.is_null() {
            // SAFETY: A non-NULL `base` points to a `phys_addr_t` to fill.
            unsafe { *base = mw.base };
        }
        if !size.is_null() {
            // SAFETY: A non-NULL `size` points to a `resource_size_t` to fill.
            unsafe { *size = mw.size };
        }
        0
    }

    extern "C" fn db_valid_mask(ntb: *mut bindings::ntb_dev) -> u64 {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        unsafe { Self::data(ntb) }.db_valid_mask()
    }

    extern "C" fn db_vector_count(ntb: *mut bindings::ntb_dev) -> c_int {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        count(unsafe { Self::data(ntb) }.db_vector_count())
    }

    extern "C" fn db_vector_mask(ntb: *mut bindings::ntb_dev, vector: c_int) -> u64 {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let data = unsafe { Self::data(ntb) };
        DbVector::new(vector, data.db_vector_count()).map_or(0, |v| data.db_vector_mask(v))
    }

    extern "C" fn db_read(ntb: *mut bindings::ntb_dev) -> u64 {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        unsafe { Self::data(ntb) }.db_read()
    }

    fn db_op(ntb: *mut bindings::ntb_dev, bits: u64, op: impl FnOnce(&T, u64) -> Result) -> c_int {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let data = unsafe { Self::data(ntb) };
        ret(check_db_bits(bits, data.db_valid_mask()).and_then(|bits| op(data, bits)))
    }

    extern "C" fn db_clear(ntb: *mut bindings::ntb_dev, bits: u64) -> c_int {
        Self::db_op(ntb, bits, T::db_clear)
    }

    extern "C" fn db_set_mask(ntb: *mut bindings::ntb_dev, bits: u64) -> c_int {
        Self::db_op(ntb, bits, T::db_set_mask)
    }

    extern "C" fn db_clear_mask(ntb: *mut bindings::ntb_dev, bits: u64) -> c_int {
        Self::db_op(ntb, bits, T::db_clear_mask)
    }

    extern "C" fn peer_db_set(ntb: *mut bindings::ntb_dev, bits: u64) -> c_int {
        Self::db_op(ntb, bits, T::peer_db_set)
    }

    extern "C" fn spad_count(ntb: *mut bindings::ntb_dev) -> c_int {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        count(unsafe { Self::data(ntb) }.spad_count())
    }

    extern "C" fn spad_read(ntb: *mut bindings::ntb_dev, sidx: c_int) -> u32 {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let data = unsafe { Self::data(ntb) };
        SpadIndex::new(sidx, data.spad_count()).map_or(0, |s| data.spad_read(s))
    }

    extern "C" fn spad_write(ntb: *mut bindings::ntb_dev, sidx: c_int, val: u32) -> c_int {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let data = unsafe { Self::data(ntb) };
        ret(SpadIndex::new(sidx, data.spad_count())
            .ok_or(EINVAL)
            .and_then(|s| data.spad_write(s, val)))
    }

    extern "C" fn peer_spad_read(ntb: *mut bindings::ntb_dev, pidx: c_int, sidx: c_int) -> u32 {
        if pidx != 0 {
            return 0;
        }
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let data = unsafe { Self::data(ntb) };
        SpadIndex::new(sidx, data.spad_count()).map_or(0, |s| data.peer_spad_read(s))
    }

    extern "C" fn peer_spad_write(
        ntb: *mut bindings::ntb_dev,
        pidx: c_int,
        sidx: c_int,
        val: u32,
    ) -> c_int {
        if pidx != 0 {
            return EINVAL.to_errno();
        }
        // SAFETY: The NTB core calls the operations with the device they belong to.
        let data = unsafe { Self::data(ntb) };
        ret(SpadIndex::new(sidx, data.spad_count())
            .ok_or(EINVAL)
            .and_then(|s| data.peer_spad_write(s, val)))
    }

    extern "C" fn get_dma_dev(ntb: *mut bindings::ntb_dev) -> *mut bindings::device {
        // SAFETY: The NTB core calls the operations with the device they belong to.
        unsafe { Self::data(ntb) }.get_dma_dev().as_raw()
    }

    const VTABLE: bindings::ntb_dev_ops = {
        // What `ntb_dev_ops_is_valid()` requires of the optional operations.
        assert!(
            T::HAS_DB_VECTOR_COUNT == T::HAS_DB_VECTOR_MASK,
            "db_vector_count and db_vector_mask go together"
        );
        assert!(
            T::HAS_SPAD_COUNT == T::HAS_SPAD_READ
                && T::HAS_SPAD_COUNT == T::HAS_SPAD_WRITE
                && T::HAS_SPAD_COUNT == T::HAS_PEER_SPAD_WRITE,
            "spad_count, spad_read, spad_write and peer_spad_write go together"
        );
        assert!(
            !T::HAS_PEER_SPAD_READ || T::HAS_SPAD_COUNT,
            "peer_spad_read needs spad_count"
        );
        bindings::ntb_dev_ops {
            link_is_up: Some(Self::link_is_up),
            link_enable: Some(Self::link_enable),
            link_disable: Some(Self::link_disable),
            mw_count: Some(Self::mw_count),
            mw_get_align: Some(Self::mw_get_align),
            mw_set_trans: Some(Self::mw_set_trans),
            mw_clear_trans: optional(T::HAS_MW_CLEAR_TRANS, Self::mw_clear_trans),
            peer_mw_count: Some(Self::peer_mw_count),
            peer_mw_get_addr: Some(Self::peer_mw_get_addr),
            db_valid_mask: Some(Self::db_valid_mask),
            db_vector_count: optional(T::HAS_DB_VECTOR_COUNT, Self::db_vector_count),
            db_vector_mask: optional(T::HAS_DB_VECTOR_MASK, Self::db_vector_mask),
            db_read: Some(Self::db_read),
            db_clear: Some(Self::db_clear),
            db_set_mask: Some(Self::db_set_mask),
            db_clear_mask: Some(Self::db_clear_mask),
            peer_db_set: Some(Self::peer_db_set),
            spad_count: optional(T::HAS_SPAD_COUNT, Self::spad_count),
            spad_read: optional(T::HAS_SPAD_READ, Self::spad_read),
            spad_write: optional(T::HAS_SPAD_WRITE, Self::spad_write),
            peer_spad_read: optional(T::HAS_PEER_SPAD_READ, Self::peer_spad_read),
            peer_spad_write: optional(T::HAS_PEER_SPAD_WRITE, Self::peer_spad_write),
            get_dma_dev: optional(T::HAS_GET_DMA_DEV, Self::get_dma_dev),
            // SAFETY: The other members are optional function pointers, for which all zeroes
            // is `None`.
            ..unsafe { core::mem::zeroed() }
        }
    };

    /// Returns the C operations, valid for the lifetime of the program.
    pub(super) const fn vtable() -> &'static bindings::ntb_dev_ops {
        &Self::VTABLE
    }
}
