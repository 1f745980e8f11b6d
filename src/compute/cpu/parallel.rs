//! Work split across threads where the build has them: a small pool in which the calling thread
//! works too. The threaded web build (`threads` feature, wasm atomics) runs its pool threads in
//! Web Workers that the JS runtime starts (src/web/threads.rs). Until [`set_threads`] says the
//! pool runs, and in every build without the feature, work runs on the calling thread.
//!
//! Why not rayon: a sentence's forward pass makes some thirty parallel calls a few hundred
//! microseconds apart, and rayon's threads fall asleep between them; waking a Web Worker through
//! `memory.atomic.notify` costs tens of microseconds, which ate most of the gain at batch 1.
//! Pool threads here spin for a while after each call (the next one usually comes first), then
//! sleep on the job counter.
//!
//! Callers split by output, and each output is computed by the same code on whichever thread
//! takes it, so results are bit-identical whatever the thread count.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(1);

/// How many threads the CPU kernels split work across (1: the calling thread only).
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// Calls `f` on consecutive ranges covering `0..len`, in parallel where threads are on: a few
/// ranges per thread (so a slow thread does not hold up the rest), none shorter than `min`.
pub fn for_ranges(len: usize, min: usize, f: impl Fn(Range<usize>) + Sync) {
    let parts = (threads() * 4).min(len / min.max(1));
    if parts <= 1 {
        return f(0..len);
    }
    let size = len.div_ceil(parts);
    run(len.div_ceil(size), &|p| f(p * size..((p + 1) * size).min(len)));
}

/// Calls `f` on consecutive pieces of `x` (none shorter than `min`), in parallel where threads
/// are on; for element-wise work, whose results do not depend on where the pieces start.
pub fn for_pieces(x: &mut [f32], min: usize, f: impl Fn(&mut [f32]) + Sync) {
    let len = x.len();
    let shared = SharedOut::new(x);
    for_ranges(len, min, |r| {
        // SAFETY: the ranges are disjoint, so each piece is this call's alone.
        f(unsafe { shared.slice(r) })
    });
}

#[cfg(not(feature = "threads"))]
fn run(parts: usize, f: &(dyn Fn(usize) + Sync)) {
    (0..parts).for_each(f);
}

#[cfg(feature = "threads")]
use pool::run;
#[cfg(feature = "threads")]
pub use pool::{run_pool_thread, set_threads};

#[cfg(feature = "threads")]
mod pool {
    use super::THREADS;
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering::SeqCst};

    /// One parallel call: parts `0..parts` of `f`, taken one at a time by whoever is free.
    struct Job {
        f: *const (dyn Fn(usize) + Sync),
        parts: usize,
        next: AtomicUsize,
        done: AtomicUsize,
    }

    /// Bumped for every job; pool threads wait on it.
    static EPOCH: AtomicU32 = AtomicU32::new(0);
    /// The running job (null between jobs); lives on its caller's stack.
    static CURRENT: AtomicPtr<Job> = AtomicPtr::new(std::ptr::null_mut());
    /// Pool threads that may be reading CURRENT's job; its caller waits for 0 before returning.
    static INSIDE: AtomicUsize = AtomicUsize::new(0);
    /// Pool threads asleep on EPOCH (a job wakes them only if there are any).
    static SLEEPING: AtomicUsize = AtomicUsize::new(0);
    /// A job runs (a parallel call made from inside one runs on its own thread instead).
    static BUSY: AtomicBool = AtomicBool::new(false);
    /// Checks of EPOCH a pool thread spins through after a job before it sleeps (about a
    /// millisecond; the next call of a forward pass comes sooner).
    const SPINS: u32 = 1 << 17;

    /// Turns splitting on across `n` threads: the caller and `n - 1` pool threads, which must
    /// already run [`run_pool_thread`] (1 turns it off).
    pub fn set_threads(n: usize) {
        THREADS.store(n.max(1), SeqCst);
    }

    fn work(job: &Job) {
        loop {
            let i = job.next.fetch_add(1, SeqCst);
            if i >= job.parts {
                return;
            }
            // SAFETY: the job's caller keeps `f` alive until every part is done and no pool
            // thread is inside the job (see `run`).
            unsafe { (*job.f)(i) };
            job.done.fetch_add(1, SeqCst);
        }
    }

    /// Runs `f(0..parts)` on the caller and the pool; returns when every part is done.
    pub(super) fn run(parts: usize, f: &(dyn Fn(usize) + Sync)) {
        if BUSY.swap(true, SeqCst) {
            return (0..parts).for_each(f);
        }
        // SAFETY (lifetime): the job, and `f` through it, is unpublished below and waited out
        // (INSIDE == 0) before this function returns.
        let f: *const (dyn Fn(usize) + Sync + '_) = f;
        let job = Job { f: unsafe { std::mem::transmute(f) }, parts, next: AtomicUsize::new(0), done: AtomicUsize::new(0) };
        CURRENT.store(&job as *const Job as *mut Job, SeqCst);
        EPOCH.fetch_add(1, SeqCst);
        if SLEEPING.load(SeqCst) > 0 {
            wake_all(&EPOCH);
        }
        work(&job);
        while job.done.load(SeqCst) < parts {
            std::hint::spin_loop();
        }
        CURRENT.store(std::ptr::null_mut(), SeqCst);
        while INSIDE.load(SeqCst) > 0 {
            std::hint::spin_loop();
        }
        BUSY.store(false, SeqCst);
    }

    /// A pool thread: takes parts of every job from now on; never returns.
    pub fn run_pool_thread() -> ! {
        let mut seen = EPOCH.load(SeqCst);
        loop {
            let mut spins = 0;
            while EPOCH.load(SeqCst) == seen {
                if spins < SPINS {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    SLEEPING.fetch_add(1, SeqCst);
                    if EPOCH.load(SeqCst) == seen {
                        wait(&EPOCH, seen);
                    }
                    SLEEPING.fetch_sub(1, SeqCst);
                }
            }
            seen = EPOCH.load(SeqCst);
            // Counted in before looking, so the caller cannot return while this reads its job.
            INSIDE.fetch_add(1, SeqCst);
            let job = CURRENT.load(SeqCst);
            if !job.is_null() {
                // SAFETY: non-null CURRENT is a live job until INSIDE drops back (see `run`).
                work(unsafe { &*job });
            }
            INSIDE.fetch_sub(1, SeqCst);
        }
    }

    #[cfg(target_arch = "wasm32")]
    fn wait(word: &AtomicU32, seen: u32) {
        // SAFETY: a valid, aligned i32 in this module's (shared) memory; -1: no timeout.
        unsafe { core::arch::wasm32::memory_atomic_wait32(word.as_ptr() as *mut i32, seen as i32, -1) };
    }

    #[cfg(target_arch = "wasm32")]
    fn wake_all(word: &AtomicU32) {
        // SAFETY: as in `wait`.
        unsafe { core::arch::wasm32::memory_atomic_notify(word.as_ptr() as *mut i32, u32::MAX) };
    }

    // Natively (the feature's tests) a short sleep stands in for the futex.
    #[cfg(not(target_arch = "wasm32"))]
    fn wait(word: &AtomicU32, seen: u32) {
        while word.load(SeqCst) == seen {
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn wake_all(_: &AtomicU32) {}
}

/// An output written by several threads at once, each to elements no other writes (a matmul's
/// columns split by weight row, an element-wise op's pieces, a matmul's activation tiles).
pub struct SharedOut<'a, T = f32> {
    ptr: *mut T,
    len: usize,
    _out: std::marker::PhantomData<&'a mut [T]>,
}

// SAFETY: the accessors are unsafe and their callers guarantee that no two threads touch one
// element; nothing else reads through the pointer while it is shared.
unsafe impl<T: Send> Send for SharedOut<'_, T> {}
unsafe impl<T: Send> Sync for SharedOut<'_, T> {}

impl<'a, T> SharedOut<'a, T> {
    pub fn new(out: &'a mut [T]) -> Self {
        SharedOut { ptr: out.as_mut_ptr(), len: out.len(), _out: std::marker::PhantomData }
    }

    /// Writes element `i` (bounds-checked).
    ///
    /// # Safety
    /// No other thread touches element `i` while this value is shared.
    #[inline(always)]
    pub unsafe fn set(&self, i: usize, v: T) {
        assert!(i < self.len, "SharedOut index {i} out of {}", self.len);
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { *self.ptr.add(i) = v }
    }

    /// Elements `r` (bounds-checked).
    ///
    /// # Safety
    /// No other thread touches these elements while the slice lives.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice(&self, r: Range<usize>) -> &mut [T] {
        assert!(r.start <= r.end && r.end <= self.len, "SharedOut range {r:?} out of {}", self.len);
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r.start), r.end - r.start) }
    }
}

#[cfg(all(test, feature = "threads", not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn parts_run_once_each_across_threads_and_results_match_one_thread() {
        std::thread::spawn(|| run_pool_thread());
        set_threads(2);
        for len in [1, 7, 100, 4099, 100_000] {
            let mut x: Vec<f32> = (0..len).map(|i| i as f32 * 0.001 - 3.0).collect();
            let want: Vec<f32> = x.iter().map(|v| (v * 1.5).sin()).collect();
            for_pieces(&mut x, 16, |p| p.iter_mut().for_each(|v| *v = (*v * 1.5).sin()));
            assert_eq!(x, want, "len {len}");
            let hits: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(0)).collect();
            for_ranges(len, 3, |r| r.for_each(|i| {
                hits[i].fetch_add(1, Ordering::SeqCst);
            }));
            assert!(hits.iter().all(|h| h.load(Ordering::SeqCst) == 1), "len {len}");
        }
    }
}
