//! The address a request comes from, as the limits key it. Behind a reverse proxy every request
//! arrives from the proxy, so the address it forwards for counts instead, but only when the
//! proxy is one the operator named (`--trusted-proxy`): anyone else could write any address into
//! `X-Forwarded-For` and escape their limits. IPv6 clients count by their /64, since one host is
//! usually handed a whole /64 and could take a fresh address for every guess.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::HttpRequest;

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpAddr>);

/// The limits' key for the client of `req`.
pub fn key(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|addr| addr.ip()) else {
        return "unknown".to_owned();
    };
    let trusted = req
        .app_data::<TrustedProxies>()
        .map_or(&[][..], |t| &t.0[..]);
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .collect();
    key_of(client_ip(peer, &forwarded, trusted))
}

/// The client behind `peer`: walking `X-Forwarded-For` from the nearest hop outwards, the first
/// address that is not a trusted proxy. A hop that cannot be read ends the walk at the proxy
/// that sent it, so garbage never becomes a fresh key.
fn client_ip(peer: IpAddr, forwarded: &[&str], trusted: &[IpAddr]) -> IpAddr {
    let mut client = canonical(peer);
    if !trusted.contains(&client) {
        return client;
    }
    let hops = forwarded.iter().flat_map(|value| value.split(',')).rev();
    for hop in hops {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !trusted.contains(&client) {
                    return client;
                }
            }
            Err(_) => return client,
        }
    }
    client
}

/// IPv4-mapped IPv6 addresses are the IPv4 ones.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn key_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy() {
        let proxy = ip("10.0.0.2");
        let forwarded = ["203.0.113.7, 198.51.100.9"];
        assert_eq!(client_ip(proxy, &forwarded, &[]), proxy, "untrusted");
        assert_eq!(
            client_ip(proxy, &forwarded, &[proxy]),
            ip("198.51.100.9"),
            "the nearest hop the proxy saw, not what the client wrote before it"
        );
        let chained = ["203.0.113.7", "198.51.100.9, 10.0.0.3"];
        assert_eq!(
            client_ip(proxy, &chained, &[proxy, ip("10.0.0.3")]),
            ip("198.51.100.9")
        );
        assert_eq!(client_ip(proxy, &["nonsense"], &[proxy]), proxy);
        assert_eq!(client_ip(proxy, &[], &[proxy]), proxy);
    }

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            key_of(ip("2001:db8:1:2:aaaa::1")),
            key_of(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_eq!(key_of(ip("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_ne!(key_of(ip("2001:db8:1:3::1")), key_of(ip("2001:db8:1:2::1")));
        assert_eq!(
            key_of(client_ip(ip("::ffff:192.0.2.1"), &[], &[])),
            "192.0.2.1"
        );
    }
}
