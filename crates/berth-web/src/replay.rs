//! A session's recording for the dashboard's replay view
//! (`/api/recording/NAME`): asked of the session's host as the person
//! logged in, exactly as `berth rec` asks it, so the host's access lists
//! decide (observers may replay, as they may read logs), and relayed to
//! the browser as it comes, a part at a time.

use std::path::Path;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_proto::client_async::{AsyncClient, AsyncReader, AsyncWriter, Received};
use berth_proto::scripting::RecordingRequest;
use berth_proto::sync::ClientError;
use berth_proto::{ErrorCode, OnBehalfOf, Request, Response as Answer};
use futures_util::StreamExt;

/// The handshake with a host must end this soon.
const DEADLINE: Duration = Duration::from_secs(5);
/// A part of the recording must come this soon (the host reads files and
/// may play a long history into a screen first).
const PART_WAIT: Duration = Duration::from_secs(120);

/// The recording of the session at `socket` as `claim`'s person may read
/// it: `application/x-asciicast`, or the host's refusal.
pub async fn recording(
    socket: &Path,
    claim: Option<OnBehalfOf>,
    req: RecordingRequest,
) -> Response {
    let refused = |e: ClientError| match e {
        ClientError::Refused { code, message } => {
            let status = match code {
                ErrorCode::Denied => StatusCode::FORBIDDEN,
                ErrorCode::BadRequest => StatusCode::NOT_FOUND,
                _ => StatusCode::BAD_GATEWAY,
            };
            (status, message).into_response()
        }
        other => (
            StatusCode::BAD_GATEWAY,
            format!("cannot reach the session: {other}"),
        )
            .into_response(),
    };
    let mut client = match AsyncClient::connect_for(socket, "berth-web", claim, DEADLINE).await {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    if let Err(e) = client.send(&Request::Recording(req)).await {
        return refused(e);
    }
    let (mut reader, writer) = client.into_split();
    // The first part decides the answer: the host's refusal, or 200.
    let first = match next(&mut reader).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => Vec::new(),
        Err(e) => return refused(e),
    };
    let rest = futures_util::stream::unfold(
        Some((reader, writer)),
        |open: Option<(AsyncReader, AsyncWriter)>| async move {
            let (mut reader, writer) = open?;
            match next(&mut reader).await {
                Ok(Some(bytes)) => Some((Ok(bytes), Some((reader, writer)))),
                Ok(None) => None,
                // Cut short: the browser sees a broken body, never a
                // shorter recording taken for the whole.
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        },
    );
    let body =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(rest);
    (
        [(header::CONTENT_TYPE, "application/x-asciicast")],
        Body::from_stream(body),
    )
        .into_response()
}

/// The next part of the recording; `None` at its end.
async fn next(reader: &mut AsyncReader) -> Result<Option<Vec<u8>>, ClientError> {
    loop {
        let got = tokio::time::timeout(PART_WAIT, reader.next())
            .await
            .map_err(|_| ClientError::Io(std::io::ErrorKind::TimedOut.into()))??;
        match got {
            Received::Data(bytes) => return Ok(Some(bytes)),
            Received::Response(Answer::RecordingEnd) => return Ok(None),
            Received::Response(_) => {}
        }
    }
}
