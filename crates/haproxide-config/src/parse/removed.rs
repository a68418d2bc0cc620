use super::*;

pub(super) struct Removed {
    keyword: String,
    removed_in: String,
    replacement: String,
    message: String,
}

pub(super) fn removed_table() -> Vec<Removed> {
    include_str!("../../data/removed.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .filter_map(|l| {
            let mut it = l.split('\t');
            Some(Removed {
                keyword: it.next()?.to_string(),
                removed_in: it.next().unwrap_or("").to_string(),
                replacement: it.next().unwrap_or("").to_string(),
                message: it.next().unwrap_or("").to_string(),
            })
        })
        .collect()
}

impl Parser<'_> {
    pub(super) fn removed(&self, words: &[&str]) -> Option<&Removed> {
        let two = words.iter().take(2).copied().collect::<Vec<_>>().join(" ");
        let one = words.first().copied().unwrap_or("");
        self.removed
            .iter()
            .find(|r| r.keyword == two && !r.message.is_empty())
            .or_else(|| {
                self.removed
                    .iter()
                    .find(|r| r.keyword == one && !r.message.is_empty())
            })
    }

    /// Whether `removed_in` ("2.1") is at or before the selected version.
    pub(super) fn removed_applies(&self, r: &Removed) -> bool {
        let v: Vec<u32> = r
            .removed_in
            .split('.')
            .filter_map(|x| x.parse().ok())
            .collect();
        let ver = (
            v.first().copied().unwrap_or(0),
            v.get(1).copied().unwrap_or(0),
        );
        match self.opts.table {
            TableSet::V2_6 => ver <= (2, 6),
            TableSet::Master => true,
        }
    }

    pub(super) fn report_removed(&mut self, line: &Line, start: usize, r_kw: &str) -> bool {
        let words: Vec<&str> = line.words[start..]
            .iter()
            .map(|w| w.text.as_str())
            .collect();
        let Some(r) = self.removed(&words) else {
            return false;
        };
        if !self.removed_applies(r) || (r.keyword != r_kw && !r.keyword.starts_with(r_kw)) {
            return false;
        }
        let mut d = Diagnostic::error(
            Code::RemovedKeyword,
            format!("`{}` was removed in HAProxy {}", r.keyword, r.removed_in),
        )
        .at(line.span_from(start))
        .label("removed keyword")
        .hx(removed_loc(&r.keyword), r.message.clone());
        if !r.replacement.is_empty() {
            d = d.help(format!("use `{}` instead", r.replacement));
        }
        self.push(d);
        true
    }
}

/// Where HAProxy 2.6 puts the location of a removed keyword's alert:
/// `parsing [file:line] : ` for all but `option http_proxy`, whose alert
/// (cfgparse-listen.c) has no space before the colon.
fn removed_loc(keyword: &str) -> HaproxyLoc {
    if keyword == "option http_proxy" {
        HaproxyLoc::ParsingTight
    } else {
        HaproxyLoc::Parsing
    }
}
