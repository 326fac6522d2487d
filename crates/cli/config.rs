//! `--config FILE` for `serve` and `gateway`: their flags read from a TOML
//! file; and `--print-config`, the effective configuration as such a file.
//!
//! No key is listed here. A subcommand that flattens [`ConfigArgs`] takes a
//! file, and its keys are read off clap's definition of the subcommand:
//! every flag with a long name is the key of that name, spelt as on the
//! command line (`max-connections`; `max_connections` is an unknown key),
//! and its TOML type follows the flag:
//!
//! - a flag without a value (`--dht`) is a boolean: `true` gives the flag;
//! - a repeatable flag (`--user`, `--tracker`) is an array, one element per
//!   flag;
//! - any other flag takes one value: an integer where clap parses the flag
//!   as an integer (`max-connections = 64`), a string otherwise.
//!
//! A string or an integer may be read from the environment instead:
//! `{ env = "NAME" }`. The elements of `user` may also be tables,
//! `{ access-key = "...", secret-key = { env = "NAME" }, account-id = "..." }`.
//!
//! The file's settings become flags, placed before the command line's and
//! dropped for each flag the command line gives; clap then parses the whole
//! as one command line. So the command line wins, a repeatable flag on the
//! command line replaces the file's list, and every rule of the flags
//! (`requires`, the value parsers) holds for the file too. Each value is
//! first checked on its own with its flag's value parser, so that an error
//! names the file, the line and the column; a key the command line
//! replaces is checked for its name and type only (its environment
//! variables need not be set).

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches};
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

/// `--config` and `--print-config`, flattened into the flags of each
/// subcommand that takes a config file.
#[derive(Debug, clap::Args)]
pub(crate) struct ConfigArgs {
    /// Read flags from this TOML file: each key is a flag's long name
    /// (`max-connections = 64`, `tracker = ["URL", ...]`). Flags given on
    /// the command line win; a repeatable one replaces the file's list.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print the effective configuration (the command line over the config
    /// file over the defaults) as a config file, secrets masked, and exit.
    #[arg(long)]
    pub(crate) print_config: bool,
}

/// The id of `--config`.
const CONFIG_ID: &str = "config";
/// The id of `--print-config`.
const PRINT_CONFIG_ID: &str = "print_config";
/// The flag whose values are `ACCESS:SECRET:ACCOUNT_ID`.
const USER_KEY: &str = "user";
/// A flag whose long name has this in it holds a secret.
const SECRET_MARK: &str = "secret";
/// What `--print-config` prints for a secret given as text.
const MASK: &str = "********";

/// What `main` does next.
pub(crate) enum Outcome {
    /// Run the command.
    Run(Box<crate::Cli>),
    /// Exit at once (`--print-config` printed, or an error was).
    Exit(ExitCode),
}

/// The process's command line, with the config file's flags when a
/// subcommand is given `--config`. Usage errors exit as clap's do (2, with
/// a usage line), errors in the file are printed one a line and give 2.
pub(crate) fn parse() -> Outcome {
    let argv = std::env::args_os().collect();
    match resolve(argv, &|name| std::env::var_os(name)) {
        Ok(Resolved::Run(cli)) => Outcome::Run(cli),
        Ok(Resolved::Print(text)) => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => Outcome::Exit(ExitCode::SUCCESS),
                Err(e) => Outcome::Exit(crate::fail(format_args!("--print-config: stdout: {e}"))),
            }
        }
        Err(Failure::Usage(e)) => e.exit(),
        Err(Failure::File(errors)) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            Outcome::Exit(ExitCode::from(2))
        }
    }
}

/// A command line resolved.
enum Resolved {
    Run(Box<crate::Cli>),
    /// `--print-config`'s output.
    Print(String),
}

/// Why a command line could not be resolved.
#[derive(Debug)]
enum Failure {
    /// clap's error (also `--help` and `--version`).
    Usage(clap::Error),
    /// What is wrong with the config file, one message each.
    File(Vec<String>),
}

/// Looks an environment variable up (the process's, or a test's).
type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

fn resolve(mut argv: Vec<OsString>, env: Env<'_>) -> Result<Resolved, Failure> {
    let mut command = crate::Cli::command();
    command.build();
    // A first, forgiving pass: which subcommand, its --config, and the
    // flags the command line gives (a flag the file must supply, such as
    // gateway's --upstream, may be missing yet).
    let first = command
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(&argv)
        .map_err(Failure::Usage)?;
    let mut on_command_line = BTreeSet::new();
    let mut file = None;
    if let Some((name, given)) = first.subcommand()
        && let Some(sub) = command.find_subcommand(name)
    {
        on_command_line = given
            .ids()
            .filter(|id| given.value_source(id.as_str()) == Some(ValueSource::CommandLine))
            .map(|id| id.as_str().to_owned())
            .collect();
        if let Ok(Some(path)) = given.try_get_one::<PathBuf>(CONFIG_ID) {
            let settings = FileSettings::load(path, sub, &on_command_line, env)?;
            // Right after the subcommand's name: the root takes no option
            // with a value, so its first plain word is that name.
            let at = argv
                .iter()
                .skip(1)
                .position(|a| a.as_os_str() == OsStr::new(name))
                .map_or(argv.len(), |i| i + 2);
            argv.splice(at..at, settings.args());
            file = Some(settings);
        }
    }
    let matches = command
        .clone()
        .try_get_matches_from(&argv)
        .map_err(Failure::Usage)?;
    let cli = crate::Cli::from_arg_matches(&matches).map_err(Failure::Usage)?;
    if let Some(args) = cli.command.config_args()
        && args.print_config
        && let Some((name, given)) = matches.subcommand()
        && let Some(sub) = command.find_subcommand(name)
    {
        let printed = Printed {
            name,
            sub,
            matches: given,
            on_command_line: &on_command_line,
            file: file.as_ref(),
            path: args.config.as_deref(),
        };
        return Ok(Resolved::Print(printed.render()));
    }
    Ok(Resolved::Run(Box::new(cli)))
}

/// What TOML a flag takes, read off its clap definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A flag without a value: a boolean.
    Switch,
    /// A flag counted by its repeats: a non-negative integer.
    Count,
    /// A flag with one value.
    One(Scalar),
    /// A repeatable flag: an array.
    Many(Scalar),
}

/// The TOML type of one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    /// clap parses the flag as an integer type.
    Integer,
    /// Anything else: a string.
    Text,
}

/// What a flag's values hold, for what `--print-config` may show of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Plain,
    /// Shown as `{ env = "NAME" }` when read from the environment, masked
    /// otherwise.
    Secret,
    /// `ACCESS:SECRET:ACCOUNT_ID`: the secret part is a secret.
    User,
}

/// A flag that is a config key.
#[derive(Clone, Copy)]
struct Flag<'a> {
    arg: &'a Arg,
    long: &'a str,
    shape: Shape,
    content: Content,
}

impl<'a> Flag<'a> {
    /// `arg` as a key, unless it has no long name or is not a setting
    /// (`--help`, `--version`, `--config`, `--print-config`).
    fn of(arg: &'a Arg) -> Option<Flag<'a>> {
        let long = arg.get_long()?;
        if [CONFIG_ID, PRINT_CONFIG_ID].contains(&arg.get_id().as_str()) {
            return None;
        }
        let shape = match arg.get_action() {
            ArgAction::SetTrue | ArgAction::SetFalse => Shape::Switch,
            ArgAction::Count => Shape::Count,
            ArgAction::Set => Shape::One(scalar_of(arg)),
            ArgAction::Append => Shape::Many(scalar_of(arg)),
            _ => return None,
        };
        let content = if long == USER_KEY {
            Content::User
        } else if long.contains(SECRET_MARK) {
            Content::Secret
        } else {
            Content::Plain
        };
        Some(Flag {
            arg,
            long,
            shape,
            content,
        })
    }

    /// `--LONG VALUE_NAME`, as `--help` shows it.
    fn usage(&self) -> String {
        match self.arg.get_value_names() {
            Some(names) if self.shape != Shape::Switch && self.shape != Shape::Count => {
                let names: Vec<String> = names.iter().map(ToString::to_string).collect();
                format!("--{} {}", self.long, names.join(" "))
            }
            _ => format!("--{}", self.long),
        }
    }

    /// How `--print-config` shows one value of this flag, as clap took it.
    fn show(&self, scalar: Scalar, text: &str) -> Shown {
        match self.content {
            Content::Secret => Shown::Masked,
            Content::User => Shown::user(text),
            Content::Plain => match scalar {
                Scalar::Integer if text.parse::<i128>().is_ok() => Shown::Integer(text.to_owned()),
                _ => Shown::Text(text.to_owned()),
            },
        }
    }

    /// Checks `text` with this flag's own value parser, alone, so that a
    /// bad value is reported at its place in the file. A secret is never
    /// repeated in the message.
    fn check(&self, text: &str) -> Result<(), String> {
        let mut probe = Arg::new(self.arg.get_id().clone())
            .long(self.long.to_owned())
            .action(ArgAction::Set)
            .value_parser(self.arg.get_value_parser().clone());
        if let Some(names) = self.arg.get_value_names() {
            probe = probe.value_names(names.to_vec());
        }
        let parsed = clap::Command::new("s3torrent")
            .no_binary_name(true)
            .arg(probe)
            .try_get_matches_from([format!("--{}={text}", self.long)]);
        let Err(e) = parsed else { return Ok(()) };
        if self.content != Content::Plain {
            return Err(match std::error::Error::source(&e) {
                Some(why) => format!("`{}`: {why}", self.long),
                None => format!("`{}`: not a valid {}", self.long, self.usage()),
            });
        }
        let rendered = e.render().to_string();
        let lines: Vec<&str> = rendered
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
            .collect();
        let message = lines.join(" ");
        Err(format!(
            "`{}`: {}",
            self.long,
            message.strip_prefix("error: ").unwrap_or(&message)
        ))
    }
}

/// An integer where clap parses the flag as one of Rust's integer types,
/// a string otherwise.
fn scalar_of(arg: &Arg) -> Scalar {
    use std::any::TypeId;
    use std::num::{
        NonZeroI8, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroU8, NonZeroU16, NonZeroU32,
        NonZeroU64, NonZeroUsize,
    };
    let integers = [
        TypeId::of::<u8>(),
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
        TypeId::of::<i8>(),
        TypeId::of::<i16>(),
        TypeId::of::<i32>(),
        TypeId::of::<i64>(),
        TypeId::of::<isize>(),
        TypeId::of::<NonZeroU8>(),
        TypeId::of::<NonZeroU16>(),
        TypeId::of::<NonZeroU32>(),
        TypeId::of::<NonZeroU64>(),
        TypeId::of::<NonZeroUsize>(),
        TypeId::of::<NonZeroI8>(),
        TypeId::of::<NonZeroI16>(),
        TypeId::of::<NonZeroI32>(),
        TypeId::of::<NonZeroI64>(),
    ];
    let parsed_as = arg.get_value_parser().type_id();
    if integers.iter().any(|t| parsed_as == *t) {
        Scalar::Integer
    } else {
        Scalar::Text
    }
}

/// The keys of a subcommand: its flags, in `--help`'s order.
fn flags(sub: &clap::Command) -> impl Iterator<Item = Flag<'_>> {
    sub.get_arguments().filter_map(Flag::of)
}

/// How `--print-config` shows a value: as it takes effect, except secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shown {
    Text(String),
    Integer(String),
    Bool(bool),
    /// A secret given as text.
    Masked,
    /// A secret read from this environment variable.
    Env(String),
    /// A `user`, its secret masked or named by its variable.
    User {
        access: String,
        secret: Box<Shown>,
        account: String,
    },
    List(Vec<Shown>),
}

impl Shown {
    /// `ACCESS:SECRET:ACCOUNT_ID`, its secret masked.
    fn user(text: &str) -> Shown {
        let mut parts = text.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(access), Some(_), Some(account)) => Shown::User {
                access: access.to_owned(),
                secret: Box::new(Shown::Masked),
                account: account.to_owned(),
            },
            _ => Shown::Masked,
        }
    }

    /// As a TOML value.
    fn render(&self) -> String {
        match self {
            Shown::Text(text) => quote(text),
            Shown::Integer(text) => text.clone(),
            Shown::Bool(b) => b.to_string(),
            Shown::Masked => quote(MASK),
            Shown::Env(name) => format!("{{ env = {} }}", quote(name)),
            Shown::User {
                access,
                secret,
                account,
            } => format!(
                "{{ access-key = {}, secret-key = {}, account-id = {} }}",
                quote(access),
                secret.render(),
                quote(account)
            ),
            Shown::List(items) if items.is_empty() => "[]".to_owned(),
            Shown::List(items) => {
                let mut out = String::from("[\n");
                for item in items {
                    let _ = writeln!(out, "    {},", item.render());
                }
                out.push(']');
                out
            }
        }
    }
}

/// A TOML string.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A config file's settings for the flags the command line does not give.
struct FileSettings {
    entries: Vec<Entry>,
}

/// One key of the file.
struct Entry {
    /// The flag's clap id.
    id: String,
    /// Its flags: `--LONG=VALUE`, or `--LONG` for a switch.
    args: Vec<OsString>,
    shown: Shown,
    /// The environment variables its values came from.
    env: Vec<String>,
}

impl FileSettings {
    /// Reads `path` as `sub`'s config file, keeping the keys whose flags
    /// are not in `on_command_line` (clap ids). Every key is checked: its
    /// name and type always, its value as a whole unless the command line
    /// replaces it ([`Check`]). Every error found is returned, in the
    /// file's order.
    fn load(
        path: &Path,
        sub: &clap::Command,
        on_command_line: &BTreeSet<String>,
        env: Env<'_>,
    ) -> Result<FileSettings, Failure> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::File(vec![format!("config file {}: {e}", path.display())]))?;
        let file = File {
            path,
            text: &text,
            sub,
            env,
            on_command_line,
        };
        let table = DeTable::parse(&text).map_err(|e| Failure::File(vec![file.syntax(&e)]))?;
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for (key, value) in table.get_ref() {
            match file.entry(key, value) {
                Ok(entry) if !on_command_line.contains(&entry.id) => entries.push(entry),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(FileSettings { entries })
        } else {
            Err(Failure::File(errors))
        }
    }

    /// Every entry's flags.
    fn args(&self) -> Vec<OsString> {
        self.entries
            .iter()
            .flat_map(|e| e.args.iter().cloned())
            .collect()
    }

    fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }
}

/// A config file being read.
struct File<'a> {
    path: &'a Path,
    text: &'a str,
    sub: &'a clap::Command,
    env: Env<'a>,
    /// The clap ids of the flags the command line gives.
    on_command_line: &'a BTreeSet<String>,
}

/// How much of a key's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// All of it: its type, its environment variables, its flag's parser.
    Whole,
    /// Its type only: the command line gives the flag, so the value is not
    /// used (its environment variables need not be set).
    TypeOnly,
}

/// A TOML value's type, as an error names it.
fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl File<'_> {
    /// `PATH:LINE:COLUMN` of a byte offset (lines and columns from 1,
    /// columns in characters).
    fn at(&self, span: Range<usize>) -> String {
        let before = self.text.get(..span.start).unwrap_or(self.text).to_owned();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("{}:{line}:{column}", self.path.display())
    }

    fn syntax(&self, e: &toml::de::Error) -> String {
        let at = match e.span() {
            Some(span) => self.at(span),
            None => self.path.display().to_string(),
        };
        format!("{at}: not valid TOML: {}", e.message().trim_end())
    }

    fn unknown_key(&self, key: &Spanned<DeString<'_>>) -> String {
        let name = key.get_ref().as_ref();
        let at = self.at(key.span());
        let sub = self.sub.get_name();
        let kebab = name.replace('_', "-");
        if [CONFIG_ID, "print-config"].contains(&kebab.as_str()) {
            return format!("{at}: `{name}` cannot be set in a config file");
        }
        let hint = if kebab != name && flags(self.sub).any(|f| f.long == kebab) {
            format!(" (did you mean `{kebab}`? keys are spelt as the flags are, with `-`)")
        } else {
            String::new()
        };
        format!(
            "{at}: unknown key `{name}`{hint}: {sub}'s keys are the long names of its flags (s3torrent {sub} --help)"
        )
    }

    /// One key and its value, checked.
    fn entry(
        &self,
        key: &Spanned<DeString<'_>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<Entry, String> {
        let name = key.get_ref().as_ref();
        let Some(flag) = flags(self.sub).find(|f| f.long == name) else {
            return Err(self.unknown_key(key));
        };
        let check = if self.on_command_line.contains(flag.arg.get_id().as_str()) {
            Check::TypeOnly
        } else {
            Check::Whole
        };
        let mut env = Vec::new();
        let dashes = format!("--{}", flag.long);
        let (args, shown) = match (flag.shape, value.get_ref()) {
            (Shape::Switch, DeValue::Boolean(on)) => {
                let args = if *on {
                    vec![dashes.clone().into()]
                } else {
                    vec![]
                };
                (args, Shown::Bool(*on))
            }
            (Shape::Count, DeValue::Integer(n)) => {
                let count = integer_text(n).parse::<u8>().map_err(|_| {
                    format!("{}: `{name}` counts from 0 to 255", self.at(value.span()))
                })?;
                let args = (0..count).map(|_| OsString::from(&dashes)).collect();
                (args, Shown::Integer(count.to_string()))
            }
            (Shape::One(scalar), _) => {
                let (text, shown) = self.value(flag, scalar, value, check, &mut env)?;
                (vec![format!("{dashes}={text}").into()], shown)
            }
            (Shape::Many(scalar), DeValue::Array(items)) => {
                let mut args = Vec::new();
                let mut shown = Vec::new();
                for item in items {
                    let (text, one) = self.value(flag, scalar, item, check, &mut env)?;
                    args.push(format!("{dashes}={text}").into());
                    shown.push(one);
                }
                (args, Shown::List(shown))
            }
            (_, found) => return Err(self.wrong_type(flag, found, value.span())),
        };
        // A value that is the flag's default is left to clap's default: the
        // same value, and a flag that only makes sense beside another
        // (`dht-interval` needs `dht`) is then not given without it, as
        // `--print-config`'s output lists every default.
        let defaults = flag.arg.get_default_values();
        let args = if !defaults.is_empty()
            && args.len() == defaults.len()
            && args.iter().zip(defaults).all(|(arg, default)| {
                *arg == OsString::from(format!("{dashes}={}", default.to_string_lossy()))
            }) {
            Vec::new()
        } else {
            args
        };
        Ok(Entry {
            id: flag.arg.get_id().as_str().to_owned(),
            args,
            shown,
            env,
        })
    }

    /// `found` is not what `flag` takes.
    fn wrong_type(&self, flag: Flag<'_>, found: &DeValue<'_>, span: Range<usize>) -> String {
        let one = |scalar| match scalar {
            Scalar::Integer => "an integer",
            Scalar::Text => "a string",
        };
        let takes = match flag.shape {
            Shape::Switch => "true or false".to_owned(),
            Shape::Count => "an integer".to_owned(),
            Shape::One(scalar) => one(scalar).to_owned(),
            Shape::Many(_) if flag.content == Content::User => {
                "an array of strings ACCESS:SECRET:ACCOUNT_ID or of tables { access-key, secret-key, account-id }".to_owned()
            }
            Shape::Many(Scalar::Integer) => "an array of integers".to_owned(),
            Shape::Many(Scalar::Text) => "an array of strings".to_owned(),
        };
        let hint = match (found, flag.shape) {
            (DeValue::Table(_), Shape::One(_) | Shape::Many(_)) => {
                " (a value from the environment is written { env = \"NAME\" })"
            }
            (_, Shape::Many(_)) => " (one element per flag, even for one)",
            _ => "",
        };
        format!(
            "{}: `{}` takes {takes} ({}), not {}{hint}",
            self.at(span),
            flag.long,
            flag.usage(),
            type_name(found),
        )
    }

    /// One value of `flag` (the whole value, or an array's element): its
    /// text for clap, checked, and how `--print-config` shows it.
    fn value(
        &self,
        flag: Flag<'_>,
        scalar: Scalar,
        value: &Spanned<DeValue<'_>>,
        check: Check,
        env: &mut Vec<String>,
    ) -> Result<(String, Shown), String> {
        let at = self.at(value.span());
        let (text, shown) = match (value.get_ref(), scalar) {
            (DeValue::Table(table), _) if table.contains_key("env") => {
                let (name, text) = self.env_value(flag.long, table, value.span(), check)?;
                env.push(name.clone());
                let shown = match flag.content {
                    Content::Secret | Content::User => Shown::Env(name),
                    Content::Plain => flag.show(scalar, &text),
                };
                (text, shown)
            }
            (DeValue::Table(table), Scalar::Text) if flag.content == Content::User => {
                self.user_table(flag, table, value.span(), check, env)?
            }
            (DeValue::String(text), Scalar::Text) => (text.to_string(), flag.show(scalar, text)),
            (DeValue::Integer(n), Scalar::Integer) => {
                let text = integer_text(n);
                let shown = flag.show(scalar, &text);
                (text, shown)
            }
            (found, _) => {
                return Err(self.wrong_type(
                    Flag {
                        shape: Shape::One(scalar),
                        ..flag
                    },
                    found,
                    value.span(),
                ));
            }
        };
        if check == Check::Whole {
            flag.check(&text).map_err(|e| format!("{at}: {e}"))?;
        }
        Ok((text, shown))
    }

    /// `{ env = "NAME" }`: the name and the variable's value.
    fn env_value(
        &self,
        key: &str,
        table: &DeTable<'_>,
        span: Range<usize>,
        check: Check,
    ) -> Result<(String, String), String> {
        let at = self.at(span);
        let name = match table.get("env").map(Spanned::get_ref) {
            Some(DeValue::String(name)) if table.len() == 1 && !name.is_empty() => name,
            _ => {
                return Err(format!(
                    "{at}: `{key}`: a value from the environment is written {{ env = \"NAME\" }} and nothing else"
                ));
            }
        };
        if check == Check::TypeOnly {
            return Ok((name.to_string(), String::new()));
        }
        match (self.env)(name) {
            None => Err(format!(
                "{at}: `{key}` is to be read from the environment variable {name}, which is not set"
            )),
            Some(value) => match value.into_string() {
                Ok(text) => Ok((name.to_string(), text)),
                Err(_) => Err(format!(
                    "{at}: `{key}`: the environment variable {name} is not UTF-8"
                )),
            },
        }
    }

    /// `{ access-key = "...", secret-key = "...", account-id = "..." }`,
    /// each a string or `{ env = "NAME" }`: `ACCESS:SECRET:ACCOUNT_ID`.
    fn user_table(
        &self,
        flag: Flag<'_>,
        table: &DeTable<'_>,
        span: Range<usize>,
        check: Check,
        env: &mut Vec<String>,
    ) -> Result<(String, Shown), String> {
        const FIELDS: [&str; 3] = ["access-key", "secret-key", "account-id"];
        let at = self.at(span);
        if let Some((key, _)) = table
            .iter()
            .find(|(k, _)| !FIELDS.contains(&k.get_ref().as_ref()))
        {
            return Err(format!(
                "{}: unknown key `{}` in a `{}` table: it takes access-key, secret-key and account-id",
                self.at(key.span()),
                key.get_ref(),
                flag.long
            ));
        }
        let mut texts = Vec::new();
        let mut secret = Shown::Masked;
        for field in FIELDS {
            let Some(value) = table.get(field) else {
                return Err(format!(
                    "{at}: a `{}` table needs {} (it has no `{field}`)",
                    flag.long,
                    FIELDS.join(", ")
                ));
            };
            let text = match value.get_ref() {
                DeValue::String(text) => text.to_string(),
                DeValue::Table(inner) => {
                    let (name, text) = self.env_value(field, inner, value.span(), check)?;
                    env.push(name.clone());
                    if field == "secret-key" {
                        secret = Shown::Env(name);
                    }
                    text
                }
                found => {
                    return Err(format!(
                        "{}: `{field}` of `{}` takes a string or {{ env = \"NAME\" }}, not {}",
                        self.at(value.span()),
                        flag.long,
                        type_name(found)
                    ));
                }
            };
            if field != "account-id" && text.contains(':') {
                return Err(format!(
                    "{}: `{field}` of `{}` may not contain `:`",
                    self.at(value.span()),
                    flag.long
                ));
            }
            texts.push(text);
        }
        let shown = Shown::User {
            access: texts[0].clone(),
            secret: Box::new(secret),
            account: texts[2].clone(),
        };
        Ok((texts.join(":"), shown))
    }
}

/// A TOML integer in decimal (TOML also writes hex, octal and binary).
fn integer_text(n: &toml::de::DeInteger<'_>) -> String {
    i128::from_str_radix(n.as_str(), n.radix()).map_or_else(|_| n.to_string(), |n| n.to_string())
}

/// `--print-config`'s output: every key of the subcommand, with its value
/// and where it came from.
struct Printed<'a> {
    name: &'a str,
    sub: &'a clap::Command,
    matches: &'a ArgMatches,
    on_command_line: &'a BTreeSet<String>,
    file: Option<&'a FileSettings>,
    path: Option<&'a Path>,
}

impl Printed<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        let over = match self.path {
            // A comment is one line: a newline in the path would end it.
            Some(path) => format!(
                ", over the config file {},",
                path.display().to_string().replace(['\n', '\r'], "?")
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "# s3torrent {}: the effective configuration, itself a config file.\n\
             # From the command line{over} over the defaults.\n\
             # Secrets are masked: \"{MASK}\" stands for one given as text,\n\
             # {{ env = \"NAME\" }} for one read from the environment variable NAME.",
            self.name
        );
        for flag in flags(self.sub) {
            let id = flag.arg.get_id().as_str();
            let (shown, source) = if self.on_command_line.contains(id) {
                (self.held(flag), "command line".to_owned())
            } else if let Some(entry) = self.file.and_then(|f| f.entry(id)) {
                let source = if entry.env.is_empty() {
                    "config file".to_owned()
                } else {
                    format!("config file, environment {}", entry.env.join(", "))
                };
                (Some(entry.shown.clone()), source)
            } else {
                (self.held(flag), "default".to_owned())
            };
            let _ = match shown {
                Some(shown) => writeln!(out, "{} = {}  # {source}", flag.long, shown.render()),
                None => writeln!(out, "# {}: not set ({source})", flag.long),
            };
        }
        out
    }

    /// What clap holds for `flag`: the command line's values, or the
    /// default; `None` for a flag with one value that has neither.
    fn held(&self, flag: Flag<'_>) -> Option<Shown> {
        let id = flag.arg.get_id().as_str();
        let m = self.matches;
        match flag.shape {
            Shape::Switch => Some(Shown::Bool(
                m.value_source(id) == Some(ValueSource::CommandLine),
            )),
            Shape::Count => Some(Shown::Integer(m.get_count(id).to_string())),
            Shape::One(scalar) => m
                .get_raw(id)
                .and_then(|mut values| values.next())
                .map(|v| flag.show(scalar, &v.to_string_lossy())),
            Shape::Many(scalar) => Some(Shown::List(
                m.get_raw(id)
                    .into_iter()
                    .flatten()
                    .map(|v| flag.show(scalar, &v.to_string_lossy()))
                    .collect(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::{Content, Failure, Flag, Resolved, Scalar, Shape, flags, resolve};

    /// Resolves `s3torrent ARGS…` with `file` as `--config` (when given)
    /// and `env` as the environment.
    fn run(file: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Result<Resolved, Failure> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s3torrent.toml");
        let mut argv: Vec<OsString> = vec!["s3torrent".into()];
        argv.extend(args.iter().map(OsString::from));
        if let Some(text) = file {
            std::fs::write(&path, text).unwrap();
            argv.push("--config".into());
            argv.push(path.clone().into());
        }
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        };
        resolve(argv, &lookup)
    }

    /// `--print-config`'s output for a file and a command line, parsed.
    fn printed(file: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> (String, toml::Table) {
        let mut args = args.to_vec();
        args.push("--print-config");
        match run(file, &args, env) {
            Ok(Resolved::Print(text)) => {
                let table = text
                    .parse::<toml::Table>()
                    .unwrap_or_else(|e| panic!("--print-config's output is not TOML: {e}\n{text}"));
                (text, table)
            }
            Ok(Resolved::Run(_)) => panic!("ran instead of printing"),
            Err(e) => panic!("{e:?}"),
        }
    }

    fn file_errors(file: &str, args: &[&str]) -> Vec<String> {
        match run(Some(file), args, &[("SET", "value")]) {
            Err(Failure::File(errors)) => errors,
            Err(Failure::Usage(e)) => panic!("a usage error, not the file's: {e}"),
            Ok(_) => panic!("{file:?} was taken"),
        }
    }

    fn command() -> clap::Command {
        let mut command = <crate::Cli as clap::CommandFactory>::command();
        command.build();
        command
    }

    #[test]
    fn every_long_flag_of_serve_and_gateway_is_a_key_of_the_shape_its_parser_says() {
        let command = command();
        for name in ["serve", "gateway"] {
            let sub = command.find_subcommand(name).unwrap();
            let settings: Vec<&str> = sub
                .get_arguments()
                .filter(|a| a.get_long().is_some())
                .filter(|a| {
                    !matches!(
                        a.get_action(),
                        clap::ArgAction::Help | clap::ArgAction::Version
                    )
                })
                .filter_map(|a| a.get_long())
                .filter(|l| !["config", "print-config"].contains(l))
                .collect();
            let keys: Vec<&str> = flags(sub).map(|f| f.long).collect();
            assert_eq!(keys, settings, "{name}");
            assert!(keys.len() > 25, "{name}: {keys:?}");
        }
        let serve = command.find_subcommand("serve").unwrap();
        let gateway = command.find_subcommand("gateway").unwrap();
        let flag = |sub: &'static clap::Command, long: &str| -> Flag<'static> {
            flags(sub).find(|f| f.long == long).unwrap()
        };
        let serve: &'static clap::Command = Box::leak(Box::new(serve.clone()));
        let gateway: &'static clap::Command = Box::leak(Box::new(gateway.clone()));
        let shape = |f: Flag<'_>| (f.shape, f.content);
        assert_eq!(
            shape(flag(serve, "user")),
            (Shape::Many(Scalar::Text), Content::User)
        );
        assert_eq!(
            shape(flag(serve, "tracker")),
            (Shape::Many(Scalar::Text), Content::Plain)
        );
        assert_eq!(
            shape(flag(serve, "max-connections")),
            (Shape::One(Scalar::Integer), Content::Plain)
        );
        assert_eq!(
            shape(flag(serve, "body-window")),
            (Shape::One(Scalar::Integer), Content::Plain)
        );
        assert_eq!(
            shape(flag(serve, "seed-rate")),
            (Shape::One(Scalar::Integer), Content::Plain)
        );
        assert_eq!(
            shape(flag(serve, "root")),
            (Shape::One(Scalar::Text), Content::Plain)
        );
        assert_eq!(
            shape(flag(serve, "announce-rate")),
            (Shape::One(Scalar::Text), Content::Plain)
        );
        assert_eq!(
            shape(flag(gateway, "upstream-secret-key")),
            (Shape::One(Scalar::Text), Content::Secret)
        );
    }

    #[test]
    fn a_flag_added_later_is_a_key_of_its_own_shape() {
        // What another branch's `--dht`, `--dht-listen ADDR` and
        // `--dht-bootstrap HOST:PORT...` get without a line here.
        let sub = clap::Command::new("serve")
            .arg(
                clap::Arg::new("dht")
                    .long("dht")
                    .action(clap::ArgAction::SetTrue),
            )
            .arg(
                clap::Arg::new("dht_listen")
                    .long("dht-listen")
                    .value_name("ADDR"),
            )
            .arg(
                clap::Arg::new("dht_bootstrap")
                    .long("dht-bootstrap")
                    .action(clap::ArgAction::Append),
            )
            .arg(
                clap::Arg::new("dht_nodes")
                    .long("dht-nodes")
                    .value_parser(clap::value_parser!(u16)),
            );
        let shapes: Vec<(&str, Shape)> = flags(&sub).map(|f| (f.long, f.shape)).collect();
        assert_eq!(
            shapes,
            [
                ("dht", Shape::Switch),
                ("dht-listen", Shape::One(Scalar::Text)),
                ("dht-bootstrap", Shape::Many(Scalar::Text)),
                ("dht-nodes", Shape::One(Scalar::Integer)),
            ]
        );
    }

    #[test]
    fn the_file_sets_flags_the_command_line_wins_and_replaces_lists() {
        let file = r#"
listen = "127.0.0.1:9999"
seeding = "both"
tracker = ["http://a.test/announce", "http://b.test/announce"]
max-connections = 0x40
trusted-proxy = ["10.0.0.0/8"]
"#;
        let (_, t) = printed(Some(file), &["serve"], &[]);
        assert_eq!(t["listen"].as_str(), Some("127.0.0.1:9999"));
        assert_eq!(t["seeding"].as_str(), Some("both"));
        assert_eq!(t["max-connections"].as_integer(), Some(64));
        assert_eq!(t["tracker"].as_array().unwrap().len(), 2);
        assert_eq!(t["root"].as_str(), Some("data"), "a default");

        let (text, t) = printed(
            Some(file),
            &[
                "serve",
                "--listen",
                "127.0.0.1:1",
                "--tracker=http://c.test/announce",
            ],
            &[],
        );
        assert_eq!(t["listen"].as_str(), Some("127.0.0.1:1"));
        let trackers: Vec<&str> = t["tracker"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            trackers,
            ["http://c.test/announce"],
            "replaced, not added to"
        );
        assert_eq!(t["seeding"].as_str(), Some("both"), "the file's still");
        assert!(
            text.contains("listen = \"127.0.0.1:1\"  # command line"),
            "{text}"
        );
        assert!(text.contains("seeding = \"both\"  # config file"), "{text}");
        assert!(text.contains("root = \"data\"  # default"), "{text}");
        assert!(text.contains("# max-connections") || t.contains_key("max-connections"));
    }

    #[test]
    fn a_required_flag_may_come_from_the_file_and_a_pair_may_be_split() {
        // gateway's --upstream is required; --upstream-access-key requires
        // --upstream-secret-key: one on the command line, one in the file.
        let file = "upstream = \"http://127.0.0.1:1\"\nupstream-secret-key = { env = \"UP\" }\n";
        let (text, t) = printed(
            Some(file),
            &["gateway", "--upstream-access-key", "gw"],
            &[("UP", "up-secret-value")],
        );
        assert_eq!(t["upstream"].as_str(), Some("http://127.0.0.1:1"));
        assert_eq!(t["upstream-access-key"].as_str(), Some("gw"));
        assert_eq!(t["upstream-secret-key"]["env"].as_str(), Some("UP"));
        assert!(!text.contains("up-secret-value"), "{text}");
        // Without the file's half, clap's own rule holds.
        assert!(matches!(
            run(
                Some("upstream = \"http://127.0.0.1:1\"\n"),
                &["gateway", "--upstream-access-key", "gw"],
                &[]
            ),
            Err(Failure::Usage(_))
        ));
    }

    #[test]
    fn print_config_masks_every_secret_and_reads_back_the_same() {
        let file = r#"
[[user]]
access-key = "alice"
secret-key = { env = "ALICE_SECRET" }
account-id = "111122223333"

[[user]]
access-key = "bob"
secret-key = "bob-literal-secret"
account-id = "222233334444"
"#;
        let env = [("ALICE_SECRET", "alice-env-secret")];
        let (text, first) = printed(Some(file), &["serve"], &env);
        for secret in ["alice-env-secret", "bob-literal-secret"] {
            assert!(!text.contains(secret), "{secret} in\n{text}");
        }
        let users = first["user"].as_array().unwrap();
        assert_eq!(users[0]["secret-key"]["env"].as_str(), Some("ALICE_SECRET"));
        assert_eq!(users[1]["secret-key"].as_str(), Some(super::MASK));
        assert_eq!(users[1]["access-key"].as_str(), Some("bob"));
        // The output is a config file: read back, it prints the same values.
        let (_, again) = printed(Some(&text), &["serve"], &env);
        assert_eq!(first, again);

        // Users on the command line replace the file's, and are masked too;
        // the file's variables need not be set then.
        let (text, t) = printed(
            Some(file),
            &["serve", "--user", "carol:carol-cli-secret:333344445555"],
            &[],
        );
        assert!(!text.contains("carol-cli-secret"), "{text}");
        let users = t["user"].as_array().unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0]["access-key"].as_str(), Some("carol"));
    }

    #[test]
    fn a_hostile_file_is_refused_naming_the_key_and_its_line() {
        let cases: &[(&str, &[&str])] = &[
            (
                "listen = \"127.0.0.1:1\"\nmax_connections = 5\n",
                &[
                    ":2:1:",
                    "`max_connections`",
                    "did you mean `max-connections`",
                ],
            ),
            (
                "no-such-flag = 1\n",
                &[":1:1:", "unknown key `no-such-flag`"],
            ),
            (
                "\n\nlisten = 9000\n",
                &[":3:10:", "`listen` takes a string", "not an integer"],
            ),
            (
                "max-connections = \"many\"\n",
                &[":1:19:", "`max-connections` takes an integer"],
            ),
            (
                "tracker = \"http://a.test/\"\n",
                &[":1:11:", "`tracker` takes an array of strings"],
            ),
            ("seeding = \"bogus\"\n", &[":1:11:", "`seeding`", "bogus"]),
            ("body-window = 0\n", &[":1:15:", "`body-window`"]),
            ("upstream = \"x\"\n", &[":1:1:", "unknown key `upstream`"]),
            (
                "config = \"other.toml\"\n",
                &[":1:1:", "cannot be set in a config file"],
            ),
            (
                "root = { env = \"UNSET_VARIABLE\" }\n",
                &[":1:8:", "UNSET_VARIABLE", "not set"],
            ),
            (
                "root = { env = \"SET\", or = 1 }\n",
                &[":1:8:", "{ env = \"NAME\" }"],
            ),
            ("root = 1.5\n", &[":1:8:", "not a float"]),
            (
                "listen = \"a\"\nlisten = \"b\"\n",
                &[":2:1:", "not valid TOML"],
            ),
            (
                "listen = \"127.0.0.1:1\nseeding = 3\n",
                &[":1:", "not valid TOML"],
            ),
            (
                "[[user]]\naccess-key = \"a\"\nsecret-key = { env = \"NOT_THERE\" }\naccount-id = \"111122223333\"\n",
                &[":3:14:", "NOT_THERE"],
            ),
            (
                "[[user]]\naccess-key = \"a\"\nsecret-key = \"s\"\n",
                &[":1:1:", "no `account-id`"],
            ),
            (
                "[[user]]\naccess-key = \"a\"\nsecret = \"s\"\n",
                &[":3:1:", "unknown key `secret`"],
            ),
            (
                "user = [\"alice:secret-in-error:12\"]\n",
                &[":1:9:", "`user`"],
            ),
        ];
        for (file, wanted) in cases {
            let errors = file_errors(file, &["serve"]);
            let all = errors.join("\n");
            for want in *wanted {
                assert!(all.contains(want), "{file:?}: {want:?} not in {all}");
            }
            assert!(all.contains("s3torrent.toml:"), "{all}");
            assert!(!all.contains("secret-in-error"), "a secret repeated: {all}");
        }
        // A replaced key is still checked for its name and type.
        let errors = file_errors(
            "user = \"a:b:111122223333\"\n",
            &["serve", "--user", "c:d:111122223333"],
        );
        assert!(errors[0].contains("`user` takes an array"), "{errors:?}");
        // Every wrong key is reported, in the file's order.
        let errors = file_errors("a_b = 1\nlisten = 2\nc = 3\n", &["serve"]);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].contains(":1:1:") && errors[2].contains(":3:1:"),
            "{errors:?}"
        );
    }

    #[test]
    fn switches_and_values_that_look_like_flags() {
        let sub = clap::Command::new("serve")
            .arg(
                clap::Arg::new("dht")
                    .long("dht")
                    .action(clap::ArgAction::SetTrue),
            )
            .arg(clap::Arg::new("name").long("name"));
        let on = flags(&sub).next().unwrap();
        assert_eq!(on.shape, Shape::Switch);
        let name = flags(&sub).nth(1).unwrap();
        assert_eq!(name.check("--not-a-flag"), Ok(()));
    }
}
