//! Logging: `tracing` events to stderr, as JSON lines (`--log-format json`)
//! or text (`pretty`), filtered by `RUST_LOG` (default `info`). Work on one
//! job runs inside [`job_span`], so every line it logs carries the job id
//! (JSON: in `span` and `spans`; text: as a `job{job_id=..}:` prefix).

use tracing::level_filters::LevelFilter;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::error::{Error, Result};

/// Installs the global subscriber (once per process). An invalid `RUST_LOG`
/// is an error rather than silently ignored.
pub fn init(format: LogFormat) -> Result<()> {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env()
        .map_err(|e| Error::Telemetry(format!("RUST_LOG: {e}")))?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    subscriber(format, filter, std::io::stderr, ansi)
        .try_init()
        .map_err(|e| Error::Telemetry(e.to_string()))
}

/// The span to run a job's work in: `job_span(id).in_scope(..)` or
/// `fut.instrument(job_span(id))`.
pub fn job_span(job_id: &str) -> tracing::Span {
    tracing::info_span!("job", job_id = %job_id)
}

fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        ),
        LogFormat::Pretty => Box::new(builder.with_ansi(ansi).finish()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(format: LogFormat) -> String {
        let buf = Buf::default();
        let out = buf.clone();
        let sub = subscriber(format, EnvFilter::new("debug"), move || out.clone(), false);
        tracing::subscriber::with_default(sub, || {
            tracing::info!("outside any job");
            job_span("job-42").in_scope(|| {
                tracing::info!("funding seen");
                tracing::info_span!("broadcast", txid = "ab").in_scope(|| {
                    tracing::debug!("sent");
                });
            });
            tracing::trace!("filtered out");
        });
        let bytes = buf.0.lock().expect("buffer").clone();
        String::from_utf8(bytes).expect("utf8")
    }

    #[test]
    fn json_lines_carry_the_job_id() {
        let text = capture(LogFormat::Json);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].get("spans").is_none());
        for line in &lines[1..] {
            let spans = line["spans"].as_array().expect("spans");
            assert_eq!(spans[0]["job_id"], "job-42", "{line}");
        }
        assert_eq!(lines[2]["span"]["txid"], "ab");
    }

    #[test]
    fn pretty_lines_carry_the_job_id() {
        let text = capture(LogFormat::Pretty);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(!lines[0].contains("job-42"));
        assert!(
            lines[1..].iter().all(|l| l.contains("job{job_id=job-42}")),
            "{text}"
        );
    }
}
