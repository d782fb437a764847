//! A small reader of nginx configuration files (directives, blocks, quoted strings, comments),
//! so the deploy kit's test asks what a location really gets, inheritance included, instead of
//! searching the text.

use std::collections::BTreeMap;

#[derive(Debug)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    /// `Some` for a block directive (`server { ... }`).
    pub block: Option<Vec<Directive>>,
}

impl Directive {
    pub fn body(&self) -> &[Directive] {
        self.block
            .as_deref()
            .unwrap_or_else(|| panic!("`{}` is not a block", self.name))
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Semicolon,
    Open,
    Close,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            ';' => out.push(Token::Semicolon),
            '{' => out.push(Token::Open),
            '}' => out.push(Token::Close),
            '"' | '\'' => {
                let mut word = String::new();
                loop {
                    match chars.next().expect("unterminated quoted string") {
                        '\\' => word.push(chars.next().expect("escape at end")),
                        q if q == c => break,
                        other => word.push(other),
                    }
                }
                out.push(Token::Word(word));
            }
            first => {
                let mut word = String::from(first);
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, ';' | '{' | '}') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    out
}

fn block(tokens: &[Token], pos: &mut usize) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    while let Some(token) = tokens.get(*pos) {
        match token {
            Token::Word(w) => {
                words.push(w.clone());
                *pos += 1;
            }
            Token::Semicolon | Token::Open => {
                assert!(!words.is_empty(), "`;` or `{{` without a directive");
                *pos += 1;
                let body = (*token == Token::Open).then(|| {
                    let body = block(tokens, pos);
                    assert_eq!(tokens.get(*pos), Some(&Token::Close), "unclosed block");
                    *pos += 1;
                    body
                });
                let name = words.remove(0);
                out.push(Directive {
                    name,
                    args: std::mem::take(&mut words),
                    block: body,
                });
            }
            Token::Close => break,
        }
    }
    assert!(words.is_empty(), "directive without `;`: {words:?}");
    out
}

/// The directives of a whole file.
pub fn parse(text: &str) -> Vec<Directive> {
    let tokens = tokens(text);
    let mut pos = 0;
    let out = block(&tokens, &mut pos);
    assert_eq!(pos, tokens.len(), "unbalanced `}}`");
    out
}

pub fn all<'a>(dirs: &'a [Directive], name: &'a str) -> impl Iterator<Item = &'a Directive> {
    dirs.iter().filter(move |d| d.name == name)
}

/// The first `name` directive of a block.
pub fn find<'a>(dirs: &'a [Directive], name: &str) -> Option<&'a Directive> {
    dirs.iter().find(|d| d.name == name)
}

/// What a location gets for a plain directive: its own, else its server's (neither set here
/// is also set in `http{}`, which the site does not own).
pub fn effective<'a>(
    location: &'a [Directive],
    server: &'a [Directive],
    name: &str,
) -> Option<&'a Directive> {
    find(location, name).or_else(|| find(server, name))
}

/// The headers a location sends upstream (lower-cased name -> value): nginx inherits
/// `proxy_set_header` only into a level that sets none of its own.
pub fn headers(location: &[Directive], server: &[Directive]) -> BTreeMap<String, String> {
    let own = || all(location, "proxy_set_header");
    let level = if own().next().is_some() {
        location
    } else {
        server
    };
    all(level, "proxy_set_header")
        .map(|d| {
            assert_eq!(d.args.len(), 2, "proxy_set_header {:?}", d.args);
            (d.args[0].to_ascii_lowercase(), d.args[1].clone())
        })
        .collect()
}

fn split_unit(value: &str) -> (u64, &str) {
    let at = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let number = value[..at]
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {value:?}"));
    (number, &value[at..])
}

/// An nginx time (`60`, `60s`, `5m`, `1h`, `1d`) in seconds.
pub fn seconds(value: &str) -> u64 {
    let (n, unit) = split_unit(value);
    n * match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => panic!("time unit {other:?} in {value:?}"),
    }
}

/// An nginx size (`4096`, `8k`, `4m`, `1g`) in bytes.
pub fn bytes(value: &str) -> u64 {
    let (n, unit) = split_unit(value);
    n * match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        other => panic!("size unit {other:?} in {value:?}"),
    }
}

#[test]
fn the_reader_handles_quotes_comments_blocks_and_inheritance() {
    let conf = parse(
        "# a comment; {\nserver { listen 443 ssl; proxy_set_header Connection \"\"; # x\n  \
         proxy_read_timeout 60s;\n  location = /a { proxy_read_timeout 1h; }\n  \
         location /b { proxy_set_header Host $host; } }\n",
    );
    let server = find(&conf, "server").unwrap();
    let a = all(server.body(), "location")
        .find(|l| l.args == ["=", "/a"])
        .unwrap();
    let b = all(server.body(), "location")
        .find(|l| l.args == ["/b"])
        .unwrap();
    let timeout = |l: &Directive| {
        seconds(
            &effective(l.body(), server.body(), "proxy_read_timeout")
                .unwrap()
                .args[0],
        )
    };
    assert_eq!((timeout(a), timeout(b)), (3600, 60));
    assert_eq!(
        headers(a.body(), server.body())
            .get("connection")
            .map(String::as_str),
        Some("")
    );
    assert_eq!(headers(b.body(), server.body()).get("connection"), None);
    assert_eq!(bytes("4m"), 4 << 20);
}
