//! RTCRtpSender/RTCRtpReceiver getParameters and setParameters, and setCodecPreferences
//! (webrtc-pc §5.2, §5.3, §5.4): the negotiated facts come from the current answer, the
//! encoding settings go to the send chain, the codec choice to webrtcbin's transceiver.
//! The W3C rules about the parameters object (transaction ids, read-only members) live in
//! the TypeScript layer, which holds [[LastReturnedParameters]].

use gst::prelude::*;

use crate::error::{PcError, PcResult};
use crate::media::codec;
use crate::media::rtp_parameters::{self, NativeCodec, NativeRtpParameters};
use crate::negotiation::SdpType;

use super::inner::*;

impl Inner {
    /// The codecs and header extensions the current answer negotiated for the transceiver's
    /// m-section (webrtc-pc §5.2 getParameters: "the negotiated codecs"), and our CNAME.
    pub(super) fn rtp_parameters(&self, id: u32) -> PcResult<NativeRtpParameters> {
        let st = self.lock();
        let t = st.transceivers.iter().find(|t| t.id == id).ok_or_else(|| PcError::operation(format!("unknown transceiver {id}")))?;
        let mline = t.gst.property::<u32>("mlineindex");
        let n = &st.negotiation;
        let answer = [&n.current_local, &n.current_remote]
            .into_iter()
            .flatten()
            .find(|(ty, _)| *ty == SdpType::Answer)
            .and_then(|(_, m)| m.media(mline));
        let (codecs, header_extensions) = answer.map(rtp_parameters::from_section).unwrap_or_default();
        let reduced_size = answer.is_some_and(|m| crate::sdp::has_attr(m, "rtcp-rsize"));
        let cname = n
            .local()
            .and_then(|(_, m)| m.media(mline))
            .and_then(|m| m.attributes().find_map(|a| a.value().filter(|_| a.key() == "ssrc").and_then(|v| v.split_once(" cname:")).map(|(_, c)| c.to_owned())));
        Ok(NativeRtpParameters { codecs, header_extensions, cname, reduced_size })
    }

    /// webrtc-pc §5.4.1 setCodecPreferences: the codecs of our next offer or answer on this
    /// transceiver, in this order; an empty list goes back to all of ours. Entries we cannot
    /// encode (telephone-event, which always rides along) are skipped; the W3C layer has
    /// refused anything that is not one of our capabilities.
    pub(super) fn set_codec_preferences(&self, id: u32, chosen: &[NativeCodec]) -> PcResult<()> {
        let codecs: Vec<&'static codec::Codec> = chosen.iter().filter_map(rtp_parameters::codec_of).fold(Vec::new(), |mut v, c| {
            if !v.contains(&c) {
                v.push(c);
            }
            v
        });
        let mut st = self.lock();
        let t = st.transceivers.iter_mut().find(|t| t.id == id).ok_or_else(|| PcError::operation(format!("unknown transceiver {id}")))?;
        t.codecs = (!codecs.is_empty()).then_some(codecs);
        let ssrc = t.sender.as_ref().map(|s| s.ssrc());
        let caps = codec::preferences_in(t.codecs.as_deref(), ssrc);
        let gst = t.gst.clone();
        drop(st);
        gst.set_property("codec-preferences", caps);
        Ok(())
    }
}
