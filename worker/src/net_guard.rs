//! SSRF guard for outbound webhooks.
//!
//! Webhook URLs are chosen by API users, so without a guard any user could make
//! the worker send requests to things only the worker can reach: the cloud
//! metadata service (169.254.169.254), the message broker, the database, admin
//! endpoints on loopback, other hosts on the private network.
//!
//! The check has to happen on IP addresses, not on URL text, and it has to
//! happen on the addresses the connection will actually use:
//!
//! * Hostnames are checked inside the client's DNS resolver, on the very
//!   addresses the connector then dials. Checking a separate, earlier lookup
//!   would be defeated by DNS rebinding (the first answer public, the second
//!   internal).
//! * IP literals never reach the resolver (the connector parses them itself),
//!   so callers must run [`NetGuard::check_url`] before every request.
//! * Redirects are never followed: a public endpoint could otherwise bounce the
//!   request to an internal one, and the redirect target would skip
//!   `check_url`.
//! * System proxy variables are ignored: with a proxy, the proxy resolves and
//!   connects, and none of the checks above would apply.
//!
//! Operators can open specific ranges (e.g. a webhook receiver on the private
//! network) with `ACTUATE_WEBHOOK_ALLOW`, parsed by
//! [`NetGuard::parse_allowlist`].

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How an IPv4 address reached us; indexes the arrays built by `reason!`.
#[derive(Clone, Copy)]
enum Via {
    Direct = 0,
    Mapped = 1,
    Compatible = 2,
    Nat64 = 3,
    SixToFour = 4,
}

/// Spells one IPv4 reason once per [`Via`] at compile time, so that reasons for
/// embedded addresses can say how the address was wrapped and still be
/// `&'static str`.
macro_rules! reason {
    ($text:literal) => {
        [
            $text,
            concat!("IPv4-mapped ", $text),
            concat!("IPv4-compatible ", $text),
            concat!("NAT64 ", $text),
            concat!("6to4 ", $text),
        ]
    };
}

/// First match wins, so the more specific entries come first.
const V4_BLOCKED: &[(Ipv4Addr, u32, [&str; 5])] = &[
    // Connecting to 0.0.0.0 reaches the local host on Linux and macOS.
    (Ipv4Addr::new(0, 0, 0, 0), 32, reason!("unspecified")),
    (Ipv4Addr::new(0, 0, 0, 0), 8, reason!("this network")),
    (Ipv4Addr::new(10, 0, 0, 0), 8, reason!("private")),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        reason!("shared address space (CGNAT)"),
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, reason!("loopback")),
    (Ipv4Addr::new(169, 254, 0, 0), 16, reason!("link-local")),
    (Ipv4Addr::new(172, 16, 0, 0), 12, reason!("private")),
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        reason!("IETF protocol assignments"),
    ),
    (Ipv4Addr::new(192, 0, 2, 0), 24, reason!("documentation")),
    (Ipv4Addr::new(192, 168, 0, 0), 16, reason!("private")),
    (Ipv4Addr::new(198, 18, 0, 0), 15, reason!("benchmarking")),
    (Ipv4Addr::new(198, 51, 100, 0), 24, reason!("documentation")),
    (Ipv4Addr::new(203, 0, 113, 0), 24, reason!("documentation")),
    (Ipv4Addr::new(224, 0, 0, 0), 4, reason!("multicast")),
    (Ipv4Addr::new(255, 255, 255, 255), 32, reason!("broadcast")),
    (Ipv4Addr::new(240, 0, 0, 0), 4, reason!("reserved")),
];

/// Native IPv6 ranges. Forms that embed an IPv4 address are handled by
/// `embedded_v4` before this table is consulted.
const V6_BLOCKED: &[(Ipv6Addr, u32, &str)] = &[
    (Ipv6Addr::UNSPECIFIED, 128, "unspecified"),
    (Ipv6Addr::LOCALHOST, 128, "loopback"),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64, "discard"),
    // Where the IPv4 address sits depends on the prefix length the local
    // operator picked, so it cannot be classified; it is never public anyway.
    (
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        48,
        "local-use NAT64",
    ),
    // The plain IPv4 address inside is the Teredo server's and the real
    // destination's is obfuscated; no webhook receiver needs Teredo.
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32, "Teredo"),
    (
        Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0),
        48,
        "benchmarking",
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation",
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation",
    ),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, "private"),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "link-local"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "site-local"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "multicast"),
];

fn v4_in(ip: Ipv4Addr, net: Ipv4Addr, len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net) & mask
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

fn v4_reason(ip: Ipv4Addr, via: Via) -> Option<&'static str> {
    V4_BLOCKED
        .iter()
        .find(|(net, len, _)| v4_in(ip, *net, *len))
        .map(|(_, _, reasons)| reasons[via as usize])
}

/// IPv6 forms whose packets end up at an IPv4 address: they must be judged by
/// that address, or `::ffff:127.0.0.1` would walk past a loopback check.
fn embedded_v4(ip: Ipv6Addr) -> Option<(Ipv4Addr, Via)> {
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from(bits as u32);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some((v4, Via::Mapped));
    }
    if v6_in(ip, Ipv6Addr::UNSPECIFIED, 96) && bits > 1 {
        return Some((low32, Via::Compatible));
    }
    if v6_in(ip, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return Some((low32, Via::Nat64));
    }
    if v6_in(ip, Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        return Some((Ipv4Addr::from((bits >> 80) as u32), Via::SixToFour));
    }
    None
}

/// Why an address is refused, e.g. "loopback", "private", "link-local",
/// "shared address space (CGNAT)", "IPv4-mapped loopback", or `None` if it is
/// a public address.
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4, Via::Direct),
        IpAddr::V6(v6) => {
            if let Some((v4, via)) = embedded_v4(v6) {
                return v4_reason(v4, via);
            }
            if let Some((_, _, reason)) = V6_BLOCKED
                .iter()
                .find(|(net, len, _)| v6_in(v6, *net, *len))
            {
                return Some(reason);
            }
            // Only 2000::/3 is allocated for global unicast; anything else that
            // got this far is unassigned or special-purpose, and refusing it
            // keeps future special-purpose ranges closed by default.
            let global_unicast = v6_in(v6, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);
            (!global_unicast).then_some("reserved")
        }
    }
}

/// Decides which destinations outbound webhooks may connect to.
#[derive(Clone, Debug, Default)]
pub struct NetGuard {
    allow: Vec<IpNet>,
}

/// A destination refused by [`NetGuard::check`].
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("destination {ip} is not allowed ({reason}); set ACTUATE_WEBHOOK_ALLOW to permit it")]
pub struct BlockedAddress {
    pub ip: IpAddr,
    pub reason: &'static str,
}

impl BlockedAddress {
    /// Finds the refusal in an error's source chain (e.g. a `reqwest::Error`
    /// from [`NetGuard::http_client`]), so callers can report it as a policy
    /// decision rather than a network failure, and not retry it.
    pub fn find_in<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a BlockedAddress> {
        let mut current = Some(err);
        while let Some(err) = current {
            if let Some(blocked) = err.downcast_ref::<BlockedAddress>() {
                return Some(blocked);
            }
            current = err.source();
        }
        None
    }
}

impl NetGuard {
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// Parses `ACTUATE_WEBHOOK_ALLOW`: comma-separated CIDRs or bare IPs, e.g.
    /// `"127.0.0.1/32, ::1, 10.0.0.0/8"`. Bare IPs become /32 or /128. An empty
    /// string gives an empty list; empty entries (a trailing comma) are skipped.
    pub fn parse_allowlist(s: &str) -> Result<Vec<IpNet>, String> {
        s.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "invalid ACTUATE_WEBHOOK_ALLOW entry {entry:?}: expected an IP address or CIDR such as 10.0.0.0/8"
                        )
                    })
            })
            .collect()
    }

    fn is_allowlisted(&self, ip: IpAddr) -> bool {
        // Operators write IPv4 ranges; an IPv4-mapped address is the same
        // destination, so it must not need a second, IPv6 spelling of the rule.
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.allow
            .iter()
            .any(|net| net.contains(&ip) || mapped.is_some_and(|v4| net.contains(&v4)))
    }

    /// `Ok` if the address is public or inside the allowlist.
    pub fn check(&self, ip: IpAddr) -> Result<(), BlockedAddress> {
        if self.is_allowlisted(ip) {
            return Ok(());
        }
        match blocked_reason(ip) {
            Some(reason) => Err(BlockedAddress { ip, reason }),
            None => Ok(()),
        }
    }

    /// Checks a URL before a request: the scheme must be http or https, and an
    /// IP-literal host is checked here. Hostnames pass; the client's resolver
    /// checks them.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(format!(
                    "URL scheme {other:?} is not allowed for webhooks; use http or https"
                ));
            }
        }
        let host = url
            .host_str()
            .ok_or_else(|| "webhook URL has no host".to_owned())?;
        // The connector dials IP literals directly without asking the
        // resolver, so this is the only place they are checked. `url` has
        // already normalised forms such as `0x7f000001` or `127.1` to dotted
        // quads.
        let literal = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = literal.parse::<IpAddr>() {
            self.check(ip).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// A client for webhook requests: no redirects, no proxies, and every
    /// resolved address checked against this guard. Callers must still run
    /// [`NetGuard::check_url`] first, for IP literals.
    pub fn http_client(&self, connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                guard: Arc::new(self.clone()),
            }))
            .connect_timeout(connect_timeout)
            .user_agent(concat!("actuate-webhook/", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

/// Resolves with the system resolver, then applies the guard to the very
/// addresses the connector will dial, so there is no second lookup an attacker's
/// DNS server could answer differently.
struct GuardedResolver {
    guard: Arc<NetGuard>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = Arc::clone(&self.guard);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            // Refuse the whole name rather than dropping the bad records: a name
            // that mixes public and internal addresses is either misconfigured
            // or trying to get an internal address dialled on a fallback.
            for addr in &addrs {
                guard.check(addr.ip())?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::str::FromStr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse()
            .unwrap_or_else(|e| panic!("bad test address {s}: {e}"))
    }

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap_or_else(|e| panic!("bad test URL {s}: {e}"))
    }

    fn allow(s: &str) -> NetGuard {
        NetGuard::new(NetGuard::parse_allowlist(s).unwrap())
    }

    fn error_chain(err: &dyn StdError) -> String {
        let mut parts = vec![err.to_string()];
        let mut source = err.source();
        while let Some(e) = source {
            parts.push(e.to_string());
            source = e.source();
        }
        parts.join(": ")
    }

    #[test]
    fn blocked_addresses() {
        let cases = [
            // IPv4
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "this network"),
            ("10.0.0.1", "private"),
            ("10.255.255.255", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("169.254.169.254", "link-local"),
            ("169.254.0.1", "link-local"),
            ("100.64.0.1", "shared address space (CGNAT)"),
            ("100.127.255.255", "shared address space (CGNAT)"),
            ("192.0.0.8", "IETF protocol assignments"),
            ("192.0.2.1", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.254", "reserved"),
            ("255.255.255.255", "broadcast"),
            // IPv6
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("febf:ffff::1", "link-local"),
            ("fec0::1", "site-local"),
            ("fc00::1", "private"),
            ("fd12:3456::1", "private"),
            ("ff02::1", "multicast"),
            ("ff0e::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("3fff::1", "documentation"),
            ("2001:2::1", "benchmarking"),
            ("100::1", "discard"),
            ("2001::1", "Teredo"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
            ("64:ff9b:1::a00:1", "local-use NAT64"),
            ("4000::1", "reserved"),
            ("::ffff:0:7f00:1", "reserved"),
            // IPv6 forms that embed an IPv4 address
            ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
            ("::ffff:10.0.0.1", "IPv4-mapped private"),
            ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
            ("::ffff:0.0.0.0", "IPv4-mapped unspecified"),
            ("::127.0.0.1", "IPv4-compatible loopback"),
            ("::a00:1", "IPv4-compatible private"),
            ("::2", "IPv4-compatible this network"),
            ("64:ff9b::7f00:1", "NAT64 loopback"),
            ("64:ff9b::a9fe:a9fe", "NAT64 link-local"),
            ("64:ff9b::c0a8:101", "NAT64 private"),
            ("2002:7f00:1::", "6to4 loopback"),
            ("2002:a00:1::1", "6to4 private"),
            ("2002:a9fe:a9fe::1", "6to4 link-local"),
        ];
        let guard = NetGuard::default();
        for (addr, reason) in cases {
            let addr = ip(addr);
            assert_eq!(blocked_reason(addr), Some(reason), "{addr}");
            assert_eq!(
                guard.check(addr),
                Err(BlockedAddress { ip: addr, reason }),
                "{addr}"
            );
        }
    }

    #[test]
    fn public_addresses_allowed() {
        let cases = [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            // Just outside the neighbouring blocked ranges.
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001:80b::200e",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
            "::808:808",
            "2002:808:808::1",
        ];
        let guard = NetGuard::default();
        for addr in cases {
            let addr = ip(addr);
            assert_eq!(blocked_reason(addr), None, "{addr}");
            assert_eq!(guard.check(addr), Ok(()), "{addr}");
        }
    }

    #[test]
    fn blocked_address_message() {
        let err = NetGuard::default()
            .check(ip("169.254.169.254"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "destination 169.254.169.254 is not allowed (link-local); set ACTUATE_WEBHOOK_ALLOW to permit it"
        );
    }

    #[test]
    fn parse_allowlist_entries() {
        let net = |s: &str| IpNet::from_str(s).unwrap();
        assert_eq!(NetGuard::parse_allowlist(""), Ok(vec![]));
        assert_eq!(NetGuard::parse_allowlist("  "), Ok(vec![]));
        assert_eq!(
            NetGuard::parse_allowlist("127.0.0.1/32, ::1, 10.0.0.0/8"),
            Ok(vec![net("127.0.0.1/32"), net("::1/128"), net("10.0.0.0/8")])
        );
        assert_eq!(
            NetGuard::parse_allowlist("  192.168.1.5 ,fd00::/8,"),
            Ok(vec![net("192.168.1.5/32"), net("fd00::/8")])
        );

        for (input, bad) in [
            ("localhost", "localhost"),
            ("10.0.0.0/33", "10.0.0.0/33"),
            ("127.0.0.1/32, nope", "nope"),
            ("1.2.3.4/", "1.2.3.4/"),
            ("::1/129", "::1/129"),
            ("10.0.0.0/8 192.168.0.0/16", "10.0.0.0/8 192.168.0.0/16"),
        ] {
            let err = NetGuard::parse_allowlist(input).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{input}: {err}");
        }
    }

    #[test]
    fn allowlist_effect() {
        let guard = allow("127.0.0.1/32");
        assert_eq!(guard.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(guard.check(ip("::ffff:127.0.0.1")), Ok(()));
        assert!(guard.check(ip("127.0.0.2")).is_err());
        assert!(guard.check(ip("::1")).is_err());
        assert!(guard.check(ip("10.0.0.1")).is_err());

        let guard = allow("10.0.0.0/8, ::1");
        assert_eq!(guard.check(ip("10.1.2.3")), Ok(()));
        assert_eq!(guard.check(ip("::ffff:10.1.2.3")), Ok(()));
        assert_eq!(guard.check(ip("::1")), Ok(()));
        assert!(guard.check(ip("127.0.0.1")).is_err());
        assert_eq!(guard.check(ip("8.8.8.8")), Ok(()));
    }

    #[test]
    fn check_url_blocks_ip_literals() {
        let guard = NetGuard::default();
        for u in [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::ffff:127.0.0.1]:9000/x",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/hook",
            "http://[fe80::1]/",
            "http://[fc00::1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            // Alternative IPv4 spellings, normalised by the URL parser.
            "http://0x7f000001/",
            "http://2130706433/",
            "http://127.1/",
        ] {
            let err = guard.check_url(&url(u)).unwrap_err();
            assert!(err.contains("not allowed"), "{u}: {err}");
        }
    }

    #[test]
    fn check_url_refuses_other_schemes() {
        let guard = NetGuard::default();
        for u in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://example.com/",
            "ws://example.com/",
            "unix:/var/run/docker.sock",
        ] {
            let err = guard.check_url(&url(u)).unwrap_err();
            assert!(err.contains("scheme"), "{u}: {err}");
        }
    }

    #[test]
    fn check_url_passes_hostnames_and_public_literals() {
        let guard = NetGuard::default();
        for u in [
            "http://example.com/",
            "https://hooks.example.org:8443/x?y=1",
            "http://localhost/",
            "http://8.8.8.8/",
            "https://[2606:4700:4700::1111]/",
        ] {
            assert_eq!(guard.check_url(&url(u)), Ok(()), "{u}");
        }

        let guard = allow("127.0.0.1/32");
        assert_eq!(guard.check_url(&url("http://127.0.0.1:8080/")), Ok(()));
        assert_eq!(guard.check_url(&url("http://[::ffff:127.0.0.1]/")), Ok(()));
    }

    #[tokio::test]
    async fn resolver_refuses_names_with_blocked_addresses() {
        let resolver = GuardedResolver {
            guard: Arc::new(NetGuard::default()),
        };
        let err = match resolver.resolve(Name::from_str("localhost").unwrap()).await {
            Ok(addrs) => panic!("localhost resolved to {:?}", addrs.collect::<Vec<_>>()),
            Err(err) => err,
        };
        let blocked = err
            .downcast_ref::<BlockedAddress>()
            .expect("a BlockedAddress");
        assert_eq!(blocked.reason, "loopback");
    }

    struct TestServer {
        port: u16,
        connections: Arc<AtomicUsize>,
    }

    /// A one-request-per-connection HTTP server on loopback that counts the
    /// connections it accepts. Connections are served in order, so once a
    /// response arrives every earlier connection has been counted.
    fn spawn_server(response: impl FnOnce(u16) -> String) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let response = response(port);
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = stream.write_all(response.as_bytes());
            }
        });
        TestServer { port, connections }
    }

    fn ok_response(_port: u16) -> String {
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_owned()
    }

    #[tokio::test]
    async fn client_never_reaches_loopback_unless_allowlisted() {
        let server = spawn_server(ok_response);
        let port = server.port;
        let timeout = Duration::from_secs(5);

        let guard = NetGuard::default();
        let client = guard.http_client(timeout).unwrap();

        for literal in [
            format!("http://127.0.0.1:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
        ] {
            let err = guard.check_url(&url(&literal)).unwrap_err();
            assert!(err.contains("not allowed"), "{literal}: {err}");
        }

        // A hostname passes check_url; the client's resolver must refuse it.
        let by_name = url(&format!("http://localhost:{port}/"));
        assert_eq!(guard.check_url(&by_name), Ok(()));
        let err = client.get(by_name).send().await.unwrap_err();
        let chain = error_chain(&err);
        assert!(chain.contains("not allowed"), "{chain}");
        let blocked = BlockedAddress::find_in(&err).expect("BlockedAddress in the chain");
        assert_eq!(blocked.reason, "loopback");

        assert_eq!(server.connections.load(Ordering::SeqCst), 0);

        let guard = allow("127.0.0.1/32");
        let client = guard.http_client(timeout).unwrap();
        let target = url(&format!("http://127.0.0.1:{port}/"));
        guard.check_url(&target).unwrap();
        let response = client.get(target).send().await.unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "ok");
        // Served in order, so this also proves nothing above got through.
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn client_does_not_follow_redirects() {
        let server = spawn_server(|port| {
            format!(
                "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{port}/other\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
        });
        let port = server.port;
        let guard = allow("127.0.0.1/32");
        let client = guard.http_client(Duration::from_secs(5)).unwrap();

        let response = client
            .get(url(&format!("http://127.0.0.1:{port}/")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::FOUND);
        assert_eq!(
            response.headers()[reqwest::header::LOCATION],
            format!("http://127.0.0.1:{port}/other").as_str()
        );
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    }
}
