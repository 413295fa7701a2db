//! ICE candidates: ours as webrtcbin gathers them (and the guard that completes gathering
//! when webrtcbin 1.22 does not), and the remote ones addIceCandidate hands in.

use std::sync::Arc;
use std::time::{Duration, Instant};
use gst::prelude::*;
use crate::error::{PcError, PcResult};
use crate::events::NativeEvent;
use crate::sdp::candidate::Candidate;
use crate::sdp::local::LocalCandidate;
use crate::states::IceGatheringState;

use super::inner::*;
use super::NativePeerConnection;

/// With only host addresses to gather, gathering is over once candidates stop coming.
const HOST_GATHERING_QUIET: Duration = Duration::from_millis(250);
/// Upper bounds on gathering: webrtcbin 1.22 may never report `complete` (fixed in 1.28).
const GATHERING_LIMIT_HOST_ONLY: Duration = Duration::from_secs(2);
const GATHERING_LIMIT_WITH_SERVERS: Duration = Duration::from_secs(5);
const GATHERING_POLL: gst::ClockTime = gst::ClockTime::from_mseconds(50);

/// webrtc-pc §5.6 (w3c/webrtc-pc#2894): each transport that has finished gathering announces
/// it with a candidate whose `candidate` is "" (its end-of-candidates), before the gathering
/// state changes and the final null candidate. With BUNDLE that is the tagged m-section's
/// transport; a section outside the group has its own.
fn end_of_candidates(st: &State) -> Vec<NativeEvent> {
    let Some((_, local)) = st.negotiation.local() else { return Vec::new() };
    let tag = crate::workarounds::webrtcbin_view::bundle_tag(local);
    let grouped: Vec<String> = local
        .attributes()
        .filter(|a| a.key() == "group")
        .filter_map(|a| a.value().and_then(|v| v.strip_prefix("BUNDLE ")).map(str::to_owned))
        .flat_map(|g| g.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    (0..local.medias_len())
        .filter(|idx| {
            let Some(media) = local.media(*idx) else { return false };
            let mid = media.attribute_val("mid");
            let transport = match mid {
                Some(mid) if grouped.iter().any(|g| g == mid) => tag.as_deref() == Some(mid),
                _ => true,
            };
            transport && media.port() != 0
        })
        .map(|idx| {
            let media = local.media(idx);
            NativeEvent {
                candidate: Some(String::new()),
                sdp_mid: media.and_then(|m| m.attribute_val("mid")).map(str::to_owned),
                sdp_m_line_index: Some(idx),
                username_fragment: media.and_then(|m| m.attribute_val("ice-ufrag")).map(str::to_owned),
                ..NativeEvent::new("icecandidate")
            }
        })
        .collect()
}

impl Inner {
    pub(super) fn on_local_candidate(&self, mline: u32, candidate: String) {
        let attr = candidate.strip_prefix("a=").unwrap_or(&candidate).to_owned();
        let (mid, first) = {
            let mut st = self.lock();
            if st.closed || st.local_candidates.iter().any(|c| c.mline == mline && c.attr == attr) {
                return;
            }
            st.local_candidates.push(LocalCandidate { mline, attr: attr.clone() });
            st.last_candidate_at = Some(Instant::now());
            let first = st.gathering == IceGatheringState::New;
            if first {
                st.gathering = IceGatheringState::Gathering;
            }
            let local = st.negotiation.local().map(|(_, m)| m);
            let ufrag = local.and_then(|m| m.media(mline)).and_then(|m| m.attribute_val("ice-ufrag")).map(str::to_owned);
            ((local.and_then(|m| mid_of(m, mline)), ufrag), first)
        };
        let (mid, ufrag) = mid;
        if first {
            self.events.emit(NativeEvent::state("icegatheringstatechange", IceGatheringState::Gathering.as_str()));
        }
        self.events.emit(NativeEvent {
            candidate: Some(attr),
            sdp_mid: mid,
            sdp_m_line_index: Some(mline),
            username_fragment: ufrag,
            ..NativeEvent::new("icecandidate")
        });
    }

    pub(super) fn set_gathering(&self, state: IceGatheringState) {
        use IceGatheringState::*;
        let (ends, emit): (Vec<NativeEvent>, Vec<IceGatheringState>) = {
            let mut st = self.lock();
            if st.closed || st.gathering == state || st.gathering == Complete && state != New {
                return;
            }
            let ends = if state == Complete { end_of_candidates(&st) } else { Vec::new() };
            let mut emit = Vec::new();
            // webrtc-pc §4.3.2: complete is reached through gathering.
            if state == Complete && st.gathering == New {
                emit.push(Gathering);
            }
            emit.push(state);
            st.gathering = state;
            (ends, emit)
        };
        for end in ends {
            self.events.emit(end);
        }
        for s in emit {
            self.events.emit(NativeEvent::state("icegatheringstatechange", s.as_str()));
        }
        if state == Complete {
            self.refresh_ice_connection();
        }
    }

    /// Completes gathering when webrtcbin does not: 1.22 does not always move
    /// `ice-gathering-state` to `complete` after the last candidate (webrtc-pc wants
    /// `complete` and a null candidate), so gathering is declared complete once host
    /// candidates stop coming, or at a time limit.
    pub(super) fn gathering_guard_tick(&self) -> bool {
        let done = {
            let mut st = self.lock();
            if st.closed || st.gathering == IceGatheringState::Complete {
                st.guard_running = false;
                return false;
            }
            let Some(started) = st.gathering_started else {
                st.guard_running = false;
                return false;
            };
            let quiet = st.last_candidate_at.map(|t| t.elapsed() >= HOST_GATHERING_QUIET).unwrap_or(false);
            let limit = if self.has_ice_servers { GATHERING_LIMIT_WITH_SERVERS } else { GATHERING_LIMIT_HOST_ONLY };
            let done = (!self.has_ice_servers && quiet) || started.elapsed() >= limit;
            if done {
                st.guard_running = false;
            }
            done
        };
        if done {
            self.set_gathering(IceGatheringState::Complete);
        }
        !done
    }
}

/// A remote candidate accepted by addIceCandidate (webrtc-pc §4.4.1.3).
pub(super) struct AddedCandidate {
    pub(super) mline: u32,
    /// The attribute for the remote description: `candidate:…`, or `end-of-candidates`.
    pub(super) line: (&'static str, Option<String>),
    /// Whether the ICE agent gets it: not end-of-candidates (RFC 8838 §8.2: nothing for the
    /// agent to do), not an RTCP candidate (component 2: RTCP is multiplexed, RFC 8843 §9,
    /// rtcp-mux-only; browsers accept and ignore it, libnice would warn).
    pub(super) for_agent: bool,
}

impl NativePeerConnection {
    pub(super) fn add_ice_candidate_inner(&self, candidate: &str, mid: Option<&str>, index: Option<u32>, ufrag: Option<&str>) -> PcResult<AddedCandidate> {
        let mline = {
            let st = self.inner.lock();
            if st.closed {
                return Err(PcError::invalid_state("the RTCPeerConnection is closed"));
            }
            let (_, remote) = st
                .negotiation
                .remote()
                .ok_or_else(|| PcError::invalid_state("addIceCandidate called before setRemoteDescription"))?;
            // Added candidates are kept in the remote description (below), so it holds them all.
            let known = remote.medias().map(|m| m.attributes().filter(|a| a.key() == "candidate").count()).sum::<usize>();
            if !candidate.is_empty() {
                self.inner.limits.check_candidates(known + 1)?;
            }
            // webrtc-pc §4.4.1.3: sdpMid wins over sdpMLineIndex when both are given.
            let mline = match (mid, index) {
                (Some(mid), _) => (0..remote.medias_len())
                    .find(|i| mid_of(remote, *i).as_deref() == Some(mid))
                    .ok_or_else(|| PcError::operation(format!("no m-line with mid '{mid}'")))?,
                (None, Some(i)) if i < remote.medias_len() => i,
                (None, Some(i)) => return Err(PcError::operation(format!("sdpMLineIndex {i} out of range"))),
                (None, None) => return Err(PcError::type_error("candidate needs sdpMid or sdpMLineIndex")),
            };
            // webrtc-pc §4.4.1.3: a usernameFragment must be the one of its media description
            // (remote credentials are kept at the media level, ice_credentials.rs).
            if let Some(ufrag) = ufrag {
                let theirs = remote.media(mline).and_then(|m| m.attribute_val("ice-ufrag"));
                if theirs != Some(ufrag) {
                    return Err(PcError::operation(format!("usernameFragment '{ufrag}' is not the one of m-line {mline}")));
                }
            }
            mline
        };
        if candidate.is_empty() {
            return Ok(AddedCandidate { mline, line: ("end-of-candidates", None), for_agent: false });
        }
        let attr = candidate.strip_prefix("a=").unwrap_or(candidate).to_owned();
        let for_agent = Candidate::parse(&attr)?.component != 2;
        let value = attr.strip_prefix("candidate:").map(str::to_owned);
        Ok(AddedCandidate { mline, line: ("candidate", value), for_agent })
    }
}

pub(super) fn schedule_gathering_guard(inner: &Arc<Inner>) {
    let clock = gst::SystemClock::obtain();
    let id = clock.new_single_shot_id(clock.time() + GATHERING_POLL);
    let weak = Arc::downgrade(inner);
    let _ = id.wait_async(move |_, _, _| {
        if let Some(inner) = weak.upgrade() {
            if inner.gathering_guard_tick() {
                schedule_gathering_guard(&inner);
            }
        }
    });
}
