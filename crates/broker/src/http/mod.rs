//! The top layer: the HTTP API ([`routes`]) behind [`guard`] (Host, Origin,
//! Content-Type) and [`auth`] (tokens, dashboard sign-in), the WebSocket
//! [`stream`], the embedded [`dashboard`], the handlers' [`state`], and
//! [`tls`] (HTTPS/WSS with `--tls-cert`/`--tls-key`).

pub mod auth;
pub mod dashboard;
pub mod guard;
pub mod routes;
pub mod sendlimit;
pub mod signin;
pub mod state;
pub mod stream;
pub mod tls;
