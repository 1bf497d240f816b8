//! The client address of a request: the peer address, or — only when the peer is one of the
//! configured trusted proxies — the address those proxies put into `X-Forwarded-For`.
//!
//! It is resolved once per request by [`resolve_layer`] and read by the access log
//! ([`crate::auth::RequestMeta`]) and the sign-in rate limit.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The resolved client address, as a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client of a request from `peer`. `X-Forwarded-For` is read from the right (the hop
/// nearest to us) and each address written by a trusted proxy is skipped; the first untrusted
/// one is the client. A header sent by anyone other than a trusted proxy is ignored, since
/// any client can write one.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // Nothing left of a malformed entry can be believed.
            Err(_) => break,
        }
    }
    client
}

/// Middleware that stores the [`ClientAddr`] of requests served with connect info.
pub(crate) async fn resolve_layer(
    State(trusted): State<Arc<[IpNet]>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let client = resolve(peer.ip(), request.headers(), &trusted);
        request.extensions_mut().insert(ClientAddr(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(X_FORWARDED_FOR, value.parse().expect("header"));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let forged = headers(&["203.0.113.9"]);
        assert_eq!(resolve(ip("198.51.100.7"), &forged, &[]), ip("198.51.100.7"));
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        assert_eq!(resolve(ip("198.51.100.7"), &forged, &trusted), ip("198.51.100.7"));
        assert_eq!(resolve(ip("10.1.2.3"), &forged, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> =
            vec!["10.0.0.0/8".parse().expect("net"), "192.0.2.1/32".parse().expect("net")];
        // The client wrote a fake first entry; our proxies appended the real hops.
        let chain = headers(&["1.1.1.1, 203.0.113.9", "192.0.2.1"]);
        assert_eq!(resolve(ip("10.0.0.5"), &chain, &trusted), ip("203.0.113.9"));
        // Only trusted hops: the leftmost of them.
        assert_eq!(resolve(ip("10.0.0.5"), &headers(&["10.9.9.9"]), &trusted), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(resolve(ip("10.0.0.5"), &HeaderMap::new(), &trusted), ip("10.0.0.5"));
        // A malformed hop stops the walk at the last address we could believe.
        let garbled = headers(&["203.0.113.9, not-an-ip, 10.2.2.2"]);
        assert_eq!(resolve(ip("10.0.0.5"), &garbled, &trusted), ip("10.2.2.2"));
    }
}
