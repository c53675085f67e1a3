//! The ward's calendar from its files: one override file per year (`<year>.toml`, or any name
//! ending in `.toml`) in the calendar directory, each checked on its own, so that an error names
//! the file and the line. Without the directory, the law's defaults.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use signq_calendar::{Calendar, Days, OfficeHours, YearOverrides};

/// The calendar of the override files in `dir` (if it exists) with office `hours`. A file that
/// does not parse, a year listed twice, or a year that would never open stops here.
pub fn load(dir: &Path, hours: OfficeHours) -> anyhow::Result<Calendar> {
    if !dir.exists() {
        return Ok(Calendar::new(Arc::new(Days::default()), hours));
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the calendar directory {}", dir.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading the calendar directory {}", dir.display()))?
        .into_iter()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut years: Vec<YearOverrides> = Vec::new();
    let mut from: Vec<&Path> = Vec::new();
    for path in &files {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let at =
            |line: usize, message: &str| anyhow::anyhow!("{}:{line}: {message}", path.display());
        let year = YearOverrides::parse(&text).map_err(|e| at(e.line, &e.message))?;
        // Each year alone first, so that its errors name its file.
        Days::new(vec![year.clone()]).map_err(|e| at(e.line, &e.message))?;
        if let Some(i) = years.iter().position(|y| y.year == year.year) {
            return Err(at(
                1,
                &format!("{} is also in {}", year.year, from[i].display()),
            ));
        }
        years.push(year);
        from.push(path);
    }
    let days = Days::new(years).context("the calendar")?;
    Ok(Calendar::new(Arc::new(days), hours))
}
