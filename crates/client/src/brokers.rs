//! The brokers a client may use, in order of preference, and the failover
//! rule.
//!
//! `CLAUDE_PEERS_BROKERS=https://a:7899,https://b:7899` lists them; without
//! it the list is the one broker of `CLAUDE_PEERS_HOST`/`CLAUDE_PEERS_PORT`
//! (default `http://127.0.0.1:7899`). A client tries them in order and uses
//! the first that answers as a claude-peers broker. A broker is auto-started
//! only when the list is one plain-HTTP broker on this machine.

use std::path::Path;

use crate::Endpoint;
use crate::autostart::{Probe, probe};

/// The variable that lists the brokers.
pub const BROKERS_VAR: &str = "CLAUDE_PEERS_BROKERS";
/// Most brokers in one list.
pub const MAX_BROKERS: usize = 16;
/// The port of a URL that names none.
pub const DEFAULT_PORT: u16 = 7899;

/// One or more brokers, in order of preference (never empty).
#[derive(Debug, Clone)]
pub struct BrokerList {
    endpoints: Vec<Endpoint>,
}

impl BrokerList {
    /// The list of one broker.
    pub fn single(endpoint: Endpoint) -> Self {
        Self {
            endpoints: vec![endpoint],
        }
    }

    /// Parse a comma-separated list of `http://HOST[:PORT]` and
    /// `https://HOST[:PORT]` URLs; `db` is this machine's database (where the
    /// session's files live, whichever broker serves it).
    pub fn parse(list: &str, db: &Path) -> Result<Self, String> {
        let mut endpoints = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            endpoints.push(parse_url(item, db)?);
        }
        if endpoints.is_empty() {
            return Err(format!(
                "{BROKERS_VAR} is empty; list broker URLs such as https://broker-a:7899,https://broker-b:7899"
            ));
        }
        if endpoints.len() > MAX_BROKERS {
            return Err(format!(
                "{BROKERS_VAR} lists {} brokers; at most {MAX_BROKERS} are allowed",
                endpoints.len()
            ));
        }
        Ok(Self { endpoints })
    }

    /// The brokers, first choice first.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The first choice.
    pub fn first(&self) -> &Endpoint {
        &self.endpoints[0]
    }

    /// Whether a missing broker may be started here: the list is the one
    /// local plain-HTTP broker (the default).
    pub fn autostart(&self) -> bool {
        self.endpoints.len() == 1 && self.endpoints[0].is_local()
    }

    /// The first broker that answers as ours, else the first choice (whose
    /// error the caller then reports). A list of one is not probed.
    pub async fn pick(&self) -> Endpoint {
        if self.endpoints.len() > 1 {
            for e in &self.endpoints {
                if let Probe::Ours(_) = probe(e).await {
                    return e.clone();
                }
            }
        }
        self.first().clone()
    }
}

/// One broker URL of the list.
fn parse_url(item: &str, db: &Path) -> Result<Endpoint, String> {
    let bad = |why: &str| {
        format!(
            "{BROKERS_VAR}: {item:?} is not a broker URL ({why}); expected http://HOST:PORT or https://HOST:PORT"
        )
    };
    let (tls, rest) = if let Some(r) = item.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = item.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad("it must start with http:// or https://"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@']) {
        return Err(bad("no path, query or user part"));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("an unclosed [ in the host"))?;
        match after {
            "" => (h.to_string(), None),
            p => match p.strip_prefix(':') {
                Some(p) => (h.to_string(), Some(p)),
                None => return Err(bad("text after the IPv6 address")),
            },
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (rest.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
        None => DEFAULT_PORT,
    };
    Ok(Endpoint {
        host,
        port,
        db: db.to_path_buf(),
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> Result<BrokerList, String> {
        BrokerList::parse(s, Path::new("/tmp/x.db"))
    }

    #[test]
    fn urls_parse_with_scheme_host_and_port() {
        let l = list("https://broker-a:7443, http://127.0.0.1:7900/ ,https://[::1]:9,https://b")
            .unwrap();
        let e = l.endpoints();
        assert_eq!(e.len(), 4);
        assert!(e[0].tls && e[0].host == "broker-a" && e[0].port == 7443);
        assert_eq!(e[0].base_url(), "https://broker-a:7443");
        assert_eq!(e[0].ws_url("/v1/stream"), "wss://broker-a:7443/v1/stream");
        assert!(!e[1].tls && e[1].port == 7900);
        assert_eq!(e[1].ws_url("/v1/stream"), "ws://127.0.0.1:7900/v1/stream");
        assert_eq!(e[2].host, "::1");
        assert_eq!(e[2].base_url(), "https://[::1]:9");
        assert_eq!(e[3].port, DEFAULT_PORT);
        assert!(!l.autostart());
    }

    #[test]
    fn only_one_local_plain_broker_may_be_auto_started() {
        assert!(list("http://127.0.0.1:7899").unwrap().autostart());
        assert!(!list("https://127.0.0.1:7899").unwrap().autostart());
        assert!(
            !list("http://127.0.0.1:1,http://127.0.0.1:2")
                .unwrap()
                .autostart()
        );
        assert!(!list("http://broker:7899").unwrap().autostart());
    }

    #[test]
    fn bad_lists_are_refused_with_the_reason() {
        for (input, why) in [
            ("", "is empty"),
            (" , ", "is empty"),
            ("broker:7899", "must start with http"),
            ("ftp://b:1", "must start with http"),
            ("https://b:99999", "port must be a number"),
            ("https://b:0", "port must be a number"),
            ("https://b:1/path", "no path"),
            ("https://:1", "no host"),
            ("https://[::1", "unclosed"),
        ] {
            let e = list(input).unwrap_err();
            assert!(e.contains(why), "{input:?}: {e}");
        }
        let many = vec!["http://a:1"; MAX_BROKERS + 1].join(",");
        assert!(list(&many).unwrap_err().contains("at most"));
    }
}
