//! The BM25 analyzer: turns tool fields and queries into the same normalised terms.

use crate::doc::is_boundary;

#[cfg(test)]
mod tests;

/// How text becomes terms. `Analyzer::default()` is the tuned setting; `Analyzer::plain()` is the
/// README's floor (lowercase words, nothing else).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Analyzer {
    /// Split `camelCase` and `HTTPServer` inside words (before lowercasing).
    pub split_case: bool,
    /// Split letters from digits (`mp3` -> `mp`, `3`).
    pub split_digits: bool,
    /// Drop common English function words and one-letter tokens.
    pub stop_words: bool,
    /// Apply the light suffix stemmer.
    pub stem: bool,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer {
            split_case: true,
            split_digits: false,
            stop_words: true,
            stem: true,
        }
    }
}

impl Analyzer {
    /// Lowercase alphanumeric words only: the configuration of the published BM25 floor.
    pub fn plain() -> Self {
        Analyzer {
            split_case: false,
            split_digits: false,
            stop_words: false,
            stem: false,
        }
    }

    /// The terms of `text`, in order, duplicates kept.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(text, |t| out.push(t));
        out
    }

    /// Calls `f` with each term of `text`, in order.
    pub fn for_each_token(&self, text: &str, mut f: impl FnMut(String)) {
        let mut cur = String::new();
        let mut prev: Option<char> = None;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if !c.is_alphanumeric() {
                self.emit(&mut cur, &mut f);
                prev = None;
                continue;
            }
            if let Some(p) = prev {
                let next = chars.peek().copied();
                let split = if p.is_numeric() != c.is_numeric() {
                    self.split_digits
                } else {
                    self.split_case && is_boundary(p, c, next)
                };
                if split {
                    self.emit(&mut cur, &mut f);
                }
            }
            cur.extend(c.to_lowercase().filter(|l| l.is_alphanumeric()));
            prev = Some(c);
        }
        self.emit(&mut cur, &mut f);
    }

    fn emit(&self, cur: &mut String, f: &mut impl FnMut(String)) {
        if cur.is_empty() {
            return;
        }
        let word = std::mem::take(cur);
        if self.stop_words && is_stop_word(&word) {
            return;
        }
        f(if self.stem { stem(&word) } else { word });
    }
}

/// Small English stop list: function words, pronouns, contraction pieces (`I'm` -> `i`, `m`) and
/// request filler that says nothing about the tool wanted (`please`, `help`, `want`, `provide`).
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "been", "being", "both", "but", "by", "can", "could", "d", "did", "do", "does",
    "doing", "during", "each", "few", "for", "from", "further", "give", "great", "had", "has",
    "have", "having", "he", "help", "her", "here", "hers", "him", "his", "how", "i", "if", "in",
    "interested", "into", "is", "it", "its", "itself", "just", "know", "let", "like", "ll",
    "looking", "m", "me", "more", "most", "my", "myself", "need", "no", "nor", "not", "of", "off",
    "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own", "please", "provide",
    "re", "s", "same", "she", "should", "so", "some", "such", "t", "tell", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too",
    "under", "until", "up", "us", "ve", "very", "want", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
    "yours",
];

/// True for words in the stop list (input must be lowercase).
pub fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.binary_search(&w).is_ok()
}

/// Light English stemmer: plural `-s/-es/-ies`, `-ing`, `-ed`, then a final silent `-e`, so that
/// `search/searches/searching/searched` and `image/images` meet. Words of 3 chars or fewer, and
/// words containing digits or non-ASCII letters, are returned unchanged.
pub fn stem(word: &str) -> String {
    if word.len() <= 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word.to_string();
    }
    let mut w = word.to_string();
    strip_plural(&mut w);
    if !strip_verb_suffix(&mut w, "ing") {
        strip_verb_suffix(&mut w, "ed");
    }
    if w.len() > 3 && w.ends_with('e') && !w.ends_with("ee") {
        w.pop();
    }
    w
}

fn strip_plural(w: &mut String) {
    if w.ends_with("ies") && w.len() > 4 {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if ["sses", "ches", "shes", "xes", "zes"]
        .iter()
        .any(|s| w.ends_with(s))
        && w.len() > 4
    {
        w.truncate(w.len() - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.pop();
    }
}

/// Strips `suffix` when a stem with a vowel of at least 3 letters remains; undoubles a final
/// consonant (`running` -> `run`). Returns whether it stripped.
fn strip_verb_suffix(w: &mut String, suffix: &str) -> bool {
    let Some(base) = w.strip_suffix(suffix) else {
        return false;
    };
    if base.len() < 3 || (suffix == "ed" && base.ends_with('e')) || !base.bytes().any(is_vowel) {
        return false;
    }
    let b = base.as_bytes();
    let n = b.len();
    let undouble =
        n >= 2 && b[n - 1] == b[n - 2] && !is_vowel(b[n - 1]) && !b"lsz".contains(&b[n - 1]);
    let keep = if undouble { n - 1 } else { n };
    w.truncate(keep);
    true
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}
