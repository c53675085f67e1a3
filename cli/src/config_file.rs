//! The configuration file: `--config FILE` (or `SIGNQ_CONFIG`), TOML.
//!
//! Its top-level keys are the options every command shares (`data_dir`, `secrets_dir`, …); its
//! `[scheduler]` and `[signer]` sections are the options of `signq scheduler` and `signq signer`
//! (`signq dev` takes both). A key is its option's flag without the dashes, `-` written `_`:
//! `--lease-size` is `lease_size`. A setting is taken from, in rising order: the option's default,
//! the file, its environment variable (secrets: `SIGNQ_STORE`, `SIGNQ_KEK`, …), a flag.
//!
//! The file is read through the command line's own definitions rather than a second copy of
//! them: each setting becomes the flag it names, added only where neither a flag nor an
//! environment variable set that option, and each value is first parsed by its option's own
//! parser, so that a bad value, like an unknown key, is refused naming the file, line and key.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// The sections of the file and the subcommands each applies to.
const SECTIONS: [(&str, &[&str]); 2] = [
    ("scheduler", &["scheduler", "dev"]),
    ("signer", &["signer", "dev"]),
];

/// The environment variable that may name the file instead of `--config`.
pub const CONFIG_ENV: &str = "SIGNQ_CONFIG";

/// What is wrong with a configuration file, located in it.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    path: PathBuf,
    line: Option<usize>,
    message: String,
}

/// One setting of the file.
#[derive(Debug, Clone)]
struct Setting {
    /// `None` for the top level.
    section: Option<String>,
    key: String,
    line: usize,
    value: toml::Value,
}

/// A configuration file, read and parsed (not yet checked against the options).
#[derive(Debug)]
pub struct ConfigFile {
    path: PathBuf,
    settings: Vec<Setting>,
}

impl ConfigFile {
    /// Reads `path`: TOML whose top level holds settings and the known sections.
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            message: format!("cannot read it: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` as the file at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
        let error = |line: Option<usize>, message: String| ConfigError {
            path: path.to_path_buf(),
            line,
            message,
        };
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let values: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(s.start));
            error(line, format!("not valid TOML: {}", e.message()))
        })?;
        // The same document once more, for where each key is.
        let spans = toml::de::DeTable::parse(text)
            .map_err(|e| error(None, format!("not valid TOML: {}", e.message())))?;
        let mut lines = BTreeMap::new();
        for (key, value) in spans.get_ref().iter() {
            lines.insert((None, key.get_ref().to_string()), line_of(key.span().start));
            if let toml::de::DeValue::Table(table) = value.get_ref() {
                for (inner, _) in table.iter() {
                    let section = Some(key.get_ref().to_string());
                    lines.insert(
                        (section, inner.get_ref().to_string()),
                        line_of(inner.span().start),
                    );
                }
            }
        }
        let line = |section: Option<&str>, key: &str| {
            lines
                .get(&(section.map(str::to_string), key.to_string()))
                .copied()
                .unwrap_or(1)
        };

        let mut settings = Vec::new();
        for (key, value) in values {
            match value {
                toml::Value::Table(table) => {
                    if !SECTIONS.iter().any(|(name, _)| *name == key) {
                        let known = SECTIONS.map(|(name, _)| format!("[{name}]")).join(", ");
                        return Err(error(
                            Some(line(None, &key)),
                            format!("unknown section [{key}] (known: {known})"),
                        ));
                    }
                    for (inner, value) in table {
                        settings.push(Setting {
                            line: line(Some(&key), &inner),
                            section: Some(key.clone()),
                            key: inner,
                            value,
                        });
                    }
                }
                value => settings.push(Setting {
                    line: line(None, &key),
                    section: None,
                    key,
                    value,
                }),
            }
        }
        Ok(ConfigFile {
            path: path.to_path_buf(),
            settings,
        })
    }

    /// Checks every setting against the options it names, for every section: the key must be
    /// an option and its value one the option takes; then each section as a whole.
    pub fn check(&self, command: &Command) -> Result<(), ConfigError> {
        for setting in &self.settings {
            self.flags(command, setting)?;
        }
        for (section, subcommands) in SECTIONS {
            let mut argv = vec![OsString::from("signq"), OsString::from(subcommands[0])];
            for setting in self.settings_for(Some(section)) {
                argv.extend(self.flags(command, setting)?);
            }
            if let Err(e) = command.clone().try_get_matches_from(&argv) {
                return Err(self.error(None, format!("[{section}]: {}", clap_reason(&e))));
            }
        }
        Ok(())
    }

    /// The command line `argv` with the file's settings added as flags, for the options of the
    /// subcommand `matches` chose that neither a flag nor an environment variable set.
    pub fn apply(
        &self,
        command: &Command,
        matches: &ArgMatches,
        mut argv: Vec<OsString>,
    ) -> Result<Vec<OsString>, ConfigError> {
        let (name, sub_matches) = matches
            .subcommand()
            .map_or(("", matches), |(name, m)| (name, m));
        let mut added = Vec::new();
        for setting in &self.settings {
            // Every setting is checked, also one a flag overrides or in a section this command
            // does not read: a mistake in the file is a mistake.
            let flags = self.flags(command, setting)?;
            let applies = match &setting.section {
                None => true,
                Some(section) => SECTIONS
                    .iter()
                    .any(|(s, subs)| s == section && subs.contains(&name)),
            };
            if !applies {
                continue;
            }
            let arg = self.arg(command, setting)?;
            let chosen = if setting.section.is_none() {
                matches
            } else {
                sub_matches
            };
            let source = chosen.value_source(arg.get_id().as_str());
            if matches!(
                source,
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            ) {
                continue;
            }
            added.extend(flags);
        }
        argv.extend(added);
        Ok(argv)
    }

    fn settings_for(&self, section: Option<&str>) -> impl Iterator<Item = &Setting> {
        self.settings
            .iter()
            .filter(move |s| s.section.as_deref() == section || s.section.is_none())
    }

    /// The option `setting` names, in the subcommand its section belongs to.
    fn arg<'c>(&self, command: &'c Command, setting: &Setting) -> Result<&'c Arg, ConfigError> {
        let long = setting.key.replace('_', "-");
        let (owner, found) = match &setting.section {
            None => (
                command,
                command.get_arguments().find(|a| {
                    a.is_global_set() && a.get_long() == Some(&long) && a.get_id() != "config"
                }),
            ),
            Some(section) => {
                let sub = command
                    .find_subcommand(section)
                    .unwrap_or_else(|| unreachable!("[{section}] names a subcommand"));
                (
                    sub,
                    sub.get_arguments()
                        .find(|a| a.get_long() == Some(&long) && !a.is_global_set()),
                )
            }
        };
        found.filter(|a| !a.is_hide_set()).ok_or_else(|| {
            let place = setting
                .section
                .as_ref()
                .map_or("at the top level".to_string(), |s| format!("in [{s}]"));
            self.error(
                Some(setting.line),
                format!(
                    "unknown key `{}` {place} (`{} --help` lists the options; a key is a flag \
                     with `_` for `-`)",
                    setting.key,
                    match &setting.section {
                        Some(_) => format!("signq {}", owner.get_name()),
                        None => "signq".to_string(),
                    }
                ),
            )
        })
    }

    /// The flags one setting stands for, its value checked by its option's own parser.
    fn flags(&self, command: &Command, setting: &Setting) -> Result<Vec<OsString>, ConfigError> {
        let arg = self.arg(command, setting)?;
        let at = |message: String| {
            self.error(Some(setting.line), format!("`{}`: {message}", setting.key))
        };
        let flag = OsString::from(format!("--{}", arg.get_long().unwrap_or_default()));
        let flags = match (arg.get_action(), &setting.value) {
            (ArgAction::SetTrue, toml::Value::Boolean(true)) => vec![flag],
            (ArgAction::SetTrue, toml::Value::Boolean(false)) => vec![],
            (ArgAction::SetTrue, _) => return Err(at("expected true or false".into())),
            (ArgAction::Append, toml::Value::Array(items)) => {
                let mut flags = Vec::new();
                for item in items {
                    flags.push(flag.clone());
                    flags.push(scalar(item).map_err(at)?);
                }
                flags
            }
            (_, toml::Value::Array(_)) => return Err(at("expected one value, not a list".into())),
            (_, value) => vec![flag, scalar(value).map_err(at)?],
        };
        // The option on its own in its command, so its parser judges the value; what other
        // options it needs is judged with the whole section (`check`) or command line.
        let owner = match &setting.section {
            None => command,
            Some(section) => command
                .find_subcommand(section)
                .unwrap_or_else(|| unreachable!("[{section}] names a subcommand")),
        };
        match owner
            .clone()
            .no_binary_name(true)
            .try_get_matches_from(&flags)
        {
            Ok(_) => Ok(flags),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::MissingRequiredArgument
                        | ErrorKind::MissingSubcommand
                        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                ) =>
            {
                Ok(flags)
            }
            Err(e) => Err(at(clap_reason(&e))),
        }
    }

    fn error(&self, line: Option<usize>, message: String) -> ConfigError {
        ConfigError {
            path: self.path.clone(),
            line,
            message,
        }
    }
}

/// A TOML value as the text a flag would carry.
fn scalar(value: &toml::Value) -> Result<OsString, String> {
    match value {
        toml::Value::String(s) => Ok(s.into()),
        toml::Value::Integer(i) => Ok(i.to_string().into()),
        toml::Value::Float(f) => Ok(f.to_string().into()),
        toml::Value::Boolean(b) => Ok(b.to_string().into()),
        toml::Value::Datetime(_) | toml::Value::Array(_) | toml::Value::Table(_) => Err(format!(
            "expected a string or a number, found {}",
            value.type_str()
        )),
    }
}

/// What a clap error says, without its usage text.
fn clap_reason(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let text = text.trim_start_matches("error: ");
    let body = text.split("\n\nUsage").next().unwrap_or(text);
    let body = body
        .split("\n\nFor more information")
        .next()
        .unwrap_or(body);
    body.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The example configuration (`signq config example`): every option of both services with its
/// help as a comment, set to its default where it has one.
pub fn example(command: &Command) -> String {
    let mut out = String::from(
        "# signq's configuration file: `signq scheduler --config FILE`, `signq signer --config FILE`\n\
         # (or SIGNQ_CONFIG=FILE). Every key is an option of the command line, its flag written with\n\
         # `_` for `-`. A setting is taken from, in rising order: its default, this file, its\n\
         # environment variable (secrets: SIGNQ_STORE, SIGNQ_KEK), a flag. Options shown commented\n\
         # out have no default. `signq config check FILE` checks a file without starting anything.\n",
    );
    let globals: Vec<&Arg> = command
        .get_arguments()
        .filter(|a| a.is_global_set() && a.get_id() != "config" && !a.is_hide_set())
        .collect();
    write_args(&mut out, &globals);
    for (section, subcommands) in SECTIONS {
        let sub = command
            .find_subcommand(subcommands[0])
            .unwrap_or_else(|| unreachable!("{section} is a subcommand"));
        out.push_str(&format!("\n[{section}]\n"));
        let args: Vec<&Arg> = sub
            .get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set() && a.get_long().is_some())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .collect();
        write_args(&mut out, &args);
    }
    out
}

fn write_args(out: &mut String, args: &[&Arg]) {
    for arg in args {
        let key = arg.get_long().unwrap_or_default().replace('-', "_");
        out.push('\n');
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        for line in wrap(&help, 96) {
            out.push_str(&format!("# {line}\n"));
        }
        if let Some(env) = arg.get_env() {
            out.push_str(&format!("# (environment: {})\n", env.to_string_lossy()));
        }
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| toml_literal(&v.to_string_lossy()))
            .collect();
        match (arg.get_action(), defaults.as_slice()) {
            (ArgAction::SetTrue, _) => out.push_str(&format!("{key} = false\n")),
            (ArgAction::Append, _) => out.push_str(&format!("# {key} = []\n")),
            (_, [one]) => out.push_str(&format!("{key} = {one}\n")),
            _ => out.push_str(&format!("# {key} = \"…\"\n")),
        }
    }
}

/// A default value as TOML: a number stays a number, anything else is a string.
fn toml_literal(text: &str) -> String {
    if text.parse::<i64>().is_ok() || text.parse::<f64>().is_ok_and(f64::is_finite) {
        text.to_string()
    } else {
        toml::Value::String(text.to_string()).to_string()
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}
