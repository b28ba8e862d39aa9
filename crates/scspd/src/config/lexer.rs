//! The lexer: turns the configuration text into words, quoted strings and `; { }`.
//!
//! Unlike the original (which classified tokens as NAME, INTEGER or HEX and so read the manual's own
//! `ATMaddr 0x47.0005…` example as a NAME), the lexer only splits words; the parser decides what a
//! word means from where it stands. Errors are reported and scanning goes on.

use super::Pos;

/// Longest token accepted, in characters (the original's limit was 128, with an off-by-one overflow).
pub const MAX_TOKEN_LEN: usize = 1024;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `;`
    Semi,
    /// `{`
    Open,
    /// `}`
    Close,
    /// A bare word: a keyword, a name, a number, an address.
    Word(String),
    /// A quoted string, without its quotes and with its escapes resolved.
    Str(String),
    /// A word or string the lexer has already reported as bad.
    Invalid,
    /// The end of the text.
    Eof,
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// Where its first character is.
    pub pos: Pos,
}

impl Token {
    /// How to name this token in a message ("found …").
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Semi => "';'".to_owned(),
            Kind::Open => "'{'".to_owned(),
            Kind::Close => "'}'".to_owned(),
            Kind::Word(w) => format!("\"{w}\""),
            Kind::Str(s) => format!("the string \"{}\"", escape(s)),
            Kind::Invalid => "an invalid token".to_owned(),
            Kind::Eof => "the end of the file".to_owned(),
        }
    }

    /// The text of a word or string.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Word(s) | Kind::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Escape `s` for display between double quotes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Characters a bare word may contain: the original's NAME characters (letters, digits and
/// `. - _ & @ ~ /`) plus `:` for IPv6 addresses.
pub fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '&' | '@' | '~' | '/' | ':')
}

/// Characters that end a word without being part of it.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, ';' | '{' | '}' | '"' | '#')
}

/// Name a character for "invalid character" messages.
pub fn describe_char(c: char) -> String {
    let code = u32::from(c);
    if c == char::REPLACEMENT_CHARACTER {
        "0xfffd (a byte sequence that is not valid UTF-8, or U+FFFD)".to_owned()
    } else if c.is_control() {
        format!("0x{code:02x}")
    } else {
        format!("0x{code:02x} ('{c}')")
    }
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: u32,
    col: u32,
    tokens: Vec<Token>,
    errors: Vec<(Pos, String)>,
}

impl Lexer<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    /// The character after the next one.
    fn peek2(&self) -> Option<char> {
        let mut it = self.chars.clone();
        it.next();
        it.next()
    }

    fn error(&mut self, pos: Pos, message: String) {
        self.errors.push((pos, message));
    }

    fn push(&mut self, kind: Kind, pos: Pos) {
        self.tokens.push(Token { kind, pos });
    }

    fn run(&mut self) {
        while let Some(c) = self.peek() {
            let pos = self.pos();
            match c {
                c if c.is_whitespace() => {
                    self.bump();
                }
                '#' => self.line_comment(),
                '/' if self.peek2() == Some('/') => self.line_comment(),
                '/' if self.peek2() == Some('*') => self.block_comment(pos),
                ';' => {
                    self.bump();
                    self.push(Kind::Semi, pos);
                }
                '{' => {
                    self.bump();
                    self.push(Kind::Open, pos);
                }
                '}' => {
                    self.bump();
                    self.push(Kind::Close, pos);
                }
                '"' => self.string(pos),
                _ => self.word(pos),
            }
        }
        let pos = self.pos();
        self.push(Kind::Eof, pos);
    }

    fn line_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            self.bump();
        }
    }

    fn block_comment(&mut self, start: Pos) {
        self.bump();
        self.bump();
        loop {
            match self.bump() {
                None => {
                    self.error(start, "unterminated /* comment".to_owned());
                    return;
                }
                Some('*') if self.peek() == Some('/') => {
                    self.bump();
                    return;
                }
                Some(_) => {}
            }
        }
    }

    fn word(&mut self, start: Pos) {
        let mut t = TokenText::default();
        while let Some(c) = self.peek() {
            if ends_word(c) {
                break;
            }
            let pos = self.pos();
            self.bump();
            if is_word_char(c) {
                t.keep(c);
            } else {
                if !t.bad {
                    self.error(pos, format!("invalid character {}", describe_char(c)));
                }
                t.refuse();
            }
        }
        self.push_text(start, t, Kind::Word);
    }

    fn string(&mut self, start: Pos) {
        self.bump();
        let mut t = TokenText::default();
        loop {
            let pos = self.pos();
            match self.peek() {
                None | Some('\n') => {
                    self.error(
                        start,
                        "unterminated string (strings end on their line)".to_owned(),
                    );
                    t.bad = true;
                    break;
                }
                Some('"') => {
                    self.bump();
                    break;
                }
                Some('\\') => {
                    self.bump();
                    match self.peek() {
                        Some(c @ ('"' | '\\')) => {
                            self.bump();
                            t.keep(c);
                        }
                        Some(c) if c != '\n' => {
                            self.bump();
                            self.error(
                                pos,
                                format!(
                                    "invalid escape '\\{c}' in string; only \\\" and \\\\ are allowed"
                                ),
                            );
                            t.bad = true;
                        }
                        _ => {}
                    }
                }
                Some(c) => {
                    self.bump();
                    if c.is_control() && c != '\t' {
                        self.error(
                            pos,
                            format!("invalid character {} in string", describe_char(c)),
                        );
                        t.refuse();
                    } else {
                        t.keep(c);
                    }
                }
            }
        }
        self.push_text(start, t, Kind::Str);
    }

    /// The token a word or string read from `start` makes: `kind` of its text, or
    /// [`Kind::Invalid`] if it was refused or is too long (which is reported here).
    fn push_text(&mut self, start: Pos, t: TokenText, kind: fn(String) -> Kind) {
        let mut bad = t.bad;
        if t.len > MAX_TOKEN_LEN {
            self.error(start, too_long(t.len));
            bad = true;
        }
        self.push(if bad { Kind::Invalid } else { kind(t.text) }, start);
    }
}

/// The characters of a word or string as they are read: kept up to [`MAX_TOKEN_LEN`], all
/// counted.
#[derive(Default)]
struct TokenText {
    text: String,
    len: usize,
    /// Something in it was refused (and reported).
    bad: bool,
}

impl TokenText {
    /// One more character of the token.
    fn keep(&mut self, c: char) {
        self.len += 1;
        if self.len <= MAX_TOKEN_LEN {
            self.text.push(c);
        }
    }

    /// One more character, refused.
    fn refuse(&mut self) {
        self.len += 1;
        self.bad = true;
    }
}

fn too_long(len: usize) -> String {
    format!("token too long ({len} characters; at most {MAX_TOKEN_LEN} are allowed)")
}

/// Split `source` into tokens (always ending with [`Kind::Eof`]) and lexical errors.
pub fn tokenize(source: &str) -> (Vec<Token>, Vec<(Pos, String)>) {
    let mut lexer = Lexer {
        chars: source.chars().peekable(),
        line: 1,
        col: 1,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lexer.run();
    (lexer.tokens, lexer.errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Kind> {
        tokenize(s).0.into_iter().map(|t| t.kind).collect()
    }

    fn w(s: &str) -> Kind {
        Kind::Word(s.to_owned())
    }

    #[test]
    fn words_and_punctuation() {
        assert_eq!(
            kinds("server a{netif ni0;};"),
            vec![
                w("server"),
                w("a"),
                Kind::Open,
                w("netif"),
                w("ni0"),
                Kind::Semi,
                Kind::Close,
                Kind::Semi,
                Kind::Eof
            ]
        );
    }

    #[test]
    fn manual_atm_address_is_one_word() {
        assert_eq!(
            kinds("ATMaddr 0x47.0005.80.ffdc00.0000.0002.0001.002048061de7.00;"),
            vec![
                w("ATMaddr"),
                w("0x47.0005.80.ffdc00.0000.0002.0001.002048061de7.00"),
                Kind::Semi,
                Kind::Eof
            ]
        );
    }

    #[test]
    fn comments() {
        assert_eq!(
            kinds("a # x\nb // y\nc /* z\n */ d /var//log"),
            vec![w("a"), w("b"), w("c"), w("d"), w("/var//log"), Kind::Eof]
        );
        assert_eq!(kinds("a#b"), vec![w("a"), Kind::Eof]);
    }

    #[test]
    fn positions() {
        let (toks, errs) = tokenize("a\n  bb ;\n\t}");
        assert!(errs.is_empty());
        let pos: Vec<(u32, u32)> = toks.iter().map(|t| (t.pos.line, t.pos.col)).collect();
        assert_eq!(pos, vec![(1, 1), (2, 3), (2, 6), (3, 2), (3, 3)]);
    }

    #[test]
    fn strings() {
        assert_eq!(
            kinds(r#"Key "a \"b\" \\ c";"#),
            vec![
                w("Key"),
                Kind::Str(r#"a "b" \ c"#.to_owned()),
                Kind::Semi,
                Kind::Eof
            ]
        );
        let (toks, errs) = tokenize("\"abc\nx");
        assert_eq!(
            errs,
            vec![(
                Pos { line: 1, col: 1 },
                "unterminated string (strings end on their line)".to_owned()
            )]
        );
        assert_eq!(toks[0].kind, Kind::Invalid);
        assert_eq!(toks[1].kind, w("x"));
        let (_, errs) = tokenize(r#""a\qb""#);
        assert_eq!(errs[0].0, Pos { line: 1, col: 3 });
    }

    #[test]
    fn errors_continue() {
        let (toks, errs) = tokenize("a$b c /* never closed");
        assert_eq!(
            toks.iter().map(|t| t.kind.clone()).collect::<Vec<_>>(),
            vec![Kind::Invalid, w("c"), Kind::Eof]
        );
        assert_eq!(
            errs,
            vec![
                (
                    Pos { line: 1, col: 2 },
                    "invalid character 0x24 ('$')".to_owned()
                ),
                (
                    Pos { line: 1, col: 7 },
                    "unterminated /* comment".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn long_token() {
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        let (toks, errs) = tokenize(&format!("{long} b"));
        assert_eq!(toks[0].kind, Kind::Invalid);
        assert_eq!(toks[1].kind, w("b"));
        assert_eq!(errs.len(), 1);
        let ok = "a".repeat(MAX_TOKEN_LEN);
        assert_eq!(kinds(&ok)[0], w(&ok));
    }
}
