//! What a streaming thread reads from a stream's caps (a rate, a frame size), parsed once
//! per caps object rather than for every buffer.
//!
//! A stream keeps one caps object until its format changes: a sample's caps and a pad's
//! current caps are that object, refcounted. Parsing caps looks up string fields through
//! quarks, and at 50–100 buffers a second per stream it showed in every streaming thread's
//! profile (the socket's, the jitter buffer's, a producer's fan-out).

use std::sync::Mutex;

use gst::prelude::*;

/// The value `parse` made of the last caps seen, kept while the caps object stays the same.
pub struct CapsCache<T> {
    last: Option<(gst::Caps, Option<T>)>,
}

impl<T> Default for CapsCache<T> {
    fn default() -> Self {
        Self { last: None }
    }
}

impl<T> CapsCache<T> {
    /// `parse(caps)`, from the cache when `caps` is the object parsed last. Equal caps in
    /// another object are parsed again (same answer), which is rare and harmless.
    ///
    /// Owned caps, not a `&CapsRef`: the cache keeps a reference (a clone), and holding one is
    /// what keeps the object from being changed in place (`make_mut` copies a shared object)
    /// or freed and its address reused. `CapsRef::to_owned` would copy instead: a new object
    /// each time, never a hit. A sample's caps: `Sample::caps_owned`.
    pub fn get(&mut self, caps: &gst::Caps, parse: impl FnOnce(&gst::CapsRef) -> Option<T>) -> Option<&T> {
        let hit = self.last.as_ref().is_some_and(|(c, _)| c.as_ptr() == caps.as_ptr());
        if !hit {
            self.last = Some((caps.clone(), parse(caps)));
        }
        self.last.as_ref().and_then(|(_, v)| v.as_ref())
    }
}

/// The rate and bytes per frame of raw audio caps.
pub fn rate_and_bpf(caps: &gst::CapsRef) -> Option<(u32, usize)> {
    gst_audio::AudioInfo::from_caps(caps).ok().map(|i| (i.rate(), i.bpf() as usize))
}

/// What `parse` reads from the caps `pad` carries now, through `cache` (a pad probe's own).
pub fn from_pad<T: Copy>(pad: &gst::Pad, cache: &Mutex<CapsCache<T>>, parse: impl FnOnce(&gst::CapsRef) -> Option<T>) -> Option<T> {
    let caps = pad.current_caps()?;
    cache.lock().ok()?.get(&caps, parse).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_once_per_caps_object_and_again_when_the_caps_change() {
        gst::init().unwrap();
        let mut cache = CapsCache::default();
        let mut parsed = 0;
        let rate = |caps: &gst::CapsRef, parsed: &mut i32| {
            *parsed += 1;
            caps.structure(0).and_then(|s| s.get::<i32>("rate").ok())
        };
        let a = crate::media::raw_caps(48_000, 1);
        for _ in 0..3 {
            assert_eq!(cache.get(&a, |c| rate(c, &mut parsed)), Some(&48_000));
        }
        assert_eq!(parsed, 1);
        let b = crate::media::raw_caps(8_000, 1);
        assert_eq!(cache.get(&b, |c| rate(c, &mut parsed)), Some(&8_000));
        assert_eq!(parsed, 2);
        // Caps without the field: None, remembered as such.
        let none = gst::Caps::builder("audio/x-raw").build();
        assert_eq!(cache.get(&none, |c| rate(c, &mut parsed)), None);
        assert_eq!(cache.get(&none, |c| rate(c, &mut parsed)), None);
        assert_eq!(parsed, 3);
        let sample = gst::Sample::builder().caps(&a).build();
        let shared = sample.caps_owned().unwrap();
        assert_eq!(shared.as_ptr(), a.as_ptr(), "a reference, not a copy");
        assert_eq!(cache.get(&shared, |c| rate(c, &mut parsed)), Some(&48_000));
        assert_eq!(parsed, 4, "`a` again after `none`");
        assert_eq!(cache.get(&a, |c| rate(c, &mut parsed)), Some(&48_000));
        assert_eq!(parsed, 4);
    }
}
