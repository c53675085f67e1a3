//! File-name stems for policies.
//!
//! Policy names come from scenario files and may be Vietnamese (`cân bằng tải`) or contain
//! spaces and slashes; the `.hgrm` files are named after them, so the names are folded to
//! plain ASCII (`can-bang-tai`) that every shell, archive and Markdown renderer takes.

/// Vietnamese letters with their diacritics, by the ASCII letter they fold to.
const FOLDS: [(char, &str); 14] = [
    ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
    ('A', "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ"),
    ('e', "èéẻẽẹêềếểễệ"),
    ('E', "ÈÉẺẼẸÊỀẾỂỄỆ"),
    ('i', "ìíỉĩị"),
    ('I', "ÌÍỈĨỊ"),
    ('o', "òóỏõọôồốổỗộơờớởỡợ"),
    ('O', "ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ"),
    ('u', "ùúủũụưừứửữự"),
    ('U', "ÙÚỦŨỤƯỪỨỬỮỰ"),
    ('y', "ỳýỷỹỵ"),
    ('Y', "ỲÝỶỸỴ"),
    ('d', "đ"),
    ('D', "Đ"),
];

/// `c` without its Vietnamese diacritics, or `c` itself.
fn fold(c: char) -> char {
    FOLDS
        .iter()
        .find(|(_, marked)| marked.contains(c))
        .map_or(c, |&(plain, _)| plain)
}

/// One stem per name, in order: Vietnamese letters folded to ASCII, ASCII letters, digits,
/// `-`, `_` and `.` kept, any other run of characters turned into one `-`; `policy` for a
/// name with nothing left; made unique with `-2`, `-3`…
pub(crate) fn file_stems<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut stems: Vec<String> = Vec::new();
    for name in names {
        let mut stem = String::new();
        // Combining marks (a name in decomposed form) are dropped with their letter kept.
        for c in name
            .chars()
            .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
            .map(fold)
        {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                stem.push(c);
            } else if !stem.ends_with('-') {
                stem.push('-');
            }
        }
        let base = stem.trim_matches(|c| c == '-' || c == '.');
        let base = if base.is_empty() { "policy" } else { base };
        let mut unique = base.to_owned();
        let mut n = 2;
        while stems.contains(&unique) {
            unique = format!("{base}-{n}");
            n += 1;
        }
        stems.push(unique);
    }
    stems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_plain_ascii_and_unique() {
        let stems = file_stems([
            "cân bằng tải",
            "Ưu tiên Phó Chủ tịch",
            "đều/quay vòng",
            "a b",
            "a/b",
            "",
            "..",
            "Tie\u{302}\u{301}n",
        ]);
        assert_eq!(
            stems,
            [
                "can-bang-tai",
                "Uu-tien-Pho-Chu-tich",
                "deu-quay-vong",
                "a-b",
                "a-b-2",
                "policy",
                "policy-2",
                "Tien"
            ]
        );
    }
}
