//! Wall-clock time and timers for the browser: `std::time` panics on wasm32-unknown-unknown,
//! so everything in the wallet takes its time from here.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use futures::future::{select, Either};
use wasm_bindgen_futures::JsFuture;

use crate::browser::JsTimer;

/// Milliseconds since the Unix epoch, from `Date.now()` (the user's clock: it can jump).
pub fn now_millis() -> u64 {
    // Date.now() is an integral number of milliseconds, well inside f64's exact range;
    // a negative value (clock before 1970) saturates to 0.
    let ms = js_sys::Date::now();
    if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    }
}

/// Whole seconds since the Unix epoch (see [`now_millis`]).
pub fn now_secs() -> u64 {
    now_millis() / 1000
}

/// Time since the Unix epoch as a `Duration` with millisecond precision, the form LDK's
/// `KeysManager::new` and time providers take.
pub fn since_unix_epoch() -> Duration {
    Duration::from_millis(now_millis())
}

/// A future that completes after a delay, driven by `setTimeout`. Dropping it clears the
/// timer. Delays above ~24.8 days are clamped to that (the browser's limit).
pub struct Sleep {
    promise: JsFuture,
    _timer: JsTimer,
}

/// Waits for `duration` (millisecond resolution, rounded down; browsers may delay timers in
/// background tabs, by a second or more).
pub fn sleep(duration: Duration) -> Sleep {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    let mut timer = None;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        timer = Some(JsTimer::new(&resolve, millis));
    });
    Sleep {
        promise: JsFuture::from(promise),
        _timer: timer.expect("the Promise executor runs synchronously"),
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // The promise only ever resolves (with undefined), so the result carries nothing.
        Pin::new(&mut self.promise).poll(cx).map(|_| ())
    }
}

/// The error of [`timeout`]: the deadline passed before the future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(pub Duration);

impl core::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "timed out after {} ms", self.0.as_millis())
    }
}

/// Runs `future` for at most `duration`; on timeout the future is dropped (cancelled).
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, Elapsed> {
    let future = core::pin::pin!(future);
    match select(future, sleep(duration)).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(((), _)) => Err(Elapsed(duration)),
    }
}
