//! The host's integration tests, folded into one test binary (as wasmtime does) so
//! wasmtime is linked once, not once per file. One module per concern; `common`
//! finds (and, when missing or stale, builds) the Wasm components they load.

mod common;

mod cache_and_paths;
mod campaign;
mod cli;
mod concurrent_sessions;
mod conformance;
mod criteria;
mod demo;
mod detect;
mod detect_processes;
mod gate;
mod golden;
mod hostile_files;
mod html_report;
mod http_driver;
mod isolation;
mod labels;
mod listen;
mod model_judge;
mod openai_driver;
mod otel_ingest;
mod polyglot;
mod polyglot_judge;
mod rank;
mod regenerate;
mod sandbox;
mod scaffold;
mod scrub_corpus;
mod tiers;
