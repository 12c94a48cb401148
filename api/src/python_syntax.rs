//! Checks that a Python step's inline code parses, so a syntax error is a 400 at create time
//! rather than a failed execution later. The API links no libpython: it parses with
//! rustpython-parser (Python 3.11 grammar, as the worker's embedded CPython 3.11 runs it).
//!
//! The parser's trees are dropped recursively, so code nested deeply enough (`1+1+...` with
//! 50,000 terms fits in 100 KB) would overflow the stack and abort the API. The tokens are
//! therefore counted first ([`actuate_shared::domain::nesting`]) against the limits CPython 3.11
//! itself enforces, and only code within them is parsed, on a thread with a stack known to be
//! ample for that depth. Code refused here could not have run anyway.

use actuate_shared::domain::nesting::{Depth, TooDeep};
use rustpython_parser::lexer::{LexResult, lex};
use rustpython_parser::text_size::TextSize;
use rustpython_parser::{Mode, StringKind, Tok, parse_tokens};

/// Operators, calls, lookups and brackets in a row. CPython 3.11 refuses expressions nested
/// deeper than about 2,990 levels ("maximum recursion depth exceeded during compilation").
pub const MAX_DEPTH: usize = 3_000;
/// Brackets open at once; CPython's own limit ("too many nested parentheses").
pub const MAX_BRACKETS: usize = 200;
/// Indented blocks inside one another; CPython's own limit ("too many levels of indentation").
pub const MAX_INDENT: usize = 99;
/// Parsing code within the limits above needs well under 4 MiB of stack (measured: 3,000
/// levels of every construct fit in 2 MiB); this leaves room to spare.
const PARSER_STACK: usize = 64 * 1024 * 1024;

/// `Err("line 3, column 5: ...")` when `code` does not parse or nests too deeply.
pub fn check(code: &str) -> Result<(), String> {
    let tokens = bounded_tokens(code).map_err(|(offset, problem)| at(code, offset, &problem))?;
    let parse = |tokens: Vec<LexResult>| {
        parse_tokens(tokens, Mode::Module, "<step>")
            .map(|_| ())
            .map_err(|e| at(code, e.offset, &e.error.to_string()))
    };
    let mut tokens = Some(tokens);
    let on_thread = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("python-syntax".into())
            .stack_size(PARSER_STACK)
            .spawn_scoped(scope, || parse(tokens.take().expect("taken once")))
            .ok()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("the code could not be checked".into()))
            })
    });
    // No thread to be had: the depth is bounded, so this thread's stack does too.
    on_thread.unwrap_or_else(|| parse(tokens.take().expect("not taken: no thread ran")))
}

/// The code's tokens, once they are known to stay within the limits; else where and why not.
fn bounded_tokens(code: &str) -> Result<Vec<LexResult>, (TextSize, String)> {
    let too_deep = |offset| {
        (
            offset,
            format!(
                "nested too deeply: more than {MAX_DEPTH} operators, calls, attribute lookups \
                 or brackets inside one another (CPython refuses such code too)"
            ),
        )
    };
    let mut depth = Depth::new(MAX_DEPTH);
    let mut indent = 0usize;
    let mut tokens = Vec::new();
    for token in lex(code, Mode::Module) {
        let Ok((tok, range)) = &token else {
            // The parser reports the lexical error with its position.
            tokens.push(token);
            break;
        };
        let offset = range.start();
        let counted = match tok {
            Tok::Lpar | Tok::Lsqb | Tok::Lbrace => {
                if depth.brackets() >= MAX_BRACKETS {
                    return Err((offset, "too many nested parentheses".into()));
                }
                depth.open()
            }
            Tok::Rpar | Tok::Rsqb | Tok::Rbrace => {
                depth.close();
                Ok(())
            }
            Tok::Comma | Tok::Semi | Tok::Newline => {
                depth.separator();
                Ok(())
            }
            Tok::Indent => {
                indent += 1;
                if indent > MAX_INDENT {
                    return Err((
                        offset,
                        format!("more than {MAX_INDENT} levels of indentation"),
                    ));
                }
                Ok(())
            }
            Tok::Dedent => {
                indent = indent.saturating_sub(1);
                Ok(())
            }
            Tok::Name { .. }
            | Tok::Int { .. }
            | Tok::Float { .. }
            | Tok::Complex { .. }
            | Tok::EndOfFile => Ok(()),
            Tok::String { value, kind, .. } => {
                if matches!(kind, StringKind::FString | StringKind::RawFString) {
                    fstring_fields(value, &mut depth)
                } else {
                    Ok(())
                }
            }
            // Every operator and keyword.
            _ => depth.op(),
        };
        counted.map_err(|_| too_deep(offset))?;
        tokens.push(token);
    }
    Ok(tokens)
}

/// The expressions inside an f-string's `{...}` fields, counted character by character (they
/// are parsed later, as code of their own): every symbol and keyword counts.
fn fstring_fields(value: &str, depth: &mut Depth) -> Result<(), TooDeep> {
    let mut fields = 0usize;
    let mut chars = value.chars().peekable();
    let mut word = String::new();
    let keyword = |w: &str| {
        matches!(
            w,
            "not" | "and" | "or" | "lambda" | "if" | "else" | "is" | "in" | "await" | "yield"
        )
    };
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            if fields > 0 {
                word.push(c);
            }
            continue;
        }
        if !word.is_empty() {
            if keyword(&word) {
                depth.op()?;
            }
            word.clear();
        }
        match c {
            '{' if fields == 0 && chars.peek() == Some(&'{') => {
                chars.next();
            }
            '}' if fields == 0 => {}
            // `{` opens a field; inside one, every bracket nests.
            '{' | '(' | '[' if c == '{' || fields > 0 => {
                fields += 1;
                depth.open()?;
            }
            '}' | ')' | ']' if fields > 0 => {
                fields -= 1;
                depth.close();
            }
            ',' if fields > 0 => depth.separator(),
            c if fields > 0 && !c.is_whitespace() => depth.op()?,
            _ => {}
        }
    }
    if keyword(&word) {
        depth.op()?;
    }
    Ok(())
}

fn at(code: &str, offset: TextSize, problem: &str) -> String {
    let offset = usize::from(offset).min(code.len());
    let before = &code[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {problem}")
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn valid_code_passes() {
        for code in [
            "result = 1",
            "def main(context):\n    return {'a': [1, 2]}\n",
            "import json\nmatch x:\n    case 1:\n        pass\n",
            "async def f():\n    await g()\n",
            "x = f'{1 + 2=}'",
            "x = f'{{literal}} {a[0]:>10} {b!r}'",
        ] {
            assert_eq!(check(code), Ok(()), "{code}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let err = check("x = 1\ny = (\nz = 3\ndef").unwrap_err();
        assert!(err.starts_with("line "), "{err}");
        let err = check("result = 1\nif True\n    pass").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
        let err = check("def f(:\n  pass").unwrap_err();
        assert!(err.starts_with("line 1"), "{err}");
    }

    /// What CPython 3.11 compiles, at its limits, passes; big flat literals are not nesting.
    #[test]
    fn deep_but_valid_code_passes() {
        let cases = [
            format!("x = {}1", "1+".repeat(2_900)),
            format!("x = a{}", ".b".repeat(2_900)),
            format!("x = {}1{}", "(".repeat(200), ")".repeat(200)),
            format!("x = [{}]", vec!["-1"; 50_000].join(", ")),
            format!(
                "x = {{{}}}",
                (0..20_000)
                    .map(|i| format!("{i}: 'v'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (0..99)
                .map(|i| format!("{}if x:\n", " ".repeat(i)))
                .collect::<String>()
                + &" ".repeat(99)
                + "pass\n",
            "x = 1 + 2\n".repeat(20_000),
        ];
        for code in cases {
            assert_eq!(check(&code), Ok(()), "{}", &code[..code.len().min(80)]);
        }
    }

    /// Pathological code of up to the 1 MiB body limit is a clear error, never a crash.
    #[test]
    fn pathological_nesting_is_refused_by_name() {
        let mib = 1024 * 1024;
        let cases = [
            (
                format!("x = {}1", "1+".repeat(mib / 2)),
                "nested too deeply",
            ),
            (format!("x = {}1", "-".repeat(mib)), "nested too deeply"),
            (
                format!("x = {}1", "not ".repeat(mib / 4)),
                "nested too deeply",
            ),
            (
                format!("x = {}", "[".repeat(mib)),
                "too many nested parentheses",
            ),
            (format!("x = {}", "()".repeat(mib / 2)), "nested too deeply"),
            (
                format!("x = a{}", "[0]".repeat(mib / 3)),
                "nested too deeply",
            ),
            (
                format!("x = {}1", "lambda: ".repeat(mib / 8)),
                "nested too deeply",
            ),
            (
                format!("x = {}1", "1 if 1 else ".repeat(mib / 12)),
                "nested too deeply",
            ),
            (
                format!("x = {}1", "1**".repeat(mib / 3)),
                "nested too deeply",
            ),
            (
                format!("x = f'{{{}1}}'", "1+".repeat(mib / 2)),
                "nested too deeply",
            ),
            (
                format!("x = f'{{{}1}}'", "not ".repeat(mib / 4)),
                "nested too deeply",
            ),
            (
                format!("x = {}1{}", "(".repeat(201), ")".repeat(201)),
                "too many nested parentheses",
            ),
            (
                (0..100)
                    .map(|i| format!("{}if x:\n", " ".repeat(i)))
                    .collect::<String>()
                    + &" ".repeat(100)
                    + "pass\n",
                "levels of indentation",
            ),
        ];
        for (code, expected) in cases {
            let err = check(&code).unwrap_err();
            assert!(err.starts_with("line "), "{err}");
            assert!(err.contains(expected), "{err} (wanted {expected})");
        }
    }
}
