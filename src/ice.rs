//! ICE configuration of a connection: servers, policies, and confining gathering to the
//! addresses the application allows (tests and demos must never leave loopback).

use gst::prelude::*;
use napi_derive::napi;

#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NativeIceServer {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
}

#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NativeConfig {
    pub ice_servers: Vec<NativeIceServer>,
    pub ice_transport_policy: String,
    pub bundle_policy: String,
    pub local_addresses: Option<Vec<String>>,
    pub jitter_buffer_latency: Option<u32>,
    pub port_min: Option<u32>,
    pub port_max: Option<u32>,
    pub ice_tcp: Option<bool>,
    pub limits: Option<crate::sdp::limits::NativeLimits>,
    /// `RTCConfiguration.rtpProfile` (`sdp::profile`); absent is `UDP/TLS/RTP/SAVPF`.
    pub rtp_profile: Option<String>,
    /// `RTCConfiguration.mediaTimeout` (ms): a plain-RTP session's silence before it is
    /// disconnected (`rtp_session`); absent is 15 s.
    pub media_timeout: Option<u32>,
    /// `RTCConfiguration.srtpCryptoSuites`: the SDES suites of a plain-RTP session, in our
    /// order of preference (`sdp::crypto::Suite::list`); absent is both.
    pub srtp_crypto_suites: Option<Vec<String>>,
}

/// Ta, the pacing of ICE connectivity checks (see `configure`).
pub const ICE_PACING_MS: u32 = 5;

/// webrtcbin's jitter buffer default is 200 ms; a bridge wants low delay on LAN/loopback.
pub const DEFAULT_JITTER_BUFFER_MS: u32 = 40;

/// `stun:host:port` (RFC 7064) → webrtcbin's `stun://host:port`.
pub fn stun_uri(url: &str) -> Option<String> {
    let rest = url.strip_prefix("stun:").or_else(|| url.strip_prefix("stuns:"))?;
    let rest = rest.trim_start_matches("//");
    Some(format!("stun://{}", rest.split('?').next().unwrap_or(rest)))
}

/// `turn:host:port?transport=udp` (RFC 7065) with credentials → `turn://user:pass@host:port?...`.
pub fn turn_uri(url: &str, username: &str, credential: &str) -> Option<String> {
    let (scheme, rest) = if let Some(r) = url.strip_prefix("turns:") {
        ("turns", r)
    } else {
        ("turn", url.strip_prefix("turn:")?)
    };
    let rest = rest.trim_start_matches("//");
    Some(format!("{scheme}://{}:{}@{rest}", encode(username), encode(credential)))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `localAddresses` are IP address literals: libnice's `add-local-ip-address` takes any
/// string and only says "false", and a name would mean a DNS lookup on the caller's thread.
/// A wrong one is a TypeError (napi `InvalidArg`), like any malformed dictionary member.
pub fn check_local_addresses(cfg: &NativeConfig) -> Result<(), String> {
    for addr in cfg.local_addresses.iter().flatten() {
        if addr.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("localAddresses: '{addr}' is not an IP address"));
        }
    }
    Ok(())
}

/// The IP addresses of the interfaces that are up, each with whether it is a loopback one.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn interface_addresses() -> Vec<(std::net::IpAddr, bool)> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we only read and then free once.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        let up = ifa.ifa_flags & libc::IFF_UP as u32 != 0;
        let loopback = ifa.ifa_flags & libc::IFF_LOOPBACK as u32 != 0;
        // SAFETY: a non-null ifa_addr points to a sockaddr of the family it names.
        let family = if ifa.ifa_addr.is_null() { 0 } else { i32::from(unsafe { (*ifa.ifa_addr).sa_family }) };
        let addr = if !up {
            None
        } else if family == libc::AF_INET {
            // SAFETY: an AF_INET ifa_addr is a sockaddr_in.
            let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            Some(std::net::IpAddr::from(u32::from_be(sin.sin_addr.s_addr).to_be_bytes()))
        } else if family == libc::AF_INET6 {
            // SAFETY: an AF_INET6 ifa_addr is a sockaddr_in6.
            let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
            Some(std::net::IpAddr::from(sin6.sin6_addr.s6_addr))
        } else {
            None
        };
        if let Some(addr) = addr {
            found.push((addr, loopback));
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(head) };
    found
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn interface_addresses() -> Vec<(std::net::IpAddr, bool)> {
    Vec::new()
}

/// Whether every network interface with an IP address is a loopback one (or none is up).
fn only_loopback_interfaces() -> bool {
    interface_addresses().iter().all(|(_, loopback)| *loopback)
}

/// The host's first IPv4 address that is not loopback (what a plain-RTP session announces
/// when `localAddresses` does not say).
pub fn first_host_address() -> Option<std::net::IpAddr> {
    interface_addresses().into_iter().find(|(a, loopback)| !loopback && a.is_ipv4()).map(|(a, _)| a)
}

/// Apply the configuration to a webrtcbin that is not yet running.
pub fn configure(webrtc: &gst::Element, cfg: &NativeConfig) -> Result<(), String> {
    // webrtcbin 1.22 does not implement "balanced" (it logs an error and bundles nothing);
    // its "max-compat" offers a BUNDLE group without bundle-only m-lines, which is what
    // webrtc-pc's "balanced" amounts to for audio-only connections.
    let bundle = match cfg.bundle_policy.as_str() {
        "" | "balanced" => "max-compat",
        "max-compat" => "max-compat",
        "max-bundle" => "max-bundle",
        other => return Err(format!("unknown bundlePolicy {other}")),
    };
    webrtc.set_property_from_str("bundle-policy", bundle);
    let policy = match cfg.ice_transport_policy.as_str() {
        "" | "all" => "all",
        "relay" => "relay",
        other => return Err(format!("unknown iceTransportPolicy {other}")),
    };
    webrtc.set_property_from_str("ice-transport-policy", policy);
    webrtc.set_property("latency", cfg.jitter_buffer_latency.unwrap_or(DEFAULT_JITTER_BUFFER_MS));

    // No iceServers means no STUN/TURN traffic at all: webrtcbin has no default server.
    let mut stun_set = false;
    for server in &cfg.ice_servers {
        for url in &server.urls {
            if let Some(uri) = stun_uri(url) {
                if !stun_set {
                    webrtc.set_property("stun-server", uri);
                    stun_set = true;
                }
            } else if let Some(uri) = turn_uri(
                url,
                server.username.as_deref().unwrap_or_default(),
                server.credential.as_deref().unwrap_or_default(),
            ) {
                let _ = webrtc.emit_by_name::<bool>("add-turn-server", &[&uri]);
            }
        }
    }

    let ice = webrtc.property::<gst::glib::Object>("ice-agent");
    let addrs = match &cfg.local_addresses {
        Some(addrs) => Some(addrs.clone()),
        // libnice, like browsers, never gathers on loopback by itself. On a host whose only
        // interface is loopback (a container or network namespace without a network) that
        // leaves no candidate at all, so no connection could ever form: gather on loopback
        // there, which is the only place a peer can be.
        None if only_loopback_interfaces() => Some(vec!["127.0.0.1".to_owned(), "::1".to_owned()]),
        None => None,
    };
    if let Some(addrs) = &addrs {
        for addr in addrs {
            let ok = ice.emit_by_name::<bool>("add-local-ip-address", &[addr]);
            if !ok {
                return Err(format!("the ICE agent refused local address {addr}"));
            }
        }
    }
    if let (Some(min), Some(max)) = (cfg.port_min, cfg.port_max) {
        if ice.find_property("min-rtp-port").is_some() {
            ice.set_property("min-rtp-port", min);
            ice.set_property("max-rtp-port", max);
        }
    }
    if ice.find_property("ice-tcp").is_some() {
        ice.set_property("ice-tcp", cfg.ice_tcp.unwrap_or(false));
    }
    // libnice's UPnP opens sockets on every interface and multicasts SSDP even when
    // gathering is confined to given addresses; a server never wants it.
    if ice.find_property("agent").is_some() {
        let agent = ice.property::<gst::glib::Object>("agent");
        if agent.find_property("upnp").is_some() {
            agent.set_property("upnp", false);
        }
        // webrtcbin 1.22 creates its agent without RFC 7675 consent freshness (a construct-only
        // option), so a peer that vanishes is never noticed. Keepalives sent as binding
        // requests can time out, which fails the component: that is our consent check.
        if agent.find_property("keepalive-conncheck").is_some() {
            agent.set_property("keepalive-conncheck", true);
        }
        // Connectivity checks paced at Ta = 5 ms, the lowest RFC 8445 §14.2 allows, instead of
        // libnice's 20: a server has few candidate pairs, and on loopback/LAN the checking
        // phase drops from ~65 to ~17 ms (bench: new → connected 76 → ~40 ms).
        if agent.find_property("stun-pacing-timer").is_some() {
            agent.set_property("stun-pacing-timer", ICE_PACING_MS);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_and_turn_urls() {
        assert_eq!(stun_uri("stun:stun.example.org:3478").unwrap(), "stun://stun.example.org:3478");
        assert_eq!(stun_uri("turn:x"), None);
        assert_eq!(
            turn_uri("turn:turn.example.org:3478?transport=udp", "u@x", "p:w").unwrap(),
            "turn://u%40x:p%3Aw@turn.example.org:3478?transport=udp"
        );
    }
}
