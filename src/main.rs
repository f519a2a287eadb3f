use std::io::Write;

use clap::Parser;

use ccdoctor::app::message;
use ccdoctor::cli::Cli;
use ccdoctor::config::Env;
use ccdoctor::exit_codes::ExitCode;

fn main() -> std::process::ExitCode {
    ccdoctor::memory::configure();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    // `check`'s 1 means "unsafe" to a script: its failures are 2, as its usage errors are.
    let failure =
        if matches!(cli.command, ccdoctor::cli::Command::Check(_)) { ExitCode::Usage } else { ExitCode::Failure };
    let env = Env::from_process();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = std::io::stderr();
    // A hook never fails a session, not even on a bug: a panic becomes the message the
    // session shows (and its trace, which Claude Code would show too, is not printed).
    let hook = ccdoctor::app::check::hook_requested(std::env::args_os().skip(1));
    if hook {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        #[cfg(debug_assertions)]
        if std::env::var_os("CCDOCTOR_DEBUG_PANIC").is_some() {
            panic!("CCDOCTOR_DEBUG_PANIC is set (debug builds only, for tests)");
        }
        ccdoctor::run(cli, &env, &mut out, &mut err)
    }));
    let run = match run {
        Ok(run) => run,
        Err(_) if hook => {
            let text = "ccdoctor: internal error (a bug in ccdoctor, not in your settings): run `ccdoctor check` in a terminal to see it";
            let _ = writeln!(out, "{}", ccdoctor::app::check::hook_output(text));
            let _ = out.flush();
            return std::process::ExitCode::SUCCESS;
        }
        Err(panic) => std::panic::resume_unwind(panic),
    };
    // Whether the run's failure was told already: the output still buffered then fails to
    // flush for the same reason, which is not a second failure to tell.
    let (code, told) = match run {
        Ok(code) => (code, false),
        Err(e) if is_broken_pipe(&e) => (ExitCode::Success, true),
        Err(e) => {
            let _ = writeln!(err, "{}", message("error", &format!("{e:#}")));
            (failure, true)
        }
    };
    match out.flush() {
        // A settings file was changed: the run did its job (the report's failure was told).
        Err(_) if code == ExitCode::Changed || told => code.into(),
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            let _ = writeln!(err, "{}", message("error", &format!("writing output: {e}")));
            failure.into()
        }
        _ => code.into(),
    }
}

/// `--help` and `--version` as clap prints them; a usage error as plain text with each line
/// terminal-safe, since clap quotes the arguments it refuses as they were typed.
fn clap_exit(e: &clap::Error) -> std::process::ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
    } else if ccdoctor::app::check::hook_requested(std::env::args_os().skip(1)) {
        // A hook never fails a session, not even on a usage error (a typo in the settings
        // file that runs it): the error becomes the message the session shows.
        let first = e.render().to_string();
        let first = first.lines().find(|l| !l.trim().is_empty()).unwrap_or("ccdoctor check failed");
        let text = format!("ccdoctor: {}", first.trim());
        let _ = writeln!(std::io::stdout(), "{}", ccdoctor::app::check::hook_output(&text));
        return std::process::ExitCode::SUCCESS;
    } else {
        let text = ccdoctor::text::escape_control_lines(e.render().to_string().trim_end());
        let _ = writeln!(std::io::stderr(), "{text}");
    }
    std::process::ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
