// SPDX-License-Identifier: GPL-2.0

//! CRC-32 (IEEE 802.3) as computed by the kernel's `crc32_le()`.
//!
//! C header: [`include/linux/crc32.h`](srctree/include/linux/crc32.h)

/// Computes the least-significant-bit-first CRC-32 of `data`, continuing from `crc`.
///
/// Like C's `crc32_le()`, there is no pre- or post-inversion: pass `!0` to start the common
/// CRC-32 and invert the result if needed.
///
/// # Examples
///
/// ```
/// use kernel::crc32::crc32_le;
///
/// assert_eq!(!crc32_le(!0, b"123456789"), 0xcbf4_3926);
/// ```
// Inline, so that the kernel crate does not reference `crc32_le()` when CRC32 is a module.
#[inline]
pub fn crc32_le(crc: u32, data: &[u8]) -> u32 {
    // SAFETY: `data` is valid for reads of `data.len()` bytes.
    unsafe { crate::bindings::crc32_le(crc, data.as_ptr().cast(), data.len()) }
}
