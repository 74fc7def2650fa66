//! The `ratchet` command line. Errors are handled here, at the edge: library errors
//! become a message on stderr and an exit code that means something (see [`exit`]).

mod cli;

fn main() {
    std::process::exit(cli::run());
}
