//! A cheap upper bound on how deeply user text (Python code, templates) nests, taken from its
//! tokens before a parser sees it.
//!
//! Why: the parsers we use (rustpython-parser, minijinja) build chains such as `1+1+...`,
//! `- - -x`, `a.b.c...` or `x|upper|upper...` in loops, but the trees they build are then
//! compiled, walked and dropped recursively. One 100 KB request could overflow the stack and
//! abort the whole process, every tenant's requests with it. Counting first keeps the parsers
//! to depths they are known to handle.
//!
//! The count is deliberately crude and errs on the high side: every operator, keyword or
//! bracket adds a level to the current one, and only a separator (`,`, `;`, the end of a
//! statement) says that what follows is a sibling rather than a child. A closing bracket
//! returns to the level that opened it, where the bracket itself was counted once.

/// How deep the text nests, as counted so far.
#[derive(Debug)]
pub struct Depth {
    /// Operators counted at each open bracket level, the outermost first.
    levels: Vec<usize>,
    total: usize,
    limit: usize,
}

/// The count went past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep {
    pub limit: usize,
}

impl Depth {
    pub fn new(limit: usize) -> Self {
        Self {
            levels: vec![0],
            total: 0,
            limit,
        }
    }

    /// An operator, keyword, attribute lookup or filter: possibly one level deeper.
    pub fn op(&mut self) -> Result<(), TooDeep> {
        *self.levels.last_mut().expect("never empty") += 1;
        self.total += 1;
        if self.total > self.limit {
            return Err(TooDeep { limit: self.limit });
        }
        Ok(())
    }

    /// An opening bracket: one level deeper here, and a new level inside.
    pub fn open(&mut self) -> Result<(), TooDeep> {
        self.op()?;
        self.levels.push(0);
        Ok(())
    }

    /// A closing bracket: back to the level that opened it. Unbalanced ones are the parser's
    /// to report.
    pub fn close(&mut self) {
        if self.levels.len() > 1 {
            let inner = self.levels.pop().expect("more than one");
            self.total -= inner;
        }
    }

    /// A separator: what follows is a sibling of what came before at this level.
    pub fn separator(&mut self) {
        let here = self.levels.last_mut().expect("never empty");
        self.total -= *here;
        *here = 0;
    }

    /// Brackets open right now.
    pub fn brackets(&self) -> usize {
        self.levels.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_count_and_separators_reset() {
        let mut d = Depth::new(3);
        d.op().unwrap();
        d.op().unwrap();
        d.separator();
        d.op().unwrap();
        d.op().unwrap();
        d.op().unwrap();
        assert_eq!(d.op(), Err(TooDeep { limit: 3 }));
    }

    #[test]
    fn a_bracket_counts_once_at_its_level_and_its_content_is_released_on_close() {
        let mut d = Depth::new(4);
        d.open().unwrap(); // 1
        d.op().unwrap(); // 2
        d.op().unwrap(); // 3
        d.close(); // back to 1
        d.open().unwrap(); // 2: a call after a call nests
        assert_eq!(d.brackets(), 1);
        d.op().unwrap(); // 3
        d.op().unwrap(); // 4
        assert!(d.op().is_err());
    }

    #[test]
    fn unbalanced_closes_are_ignored() {
        let mut d = Depth::new(2);
        d.close();
        d.close();
        d.op().unwrap();
        d.op().unwrap();
        assert!(d.op().is_err());
    }
}
