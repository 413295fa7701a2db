//! Which transceiver an m-line of a description belongs to, as a pure function of what the
//! registry knows about each transceiver, so the rule is unit-tested without webrtcbin.

/// What the matcher needs of one transceiver, in registry (creation) order.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Slot<'a> {
    /// The mid webrtcbin assigned, once negotiated.
    pub mid: Option<&'a str>,
    /// The offered m-line it will answer (`answer_remote_media`), before webrtcbin knows.
    pub pending_mline: Option<u32>,
    /// webrtcbin's m-line index, once associated.
    pub mline: Option<u32>,
}

/// The index in `slots` of the transceiver behind m-line `idx` of a description whose m-lines
/// carry `mids`: by mid once negotiated (RFC 8843 identification), else by the m-line it answers
/// or was assigned, else (our own new offers) the unassociated transceivers in creation order,
/// which is how webrtcbin 1.22 lays out new m-lines in an offer.
pub(super) fn match_mline(slots: &[Slot], mids: &[Option<&str>], idx: u32) -> Option<usize> {
    let mid = mids.get(idx as usize).copied().flatten();
    let find = |pred: &dyn Fn(&Slot) -> bool| slots.iter().position(pred);
    find(&|t| mid.is_some() && t.mid == mid)
        .or_else(|| find(&|t| t.pending_mline == Some(idx)))
        .or_else(|| find(&|t| t.mline == Some(idx)))
        .or_else(|| {
            // The m-lines up to idx that no transceiver's mid claims are the new ones; the k-th
            // of them goes to the k-th transceiver without a mid or a pending m-line.
            let new_lines = mids
                .iter()
                .take(idx as usize + 1)
                .filter(|m| m.is_none() || !slots.iter().any(|t| t.mid == **m))
                .count();
            let k = new_lines.checked_sub(1)?;
            slots
                .iter()
                .enumerate()
                .filter(|(_, t)| t.mid.is_none() && t.pending_mline.is_none())
                .nth(k)
                .map(|(i, _)| i)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(mid: Option<&'static str>, pending: Option<u32>, mline: Option<u32>) -> Slot<'static> {
        Slot { mid, pending_mline: pending, mline }
    }

    #[test]
    fn mid_wins_over_position() {
        let slots = [slot(Some("1"), None, Some(0)), slot(Some("0"), None, Some(1))];
        assert_eq!(match_mline(&slots, &[Some("0"), Some("1")], 0), Some(1));
        assert_eq!(match_mline(&slots, &[Some("0"), Some("1")], 1), Some(0));
    }

    #[test]
    fn pending_mline_then_webrtcbin_mline() {
        let slots = [slot(None, None, Some(0)), slot(None, Some(1), None)];
        assert_eq!(match_mline(&slots, &[Some("a"), Some("b")], 1), Some(1));
        assert_eq!(match_mline(&slots, &[Some("a"), Some("b")], 0), Some(0));
    }

    #[test]
    fn new_lines_of_our_offer_go_to_new_transceivers_in_creation_order() {
        // m-line 0 is negotiated (mid "0"); 1 and 2 are new, as are the last two transceivers.
        let slots = [slot(Some("0"), None, Some(0)), slot(None, None, None), slot(None, None, None)];
        let mids = [Some("0"), Some("1"), Some("2")];
        assert_eq!(match_mline(&slots, &mids, 0), Some(0));
        assert_eq!(match_mline(&slots, &mids, 1), Some(1));
        assert_eq!(match_mline(&slots, &mids, 2), Some(2));
    }

    #[test]
    fn a_transceiver_waiting_to_answer_is_not_taken_for_a_new_line() {
        let slots = [slot(None, Some(5), None), slot(None, None, None)];
        assert_eq!(match_mline(&slots, &[Some("x")], 0), Some(1));
    }

    #[test]
    fn nothing_left_is_none() {
        let slots = [slot(Some("0"), None, Some(0))];
        assert_eq!(match_mline(&slots, &[Some("0"), Some("1")], 1), None);
        assert_eq!(match_mline(&[], &[None], 0), None);
    }
}
