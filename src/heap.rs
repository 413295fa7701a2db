//! The process's C heap (glibc malloc): handing back what closed connections freed, and what
//! it holds, for the soak (bench/soak.js) to tell memory in use from memory kept by the
//! allocator.

use napi_derive::napi;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
use std::sync::OnceLock;

/// How long after a close the heap is trimmed: closes in between share one trim.
const TRIM_DELAY: gst::ClockTime = gst::ClockTime::from_seconds(2);

/// Hands the memory a closed connection freed back to the system, a little later.
///
/// Not a leak fix: a connection's pipeline runs on a dozen short-lived threads (streaming,
/// ICE, DTLS), and glibc serves threads from up to 8 × cores malloc arenas. What those
/// threads free stays in the arenas, and glibc only returns an arena's free top: 400
/// create → connect → close cycles grew the arenas by 12 MB while the bytes in use grew by
/// 1.6 MB. `malloc_trim(0)` also releases the free pages inside them (MADV_DONTNEED): RSS
/// then grew 21–22 instead of 30–33 KB per pair (V8's young generation capped to keep it
/// out of the figure). One trim, ~2 ms, at most every `TRIM_DELAY`, on the system clock's
/// thread, never on a streaming thread or Node's. `GST_PC_MALLOC_TRIM=0` turns it off.
pub fn trim_soon() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use gst::prelude::*;
        use std::sync::atomic::{AtomicBool, Ordering};
        static PENDING: AtomicBool = AtomicBool::new(false);
        static ENABLED: OnceLock<bool> = OnceLock::new();
        if !*ENABLED.get_or_init(|| std::env::var_os("GST_PC_MALLOC_TRIM").is_none_or(|v| v != "0"))
        {
            return;
        }
        if PENDING.swap(true, Ordering::AcqRel) {
            return;
        }
        let clock = gst::SystemClock::obtain();
        let id = clock.new_single_shot_id(clock.time() + TRIM_DELAY);
        let scheduled = id.wait_async(|_, _, _| {
            PENDING.store(false, Ordering::Release);
            // SAFETY: malloc_trim only walks glibc's own arenas under their locks.
            unsafe {
                libc::malloc_trim(0);
            }
        });
        if scheduled.is_err() {
            PENDING.store(false, Ordering::Release);
        }
    }
}

/// What the C heap holds, in bytes, summed over every malloc arena (`mallinfo2`). Zero
/// everywhere on a C library without it.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NativeHeap {
    /// Allocated and not freed: chunks in the arenas plus mmap'd blocks.
    pub in_use: f64,
    /// Freed but kept by the arenas (part of it resident, part released with MADV_DONTNEED).
    pub free: f64,
    /// Of that, kept at the top of the arenas, which `malloc_trim` can give back whole.
    pub releasable: f64,
}

#[napi]
pub fn native_heap() -> NativeHeap {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads glibc's arena statistics under their locks.
        let m = unsafe { libc::mallinfo2() };
        NativeHeap {
            in_use: (m.uordblks + m.hblkhd) as f64,
            free: m.fordblks as f64,
            releasable: m.keepcost as f64,
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    NativeHeap::default()
}
