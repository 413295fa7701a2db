//! Receiving: a decrypted RTP pad from webrtcbin becomes the receive chain of its
//! transceiver (media/receiver.rs).

use std::sync::Arc;
use gst::prelude::*;
use gst_webrtc::WebRTCRTPTransceiver;
use crate::error::PcResult;
use crate::events::NativeEvent;
use crate::media::dtmf_receive;
use crate::media::dtmf_send;
use crate::media::receiver::{self, link_decoder};

use super::inner::*;

impl Inner {
    /// A receiver whose track a negotiation removed is receiving again: the next packet of
    /// its stream unmutes the track, as the first one did (webrtc-pc §5.3.1), so a peer that
    /// resumes sending is heard as resuming, not the moment the description is applied.
    /// Without a stream yet, its first packet (`on_src_pad`) reports it anyway.
    /// Runs on the JS thread; the probe fires on the stream's thread.
    pub(super) fn expect_media(&self, id: u32) -> PcResult<()> {
        let trans = self.transceiver_gst(id)?;
        let webrtc = self.webrtc()?;
        let pad = webrtc.src_pads().into_iter().find(|p| {
            p.property::<Option<WebRTCRTPTransceiver>>("transceiver").as_ref() == Some(&trans) && !dtmf_receive::is_telephone_event(p)
        });
        let Some(pad) = pad else { return Ok(()) };
        let events = self.events.clone();
        pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, _| {
            events.emit(NativeEvent { transceiver_id: Some(id), ..NativeEvent::new("receiving") });
            gst::PadProbeReturn::Remove
        });
        Ok(())
    }

    pub(super) fn on_src_pad(&self, pad: &gst::Pad) {
        if pad.direction() != gst::PadDirection::Src {
            return;
        }
        let trans = pad.property::<Option<WebRTCRTPTransceiver>>("transceiver");
        let found = {
            let st = self.lock();
            if st.closed {
                return;
            }
            st.transceivers.iter().find(|t| Some(&t.gst) == trans.as_ref()).map(|t| (t.id, t.receiver.clone()))
        };
        let Ok(Media { pipeline, .. }) = self.media() else { return };
        let result = match found {
            // The remote's RFC 4733 events: same SSRC as its audio, own payload type, own pad.
            Some((id, _)) if dtmf_receive::is_telephone_event(pad) => {
                let events = self.events.clone();
                let on_event: dtmf_receive::OnEvent = Arc::new(move |event, duration| {
                    let Some(tone) = dtmf_send::tone_of(event) else { return };
                    events.emit(NativeEvent {
                        transceiver_id: Some(id),
                        tone: Some(tone.to_string()),
                        duration: Some(duration),
                        ..NativeEvent::new("dtmf")
                    });
                });
                dtmf_receive::link(pad, on_event)
            }
            // webrtcbin exposes the pad when the stream's first packet arrives: media has
            // arrived, which unmutes the receiver's track (webrtc-pc §4.4.1.5, §5.3.1).
            Some((id, track)) => link_decoder(&pipeline, pad, track, receiver::Playout::Delayed)
                .map(|()| self.events.emit(NativeEvent { transceiver_id: Some(id), ..NativeEvent::new("receiving") })),
            None => Err("RTP pad for an unknown transceiver".to_owned()),
        };
        if let Err(e) = result {
            // An undecodable stream must not stall webrtcbin: drop it.
            gst::warning!(crate::log::CAT, "cannot decode incoming stream: {e}");
            receiver::drain(pad, |_| {});
        }
    }
}
