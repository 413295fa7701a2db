//! SDP handling on top of `gstreamer-sdp`'s parser: validation of remote descriptions,
//! ICE candidate parsing, and the local description we hand out (with candidates).

pub mod candidate;
pub mod crypto;
pub mod direction;
pub mod limits;
pub mod local;
pub mod mids;
pub mod msid;
pub mod profile;
#[cfg(test)]
mod properties;
pub mod reject;
pub mod ssrc;
pub mod telephone_event;
pub mod validate;

pub use gst_sdp::SDPMessage;

/// Serialise for JS. gst_sdp writes CRLF line endings, as RFC 8866 §5 requires.
pub fn to_text(msg: &gst_sdp::SDPMessageRef) -> String {
    msg.as_text().unwrap_or_default()
}

/// Whether m-section `media` has attribute `key`. `attribute_val` cannot tell: property
/// attributes such as `a=sendrecv` have no value.
pub fn has_attr(media: &gst_sdp::SDPMediaRef, key: &str) -> bool {
    media.attributes().any(|a| a.key() == key)
}

/// Parameter `name` of `a=fmtp:<pt> k=v;k=v` in m-section `mline` (RFC 8866 §6.15; names are
/// case-insensitive, RFC 7587 §7).
pub fn fmtp_param(msg: &gst_sdp::SDPMessageRef, mline: u32, pt: u32, name: &str) -> Option<String> {
    let media = msg.media(mline)?;
    let prefix = format!("{pt} ");
    let params = media.attributes().filter(|a| a.key() == "fmtp").find_map(|a| a.value()?.strip_prefix(&prefix).map(str::to_owned))?;
    params.split(';').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// Sets attribute `key` of m-section `media` to `value`: the first such line is replaced, or
/// one is added.
pub fn set_attr(media: &mut gst_sdp::SDPMediaRef, key: &str, value: &str) {
    match (0..media.attributes_len()).find(|i| media.attribute(*i).is_some_and(|a| a.key() == key)) {
        Some(i) => {
            let _ = media.replace_attribute(i, gst_sdp::SDPAttribute::new(key, Some(value)));
        }
        None => media.add_attribute(key, Some(value)),
    }
}

/// Add a property attribute (`a=sendrecv`, `a=end-of-candidates`). Its value must be an
/// empty string, not NULL: that is what the parser produces, and webrtcbin's
/// `gst_sdp_media_attributes_to_caps` passes attribute values to `g_utf8_validate`
/// unchecked, so a NULL value crashes the process.
pub fn add_flag(media: &mut gst_sdp::SDPMediaRef, key: &str) {
    media.add_attribute(key, Some(""));
}
