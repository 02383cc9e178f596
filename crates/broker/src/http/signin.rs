//! The dashboard sign-in: a cookie (HttpOnly, SameSite=Strict) that a person
//! gets from `POST /v1/signin` with the admin token, signed with
//! HMAC-SHA-256 under a key derived from the admin token, so it survives a
//! broker restart and dies when the admin token changes.
//!
//! ("Session" in this project means a collaboration session, `/v1/sessions`;
//! this is a sign-in.)

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::runtime::ids::{same_secret, short_id};

/// Name of the sign-in cookie (its value on the wire is unchanged since the
/// first release, so existing sign-ins stay valid across the rename).
pub const SIGNIN_COOKIE: &str = "cp_session";
/// How long a dashboard sign-in lasts.
pub const SIGNIN_TTL_MS: i64 = 7 * 24 * 3_600_000;

/// Issues and checks dashboard sign-in cookies.
pub struct SignIns {
    key: Vec<u8>,
}

impl SignIns {
    pub fn new(admin_token: &str) -> Self {
        Self {
            key: format!("dashboard-session:{admin_token}").into_bytes(),
        }
    }

    fn mac(&self, body: &str) -> String {
        // HMAC accepts a key of any length; `new_from_slice` cannot fail for it.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(body.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A new sign-in value, valid for [`SIGNIN_TTL_MS`] from `now`.
    pub fn issue(&self, now: i64) -> String {
        let body = format!("{}.{}", now + SIGNIN_TTL_MS, short_id(16));
        let mac = self.mac(&body);
        format!("{body}.{mac}")
    }

    /// Whether `value` is a sign-in this broker issued that has not expired
    /// (the MAC is compared in constant time).
    pub fn valid(&self, value: &str, now: i64) -> bool {
        let Some((body, mac)) = value.rsplit_once('.') else {
            return false;
        };
        let Some((expiry, _)) = body.split_once('.') else {
            return false;
        };
        let Ok(expiry) = expiry.parse::<i64>() else {
            return false;
        };
        expiry > now && same_secret(&self.mac(body), mac)
    }

    /// The `Set-Cookie` header value for `value`; `secure` (a broker serving
    /// HTTPS) adds `Secure`, so the browser never sends it over plain HTTP.
    pub fn cookie(value: &str, secure: bool) -> String {
        format!(
            "{SIGNIN_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            SIGNIN_TTL_MS / 1000,
            if secure { "; Secure" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashboard_sessions_are_signed_and_expire() {
        let s = SignIns::new("cpt_0123456789abcdef0123456789abcdef");
        let v = s.issue(1_000);
        assert!(s.valid(&v, 2_000));
        assert!(!s.valid(&v, 1_000 + SIGNIN_TTL_MS + 1), "expired");
        let other = SignIns::new("cpt_ffffffffffffffffffffffffffffffff");
        assert!(!other.valid(&v, 2_000), "another admin token");
        let forged = v.replacen(|c: char| c.is_ascii_digit(), "9", 1);
        assert!(!s.valid(&forged, 2_000), "tampered expiry");
        assert!(!s.valid("garbage", 2_000));
    }

    /// The MAC is HMAC-SHA-256 (RFC 4231 test case 2), not a hash of key ‖ body.
    #[test]
    fn the_mac_is_hmac_sha256() {
        let s = SignIns {
            key: b"Jefe".to_vec(),
        };
        assert_eq!(
            s.mac("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
