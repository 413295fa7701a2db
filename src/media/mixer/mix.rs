//! The mixing arithmetic of one 10 ms tick.
//!
//! Each input's gain-ramped contribution is computed once and summed into one i32 total. An
//! output is then `saturate(total − Σ contributions it excludes)`: a full mix excludes nothing,
//! a mix-minus output excludes its own participant. Per tick this costs
//! `FRAME · (N + Σ_outputs (1 + |exclude|))` operations, i.e. O(inputs + outputs) for the usual
//! one-excluded-input mix-minus, instead of O(inputs × outputs) for mixing every output from
//! scratch. (i32 headroom: gain ≤ 16 keeps 4096 full-scale inputs below 2³¹.)

use super::fifo::FRAME;

pub type Frame = [i16; FRAME];
pub type Acc = [i32; FRAME];

/// `contrib = frame · g(i)` with `g` ramping linearly from `from` to `to` over the frame (so
/// that gain changes, mute, add and remove never step), and `total += contrib`. Truncation
/// instead of rounding (< 1 LSB) keeps the loop vectorisable; mix-minus stays exact because
/// it subtracts the very values that were added.
pub fn contribute(frame: &Frame, from: f32, to: f32, contrib: &mut Acc, total: &mut Acc) {
    if from == to {
        for ((c, t), &s) in contrib.iter_mut().zip(total.iter_mut()).zip(frame.iter()) {
            *c = (s as f32 * to) as i32;
            *t += *c;
        }
    } else {
        let step = (to - from) / FRAME as f32;
        for (i, ((c, t), &s)) in contrib.iter_mut().zip(total.iter_mut()).zip(frame.iter()).enumerate() {
            let g = from + step * (i + 1) as f32;
            *c = (s as f32 * g) as i32;
            *t += *c;
        }
    }
}

#[inline]
fn saturate(v: i32) -> i16 {
    v.clamp(i16::MIN as i32, i16::MAX as i32) as i16
}

/// The full mix.
pub fn full(total: &Acc, out: &mut Frame) {
    for (o, &t) in out.iter_mut().zip(total.iter()) {
        *o = saturate(t);
    }
}

/// The mix without the given contributions (mix-minus).
pub fn minus(total: &Acc, excluded: &[&Acc], scratch: &mut Acc, out: &mut Frame) {
    match excluded {
        [] => full(total, out),
        [one] => {
            for ((o, &t), &c) in out.iter_mut().zip(total.iter()).zip(one.iter()) {
                *o = saturate(t - c);
            }
        }
        many => {
            scratch.copy_from_slice(total);
            for c in many {
                for (s, &c) in scratch.iter_mut().zip(c.iter()) {
                    *s -= c;
                }
            }
            full(scratch, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_minus_equals_mixing_the_others() {
        let a: Frame = [1000; FRAME];
        let b: Frame = [-300; FRAME];
        let c: Frame = [20000; FRAME];
        let (mut ca, mut cb, mut cc, mut total) = ([0; FRAME], [0; FRAME], [0; FRAME], [0; FRAME]);
        contribute(&a, 1.0, 1.0, &mut ca, &mut total);
        contribute(&b, 1.0, 1.0, &mut cb, &mut total);
        contribute(&c, 0.5, 0.5, &mut cc, &mut total);
        let mut out = [0; FRAME];
        let mut scratch = [0; FRAME];
        full(&total, &mut out);
        assert_eq!(out[0], 1000 - 300 + 10000);
        minus(&total, &[&cc], &mut scratch, &mut out);
        assert_eq!(out[7], 700);
        minus(&total, &[&ca, &cb], &mut scratch, &mut out);
        assert_eq!(out[7], 10000);
    }

    #[test]
    fn saturates_instead_of_wrapping() {
        let loud: Frame = [30000; FRAME];
        let (mut c1, mut c2, mut total) = ([0; FRAME], [0; FRAME], [0; FRAME]);
        contribute(&loud, 1.0, 1.0, &mut c1, &mut total);
        contribute(&loud, 1.0, 1.0, &mut c2, &mut total);
        let mut out = [0; FRAME];
        full(&total, &mut out);
        assert!(out.iter().all(|&s| s == i16::MAX));
    }

    #[test]
    fn ramp_is_linear_and_ends_on_target() {
        let x: Frame = [10000; FRAME];
        let (mut c, mut total) = ([0; FRAME], [0; FRAME]);
        contribute(&x, 0.0, 1.0, &mut c, &mut total);
        assert!(c.windows(2).all(|w| (w[1] - w[0] - 21).abs() <= 1));
        assert_eq!(c[FRAME - 1], 10000);
    }

    /// The O(inputs + outputs) claim, measured: `cargo test --release mixer::mix -- --nocapture`.
    #[test]
    fn cost_grows_linearly() {
        fn tick_ns(n: usize) -> f64 {
            let frames: Vec<Frame> = (0..n).map(|i| [(i * 7) as i16; FRAME]).collect();
            let mut contrib: Vec<Acc> = vec![[0; FRAME]; n];
            let mut total = [0; FRAME];
            let (mut out, mut scratch) = ([0; FRAME], [0; FRAME]);
            let rounds = 2000;
            let t = std::time::Instant::now();
            for _ in 0..rounds {
                total.fill(0);
                for (f, c) in frames.iter().zip(contrib.iter_mut()) {
                    contribute(f, 0.9, 0.9, c, &mut total);
                }
                full(&total, &mut out);
                for c in &contrib {
                    minus(&total, &[c], &mut scratch, &mut out);
                    std::hint::black_box(&out);
                }
            }
            t.elapsed().as_nanos() as f64 / rounds as f64
        }
        tick_ns(8);
        let small = tick_ns(8);
        let large = tick_ns(64);
        eprintln!("mix kernel, inputs + (inputs+1) outputs per 10 ms tick: 8 → {:.1} µs, 64 → {:.1} µs (ratio {:.1} for 8× inputs)", small / 1e3, large / 1e3, large / small);
        // Linear would be 8×, quadratic 64×; allow generous noise on shared CI machines.
        assert!(large / small < 20.0, "ratio {}", large / small);
    }
}
