//! The `stacksim` binary: a thin shell over the library.

mod cli;

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(cli::main())
}
