//! `bsodwb`: the command line and the terminal workbench. A thin shell over the library.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "bsodwb",
    version,
    about = "A terminal workbench for Windows blue-screen and boot-failure cases"
)]
struct Cli {
    /// The case folder to open in the workbench (default: the demo case).
    case: Option<PathBuf>,
    /// Draw borders and markers in ASCII (for PuTTY and fonts without box-drawing glyphs).
    #[arg(long, global = true)]
    ascii: bool,
    /// Scroll lists with the mouse wheel (off by default: the terminal keeps its own selection).
    #[arg(long)]
    mouse: bool,
    /// Write a debug log here (the terminal is never logged to while the workbench runs).
    #[arg(long, global = true, value_name = "FILE")]
    log: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load a whole case and state the findings, with the evidence from each artefact.
    Analyze(cmd::analyze::Args),
    /// List every file of a case folder with the kind sniffed from its content.
    Scan(cmd::scan::Args),
    /// Read a Procmon log (PML): Procmon's CSV export, JSON or text.
    Pml(cmd::pml::Args),
    /// Analyse a crash dump like `!analyze -v`, with the module list.
    Dump(cmd::dump::Args),
    /// What a bug check code and its parameters mean (`!analyze -show`); `--list` lists every code.
    Bugcheck(cmd::bugcheck::Args),
    /// Read an event log (EVTX): CodeIntegrity and System events as typed records.
    Evtx(cmd::evtx::Args),
    /// Signature verdicts of driver files: embedded Authenticode or the catalog that vouches.
    Sig(cmd::sig::Args),
    /// The services of a SYSTEM hive.
    Hive(cmd::hive::Args),
    /// A BCD store as `bcdedit /enum all /store FILE` shows it.
    Bcd(cmd::bcd::Args),
    /// Every crash of a case (dumps, System log, WER reports), one row each, with counts.
    Crashes(cmd::history::CrashesArgs),
    /// Crashes and changes (installs, updates, services) of a case on one timeline.
    Timeline(cmd::history::TimelineArgs),
    /// Write the demo case (the motivating 0x5A case) to DIR (default: the cache folder).
    Demo(cmd::demo::DemoArgs),
    /// Write a case of the demo's shape at benchmark size.
    Synth(cmd::demo::SynthArgs),
}

fn main() -> std::process::ExitCode {
    // The private temp folder goes on panic (the TUI's panic hook, installed later, restores the
    // terminal first and then calls this one) and on terminating signals.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A panic on the main thread ends the process; a worker's is reported and the UI goes on.
        if std::thread::current().name() == Some("main") {
            bsod_workbench::case::temp::remove_all();
        }
        default_hook(info);
    }));
    watch_signals();
    let result = run();
    // `q` while a case still inflates: stop it and remove the temp folder.
    bsod_workbench::case::temp::remove_all();
    if let Some(sig) = bsod_workbench::ui::quit_signal() {
        std::process::exit(128 + sig);
    }
    for changed in bsod_workbench::mapped::take_changed() {
        cmd::eline!("bsodwb: warning: {changed}");
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // `bsodwb scan CASE | head`: the reader went away; that is not an error of ours.
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            cmd::eline!("bsodwb: {}", error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// On a terminating signal (SIGTERM, SIGINT, SIGHUP, SIGQUIT, ...): the workbench quits through
/// its normal path (terminal restored), the temp folder is removed and the process exits with
/// 128 + the signal number.
#[cfg(unix)]
fn watch_signals() {
    use signal_hook::consts::*;
    // Every catchable signal whose default action ends the process (SIGPIPE aside: Rust
    // ignores it and a closed pipe is an error the commands handle).
    let Ok(mut signals) = signal_hook::iterator::Signals::new([
        SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGXCPU, SIGXFSZ,
    ]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                bsod_workbench::ui::request_quit(sig);
                // The event loop notices within one poll and gives the terminal back itself.
                for _ in 0..50 {
                    if !bsod_workbench::ui::is_active() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                bsod_workbench::ui::restore_terminal();
                bsod_workbench::case::temp::remove_all();
                std::process::exit(128 + sig);
            }
        });
}

#[cfg(not(unix))]
fn watch_signals() {}

/// An error and its causes, each said once: a library error that already prints its source
/// (`path: permission denied`) is not followed by the source again.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !c.is_empty() && !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

/// Whether an error comes from writing to a closed pipe (directly or inside serde_json).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log.as_deref());
    match cli.command {
        Some(Command::Analyze(a)) => cmd::analyze::run(a),
        Some(Command::Scan(a)) => cmd::scan::run(a),
        Some(Command::Pml(a)) => cmd::pml::run(a),
        Some(Command::Dump(a)) => cmd::dump::run(a),
        Some(Command::Bugcheck(a)) => cmd::bugcheck::run(a),
        Some(Command::Evtx(a)) => cmd::evtx::run(a),
        Some(Command::Sig(a)) => cmd::sig::run(a),
        Some(Command::Hive(a)) => cmd::hive::run(a),
        Some(Command::Bcd(a)) => cmd::bcd::run(a),
        Some(Command::Crashes(a)) => cmd::history::run_crashes(a),
        Some(Command::Timeline(a)) => cmd::history::run_timeline(a),
        Some(Command::Demo(a)) => cmd::demo::run_demo(a),
        Some(Command::Synth(a)) => cmd::demo::run_synth(a),
        None => {
            // No case: the demo case, written to the cache folder on first use.
            let case = match cli.case {
                Some(c) => {
                    check_case(&c)?;
                    c
                }
                None => {
                    let dir = bsod_workbench::synth::demo::default_demo_dir();
                    bsod_workbench::synth::demo::ensure_demo_case(&dir).map_err(|e| {
                        anyhow::anyhow!("cannot write the demo case to {}: {e}", dir.display())
                    })?
                }
            };
            bsod_workbench::ui::run(
                Some(case),
                bsod_workbench::ui::Options {
                    ascii: cli.ascii,
                    mouse: cli.mouse,
                },
            )?;
            Ok(())
        }
    }
}

/// A case that cannot be opened is said on the terminal before the workbench takes it over:
/// a missing path, or a FIFO, socket or device (never opened: a FIFO would block).
fn check_case(case: &std::path::Path) -> anyhow::Result<()> {
    let meta = std::fs::metadata(case).map_err(|e| {
        anyhow::anyhow!(
            "cannot open case {}: {}",
            case.display(),
            bsod_workbench::input::plain(e)
        )
    })?;
    if !meta.is_dir() && !meta.is_file() {
        anyhow::bail!(
            "cannot open case {}: {}",
            case.display(),
            bsod_workbench::input::not_regular(&meta.file_type())
        );
    }
    Ok(())
}

/// Tracing goes to a file (`--log` or `BSODWB_LOG`), never to the terminal the TUI draws on.
fn init_logging(path: Option<&std::path::Path>) {
    let path = path
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("BSODWB_LOG").map(PathBuf::from));
    let Some(path) = path else { return };
    match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        Ok(file) => {
            let _ = tracing_subscriber::fmt()
                .with_writer(std::sync::Mutex::new(file))
                .with_ansi(false)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("BSODWB_LOG_LEVEL")
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .try_init();
        }
        Err(e) => cmd::eline!(
            "bsodwb: cannot open log file {}: {}",
            path.display(),
            bsod_workbench::input::plain(e)
        ),
    }
}
