//! `ratchet plugin new`: a new plugin — scorecard, assertion, adapter or tool
//! simulator, in Rust, Python or JavaScript — that builds and passes its own sample
//! test out of the box.
//!
//! The templates are compiled into the binary (`host/templates/`). Every kind has one
//! set of samples shared by the three languages: the Rust, Python and JavaScript
//! templates of a kind implement the same logic and must give the same output bytes
//! (`host/tests/it/scaffold.rs` checks it). A scaffold depends on the SDK **packages** by
//! name and version ([`Sdk::Packages`]: the `ratchet-sdk` crate, the `ratchet-sdk`
//! Python distribution, the `@ratchet-dev/sdk` npm package, all at this ratchet's
//! version; `scripts/dist` builds them), so a plugin committed to another repository
//! builds in its CI. Only for developing the SDKs themselves does it point at a
//! checkout's `sdk/` by path ([`Sdk::Path`], `--sdk-path`).
//!
//! The directory is written under a temporary name next to the target and renamed
//! into place, so a failure leaves nothing half-written; an existing non-empty
//! directory (or a file) is never overwritten.

use std::path::{Component, Path, PathBuf};

/// The languages a plugin can be scaffolded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Rust, with the `ratchet-sdk` crate (`sdk/rust`).
    Rust,
    /// Python, with `sdk/python` and componentize-py.
    Python,
    /// JavaScript, with `sdk/js` and componentize-js.
    Js,
}

impl Lang {
    /// Every language, in the order help texts list them.
    pub const ALL: [Lang; 3] = [Lang::Rust, Lang::Python, Lang::Js];

    /// The name `--lang` takes.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }

    /// Parses a `--lang` value.
    pub fn parse(s: &str) -> Result<Lang, ScaffoldError> {
        Lang::ALL.into_iter().find(|l| l.name() == s).ok_or_else(|| ScaffoldError::UnknownLang(s.to_string()))
    }

    fn title(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::Js => "JavaScript",
        }
    }
}

/// The plugin kinds (WIT worlds) there are templates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// World `scorecard`: scores conversations for `ratchet detect`.
    Scorecard,
    /// World `assertion`: a scenario criterion of `kind = "plugin"` for `ratchet gate`.
    Assertion,
    /// World `adapter`: turns a vendor export into canonical conversations.
    Adapter,
    /// World `simulator` (WIT 0.1.2): answers tool calls from a world state in
    /// `ratchet gate`, seeds that world in `ratchet regenerate`.
    Simulator,
}

impl Kind {
    /// Every kind, in the order help texts list them.
    pub const ALL: [Kind; 4] = [Kind::Scorecard, Kind::Assertion, Kind::Adapter, Kind::Simulator];

    /// The name `--kind` takes (also the WIT world's name).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Scorecard => "scorecard",
            Kind::Assertion => "assertion",
            Kind::Adapter => "adapter",
            Kind::Simulator => "simulator",
        }
    }

    /// Parses a `--kind` value.
    pub fn parse(s: &str) -> Result<Kind, ScaffoldError> {
        Kind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| ScaffoldError::UnknownKind(s.to_string()))
    }

    /// The exported WIT interface (the JavaScript export's name).
    fn interface(self) -> &'static str {
        match self {
            Kind::Scorecard => "scorer",
            Kind::Assertion => "asserter",
            Kind::Adapter => "converter",
            Kind::Simulator => "simulation",
        }
    }
}

/// Why a plugin could not be scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The plugin name breaks the naming rules (see [`validate_name`]).
    #[error("invalid plugin name `{name}`: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--lang` names a language there are no templates for.
    #[error("unknown language `{0}`: expected rust, python or js")]
    UnknownLang(String),
    /// `--kind` names a plugin kind there are no templates for.
    #[error("unknown plugin kind `{0}`: expected scorecard, assertion, adapter or simulator")]
    UnknownKind(String),
    /// The target exists and is a file or a non-empty directory.
    #[error("{0}: already exists and is not an empty directory; refusing to overwrite it (choose another --dir)")]
    Exists(PathBuf),
    /// `--sdk-path` does not name a ratchet checkout's `sdk/` directory.
    #[error(
        "cannot find the ratchet SDKs (the sdk/ directory of a ratchet checkout, with rust/, python/ and js/) at: {}. Pass --sdk-path PATH/TO/ratchet/sdk (or leave it out: the plugin then depends on the SDK packages)",
        .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    SdkNotFound {
        /// Every directory that was tried.
        searched: Vec<PathBuf>,
    },
    /// A template uses a placeholder that has no value: a bug in ratchet's templates.
    #[error("template {file}: no value for placeholder %%{placeholder}%% (a ratchet bug)")]
    Template {
        /// The template file.
        file: String,
        /// The placeholder's name.
        placeholder: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ScaffoldError + '_ {
    move |source| ScaffoldError::Io { path: path.to_path_buf(), source }
}

/// Rust keywords and names that would clash with a crate, module or the SDK.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "std",
    "core",
    "alloc",
    "proc-macro",
    "test",
    "build",
    "app",
    "plugin",
    "ratchet",
    "ratchet-sdk",
    "wit-world",
];

/// Checks a plugin name: 2 to 64 characters, lower-case ASCII letters, digits and
/// single dashes, starting with a letter and not ending with a dash (it becomes a
/// crate name, a Python project name, an npm package name and a file name), and not
/// a Rust keyword or a name the generated code already uses.
pub fn validate_name(name: &str) -> Result<(), ScaffoldError> {
    let bad = |reason: &str| Err(ScaffoldError::InvalidName { name: name.to_string(), reason: reason.to_string() });
    if name.len() < 2 || name.len() > 64 {
        return bad("it must be 2 to 64 characters long");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return bad("it must start with a lower-case letter (a-z)");
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return bad(&format!("`{c}` is not allowed: use lower-case letters, digits and dashes (e.g. `refund-policy`)"));
    }
    if name.ends_with('-') || name.contains("--") {
        return bad("dashes must separate words: no trailing or double dash");
    }
    if RESERVED.contains(&name) {
        return bad("it is a Rust keyword or a name the generated code uses");
    }
    Ok(())
}

/// True when `dir` looks like the `sdk/` directory of a ratchet checkout.
pub fn is_sdk_dir(dir: &Path) -> bool {
    dir.join("rust/Cargo.toml").is_file() && dir.join("python/ratchet_sdk/__init__.py").is_file() && dir.join("js/src/index.js").is_file()
}

/// The first of `candidates` that [`is_sdk_dir`], canonicalized.
pub fn find_sdk(candidates: &[PathBuf]) -> Result<PathBuf, ScaffoldError> {
    candidates
        .iter()
        .find(|c| is_sdk_dir(c))
        .map(|c| c.canonicalize().unwrap_or_else(|_| c.clone()))
        .ok_or_else(|| ScaffoldError::SdkNotFound { searched: candidates.to_vec() })
}

/// What to scaffold, and where.
#[derive(Debug, Clone)]
pub struct Request {
    /// The language.
    pub lang: Lang,
    /// The plugin kind.
    pub kind: Kind,
    /// The plugin name (see [`validate_name`]).
    pub name: String,
    /// The directory to create.
    pub dir: PathBuf,
    /// Which SDK the plugin builds against.
    pub sdk: Sdk,
}

/// Which SDK a scaffold depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sdk {
    /// The SDK packages, by name and this ratchet's version (the default).
    Packages,
    /// A ratchet checkout's `sdk/` directory, by relative path (SDK development;
    /// see [`find_sdk`]).
    Path(PathBuf),
}

/// The SDK packages' version: the version of this ratchet (they are released together).
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The npm package of the JavaScript SDK.
pub const JS_PACKAGE: &str = "@ratchet-dev/sdk";

/// One file of a scaffold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path relative to the plugin directory.
    pub path: PathBuf,
    /// Contents.
    pub contents: String,
}

/// A scaffold written to disk.
#[derive(Debug, Clone)]
pub struct Created {
    /// The plugin directory.
    pub dir: PathBuf,
    /// The files written, relative to `dir`.
    pub files: Vec<PathBuf>,
    /// Shell commands to test, build and run it, from the directory it was made in.
    pub next_steps: Vec<String>,
}

macro_rules! template {
    ($path:literal) => {
        ($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $path)))
    };
}

/// Every template file, by its path under `host/templates/`.
const TEMPLATES: &[(&str, &str)] = &[
    template!("README.md"),
    template!("rust/Cargo.toml"),
    template!("rust/scorecard.rs"),
    template!("rust/assertion.rs"),
    template!("rust/adapter.rs"),
    template!("rust/simulator.rs"),
    template!("rust/golden.rs"),
    template!("rust/gitignore"),
    template!("python/pyproject.toml"),
    template!("python/app.py"),
    template!("python/scorecard.py"),
    template!("python/assertion.py"),
    template!("python/adapter.py"),
    template!("python/simulator.py"),
    template!("python/test_plugin.py"),
    template!("python/gitignore"),
    template!("js/package.json"),
    template!("js/app.js"),
    template!("js/scorecard.js"),
    template!("js/assertion.js"),
    template!("js/adapter.js"),
    template!("js/simulator.js"),
    template!("js/plugin.test.js"),
    template!("js/gitignore"),
    template!("samples/scorecard/example.json"),
    template!("samples/scorecard/example.expected.json"),
    template!("samples/scorecard/invalid/bad-params.json"),
    template!("samples/scorecard/invalid/bad-params.options.json"),
    template!("samples/scorecard/invalid/bad-params.error.txt"),
    template!("samples/assertion/example.json"),
    template!("samples/assertion/example.expected.json"),
    template!("samples/assertion/invalid/missing-phrase.json"),
    template!("samples/assertion/invalid/missing-phrase.error.txt"),
    template!("samples/adapter/example.json"),
    template!("samples/adapter/example.expected.json"),
    template!("samples/adapter/invalid/unknown-sender.json"),
    template!("samples/adapter/invalid/unknown-sender.error.txt"),
    template!("samples/simulator/example.json"),
    template!("samples/simulator/example.expected.json"),
    template!("samples/simulator/seed.json"),
    template!("samples/simulator/seed.expected.json"),
    template!("samples/simulator/invalid/no-orders.json"),
    template!("samples/simulator/invalid/no-orders.error.txt"),
];

fn template(path: &str) -> &'static str {
    TEMPLATES.iter().find(|(p, _)| *p == path).map(|(_, t)| *t).unwrap_or_else(|| panic!("no template {path}"))
}

/// `name` in CamelCase (`refund-policy` → `RefundPolicy`): the plugin's type.
fn camel(name: &str) -> String {
    name.split('-').map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect()
}

/// `path` made absolute against `cwd`, with `.` and `..` resolved lexically.
fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() { path.to_path_buf() } else { cwd.join(path) };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `to` relative to the directory `from` (both absolute), as the templates write it
/// (`/` separators); absolute when they share nothing but the root.
fn relative(from: &Path, to: &Path) -> String {
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    if common <= 1 {
        return to.display().to_string();
    }
    let mut parts: Vec<String> = vec!["..".to_string(); f.len() - common];
    parts.extend(t[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    if parts.is_empty() {
        ".".to_string()
    } else if parts[0] == ".." {
        parts.join("/")
    } else {
        format!("./{}", parts.join("/"))
    }
}

/// Replaces every `%%KEY%%` of `text`; an unknown key is a [`ScaffoldError::Template`].
fn fill(file: &str, text: &str, vars: &[(&str, String)]) -> Result<String, ScaffoldError> {
    let mut out = String::with_capacity(text.len() + 256);
    let mut rest = text;
    while let Some(start) = rest.find("%%") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("%%") else { break };
        let key = &after[..end];
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            // Not a placeholder: keep the first `%` and go on.
            out.push_str(&rest[..start + 1]);
            rest = &rest[start + 1..];
            continue;
        }
        let value = vars.iter().find(|(k, _)| *k == key).ok_or_else(|| ScaffoldError::Template { file: file.to_string(), placeholder: key.to_string() })?;
        out.push_str(&rest[..start]);
        out.push_str(&value.1);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The commands that set up, test and build the plugin, from inside its directory:
/// `(setup, test, build)`; `sdk` is the relative path to the checkout's `sdk/` in
/// [`Sdk::Path`] mode, `None` for the packages.
fn commands(lang: Lang, name: &str, sdk: Option<&str>) -> (String, String, String) {
    let v = SDK_VERSION;
    match (lang, sdk) {
        (Lang::Rust, None) => (
            "# cargo fetches ratchet-sdk; the build needs a wasm32 Rust target and wasm-tools (docs/plugins.md)".into(),
            "cargo test".into(),
            "ratchet plugin build".into(),
        ),
        (Lang::Rust, Some(sdk)) => {
            ("# ratchet-sdk by path from the checkout".into(), "cargo test".into(), format!("{sdk}/../scripts/build-plugins --path . -o build/{name}.wasm"))
        }
        (Lang::Python, None) => (
            format!("pip install \"ratchet-sdk[build]=={v}\"   # or the wheel of ratchet's release archive (docs/install.md)"),
            "python3 -m unittest".into(),
            "ratchet plugin build".into(),
        ),
        (Lang::Python, Some(sdk)) => (
            "# the SDK from the checkout, on PYTHONPATH".into(),
            format!("PYTHONPATH={sdk}/python python3 -m unittest"),
            format!("PYTHONPATH={sdk}/python python3 -m ratchet_sdk.build . -o build/{name}.wasm"),
        ),
        (Lang::Js, None) => (
            format!("npm install                 # {JS_PACKAGE}@{v}, or the tarball of ratchet's release archive (docs/install.md)"),
            "node --test".into(),
            "ratchet plugin build".into(),
        ),
        (Lang::Js, Some(sdk)) => {
            ("# the SDK from the checkout, by relative imports".into(), "node --test".into(), format!("node {sdk}/js/bin/build.mjs . -o build/{name}.wasm"))
        }
    }
}

/// The scaffold's files for `req`, rendered (nothing is written). `cwd` resolves a
/// relative `req.dir`.
pub fn render(req: &Request, cwd: &Path) -> Result<Vec<File>, ScaffoldError> {
    validate_name(&req.name)?;
    let dir = absolute(cwd, &req.dir);
    let sdk_rel = match &req.sdk {
        Sdk::Packages => None,
        Sdk::Path(p) => Some(relative(&dir, &absolute(cwd, p))),
    };
    let (name, kind, lang) = (req.name.as_str(), req.kind, req.lang);
    let (setup_cmd, test_cmd, build_cmd) = commands(lang, name, sdk_rel.as_deref());
    let k = kind.name();

    let mut files: Vec<(String, String)> = match lang {
        Lang::Rust => vec![
            ("Cargo.toml".into(), "rust/Cargo.toml".into()),
            ("src/lib.rs".into(), format!("rust/{k}.rs")),
            ("tests/golden.rs".into(), "rust/golden.rs".into()),
            (".gitignore".into(), "rust/gitignore".into()),
        ],
        Lang::Python => vec![
            ("pyproject.toml".into(), "python/pyproject.toml".into()),
            ("plugin.py".into(), format!("python/{k}.py")),
            ("app.py".into(), "python/app.py".into()),
            ("test_plugin.py".into(), "python/test_plugin.py".into()),
            (".gitignore".into(), "python/gitignore".into()),
        ],
        Lang::Js => vec![
            ("package.json".into(), "js/package.json".into()),
            ("plugin.js".into(), format!("js/{k}.js")),
            ("app.js".into(), "js/app.js".into()),
            ("plugin.test.js".into(), "js/plugin.test.js".into()),
            (".gitignore".into(), "js/gitignore".into()),
        ],
    };
    let what = |f: &str| match f {
        "Cargo.toml" => "the crate (depends on `ratchet-sdk`; a standalone workspace)",
        "src/lib.rs" | "plugin.py" | "plugin.js" => "the logic: plain code, unit-testable natively",
        "tests/golden.rs" | "test_plugin.py" | "plugin.test.js" => "the sample test (no Wasm)",
        "pyproject.toml" => "the project; `[tool.ratchet] world` tells the build which world",
        "package.json" => "the package; `\"ratchet\".world` tells the build which world",
        "app.py" | "app.js" => "the component entry (only the build imports it)",
        _ => "",
    };
    let table: Vec<String> = files.iter().filter(|(f, _)| !what(f).is_empty()).map(|(f, _)| format!("| `{f}` | {} |", what(f))).collect();
    files.push(("README.md".into(), "README.md".into()));
    let prefix = format!("samples/{k}/");
    for (path, _) in TEMPLATES.iter().filter(|(p, _)| p.starts_with(&prefix)) {
        files.push((format!("samples/{}", &path[prefix.len()..]), path.to_string()));
    }

    let usage = match kind {
        Kind::Scorecard => format!(
            "and run it on every conversation `ratchet detect` sees:\n\n```toml\n[[detect.scorecards]]\nname = \"{name}\"\nplugin = \"{name}\"\nthreshold = 0.7\n```"
        ),
        Kind::Assertion => format!(
            "and use it as a criterion in a scenario:\n\n```toml\n[[criteria]]\nid = \"states-refund-policy\"\nkind = \"plugin\"\nplugin = \"{name}\"\nparams = {{ phrase = \"refund policy\", within_turns = 2 }}\n```"
        ),
        Kind::Adapter => format!("and read exports through it: `ratchet detect exports/ --adapter {name} --out events.jsonl`."),
        Kind::Simulator => format!(
            "and let it answer the tool calls no recorded fixture matches in a scenario (its world is what `world-state` criteria check):\n\n```toml\n[world]\nsimulator = \"{name}\"\nstate_json = '{{\"orders\": {{\"O-1001\": {{\"order_id\": \"O-1001\", \"status\": \"open\", \"total\": 49.0}}}}}}'\n```\n\nor seed every regenerated scenario's `[world]` from the recorded calls: `[regenerate] simulator = \"{name}\"` in `ratchet.toml`. `samples/seed.json` is a seeding input (`ratchet plugin run build/{name}.wasm --input samples/seed.json`)."
        ),
    };
    let rust_runner = match kind {
        Kind::Scorecard => format!(
            "|input, params| {{\n        let text = std::str::from_utf8(input).map_err(|e| e.to_string())?;\n        let conversation = Conversation::from_json(text).map_err(|e| e.to_string())?;\n        {}::score(&conversation, params)\n    }}",
            camel(name)
        ),
        Kind::Assertion => format!(
            "|input, _options| {{\n        // An assertion sample is {{\"transcript\": <conversation>, \"params\": {{...}}}}.\n        let v: Value = ratchet_sdk::serde_json::from_slice(input).map_err(|e| e.to_string())?;\n        let transcript: Conversation = ratchet_sdk::serde_json::from_value(v[\"transcript\"].clone()).map_err(|e| format!(\"transcript: {{e}}\"))?;\n        {}::check(&transcript, &v[\"params\"])\n    }}",
            camel(name)
        ),
        Kind::Adapter => format!("{}::convert", camel(name)),
        // `{"world", "request"}` answers a call, `{"observed"}` seeds: as `ratchet plugin run` takes them.
        Kind::Simulator => format!("ratchet_sdk::testing::run_simulator::<{}>", camel(name)),
    };
    let vars: Vec<(&str, String)> = vec![
        ("NAME", name.to_string()),
        ("SNAKE", name.replace('-', "_")),
        ("TYPE", camel(name)),
        ("KIND", k.to_string()),
        ("LANG_NAME", lang.title().to_string()),
        ("RUST_SDK_DEP", match &sdk_rel {
            None => format!("ratchet-sdk = \"{SDK_VERSION}\""),
            Some(p) => format!("ratchet-sdk = {{ path = \"{p}/rust\" }}"),
        }),
        ("PY_DEPENDENCIES", match &sdk_rel {
            None => format!("dependencies = [\"ratchet-sdk=={SDK_VERSION}\"]"),
            Some(_) => "# The SDK comes from a ratchet checkout (PYTHONPATH); a released plugin depends on\n# \"ratchet-sdk==VERSION\" instead.\ndependencies = []".to_string(),
        }),
        ("PY_TEST_IMPORTS", match &sdk_rel {
            None => "import unittest\nfrom pathlib import Path\n\nHERE = Path(__file__).resolve().parent\n".to_string(),
            Some(p) => format!("import sys\nimport unittest\nfrom pathlib import Path\n\nHERE = Path(__file__).resolve().parent\ntry:\n    import ratchet_sdk  # noqa: F401  (installed, or on PYTHONPATH)\nexcept ImportError:  # else the SDK of the ratchet checkout this plugin was made from\n    sys.path.insert(0, str((HERE / \"{p}/python\").resolve()))\n"),
        }),
        ("JS_INDEX", match &sdk_rel { None => JS_PACKAGE.to_string(), Some(p) => format!("{p}/js/src/index.js") }),
        ("JS_COMPONENT", match &sdk_rel { None => format!("{JS_PACKAGE}/component"), Some(p) => format!("{p}/js/src/component.js") }),
        ("JS_TESTING", match &sdk_rel { None => format!("{JS_PACKAGE}/testing"), Some(p) => format!("{p}/js/src/testing.js") }),
        ("JS_BUILD", match &sdk_rel { None => format!("ratchet-build-js . -o build/{name}.wasm"), Some(p) => format!("node {p}/js/bin/build.mjs . -o build/{name}.wasm") }),
        ("JS_DEPENDENCIES", match &sdk_rel {
            None => format!("\n  \"dependencies\": {{\n    \"{JS_PACKAGE}\": \"{SDK_VERSION}\"\n  }},"),
            Some(_) => String::new(),
        }),
        ("SETUP_CMD", setup_cmd),
        ("SDK_NOTE", match &sdk_rel {
            None => format!("It depends on the SDK package by name and version ({}), never on a ratchet checkout: commit it anywhere.", match lang {
                Lang::Rust => format!("`ratchet-sdk = \"{SDK_VERSION}\"`; until the crate is on crates.io, point `[patch.crates-io]` at the release archive's `share/ratchet/sdk/rust/ratchet-sdk`"),
                Lang::Python => format!("`ratchet-sdk=={SDK_VERSION}`"),
                Lang::Js => format!("`{JS_PACKAGE}@{SDK_VERSION}`"),
            }),
            Some(p) => format!("It builds against the ratchet checkout's SDK at `{p}` (`--sdk-path`: for SDK development)."),
        }),
        ("PY_EXPORT", kind.interface()[..1].to_ascii_uppercase() + &kind.interface()[1..]),
        ("JS_EXPORT", kind.interface().to_string()),
        ("JS_RUNNER", format!("{k}Runner")),
        ("RUST_RUNNER", rust_runner),
        ("FILES", table.join("\n")),
        ("TEST_CMD", test_cmd),
        ("BUILD_CMD", build_cmd),
        ("SAMPLE", "example.json".to_string()),
        ("USE", usage),
    ];
    files.into_iter().map(|(path, tpl)| Ok(File { path: PathBuf::from(path), contents: fill(&tpl, template(&tpl), &vars)? })).collect()
}

/// Writes the scaffold for `req` (see [`render`]): refuses an existing file or
/// non-empty directory, writes under a temporary name beside it, then renames.
pub fn create(req: &Request, cwd: &Path) -> Result<Created, ScaffoldError> {
    let files = render(req, cwd)?;
    let dir = absolute(cwd, &req.dir);
    if let Ok(meta) = std::fs::symlink_metadata(&dir) {
        let empty_dir = meta.is_dir() && std::fs::read_dir(&dir).map_err(io(&dir))?.next().is_none();
        if !empty_dir {
            return Err(ScaffoldError::Exists(req.dir.clone()));
        }
    }
    let parent = dir.parent().ok_or_else(|| ScaffoldError::Exists(req.dir.clone()))?;
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let staging = parent.join(format!(".{}.ratchet-new.{}", req.name, std::process::id()));
    let write_all = || -> Result<(), ScaffoldError> {
        for f in &files {
            let path = staging.join(&f.path);
            let p = path.parent().expect("files are inside the staging directory");
            std::fs::create_dir_all(p).map_err(io(p))?;
            std::fs::write(&path, &f.contents).map_err(io(&path))?;
        }
        if dir.is_dir() {
            std::fs::remove_dir(&dir).map_err(io(&dir))?;
        }
        std::fs::rename(&staging, &dir).map_err(io(&dir))
    };
    if let Err(e) = write_all() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let shown = req.dir.display().to_string();
    let sdk_rel = match &req.sdk {
        Sdk::Packages => None,
        Sdk::Path(p) => Some(relative(&dir, &absolute(cwd, p))),
    };
    let (setup_cmd, test_cmd, build_cmd) = commands(req.lang, &req.name, sdk_rel.as_deref());
    let mut next_steps = vec![format!("cd {shown}")];
    if !setup_cmd.starts_with('#') {
        next_steps.push(setup_cmd.split("  ").next().unwrap_or(&setup_cmd).trim().to_string());
    }
    next_steps.extend([test_cmd, build_cmd, format!("ratchet plugin run build/{}.wasm --input samples/example.json", req.name)]);
    Ok(Created { dir, files: files.into_iter().map(|f| f.path).collect(), next_steps })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["ab", "refund-policy", "x2", "a-b-c", "no-false-confirmation-2"] {
            validate_name(ok).unwrap();
        }
        for (bad, why) in [
            ("a", "2 to 64"),
            ("Refund", "lower-case letter"),
            ("2fa", "lower-case letter"),
            ("refund_policy", "`_` is not allowed"),
            ("refund policy", "` ` is not allowed"),
            ("a--b", "double dash"),
            ("ab-", "trailing"),
            ("type", "keyword"),
            ("ratchet-sdk", "generated code"),
            ("../evil", "lower-case letter"),
            ("ok/../x", "`/` is not allowed"),
        ] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert!(validate_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn langs_and_kinds_parse() {
        assert_eq!(Lang::parse("js").unwrap(), Lang::Js);
        assert_eq!(Kind::parse("adapter").unwrap(), Kind::Adapter);
        assert_eq!(Lang::parse("go").unwrap_err().to_string(), "unknown language `go`: expected rust, python or js");
        assert_eq!(Kind::parse("simulator").unwrap(), Kind::Simulator);
        assert!(Kind::parse("agent").unwrap_err().to_string().contains("scorecard, assertion, adapter or simulator"));
    }

    #[test]
    fn relative_paths() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(relative(&p("/r/plugins/x"), &p("/r/sdk")), "../../sdk");
        assert_eq!(relative(&p("/r"), &p("/r/sdk")), "./sdk");
        assert_eq!(relative(&p("/tmp/x"), &p("/work/r/sdk")), "/work/r/sdk");
        assert_eq!(absolute(&p("/a/b"), &p("../c/./d")), p("/a/c/d"));
        assert_eq!(camel("no-false-confirmation-2"), "NoFalseConfirmation2");
    }

    #[test]
    fn placeholders() {
        let vars = [("NAME", "x".to_string())];
        assert_eq!(fill("t", "a %%NAME%% b 100%% 5%%NAME%%", &vars).unwrap(), "a x b 100%% 5x");
        assert_eq!(fill("t", "%%%NAME%%%", &vars).unwrap(), "%x%");
        let e = fill("t", "%%OTHER%%", &vars).unwrap_err();
        assert!(matches!(e, ScaffoldError::Template { ref placeholder, .. } if placeholder == "OTHER"), "{e}");
    }

    #[test]
    fn every_combination_renders_completely() {
        let checkout_sdk = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../sdk"));
        for lang in Lang::ALL {
            for kind in Kind::ALL {
                for sdk in [Sdk::Packages, Sdk::Path(checkout_sdk.clone())] {
                    let packages = sdk == Sdk::Packages;
                    let req = Request { lang, kind, name: "my-plugin".into(), dir: "plugins/my-plugin".into(), sdk };
                    let files = render(&req, Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))).unwrap();
                    for f in &files {
                        assert!(!f.contents.contains("%%"), "{lang:?}/{kind:?} {}: a placeholder is left", f.path.display());
                        // By package, nothing names a checkout path.
                        assert!(!packages || !f.contents.contains("../sdk"), "{lang:?}/{kind:?} {}: a checkout path", f.path.display());
                    }
                    let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
                    assert!(paths.contains(&"samples/example.json".to_string()) && paths.contains(&"samples/example.expected.json".to_string()), "{paths:?}");
                    assert!(paths.iter().any(|p| p.starts_with("samples/invalid/") && p.ends_with(".error.txt")), "{paths:?}");
                }
            }
        }
    }

    #[test]
    fn sdk_not_found_names_where_it_looked() {
        let e = find_sdk(&[PathBuf::from("/nonexistent/sdk")]).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/sdk") && e.contains("--sdk"), "{e}");
    }
}
