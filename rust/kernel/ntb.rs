// SPDX-License-Identifier: GPL-2.0

//! Non-Transparent Bridge (NTB) devices, the provider side.
//!
//! An NTB hardware driver (what `drivers/ntb/hw/*` and `pci-epf-vntb` are in C) describes its
//! device with the operations of [`Operations`] and registers it on a PCI device with
//! [`Registration::new`]. The NTB core then offers the device to its clients (`ntb_transport`,
//! `ntb_tool`, `ntb_perf`, `ntb_pingpong`, ...), which call the operations (some of them from
//! atomic context, see [`Operations`]) and are told of link changes and doorbells through
//! [`Events`].
//!
//! C header: [`include/linux/ntb.h`](srctree/include/linux/ntb.h)
//!
//! # What the abstraction checks and what the implementer checks
//!
//! The device has exactly one peer: no port operations are installed, so the NTB core reports
//! one peer port, index 0. Before an operation reaches [`Operations`]:
//!
//! - a peer index other than 0 is answered with `-EINVAL`;
//! - a memory window index is checked against [`Operations::mw_count`] (inbound windows) or
//!   [`Operations::peer_mw_count`] (outbound windows), a scratchpad index against
//!   [`Operations::spad_count`], a doorbell vector against [`Operations::db_vector_count`];
//!   an index out of range is answered with `-EINVAL` (`0` for the `u32`/`u64` reads);
//! - doorbell bits outside [`Operations::db_valid_mask`] are answered with `-EINVAL`
//!   (`db_clear`, `db_set_mask`, `db_clear_mask`, `peer_db_set`);
//! - a link speed or width that is not one of C's `enum ntb_speed`/`enum ntb_width` values is
//!   answered with `-EINVAL`.
//!
//! The counts and the mask are read from the implementer at every call: they must not change
//! while the device is registered. The implementer checks everything that depends on its own
//! state: translation addresses and sizes against its windows ([`Operations::mw_set_trans`]),
//! whether the link can be enabled, and so on.
//!
//! The C core requires some operations ([`ntb_dev_ops_is_valid()`]); they are the required
//! methods of [`Operations`]. The optional ones go together as C requires: `db_vector_count`
//! with `db_vector_mask`, and `spad_count` with `spad_read`, `spad_write` and
//! `peer_spad_write`; a mismatch fails the build.
//!
//! # Lifetimes
//!
//! The operations' data `T` is owned by the [`Registration`] (in a box of its own, so the
//! registration can move). Dropping the registration unregisters the device, which removes the
//! clients and waits until the `struct ntb_dev` is released, then waits until no event callback
//! runs, and only then drops `T`. The `struct ntb_dev` lives in memory shared with the
//! [`Events`] handles, which are `'static`: after the registration is gone an event does nothing.
//!
//! If `T` is `'static`, [`Registration::new`] is safe: forgetting the registration leaks it, the
//! operations still find their data. If `T` borrows (the state of an endpoint function that
//! borrows its controller link, `Controller<'epc>`, `BarSpace<'epc>`), the borrow must not end
//! while the device is registered, which the type system cannot see through `mem::forget()`:
//! [`Registration::new_with_lt`] is `unsafe` for that reason, as
//! `auxiliary::Registration::new_with_lt()` is. A framework that owns the registration (as the
//! endpoint core owns a function's `Binding<'epc>` and drops it at unlink) can offer it safely.
//!
//! # Examples
//!
//! What a virtual NTB endpoint function needs: operations whose data borrows the controller
//! link, an events handle for its doorbell poll, and the registration kept in a binding that
//! the endpoint core owns.
//!
//! ```
//! use kernel::{
//!     dma::DmaAddress,
//!     io::{PhysAddr, ResourceSize},
//!     ntb::{self, DbVector, Events, Link, MwAlign, MwIndex, PeerMw, Speed, Width},
//!     pci,
//!     prelude::*,
//!     sync::atomic::{Atomic, Relaxed},
//! };
//!
//! /// Stands for the state that borrows the controller (`Controller<'epc>`, `BarSpace<'epc>`).
//! struct Epc<'epc> {
//!     window: &'epc PhysAddr,
//! }
//!
//! struct VntbOps<'epc> {
//!     epc: Epc<'epc>,
//!     db: Atomic<u64>,
//!     link_up: Atomic<u32>,
//! }
//!
//! #[vtable]
//! impl<'epc> ntb::Operations for VntbOps<'epc> {
//!     fn link_is_up(&self) -> Link {
//!         if self.link_up.load(Relaxed) != 0 {
//!             Link::Up { speed: Speed::Gen1, width: Width::X1 }
//!         } else {
//!             Link::Down
//!         }
//!     }
//!     fn link_enable(&self, _speed: Speed, _width: Width) -> Result {
//!         Ok(())
//!     }
//!     fn link_disable(&self) -> Result {
//!         Ok(())
//!     }
//!     fn mw_count(&self) -> u32 {
//!         1
//!     }
//!     fn mw_get_align(&self, _widx: MwIndex) -> Result<MwAlign> {
//!         Ok(MwAlign { addr_align: 4096, size_align: 4096, size_max: 1 << 20 })
//!     }
//!     fn mw_set_trans(&self, _widx: MwIndex, _addr: DmaAddress, size: ResourceSize) -> Result {
//!         if size > 1 << 20 {
//!             return Err(EINVAL);
//!         }
//!         Ok(())
//!     }
//!     fn peer_mw_count(&self) -> u32 {
//!         1
//!     }
//!     fn peer_mw_get_addr(&self, _widx: MwIndex) -> Result<PeerMw> {
//!         Ok(PeerMw { base: *self.epc.window, size: 1 << 20 })
//!     }
//!     fn db_valid_mask(&self) -> u64 {
//!         0xf
//!     }
//!     fn db_read(&self) -> u64 {
//!         self.db.load(Relaxed)
//!     }
//!     fn db_clear(&self, bits: u64) -> Result {
//!         let mut old = self.db.load(Relaxed);
//!         while let Err(now) = self.db.cmpxchg(old, old & !bits, Relaxed) {
//!             old = now;
//!         }
//!         Ok(())
//!     }
//!     fn db_set_mask(&self, _bits: u64) -> Result {
//!         Ok(())
//!     }
//!     fn db_clear_mask(&self, _bits: u64) -> Result {
//!         Ok(())
//!     }
//!     fn peer_db_set(&self, _bits: u64) -> Result {
//!         Ok(())
//!     }
//! }
//!
//! /// Stands for the function's `Binding<'epc>`: the registration is dropped with it.
//! struct Binding<'epc> {
//!     ntb: ntb::Registration<VntbOps<'epc>>,
//!     events: Events,
//! }
//!
//! fn link<'epc>(pdev: &pci::Device, window: &'epc PhysAddr) -> Result<Binding<'epc>> {
//!     let ops = VntbOps { epc: Epc { window }, db: Atomic::new(0), link_up: Atomic::new(0) };
//!     // SAFETY: The binding is owned by the endpoint core, which drops it (and so the
//!     // registration) at unlink, before the controller link `'epc` ends.
//!     let ntb = unsafe {
//!         ntb::Registration::new_with_lt(pdev, ntb::Topology::None, Events::new(GFP_KERNEL)?, ops)
//!     }?;
//!     // A clone can go to an IRQ handler or a work item: it is `'static`.
//!     let events = ntb.events();
//!     Ok(Binding { ntb, events })
//! }
//!
//! // Called by the function's doorbell poll (or IRQ handler, with a clone of `events`).
//! fn doorbell_rung(binding: &Binding<'_>, vector: u32) {
//!     let db = &binding.ntb.data().db;
//!     let mut old = db.load(Relaxed);
//!     while let Err(now) = db.cmpxchg(old, old | (1u64 << (vector & 63)), Relaxed) {
//!         old = now;
//!     }
//!     binding.events.db_event(vector);
//! }
//! ```
//!
//! [`ntb_dev_ops_is_valid()`]: srctree/include/linux/ntb.h

use crate::{
    bindings, container_of, device,
    dma::DmaAddress,
    error::{
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    io::{
        PhysAddr,
        ResourceSize, //
    },
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        Arc,
    },
    types::Opaque,
};
use core::ptr;

mod adapter;

use self::adapter::Adapter;

/// The topology of an NTB device (C's `enum ntb_topo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// No topology (`NTB_TOPO_NONE`), e.g. a virtual NTB.
    None,
    /// On the primary side of a local NTB (`NTB_TOPO_PRI`).
    Primary,
    /// On the secondary side of a local NTB (`NTB_TOPO_SEC`).
    Secondary,
    /// On the primary side of a back-to-back NTB (`NTB_TOPO_B2B_USD`).
    B2bUpstream,
    /// On the secondary side of a back-to-back NTB (`NTB_TOPO_B2B_DSD`).
    B2bDownstream,
    /// A switch port (`NTB_TOPO_SWITCH`).
    Switch,
    /// A crosslink (`NTB_TOPO_CROSSLINK`).
    Crosslink,
}

impl Topology {
    fn as_raw(self) -> bindings::ntb_topo {
        match self {
            Self::None => bindings::ntb_topo_NTB_TOPO_NONE,
            Self::Primary => bindings::ntb_topo_NTB_TOPO_PRI,
            Self::Secondary => bindings::ntb_topo_NTB_TOPO_SEC,
            Self::B2bUpstream => bindings::ntb_topo_NTB_TOPO_B2B_USD,
            Self::B2bDownstream => bindings::ntb_topo_NTB_TOPO_B2B_DSD,
            Self::Switch => bindings::ntb_topo_NTB_TOPO_SWITCH,
            Self::Crosslink => bindings::ntb_topo_NTB_TOPO_CROSSLINK,
        }
    }
}

/// A link speed (C's `enum ntb_speed`).
///
/// # Examples
///
/// ```
/// use kernel::ntb::Speed;
///
/// assert_eq!(Speed::from_raw(-1), Some(Speed::Auto));
/// assert_eq!(Speed::from_raw(3), Some(Speed::Gen3));
/// assert_eq!(Speed::from_raw(5), None);
/// assert_eq!(Speed::Gen4.as_raw(), 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speed {
    /// The best the hardware can do (`NTB_SPEED_AUTO`).
    Auto,
    /// No link (`NTB_SPEED_NONE`).
    None,
    /// 2.5 GT/s (`NTB_SPEED_GEN1`).
    Gen1,
    /// 5 GT/s (`NTB_SPEED_GEN2`).
    Gen2,
    /// 8 GT/s (`NTB_SPEED_GEN3`).
    Gen3,
    /// 16 GT/s (`NTB_SPEED_GEN4`).
    Gen4,
}

impl Speed {
    /// Returns the speed of a C `enum ntb_speed` value, `None` for any other value.
    pub fn from_raw(raw: i32) -> Option<Self> {
        Some(match raw {
            -1 => Self::Auto,
            0 => Self::None,
            1 => Self::Gen1,
            2 => Self::Gen2,
            3 => Self::Gen3,
            4 => Self::Gen4,
            _ => return None,
        })
    }

    /// Returns the C `enum ntb_speed` value.
    pub fn as_raw(self) -> i32 {
        match self {
            Self::Auto => -1,
            Self::None => 0,
            Self::Gen1 => 1,
            Self::Gen2 => 2,
            Self::Gen3 => 3,
            Self::Gen4 => 4,
        }
    }
}

/// A link width (C's `enum ntb_width`).
///
/// # Examples
///
/// ```
/// use kernel::ntb::Width;
///
/// assert_eq!(Width::from_raw(-1), Some(Width::Auto));
/// assert_eq!(Width::from_raw(12), Some(Width::X12));
/// assert_eq!(Width::from_raw(3), None);
/// assert_eq!(Width::X32.as_raw(), 32);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// The best the hardware can do (`NTB_WIDTH_AUTO`).
    Auto,
    /// No link (`NTB_WIDTH_NONE`).
    None,
    /// One lane.
    X1,
    /// Two lanes.
    X2,
    /// Four lanes.
    X4,
    /// Eight lanes.
    X8,
    /// Twelve lanes.
    X12,
    /// Sixteen lanes.
    X16,
    /// Thirty-two lanes.
    X32,
}

impl Width {
    /// Returns the width of a C `enum ntb_width` value, `None` for any other value.
    pub fn from_raw(raw: i32) -> Option<Self> {
        Some(match raw {
            -1 => Self::Auto,
            0 => Self::None,
            1 => Self::X1,
            2 => Self::X2,
            4 => Self::X4,
            8 => Self::X8,
            12 => Self::X12,
            16 => Self::X16,
            32 => Self::X32,
            _ => return None,
        })
    }

    /// Returns the C `enum ntb_width` value.
    pub fn as_raw(self) -> i32 {
        match self {
            Self::Auto => -1,
            Self::None => 0,
            Self::X1 => 1,
            Self::X2 => 2,
            Self::X4 => 4,
            Self::X8 => 8,
            Self::X12 => 12,
            Self::X16 => 16,
            Self::X32 => 32,
        }
    }
}

/// The state of the link to the peer, as [`Operations::link_is_up`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The link is down.
    Down,
    /// The link is up, at this speed and width.
    Up {
        /// The link speed.
        speed: Speed,
        /// The link width.
        width: Width,
    },
}

/// Alignment and size restrictions of an inbound memory window ([`Operations::mw_get_align`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MwAlign {
    /// Alignment of the translated address.
    pub addr_align: ResourceSize,
    /// Alignment of the translated size.
    pub size_align: ResourceSize,
    /// Largest translated size.
    pub size_max: ResourceSize,
}

/// An outbound memory window ([`Operations::peer_mw_get_addr`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerMw {
    /// Physical address of the window, as the CPU reaches it.
    pub base: PhysAddr,
    /// Size of the window.
    pub size: ResourceSize,
}

macro_rules! checked_index {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        ///
        /// # Invariants
        ///
        #[doc = concat!("The index is less than the number of ", $what, " it was checked against.")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(u32);

        impl $name {
            #[doc = concat!("Checks a C index against the number of ", $what, ".")]
            ///
            /// Returns `None` if `raw` is negative or not less than `count`.
            #[inline]
            pub fn new(raw: i32, count: u32) -> Option<Self> {
                let idx = u32::try_from(raw).ok()?;
                // INVARIANT: `idx < count` is checked here.
                (idx < count).then_some(Self(idx))
            }

            /// Returns the index as a `usize`, for indexing the implementer's arrays.
            #[inline]
            pub fn get(self) -> usize {
                self.0 as usize
            }

            /// Returns the index as a `u32`.
            #[inline]
            pub fn as_u32(self) -> u32 {
                self.0
            }
        }
    };
}

checked_index!(
    /// A memory window index.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::ntb::MwIndex;
    ///
    /// assert_eq!(MwIndex::new(1, 2).map(MwIndex::get), Some(1));
    /// assert_eq!(MwIndex::new(2, 2), None);
    /// assert_eq!(MwIndex::new(-1, 2), None);
    /// assert_eq!(MwIndex::new(0, 0), None);
    /// ```
    MwIndex,
    "memory windows"
);
checked_index!(
    /// A scratchpad index.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::ntb::SpadIndex;
    ///
    /// assert_eq!(SpadIndex::new(63, 64).map(SpadIndex::as_u32), Some(63));
    /// assert_eq!(SpadIndex::new(64, 64), None);
    /// assert_eq!(SpadIndex::new(i32::MIN, 64), None);
    /// ```
    SpadIndex,
    "scratchpads"
);
checked_index!(
    /// A doorbell interrupt vector.
    DbVector,
    "doorbell vectors"
);

/// Checks doorbell bits against the valid mask.
///
/// # Examples
///
/// ```
/// use kernel::ntb::check_db_bits;
///
/// assert_eq!(check_db_bits(0b0101, 0b1111), Ok(0b0101));
/// assert_eq!(check_db_bits(0, 0b1111), Ok(0));
/// assert!(check_db_bits(0b1_0000, 0b1111).is_err());
/// ```
pub fn check_db_bits(bits: u64, valid_mask: u64) -> Result<u64> {
    if bits & !valid_mask != 0 {
        return Err(EINVAL);
    }
    Ok(bits)
}

/// The operations of an NTB device (C's `struct ntb_dev_ops`), implemented by its driver.
///
/// The methods are called by the NTB clients through C's `ntb_*()` functions. Index arguments
/// have been checked as the [module documentation](self) describes.
///
/// # Context
///
/// The link state, doorbell and scratchpad operations may be called from atomic context and
/// must not sleep: [`link_is_up`], [`db_valid_mask`], [`db_vector_count`], [`db_vector_mask`],
/// [`db_read`], [`db_clear`], [`db_set_mask`], [`db_clear_mask`], [`peer_db_set`],
/// [`spad_count`], [`spad_read`], [`spad_write`], [`peer_spad_read`] and [`peer_spad_write`].
/// The clients call them from their event callbacks, which the NTB core runs under a spinlock
/// with interrupts disabled (`ntb_link_event()`, `ntb_db_event()`), from tasklets and timers
/// (`ntb_transport`, `ntb_pingpong`), and on the transmit path of `ntb_netdev`; the abstraction
/// also reads the counts and the mask there, to check the arguments of the others.
///
/// The link control and memory window operations are called from process context only (a
/// client's probe and remove, its work items, its debugfs files) and may sleep: [`link_enable`],
/// [`link_disable`], [`mw_count`], [`mw_get_align`], [`mw_set_trans`], [`mw_clear_trans`],
/// [`peer_mw_count`], [`peer_mw_get_addr`] and [`get_dma_dev`]. C drivers do sleep there:
/// `ntb_hw_epf` sends the link and window commands to the endpoint under a mutex and waits for
/// their status, and `pci-epf-vntb` sets the BAR of a window with `pci_epc_set_bar()`.
///
/// [`link_is_up`]: Self::link_is_up
/// [`link_enable`]: Self::link_enable
/// [`link_disable`]: Self::link_disable
/// [`mw_count`]: Self::mw_count
/// [`mw_get_align`]: Self::mw_get_align
/// [`mw_set_trans`]: Self::mw_set_trans
/// [`mw_clear_trans`]: Self::mw_clear_trans
/// [`peer_mw_count`]: Self::peer_mw_count
/// [`peer_mw_get_addr`]: Self::peer_mw_get_addr
/// [`db_valid_mask`]: Self::db_valid_mask
/// [`db_vector_count`]: Self::db_vector_count
/// [`db_vector_mask`]: Self::db_vector_mask
/// [`db_read`]: Self::db_read
/// [`db_clear`]: Self::db_clear
/// [`db_set_mask`]: Self::db_set_mask
/// [`db_clear_mask`]: Self::db_clear_mask
/// [`peer_db_set`]: Self::peer_db_set
/// [`spad_count`]: Self::spad_count
/// [`spad_read`]: Self::spad_read
/// [`spad_write`]: Self::spad_write
/// [`peer_spad_read`]: Self::peer_spad_read
/// [`peer_spad_write`]: Self::peer_spad_write
/// [`get_dma_dev`]: Self::get_dma_dev
#[vtable]
pub trait Operations: Send + Sync {
    /// Returns the state of the link (`link_is_up`).
    fn link_is_up(&self) -> Link;

    /// Enables the link (`link_enable`), at most at this speed and width.
    fn link_enable(&self, max_speed: Speed, max_width: Width) -> Result;

    /// Disables the link (`link_disable`).
    fn link_disable(&self) -> Result;

    /// Returns the number of inbound memory windows (`mw_count`).
    fn mw_count(&self) -> u32;

    /// Returns the restrictions of an inbound memory window (`mw_get_align`).
    fn mw_get_align(&self, widx: MwIndex) -> Result<MwAlign>;

    /// Sets the translation of an inbound memory window to `addr` (`mw_set_trans`).
    ///
    /// `addr` and `size` come from the client: the implementer checks them against the window.
    fn mw_set_trans(&self, widx: MwIndex, addr: DmaAddress, size: ResourceSize) -> Result;

    /// Clears the translation of an inbound memory window (`mw_clear_trans`).
    fn mw_clear_trans(&self, _widx: MwIndex) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the number of outbound memory windows (`peer_mw_count`).
    fn peer_mw_count(&self) -> u32;

    /// Returns the address and size of an outbound memory window (`peer_mw_get_addr`).
    fn peer_mw_get_addr(&self, widx: MwIndex) -> Result<PeerMw>;

    /// Returns the mask of the doorbell bits (`db_valid_mask`).
    fn db_valid_mask(&self) -> u64;

    /// Returns the number of doorbell interrupt vectors (`db_vector_count`).
    fn db_vector_count(&self) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the doorbell bits a vector serves (`db_vector_mask`).
    fn db_vector_mask(&self, _vector: DbVector) -> u64 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the doorbell bits that are set (`db_read`).
    fn db_read(&self) -> u64;

    /// Clears doorbell bits (`db_clear`); `bits` is within [`Self::db_valid_mask`].
    fn db_clear(&self, bits: u64) -> Result;

    /// Masks doorbell bits (`db_set_mask`); `bits` is within [`Self::db_valid_mask`].
    fn db_set_mask(&self, bits: u64) -> Result;

    /// Unmasks doorbell bits (`db_clear_mask`); `bits` is within [`Self::db_valid_mask`].
    fn db_clear_mask(&self, bits: u64) -> Result;

    /// Rings the peer's doorbell bits (`peer_db_set`); `bits` is within
    /// [`Self::db_valid_mask`].
    fn peer_db_set(&self, bits: u64) -> Result;

    /// Returns the number of scratchpads (`spad_count`).
    fn spad_count(&self) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reads a local scratchpad (`spad_read`).
    fn spad_read(&self, _sidx: SpadIndex) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes a local scratchpad (`spad_write`).
    fn spad_write(&self, _sidx: SpadIndex, _val: u32) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reads a peer scratchpad (`peer_spad_read`).
    fn peer_spad_read(&self, _sidx: SpadIndex) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes a peer scratchpad (`peer_spad_write`).
    fn peer_spad_write(&self, _sidx: SpadIndex, _val: u32) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Returns the device the clients use for DMA (`get_dma_dev`).
    ///
    /// Without it, the clients use the PCI device the NTB device is registered on.
    fn get_dma_dev(&self) -> &device::Device {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The state of an [`Inner`]: `NEW` until a registration succeeds, `LIVE` after.
const NEW: i32 = 0;
const REGISTERING: i32 = 1;
const LIVE: i32 = 2;

/// The `struct ntb_dev`, shared by the registration and the [`Events`] handles.
///
/// # Invariants
///
/// - While `state` is `LIVE`, `ntb` has been registered with `ntb_register_device()` (it may
///   have been unregistered since): its `ctx_lock` is initialised.
/// - While the device is registered, `data` points to the operations' data of the
///   [`Registration`] that registered it, of the type its `ops` were built for.
#[pin_data]
struct Inner {
    #[pin]
    ntb: Opaque<bindings::ntb_dev>,
    data: Atomic<usize>,
    state: Atomic<i32>,
}

// SAFETY: The C side of `ntb` is made to be used from any thread (the NTB core locks
// `ctx_lock` itself); `data` and `state` are atomics.
unsafe impl Send for Inner {}
// SAFETY: See `Send`: `&Inner` only gives access to the event functions and the atomics.
unsafe impl Sync for Inner {}

/// A handle to raise the events of a registered NTB device (`ntb_link_event()`,
/// `ntb_db_event()`).
///
/// It is `'static`, `Send` and `Sync`, and can be called from any context: an interrupt handler,
/// a work item, an operation. Before its device is registered and after the registration is
/// dropped it does nothing.
///
/// The NTB core calls the client's event callback with a spinlock held that a client's
/// unregistration also takes: do not raise an event from an operation that a client calls from
/// its own event callback (the C core would deadlock the same way).
#[derive(Clone)]
pub struct Events(Arc<Inner>);

impl Events {
    /// Allocates an events handle for a device not registered yet (see
    /// [`Registration::with_events`]), so that the operations' data can hold a clone.
    pub fn new(flags: kernel::alloc::Flags) -> Result<Self> {
        let inner = Arc::pin_init(
            pin_init!(Inner {
                ntb <- Opaque::zeroed(),
                data: Atomic::new(0),
                state: Atomic::new(NEW),
            }),
            flags,
        )?;
        Ok(Self(inner))
    }

    fn raw(&self) -> Option<*mut bindings::ntb_dev> {
        (self.0.state.load(Acquire) == LIVE).then(|| self.0.ntb.get())
    }

    /// Tells the clients that the link state may have changed (`ntb_link_event()`).
    pub fn link_event(&self) {
        if let Some(ntb) = self.raw() {
            // SAFETY: By the invariants of `Inner`, `ntb` was registered (so its `ctx_lock` is
            // initialised) and its memory is kept alive by `self.0`. After the unregistration,
            // `ctx_ops` is NULL and the call does nothing.
            unsafe { bindings::ntb_link_event(ntb) };
        }
    }

    /// Tells the clients that doorbells of `vector` rang (`ntb_db_event()`).
    ///
    /// A vector above `i32::MAX` is ignored.
    pub fn db_event(&self, vector: u32) {
        let Ok(vector) = i32::try_from(vector) else {
            return;
        };
        if let Some(ntb) = self.raw() {
            // SAFETY: As in `link_event`.
            unsafe { bindings::ntb_db_event(ntb, vector) };
        }
    }
}

/// A registered NTB device.
///
/// It owns the operations' data `T` and the reference to the PCI device it is registered on.
/// Dropping it unregisters the device (`ntb_unregister_device()`: the clients are removed and
/// the `struct ntb_dev` is released), waits until no event callback runs (`ntb_clear_ctx()`),
/// then drops `T`.
///
/// # Invariants
///
/// `events.0.ntb` is registered, with `ops` built for `T` and `data` pointing to `*data`.
pub struct Registration<T: Operations> {
    events: Events,
    data: Pin<KBox<T>>,
    _pdev: ARef<pci::Device>,
}

impl<T: Operations> Registration<T> {
    /// Registers an NTB device on `pdev` with the operations of `data`.
    ///
    /// The NTB core names the device after `pdev` and makes `pdev` its parent. `T` is `'static`,
    /// so forgetting the registration leaks it but cannot make the operations reach freed data;
    /// for operations' data that borrows, see [`Self::new_with_lt`].
    pub fn new<E>(pdev: &pci::Device, topology: Topology, data: impl PinInit<T, E>) -> Result<Self>
    where
        T: 'static,
        Error: From<E>,
    {
        Self::with_events(pdev, topology, Events::new(GFP_KERNEL)?, data)
    }

    /// Registers an NTB device like [`Self::new`], with an events handle allocated beforehand
    /// (so that `data` can hold a clone of it).
    ///
    /// Fails with `EBUSY` if `events` already served a registration.
    pub fn with_events<E>(
        pdev: &pci::Device,
        topology: Topology,
        events: Events,
        data: impl PinInit<T, E>,
    ) -> Result<Self>
    where
        T: 'static,
        Error: From<E>,
    {
        // SAFETY: `T` is `'static`: whether or not the registration is dropped, the data the
        // operations reach stays valid.
        unsafe { Self::new_with_lt(pdev, topology, events, data) }
    }

    /// Registers an NTB device whose operations' data borrows (`T: 'a`).
    ///
    /// Like [`Self::with_events`]; the operations run until the registration is dropped.
    ///
    /// # Safety
    ///
    /// The caller must not `mem::forget()` the returned registration or otherwise prevent its
    /// [`Drop`] from running before the data `T` borrows goes away: the NTB clients would call
    /// the operations on it. A framework that owns the registration (as the endpoint core owns a
    /// function's binding) can wrap this in a safe interface.
    pub unsafe fn new_with_lt<E>(
        pdev: &pci::Device,
        topology: Topology,
        events: Events,
        data: impl PinInit<T, E>,
    ) -> Result<Self>
    where
        Error: From<E>,
    {
        let data = KBox::pin_init(data, GFP_KERNEL)?;
        let inner = &events.0;
        if inner.state.cmpxchg(NEW, REGISTERING, Acquire).is_err() {
            return Err(EBUSY);
        }
        let pdev: ARef<pci::Device> = pdev.into();
        let raw_pdev = pci_dev_raw(&pdev);
        let ntb = inner.ntb.get();
        inner
            .data
            .store(ptr::from_ref::<T>(&data) as usize, Relaxed);

        // SAFETY: `ntb` is a zeroed `struct ntb_dev` that was never registered (the state was
        // `NEW`) and that nothing else accesses (events only use a `LIVE` device). `raw_pdev`
        // is valid and stays so while `pdev` is kept (until after the unregistration).
        // `Adapter::<T>::VTABLE` is valid for the lifetime of the program and `data` points to
        // the `T` the trampolines expect.
        let ret = unsafe {
            (*ntb).pdev = raw_pdev;
            (*ntb).topo = topology.as_raw();
            (*ntb).ops = Adapter::<T>::vtable();
            bindings::ntb_register_device(ntb)
        };
        if let Err(e) = to_result(ret) {
            // SAFETY: `ntb_register_device()` passed its early checks (`pdev` and `ops` are set
            // and `ops` is valid by construction of `Adapter::<T>::VTABLE`), so it initialised
            // `released` and dropped its reference: wait until the device is released before
            // its memory can go. The device never becomes `LIVE`, so `events` stays unusable.
            unsafe { bindings::wait_for_completion(&raw mut (*ntb).released) };
            inner.data.store(0, Relaxed);
            return Err(e);
        }
        inner.state.store(LIVE, Release);

        // INVARIANT: The device is registered with `ops` built for `T` and `data` points to it.
        Ok(Self {
            events,
            data,
            _pdev: pdev,
        })
    }

    /// Returns the operations' data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// Returns a handle to raise the events of the device.
    pub fn events(&self) -> Events {
        self.events.clone()
    }

    /// Tells the clients that the link state may have changed (`ntb_link_event()`).
    pub fn link_event(&self) {
        self.events.link_event()
    }

    /// Tells the clients that doorbells of `vector` rang (`ntb_db_event()`).
    pub fn db_event(&self, vector: u32) {
        self.events.db_event(vector)
    }

    /// Returns the NTB device (`&ntb->dev`), e.g. to print with it.
    pub fn device(&self) -> &device::Device {
        // SAFETY: By the type invariants, `ntb` is registered, so its `dev` is a valid,
        // initialised `struct device` while `self` exists.
        unsafe { device::Device::from_raw(&raw mut (*self.events.0.ntb.get()).dev) }
    }

    /// Returns whether a client driver is bound to the device.
    pub fn has_client(&self) -> bool {
        // SAFETY: As in `device`. `driver` is read without the device lock: the answer is a
        // snapshot.
        !unsafe { ptr::read_volatile(&raw const (*self.events.0.ntb.get()).dev.driver) }.is_null()
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        let ntb = self.events.0.ntb.get();
        // SAFETY: By the type invariants, `ntb` is registered. `ntb_unregister_device()` removes
        // the clients and returns once the device is released; `ntb_clear_ctx()` then takes
        // `ctx_lock`, which every event callback runs under, so none runs after it returns and
        // none can start (its `ctx_ops` is NULL). `self.data` is dropped after this.
        unsafe {
            bindings::ntb_unregister_device(ntb);
            bindings::ntb_clear_ctx(ntb);
        }
        self.events.0.data.store(0, Relaxed);
    }
}

fn pci_dev_raw(pdev: &pci::Device) -> *mut bindings::pci_dev {
    let dev: &device::Device = pdev.as_ref();
    // SAFETY: `dev` is the `dev` field of the valid `struct pci_dev` of `pdev`.
    unsafe { container_of!(dev.as_raw(), bindings::pci_dev, dev) }
}

#[cfg(CONFIG_RUST_NTB_KUNIT_TEST)]
mod tests;
