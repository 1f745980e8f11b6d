//! Runs a future with every wake polling it at once, inside the callback that woke it.
//!
//! An IndexedDB transaction stays active only while its request events, and the microtasks
//! right after them, run. The single-threaded executor of wasm-bindgen-futures resumes a
//! future in such a microtask, but the threaded core module's executor (wasm atomics) resumes
//! it in a later task (`Atomics.waitAsync`), by which time the transaction has committed and
//! the next request fails. Driving a transaction's body with [`drive_now`] keeps each of its
//! requests inside that window, whichever executor runs the caller.
//!
//! Wakes must come from this thread (they do: a request's promise callback); the future is
//! dropped when the caller's future is, so a late wake finds nothing to poll.

use js_sys::{Function, Promise};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

type Body<T> = Pin<Box<dyn Future<Output = T>>>;

struct Driven<T> {
    body: RefCell<Option<Body<T>>>,
    out: RefCell<Option<T>>,
    /// Set while polling; a wake then asks for one more poll instead of polling re-entrantly.
    polling: Cell<bool>,
    again: Cell<bool>,
    done: RefCell<Option<Function>>,
}

impl<T: 'static> Driven<T> {
    fn poll_now(self: &Rc<Self>) {
        if self.polling.replace(true) {
            self.again.set(true);
            return;
        }
        loop {
            self.again.set(false);
            let waker = waker(self.clone());
            let mut body = self.body.borrow_mut();
            let Some(f) = body.as_mut() else { break };
            if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(&waker)) {
                *body = None;
                *self.out.borrow_mut() = Some(v);
                if let Some(done) = self.done.borrow_mut().take() {
                    let _ = done.call0(&JsValue::UNDEFINED);
                }
                break;
            }
            drop(body);
            if !self.again.get() {
                break;
            }
        }
        self.polling.set(false);
    }
}

struct Vtable<T>(std::marker::PhantomData<T>);

impl<T: 'static> Vtable<T> {
    const VTABLE: RawWakerVTable = RawWakerVTable::new(clone::<T>, wake::<T>, wake_by_ref::<T>, drop_rc::<T>);
}

fn vtable<T: 'static>() -> &'static RawWakerVTable {
    &Vtable::<T>::VTABLE
}

fn waker<T: 'static>(d: Rc<Driven<T>>) -> Waker {
    // SAFETY: the vtable's functions keep the Rc counts balanced; wakes happen on this thread.
    unsafe { Waker::from_raw(RawWaker::new(Rc::into_raw(d) as *const (), vtable::<T>())) }
}

unsafe fn clone<T: 'static>(p: *const ()) -> RawWaker {
    // SAFETY: p came from Rc::into_raw of an Rc<Driven<T>> (below); one more count.
    unsafe { Rc::increment_strong_count(p as *const Driven<T>) };
    RawWaker::new(p, vtable::<T>())
}
unsafe fn wake<T: 'static>(p: *const ()) {
    // SAFETY: takes over this waker's count.
    let d = unsafe { Rc::from_raw(p as *const Driven<T>) };
    d.poll_now();
}
unsafe fn wake_by_ref<T: 'static>(p: *const ()) {
    // SAFETY: borrows this waker's count without releasing it.
    let d = std::mem::ManuallyDrop::new(unsafe { Rc::from_raw(p as *const Driven<T>) });
    d.poll_now();
}
unsafe fn drop_rc<T: 'static>(p: *const ()) {
    // SAFETY: releases this waker's count.
    drop(unsafe { Rc::from_raw(p as *const Driven<T>) });
}

/// Runs `f` to completion, polling it first right away and then from each wake; resolves once
/// it is done (`None` only if its completion promise settled without it, which it cannot).
pub async fn drive_now<'a, T: 'static>(f: impl Future<Output = T> + 'a) -> Option<T> {
    let boxed: Pin<Box<dyn Future<Output = T> + 'a>> = Box::pin(f);
    // SAFETY: the body is dropped by `Forget` below before `'a` ends (this future holds the
    // borrows for as long as it lives), and nothing polls it after that.
    let body: Body<T> = unsafe { std::mem::transmute::<Pin<Box<dyn Future<Output = T> + 'a>>, Body<T>>(boxed) };
    let d = Rc::new(Driven { body: RefCell::new(Some(body)), out: RefCell::new(None), polling: Cell::new(false), again: Cell::new(false), done: RefCell::new(None) });
    struct Forget<T>(Rc<Driven<T>>);
    impl<T> Drop for Forget<T> {
        fn drop(&mut self) {
            self.0.body.borrow_mut().take();
        }
    }
    let guard = Forget(d.clone());
    let mut resolve = None;
    let done = Promise::new(&mut |r, _| resolve = Some(r));
    *d.done.borrow_mut() = resolve;
    d.poll_now();
    if d.out.borrow().is_none() {
        let _ = JsFuture::from(done).await;
    }
    drop(guard);
    d.out.take()
}
