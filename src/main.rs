use std::io::Write;

use clap::Parser;

use ccdoctor::cli::Cli;
use ccdoctor::config::Env;
use ccdoctor::exit_codes::ExitCode;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let env = Env::from_process();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut err = std::io::stderr();
    let code = match ccdoctor::run(cli, &env, &mut out, &mut err) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::Success,
        Err(e) => {
            let _ = writeln!(err, "ccdoctor: error: {e:#}");
            ExitCode::Failure
        }
    };
    match out.flush() {
        // A settings file was changed: the run did its job (the report's failure was told).
        Err(_) if code == ExitCode::Changed => code.into(),
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            let _ = writeln!(err, "ccdoctor: error: writing output: {e}");
            ExitCode::Failure.into()
        }
        _ => code.into(),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
