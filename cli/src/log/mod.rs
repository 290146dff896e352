//! hookhost's logs on stderr: text (one escaped record per line), JSON, or
//! hclog JSON lines for go-plugin's client.

mod escape;
mod hclog;

use clap::ValueEnum;

/// Log format on stderr.
#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Who reads the log.
#[derive(Clone, Copy, PartialEq)]
pub enum Target {
    /// A person or a log collector (`--log-format`).
    Operator,
    /// `fire --hook`: every guest line is shown.
    FireAlone,
    /// go-plugin's client: hclog JSON lines whatever `--log-format` says.
    GoPlugin,
}

/// Libraries whose debug output drowns hookhost's own: quiet unless the
/// filter names them.
const NOISY: [&str; 8] = [
    "wasmtime",
    "cranelift",
    "wasmtime_cranelift",
    "cranelift_codegen",
    "hyper",
    "h2",
    "tonic",
    "rustls",
];

/// The log filter: `HOOKHOST_LOG` (default `info`), with the noisy
/// libraries held at `info` unless it names them; `fire --hook` shows every
/// guest line.
fn filter(every_guest_line: bool) -> tracing_subscriber::EnvFilter {
    let mut directives = std::env::var("HOOKHOST_LOG").unwrap_or_else(|_| "info".into());
    for library in NOISY {
        if !directives.contains(library) {
            directives.push_str(&format!(",{library}=info"));
        }
    }
    if every_guest_line && !directives.contains("hookhost::guest") {
        directives.push_str(",hookhost::guest=trace");
    }
    tracing_subscriber::EnvFilter::try_new(&directives).unwrap_or_else(|err| {
        eprintln!("hookhost: HOOKHOST_LOG: {err}; using info");
        tracing_subscriber::EnvFilter::new("info")
    })
}

pub fn init(format: LogFormat, target: Target) {
    let filter = filter(target == Target::FireAlone);
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if target == Target::GoPlugin {
        // go-plugin's client reads stderr as hclog JSON lines.
        builder
            .event_format(hclog::HclogFormat)
            .with_writer(std::io::stderr)
            .init();
        return;
    }
    match format {
        // Fields carry text from guests and clients: one record per line,
        // control characters escaped, so none can forge a line or send a
        // terminal escape (and so no colours either).
        LogFormat::Text => builder
            .with_ansi(false)
            .with_writer(|| escape::EscapingWriter(std::io::stderr()))
            .init(),
        LogFormat::Json => builder.with_writer(std::io::stderr).json().init(),
    }
}
