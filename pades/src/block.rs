//! The signature block's words: the capacity in which a person signs, their title and their
//! name, as Vietnamese administrative documents print them (Decree 30/2020, Art. 13):
//!
//! ```text
//! TM. ỦY BAN NHÂN DÂN      the collective body, when the head signs for it
//! KT. CHỦ TỊCH             a deputy signing for the head ("TUQ." when authorised in writing)
//! PHÓ CHỦ TỊCH             the signer's own title
//! Nguyễn Văn An            the signer's full name
//! ```
//!
//! The words come from the ward's configuration (the titles) and from the signer's certificate
//! and delegation (the capacity and the name), never from the record.

/// How a person signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// The head, in their own name (or for the collective body, when the ward names one).
    Head,
    /// A deputy signing for the head: "KT." (ký thay).
    ForHead,
    /// Someone the head authorised in writing, limited in time and scope: "TUQ." (thừa ủy quyền).
    Authorised,
}

impl Capacity {
    /// The notation before the head's title, if any.
    pub fn notation(self) -> Option<&'static str> {
        match self {
            Capacity::Head => None,
            Capacity::ForHead => Some("KT."),
            Capacity::Authorised => Some("TUQ."),
        }
    }
}

/// A ward's titles for its signature blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Titles {
    /// The collective body the head signs for ("ỦY BAN NHÂN DÂN"), printed as "TM. …"; empty
    /// when the head signs in their own name.
    pub body: String,
    /// The head's title ("CHỦ TỊCH").
    pub head: String,
    /// A deputy's title ("PHÓ CHỦ TỊCH").
    pub deputy: String,
}

impl Default for Titles {
    /// A ward's People's Committee.
    fn default() -> Titles {
        Titles {
            body: "ỦY BAN NHÂN DÂN".into(),
            head: "CHỦ TỊCH".into(),
            deputy: "PHÓ CHỦ TỊCH".into(),
        }
    }
}

/// The block of one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The lines above the name: the body, the capacity and the title.
    pub capacity: Vec<String>,
    /// The signer's full name.
    pub name: String,
}

impl Block {
    /// The block of `name` signing in `capacity` under `titles`. A person authorised in writing
    /// signs for the head, not for the collective body, so their block names no body.
    pub fn new(capacity: Capacity, titles: &Titles, name: &str) -> Block {
        let mut lines = Vec::new();
        if !titles.body.is_empty() && capacity != Capacity::Authorised {
            lines.push(format!("TM. {}", titles.body));
        }
        match capacity.notation() {
            None => lines.push(titles.head.clone()),
            Some(notation) => {
                lines.push(format!("{notation} {}", titles.head));
                lines.push(titles.deputy.clone());
            }
        }
        Block {
            capacity: lines,
            name: name.to_string(),
        }
    }

    /// Every line, top to bottom.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = self.capacity.clone();
        lines.push(self.name.clone());
        lines
    }

    /// The capacity as one line ("TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH"): the
    /// signature dictionary's `/Reason`, which the signature covers, so a validator can read it.
    pub fn reason(&self) -> String {
        self.capacity.join(" / ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_read_as_printed_on_ward_documents() {
        let ward = Titles::default();
        let head = Block::new(Capacity::Head, &ward, "Trần Thị Bình");
        assert_eq!(
            head.lines(),
            ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Trần Thị Bình"]
        );
        let deputy = Block::new(Capacity::ForHead, &ward, "Nguyễn Văn An");
        assert_eq!(
            deputy.lines(),
            [
                "TM. ỦY BAN NHÂN DÂN",
                "KT. CHỦ TỊCH",
                "PHÓ CHỦ TỊCH",
                "Nguyễn Văn An"
            ]
        );
        assert_eq!(
            deputy.reason(),
            "TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH"
        );
        let own_name = Titles {
            body: String::new(),
            ..Titles::default()
        };
        assert_eq!(
            Block::new(Capacity::ForHead, &own_name, "Nguyễn Văn An").lines(),
            ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Nguyễn Văn An"]
        );
        assert_eq!(
            Block::new(Capacity::Authorised, &ward, "Lê Văn Cường").lines(),
            ["TUQ. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Lê Văn Cường"]
        );
    }
}
