//! Arithmetic of the native raw format (`RATE`, S16LE): time as sample positions, bytes as
//! samples.

use super::RATE;

/// `ns` of running time (or a duration) as whole samples at `RATE`.
pub fn samples_in(ns: u64) -> u64 {
    (u128::from(ns) * u128::from(RATE) / 1_000_000_000) as u64
}

/// The duration of `n` samples at `RATE`, in ns.
pub fn duration_of(n: u64) -> u64 {
    (u128::from(n) * 1_000_000_000 / u128::from(RATE)) as u64
}

/// S16LE `bytes` appended to `out` as samples (an odd last byte is no sample).
pub fn extend_samples(out: &mut impl Extend<i16>, bytes: &[u8]) {
    out.extend(bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
}

/// S16LE `bytes` as samples.
pub fn samples(bytes: &[u8]) -> Vec<i16> {
    let mut out = Vec::with_capacity(bytes.len() / 2);
    extend_samples(&mut out, bytes);
    out
}

/// `samples` as S16LE bytes.
pub fn to_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// The S16LE `bytes` read into `out`, as many samples as both hold.
pub fn read_samples(out: &mut [i16], bytes: &[u8]) {
    for (s, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *s = i16::from_le_bytes([b[0], b[1]]);
    }
}

/// `samples` written over the S16LE `bytes`, as many as both hold.
pub fn write_samples(bytes: &mut [u8], samples: &[i16]) {
    for (b, s) in bytes.chunks_exact_mut(2).zip(samples) {
        b.copy_from_slice(&s.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_bytes_round_trip() {
        assert_eq!(samples_in(20_000_000), 960);
        assert_eq!(duration_of(960), 20_000_000);
        // A week of running time does not overflow.
        assert_eq!(samples_in(7 * 86_400 * 1_000_000_000), 7 * 86_400 * u64::from(RATE));
        let pcm = [0i16, 1, -1, i16::MAX, i16::MIN];
        let bytes = to_bytes(&pcm);
        assert_eq!(samples(&bytes), pcm);
        let mut again = vec![0u8; bytes.len()];
        write_samples(&mut again, &pcm);
        assert_eq!(again, bytes);
        let mut read = [7i16; 6];
        read_samples(&mut read, &bytes);
        assert_eq!(read, [0, 1, -1, i16::MAX, i16::MIN, 7], "as many as both hold");
    }
}
