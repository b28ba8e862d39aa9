//! The generic statement tree: `keyword value… ;` and `keyword value… { statement… };`.
//!
//! Every statement of the configuration language has this shape, so the syntax layer needs no
//! knowledge of the keywords, recovers from errors at the next `;` or `}`, and always keeps the
//! braces balanced. The meaning of each statement is checked afterwards by the parser module.

use super::Pos;
use super::lexer::{Kind, Token};

/// Deepest block nesting accepted (the language needs three levels: Server, DCS, Auth).
pub const MAX_DEPTH: usize = 8;

/// One statement.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// The keyword, or `None` when the statement did not start with a word (already reported).
    pub keyword: Option<(String, Pos)>,
    /// The values after the keyword (words, strings, invalid tokens).
    pub args: Vec<Token>,
    /// What followed the values: `;`, `{`, `}` or the end of the file.
    pub after_args: Token,
    /// The block, if the statement has one.
    pub block: Option<Block>,
}

/// A `{ … }` block.
#[derive(Debug, Clone)]
pub struct Block {
    /// Its statements.
    pub stmts: Vec<Stmt>,
}

/// Diagnostics of the syntax layer.
#[derive(Debug, Default)]
pub struct Diags {
    /// Errors.
    pub errors: Vec<(Pos, String)>,
    /// Warnings.
    pub warnings: Vec<(Pos, String)>,
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    diags: Diags,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `tokens` always ends with Eof, and `bump` never moves past it.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.kind != Kind::Eof {
            self.next += 1;
        }
        t
    }

    /// Statements up to `}` (not consumed) or the end of the file.
    fn stmts(&mut self, depth: usize) -> Vec<Stmt> {
        let mut out = Vec::new();
        loop {
            let t = self.peek().clone();
            match t.kind {
                Kind::Eof => return out,
                Kind::Close if depth > 0 => return out,
                Kind::Close => {
                    self.bump();
                    self.diags.errors.push((t.pos, "unmatched '}'".to_owned()));
                }
                Kind::Semi => {
                    // An empty statement, as the original's `sitem := ε`.
                    self.bump();
                }
                Kind::Open => {
                    self.diags
                        .errors
                        .push((t.pos, "expected a keyword, found '{'".to_owned()));
                    self.block(depth);
                    if self.peek().kind == Kind::Semi {
                        self.bump();
                    }
                }
                Kind::Word(_) | Kind::Str(_) | Kind::Invalid => out.push(self.stmt(depth)),
            }
        }
    }

    fn stmt(&mut self, depth: usize) -> Stmt {
        let first = self.bump();
        let keyword = match first.kind {
            Kind::Word(w) => Some((w, first.pos)),
            Kind::Str(ref s) => {
                self.diags.errors.push((
                    first.pos,
                    format!(
                        "expected a keyword, found the quoted string \"{}\"",
                        super::lexer::escape(s)
                    ),
                ));
                None
            }
            _ => None,
        };
        let mut args = Vec::new();
        loop {
            let t = self.peek().clone();
            match t.kind {
                Kind::Word(_) | Kind::Str(_) | Kind::Invalid => args.push(self.bump()),
                Kind::Semi => {
                    self.bump();
                    return Stmt {
                        keyword,
                        args,
                        after_args: t,
                        block: None,
                    };
                }
                Kind::Close | Kind::Eof => {
                    if t.kind == Kind::Close && depth > 0 {
                        self.diags
                            .warnings
                            .push((t.pos, "missing ';' before '}'".to_owned()));
                    }
                    return Stmt {
                        keyword,
                        args,
                        after_args: t,
                        block: None,
                    };
                }
                Kind::Open => {
                    let block = self.block(depth);
                    let t2 = self.peek().clone();
                    if t2.kind == Kind::Semi {
                        self.bump();
                    } else if let Some(close) = block.as_ref().and_then(|b| b.1) {
                        let pos = Pos {
                            line: close.line,
                            col: close.col.saturating_add(1),
                        };
                        self.diags
                            .warnings
                            .push((pos, "missing ';' after '}'".to_owned()));
                    }
                    return Stmt {
                        keyword,
                        args,
                        after_args: t,
                        block: block.map(|b| b.0),
                    };
                }
            }
        }
    }

    /// A block starting at `{`. Returns `None` when nested too deeply (then skipped), and the
    /// position of its `}` when it was closed.
    fn block(&mut self, depth: usize) -> Option<(Block, Option<Pos>)> {
        let open = self.bump().pos;
        if depth >= MAX_DEPTH {
            self.diags.errors.push((
                open,
                format!("blocks nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
            self.skip_block(open);
            return None;
        }
        let stmts = self.stmts(depth + 1);
        let t = self.peek().clone();
        let close = if t.kind == Kind::Close {
            self.bump();
            Some(t.pos)
        } else {
            self.diags.errors.push((
                t.pos,
                format!(
                    "unexpected end of file: the block opened at {open} is not closed (missing '}}')"
                ),
            ));
            None
        };
        Some((Block { stmts }, close))
    }

    /// Skip to the `}` matching the `{` just consumed, without recursion.
    fn skip_block(&mut self, open: Pos) {
        let mut level = 1usize;
        loop {
            let t = self.bump();
            match t.kind {
                Kind::Open => level += 1,
                Kind::Close => {
                    level -= 1;
                    if level == 0 {
                        return;
                    }
                }
                Kind::Eof => {
                    self.diags.errors.push((
                        t.pos,
                        format!(
                            "unexpected end of file: the block opened at {open} is not closed (missing '}}')"
                        ),
                    ));
                    return;
                }
                _ => {}
            }
        }
    }
}

/// Build the statement tree of a token list (which must end with [`Kind::Eof`]).
pub fn parse(tokens: Vec<Token>) -> (Vec<Stmt>, Diags) {
    let mut tokens = tokens;
    if tokens.last().map(|t| &t.kind) != Some(&Kind::Eof) {
        let pos = tokens
            .last()
            .map(|t| t.pos)
            .unwrap_or(Pos { line: 1, col: 1 });
        tokens.push(Token {
            kind: Kind::Eof,
            pos,
        });
    }
    let mut p = Parser {
        tokens,
        next: 0,
        diags: Diags::default(),
    };
    let stmts = p.stmts(0);
    (stmts, p.diags)
}
