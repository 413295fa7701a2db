//! Sequence and timestamp validation of one incoming RTP stream (RFC 3550 §A.1), with the
//! stream's output renumbered so that what follows (rtpjitterbuffer, depayloader, decoder)
//! only ever sees real gaps.
//!
//! RFC 3550 §A.1 tells a gap from a restart by sequence numbers alone: a jump of less than
//! MAX_DROPOUT (3000) is loss, a larger one (or a step back of more than MAX_MISORDER, 100)
//! a new sequence, accepted after probation (two packets in sequence). rtpjitterbuffer 1.22
//! does the same with a time-based MAX_DROPOUT (60 s of packets), so a sender that merely
//! renumbers by +1000 with continuous timestamps was taken to have lost 1000 packets: the
//! jitter buffer counted them and raised 1000 lost events. Here the timestamps and the
//! arrival times have a say too:
//!
//! - a forward jump is loss only when the RTP timestamps leave room for the missing packets
//!   (each carries audio, RFC 3550 §5.1: the timestamp advances with the sampling clock) and
//!   that media time is not ahead of the real time that passed (by arrival, within
//!   `AHEAD_SLACK` and 1 % clock drift). Otherwise it is a jump: probation, then a resync;
//! - a step back whose timestamp is not older than the newest packet is no reordered packet
//!   but a renumbering: probation, then a resync; a real reordered packet passes (the jitter
//!   buffer still decides whether it is too late); a repeated one is dropped as a duplicate;
//! - a new SSRC (another sender on the port, RFC 3550 §8.2) goes through probation too;
//! - an in-sequence packet whose timestamp goes backwards or runs ahead of real time keeps
//!   its place: only the timestamp mapping is rebased (no probation: the sequence numbers
//!   prove it is the same stream).
//!
//! A resync maps the new sequence onto the old one: its first accepted packet follows the
//! last one by the packet slots that really elapsed (arrival time, at least two: the packet
//! held in probation is dropped and so counts as one lost packet), so concealment downstream
//! is bounded by the real elapsed time, never by how many sequence numbers were skipped.
//! A stream that never misbehaves passes with its headers untouched.

/// RFC 3550 §A.1.
pub const MAX_DROPOUT: u16 = 3000;
pub const MAX_MISORDER: u16 = 100;
/// How far (ns) a packet's media time may run ahead of its arrival time, measured from the
/// least delayed packet of the stream: network jitter of the reference packet.
const AHEAD_SLACK_NS: i64 = 100_000_000;
/// Plus this fraction of the time since the reference: a sender's clock may run fast (RFC
/// 3550 §6.4.1 jitter is relative for this reason); 1 % is far beyond real crystals.
const DRIFT_DIVISOR: i64 = 100;
/// A packet later than the reference by more than this starts a new reference (after a
/// stall, as rtpjitterbuffer's skew estimation resyncs after 1 s).
const LATE_RESET_NS: i64 = 1_000_000_000;
/// The longest audio packet (an Opus packet, RFC 6716 §3.2.5): 120 ms.
const MAX_PACKET_NS: i64 = 120_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Pass the packet on with this sequence number and timestamp.
    Forward { seq: u16, ts: u32 },
    /// A copy of a packet already passed: drop.
    Duplicate,
    /// The first packet of what may be a new sequence or source (RFC 3550 §A.1 probation):
    /// dropped; the next one in sequence confirms it.
    Probation,
}

/// What happened to the stream, for stats.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub duplicates: u64,
    pub probation_drops: u64,
    /// New sequences accepted on the same SSRC (renumbering, or a jump the timestamps or the
    /// arrival times do not explain).
    pub sequence_resyncs: u64,
    /// Timestamp mapping rebased for an in-sequence packet.
    pub timestamp_resyncs: u64,
    pub ssrc_changes: u64,
    /// Media packets that arrived after a later one (overtaken on the way).
    pub reordered: u64,
}

#[derive(Debug, Clone, Copy)]
struct Stream {
    ssrc: u32,
    /// Highest sequence number accepted (input numbering).
    max_seq: u16,
    /// out = in + offset (mod 2^16, mod 2^32).
    seq_off: u16,
    ts_off: u32,
    /// Output timestamp and arrival (ns) of the newest media packet.
    last_ts: u32,
    last_arrival: u64,
    /// The reference for "ahead of real time": output timestamp and arrival (ns).
    ref_ts: u32,
    ref_arrival: u64,
    /// Bit i: sequence number max_seq − i was accepted.
    seen: u128,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    ssrc: u32,
    seq: u16,
    ts: u32,
    arrival: u64,
}

pub struct Ingress {
    clock_rate: u32,
    /// Timestamp units per packet, learnt from packets in sequence (default 20 ms, RFC 3551 §4.5).
    per_packet: u32,
    stream: Option<Stream>,
    candidate: Option<Candidate>,
    pub counts: Counts,
    /// How late the last reordered media packet was (`take_reorder_lateness`).
    reorder_lateness: Option<u64>,
    /// RFC 3550 §A.8 interarrival jitter of the media packets in sequence, ns.
    jitter: f64,
}

fn ts_delta_out(ts: u32, last: u32) -> i64 {
    i64::from(ts.wrapping_sub(last) as i32)
}

impl Ingress {
    pub fn new(clock_rate: u32) -> Self {
        Ingress { clock_rate: clock_rate.max(1), per_packet: clock_rate / 50, stream: None, candidate: None, counts: Counts::default(), reorder_lateness: None, jitter: 0.0 }
    }

    fn ns(&self, units: i64) -> i64 {
        units * 1_000_000_000 / i64::from(self.clock_rate)
    }

    fn units(&self, ns: u64) -> u64 {
        ns * u64::from(self.clock_rate) / 1_000_000_000
    }

    /// Media time (ns) of `ts` since the reference minus the arrival time since it.
    fn ahead(&self, s: &Stream, ts: u32, arrival: u64) -> (i64, i64) {
        let media = self.ns(i64::from(ts.wrapping_sub(s.ref_ts) as i32));
        let elapsed = arrival.saturating_sub(s.ref_arrival) as i64;
        (media - elapsed, elapsed)
    }

    fn in_real_time(&self, s: &Stream, ts: u32, arrival: u64) -> bool {
        let (ahead, elapsed) = self.ahead(s, ts, arrival);
        ahead <= AHEAD_SLACK_NS + elapsed / DRIFT_DIVISOR
    }

    /// Judge one packet of the stream: `media` is false for packets sharing the sequence
    /// space whose timestamps follow other rules (RFC 4733 telephone-events keep the event's
    /// start time); they get the same renumbering but do not move the timestamps.
    pub fn check(&mut self, ssrc: u32, seq: u16, ts: u32, arrival: u64, media: bool) -> Verdict {
        let Some(mut s) = self.stream else {
            // The first source is accepted at once (no other stream to protect yet).
            self.stream = Some(Stream {
                ssrc,
                max_seq: seq,
                seq_off: 0,
                ts_off: 0,
                last_ts: ts,
                last_arrival: arrival,
                ref_ts: ts,
                ref_arrival: arrival,
                seen: 1,
            });
            return Verdict::Forward { seq, ts };
        };
        if ssrc != s.ssrc {
            return self.probation(ssrc, seq, ts, arrival, media);
        }
        let udelta = seq.wrapping_sub(s.max_seq);
        let mut out_ts = ts.wrapping_add(s.ts_off);
        let ts_delta = i64::from(out_ts.wrapping_sub(s.last_ts) as i32);
        if udelta == 0 {
            if media && ts_delta > 0 {
                return self.probation(ssrc, seq, ts, arrival, media);
            }
            self.counts.duplicates += 1;
            return Verdict::Duplicate;
        }
        if udelta < MAX_DROPOUT {
            if media {
                let timely = self.in_real_time(&s, out_ts, arrival);
                if udelta == 1 {
                    if ts_delta <= 0 || !timely {
                        // Same sequence, implausible timestamp: this packet follows the last
                        // by one packet.
                        let want = s.last_ts.wrapping_add(self.per_packet);
                        s.ts_off = s.ts_off.wrapping_add(want.wrapping_sub(out_ts));
                        out_ts = want;
                        self.counts.timestamp_resyncs += 1;
                    } else if ts_delta <= self.ns_to_units_i(MAX_PACKET_NS) {
                        self.per_packet = ts_delta as u32;
                    }
                } else {
                    // udelta − 1 packets missing: loss only if the timestamps leave room for
                    // them (at least half a packet each) and arrival time for the timestamps.
                    let room = ts_delta >= i64::from(udelta) * i64::from(self.per_packet) / 2;
                    if !(room && timely) {
                        return self.probation(ssrc, seq, ts, arrival, media);
                    }
                }
                let (ahead, _) = self.ahead(&s, out_ts, arrival);
                if ahead < -LATE_RESET_NS {
                    s.ref_ts = out_ts;
                    s.ref_arrival = arrival;
                }
                // RFC 3550 §A.8 interarrival jitter (ns rather than timestamp units).
                let d = (arrival as i64 - s.last_arrival as i64) - self.ns(ts_delta_out(out_ts, s.last_ts));
                self.jitter += (d.unsigned_abs() as f64 - self.jitter) / 16.0;
                s.last_ts = out_ts;
                s.last_arrival = arrival;
            }
            s.seen = if udelta >= 128 { 1 } else { (s.seen << udelta) | 1 };
            s.max_seq = seq;
            self.stream = Some(s);
            return Verdict::Forward { seq: seq.wrapping_add(s.seq_off), ts: out_ts };
        }
        let back = s.max_seq.wrapping_sub(seq);
        if back <= MAX_MISORDER {
            if media && ts_delta >= 0 {
                // Older by number, not older by timestamp: renumbered, not reordered (nor
                // a copy, even if the number was seen).
                return self.probation(ssrc, seq, ts, arrival, media);
            }
            if s.seen & (1u128 << back) != 0 {
                self.counts.duplicates += 1;
                return Verdict::Duplicate;
            }
            s.seen |= 1u128 << back;
            self.stream = Some(s);
            if media {
                // Its place in time is `last_ts − ts` before the newest packet's arrival: it
                // is late by at least what a jitter buffer would have had to wait for it
                // (more when that newest packet came early).
                let behind = self.ns(-ts_delta).max(0) as u64;
                self.reorder_lateness = Some(arrival.saturating_sub(s.last_arrival) + behind);
                self.counts.reordered += 1;
            }
            // Reordered: the jitter buffer decides whether it is still in time.
            return Verdict::Forward { seq: seq.wrapping_add(s.seq_off), ts: out_ts };
        }
        self.probation(ssrc, seq, ts, arrival, media)
    }

    /// RFC 3550 §A.8 interarrival jitter (ns) of the stream's media packets in sequence.
    pub fn jitter_ns(&self) -> u64 {
        self.jitter as u64
    }

    /// How late (ns) the last reordered media packet checked since the previous call arrived
    /// after its place in time, as the newest packet and the timestamps place it.
    pub fn take_reorder_lateness(&mut self) -> Option<u64> {
        self.reorder_lateness.take()
    }

    fn ns_to_units_i(&self, ns: i64) -> i64 {
        ns * i64::from(self.clock_rate) / 1_000_000_000
    }

    /// RFC 3550 §A.1 probation: a packet that does not belong to the current sequence is
    /// held back; the next packet in sequence after it (same SSRC, timestamp moving forward
    /// no faster than real time) starts the new sequence.
    fn probation(&mut self, ssrc: u32, seq: u16, ts: u32, arrival: u64, media: bool) -> Verdict {
        if let Some(c) = self.candidate {
            let follows = c.ssrc == ssrc && seq == c.seq.wrapping_add(1);
            let forward = !media || {
                let d = i64::from(ts.wrapping_sub(c.ts) as i32);
                d > 0 && self.ns(d) <= arrival.saturating_sub(c.arrival) as i64 + AHEAD_SLACK_NS
            };
            if follows && forward {
                return self.resync(ssrc, seq, ts, arrival);
            }
        }
        self.candidate = Some(Candidate { ssrc, seq, ts, arrival });
        self.counts.probation_drops += 1;
        Verdict::Probation
    }

    fn resync(&mut self, ssrc: u32, seq: u16, ts: u32, arrival: u64) -> Verdict {
        let Some(s) = self.stream else { return Verdict::Forward { seq, ts } };
        // Packet slots that really elapsed since the last packet of the old sequence; at
        // least two: the candidate dropped in probation, and this one.
        let per = u64::from(self.per_packet.max(1));
        let elapsed = self.units(arrival.saturating_sub(s.last_arrival));
        let slots = ((elapsed + per / 2) / per).max(2);
        let out_seq = s.max_seq.wrapping_add(s.seq_off).wrapping_add(2);
        let out_ts = s.last_ts.wrapping_add((slots * per) as u32);
        if ssrc == s.ssrc {
            self.counts.sequence_resyncs += 1;
        } else {
            self.counts.ssrc_changes += 1;
        }
        self.stream = Some(Stream {
            ssrc,
            max_seq: seq,
            seq_off: out_seq.wrapping_sub(seq),
            ts_off: out_ts.wrapping_sub(ts),
            last_ts: out_ts,
            last_arrival: arrival,
            // The new timeline is anchored to arrival time, so the old reference still holds:
            // jumps cannot add up to more than the slack.
            ref_ts: s.ref_ts,
            ref_arrival: s.ref_arrival,
            seen: 1,
        });
        self.candidate = None;
        Verdict::Forward { seq: out_seq, ts: out_ts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// A 48 kHz stream of 20 ms packets: packet i arrives at i·20 ms.
    struct Sender {
        ingress: Ingress,
        ssrc: u32,
        seq: u16,
        ts: u32,
        i: u64,
    }

    impl Sender {
        fn new() -> Self {
            Sender { ingress: Ingress::new(48_000), ssrc: 7, seq: 100, ts: 1000, i: 0 }
        }
        /// Sends the next packet (then advances), returns the verdict.
        fn send(&mut self) -> Verdict {
            let v = self.ingress.check(self.ssrc, self.seq, self.ts, self.i * 20 * MS, true);
            self.seq = self.seq.wrapping_add(1);
            self.ts = self.ts.wrapping_add(960);
            self.i += 1;
            v
        }
        fn run(&mut self, n: usize) -> Vec<Verdict> {
            (0..n).map(|_| self.send()).collect()
        }
    }

    fn forwarded(v: &[Verdict]) -> Vec<(u16, u32)> {
        v.iter().filter_map(|v| if let Verdict::Forward { seq, ts } = v { Some((*seq, *ts)) } else { None }).collect()
    }

    /// The output is one sequence: numbers +1 and timestamps +960 apart except where `lost`
    /// packets are missing (then both skip over them).
    fn assert_continuous(out: &[(u16, u32)], lost: u16) {
        let mut skipped = 0;
        for w in out.windows(2) {
            let dseq = w[1].0.wrapping_sub(w[0].0);
            assert_eq!(w[1].1.wrapping_sub(w[0].1), 960 * u32::from(dseq), "timestamps follow the numbers: {w:?}");
            skipped += dseq - 1;
        }
        assert_eq!(skipped, lost, "{out:?}");
    }

    #[test]
    fn a_clean_stream_passes_untouched() {
        let mut s = Sender::new();
        let out = forwarded(&s.run(200));
        assert_eq!(out.len(), 200);
        assert_eq!(out[0], (100, 1000));
        assert_continuous(&out, 0);
        assert_eq!(s.ingress.counts, Counts::default());
    }

    /// RFC 3550 §A.8: zero for packets on time; the mean deviation of the transit time when
    /// every other packet is 10 ms late.
    #[test]
    fn interarrival_jitter_follows_rfc_3550() {
        let mut s = Sender::new();
        s.run(100);
        assert_eq!(s.ingress.jitter_ns(), 0);
        for i in 0..200u64 {
            let arrival = (100 + i) * 20 * MS + (i % 2) * 10 * MS;
            s.ingress.check(7, s.seq, s.ts, arrival, true);
            s.seq = s.seq.wrapping_add(1);
            s.ts = s.ts.wrapping_add(960);
        }
        let j = s.ingress.jitter_ns() as f64 / MS as f64;
        assert!((j - 10.0).abs() < 0.5, "jitter {j} ms");
    }

    #[test]
    fn a_renumbering_is_a_resync_not_1000_lost_packets() {
        for jump in [1000u16, 50, 2999, 3001, 30000, 0u16.wrapping_sub(50), 0u16.wrapping_sub(1000)] {
            let mut s = Sender::new();
            let mut v = s.run(50);
            s.seq = s.seq.wrapping_add(jump);
            v.extend(s.run(50));
            let out = forwarded(&v);
            // One packet (the probation candidate) dropped and counted as lost.
            assert_eq!(out.len(), 99, "jump {jump}");
            assert_continuous(&out, 1);
            assert_eq!(s.ingress.counts.sequence_resyncs, 1, "jump {jump}");
            assert_eq!(s.ingress.counts.probation_drops, 1);
        }
    }

    #[test]
    fn real_loss_is_a_gap() {
        let mut s = Sender::new();
        let mut v = s.run(50);
        for _ in 0..10 {
            s.send();
        }
        v.extend(s.run(50));
        let out = forwarded(&v);
        assert_continuous(&out, 10);
        assert_eq!(s.ingress.counts, Counts::default());
    }

    #[test]
    fn a_jump_of_numbers_and_timestamps_is_bounded_by_arrival_time() {
        // +1000 packets of media claimed 20 ms after the last one.
        let mut s = Sender::new();
        let mut v = s.run(50);
        s.seq = s.seq.wrapping_add(1000);
        s.ts = s.ts.wrapping_add(960 * 1000);
        v.extend(s.run(50));
        let out = forwarded(&v);
        assert_continuous(&out, 1);
        assert_eq!(s.ingress.counts.sequence_resyncs, 1);
    }

    #[test]
    fn timestamp_jumps_are_rebased() {
        for jump in [48_000u32 * 5, 48_000 * 300 / 1000, 0u32.wrapping_sub(48_000 * 2), 0u32.wrapping_sub(960)] {
            let mut s = Sender::new();
            let mut v = s.run(50);
            s.ts = s.ts.wrapping_add(jump);
            v.extend(s.run(50));
            let out = forwarded(&v);
            assert_eq!(out.len(), 100);
            assert_continuous(&out, 0);
            assert_eq!(s.ingress.counts.timestamp_resyncs, 1, "jump {jump}");
        }
    }

    #[test]
    fn silence_suppression_keeps_its_timestamps() {
        // RFC 3551 §4.1: a sender that stops during silence resumes with the next sequence
        // number and a timestamp that counts the silence; it arrives that much later.
        let mut s = Sender::new();
        let mut v = s.run(50);
        s.ts = s.ts.wrapping_add(48_000);
        s.i += 50;
        v.extend(s.run(50));
        let out = forwarded(&v);
        assert_eq!(out[50].1.wrapping_sub(out[49].1), 960 + 48_000);
        assert_eq!(s.ingress.counts, Counts::default());
    }

    #[test]
    fn duplicates_are_dropped_and_reordering_passes() {
        let mut s = Sender::new();
        let v = s.run(10);
        let (seq, ts) = (s.seq, s.ts);
        let dup = |s: &mut Sender, back: u16| s.ingress.check(7, seq.wrapping_sub(back), ts.wrapping_sub(960 * u32::from(back)), s.i * 20 * MS, true);
        assert_eq!(dup(&mut s, 1), Verdict::Duplicate);
        assert_eq!(dup(&mut s, 5), Verdict::Duplicate);
        assert_eq!(s.ingress.counts.duplicates, 2);
        // Packets 10 and 11 swapped.
        let a = (s.seq, s.ts);
        s.seq += 1;
        s.ts += 960;
        s.i += 1;
        assert!(matches!(s.send(), Verdict::Forward { .. }));
        assert_eq!(s.ingress.take_reorder_lateness(), None);
        assert_eq!(s.ingress.check(7, a.0, a.1, s.i * 20 * MS, true), Verdict::Forward { seq: a.0, ts: a.1 });
        // Packet 10 belonged at 200 ms and came at 240 ms (20 ms after packet 11).
        assert_eq!(s.ingress.take_reorder_lateness(), Some(40 * MS));
        assert_eq!(s.ingress.take_reorder_lateness(), None);
        assert_eq!(s.ingress.counts.reordered, 1);
        assert_eq!(s.ingress.check(7, a.0, a.1, s.i * 20 * MS, true), Verdict::Duplicate);
        assert_eq!(s.ingress.take_reorder_lateness(), None);
        assert_eq!(forwarded(&v).len(), 10);
        assert_eq!(s.ingress.counts.probation_drops, 0);
    }

    #[test]
    fn a_new_ssrc_takes_over_after_probation() {
        let mut s = Sender::new();
        let mut v = s.run(50);
        s.ssrc = 8;
        s.seq = 40_000;
        s.ts = 123_456_789;
        v.extend(s.run(50));
        let out = forwarded(&v);
        assert_continuous(&out, 1);
        assert_eq!(s.ingress.counts.ssrc_changes, 1);
    }

    #[test]
    fn a_stray_packet_does_not_derail_the_stream() {
        let mut s = Sender::new();
        let mut v = s.run(50);
        assert_eq!(s.ingress.check(7, 9999, 5, s.i * 20 * MS, true), Verdict::Probation);
        assert_eq!(s.ingress.check(99, 1, 5, s.i * 20 * MS, true), Verdict::Probation);
        v.extend(s.run(50));
        assert_continuous(&forwarded(&v), 0);
        assert_eq!(s.ingress.counts.sequence_resyncs + s.ingress.counts.ssrc_changes, 0);
    }

    #[test]
    fn a_resync_after_a_pause_keeps_the_elapsed_time() {
        let mut s = Sender::new();
        let mut v = s.run(50);
        s.ssrc = 9;
        s.seq = 7;
        s.i += 100; // 2 s without packets
        v.extend(s.run(50));
        let out = forwarded(&v);
        // One lost (the candidate), and 2 s + 2 packets of timestamps between the two.
        assert_eq!(out[50].0.wrapping_sub(out[49].0), 2);
        assert_eq!(out[50].1.wrapping_sub(out[49].1), 960 * 102);
    }

    #[test]
    fn repeated_small_jumps_cannot_run_ahead_of_real_time() {
        // Every packet claims 5 packets of media (4 "lost"): accepted as loss only while the
        // media time stays within the slack of real time; the total can not exceed it.
        let mut s = Sender::new();
        let mut v = s.run(10);
        for _ in 0..500 {
            s.seq = s.seq.wrapping_add(4);
            s.ts = s.ts.wrapping_add(4 * 960);
            v.push(s.send());
        }
        let out = forwarded(&v);
        let media_ms = out.last().unwrap().1.wrapping_sub(out[0].1) / 48;
        let real_ms = (s.i - 1) * 20;
        assert!(u64::from(media_ms) <= real_ms + 100 + real_ms / 100 + 40, "{media_ms} ms of media in {real_ms} ms");
    }
}
