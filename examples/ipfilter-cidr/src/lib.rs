//! `ipfilter-cidr`: an IP-filter plugin allowing the CIDR ranges given as its
//! arguments (IPv4 and IPv6; a bare address is a single host) and refusing
//! everything else:
//!
//! ```json
//! {"type": "ipfilter", "cmd": "ipfilter_cidr.wasm", "args": ["10.0.0.0/8", "192.168.1.0/24", "::1"]}
//! ```
//!
//! An argument that is not a range makes every check fail with the reason,
//! so a typo never silently opens or closes the server.

use std::net::IpAddr;

use hookhost_guest::ipfilter::IpFilter;

struct Range {
    network: IpAddr,
    prefix: u32,
}

fn parse(spec: &str) -> Result<Range, String> {
    let (addr, prefix) = match spec.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (spec, None),
    };
    let network: IpAddr = addr
        .parse()
        .map_err(|_| format!("{spec:?} is not an IP range"))?;
    let bits = if network.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => bits,
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|p| *p <= bits)
            .ok_or_else(|| format!("{spec:?}: bad prefix length"))?,
    };
    Ok(Range { network, prefix })
}

fn to_bits(ip: IpAddr) -> (u128, u32) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (u128::from(u32::from(v4)), 32),
            None => (u128::from(v6), 128),
        },
    }
}

impl Range {
    fn contains(&self, ip: IpAddr) -> bool {
        let (net, net_bits) = to_bits(self.network);
        let (addr, addr_bits) = to_bits(ip);
        if net_bits != addr_bits {
            return false;
        }
        let shift = net_bits - self.prefix;
        shift >= net_bits || (net >> shift) == (addr >> shift)
    }
}

fn ranges() -> Result<Vec<Range>, String> {
    std::env::args().skip(1).map(|spec| parse(&spec)).collect()
}

struct Cidr;

impl IpFilter for Cidr {
    fn check_ip(ip: String, protocol: String) -> Result<(), String> {
        let ranges = ranges()?;
        let addr: IpAddr = ip
            .parse()
            .map_err(|_| format!("{ip:?} is not an IP address"))?;
        if ranges.iter().any(|r| r.contains(addr)) {
            Ok(())
        } else {
            Err(format!("{ip} is not in an allowed range ({protocol})"))
        }
    }

    fn reload() -> Result<(), String> {
        // The ranges are the arguments, read on every check.
        ranges().map(|_| ())
    }
}

hookhost_guest::export_ipfilter!(Cidr);
