//! The transceiver registry: our W3C transceivers beside webrtcbin's, the m-line each
//! answers, their send chains, and what a description says of them.

use std::sync::Arc;
use gst::prelude::*;
use gst_sdp::SDPMessage;
use gst_webrtc::{
    WebRTCRTPTransceiver,
    WebRTCRTPTransceiverDirection as Direction,
};
use crate::error::{PcError, PcResult};
use crate::media::codec;
use crate::media::sender::SendChain;
use crate::media::track::TrackCore;
use crate::negotiation::SdpType;
use crate::sdp::{direction, msid, telephone_event};

use super::inner::*;
use super::mline_match::{match_mline, Slot};

impl Inner {
    /// The single place transceivers enter our list: locally added ones and those
    /// webrtcbin creates while applying a remote offer both pass through `on-new-transceiver`.
    pub(super) fn register_transceiver(&self, t: &WebRTCRTPTransceiver) -> u32 {
        let mut st = self.lock();
        if let Some(existing) = st.transceivers.iter().find(|x| &x.gst == t) {
            return existing.id;
        }
        if t.property::<Option<gst::Caps>>("codec-preferences").is_none() {
            t.set_property("codec-preferences", codec::preferences(None));
        }
        let id = st.next_transceiver;
        st.next_transceiver += 1;
        st.transceivers.push(Transceiver {
            id,
            kind: "audio",
            gst: t.clone(),
            sender: None,
            receiver: {
                let track = TrackCore::new("audio");
                track.enable_rtp_tap(); // RtpForwarder passthrough (media/receiver.rs)
                track
            },
            // webrtc-pc §4.4.1.6: a transceiver made for a remote offer starts recvonly, so an
            // answer without a track does not claim to send. Ours get their direction from
            // `add_transceiver` right after; webrtcbin's own property stays sendrecv (sdp::direction).
            direction: Direction::Recvonly,
            pending_mline: None,
            codecs: None,
        });
        id
    }

    /// Registers the transceivers webrtcbin made itself while applying a description:
    /// `on-new-transceiver` is not emitted for all of them in 1.22, so its list is enumerated.
    /// Called from the JS thread only, never from a webrtcbin callback (the action signal
    /// takes webrtcbin's own lock).
    pub(super) fn sync_transceivers(&self) {
        let Ok(webrtc) = self.webrtc() else { return };
        let mut idx = 0u32;
        while let Some(t) = webrtc.emit_by_name::<Option<WebRTCRTPTransceiver>>("get-transceiver", &[&(idx as i32)]) {
            self.register_transceiver(&t);
            idx += 1;
        }
    }

    /// webrtc-pc §4.4.1.6 (remote offer): every offered m-section gets a transceiver at
    /// setRemoteDescription time, reusing one made by addTrack or else a new recvonly one.
    /// webrtcbin 1.22 only does this inside create-answer, too late for `track` events and
    /// for `addTrack` to reuse it; its create-answer then matches ours as compatible.
    /// A transceiver that cannot be made fails the setRemoteDescription that needed it.
    pub(super) fn answer_remote_media(&self) -> PcResult<()> {
        let (offer, missing): (SDPMessage, Vec<u32>) = {
            let mut st = self.lock();
            let Some((SdpType::Offer, offer)) = st.negotiation.pending_remote.as_ref() else { return Ok(()) };
            let offer = offer.clone();
            let audio: Vec<u32> = (0..offer.medias_len())
                .filter(|i| offer.media(*i).is_some_and(|m| m.media() == Some("audio") && m.port() != 0))
                .collect();
            let mut missing = Vec::new();
            for i in audio {
                let covered = st.transceivers.iter().any(|t| {
                    t.pending_mline == Some(i) || t.gst.property::<u32>("mlineindex") == i
                });
                if covered {
                    continue;
                }
                let reusable = st.transceivers.iter_mut().find(|t| {
                    t.pending_mline.is_none() && t.gst.property::<u32>("mlineindex") == u32::MAX && t.sender.as_ref().is_some_and(|s| s.has_track())
                });
                match reusable {
                    Some(t) => {
                        t.pending_mline = Some(i);
                        let ssrc = t.sender.as_ref().map(|s| s.ssrc());
                        t.gst.set_property("codec-preferences", codec::answer_preferences(offer.media(i), ssrc, t.codecs.as_deref()));
                    }
                    None => missing.push(i),
                }
            }
            (offer, missing)
        };
        for i in missing {
            let id = self
                .add_transceiver(Direction::Recvonly)
                .map_err(|e| PcError::operation(format!("cannot create a transceiver for m-line {i}: {}", e.message)))?;
            if let Some(t) = self.lock().transceivers.iter_mut().find(|t| t.id == id) {
                t.gst.set_property("codec-preferences", codec::answer_preferences(offer.media(i), t.sender.as_ref().map(|s| s.ssrc()), None));
                t.pending_mline = Some(i);
            }
        }
        Ok(())
    }

    pub(super) fn transceiver_gst(&self, id: u32) -> PcResult<WebRTCRTPTransceiver> {
        let st = self.lock();
        if st.closed {
            return Err(PcError::invalid_state("the RTCPeerConnection is closed"));
        }
        st.transceivers
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.gst.clone())
            .ok_or_else(|| PcError::operation(format!("unknown transceiver {id}")))
    }

    /// Request a webrtcbin sink pad for `t` and build its send chain.
    pub(super) fn ensure_sender(&self, id: u32) -> PcResult<Arc<SendChain>> {
        let t = self.transceiver_gst(id)?;
        if let Some(sender) = self.lock().transceivers.iter().find(|x| x.id == id).and_then(|x| x.sender.clone()) {
            return Ok(sender);
        }
        let mline = t.property::<u32>("mlineindex");
        let name = if mline == u32::MAX || mline as i32 == -1 { "sink_%u".to_owned() } else { format!("sink_{mline}") };
        let webrtc = self.webrtc()?;
        let pad = webrtc
            .request_pad_simple(&name)
            .ok_or_else(|| PcError::operation("webrtcbin refused a sink pad"))?;
        let pad_trans = pad.property::<Option<WebRTCRTPTransceiver>>("transceiver");
        if pad_trans.as_ref() != Some(&t) {
            webrtc.release_request_pad(&pad);
            return Err(PcError::operation("webrtcbin bound the sink pad to another transceiver"));
        }
        let chain = Arc::new(SendChain::build(&self.media()?.pipeline, &pad, random_ssrc()).map_err(PcError::operation)?);
        if let Some((codec, pt)) = self.negotiated_codec(&t) {
            chain.set_codec(codec, pt).map_err(PcError::operation)?;
            // The direction is only known at the next answer; until then the chain stays quiet.
        }
        let mut st = self.lock();
        if let Some(x) = st.transceivers.iter_mut().find(|x| x.id == id) {
            x.sender = Some(chain.clone());
        }
        Ok(chain)
    }

    /// For each m-line of `msg`, the index in `st.transceivers` of the transceiver behind it
    /// (`mline_match` holds the rule); webrtcbin's properties are read once for all m-lines.
    pub(super) fn mline_owners(st: &State, msg: &gst_sdp::SDPMessageRef) -> Vec<Option<usize>> {
        let props: Vec<(Option<String>, u32)> = st
            .transceivers
            .iter()
            .map(|t| (t.gst.property::<Option<String>>("mid"), t.gst.property::<u32>("mlineindex")))
            .collect();
        let slots: Vec<Slot> = st
            .transceivers
            .iter()
            .zip(&props)
            .map(|(t, (mid, mline))| Slot { mid: mid.as_deref(), pending_mline: t.pending_mline, mline: (*mline != u32::MAX).then_some(*mline) })
            .collect();
        let mids: Vec<Option<&str>> = msg.medias().map(|m| m.attribute_val("mid")).collect();
        (0..msg.medias_len()).map(|idx| match_mline(&slots, &mids, idx)).collect()
    }

    /// webrtcbin 1.22's `_create_offer_task` walks the m-lines of the last negotiation and puts
    /// each one whose mid a transceiver carries at the next index of the new offer. An m-line
    /// no transceiver carries (one we rejected and webrtcbin never associated, such as a video
    /// m-line before the audio ones) is skipped, so every later transceiver lands an index
    /// early and `sdp_media_from_transceiver` asserts `trans->mline == media_idx`: the process
    /// aborted. Until webrtcbin keeps such m-lines, that offer is an OperationError.
    /// Called from the JS thread with no lock held (get-transceiver takes webrtcbin's lock).
    pub(super) fn check_offer_layout(&self) -> PcResult<()> {
        let last: Vec<Option<String>> = {
            let st = self.lock();
            let n = &st.negotiation;
            let Some((_, last)) = n.current_local.as_ref().or(n.current_remote.as_ref()) else { return Ok(()) };
            crate::sdp::mids::of(last).into_iter().map(|m| m.map(str::to_owned)).collect()
        };
        let webrtc = self.webrtc()?;
        let mut carried = Vec::new();
        let mut idx = 0i32;
        while let Some(t) = webrtc.emit_by_name::<Option<WebRTCRTPTransceiver>>("get-transceiver", &[&idx]) {
            carried.extend(t.property::<Option<String>>("mid"));
            idx += 1;
        }
        let is_carried = |m: &Option<String>| m.as_ref().is_some_and(|m| carried.contains(m));
        if let Some(gap) = last.iter().position(|m| !is_carried(m)) {
            if last[gap + 1..].iter().any(is_carried) {
                return Err(PcError::operation(format!(
                    "cannot renegotiate: m-line {gap} of the last negotiation was rejected before m-lines in use, which webrtcbin 1.22 cannot lay out"
                )));
            }
        }
        Ok(())
    }

    /// Put the real directions into an offer or answer webrtcbin created (it only knows sendrecv).
    pub(super) fn apply_directions(&self, msg: &mut SDPMessage, answer: bool) {
        let st = self.lock();
        let offer = if answer { st.negotiation.pending_remote.as_ref().map(|(_, m)| m.clone()) } else { None };
        let owners = Self::mline_owners(&st, msg);
        for idx in 0..msg.medias_len() {
            if msg.media(idx).is_none_or(|m| m.port() == 0 && !crate::sdp::has_attr(m, "bundle-only")) {
                continue;
            }
            let owner = owners[idx as usize].map(|i| &st.transceivers[i]);
            let ours = owner.map(|t| direction_str(t.direction)).unwrap_or("recvonly");
            let dir = match &offer {
                Some(offer) => direction::answer(ours, direction::of(offer, idx).unwrap_or("sendrecv")),
                None => ours,
            };
            if let Some(media) = msg.media_mut(idx) {
                direction::set(media, dir);
            }
        }
    }

    /// Rejects (port 0, `sdp::reject`) in an offer the m-sections of the transceivers in
    /// `stopping` (webrtc-pc [[Stopping]], JSEP §5.2.2), and in an answer every section the
    /// offer rejected (RFC 3264 §6): webrtcbin 1.22 has no stopped transceivers and answers a
    /// port-0 offer section as a live one. An answer does not reject a section only because
    /// its transceiver is stopping: it is inactive there (its native direction), and the
    /// next offer rejects it (webrtc-pc §5.4 stop(): negotiation is needed).
    pub(super) fn reject_stopped(&self, msg: &mut SDPMessage, stopping: &[u32], answer: bool) {
        let rejected: Vec<u32> = {
            let st = self.lock();
            let offer = if answer { st.negotiation.pending_remote.as_ref().map(|(_, m)| m.clone()) } else { None };
            let owners = Self::mline_owners(&st, msg);
            (0..msg.medias_len())
                .filter(|idx| msg.media(*idx).is_some_and(|m| m.port() != 0 || crate::sdp::has_attr(m, "bundle-only")))
                .filter(|idx| {
                    let stopped = !answer && owners[*idx as usize].is_some_and(|i| stopping.contains(&st.transceivers[i].id));
                    let offer_rejected = offer
                        .as_ref()
                        .and_then(|o| o.media(*idx))
                        .is_some_and(|m| m.port() == 0 && !crate::sdp::has_attr(m, "bundle-only"));
                    stopped || offer_rejected
                })
                .collect()
        };
        for idx in rejected {
            crate::sdp::reject::section(msg, idx, None);
        }
    }

    /// The application's streams in the msid lines of an offer or answer webrtcbin created,
    /// after `apply_directions`: only m-sections that send carry them (sdp::msid).
    pub(super) fn write_msids(&self, msg: &mut SDPMessage, msids: &[SenderMsid]) {
        let owners: Vec<Option<u32>> = {
            let st = self.lock();
            Self::mline_owners(&st, msg).into_iter().map(|o| o.map(|i| st.transceivers[i].id)).collect()
        };
        for (idx, owner) in owners.into_iter().enumerate() {
            let Some(media) = msg.media_mut(idx as u32) else { continue };
            let active = media.port() != 0 || crate::sdp::has_attr(media, "bundle-only");
            let sends = active && matches!(direction::of_media(media), Some("sendrecv" | "sendonly"));
            let sender = owner
                .filter(|_| sends)
                .and_then(|id| msids.iter().find(|m| m.transceiver == id))
                .map(|m| msid::Msid { streams: &m.streams, track: &m.track });
            msid::write(media, sender);
        }
    }

    /// RFC 4733 DTMF formats in an offer or answer webrtcbin created (sdp::telephone_event).
    pub(super) fn add_telephone_events(&self, msg: &mut SDPMessage, answer: bool) {
        if !answer {
            return telephone_event::add_to_offer(msg);
        }
        let offer = self.lock().negotiation.pending_remote.as_ref().map(|(_, m)| m.clone());
        if let Some(offer) = offer {
            telephone_event::add_to_answer(msg, &offer);
        }
    }

    /// The send chain of a transceiver, if it has one.
    pub(super) fn sender(&self, id: u32) -> PcResult<Option<Arc<SendChain>>> {
        let st = self.lock();
        if st.closed {
            return Err(PcError::invalid_state("the RTCPeerConnection is closed"));
        }
        let t = st.transceivers.iter().find(|t| t.id == id).ok_or_else(|| PcError::operation(format!("unknown transceiver {id}")))?;
        Ok(t.sender.clone())
    }

    pub(super) fn negotiated_codec(&self, t: &WebRTCRTPTransceiver) -> Option<(&'static codec::Codec, u32)> {
        let mline = t.property::<u32>("mlineindex");
        let st = self.lock();
        let answer = st.negotiation.current_local.as_ref().filter(|(ty, _)| *ty == SdpType::Answer)
            .or(st.negotiation.current_remote.as_ref().filter(|(ty, _)| *ty == SdpType::Answer))?;
        codec::negotiated(&answer.1, mline)
    }

    pub(super) fn add_transceiver(&self, direction: Direction) -> PcResult<u32> {
        let pad = self
            .webrtc()?
            .request_pad_simple("sink_%u")
            .ok_or_else(|| PcError::operation("webrtcbin refused a sink pad"))?;
        let t = pad
            .property::<Option<WebRTCRTPTransceiver>>("transceiver")
            .ok_or_else(|| PcError::operation("webrtcbin created no transceiver"))?;
        let id = self.register_transceiver(&t);
        t.set_property("direction", Direction::Sendrecv);
        let ssrc = random_ssrc();
        t.set_property("codec-preferences", codec::preferences(Some(ssrc)));
        let chain = Arc::new(SendChain::build(&self.media()?.pipeline, &pad, ssrc).map_err(PcError::operation)?);
        let mut st = self.lock();
        if let Some(x) = st.transceivers.iter_mut().find(|x| x.id == id) {
            x.sender = Some(chain);
            x.direction = direction;
        }
        Ok(id)
    }
}
