//! Open the broker's WebSocket stream with a token.

use claude_peers_proto::stream::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::Endpoint;

/// An open stream.
pub struct Stream {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What came in on the stream.
#[derive(Debug)]
pub enum Incoming {
    Frame(ServerFrame),
    /// A frame we could not read (logged and skipped by callers).
    Garbled(String),
    Closed,
}

impl Stream {
    /// Connect to `/v1/stream` as the holder of `token`.
    pub async fn connect(endpoint: &Endpoint, token: &str) -> Result<Self, String> {
        let ws = open(endpoint, "/v1/stream", token)
            .await
            .map_err(|e| format!("cannot open the stream: {e}"))?;
        Ok(Self { ws })
    }

    /// The next frame (pings are answered by the library).
    pub async fn next(&mut self) -> Incoming {
        read(&mut self.ws).await
    }

    /// Send a frame to the broker.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), String> {
        let json = serde_json::to_string(frame).map_err(|e| e.to_string())?;
        self.ws
            .send(Message::text(json))
            .await
            .map_err(|e| e.to_string())
    }

    /// Split into a reader and a writer half.
    pub fn split(self) -> (StreamReader, StreamWriter) {
        let (w, r) = self.ws.split();
        (StreamReader { r }, StreamWriter { w })
    }
}

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Open a WebSocket to `path_and_query` on the broker as the holder of
/// `token`: `ws://`, or `wss://` with the trust rule of [`crate::tls`].
pub(crate) async fn open(
    endpoint: &Endpoint,
    path_and_query: &str,
    token: &str,
) -> Result<Ws, String> {
    let url = endpoint.ws_url(path_and_query);
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let auth = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
    req.headers_mut().insert("authorization", auth);
    let connector = if endpoint.tls {
        Some(Connector::Rustls(
            crate::tls::client_config().map_err(|e| e.0)?,
        ))
    } else {
        None
    };
    let (ws, _) = tokio_tungstenite::connect_async_tls_with_config(req, None, false, connector)
        .await
        .map_err(|e| match crate::tls::explain(&e) {
            Some(why) => format!("{url}: {why}"),
            None => format!("{url}: {e}"),
        })?;
    Ok(ws)
}

pub struct StreamReader {
    r: futures_util::stream::SplitStream<Ws>,
}

pub struct StreamWriter {
    w: futures_util::stream::SplitSink<Ws, Message>,
}

impl StreamReader {
    pub async fn next(&mut self) -> Incoming {
        read(&mut self.r).await
    }
}

impl StreamWriter {
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), String> {
        let json = serde_json::to_string(frame).map_err(|e| e.to_string())?;
        self.w
            .send(Message::text(json))
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn close(&mut self) {
        let _ = self.w.close().await;
    }
}

/// The next frame from a WebSocket (pings are answered by the library).
async fn read<S>(ws: &mut S) -> Incoming
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return match serde_json::from_str::<ServerFrame>(t.as_str()) {
                    Ok(f) => Incoming::Frame(f),
                    Err(e) => Incoming::Garbled(format!(
                        "{e}: {}",
                        t.as_str().chars().take(200).collect::<String>()
                    )),
                };
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Incoming::Closed,
            Some(Ok(_)) => continue,
        }
    }
}
