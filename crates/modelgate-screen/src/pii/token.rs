//! [`Token`]: a run of digit groups joined by short separators, as the
//! tokenizer (`numeric`) reads it and the kinds read from it (`numeric`,
//! `cards`, `phone`) look at it.

/// Most digit groups a token holds.
pub(super) const MAX_GROUPS: usize = 12;

/// A digit token: groups and the separator before each (index 0 unused).
pub(super) struct Token<'t> {
    pub(super) text: &'t [u8],
    pub(super) start: usize,
    pub(super) plus: bool,
    pub(super) paren: bool,
    pub(super) groups: [(usize, usize); MAX_GROUPS],
    pub(super) seps: [(usize, usize); MAX_GROUPS],
    pub(super) n: usize,
}

impl Token<'_> {
    pub(super) fn group(&self, i: usize) -> &[u8] {
        &self.text[self.groups[i].0..self.groups[i].1]
    }
    pub(super) fn sep(&self, i: usize) -> &[u8] {
        &self.text[self.seps[i].0..self.seps[i].1]
    }
    pub(super) fn lens(&self) -> impl Iterator<Item = usize> + '_ {
        self.groups[..self.n].iter().map(|(s, e)| e - s)
    }
    pub(super) fn digits(&self) -> usize {
        self.lens().sum()
    }
    pub(super) fn end(&self) -> usize {
        self.groups[self.n - 1].1
    }
    /// All separators are exactly `sep`.
    pub(super) fn seps_all(&self, sep: &[u8]) -> bool {
        (1..self.n).all(|i| self.sep(i) == sep)
    }
    pub(super) fn digit_string(&self) -> Vec<u8> {
        (0..self.n)
            .flat_map(|i| self.group(i).iter().copied())
            .collect()
    }
}
