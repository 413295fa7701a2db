//! The reordering rule of `gstpc-rtpreorder`, apart from GStreamer: which packets leave now,
//! in which order, with which timestamps, and when to give up on a missing one.
//!
//! - A packet with the next sequence number leaves at once, with every held packet that then
//!   follows in order.
//! - A packet beyond a gap is held; the gap is given up on `wait` after the first packet held
//!   behind it arrived (the missing one was due before it), and the held run leaves then.
//! - A packet older than the next expected (late: already given up on, or a duplicate) is
//!   dropped. One more than `MAX_MISORDER` behind or `MAX_DROPOUT` ahead is a very large jump
//!   (RFC 3550 §A.1): dropped too, unless the packet after it follows it, which is a sender
//!   that restarted its sequence numbers; the stream then starts over from that packet.
//! - Timestamps come from the RTP timestamps (RFC 3550 §5.1: the sampling instant), anchored at
//!   the arrival of the stream's first packet: the audio and its timestamps stay contiguous
//!   whatever the network's jitter, as a jitter buffer's output is. The anchor moves to a
//!   packet's arrival when its timestamp would put it more than `PAUSE` before its arrival (a
//!   sender that paused without advancing its timestamps, a slow clock: a hole, which costs
//!   nothing) or more than `AHEAD` after it (a timestamp jump, a fast clock, a first packet
//!   that came late), when its timestamp runs backwards or its clock rate changes. A decoder's
//!   output stamped earlier than audio already let through is cut beyond
//!   `playout::MAX_LEAD` (`RealTimeClamp`, which keeps a receive stream in real time); `AHEAD`
//!   is half of it, so a re-anchoring never cuts by itself, and a sender's excess audio (a
//!   fast clock) is cut where it builds up, as behind a jitter buffer. Packets off the
//!   timeline (telephone-events, whose packets all carry their event's start, RFC 4733
//!   §2.5.1.2) are stamped with their arrival and move nothing.

use std::collections::BTreeMap;

/// RFC 3550 §A.1's bounds, in packets.
pub const MAX_MISORDER: i64 = 100;
pub const MAX_DROPOUT: i64 = 3000;
/// At most this many packets are held behind gaps (over a second of 20 ms packets): beyond it
/// the oldest gap is given up on at once.
pub const MAX_HELD: usize = 64;
/// How far behind its arrival a packet's timestamp may put it before the timeline is
/// re-anchored.
pub const PAUSE_NS: u64 = 1_000_000_000;
/// How far ahead of its arrival.
pub const AHEAD_NS: u64 = crate::media::playout::MAX_LEAD.nseconds() / 2;

/// Extended sequence numbers start here so that a restart below the first never goes negative.
const EXT_BASE: i64 = 1 << 32;

struct Held<B> {
    arrival: u64,
    ts: u32,
    rate: Option<u32>,
    item: B,
}

/// A packet leaving, in order: the item, its timestamp (ns), and whether packets before it
/// were given up on (or the stream started over).
pub struct Release<B> {
    pub item: B,
    pub pts: u64,
    pub discont: bool,
}

pub struct Output<B> {
    pub released: Vec<Release<B>>,
    /// When (arrival-time ns) the oldest gap must be given up on, if one is open.
    pub deadline: Option<u64>,
}

#[derive(Default)]
struct Timeline {
    /// (arrival ns, extended timestamp, clock rate) of the anchor packet.
    anchor: Option<(u64, i64, u32)>,
    /// Extended timestamp and RTP timestamp of the last packet stamped.
    last: i64,
    last_ts: u32,
}

impl Timeline {
    fn pts(&mut self, ts: u32, rate: u32, arrival: u64) -> u64 {
        let rate = rate.max(1);
        let ext = match self.anchor {
            Some(_) => self.last + i64::from(ts.wrapping_sub(self.last_ts) as i32),
            None => i64::from(ts),
        };
        let on_line = self.anchor.and_then(|(at, anchor_ts, anchor_rate)| {
            if anchor_rate != rate || ext < self.last {
                return None;
            }
            let since = u64::try_from(u128::try_from(ext - anchor_ts).ok()? * 1_000_000_000 / u128::from(rate)).ok()?;
            let pts = at.checked_add(since)?;
            (arrival <= pts.saturating_add(PAUSE_NS) && pts <= arrival.saturating_add(AHEAD_NS)).then_some(pts)
        });
        self.last = ext;
        self.last_ts = ts;
        on_line.unwrap_or_else(|| {
            self.anchor = Some((arrival, ext, rate));
            arrival
        })
    }
}

pub struct Order<B> {
    /// The extended sequence number expected next; None before the first packet.
    next: Option<i64>,
    held: BTreeMap<i64, Held<B>>,
    timeline: Timeline,
    /// The next packet released follows a gap given up on (or a new start).
    discont: bool,
    /// The sequence number that confirms a very large jump: the one after it.
    jump: Option<u16>,
    /// Packets dropped as late, duplicate or a jump not confirmed.
    pub dropped: u64,
}

impl<B> Default for Order<B> {
    fn default() -> Self {
        Self { next: None, held: BTreeMap::new(), timeline: Timeline::default(), discont: true, jump: None, dropped: 0 }
    }
}

impl<B> Order<B> {
    /// A packet arrived (`arrival` in ns, on the clock deadlines are given on), of a payload
    /// type with clock `rate`, or None for one off the timeline.
    pub fn packet(&mut self, seq: u16, ts: u32, rate: Option<u32>, arrival: u64, wait: u64, item: B) -> Output<B> {
        let mut released = Vec::new();
        let next = *self.next.get_or_insert(EXT_BASE + i64::from(seq));
        let ext = next + i64::from(seq.wrapping_sub(next as u16) as i16);
        let d = ext - next;
        if d < -MAX_MISORDER || d > MAX_DROPOUT {
            if self.jump != Some(seq) {
                self.jump = Some(seq.wrapping_add(1));
                self.dropped += 1;
                return self.output(released, wait);
            }
            // A new start: what is held leaves first (it came before), then this.
            self.flush_all(&mut released);
            self.next = Some(ext);
            self.discont = true;
            self.jump = None;
        } else if d < 0 {
            self.dropped += 1;
            return self.output(released, wait);
        } else if d > 0 {
            if self.held.contains_key(&ext) {
                self.dropped += 1;
            } else {
                self.held.insert(ext, Held { arrival, ts, rate, item });
                while self.held.len() > MAX_HELD {
                    self.give_up_oldest_gap(&mut released);
                }
            }
            return self.output(released, wait);
        }
        self.release(ts, rate, arrival, item, &mut released);
        self.release_run(&mut released);
        self.output(released, wait)
    }

    /// Give up on every gap whose deadline has passed at `now`.
    pub fn expire(&mut self, now: u64, wait: u64) -> Output<B> {
        let mut released = Vec::new();
        while self.oldest_arrival().is_some_and(|a| a.saturating_add(wait) <= now) {
            self.give_up_oldest_gap(&mut released);
        }
        self.output(released, wait)
    }

    /// Everything held, in order (the end of the stream).
    pub fn drain(&mut self) -> Vec<Release<B>> {
        let mut released = Vec::new();
        self.flush_all(&mut released);
        released
    }

    /// Forget the stream (a flush): the next packet starts it over.
    pub fn reset(&mut self) {
        *self = Self { dropped: self.dropped, ..Self::default() };
    }

    /// The oldest gap is given up on once the first packet held behind any gap (the missing
    /// packets were due before it) has waited: the earliest arrival held, not the arrival of
    /// the lowest sequence number held, which a later reordered packet can be.
    fn oldest_arrival(&self) -> Option<u64> {
        self.held.values().map(|h| h.arrival).min()
    }

    fn output(&self, released: Vec<Release<B>>, wait: u64) -> Output<B> {
        let deadline = self.oldest_arrival().map(|a| a.saturating_add(wait));
        Output { released, deadline }
    }

    fn release(&mut self, ts: u32, rate: Option<u32>, arrival: u64, item: B, out: &mut Vec<Release<B>>) {
        let pts = rate.map_or(arrival, |rate| self.timeline.pts(ts, rate, arrival));
        out.push(Release { item, pts, discont: std::mem::take(&mut self.discont) });
        if let Some(next) = self.next.as_mut() {
            *next += 1;
        }
    }

    /// Release the held packets that now follow in order.
    fn release_run(&mut self, out: &mut Vec<Release<B>>) {
        while let Some(next) = self.next {
            let Some(h) = self.held.remove(&next) else { break };
            self.release(h.ts, h.rate, h.arrival, h.item, out);
        }
    }

    /// The packets before the oldest held one are lost: continue from it.
    fn give_up_oldest_gap(&mut self, out: &mut Vec<Release<B>>) {
        let Some((&first, _)) = self.held.first_key_value() else { return };
        self.next = Some(first);
        self.discont = true;
        self.release_run(out);
    }

    fn flush_all(&mut self, out: &mut Vec<Release<B>>) {
        while !self.held.is_empty() {
            self.give_up_oldest_gap(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const WAIT: u64 = 40 * MS;

    /// Packet `seq` of a 20 ms PCMU stream (160 timestamp units each) arriving at `at_ms`.
    fn send(o: &mut Order<u16>, seq: u16, at_ms: u64) -> (Vec<(u16, u64, bool)>, Option<u64>) {
        let out = o.packet(seq, u32::from(seq).wrapping_mul(160), Some(8000), at_ms * MS, WAIT, seq);
        (out.released.into_iter().map(|r| (r.item, r.pts / MS, r.discont)).collect(), out.deadline.map(|d| d / MS))
    }

    #[test]
    fn in_order_packets_leave_at_once_timed_by_their_timestamps_not_their_arrival() {
        let mut o = Order::default();
        assert_eq!(send(&mut o, 10, 1000), (vec![(10, 1000, true)], None));
        // 7 ms of jitter either way: the timestamps stay 20 ms apart.
        assert_eq!(send(&mut o, 11, 1027), (vec![(11, 1020, false)], None));
        assert_eq!(send(&mut o, 12, 1033), (vec![(12, 1040, false)], None));
    }

    #[test]
    fn a_reordered_packet_is_waited_for_and_the_run_behind_it_follows_in_order() {
        let mut o = Order::default();
        send(&mut o, 1, 0);
        assert_eq!(send(&mut o, 3, 40), (vec![], Some(80)));
        assert_eq!(send(&mut o, 4, 60), (vec![], Some(80)));
        assert_eq!(send(&mut o, 2, 65), (vec![(2, 20, false), (3, 40, false), (4, 60, false)], None));
        assert_eq!(o.dropped, 0);
    }

    #[test]
    fn a_gap_is_given_up_on_after_the_wait_and_its_packet_dropped_if_it_still_comes() {
        let mut o = Order::default();
        send(&mut o, 1, 0);
        send(&mut o, 3, 40);
        assert!(o.expire(79 * MS, WAIT).released.is_empty());
        let out = o.expire(80 * MS, WAIT);
        let got: Vec<_> = out.released.iter().map(|r| (r.item, r.pts / MS, r.discont)).collect();
        assert_eq!(got, vec![(3, 40, true)]);
        assert_eq!(out.deadline, None);
        assert_eq!(send(&mut o, 2, 90), (vec![], None));
        assert_eq!(send(&mut o, 3, 91), (vec![], None), "a duplicate");
        assert_eq!(o.dropped, 2);
        assert_eq!(send(&mut o, 4, 100), (vec![(4, 60, false)], None));
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut o = Order::default();
        send(&mut o, 65534, 0);
        send(&mut o, 65535, 20);
        assert_eq!(send(&mut o, 1, 60), (vec![], Some(100)));
        assert_eq!(send(&mut o, 0, 61).0.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0, 1]);
    }

    #[test]
    fn a_very_large_jump_starts_the_stream_over_once_the_next_packet_confirms_it() {
        let mut o = Order::default();
        send(&mut o, 5000, 0);
        send(&mut o, 5002, 40);
        // 200 behind: dropped until its successor confirms a restart; the held packet leaves
        // first, then the new start.
        assert_eq!(send(&mut o, 4800, 60), (vec![], Some(80)));
        let (got, deadline) = send(&mut o, 4801, 80);
        assert_eq!(got.iter().map(|r| (r.0, r.2)).collect::<Vec<_>>(), vec![(5002, true), (4801, true)]);
        assert_eq!(deadline, None);
        // A stray packet far ahead changes nothing.
        assert_eq!(send(&mut o, 9000, 100), (vec![], None));
        assert_eq!(send(&mut o, 4802, 120).0.iter().map(|r| (r.0, r.2)).collect::<Vec<_>>(), vec![(4802, false)]);
        send(&mut o, 9000, 140);
        assert_eq!(send(&mut o, 9001, 160).0.iter().map(|r| (r.0, r.2)).collect::<Vec<_>>(), vec![(9001, true)]);
        assert_eq!(o.dropped, 3);
    }

    #[test]
    fn holding_is_bounded() {
        let mut o = Order::default();
        send(&mut o, 0, 0);
        let mut released = 0;
        for s in 2..(2 + MAX_HELD as u16 + 1) {
            released += send(&mut o, s, u64::from(s) * 20).0.len();
        }
        assert_eq!(released, MAX_HELD + 1, "the oldest gap was given up on");
    }

    #[test]
    fn the_gap_is_timed_from_the_earliest_packet_held_behind_it() {
        let mut o = Order::default();
        send(&mut o, 1, 0);
        assert_eq!(send(&mut o, 5, 20), (vec![], Some(60)));
        assert_eq!(send(&mut o, 3, 50), (vec![], Some(60)));
        let got: Vec<u16> = o.expire(60 * MS, WAIT).released.iter().map(|r| r.item).collect();
        assert_eq!(got, vec![3, 5]);
    }

    #[test]
    fn packets_off_the_timeline_are_stamped_at_arrival_and_move_nothing() {
        let mut o = Order::default();
        send(&mut o, 1, 1000);
        // A telephone-event carrying an old timestamp, held over a second.
        let out = o.packet(2, 0, None, 2500 * MS, WAIT, 2);
        assert_eq!(out.released.iter().map(|r| r.pts / MS).collect::<Vec<_>>(), vec![2500]);
        assert_eq!(send(&mut o, 3, 1040).0, vec![(3, 1040, false)]);
    }


    #[test]
    fn the_timeline_follows_the_timestamps_within_bounds_of_arrival() {
        let mut t = Timeline::default();
        let ms = |n: u64| n * MS;
        assert_eq!(t.pts(0, 8000, ms(1000)), ms(1000));
        // Jitter: the timestamps, not the arrivals.
        assert_eq!(t.pts(160, 8000, ms(1035)), ms(1020));
        assert_eq!(t.pts(320, 8000, ms(1001)), ms(1040));
        // A sender a little fast: its timestamps run ahead of arrival, up to AHEAD.
        assert_eq!(t.pts(160 * 50, 8000, ms(1000 + 950)), ms(2000));
        // Beyond: re-anchored at arrival, a step back RealTimeClamp absorbs.
        assert_eq!(t.pts(160 * 100, 8000, ms(1000 + 1930)), ms(2930));
        // A 3 s pause without the timestamps advancing: re-anchored at arrival.
        assert_eq!(t.pts(160 * 101, 8000, ms(6000)), ms(6000));
        assert_eq!(t.pts(160 * 102, 8000, ms(6021)), ms(6020));
        // The timestamps jump 10 s ahead, then come back: re-anchored each time, no jump.
        assert_eq!(t.pts(160 * 103 + 80_000, 8000, ms(6040)), ms(6040));
        assert_eq!(t.pts(160 * 104 + 80_000, 8000, ms(6061)), ms(6060));
        assert_eq!(t.pts(160 * 105, 8000, ms(6080)), ms(6080));
        // Another clock rate (a codec change): re-anchored.
        assert_eq!(t.pts(5, 48000, ms(6100)), ms(6100));
        // A clock 10 % fast: never more than AHEAD in front of arrival.
        let mut t = Timeline::default();
        for k in 0..1000u32 {
            let at = u64::from(k) * ms(18);
            let pts = t.pts(k * 160, 8000, at);
            assert!(pts >= at && pts <= at + AHEAD_NS, "packet {k}: {pts} at {at}");
        }
        // Timestamps wrap.
        let mut t = Timeline::default();
        t.pts(u32::MAX - 79, 8000, 0);
        assert_eq!(t.pts(80, 8000, ms(20)), ms(20));
    }
}
