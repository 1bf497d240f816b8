//! Where a webhook may be sent: HTTPS only, to an address on the public internet. Loopback
//! (`http://127.0.0.1`, for tests and demos) only when the installation allows it, and
//! private, link-local (the cloud metadata address among them), shared, multicast and other
//! special addresses only when an allow-listed network holds them. The check runs when a
//! subscription is made and again at every delivery, on every address the name resolves to
//! (the resolver of the delivery client refuses the others, so a name that later resolves
//! elsewhere reaches nothing it should not); redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use url::{Host, Url};

/// What the installation allows beyond public HTTPS addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowed {
    /// `http://` to loopback addresses (`RETOUR_WEBHOOK_ALLOW_LOOPBACK`).
    pub loopback: bool,
    /// Networks that may be reached even though they are private or special
    /// (`RETOUR_WEBHOOK_ALLOWED_NETWORKS`).
    pub networks: Vec<IpNet>,
}

impl Allowed {
    /// Why `ip` may not be reached, if it may not.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        if self.networks.iter().any(|n| n.contains(&ip)) {
            return None;
        }
        if ip.is_loopback() {
            return (!self.loopback).then_some("a loopback address");
        }
        match ip {
            IpAddr::V4(v4) => refusal_v4(v4),
            IpAddr::V6(v6) => refusal_v6(v6),
        }
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (cloud metadata among them)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
        Some("a multicast, broadcast or reserved address")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) || (a == 192 && b == 0) {
        Some("an address reserved for documentation, benchmarks or protocols")
    } else {
        None
    }
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_unique_local() {
        Some("a private (unique local) address")
    } else if ip.is_unicast_link_local() {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some("an address reserved for documentation")
    } else if first == 0x0064 && ip.segments()[1] == 0xff9b {
        Some("a NAT64 address")
    } else {
        None
    }
}

/// Checks a subscription's URL as written: its scheme, its host and, for an address, the
/// address. Names are resolved by [`resolve_checked`].
pub fn check_url(raw: &str, allowed: &Allowed) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("url is not a URL: {e}"))?;
    if url.username() != "" || url.password().is_some() {
        return Err("url must not hold credentials".to_owned());
    }
    if url.fragment().is_some() {
        return Err("url must not have a fragment".to_owned());
    }
    let host = url.host().ok_or_else(|| "url must name a host".to_owned())?;
    let literal = match host {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    };
    match url.scheme() {
        "https" => {}
        "http" if allowed.loopback && literal.is_some_and(|ip| ip.is_loopback()) => {}
        "http" => return Err("url must use https".to_owned()),
        other => return Err(format!("url must use https, not {other}")),
    }
    if let Some(ip) = literal
        && let Some(why) = allowed.refusal(ip)
    {
        return Err(format!("url names {why}, which webhooks may not reach"));
    }
    Ok(url)
}

/// Resolves `host` and refuses it unless every address may be reached.
pub async fn resolve_checked(
    host: &str,
    port: u16,
    allowed: &Allowed,
) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} does not resolve"));
    }
    if let Some((addr, why)) = addrs.iter().find_map(|a| allowed.refusal(a.ip()).map(|w| (a, w))) {
        return Err(format!(
            "{host} resolves to {why} ({}), which webhooks may not reach",
            addr.ip()
        ));
    }
    Ok(addrs)
}

/// The delivery client's resolver: a name is reached only at addresses [`Allowed`] lets
/// through, checked when the connection is made.
#[derive(Debug, Clone)]
pub struct CheckedResolver {
    pub allowed: Arc<Allowed>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = Arc::clone(&self.allowed);
        Box::pin(async move {
            let addrs = resolve_checked(name.as_str(), 0, &allowed)
                .await
                .map_err(|why| -> Box<dyn std::error::Error + Send + Sync> { why.into() })?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str, allowed: &Allowed) -> String {
        check_url(raw, allowed).expect_err(raw)
    }

    #[test]
    fn only_public_https_addresses_are_reached() {
        let strict = Allowed::default();
        assert!(check_url("https://hooks.example.org/retour", &strict).is_ok());
        assert!(check_url("https://203.0.113.1/x", &strict).is_err());
        assert!(check_url("https://8.8.8.8/x", &strict).is_ok());
        for (raw, why) in [
            ("http://hooks.example.org/", "https"),
            ("ftp://hooks.example.org/", "https"),
            ("https://10.1.2.3/", "private"),
            ("https://172.16.0.1/", "private"),
            ("https://192.168.1.1/", "private"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://100.64.0.1/", "shared"),
            ("https://127.0.0.1/", "loopback"),
            ("https://[::1]/", "loopback"),
            ("https://[fd00::1]/", "unique local"),
            ("https://[fe80::1]/", "link-local"),
            ("https://[::ffff:10.0.0.1]/", "private"),
            ("https://0.0.0.0/", "unspecified"),
            ("https://user:pw@hooks.example.org/", "credentials"),
            ("not a url", "not a URL"),
        ] {
            let message = refused(raw, &strict);
            assert!(message.contains(why), "{raw}: {message}");
        }
    }

    #[test]
    fn loopback_and_allow_listed_networks_are_reached_when_configured() {
        let tests =
            Allowed { loopback: true, networks: vec!["10.20.0.0/16".parse().expect("net")] };
        assert!(check_url("http://127.0.0.1:8088/hook", &tests).is_ok());
        assert!(check_url("https://10.20.1.1/hook", &tests).is_ok());
        assert!(refused("http://10.20.1.1/hook", &tests).contains("https"));
        assert!(refused("https://10.21.1.1/hook", &tests).contains("private"));
        assert!(refused("http://localhost/hook", &tests).contains("https"));
    }

    #[tokio::test]
    async fn a_name_is_refused_when_any_of_its_addresses_is() {
        let strict = Allowed::default();
        let refused = resolve_checked("localhost", 443, &strict).await.expect_err("localhost");
        assert!(refused.contains("loopback"), "{refused}");
        let tests = Allowed { loopback: true, networks: Vec::new() };
        assert!(resolve_checked("localhost", 443, &tests).await.is_ok());
    }
}
