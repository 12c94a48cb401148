//! Checks that a Python step's inline code parses, so a syntax error is a 400 at create time
//! rather than a failed execution later. The API links no libpython: it parses with
//! rustpython-parser (Python 3.11 grammar, as the worker's embedded CPython 3.11 runs it).

use rustpython_parser::{Mode, parse};

/// `Err("line 3, column 5: ...")` when `code` does not parse.
pub fn check(code: &str) -> Result<(), String> {
    parse(code, Mode::Module, "<step>")
        .map(|_| ())
        .map_err(|e| {
            let offset = usize::from(e.offset).min(code.len());
            let before = &code[..offset];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {}", e.error)
        })
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
}
