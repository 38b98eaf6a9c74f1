//! `WatchJob`: replays the stored events after `after_sequence`, then
//! streams new ones as the driver stores them; ends after the event that
//! put the job in a terminal state. Each event carries the job as it is
//! when the event is sent (on replay: the current job).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bapay_proto::outsourcer::v1 as pb;
use tonic::Status;

use crate::record;
use crate::service::Outsourcer;
use crate::view;
use crate::Result;

type Stream =
    Pin<Box<dyn tokio_stream::Stream<Item = std::result::Result<pb::JobEvent, Status>> + Send>>;

/// Handles WatchJob (NOT_FOUND before the stream starts).
pub fn handle(o: Arc<Outsourcer>, req: pb::WatchJobRequest) -> Result<Stream> {
    let id = super::job_key(&req.job_id)?;
    o.get(&id)?;
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let mut changed = o.changed.subscribe();
    tokio::spawn(async move {
        let mut after = req.after_sequence;
        loop {
            let sent = async {
                let (rec, _) = o.get(&id)?;
                let events = record::events(o.store.as_ref(), &id, after)?;
                let job = view::job(&rec);
                let mut out = Vec::new();
                for e in events {
                    after = e.seq;
                    out.push(view::event(&e, job.clone()));
                }
                Ok::<_, bapay_daemon::ServiceError>((out, rec.state.is_terminal()))
            }
            .await;
            match sent {
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
                Ok((events, terminal)) => {
                    for e in events {
                        if tx.send(Ok(e)).await.is_err() {
                            return;
                        }
                    }
                    if terminal {
                        return;
                    }
                }
            }
            // Woken by a change, or every second as a fallback.
            let _ = tokio::time::timeout(Duration::from_secs(1), changed.recv()).await;
        }
    });
    Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
}
